// The DaVinci cube unit's formula model (models/npu_davinci/cube_unit.h): one fractal step per
// cycle from start = max(now, the previous mad's next), next and read after the m n k steps,
// done latency.cube cycles later; its parameters; and the owner's helpers that take a mad's
// operands from L0A, L0B and L0C and write its C back, against the ISA's semantics. The RTL's
// agreement with the formula is tests/cosim/test_cube_cosim.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "isa/davinci/semantics.h"
#include "models/core/memory.h"
#include "models/core/numeric.h"
#include "models/core/params.h"
#include "models/core/random.h"
#include "models/npu_davinci/cube_unit.h"

using xpusim::davinci::CubeConfig;
using xpusim::davinci::CubeFormula;
using xpusim::davinci::CubeOp;
using xpusim::isa::davinci::Buf;
using xpusim::isa::davinci::Instr;
using xpusim::isa::davinci::Ty;
using Event = xpusim::davinci::CubeModel::Event;

namespace {

CubeOp op_of(Ty ty, int m, int k, int n, bool init = false) {
  CubeOp op;
  op.ty = ty;
  op.m = m;
  op.k = k;
  op.n = n;
  op.init = init;
  return op;
}

// Offers one mad at `now` and returns its (start, next, read, done).
std::vector<uint64_t> offer(CubeFormula& f, uint64_t id, const CubeOp& op, uint64_t now) {
  std::vector<Event> ev;
  f.offer(id, op, now, now, ev);
  REQUIRE(ev.size() == 3);
  CHECK(ev[0].kind == Event::next);
  CHECK(ev[1].kind == Event::read);
  CHECK(ev[2].kind == Event::done);
  for (const Event& e : ev) CHECK(e.id == id);
  CHECK(ev[2].result.times.read == ev[1].cycle);
  CHECK(ev[2].result.times.done == ev[2].cycle);
  CHECK(ev[2].result.c.empty());
  return {ev[2].result.times.start, ev[0].cycle, ev[1].cycle, ev[2].cycle};
}

uint32_t float_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
float bits_float(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

}  // namespace

TEST_CASE("cube formula: one fractal step per cycle, done latency.cube after the last", "[unit]") {
  CubeFormula f(CubeConfig{16});
  CHECK_FALSE(f.computes_values());
  CHECK_FALSE(f.clocked());
  CHECK_FALSE(f.busy());
  // 2 x 3 x 4 fractals at 100: 24 steps in cycles 100..123; next and read at 124, done 140.
  CHECK(offer(f, 0, op_of(Ty::f16, 2, 3, 4), 100) == std::vector<uint64_t>{100, 124, 124, 140});
  // Offered while the loop is busy (before its next): it starts at 124, overlapping the first
  // mad's pipeline.
  CHECK(offer(f, 1, op_of(Ty::s8, 1, 1, 1), 101) == std::vector<uint64_t>{124, 125, 125, 141});
  // Right at the next.
  CHECK(offer(f, 2, op_of(Ty::bf16, 1, 2, 1, true), 125) ==
        std::vector<uint64_t>{125, 127, 127, 143});
  // After an idle stretch.
  CHECK(offer(f, 3, op_of(Ty::s8, 4, 4, 4), 500) == std::vector<uint64_t>{500, 564, 564, 580});
  // The largest mad: 255^3 steps.
  CHECK(offer(f, 4, op_of(Ty::f16, 255, 255, 255), 600) ==
        std::vector<uint64_t>{600, 600 + 16581375, 600 + 16581375, 616 + 16581375});
}

TEST_CASE("cube formula: the steps are the M pipe's occupancy, whatever the type", "[unit]") {
  // isa::davinci::work() counts a mad's fractal steps for the core; the formula takes the same.
  for (Ty ty : {Ty::f16, Ty::bf16, Ty::s8}) {
    const int k0 = xpusim::davinci::cube_k0(ty);
    CHECK(k0 == (ty == Ty::s8 ? 32 : 16));
    Instr in;
    in.op = xpusim::isa::davinci::Op::mad;
    in.ty = ty;
    in.n0 = {-1, 48}, in.n1 = {-1, 5 * k0}, in.n2 = {-1, 32}, in.flag = true;
    const CubeOp op = xpusim::davinci::cube_op(in);
    CHECK(op.ty == ty);
    CHECK(op.m == 3);
    CHECK(op.k == 5);
    CHECK(op.n == 2);
    CHECK(op.init);
    CHECK(op.a.empty());
    CHECK(op.steps() == xpusim::isa::davinci::work(in));
    CubeFormula f(CubeConfig{0});  // latency 0: done with the last step
    CHECK(offer(f, 0, op, 7) == std::vector<uint64_t>{7, 37, 37, 37});
  }
}

TEST_CASE("cube formula: what it refuses, and its parameters", "[unit]") {
  CHECK_THROWS_AS(CubeFormula(CubeConfig{-1}), xpusim::Error);
  CubeFormula f(CubeConfig{16});
  std::vector<Event> ev;
  CHECK_THROWS_AS(f.offer(0, op_of(Ty::f32, 1, 1, 1), 0, 0, ev), xpusim::Error);
  CHECK_THROWS_AS(f.offer(0, op_of(Ty::s32, 1, 1, 1), 0, 0, ev), xpusim::Error);
  CHECK_THROWS_AS(f.offer(0, op_of(Ty::f16, 0, 1, 1), 0, 0, ev), xpusim::Error);
  CHECK_THROWS_AS(f.offer(0, op_of(Ty::f16, 1, 256, 1), 0, 0, ev), xpusim::Error);
  CHECK(ev.empty());
  // A refused mad leaves the loop as it was.
  CHECK(offer(f, 0, op_of(Ty::s8, 1, 1, 1), 3) == std::vector<uint64_t>{3, 4, 4, 20});

  // Operand sizes, checked for a model that computes values: 16 x 32 s8 fractals by default.
  CubeOp s8 = op_of(Ty::s8, 2, 1, 3);
  s8.a.resize(32 * 32);
  s8.b.resize(32 * 48);
  s8.c.resize(32 * 48);
  CHECK_NOTHROW(xpusim::davinci::check_cube_op(s8, true, 16, 32, "test"));
  CHECK_THROWS_AS(xpusim::davinci::check_cube_op(s8, true, 4, 8, "test"), xpusim::Error);
  s8.c.clear();
  CHECK_THROWS_AS(xpusim::davinci::check_cube_op(s8, true, 16, 32, "test"), xpusim::Error);
  s8.init = true;  // C is not read: it may be left out
  CHECK_NOTHROW(xpusim::davinci::check_cube_op(s8, true, 16, 32, "test"));
  CubeOp f16 = op_of(Ty::f16, 1, 2, 1);
  f16.a.resize(16 * 32 * 2);
  f16.b.resize(32 * 16 * 2);
  f16.c.resize(16 * 16);
  CHECK_NOTHROW(xpusim::davinci::check_cube_op(f16, true, 16, 32, "test"));
  const xpusim::davinci::CubeDims d = xpusim::davinci::cube_dims(f16, 16, 32);
  CHECK((d.M == 16 && d.K == 32 && d.N == 16));

  const std::vector<xpusim::ParamSpec> specs = xpusim::davinci::cube_unit_params();
  auto model = std::find_if(specs.begin(), specs.end(), [](const xpusim::ParamSpec& s) {
    return s.path == "davinci.cube.model";
  });
  REQUIRE(model != specs.end());
  CHECK(model->default_value == "formula");
  CHECK(model->choices == std::vector<std::string>{"formula", "rtl"});
  xpusim::ParamValues v(&specs);
  CHECK(v.choice("davinci.cube.model") == "formula");
  CHECK(v.text("davinci.cube.vcd").empty());
}

TEST_CASE("cube unit: a mad's operands from L0A, L0B and L0C, and C back, as the ISA's mad",
          "[unit]") {
  // Random bytes in the buffers; one copy runs the ISA's mad (isa::davinci::execute), the other
  // takes the operands out with cube_operands, multiplies them plainly (k in order, as the ISA)
  // and writes C back with cube_write_result: the same L0C bytes, and cube_result reads the
  // ISA's C back as the plain product.
  using xpusim::ByteStore;
  xpusim::SplitMix64 rng(61);
  for (Ty ty : {Ty::s8, Ty::f16, Ty::bf16})
    for (bool init : {false, true}) {
      const int k0 = xpusim::davinci::cube_k0(ty);
      const int64_t M = 16 * rng.range(1, 3), K = k0 * rng.range(1, 3), N = 16 * rng.range(1, 3);
      INFO(xpusim::isa::davinci::ty_name(ty)
           << " " << M << " x " << K << " x " << N << (init ? " init" : ""));
      const size_t es = size_t(xpusim::isa::davinci::ty_bytes(ty));
      ByteStore l0a("l0a", 1 << 16), l0b("l0b", 1 << 16), l0c("l0c", 1 << 18);
      ByteStore gm("gm", 1024), l1("l1", 1024), ub("ub", 1024);
      auto fill = [&](ByteStore& s, uint64_t at, size_t n, bool small_floats) {
        std::vector<uint8_t> bytes(n);
        for (size_t i = 0; i < n; ++i) bytes[i] = uint8_t(rng.next());
        if (small_floats)  // f16 / bf16 of moderate size: clear the exponent's top bits
          for (size_t i = 1; i < n; i += 2) bytes[i] &= 0xbb;
        s.write(at, bytes.data(), n);
      };
      fill(l0a, 512, size_t(M * K) * es, ty != Ty::s8);
      fill(l0b, 1024, size_t(K * N) * es, ty != Ty::s8);
      std::vector<uint32_t> c0(size_t(M * N));
      for (uint32_t& x : c0)
        x = ty == Ty::s8 ? uint32_t(rng.next()) : float_bits(float(rng.range(-99, 99)));
      ByteStore l0c_isa("l0c", 1 << 18);
      l0c.write(2048, c0.data(), c0.size() * 4);
      l0c_isa.write(2048, c0.data(), c0.size() * 4);
      Instr in;
      in.op = xpusim::isa::davinci::Op::mad;
      in.ty = ty;
      in.dst = {Buf::l0c, {-1, 2048}};
      in.src0 = {Buf::l0a, {-1, 512}};
      in.src1 = {Buf::l0b, {-1, 1024}};
      in.n0 = {-1, M}, in.n1 = {-1, K}, in.n2 = {-1, N}, in.flag = init;
      xpusim::isa::davinci::check(in, "test");

      xpusim::isa::davinci::Memories isa_mem, mem;
      isa_mem.buf = {&gm, &l1, &l0a, &l0b, &l0c_isa, &ub};
      mem.buf = {&gm, &l1, &l0a, &l0b, &l0c, &ub};
      xpusim::isa::davinci::execute(in, xpusim::isa::davinci::kFullMask, isa_mem, "test");

      CubeOp op = xpusim::davinci::cube_op(in);
      xpusim::davinci::cube_operands(in, mem, op, "test");
      CHECK_NOTHROW(xpusim::davinci::check_cube_op(op, true, 16, 32, "test"));
      CHECK(op.c.empty() == init);
      auto elem = [&](const std::vector<uint8_t>& v, size_t i) -> float {
        if (ty == Ty::s8) return float(int8_t(v[i]));
        uint16_t h;
        std::memcpy(&h, &v[i * 2], 2);
        return ty == Ty::f16 ? xpusim::numeric::f16_to_float(h) : xpusim::numeric::bf16_to_float(h);
      };
      std::vector<uint32_t> c(size_t(M * N));
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          const size_t o = size_t(i * N + j);
          if (ty == Ty::s8) {
            uint32_t acc = init ? 0 : op.c[o];
            for (int64_t x = 0; x < K; ++x)
              acc += uint32_t(int32_t(elem(op.a, size_t(i * K + x))) *
                              int32_t(elem(op.b, size_t(x * N + j))));
            c[o] = acc;
          } else {
            float acc = init ? 0.0f : bits_float(op.c[o]);
            for (int64_t x = 0; x < K; ++x)
              acc += elem(op.a, size_t(i * K + x)) * elem(op.b, size_t(x * N + j));
            c[o] = float_bits(acc);
          }
        }
      xpusim::davinci::cube_write_result(in, c, mem);
      std::vector<uint8_t> got(size_t(M * N) * 4), want(got.size());
      l0c.read(2048, got.data(), got.size(), "test");
      l0c_isa.read(2048, want.data(), want.size(), "test");
      CHECK(got == want);
      CHECK(xpusim::davinci::cube_result(in, isa_mem, "test") == c);
    }
}
