// The TPU target's passes (layout, tiling, isel) in process: each one dumps, the tile IR of a
// small GEMM has the number of tiles the documented tiling rule gives (docs/models/tpu.md), and
// each verifier turns a broken IR into an "internal: " Error naming the pass, the layer and the
// tile or instruction.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <variant>

#include "compiler/ir/frontend.h"
#include "compiler/passes/passes.h"
#include "compiler/target.h"
#include "compiler/targets/tpu/passes.h"
#include "models/core/config.h"

using namespace xpusim;
using namespace xpusim::compiler;
using namespace xpusim::compiler::tpu;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// A graph after the graph passes.
Graph graph_of(const std::string& text) {
  Graph g = parse_workload(text, "test.yaml");
  run_graph_passes(g, Dump{});
  return g;
}

Graph smoke_graph() {
  Graph g = load_workload(std::string(XPUSIM_SOURCE_DIR) + "/workloads/smoke/tpu-int8.yaml");
  run_graph_passes(g, Dump{});
  return g;
}

// C (40 x 20) = A (40 x 50) x B (50 x 20), int8: edge tiles in N and K on a 16x16 array.
const char* const kSmallGemm = R"(name: small-gemm
ops:
  - {name: g, op: gemm, M: 40, N: 20, K: 50, dtype: int8}
)";

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

struct Counts {
  int load = 0, gather = 0, load_weights = 0, matmul = 0, drain = 0, vector = 0, store = 0;
};

Counts count(const TileProgram& t) {
  Counts c;
  for (const TileLayer& l : t.layers)
    for (const Nest& n : l.nests)
      for (const TileOp& op : n.ops) {
        c.load += std::holds_alternative<Load>(op);
        c.gather += std::holds_alternative<Gather>(op);
        c.load_weights += std::holds_alternative<LoadWeights>(op);
        c.matmul += std::holds_alternative<Matmul>(op);
        c.drain += std::holds_alternative<Drain>(op);
        c.vector += std::holds_alternative<Vector>(op);
        c.store += std::holds_alternative<Store>(op);
      }
  return c;
}

// The tiles of a graph on `arch` (tpu_lab) with `sets`, verified; the row blocks stream as one
// matmul per weight load (the documented rule) unless `sets` says otherwise
// (lowering.cut_streams).
TileProgram tiles_of(const Graph& g, std::vector<std::string> sets,
                     const std::string& arch = "tpu_lab") {
  sets.insert(sets.begin(), "lowering.cut_streams=false");
  const ArchConfig cfg = load_arch(arch, sets);
  const TpuParams p(cfg.values);
  const LayoutPlan plan = layout(g, p, cfg.name);
  verify_layout(g, plan, p);
  TileProgram t = tiling(g, plan, p, cfg.name);
  verify_tiling(t, p);
  return t;
}

// A graph of one op (`op`, one line of YAML) lowered pipelined on `arch`.
TileProgram pipelined(const std::string& op, const std::string& arch) {
  return tiles_of(graph_of("name: c\nops:\n  - " + op + "\n"), {"lowering.single_step=false"},
                  arch);
}

// A convolution (`op`, one line of YAML) lowered pipelined on tpu_v1, its A formed on chip.
TileProgram onchip_v1(const std::string& op) {
  TileProgram t = pipelined(op, "tpu_v1");
  const std::string& title = t.layers.at(0).nests.at(0).title;
  INFO(title);
  REQUIRE_THAT(title, Contains("A formed on chip"));
  return t;
}

template <typename Op>
Op& first(TileProgram& t) {
  for (TileOp& op : t.layers.at(0).nests.at(0).ops)
    if (auto* o = std::get_if<Op>(&op)) return *o;
  throw std::logic_error("no such op in the first nest");
}

}  // namespace

TEST_CASE("tpu passes: the target lists its passes and each one dumps") {
  const ArchConfig cfg = load_arch("tpu_lab", {"lowering.cut_streams=false"});
  const Graph g = smoke_graph();
  const auto target = find_target("tpu").make(cfg);
  REQUIRE(target->pass_names() == std::vector<std::string>{"layout", "tiling", "isel", "lower"});
  std::ostringstream out;
  const Lowered low = target->lower(g, Dump{{"layout", "tiling", "isel", "lower"}, &out});
  const std::string text = out.str();
  // layout: a table with every tensor's address, bytes and layout.
  REQUIRE_THAT(text, Contains("# TPU DRAM layout after pass 'layout'"));
  REQUIRE_THAT(text, Contains("conv.w"));
  REQUIRE_THAT(text, Contains("conv-weight"));
  REQUIRE_THAT(text, Contains("nhwc"));
  // tiling: layers, nests and one line per tile op.
  REQUIRE_THAT(text, Contains("# TPU tile IR after pass 'tiling'"));
  REQUIRE_THAT(text, Contains("layer 0 'conv+relu'"));
  // The conv's first row block (24 output pixels) formed on chip from the image rows it reads
  // (6 image rows of 17 pixels of 5 channels), loaded once into the tail of ub.A0 (its 98,304 B
  // less the largest band, the second block's 9 rows: 765 B rounded up to 64).
  REQUIRE_THAT(text, Contains("load         image[0:102, 0:5] -> ub.A0+0x17d00  (one run of 510 B "
                              "at 0x0)"));
  REQUIRE_THAT(text, Contains("im2col       A[0:24, 0:16] -> ub.A0  (from image rows 0 to 6 at "
                              "ub.A0+0x17d00)"));
  REQUIRE_THAT(text, Contains("matmul       ub.A0 x mxu0.fifo -> acc.0 (set) 24x16x16 int8"));
  REQUIRE_THAT(text, Contains("drain        acc.0 -> ub.O0 24x16 int8 (relu"));
  // isel and lower: the same assembly, the final program.
  const std::string program = low.program->disassemble();
  REQUIRE_THAT(text, Contains("# TPU program after pass 'isel'\n" + program));
  REQUIRE_THAT(text, Contains("# TPU program after pass 'lower'\n" + program));
}

TEST_CASE("tpu passes: a small GEMM has the tiles of the documented rule") {
  const Graph g = graph_of(kSmallGemm);
  // tpu_lab: 16x16 array, one array, UB 256 KiB (operand regions Qa of 96 KiB, output regions
  // Qo of 32 KiB), accumulators 64 KiB (32 KiB per array region), weight tile 512 B. M = 40,
  // N = 20, K = 50, int8 (e = 1).
  struct Case {
    std::vector<std::string> sets;
    int m_tiles, n_tiles, k_tiles;
    bool a_kept;
  };
  const std::vector<Case> cases = {
      // ws: Kt = min(K, 16) = 16, Nt = min(N, 16, 512 / 16) = 16,
      // Mt = min(M, 32768 / (16 * 4), 98304 / 16, 32768 / 16) = 40; a 40 x 50 block fits Qa.
      {{}, 1, 2, 4, true},
      // os: Mt = min(M, 16) = 16, Nt = min(N, 16) = 16, Kt = min(K, 512 / 16, 98304 / 16) = 32.
      {{"array.dataflow=os"}, 3, 2, 2, true},
      // is: Kt = min(K, 16) = 16, Mt = min(M, 16) = 16,
      // Nt = min(N, 512 / 16, 32768 / (16 * 4), 32768 / 16) = 20.
      {{"array.dataflow=is"}, 3, 1, 4, true},
      // ws with a 4 KiB UB: regions of 1 KiB, Mt = min(40, 512, 1024 / 16, 1024 / 16) = 40 as
      // before, but the 40 x 50 row block (2000 B) no longer fits: A is loaded per matmul.
      {{"ub.bytes=4096"}, 1, 2, 4, false},
  };
  for (const Case& c : cases) {
    INFO((c.sets.empty() ? std::string("ws") : c.sets[0]));
    const Counts n = count(tiles_of(g, c.sets));
    const int outputs = c.m_tiles * c.n_tiles, products = outputs * c.k_tiles;
    // Each output tile: k_tiles weight loads and matmuls, one drain, one store. A: one load per
    // (row block, K tile) when the row block is kept, else one per matmul.
    REQUIRE(n.load == (c.a_kept ? c.m_tiles * c.k_tiles : products));
    REQUIRE(n.load_weights == products);
    REQUIRE(n.matmul == products);
    REQUIRE(n.drain == outputs);
    REQUIRE(n.store == outputs);
    REQUIRE(n.gather == 0);
    REQUIRE(n.vector == 0);
  }
}

// The matmuls of the first nest, in issue order.
std::vector<Matmul> matmuls(const TileProgram& t, size_t nest = 0) {
  std::vector<Matmul> out;
  for (const TileOp& op : t.layers.at(0).nests.at(nest).ops)
    if (const auto* m = std::get_if<Matmul>(&op)) out.push_back(*m);
  return out;
}

// The matmuls of a one-GEMM graph's first nest on tpu_lab.
std::vector<Matmul> gemm_matmuls(int M, int N, int K, const char* dtype) {
  return matmuls(tiles_of(graph_of(fmt::format("name: g\nops:\n  - {{name: g, op: gemm, M: {}, N: "
                                               "{}, K: {}, dtype: {}}}\n",
                                               M, N, K, dtype)),
                          {}));
}

TEST_CASE("tpu passes: a core's first and last row blocks stream in cuts against one weight load") {
  // The small GEMM's one row block of 40 rows (first and last) in cuts of at least a quarter of
  // the 16 array rows, at most 4, rounded to 8 rows: ceil(40 / 4) = 10 -> 16, 16, 8.
  const Graph g = graph_of(kSmallGemm);
  const TileProgram t = tiles_of(g, {"lowering.cut_streams=true"});
  const Counts n = count(t);
  const int products = 2 * 4, cuts = 3;  // N tiles x K tiles
  REQUIRE(n.load_weights == products);   // one weight load per N x K tile, as without cuts
  REQUIRE(n.matmul == products * cuts);
  REQUIRE(n.load == 4 * cuts);  // each K tile's A in cuts, each loaded once for both N tiles
  REQUIRE(n.drain == 2 * cuts);
  const std::vector<Matmul> mm = matmuls(t);
  const uint64_t rows[] = {16, 16, 8};
  for (size_t i = 0; i < mm.size(); ++i) {
    INFO("matmul " << i);
    // Per weight load: the first cut pops the FIFO, the others keep its tile; each cut into
    // its rows of the tile's accumulator slot (rows of N tile 0's 16 columns, then of N tile
    // 1's 4, of 4 bytes each).
    const uint64_t nt = i < 12 ? 16 : 4;
    REQUIRE(mm[i].m == rows[i % 3]);
    REQUIRE(mm[i].keep == (i % 3 != 0));
    REQUIRE(mm[i].acc.index == mm[i - i % 3].acc.index);
    REQUIRE(mm[i].acc.offset == (i % 3) * 16 * nt * 4);
  }
  // Without a weight-stationary array with fold overlap, no cuts.
  for (const char* set : {"array.dataflow=os", "array.fold_overlap=false"})
    for (const Matmul& m : matmuls(tiles_of(g, {"lowering.cut_streams=true", set})))
      REQUIRE(!m.keep);
}

TEST_CASE("tpu passes: a block of many matmuls an array streams in cuts where the arrays bind") {
  // Four N tiles of 16 on four arrays, 20 K steps of 16 (M = 64): 20 matmuls an array, more
  // than kCutMatmuls. At 1000 GB/s the arrays (20 x 64 cycles) take longer than the DRAM moves
  // A, B and C (28 KiB, about 14 cycles), so the block streams in cuts; at 1 GB/s (about 14,000
  // cycles) the DRAM binds and it does not.
  const Graph g = graph_of(R"(name: g
ops:
  - {name: g, op: gemm, M: 64, N: 64, K: 320, dtype: int8}
)");
  auto kept = [&](const char* bandwidth) {
    int n = 0;
    for (const Matmul& m : matmuls(tiles_of(g, {"lowering.cut_streams=true", "array.count=4",
                                                std::string("dram.bandwidth_gbps=") + bandwidth})))
      n += m.keep;
    return n;
  };
  CHECK(kept("1000") > 0);
  CHECK(kept("1") == 0);
}

TEST_CASE("tpu passes: the arrays of a core take a group of output tiles, K step by K step") {
  // Four 16x16 arrays; N = 64 is four N tiles of 16, K = 50 four K tiles: one group.
  const Graph g = graph_of(R"(name: g
ops:
  - {name: g, op: gemm, M: 40, N: 64, K: 50, dtype: int8}
)");
  const std::vector<Matmul> mm = matmuls(tiles_of(g, {"array.count=4"}));
  REQUIRE(mm.size() == 16);
  for (size_t i = 0; i < mm.size(); ++i) {
    INFO("matmul " << i);
    // Each K step feeds every array in turn: array i % 4, into its own accumulator slot; the
    // first K step sets the slots, the later ones accumulate.
    REQUIRE(mm[i].weights.index == i % 4);
    REQUIRE(mm[i].acc.index == i % 4);
    REQUIRE(mm[i].accumulate == (i >= 4));
    REQUIRE(mm[i].m == 40);
  }
}

TEST_CASE(
    "tpu passes: a round's drains go in the order their cuts are ready, each to its own bytes") {
  // Four N tiles of 16 on four 16x16 arrays, 2 K steps, 40 rows in cuts of 16, 16 and 8: the
  // arrays start a weight tile's transfer (256 B) apart. At 1,000 GB/s that is under a cycle,
  // the four tiles' cuts are ready together, cut 0 of every tile before cut 1 of any; at
  // 1 GB/s (128 cycles at 500 MHz, longer than a tile's 40 rows) tile after tile.
  const Graph g = graph_of(R"(name: g
ops:
  - {name: g, op: gemm, M: 40, N: 64, K: 32, dtype: int8}
)");
  for (const auto& [bandwidth, cut_major] :
       {std::pair<const char*, bool>{"1000", true}, {"1", false}}) {
    INFO(bandwidth << " GB/s");
    const TileProgram t = tiles_of(g, {"lowering.cut_streams=true", "array.count=4",
                                       std::string("dram.bandwidth_gbps=") + bandwidth});
    std::vector<std::pair<uint32_t, uint64_t>> order;  // (slot: the N tile, first row)
    std::set<std::pair<uint32_t, uint64_t>> written;   // (O half, offset)
    for (const TileOp& op : t.layers.at(0).nests.at(0).ops)
      if (const auto* d = std::get_if<Drain>(&op)) {
        order.emplace_back(d->acc.index, d->acc.offset / (16 * 4));
        CHECK(written.insert({d->dst.index, d->dst.offset}).second);
      }
    std::vector<std::pair<uint32_t, uint64_t>> want;
    for (uint32_t i = 0; i < 12; ++i)
      want.emplace_back(cut_major ? i % 4 : i / 3, uint64_t(cut_major ? i / 4 : i % 3) * 16);
    CHECK(order == want);
  }
}

TEST_CASE("tpu passes: the arrays take turns at the K steps that do not divide among them") {
  // ResNet-50's layer2.0.conv2 on tpu_v4, pipelined: 784 rows in four row blocks of 200, two
  // per core, one N tile of 128, nine K steps of 128 shared by the four arrays of a core
  // (partial sums added by the drain). The array with a third K step in one block has two in
  // the next, so each core's arrays take 5, 5, 4 and 4 weight tiles, not 6, 6, 6 and 0. (The
  // weights read from DRAM by every block: kept in the UB, the blocks are smaller.)
  const Graph g = graph_of(R"(name: c
ops:
  - {name: c, op: conv2d, N: 1, C: 128, H: 56, W: 56, K: 128, R: 3, S: 3, stride: 2, pad: 1, dtype: bf16}
)");
  const TileProgram t =
      tiles_of(g, {"lowering.single_step=false", "lowering.keep_weights=false"}, "tpu_v4");
  REQUIRE(t.layers.at(0).nests.size() == 2);
  for (size_t core = 0; core < 2; ++core) {
    INFO("core " << core);
    std::vector<int> per_array(4, 0);
    for (const Matmul& m : matmuls(t, core)) ++per_array.at(m.weights.index);
    std::sort(per_array.begin(), per_array.end());
    REQUIRE(per_array == std::vector<int>{4, 4, 5, 5});
  }
}

TEST_CASE("tpu passes: with fewer N tiles than arrays the arrays share the rows") {
  // One N tile (N = 16) and four arrays of 16 rows: M = 64 is four row blocks of 16, one each,
  // every array loading the same weights.
  const Graph g = graph_of(R"(name: g
ops:
  - {name: g, op: gemm, M: 64, N: 16, K: 16, dtype: int8}
)");
  const std::vector<Matmul> mm = matmuls(tiles_of(g, {"array.count=4"}));
  REQUIRE(mm.size() == 4);
  for (size_t i = 0; i < mm.size(); ++i) {
    INFO("matmul " << i);
    REQUIRE(mm[i].weights.index == i);
    REQUIRE(mm[i].m == 16);
    REQUIRE(mm[i].a.offset == i * 16 * 16);  // rows 16 i.. of the 64 x 16 A tile
  }
}

TEST_CASE("tpu passes: N tiles that leave the last group half idle go in row parts") {
  // Six N tiles of 16 on four arrays: groups of 4 and 2 jobs, two arrays idle in the second.
  // In two parts of 32 rows, the 12 items make three full groups (3 x 32 cycles of streams an
  // array, not 2 x 64), taken while the weight DMA keeps up: each part loads its weight tile
  // again, 12 tiles of 256 bytes, 2 cycles at 1000 GB/s and 500 MHz (the arrays take 96); at
  // 4 GB/s (384 cycles, more than the arrays take) the jobs stay whole.
  const Graph g = graph_of(R"(name: g
ops:
  - {name: g, op: gemm, M: 64, N: 96, K: 16, dtype: int8}
)");
  auto per_array = [&](const char* bandwidth) {
    const std::vector<Matmul> mm =
        matmuls(tiles_of(g, {"array.count=4", std::string("dram.bandwidth_gbps=") + bandwidth}));
    std::vector<int> n(4, 0);
    for (const Matmul& m : mm) n.at(m.weights.index) += int(m.m);
    return n;
  };
  CHECK(per_array("1000") == std::vector<int>{96, 96, 96, 96});
  CHECK(per_array("4") == std::vector<int>{128, 128, 64, 64});
}

TEST_CASE("tpu passes: N tiles that do not fill the arrays are packed on them by K steps") {
  // Three N tiles of 16 on four 16x16 arrays, 16 K steps each (16 rows: one row part). In a
  // group, three arrays take 16 weight tiles each and the fourth none; packed, each takes 12
  // of the 48 (tile, K step) pairs in order: array 0 tile 0's steps 0-11, array 1 its steps
  // 12-15 and tile 1's 0-7, array 2 tile 1's 8-15 and tile 2's 0-3, array 3 tile 2's 4-15,
  // each piece into its own slot, side by side, so every drain adds its tile's two slots.
  const Graph g = graph_of(R"(name: g
ops:
  - {name: g, op: gemm, M: 16, N: 48, K: 256, dtype: int8}
)");
  const TileProgram t = tiles_of(g, {"array.count=4"});
  std::vector<int> per_array(4, 0);
  std::map<uint32_t, std::set<uint32_t>> slots;  // array -> the slots it writes
  for (const Matmul& m : matmuls(t)) {
    ++per_array.at(m.weights.index);
    slots[m.weights.index].insert(m.acc.index);
  }
  CHECK(per_array == std::vector<int>{12, 12, 12, 12});
  CHECK(slots ==
        std::map<uint32_t, std::set<uint32_t>>{{0, {0}}, {1, {1, 2}}, {2, {3, 4}}, {3, {5}}});
  std::vector<std::pair<uint32_t, uint32_t>> drains;  // (first slot, slots added)
  for (const TileOp& op : t.layers.at(0).nests.at(0).ops)
    if (const auto* d = std::get_if<Drain>(&op)) drains.emplace_back(d->acc.index, d->sum);
  CHECK(drains == std::vector<std::pair<uint32_t, uint32_t>>{{0, 2}, {2, 2}, {4, 2}});
}

TEST_CASE("tpu passes: without a kept row block the arrays still share a job's K steps") {
  // One N tile on four arrays; A's row block (32 x 2,048 int8) does not fit its 24 KiB A region
  // (ub.bytes 64 KiB), so each round loads the A tiles of its K steps: the four arrays take
  // four K steps a round, each with its own A tile, loaded once, and the drain adds their slots.
  const Graph g = graph_of(R"(name: g
ops:
  - {name: g, op: gemm, M: 32, N: 16, K: 2048, dtype: int8}
)");
  const TileProgram t = tiles_of(g, {"array.count=4", "ub.bytes=65536"});
  std::map<uint32_t, uint64_t> fifo_k;                    // array -> K of its weights
  std::map<std::pair<uint32_t, uint64_t>, uint64_t> a_k;  // A place -> K of its columns
  std::vector<int> per_array(4, 0);
  std::set<uint64_t> loaded;
  for (const TileOp& op : t.layers.at(0).nests.at(0).ops) {
    if (const auto* w = std::get_if<LoadWeights>(&op)) fifo_k[w->dst.index] = w->src.r0;
    if (const auto* l = std::get_if<Load>(&op)) {
      CHECK(loaded.insert(l->src.c0).second);  // each K step's A once
      a_k[{l->dst.index, l->dst.offset}] = l->src.c0;
    }
    if (const auto* m = std::get_if<Matmul>(&op)) {
      ++per_array.at(m->weights.index);
      CHECK(a_k.at({m->a.index, m->a.offset}) == fifo_k.at(m->weights.index));
    }
    if (const auto* d = std::get_if<Drain>(&op)) CHECK(d->sum == 4);
  }
  CHECK(loaded.size() == 2048 / 16);
  CHECK(per_array == std::vector<int>{32, 32, 32, 32});
}

TEST_CASE(
    "tpu passes: a narrow last N tile takes its K steps with a whole tile's where the "
    "weights bind") {
  // One 16x16 array, N = 20: a whole N tile and one of 4 columns, 64 K steps, 40 rows. At 1 GB/s
  // (0.5 B a cycle at 500 MHz) a whole tile's weights (256 B) take 512 cycles to arrive, its 40
  // rows 40 to stream: the two tiles alternate K step by K step, so that the narrow tile's
  // stream hides part of the next whole tile's read (64 x 40 cycles saved, more than the 1,280
  // the whole tile's output then waits). At 16 GB/s (8 cycles a tile) one tile after the other.
  const Graph g = graph_of(R"(name: g
ops:
  - {name: g, op: gemm, M: 40, N: 20, K: 1024, dtype: int8}
)");
  for (const auto& [bandwidth, together] :
       {std::pair<const char*, bool>{"1", true}, {"16", false}}) {
    INFO(bandwidth << " GB/s");
    const TileProgram t = tiles_of(g, {std::string("dram.bandwidth_gbps=") + bandwidth});
    std::vector<uint64_t> columns;  // the first column of B of each weight load, in order
    for (const TileOp& op : t.layers.at(0).nests.at(0).ops)
      if (const auto* w = std::get_if<LoadWeights>(&op)) columns.push_back(w->src.c0);
    REQUIRE(columns.size() == 2 * 64);
    for (size_t i = 0; i < columns.size(); ++i) {
      INFO("load " << i);
      CHECK(columns[i] == (together ? i % 2 : i / 64) * 16);
    }
    std::set<uint32_t> slots;  // the two tiles' sums in slots of their own
    for (const TileOp& op : t.layers.at(0).nests.at(0).ops)
      if (const auto* d = std::get_if<Drain>(&op)) slots.insert(d->acc.index);
    CHECK(slots.size() == 2);
  }
}

TEST_CASE("tpu passes: a chip's cores get row blocks of the same size") {
  // M = 48 fits one row block; on two cores it becomes two of 24 rows (at least the array's
  // 16), one per core, rather than the N tiles of one block shared.
  const Graph g = graph_of(R"(name: g
ops:
  - {name: g, op: gemm, M: 48, N: 32, K: 16, dtype: int8}
)");
  const TileProgram t = tiles_of(g, {"chip.cores=2"});
  REQUIRE(t.layers.at(0).nests.size() == 2);
  for (size_t core = 0; core < 2; ++core) {
    INFO("core " << core);
    const std::vector<Matmul> mm = matmuls(t, core);
    REQUIRE(mm.size() == 2);  // both N tiles of its row block
    for (const Matmul& m : mm) REQUIRE(m.m == 24);
  }
}

TEST_CASE("tpu passes: a chip's cores take as many rows as each other where blocks divide") {
  // ResNet-50's layer3.0.conv1 on tpu_v4, pipelined: 784 x 256 x 512 bf16 in four row blocks
  // of at most 200 rows, two a core. Blocks of 200 rows and a last of 184 gave core 0 400 rows
  // and core 1 384, and the chip waited for core 0; blocks of 200, 200, 192 and 192 give each
  // core 392 rows.
  const TileProgram t = pipelined(
      "{name: c, op: conv2d, N: 1, C: 512, H: 28, W: 28, K: 256, R: 1, S: 1, stride: 1, pad: 0, "
      "dtype: bf16}",
      "tpu_v4");
  const std::vector<Nest>& nests = t.layers.at(0).nests;
  REQUIRE(nests.size() == 2);
  std::set<uint64_t> rows;  // every row of A, loaded once (its first K columns)
  for (const Nest& n : nests) {
    INFO(n.title);
    REQUIRE_THAT(n.title, Contains("every 2th row block"));
    uint64_t core_rows = 0;
    for (const TileOp& op : n.ops)
      if (const auto* l = std::get_if<Load>(&op); l && l->src.operand == "A" && l->src.c0 == 0) {
        core_rows += l->src.rows;
        for (uint64_t r = l->src.r0; r < l->src.r0 + l->src.rows; ++r)
          REQUIRE(rows.insert(r).second);
      }
    CHECK(core_rows == 392);
  }
  CHECK(rows.size() == 784);
}

// GEMM `op` pipelined on tpu_v4, a row block a core: checks that each core has `tiles` N tiles,
// each with its K steps on two arrays, and returns each core's N tiles in the order of their
// first weight loads.
static std::vector<std::vector<uint64_t>> paired_tiles(const std::string& op, size_t tiles) {
  const TileProgram t = pipelined(op, "tpu_v4");
  const std::vector<Nest>& nests = t.layers.at(0).nests;
  REQUIRE(nests.size() == 2);
  std::vector<std::vector<uint64_t>> orders;
  for (const Nest& n : nests) {
    INFO(n.title);
    std::map<uint64_t, std::set<uint32_t>> arrays;  // N tile -> the arrays of its K steps
    std::vector<uint64_t>& order = orders.emplace_back();
    for (const TileOp& o : n.ops)
      if (const auto* w = std::get_if<LoadWeights>(&o)) {
        arrays[w->src.c0].insert(w->dst.index);
        if (std::find(order.begin(), order.end(), w->src.c0) == order.end())
          order.push_back(w->src.c0);
      }
    REQUIRE(arrays.size() == tiles);
    for (const auto& [n0, a] : arrays) CHECK(a.size() == 2);
  }
  return orders;
}

TEST_CASE(
    "tpu passes: a core's only block of few K steps goes in groups whose results store early") {
  // 1329 x 490 x 181 bf16: four N tiles of two K steps a core on four arrays. In one group (an
  // N tile an array) every result is stored after the last round; in two groups of two N
  // tiles, each N tile's K steps on two arrays, the first group's results are stored while the
  // second multiplies (3,017 -> 2,525 cycles).
  for (const std::vector<uint64_t>& order :
       paired_tiles("{name: g, op: gemm, M: 1329, N: 490, K: 181, dtype: bf16}", 4))
    // The first two N tiles' weights before the last two's.
    CHECK(std::set<uint64_t>(order.begin(), order.begin() + 2) == std::set<uint64_t>{0, 128});
}

TEST_CASE("tpu passes: a group's drain overlaps the next group's products") {
  // 1457 x 910 x 138 bf16: eight N tiles of two K steps a core on four arrays. Counted as if
  // every drain came after the last products, groups of two N tiles (each N tile's K steps on
  // two arrays) drain twice the slots of groups of four and seemed to end later; each group's
  // drain runs while the next multiplies, and its stores then (4,455 -> 4,044 cycles).
  paired_tiles("{name: g, op: gemm, M: 1457, N: 910, K: 138, dtype: bf16}", 8);
}

TEST_CASE(
    "tpu passes: a core's last K steps spread over its arrays so that half its N tiles end "
    "sooner") {
  // 512 x 512 x 512 bf16 on tpu_v4: a core's 256 rows of four N tiles of four K steps, an N tile
  // an array. In that order every result is stored after the last round; with each N tile's last
  // two K steps on two arrays, two N tiles end a round sooner and their results are stored
  // while the other two multiply (2,353 -> 2,215 cycles).
  const TileProgram t =
      pipelined("{name: g, op: gemm, M: 512, N: 512, K: 512, dtype: bf16}", "tpu_v4");
  const std::vector<Nest>& nests = t.layers.at(0).nests;
  REQUIRE(nests.size() == 2);
  for (const Nest& n : nests) {
    INFO(n.title);
    size_t last = 0;  // the last matmul's place
    for (size_t i = 0; i < n.ops.size(); ++i)
      if (std::holds_alternative<Matmul>(n.ops[i])) last = i;
    std::set<uint64_t> early, all;  // the N tiles stored before it, and all
    for (size_t i = 0; i < n.ops.size(); ++i)
      if (const auto* st = std::get_if<Store>(&n.ops[i])) {
        all.insert(st->dst.c0);
        if (i < last) early.insert(st->dst.c0);
      }
    CHECK(all.size() == 4);
    CHECK(early.size() == 2);
  }
}

TEST_CASE("tpu passes: one core's row blocks are of the same size too") {
  // 49 rows of K = 2048 bf16: a row block kept in both A regions (2 x 96 KiB) holds 48 rows.
  // Blocks of 48 and 1 would stream 1 row against every weight tile again (a weight load of
  // 16 cycles for each); two blocks of 32 and 17 rows stream at least 16 each.
  const std::vector<Matmul> mm = gemm_matmuls(49, 32, 2048, "bf16");
  REQUIRE(mm.size() == 2 * 2 * 128);  // 2 blocks x 2 N tiles x 128 K steps
  for (const Matmul& m : mm) REQUIRE(m.m >= 16);
}

TEST_CASE("tpu passes: rows kept in the UB yield to longer streams the weight FIFO keeps up with") {
  // 32 rows of K = 4096 int8 (128 KiB) do not fit an A region (96 KiB): blocks of 16 rows
  // that fit read B twice, and each weight tile streams 16 rows, while the 4-deep FIFO passes
  // one at most every (8 + 50 + 16) / 4 = 18.5 cycles; one block of 32 rows, A read again for
  // each of the 4 N tiles, moves about as many bytes and streams 32 rows a tile.
  const std::vector<Matmul> mm = gemm_matmuls(32, 64, 4096, "int8");
  REQUIRE(mm.size() == 4 * 256);  // 4 N tiles x 256 K steps, one block
  for (const Matmul& m : mm) REQUIRE(m.m == 32);
}

TEST_CASE("tpu passes: the tiling verifier catches broken tile IR") {
  const Graph g = graph_of(kSmallGemm);
  const TpuParams p(load_arch("tpu_lab").values);
  const TileProgram good = tiles_of(g, {});

  SECTION("a tile larger than its region") {
    TileProgram t = good;
    first<Load>(t).dst.offset = t.a_bytes - 8;
    const std::string msg = error_of([&] { verify_tiling(t, p); });
    REQUIRE_THAT(msg,
                 StartsWith("internal: pass 'tiling' verifier: layer 0 'g', nest 0, tile op 1"));
    REQUIRE_THAT(msg, Contains("does not fit the region (98304 B)"));
  }
  SECTION("regions beyond the unified buffer") {
    TileProgram t = good;
    t.a_bytes *= 2;
    REQUIRE_THAT(error_of([&] { verify_tiling(t, p); }),
                 Contains("exceed the unified buffer (262144 B)"));
  }
  SECTION("an array that does not exist") {
    TileProgram t = good;
    first<LoadWeights>(t).dst.index = 3;
    REQUIRE_THAT(error_of([&] { verify_tiling(t, p); }),
                 Contains("mxu3.fifo: the core has 1 array(s)"));
  }
  SECTION("a matmul wider than the array") {
    TileProgram t = good;
    first<Matmul>(t).k = 17;
    REQUIRE_THAT(error_of([&] { verify_tiling(t, p); }),
                 Contains("weight-stationary needs k <= 16 and n <= 16"));
  }
  SECTION("a consumer that disagrees with its producer") {
    TileProgram t = good;
    first<Drain>(t).cols = 8;
    REQUIRE_THAT(error_of([&] { verify_tiling(t, p); }),
                 Contains("reads acc.0 (the accumulators) as 40x8, written as 40x16"));
  }
  SECTION("a zero-sized tile") {
    TileProgram t = good;
    first<Matmul>(t).m = 0;
    REQUIRE_THAT(error_of([&] { verify_tiling(t, p); }), Contains("a tile dimension is zero"));
  }
}

TEST_CASE("tpu passes: the layout and isel verifiers catch broken output") {
  const Graph g = graph_of(kSmallGemm);
  const ArchConfig cfg = load_arch("tpu_lab");
  const TpuParams p(cfg.values);
  const LayoutPlan good = layout(g, p, cfg.name);

  SECTION("overlapping tensors") {
    LayoutPlan plan = good;
    plan.tensors[1].addr = plan.tensors[0].addr;
    REQUIRE_THAT(error_of([&] { verify_layout(g, plan, p); }),
                 StartsWith("internal: pass 'layout' verifier:") && Contains("overlaps"));
  }
  SECTION("an unplaced tensor") {
    LayoutPlan plan = good;
    plan.tensors[2].addr = kUnplaced;
    REQUIRE_THAT(error_of([&] { verify_layout(g, plan, p); }),
                 Contains("tensor '" + g.tensors[2].name + "' is not placed"));
  }
  SECTION("a tensor beyond DRAM") {
    LayoutPlan plan = good;
    plan.tensors[0].addr = p.dram_bytes - kAlign;
    REQUIRE_THAT(error_of([&] { verify_layout(g, plan, p); }), Contains("is outside DRAM"));
  }

  const TileProgram tiles = tiling(g, good, p, cfg.name);
  const std::vector<isa::tpu::Instr> code = isel(tiles);
  REQUIRE_NOTHROW(verify_isel(g, code, p));
  SECTION("no halt at the end") {
    std::vector<isa::tpu::Instr> c = code;
    c.pop_back();
    REQUIRE_THAT(error_of([&] { verify_isel(g, c, p); }),
                 Contains("internal: pass 'isel' verifier: the program does not end with halt"));
  }
  SECTION("an accumulator address beyond the accumulators") {
    std::vector<isa::tpu::Instr> c = code;
    size_t i = 0;
    while (c[i].op != isa::tpu::Opcode::matmul) ++i;
    c[i].src = uint32_t(p.acc_bytes - 64);
    const std::string msg = error_of([&] { verify_isel(g, c, p); });
    REQUIRE_THAT(msg,
                 StartsWith(fmt::format(
                     "internal: pass 'isel' verifier: layer 0 'g', instruction {} (matmul", i)));
    REQUIRE_THAT(msg, Contains("the accumulator range"));
  }
}

TEST_CASE("tpu passes: what the target cannot lower is still a user error") {
  // A tiling failure of the workload (no GEMM tile fits) names the op, not a pass.
  const Graph g = graph_of(kSmallGemm);
  const ArchConfig cfg = load_arch("tpu_lab", {"weight_fifo.tile_bytes=8"});
  const auto target = find_target("tpu").make(cfg);
  REQUIRE_THAT(error_of([&] { target->lower(g, Dump{}); }),
               StartsWith("test.yaml") && Contains("op 'gemm' (node 'g') cannot be lowered to "
                                                   "target 'tpu_lab': no 40x20x50 GEMM tile"));
}

TEST_CASE("tpu passes: reshapes alias their input, transposes are DMA pieces") {
  const Graph g = graph_of(R"(name: copies
inputs:
  - {name: x, shape: [6, 32], dtype: int8}
  - {name: m, shape: [5, 7], dtype: int8}
ops:
  - {name: split, op: reshape, inputs: [x], shape: [2, 3, 4, 8]}
  - {name: heads, op: transpose, inputs: [split.out], perm: [0, 2, 1, 3]}
  - {name: mt, op: transpose, inputs: [m], perm: [1, 0]}
  - {name: ones, op: reshape, inputs: [m], shape: [5, 1, 7]}
  - {name: moved, op: transpose, inputs: [ones.out], perm: [1, 0, 2]}
)");
  const ArchConfig cfg = load_arch("tpu_lab");
  const TpuParams p(cfg.values);
  const LayoutPlan plan = layout(g, p, cfg.name);
  REQUIRE_NOTHROW(verify_layout(g, plan, p));
  auto id = [&](const std::string& name) {
    for (size_t t = 0; t < g.tensors.size(); ++t)
      if (g.tensors[t].name == name) return int(t);
    throw std::logic_error("no tensor " + name);
  };
  // A reshape, and a transpose that moves only a dim of 1, share their input's bytes.
  CHECK(plan.alias[size_t(id("split.out"))] == id("x"));
  CHECK(plan.tensors[size_t(id("split.out"))].addr == plan.tensors[size_t(id("x"))].addr);
  CHECK(plan.alias[size_t(id("moved.out"))] == id("m"));
  CHECK(plan.alias[size_t(id("heads.out"))] == -1);
  CHECK(plan.alias[size_t(id("mt.out"))] == -1);

  const TileProgram t = tiles_of(g, {});
  REQUIRE(t.layers.size() == 5);
  CHECK(t.layers[0].nests.empty());  // split: nothing moves
  CHECK(t.layers[3].nests.empty());
  CHECK(t.layers[4].nests.empty());
  // heads: (2, 3, 4, 8) -> (2, 4, 3, 8), one piece per (b, h): 3 rows of 8 bytes, 32 apart.
  const std::vector<TileOp>& h = t.layers[1].nests.at(0).ops;
  REQUIRE(h.size() == 2 * 2 * 4);
  const Load& first_h = std::get<Load>(h[0]);
  CHECK(first_h.src.rows == 3);
  CHECK(first_h.src.cols == 8);
  CHECK(first_h.src.stride == 32);
  const Load& second_h = std::get<Load>(h[2]);
  CHECK(second_h.src.addr == first_h.src.addr + 8);  // the next head
  CHECK(std::get<Store>(h[1]).dst.run);
  // mt: (5, 7) -> (7, 5), one output row per piece: 5 single elements, 7 apart.
  const std::vector<TileOp>& m = t.layers[2].nests.at(0).ops;
  REQUIRE(m.size() == 2 * 7);
  const Load& col = std::get<Load>(m[2]);
  CHECK(col.src.rows == 5);
  CHECK(col.src.cols == 1);
  CHECK(col.src.stride == 7);
  CHECK(col.src.addr == plan.tensors[size_t(id("m"))].addr + 1);
  CHECK(std::get<Store>(m[3]).dst.addr == plan.tensors[size_t(id("mt.out"))].addr + 5);
}

TEST_CASE(
    "tpu passes: an attention's heads between a core's first and last are cut only when "
    "their streams are short") {
  // Four heads on tpu_v4's two cores (heads 0 and 2 on core 0, 1 and 3 on core 1); each head is
  // S = Q K^T, a softmax, O = P V. A core's first S and last O are cut (nothing of the op before
  // or after them to overlap their fill and drain); the GEMMs between are cut only when each
  // array streams for less than the fill: 64 tokens, yes; 1024 tokens, no. (Pipelined: the
  // O GEMMs of the short heads would run in one step.)
  auto cut_gemms = [](int seq) {
    const Graph g = graph_of(fmt::format(R"(name: att
inputs:
  - {{name: q, shape: [1, 4, {0}, 64], dtype: bf16}}
  - {{name: k, shape: [1, 4, {0}, 64], dtype: bf16}}
  - {{name: v, shape: [1, 4, {0}, 64], dtype: bf16}}
ops:
  - {{name: attn, op: attention, inputs: [q, k, v], causal: true}}
)",
                                         seq));
    const TileProgram t =
        tiles_of(g, {"lowering.cut_streams=true", "lowering.single_step=false"}, "tpu_v4");
    std::vector<std::string> cut;  // "S0" for head 0's S, in program order
    int gemms = 0;
    for (const Nest& n : t.layers.at(0).nests) {
      if (n.title.rfind("gemm", 0) != 0) continue;
      const bool keep = std::any_of(n.ops.begin(), n.ops.end(), [](const TileOp& op) {
        const auto* m = std::get_if<Matmul>(&op);
        return m && m->keep;
      });
      if (keep) cut.push_back(fmt::format("{}{}", gemms % 2 ? "O" : "S", gemms / 2));
      ++gemms;
    }
    REQUIRE(gemms == 8);
    return cut;
  };
  REQUIRE(cut_gemms(64) ==
          std::vector<std::string>{"S0", "O0", "S1", "O1", "S2", "O2", "S3", "O3"});
  REQUIRE(cut_gemms(1024) == std::vector<std::string>{"S0", "S1", "O2", "O3"});
}

TEST_CASE(
    "tpu passes: a convolution of too few rows for a block per core counts what the second "
    "core reads again through the CMEM") {
  // ResNet-50's layer3.0.conv3 (196 x 1024 x 256) on tpu_v4, pipelined: 98 rows per core, under
  // the array's 128. A block per core has each core read all of the weights, the second core's
  // read from the CMEM; sharing the N tiles has each read all of A. With the CMEM the block per
  // core is the faster; without it, sharing the N tiles (the weights cross the HBM once).
  const Graph g = graph_of(R"(name: conv
ops:
  - {name: c, op: conv2d, N: 1, C: 256, H: 14, W: 14, K: 1024, R: 1, S: 1, stride: 1, pad: 0, dtype: bf16}
)");
  auto split = [&](const char* cmem) {
    const TileProgram t = tiles_of(g, {"lowering.single_step=false", cmem}, "tpu_v4");
    return t.layers.at(0).nests.at(0).title;
  };
  REQUIRE_THAT(split("cmem.bytes=134217728"), Contains("core 0 of 2 takes every 2th row block"));
  REQUIRE_THAT(split("cmem.bytes=0"), Contains("core 0 of 2 takes every 2th N tile"));
}

TEST_CASE(
    "tpu passes: a convolution formed on chip takes no more row blocks than its bands' "
    "latency allows") {
  // ResNet-50's conv1 (12544 x 64 x 147, 7x7 windows of stride 2) on tpu_v4, pipelined: each
  // block's band of image rows loads one block ahead (two slots), so a core's blocks take at
  // least a DRAM latency each. Without that latency the estimate takes shorter blocks.
  const Graph g = graph_of(R"(name: conv
ops:
  - {name: c, op: conv2d, N: 1, C: 3, H: 224, W: 224, K: 64, R: 7, S: 7, stride: 2, pad: 3, dtype: bf16}
)");
  auto rows = [&](const char* latency) {
    const TileProgram t = tiles_of(g, {"lowering.single_step=false", latency}, "tpu_v4");
    const std::string& title = t.layers.at(0).nests.at(0).title;
    INFO(title);
    REQUIRE_THAT(title, Contains("A formed on chip"));
    const size_t at = title.find("; tiles ") + 8;
    return std::stoul(title.substr(at, title.find('x', at) - at));
  };
  const unsigned long with = rows("dram.latency_ns=275"), without = rows("dram.latency_ns=0");
  INFO(with << " rows with the latency, " << without << " without");
  REQUIRE(with > without);
}

TEST_CASE("tpu passes: a convolution formed on chip in one block reads its weights once") {
  // ResNet-50's layer2.1.conv2 (784 x 128 x 1152 int8, 3x3) on tpu_v1, whose weights come from
  // DRAM only: two blocks read the weights twice (147 KiB more, about 3,000 of the DDR3's
  // cycles), while one block's products, setup and weight loads overlap K step by K step,
  // its band loaded before and its output stored after (the chain estimate). The estimate that
  // sums one block's stages took two blocks (11,273 cycles against 9,261).
  const Graph g = graph_of(R"(name: conv
ops:
  - {name: c, op: conv2d, N: 1, C: 128, H: 28, W: 28, K: 128, R: 3, S: 3, stride: 1, pad: 1, dtype: int8}
)");
  const TileProgram t = tiles_of(g, {}, "tpu_v1");
  const Nest& n = t.layers.at(0).nests.at(0);
  INFO(n.title);
  REQUIRE_THAT(n.title, Contains("A formed on chip"));
  REQUIRE_THAT(n.title, Contains("tiles 784x128x256"));
  REQUIRE(std::count_if(n.ops.begin(), n.ops.end(), [](const TileOp& op) {
            return std::holds_alternative<LoadWeights>(op);
          }) == 5);  // each of the 5 K steps' weight tiles once
}

TEST_CASE("tpu passes: a convolution bound by its stores takes fewer blocks that each read B") {
  // ResNet-50's stem on tpu_v1 (12544 x 64 x 147 int8, one K step): its 802 KB of output take
  // the DDR3 most of the run, and every row block reads the weights (9.4 KB) again. The first
  // block's products and drain come before any store, but the DRAM reads the later blocks'
  // bands and weights meanwhile; the estimate that put every store after all the reads took 10
  // blocks (22,529 cycles; forced in a throw-away build, 8 blocks ran 21,747 and 6 21,787). It
  // now takes 7 (21,482).
  const int blocks = count(onchip_v1("{name: c, op: conv2d, N: 1, C: 3, H: 224, W: 224, K: 64, "
                                     "R: 7, S: 7, stride: 2, pad: 3, dtype: int8}"))
                         .load_weights;  // one weight tile a block
  CHECK(blocks >= 2);
  CHECK(blocks <= 8);
}

TEST_CASE("tpu passes: a 1x1 convolution stores its first row blocks while later ones multiply") {
  // ResNet-50's layer3.0.conv1 on tpu_v4, pipelined: 784 x 256 x 512 bf16, its A read from
  // DRAM, each core's 392 rows against 8 weight tiles (4 K steps, 2 N tiles). In one row
  // block a core, every store waited for the block's last K step (2,106 cycles); in two a
  // core, the first block's results are stored while the second multiplies (1,989). The
  // estimate took one: it charged the weights a second block reads again to the DRAM, where
  // the CMEM serves them.
  const TileProgram t =
      tiles_of(graph_of(R"(name: c
ops:
  - {name: c, op: conv2d, N: 1, C: 512, H: 28, W: 28, K: 256, R: 1, S: 1, stride: 1, pad: 0, dtype: bf16}
)"),
               {"lowering.single_step=false", "lowering.cut_streams=true"}, "tpu_v4");
  const std::vector<Nest>& nests = t.layers.at(0).nests;
  REQUIRE(nests.size() == 2);
  for (const Nest& n : nests) {
    INFO(n.title);
    const auto first_store = std::find_if(n.ops.begin(), n.ops.end(), [](const TileOp& op) {
      return std::holds_alternative<Store>(op);
    });
    const auto last_matmul = std::find_if(n.ops.rbegin(), n.ops.rend(), [](const TileOp& op) {
      return std::holds_alternative<Matmul>(op);
    });
    REQUIRE(first_store != n.ops.end());
    REQUIRE(last_matmul != n.ops.rend());
    CHECK(first_store < last_matmul.base() - 1);  // a store before the core's last product
  }
}

TEST_CASE("tpu passes: the row-block estimate keeps A only where the lowering will") {
  // A 7x7 convolution of 197 channels on 57 x 59 pixels to 263 on tpu_v4_core, pipelined:
  // 2703 x 263 x 9653 bf16, A formed on chip, weights kept in the UB. The estimate counted a
  // block's A as kept across its N tiles where the A region less the kept weights held it,
  // without the band's room, which the lowering takes out too: it took blocks of 208 rows,
  // which it timed with their K steps packed on the arrays, and the lowering, not keeping
  // them, ran them unpacked (207,087 cycles; smaller blocks, kept: 157,543).
  const TileProgram t = pipelined(
      "{name: c, op: conv2d, N: 1, C: 197, H: 57, W: 59, K: 263, R: 7, S: 7, stride: 1, pad: 0, "
      "dtype: bf16}",
      "tpu_v4_core");
  const std::vector<Nest>& nests = t.layers.at(0).nests;
  REQUIRE(nests.size() == 1);
  INFO(nests[0].title);
  CHECK(nests[0].title.find("A formed on chip") != std::string::npos);
  CHECK(nests[0].title.find("A row block kept across N") != std::string::npos);
}

TEST_CASE("tpu passes: a convolution formed on chip keeps its weights in the UB across blocks") {
  // ResNet-50's layer2.0.conv2 on tpu_v4, pipelined: each core runs several row blocks of A
  // formed on chip against the same nine weight tiles. Kept (lowering.keep_weights), a core
  // loads each tile into the UB once, before the first ldweight that reads it, and every block
  // feeds its arrays from there; not kept, every block reads the tiles from DRAM.
  const Graph g = graph_of(R"(name: c
ops:
  - {name: c, op: conv2d, N: 1, C: 128, H: 56, W: 56, K: 128, R: 3, S: 3, stride: 2, pad: 1, dtype: bf16}
)");
  for (const bool keep : {true, false}) {
    INFO("keep_weights " << keep);
    const TileProgram t = tiles_of(
        g, {"lowering.single_step=false", fmt::format("lowering.keep_weights={}", keep)}, "tpu_v4");
    const std::vector<Nest>& nests = t.layers.at(0).nests;
    REQUIRE(nests.size() == 2);
    for (const Nest& n : nests) {
      INFO(n.title);
      REQUIRE_THAT(n.title, Contains("A formed on chip"));
      std::map<std::pair<uint64_t, uint64_t>, uint64_t> loaded;  // tile -> its UB offset
      int staged = 0, from_dram = 0;
      for (const TileOp& op : n.ops) {
        if (const auto* l = std::get_if<Load>(&op); l && l->src.operand == "B") {
          REQUIRE(loaded.emplace(std::pair{l->src.r0, l->src.c0}, l->dst.offset).second);
          REQUIRE(l->dst.offset >= t.a_bytes / 2);  // in the tail of an A region
        }
        if (const auto* w = std::get_if<StagedWeights>(&op)) {
          ++staged;
          REQUIRE(loaded.count({w->k0, w->n0}) == 1);
          REQUIRE(loaded.at({w->k0, w->n0}) == w->src.offset);
        }
        from_dram += std::holds_alternative<LoadWeights>(op);
      }
      if (keep) {
        CHECK(loaded.size() == 9);
        CHECK(staged >= 2 * 9);  // two blocks or more
        CHECK(from_dram == 0);
      } else {
        CHECK(loaded.empty());
        CHECK(staged == 0);
        CHECK(from_dram >= 2 * 9);
      }
    }
  }
  // A 1x1 convolution loads its A from DRAM: its weights' loads would queue behind A's on the
  // same DMA, so they are read from DRAM by each block still.
  const Graph one = graph_of(R"(name: c
ops:
  - {name: c, op: conv2d, N: 1, C: 256, H: 56, W: 56, K: 64, R: 1, S: 1, stride: 1, pad: 0, dtype: bf16}
)");
  const Counts c = count(tiles_of(one, {"lowering.single_step=false"}, "tpu_v4"));
  CHECK(c.load_weights > 0);
}

TEST_CASE("tpu passes: kept weights and bands go on the DMA in the order the arrays need them") {
  // Convolutions whose cores run several row blocks of A formed on chip from a band of the
  // image, their weight tiles kept in the UB, pipelined with cut streams (the presets' default;
  // without them a round's weights and matmuls go pair by pair, and the band comes after the
  // first pair's tile on the chip): ResNet-50's layer2.0.conv2, and one whose block takes one
  // round. On tpu_v4 (two cores sharing the layer) the first round's tiles (one an array) are
  // loaded before the first band, which would otherwise wait for the other core's band at the
  // DRAM; on tpu_v4_core the band goes first. The bands go in the blocks' order, every later
  // one loaded ahead, within the block before (after its last round's weights, before that
  // block's last im2col).
  for (const char* conv :
       {"{name: c, op: conv2d, N: 1, C: 128, H: 56, W: 56, K: 128, R: 3, S: 3, stride: 2, pad: 1, "
        "dtype: bf16}",
        "{name: c, op: conv2d, N: 1, C: 55, H: 42, W: 53, K: 62, R: 3, S: 3, stride: 2, pad: 1, "
        "dtype: bf16}"}) {
    INFO(conv);
    const Graph g = graph_of(fmt::format("name: c\nops:\n  - {}\n", conv));
    for (const auto& [arch, first_tiles] : {std::pair{"tpu_v4", 4}, std::pair{"tpu_v4_core", 0}}) {
      INFO(arch);
      const TileProgram t =
          tiles_of(g, {"lowering.single_step=false", "lowering.cut_streams=true"}, arch);
      for (const Nest& n : t.layers.at(0).nests) {
        INFO(n.title);
        REQUIRE_THAT(n.title, Contains("B's tiles kept in the UB"));
        std::vector<size_t> bands;  // the ops that load a band
        std::vector<Load> loads;    // and the loads
        int tiles_before = 0;
        for (size_t i = 0; i < n.ops.size(); ++i)
          if (const auto* l = std::get_if<Load>(&n.ops[i])) {
            if (l->src.operand == "image") {
              bands.push_back(i);
              loads.push_back(*l);
            } else if (bands.empty()) {
              ++tiles_before;
            }
          }
        CHECK(tiles_before == first_tiles);
        REQUIRE(bands.size() >= 2);
        for (size_t k = 1; k < bands.size(); ++k) {
          INFO("band " << k);
          CHECK(loads[k].src.r0 > loads[k - 1].src.r0);
          const size_t end = k + 1 < bands.size() ? bands[k + 1] : n.ops.size();
          const Place& before = loads[k - 1].dst;
          bool ahead = false;  // an im2col of the block before reads its band after this load
          for (size_t i = bands[k] + 1; i < end; ++i)
            if (const auto* c = std::get_if<Im2col>(&n.ops[i]))
              ahead |= c->band.index == before.index && c->band.offset == before.offset;
          CHECK(ahead);
        }
      }
    }
  }
}

TEST_CASE("tpu passes: a later block's band loads in pieces between the weight loads before it") {
  // A convolution of A formed on chip in three row blocks on tpu_v1, whose weights come from
  // DRAM for every block (1536 x 39 x 2142 int8, 3x3: 9 weight tiles of 10 KB, bands of 146 KB,
  // about 3,000 of the DDR3's cycles). Loaded whole, the third block's band held the DRAM
  // channel while the second block's weight loads waited and its array stood still (21,977
  // cycles; in pieces 18,836). The first band is loaded whole (nothing multiplies before it);
  // every later one in pieces of whole image rows, in order, each (but the last, the rest) of
  // the rows that what the DDR3 moves while a matmul of the block's 512 rows streams, less a
  // weight tile's bytes (but no less than a tile's), holds, at least one; the first after the
  // first weight load of the block before, one after each of that block's weight loads, all
  // before the first im2col that reads the band.
  const TileProgram t = onchip_v1(
      "{name: c, op: conv2d, N: 1, C: 238, H: 50, W: 34, K: 39, R: 3, S: 3, stride: 1, pad: 0, "
      "dtype: int8}");
  const Nest& n = t.layers.at(0).nests.at(0);
  const uint64_t row = 34 * 238, tile = 256 * 39;  // an image row's bytes; a weight tile's
  const double moved = 512 * 34e3 / 700;           // DDR3 bytes while 512 rows stream
  const uint64_t piece =
      std::max<uint64_t>(1, uint64_t(std::max(double(tile), moved - double(tile)) / double(row)));
  // Each band's loads (by the image row it starts at): (op index, load).
  std::map<uint64_t, std::vector<std::pair<size_t, Load>>> bands;
  std::vector<size_t> weights, im2cols;
  uint64_t band_start = 0, next_row = 0;
  for (size_t i = 0; i < n.ops.size(); ++i) {
    if (const auto* l = std::get_if<Load>(&n.ops[i]); l && l->src.operand == "image") {
      if (l->src.r0 != next_row) band_start = l->src.r0;  // a new band (they overlap by a halo)
      bands[band_start].emplace_back(i, *l);
      next_row = l->src.r0 + l->src.rows;
    }
    if (std::holds_alternative<LoadWeights>(n.ops[i])) weights.push_back(i);
    if (std::holds_alternative<Im2col>(n.ops[i])) im2cols.push_back(i);
  }
  REQUIRE(bands.size() == 3);
  REQUIRE(weights.size() == 3 * 9);
  size_t b = 0;
  for (const auto& [start, loads] : bands) {
    INFO("band " << b << " from image row " << start / 34);
    if (b == 0) {
      CHECK(loads.size() == 1);
    } else {
      REQUIRE(loads.size() > 1);
      for (size_t k = 0; k < loads.size(); ++k) {
        const auto& [i, l] = loads[k];
        INFO("piece " << k);
        CHECK(l.src.rows % 34 == 0);  // whole image rows
        if (k + 1 < loads.size()) CHECK(l.src.rows / 34 == piece);
        if (k > 0) {
          CHECK(l.src.r0 == loads[k - 1].second.src.r0 + loads[k - 1].second.src.rows);
          CHECK(l.dst.index == loads[0].second.dst.index);
          CHECK(l.dst.offset ==
                loads[k - 1].second.dst.offset + loads[k - 1].second.src.rows / 34 * row);
        }
        // After the (k+1)-th weight load of the block before (9 a block), before its next.
        const size_t w = (b - 1) * 9 + k;
        if (w + 1 < (b - 1) * 9 + 9) {
          CHECK(weights[w] < i);
          CHECK(i < weights[w + 1]);
        }
        // Before every im2col that reads this band.
        for (size_t c : im2cols)
          if (std::get<Im2col>(n.ops[c]).band.index == l.dst.index && c > loads[0].first)
            CHECK(i < c);
      }
    }
    ++b;
  }
}

TEST_CASE("tpu passes: a GEMM's drains go round a ring in their O half across its row blocks") {
  // A 1x1 convolution of 5 output channels on tpu_v1 (2142 x 5 x 44, pipelined): its row
  // blocks drain one job each, the blocks alternating between the two O halves. The drains go
  // round a ring of each half's bytes across the blocks (10.7 KB of output in 2 MiB halves: no
  // two of them share a byte), so that a store the DRAM holds back (writes yield to reads) does
  // not hold up the drain of the next block but one.
  const Graph g = graph_of(
      "name: c\nops:\n  - {name: c, op: conv2d, N: 2, C: 44, H: 51, W: 21, K: 5, R: 1, S: 1, "
      "stride: 1, pad: 0, dtype: int8}\n");
  const TileProgram t = tiles_of(g, {"lowering.single_step=false"}, "tpu_v1");
  std::vector<std::pair<uint64_t, uint64_t>> taken[2];  // each half's drained byte ranges
  for (const Nest& n : t.layers.at(0).nests)
    for (const auto& o : n.ops)
      if (const auto* d = std::get_if<Drain>(&o)) {
        REQUIRE(d->dst.region == Region::O);
        taken[d->dst.index].push_back({d->dst.offset, d->dst.offset + d->rows * d->cols});
      }
  REQUIRE(taken[0].size() + taken[1].size() >= 8);
  CHECK(!taken[0].empty());
  CHECK(!taken[1].empty());
  for (auto& v : taken) {
    std::sort(v.begin(), v.end());
    for (size_t i = 1; i < v.size(); ++i) CHECK(v[i].first >= v[i - 1].second);
  }
}

TEST_CASE("tpu passes: one row block of one N tile shares its K steps between two cores") {
  // 40 x 64 x 8192 bf16 and a ReLU on tpu_v4, pipelined: one row block of one N tile, which
  // one core would take alone. Core 1 takes the first K steps and stores its fp32 sums in the
  // scratch K1; core 0 takes the rest, keeps its sums, and after the barrier adds core 1's on
  // the vector unit, applies the ReLU and stores C.
  const char* const gemm = R"(name: ks
ops:
  - {name: g, op: gemm, M: 40, N: 64, K: 8192, dtype: bf16}
  - {name: r, op: relu, inputs: [g.out]}
)";
  const Graph g = graph_of(gemm);
  const TpuParams p(load_arch("tpu_v4").values);
  const LayoutPlan plan = layout(g, p, "tpu_v4");
  REQUIRE(plan.scratch.size() == 1);
  CHECK(plan.scratch[0].name == "K1");
  CHECK(plan.scratch[0].bytes == 40 * 64 * 4);
  TileProgram t = tiles_of(g, {"lowering.single_step=false"}, "tpu_v4");
  REQUIRE(t.layers.size() == 1);
  std::vector<std::vector<TileOp>> ops(2);
  for (const Nest& n : t.layers[0].nests)
    ops.at(size_t(n.core)).insert(ops[size_t(n.core)].end(), n.ops.begin(), n.ops.end());
  // Each core's B rows: disjoint K steps, together all of K.
  std::vector<std::set<uint64_t>> rows(2);
  for (size_t c = 0; c < 2; ++c)
    for (const TileOp& op : ops[c])
      if (const auto* w = std::get_if<LoadWeights>(&op)) rows[c].insert(w->src.r0);
  REQUIRE(!rows[0].empty());
  REQUIRE(!rows[1].empty());
  CHECK(*rows[1].rbegin() < *rows[0].begin());
  CHECK(rows[0].size() + rows[1].size() == 8192 / 128);
  // Core 1: its sums (fp32) stored in K1, then the barrier, its last op.
  REQUIRE(std::holds_alternative<Barrier>(ops[1].back()));
  REQUIRE(std::holds_alternative<Store>(ops[1][ops[1].size() - 2]));
  for (const TileOp& op : ops[1])
    if (const auto* st = std::get_if<Store>(&op)) {
      const DramTile& d = st->dst;
      CHECK(d.elem == 4);
      CHECK(d.addr >= plan.scratch[0].addr);
      CHECK(d.addr + (d.rows - 1) * d.stride + d.cols * d.elem <=
            plan.scratch[0].addr + plan.scratch[0].bytes);
    }
  // Core 0: the barrier, the load of core 1's sums, the add (fp32 sources), the ReLU, the store.
  const size_t b =
      size_t(std::find_if(ops[0].begin(), ops[0].end(),
                          [](const TileOp& o) { return std::holds_alternative<Barrier>(o); }) -
             ops[0].begin());
  REQUIRE(b + 5 == ops[0].size());
  CHECK(std::get<Load>(ops[0][b + 1]).src.addr == plan.scratch[0].addr);
  const auto& add = std::get<Vector>(ops[0][b + 2]);
  CHECK((add.func == isa::tpu::VecFunc::add && add.fp32_src && add.rows == 40 && add.cols == 64));
  CHECK(std::get<Vector>(ops[0][b + 3]).func == isa::tpu::VecFunc::relu);
  CHECK(std::get<Store>(ops[0][b + 4]).dst.operand == "C");
  // No store of core 0 before the barrier: its sums stay in the UB.
  CHECK(std::none_of(ops[0].begin(), ops[0].begin() + long(b),
                     [](const TileOp& o) { return std::holds_alternative<Store>(o); }));

  SECTION("a core without the barrier the other waits at is caught") {
    for (Nest& n : t.layers[0].nests)
      if (n.core == 1) n.ops.pop_back();
    REQUIRE_THAT(error_of([&] { verify_tiling(t, p); }),
                 Contains("layer 0 'g+r': the cores' nests hold 1, 0 barriers"));
  }
  SECTION("not on one core, nor for two N tiles, int8 or fp32 operands or two row blocks") {
    CHECK(layout(g, TpuParams(load_arch("tpu_v4_core").values), "tpu_v4_core").scratch.empty());
    for (const char* other : {"{name: g, op: gemm, M: 40, N: 200, K: 8192, dtype: bf16}",
                              "{name: g, op: gemm, M: 40, N: 64, K: 8192, dtype: int8}",
                              "{name: g, op: gemm, M: 40, N: 64, K: 8192, dtype: fp32}",
                              "{name: g, op: gemm, M: 256, N: 64, K: 8192, dtype: bf16}"}) {
      INFO(other);
      CHECK(layout(graph_of(std::string("name: o\nops:\n  - ") + other + "\n"), p, "tpu_v4")
                .scratch.empty());
    }
  }
}
