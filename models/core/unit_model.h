// The choice between a unit's two timing models: the formula the model was written with, or the
// unit's verilated RTL run in the simulation (rtl/<unit>/). Any family declares it for any unit
// with these parameters, so that the choice is in config.resolved.yaml and can be swept with
// --set: `<unit>.model` (formula | rtl) and, for the RTL's waveforms, `<unit>.vcd`,
// `<unit>.vcd_first`, `<unit>.vcd_last`. The driver's --rtl, --vcd and --vcd-range set them for
// every unit of a family that has them (driver::rtl_overrides).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "models/core/params.h"

namespace xpusim {

// The parameters of `unit`. `formula` and `rtl` say what each model is (for `describe`),
// `ops` names what the VCD range counts (e.g. "matmuls").
std::vector<ParamSpec> unit_model_params(const std::string& unit, const std::string& formula,
                                         const std::string& rtl, const std::string& ops);

// The resolved choice for `unit`.
struct UnitModelChoice {
  bool rtl;                    // the verilated RTL times the unit
  std::string vcd_path;        // its waveforms of operations [vcd_first, vcd_last] (empty: none)
  size_t vcd_first, vcd_last;  // execution order; vcd_last SIZE_MAX: through the end
  UnitModelChoice(const ParamValues& v, const std::string& unit);
};

}  // namespace xpusim
