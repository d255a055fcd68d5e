// What bounds every run, whatever the family: limits on simulated cycles and executed
// instructions (parameters every family declares, so they are in config.resolved.yaml and can be
// set with --set or --max-cycles/--max-instructions), and the progress line a long run shows on
// a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "models/core/params.h"

namespace xpusim {

// limits.max_cycles and limits.max_instructions, with defaults far above any real workload
// (the largest compiled workloads run about 10^7 instructions and 10^10 cycles).
std::vector<ParamSpec> limit_params();

// How a progress line of Progress's `lines` form starts: "xpusim-progress: layer 3/88 NAME,
// cycle 1234".
constexpr const char* kProgressLine = "xpusim-progress: layer ";

struct RunLimits {
  uint64_t max_cycles, max_instructions;
  explicit RunLimits(const ParamValues& v);
  // The error for a run that hit a limit: which limit, its value, how to raise it, and `where`
  // the program was (the instruction and the cycle).
  [[noreturn]] void exceeded(bool cycles, const std::string& where) const;
};

// A line on stderr, rewritten in place at most every half second: the layer being issued, the
// simulated cycle and the simulation rate. Off unless enabled (the CLI enables it on a terminal
// without --quiet). tick() is cheap: it reads the clock once every 1024 calls.
// With `lines`, instead, one line per layer as the first instruction of a later layer than any
// before is issued, for a program that reads them (kProgressLine, `xpusim compare`).
class Progress {
 public:
  Progress(bool enabled, std::vector<std::string> layers, bool lines = false);
  ~Progress();
  void tick(uint64_t cycle, int layer);

 private:
  bool enabled_, lines_;
  int last_layer_ = -1;
  std::vector<std::string> layers_;
  unsigned calls_ = 0;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace xpusim
