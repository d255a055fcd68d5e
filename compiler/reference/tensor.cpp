// Tensor values: element access by dtype, the deterministic random generator of workload
// data, and the comparison of a simulated result against the reference.
#include "compiler/reference/tensor.h"
#include "models/core/random.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "models/core/numeric.h"

namespace xpusim::compiler {

namespace {

// Little-endian loads and stores of 2 and 4 bytes.
uint32_t load_le(const uint8_t* p, int bytes) {
  uint32_t v = 0;
  for (int b = bytes - 1; b >= 0; --b) v = (v << 8) | p[b];
  return v;
}

void store_le(uint8_t* p, uint32_t v, int bytes) {
  for (int b = 0; b < bytes; ++b) p[b] = uint8_t(v >> (8 * b));
}

// Rounds to nearest (ties away from zero) and saturates to [lo, hi]; NaN becomes 0.
int64_t round_saturate(double v, int64_t lo, int64_t hi) {
  if (std::isnan(v)) return 0;
  if (v <= double(lo)) return lo;
  if (v >= double(hi)) return hi;
  return std::llround(v);
}

bool is_integer(DType t) {
  return t == DType::int8 || t == DType::int32;
}

std::string shape_str(const std::vector<int64_t>& s) {
  return fmt::format("[{}]", fmt::join(s, ", "));
}

}  // namespace

Tensor::Tensor(std::vector<int64_t> s, DType t) : shape(std::move(s)), dtype(t) {
  data.assign(size_t(elements() * dtype_size(t)), 0);
}

int64_t Tensor::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

double Tensor::get(int64_t i) const {
  const int sz = dtype_size(dtype);
  if (i < 0 || size_t(i + 1) * sz > data.size())
    throw Error(fmt::format("tensor element {} out of range ({} elements)", i, data.size() / sz));
  const uint8_t* p = data.data() + size_t(i) * sz;
  switch (dtype) {
    case DType::int8:
      return double(int8_t(p[0]));
    case DType::int32:
      return double(int32_t(load_le(p, 4)));
    case DType::bf16:
      return double(numeric::bf16_to_float(uint16_t(load_le(p, 2))));
    case DType::fp16:
      return double(numeric::f16_to_float(uint16_t(load_le(p, 2))));
    case DType::fp32: {
      uint32_t u = load_le(p, 4);
      float f;
      std::memcpy(&f, &u, 4);
      return double(f);
    }
  }
  return 0;
}

void Tensor::set(int64_t i, double v) {
  const int sz = dtype_size(dtype);
  if (i < 0 || size_t(i + 1) * sz > data.size())
    throw Error(fmt::format("tensor element {} out of range ({} elements)", i, data.size() / sz));
  uint8_t* p = data.data() + size_t(i) * sz;
  switch (dtype) {
    case DType::int8:
      p[0] = uint8_t(int8_t(round_saturate(v, -128, 127)));
      break;
    case DType::int32:
      store_le(p, uint32_t(int32_t(round_saturate(v, INT32_MIN, INT32_MAX))), 4);
      break;
    case DType::bf16:
      store_le(p, numeric::float_to_bf16(float(v)), 2);
      break;
    case DType::fp16:
      store_le(p, numeric::float_to_f16(float(v)), 2);
      break;
    case DType::fp32: {
      float f = float(v);
      uint32_t u;
      std::memcpy(&u, &f, 4);
      store_le(p, u, 4);
      break;
    }
  }
}

Tensor random_tensor(const std::vector<int64_t>& shape, DType t, uint64_t seed, int int8_range) {
  Tensor x(shape, t);
  SplitMix64 rng(seed);
  const int64_t n = x.elements();
  for (int64_t i = 0; i < n; ++i) {
    if (is_integer(t))
      x.set(i, double(rng.symmetric(int8_range)));
    else
      x.set(i, 2.0 * rng.unit() - 1.0);
  }
  return x;
}

namespace {

CompareResult compare_values(const Tensor& got, const Tensor& want, double tol, bool same_dtype) {
  CompareResult r;
  if (got.shape != want.shape || (same_dtype && got.dtype != want.dtype)) {
    r.ok = false;
    r.mismatches = want.elements();
    r.message = fmt::format("got shape {} {}, the reference has {} {}", shape_str(got.shape),
                            dtype_name(got.dtype), shape_str(want.shape), dtype_name(want.dtype));
    return r;
  }
  const int64_t n = want.elements();
  const bool exact = is_integer(want.dtype) && is_integer(got.dtype);
  double max_want = 0;
  for (int64_t i = 0; !exact && i < n; ++i) {
    double w = std::fabs(want.get(i));
    if (std::isfinite(w) && w > max_want) max_want = w;
  }
  const double rtol = tol, atol = tol * std::max(1.0, max_want);
  for (int64_t i = 0; i < n; ++i) {
    double g = got.get(i), w = want.get(i);
    bool same;
    if (exact) {
      same = g == w;
    } else if (std::isnan(g) || std::isnan(w)) {
      same = std::isnan(g) && std::isnan(w);
    } else if (std::isinf(g) || std::isinf(w)) {
      same = g == w;
    } else {
      same = std::fabs(g - w) <= atol + rtol * std::fabs(w);
    }
    double err = std::fabs(g - w);
    if (std::isfinite(err) && err > r.max_abs_err) r.max_abs_err = err;
    if (!same) {
      if (r.mismatches == 0) r.first_bad = i;
      r.mismatches++;
    }
  }
  if (r.mismatches > 0) {
    r.ok = false;
    r.message = fmt::format(
        "{} of {} elements differ{}; first at index {}: got {}, want {}; max abs error {}",
        r.mismatches, n, exact ? "" : fmt::format(" (tolerance {} + {} * |want|)", atol, rtol),
        r.first_bad, got.get(r.first_bad), want.get(r.first_bad), r.max_abs_err);
  }
  return r;
}

}  // namespace

CompareResult compare(const Tensor& got, const Tensor& want) {
  return compare_values(got, want, 0x1.0p-6, true);
}

CompareResult compare_within(const Tensor& got, const Tensor& want, double tol) {
  return compare_values(got, want, tol, false);
}

}  // namespace xpusim::compiler
