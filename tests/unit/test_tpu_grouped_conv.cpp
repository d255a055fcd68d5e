// Grouped and depthwise conv2d on the TPU target: blocks of groups as one GEMM each, on the
// block-diagonal weights of Layout::conv_weight (docs/models/tpu.md, "Grouped and depthwise
// convolutions"): where pack puts each weight, which block the layout pass chooses, the tiles of
// each block's GEMM, and values checked against the reference on several presets.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <variant>

#include <fmt/format.h>

#include "compiler/ir/frontend.h"
#include "compiler/ir/layout.h"
#include "compiler/passes/passes.h"
#include "compiler/reference/tensor.h"
#include "compiler/targets/tpu/passes.h"
#include "models/core/config.h"
#include "tests/layout_support.h"
#include "tests/support.h"

using namespace xpusim;
using namespace xpusim::compiler;
using namespace xpusim::compiler::tpu;
using namespace xpusim::test;
using Catch::Matchers::Contains;

namespace {

Graph graph_of(const std::string& text) {
  Graph g = parse_workload(text, "test.yaml");
  run_graph_passes(g, Dump{});
  return g;
}

// One conv2d of an int8 N x C x H x W image into K channels, 3x3, pad 1, in `groups` groups.
Graph conv(int64_t C, int64_t H, int64_t K, int64_t groups) {
  return graph_of(fmt::format(R"(name: g
inputs:
  - {{name: x, shape: [1, {}, {}, {}], dtype: int8}}
ops:
  - {{name: c, op: conv2d, inputs: [x], K: {}, R: 3, S: 3, pad: 1, groups: {}}}
)",
                              C, H, H, K, groups));
}

struct PlanAndTiles {
  LayoutPlan plan;
  TileProgram tiles;
};

// The layout and tiles of g on tpu_lab (16x16, one array) with the given overrides, verified.
PlanAndTiles lower_lab(const Graph& g, const std::vector<std::string>& sets = {}) {
  const ArchConfig cfg = load_arch("tpu_lab", sets);
  const TpuParams p(cfg.values);
  PlanAndTiles l;
  l.plan = layout(g, p, cfg.name);
  verify_layout(g, l.plan, p);
  l.tiles = tiling(g, l.plan, p, cfg.name);
  verify_tiling(l.tiles, p);
  return l;
}

template <typename Op>
std::vector<Op> ops_of(const Nest& n) {
  std::vector<Op> out;
  for (const TileOp& op : n.ops)
    if (const auto* o = std::get_if<Op>(&op)) out.push_back(*o);
  return out;
}

}  // namespace

TEST_CASE("conv-weight layout: blocks of groups, block-diagonal, the last block smaller",
          "[unit]") {
  // K = 6 output channels in 3 groups of 2 (kg = 2), 2 input channels per group (Cg = 2), a 1x2
  // window (2 taps); 2 groups per block: block 0 is a (2 taps x 2 groups x 2) x (2 groups x 2)
  // = 8 x 4 matrix, block 1 (group 2 alone) a 4 x 2 one.
  const Tensor t = counting({6, 2, 1, 2});
  Layout l;
  l.kind = Layout::conv_weight;
  l.groups = 3;
  l.group_block = 2;
  TensorInfo info;
  info.shape = t.shape;
  info.dtype = t.dtype;
  CHECK(layout_bytes(info, l) == (8 * 4 + 4 * 2) * 2);
  const std::vector<uint8_t> p = pack(t, l);
  auto want = [&](int64_t k, int64_t c, int64_t tap) {  // w[k, c, 0, tap]
    return uint16_t((k * 2 + c) * 2 + tap + 1);
  };
  int64_t base = 0;
  for (int64_t block = 0; block < 2; ++block) {
    const int64_t gb = block == 0 ? 2 : 1;
    for (int64_t tap = 0; tap < 2; ++tap)
      for (int64_t gr = 0; gr < gb; ++gr)  // the group of the row's input channel
        for (int64_t c = 0; c < 2; ++c)
          for (int64_t gc = 0; gc < gb; ++gc)  // the group of the column's output channel
            for (int64_t kk = 0; kk < 2; ++kk) {
              const int64_t row = (tap * gb + gr) * 2 + c, col = gc * 2 + kk;
              const int64_t k = (block * 2 + gc) * 2 + kk;
              INFO("block " << block << " row " << row << " col " << col);
              CHECK(at(p, base + row * gb * 2 + col) == (gr == gc ? want(k, c, tap) : 0));
            }
    base += (2 * gb * 2) * (gb * 2);
  }
  CHECK(unpack(p, info, l).data == t.data);

  // One group per block: the matrices of (r, s, c) x k per group, no zeros (a permutation).
  l.group_block = 1;
  CHECK(layout_bytes(info, l) == info.bytes());
  const std::vector<uint8_t> q = pack(t, l);
  for (int64_t g = 0; g < 3; ++g)
    for (int64_t tap = 0; tap < 2; ++tap)
      for (int64_t c = 0; c < 2; ++c)
        for (int64_t kk = 0; kk < 2; ++kk)
          CHECK(at(q, g * 8 + (tap * 2 + c) * 2 + kk) == want(g * 2 + kk, c, tap));
  CHECK(unpack(q, info, l).data == t.data);
}

TEST_CASE("tpu grouped conv: the block of groups takes the fewest folds of the array", "[unit]") {
  const ArchConfig cfg = load_arch("tpu_lab");  // 16x16, ws
  const TpuParams p(cfg.values);
  auto block = [&](const Graph& g) { return conv_group_block(g, g.nodes.at(0), p); };
  // An ungrouped conv: one block.
  CHECK(block(conv(8, 8, 16, 1)) == 1);
  // Depthwise, 40 channels, 64 pixels: per block of b, ceil(9 b / 16) folds of 64 rows. 16
  // groups fill the columns with 9 folds: 2 blocks and one of 8 (5 folds), 23 in all (one
  // channel per GEMM: 40); 14 also takes 23 (3 blocks of 8 folds less one: 8 + 8 + 7), and the
  // larger block is taken (fewer GEMMs).
  CHECK(block(conv(40, 8, 40, 40)) == 16);
  // Channel multiplier 2 (K = 2C): at most 8 groups fill the 16 columns. 7 groups: 63 rows, 4
  // folds; 3 blocks and one of 3 (27 rows, 2 folds): 14, against 15 for blocks of 8 (72 rows,
  // 5 folds, 3 blocks) and 24 for one group per GEMM.
  CHECK(block(conv(24, 8, 48, 24)) == 7);
  // Groups of 4 channels (cg = kg = 4): 4 groups fill the columns, 144 rows (9 folds) per
  // block of 4: 2 x 9 = 18 folds, against 8 x 3 for one group per GEMM.
  CHECK(block(conv(32, 8, 32, 8)) == 4);
}

TEST_CASE("tpu grouped conv: a depthwise conv is a GEMM per block of channels", "[unit]") {
  // 40 channels on tpu_lab: blocks of 16, 16 and 8 channels.
  const Graph g = conv(40, 8, 40, 40);
  const PlanAndTiles l = lower_lab(g);
  const uint64_t x = l.plan.tensors[size_t(g.nodes[0].inputs[0])].addr;
  const uint64_t w = l.plan.tensors[size_t(g.nodes[0].inputs[1])].addr;
  const uint64_t y = l.plan.tensors[size_t(g.nodes[0].outputs[0])].addr;
  // 2 x (144 x 16) + 72 x 8 int8 weights: the zeros of the blocks are in DRAM.
  CHECK(layout_bytes(g.tensor(g.nodes[0].inputs[1]),
                     l.plan.tensors[size_t(g.nodes[0].inputs[1])].layout) == 2 * 144 * 16 + 72 * 8);
  const std::vector<Nest>& nests = l.tiles.layers.at(0).nests;
  REQUIRE(nests.size() == 3);
  for (size_t b = 0; b < 3; ++b) {
    INFO("block " << b);
    const uint64_t g0 = 16 * b, ch = b < 2 ? 16 : 8, K = 9 * ch;
    CHECK_THAT(nests[b].title, Contains(fmt::format("M x N x K = 64x{}x{} int8", ch, K)) &&
                                   Contains(fmt::format("B = c.w groups {} to {} (block-diagonal)",
                                                        g0, g0 + ch - 1)));
    // im2col of the block's channels: bands of whole image rows (of 8 pixels) read once, the
    // block's `ch` channels of each pixel from its first one; then every element of the
    // 64 x K im2col matrix formed on chip from them, once.
    const std::vector<Load> band = ops_of<Load>(nests[b]);
    REQUIRE(!band.empty());
    for (const Load& ld : band) {
      CHECK((ld.src.addr - x - g0) % (8 * 40) == 0);
      CHECK(ld.src.rows % 8 == 0);
      CHECK(ld.src.cols == ch);
      CHECK(ld.src.stride == 40);
    }
    const std::vector<Im2col> ic = ops_of<Im2col>(nests[b]);
    REQUIRE(!ic.empty());
    uint64_t elements = 0;
    for (const Im2col& a : ic) {
      CHECK(a.geom.c == ch);
      CHECK(a.geom.cg == ch);
      CHECK(a.h0 + a.band_rows <= 8);
      elements += a.rows * a.cols;
    }
    CHECK(elements == 64 * K);
    uint64_t cols = 0;
    // Gathered from DRAM instead (lowering.onchip_im2col=false): the same columns, each
    // window read from the image of 40 channels (the row block in one stream).
    const PlanAndTiles dram =
        lower_lab(g, {"lowering.onchip_im2col=false", "lowering.cut_streams=false"});
    const Nest& whole = dram.tiles.layers.at(0).nests.at(b);  // one row block of 64 pixels
    const std::vector<Gather> ga = ops_of<Gather>(whole);
    REQUIRE(!ga.empty());
    for (const Gather& a : ga) {
      CHECK(a.image == x + g0);
      CHECK(a.geom.c == 40);
      CHECK(a.geom.cg == ch);
      CHECK(a.rows == 64);
      cols += a.cols;
    }
    CHECK(cols == K);
    // K tiles of 16 rows of the block's K x ch weights, from the block's place in DRAM.
    const std::vector<LoadWeights> lw = ops_of<LoadWeights>(whole);
    const std::vector<Matmul> mm = ops_of<Matmul>(whole);
    REQUIRE(lw.size() == (K + 15) / 16);
    REQUIRE(mm.size() == lw.size());
    for (size_t i = 0; i < lw.size(); ++i) {
      CHECK(lw[i].src.addr == w + g0 * 144 + 16 * i * ch);
      CHECK(lw[i].src.cols == ch);
      CHECK(mm[i].n == ch);
      CHECK(mm[i].m == 64);
    }
    // The block's output channels, in the NHWC image of 40.
    const std::vector<Store> st = ops_of<Store>(whole);
    REQUIRE(st.size() == 1);
    CHECK(st[0].dst.addr == y + g0);
    CHECK(st[0].dst.stride == 40);
    CHECK(st[0].dst.cols == ch);
  }
}

TEST_CASE("tpu grouped conv: blocks too small for the cores to share go round robin", "[unit]") {
  // 16 pixels, fewer than 2 cores x 16 rows: each block's GEMM runs whole on one core.
  const PlanAndTiles small = lower_lab(conv(40, 4, 40, 40), {"chip.cores=2"});
  const std::vector<Nest>& n = small.tiles.layers.at(0).nests;
  REQUIRE(n.size() == 3);
  CHECK(n[0].core == 0);
  CHECK(n[1].core == 1);
  CHECK(n[2].core == 0);
  // 64 pixels: each block's rows are split between the cores (two nests per block).
  const PlanAndTiles large = lower_lab(conv(40, 8, 40, 40), {"chip.cores=2"});
  const std::vector<Nest>& m = large.tiles.layers.at(0).nests;
  REQUIRE(m.size() == 6);
  for (size_t i = 0; i < m.size(); ++i) CHECK(m[i].core == int(i % 2));
}

TEST_CASE("tpu grouped conv: values checked (depthwise, channel multiplier, groups)", "[unit]") {
  const std::string dir = temp_dir("tpu-grouped-conv");
  // Depthwise with a channel multiplier of 2, a strided 5x3 depthwise, and 4 groups of 12.
  const std::string w = write_text(dir, "grouped.yaml", R"(name: grouped
params:
  dtype: {default: int8, doc: the element type}
inputs:
  - {name: x, shape: [2, 24, 15, 13], dtype: $dtype}
ops:
  - {name: mult2, op: conv2d, inputs: [x], K: 48, R: 3, S: 3, pad: 1, groups: 24}
  - {name: dw, op: conv2d, inputs: [mult2.out], K: 48, R: 5, S: 3, stride_h: 2, stride_w: 1, pad_h: 2, pad_w: 0, groups: 48}
  - {name: grp, op: conv2d, inputs: [dw.out], K: 32, R: 3, S: 3, pad: 1, groups: 4}
)");
  for (const char* arch : {"tpu_lab", "tpu_v4"})
    for (const char* dtype : {"int8", "bf16"}) {
      const Cli r = run_cli({"run", "--arch", arch, "--workload", w, "--param",
                             std::string("dtype=") + dtype, "--out", dir + "/out"});
      INFO(arch << " " << dtype << ": " << r.output);
      CHECK(r.status == 0);
      CHECK_THAT(r.output, Contains("functional check: passed"));
    }
  // os and is dataflows, and a chip of two lab cores.
  for (const char* set : {"array.dataflow=os", "array.dataflow=is", "chip.cores=2"}) {
    const Cli r =
        run_cli({"run", "--arch", "tpu_lab", "--set", set, "--workload", w, "--out", dir + "/out"});
    INFO(set << ": " << r.output);
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Contains("functional check: passed"));
  }
}
