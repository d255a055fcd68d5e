// The verilated tensor core as the RTL model of the GPU's tensor unit (models/gpu/tensor_unit.h),
// registered as gpu.tensor: with gpu.tensor.model rtl the owner runs every int8 mma on it.
#include <memory>
#include <utility>

#include "models/gpu/tensor_unit.h"
#include "rtl/common/rtl_unit.h"
#include "rtl/tensor_core/harness.h"

namespace xpusim::rtl {
namespace {

struct Tensor {
  using Model = gpu::TensorModel;
  using Config = gpu::TensorConfig;
  using Op = gpu::MmaOp;
  using Result = gpu::MmaResult;
  using Harness = TensorHarness;
  using RunOptions = TensorRunOptions;
  static constexpr const char* kName = gpu::kTensorUnit;
  static std::unique_ptr<Harness> harness(const Config& c) {
    return TensorHarness::create(c.macs_per_cycle, c.latency);
  }
  static void check(const Op& op) { gpu::check_mma_op(op, true, "tensor unit (rtl)"); }
  // The op's last chunk read (op_read) is its read; out_valid its done, D in the event.
  static Result result(const gpu::MmaTimes& t, TensorEvent& e) { return {t, std::move(e.d)}; }
};

const bool registered = register_rtl_model<Tensor>();

}  // namespace
}  // namespace xpusim::rtl
