// The two models of the DaVinci cube unit behind the unit-model interface: the RTL model
// registered as davinci.cube (rtl/cube/cube_rtl.cpp, found by name as the core will find it)
// and the formula (models/npu_davinci/cube_unit.cpp, CubeFormula), driven by the same owner loop
// on the same random s8 mads, must report the same next, read and done cycles, mad by mad; the
// RTL's C must be the ISA's mad (isa::davinci::execute on zZ / zN / NZ buffers) bit for bit on
// the DaVinci cube's 16 x 32 fractal, and a plain int32 reference on the scaled-down variants.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "isa/davinci/semantics.h"
#include "models/core/memory.h"
#include "models/core/params.h"
#include "models/core/random.h"
#include "models/core/unit_model.h"
#include "models/npu_davinci/cube_unit.h"
#include "rtl/cube/harness.h"
#include "tests/cosim/drive.h"
#include "tests/support.h"

using xpusim::davinci::CubeConfig;
using xpusim::davinci::CubeModel;
using xpusim::davinci::CubeOp;
using xpusim::davinci::CubeResult;
using xpusim::isa::davinci::Ty;
using xpusim::rtl::CubeHarness;
using xpusim::rtl::CubeVariant;
using Event = CubeModel::Event;
using Rng = xpusim::SplitMix64;

namespace {

// A mad and the cycle its operands are ready.
struct Planned {
  CubeOp op;
  uint64_t ready = 0;
};

uint8_t random_byte(Rng& rng) {
  // Mostly uniform, the extremes often.
  static const uint8_t extremes[] = {0x80, 0x7f, 0x00, 0xff, 0x01};
  return rng.range(0, 3) == 0 ? extremes[rng.range(0, 4)] : uint8_t(rng.next());
}

uint32_t random_c(Rng& rng) {
  // Small, full-range, or next to the ends so that the sum wraps.
  switch (rng.range(0, 3)) {
    case 0:
      return uint32_t(int32_t(rng.range(-1000, 1000)));
    case 1:
      return uint32_t(rng.next());
    case 2:
      return uint32_t(INT32_MAX - rng.range(0, 1 << 20));
    default:
      return uint32_t(INT32_MIN + rng.range(0, 1 << 20));
  }
}

// An s8 mad of m x k x n fractals of `rows` x `k0`, with random operands; with init, C is
// sometimes left out (the unit does not read it).
CubeOp random_op(Rng& rng, int rows, int k0, int m, int k, int n, bool init) {
  CubeOp op;
  op.ty = Ty::s8;
  op.m = m;
  op.k = k;
  op.n = n;
  op.init = init;
  const size_t M = size_t(rows * m), K = size_t(k0 * k), N = size_t(rows * n);
  op.a.resize(M * K);
  op.b.resize(K * N);
  for (uint8_t& x : op.a) x = random_byte(rng);
  for (uint8_t& x : op.b) x = random_byte(rng);
  if (!init || rng.range(0, 1)) {
    op.c.resize(M * N);
    for (uint32_t& x : op.c) x = random_c(rng);
  }
  return op;
}

// Sizes mostly 1..4 fractals each, now and then one dimension up to 9; init one time in four.
CubeOp random_op(Rng& rng, int rows, int k0) {
  int d[3] = {rng.range(1, 4), rng.range(1, 4), rng.range(1, 4)};
  if (rng.range(0, 7) == 0) d[rng.range(0, 2)] = rng.range(5, 9);
  return random_op(rng, rows, k0, d[0], d[1], d[2], rng.range(0, 3) == 0);
}

// C by a plain loop: s8 products summed into C (0 with init) modulo 2^32.
std::vector<uint32_t> plain_c(const CubeOp& op, int rows, int k0) {
  const size_t M = size_t(rows * op.m), K = size_t(k0 * op.k), N = size_t(rows * op.n);
  std::vector<uint32_t> c(M * N);
  for (size_t i = 0; i < M; ++i)
    for (size_t j = 0; j < N; ++j) {
      uint32_t acc = op.init ? 0 : op.c[i * N + j];
      for (size_t x = 0; x < K; ++x)
        acc += uint32_t(int32_t(int8_t(op.a[i * K + x])) * int32_t(int8_t(op.b[x * N + j])));
      c[i * N + j] = acc;
    }
  return c;
}

// C by the ISA's mad on the DaVinci fractal (16 x 32 s8): A laid out in L0A as zZ, B in L0B as
// zN, C in L0C as NZ (isa/davinci/instr.h), isa::davinci::execute, C read back.
std::vector<uint32_t> isa_c(const CubeOp& op) {
  using namespace xpusim::isa::davinci;
  const size_t M = size_t(16 * op.m), K = size_t(32 * op.k), N = size_t(16 * op.n);
  xpusim::ByteStore gm("gm", 1024), l1("l1", 1024), ub("ub", 1024);
  xpusim::ByteStore l0a("l0a", 1 << 20), l0b("l0b", 1 << 20), l0c("l0c", 1 << 22);
  std::vector<uint8_t> a(M * K), b(K * N);
  for (size_t r = 0; r < M; ++r)
    for (size_t c = 0; c < K; ++c)
      a[((r / 16) * (K / 32) + c / 32) * 512 + (r % 16) * 32 + c % 32] = op.a[r * K + c];
  for (size_t r = 0; r < K; ++r)
    for (size_t c = 0; c < N; ++c)
      b[((r / 32) * (N / 16) + c / 16) * 512 + (c % 16) * 32 + r % 32] = op.b[r * N + c];
  auto nz = [&](size_t r, size_t c) {
    return ((c / 16) * (M / 16) + r / 16) * 256 + (r % 16) * 16 + c % 16;
  };
  std::vector<uint32_t> cz(M * N, 0);
  if (!op.init)
    for (size_t r = 0; r < M; ++r)
      for (size_t c = 0; c < N; ++c) cz[nz(r, c)] = op.c[r * N + c];
  l0a.write(0, a.data(), a.size());
  l0b.write(0, b.data(), b.size());
  l0c.write(0, cz.data(), cz.size() * 4);
  Instr in;
  in.op = Op::mad;
  in.ty = Ty::s8;
  in.dst = {Buf::l0c, {-1, 0}};
  in.src0 = {Buf::l0a, {-1, 0}};
  in.src1 = {Buf::l0b, {-1, 0}};
  in.n0 = {-1, int64_t(M)}, in.n1 = {-1, int64_t(K)}, in.n2 = {-1, int64_t(N)};
  in.flag = op.init;
  check(in, "test");
  Memories mem;
  mem.buf = {&gm, &l1, &l0a, &l0b, &l0c, &ub};
  execute(in, kFullMask, mem, "test");
  l0c.read(0, cz.data(), cz.size() * 4, "test");
  std::vector<uint32_t> out(M * N);
  for (size_t r = 0; r < M; ++r)
    for (size_t c = 0; c < N; ++c) out[r * N + c] = cz[nz(r, c)];
  return out;
}

// The reference C for a variant: the ISA's on the DaVinci fractal, else the plain loop.
std::vector<uint32_t> reference_c(const CubeOp& op, const CubeVariant& v) {
  return v.rows == 16 && v.k0 == 32 ? isa_c(op) : plain_c(op, v.rows, v.k0);
}

// The owner's side of the contract (tests/cosim/drive.h); a model that computes no values gets
// no operands.
std::vector<xpusim::test::Seen<CubeResult>> drive(CubeModel& model,
                                                  const std::vector<Planned>& ops) {
  return xpusim::test::drive(
      model, ops.size(), [&](size_t i) { return ops[i].ready; },
      [&](size_t i) {
        CubeOp op = ops[i].op;
        if (!model.computes_values()) {
          op.a.clear();
          op.b.clear();
          op.c.clear();
        }
        return op;
      });
}

std::unique_ptr<CubeModel> make_rtl(const CubeConfig& config, const std::string& vcd = "",
                                    size_t first = 0, size_t last = SIZE_MAX) {
  static const std::vector<xpusim::ParamSpec> specs = xpusim::davinci::cube_unit_params();
  return xpusim::test::make_rtl<CubeModel, CubeConfig>(specs, xpusim::davinci::kCubeUnit, config,
                                                       vcd, first, last);
}

CubeConfig config_of(const CubeVariant& v) {
  return CubeConfig{v.latency, v.rows, v.k0};
}

// Runs `ops` on the variant's RTL and on the formula and compares them: the formula against its
// own statement, the RTL's events and times against the formula's exactly, its C against the
// reference bit for bit.
void compare(const CubeVariant& v, const std::vector<Planned>& ops) {
  const auto rtl = make_rtl(config_of(v));
  xpusim::davinci::CubeFormula formula(config_of(v));
  CHECK(rtl->computes_values());
  CHECK(rtl->clocked());
  CHECK_FALSE(formula.computes_values());
  const auto got = drive(*rtl, ops);
  const auto want = drive(formula, ops);
  for (size_t i = 0; i < ops.size(); ++i) {
    const CubeOp& op = ops[i].op;
    const uint64_t steps = op.steps();
    INFO("mad " << i << ": ready " << ops[i].ready << ", " << op.m << " x " << op.k << " x " << op.n
                << " fractals" << (op.init ? ", init" : "") << ", " << steps << " steps");
    // The formula, as stated.
    CHECK(want[i].result.times.start == std::max(ops[i].ready, i ? want[i - 1].next : 0));
    CHECK(want[i].next == want[i].result.times.start + steps);
    CHECK(want[i].read == want[i].result.times.start + steps);
    CHECK(want[i].done == want[i].result.times.start + steps + uint64_t(v.latency));
    // The RTL, cycle for cycle.
    CHECK(got[i].next == want[i].next);
    CHECK(got[i].read == want[i].read);
    CHECK(got[i].done == want[i].done);
    CHECK(got[i].result.times.start == want[i].result.times.start);
    CHECK(got[i].result.times.read == want[i].result.times.read);
    CHECK(got[i].result.times.done == want[i].result.times.done);
    // Bit for bit.
    CHECK(got[i].result.c == reference_c(op, v));
  }
}

// `count` random mads per built variant; gap() gives the cycles between one mad's ready and the
// next one's.
template <class Gap>
void compare_random(uint64_t seed, int count, Gap gap) {
  for (const CubeVariant& v : CubeHarness::variants()) {
    const uint64_t s = seed * 1000 + uint64_t(v.rows + v.k0 + v.latency);
    INFO("seed " << s << ", " << v.rows << "x" << v.k0 << " fractals, latency " << v.latency);
    Rng rng(s);
    std::vector<Planned> ops;
    uint64_t ready = 0;
    for (int i = 0; i < count; ++i) {
      ops.push_back({random_op(rng, v.rows, v.k0), ready});
      ready += gap(rng, ops.back().op.steps() + uint64_t(v.latency));
    }
    compare(v, ops);
  }
}

}  // namespace

TEST_CASE("cube: the plain reference is the ISA's mad", "[cosim]") {
  Rng rng(71);
  for (int i = 0; i < 24; ++i) {
    const CubeOp op = random_op(rng, 16, 32);
    INFO("mad " << i << ": " << op.m << " x " << op.k << " x " << op.n);
    CHECK(plain_c(op, 16, 32) == isa_c(op));
  }
  // One by hand: A all -128 and B all -128 over K = 32: 32 * 16384 + C, C = INT32_MAX wraps.
  CubeOp op = random_op(rng, 16, 32, 1, 1, 1, false);
  std::fill(op.a.begin(), op.a.end(), uint8_t(0x80));
  std::fill(op.b.begin(), op.b.end(), uint8_t(0x80));
  std::fill(op.c.begin(), op.c.end(), uint32_t(INT32_MAX));
  CHECK(isa_c(op) == std::vector<uint32_t>(256, uint32_t(INT32_MAX) + 32u * 16384u));
}

TEST_CASE("cube: RTL and formula agree, back to back", "[cosim]") {
  // All ready at once: each mad starts right at the previous one's next.
  compare_random(81, 120, [](Rng&, uint64_t) { return uint64_t(0); });
}

TEST_CASE("cube: RTL and formula agree, with gaps", "[cosim]") {
  // Half back to back, half spaced by up to twice the mad's steps and latency (the pipeline
  // drains and the unit idles, or a mad starts while the one before is still in the pipeline).
  compare_random(82, 120, [](Rng& rng, uint64_t span) {
    return rng.range(0, 1) ? uint64_t(0) : uint64_t(rng.range(1, int(2 * span)));
  });
}

TEST_CASE("cube: RTL and formula agree on single and edge mads", "[cosim]") {
  for (const CubeVariant& v : CubeHarness::variants()) {
    INFO(v.rows << "x" << v.k0 << " fractals, latency " << v.latency);
    Rng rng(83 + uint64_t(v.rows));
    std::vector<Planned> ops;
    uint64_t ready = 0;
    // One step; long along each dimension alone; init with and without C; then the extremes:
    // -128 x -128 everywhere with C next to INT32_MAX (wraps), and 127 x -128 with C next to
    // INT32_MIN.
    const int shapes[][4] = {{1, 1, 1, 0}, {1, 1, 1, 1}, {7, 1, 1, 0}, {1, 7, 1, 0},
                             {1, 1, 7, 1}, {2, 3, 2, 1}, {3, 2, 3, 0}, {1, 12, 1, 0}};
    for (const auto& s : shapes) {
      ops.push_back({random_op(rng, v.rows, v.k0, s[0], s[1], s[2], s[3] != 0), ready});
      ready += uint64_t(v.latency) + 30;  // alone in the unit
    }
    for (int pass = 0; pass < 2; ++pass) {
      CubeOp op = random_op(rng, v.rows, v.k0, 2, 3, 2, false);
      std::fill(op.a.begin(), op.a.end(), uint8_t(pass ? 0x7f : 0x80));
      std::fill(op.b.begin(), op.b.end(), uint8_t(0x80));
      std::fill(op.c.begin(), op.c.end(), uint32_t(pass ? INT32_MIN + 5 : INT32_MAX - 5));
      ops.push_back({op, ready});  // back to back with the one before
    }
    compare(v, ops);
  }
}

TEST_CASE("cube: a VCD of a mad range", "[cosim]") {
  const std::string path = xpusim::test::temp_dir("cube-vcd") + "/cube.vcd";
  const CubeVariant v = CubeHarness::variants().front();
  Rng rng(84);
  std::vector<Planned> ops;
  // Spaced closer than they run, so that the unit is still clocked the cycle after mad 3 is done.
  for (int i = 0; i < 6; ++i) ops.push_back({random_op(rng, v.rows, v.k0), uint64_t(3 * i)});
  const auto rtl = make_rtl(config_of(v), path, 2, 3);
  const auto got = drive(*rtl, ops);
  std::ifstream f(path);
  std::stringstream text;
  text << f.rdbuf();
  const std::string vcd = text.str();
  CHECK(vcd.find("$enddefinitions") != std::string::npos);
  CHECK(vcd.find(" c_we ") != std::string::npos);
  // The window: from mad 2's offer (half-cycle time 2 t) to the cycle after mad 3 is done.
  CHECK(vcd.find(fmt::format("\n#{}\n", 2 * got[2].result.times.start)) != std::string::npos);
  CHECK(vcd.find(fmt::format("\n#{}\n", 2 * got[2].result.times.start - 1)) == std::string::npos);
  CHECK(vcd.find(fmt::format("\n#{}\n", 2 * got[3].done + 1)) != std::string::npos);
  CHECK(vcd.find(fmt::format("\n#{}\n", 2 * got[3].done + 2)) == std::string::npos);
}

TEST_CASE("cube: what the RTL model refuses", "[cosim]") {
  // A fractal or latency not verilated: an Error naming the parameter and the variants built.
  try {
    make_rtl(CubeConfig{15, 16, 32});
    FAIL("no error");
  } catch (const xpusim::Error& e) {
    const std::string what = e.what();
    CHECK(what.find("davinci.cube.model rtl") != std::string::npos);
    CHECK(what.find("16x32 fractals with latency 16") != std::string::npos);
  }
  const CubeVariant v = CubeHarness::variants().front();
  const auto rtl = make_rtl(config_of(v));
  std::vector<Event> ev;
  Rng rng(85);
  CubeOp f16 = random_op(rng, v.rows, v.k0, 1, 1, 1, false);
  f16.ty = Ty::f16;  // the RTL multiplies s8 only
  CHECK_THROWS_AS(rtl->offer(0, f16, 0, 0, ev), xpusim::Error);
  CubeOp empty = random_op(rng, v.rows, v.k0, 1, 1, 1, false);
  empty.a.clear();  // the RTL computes values: it needs the operands
  CHECK_THROWS_AS(rtl->offer(0, empty, 0, 0, ev), xpusim::Error);
  CubeOp no_c = random_op(rng, v.rows, v.k0, 2, 1, 1, false);
  no_c.c.clear();  // accumulating: C is read
  CHECK_THROWS_AS(rtl->offer(0, no_c, 0, 0, ev), xpusim::Error);
  CubeOp other = random_op(rng, v.rows * 2, v.k0, 1, 1, 1, false);  // another fractal's sizes
  CHECK_THROWS_AS(rtl->offer(0, other, 0, 0, ev), xpusim::Error);
  CubeOp big = random_op(rng, v.rows, v.k0, 1, 1, 1, true);
  big.m = 256;
  CHECK_THROWS_AS(rtl->offer(0, big, 0, 0, ev), xpusim::Error);
  CHECK(ev.empty());
  CHECK_FALSE(rtl->busy());
}
