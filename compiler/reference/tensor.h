// Tensor values: a shape, a dtype and the bytes (little-endian, row-major).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/ir/ir.h"

namespace xpusim::compiler {

struct Tensor {
  std::vector<int64_t> shape;
  DType dtype = DType::int8;
  std::vector<uint8_t> data;  // elements() * dtype_size(dtype) bytes

  Tensor() = default;
  Tensor(std::vector<int64_t> s, DType t);  // zero-filled

  int64_t elements() const;
  // Element i as a double (int8/int32 exactly, bf16/fp16/fp32 converted).
  double get(int64_t i) const;
  // Stores v into element i: int8 saturates after rounding to nearest, int32 likewise,
  // bf16 and fp16 round to nearest even, fp32 rounds to float.
  void set(int64_t i, double v);
};

// Deterministic pseudo-random values for workload inputs and weights: int8 uniform in
// [-range, range], bf16 uniform in [-1, 1] (rounded), from a 64-bit seed (splitmix64).
// int32 is drawn like int8, fp16 and fp32 like bf16.
Tensor random_tensor(const std::vector<int64_t>& shape, DType t, uint64_t seed,
                     int int8_range = 127);

// Result of comparing a simulated tensor against the reference.
struct CompareResult {
  bool ok = true;
  int64_t mismatches = 0;
  int64_t first_bad = -1;  // element index of the first mismatch
  double max_abs_err = 0;
  std::string message;  // one line, empty when ok
};

// Integers must match exactly. bf16/fp16/fp32 must satisfy |got - want| <= atol + rtol * |want|
// elementwise with rtol = 2^-6 and atol = 2^-6 * max(1, max|want|) (documented in
// docs/models/tpu.md: a few bf16 ulps, since tile order changes the fp32 summation order; for
// fp16, with 3 more mantissa bits, the same bound is a looser one, about 16 fp16 ulps).
CompareResult compare(const Tensor& got, const Tensor& want);

// The same test with rtol = tol and atol = tol * max(1, max|want|), for values of any dtypes
// (only the shapes must agree): a simulated bf16 output against an ONNX model's fp32 one.
CompareResult compare_within(const Tensor& got, const Tensor& want, double tol);

}  // namespace xpusim::compiler
