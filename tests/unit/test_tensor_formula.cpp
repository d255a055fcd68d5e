// The GPU tensor unit's formula model (models/gpu/tensor_unit.h): next and read after
// ii = ceil(MACs / R), done after max(L, ii), the unit taken in offer order; and its parameters.
// The RTL's agreement with it is tests/cosim/test_tensor_cosim.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "models/core/params.h"
#include "models/gpu/tensor_unit.h"

using xpusim::gpu::MmaOp;
using xpusim::gpu::TensorConfig;
using xpusim::gpu::TensorFormula;
using xpusim::isa::ptx::ElemType;
using xpusim::isa::ptx::MmaShape;
using Event = xpusim::gpu::TensorModel::Event;

namespace {

MmaOp op_of(MmaShape shape) {
  MmaOp op;
  op.shape = shape;
  return op;
}

// Offers one op at `now` and returns its (next, read, done).
std::vector<uint64_t> offer(TensorFormula& f, uint64_t id, MmaShape shape, uint64_t now) {
  std::vector<Event> ev;
  f.offer(id, op_of(shape), now, now, ev);
  REQUIRE(ev.size() == 3);
  CHECK(ev[0].kind == Event::next);
  CHECK(ev[1].kind == Event::read);
  CHECK(ev[2].kind == Event::done);
  for (const Event& e : ev) CHECK(e.id == id);
  CHECK(ev[2].result.times.read == ev[1].cycle);
  CHECK(ev[2].result.times.done == ev[2].cycle);
  CHECK(ev[2].result.d.empty());
  return {ev[0].cycle, ev[1].cycle, ev[2].cycle};
}

}  // namespace

TEST_CASE("tensor formula: A100 sub-partition (512 MAC/cycle, latency 32)", "[unit]") {
  TensorFormula f(TensorConfig{512, 32});
  CHECK_FALSE(f.computes_values());
  CHECK_FALSE(f.clocked());
  CHECK_FALSE(f.busy());
  CHECK(f.ii(16 * 8 * 16) == 4);
  CHECK(f.ii(16 * 8 * 32) == 8);
  // m16n8k16 at 100: 4 cycles of multipliers, done at 132.
  CHECK(offer(f, 0, MmaShape::m16n8k16, 100) == std::vector<uint64_t>{104, 104, 132});
  // Offered while the unit is busy (before its `next`): taken at 104.
  CHECK(offer(f, 1, MmaShape::m16n8k32, 101) == std::vector<uint64_t>{112, 112, 136});
  CHECK(offer(f, 2, MmaShape::m16n8k32, 112) == std::vector<uint64_t>{120, 120, 144});
  // After an idle stretch.
  CHECK(offer(f, 3, MmaShape::m16n8k16, 500) == std::vector<uint64_t>{504, 504, 532});
}

TEST_CASE("tensor formula: ii beyond the latency, and a partial last cycle", "[unit]") {
  TensorFormula f(TensorConfig{96, 20});
  CHECK(f.ii(2048) == 22);  // 2048 / 96 = 21.3
  CHECK(f.ii(4096) == 43);
  CHECK(offer(f, 0, MmaShape::m16n8k16, 0) == std::vector<uint64_t>{22, 22, 22});
  CHECK(offer(f, 1, MmaShape::m16n8k32, 22) == std::vector<uint64_t>{65, 65, 65});
}

TEST_CASE("tensor formula: what it refuses, and its parameters", "[unit]") {
  CHECK_THROWS_AS(TensorFormula(TensorConfig{0, 32}), xpusim::Error);
  CHECK_THROWS_AS(TensorFormula(TensorConfig{512, 0}), xpusim::Error);
  TensorFormula f(TensorConfig{512, 32});
  std::vector<Event> ev;
  MmaOp k8 = op_of(MmaShape::m16n8k8);
  CHECK_THROWS_AS(f.offer(0, k8, 0, 0, ev), xpusim::Error);
  MmaOp bf16 = op_of(MmaShape::m16n8k16);
  bf16.b = ElemType::bf16;
  CHECK_THROWS_AS(f.offer(0, bf16, 0, 0, ev), xpusim::Error);
  CHECK(ev.empty());

  const std::vector<xpusim::ParamSpec> specs = xpusim::gpu::tensor_unit_params();
  auto model = std::find_if(specs.begin(), specs.end(), [](const xpusim::ParamSpec& s) {
    return s.path == "gpu.tensor.model";
  });
  REQUIRE(model != specs.end());
  CHECK(model->default_value == "formula");
  CHECK(model->choices == std::vector<std::string>{"formula", "rtl"});
  xpusim::ParamValues v(&specs);
  CHECK(v.choice("gpu.tensor.model") == "formula");
  CHECK(v.text("gpu.tensor.vcd").empty());
}
