// The two models of the TPU's arrays behind the unit-model interface: the RTL model registered as
// tpu.array (rtl/systolic/array_rtl.cpp, found by name as TpuCore finds it) and the formula model
// (models/tpu/array_model.cpp), driven by the same owner loop on the same matmuls, must report the
// same events: when the array takes the next matmul, when each has read its operands, when it is
// done and its times; and the RTL's values must be the matmuls' products.
#include <catch2/catch.hpp>

#include <vector>

#include "models/core/params.h"
#include "models/core/unit_model.h"
#include "models/tpu/array_model.h"
#include "models/tpu/params.h"
#include "tests/cosim/drive.h"
#include "tests/cosim/tiles.h"

using xpusim::ParamValues;
using xpusim::UnitModelChoice;
using xpusim::test::model_dataflow;
using xpusim::test::sized_tile;
using xpusim::tpu::ArrayConfig;
using xpusim::tpu::ArrayModel;
using xpusim::tpu::ArrayOp;
using xpusim::tpu::ArrayTiming;
using Rng = xpusim::SplitMix64;

namespace {

// The owner's side of the contract (tests/cosim/drive.h), as TpuCore plays it; a model that
// computes no values gets no operands.
std::vector<xpusim::test::Seen<xpusim::tpu::ArrayResult>> drive(
    ArrayModel& model, const std::vector<xpusim::rtl::MatmulTile>& tiles) {
  return xpusim::test::drive(
      model, tiles.size(), [&](size_t i) { return tiles[i].ready; },
      [&](size_t i) {
        const auto& t = tiles[i];
        return ArrayOp{t.m,
                       t.k,
                       t.n,
                       1,
                       model.computes_values() ? t.a : std::vector<int8_t>(),
                       model.computes_values() ? t.b : std::vector<int8_t>(),
                       t.keep};
      });
}

std::vector<int32_t> product(const xpusim::rtl::MatmulTile& t) {
  std::vector<int32_t> c(size_t(t.m) * size_t(t.n), 0);
  for (int i = 0; i < t.m; ++i)
    for (int j = 0; j < t.n; ++j)
      for (int l = 0; l < t.k; ++l)
        c[size_t(i) * size_t(t.n) + size_t(j)] +=
            int32_t(t.a[size_t(i) * size_t(t.k) + size_t(l)]) *
            int32_t(t.b[size_t(l) * size_t(t.n) + size_t(j)]);
  return c;
}

void compare(bool overlap, uint64_t seed, int max_gap) {
  ParamValues v(&xpusim::tpu::param_specs());
  v.set("array.model", "rtl", {});
  const UnitModelChoice choice(v, "array");
  for (const auto& [rows, cols] : xpusim::rtl::SystolicHarness::shapes())
    for (auto df :
         {xpusim::rtl::Dataflow::ws, xpusim::rtl::Dataflow::os, xpusim::rtl::Dataflow::is}) {
      const uint64_t s = seed * 1000 + uint64_t(rows) * 37 + uint64_t(cols) * 3 + uint64_t(df);
      INFO("seed " << s << ", " << rows << "x" << cols << " array, " << dataflow_name(df)
                   << (overlap ? ", fold overlap" : ", no fold overlap"));
      Rng rng(s);
      std::vector<xpusim::rtl::MatmulTile> tiles;
      uint64_t ready = 0;
      for (int i = 0; i < 12; ++i) {
        tiles.push_back(sized_tile(rng, df, rows, cols, ready, rng.range(0, 2) == 0, 1, 3 * rows));
        // ws: a third of the tiles after the first keep the weights of the one before (matmul
        // keep=1): its K, N and weights, no load.
        if (df == xpusim::rtl::Dataflow::ws && i > 0 && rng.range(0, 2) == 0) {
          auto& t = tiles.back();
          const auto& held = tiles[tiles.size() - 2];
          t = xpusim::test::random_tile(rng, ready, t.m, held.k, held.n);
          t.b = held.b;
          t.keep = true;
        }
        ready += uint64_t(rng.range(0, max_gap));
      }
      const ArrayConfig config{rows, cols, model_dataflow(df), overlap};
      const auto rtl =
          choice.make_rtl<ArrayModel, ArrayConfig>(xpusim::tpu::kArrayUnit, config, false);
      const auto formula = xpusim::tpu::make_formula_array(config);
      CHECK(rtl->computes_values());
      CHECK(rtl->clocked());
      const auto got = drive(*rtl, tiles);
      const auto want = drive(*formula, tiles);
      for (size_t i = 0; i < tiles.size(); ++i) {
        INFO("matmul " << i << ": ready " << tiles[i].ready << " m " << tiles[i].m << " k "
                       << tiles[i].k << " n " << tiles[i].n);
        CHECK(got[i].next == want[i].next);
        CHECK(got[i].read == want[i].read);
        CHECK(got[i].done == want[i].done);
        // An os tile has no load: the RTL reports its stream start.
        if (df != xpusim::rtl::Dataflow::os)
          CHECK(got[i].result.times.load_start == want[i].result.times.load_start);
        CHECK(got[i].result.times.stream_ready == want[i].result.times.stream_ready);
        CHECK(got[i].result.times.stream_start == want[i].result.times.stream_start);
        CHECK(got[i].result.times.stream_end == want[i].result.times.stream_end);
        CHECK(got[i].result.times.done == want[i].result.times.done);
        CHECK(got[i].result.c == product(tiles[i]));
      }
    }
}

}  // namespace

TEST_CASE("array models: RTL and formula report the same events, back to back", "[cosim]") {
  compare(true, 21, 0);
  compare(false, 22, 0);
}

TEST_CASE("array models: RTL and formula report the same events, with gaps", "[cosim]") {
  compare(true, 23, 40);
  compare(false, 24, 40);
}
