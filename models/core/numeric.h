// Number formats shared by the functional models and the reference implementations:
// bf16 <-> fp32 conversion with round-to-nearest-even, f16 <-> fp32 and fp32 -> bf16 with a
// rounding mode, int8 requantisation, and the scalar activation functions. One definition
// here, so a model and the reference round alike.
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

// Rounding of a conversion to a narrower format (the five modes of the DaVinci vconv):
// nearest_even (ties to even), nearest_away (ties away from zero), down (toward -inf), up
// (toward +inf), toward_zero.
enum class Rounding : uint8_t { nearest_even, nearest_away, down, up, toward_zero };

// Rounds (neg ? -1 : 1) * m * 2^exp to the IEEE binary format with `exp_bits` exponent and
// `man_bits` fraction bits (at most 8 and 23) and returns its bits (sign at bit exp_bits +
// man_bits). Subnormal results are rounded at the subnormal quantum; a result past the largest
// finite value is infinity when rounding to nearest, up for a positive value or down for a
// negative one, and the largest finite value otherwise (IEEE 754).
inline uint32_t round_to_binary(bool neg, uint64_t m, int exp, int exp_bits, int man_bits,
                                Rounding r) {
  const uint32_t sign = neg ? uint32_t(1) << (exp_bits + man_bits) : 0;
  if (m == 0) return sign;
  const int emin = 2 - (1 << (exp_bits - 1));      // the smallest normal exponent
  const int e = exp + 63 - __builtin_clzll(m);     // the value's exponent
  const int q = (e > emin ? e : emin) - man_bits;  // the exponent of the result's unit
  uint64_t kept = m;
  if (q > exp) {
    const int shift = q - exp;
    uint64_t rem = 0, half = 0;
    if (shift >= 64) {
      kept = 0, rem = m, half = ~uint64_t(0);  // rem < half: below half a unit
    } else {
      kept = m >> shift, rem = m & ((uint64_t(1) << shift) - 1), half = uint64_t(1) << (shift - 1);
    }
    bool up = false;
    switch (r) {
      case Rounding::nearest_even:
        up = rem > half || (rem == half && (kept & 1));
        break;
      case Rounding::nearest_away:
        up = rem >= half;
        break;
      case Rounding::down:
        up = rem != 0 && neg;
        break;
      case Rounding::up:
        up = rem != 0 && !neg;
        break;
      case Rounding::toward_zero:
        break;
    }
    kept += up;
  } else {
    kept = m << (exp - q);  // exact: fewer significant bits than the format holds
  }
  // The unit of the subnormals is 2^(emin - man_bits); from there on the encoding counts units,
  // and a carry out of the fraction steps the exponent (the smallest normal included).
  const uint64_t inf = ((uint64_t(1) << exp_bits) - 1) << man_bits;
  const uint64_t bits = (uint64_t(q - (emin - man_bits)) << man_bits) + kept;
  if (bits >= inf) {
    const bool to_inf = r == Rounding::nearest_even || r == Rounding::nearest_away ||
                        (r == Rounding::up && !neg) || (r == Rounding::down && neg);
    return sign | uint32_t(to_inf ? inf : inf - 1);
  }
  return sign | uint32_t(bits);
}

// f32 -> the binary format (exp_bits, man_bits) with rounding r; NaN stays a quiet NaN with
// the sign and the top of the payload.
inline uint32_t float_to_binary(float f, int exp_bits, int man_bits, Rounding r) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const bool neg = u >> 31;
  const uint32_t e = (u >> 23) & 0xff, frac = u & 0x7fffff;
  const uint32_t sign = neg ? uint32_t(1) << (exp_bits + man_bits) : 0;
  const uint32_t inf = ((uint32_t(1) << exp_bits) - 1) << man_bits;
  if (e == 0xff)
    return sign | inf |
           (frac ? (uint32_t(1) << (man_bits - 1)) | (frac >> (23 - man_bits)) : 0);  // NaN
  if (e == 0) return round_to_binary(neg, frac, -149, exp_bits, man_bits, r);
  return round_to_binary(neg, frac | 0x800000u, int(e) - 150, exp_bits, man_bits, r);
}

// f16 (IEEE binary16: 1 sign, 5 exponent, 10 fraction bits) -> fp32, exact.
inline float f16_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16, e = (h >> 10) & 0x1f, frac = h & 0x3ff;
  uint32_t u;
  if (e == 0x1f) {
    u = sign | 0x7f800000u | frac << 13;  // inf, NaN
  } else if (e == 0) {
    const float f = float(frac) * 0x1p-24f;  // subnormal (or zero): exact
    return sign ? -f : f;
  } else {
    u = sign | (e + 112) << 23 | frac << 13;
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// fp32 -> f16 with rounding r: subnormals rounded at 2^-24, overflow to infinity (to the
// largest finite value, 65504, when r rounds toward zero from the value: toward_zero, down
// for a positive value, up for a negative one), NaN kept (quiet).
inline uint16_t float_to_f16(float f, Rounding r = Rounding::nearest_even) {
  if (r == Rounding::nearest_even) {  // the common case, a normal result: rebias and round
    uint32_t u;
    std::memcpy(&u, &f, 4);
    const uint32_t mag = u & 0x7fffffffu;
    if (mag >= 0x38800000u && mag < 0x477ff000u)  // [2^-14, 65520): no subnormal, no overflow
      return uint16_t(((u >> 16) & 0x8000u) |
                      ((mag - 0x38000000u + 0xfffu + ((mag >> 13) & 1u)) >> 13));
  }
  return uint16_t(float_to_binary(f, 5, 10, r));
}

// fp32 -> bf16 with rounding r (float_to_bf16(f) above is nearest_even).
inline uint16_t float_to_bf16(float f, Rounding r) {
  return uint16_t(float_to_binary(f, 8, 7, r));
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

inline float sigmoid(float x) {
  return 1.0f / (1.0f + std::exp(-x));
}

}  // namespace xpusim::numeric
