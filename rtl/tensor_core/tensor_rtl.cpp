// The verilated tensor core as the RTL model of the GPU's tensor unit (models/gpu/tensor_unit.h),
// registered as gpu.tensor: with gpu.tensor.model rtl the owner runs every int8 mma on it.
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include "models/gpu/tensor_unit.h"
#include "rtl/tensor_core/harness.h"

namespace xpusim::rtl {
namespace {

using gpu::MmaOp;
using gpu::MmaResult;
using gpu::MmaTimes;
using gpu::TensorConfig;
using gpu::TensorModel;

class RtlTensor final : public TensorModel {
 public:
  RtlTensor(const TensorConfig& c, const VcdWindow& vcd)
      : h_(TensorHarness::create(c.macs_per_cycle, c.latency)) {
    TensorRunOptions o;
    o.vcd_path = vcd.path;
    o.vcd_first = vcd.first;
    o.vcd_last = vcd.last;
    h_->start(o);
  }

  bool computes_values() const override { return true; }

  // Driven on the unit's port from `now`: its in_ready decides when the unit takes it.
  void offer(uint64_t id, MmaOp op, uint64_t, uint64_t now, std::vector<Event>&) override {
    gpu::check_mma_op(op, true, "tensor unit (rtl)");
    if (!h_->busy()) h_->skip_to(now);
    h_->offer(op, now);
    ops_.push_back({id, {}});
  }

  bool clocked() const override { return true; }
  bool busy() const override { return h_->busy(); }

  // Clocks `cycle` unless the unit has clocked it already, and turns the harness's port events
  // into the model's: the op's last chunk read (op_read) frees the unit for the next op and its
  // operand registers; out_valid is its done.
  void step(uint64_t cycle, std::vector<Event>& events) override {
    if (!h_->busy() || h_->cycle() > cycle) return;
    for (TensorEvent& e : h_->step()) {
      Op& op = ops_[e.op - first_];
      switch (e.kind) {
        case TensorEvent::start:
          op.times.start = e.cycle;
          break;
        case TensorEvent::read:
          op.times.read = e.cycle;
          events.push_back({Event::next, op.id, e.cycle, {}});
          events.push_back({Event::read, op.id, e.cycle, {}});
          break;
        case TensorEvent::done:
          op.times.done = e.cycle;
          events.push_back({Event::done, op.id, e.cycle, MmaResult{op.times, std::move(e.d)}});
          ops_.pop_front();
          ++first_;
          break;
      }
    }
  }

 private:
  struct Op {
    uint64_t id;
    MmaTimes times;
  };
  std::unique_ptr<TensorHarness> h_;
  std::deque<Op> ops_;  // offered and not done; the front is op first_ of the harness
  size_t first_ = 0;
};

const bool registered = register_rtl_unit<TensorModel, TensorConfig>(
    gpu::kTensorUnit,
    [](const TensorConfig& c, const VcdWindow& vcd) -> std::unique_ptr<TensorModel> {
      return std::make_unique<RtlTensor>(c, vcd);
    });

}  // namespace
}  // namespace xpusim::rtl
