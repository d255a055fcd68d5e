#include "models/core/unit_model.h"

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

Registry<RtlUnit>& rtl_units() {
  static Registry<RtlUnit> r("RTL unit");
  return r;
}

UnitModelChoice::UnitModelChoice(const ParamValues& v, const std::string& name)
    : unit(name),
      rtl(v.choice(name + ".model") == "rtl"),
      vcd{v.text(name + ".vcd"), size_t(v.integer(name + ".vcd_first")),
          v.integer(name + ".vcd_last") < 0 ? SIZE_MAX : size_t(v.integer(name + ".vcd_last"))} {
  if (!rtl && !vcd.path.empty())
    throw Error(unit + ".vcd (--vcd) needs the RTL model: " + unit + ".model rtl (--rtl)");
}

void UnitModelChoice::need_values(bool functional, const std::string& what) const {
  if (rtl && !functional)
    throw Error(unit + ".model rtl (--rtl) needs values (the RTL " + what +
                " multiplies real operands): drop --no-functional");
}

}  // namespace xpusim
