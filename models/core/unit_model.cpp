#include "models/core/unit_model.h"

#include <cstdint>

namespace xpusim {

std::vector<ParamSpec> unit_model_params(const std::string& unit, const std::string& formula,
                                         const std::string& rtl, const std::string& ops) {
  return {
      choice_param(unit + ".model", "formula", {"formula", "rtl"},
                   "what times the " + unit + ": the formula (" + formula +
                       ") or the verilated RTL (" + rtl + "; --rtl)"),
      text_param(unit + ".vcd", "with " + unit +
                                    ".model rtl: write the waveforms to this VCD file (empty: "
                                    "none; --vcd)"),
      int_param(unit + ".vcd_first", ops, 0,
                "first of the " + ops +
                    " in the VCD (execution order, from 0; --vcd-range "
                    "FIRST:LAST)"),
      int_param(unit + ".vcd_last", ops, -1,
                "last of the " + ops + " in the VCD (-1: through the end of the run)", -1),
  };
}

UnitModelChoice::UnitModelChoice(const ParamValues& v, const std::string& unit)
    : rtl(v.choice(unit + ".model") == "rtl"),
      vcd_path(v.text(unit + ".vcd")),
      vcd_first(size_t(v.integer(unit + ".vcd_first"))),
      vcd_last(v.integer(unit + ".vcd_last") < 0 ? SIZE_MAX
                                                 : size_t(v.integer(unit + ".vcd_last"))) {}

}  // namespace xpusim
