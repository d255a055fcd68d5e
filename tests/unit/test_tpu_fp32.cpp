// The TPU's fp32 operands (isa/tpu/semantics.h: bf16_parts, fp32_products, exec_matmul with
// array.fp32_passes), ldweight's weight tile from the unified buffer (exec_load_weights) and
// activate's sum of accumulator tiles (sum=, gap=). Expected values are computed here from the
// documented definitions, with this file's own bf16 rounding and its own accumulation loops.
#include <catch2/catch.hpp>

#include "tests/support.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "isa/tpu/instr.h"
#include "isa/tpu/semantics.h"
#include "models/core/memory.h"

using namespace xpusim;
using namespace xpusim::isa::tpu;
using Catch::Matchers::Contains;

namespace {

using xpusim::test::error_of;

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// The bf16 nearest to a finite float (ties to even), as a float: this file's own rounding.
float rne_bf16(float x) {
  const uint32_t u = bits_of(x);
  const uint32_t lsb = (u >> 16) & 1u;
  return float_of((u + 0x7fffu + lsb) & 0xffff0000u);
}

bool is_bf16(float x) {
  return (bits_of(x) & 0xffffu) == 0;
}

// A float with a random sign, a full 24-bit significand and an exponent in [lo, hi].
float random_float(std::mt19937& rng, int lo, int hi) {
  const uint32_t sign = rng() & 1u;
  const uint32_t exponent = uint32_t(lo + int(rng() % uint32_t(hi - lo + 1)) + 127);
  const uint32_t mantissa = rng() & 0x7fffffu;
  return float_of(sign << 31 | exponent << 23 | mantissa);
}

// Values in (-1, 1) with full fp32 significands, as fp32 workload inputs are drawn.
std::vector<float> random_matrix(std::mt19937& rng, size_t n) {
  std::vector<float> v(n);
  for (float& x : v) x = random_float(rng, -6, -1);
  return v;
}

// This file's split of x into bf16 parts: each the bf16 nearest to what the earlier ones leave.
std::vector<float> split3(float x) {
  std::vector<float> p;
  float rest = x;
  for (int i = 0; i < 3; ++i) {
    p.push_back(rne_bf16(rest));
    rest -= p.back();
  }
  return p;
}

template <class T>
void put(ByteStore& m, uint64_t addr, const std::vector<T>& v) {
  m.write(addr, v.data(), v.size() * sizeof(T));
}

template <class T>
std::vector<T> get(const ByteStore& m, uint64_t addr, size_t n) {
  std::vector<T> v(n);
  m.read(addr, v.data(), n * sizeof(T), "test");
  return v;
}

// C = A (M x K) x B (K x N) by exec_matmul with fp32 operands (set mode), read back.
std::vector<float> run_fp32_matmul(const std::vector<float>& a, const std::vector<float>& b,
                                   uint32_t M, uint32_t K, uint32_t N, int passes) {
  ByteStore ub("ub", 1 << 20), acc("acc", 1 << 20);
  put(ub, 0x100, a);
  Instr in;
  in.op = Opcode::matmul;
  in.dtype = DType::fp32;
  in.ub = 0x100;
  in.src = 0x40;
  in.rows = M;
  in.k = K;
  in.cols = N;
  in.flags = uint8_t(AccMode::set);
  WeightTile w;
  w.k = K;
  w.n = N;
  w.dtype = DType::fp32;
  w.data.resize(b.size() * 4);
  std::memcpy(w.data.data(), b.data(), w.data.size());
  exec_matmul(in, ub, w, acc, passes, "matmul");
  return get<float>(acc, 0x40, size_t(M) * N);
}

// The passes as docs and semantics.h state them: (part of A, part of B) products, in order.
const std::vector<std::pair<int, int>> kOrder1 = {{0, 0}};
const std::vector<std::pair<int, int>> kOrder3 = {{0, 1}, {1, 0}, {0, 0}};
const std::vector<std::pair<int, int>> kOrder6 = {{0, 2}, {1, 1}, {0, 1}, {2, 0}, {1, 0}, {0, 0}};

// This file's model of the passes: each pass adds its products over K, in K order, into one
// fp32 accumulator per output (the product of two bf16 values is exact in fp32).
std::vector<float> emulate(const std::vector<float>& a, const std::vector<float>& b, uint32_t M,
                           uint32_t K, uint32_t N, const std::vector<std::pair<int, int>>& order) {
  std::vector<std::vector<float>> ap, bp;
  for (float x : a) ap.push_back(split3(x));
  for (float x : b) bp.push_back(split3(x));
  std::vector<float> c(size_t(M) * N, 0.0f);
  for (const auto& [pa, pb] : order)
    for (uint32_t m = 0; m < M; ++m)
      for (uint32_t n = 0; n < N; ++n) {
        float s = c[size_t(m) * N + n];
        for (uint32_t k = 0; k < K; ++k) {
          const float prod = ap[size_t(m) * K + k][size_t(pa)] * bp[size_t(k) * N + n][size_t(pb)];
          s += prod;
        }
        c[size_t(m) * N + n] = s;
      }
  return c;
}

// Exact products in double (a float times a float is exact in double) and sum of |a b|.
struct Exact {
  std::vector<double> c, mag;
};
Exact exact(const std::vector<float>& a, const std::vector<float>& b, uint32_t M, uint32_t K,
            uint32_t N) {
  Exact e{std::vector<double>(size_t(M) * N), std::vector<double>(size_t(M) * N)};
  for (uint32_t m = 0; m < M; ++m)
    for (uint32_t n = 0; n < N; ++n)
      for (uint32_t k = 0; k < K; ++k) {
        const double p = double(a[size_t(m) * K + k]) * double(b[size_t(k) * N + n]);
        e.c[size_t(m) * N + n] += p;
        e.mag[size_t(m) * N + n] += std::fabs(p);
      }
  return e;
}

}  // namespace

TEST_CASE("tpu fp32: bf16_parts of hand-worked values", "[unit]") {
  // A bf16 value is its own first part.
  {
    const Bf16Parts s = bf16_parts(1.5f);
    CHECK((s.p[0] == 1.5f && s.p[1] == 0.0f && s.p[2] == 0.0f));
  }
  // 1 + 2^-10 + 2^-20: 2^-10 is below half a bf16 ulp of 1 (2^-8): p0 = 1; then 2^-10 (the
  // 2^-20 is 2^-10 below it, under its half ulp), then 2^-20.
  {
    const Bf16Parts s = bf16_parts(1.0f + 0x1p-10f + 0x1p-20f);
    CHECK(s.p[0] == 1.0f);
    CHECK(s.p[1] == 0x1p-10f);
    CHECK(s.p[2] == 0x1p-20f);
  }
  // 1 + 2^-8 + 2^-9 rounds up to 1 + 2^-7 (more than half an ulp): the rest is negative.
  {
    const Bf16Parts s = bf16_parts(1.0f + 0x1p-8f + 0x1p-9f);
    CHECK(s.p[0] == 1.0f + 0x1p-7f);
    CHECK(s.p[1] == -0x1p-9f);
    CHECK(s.p[2] == 0.0f);
  }
  // A tie (exactly half an ulp) goes to the even bf16: 1 + 2^-8 -> 1, 1 + 2^-7 + 2^-8 -> 1 + 2^-6.
  {
    const Bf16Parts s = bf16_parts(1.0f + 0x1p-8f);
    CHECK((s.p[0] == 1.0f && s.p[1] == 0x1p-8f && s.p[2] == 0.0f));
    const Bf16Parts t = bf16_parts(1.0f + 0x1p-7f + 0x1p-8f);
    CHECK((t.p[0] == 1.0f + 0x1p-6f && t.p[1] == -0x1p-8f && t.p[2] == 0.0f));
  }
  // Negative values split symmetrically.
  {
    const Bf16Parts s = bf16_parts(-(1.0f + 0x1p-10f + 0x1p-20f));
    CHECK((s.p[0] == -1.0f && s.p[1] == -0x1p-10f && s.p[2] == -0x1p-20f));
  }
}

TEST_CASE("tpu fp32: bf16_parts sum back exactly, are bf16 and shrink by 2^8", "[unit]") {
  std::mt19937 rng(20261202);
  for (int i = 0; i < 100000; ++i) {
    // Exponents well inside the bf16 range: the third part (24 bits below the first) stays
    // a normal number.
    const float x = random_float(rng, -90, 90);
    const Bf16Parts s = bf16_parts(x);
    INFO("x = " << x << " (bits " << bits_of(x) << ")");
    for (float p : s.p) REQUIRE(is_bf16(p));
    // 8 + 8 + 8 significant bits cover fp32's 24: the sum is x, in any order of addition.
    REQUIRE(double(s.p[0]) + double(s.p[1]) + double(s.p[2]) == double(x));
    REQUIRE((s.p[0] + s.p[1]) + s.p[2] == x);
    // Each part is the bf16 nearest to what the earlier ones leave, at most half a bf16 ulp
    // of the earlier one: |p1| <= 2^-8 |p0|, |p2| <= 2^-8 |p1|.
    REQUIRE(s.p[0] == rne_bf16(x));
    REQUIRE(std::fabs(s.p[1]) <= std::ldexp(std::fabs(s.p[0]), -8));
    REQUIRE(std::fabs(s.p[2]) <= std::ldexp(std::fabs(s.p[1]), -8));
    if (s.p[1] == 0.0f) REQUIRE(s.p[2] == 0.0f);
  }
}

TEST_CASE("tpu fp32: fp32_products lists 1, 3 and 6 products grouped by B part", "[unit]") {
  auto pairs = [](int passes) {
    std::vector<std::pair<int, int>> v;
    for (const PartProduct& p : fp32_products(passes)) v.push_back({p.a, p.b});
    return v;
  };
  // The documented order (semantics.h, docs): the smaller products first.
  CHECK(pairs(1) == kOrder1);
  CHECK(pairs(3) == kOrder3);
  CHECK(pairs(6) == kOrder6);
  for (int passes : {1, 3, 6}) {
    INFO(passes << " passes");
    const auto v = pairs(passes);
    // Every product of parts whose orders add up to at most 0, 1 or 2, each once.
    const int max_order = passes == 1 ? 0 : passes == 3 ? 1 : 2;
    std::set<std::pair<int, int>> want;
    for (int a = 0; a <= max_order; ++a)
      for (int b = 0; a + b <= max_order; ++b) want.insert({a, b});
    CHECK(std::set<std::pair<int, int>>(v.begin(), v.end()) == want);
    CHECK(v.size() == want.size());
    // Grouped by B part (one weight load each): a part of B never comes back once left;
    // the groups hold 1, 2, 3 products in turn (the streams the timing charges).
    std::vector<int> groups;
    std::set<int> seen;
    for (size_t i = 0; i < v.size(); ++i) {
      if (i == 0 || v[i].second != v[i - 1].second) {
        CHECK(seen.insert(v[i].second).second);
        groups.push_back(0);
      }
      ++groups.back();
    }
    std::vector<int> want_groups;
    for (int g = 1; g <= max_order + 1; ++g) want_groups.push_back(g);
    CHECK(groups == want_groups);
  }
}

TEST_CASE("tpu fp32: one pass multiplies the operands rounded to bf16", "[unit]") {
  const uint32_t M = 8, K = 40, N = 12;
  std::mt19937 rng(7);
  const std::vector<float> a = random_matrix(rng, M * K), b = random_matrix(rng, K * N);
  const std::vector<float> c = run_fp32_matmul(a, b, M, K, N, 1);
  // Independently: round each operand to bf16, multiply (exact in fp32), add in K order in fp32.
  for (uint32_t m = 0; m < M; ++m)
    for (uint32_t n = 0; n < N; ++n) {
      float s = 0.0f;
      for (uint32_t k = 0; k < K; ++k) s += rne_bf16(a[m * K + k]) * rne_bf16(b[k * N + n]);
      INFO("C[" << m << "][" << n << "]");
      REQUIRE(bits_of(c[m * N + n]) == bits_of(s));
    }
}

TEST_CASE("tpu fp32: 3 and 6 passes add the documented part products, pass after pass", "[unit]") {
  const uint32_t M = 6, K = 33, N = 10;
  std::mt19937 rng(11);
  const std::vector<float> a = random_matrix(rng, M * K), b = random_matrix(rng, K * N);
  for (const auto& [passes, order] :
       {std::pair<int, std::vector<std::pair<int, int>>>{3, kOrder3}, {6, kOrder6}}) {
    INFO(passes << " passes");
    const std::vector<float> c = run_fp32_matmul(a, b, M, K, N, passes);
    const std::vector<float> want = emulate(a, b, M, K, N, order);
    for (size_t i = 0; i < c.size(); ++i) {
      INFO("element " << i);
      REQUIRE(bits_of(c[i]) == bits_of(want[i]));
    }
  }
}

TEST_CASE("tpu fp32: 6 passes are fp32-accurate, 3 within 2^-16, and the errors are ordered",
          "[unit]") {
  const uint32_t M = 16, K = 64, N = 16;
  std::mt19937 rng(2026);
  const std::vector<float> a = random_matrix(rng, M * K), b = random_matrix(rng, K * N);
  const Exact ex = exact(a, b, M, K, N);
  double err[7] = {};
  for (int passes : {1, 3, 6}) {
    const std::vector<float> c = run_fp32_matmul(a, b, M, K, N, passes);
    for (size_t i = 0; i < c.size(); ++i) {
      const double e = std::fabs(double(c[i]) - ex.c[i]);
      err[passes] = std::max(err[passes], e / ex.mag[i]);
      // With |a1| <= 2^-8 |a0| and |a2| <= 2^-16 |a0| (likewise for b), and |a0| <= |a| (1 +
      // 2^-8): 6 passes leave out a1 b2 + a2 b1 + a2 b2 <= 2.1 * 2^-24 |a b|; 3 passes leave
      // out a0 b2 + a1 b1 + a2 b0 and those, <= 3.1 * 2^-16 |a b|. Adding P*K products in fp32
      // (u = 2^-24) errs by at most P*K*u*(1.02 sum |a b|) to first order.
      const double accumulate = double(passes) * K * 0x1p-24 * 1.02 * ex.mag[i];
      INFO(passes << " passes, element " << i << ": error " << e << ", sum |ab| " << ex.mag[i]);
      if (passes == 6) REQUIRE(e <= 2.1 * 0x1p-24 * ex.mag[i] + accumulate);
      if (passes == 3) REQUIRE(e <= 3.1 * 0x1p-16 * ex.mag[i] + accumulate);
      // One pass: each operand rounded to bf16 (relative error <= 2^-9 each).
      if (passes == 1) REQUIRE(e <= 2.01 * 0x1p-9 * ex.mag[i] + accumulate);
    }
  }
  INFO("largest relative errors: 1 pass " << err[1] << ", 3 passes " << err[3] << ", 6 passes "
                                          << err[6]);
  // On random data each pass count gains bits: bf16 (8 bits) < 16 bits < about fp32.
  CHECK(err[6] < err[3]);
  CHECK(err[3] < err[1]);
  CHECK(err[1] > 0x1p-12);
  CHECK(err[3] < 0x1p-15);
  CHECK(err[6] < 0x1p-19);
}

TEST_CASE("tpu fp32: acc mode adds the passes to the accumulators", "[unit]") {
  const uint32_t M = 4, K = 20, N = 8;
  std::mt19937 rng(5);
  const std::vector<float> a = random_matrix(rng, M * K), b = random_matrix(rng, K * N);
  const std::vector<float> prior = random_matrix(rng, M * N);
  ByteStore ub("ub", 1 << 16), acc("acc", 1 << 16);
  put(ub, 0, a);
  put(acc, 0x200, prior);
  Instr in;
  in.op = Opcode::matmul;
  in.dtype = DType::fp32;
  in.ub = 0;
  in.src = 0x200;
  in.rows = M;
  in.k = K;
  in.cols = N;
  in.flags = uint8_t(AccMode::acc);
  WeightTile w{K, N, DType::fp32, std::vector<uint8_t>(K * N * 4)};
  std::memcpy(w.data.data(), b.data(), w.data.size());
  exec_matmul(in, ub, w, acc, 3, "matmul");
  const std::vector<float> c = get<float>(acc, 0x200, M * N);
  // The accumulators start from `prior`, then the three passes add their products.
  std::vector<std::vector<float>> ap, bp;
  for (float x : a) ap.push_back(split3(x));
  for (float x : b) bp.push_back(split3(x));
  for (uint32_t m = 0; m < M; ++m)
    for (uint32_t n = 0; n < N; ++n) {
      float s = prior[m * N + n];
      for (const auto& [pa, pb] : kOrder3)
        for (uint32_t k = 0; k < K; ++k) s += ap[m * K + k][size_t(pa)] * bp[k * N + n][size_t(pb)];
      REQUIRE(bits_of(c[m * N + n]) == bits_of(s));
    }
}

TEST_CASE("tpu fp32: a weight tile of another dtype or shape is an error naming both", "[unit]") {
  ByteStore ub("ub", 1 << 16), acc("acc", 1 << 16);
  put(ub, 0, std::vector<float>(4 * 16, 1.0f));
  Instr in;
  in.op = Opcode::matmul;
  in.dtype = DType::fp32;
  in.rows = 4;
  in.k = 16;
  in.cols = 8;
  WeightTile w{16, 8, DType::bf16, std::vector<uint8_t>(16 * 8 * 2)};
  CHECK(error_of([&] { exec_matmul(in, ub, w, acc, 3, "core 0: matmul (line 3)"); }) ==
        "core 0: matmul (line 3): the weight FIFO head is a 16x8 bf16 tile, the matmul expects "
        "16x8 fp32");
  WeightTile w2{16, 4, DType::fp32, std::vector<uint8_t>(16 * 4 * 4)};
  CHECK(error_of([&] { exec_matmul(in, ub, w2, acc, 3, "mm"); }) ==
        "mm: the weight FIFO head is a 16x4 fp32 tile, the matmul expects 16x8 fp32");
}

TEST_CASE("tpu ldweight: the tile from the UB is rdweight's from DRAM", "[unit]") {
  // The same bytes in the UB (at 0x300) and in DRAM (at 0x9000), rows 40 bytes apart.
  const uint32_t K = 5, N = 7, stride = 40;
  for (DType t : {DType::int8, DType::bf16, DType::fp32}) {
    for (uint8_t transpose : {0, 1}) {
      INFO(dtype_name(t) << (transpose ? " transposed" : ""));
      const uint32_t e = uint32_t(elem_bytes(t));
      std::vector<uint8_t> bytes(4096);
      for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(i * 37 + 11);
      ByteStore ub("ub", 1 << 16), dram("dram", 1 << 20);
      ub.write(0x300, bytes.data(), bytes.size());
      dram.write(0x9000, bytes.data(), bytes.size());
      Instr ld;
      ld.op = Opcode::ldweight;
      ld.ub = 0x300;
      ld.rows = K;
      ld.cols = N;
      ld.dtype = t;
      ld.stride = stride;
      ld.flags = transpose;
      Instr rd = ld;
      rd.op = Opcode::rdweight;
      rd.ub = 0;
      rd.dram = 0x9000;
      const WeightTile a = exec_load_weights(ld, ub, "ldweight");
      const WeightTile b = exec_load_weights(rd, dram, "rdweight");
      CHECK((a.k == K && a.n == N && a.dtype == t));
      CHECK((b.k == K && b.n == N && b.dtype == t));
      REQUIRE(a.data.size() == size_t(K) * N * e);
      CHECK(a.data == b.data);
      // Element (k, n): source row k, element n; transposed, row n, element k.
      for (uint32_t k = 0; k < K; ++k)
        for (uint32_t n = 0; n < N; ++n)
          for (uint32_t i = 0; i < e; ++i) {
            const size_t src = transpose ? size_t(n) * stride + size_t(k) * e + i
                                         : size_t(k) * stride + size_t(n) * e + i;
            REQUIRE(a.data[(size_t(k) * N + n) * e + i] == bytes[src]);
          }
    }
  }
  // A matmul after ldweight computes what it computes after rdweight of the same tile.
  {
    std::mt19937 rng(3);
    const uint32_t M = 3, K2 = 16, N2 = 8;
    const std::vector<float> a = random_matrix(rng, M * K2), b = random_matrix(rng, K2 * N2);
    ByteStore ub("ub", 1 << 16), dram("dram", 1 << 16), acc1("acc", 1 << 16), acc2("acc", 1 << 16);
    put(ub, 0, a);
    put(ub, 0x1000, b);
    put(dram, 0x40, b);
    Instr ld;
    ld.op = Opcode::ldweight;
    ld.ub = 0x1000;
    ld.rows = K2;
    ld.cols = N2;
    ld.dtype = DType::fp32;
    ld.stride = N2 * 4;
    Instr rd = ld;
    rd.op = Opcode::rdweight;
    rd.ub = 0;
    rd.dram = 0x40;
    Instr mm;
    mm.op = Opcode::matmul;
    mm.dtype = DType::fp32;
    mm.rows = M;
    mm.k = K2;
    mm.cols = N2;
    exec_matmul(mm, ub, exec_load_weights(ld, ub, "ldweight"), acc1, 6, "matmul");
    exec_matmul(mm, ub, exec_load_weights(rd, dram, "rdweight"), acc2, 6, "matmul");
    const std::vector<float> c1 = get<float>(acc1, 0, M * N2), c2 = get<float>(acc2, 0, M * N2);
    CHECK(c1 == c2);
    CHECK(c1 == emulate(a, b, M, K2, N2, kOrder6));
  }
}

TEST_CASE("tpu ldweight: reads outside the UB or never written name the instruction", "[unit]") {
  ByteStore ub("ub", 4096);
  std::vector<uint8_t> bytes(4096, 1);
  ub.write(0, bytes.data(), 2048);  // the upper half never written
  Instr ld;
  ld.op = Opcode::ldweight;
  ld.rows = 16;
  ld.cols = 16;
  ld.dtype = DType::bf16;
  ld.stride = 32;
  // Rows 16 .. : 0xf00 + 15 * 32 + 32 = 0x10e0 > 4096.
  ld.ub = 0xf00;
  std::string e = error_of([&] { exec_load_weights(ld, ub, "core 0: ldweight (line 4)"); });
  CHECK_THAT(e, Contains("core 0: ldweight (line 4)") && Contains("outside ub"));
  // Transposed, the source rows are the n columns: k = 4, n = 16 bf16 with rows 300 bytes
  // apart reaches 15 * 300 + 4 * 2 = 4508 > 4096 bytes; untransposed, 4 rows of 32 bytes end at
  // 3 * 300 + 32 = 932 (inside, and written).
  ld.ub = 0;
  ld.rows = 4;
  ld.stride = 300;
  CHECK(exec_load_weights(ld, ub, "ldweight").data.size() == 4 * 16 * 2);
  ld.flags = 1;
  e = error_of([&] { exec_load_weights(ld, ub, "core 0: ldweight (line 5)"); });
  CHECK_THAT(e, Contains("core 0: ldweight (line 5)") && Contains("outside ub"));
  ld.rows = 16;
  // Inside the UB but never written.
  ld.flags = 0;
  ld.stride = 32;
  ld.ub = 2048 - 64;
  e = error_of([&] { exec_load_weights(ld, ub, "core 0: ldweight (line 6)"); });
  CHECK_THAT(e, Contains("core 0: ldweight (line 6)"));
  // And the tile at 0 is fine.
  ld.ub = 0;
  CHECK(exec_load_weights(ld, ub, "ldweight").data == std::vector<uint8_t>(16 * 16 * 2, 1));
}

namespace {

Instr activate(DType t, uint32_t rows, uint32_t cols, uint32_t sum, uint32_t gap) {
  Instr in;
  in.op = Opcode::activate;
  in.dtype = t;
  in.src = 0x100;
  in.ub = 0x40;
  in.rows = rows;
  in.cols = cols;
  in.k = sum;
  in.stride = gap;
  in.imm = 1;
  in.shift = 0;
  in.func = uint8_t(ActFunc::none);
  return in;
}

}  // namespace

TEST_CASE("tpu activate: the tiles it sums and the end of their range", "[unit]") {
  // 3 x 5 fp32 accumulators = 60 bytes per tile.
  CHECK(activate_tiles(activate(DType::bf16, 3, 5, 0, 0)) == 1);
  CHECK(activate_tiles(activate(DType::bf16, 3, 5, 1, 512)) == 1);
  CHECK(activate_tiles(activate(DType::bf16, 3, 5, 4, 512)) == 4);
  CHECK(activate_acc_end(activate(DType::bf16, 3, 5, 0, 0)) == 0x100 + 60);
  CHECK(activate_acc_end(activate(DType::bf16, 3, 5, 1, 512)) == 0x100 + 60);
  CHECK(activate_acc_end(activate(DType::bf16, 3, 5, 4, 512)) == 0x100 + 3 * 512 + 60);
}

TEST_CASE("tpu activate: int8 sums wrap like int32, then requantise", "[unit]") {
  const uint32_t rows = 2, cols = 3, gap = 64;
  ByteStore acc("acc", 4096), ub("ub", 4096);
  // Three tiles 64 bytes apart (the 24 bytes between them are never read).
  const std::vector<int32_t> t0 = {INT32_MAX, 100, -7, 1000, INT32_MIN, 40};
  const std::vector<int32_t> t1 = {1, 20, -8, -500, -1, 0};
  const std::vector<int32_t> t2 = {5, -300, 3, 24, 10, -41};
  put(acc, 0x100, t0);
  put(acc, 0x100 + gap, t1);
  put(acc, 0x100 + 2 * gap, t2);
  SECTION("two tiles, mult 1 shift 0: saturate only") {
    exec_activate(activate(DType::int8, rows, cols, 2, gap), acc, ub, "activate");
    // INT32_MAX + 1 wraps to INT32_MIN -> -128; 120; -15; 500 -> 127; INT32_MIN - 1 wraps to
    // INT32_MAX -> 127; 40.
    CHECK(get<int8_t>(ub, 0x40, 6) == std::vector<int8_t>{-128, 120, -15, 127, 127, 40});
  }
  SECTION("three tiles, mult 3 shift 4: round half away from zero") {
    Instr in = activate(DType::int8, rows, cols, 3, gap);
    in.imm = 3;
    in.shift = 4;
    exec_activate(in, acc, ub, "activate");
    // Sums (int32, wrapping): INT32_MAX + 1 + 5 = INT32_MIN + 5 -> -128; -180 * 3 / 16 =
    // -33.75 -> -34; -12 * 3 / 16 = -2.25 -> -2; 524 * 3 / 16 = 98.25 -> 98; INT32_MIN - 1 + 10
    // = INT32_MIN + 9 -> -128; -1 * 3 / 16 = -0.1875 -> 0.
    CHECK(get<int8_t>(ub, 0x40, 6) == std::vector<int8_t>{-128, -34, -2, 98, -128, 0});
  }
  SECTION("relu after the sum") {
    Instr in = activate(DType::int8, rows, cols, 2, gap);
    in.func = uint8_t(ActFunc::relu);
    exec_activate(in, acc, ub, "activate");
    // -15 -> 0 and INT32_MIN -> 0 (ReLU of the requantised sum; 127 stays).
    CHECK(get<int8_t>(ub, 0x40, 6) == std::vector<int8_t>{0, 120, 0, 127, 127, 40});
  }
}

TEST_CASE("tpu activate: bf16 and fp32 outputs of summed fp32 tiles", "[unit]") {
  const uint32_t rows = 1, cols = 4, gap = 16;  // tiles side by side (16 bytes each)
  ByteStore acc("acc", 4096), ub("ub", 4096);
  const std::vector<float> t0 = {1.0f, 0x1p24f, -2.5f, 3.0f};
  const std::vector<float> t1 = {0x1p-9f, 1.0f, 0.5f, -7.0f};
  const std::vector<float> t2 = {0x1p-9f, 1.0f, 0.25f, 1.0f};
  put(acc, 0x100, t0);
  put(acc, 0x110, t1);
  put(acc, 0x120, t2);
  // fp32, 3 tiles, in tile order: 1 + 2^-9 + 2^-9 = 1 + 2^-8 exactly; 2^24 + 1 = 2^24 (ties to
  // even), + 1 = 2^24 again; -2.5 + 0.5 + 0.25 = -1.75; 3 - 7 + 1 = -3.
  exec_activate(activate(DType::fp32, rows, cols, 3, gap), acc, ub, "activate");
  CHECK(get<float>(ub, 0x40, 4) == std::vector<float>{1.0f + 0x1p-8f, 0x1p24f, -1.75f, -3.0f});
  // bf16, 2 tiles: 1 + 2^-9 -> 1 (below half an ulp); 2^24 + 1 -> 2^24; -2; -4: bf16 bits.
  exec_activate(activate(DType::bf16, rows, cols, 2, gap), acc, ub, "activate");
  CHECK(get<uint16_t>(ub, 0x40, 4) == std::vector<uint16_t>{0x3f80, 0x4b80, 0xc000, 0xc080});
  // bf16, 3 tiles: 1 + 2^-8 is a tie -> 1 (even); 2^24; -1.75 -> 0xbfe0; -3 -> 0xc040.
  exec_activate(activate(DType::bf16, rows, cols, 3, gap), acc, ub, "activate");
  CHECK(get<uint16_t>(ub, 0x40, 4) == std::vector<uint16_t>{0x3f80, 0x4b80, 0xbfe0, 0xc040});
  // sum 0 and 1 read only the first tile.
  for (uint32_t sum : {0u, 1u}) {
    exec_activate(activate(DType::fp32, rows, cols, sum, gap), acc, ub, "activate");
    CHECK(get<float>(ub, 0x40, 4) == t0);
  }
}

TEST_CASE("tpu vector add src_fp32=1: fp32 sources added in fp32, the sum rounded to bf16",
          "[unit]") {
  // Partial sums of two cores (fp32, 2 x 3), as a GEMM whose K steps the cores shared leaves
  // them.
  ByteStore ub("ub", 4096);
  const std::vector<float> a = {1.0f, 0x1p24f, -2.5f, 0x1p-9f, 3.0f, 100.0f};
  const std::vector<float> b = {0x1p-9f, 1.0f, 0.25f, 0x1p-9f, -7.0f, 0.375f};
  put(ub, 0x100, a);
  put(ub, 0x200, b);
  Instr in;
  in.op = Opcode::vector;
  in.func = uint8_t(VecFunc::add);
  in.dtype = DType::bf16;
  in.flags = 2;
  in.src = 0x100;
  in.src2 = 0x200;
  in.ub = 0x300;
  in.rows = 2;
  in.cols = 3;
  CHECK(vector_src_bytes(in) == 24);
  CHECK(vector_src2_bytes(in) == 24);
  CHECK(vector_dst_bytes(in) == 12);
  exec_vector(in, ub, "vector");
  // 1 + 2^-9 -> 1 (below half a bf16 ulp); 2^24 + 1 -> 2^24; -2.25 and 2^-8 exactly; -4;
  // 100.375 -> 100.5 (bf16 steps by 0.5 there: 100 is 0x42c8, 100.5 0x42c9, the nearer).
  CHECK(get<uint16_t>(ub, 0x300, 6) ==
        std::vector<uint16_t>{0x3f80, 0x4b80, 0xc010, 0x3b80, 0xc080, 0x42c9});
  // In place (the result over the first source), as the lowering does it.
  in.ub = 0x100;
  exec_vector(in, ub, "vector");
  CHECK(get<uint16_t>(ub, 0x100, 6) ==
        std::vector<uint16_t>{0x3f80, 0x4b80, 0xc010, 0x3b80, 0xc080, 0x42c9});
  // An int8 result of fp32 sources has no scale to requantise with.
  in.dtype = DType::int8;
  CHECK_THAT(error_of([&] { exec_vector(in, ub, "vector"); }),
             Contains("fp32 sources (flag 2) give a bf16 result, not int8"));
}

TEST_CASE("tpu activate: a sum reaching past the accumulators is an error", "[unit]") {
  ByteStore acc("acc", 0x200), ub("ub", 4096);
  put(acc, 0, std::vector<float>(0x200 / 4, 1.0f));
  // Tiles of 2 x 4 fp32 (32 bytes) at 0x100, 0x180, 0x200: the third is outside.
  Instr in = activate(DType::bf16, 2, 4, 3, 0x80);
  CHECK_THAT(error_of([&] { exec_activate(in, acc, ub, "core 0: activate (line 9)"); }),
             Contains("core 0: activate (line 9)") && Contains("outside acc"));
  in.k = 2;  // two tiles fit
  exec_activate(in, acc, ub, "activate");
  CHECK(get<uint16_t>(ub, 0x40, 8) == std::vector<uint16_t>(8, 0x4000));  // 1 + 1 = 2
}

TEST_CASE("tpu activate: bias=1 adds the bias row to every row before the ReLU and the rounding",
          "[unit]") {
  const uint32_t rows = 2, cols = 3;
  ByteStore acc("acc", 4096), ub("ub", 4096);
  put(acc, 0x100, std::vector<float>{1.0f, -2.0f, 0.25f, 4.0f, 0.5f, -1.0f});
  SECTION("fp32: a row of fp32 values") {
    put(ub, 0x200, std::vector<float>{0.5f, 1.0f, -0.25f});
    Instr in = activate(DType::fp32, rows, cols, 0, 0);
    in.flags = 1;
    in.src2 = 0x200;
    CHECK(activate_bias_bytes(in) == 12);
    exec_activate(in, acc, ub, "activate");
    CHECK(get<float>(ub, 0x40, 6) == std::vector<float>{1.5f, -1.0f, 0.0f, 4.5f, 1.5f, -1.25f});
    in.func = uint8_t(ActFunc::relu);  // -1 + ... below 0 after the bias: 0
    exec_activate(in, acc, ub, "activate");
    CHECK(get<float>(ub, 0x40, 6) == std::vector<float>{1.5f, 0.0f, 0.0f, 4.5f, 1.5f, 0.0f});
  }
  SECTION("bf16: a row of bf16 values, added in fp32 and rounded once") {
    // 2^-9 on 1.0 alone rounds away; 1 + 2^-9 + 2^-9 = 1 + 2^-8, a tie that stays 1 (even),
    // while the bias 2^-8 + 2^-9 makes 1 + 2^-8 + 2^-9 -> 1 + 2^-7.
    put(acc, 0x100, std::vector<float>{1.0f + 0x1p-9f, 1.0f, -3.0f});
    put(ub, 0x200, std::vector<uint16_t>{0x3b00, 0x3bc0, 0x4040});  // 2^-9, 2^-8 + 2^-9, 3
    Instr in = activate(DType::bf16, 1, cols, 0, 0);
    in.flags = 1;
    in.src2 = 0x200;
    CHECK(activate_bias_bytes(in) == 6);
    exec_activate(in, acc, ub, "activate");
    CHECK(get<uint16_t>(ub, 0x40, 3) == std::vector<uint16_t>{0x3f80, 0x3f81, 0x0000});
  }
  SECTION("no bias reads nothing of the UB") {
    CHECK(activate_bias_bytes(activate(DType::bf16, rows, cols, 0, 0)) == 0);
  }
}
