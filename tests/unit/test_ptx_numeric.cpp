// PTX value semantics (isa/ptx/numeric.h): conversions checked exhaustively or against
// independent table and host-FPU references, rounding modes of the arithmetic against the host FPU
// under fesetround, the special cases of the PTX ISA and the integer edge cases.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "isa/ptx/numeric.h"

using namespace xpusim::isa::ptx;

namespace {

const Rnd kModes[] = {Rnd::rn, Rnd::rz, Rnd::rm, Rnd::rp};
const int kFeModes[] = {FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD};

// Independent f16 decoding: sign, exponent, fraction by the IEEE definition.
double f16_value(uint16_t h) {
  const int e = (h >> 10) & 0x1f, f = h & 0x3ff;
  const double v = e == 0 ? std::ldexp(f, -24) : std::ldexp(f + 1024, e - 25);
  return (h & 0x8000) ? -v : v;
}

// Rounds x (finite) to a format given by its sorted positive finite values `pos` (pos[0] = 0)
// and the value one step past the largest (the overflow threshold's far end), choosing between
// the two neighbours by the rounding rule. Returns the index into pos, or -1 for infinity.
int round_by_table(double x, const std::vector<double>& pos, double beyond, Rnd r) {
  const double ax = std::fabs(x);
  const bool neg = x < 0;
  size_t hi = std::lower_bound(pos.begin(), pos.end(), ax) - pos.begin();
  if (hi < pos.size() && pos[hi] == ax) return int(hi);
  const size_t lo = hi - 1;
  const double up = hi < pos.size() ? pos[hi] : beyond;
  const double mid = (pos[lo] + up) / 2;  // exact in double for these formats
  bool away;
  switch (r) {
    case Rnd::rn:
      away = ax > mid || (ax == mid && (hi & 1) == 0);
      break;
    case Rnd::rna:
      away = ax >= mid;
      break;
    case Rnd::rz:
      away = false;
      break;
    case Rnd::rm:
      away = neg;
      break;
    default:
      away = !neg;
      break;
  }
  if (!away) return int(lo);
  return hi < pos.size() ? int(hi) : -1;
}

std::vector<double> f16_positives() {
  std::vector<double> v;
  for (uint16_t h = 0; h < 0x7c00; ++h) v.push_back(f16_value(h));
  return v;
}
std::vector<double> bf16_positives() {
  std::vector<double> v;
  for (uint32_t h = 0; h < 0x7f80; ++h) v.push_back(double(f32_from(h << 16)));
  return v;
}

// Expected 16-bit result of rounding finite x with the table method.
uint16_t table_round16(double x, const std::vector<double>& pos, double beyond, uint16_t inf,
                       Rnd r) {
  const int i = round_by_table(x, pos, beyond, r);
  const uint16_t s = std::signbit(x) ? 0x8000 : 0;
  return uint16_t(s | (i < 0 ? inf : uint16_t(i)));
}

// Interesting f32 inputs: edges, subnormals, values near ties, and random bit patterns.
std::vector<float> f32_inputs(size_t n_random, uint64_t seed) {
  std::vector<float> v = {0.0f,    -0.0f,   1.0f,          -1.0f,          1.5f,         3.0f,
                          65504.f, 65519.f, 65520.f,       65536.f,        6.1e-5f,      6.0e-8f,
                          3.0e-8f, 2.9e-8f, 1e-45f,        -1e-45f,        1.17549e-38f, 3.4e38f,
                          1e30f,   -1e30f,  1.0009765625f, 1.00048828125f, 0.1f,         1.0e-7f};
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < n_random; ++i) {
    uint32_t u = uint32_t(rng());
    if (i % 3 == 0) u = (u & 0x80ffffffu) | ((100 + uint32_t(rng() % 60)) << 23);  // near f16
    const float f = f32_from(u);
    if (!std::isnan(f)) v.push_back(f);
  }
  return v;
}

// The host FPU's result of `op` in rounding mode fe ('+', '*', '/', 's' sqrt, else fma).
template <class T>
T host(int fe, T a, T b, char op, T c = 0) {
  volatile T va = a, vb = b, vc = c;
  std::fesetround(fe);
  volatile T r;
  switch (op) {
    case '+':
      r = va + vb;
      break;
    case '*':
      r = va * vb;
      break;
    case '/':
      r = va / vb;
      break;
    case 's':
      r = std::sqrt(T(va));
      break;
    default:
      r = std::fma(T(va), T(vb), T(vc));
      break;
  }
  std::fesetround(FE_TONEAREST);
  return r;
}
float host_f32(int fe, float a, float b, char op, float c = 0) {
  return host<float>(fe, a, b, op, c);
}
double host_f64(int fe, double a, double b, char op, double c = 0) {
  return host<double>(fe, a, b, op, c);
}

// Bitwise equality, any NaN matching the canonical f32 NaN.
bool same_f32(float ours, float host) {
  if (std::isnan(host)) return f32_bits(ours) == kNanF32;
  return f32_bits(ours) == f32_bits(host);
}
bool same_f64(double ours, double host) {
  if (std::isnan(host)) return std::isnan(ours);
  return f64_bits(ours) == f64_bits(host);
}

float random_f32(std::mt19937_64& rng) {
  uint32_t u = uint32_t(rng());
  switch (rng() % 4) {
    case 0:  // moderate exponents, where sums cancel and round
      u = (u & 0x807fffffu) | ((120 + uint32_t(rng() % 16)) << 23);
      break;
    case 1:  // subnormal or tiny
      u &= 0x80ffffffu;
      break;
    default:
      break;
  }
  return f32_from(u);
}
double random_f64(std::mt19937_64& rng) {
  uint64_t u = rng();
  switch (rng() % 4) {
    case 0:
      u = (u & 0x800fffffffffffffull) | (uint64_t(1015 + rng() % 20) << 52);
      break;
    case 1:
      u &= 0x801fffffffffffffull;
      break;
    default:
      break;
  }
  return f64_from(u);
}

}  // namespace

TEST_CASE("ptx numeric: every f16 bit pattern decodes exactly and round-trips through f32",
          "[ptx]") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(uint16_t(h));
    const bool nan = ((h >> 10) & 0x1f) == 0x1f && (h & 0x3ff);
    if (nan) {
      REQUIRE(f32_bits(f) == kNanF32);
      REQUIRE(f32_to_f16(f) == kNanF16);
      continue;
    }
    if (((h >> 10) & 0x1f) == 0x1f)
      REQUIRE(std::isinf(f));
    else
      REQUIRE(double(f) == f16_value(uint16_t(h)));
    REQUIRE(std::signbit(f) == bool(h & 0x8000));
    REQUIRE(f16_to_f64(uint16_t(h)) == double(f));
    for (Rnd r : kModes) REQUIRE(f32_to_f16(f, r) == h);
    REQUIRE(f64_to_f16(double(f), Rnd::rz) == h);
  }
}

TEST_CASE("ptx numeric: every bf16 bit pattern round-trips through f32 and f64", "[ptx]") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = bf16_to_f32(uint16_t(h));
    const bool nan = ((h >> 7) & 0xff) == 0xff && (h & 0x7f);
    if (nan) {
      REQUIRE(f32_bits(f) == kNanF32);
      REQUIRE(f32_to_bf16(f) == kNanBF16);
      REQUIRE(std::isnan(bf16_to_f64(uint16_t(h))));
      continue;
    }
    REQUIRE(f32_bits(f) == h << 16);
    REQUIRE(bf16_to_f64(uint16_t(h)) == double(f));
    for (Rnd r : kModes) REQUIRE(f32_to_bf16(f, r) == h);
    REQUIRE(f64_to_bf16(double(f), Rnd::rm) == h);
  }
}

TEST_CASE("ptx numeric: f32 and f64 to f16 match the table rounding in every mode", "[ptx]") {
  const std::vector<double> pos = f16_positives();
  for (float f : f32_inputs(60000, 1)) {
    for (Rnd r : {Rnd::rn, Rnd::rz, Rnd::rm, Rnd::rp, Rnd::rna}) {
      const uint16_t want = table_round16(double(f), pos, 65536.0, 0x7c00, r);
      INFO("f32 " << f << " mode " << int(r));
      REQUIRE(f32_to_f16(f, r) == want);
      REQUIRE(f64_to_f16(double(f), r) == want);
    }
  }
  // A double whose tail below f32 precision decides the rounding: 1 + 2^-11 + 2^-40.
  const double x = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  REQUIRE(f64_to_f16(x, Rnd::rn) == 0x3c01);
  REQUIRE(f64_to_f16(1.0 + std::ldexp(1.0, -11), Rnd::rn) == 0x3c00);  // tie to even
  REQUIRE(f64_to_f16(1.0 + std::ldexp(1.0, -11), Rnd::rna) == 0x3c01);
  REQUIRE(f32_to_f16(1e9f, Rnd::rz) == 0x7bff);
  REQUIRE(f32_to_f16(-1e9f, Rnd::rp) == 0xfbff);
  REQUIRE(f32_to_f16(-1e9f, Rnd::rm) == 0xfc00);
  REQUIRE(f32_to_f16(INFINITY, Rnd::rz) == 0x7c00);  // infinity is not rounded
}

TEST_CASE("ptx numeric: f32 to bf16 matches the table rounding; rn agrees with models/core",
          "[ptx]") {
  const std::vector<double> pos = bf16_positives();
  const double beyond = std::ldexp(1.0, 128);
  std::mt19937_64 rng(2);
  for (int i = 0; i < 60000; ++i) {
    const float f = random_f32(rng);
    if (std::isnan(f) || std::isinf(f)) continue;
    for (Rnd r : kModes) {
      INFO("f32 bits " << f32_bits(f) << " mode " << int(r));
      REQUIRE(f32_to_bf16(f, r) == table_round16(double(f), pos, beyond, 0x7f80, r));
    }
  }
  REQUIRE(f32_to_bf16(f32_from(0x3f808000u)) == 0x3f80);  // tie to even (down)
  REQUIRE(f32_to_bf16(f32_from(0x3f818000u)) == 0x3f82);  // tie to even (up)
  REQUIRE(f32_to_bf16(f32_from(0x7f7fffffu), Rnd::rz) == 0x7f7f);
  REQUIRE(f32_to_bf16(f32_from(0x7f7fffffu), Rnd::rn) == 0x7f80);
}

TEST_CASE("ptx numeric: cvt modifiers .ftz .sat .relu .satfinite", "[ptx]") {
  CvtMods sat;
  sat.sat = true;
  REQUIRE(f32_to_f16(1.5f, Rnd::rn, sat) == 0x3c00);
  REQUIRE(f32_to_f16(-2.0f, Rnd::rn, sat) == 0x0000);
  REQUIRE(f32_to_f16(f32_from(kNanF32), Rnd::rn, sat) == 0x0000);  // NaN -> +0
  REQUIRE(f32_to_f16(0.25f, Rnd::rn, sat) == 0x3400);
  REQUIRE(f32_bits(f64_to_f32(-0.0, Rnd::rn, sat)) == 0);
  REQUIRE(f64_to_f32(7.0, Rnd::rn, sat) == 1.0f);
  CvtMods relu;
  relu.relu = true;
  REQUIRE(f32_to_bf16(-3.0f, Rnd::rn, relu) == 0x0000);
  REQUIRE(f32_to_bf16(3.0f, Rnd::rn, relu) == 0x4040);
  REQUIRE(f32_to_bf16(f32_from(0xffc00001u), Rnd::rn, relu) == kNanBF16);
  CvtMods satfinite;
  satfinite.satfinite = true;
  REQUIRE(f32_to_f16(1e6f, Rnd::rn, satfinite) == 0x7bff);
  REQUIRE(f32_to_f16(-INFINITY, Rnd::rn, satfinite) == 0xfbff);
  REQUIRE(f32_to_f16(f32_from(kNanF32), Rnd::rn, satfinite) == kNanF16);
  CvtMods ftz;
  ftz.ftz = true;
  REQUIRE(f32_to_f16(-1e-40f, Rnd::rp, ftz) == 0x8000);  // flushed input: -0
  REQUIRE(f32_to_f16(-1e-40f, Rnd::rp) == 0x8000);       // rounds toward +inf: -0
  REQUIRE(f32_to_f16(1e-40f, Rnd::rp) == 0x0001);        // smallest f16 subnormal
  REQUIRE(f32_to_f16(1e-40f, Rnd::rp, ftz) == 0x0000);
  REQUIRE(f32_bits(f64_to_f32(1e-40, Rnd::rn, ftz)) == 0);
  REQUIRE(f32_bits(bf16_to_f32(0x8001, true)) == 0x80000000u);  // subnormal f32 result flushed
  REQUIRE(f32_bits(bf16_to_f32(0x8001)) == 0x80010000u);
}

TEST_CASE("ptx numeric: f64 to f32 matches the host in every rounding mode", "[ptx]") {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 40000; ++i) {
    const double d = random_f64(rng);
    for (int m = 0; m < 4; ++m) {
      volatile double vd = d;
      std::fesetround(kFeModes[m]);
      volatile float host = float(vd);
      std::fesetround(FE_TONEAREST);
      INFO("f64 bits " << f64_bits(d) << " mode " << m);
      REQUIRE(same_f32(f64_to_f32(d, kModes[m]), host));
    }
  }
}

TEST_CASE("ptx numeric: tf32 rounding (cvt.rna/rn/rz.tf32.f32)", "[ptx]") {
  std::mt19937_64 rng(4);
  for (int i = 0; i < 50000; ++i) {
    const uint32_t u = uint32_t(rng()) & 0xfeffffffu;  // finite, no overflow to infinity
    const float f = f32_from(u);
    if (std::isnan(f) || std::isinf(f)) continue;
    REQUIRE(f32_to_tf32(f, Rnd::rna) == ((u + 0x1000u) & ~0x1fffu));
    REQUIRE(f32_to_tf32(f, Rnd::rz) == (u & ~0x1fffu));
    const uint32_t rn = (u + 0xfffu + ((u >> 13) & 1)) & ~0x1fffu;
    REQUIRE(f32_to_tf32(f, Rnd::rn) == rn);
  }
  // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10.
  REQUIRE(f32_to_tf32(1.0f + 0x1p-11f, Rnd::rna) == 0x3f802000u);
  REQUIRE(f32_to_tf32(1.0f + 0x1p-11f, Rnd::rn) == 0x3f800000u);
  REQUIRE(f32_to_tf32(f32_from(0x7f7fffffu), Rnd::rna) == 0x7f800000u);
  CvtMods satfinite;
  satfinite.satfinite = true;
  REQUIRE(f32_to_tf32(f32_from(0x7f7fffffu), Rnd::rna, satfinite) == 0x7f7fe000u);
  REQUIRE(f32_to_tf32(f32_from(0x7fc00001u)) == 0x7fffe000u);
}

TEST_CASE("ptx numeric: f32 add/sub/mul/fma/div/sqrt match the host FPU in all rounding modes",
          "[ptx]") {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 30000; ++i) {
    const float a = random_f32(rng), b = random_f32(rng), c = random_f32(rng);
    for (int m = 0; m < 4; ++m) {
      const Rnd r = kModes[m];
      INFO("a " << f32_bits(a) << " b " << f32_bits(b) << " c " << f32_bits(c) << " mode " << m);
      REQUIRE(same_f32(add_f32(a, b, r), host_f32(kFeModes[m], a, b, '+')));
      REQUIRE(same_f32(sub_f32(a, b, r), host_f32(kFeModes[m], a, -b, '+')));
      REQUIRE(same_f32(mul_f32(a, b, r), host_f32(kFeModes[m], a, b, '*')));
      REQUIRE(same_f32(fma_f32(a, b, c, r), host_f32(kFeModes[m], a, b, 'f', c)));
      REQUIRE(same_f32(div_f32(a, b, r), host_f32(kFeModes[m], a, b, '/')));
      REQUIRE(same_f32(sqrt_f32(std::fabs(a), r), host_f32(kFeModes[m], std::fabs(a), 0, 's')));
      // The exact path also agrees with the host in round-to-nearest.
      if (r == Rnd::rn) REQUIRE(same_f32(add_f32_slow(a, b, r, false, false), add_f32(a, b)));
    }
  }
}

TEST_CASE("ptx numeric: f64 add/sub/mul/fma/div/sqrt match the host FPU in all rounding modes",
          "[ptx]") {
  std::mt19937_64 rng(6);
  for (int i = 0; i < 30000; ++i) {
    const double a = random_f64(rng), b = random_f64(rng), c = random_f64(rng);
    for (int m = 0; m < 4; ++m) {
      const Rnd r = kModes[m];
      INFO("a " << f64_bits(a) << " b " << f64_bits(b) << " c " << f64_bits(c) << " mode " << m);
      REQUIRE(same_f64(add_f64(a, b, r), host_f64(kFeModes[m], a, b, '+')));
      REQUIRE(same_f64(sub_f64(a, b, r), host_f64(kFeModes[m], a, -b, '+')));
      REQUIRE(same_f64(mul_f64(a, b, r), host_f64(kFeModes[m], a, b, '*')));
      REQUIRE(same_f64(fma_f64(a, b, c, r), host_f64(kFeModes[m], a, b, 'f', c)));
      REQUIRE(same_f64(div_f64(a, b, r), host_f64(kFeModes[m], a, b, '/')));
      REQUIRE(same_f64(sqrt_f64(std::fabs(a), r), host_f64(kFeModes[m], std::fabs(a), 0, 's')));
    }
  }
}

TEST_CASE("ptx numeric: signed zeros, infinities and NaNs of the arithmetic", "[ptx]") {
  REQUIRE(f32_bits(add_f32(1.0f, -1.0f, Rnd::rn)) == 0u);
  REQUIRE(f32_bits(add_f32(1.0f, -1.0f, Rnd::rm)) == 0x80000000u);
  REQUIRE(f32_bits(add_f32(-0.0f, -0.0f, Rnd::rz)) == 0x80000000u);
  REQUIRE(f32_bits(mul_f32(-0.0f, 5.0f, Rnd::rp)) == 0x80000000u);
  REQUIRE(f32_bits(fma_f32(-0.0f, 5.0f, 0.0f, Rnd::rm)) == 0x80000000u);
  REQUIRE(f32_bits(fma_f32(-0.0f, 5.0f, 0.0f, Rnd::rz)) == 0u);
  REQUIRE(f32_bits(add_f32(INFINITY, -INFINITY)) == kNanF32);
  REQUIRE(f32_bits(fma_f32(INFINITY, 0.0f, 1.0f, Rnd::rz)) == kNanF32);
  REQUIRE(f32_bits(mul_f32(3e38f, 3e38f, Rnd::rz)) == 0x7f7fffffu);
  REQUIRE(f32_bits(mul_f32(-3e38f, 3e38f, Rnd::rp)) == 0xff7fffffu);
  REQUIRE(std::isinf(mul_f32(-3e38f, 3e38f, Rnd::rm)));
  // f64: an input NaN propagates (quieted); a new NaN is the canonical one.
  const double snan = f64_from(0x7ff0000000000123ull);
  REQUIRE(f64_bits(add_f64(snan, 1.0, Rnd::rz)) == 0x7ff8000000000123ull);
  REQUIRE(f64_bits(mul_f64(2.0, snan)) == 0x7ff8000000000123ull);
  REQUIRE(f64_bits(add_f64(INFINITY, -INFINITY)) == kNanF64);
  REQUIRE(f64_bits(fma_f64(0.0, INFINITY, 1.0, Rnd::rp)) == kNanF64);
}

TEST_CASE("ptx numeric: .ftz flushes subnormal inputs and results, .sat clamps to [0, 1]",
          "[ptx]") {
  const float sub = f32_from(0x00000100u), nsub = f32_from(0x80000100u);
  REQUIRE(add_f32(sub, sub) == 2 * sub);
  REQUIRE(f32_bits(add_f32(sub, sub, Rnd::rn, true)) == 0u);
  REQUIRE(f32_bits(add_f32(nsub, nsub, Rnd::rn, true)) == 0x80000000u);
  REQUIRE(f32_bits(mul_f32(-1e-20f, 1e-20f, Rnd::rn, true)) == 0x80000000u);  // result flushed
  REQUIRE(mul_f32(-1e-20f, 1e-20f) < 0.0f);
  REQUIRE(fma_f32(sub, 1e38f, 1.0f, Rnd::rn, true) == 1.0f);  // input flushed before the product
  REQUIRE(fma_f32(sub, 1e38f, 1.0f) > 1.0f);
  REQUIRE(f32_bits(div_f32(1e-30f, 1e10f, Rnd::rz, true)) == 0u);
  REQUIRE(f32_bits(sqrt_f32(nsub, Rnd::rn, true)) == 0x80000000u);  // -0 after the flush
  REQUIRE(add_f32(0.75f, 0.5f, Rnd::rn, false, true) == 1.0f);
  REQUIRE(f32_bits(add_f32(-0.75f, 0.5f, Rnd::rn, false, true)) == 0u);
  REQUIRE(f32_bits(mul_f32(INFINITY, 0.0f, Rnd::rn, false, true)) == 0u);  // NaN -> +0
  REQUIRE(fma_f32(0.5f, 0.5f, 0.25f, Rnd::rz, false, true) == 0.5f);
  REQUIRE(ftz_f32(nsub) == 0.0f);
  REQUIRE(std::signbit(ftz_f32(nsub)));
}

TEST_CASE("ptx numeric: div/rcp/sqrt approximations and their special cases", "[ptx]") {
  REQUIRE(div_approx_f32(1.0f, 3.0f) == 1.0f / 3.0f);
  REQUIRE(div_full_f32(10.0f, 4.0f) == 2.5f);
  const float huge = 0x1.8p126f;  // 2^126 < |b| < 2^128
  REQUIRE(f32_bits(div_approx_f32(5.0f, huge)) == 0u);
  REQUIRE(f32_bits(div_approx_f32(-5.0f, huge)) == 0x80000000u);
  REQUIRE(f32_bits(div_approx_f32(INFINITY, huge)) == kNanF32);
  REQUIRE(div_full_f32(5.0f, huge) > 0.0f);
  REQUIRE(rcp_approx_f32(-INFINITY) == 0.0f);
  REQUIRE(std::signbit(rcp_approx_f32(-INFINITY)));
  REQUIRE(rcp_approx_f32(-0.0f) == -INFINITY);
  REQUIRE(rcp_f32(3.0f, Rnd::rz) == f32_from(0x3eaaaaaau));
  REQUIRE(rcp_f32(3.0f, Rnd::rp) == f32_from(0x3eaaaaabu));
  REQUIRE(rcp_f64(3.0, Rnd::rn) == 1.0 / 3.0);
  REQUIRE(std::isnan(sqrt_approx_f32(-1.0f)));
  REQUIRE(f32_bits(sqrt_approx_f32(-0.0f)) == 0x80000000u);
  REQUIRE(sqrt_approx_f32(16.0f) == 4.0f);
  // rcp.approx.ftz.f64 works on the upper word only: 1/3 with 20 mantissa bits.
  REQUIRE(f64_bits(rcp_approx_ftz_f64(3.0)) == 0x3fd5555500000000ull);
  REQUIRE(f64_bits(rcp_approx_ftz_f64(f64_from(0x4008000012345678ull))) == 0x3fd5555500000000ull);
  REQUIRE(f64_bits(rcp_approx_ftz_f64(f64_from(0x7ff8000000000001ull))) == 0x7fffffff00000000ull);
  REQUIRE(rcp_approx_ftz_f64(f64_from(0x8000000100000000ull)) == -INFINITY);  // -subnormal
  REQUIRE(rcp_approx_ftz_f64(INFINITY) == 0.0);
}

TEST_CASE("ptx numeric: approximate transcendental functions and the PTX special cases", "[ptx]") {
  REQUIRE(rsqrt_approx_f32(4.0f) == 0.5f);
  REQUIRE(std::isnan(rsqrt_approx_f32(-4.0f)));
  REQUIRE(std::isnan(rsqrt_approx_f32(-INFINITY)));
  REQUIRE(rsqrt_approx_f32(-0.0f) == -INFINITY);
  REQUIRE(rsqrt_approx_f32(0.0f) == INFINITY);
  REQUIRE(rsqrt_approx_f32(INFINITY) == 0.0f);
  REQUIRE(rsqrt_approx_f64(0.25) == 2.0);
  REQUIRE(std::isnan(rsqrt_approx_f64(-1.0)));
  REQUIRE(ex2_approx_f32(3.0f) == 8.0f);
  REQUIRE(ex2_approx_f32(-INFINITY) == 0.0f);
  REQUIRE(!std::signbit(ex2_approx_f32(-INFINITY)));
  REQUIRE(ex2_approx_f32(-0.0f) == 1.0f);
  REQUIRE(ex2_approx_f32(INFINITY) == INFINITY);
  REQUIRE(ex2_approx_f32(0.5f) == float(std::sqrt(2.0)));
  REQUIRE(ex2_approx_f32(200.0f) == INFINITY);  // overflow and underflow of the f32 result
  REQUIRE(f32_bits(ex2_approx_f32(-200.0f)) == 0u);
  REQUIRE(f32_bits(ex2_approx_f32(-140.0f)) == 0x00000200u);  // a subnormal result
  REQUIRE(f32_bits(ex2_approx_f32(-140.0f, true)) == 0u);
  REQUIRE(lg2_approx_f32(8.0f) == 3.0f);
  REQUIRE(lg2_approx_f32(0.0f) == -INFINITY);
  REQUIRE(lg2_approx_f32(-0.0f) == -INFINITY);
  REQUIRE(std::isnan(lg2_approx_f32(-1.0f)));
  REQUIRE(lg2_approx_f32(INFINITY) == INFINITY);
  REQUIRE(lg2_approx_f32(f32_from(0x00000001u)) == -149.0f);
  REQUIRE(lg2_approx_f32(f32_from(0x00000001u), true) == -INFINITY);  // flushed to zero first
  REQUIRE(f32_bits(sin_approx_f32(-0.0f)) == 0x80000000u);
  REQUIRE(std::isnan(sin_approx_f32(INFINITY)));
  REQUIRE(std::isnan(cos_approx_f32(-INFINITY)));
  REQUIRE(cos_approx_f32(0.0f) == 1.0f);
  REQUIRE(sin_approx_f32(1.0f) == float(std::sin(1.0)));
  REQUIRE(f32_bits(cos_approx_f32(f32_from(kNanF32 - 5))) == kNanF32);
  REQUIRE(tanh_approx_f32(INFINITY) == 1.0f);
  REQUIRE(tanh_approx_f32(-INFINITY) == -1.0f);
  REQUIRE(f32_bits(tanh_approx_f32(-0.0f)) == 0x80000000u);
  REQUIRE(f32_bits(tanh_approx_f32(f32_from(0x00000007u))) == 7u);  // subnormal passes through
  REQUIRE(tanh_approx_f32(0.5f) == float(std::tanh(0.5)));
}

TEST_CASE("ptx numeric: f32/f64 min and max with the PTX NaN and signed-zero rules", "[ptx]") {
  const float nan = f32_from(0x7fc00001u);
  REQUIRE(min_f32(nan, 2.0f) == 2.0f);
  REQUIRE(max_f32(2.0f, nan) == 2.0f);
  REQUIRE(f32_bits(min_f32(nan, nan)) == kNanF32);
  REQUIRE(f32_bits(min_f32(nan, 1.0f, true)) == kNanF32);
  REQUIRE(f32_bits(max_f32(1.0f, nan, true)) == kNanF32);
  REQUIRE(f32_bits(min_f32(0.0f, -0.0f)) == 0x80000000u);
  REQUIRE(f32_bits(min_f32(-0.0f, 0.0f)) == 0x80000000u);
  REQUIRE(f32_bits(max_f32(-0.0f, 0.0f)) == 0u);
  REQUIRE(f32_bits(max_f32(0.0f, -0.0f)) == 0u);
  REQUIRE(min_f32(-3.0f, 2.0f) == -3.0f);
  REQUIRE(max_f32(-3.0f, 2.0f) == 2.0f);
  REQUIRE(f32_bits(min_f32(f32_from(0x80000001u), 0.0f, false, true)) == 0x80000000u);
  REQUIRE(min_f64(std::nan(""), -1.0) == -1.0);
  REQUIRE(std::isnan(max_f64(std::nan(""), -1.0, true)));
  REQUIRE(std::signbit(min_f64(0.0, -0.0)));
  REQUIRE(!std::signbit(max_f64(-0.0, 0.0)));
}

TEST_CASE("ptx numeric: float to integer conversion: rounding, clamping, NaN", "[ptx]") {
  REQUIRE(f32_to_int(2.5f, IntType::s32, IRnd::rni) == 2u);
  REQUIRE(f32_to_int(3.5f, IntType::s32, IRnd::rni) == 4u);
  REQUIRE(int64_t(f32_to_int(-2.5f, IntType::s32, IRnd::rni)) == -2);
  REQUIRE(int64_t(f32_to_int(-2.5f, IntType::s32, IRnd::rmi)) == -3);
  REQUIRE(int64_t(f32_to_int(-2.5f, IntType::s32, IRnd::rpi)) == -2);
  REQUIRE(int64_t(f32_to_int(-2.7f, IntType::s32, IRnd::rzi)) == -2);
  REQUIRE(f32_to_int(1e10f, IntType::s32) == 0x7fffffffu);
  REQUIRE(int64_t(f32_to_int(-1e10f, IntType::s32)) == INT32_MIN);
  REQUIRE(f32_to_int(-1.0f, IntType::u32) == 0u);
  REQUIRE(f32_to_int(300.0f, IntType::u8) == 255u);
  REQUIRE(int64_t(f32_to_int(-300.0f, IntType::s8)) == -128);
  REQUIRE(f32_to_int(INFINITY, IntType::u64) == UINT64_MAX);
  REQUIRE(f32_to_int(-INFINITY, IntType::s64) == uint64_t(INT64_MIN));
  REQUIRE(f64_to_int(1.8446744073709552e19, IntType::u64) == UINT64_MAX);
  REQUIRE(f64_to_int(9.2233720368547748e18, IntType::s64) == 0x7ffffffffffffc00ull);
  REQUIRE(f64_to_int(std::ldexp(1.0, 63), IntType::s64) == uint64_t(INT64_MAX));
  REQUIRE(f64_to_int(4294967295.5, IntType::u32, IRnd::rni) == 0xffffffffu);
  REQUIRE(f64_to_int(4294967295.5, IntType::u32, IRnd::rzi) == 0xffffffffu);
  REQUIRE(f64_to_int(-0.5, IntType::u32, IRnd::rmi) == 0u);
  // NaN: 0 unless the source is f64 or the destination is 64-bit, then 1 << (width - 1).
  const float nan = f32_from(kNanF32);
  REQUIRE(f32_to_int(nan, IntType::s32) == 0u);
  REQUIRE(f32_to_int(nan, IntType::u16) == 0u);
  REQUIRE(f32_to_int(nan, IntType::s64) == uint64_t(INT64_MIN));
  REQUIRE(f32_to_int(nan, IntType::u64) == 0x8000000000000000ull);
  REQUIRE(int64_t(f64_to_int(std::nan(""), IntType::s32)) == INT32_MIN);
  REQUIRE(f64_to_int(std::nan(""), IntType::u32) == 0x80000000u);
  REQUIRE(int64_t(f64_to_int(std::nan(""), IntType::s8)) == -128);
  REQUIRE(f32_to_int(f32_from(0x00400000u), IntType::s32, IRnd::rpi) == 1u);
  REQUIRE(f32_to_int(f32_from(0x00400000u), IntType::s32, IRnd::rpi, true) == 0u);
  // Same-size float rounding to an integral value.
  REQUIRE(round_int_f32(2.5f, IRnd::rni) == 2.0f);
  REQUIRE(round_int_f32(-1.5f, IRnd::rni) == -2.0f);
  REQUIRE(f32_bits(round_int_f32(-0.4f, IRnd::rni)) == 0x80000000u);
  REQUIRE(round_int_f32(0.6f, IRnd::rni, false, true) == 1.0f);
  REQUIRE(round_int_f64(1e300, IRnd::rzi) == 1e300);
  REQUIRE(round_int_f64(-7.5, IRnd::rpi) == -7.0);
}

TEST_CASE("ptx numeric: integer to float conversion matches the host in every mode", "[ptx]") {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 40000; ++i) {
    uint64_t v = rng() >> (rng() % 64);
    for (IntType t : {IntType::u64, IntType::s64, IntType::u32, IntType::s32, IntType::s16}) {
      const uint64_t x = int_norm(v, t);
      const long double exact = int_signed(t) ? (long double)int64_t(x) : (long double)x;
      for (int m = 0; m < 4; ++m) {
        volatile long double ve = exact;
        std::fesetround(kFeModes[m]);
        volatile float hf = float(ve);
        volatile double hd = double(ve);
        std::fesetround(FE_TONEAREST);
        INFO("value " << x << " type " << int(t) << " mode " << m);
        REQUIRE(f32_bits(int_to_f32(x, t, kModes[m])) == f32_bits(hf));
        REQUIRE(f64_bits(int_to_f64(x, t, kModes[m])) == f64_bits(hd));
      }
    }
  }
  REQUIRE(f32_bits(int_to_f32(0xffffffffffffffffull, IntType::u64, Rnd::rz)) == 0x5f7fffffu);
  REQUIRE(f32_bits(int_to_f32(0xffffffffffffffffull, IntType::u64, Rnd::rn)) == 0x5f800000u);
  REQUIRE(int_to_f16(65520, IntType::u32, Rnd::rn) == 0x7c00);
  REQUIRE(int_to_f16(65520, IntType::u32, Rnd::rz) == 0x7bff);
  REQUIRE(int_to_f16(uint64_t(-3), IntType::s32) == 0xc200);
  REQUIRE(int_to_bf16(257, IntType::s32, Rnd::rn) == 0x4380);
  REQUIRE(int_to_bf16(257, IntType::s32, Rnd::rp) == 0x4381);
}

TEST_CASE("ptx numeric: integer to integer conversion: extension, truncation, .sat", "[ptx]") {
  REQUIRE(int_to_int(0xff, IntType::s8, IntType::s32) == uint64_t(-1));
  REQUIRE(int_to_int(0xff, IntType::u8, IntType::s32) == 255u);
  REQUIRE(int_to_int(0x1234, IntType::u32, IntType::u8) == 0x34u);
  REQUIRE(int_to_int(0x80, IntType::u32, IntType::s8) == uint64_t(-128));
  REQUIRE(int_to_int(0x1234, IntType::u32, IntType::u8, true) == 0xffu);
  REQUIRE(int_to_int(uint64_t(-5), IntType::s32, IntType::u16, true) == 0u);
  REQUIRE(int_to_int(uint64_t(-500), IntType::s32, IntType::s8, true) == uint64_t(-128));
  REQUIRE(int_to_int(500, IntType::s32, IntType::s8, true) == 127u);
  REQUIRE(int_to_int(0xffffffffffffffffull, IntType::u64, IntType::s64, true) ==
          uint64_t(INT64_MAX));
  REQUIRE(int_to_int(uint64_t(INT64_MIN), IntType::s64, IntType::u64, true) == 0u);
  REQUIRE(int_to_int(uint64_t(INT64_MAX), IntType::s64, IntType::u64, true) == uint64_t(INT64_MAX));
  REQUIRE(int_to_int(0x80000000u, IntType::u32, IntType::s32, true) == 0x7fffffffu);
  REQUIRE(int_to_int(0x7fff, IntType::s16, IntType::u8, true) == 0xffu);
}

TEST_CASE("ptx numeric: f16 and bf16 arithmetic rounds the exact result once", "[ptx]") {
  const std::vector<double> f16pos = f16_positives(), bfpos = bf16_positives();
  std::mt19937_64 rng(8);
  auto expect16 = [&](long double exact, bool bf) {
    if (exact == 0) return uint16_t(std::signbit((double)exact) ? 0x8000 : 0);
    return bf ? table_round16(double(exact), bfpos, std::ldexp(1.0, 128), 0x7f80, Rnd::rn)
              : table_round16(double(exact), f16pos, 65536.0, 0x7c00, Rnd::rn);
  };
  int checked = 0;
  for (int i = 0; i < 40000; ++i) {
    const bool bf = i & 1;
    uint16_t a = uint16_t(rng()), b = uint16_t(rng()), c = uint16_t(rng());
    if (bf) {  // keep bf16 exponents moderate so that long double holds the sums exactly
      a = uint16_t((a & 0x807f) | ((110 + rng() % 36) << 7));
      b = uint16_t((b & 0x807f) | ((110 + rng() % 36) << 7));
      c = uint16_t((c & 0x807f) | ((110 + rng() % 36) << 7));
    } else {
      for (uint16_t* h : {&a, &b, &c})  // finite
        if ((*h & 0x7c00) == 0x7c00) *h &= 0xbfff;
    }
    const long double x = bf ? bf16_to_f32(a) : f16_to_f32(a);
    const long double y = bf ? bf16_to_f32(b) : f16_to_f32(b);
    const long double z = bf ? bf16_to_f32(c) : f16_to_f32(c);
    const long double p = x * y, s = p + z;
    const long double bb = s - p, err = (p - (s - bb)) + (z - bb);  // TwoSum: exact iff err == 0
    INFO("a " << a << " b " << b << " c " << c << " bf " << bf);
    if (s != 0 && err == 0 && std::fabs(double(s)) < 6e4) {
      REQUIRE((bf ? fma_bf16(a, b, c) : fma_f16(a, b, c)) == expect16(s, bf));
      ++checked;
    }
    if (x * y != 0) REQUIRE((bf ? mul_bf16(a, b) : mul_f16(a, b)) == expect16(x * y, bf));
    if (x + y != 0) REQUIRE((bf ? add_bf16(a, b) : add_f16(a, b)) == expect16(x + y, bf));
    if (x - y != 0) REQUIRE((bf ? sub_bf16(a, b) : sub_f16(a, b)) == expect16(x - y, bf));
  }
  REQUIRE(checked > 10000);
  // Specials.
  REQUIRE(add_f16(0x3c00, 0xbc00) == 0x0000);               // 1 - 1 = +0
  REQUIRE(fma_f16(0x7c00, 0x0000, 0x3c00) == kNanF16);      // inf * 0
  REQUIRE(mul_f16(0x7bff, 0x4000) == 0x7c00);               // overflow to inf
  REQUIRE(add_f16(0x3800, 0x3a00, false, true) == 0x3c00);  // .sat: 0.5 + 0.75 -> 1
  REQUIRE(mul_f16(0x0001, 0x3c00, true) == 0x0000);         // .ftz input
  REQUIRE(mul_f16(0x8400, 0x3800, true) == 0x8000);         // .ftz subnormal result
  REQUIRE(mul_f16(0x8400, 0x3800) == 0x8200);
  REQUIRE(fma_bf16(0x3f80, 0x3f80, 0x3f80) == 0x4000);
  REQUIRE(add_bf16(0x7f7f, 0x7f7f) == 0x7f80);
}

TEST_CASE("ptx numeric: f16x2/bf16x2 work on each half; min/max/neg/abs", "[ptx]") {
  std::mt19937_64 rng(9);
  for (int i = 0; i < 5000; ++i) {
    const uint32_t a = uint32_t(rng()), b = uint32_t(rng()), c = uint32_t(rng());
    auto lo = [](uint32_t x) { return uint16_t(x); };
    auto hi = [](uint32_t x) { return uint16_t(x >> 16); };
    auto both = [&](uint32_t r, uint16_t l, uint16_t h) { return r == (uint32_t(h) << 16 | l); };
    REQUIRE(both(add_f16x2(a, b), add_f16(lo(a), lo(b)), add_f16(hi(a), hi(b))));
    REQUIRE(both(sub_f16x2(a, b, true), sub_f16(lo(a), lo(b), true), sub_f16(hi(a), hi(b), true)));
    REQUIRE(both(mul_f16x2(a, b, false, true), mul_f16(lo(a), lo(b), false, true),
                 mul_f16(hi(a), hi(b), false, true)));
    REQUIRE(both(fma_f16x2(a, b, c), fma_f16(lo(a), lo(b), lo(c)), fma_f16(hi(a), hi(b), hi(c))));
    REQUIRE(
        both(fma_bf16x2(a, b, c), fma_bf16(lo(a), lo(b), lo(c)), fma_bf16(hi(a), hi(b), hi(c))));
    REQUIRE(both(add_bf16x2(a, b), add_bf16(lo(a), lo(b)), add_bf16(hi(a), hi(b))));
    REQUIRE(both(sub_bf16x2(a, b), sub_bf16(lo(a), lo(b)), sub_bf16(hi(a), hi(b))));
    REQUIRE(both(mul_bf16x2(a, b), mul_bf16(lo(a), lo(b)), mul_bf16(hi(a), hi(b))));
    REQUIRE(both(min_f16x2(a, b), min_f16(lo(a), lo(b)), min_f16(hi(a), hi(b))));
    REQUIRE(
        both(max_bf16x2(a, b, true), max_bf16(lo(a), lo(b), true), max_bf16(hi(a), hi(b), true)));
    REQUIRE(both(min_bf16x2(a, b), min_bf16(lo(a), lo(b)), min_bf16(hi(a), hi(b))));
    REQUIRE(both(max_f16x2(a, b), max_f16(lo(a), lo(b)), max_f16(hi(a), hi(b))));
  }
  REQUIRE(min_f16(0x7e00, 0x3c00) == 0x3c00);         // NaN loses
  REQUIRE(min_f16(0x7e00, 0x3c00, true) == kNanF16);  // .NaN
  REQUIRE(min_f16(0x7e00, 0xfe00) == kNanF16);
  REQUIRE(max_bf16(0x8000, 0x0000) == 0x0000);  // +0 > -0
  REQUIRE(min_bf16(0x0000, 0x8000) == 0x8000);
  REQUIRE(max_f16(0xc000, 0x3c00) == 0x3c00);
  REQUIRE(min_f16(0x0001, 0x8002, false, true) == 0x8000);
  REQUIRE(neg_f16x2(0x3c00bc00u) == 0xbc003c00u);
  REQUIRE(abs_f16x2(0xbc00bc00u) == 0x3c003c00u);
  REQUIRE(neg_f16(0x0001, true) == 0x8000);
  REQUIRE(abs_bf16x2(0xbf80ff80u) == 0x3f807f80u);
  REQUIRE(neg_bf16x2(0x3f800000u) == 0xbf808000u);
}

TEST_CASE("ptx numeric: mul.hi, mul.wide, mad.hi", "[ptx]") {
  __extension__ typedef unsigned __int128 u128;
  __extension__ typedef __int128 i128;
  std::mt19937_64 rng(10);
  for (int i = 0; i < 20000; ++i) {
    const uint64_t a = rng(), b = rng();
    REQUIRE(mul_hi_u64(a, b) == uint64_t((u128(a) * u128(b)) >> 64));
    REQUIRE(mul_hi_s64(int64_t(a), int64_t(b)) ==
            int64_t((i128(int64_t(a)) * i128(int64_t(b))) >> 64));
    REQUIRE(mul_hi_u32(uint32_t(a), uint32_t(b)) ==
            uint32_t((a & 0xffffffffu) * (b & 0xffffffffu) >> 32));
  }
  REQUIRE(mul_hi_s32(INT32_MIN, INT32_MIN) == 0x40000000);
  REQUIRE(mul_hi_s32(-1, 1) == -1);
  REQUIRE(mul_hi_s64(INT64_MIN, -1) == 0);
  REQUIRE(mul_hi_s64(INT64_MIN, 2) == -1);
  REQUIRE(mul_wide_s32(INT32_MIN, INT32_MIN) == 0x4000000000000000ll);
  REQUIRE(mul_wide_u32(0xffffffffu, 0xffffffffu) == 0xfffffffe00000001ull);
  REQUIRE(mul_wide_s16(-32768, 2) == -65536);
  REQUIRE(mul_wide_u16(0xffff, 0xffff) == 0xfffe0001u);
  REQUIRE(mul_lo(0xffffffffu, 0xffffffffu, 32) == 1u);
  REQUIRE(mad_hi_s32(0x40000000, 8, INT32_MAX, true) == INT32_MAX);
  REQUIRE(mad_hi_s32(0x40000000, 8, INT32_MAX) == INT32_MIN + 1);
  REQUIRE(mad_hi_s32(INT32_MIN, 2, INT32_MIN, true) == INT32_MIN);
  REQUIRE(mad_hi_u32(0x80000000u, 4, 0xffffffffu) == 1u);
}

TEST_CASE("ptx numeric: div and rem, including by zero and MIN / -1", "[ptx]") {
  REQUIRE(div_int(7, 0, IntType::u32) == 0xffffffffu);
  REQUIRE(div_int(7, 0, IntType::s32) == uint64_t(-1));
  REQUIRE(div_int(7, 0, IntType::u64) == UINT64_MAX);
  REQUIRE(rem_int(7, 0, IntType::u32) == 7u);
  REQUIRE(rem_int(uint64_t(-7), 0, IntType::s32) == uint64_t(-7));
  REQUIRE(div_int(uint64_t(INT32_MIN), uint64_t(-1), IntType::s32) == uint64_t(int64_t(INT32_MIN)));
  REQUIRE(rem_int(uint64_t(INT32_MIN), uint64_t(-1), IntType::s32) == 0u);
  REQUIRE(div_int(uint64_t(INT64_MIN), uint64_t(-1), IntType::s64) == uint64_t(INT64_MIN));
  REQUIRE(rem_int(uint64_t(INT64_MIN), uint64_t(-1), IntType::s64) == 0u);
  REQUIRE(int64_t(div_int(uint64_t(-7), 2, IntType::s32)) == -3);  // toward zero
  REQUIRE(int64_t(rem_int(uint64_t(-7), 2, IntType::s32)) == -1);
  REQUIRE(div_int(0xfffffff9u, 2, IntType::u32) == 0x7ffffffcu);
  REQUIRE(div_int(0x1fffffff9ull, 2, IntType::u32) == 0x7ffffffcu);  // upper bits ignored
  REQUIRE(int64_t(div_int(0xfff9, 2, IntType::s16)) == -3);
}

TEST_CASE("ptx numeric: shifts clamp the amount; abs/neg/min/max/sad", "[ptx]") {
  REQUIRE(shl(1, 31, 32) == 0x80000000u);
  REQUIRE(shl(1, 32, 32) == 0u);
  REQUIRE(shl(1, 0xffffffffu, 64) == 0u);
  REQUIRE(shl(0xffff, 4, 16) == 0xfff0u);
  REQUIRE(shr_u(0x80000000u, 31, 32) == 1u);
  REQUIRE(shr_u(0x80000000u, 40, 32) == 0u);
  REQUIRE(shr_s(0x80000000u, 4, 32) == 0xf8000000u);
  REQUIRE(shr_s(0x80000000u, 100, 32) == 0xffffffffu);
  REQUIRE(shr_s(0x7fffffffu, 100, 32) == 0u);
  REQUIRE(shr_s(0x8000000000000000ull, 64, 64) == UINT64_MAX);
  REQUIRE(shr_s(0x8000, 3, 16) == 0xf000u);
  REQUIRE(abs_int(uint64_t(INT32_MIN), 32) == uint64_t(int64_t(INT32_MIN)));
  REQUIRE(neg_int(uint64_t(INT32_MIN), 32) == uint64_t(int64_t(INT32_MIN)));
  REQUIRE(abs_int(uint64_t(-5), 32) == 5u);
  REQUIRE(abs_int(uint64_t(INT64_MIN), 64) == uint64_t(INT64_MIN));
  REQUIRE(neg_int(5, 16) == uint64_t(-5));
  REQUIRE(min_int(uint64_t(-1), 1, IntType::s32) == uint64_t(-1));
  REQUIRE(min_int(0xffffffffu, 1, IntType::u32) == 1u);
  REQUIRE(max_int(uint64_t(-1), 1, IntType::s32) == 1u);
  REQUIRE(max_int(0xffffffffu, 1, IntType::u32) == 0xffffffffu);
  REQUIRE(sad_int(uint64_t(-3), 4, 10, IntType::s32) == 17u);
  REQUIRE(sad_int(0xfffffffdu, 4, 10, IntType::u32) == 0xfffffffdu - 4 + 10);
}

TEST_CASE("ptx numeric: bfe and bfi follow the PTX ISA bit loops", "[ptx]") {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20000; ++i) {
    const uint64_t a = rng(), b = rng();
    const uint32_t pos = uint32_t(rng() % 300), len = uint32_t(rng() % 300);
    for (int width : {32, 64}) {
      const uint32_t msb = uint32_t(width - 1), p = pos & 0xff, l = len & 0xff;
      for (bool is_signed : {false, true}) {
        const uint64_t sbit = (!is_signed || l == 0) ? 0 : (a >> std::min(p + l - 1, msb)) & 1;
        uint64_t want = 0;
        for (uint32_t k = 0; k <= msb; ++k)
          want |= ((k < l && p + k <= msb) ? (a >> (p + k)) & 1 : sbit) << k;
        INFO("a " << a << " pos " << pos << " len " << len << " width " << width);
        REQUIRE(bfe(a, pos, len, width, is_signed) == want);
      }
      uint64_t want = zext(b, width);
      for (uint32_t k = 0; k < l && p + k <= msb; ++k)
        want = (want & ~(uint64_t(1) << (p + k))) | (((a >> k) & 1) << (p + k));
      REQUIRE(bfi(a, b, pos, len, width) == want);
    }
  }
  REQUIRE(bfe(0xf0, 4, 4, 32, true) == 0xffffffffu);
  REQUIRE(bfe(0xf0, 4, 4, 32, false) == 0xfu);
  REQUIRE(bfe(0x80000000u, 40, 3, 32, true) == 0xffffffffu);  // start beyond the msb
  REQUIRE(bfe(0x80000000u, 0, 0, 32, true) == 0u);
}

TEST_CASE("ptx numeric: popc, clz, brev", "[ptx]") {
  REQUIRE(popc(0xffffffffffffffffull, 32) == 32u);
  REQUIRE(popc(0xffffffffffffffffull, 64) == 64u);
  REQUIRE(popc(0x10101, 32) == 3u);
  REQUIRE(clz(0, 32) == 32u);
  REQUIRE(clz(0, 64) == 64u);
  REQUIRE(clz(1, 32) == 31u);
  REQUIRE(clz(0xffffffff00000000ull, 32) == 32u);
  REQUIRE(clz(0x8000000000000000ull, 64) == 0u);
  REQUIRE(brev(1, 32) == 0x80000000u);
  REQUIRE(brev(0x12345678u, 32) == 0x1e6a2c48u);
  REQUIRE(brev(1, 64) == 0x8000000000000000ull);
  REQUIRE(brev(brev(0x0123456789abcdefull, 64), 64) == 0x0123456789abcdefull);
}

TEST_CASE("ptx numeric: prmt in the generic form and every special mode", "[ptx]") {
  const uint32_t a = 0x33221100u, b = 0x77665544u;  // byte i holds 0x11 * i
  REQUIRE(prmt(a, b, 0x3210) == a);
  REQUIRE(prmt(a, b, 0x7654) == b);
  REQUIRE(prmt(a, b, 0x0123) == 0x00112233u);
  REQUIRE(prmt(a, b, 0x4444) == 0x44444444u);
  REQUIRE(prmt(0x00008000u, 0, 0x9999) == 0xffffffffu);  // msb of selector: replicate the sign
  REQUIRE(prmt(0x00008000u, 0, 0x1911) == 0x80ff8080u);
  // The PTX ISA table, columns d.b3 d.b2 d.b1 d.b0, for selector c[1:0] = 0..3.
  const int table[6][4][4] = {
      {{3, 2, 1, 0}, {4, 3, 2, 1}, {5, 4, 3, 2}, {6, 5, 4, 3}},  // f4e
      {{5, 6, 7, 0}, {6, 7, 0, 1}, {7, 0, 1, 2}, {0, 1, 2, 3}},  // b4e
      {{0, 0, 0, 0}, {1, 1, 1, 1}, {2, 2, 2, 2}, {3, 3, 3, 3}},  // rc8
      {{3, 2, 1, 0}, {3, 2, 1, 1}, {3, 2, 2, 2}, {3, 3, 3, 3}},  // ecl
      {{0, 0, 0, 0}, {1, 1, 1, 0}, {2, 2, 1, 0}, {3, 2, 1, 0}},  // ecr
      {{1, 0, 1, 0}, {3, 2, 3, 2}, {1, 0, 1, 0}, {3, 2, 3, 2}},  // rc16
  };
  const PrmtMode modes[] = {PrmtMode::f4e, PrmtMode::b4e, PrmtMode::rc8,
                            PrmtMode::ecl, PrmtMode::ecr, PrmtMode::rc16};
  for (int m = 0; m < 6; ++m)
    for (uint32_t sel = 0; sel < 4; ++sel) {
      const uint32_t want =
          uint32_t(table[m][sel][0] * 0x11) << 24 | uint32_t(table[m][sel][1] * 0x11) << 16 |
          uint32_t(table[m][sel][2] * 0x11) << 8 | uint32_t(table[m][sel][3] * 0x11);
      REQUIRE(prmt(a, b, sel | 0xfff0u, modes[m]) == want);
    }
}

TEST_CASE("ptx numeric: dp4a and dp2a in every signedness", "[ptx]") {
  std::mt19937_64 rng(12);
  for (int i = 0; i < 5000; ++i) {
    const uint32_t a = uint32_t(rng()), b = uint32_t(rng()), c = uint32_t(rng());
    for (int s = 0; s < 4; ++s) {
      const bool as = s & 1, bs = s & 2;
      int64_t sum = int32_t(c);
      for (int k = 0; k < 4; ++k) {
        const int64_t x = as ? int8_t(a >> (8 * k)) : int64_t(uint8_t(a >> (8 * k)));
        const int64_t y = bs ? int8_t(b >> (8 * k)) : int64_t(uint8_t(b >> (8 * k)));
        sum += x * y;
      }
      REQUIRE(dp4a(a, b, c, as, bs) == uint32_t(uint64_t(sum)));
      for (bool hi : {false, true}) {
        int64_t s2 = int32_t(c);
        for (int k = 0; k < 2; ++k) {
          const int64_t x = as ? int16_t(a >> (16 * k)) : int64_t(uint16_t(a >> (16 * k)));
          const int j = (hi ? 2 : 0) + k;
          const int64_t y = bs ? int8_t(b >> (8 * j)) : int64_t(uint8_t(b >> (8 * j)));
          s2 += x * y;
        }
        REQUIRE(dp2a(a, b, c, as, bs, hi) == uint32_t(uint64_t(s2)));
      }
    }
  }
  REQUIRE(dp4a(0x80808080u, 0x80808080u, 0, true, true) == 65536u);
  REQUIRE(dp4a(0xffffffffu, 0xffffffffu, 0, false, false) == 4u * 255 * 255);
  REQUIRE(dp4a(0xffffffffu, 0x01010101u, 0, true, false) == uint32_t(-4));
  REQUIRE(dp2a(0x0002ffffu, 0x03020100u, 5, true, false, false) == 5u - 0 + 2 * 1);
  REQUIRE(dp2a(0x0002ffffu, 0x03020100u, 5, true, false, true) == uint32_t(5 - 2 + 2 * 3));
}
