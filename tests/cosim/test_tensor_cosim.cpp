// The two models of the GPU's tensor unit behind the unit-model interface: the RTL model
// registered as gpu.tensor (rtl/tensor_core/tensor_rtl.cpp, found by name as the SM will find it)
// and the formula (models/gpu/tensor_unit.cpp, TensorFormula), driven by the same owner loop on
// the same random int8 mma ops, must report the same next, read and done cycles, op by op; the
// RTL's D must be PTX's mma.sync (isa/ptx/fragments.h) bit for bit.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "isa/ptx/fragments.h"
#include "models/core/params.h"
#include "models/core/random.h"
#include "models/core/unit_model.h"
#include "models/gpu/tensor_unit.h"
#include "rtl/tensor_core/harness.h"
#include "tests/cosim/drive.h"
#include "tests/support.h"

using xpusim::gpu::MmaOp;
using xpusim::gpu::TensorConfig;
using xpusim::gpu::TensorModel;
using xpusim::isa::ptx::ElemType;
using xpusim::isa::ptx::FragOperand;
using xpusim::isa::ptx::MmaShape;
using xpusim::isa::ptx::WarpFrag;
using xpusim::rtl::TensorHarness;
using Event = TensorModel::Event;
using Rng = xpusim::SplitMix64;

namespace {

// An op and the cycle its operands are ready.
struct Planned {
  MmaOp op;
  uint64_t ready = 0;
};

uint8_t random_byte(Rng& rng) {
  // Mostly uniform, the extremes often (-128, 127 as s8; 0, 255 as u8).
  static const uint8_t extremes[] = {0x80, 0x7f, 0x00, 0xff, 0x01};
  return rng.range(0, 3) == 0 ? extremes[rng.range(0, 4)] : uint8_t(rng.next());
}

int32_t random_c(Rng& rng) {
  // Small, full-range, or next to the ends so that the sum wraps.
  switch (rng.range(0, 3)) {
    case 0:
      return int32_t(rng.range(-1000, 1000));
    case 1:
      return int32_t(uint32_t(rng.next()));
    case 2:
      return INT32_MAX - rng.range(0, 1 << 20);
    default:
      return INT32_MIN + rng.range(0, 1 << 20);
  }
}

MmaOp random_op(Rng& rng, MmaShape shape, ElemType a, ElemType b) {
  MmaOp op;
  op.shape = shape;
  op.a = a;
  op.b = b;
  const size_t k = size_t(op.k());
  op.a_bytes.resize(16 * k);
  op.b_bytes.resize(k * 8);
  op.c.resize(128);
  for (uint8_t& x : op.a_bytes) x = random_byte(rng);
  for (uint8_t& x : op.b_bytes) x = random_byte(rng);
  for (int32_t& x : op.c) x = random_c(rng);
  return op;
}

MmaOp random_op(Rng& rng) {
  const ElemType t[] = {ElemType::s8, ElemType::u8};
  return random_op(rng, rng.range(0, 1) ? MmaShape::m16n8k32 : MmaShape::m16n8k16,
                   t[rng.range(0, 1)], t[rng.range(0, 1)]);
}

// D by PTX's warp-level mma.sync: the matrices scattered into the lanes' fragments by
// mma_frag_elem, and D gathered back from its fragment.
std::vector<int32_t> mma_sync_d(const MmaOp& op) {
  using namespace xpusim::isa::ptx;
  const MmaTypes t{op.a, op.b, ElemType::s32, ElemType::s32};
  const int k = op.k();
  auto scatter = [&](FragOperand which, ElemType type, int cols, auto value) {
    WarpFrag f;
    const FragShape s = mma_frag_shape(op.shape, which, type);
    for (int lane = 0; lane < kWarpSize; ++lane)
      for (int i = 0; i < s.regs * s.per_reg; ++i) {
        const RowCol rc = mma_frag_elem(op.shape, which, type, lane, i);
        frag_set(f, s, elem_bits(type), lane, i, value(size_t(rc.row * cols + rc.col)));
      }
    return f;
  };
  const WarpFrag a = scatter(FragOperand::a, op.a, k, [&](size_t i) { return op.a_bytes[i]; });
  const WarpFrag b = scatter(FragOperand::b, op.b, 8, [&](size_t i) { return op.b_bytes[i]; });
  const WarpFrag c =
      scatter(FragOperand::c, ElemType::s32, 8, [&](size_t i) { return uint32_t(op.c[i]); });
  WarpFrag d;
  REQUIRE(mma_supported(op.shape, t));
  mma_sync(op.shape, t, a, b, c, d);
  std::vector<int32_t> out(128);
  const FragShape s = mma_frag_shape(op.shape, FragOperand::c, ElemType::s32);
  for (int lane = 0; lane < kWarpSize; ++lane)
    for (int i = 0; i < s.regs * s.per_reg; ++i) {
      const RowCol rc = mma_frag_elem(op.shape, FragOperand::c, ElemType::s32, lane, i);
      out[size_t(rc.row * 8 + rc.col)] = int32_t(frag_get(d, s, 32, lane, i));
    }
  return out;
}

// D by a plain loop: products of the bytes as s8 or u8, summed into C modulo 2^32.
std::vector<int32_t> plain_d(const MmaOp& op) {
  const size_t k = size_t(op.k());
  auto value = [](ElemType t, uint8_t x) { return t == ElemType::s8 ? int32_t(int8_t(x)) : x; };
  std::vector<int32_t> d(128);
  for (size_t i = 0; i < 16; ++i)
    for (size_t j = 0; j < 8; ++j) {
      uint32_t acc = uint32_t(op.c[i * 8 + j]);
      for (size_t x = 0; x < k; ++x)
        acc += uint32_t(value(op.a, op.a_bytes[i * k + x]) * value(op.b, op.b_bytes[x * 8 + j]));
      d[i * 8 + j] = int32_t(acc);
    }
  return d;
}

// The owner's side of the contract (tests/cosim/drive.h); a model that computes no values gets
// no operands.
std::vector<xpusim::test::Seen<xpusim::gpu::MmaResult>> drive(TensorModel& model,
                                                              const std::vector<Planned>& ops) {
  return xpusim::test::drive(
      model, ops.size(), [&](size_t i) { return ops[i].ready; },
      [&](size_t i) {
        MmaOp op = ops[i].op;
        if (!model.computes_values()) {
          op.a_bytes.clear();
          op.b_bytes.clear();
          op.c.clear();
        }
        return op;
      });
}

std::unique_ptr<TensorModel> make_rtl(const TensorConfig& config, const std::string& vcd = "",
                                      size_t first = 0, size_t last = SIZE_MAX) {
  static const std::vector<xpusim::ParamSpec> specs = xpusim::gpu::tensor_unit_params();
  return xpusim::test::make_rtl<TensorModel, TensorConfig>(specs, xpusim::gpu::kTensorUnit, config,
                                                           vcd, first, last);
}

// `count` random ops per built variant; gap() gives the cycles between one op's ready and the
// next one's. Compares the RTL with the formula and with mma_sync.
template <class Gap>
void compare(uint64_t seed, int count, Gap gap) {
  for (const auto& [rate, latency] : TensorHarness::variants()) {
    const uint64_t s = seed * 1000 + uint64_t(rate) + uint64_t(latency);
    INFO("seed " << s << ", " << rate << " MAC/cycle, latency " << latency);
    Rng rng(s);
    std::vector<Planned> ops;
    uint64_t ready = 0;
    for (int i = 0; i < count; ++i) {
      ops.push_back({random_op(rng), ready});
      ready += gap(rng, latency);
    }
    const TensorConfig config{rate, latency};
    const auto rtl = make_rtl(config);
    xpusim::gpu::TensorFormula formula(config);
    CHECK(rtl->computes_values());
    CHECK(rtl->clocked());
    CHECK_FALSE(formula.computes_values());
    const auto got = drive(*rtl, ops);
    const auto want = drive(formula, ops);
    for (size_t i = 0; i < ops.size(); ++i) {
      const MmaOp& op = ops[i].op;
      const uint64_t ii = (op.macs() + uint64_t(rate) - 1) / uint64_t(rate);
      INFO("op " << i << ": ready " << ops[i].ready << ", m16n8k" << op.k() << ", A "
                 << (op.a == ElemType::s8 ? "s8" : "u8") << ", B "
                 << (op.b == ElemType::s8 ? "s8" : "u8") << ", ii " << ii);
      // The formula, as stated.
      CHECK(want[i].result.times.start == std::max(ops[i].ready, i ? want[i - 1].next : 0));
      CHECK(want[i].next == want[i].result.times.start + ii);
      CHECK(want[i].read == want[i].result.times.start + ii);
      CHECK(want[i].done == want[i].result.times.start + std::max(uint64_t(latency), ii));
      // The RTL, cycle for cycle.
      CHECK(got[i].next == want[i].next);
      CHECK(got[i].read == want[i].read);
      CHECK(got[i].done == want[i].done);
      CHECK(got[i].result.times.start == want[i].result.times.start);
      CHECK(got[i].result.times.read == want[i].result.times.read);
      CHECK(got[i].result.times.done == want[i].result.times.done);
      // Bit for bit.
      const std::vector<int32_t> ref = mma_sync_d(op);
      CHECK(plain_d(op) == ref);
      CHECK(got[i].result.d == ref);
    }
  }
}

}  // namespace

TEST_CASE("tensor core: the plain reference is mma_sync's", "[cosim]") {
  Rng rng(41);
  const ElemType t[] = {ElemType::s8, ElemType::u8};
  for (MmaShape shape : {MmaShape::m16n8k16, MmaShape::m16n8k32})
    for (ElemType a : t)
      for (ElemType b : t)
        for (int i = 0; i < 8; ++i) {
          const MmaOp op = random_op(rng, shape, a, b);
          CHECK(plain_d(op) == mma_sync_d(op));
        }
  // One by hand: m16n8k16 s8 x u8, A all -128, B all 255, C = 5: D = 5 - 16 * 128 * 255.
  MmaOp op = random_op(rng, MmaShape::m16n8k16, ElemType::s8, ElemType::u8);
  std::fill(op.a_bytes.begin(), op.a_bytes.end(), uint8_t(0x80));
  std::fill(op.b_bytes.begin(), op.b_bytes.end(), uint8_t(0xff));
  std::fill(op.c.begin(), op.c.end(), 5);
  CHECK(mma_sync_d(op) == std::vector<int32_t>(128, 5 - 16 * 128 * 255));
}

TEST_CASE("tensor core: RTL and formula agree, back to back", "[cosim]") {
  // All ready at once: the unit takes an op every ii cycles.
  compare(51, 300, [](Rng&, int) { return uint64_t(0); });
}

TEST_CASE("tensor core: RTL and formula agree, with gaps", "[cosim]") {
  // Half back to back, half spaced by up to twice the latency (the unit drains and idles).
  compare(52, 300, [](Rng& rng, int latency) {
    return rng.range(0, 1) ? uint64_t(0) : uint64_t(rng.range(1, 2 * latency));
  });
}

TEST_CASE("tensor core: RTL and formula agree, one shape and type mix at a time", "[cosim]") {
  const ElemType t[] = {ElemType::s8, ElemType::u8};
  for (const auto& [rate, latency] : TensorHarness::variants())
    for (MmaShape shape : {MmaShape::m16n8k16, MmaShape::m16n8k32})
      for (ElemType a : t)
        for (ElemType b : t) {
          INFO(rate << " MAC/cycle, m16n8k" << (shape == MmaShape::m16n8k16 ? 16 : 32));
          Rng rng(53 + uint64_t(rate) + uint64_t(a) * 7 + uint64_t(b) * 11 + uint64_t(shape));
          std::vector<Planned> ops;
          for (int i = 0; i < 12; ++i)
            ops.push_back({random_op(rng, shape, a, b), uint64_t(i < 6 ? 0 : 3 * i)});
          const TensorConfig config{rate, latency};
          const auto rtl = make_rtl(config);
          xpusim::gpu::TensorFormula formula(config);
          const auto got = drive(*rtl, ops);
          const auto want = drive(formula, ops);
          for (size_t i = 0; i < ops.size(); ++i) {
            INFO("op " << i);
            CHECK(got[i].next == want[i].next);
            CHECK(got[i].read == want[i].read);
            CHECK(got[i].done == want[i].done);
            CHECK(got[i].result.d == mma_sync_d(ops[i].op));
          }
        }
}

TEST_CASE("tensor core: a VCD of an op range", "[cosim]") {
  const std::string path = xpusim::test::temp_dir("tensor-vcd") + "/tensor.vcd";
  Rng rng(54);
  std::vector<Planned> ops;
  for (int i = 0; i < 6; ++i) ops.push_back({random_op(rng), uint64_t(10 * i)});
  const auto rtl = make_rtl(TensorConfig{512, 32}, path, 2, 3);
  const auto got = drive(*rtl, ops);
  std::ifstream f(path);
  std::stringstream text;
  text << f.rdbuf();
  const std::string vcd = text.str();
  CHECK(vcd.find("$enddefinitions") != std::string::npos);
  CHECK(vcd.find(" out_valid ") != std::string::npos);
  // The window: from op 2's offer (half-cycle time 2 t) to the cycle after op 3 is done.
  CHECK(vcd.find(fmt::format("\n#{}\n", 2 * got[2].result.times.start)) != std::string::npos);
  CHECK(vcd.find(fmt::format("\n#{}\n", 2 * got[2].result.times.start - 1)) == std::string::npos);
  CHECK(vcd.find(fmt::format("\n#{}\n", 2 * got[3].done + 1)) != std::string::npos);
  CHECK(vcd.find(fmt::format("\n#{}\n", 2 * got[3].done + 2)) == std::string::npos);
}

TEST_CASE("tensor core: what the RTL model refuses", "[cosim]") {
  // A rate or latency not verilated: an Error naming the parameter and the variants built.
  try {
    make_rtl(TensorConfig{500, 32});
    FAIL("no error");
  } catch (const xpusim::Error& e) {
    const std::string what = e.what();
    CHECK(what.find("gpu.tensor.model rtl") != std::string::npos);
    CHECK(what.find("512 MAC/cycle with latency 32") != std::string::npos);
  }
  const auto rtl = make_rtl(TensorConfig{512, 32});
  std::vector<Event> ev;
  Rng rng(55);
  MmaOp k8 = random_op(rng);
  k8.shape = MmaShape::m16n8k8;
  CHECK_THROWS_AS(rtl->offer(0, k8, 0, 0, ev), xpusim::Error);
  MmaOp f16 = random_op(rng);
  f16.a = ElemType::f16;
  CHECK_THROWS_AS(rtl->offer(0, f16, 0, 0, ev), xpusim::Error);
  MmaOp empty = random_op(rng);
  empty.a_bytes.clear();  // the RTL computes values: it needs the operands
  CHECK_THROWS_AS(rtl->offer(0, empty, 0, 0, ev), xpusim::Error);
  CHECK(ev.empty());
  CHECK_FALSE(rtl->busy());
}
