// The verilated cube unit as the RTL model of the DaVinci cube (models/npu_davinci/cube_unit.h),
// registered as davinci.cube: with davinci.cube.model rtl the owner runs every s8 mad on it.
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include "models/npu_davinci/cube_unit.h"
#include "rtl/cube/harness.h"

namespace xpusim::rtl {
namespace {

using davinci::CubeConfig;
using davinci::CubeModel;
using davinci::CubeOp;
using davinci::CubeResult;
using davinci::CubeTimes;

class RtlCube final : public CubeModel {
 public:
  RtlCube(const CubeConfig& c, const VcdWindow& vcd)
      : h_(CubeHarness::create(c.rows, c.k0, c.latency)) {
    CubeRunOptions o;
    o.vcd_path = vcd.path;
    o.vcd_first = vcd.first;
    o.vcd_last = vcd.last;
    h_->start(o);
  }

  bool computes_values() const override { return true; }

  // Driven on the unit's port from `now`: its in_ready decides when the unit takes it. The
  // harness checks the mad (s8, operands of the variant's fractal) before anything changes.
  void offer(uint64_t id, CubeOp op, uint64_t, uint64_t now, std::vector<Event>&) override {
    if (!h_->busy()) h_->skip_to(now);
    h_->offer(op, now);
    ops_.push_back({id, {}});
  }

  bool clocked() const override { return true; }
  bool busy() const override { return h_->busy(); }

  // Clocks `cycle` unless the unit has clocked it already, and turns the harness's port events
  // into the model's: the mad's last step (op_read) frees the fractal loop for the next mad and
  // L0A / L0B; its last C fractal written (c_last) is its done.
  void step(uint64_t cycle, std::vector<Event>& events) override {
    if (!h_->busy() || h_->cycle() > cycle) return;
    for (CubeEvent& e : h_->step()) {
      Op& op = ops_[e.op - first_];
      switch (e.kind) {
        case CubeEvent::start:
          op.times.start = e.cycle;
          break;
        case CubeEvent::read:
          op.times.read = e.cycle;
          events.push_back({Event::next, op.id, e.cycle, {}});
          events.push_back({Event::read, op.id, e.cycle, {}});
          break;
        case CubeEvent::done:
          op.times.done = e.cycle;
          events.push_back({Event::done, op.id, e.cycle, CubeResult{op.times, std::move(e.c)}});
          ops_.pop_front();
          ++first_;
          break;
      }
    }
  }

 private:
  struct Op {
    uint64_t id;
    CubeTimes times;
  };
  std::unique_ptr<CubeHarness> h_;
  std::deque<Op> ops_;  // offered and not done; the front is mad first_ of the harness
  size_t first_ = 0;
};

const bool registered = register_rtl_unit<CubeModel, CubeConfig>(
    davinci::kCubeUnit,
    [](const CubeConfig& c, const VcdWindow& vcd) -> std::unique_ptr<CubeModel> {
      return std::make_unique<RtlCube>(c, vcd);
    });

}  // namespace
}  // namespace xpusim::rtl
