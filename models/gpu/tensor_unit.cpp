// The tensor core's formula model and its parameters (tensor_unit.h).
#include "models/gpu/tensor_unit.h"

#include <algorithm>

#include "models/core/error.h"

namespace xpusim::gpu {

using isa::ptx::ElemType;
using isa::ptx::MmaShape;

std::vector<ParamSpec> tensor_unit_params() {
  return unit_model_params(kTensorUnit,
                           "TensorFormula: ii = ceil(MACs / rate), done after max(latency, ii)",
                           "rtl/tensor_core: int8 mma (m16n8k16, m16n8k32), built rates and "
                           "latencies only; the VCD shows one sub-partition's unit",
                           "mmas");
}

void check_mma_op(const MmaOp& op, bool values, const std::string& what) {
  const bool int8 = (op.a == ElemType::s8 || op.a == ElemType::u8) &&
                    (op.b == ElemType::s8 || op.b == ElemType::u8);
  const bool shape = op.shape == MmaShape::m16n8k16 || op.shape == MmaShape::m16n8k32;
  if (!int8 || !shape)
    throw Error(what + ": the tensor unit runs int8 mma (s8/u8 A and B) of shape m16n8k16 or " +
                "m16n8k32 only");
  const size_t k = size_t(op.k());
  if (values && (op.a_bytes.size() != 16 * k || op.b_bytes.size() != k * 8 || op.c.size() != 128))
    throw Error(what + ": an m16n8k" + std::to_string(k) + " mma needs A of " +
                std::to_string(16 * k) + " bytes, B of " + std::to_string(k * 8) +
                " bytes and C of 128 words (got " + std::to_string(op.a_bytes.size()) + ", " +
                std::to_string(op.b_bytes.size()) + ", " + std::to_string(op.c.size()) + ")");
}

TensorFormula::TensorFormula(const TensorConfig& config) : config_(config) {
  if (config.macs_per_cycle < 1 || config.latency < 1)
    throw Error("tensor unit: the rate (" + std::to_string(config.macs_per_cycle) +
                " MAC/cycle) and the latency (" + std::to_string(config.latency) +
                " cycles) must be at least 1");
}

uint64_t TensorFormula::ii(uint64_t macs) const {
  const uint64_t r = uint64_t(config_.macs_per_cycle);
  return (macs + r - 1) / r;
}

void TensorFormula::offer(uint64_t id, MmaOp op, uint64_t, uint64_t now,
                          std::vector<Event>& events) {
  check_mma_op(op, false, "tensor unit (formula)");
  const uint64_t start = std::max(now, free_);
  const uint64_t cycles = ii(op.macs());
  free_ = start + cycles;
  MmaResult r;
  r.times = {start, start + cycles, start + std::max(uint64_t(config_.latency), cycles)};
  events.push_back({Event::next, id, r.times.read, {}});
  events.push_back({Event::read, id, r.times.read, {}});
  events.push_back({Event::done, id, r.times.done, std::move(r)});
}

}  // namespace xpusim::gpu
