// Number formats shared by the functional models and the reference implementations:
// bf16 <-> fp32 conversion with round-to-nearest-even, int8 requantisation, and the scalar
// activation functions. One definition here, so a model and the reference round alike.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace xpusim::numeric {

// bf16 is the upper half of an IEEE fp32: 1 sign, 8 exponent, 7 mantissa bits.
inline float bf16_to_float(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest, ties to even; NaN stays a (quiet) NaN.
inline uint16_t float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return uint16_t((u >> 16) | 0x40);
  uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return uint16_t((u + rounding) >> 16);
}

inline int8_t saturate_int8(int64_t v) {
  return int8_t(v > 127 ? 127 : (v < -128 ? -128 : v));
}

// int32 accumulator -> int8: round(acc * multiplier / 2^shift), ties away from zero, then
// saturate. shift in [0, 62].
inline int8_t requantize(int32_t acc, int32_t multiplier, int32_t shift) {
  int64_t p = int64_t(acc) * multiplier;
  if (shift > 0) {
    int64_t half = int64_t(1) << (shift - 1);
    p = p >= 0 ? (p + half) >> shift : -((-p + half) >> shift);
  }
  return saturate_int8(p);
}

// GELU, tanh approximation (as in BERT/GPT-2), evaluated in fp32.
inline float gelu(float x) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
}

inline float silu(float x) {
  return x / (1.0f + std::exp(-x));
}

}  // namespace xpusim::numeric
