// PTX value semantics for one lane (numeric.h): exact rounding in integer arithmetic, the
// conversions and the non-trivial float and integer operations.
#include "isa/ptx/numeric.h"

#include <algorithm>
#include <initializer_list>
#include <utility>
#include <vector>

#include "models/core/numeric.h"

namespace xpusim::isa::ptx {
namespace {

__extension__ typedef unsigned __int128 u128;

// A binary interchange format: fraction bits and exponent bits (values are bit patterns with
// the sign above the exponent).
struct Fmt {
  int frac;
  int exp;
};
constexpr Fmt kF16{10, 5};
constexpr Fmt kBF16{7, 8};
constexpr Fmt kTF32{10, 8};  // rounded with 10 fraction bits, stored in f32 layout
constexpr Fmt kF32{23, 8};
constexpr Fmt kF64{52, 11};
constexpr Fmt kRcp64{20, 11};  // rcp.approx.ftz.f64's 1.11.20 upper word

int bias(Fmt f) {
  return (1 << (f.exp - 1)) - 1;
}
uint64_t sign_bit(Fmt f) {
  return uint64_t(1) << (f.frac + f.exp);
}
uint64_t exp_mask(Fmt f) {
  return ((uint64_t(1) << f.exp) - 1) << f.frac;
}
uint64_t frac_mask(Fmt f) {
  return (uint64_t(1) << f.frac) - 1;
}
uint64_t inf_bits(Fmt f, bool neg) {
  return (neg ? sign_bit(f) : 0) | exp_mask(f);
}
uint64_t max_bits(Fmt f, bool neg) {
  return (neg ? sign_bit(f) : 0) | (exp_mask(f) - (uint64_t(1) << f.frac)) | frac_mask(f);
}
// The canonical NaN: every bit but the sign.
uint64_t nan_bits(Fmt f) {
  return sign_bit(f) - 1;
}

enum class Kind : uint8_t { zero, finite, inf, nan };

Kind kind(uint64_t x, Fmt f) {
  const uint64_t e = x & exp_mask(f), m = x & frac_mask(f);
  if (e == exp_mask(f)) return m ? Kind::nan : Kind::inf;
  return (e | m) ? Kind::finite : Kind::zero;
}
bool neg_of(uint64_t x, Fmt f) {
  return (x & sign_bit(f)) != 0;
}
bool subnormal(uint64_t x, Fmt f) {
  return (x & exp_mask(f)) == 0 && (x & frac_mask(f)) != 0;
}

// A finite value (-1)^neg * mag * 2^exp held exactly (mag < 2^127).
struct Exact {
  bool neg;
  u128 mag;
  int exp;
};

int bitlen(u128 x) {
  const uint64_t hi = uint64_t(x >> 64), lo = uint64_t(x);
  if (hi) return 128 - __builtin_clzll(hi);
  return lo ? 64 - __builtin_clzll(lo) : 0;
}

Exact decompose(uint64_t x, Fmt f) {
  const int be = int((x & exp_mask(f)) >> f.frac);
  const uint64_t m = x & frac_mask(f);
  if (be == 0) return {neg_of(x, f), m, 1 - bias(f) - f.frac};
  return {neg_of(x, f), m | (uint64_t(1) << f.frac), be - bias(f) - f.frac};
}

// Rounds an exact value to f. A zero mag gives a zero of sign x.neg.
uint64_t round_exact(const Exact& x, Fmt f, Rnd r) {
  const uint64_t s = x.neg ? sign_bit(f) : 0;
  const int len = bitlen(x.mag);
  if (len == 0) return s;
  const int emin = 1 - bias(f);
  const int lead = x.exp + len - 1;
  int lsb = std::max(lead, emin) - f.frac;  // exponent of the result's last kept bit
  const int shift = lsb - x.exp;
  u128 q;
  bool half = false, sticky = false;
  if (shift <= 0) {
    q = x.mag << -shift;
  } else if (shift > len) {
    q = 0;
    sticky = true;
  } else {
    q = x.mag >> shift;
    half = ((x.mag >> (shift - 1)) & 1) != 0;
    sticky = (x.mag & ((u128(1) << (shift - 1)) - 1)) != 0;
  }
  bool up = false;
  switch (r) {
    case Rnd::rn:
      up = half && (sticky || (q & 1));
      break;
    case Rnd::rna:
      up = half;
      break;
    case Rnd::rz:
      break;
    case Rnd::rm:
      up = x.neg && (half || sticky);
      break;
    case Rnd::rp:
      up = !x.neg && (half || sticky);
      break;
  }
  q += up;
  if (q >> (f.frac + 1)) {
    q >>= 1;
    ++lsb;
  }
  if (q == 0) return s;
  if (!(q >> f.frac)) return s | uint64_t(q);  // subnormal
  const int be = lsb + f.frac + bias(f);
  if (be >= (1 << f.exp) - 1) {
    const bool to_inf =
        r == Rnd::rn || r == Rnd::rna || (r == Rnd::rp && !x.neg) || (r == Rnd::rm && x.neg);
    return to_inf ? inf_bits(f, x.neg) : max_bits(f, x.neg);
  }
  return s | (uint64_t(be) << f.frac) | (uint64_t(q) & frac_mask(f));
}

// The exact sum of two values with mag < 2^107. Far apart, the smaller is reduced to a sticky
// bit at a doubled scale: the result then lies strictly inside the same interval between
// representable values as the true sum at every precision the callers round to (<= 53 bits).
Exact exact_add(Exact a, Exact b) {
  if (a.exp < b.exp) std::swap(a, b);
  const int d = a.exp - b.exp;
  const int la = bitlen(a.mag);
  u128 x, y;
  int e;
  if (la + d <= 125) {
    x = a.mag << d;
    y = b.mag;
    e = b.exp;
  } else {
    const int k = 125 - la;
    const int s = d - k;
    x = a.mag << (k + 1);
    const bool sticky = s >= 128 || (b.mag & ((u128(1) << s) - 1)) != 0;
    y = ((s >= 128 ? 0 : b.mag >> s) << 1) | u128(sticky);
    e = a.exp - k - 1;
  }
  if (a.neg == b.neg) return {a.neg, x + y, e};
  if (x >= y) return {a.neg, x - y, e};
  return {b.neg, y - x, e};
}

Exact exact_mul(const Exact& a, const Exact& b) {
  return {a.neg != b.neg, a.mag * b.mag, a.exp + b.exp};
}

// a*b + c (c optional) in format f with one rounding; NaN results are nan_bits(f).
uint64_t fma_bits(uint64_t a, uint64_t b, const uint64_t* c, Fmt f, Rnd r) {
  const Kind ka = kind(a, f), kb = kind(b, f), kc = c ? kind(*c, f) : Kind::zero;
  if (ka == Kind::nan || kb == Kind::nan || kc == Kind::nan) return nan_bits(f);
  const bool pneg = neg_of(a, f) != neg_of(b, f);
  const bool pinf = ka == Kind::inf || kb == Kind::inf;
  const bool pzero = ka == Kind::zero || kb == Kind::zero;
  if (pinf && pzero) return nan_bits(f);
  if (pinf) {
    if (kc == Kind::inf && neg_of(*c, f) != pneg) return nan_bits(f);
    return inf_bits(f, pneg);
  }
  if (kc == Kind::inf) return *c;
  if (pzero) {
    if (!c) return pneg ? sign_bit(f) : 0;
    if (kc != Kind::zero) return *c;
    const bool cneg = neg_of(*c, f);
    return (cneg == pneg ? cneg : r == Rnd::rm) ? sign_bit(f) : 0;
  }
  const Exact p = exact_mul(decompose(a, f), decompose(b, f));
  if (kc != Kind::finite) return round_exact(p, f, r);
  Exact sum = exact_add(p, decompose(*c, f));
  if (sum.mag == 0) sum.neg = r == Rnd::rm;
  return round_exact(sum, f, r);
}

uint64_t add_bits(uint64_t a, uint64_t b, Fmt f, Rnd r) {
  const uint64_t one = uint64_t(bias(f)) << f.frac;
  return fma_bits(a, one, &b, f, r);
}

uint64_t div_bits(uint64_t a, uint64_t b, Fmt f, Rnd r) {
  const Kind ka = kind(a, f), kb = kind(b, f);
  const bool neg = neg_of(a, f) != neg_of(b, f);
  if (ka == Kind::nan || kb == Kind::nan) return nan_bits(f);
  if ((ka == Kind::inf && kb == Kind::inf) || (ka == Kind::zero && kb == Kind::zero))
    return nan_bits(f);
  if (ka == Kind::inf || kb == Kind::zero) return inf_bits(f, neg);
  if (ka == Kind::zero || kb == Kind::inf) return neg ? sign_bit(f) : 0;
  Exact x = decompose(a, f), y = decompose(b, f);
  // Normalise both significands to f.frac + 1 bits; the quotient then has >= f.frac + 3 bits.
  const int sx = f.frac + 1 - bitlen(x.mag), sy = f.frac + 1 - bitlen(y.mag);
  const int s = f.frac + 4;
  const u128 num = x.mag << (sx + s), den = y.mag << sy;
  const u128 q = num / den;
  const bool sticky = q * den != num;
  return round_exact({neg, (q << 1) | u128(sticky), x.exp - sx - (y.exp - sy) - s - 1}, f, r);
}

u128 isqrt(u128 v, bool& exact) {
  u128 res = 0, bit = u128(1) << 126;
  while (bit > v) bit >>= 2;
  while (bit) {
    if (v >= res + bit) {
      v -= res + bit;
      res = (res >> 1) + bit;
    } else {
      res >>= 1;
    }
    bit >>= 2;
  }
  exact = v == 0;
  return res;
}

uint64_t sqrt_bits(uint64_t a, Fmt f, Rnd r) {
  const Kind k = kind(a, f);
  if (k == Kind::nan) return nan_bits(f);
  if (k == Kind::zero) return a;
  if (neg_of(a, f)) return nan_bits(f);
  if (k == Kind::inf) return a;
  Exact x = decompose(a, f);
  // An even exponent and at least 2 * (f.frac + 4) bits, so the root has f.frac + 4 bits.
  int sh = std::max(0, 2 * (f.frac + 4) - bitlen(x.mag));
  if ((x.exp - sh) & 1) ++sh;
  bool exact;
  const u128 root = isqrt(x.mag << sh, exact);
  return round_exact({false, (root << 1) | u128(!exact), (x.exp - sh) / 2 - 1}, f, r);
}

// Format to format conversion with one rounding; NaN gives the destination's canonical NaN.
uint64_t convert_bits(uint64_t a, Fmt from, Fmt to, Rnd r) {
  switch (kind(a, from)) {
    case Kind::nan:
      return nan_bits(to);
    case Kind::inf:
      return inf_bits(to, neg_of(a, from));
    case Kind::zero:
      return neg_of(a, from) ? sign_bit(to) : 0;
    case Kind::finite:
      break;
  }
  return round_exact(decompose(a, from), to, r);
}

// .relu, .satfinite and .sat on a result of format f.
uint64_t apply_mods(uint64_t x, Fmt f, const CvtMods& m) {
  const Kind k = kind(x, f);
  if (m.sat) {
    if (k == Kind::nan || neg_of(x, f) || k == Kind::zero) return 0;
    const uint64_t one = uint64_t(bias(f)) << f.frac;
    return x > one ? one : x;
  }
  if (m.relu && k != Kind::nan && neg_of(x, f)) return 0;
  if (m.satfinite && k == Kind::inf) return max_bits(f, neg_of(x, f));
  return x;
}

uint64_t ftz_bits(uint64_t x, Fmt f) {
  return subnormal(x, f) ? x & sign_bit(f) : x;
}

// f32 operation wrappers: .ftz on inputs and result, .sat on the result.
float f32_result(uint64_t bits, bool ftz, bool sat) {
  if (ftz) bits = ftz_bits(bits, kF32);
  const float v = f32_from(uint32_t(bits));
  return sat ? sat_f32(v) : v;
}
uint64_t f32_in(float x, bool ftz) {
  const uint64_t b = f32_bits(x);
  return ftz ? ftz_bits(b, kF32) : b;
}

// f64 NaN results: the first NaN input, quieted, else the canonical NaN.
double f64_result(uint64_t bits, std::initializer_list<double> inputs) {
  if (kind(bits, kF64) != Kind::nan) return f64_from(bits);
  for (double x : inputs)
    if (std::isnan(x)) return f64_from(f64_bits(x) | 0x0008000000000000ull);
  return f64_from(kNanF64);
}

uint16_t half_op_result(uint64_t bits, Fmt f, bool ftz, bool sat) {
  if (ftz) bits = ftz_bits(bits, f);
  if (sat) {
    CvtMods m;
    m.sat = true;
    bits = apply_mods(bits, f, m);
  }
  return uint16_t(bits);
}
uint64_t half_in(uint16_t x, Fmt f, bool ftz) {
  return ftz ? ftz_bits(x, f) : x;
}

uint16_t half_minmax(uint16_t a, uint16_t b, Fmt f, bool nan, bool ftz, bool is_max) {
  if (ftz) {
    a = uint16_t(ftz_bits(a, f));
    b = uint16_t(ftz_bits(b, f));
  }
  const float fa = f.exp == 5 ? f16_to_f32(a) : numeric::bf16_to_float(a);
  const float fb = f.exp == 5 ? f16_to_f32(b) : numeric::bf16_to_float(b);
  const bool na = is_nan_f32(fa), nb = is_nan_f32(fb);
  if (na || nb) return (nan || (na && nb)) ? uint16_t(nan_bits(f)) : (na ? b : a);
  if (fa == fb) return (std::signbit(fa) != is_max) ? a : b;
  return ((fa < fb) != is_max) ? a : b;
}

// An integer value as an exact magnitude.
Exact int_exact(uint64_t v, IntType s) {
  const uint64_t x = int_norm(v, s);
  const bool neg = int_signed(s) && int64_t(x) < 0;
  return {neg, neg ? u128(0 - x) : u128(x), 0};
}

double round_int(double x, IRnd r) {
  switch (r) {
    case IRnd::rzi:
      return std::trunc(x);
    case IRnd::rmi:
      return std::floor(x);
    case IRnd::rpi:
      return std::ceil(x);
    case IRnd::rni:
      break;
  }
  double y = std::round(x);  // ties away from zero; fix ties to even
  if (std::fabs(y - x) == 0.5 && std::fmod(y, 2.0) != 0.0) y -= std::copysign(1.0, x);
  return std::copysign(y, x);
}

uint64_t float_to_int(double x, IntType t, IRnd r, bool nan_min) {
  const int w = int_width(t);
  if (std::isnan(x)) return nan_min ? int_norm(uint64_t(1) << (w - 1), t) : 0;
  const double v = round_int(x, r);
  if (int_signed(t)) {
    const double lim = std::ldexp(1.0, w - 1);  // 2^(w-1)
    if (v >= lim) return (uint64_t(1) << (w - 1)) - 1;
    if (v < -lim) return int_norm(uint64_t(1) << (w - 1), t);
    return int_norm(uint64_t(int64_t(v)), t);
  }
  if (v <= 0) return 0;
  if (v >= std::ldexp(1.0, w)) return zext(~uint64_t(0), w);
  return uint64_t(v);
}

}  // namespace

// ---- f32 / f64 arithmetic ------------------------------------------------------------------

float add_f32_slow(float a, float b, Rnd r, bool ftz, bool sat) {
  return f32_result(add_bits(f32_in(a, ftz), f32_in(b, ftz), kF32, r), ftz, sat);
}
float mul_f32_slow(float a, float b, Rnd r, bool ftz, bool sat) {
  return f32_result(fma_bits(f32_in(a, ftz), f32_in(b, ftz), nullptr, kF32, r), ftz, sat);
}
float fma_f32_slow(float a, float b, float c, Rnd r, bool ftz, bool sat) {
  const uint64_t cb = f32_in(c, ftz);
  return f32_result(fma_bits(f32_in(a, ftz), f32_in(b, ftz), &cb, kF32, r), ftz, sat);
}

double add_f64(double a, double b, Rnd r) {
  if (r == Rnd::rn) return f64_result(f64_bits(a + b), {a, b});
  return f64_result(add_bits(f64_bits(a), f64_bits(b), kF64, r), {a, b});
}
double sub_f64(double a, double b, Rnd r) {
  return add_f64(a, f64_from(f64_bits(b) ^ 0x8000000000000000ull), r);
}
double mul_f64(double a, double b, Rnd r) {
  if (r == Rnd::rn) return f64_result(f64_bits(a * b), {a, b});
  return f64_result(fma_bits(f64_bits(a), f64_bits(b), nullptr, kF64, r), {a, b});
}
double fma_f64(double a, double b, double c, Rnd r) {
  if (r == Rnd::rn) return f64_result(f64_bits(std::fma(a, b, c)), {a, b, c});
  const uint64_t cb = f64_bits(c);
  return f64_result(fma_bits(f64_bits(a), f64_bits(b), &cb, kF64, r), {a, b, c});
}

float div_f32(float a, float b, Rnd r, bool ftz) {
  if (r == Rnd::rn && !ftz) return canon_f32(a / b);
  return f32_result(div_bits(f32_in(a, ftz), f32_in(b, ftz), kF32, r), ftz, false);
}
double div_f64(double a, double b, Rnd r) {
  if (r == Rnd::rn) return f64_result(f64_bits(a / b), {a, b});
  return f64_result(div_bits(f64_bits(a), f64_bits(b), kF64, r), {a, b});
}
float div_approx_f32(float a, float b, bool ftz) {
  if (ftz) {
    a = ftz_f32(a);
    b = ftz_f32(b);
  }
  const float mb = std::fabs(b);
  if (mb > 0x1p126f && mb < INFINITY) {
    if (std::isinf(a)) return f32_from(kNanF32);
    if (!std::isnan(a)) return f32_from((f32_bits(a) ^ f32_bits(b)) & 0x80000000u);
  }
  return div_f32(a, b, Rnd::rn, ftz);
}
float div_full_f32(float a, float b, bool ftz) {
  return div_f32(a, b, Rnd::rn, ftz);
}
float rcp_f32(float a, Rnd r, bool ftz) {
  return div_f32(1.0f, a, r, ftz);
}
double rcp_f64(double a, Rnd r) {
  return div_f64(1.0, a, r);
}
float rcp_approx_f32(float a, bool ftz) {
  return div_f32(1.0f, a, Rnd::rn, ftz);
}
double rcp_approx_ftz_f64(double a) {
  const uint64_t hi = f64_bits(a) >> 32;  // 1.11.20
  const Kind k = kind(hi, kRcp64);
  if (k == Kind::nan) return f64_from(0x7fffffff00000000ull);
  const uint64_t x = ftz_bits(hi, kRcp64);
  const uint64_t one = uint64_t(bias(kRcp64)) << kRcp64.frac;
  const uint64_t q = ftz_bits(div_bits(one, x, kRcp64, Rnd::rn), kRcp64);
  return f64_from(q << 32);
}
float sqrt_f32(float a, Rnd r, bool ftz) {
  if (r == Rnd::rn && !ftz) return canon_f32(std::sqrt(a));
  return f32_result(sqrt_bits(f32_in(a, ftz), kF32, r), ftz, false);
}
double sqrt_f64(double a, Rnd r) {
  if (r == Rnd::rn) return f64_result(f64_bits(std::sqrt(a)), {a});
  return f64_result(sqrt_bits(f64_bits(a), kF64, r), {a});
}
float sqrt_approx_f32(float a, bool ftz) {
  return sqrt_f32(a, Rnd::rn, ftz);
}

namespace {
// An approximate f32 function: .ftz on input and result, the double-precision function rounded
// to nearest f32, NaN canonical.
template <typename F>
float approx(float a, bool ftz, F fn) {
  if (ftz) a = ftz_f32(a);
  const float v = f64_to_f32(fn(double(a)));  // NaN: the canonical NaN
  return ftz ? ftz_f32(v) : v;
}
}  // namespace

float rsqrt_approx_f32(float a, bool ftz) {
  return approx(a, ftz, [](double x) { return x == 0.0 ? 1.0 / x : 1.0 / std::sqrt(x); });
}
double rsqrt_approx_f64(double a) {
  if (a == 0.0) return 1.0 / a;
  if (std::isnan(a) || a < 0) return f64_result(kNanF64, {a});
  return 1.0 / std::sqrt(a);
}
float ex2_approx_f32(float a, bool ftz) {
  return approx(a, ftz, [](double x) { return std::exp2(x); });
}
float lg2_approx_f32(float a, bool ftz) {
  return approx(a, ftz, [](double x) { return x == 0.0 ? -INFINITY : std::log2(x); });
}
float sin_approx_f32(float a, bool ftz) {
  return approx(a, ftz, [](double x) { return std::sin(x); });
}
float cos_approx_f32(float a, bool ftz) {
  return approx(a, ftz, [](double x) { return std::cos(x); });
}
float tanh_approx_f32(float a) {
  return approx(a, false, [](double x) { return std::tanh(x); });
}

double min_f64(double a, double b, bool nan) {
  const bool na = std::isnan(a), nb = std::isnan(b);
  if (na || nb) return (nan || (na && nb)) ? f64_from(kNanF64) : (na ? b : a);
  if (a == b) return std::signbit(a) ? a : b;
  return a < b ? a : b;
}
double max_f64(double a, double b, bool nan) {
  const bool na = std::isnan(a), nb = std::isnan(b);
  if (na || nb) return (nan || (na && nb)) ? f64_from(kNanF64) : (na ? b : a);
  if (a == b) return std::signbit(a) ? b : a;
  return a > b ? a : b;
}

// ---- conversions ---------------------------------------------------------------------------

float f16_to_f32(uint16_t h, bool ftz) {
  // Every f16 is exact in f32: one table of all 65536 conversions, built once (tensor-core
  // kernels convert every operand of every mma).
  static const std::vector<uint32_t> table = [] {
    std::vector<uint32_t> t(65536);
    for (uint32_t i = 0; i < t.size(); ++i) t[i] = uint32_t(convert_bits(i, kF16, kF32, Rnd::rn));
    return t;
  }();
  return f32_result(table[h], ftz, false);
}
double f16_to_f64(uint16_t h) {
  return f64_from(convert_bits(h, kF16, kF64, Rnd::rn));
}
float bf16_to_f32(uint16_t h, bool ftz) {
  if (kind(h, kBF16) == Kind::nan) return f32_from(kNanF32);
  const float v = numeric::bf16_to_float(h);
  return ftz ? ftz_f32(v) : v;
}
double bf16_to_f64(uint16_t h) {
  return f64_from(convert_bits(h, kBF16, kF64, Rnd::rn));
}
uint16_t f32_to_f16(float a, Rnd r, CvtMods m) {
  return uint16_t(apply_mods(convert_bits(f32_in(a, m.ftz), kF32, kF16, r), kF16, m));
}
uint16_t f64_to_f16(double a, Rnd r, CvtMods m) {
  return uint16_t(apply_mods(convert_bits(f64_bits(a), kF64, kF16, r), kF16, m));
}
uint16_t f32_to_bf16(float a, Rnd r, CvtMods m) {
  const uint64_t in = f32_in(a, m.ftz);
  uint64_t out;
  if (kind(in, kF32) == Kind::nan)
    out = kNanBF16;
  else if (r == Rnd::rn)
    out = numeric::float_to_bf16(f32_from(uint32_t(in)));
  else
    out = convert_bits(in, kF32, kBF16, r);
  return uint16_t(apply_mods(out, kBF16, m));
}
uint16_t f64_to_bf16(double a, Rnd r, CvtMods m) {
  return uint16_t(apply_mods(convert_bits(f64_bits(a), kF64, kBF16, r), kBF16, m));
}
uint32_t f32_to_tf32(float a, Rnd r, CvtMods m) {
  const uint64_t in = f32_in(a, m.ftz);
  // kTF32 has f32's exponent: re-pack its 10-bit fraction into f32's 23-bit field.
  const uint64_t t = apply_mods(convert_bits(in, kF32, kTF32, r), kTF32, m);
  if (kind(t, kTF32) == Kind::nan) return kNanF32 & ~0x1fffu;
  return uint32_t(((t & sign_bit(kTF32)) << 13) | ((t & (sign_bit(kTF32) - 1)) << 13));
}
float f64_to_f32(double a, Rnd r, CvtMods m) {
  uint64_t out = convert_bits(f64_bits(a), kF64, kF32, r);
  if (m.ftz) out = ftz_bits(out, kF32);
  return f32_from(uint32_t(apply_mods(out, kF32, m)));
}
double f32_to_f64(float a, CvtMods m) {
  const uint64_t out = convert_bits(f32_in(a, m.ftz), kF32, kF64, Rnd::rn);
  return f64_from(apply_mods(out, kF64, m));
}
uint16_t f16_to_bf16(uint16_t h, Rnd r, CvtMods m) {
  return uint16_t(apply_mods(convert_bits(h, kF16, kBF16, r), kBF16, m));
}
uint16_t bf16_to_f16(uint16_t h, Rnd r, CvtMods m) {
  return uint16_t(apply_mods(convert_bits(h, kBF16, kF16, r), kF16, m));
}
float round_int_f32(float a, IRnd r, bool ftz, bool sat) {
  if (ftz) a = ftz_f32(a);
  if (std::isnan(a)) return sat ? 0.0f : f32_from(kNanF32);
  const float v = float(round_int(double(a), r));
  return sat ? sat_f32(v) : v;
}
double round_int_f64(double a, IRnd r, bool sat) {
  if (std::isnan(a)) return sat ? 0.0 : f64_result(kNanF64, {a});
  const double v = round_int(a, r);
  return sat ? (v > 0.0 ? (v < 1.0 ? v : 1.0) : 0.0) : v;
}

uint64_t f32_to_int(float a, IntType t, IRnd r, bool ftz) {
  if (ftz) a = ftz_f32(a);
  return float_to_int(double(a), t, r, int_width(t) == 64);
}
uint64_t f64_to_int(double a, IntType t, IRnd r) {
  return float_to_int(a, t, r, true);
}
float int_to_f32(uint64_t v, IntType s, Rnd r, CvtMods m) {
  uint64_t out = round_exact(int_exact(v, s), kF32, r);
  return f32_from(uint32_t(apply_mods(out, kF32, m)));
}
double int_to_f64(uint64_t v, IntType s, Rnd r) {
  return f64_from(round_exact(int_exact(v, s), kF64, r));
}
uint16_t int_to_f16(uint64_t v, IntType s, Rnd r, CvtMods m) {
  return uint16_t(apply_mods(round_exact(int_exact(v, s), kF16, r), kF16, m));
}
uint16_t int_to_bf16(uint64_t v, IntType s, Rnd r, CvtMods m) {
  return uint16_t(apply_mods(round_exact(int_exact(v, s), kBF16, r), kBF16, m));
}

// ---- f16 / bf16 arithmetic -----------------------------------------------------------------

uint16_t add_f16(uint16_t a, uint16_t b, bool ftz, bool sat) {
  return half_op_result(add_bits(half_in(a, kF16, ftz), half_in(b, kF16, ftz), kF16, Rnd::rn), kF16,
                        ftz, sat);
}
uint16_t sub_f16(uint16_t a, uint16_t b, bool ftz, bool sat) {
  return add_f16(a, b ^ 0x8000, ftz, sat);
}
uint16_t mul_f16(uint16_t a, uint16_t b, bool ftz, bool sat) {
  return half_op_result(
      fma_bits(half_in(a, kF16, ftz), half_in(b, kF16, ftz), nullptr, kF16, Rnd::rn), kF16, ftz,
      sat);
}
uint16_t fma_f16(uint16_t a, uint16_t b, uint16_t c, bool ftz, bool sat) {
  const uint64_t cb = half_in(c, kF16, ftz);
  return half_op_result(fma_bits(half_in(a, kF16, ftz), half_in(b, kF16, ftz), &cb, kF16, Rnd::rn),
                        kF16, ftz, sat);
}
uint16_t add_bf16(uint16_t a, uint16_t b) {
  return uint16_t(add_bits(a, b, kBF16, Rnd::rn));
}
uint16_t sub_bf16(uint16_t a, uint16_t b) {
  return add_bf16(a, b ^ 0x8000);
}
uint16_t mul_bf16(uint16_t a, uint16_t b) {
  return uint16_t(fma_bits(a, b, nullptr, kBF16, Rnd::rn));
}
uint16_t fma_bf16(uint16_t a, uint16_t b, uint16_t c) {
  const uint64_t cb = c;
  return uint16_t(fma_bits(a, b, &cb, kBF16, Rnd::rn));
}
uint16_t min_f16(uint16_t a, uint16_t b, bool nan, bool ftz) {
  return half_minmax(a, b, kF16, nan, ftz, false);
}
uint16_t max_f16(uint16_t a, uint16_t b, bool nan, bool ftz) {
  return half_minmax(a, b, kF16, nan, ftz, true);
}
uint16_t min_bf16(uint16_t a, uint16_t b, bool nan) {
  return half_minmax(a, b, kBF16, nan, false, false);
}
uint16_t max_bf16(uint16_t a, uint16_t b, bool nan) {
  return half_minmax(a, b, kBF16, nan, false, true);
}

uint32_t add_f16x2(uint32_t a, uint32_t b, bool ftz, bool sat) {
  return packed2(a, b, [=](uint16_t x, uint16_t y) { return add_f16(x, y, ftz, sat); });
}
uint32_t sub_f16x2(uint32_t a, uint32_t b, bool ftz, bool sat) {
  return packed2(a, b, [=](uint16_t x, uint16_t y) { return sub_f16(x, y, ftz, sat); });
}
uint32_t mul_f16x2(uint32_t a, uint32_t b, bool ftz, bool sat) {
  return packed2(a, b, [=](uint16_t x, uint16_t y) { return mul_f16(x, y, ftz, sat); });
}
uint32_t fma_f16x2(uint32_t a, uint32_t b, uint32_t c, bool ftz, bool sat) {
  return uint32_t(fma_f16(uint16_t(a), uint16_t(b), uint16_t(c), ftz, sat)) |
         uint32_t(fma_f16(uint16_t(a >> 16), uint16_t(b >> 16), uint16_t(c >> 16), ftz, sat)) << 16;
}
uint32_t min_f16x2(uint32_t a, uint32_t b, bool nan, bool ftz) {
  return packed2(a, b, [=](uint16_t x, uint16_t y) { return min_f16(x, y, nan, ftz); });
}
uint32_t max_f16x2(uint32_t a, uint32_t b, bool nan, bool ftz) {
  return packed2(a, b, [=](uint16_t x, uint16_t y) { return max_f16(x, y, nan, ftz); });
}
uint32_t add_bf16x2(uint32_t a, uint32_t b) {
  return packed2(a, b, add_bf16);
}
uint32_t sub_bf16x2(uint32_t a, uint32_t b) {
  return packed2(a, b, sub_bf16);
}
uint32_t mul_bf16x2(uint32_t a, uint32_t b) {
  return packed2(a, b, mul_bf16);
}
uint32_t fma_bf16x2(uint32_t a, uint32_t b, uint32_t c) {
  return uint32_t(fma_bf16(uint16_t(a), uint16_t(b), uint16_t(c))) |
         uint32_t(fma_bf16(uint16_t(a >> 16), uint16_t(b >> 16), uint16_t(c >> 16))) << 16;
}
uint32_t min_bf16x2(uint32_t a, uint32_t b, bool nan) {
  return packed2(a, b, [=](uint16_t x, uint16_t y) { return min_bf16(x, y, nan); });
}
uint32_t max_bf16x2(uint32_t a, uint32_t b, bool nan) {
  return packed2(a, b, [=](uint16_t x, uint16_t y) { return max_bf16(x, y, nan); });
}

// ---- integer operations --------------------------------------------------------------------

uint64_t mul_hi_u64(uint64_t a, uint64_t b) {
  return uint64_t((u128(a) * b) >> 64);
}
int64_t mul_hi_s64(int64_t a, int64_t b) {
  __extension__ typedef __int128 i128;
  return int64_t(uint64_t(u128(i128(a) * b) >> 64));
}

uint64_t div_int(uint64_t a, uint64_t b, IntType t) {
  const int w = int_width(t);
  a = int_norm(a, t);
  b = int_norm(b, t);
  if (b == 0) return int_norm(~uint64_t(0), t);
  if (!int_signed(t)) return a / b;
  const int64_t x = int64_t(a), y = int64_t(b);
  if (y == -1) return neg_int(a, w);  // MIN / -1 wraps
  return uint64_t(x / y);
}
uint64_t rem_int(uint64_t a, uint64_t b, IntType t) {
  a = int_norm(a, t);
  b = int_norm(b, t);
  if (b == 0) return a;
  if (!int_signed(t)) return a % b;
  const int64_t x = int64_t(a), y = int64_t(b);
  if (y == -1) return 0;
  return uint64_t(x % y);
}

uint64_t bfe(uint64_t a, uint32_t pos, uint32_t len, int width, bool is_signed) {
  pos &= 0xff;
  len &= 0xff;
  if (len == 0) return 0;
  const uint32_t msb = uint32_t(width - 1);
  const uint64_t x = zext(a, width);
  const bool sbit = is_signed && ((x >> std::min(pos + len - 1, msb)) & 1);
  // Bits i < len with pos + i <= msb come from a; the rest are the sign bit.
  const uint32_t n = pos > msb ? 0 : std::min(len, msb + 1 - pos);
  uint64_t field = n == 0 ? 0 : (x >> pos) & (n >= 64 ? ~uint64_t(0) : (uint64_t(1) << n) - 1);
  if (sbit && n < 64) field |= ~uint64_t(0) << n;
  return zext(field, width);
}
uint64_t bfi(uint64_t a, uint64_t b, uint32_t pos, uint32_t len, int width) {
  pos &= 0xff;
  len &= 0xff;
  const uint32_t msb = uint32_t(width - 1);
  if (len == 0 || pos > msb) return zext(b, width);
  const uint32_t n = std::min(len, msb + 1 - pos);
  const uint64_t mask = (n >= 64 ? ~uint64_t(0) : (uint64_t(1) << n) - 1) << pos;
  return zext((b & ~mask) | ((a << pos) & mask), width);
}
uint64_t brev(uint64_t a, int width) {
  uint64_t r = 0;
  for (int i = 0; i < width; ++i) r |= ((a >> i) & 1) << (width - 1 - i);
  return r;
}

uint32_t prmt(uint32_t a, uint32_t b, uint32_t c, PrmtMode mode) {
  const uint64_t src = (uint64_t(b) << 32) | a;
  auto byte = [&](uint32_t i) { return uint32_t(src >> (8 * (i & 7))) & 0xff; };
  // Per mode, the source byte of d.b0..d.b3 for selector c[1:0], packed as 4-bit fields.
  static constexpr uint16_t kTable[6][4] = {
      {0x3210, 0x4321, 0x5432, 0x6543},  // f4e
      {0x5670, 0x6701, 0x7012, 0x0123},  // b4e
      {0x0000, 0x1111, 0x2222, 0x3333},  // rc8
      {0x3210, 0x3211, 0x3222, 0x3333},  // ecl
      {0x0000, 0x1110, 0x2210, 0x3210},  // ecr
      {0x1010, 0x3232, 0x1010, 0x3232},  // rc16
  };
  uint32_t d = 0;
  if (mode == PrmtMode::none) {
    for (int i = 0; i < 4; ++i) {
      const uint32_t sel = (c >> (4 * i)) & 0xf;
      const uint32_t v = byte(sel);
      d |= ((sel & 8) ? ((v & 0x80) ? 0xffu : 0u) : v) << (8 * i);
    }
    return d;
  }
  const uint16_t sels = kTable[int(mode) - 1][c & 3];
  for (int i = 0; i < 4; ++i) d |= byte((sels >> (4 * i)) & 0xf) << (8 * i);
  return d;
}

uint32_t dp4a(uint32_t a, uint32_t b, uint32_t c, bool a_signed, bool b_signed) {
  uint32_t d = c;
  for (int i = 0; i < 4; ++i) {
    const uint64_t x = a_signed ? sext(a >> (8 * i), 8) : zext(a >> (8 * i), 8);
    const uint64_t y = b_signed ? sext(b >> (8 * i), 8) : zext(b >> (8 * i), 8);
    d += uint32_t(x * y);
  }
  return d;
}
uint32_t dp2a(uint32_t a, uint32_t b, uint32_t c, bool a_signed, bool b_signed, bool hi) {
  uint32_t d = c;
  for (int i = 0; i < 2; ++i) {
    const uint64_t x = a_signed ? sext(a >> (16 * i), 16) : zext(a >> (16 * i), 16);
    const int j = (hi ? 2 : 0) + i;
    const uint64_t y = b_signed ? sext(b >> (8 * j), 8) : zext(b >> (8 * j), 8);
    d += uint32_t(x * y);
  }
  return d;
}

}  // namespace xpusim::isa::ptx
