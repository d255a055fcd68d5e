// A unit's timing model: the interface every model of a unit implements (a formula, or the
// unit's verilated RTL run in the simulation), the parameters that choose between them and the
// registry of RTL implementations.
//
// The choice is a parameter of the configuration, declared by any family for any unit with
// unit_model_params(), so that it is in config.resolved.yaml and can be swept with --set:
// `<unit>.model` (formula | rtl) and, for the RTL's waveforms, `<unit>.vcd`, `<unit>.vcd_first`,
// `<unit>.vcd_last`. The driver's --rtl, --vcd and --vcd-range set them for every unit of a family
// that has them (driver::rtl_overrides).
//
// The family writes the formula model next to its unit (models/<family>/); an RTL model lives in
// rtl/<unit>/ and registers a factory under the unit's name ("tpu.array") from a static
// initialiser (register_rtl_unit), so that the family finds it by name
// (UnitModelChoice::make_rtl) without linking it, and a build without Verilator simply has none:
// choosing it is then an Error naming the unit. docs/architecture.md, "Unit models".
#pragma once

#include <any>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/core/params.h"
#include "models/core/registry.h"

namespace xpusim {

// The parameters of `unit`. `formula` and `rtl` say what each model is (for `describe`),
// `ops` names what the VCD range counts (e.g. "matmuls").
std::vector<ParamSpec> unit_model_params(const std::string& unit, const std::string& formula,
                                         const std::string& rtl, const std::string& ops);

// Waveforms of an RTL model: its operations [first, last] (offer order, from 0) in a VCD file.
struct VcdWindow {
  std::string path;  // empty: none
  size_t first = 0;
  size_t last = SIZE_MAX;  // SIZE_MAX: through the end of the run
};

// What one operation's model reports about it, as the model learns it.
template <class Result>
struct UnitEvent {
  enum Kind {
    next,  // from `cycle` the unit can take the operation after this one
    read,  // by `cycle` the operation has read its operands: their storage may be overwritten
    done,  // at `cycle` the operation is complete; `result` holds its times (and its values,
           // from a model that computes them)
  };
  Kind kind;
  uint64_t id;     // the operation: the id the owner offered it with
  uint64_t cycle;  // in the owner's cycles
  Result result;   // done only
};

// The timing model of one unit (a systolic array; a GPU tensor core or an Ascend cube unit
// later), whichever implements it. The contract:
// - The owner offers operations in its order, each once its operands are ready (or, for a unit
//   that takes one operand before the others, a systolic array's stationary weights, once that
//   one is) and, when the model has reported `next` for the one before, not before that cycle.
// - The model reports, for every operation, one event of each kind, per kind in offer order,
//   its `read` before its `done`.
//   A formula model reports all three in offer() (cycles that may lie ahead); an RTL model
//   reports them from step(), in the cycle it observes them.
// - While busy(), the owner calls step(c) once for every cycle c, at the end of the cycle; a
//   model that answers in offer() is never busy (nor clocked()), so it costs no clock at all.
// - What the events mean to the rest of the machine (dependences, statistics, trace) is the
//   owner's, the same code whichever model runs.
template <class Op, class Result>
class UnitModel {
 public:
  using Event = UnitEvent<Result>;
  virtual ~UnitModel() = default;

  // Whether `done` carries the operation's values, computed by the model from the operands in
  // its Op (an RTL model); otherwise the owner computes them with its semantics and the Op's
  // operands may be left empty.
  virtual bool computes_values() const = 0;
  // Offers the next operation, named `id` in its events, at the current cycle `now`; its operands
  // are ready at `ready` (<= now, but for an operation offered before all its operands are: the
  // model then takes none of the others before `ready`). Appends to `events` what is known at
  // once.
  virtual void offer(uint64_t id, Op op, uint64_t ready, uint64_t now,
                     std::vector<Event>& events) = 0;
  // Whether the model reports from step() (an RTL model), so that the owner must clock it while
  // it is busy; a model that answers in offer() needs no clock at all.
  virtual bool clocked() const = 0;
  // Whether the model must be clocked now: an offered operation has events still to come.
  virtual bool busy() const = 0;
  // Clocks the current cycle `cycle`; appends to `events` what happened in it.
  virtual void step(uint64_t cycle, std::vector<Event>& events) = 0;
};

// An RTL model's factory: the unit's own configuration (shape, modes) and its waveforms.
template <class Model, class Config>
using RtlFactory = std::function<std::unique_ptr<Model>(const Config&, const VcdWindow&)>;

// The RTL models built into this binary, by unit name. `factory` holds an RtlFactory; its type is
// checked when the model is made.
struct RtlUnit {
  std::any factory;
};
Registry<RtlUnit>& rtl_units();

// Registers the RTL model of `unit` (from a static initialiser in rtl/<unit>/).
template <class Model, class Config>
bool register_rtl_unit(const std::string& unit, RtlFactory<Model, Config> factory) {
  return rtl_units().add(unit, RtlUnit{std::move(factory)});
}

// The resolved choice for `unit`.
struct UnitModelChoice {
  std::string unit;  // the parameters' prefix ("array")
  bool rtl;          // the verilated RTL times the unit
  VcdWindow vcd;     // its waveforms (with rtl only)
  // Throws Error for waveforms without the RTL.
  UnitModelChoice(const ParamValues& v, const std::string& unit);

  // Throws Error when the RTL is chosen for a run without values (--no-functional): an RTL
  // model computes with the real operands. `what` names the unit in the message ("array").
  void need_values(bool functional, const std::string& what) const;

  // The RTL model registered as `name`, writing the waveforms when `traced` (a family whose
  // unit has several instances traces one); an Error naming the parameter when this build has
  // none or it cannot be built for `config`.
  template <class Model, class Config>
  std::unique_ptr<Model> make_rtl(const std::string& name, const Config& config,
                                  bool traced) const {
    const RtlUnit* r = rtl_units().try_find(name);
    if (!r)
      throw Error(unit + ".model rtl (--rtl): this build has no RTL of the unit '" + name +
                  "' (RTL units built: " + rtl_units().known() +
                  "; they need Verilator: -DXPUSIM_WITH_VERILATOR=ON)");
    const auto* make = std::any_cast<RtlFactory<Model, Config>>(&r->factory);
    if (!make) throw Error("internal: the RTL unit '" + name + "' has a factory of another type");
    try {
      return (*make)(config, traced ? vcd : VcdWindow{});
    } catch (const Error& e) {
      throw Error(unit + ".model rtl (--rtl): " + e.what());
    }
  }
};

}  // namespace xpusim
