// PTX value semantics for one lane: rounding, float and integer conversions, f32/f64/f16/bf16
// arithmetic and the integer operations whose PTX meaning is not plain C++
// (docs/isa/ptx-numerics.md).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "isa/ptx/instr.h"

namespace xpusim::isa::ptx {

// Floating-point rounding modifiers (.rn .rz .rm .rp, and .rna where PTX has it: cvt to tf32).
enum class Rnd : uint8_t { rn, rz, rm, rp, rna };
// Integer rounding of a float (.rni .rzi .rmi .rpi): nearest-even, toward 0, -inf, +inf.
enum class IRnd : uint8_t { rni, rzi, rmi, rpi };
// PTX integer types. A value of one lives in a uint64_t: signed types sign-extended, unsigned
// types zero-extended to 64 bits.
enum class IntType : uint8_t { u8, u16, u32, u64, s8, s16, s32, s64 };
// cvt's modifiers: .ftz (f32 subnormal inputs and results to signed zero), .sat (float: clamp
// to [0, 1], NaN to +0; integer: clamp to the destination range), .relu (negative to +0, NaN to
// the canonical NaN; f16/bf16/tf32 destinations), .satfinite (beyond the largest finite value
// to the signed largest finite value, NaN stays NaN).
struct CvtMods {
  bool ftz = false;
  bool sat = false;
  bool relu = false;
  bool satfinite = false;
};

// Canonical NaNs: what an operation that makes a NaN returns (f64 propagates an input NaN).
constexpr uint32_t kNanF32 = 0x7fffffffu;
constexpr uint64_t kNanF64 = 0x7fffffffffffffffull;
constexpr uint16_t kNanF16 = 0x7fff;
constexpr uint16_t kNanBF16 = 0x7fff;

inline uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float f32_from(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint64_t f64_bits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  return u;
}
inline double f64_from(uint64_t u) {
  double d;
  std::memcpy(&d, &u, 8);
  return d;
}

inline int int_width(IntType t) {
  return 8 << (int(t) & 3);
}
inline bool int_signed(IntType t) {
  return int(t) >= 4;
}
// The low `width` bits of v, zero- or sign-extended to 64 bits.
inline uint64_t zext(uint64_t v, int width) {
  return width >= 64 ? v : v & ((uint64_t(1) << width) - 1);
}
inline uint64_t sext(uint64_t v, int width) {
  if (width >= 64) return v;
  const uint64_t m = uint64_t(1) << (width - 1);
  return (zext(v, width) ^ m) - m;
}
inline uint64_t int_norm(uint64_t v, IntType t) {
  return int_signed(t) ? sext(v, int_width(t)) : zext(v, int_width(t));
}

// ---- f32 helpers -------------------------------------------------------------------------------

inline bool is_nan_f32(float x) {
  return (f32_bits(x) & 0x7fffffffu) > 0x7f800000u;
}
// .ftz: a subnormal becomes a zero of the same sign.
inline float ftz_f32(float x) {
  const uint32_t u = f32_bits(x);
  return (u & 0x7f800000u) == 0 ? f32_from(u & 0x80000000u) : x;
}
// .sat: clamp to [0, 1]; NaN and -0 give +0.
inline float sat_f32(float x) {
  return x > 0.0f ? (x < 1.0f ? x : 1.0f) : 0.0f;
}
// A NaN result becomes the canonical f32 NaN (PTX: single-precision NaNs are unspecified).
inline float canon_f32(float x) {
  return is_nan_f32(x) ? f32_from(kNanF32) : x;
}

// ---- float arithmetic, exactly rounded (PTX 9.7.3) ---------------------------------------------
// The .rn forms without .ftz/.sat use the host's IEEE operations (round-to-nearest is the C++
// default environment); every other form computes the exact result in integer arithmetic and
// rounds it once, so no host rounding mode is ever changed.

float add_f32_slow(float a, float b, Rnd r, bool ftz, bool sat);
float mul_f32_slow(float a, float b, Rnd r, bool ftz, bool sat);
float fma_f32_slow(float a, float b, float c, Rnd r, bool ftz, bool sat);

inline float add_f32(float a, float b, Rnd r = Rnd::rn, bool ftz = false, bool sat = false) {
  if (r == Rnd::rn && !ftz && !sat) return canon_f32(a + b);
  return add_f32_slow(a, b, r, ftz, sat);
}
inline float sub_f32(float a, float b, Rnd r = Rnd::rn, bool ftz = false, bool sat = false) {
  return add_f32(a, f32_from(f32_bits(b) ^ 0x80000000u), r, ftz, sat);
}
inline float mul_f32(float a, float b, Rnd r = Rnd::rn, bool ftz = false, bool sat = false) {
  if (r == Rnd::rn && !ftz && !sat) return canon_f32(a * b);
  return mul_f32_slow(a, b, r, ftz, sat);
}
// fma.f32 and mad.f32 (sm_20+): a*b+c with one rounding.
inline float fma_f32(float a, float b, float c, Rnd r = Rnd::rn, bool ftz = false,
                     bool sat = false) {
  if (r == Rnd::rn && !ftz && !sat) return canon_f32(std::fma(a, b, c));
  return fma_f32_slow(a, b, c, r, ftz, sat);
}

// f64: NaN results propagate the first NaN input (a, then b, then c), quieted; otherwise kNanF64.
double add_f64(double a, double b, Rnd r = Rnd::rn);
double sub_f64(double a, double b, Rnd r = Rnd::rn);
double mul_f64(double a, double b, Rnd r = Rnd::rn);
double fma_f64(double a, double b, double c, Rnd r = Rnd::rn);

// div.{rn,rz,rm,rp}: IEEE 754 division.
float div_f32(float a, float b, Rnd r = Rnd::rn, bool ftz = false);
double div_f64(double a, double b, Rnd r = Rnd::rn);
// div.approx.f32 / div.full.f32: modelled as the correctly rounded quotient (hardware: within
// 2 ulp). div.approx keeps its documented quirk: for 2^126 < |b| < 2^128 it returns a signed
// zero, or NaN when a is infinite (it computes a * (1/b) and 1/b underflows).
float div_approx_f32(float a, float b, bool ftz = false);
float div_full_f32(float a, float b, bool ftz = false);
// rcp.{rn,...}: 1/a exactly rounded; rcp.approx.f32: the correctly rounded 1/a (hardware: 1 ulp).
float rcp_f32(float a, Rnd r = Rnd::rn, bool ftz = false);
double rcp_f64(double a, Rnd r = Rnd::rn);
float rcp_approx_f32(float a, bool ftz = false);
// rcp.approx.ftz.f64: 1/x of the upper 32 bits of a (sign, exponent, 20 mantissa bits), rounded
// to nearest with 20 mantissa bits, low 32 bits zero; NaN gives 0x7fffffff00000000.
double rcp_approx_ftz_f64(double a);
// sqrt.{rn,...}: exactly rounded; sqrt.approx.f32: correctly rounded (hardware: 2^-23 relative).
float sqrt_f32(float a, Rnd r = Rnd::rn, bool ftz = false);
double sqrt_f64(double a, Rnd r = Rnd::rn);
float sqrt_approx_f32(float a, bool ftz = false);

// The approximate transcendental functions return the exact function evaluated in double
// precision and rounded to nearest f32 (correctly rounded except where the exact value lies
// within about 2^-29 relative of an f32 rounding boundary), with the special cases of the PTX
// ISA tables. Real hardware differs within its documented error bound.
float rsqrt_approx_f32(float a, bool ftz = false);  // -x: NaN, -0: -Inf, +0: +Inf, +Inf: +0
double rsqrt_approx_f64(double a);                  // same cases; 1 / sqrt(a), two roundings
float ex2_approx_f32(float a, bool ftz = false);    // -Inf: +0, +-0: 1, +Inf: +Inf
float lg2_approx_f32(float a, bool ftz = false);    // +-0: -Inf, x<0: NaN, +Inf: +Inf
float sin_approx_f32(float a, bool ftz = false);    // +-Inf: NaN, +-0: +-0
float cos_approx_f32(float a, bool ftz = false);    // +-Inf: NaN, +-0: 1
float tanh_approx_f32(float a);                     // +-Inf: +-1, subnormals pass through

// min/max.f32 (9.7.3.11/12): a NaN input loses to a number; two NaNs (or any NaN with .NaN)
// give the canonical NaN; -0 < +0.
inline float min_f32(float a, float b, bool nan = false, bool ftz = false) {
  if (ftz) {
    a = ftz_f32(a);
    b = ftz_f32(b);
  }
  const bool na = is_nan_f32(a), nb = is_nan_f32(b);
  if (na || nb) return (nan || (na && nb)) ? f32_from(kNanF32) : (na ? b : a);
  if (a == b) return std::signbit(a) ? a : b;
  return a < b ? a : b;
}
inline float max_f32(float a, float b, bool nan = false, bool ftz = false) {
  if (ftz) {
    a = ftz_f32(a);
    b = ftz_f32(b);
  }
  const bool na = is_nan_f32(a), nb = is_nan_f32(b);
  if (na || nb) return (nan || (na && nb)) ? f32_from(kNanF32) : (na ? b : a);
  if (a == b) return std::signbit(a) ? b : a;
  return a > b ? a : b;
}
double min_f64(double a, double b, bool nan = false);
double max_f64(double a, double b, bool nan = false);

// ---- conversions (cvt, 9.7.9.21) ---------------------------------------------------------------
// f16 and bf16 values are their 16-bit patterns; tf32 is an f32 pattern whose low 13 bits are 0.
// Converting a NaN gives the destination's canonical NaN; .ftz applies to f32 inputs and results
// only; .sat/.relu/.satfinite are applied to the rounded result.

float f16_to_f32(uint16_t h, bool ftz = false);  // exact; .ftz flushes a subnormal *result*
double f16_to_f64(uint16_t h);
float bf16_to_f32(uint16_t h, bool ftz = false);
double bf16_to_f64(uint16_t h);
uint16_t f32_to_f16(float a, Rnd r = Rnd::rn, CvtMods m = {});
uint16_t f64_to_f16(double a, Rnd r = Rnd::rn, CvtMods m = {});
uint16_t f32_to_bf16(float a, Rnd r = Rnd::rn, CvtMods m = {});
uint16_t f64_to_bf16(double a, Rnd r = Rnd::rn, CvtMods m = {});
// cvt.{rna,rn,rz}{.satfinite}{.relu}.tf32.f32: 10 mantissa bits, result in f32 layout.
uint32_t f32_to_tf32(float a, Rnd r = Rnd::rna, CvtMods m = {});
float f64_to_f32(double a, Rnd r = Rnd::rn, CvtMods m = {});
double f32_to_f64(float a, CvtMods m = {});
uint16_t f16_to_bf16(uint16_t h, Rnd r = Rnd::rn, CvtMods m = {});
uint16_t bf16_to_f16(uint16_t h, Rnd r = Rnd::rn, CvtMods m = {});
// Same-type float conversion with integer rounding (cvt.rni.f32.f32 ...): an integral value.
float round_int_f32(float a, IRnd r, bool ftz = false, bool sat = false);
double round_int_f64(double a, IRnd r, bool sat = false);

// Float to integer: integer rounding, then clamped to the destination range (always, .sat or
// not). NaN gives 0, except from .f64 or to a 64-bit type, where it gives 1 << (width - 1).
uint64_t f32_to_int(float a, IntType t, IRnd r = IRnd::rzi, bool ftz = false);
uint64_t f64_to_int(double a, IntType t, IRnd r = IRnd::rzi);
// Integer (a value of type s, see IntType) to float with one rounding.
float int_to_f32(uint64_t v, IntType s, Rnd r = Rnd::rn, CvtMods m = {});
double int_to_f64(uint64_t v, IntType s, Rnd r = Rnd::rn);
uint16_t int_to_f16(uint64_t v, IntType s, Rnd r = Rnd::rn, CvtMods m = {});
uint16_t int_to_bf16(uint64_t v, IntType s, Rnd r = Rnd::rn, CvtMods m = {});
// Integer to integer: the source value (sign/zero extended from s), truncated to t, or with
// .sat clamped to t's range; returned normalised for t.
inline uint64_t int_to_int(uint64_t v, IntType s, IntType t, bool sat = false) {
  const uint64_t x = int_norm(v, s);
  if (sat) {
    const int w = int_width(t);
    if (int_signed(s)) {
      const int64_t sx = int64_t(x);
      const int64_t hi = int_signed(t) ? int64_t((~uint64_t(0)) >> (65 - w))
                                       : (w == 64 ? INT64_MAX : int64_t(zext(~uint64_t(0), w)));
      const int64_t lo = int_signed(t) ? -hi - 1 : 0;
      return int_norm(uint64_t(sx < lo ? lo : (sx > hi ? hi : sx)), t);
    }
    const uint64_t hi = int_signed(t) ? (~uint64_t(0)) >> (65 - w) : zext(~uint64_t(0), w);
    return int_norm(x > hi ? hi : x, t);
  }
  return int_norm(x, t);
}

// ---- f16 / bf16 arithmetic (9.7.4): .rn only, one rounding of the exact result -----------------

uint16_t add_f16(uint16_t a, uint16_t b, bool ftz = false, bool sat = false);
uint16_t sub_f16(uint16_t a, uint16_t b, bool ftz = false, bool sat = false);
uint16_t mul_f16(uint16_t a, uint16_t b, bool ftz = false, bool sat = false);
uint16_t fma_f16(uint16_t a, uint16_t b, uint16_t c, bool ftz = false, bool sat = false);
uint16_t add_bf16(uint16_t a, uint16_t b);
uint16_t sub_bf16(uint16_t a, uint16_t b);
uint16_t mul_bf16(uint16_t a, uint16_t b);
uint16_t fma_bf16(uint16_t a, uint16_t b, uint16_t c);
// min/max with the f32 NaN rules; .ftz only for f16.
uint16_t min_f16(uint16_t a, uint16_t b, bool nan = false, bool ftz = false);
uint16_t max_f16(uint16_t a, uint16_t b, bool nan = false, bool ftz = false);
uint16_t min_bf16(uint16_t a, uint16_t b, bool nan = false);
uint16_t max_bf16(uint16_t a, uint16_t b, bool nan = false);
// neg/abs flip or clear the sign bit; neg.ftz/abs.ftz.f16 flush a subnormal input first.
inline uint16_t neg_f16(uint16_t a, bool ftz = false) {
  if (ftz && (a & 0x7c00) == 0) a &= 0x8000;
  return a ^ 0x8000;
}
inline uint16_t abs_f16(uint16_t a, bool ftz = false) {
  if (ftz && (a & 0x7c00) == 0) a &= 0x8000;
  return a & 0x7fff;
}
inline uint16_t neg_bf16(uint16_t a) {
  return a ^ 0x8000;
}
inline uint16_t abs_bf16(uint16_t a) {
  return a & 0x7fff;
}

// Packed .f16x2/.bf16x2 (32-bit registers): the operation on the low and high halves.
template <typename Op>
inline uint32_t packed2(uint32_t a, uint32_t b, Op op) {
  return uint32_t(op(uint16_t(a), uint16_t(b))) | uint32_t(op(uint16_t(a >> 16), uint16_t(b >> 16)))
                                                      << 16;
}
uint32_t add_f16x2(uint32_t a, uint32_t b, bool ftz = false, bool sat = false);
uint32_t sub_f16x2(uint32_t a, uint32_t b, bool ftz = false, bool sat = false);
uint32_t mul_f16x2(uint32_t a, uint32_t b, bool ftz = false, bool sat = false);
uint32_t fma_f16x2(uint32_t a, uint32_t b, uint32_t c, bool ftz = false, bool sat = false);
uint32_t min_f16x2(uint32_t a, uint32_t b, bool nan = false, bool ftz = false);
uint32_t max_f16x2(uint32_t a, uint32_t b, bool nan = false, bool ftz = false);
uint32_t add_bf16x2(uint32_t a, uint32_t b);
uint32_t sub_bf16x2(uint32_t a, uint32_t b);
uint32_t mul_bf16x2(uint32_t a, uint32_t b);
uint32_t fma_bf16x2(uint32_t a, uint32_t b, uint32_t c);
uint32_t min_bf16x2(uint32_t a, uint32_t b, bool nan = false);
uint32_t max_bf16x2(uint32_t a, uint32_t b, bool nan = false);
inline uint32_t neg_f16x2(uint32_t a, bool ftz = false) {
  return uint32_t(neg_f16(uint16_t(a), ftz)) | uint32_t(neg_f16(uint16_t(a >> 16), ftz)) << 16;
}
inline uint32_t abs_f16x2(uint32_t a, bool ftz = false) {
  return uint32_t(abs_f16(uint16_t(a), ftz)) | uint32_t(abs_f16(uint16_t(a >> 16), ftz)) << 16;
}
inline uint32_t neg_bf16x2(uint32_t a) {
  return a ^ 0x80008000u;
}
inline uint32_t abs_bf16x2(uint32_t a) {
  return a & 0x7fff7fffu;
}

// ---- integer operations (9.7.1, 9.7.8); values as described for IntType -----------------------

// mul.hi: the upper half of the double-width product.
inline uint32_t mul_hi_u32(uint32_t a, uint32_t b) {
  return uint32_t((uint64_t(a) * b) >> 32);
}
inline int32_t mul_hi_s32(int32_t a, int32_t b) {
  return int32_t((int64_t(a) * b) >> 32);
}
uint64_t mul_hi_u64(uint64_t a, uint64_t b);
int64_t mul_hi_s64(int64_t a, int64_t b);
// mul.wide (16- and 32-bit sources).
inline uint64_t mul_wide_u32(uint32_t a, uint32_t b) {
  return uint64_t(a) * b;
}
inline int64_t mul_wide_s32(int32_t a, int32_t b) {
  return int64_t(a) * b;
}
inline uint32_t mul_wide_u16(uint16_t a, uint16_t b) {
  return uint32_t(a) * b;
}
inline int32_t mul_wide_s16(int16_t a, int16_t b) {
  return int32_t(a) * b;
}
// mul.lo / mad.lo wrap around (computed unsigned: no C++ overflow).
inline uint64_t mul_lo(uint64_t a, uint64_t b, int width) {
  return zext(a * b, width);
}
// mad.hi: the high half plus c, wrapping; mad.hi.sat.s32 clamps to the s32 range instead.
inline int32_t mad_hi_s32(int32_t a, int32_t b, int32_t c, bool sat = false) {
  const int64_t t = int64_t(mul_hi_s32(a, b)) + c;
  if (sat) return int32_t(t > INT32_MAX ? INT32_MAX : (t < INT32_MIN ? INT32_MIN : t));
  return int32_t(uint32_t(t));
}
inline uint32_t mad_hi_u32(uint32_t a, uint32_t b, uint32_t c) {
  return mul_hi_u32(a, b) + c;
}
// div/rem. PTX leaves division by zero machine-specific; here x / 0 is all ones (UINT_MAX, or -1
// signed) and x % 0 is x, so that x == (x / 0) * 0 + x % 0 still holds. MIN / -1 wraps to MIN
// and MIN % -1 is 0. Signed division truncates toward zero (remainder has the dividend's sign).
uint64_t div_int(uint64_t a, uint64_t b, IntType t);
uint64_t rem_int(uint64_t a, uint64_t b, IntType t);
// abs/neg: two's complement, so abs(MIN) == neg(MIN) == MIN.
inline uint64_t abs_int(uint64_t a, int width) {
  const uint64_t x = sext(a, width);
  return sext(int64_t(x) < 0 ? 0 - x : x, width);
}
inline uint64_t neg_int(uint64_t a, int width) {
  return sext(0 - a, width);
}
inline uint64_t min_int(uint64_t a, uint64_t b, IntType t) {
  a = int_norm(a, t);
  b = int_norm(b, t);
  return int_signed(t) ? (int64_t(a) < int64_t(b) ? a : b) : (a < b ? a : b);
}
inline uint64_t max_int(uint64_t a, uint64_t b, IntType t) {
  a = int_norm(a, t);
  b = int_norm(b, t);
  return int_signed(t) ? (int64_t(a) > int64_t(b) ? a : b) : (a > b ? a : b);
}
// sad: c + |a - b| (the difference taken in the type's signedness), wrapping.
inline uint64_t sad_int(uint64_t a, uint64_t b, uint64_t c, IntType t) {
  a = int_norm(a, t);
  b = int_norm(b, t);
  const bool lt = int_signed(t) ? int64_t(a) < int64_t(b) : a < b;
  return zext(c + (lt ? b - a : a - b), int_width(t));
}
// Shifts: the amount is an unsigned 32-bit value; amounts beyond the width are clamped to it
// (shl and shr.u give 0, shr.s fills with the sign).
inline uint64_t shl(uint64_t a, uint32_t n, int width) {
  return n >= uint32_t(width) ? 0 : zext(a << n, width);
}
inline uint64_t shr_u(uint64_t a, uint32_t n, int width) {
  return n >= uint32_t(width) ? 0 : zext(a, width) >> n;
}
inline uint64_t shr_s(uint64_t a, uint32_t n, int width) {
  const int64_t x = int64_t(sext(a, width));
  return zext(uint64_t(x >> (n >= uint32_t(width) ? width - 1 : n)), width);
}
// bfe (9.7.1.19): pos and len are taken modulo 256; the field is sign-extended (signed types,
// from bit min(pos+len-1, msb)) or zero-extended; len 0 gives 0.
uint64_t bfe(uint64_t a, uint32_t pos, uint32_t len, int width, bool is_signed);
// bfi (9.7.1.20): insert the low len bits of a into b at pos (clipped at the msb).
uint64_t bfi(uint64_t a, uint64_t b, uint32_t pos, uint32_t len, int width);
inline uint32_t popc(uint64_t a, int width) {
  return uint32_t(__builtin_popcountll(zext(a, width)));
}
// clz: width for 0.
inline uint32_t clz(uint64_t a, int width) {
  const uint64_t x = zext(a, width);
  return x == 0 ? uint32_t(width) : uint32_t(__builtin_clzll(x) - (64 - width));
}
uint64_t brev(uint64_t a, int width);
// prmt (9.7.9.7): byte permute of {b, a} with selector c.
// (PrmtMode is instr.h's: none is the generic form.)
uint32_t prmt(uint32_t a, uint32_t b, uint32_t c, PrmtMode mode = PrmtMode::none);
// dp4a / dp2a: byte (and half-word) dot products accumulated into c, wrapping at 32 bits.
uint32_t dp4a(uint32_t a, uint32_t b, uint32_t c, bool a_signed, bool b_signed);
uint32_t dp2a(uint32_t a, uint32_t b, uint32_t c, bool a_signed, bool b_signed, bool hi);

}  // namespace xpusim::isa::ptx
