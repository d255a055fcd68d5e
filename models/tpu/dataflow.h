// The dataflows of a systolic array: one type for the model, its timing class (ArrayTiming),
// the compiler target and the RTL harness.
#pragma once

#include <string>

namespace xpusim::tpu {

// Weight-, output- or input-stationary. `is` runs on the ws datapath with the operands' roles
// swapped.
enum class Dataflow { ws, os, is };

inline const char* dataflow_name(Dataflow d) {
  return d == Dataflow::ws ? "ws" : d == Dataflow::os ? "os" : "is";
}

// "ws", "os" or "is"; false for anything else.
inline bool parse_dataflow(const std::string& s, Dataflow& out) {
  for (Dataflow d : {Dataflow::ws, Dataflow::os, Dataflow::is})
    if (s == dataflow_name(d)) {
      out = d;
      return true;
    }
  return false;
}

}  // namespace xpusim::tpu
