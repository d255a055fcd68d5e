// A verilated unit as a unit's timing model (models/core/unit_model.h), for a unit whose harness
// takes one operation at a time on a port and reports, per operation, the cycles it started, read
// its operands and was done, with its values (rtl/tensor_core, rtl/cube). A unit says what its
// types are and how its harness is made in a Unit struct:
//
//   struct Unit {
//     using Model = ...;       // the unit's model interface, a UnitModel<Op, Result>
//     using Config = ...;      // the unit's configuration, as the family makes the model
//     using Op = ...;          // what the owner offers
//     using Result = ...;      // what `done` carries: the times and the values
//     using Harness = ...;     // the harness: start(RunOptions), skip_to, offer, step, busy
//     using RunOptions = ...;  // its options: vcd_path, vcd_first, vcd_last
//     static constexpr const char* kName = ...;  // the unit's name in the registry
//     static std::unique_ptr<Harness> harness(const Config&);  // the variant for the config
//     static void check(const Op&);  // an Error for an op the RTL cannot run, before any change
//     static Result result(decltype(Result::times), HarnessEvent&);  // done's result
//   };
//
// and registers it from a static initialiser: `const bool registered = register_rtl_model<Unit>();`
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include "models/core/unit_model.h"

namespace xpusim::rtl {

template <class Unit>
class RtlUnitModel final : public Unit::Model {
 public:
  using Event = typename Unit::Model::Event;
  using Op = typename Unit::Op;

  RtlUnitModel(const typename Unit::Config& c, const VcdWindow& vcd) : h_(Unit::harness(c)) {
    typename Unit::RunOptions o;
    o.vcd_path = vcd.path;
    o.vcd_first = vcd.first;
    o.vcd_last = vcd.last;
    h_->start(o);
  }

  bool computes_values() const override { return true; }

  // Driven on the unit's port from `now`: its in_ready decides when the unit takes it.
  void offer(uint64_t id, Op op, uint64_t, uint64_t now, std::vector<Event>&) override {
    Unit::check(op);
    if (!h_->busy()) h_->skip_to(now);
    h_->offer(op, now);
    ops_.push_back({id, {}});
  }

  bool clocked() const override { return true; }
  bool busy() const override { return h_->busy(); }

  // Clocks `cycle` unless the unit has clocked it already, and turns the harness's port events
  // into the model's: `read` (the op's operands all read) frees the unit for the next op and
  // the operands' storage; `done` carries its times and values.
  void step(uint64_t cycle, std::vector<Event>& events) override {
    if (!h_->busy() || h_->cycle() > cycle) return;
    for (auto& e : h_->step()) {
      Pending& op = ops_[e.op - first_];
      using Kind = decltype(e.kind);
      switch (e.kind) {
        case Kind::start:
          op.times.start = e.cycle;
          break;
        case Kind::read:
          op.times.read = e.cycle;
          events.push_back({Event::next, op.id, e.cycle, {}});
          events.push_back({Event::read, op.id, e.cycle, {}});
          break;
        case Kind::done:
          op.times.done = e.cycle;
          events.push_back({Event::done, op.id, e.cycle, Unit::result(op.times, e)});
          ops_.pop_front();
          ++first_;
          break;
      }
    }
  }

 private:
  struct Pending {
    uint64_t id;
    decltype(Unit::Result::times) times;
  };
  std::unique_ptr<typename Unit::Harness> h_;
  std::deque<Pending> ops_;  // offered and not done; the front is op first_ of the harness
  size_t first_ = 0;
};

// Registers Unit's RTL model under Unit::kName (models/core/unit_model.h).
template <class Unit>
bool register_rtl_model() {
  using Model = typename Unit::Model;
  return register_rtl_unit<Model, typename Unit::Config>(
      Unit::kName,
      [](const typename Unit::Config& c, const VcdWindow& vcd) -> std::unique_ptr<Model> {
        return std::make_unique<RtlUnitModel<Unit>>(c, vcd);
      });
}

}  // namespace xpusim::rtl
