// The DaVinci instructions' semantics (isa/davinci/semantics.h) against plain references
// written here: each op class on data in the ByteStores, the operand rules of check(), the
// exact ranges of accesses(), and the f16 / bf16 conversions of models/core/numeric.h.
// Instructions are built as structs (no assembler).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "isa/davinci/semantics.h"
#include "models/core/numeric.h"

using namespace xpusim;
using namespace xpusim::isa::davinci;
using numeric::bf16_to_float;
using numeric::f16_to_float;
using numeric::float_to_bf16;
using numeric::float_to_f16;
using numeric::Rounding;

namespace {

const std::string kWho = "k.s:7: op";

// ---- memories and instructions -------------------------------------------------------------

struct Mem {
  ByteStore gm{"gm", 1 << 24}, l1{"l1", 1 << 20}, l0a{"l0a", 1 << 16}, l0b{"l0b", 1 << 16},
      l0c{"l0c", 1 << 18}, ub{"ub", 1 << 18};
  Memories m() {
    Memories r;
    r.buf = {&gm, &l1, &l0a, &l0b, &l0c, &ub};
    return r;
  }
};

Val imm(int64_t v) {
  return {-1, v};
}
Addr at(Buf b, int64_t a) {
  return {b, imm(a)};
}

template <class T>
void put(ByteStore& s, uint64_t addr, const std::vector<T>& v) {
  s.write(addr, v.data(), v.size() * sizeof(T));
}
template <class T>
std::vector<T> get(const ByteStore& s, uint64_t addr, size_t n) {
  std::vector<T> v(n);
  s.read(addr, v.data(), n * sizeof(T), "test");
  return v;
}
bool written(const ByteStore& s, uint64_t addr) {
  uint8_t b;
  try {
    s.read(addr, &b, 1, "test");
  } catch (const Error&) {
    return false;
  }
  return true;
}

Instr copy(Op op, Addr dst, Addr src, int64_t nburst, int64_t burst, int64_t src_gap,
           int64_t dst_gap) {
  Instr in;
  in.op = op, in.dst = dst, in.src0 = src;
  in.n0 = imm(nburst), in.n1 = imm(burst), in.n2 = imm(src_gap), in.n3 = imm(dst_gap);
  return in;
}

Instr vec(Op op, Ty ty, int64_t dst, int64_t src0, int64_t src1, int64_t repeat) {
  Instr in;
  in.op = op, in.ty = ty;
  in.dst = at(Buf::ub, dst), in.src0 = at(Buf::ub, src0), in.src1 = at(Buf::ub, src1);
  in.n0 = imm(repeat);
  return in;
}
void strides(Instr& in, int64_t db, int64_t s0b, int64_t s1b, int64_t dr, int64_t s0r,
             int64_t s1r) {
  in.blk[0] = imm(db), in.blk[1] = imm(s0b), in.blk[2] = imm(s1b);
  in.rep[0] = imm(dr), in.rep[1] = imm(s0r), in.rep[2] = imm(s1r);
}

Instr mad(Ty ty, int64_t c, int64_t a, int64_t b, int64_t M, int64_t K, int64_t N, bool init) {
  Instr in;
  in.op = Op::mad, in.ty = ty;
  in.dst = at(Buf::l0c, c), in.src0 = at(Buf::l0a, a), in.src1 = at(Buf::l0b, b);
  in.n0 = imm(M), in.n1 = imm(K), in.n2 = imm(N), in.flag = init;
  return in;
}

uint32_t fbits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float bitsf(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// ---- fractal layouts, from row-major matrices ---------------------------------------------

// A (M x K) as zZ: 16 x k0 fractals in row-major order, each row-major.
template <class T>
std::vector<T> to_zz(const std::vector<T>& a, int M, int K, int k0) {
  std::vector<T> out(a.size());
  for (int m = 0; m < M; ++m)
    for (int k = 0; k < K; ++k)
      out[((m / 16) * (K / k0) + k / k0) * 16 * k0 + (m % 16) * k0 + k % k0] = a[m * K + k];
  return out;
}
// B (K x N) as zN: k0 x 16 fractals in row-major order, each stored column by column.
template <class T>
std::vector<T> to_zn(const std::vector<T>& b, int K, int N, int k0) {
  std::vector<T> out(b.size());
  for (int k = 0; k < K; ++k)
    for (int n = 0; n < N; ++n)
      out[((k / k0) * (N / 16) + n / 16) * k0 * 16 + (n % 16) * k0 + k % k0] = b[k * N + n];
  return out;
}
// C (M x N) as NZ: 16 x 16 fractals in column-major order, each row-major.
template <class T>
std::vector<T> to_nz(const std::vector<T>& c, int M, int N) {
  std::vector<T> out(c.size());
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n)
      out[((n / 16) * (M / 16) + m / 16) * 256 + (m % 16) * 16 + n % 16] = c[m * N + n];
  return out;
}
template <class T>
std::vector<T> from_nz(const std::vector<T>& nz, int M, int N) {
  std::vector<T> out(nz.size());
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n)
      out[m * N + n] = nz[((n / 16) * (M / 16) + m / 16) * 256 + (m % 16) * 16 + n % 16];
  return out;
}

std::vector<uint16_t> random_f16(std::mt19937& rng, size_t n, float lo = -2, float hi = 2) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<uint16_t> v(n);
  for (auto& x : v) x = float_to_f16(d(rng));
  return v;
}

// The mad reference: acc = C (0 with init), then acc += a * b for k = 0 .. K-1 in fp32.
std::vector<float> ref_mad(const std::vector<float>& a, const std::vector<float>& b,
                           const std::vector<float>& c, int M, int K, int N, bool init) {
  std::vector<float> out(size_t(M) * N);
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      float acc = init ? 0.0f : c[m * N + n];
      for (int k = 0; k < K; ++k) acc += a[m * K + k] * b[k * N + n];
      out[m * N + n] = acc;
    }
  return out;
}

// ---- vector reference ------------------------------------------------------------------

bool selected(const Mask& mask, int e) {
  return (mask[e / 64] >> (e % 64)) & 1;
}
// Byte address of element e of iteration r: block e / (32 / es) at base + (r * rep + j * blk) * 32.
uint64_t elem_addr(int64_t base, int64_t blk, int64_t rep, int es, int r, int e) {
  const int per = 32 / es;
  return uint64_t(base + (r * rep + (e / per) * blk) * 32 + (e % per) * es);
}

// Runs `in` (an elementwise op over `elems` elements per iteration) on a shadow of the UB, one
// iteration after another: f makes the destination element's bytes from the sources'.
template <class F>
void ref_elementwise(std::vector<uint8_t>& ub, const Instr& in, const Mask& mask, int es_d,
                     int es_s, int elems, int nsrc, F f) {
  for (int r = 0; r < in.n0.imm; ++r) {
    std::vector<uint8_t> x(size_t(elems) * es_s), y(x.size()), d(size_t(elems) * es_d);
    for (int e = 0; e < elems; ++e) {
      if (!selected(mask, e)) continue;
      if (nsrc > 0)
        std::memcpy(&x[e * es_s],
                    &ub[elem_addr(in.src0.at.imm, in.blk[1].imm, in.rep[1].imm, es_s, r, e)], es_s);
      if (nsrc > 1)
        std::memcpy(&y[e * es_s],
                    &ub[elem_addr(in.src1.at.imm, in.blk[2].imm, in.rep[2].imm, es_s, r, e)], es_s);
      f(&x[e * es_s], &y[e * es_s], &d[e * es_d]);
    }
    for (int e = 0; e < elems; ++e)
      if (selected(mask, e))
        std::memcpy(&ub[elem_addr(in.dst.at.imm, in.blk[0].imm, in.rep[0].imm, es_d, r, e)],
                    &d[e * es_d], es_d);
  }
}

constexpr size_t kShadow = 1 << 15;

// Fills the shadow with random elements of type t (finite floats in [-4, 4], or s32 values
// including the extremes).
std::vector<uint8_t> random_shadow(std::mt19937& rng, Ty t) {
  std::vector<uint8_t> s(kShadow);
  std::uniform_real_distribution<float> d(-4, 4);
  std::uniform_int_distribution<int32_t> di(std::numeric_limits<int32_t>::min(),
                                            std::numeric_limits<int32_t>::max());
  for (size_t i = 0; i < kShadow; i += size_t(ty_bytes(t))) {
    if (t == Ty::f16) {
      const uint16_t h = float_to_f16(d(rng));
      std::memcpy(&s[i], &h, 2);
    } else if (t == Ty::bf16) {
      const uint16_t h = float_to_bf16(d(rng));
      std::memcpy(&s[i], &h, 2);
    } else if (t == Ty::f32) {
      const float f = d(rng);
      std::memcpy(&s[i], &f, 4);
    } else {
      const int32_t v = (i / 4) % 7 == 0 ? std::numeric_limits<int32_t>::max() : di(rng);
      std::memcpy(&s[i], &v, 4);
    }
  }
  return s;
}

// Executes in on a UB holding `shadow`, runs the reference on the shadow and returns the first
// byte where the UB differs from it (-1: none).
template <class F>
long run_vs_ref(std::vector<uint8_t> shadow, const Instr& in, const Mask& mask, int es_d, int es_s,
                int elems, int nsrc, F f) {
  Mem mem;
  mem.ub.write(0, shadow.data(), shadow.size());
  execute(in, mask, mem.m(), kWho);
  ref_elementwise(shadow, in, mask, es_d, es_s, elems, nsrc, f);
  const auto got = get<uint8_t>(mem.ub, 0, shadow.size());
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != shadow[i]) return long(i);
  return -1;
}

// An f16 / f32 elementwise function as a reference on element bytes.
template <class G>
auto float_ref(Ty t, G g) {
  return [t, g](const uint8_t* x, const uint8_t* y, uint8_t* d) {
    if (t == Ty::f32) {
      float a, b;
      std::memcpy(&a, x, 4), std::memcpy(&b, y, 4);
      const float r = g(a, b);
      std::memcpy(d, &r, 4);
    } else {
      uint16_t a, b;
      std::memcpy(&a, x, 2), std::memcpy(&b, y, 2);
      const uint16_t r = float_to_f16(g(f16_to_float(a), f16_to_float(b)));
      std::memcpy(d, &r, 2);
    }
  };
}
template <class G>
auto int_ref(G g) {
  return [g](const uint8_t* x, const uint8_t* y, uint8_t* d) {
    int32_t a, b;
    std::memcpy(&a, x, 4), std::memcpy(&b, y, 4);
    const int32_t r = g(int64_t(a), int64_t(b));
    std::memcpy(d, &r, 4);
  };
}

int32_t wrap32(int64_t v) {
  return int32_t(uint32_t(uint64_t(v)));
}

// Ranges sorted the way the tests compare them.
std::vector<Range> sorted_accesses(const Instr& in, const Mask& mask = kFullMask) {
  std::vector<Range> r;
  accesses(in, r, mask);
  std::sort(r.begin(), r.end(), [](const Range& a, const Range& b) {
    return std::tie(a.buf, a.write, a.lo) < std::tie(b.buf, b.write, b.lo);
  });
  return r;
}
bool same(const std::vector<Range>& a, const std::vector<Range>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].buf != b[i].buf || a[i].lo != b[i].lo || a[i].hi != b[i].hi ||
        a[i].write != b[i].write)
      return false;
  return true;
}

std::string error_of(const Instr& in) {
  try {
    check(in, kWho);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Independent f16 decoding, by the IEEE definition.
double f16_value(uint16_t h) {
  const int e = (h >> 10) & 0x1f, f = h & 0x3ff;
  const double v = e == 0 ? std::ldexp(f, -24) : std::ldexp(f + 1024, e - 25);
  return (h & 0x8000) ? -v : v;
}

const Rounding kModes[] = {Rounding::nearest_even, Rounding::nearest_away, Rounding::down,
                           Rounding::up, Rounding::toward_zero};
const Round kRounds[] = {Round::rn, Round::a, Round::f, Round::c, Round::z};

}  // namespace

// ---- numeric -----------------------------------------------------------------------------

TEST_CASE("davinci numeric: f16 decoding of every pattern, corner cases", "[unit]") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_float(uint16_t(h));
    if (((h >> 10) & 0x1f) == 0x1f) {
      CHECK((h & 0x3ff ? std::isnan(f) : std::isinf(f)));
      CHECK(std::signbit(f) == bool(h & 0x8000));
    } else if (double(f) != f16_value(uint16_t(h)) || std::signbit(f) != bool(h & 0x8000)) {
      FAIL("f16 " << h << " decodes to " << f);
    }
  }
  CHECK(f16_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(f16_to_float(0x03ff) == 1023 * std::ldexp(1.0f, -24));
  CHECK(f16_to_float(0x0400) == std::ldexp(1.0f, -14));
  CHECK(f16_to_float(0x7bff) == 65504.0f);
  CHECK(std::signbit(f16_to_float(0x8000)));
}

TEST_CASE("davinci numeric: fp32 -> f16 in every rounding mode", "[unit]") {
  // Every f16 value comes back in every mode.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;
    for (Rounding r : kModes)
      if (float_to_f16(f16_to_float(uint16_t(h)), r) != h) FAIL("f16 " << h << " mode " << int(r));
  }
  // Between each pair of neighbours (subnormals and the normal boundary included): the
  // midpoint, a quarter and three quarters of the way, on both signs.
  for (uint16_t h = 0; h < 0x7bff; ++h) {
    const double lo = f16_value(h), hi = f16_value(uint16_t(h + 1));
    const float mid = float((lo + hi) / 2), q1 = float(lo + (hi - lo) / 4),
                q3 = float(lo + 3 * (hi - lo) / 4);
    const uint16_t even = (h & 1) ? uint16_t(h + 1) : h, up = uint16_t(h + 1);
    for (uint16_t s : {uint16_t(0), uint16_t(0x8000)}) {
      const float sg = s ? -1.0f : 1.0f;
      const bool neg = s != 0;
      bool ok = true;
      auto expect = [&](float x, Rounding r, uint16_t want) {
        ok = ok && float_to_f16(sg * x, r) == (s | want);
      };
      expect(mid, Rounding::nearest_even, even);
      expect(mid, Rounding::nearest_away, up);
      expect(mid, Rounding::toward_zero, h);
      expect(q1, Rounding::nearest_even, h);
      expect(q1, Rounding::nearest_away, h);
      expect(q3, Rounding::nearest_even, up);
      expect(q1, Rounding::up, neg ? h : up);
      expect(q3, Rounding::down, neg ? up : h);
      if (!ok) FAIL("between f16 " << h << " and the next, sign " << s);
    }
  }
  // Overflow: past the midpoint to 65536, to infinity when rounding to nearest; directed modes
  // toward zero stop at 65504.
  CHECK(float_to_f16(65519.0f) == 0x7bff);
  CHECK(float_to_f16(65520.0f) == 0x7c00);
  CHECK(float_to_f16(-65520.0f, Rounding::nearest_away) == 0xfc00);
  CHECK(float_to_f16(1e6f, Rounding::toward_zero) == 0x7bff);
  CHECK(float_to_f16(1e6f, Rounding::down) == 0x7bff);
  CHECK(float_to_f16(1e6f, Rounding::up) == 0x7c00);
  CHECK(float_to_f16(-1e6f, Rounding::down) == 0xfc00);
  CHECK(float_to_f16(-1e6f, Rounding::up) == 0xfbff);
  CHECK(float_to_f16(std::numeric_limits<float>::infinity(), Rounding::toward_zero) == 0x7c00);
  // Below the smallest subnormal: half of it ties to 0 (even); an f32 subnormal is tiny.
  CHECK(float_to_f16(std::ldexp(1.0f, -25)) == 0x0000);
  CHECK(float_to_f16(std::ldexp(1.0f, -25), Rounding::nearest_away) == 0x0001);
  CHECK(float_to_f16(std::ldexp(1.5f, -25)) == 0x0001);
  CHECK(float_to_f16(std::ldexp(1.0f, -140)) == 0x0000);
  CHECK(float_to_f16(std::ldexp(1.0f, -140), Rounding::up) == 0x0001);
  CHECK(float_to_f16(-std::ldexp(1.0f, -140), Rounding::down) == 0x8001);
  CHECK(float_to_f16(-0.0f) == 0x8000);
  // NaN stays NaN (quiet), with its sign; a payload only in the low bits is not lost.
  for (uint32_t nan : {0x7fc00000u, 0x7f800001u, 0xffc00000u, 0x7fa00000u}) {
    const uint16_t h = float_to_f16(bitsf(nan));
    CHECK((h & 0x7c00) == 0x7c00);
    CHECK((h & 0x0200) != 0);
    CHECK(bool(h & 0x8000) == bool(nan >> 31));
  }
}

TEST_CASE("davinci numeric: fp32 -> bf16 in every rounding mode", "[unit]") {
  const float tie = 1.0f + std::ldexp(1.0f, -8);  // between 0x3f80 and 0x3f81
  CHECK(float_to_bf16(tie, Rounding::nearest_even) == 0x3f80);
  CHECK(float_to_bf16(tie, Rounding::nearest_away) == 0x3f81);
  CHECK(float_to_bf16(tie, Rounding::up) == 0x3f81);
  CHECK(float_to_bf16(-tie, Rounding::down) == 0xbf81);
  CHECK(float_to_bf16(-tie, Rounding::toward_zero) == 0xbf80);
  CHECK(float_to_bf16(std::numeric_limits<float>::max(), Rounding::toward_zero) == 0x7f7f);
  CHECK(float_to_bf16(std::numeric_limits<float>::max(), Rounding::nearest_even) == 0x7f80);
  CHECK(float_to_bf16(bitsf(0x00010000u), Rounding::nearest_even) == 0x0001);  // subnormal
  CHECK(float_to_bf16(bitsf(0x00008000u), Rounding::nearest_even) == 0x0000);  // tie to even
  CHECK(float_to_bf16(bitsf(0x00018000u), Rounding::nearest_even) == 0x0002);
  // nearest_even agrees with the existing float_to_bf16 everywhere sampled.
  std::mt19937 rng(7);
  for (int i = 0; i < 200000; ++i) {
    const float f = bitsf(uint32_t(rng()));
    if (std::isnan(f)) continue;
    if (float_to_bf16(f, Rounding::nearest_even) != float_to_bf16(f)) FAIL("bits " << fbits(f));
  }
}

// ---- copies and loads ------------------------------------------------------------------------

TEST_CASE("davinci copies: bursts with gaps on both sides", "[unit]") {
  Mem mem;
  std::vector<uint8_t> data(4096);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 7 + 3);
  put(mem.gm, 0, data);
  // 3 bursts of 2 blocks: source gap 1 block, destination gap 3; GM needs no alignment.
  const Instr in = copy(Op::copy_gm_to_ubuf, at(Buf::ub, 64), at(Buf::gm, 100), 3, 2, 1, 3);
  check(in, kWho);
  execute(in, kFullMask, mem.m(), kWho);
  for (int i = 0; i < 3; ++i) {
    const auto got = get<uint8_t>(mem.ub, 64 + i * 5 * 32, 64);
    CHECK(std::equal(got.begin(), got.end(), data.begin() + 100 + i * 3 * 32));
    CHECK_FALSE(written(mem.ub, 64 + i * 5 * 32 + 64));  // the gap
    CHECK_FALSE(written(mem.ub, 64 + i * 5 * 32 + 159));
  }
  CHECK_FALSE(written(mem.ub, 63));
  CHECK(work(in) == 3 * 2 * 32);

  // Back to GM, packed: source gap 3, destination gap 0 (one run).
  const Instr out = copy(Op::copy_ubuf_to_gm, at(Buf::gm, 8193), at(Buf::ub, 64), 3, 2, 3, 0);
  check(out, kWho);
  execute(out, kFullMask, mem.m(), kWho);
  const auto packed = get<uint8_t>(mem.gm, 8193, 192);
  for (int i = 0; i < 3; ++i)
    CHECK(std::equal(packed.begin() + i * 64, packed.begin() + i * 64 + 64,
                     data.begin() + 100 + i * 96));
  CHECK_FALSE(written(mem.gm, 8193 + 192));

  // L1 in, then L1 to UB.
  const Instr to_l1 = copy(Op::copy_gm_to_cbuf, at(Buf::l1, 1024), at(Buf::gm, 0), 1, 4, 0, 0);
  const Instr l1_ub = copy(Op::copy_cbuf_to_ubuf, at(Buf::ub, 4096), at(Buf::l1, 1056), 2, 1, 1, 0);
  check(to_l1, kWho);
  check(l1_ub, kWho);
  execute(to_l1, kFullMask, mem.m(), kWho);
  execute(l1_ub, kFullMask, mem.m(), kWho);
  const auto two = get<uint8_t>(mem.ub, 4096, 64);
  CHECK(std::equal(two.begin(), two.begin() + 32, data.begin() + 32));
  CHECK(std::equal(two.begin() + 32, two.end(), data.begin() + 96));
}

TEST_CASE("davinci copies: reading a byte never written is an error naming the instruction",
          "[unit]") {
  Mem mem;
  mem.gm.write(0, std::vector<uint8_t>(40, 1).data(), 40);
  const Instr in = copy(Op::copy_gm_to_ubuf, at(Buf::ub, 0), at(Buf::gm, 0), 1, 2, 0, 0);
  REQUIRE_THROWS_WITH(execute(in, kFullMask, mem.m(), kWho), Catch::StartsWith(kWho) &&
                                                                 Catch::Contains("never written") &&
                                                                 Catch::Contains("0x28"));
  Instr v = vec(Op::vadd, Ty::f32, 0, 256, 512, 1);
  REQUIRE_THROWS_WITH(execute(v, kFullMask, mem.m(), kWho),
                      Catch::StartsWith(kWho) && Catch::Contains("reads ub"));
}

TEST_CASE("davinci loads: fractals with a source stride and a destination gap, transposed",
          "[unit]") {
  Mem mem;
  std::mt19937 rng(1);
  std::vector<uint16_t> l1(4 * 256);
  for (auto& x : l1) x = uint16_t(rng());
  put(mem.l1, 0, l1);
  Instr in;
  in.op = Op::load_cbuf_to_cb, in.ty = Ty::bf16;
  in.dst = at(Buf::l0b, 512), in.src0 = at(Buf::l1, 0);
  in.n0 = imm(2), in.n1 = imm(2), in.n2 = imm(1), in.flag = true;
  check(in, kWho);
  execute(in, kFullMask, mem.m(), kWho);
  for (int f = 0; f < 2; ++f) {  // fractal f from l1 fractal 2f to l0b at 512 + f * 1024
    const auto got = get<uint16_t>(mem.l0b, 512 + f * 1024, 256);
    for (int r = 0; r < 16; ++r)
      for (int c = 0; c < 16; ++c) CHECK(got[c * 16 + r] == l1[2 * f * 256 + r * 16 + c]);
  }
  CHECK_FALSE(written(mem.l0b, 1024));
  CHECK_FALSE(written(mem.l0b, 1535));
  CHECK(work(in) == 1024);
  CHECK(same(sorted_accesses(in), {{Buf::l1, 0, 512, false},
                                   {Buf::l1, 1024, 1536, false},
                                   {Buf::l0b, 512, 1024, true},
                                   {Buf::l0b, 1536, 2048, true}}));

  // s8, not transposed, contiguous: a plain move.
  Instr s8 = in;
  s8.op = Op::load_cbuf_to_ca, s8.ty = Ty::s8, s8.flag = false;
  s8.dst = at(Buf::l0a, 0), s8.n0 = imm(3), s8.n1 = imm(1), s8.n2 = imm(0);
  check(s8, kWho);
  execute(s8, kFullMask, mem.m(), kWho);
  CHECK(get<uint16_t>(mem.l0a, 0, 768) == std::vector<uint16_t>(l1.begin(), l1.begin() + 768));
  CHECK(same(sorted_accesses(s8), {{Buf::l1, 0, 1536, false}, {Buf::l0a, 0, 1536, true}}));
}

// ---- mad -------------------------------------------------------------------------------------

TEST_CASE("davinci mad: f16 and bf16 on random data, initialised and accumulating", "[unit]") {
  std::mt19937 rng(2);
  const int M = 32, K = 48, N = 48, k0 = 16;
  for (Ty ty : {Ty::f16, Ty::bf16}) {
    auto to_float = [ty](uint16_t h) { return ty == Ty::f16 ? f16_to_float(h) : bf16_to_float(h); };
    std::vector<uint16_t> a(M * K), b(K * N);
    std::uniform_real_distribution<float> d(-2, 2);
    for (auto& x : a) x = ty == Ty::f16 ? float_to_f16(d(rng)) : float_to_bf16(d(rng));
    for (auto& x : b) x = ty == Ty::f16 ? float_to_f16(d(rng)) : float_to_bf16(d(rng));
    std::vector<float> af(a.size()), bf(b.size()), c0(M * N);
    std::transform(a.begin(), a.end(), af.begin(), to_float);
    std::transform(b.begin(), b.end(), bf.begin(), to_float);
    for (auto& x : c0) x = d(rng) * 8;

    Mem mem;
    put(mem.l0a, 512, to_zz(a, M, K, k0));
    put(mem.l0b, 1024, to_zn(b, K, N, k0));
    const Instr init = mad(ty, 2048, 512, 1024, M, K, N, true);
    check(init, kWho);
    execute(init, kFullMask, mem.m(), kWho);  // C was never written: init does not read it
    const auto got = from_nz(get<float>(mem.l0c, 2048, M * N), M, N);
    const auto want = ref_mad(af, bf, c0, M, K, N, true);
    CHECK(std::memcmp(got.data(), want.data(), want.size() * 4) == 0);
    // Close to the exact product too (a sanity check of the layouts' reading).
    double worst = 0;
    for (int m = 0; m < M; ++m)
      for (int n = 0; n < N; ++n) {
        double e = 0;
        for (int k = 0; k < K; ++k) e += double(af[m * K + k]) * bf[k * N + n];
        worst = std::max(worst, std::fabs(e - got[m * N + n]));
      }
    CHECK(worst < 1e-3);

    put(mem.l0c, 4096, to_nz(c0, M, N));
    const Instr acc = mad(ty, 4096, 512, 1024, M, K, N, false);
    execute(acc, kFullMask, mem.m(), kWho);
    const auto got2 = from_nz(get<float>(mem.l0c, 4096, M * N), M, N);
    const auto want2 = ref_mad(af, bf, c0, M, K, N, false);
    CHECK(std::memcmp(got2.data(), want2.data(), want2.size() * 4) == 0);
    CHECK(work(acc) == 2 * 3 * 3);
  }
}

TEST_CASE("davinci mad: a K split over two mads gives the bits of one", "[unit]") {
  std::mt19937 rng(3);
  const int M = 16, K = 64, N = 32, k0 = 16, K1 = 16;
  const auto a = random_f16(rng, M * K), b = random_f16(rng, K * N);
  std::vector<uint16_t> a1(M * K1), a2(M * (K - K1)), b1(K1 * N), b2((K - K1) * N);
  for (int m = 0; m < M; ++m)
    for (int k = 0; k < K; ++k)
      (k < K1 ? a1[m * K1 + k] : a2[m * (K - K1) + k - K1]) = a[m * K + k];
  std::copy(b.begin(), b.begin() + K1 * N, b1.begin());
  std::copy(b.begin() + K1 * N, b.end(), b2.begin());
  Mem mem;
  put(mem.l0a, 0, to_zz(a, M, K, k0));
  put(mem.l0b, 0, to_zn(b, K, N, k0));
  put(mem.l0a, 8192, to_zz(a1, M, K1, k0));
  put(mem.l0a, 16384, to_zz(a2, M, K - K1, k0));
  put(mem.l0b, 8192, to_zn(b1, K1, N, k0));
  put(mem.l0b, 16384, to_zn(b2, K - K1, N, k0));
  execute(mad(Ty::f16, 0, 0, 0, M, K, N, true), kFullMask, mem.m(), kWho);
  execute(mad(Ty::f16, 8192, 8192, 8192, M, K1, N, true), kFullMask, mem.m(), kWho);
  execute(mad(Ty::f16, 8192, 16384, 16384, M, K - K1, N, false), kFullMask, mem.m(), kWho);
  CHECK(get<uint32_t>(mem.l0c, 0, M * N) == get<uint32_t>(mem.l0c, 8192, M * N));
}

TEST_CASE("davinci mad: s8 exactly in int32", "[unit]") {
  std::mt19937 rng(4);
  const int M = 32, K = 64, N = 48, k0 = 32;
  std::uniform_int_distribution<int> d8(-128, 127), d32(-1000000, 1000000);
  std::vector<int8_t> a(M * K), b(K * N);
  for (auto& x : a) x = int8_t(d8(rng));
  for (auto& x : b) x = int8_t(d8(rng));
  std::vector<int32_t> c(M * N);
  for (auto& x : c) x = d32(rng);
  c[5] = std::numeric_limits<int32_t>::max();  // wraps
  Mem mem;
  put(mem.l0a, 0, to_zz(a, M, K, k0));
  put(mem.l0b, 0, to_zn(b, K, N, k0));
  put(mem.l0c, 0, to_nz(c, M, N));
  const Instr in = mad(Ty::s8, 0, 0, 0, M, K, N, false);
  check(in, kWho);
  execute(in, kFullMask, mem.m(), kWho);
  const auto got = from_nz(get<int32_t>(mem.l0c, 0, M * N), M, N);
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      int64_t want = c[m * N + n];
      for (int k = 0; k < K; ++k) want += int64_t(a[m * K + k]) * b[k * N + n];
      if (got[m * N + n] != wrap32(want)) FAIL("C(" << m << ", " << n << ")");
    }
  CHECK(work(in) == 2 * 3 * 2);
  CHECK(same(sorted_accesses(in), {{Buf::l0a, 0, uint64_t(M * K), false},
                                   {Buf::l0b, 0, uint64_t(K * N), false},
                                   {Buf::l0c, 0, uint64_t(M * N * 4), false},
                                   {Buf::l0c, 0, uint64_t(M * N * 4), true}}));
}

// ---- vector ops --------------------------------------------------------------------------

TEST_CASE("davinci vector: binary ops with strides and a partial mask", "[unit]") {
  std::mt19937 rng(5);
  const Mask mask = {0x00ff00ff0f0f3c3cULL, 0xf0f0f0f0000000ffULL};
  struct Case {
    Op op;
    Ty ty;
  };
  const Case cases[] = {
      {Op::vadd, Ty::f16}, {Op::vsub, Ty::f16}, {Op::vmul, Ty::f16}, {Op::vdiv, Ty::f16},
      {Op::vmax, Ty::f16}, {Op::vmin, Ty::f16}, {Op::vadd, Ty::f32}, {Op::vsub, Ty::f32},
      {Op::vmul, Ty::f32}, {Op::vdiv, Ty::f32}, {Op::vmax, Ty::f32}, {Op::vmin, Ty::f32},
      {Op::vadd, Ty::s32}, {Op::vsub, Ty::s32}, {Op::vmax, Ty::s32}, {Op::vmin, Ty::s32}};
  for (const Case& cs : cases) {
    INFO(op_name(cs.op) << "." << ty_name(cs.ty));
    const int es = ty_bytes(cs.ty), elems = 256 / es;
    Instr in = vec(cs.op, cs.ty, 0x0000, 0x2000, 0x4000, 3);
    strides(in, 2, 1, 3, 20, 9, 24);
    check(in, kWho);
    auto g = [&](float x, float y) {
      switch (cs.op) {
        case Op::vadd:
          return x + y;
        case Op::vsub:
          return x - y;
        case Op::vmul:
          return x * y;
        case Op::vdiv:
          return x / y;
        case Op::vmax:
          return x > y ? x : y;
        default:
          return x < y ? x : y;
      }
    };
    auto gi = [&](int64_t x, int64_t y) {
      switch (cs.op) {
        case Op::vadd:
          return wrap32(x + y);
        case Op::vsub:
          return wrap32(x - y);
        case Op::vmax:
          return int32_t(std::max(x, y));
        default:
          return int32_t(std::min(x, y));
      }
    };
    const auto shadow = random_shadow(rng, cs.ty);
    if (cs.ty == Ty::s32)
      CHECK(run_vs_ref(shadow, in, mask, es, es, elems, 2, int_ref(gi)) == -1);
    else
      CHECK(run_vs_ref(shadow, in, mask, es, es, elems, 2, float_ref(cs.ty, g)) == -1);
    CHECK(work(in) == 3);

    // In place, contiguous (read all, then write all) and shifted by one iteration onto a
    // source (iterations in order: the second reads what the first wrote).
    Instr inplace = vec(cs.op, cs.ty, 0x1000, 0x1000, 0x3000, 4);
    Instr shifted = vec(cs.op, cs.ty, 0x1100, 0x1000, 0x3000, 4);
    for (const Instr& v : {inplace, shifted})
      for (const Mask& mk : {kFullMask, mask}) {
        if (cs.ty == Ty::s32)
          CHECK(run_vs_ref(shadow, v, mk, es, es, elems, 2, int_ref(gi)) == -1);
        else
          CHECK(run_vs_ref(shadow, v, mk, es, es, elems, 2, float_ref(cs.ty, g)) == -1);
      }
  }
}

TEST_CASE("davinci vector: unselected elements are neither read nor written", "[unit]") {
  Mem mem;
  // Only elements 0-7 of each source are written; the destination holds a sentinel.
  put(mem.ub, 0, std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8});
  put(mem.ub, 1024, std::vector<float>{10, 20, 30, 40, 50, 60, 70, 80});
  put(mem.ub, 2048, std::vector<float>(64, -1.0f));
  const Instr in = vec(Op::vadd, Ty::f32, 2048, 0, 1024, 1);
  execute(in, {0xa5, ~uint64_t(0)}, mem.m(), kWho);  // f32: the high word is ignored
  const auto got = get<float>(mem.ub, 2048, 64);
  const float want[8] = {11, -1, 33, -1, -1, 66, -1, 88};
  for (int e = 0; e < 8; ++e) CHECK(got[e] == want[e]);
  for (int e = 8; e < 64; ++e) CHECK(got[e] == -1.0f);
  // No element selected: nothing happens, even with sources never written.
  execute(vec(Op::vadd, Ty::f32, 2048, 8192, 9000, 1), {0, ~uint64_t(0)}, mem.m(), kWho);
}

TEST_CASE("davinci vector: max and min of NaN and signed zeros", "[unit]") {
  Mem mem;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  put(mem.ub, 0, std::vector<float>{nan, 1.0f, -0.0f, 0.0f});
  put(mem.ub, 256, std::vector<float>{1.0f, nan, 0.0f, -0.0f});
  const Mask four = {0xf, 0};
  execute(vec(Op::vmax, Ty::f32, 512, 0, 256, 1), four, mem.m(), kWho);
  execute(vec(Op::vmin, Ty::f32, 768, 0, 256, 1), four, mem.m(), kWho);
  const auto mx = get<float>(mem.ub, 512, 4), mn = get<float>(mem.ub, 768, 4);
  CHECK(std::isnan(mx[0]));
  CHECK(std::isnan(mx[1]));
  CHECK((mx[2] == 0 && !std::signbit(mx[2]) && !std::signbit(mx[3])));
  CHECK(std::isnan(mn[0]));
  CHECK((std::signbit(mn[2]) && std::signbit(mn[3])));
}

TEST_CASE("davinci vector: unary and vector-scalar ops, vector_dup", "[unit]") {
  std::mt19937 rng(6);
  const Mask mask = {0xfedcba9876543210ULL, 0x0123456789abcdefULL};
  const float scalar = 1.3f;  // not an f16 value: rounded to f16 first for .f16
  for (Ty ty : {Ty::f16, Ty::f32}) {
    const int es = ty_bytes(ty), elems = 256 / es;
    const float s16 = ty == Ty::f16 ? f16_to_float(float_to_f16(scalar)) : scalar;
    for (Op op : {Op::vexp, Op::vln, Op::vabs, Op::vrec, Op::vsqrt, Op::vrsqrt, Op::vrelu,
                  Op::vadds, Op::vmuls, Op::vmaxs, Op::vmins}) {
      INFO(op_name(op) << "." << ty_name(ty));
      Instr in = vec(op, ty, 0x0040, 0x3000, 0, 2);
      strides(in, 1, 2, 1, 12, 17, 8);
      in.b = imm(fbits(scalar));
      check(in, kWho);
      auto g = [&](float x, float) {
        switch (op) {
          case Op::vexp:
            return std::exp(x);
          case Op::vln:
            return std::log(std::fabs(x));
          case Op::vabs:
            return std::fabs(x);
          case Op::vrec:
            return 1.0f / x;
          case Op::vsqrt:
            return std::sqrt(std::fabs(x));
          case Op::vrsqrt:
            return 1.0f / std::sqrt(std::fabs(x));
          case Op::vrelu:
            return x > 0 ? x : 0.0f;
          case Op::vadds:
            return x + s16;
          case Op::vmuls:
            return x * s16;
          case Op::vmaxs:
            return x > s16 ? x : s16;
          default:
            return x < s16 ? x : s16;
        }
      };
      auto shadow = random_shadow(rng, ty);
      if (op == Op::vln || op == Op::vsqrt || op == Op::vrsqrt)  // positive inputs
        for (size_t i = es - 1; i < shadow.size(); i += size_t(es)) shadow[i] &= 0x7f;
      CHECK(run_vs_ref(shadow, in, mask, es, es, elems, 1, float_ref(ty, g)) == -1);
    }
  }
  // s32 scalars: an integer, wrapping.
  for (Op op : {Op::vadds, Op::vmuls, Op::vmaxs, Op::vmins}) {
    INFO(op_name(op));
    Instr in = vec(op, Ty::s32, 0x0040, 0x3000, 0, 2);
    strides(in, 3, 1, 1, 30, 8, 8);
    in.b = imm(-7);
    check(in, kWho);
    auto gi = [&](int64_t x, int64_t) {
      switch (op) {
        case Op::vadds:
          return wrap32(x - 7);
        case Op::vmuls:
          return wrap32(x * -7);
        case Op::vmaxs:
          return int32_t(std::max<int64_t>(x, -7));
        default:
          return int32_t(std::min<int64_t>(x, -7));
      }
    };
    CHECK(run_vs_ref(random_shadow(rng, Ty::s32), in, mask, 4, 4, 64, 1, int_ref(gi)) == -1);
  }
  // vector_dup: the scalar into every selected element, nothing read.
  for (Ty ty : {Ty::f16, Ty::f32, Ty::s32}) {
    Instr in = vec(Op::vector_dup, ty, 0x0100, 0, 0, 3);
    strides(in, 2, 1, 1, 16, 8, 8);
    in.b = imm(ty == Ty::s32 ? -123456 : int64_t(fbits(-2.7f)));
    check(in, kWho);
    const int es = ty_bytes(ty);
    auto f = [&](const uint8_t*, const uint8_t*, uint8_t* d) {
      if (ty == Ty::f16) {
        const uint16_t h = float_to_f16(-2.7f);
        std::memcpy(d, &h, 2);
      } else {
        const int32_t v = ty == Ty::s32 ? -123456 : int32_t(fbits(-2.7f));
        std::memcpy(d, &v, 4);
      }
    };
    CHECK(run_vs_ref(random_shadow(rng, ty), in, mask, es, es, 256 / es, 0, f) == -1);
  }
}

TEST_CASE("davinci vector: reductions per iteration over the selected elements", "[unit]") {
  std::mt19937 rng(8);
  const Mask mask = {0x8000000000000001ULL | 0x00f0f00000ffff00ULL, 0x1ULL << 63 | 0xffULL};
  for (Ty ty : {Ty::f16, Ty::f32})
    for (Op op : {Op::vcadd, Op::vcmax, Op::vcmin}) {
      INFO(op_name(op) << "." << ty_name(ty));
      const int es = ty_bytes(ty), elems = 256 / es, repeat = 3;
      Instr in = vec(op, ty, 0x0400, 0x1000, 0, repeat);
      strides(in, 1, 2, 1, 8, 16, 8);
      check(in, kWho);
      auto shadow = random_shadow(rng, ty);
      Mem mem;
      mem.ub.write(0, shadow.data(), shadow.size());
      execute(in, mask, mem.m(), kWho);
      for (int r = 0; r < repeat; ++r) {
        float acc = 0;
        bool first = true;
        for (int e = 0; e < elems; ++e) {
          if (!selected(mask, e)) continue;
          const uint64_t p = elem_addr(0x1000, 2, 16, es, r, e);
          float x;
          if (ty == Ty::f32) {
            std::memcpy(&x, &shadow[p], 4);
          } else {
            uint16_t h;
            std::memcpy(&h, &shadow[p], 2);
            x = f16_to_float(h);
          }
          acc = first             ? x
                : op == Op::vcadd ? acc + x
                : op == Op::vcmax ? std::max(acc, x)
                                  : std::min(acc, x);
          first = false;
        }
        if (ty == Ty::f32) {
          std::memcpy(&shadow[0x400 + r * 4], &acc, 4);
        } else {
          const uint16_t h = float_to_f16(acc);
          std::memcpy(&shadow[0x400 + r * 2], &h, 2);
        }
      }
      CHECK(get<uint8_t>(mem.ub, 0, kShadow) == shadow);
      CHECK(same(sorted_accesses(in), {{Buf::ub, 0x1000, 0x1000 + 32, false},
                                       {Buf::ub, 0x1040, 0x1040 + 32, false},
                                       {Buf::ub, 0x1080, 0x1080 + 32, false},
                                       {Buf::ub, 0x10c0, 0x10c0 + 32, false},
                                       {Buf::ub, 0x1100, 0x1100 + 32, false},
                                       {Buf::ub, 0x1140, 0x1140 + 32, false},
                                       {Buf::ub, 0x1180, 0x1180 + 32, false},
                                       {Buf::ub, 0x11c0, 0x11c0 + 32, false},
                                       {Buf::ub, 0x1200, 0x1200 + 32, false},
                                       {Buf::ub, 0x1240, 0x1240 + 32, false},
                                       {Buf::ub, 0x1280, 0x1280 + 32, false},
                                       {Buf::ub, 0x12c0, 0x12c0 + 32, false},
                                       {Buf::ub, 0x1300, 0x1300 + 32, false},
                                       {Buf::ub, 0x1340, 0x1340 + 32, false},
                                       {Buf::ub, 0x1380, 0x1380 + 32, false},
                                       {Buf::ub, 0x13c0, 0x13c0 + 32, false},
                                       {Buf::ub, 0x1400, 0x1400 + 32, false},
                                       {Buf::ub, 0x1440, 0x1440 + 32, false},
                                       {Buf::ub, 0x1480, 0x1480 + 32, false},
                                       {Buf::ub, 0x14c0, 0x14c0 + 32, false},
                                       {Buf::ub, 0x1500, 0x1500 + 32, false},
                                       {Buf::ub, 0x1540, 0x1540 + 32, false},
                                       {Buf::ub, 0x1580, 0x1580 + 32, false},
                                       {Buf::ub, 0x15c0, 0x15c0 + 32, false},
                                       {Buf::ub, 0x400, 0x400 + uint64_t(repeat * es), true}}));
    }
  // In place (the results land on the first iteration's source) and with no element
  // selected (nothing written).
  Mem mem;
  put(mem.ub, 0, std::vector<float>(128, 1.5f));
  execute(vec(Op::vcadd, Ty::f32, 0, 0, 0, 2), kFullMask, mem.m(), kWho);
  CHECK(get<float>(mem.ub, 0, 2) == std::vector<float>{96.0f, 96.0f});
  execute(vec(Op::vcadd, Ty::f32, 4096, 0, 0, 2), {0, ~uint64_t(0)}, mem.m(), kWho);
  CHECK_FALSE(written(mem.ub, 4096));
}

TEST_CASE("davinci vbrcb: each of an iteration's 8 elements fills one destination block",
          "[unit]") {
  for (Ty ty : {Ty::f32, Ty::s32}) {
    INFO(ty_name(ty));
    Mem mem;
    std::vector<uint32_t> src(24);
    for (size_t i = 0; i < src.size(); ++i)
      src[i] = ty == Ty::f32 ? fbits(float(i) - 7.5f) : uint32_t(i * 977);
    put(mem.ub, 0x800, src);
    // 3 iterations; blocks 2 apart, iterations 20 blocks apart; the mask does not apply.
    Instr in = vec(Op::vbrcb, ty, 0x1000, 0x800, 0, 3);
    strides(in, 2, 1, 1, 20, 8, 8);
    check(in, kWho);
    execute(in, {0, 1}, mem.m(), kWho);
    for (int r = 0; r < 3; ++r)
      for (int i = 0; i < 8; ++i) {
        const uint64_t blk = 0x1000 + uint64_t((r * 20 + i * 2) * 32);
        CHECK(get<uint32_t>(mem.ub, blk, 8) == std::vector<uint32_t>(8, src[size_t(r * 8 + i)]));
        CHECK_FALSE(written(mem.ub, blk + 32));  // the gap between blocks
      }
    CHECK(work(in) == 3);
    std::vector<Range> want = {{Buf::ub, 0x800, 0x800 + 96, false}};
    for (int r = 0; r < 3; ++r)
      for (int i = 0; i < 8; ++i) {
        const uint64_t lo = 0x1000 + uint64_t((r * 20 + i * 2) * 32);
        want.push_back({Buf::ub, lo, lo + 32, true});
      }
    CHECK(same(sorted_accesses(in), want));
  }
  // In place, iteration by iteration: iteration 0 reads its 8 values before writing over them.
  Mem mem;
  put(mem.ub, 0, std::vector<uint32_t>{1, 2, 3, 4, 5, 6, 7, 8});
  Instr in = vec(Op::vbrcb, Ty::s32, 0, 0, 0, 1);
  execute(in, kFullMask, mem.m(), kWho);
  for (uint32_t i = 0; i < 8; ++i)
    CHECK(get<uint32_t>(mem.ub, i * 32, 8) == std::vector<uint32_t>(8, i + 1));
  // Types: 4-byte elements only.
  in.ty = Ty::f16;
  CHECK_THROWS_WITH(check(in, kWho), "k.s:7: op: vbrcb takes f32 or s32 elements, not f16");
}

TEST_CASE("davinci img2col: zZ fractals of the img2col matrix, padding as zeros", "[unit]") {
  // A 2-slice NC1HWC0 map of 5 x 6 pixels at l1[64]; a 3 x 2 kernel, strides 2 and 1, padding 1
  // above and 1 left: 3 x 6 output pixels. 9 fractals from K fractal 1 (slice 0's taps 1-5,
  // slice 1's 0-3), pixels 3 to 18 (the last two past the output: computed all the same).
  const int64_t H = 5, W = 6, C1 = 2, KH = 3, KW = 2, SH = 2, SW = 1, PT = 1, PL = 1, OW = 6;
  const int64_t M0 = 3, K0 = 1, R = 9;
  std::mt19937 rng(11);
  std::vector<uint16_t> fmap(size_t(C1 * H * W * 16));
  for (auto& v : fmap) v = uint16_t(rng());
  Mem mem;
  put(mem.l1, 64, fmap);
  Instr in;
  in.op = Op::img2col_cbuf_to_ca;
  in.dst = at(Buf::l0a, 1024), in.src0 = at(Buf::l1, 64);
  in.n0 = imm(R), in.n1 = imm(OW), in.n2 = imm(M0), in.n3 = imm(K0);
  in.blk[0] = imm(KH), in.blk[1] = imm(KW), in.blk[2] = imm(SH), in.rep[0] = imm(SW);
  check(in, kWho);
  const Fmatrix fm{H, W, PT, PL};
  execute(in, kFullMask, mem.m(), kWho, fm);
  const std::vector<uint16_t> got = get<uint16_t>(mem.l0a, 1024, size_t(R * 256));
  int zeros = 0;
  for (int64_t i = 0; i < R; ++i)
    for (int64_t r = 0; r < 16; ++r) {
      const int64_t k = K0 + i, p = M0 + r, c1 = k / (KH * KW), kh = k / KW % KH, kw = k % KW;
      const int64_t ih = p / OW * SH - PT + kh, iw = p % OW * SW - PL + kw;
      const bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
      zeros += !inside;
      for (int64_t c = 0; c < 16; ++c) {
        const uint16_t want = inside ? fmap[size_t(((c1 * H + ih) * W + iw) * 16 + c)] : 0;
        CHECK(got[size_t(i * 256 + r * 16 + c)] == want);
      }
    }
  CHECK(zeros > 0);  // the padding was exercised
  CHECK(work(in) == uint64_t(R * 512));
  // Reads: the rows of slices 0 and 1 the pixels reach (output rows 0..3: input rows 0..4,
  // clipped to the map): both whole slices here, one run.
  std::vector<Range> r;
  accesses(in, r, kFullMask, fm);
  CHECK(same(r, {{Buf::l1, 64, 64 + uint64_t(C1 * H * W * 32), false},
                 {Buf::l0a, 1024, 1024 + uint64_t(R * 512), true}}));
  // Without a feature map: an error naming the instruction.
  CHECK_THROWS_WITH(execute(in, kFullMask, mem.m(), kWho),
                    "k.s:7: op: reads a feature map, and no set_fmatrix came before it in "
                    "PIPE_MTE1");
  // The operand rules.
  Instr bad = in;
  bad.blk[2] = imm(64);
  CHECK_THROWS_WITH(check(bad, kWho), "k.s:7: op: stride_h must be in [1, 63] (got 64)");
  bad = in;
  bad.dst = at(Buf::l0a, 32);
  CHECK_THROWS_WITH(check(bad, kWho),
                    "k.s:7: op: the destination address must be 512-byte aligned (got l0a[32])");
}

TEST_CASE("davinci vconv: every pair and rounding mode on ties, negatives and limits", "[unit]") {
  struct Case {
    Ty to, from;
    std::vector<uint32_t> in;                // source bits
    std::vector<std::vector<uint32_t>> out;  // per mode rn, a, f, c, z
  };
  auto f = [](float x) { return fbits(x); };
  auto s = [](int32_t x) { return uint32_t(x); };
  auto b8 = [](int x) { return uint32_t(uint8_t(int8_t(x))); };
  const uint32_t imax = s(std::numeric_limits<int32_t>::max()),
                 imin = s(std::numeric_limits<int32_t>::min());
  const float tie16 = 1.0f + std::ldexp(1.0f, -11), tie16b = 1.0f + 3 * std::ldexp(1.0f, -11);
  const std::vector<Case> cases = {
      {Ty::s32,
       Ty::f32,
       {f(2.5f), f(-2.5f), f(3.5f), f(-0.5f), f(1.25f), f(-1.75f), f(3e9f), f(-3e9f),
        f(std::numeric_limits<float>::quiet_NaN()), f(2147483520.0f)},
       {{2, s(-2), 4, 0, 1, s(-2), imax, imin, 0, 2147483520u},
        {3, s(-3), 4, s(-1), 1, s(-2), imax, imin, 0, 2147483520u},
        {2, s(-3), 3, s(-1), 1, s(-2), imax, imin, 0, 2147483520u},
        {3, s(-2), 4, 0, 2, s(-1), imax, imin, 0, 2147483520u},
        {2, s(-2), 3, 0, 1, s(-1), imax, imin, 0, 2147483520u}}},
      {Ty::f16,
       Ty::f32,
       {f(tie16), f(-tie16), f(tie16b), f(70000.0f), f(-70000.0f), f(std::ldexp(1.0f, -25)),
        f(1e-10f), f(-1e-10f)},
       {{0x3c00, 0xbc00, 0x3c02, 0x7c00, 0xfc00, 0x0000, 0x0000, 0x8000},
        {0x3c01, 0xbc01, 0x3c02, 0x7c00, 0xfc00, 0x0001, 0x0000, 0x8000},
        {0x3c00, 0xbc01, 0x3c01, 0x7bff, 0xfc00, 0x0000, 0x0000, 0x8001},
        {0x3c01, 0xbc00, 0x3c02, 0x7c00, 0xfbff, 0x0001, 0x0001, 0x8000},
        {0x3c00, 0xbc00, 0x3c01, 0x7bff, 0xfbff, 0x0000, 0x0000, 0x8000}}},
      {Ty::f32,
       Ty::s32,
       {16777217u, s(-16777217), 16777219u, imax, imin},
       {{f(16777216.0f), f(-16777216.0f), f(16777220.0f), f(2147483648.0f), f(-2147483648.0f)},
        {f(16777218.0f), f(-16777218.0f), f(16777220.0f), f(2147483648.0f), f(-2147483648.0f)},
        {f(16777216.0f), f(-16777218.0f), f(16777218.0f), f(2147483520.0f), f(-2147483648.0f)},
        {f(16777218.0f), f(-16777216.0f), f(16777220.0f), f(2147483648.0f), f(-2147483648.0f)},
        {f(16777216.0f), f(-16777216.0f), f(16777218.0f), f(2147483520.0f), f(-2147483648.0f)}}},
      {Ty::f16,
       Ty::s32,
       {2049u, s(-2049), 70000u, 65520u, 3u},
       {{0x6800, 0xe800, 0x7c00, 0x7c00, 0x4200},
        {0x6801, 0xe801, 0x7c00, 0x7c00, 0x4200},
        {0x6800, 0xe801, 0x7bff, 0x7bff, 0x4200},
        {0x6801, 0xe800, 0x7c00, 0x7c00, 0x4200},
        {0x6800, 0xe800, 0x7bff, 0x7bff, 0x4200}}},
      {Ty::s32,
       Ty::f16,
       {0x4100, 0xc100, 0x7c00, 0x7bff, 0xfc00},
       {{2, s(-2), imax, 65504, imin},
        {3, s(-3), imax, 65504, imin},
        {2, s(-3), imax, 65504, imin},
        {3, s(-2), imax, 65504, imin},
        {2, s(-2), imax, 65504, imin}}},
      {Ty::f32,
       Ty::f16,
       {0x0001, 0xfbff, 0x3555},
       std::vector<std::vector<uint32_t>>(
           5, {f(std::ldexp(1.0f, -24)), f(-65504.0f), f(f16_to_float(0x3555))})},
      {Ty::bf16,
       Ty::f32,
       {f(1.0f + std::ldexp(1.0f, -8)), f(-(1.0f + std::ldexp(1.0f, -8))), f(3e38f)},
       {{0x3f80, 0xbf80, 0x7f62},
        {0x3f81, 0xbf81, 0x7f62},
        {0x3f80, 0xbf81, 0x7f61},
        {0x3f81, 0xbf80, 0x7f62},
        {0x3f80, 0xbf80, 0x7f61}}},
      {Ty::f32,
       Ty::bf16,
       {0x3f81, 0xff80},
       std::vector<std::vector<uint32_t>>(5, {f(bf16_to_float(0x3f81)), f(bf16_to_float(0xff80))})},
      // f16 -> s8: 2.5, -2.5, 200, -300, 127.5, NaN, -0.5, 1.25; saturating, NaN to 0.
      {Ty::s8,
       Ty::f16,
       {0x4100, 0xc100, 0x5a40, 0xdcb0, 0x57f8, 0x7e00, 0xb800, 0x3d00},
       {{2, b8(-2), 127, b8(-128), 127, 0, 0, 1},
        {3, b8(-3), 127, b8(-128), 127, 0, b8(-1), 1},
        {2, b8(-3), 127, b8(-128), 127, 0, b8(-1), 1},
        {3, b8(-2), 127, b8(-128), 127, 0, 0, 2},
        {2, b8(-2), 127, b8(-128), 127, 0, 0, 1}}},
      // s8 -> f16: exact.
      {Ty::f16,
       Ty::s8,
       {0x80, 0x7f, 0xff, 0},
       std::vector<std::vector<uint32_t>>(5, {0xd800, 0x57f0, 0xbc00, 0})},
  };
  for (const Case& c : cases)
    for (int mode = 0; mode < 5; ++mode) {
      INFO("vconv " << ty_name(c.from) << " -> " << ty_name(c.to) << " mode " << mode);
      const int ei = ty_bytes(c.from), eo = ty_bytes(c.to);
      Mem mem;
      std::vector<uint8_t> src(256, 0);  // an iteration: 64 or 128 elements
      for (size_t i = 0; i < c.in.size(); ++i) std::memcpy(&src[i * ei], &c.in[i], ei);
      put(mem.ub, 0, src);
      Instr in = vec(Op::vconv, c.to, 1024, 0, 0, 1);
      in.ty2 = c.from, in.round = kRounds[mode];
      check(in, kWho);
      execute(in, kFullMask, mem.m(), kWho);
      for (size_t i = 0; i < c.in.size(); ++i) {
        uint32_t got = 0;
        mem.ub.read(1024 + i * eo, &got, eo, "test");
        CHECK(got == c.out[mode][i]);
      }
    }
}

TEST_CASE("davinci vconv: strided operands of different element sizes, partial mask", "[unit]") {
  std::mt19937 rng(9);
  const Mask mask = {0xf0f0f0f0f0f00ff1ULL, 0};
  // f32 -> f16: 8 source blocks, 4 destination blocks an iteration; and back.
  Instr down = vec(Op::vconv, Ty::f16, 0x0000, 0x2000, 0, 3);
  down.ty2 = Ty::f32, down.round = Round::z;
  strides(down, 2, 1, 1, 9, 10, 8);
  check(down, kWho);
  auto fd = [](const uint8_t* x, const uint8_t*, uint8_t* d) {
    float v;
    std::memcpy(&v, x, 4);
    const uint16_t h = float_to_f16(v, Rounding::toward_zero);
    std::memcpy(d, &h, 2);
  };
  CHECK(run_vs_ref(random_shadow(rng, Ty::f32), down, mask, 2, 4, 64, 1, fd) == -1);
  CHECK(same(sorted_accesses(down), {{Buf::ub, 0x2000, 0x2000 + 256, false},
                                     {Buf::ub, 0x2000 + 320, 0x2000 + 576, false},
                                     {Buf::ub, 0x2000 + 640, 0x2000 + 896, false},
                                     {Buf::ub, 0, 32, true},
                                     {Buf::ub, 64, 96, true},
                                     {Buf::ub, 128, 160, true},
                                     {Buf::ub, 192, 224, true},
                                     {Buf::ub, 288, 320, true},
                                     {Buf::ub, 352, 384, true},
                                     {Buf::ub, 416, 448, true},
                                     {Buf::ub, 480, 512, true},
                                     {Buf::ub, 576, 608, true},
                                     {Buf::ub, 640, 672, true},
                                     {Buf::ub, 704, 736, true},
                                     {Buf::ub, 768, 800, true}}));
  Instr up = vec(Op::vconv, Ty::f32, 0x1000, 0x1000, 0, 3);  // widening in place: in order
  up.ty2 = Ty::f16;
  auto fu = [](const uint8_t* x, const uint8_t*, uint8_t* d) {
    uint16_t h;
    std::memcpy(&h, x, 2);
    const float v = f16_to_float(h);
    std::memcpy(d, &v, 4);
  };
  CHECK(run_vs_ref(random_shadow(rng, Ty::f16), up, kFullMask, 4, 2, 64, 1, fu) == -1);
  CHECK(work(up) == 3);
}

// ---- L0C out ---------------------------------------------------------------------------------

TEST_CASE("davinci copy_matrix_cc_to_ubuf: fractal bursts with gaps, with and without f322f16",
          "[unit]") {
  std::mt19937 rng(10);
  std::uniform_real_distribution<float> d(-1000, 1000);
  std::vector<float> c(4 * 256);
  for (auto& x : c) x = d(rng);
  Mem mem;
  put(mem.l0c, 0, c);
  Instr in;
  in.op = Op::copy_matrix_cc_to_ubuf, in.conv = Conv::f322f16;
  in.dst = at(Buf::ub, 32), in.src0 = at(Buf::l0c, 0);
  in.n0 = imm(2), in.n1 = imm(1), in.n2 = imm(1), in.n3 = imm(1);
  check(in, kWho);
  execute(in, kFullMask, mem.m(), kWho);
  for (int b = 0; b < 2; ++b) {  // burst b: L0C fractal 2b to ub 32 + b * 1024
    const auto got = get<uint16_t>(mem.ub, 32 + b * 1024, 256);
    for (int i = 0; i < 256; ++i) CHECK(got[i] == float_to_f16(c[2 * b * 256 + i]));
  }
  CHECK_FALSE(written(mem.ub, 32 + 512));
  CHECK(work(in) == 2);
  CHECK(same(sorted_accesses(in), {{Buf::l0c, 0, 1024, false},
                                   {Buf::l0c, 2048, 3072, false},
                                   {Buf::ub, 32, 544, true},
                                   {Buf::ub, 1056, 1568, true}}));

  Instr raw = in;
  raw.conv = Conv::none, raw.dst = at(Buf::ub, 8192), raw.n0 = imm(1), raw.n1 = imm(3);
  raw.n2 = imm(0), raw.n3 = imm(0), raw.src0 = at(Buf::l0c, 1024);
  check(raw, kWho);
  execute(raw, kFullMask, mem.m(), kWho);
  CHECK(get<float>(mem.ub, 8192, 768) == std::vector<float>(c.begin() + 256, c.end()));
}

TEST_CASE("davinci fixpipe: NZ to row-major GM rows, with each conversion", "[unit]") {
  std::mt19937 rng(11);
  const int M = 32, N = 48;
  std::uniform_real_distribution<float> d(-100, 100);
  std::vector<float> c(M * N);
  for (auto& x : c) x = d(rng);
  for (Conv conv : {Conv::none, Conv::f322f16, Conv::f322bf16}) {
    INFO("conv " << int(conv));
    const int ob = conv == Conv::none ? 4 : 2;
    const int64_t stride = N * ob + 64, d0 = 4099;
    Mem mem;
    put(mem.l0c, 1024, to_nz(c, M, N));
    Instr in;
    in.op = Op::fixpipe, in.conv = conv;
    in.dst = at(Buf::gm, d0), in.src0 = at(Buf::l0c, 1024);
    in.n0 = imm(M), in.n1 = imm(N), in.n2 = imm(stride);
    check(in, kWho);
    execute(in, kFullMask, mem.m(), kWho);
    for (int m = 0; m < M; ++m) {
      for (int n = 0; n < N; ++n) {
        uint32_t got = 0;
        mem.gm.read(uint64_t(d0 + m * stride + n * ob), &got, uint64_t(ob), "test");
        const float x = c[m * N + n];
        const uint32_t want = conv == Conv::none      ? fbits(x)
                              : conv == Conv::f322f16 ? float_to_f16(x)
                                                      : float_to_bf16(x);
        if (got != want) FAIL("row " << m << " column " << n);
      }
      CHECK_FALSE(written(mem.gm, uint64_t(d0 + m * stride + N * ob)));
    }
    CHECK(work(in) == 2 * 3);
    const auto r = sorted_accesses(in);
    REQUIRE(r.size() == 1 + M);
    CHECK((r[0].buf == Buf::gm && r[0].lo == uint64_t(d0) && r[0].hi == uint64_t(d0 + N * ob) &&
           r[0].write));
    CHECK((r.back().buf == Buf::l0c && r.back().lo == 1024 && r.back().hi == 1024 + M * N * 4));
  }
  // Rows back to back: one range.
  Instr packed;
  packed.op = Op::fixpipe, packed.conv = Conv::f322f16;
  packed.dst = at(Buf::gm, 0), packed.src0 = at(Buf::l0c, 0);
  packed.n0 = imm(M), packed.n1 = imm(N), packed.n2 = imm(N * 2);
  CHECK(same(sorted_accesses(packed),
             {{Buf::gm, 0, uint64_t(M * N * 2), true}, {Buf::l0c, 0, uint64_t(M * N * 4), false}}));
}

TEST_CASE("davinci fixpipe and copy_matrix_cc_to_ubuf: req8 requantises as the workload IR",
          "[unit]") {
  // Accumulators across the s32 range, the rounding ties and the saturation bounds.
  std::mt19937 rng(12);
  const int M = 32, N = 64;
  std::vector<int32_t> acc(M * N);
  std::uniform_int_distribution<int32_t> wide(std::numeric_limits<int32_t>::min(),
                                              std::numeric_limits<int32_t>::max());
  std::uniform_int_distribution<int32_t> near(-5000, 5000);
  for (size_t i = 0; i < acc.size(); ++i) acc[i] = i % 4 == 0 ? wide(rng) : near(rng);
  acc[0] = 5, acc[1] = -5, acc[2] = std::numeric_limits<int32_t>::min(), acc[3] = 127 * 16 + 8;
  const std::vector<std::tuple<int32_t, int32_t, bool>> scales = {
      {1, 0, false}, {3, 4, false}, {-7, 5, true}, {1 << 30, 40, true}};
  for (const auto& [mul, shift, relu] : scales) {
    INFO("mul " << mul << " shift " << shift << " relu " << relu);
    // Copies: in C++17 a lambda cannot capture a structured binding (clang refuses it).
    auto want = [mul = mul, shift = shift, relu = relu](int32_t a) {
      const int8_t q = numeric::requantize(a, mul, shift);
      return relu ? std::max<int8_t>(q, 0) : q;
    };
    Mem mem;
    put(mem.l0c, 0, to_nz(acc, M, N));
    Instr fix;
    fix.op = Op::fixpipe, fix.conv = Conv::req8, fix.flag = relu;
    fix.blk[0] = imm(mul), fix.b = imm(shift);
    fix.dst = at(Buf::gm, 3), fix.src0 = at(Buf::l0c, 0);
    fix.n0 = imm(M), fix.n1 = imm(N), fix.n2 = imm(N + 5);
    check(fix, kWho);
    execute(fix, kFullMask, mem.m(), kWho);
    for (int m = 0; m < M; ++m) {
      const auto row = get<int8_t>(mem.gm, uint64_t(3 + m * (N + 5)), N);
      for (int n = 0; n < N; ++n)
        if (row[size_t(n)] != want(acc[size_t(m * N + n)])) FAIL("row " << m << " column " << n);
      CHECK_FALSE(written(mem.gm, uint64_t(3 + m * (N + 5) + N)));
    }
    const auto r = sorted_accesses(fix);
    CHECK((r.front().buf == Buf::gm && r.front().hi - r.front().lo == uint64_t(N)));

    // The 910 path: even column blocks at 0, odd ones at 16, into 16 x 32 fractals of s8.
    Instr cc;
    cc.op = Op::copy_matrix_cc_to_ubuf, cc.conv = Conv::req8, cc.flag = relu;
    cc.blk[0] = imm(mul), cc.b = imm(shift);
    cc.src0 = at(Buf::l0c, 0);
    cc.n0 = imm(N / 32), cc.n1 = imm(M / 16), cc.n2 = imm(M / 16), cc.n3 = imm(0);
    for (int odd = 0; odd < 2; ++odd) {
      cc.dst = at(Buf::ub, 1024 + 16 * odd);
      cc.src0 = at(Buf::l0c, odd * (M / 16) * 1024);
      check(cc, kWho);
      execute(cc, kFullMask, mem.m(), kWho);
    }
    for (int c = 0; c < N / 32; ++c)
      for (int m = 0; m < M; ++m) {
        const auto row = get<int8_t>(mem.ub, uint64_t(1024 + (c * M + m) * 32), 32);
        for (int j = 0; j < 32; ++j)
          if (row[size_t(j)] != want(acc[size_t(m * N + c * 32 + j)]))
            FAIL("column pair " << c << " row " << m << " element " << j);
      }
    CHECK(work(cc) == uint64_t(N / 32 * M / 16));
    // The writes: 16 bytes of each 32-byte row, M rows per burst.
    const auto w = sorted_accesses(cc);
    size_t writes = 0;
    for (const Range& x : w)
      if (x.write) {
        CHECK((x.buf == Buf::ub && x.hi - x.lo == 16 && (x.lo - 1040) % 32 == 0));
        ++writes;
      }
    CHECK(writes == size_t(N / 32 * M));
  }
}

TEST_CASE("davinci fixpipe: relu on a 2-byte conversion", "[unit]") {
  const int M = 16, N = 16;
  std::vector<float> c(M * N);
  for (int i = 0; i < M * N; ++i) c[size_t(i)] = float(i - 100) * 0.5f;
  c[7] = std::numeric_limits<float>::quiet_NaN();
  c[8] = -0.0f;
  Mem mem;
  put(mem.l0c, 0, to_nz(c, M, N));
  Instr fix;
  fix.op = Op::fixpipe, fix.conv = Conv::f322f16, fix.flag = true;
  fix.dst = at(Buf::gm, 0), fix.src0 = at(Buf::l0c, 0);
  fix.n0 = imm(M), fix.n1 = imm(N), fix.n2 = imm(N * 2);
  check(fix, kWho);
  execute(fix, kFullMask, mem.m(), kWho);
  const auto got = get<uint16_t>(mem.gm, 0, size_t(M * N));
  for (int i = 0; i < M * N; ++i) {
    if (i == 7) {
      CHECK(((got[size_t(i)] & 0x7c00) == 0x7c00 && (got[size_t(i)] & 0x3ff) != 0));  // NaN
      continue;
    }
    CHECK(got[size_t(i)] == float_to_f16(c[size_t(i)] > 0 ? c[size_t(i)] : 0.0f));
  }
  CHECK(got[8] == 0);  // -0 becomes +0
}

// ---- check, accesses, resolve, work ---------------------------------------------------------

TEST_CASE("davinci check: alignment, multiples, ranges, types and memories", "[unit]") {
  struct Case {
    Instr in;
    const char* message;
  };
  std::vector<Case> cases;
  auto add = [&](Instr in, const char* message) { cases.push_back({in, message}); };

  add(vec(Op::vadd, Ty::f16, 16, 0, 0, 1),
      "the destination address must be 32-byte aligned (got ub[16])");
  add(vec(Op::vadd, Ty::f16, 0, 0, 40, 1),
      "the second source address must be 32-byte aligned (got ub[40])");
  add(vec(Op::vadd, Ty::f16, 0, 0, 0, 256), "repeat must be in [1, 255] (got 256)");
  add(vec(Op::vadd, Ty::f16, 0, 0, 0, 0), "repeat must be in [1, 255] (got 0)");
  Instr bad_blk = vec(Op::vadd, Ty::f16, 0, 0, 0, 1);
  bad_blk.rep[1] = imm(-1);
  add(bad_blk, "src0_rep must be in [0, 255] (got -1)");
  add(vec(Op::vmul, Ty::s32, 0, 0, 0, 1), "vmul takes f16 or f32 elements, not s32");
  add(vec(Op::vexp, Ty::bf16, 0, 0, 0, 1), "vexp takes f16 or f32 elements, not bf16");
  Instr conv = vec(Op::vconv, Ty::f16, 0, 0, 0, 1);
  conv.ty2 = Ty::bf16;
  add(conv, "vconv has no conversion bf16 -> f16");
  Instr in_l1 = vec(Op::vadd, Ty::f16, 0, 0, 0, 1);
  in_l1.src0.buf = Buf::l1;
  add(in_l1, "the source must be in ub, not l1");
  Instr big = vec(Op::vadds, Ty::s32, 0, 0, 0, 1);
  big.b = imm(int64_t(1) << 31);
  add(big, "the scalar (s32) must be in [-2147483648, 2147483647] (got 2147483648)");

  add(copy(Op::copy_gm_to_ubuf, at(Buf::ub, 0), at(Buf::gm, 3), 0, 1, 0, 0),
      "nburst must be in [1, 4095] (got 0)");
  add(copy(Op::copy_gm_to_ubuf, at(Buf::ub, 0), at(Buf::gm, 3), 1, 65536, 0, 0),
      "burst must be in [1, 65535] (got 65536)");
  add(copy(Op::copy_gm_to_ubuf, at(Buf::ub, 0), at(Buf::gm, 3), 1, 1, -1, 0),
      "src_gap must be in [0, 65535] (got -1)");
  add(copy(Op::copy_gm_to_ubuf, at(Buf::ub, 8), at(Buf::gm, 3), 1, 1, 0, 0),
      "the destination address must be 32-byte aligned (got ub[8])");
  add(copy(Op::copy_gm_to_ubuf, at(Buf::l1, 0), at(Buf::gm, 3), 1, 1, 0, 0),
      "the destination must be in ub, not l1");
  add(copy(Op::copy_ubuf_to_gm, at(Buf::gm, -32), at(Buf::ub, 0), 1, 1, 0, 0),
      "the destination address must be in [0, 2^48) (got gm[-32])");
  add(copy(Op::copy_cbuf_to_ubuf, at(Buf::ub, 0), at(Buf::l1, 48), 1, 1, 0, 0),
      "the source address must be 32-byte aligned (got l1[48])");

  Instr load;
  load.op = Op::load_cbuf_to_ca, load.ty = Ty::f16;
  load.dst = at(Buf::l0a, 0), load.src0 = at(Buf::l1, 256);
  load.n0 = imm(1), load.n1 = imm(1), load.n2 = imm(0);
  add(load, "the source address must be 512-byte aligned (got l1[256])");
  load.src0 = at(Buf::l1, 0), load.ty = Ty::s8, load.flag = true;
  add(load, "transpose needs 2-byte elements (f16 or bf16), not s8");
  load.ty = Ty::f32, load.flag = false;
  add(load, "load_cbuf_to_ca takes f16, bf16 or s8 elements, not f32");

  add(mad(Ty::f16, 512, 0, 0, 16, 16, 16, true),
      "the C address must be 1024-byte aligned (got l0c[512])");
  add(mad(Ty::f16, 0, 0, 256, 16, 16, 16, true),
      "the B address must be 512-byte aligned (got l0b[256])");
  add(mad(Ty::f16, 0, 0, 0, 20, 16, 16, true), "m must be a multiple of 16 (got 20)");
  add(mad(Ty::f16, 0, 0, 0, 16, 16, 40, true), "n must be a multiple of 16 (got 40)");
  add(mad(Ty::s8, 0, 0, 0, 16, 16, 16, true), "k must be a multiple of 32 for s8 (got 16)");
  add(mad(Ty::f16, 0, 0, 0, 16, 8, 16, true),
      "k must be a multiple of 16 for 2-byte elements (got 8)");
  add(mad(Ty::f16, 0, 0, 0, 0, 16, 16, true), "m must be in [1, 4095] (got 0)");
  add(mad(Ty::f32, 0, 0, 0, 16, 16, 16, true), "mad takes f16, bf16 or s8 elements, not f32");

  Instr fix;
  fix.op = Op::fixpipe, fix.dst = at(Buf::gm, 3), fix.src0 = at(Buf::l0c, 1000);
  fix.n0 = imm(16), fix.n1 = imm(16), fix.n2 = imm(64);
  add(fix, "the source address must be 1024-byte aligned (got l0c[1000])");
  fix.src0 = at(Buf::l0c, 0), fix.n1 = imm(24);
  add(fix, "n must be a multiple of 16 (got 24)");
  Instr cc;
  cc.op = Op::copy_matrix_cc_to_ubuf, cc.conv = Conv::f322bf16;
  cc.dst = at(Buf::ub, 0), cc.src0 = at(Buf::l0c, 0);
  cc.n0 = imm(1), cc.n1 = imm(1);
  add(cc, "copy_matrix_cc_to_ubuf converts with conv none, f322f16 or req8, not f322bf16");
  Instr relu_raw = cc;
  relu_raw.conv = Conv::none, relu_raw.flag = true;
  add(relu_raw, "relu=1 needs a conversion (f322f16, f322bf16 or req8), not conv=none");
  Instr req = cc;
  req.conv = Conv::req8, req.b = imm(63);
  add(req, "shift must be in [0, 62] (got 63)");
  req.b = imm(0), req.blk[0] = imm(int64_t(1) << 31);
  add(req, "mul must be in [-2147483648, 2147483647] (got 2147483648)");
  req.blk[0] = imm(1), req.dst = at(Buf::ub, 8);
  add(req, "the destination address must be 16-byte aligned (got ub[8])");
  Instr fix_unaligned_ok = req;  // a 16-byte aligned destination passes with req8 only
  fix_unaligned_ok.dst = at(Buf::ub, 16);
  CHECK(error_of(fix_unaligned_ok) == "");
  fix_unaligned_ok.conv = Conv::f322f16;
  add(fix_unaligned_ok, "the destination address must be 32-byte aligned (got ub[16])");
  Instr reg = vec(Op::vadd, Ty::f16, 0, 0, 0, 1);
  reg.src1.at = {3, 64};
  add(reg, "x3 was not resolved");

  for (const Case& c : cases) {
    INFO(c.message);
    CHECK_THAT(error_of(c.in), Catch::StartsWith(kWho + ": ") && Catch::Contains(c.message));
  }

  // And what passes: GM unaligned, L0C at a 1024 multiple, zero gaps and strides.
  CHECK(error_of(copy(Op::copy_ubuf_to_gm, at(Buf::gm, 5), at(Buf::ub, 32), 4095, 65535, 65535,
                      65535)) == "");
  CHECK(error_of(mad(Ty::s8, 1024, 512, 512, 16, 32, 16, false)) == "");
  Instr zero = vec(Op::vadd, Ty::s32, 0, 0, 0, 255);
  strides(zero, 0, 0, 0, 0, 0, 0);
  CHECK(error_of(zero) == "");
  fix.n1 = imm(16), fix.conv = Conv::f322bf16;
  CHECK(error_of(fix) == "");
  Instr mask;
  mask.op = Op::set_vector_mask, mask.a = imm(-1), mask.b = imm(-1);
  CHECK(error_of(mask) == "");
}

TEST_CASE("davinci accesses: exact ranges, runs merged, appended after what was there", "[unit]") {
  // Contiguous: one range per operand; src1 right below src0 merges with it.
  const Instr v = vec(Op::vadd, Ty::f16, 0, 2048, 1024, 4);
  CHECK(same(sorted_accesses(v), {{Buf::ub, 1024, 3072, false}, {Buf::ub, 0, 1024, true}}));
  const Instr v2 = vec(Op::vmul, Ty::f32, 8192, 0, 4096, 2);
  CHECK(
      same(sorted_accesses(v2),
           {{Buf::ub, 0, 512, false}, {Buf::ub, 4096, 4608, false}, {Buf::ub, 8192, 8704, true}}));
  // Strided: dst every other block (16 single blocks), src0's iterations apart, src1 packed
  // rep < 8 (iterations overlap: one range).
  Instr s = vec(Op::vadd, Ty::f32, 0, 4096, 8192, 2);
  strides(s, 2, 1, 1, 16, 10, 4);
  std::vector<Range> want;
  for (int r = 0; r < 2; ++r)
    for (int j = 0; j < 8; ++j) {
      const uint64_t lo = uint64_t((r * 16 + j * 2) * 32);
      want.push_back({Buf::ub, lo, lo + 32, true});
    }
  want.push_back({Buf::ub, 4096, 4096 + 256, false});
  want.push_back({Buf::ub, 4096 + 320, 4096 + 576, false});
  want.push_back({Buf::ub, 8192, 8192 + 384, false});
  std::sort(want.begin(), want.end(), [](const Range& a, const Range& b) {
    return std::tie(a.buf, a.write, a.lo) < std::tie(b.buf, b.write, b.lo);
  });
  CHECK(same(sorted_accesses(s), want));
  // A block stride of 0: one block per iteration.
  Instr z = vec(Op::vabs, Ty::f16, 0, 4096, 0, 3);
  strides(z, 0, 1, 1, 1, 8, 8);
  CHECK(same(sorted_accesses(z), {{Buf::ub, 4096, 4096 + 768, false}, {Buf::ub, 0, 96, true}}));
  // Copies with gaps: a range per burst on the gapped side.
  const Instr c = copy(Op::copy_gm_to_cbuf, at(Buf::l1, 64), at(Buf::gm, 1000), 3, 2, 0, 1);
  CHECK(same(sorted_accesses(c), {{Buf::gm, 1000, 1192, false},
                                  {Buf::l1, 64, 128, true},
                                  {Buf::l1, 160, 160 + 64, true},
                                  {Buf::l1, 256, 256 + 64, true}}));
  // mad with init: C only written.
  CHECK(same(
      sorted_accesses(mad(Ty::f16, 0, 512, 0, 32, 32, 16, true)),
      {{Buf::l0a, 512, 512 + 2048, false}, {Buf::l0b, 0, 1024, false}, {Buf::l0c, 0, 2048, true}}));
  // Masks: only the blocks holding a selected element. The low 16 f32 elements: blocks 0 and 1
  // of each iteration; elements 8-15 and 40-47: blocks 1 and 5; none: nothing.
  const Instr t = vec(Op::vadd, Ty::f32, 0, 4096, 8192, 2);
  CHECK(same(sorted_accesses(t, {0xffff, 0}), {{Buf::ub, 4096, 4096 + 64, false},
                                               {Buf::ub, 4096 + 256, 4096 + 320, false},
                                               {Buf::ub, 8192, 8192 + 64, false},
                                               {Buf::ub, 8192 + 256, 8192 + 320, false},
                                               {Buf::ub, 0, 64, true},
                                               {Buf::ub, 256, 320, true}}));
  std::vector<Range> blocks;
  for (uint64_t base : {4096u, 8192u, 0u})
    for (uint64_t r = 0; r < 2; ++r)
      for (uint64_t j : {1u, 5u})
        blocks.push_back(
            {Buf::ub, base + r * 256 + j * 32, base + r * 256 + j * 32 + 32, base == 0});
  std::sort(blocks.begin(), blocks.end(), [](const Range& a, const Range& b) {
    return std::tie(a.buf, a.write, a.lo) < std::tie(b.buf, b.write, b.lo);
  });
  CHECK(same(sorted_accesses(t, {0xff00ULL | 0xff00ULL << 32, 0}), blocks));
  CHECK(sorted_accesses(t, {0, 0}).empty());
  // Appends: what the vector held stays, first.
  std::vector<Range> out = {{Buf::gm, 5, 6, true}};
  accesses(v, out, kFullMask);
  REQUIRE(out.size() == 3);
  CHECK((out[0].buf == Buf::gm && out[0].lo == 5 && out[0].hi == 6));
  // Ops without data: nothing.
  Instr mask;
  mask.op = Op::set_vector_mask;
  CHECK(sorted_accesses(mask).empty());
  CHECK(work(mask) == 0);
}

TEST_CASE("davinci resolve: every register operand becomes its value plus the immediate",
          "[unit]") {
  int64_t regs[kRegs] = {};
  for (int i = 0; i < kRegs; ++i) regs[i] = 1000 * i;
  Instr in = vec(Op::vadds, Ty::f32, 0, 0, 0, 1);
  in.dst.at = {3, 64}, in.src0.at = {4, -32}, in.src1.at = {-1, 96};
  in.n0 = {5, 1}, in.n1 = {6, 0}, in.n2 = {7, 2}, in.n3 = {8, 3};
  in.a = {9, 0}, in.b = {10, 5};
  in.blk[1] = {11, 1}, in.rep[2] = {12, -8};
  const Instr r = resolve(in, regs);
  CHECK(r.dst.at == Val{-1, 3064});
  CHECK(r.src0.at == Val{-1, 3968});
  CHECK(r.src1.at == Val{-1, 96});
  CHECK((r.n0 == Val{-1, 5001} && r.n1 == Val{-1, 6000} && r.n2 == Val{-1, 7002} &&
         r.n3 == Val{-1, 8003}));
  CHECK((r.a == Val{-1, 9000} && r.b == Val{-1, 10005}));
  CHECK((r.blk[0] == Val{-1, 1} && r.blk[1] == Val{-1, 11001} && r.rep[2] == Val{-1, 11992}));
  CHECK((r.op == in.op && r.ty == in.ty && r.dst.buf == in.dst.buf));
}
