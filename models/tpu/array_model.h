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

using ArrayModel = UnitModel<ArrayOp, ArrayResult>;

// The array's name among the RTL units.
inline constexpr const char* kArrayUnit = "tpu.array";

// The formula model: every event in offer(), from ArrayTiming.
std::unique_ptr<ArrayModel> make_formula_array(const ArrayConfig& config);

}  // namespace xpusim::tpu
