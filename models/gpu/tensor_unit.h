// A sub-partition's tensor core behind the unit-model interface (models/core/unit_model.h): one
// int8 mma.sync (m16n8k16 or m16n8k32, s8/u8 operands, s32 accumulation) per operation, timed by
// the formula (TensorFormula, here) or by the verilated RTL (rtl/tensor_core, registered as
// kTensorUnit). The owner (the SM's timing model) drives either through the same code.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "isa/ptx/fragments.h"
#include "models/core/params.h"
#include "models/core/unit_model.h"

namespace xpusim::gpu {

// The unit's name among the RTL units, and the prefix of its parameters (`gpu.tensor.model`).
inline constexpr const char* kTensorUnit = "gpu.tensor";

// One warp's mma.sync.aligned.<shape>.row.col.s32.<a>.<b>.s32 as whole matrices (the owner
// gathers them from the lanes' fragments: isa/ptx/fragments.h). The operands are bytes, read as
// s8 or u8 by `a` and `b`; they may be left empty for a model that does not compute values.
struct MmaOp {
  isa::ptx::MmaShape shape = isa::ptx::MmaShape::m16n8k32;  // m16n8k16 or m16n8k32
  isa::ptx::ElemType a = isa::ptx::ElemType::s8;            // s8 or u8
  isa::ptx::ElemType b = isa::ptx::ElemType::s8;            // s8 or u8
  std::vector<uint8_t> a_bytes;                             // A: 16 x K, row-major
  std::vector<uint8_t> b_bytes;                             // B: K x 8, row-major
  std::vector<int32_t> c;                                   // C: 16 x 8, row-major

  int k() const { return shape == isa::ptx::MmaShape::m16n8k16 ? 16 : 32; }
  // Multiply-accumulates: 16 x 8 x K.
  uint64_t macs() const { return uint64_t(16 * 8 * k()); }
};

// The times of one operation, in the owner's cycles.
struct MmaTimes {
  uint64_t start = 0;  // the unit took it (its first operand chunk was read)
  uint64_t read = 0;   // its operands were all read: their registers may be overwritten
  uint64_t done = 0;   // D is complete
};

struct MmaResult {
  MmaTimes times;
  std::vector<int32_t> d;  // D: 16 x 8, row-major (wrapping s32 sums): from a model that
                           // computes values
};

// The unit's configuration: the sub-partition's int8 rate (the SM's sm.tensor_fma_int8 over
// sm.sub_partitions) and latency.tensor.
struct TensorConfig {
  int macs_per_cycle = 512;  // R
  int latency = 32;          // L: cycles from taking an op to its done, when it exceeds ii
};

using TensorModel = UnitModel<MmaOp, MmaResult>;

// The parameters that choose the unit's model: gpu.tensor.model (formula | rtl) and
// gpu.tensor.vcd* (unit_model_params). The family adds them to its parameters.
std::vector<ParamSpec> tensor_unit_params();

// Throws Error unless op is an int8 mma this unit runs (shape, types and, when `values`, the
// operand sizes); `what` names the caller in the message.
void check_mma_op(const MmaOp& op, bool values, const std::string& what);

// The formula model, every event in offer(). An op of n multiply-accumulates occupies the
// unit's multipliers for ii = ceil(n / R) cycles from the cycle it is taken (`start`: `now`, or
// the cycle the previous op freed the unit if later), reading its operands over them:
//   next = start + ii, read = start + ii, done = start + max(L, ii)
// (the SM timing model's ii = ceil(MACs / (rate / sub-partitions)) and latency max(latency.tensor,
// ii)). It does not compute values.
class TensorFormula final : public TensorModel {
 public:
  // Throws Error for a rate or latency below 1.
  explicit TensorFormula(const TensorConfig& config);

  // Cycles the unit's multipliers are busy with an op of `macs` multiply-accumulates.
  uint64_t ii(uint64_t macs) const;

  bool computes_values() const override { return false; }
  void offer(uint64_t id, MmaOp op, uint64_t ready, uint64_t now,
             std::vector<Event>& events) override;
  bool clocked() const override { return false; }
  bool busy() const override { return false; }
  void step(uint64_t, std::vector<Event>&) override {}

 private:
  TensorConfig config_;
  uint64_t free_ = 0;  // the first cycle the multipliers are free
};

}  // namespace xpusim::gpu
