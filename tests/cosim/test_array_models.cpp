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

// When the owner may offer each matmul and when it learns its rows' time (`ready` of the tile):
// TpuCore offers a matmul that loads weights once they are in the FIFO (`from`), for later where
// the DMA of its rows is not yet timed then (`known`).
struct Lead {
  uint64_t from, known;
};

// Matmul `t` as offered to a model: its operands for a model that computes values, but for the
// rows (`a`) of one offered for later.
ArrayOp array_op(const xpusim::rtl::MatmulTile& t, bool values, bool rows) {
  return ArrayOp{t.m,
                 t.k,
                 t.n,
                 1,
                 values && rows ? t.a : std::vector<int8_t>(),
                 values ? t.b : std::vector<int8_t>(),
                 t.keep};
}

// The owner's steps for a matmul offered before its rows' time is known (drive.h's policy).
struct Later {
  static constexpr bool kEnabled = true;
  ArrayModel& model;
  const std::vector<xpusim::rtl::MatmulTile>& tiles;
  const std::vector<Lead>& lead;
  size_t& offered_later;
  uint64_t from(size_t i) const { return lead[i].from; }
  uint64_t known(size_t i) const { return lead[i].known; }
  void offer(size_t i, uint64_t cycle, std::vector<ArrayModel::Event>& ev) {
    ++offered_later;
    model.offer(i, array_op(tiles[i], model.computes_values(), false), ArrayModel::kLater, cycle,
                ev);
  }
  void release(size_t i, uint64_t cycle, std::vector<ArrayModel::Event>& ev) {
    model.release(i, model.computes_values() ? tiles[i].a : std::vector<int8_t>(), tiles[i].ready,
                  cycle, ev);
  }
};

// The owner's side of the contract (tests/cosim/drive.h), as TpuCore plays it; a model that
// computes no values gets no operands. Without `lead`, each matmul is offered at its ready;
// with, `offered_later` counts those offered for later.
std::vector<xpusim::test::Seen<xpusim::tpu::ArrayResult>> drive(
    ArrayModel& model, const std::vector<xpusim::rtl::MatmulTile>& tiles,
    const std::vector<Lead>& lead, size_t& offered_later) {
  auto ready = [&](size_t i) { return tiles[i].ready; };
  auto make = [&](size_t i) { return array_op(tiles[i], model.computes_values(), true); };
  if (lead.empty()) return xpusim::test::drive(model, tiles.size(), ready, make);
  return xpusim::test::drive(model, tiles.size(), ready, make,
                             Later{model, tiles, lead, offered_later});
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

// `lead` > 0 (ws with fold overlap): a matmul's weights are in its FIFO up to `lead` cycles
// before its rows, and the owner learns when its rows are ready somewhere in between (before
// the weights for about a third of the matmuls, which are offered as usual).
void compare(bool overlap, uint64_t seed, int max_gap, int lead = 0) {
  size_t later_rtl = 0, later_formula = 0;  // matmuls offered for later
  ParamValues v(&xpusim::tpu::param_specs());
  v.set("array.model", "rtl", {});
  const UnitModelChoice choice(v, "array");
  for (const auto& [rows, cols] : xpusim::rtl::SystolicHarness::shapes())
    for (auto df :
         {xpusim::rtl::Dataflow::ws, xpusim::rtl::Dataflow::os, xpusim::rtl::Dataflow::is}) {
      if (lead > 0 && df != xpusim::rtl::Dataflow::ws) continue;
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
      std::vector<Lead> leads;
      for (size_t i = 0; lead > 0 && i < tiles.size(); ++i) {
        const uint64_t r = tiles[i].ready, back = std::min(r, uint64_t(rng.range(0, lead)));
        const uint64_t from = tiles[i].keep ? r : r - back;
        const uint64_t known =
            std::max(from, r - std::min(r, uint64_t(rng.range(0, int(back + back / 2) + 1))));
        leads.push_back({from, known});
      }
      const ArrayConfig config{rows, cols, model_dataflow(df), overlap};
      const auto rtl =
          choice.make_rtl<ArrayModel, ArrayConfig>(xpusim::tpu::kArrayUnit, config, false);
      const auto formula = xpusim::tpu::make_formula_array(config);
      CHECK(rtl->computes_values());
      CHECK(rtl->clocked());
      // The owner offers the RTL model matmuls before their `next` (it reports none ahead), so
      // the two may see different matmuls offered for later.
      const auto got = drive(*rtl, tiles, leads, later_rtl);
      const auto want = drive(*formula, tiles, leads, later_formula);
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
  if (lead > 0) {
    CHECK(later_rtl > 0);
    CHECK(later_formula > 0);
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

TEST_CASE("array models: RTL and formula report the same events, weights ahead of rows",
          "[cosim]") {
  compare(true, 25, 40, 3 * 16);
  compare(true, 26, 200, 300);
}
