// A systolic array's timing model behind the unit-model interface (models/core/unit_model.h):
// the formula (ArrayTiming, made here) or the verilated RTL (rtl/systolic, registered as
// kArrayUnit). TpuCore drives either through the same code.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "models/core/unit_model.h"
#include "models/tpu/array_timing.h"
#include "models/tpu/dataflow.h"

namespace xpusim::tpu {

// One matmul: an m x k operand by the k x n stationary tile. fp32 operands go through in bf16
// parts (isa/tpu/semantics.h, fp32_products): the array loads each of the stationary
// operand's `parts` once and streams parts of the other against it, one more for each
// (1, 2, 3 streams: 1 part for 1 pass, 2 for 3, 3 for 6).
// `keep`: the stationary tile is the one the array holds from the matmul before (matmul
// keep=1): no load, every part streamed again.
struct ArrayOp {
  int m = 0, k = 0, n = 0;
  int parts = 1;
  std::vector<int8_t> a, b;  // m x k and k x n, row-major: for a model that computes values
  bool keep = false;
};

struct ArrayResult {
  ArrayTiming::Times times;
  std::vector<int32_t> c;  // m x n, row-major: from a model that computes values
};

struct ArrayConfig {
  int rows, cols;
  Dataflow dataflow;
  bool fold_overlap;
};

// The unit-model interface, and one more step for a matmul that loads weights: the array shifts
// its weights in as soon as they are in its FIFO and its shadow registers are free, whether or
// not the owner knows yet when the rows it streams will be ready (their DMA not yet timed). Such
// a matmul is offered with `ready` = kLater and without its streamed operand (`a`); release()
// gives both once the owner knows them, and the model reports none of the matmul's events, nor
// takes another, before it. Only where the weights are double-buffered (ws with fold overlap)
// and loaded by the matmul (not keep).
class ArrayModel : public UnitModel<ArrayOp, ArrayResult> {
 public:
  static constexpr uint64_t kLater = UINT64_MAX;
  // For the matmul `id` offered last, with `ready` = kLater: its rows are ready at `ready` (not
  // before `now`, the current cycle), `a` its m x k operand for a model that computes values
  // (else empty). Appends to `events` what is known at once.
  virtual void release(uint64_t id, std::vector<int8_t> a, uint64_t ready, uint64_t now,
                       std::vector<Event>& events) = 0;
};

// The array's name among the RTL units.
inline constexpr const char* kArrayUnit = "tpu.array";

// The formula model: every event in offer(), from ArrayTiming.
std::unique_ptr<ArrayModel> make_formula_array(const ArrayConfig& config);

}  // namespace xpusim::tpu
