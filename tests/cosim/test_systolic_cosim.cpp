// Cross-check of the systolic array's RTL (rtl/systolic, verilated) against the model: values bit
// for bit against isa::tpu::exec_matmul, per-tile times cycle for cycle against tpu::ArrayTiming.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "isa/tpu/semantics.h"
#include "models/core/memory.h"
#include "models/core/random.h"
#include "models/tpu/array_timing.h"
#include "rtl/systolic/harness.h"
#include "tests/cosim/tiles.h"
#include "tests/support.h"

using xpusim::rtl::Dataflow;
using xpusim::rtl::MatmulTile;
using xpusim::rtl::RunOptions;
using xpusim::rtl::SystolicHarness;
using xpusim::rtl::TileResult;
using Times = xpusim::tpu::ArrayTiming::Times;
using xpusim::test::model_dataflow;
using xpusim::test::random_tile;
using xpusim::test::sized_tile;

namespace {

constexpr Dataflow kDataflows[] = {Dataflow::ws, Dataflow::os, Dataflow::is};

using Rng = xpusim::SplitMix64;

// The model's values: exec_matmul on ByteStores, as the TPU model runs it.
std::vector<int32_t> model_values(const MatmulTile& t) {
  using namespace xpusim::isa::tpu;
  const uint64_t M = uint64_t(t.m), K = uint64_t(t.k), N = uint64_t(t.n);
  xpusim::ByteStore ub("ub", M * K), acc("acc", M * N * 4);
  ub.write(0, t.a.data(), M * K);
  Instr in;
  in.op = Opcode::matmul;
  in.dtype = DType::int8;
  in.rows = t.m;
  in.k = t.k;
  in.cols = t.n;
  WeightTile w;
  w.k = uint32_t(t.k);
  w.n = uint32_t(t.n);
  w.dtype = DType::int8;
  w.data.assign(reinterpret_cast<const uint8_t*>(t.b.data()),
                reinterpret_cast<const uint8_t*>(t.b.data()) + t.b.size());
  exec_matmul(in, ub, w, acc, 1, "cosim");
  std::vector<int32_t> c(M * N);
  acc.read(0, c.data(), M * N * 4, "cosim");
  return c;
}

std::vector<Times> model_times(int rows, int cols, Dataflow df, bool overlap,
                               const std::vector<MatmulTile>& tiles) {
  xpusim::tpu::ArrayTiming timing(rows, cols, model_dataflow(df), overlap);
  std::vector<Times> out;
  for (const auto& t : tiles)
    out.push_back(
        timing.issue(t.ready, uint64_t(t.m), uint64_t(t.k), uint64_t(t.n), t.stream_ready));
  return out;
}

std::string describe(const MatmulTile& t) {
  return fmt::format("ready {} stream_ready {} m {} k {} n {}", t.ready, t.stream_ready, t.m, t.k,
                     t.n);
}

// Checks the RTL's values against exec_matmul and its times against `expect`.
void check_tiles(Dataflow df, const std::vector<MatmulTile>& tiles,
                 const std::vector<TileResult>& got, const std::vector<Times>& expect) {
  REQUIRE(got.size() == tiles.size());
  for (size_t i = 0; i < tiles.size(); ++i) {
    INFO("tile " << i << ": " << describe(tiles[i]));
    const std::vector<int32_t> want = model_values(tiles[i]);
    const auto bad = std::mismatch(want.begin(), want.end(), got[i].c.begin());
    if (bad.first != want.end()) {
      const size_t e = size_t(bad.first - want.begin());
      INFO("first wrong element (" << e / size_t(tiles[i].n) << ", " << e % size_t(tiles[i].n)
                                   << "): model " << *bad.first << ", RTL " << *bad.second);
      CHECK(got[i].c == want);
    }
    if (df != Dataflow::os) CHECK(got[i].load_start == expect[i].load_start);
    CHECK(got[i].stream_start == expect[i].stream_start);
    CHECK(got[i].stream_end == expect[i].stream_end);
    CHECK(got[i].done == expect[i].done);
  }
}

// Runs the tiles on every built shape through `make(rng, df, rows, cols)` for each dataflow,
// checking against ArrayTiming.
template <class Make>
void for_each_array(uint64_t seed, bool overlap, Make make) {
  for (const auto& [rows, cols] : SystolicHarness::shapes()) {
    auto array = SystolicHarness::create(rows, cols);
    for (Dataflow df : kDataflows) {
      const uint64_t s = seed * 1000 + uint64_t(rows) * 37 + uint64_t(cols) * 3 + uint64_t(df);
      INFO("seed " << s << ", " << rows << "x" << cols << " array, " << dataflow_name(df)
                   << (overlap ? ", fold overlap" : ", no fold overlap"));
      Rng rng(s);
      for (const std::vector<MatmulTile>& tiles : make(rng, df, rows, cols)) {
        RunOptions opt;
        opt.fold_overlap = overlap;
        const auto got = array->run(df, tiles, opt);
        check_tiles(df, tiles, got, model_times(rows, cols, df, overlap, tiles));
      }
    }
  }
}

using Runs = std::vector<std::vector<MatmulTile>>;

// A sequence of `count` tiles whose ready times step by a random gap in [0, max_gap].
Runs sequence(Rng& rng, Dataflow df, int rows, int cols, int count, int max_gap, int min_s,
              int max_s) {
  std::vector<MatmulTile> tiles;
  uint64_t ready = uint64_t(rng.range(0, max_gap));
  for (int i = 0; i < count; ++i) {
    tiles.push_back(sized_tile(rng, df, rows, cols, ready, rng.range(0, 2) == 0, min_s, max_s));
    ready += uint64_t(rng.range(0, max_gap));
  }
  return {tiles};
}

}  // namespace

TEST_CASE("cosim: single full tiles", "[cosim]") {
  for_each_array(1, true, [](Rng& rng, Dataflow df, int rows, int cols) {
    Runs runs;
    for (int s : {1, 2, rows - 1, rows, rows + 1, 3 * rows + 5})
      runs.push_back({sized_tile(rng, df, rows, cols, uint64_t(rng.range(0, 5)), false, s, s)});
    return runs;
  });
}

TEST_CASE("cosim: single edge tiles", "[cosim]") {
  for_each_array(2, true, [](Rng& rng, Dataflow df, int rows, int cols) {
    Runs runs;
    for (int i = 0; i < 8; ++i)
      runs.push_back({sized_tile(rng, df, rows, cols, 0, true, 1, 2 * rows + 3)});
    // The 1 x 1 x 1 corner.
    runs.push_back({random_tile(rng, 3, 1, 1, 1)});
    return runs;
  });
}

TEST_CASE("cosim: back-to-back tiles overlap their folds", "[cosim]") {
  // Streams of at least R: the os output port never limits, so all three match ArrayTiming.
  for_each_array(3, true, [](Rng& rng, Dataflow df, int rows, int cols) {
    return sequence(rng, df, rows, cols, 12, 0, rows, 3 * rows);
  });
}

TEST_CASE("cosim: back-to-back short streams wait for their loads", "[cosim]") {
  // ws/is streams shorter than the load (S < R): each stream waits for its load; os streams
  // with K < R wait for the output port.
  for_each_array(4, true, [](Rng& rng, Dataflow df, int rows, int cols) {
    return sequence(rng, df, rows, cols, 12, 0, 1, rows);
  });
}

TEST_CASE("cosim: tiles with random gaps in their ready times", "[cosim]") {
  for_each_array(5, true, [](Rng& rng, Dataflow df, int rows, int cols) {
    Runs runs;
    for (int i = 0; i < 3; ++i)
      runs.push_back(sequence(rng, df, rows, cols, 10, 2 * (rows + cols), rows, 3 * rows)[0]);
    return runs;
  });
  for_each_array(6, true, [](Rng& rng, Dataflow df, int rows, int cols) {
    return sequence(rng, df, rows, cols, 16, 2 * (rows + cols), 1, 3 * rows);
  });
}

TEST_CASE("cosim: without fold overlap each tile waits for the previous one", "[cosim]") {
  // The os output port never limits here (a tile starts after the previous one is done).
  for_each_array(7, false, [](Rng& rng, Dataflow df, int rows, int cols) {
    Runs runs = sequence(rng, df, rows, cols, 10, rows + cols, 1, 3 * rows);
    runs.push_back(sequence(rng, df, rows, cols, 8, 0, 1, 2 * rows)[0]);
    return runs;
  });
}

TEST_CASE("cosim: streamed operands ready after the weights", "[cosim]") {
  // Each tile's streamed operand is ready a random while after its weights (a matmul offered
  // once its weights are in the FIFO): the load goes ahead, the stream waits.
  for (const bool overlap : {true, false})
    for_each_array(11, overlap, [](Rng& rng, Dataflow df, int rows, int cols) {
      Runs runs;
      for (int i = 0; i < 3; ++i) {
        std::vector<MatmulTile> tiles =
            sequence(rng, df, rows, cols, 10, rows + cols, 1, 3 * rows)[0];
        for (MatmulTile& t : tiles)
          t.stream_ready = t.ready + uint64_t(rng.range(0, 3 * (rows + cols)));
        runs.push_back(std::move(tiles));
      }
      return runs;
    });
}

TEST_CASE("cosim: a VCD of a tile range", "[cosim]") {
  const uint64_t seed = 8;
  INFO("seed " << seed);
  Rng rng(seed);
  auto array = SystolicHarness::create(4, 4);
  std::vector<MatmulTile> tiles;
  for (int i = 0; i < 4; ++i) tiles.push_back(sized_tile(rng, Dataflow::ws, 4, 4, 0, false, 6, 6));
  RunOptions opt;
  opt.vcd_path = xpusim::test::temp_dir("cosim-vcd") + "/tiles.vcd";
  opt.vcd_first = 1;
  opt.vcd_last = 2;
  const auto got = array->run(Dataflow::ws, tiles, opt);
  check_tiles(Dataflow::ws, tiles, got, model_times(4, 4, Dataflow::ws, true, tiles));
  std::ifstream f(opt.vcd_path);
  std::stringstream text;
  text << f.rdbuf();
  const std::string vcd = text.str();
  CHECK(vcd.find("$enddefinitions") != std::string::npos);
  CHECK(vcd.find(" out_valid ") != std::string::npos);
  // The window: from tile 1's load (half-cycle time 2 t) to the cycle after tile 2 is done.
  CHECK(vcd.find(fmt::format("\n#{}\n", 2 * got[1].load_start)) != std::string::npos);
  CHECK(vcd.find(fmt::format("\n#{}\n", 2 * got[2].done + 1)) != std::string::npos);
  CHECK(vcd.find(fmt::format("\n#{}\n", 2 * got[2].done + 2)) == std::string::npos);
  CHECK(vcd.find(fmt::format("\n#{}\n", 2 * got[0].load_start)) == std::string::npos);
}

TEST_CASE("cosim: the harness rejects tiles that do not fit", "[cosim]") {
  auto array = SystolicHarness::create(4, 4);
  Rng rng(9);
  CHECK_THROWS(array->run(Dataflow::ws, {random_tile(rng, 0, 3, 5, 4)}));
  CHECK_THROWS(array->run(Dataflow::os, {random_tile(rng, 0, 5, 3, 4)}));
  CHECK_THROWS(array->run(Dataflow::is, {random_tile(rng, 0, 5, 4, 3)}));
  CHECK_THROWS_AS(SystolicHarness::create(3, 3), xpusim::Error);
}

TEST_CASE("cosim: os streams shorter than R wait for the output port", "[cosim]") {
  for_each_array(10, true, [](Rng& rng, Dataflow df, int rows, int cols) {
    if (df != Dataflow::os) return Runs{};
    return sequence(rng, df, rows, cols, 6, 0, 1, rows - 1);
  });
}
