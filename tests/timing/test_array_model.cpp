// The systolic array's formula model behind the unit-model interface (models/tpu/array_model.h),
// driven as TpuCore drives it: each matmul offered once its operands are ready and not before the
// `next` of the one before. Its events must carry the times of the formula in docs/models/tpu.md
// (derived here by hand) and exactly what ArrayTiming computes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "models/core/error.h"
#include "models/core/random.h"
#include "models/tpu/array_model.h"

using xpusim::tpu::ArrayConfig;
using xpusim::tpu::ArrayModel;
using xpusim::tpu::ArrayOp;
using xpusim::tpu::ArrayTiming;
using xpusim::tpu::Dataflow;
using Event = ArrayModel::Event;

namespace {

struct Matmul {
  uint64_t ready;
  int m, k, n;
};

// What the model said about one matmul, and when it was offered.
struct Seen {
  uint64_t offered = 0, next = 0, read = 0, done = 0;
  ArrayTiming::Times times{};
};

// Offers the matmuls in order as the interface's contract says; checks that every offer reports
// next, read and done of that matmul at once, and that the model never asks to be clocked.
std::vector<Seen> drive(const ArrayConfig& c, const std::vector<Matmul>& ops) {
  auto model = xpusim::tpu::make_formula_array(c);
  CHECK_FALSE(model->computes_values());
  CHECK_FALSE(model->clocked());
  std::vector<Seen> seen;
  uint64_t takes = 0;  // the `next` of the matmul before
  for (size_t i = 0; i < ops.size(); ++i) {
    Seen s;
    s.offered = std::max(ops[i].ready, takes);
    std::vector<Event> ev;
    model->offer(i, ArrayOp{ops[i].m, ops[i].k, ops[i].n, 1, {}, {}}, ops[i].ready, s.offered, ev);
    CHECK_FALSE(model->busy());
    REQUIRE(ev.size() == 3);
    for (const Event& e : ev) CHECK(e.id == i);
    CHECK(ev[0].kind == Event::next);
    CHECK(ev[1].kind == Event::read);
    CHECK(ev[2].kind == Event::done);
    s.next = takes = ev[0].cycle;
    s.read = ev[1].cycle;
    s.done = ev[2].cycle;
    s.times = ev[2].result.times;
    CHECK(ev[2].result.c.empty());
    CHECK(s.read == s.times.stream_end);
    CHECK(s.done == s.times.done);
    seen.push_back(s);
  }
  return seen;
}

// Load start, stream start, stream end, done and next, as docs/models/tpu.md computes them.
void check(const Seen& s, uint64_t load_start, uint64_t stream_ready, uint64_t stream_start,
           uint64_t stream_end, uint64_t done, uint64_t next) {
  CHECK(s.times.load_start == load_start);
  CHECK(s.times.stream_ready == stream_ready);
  CHECK(s.times.stream_start == stream_start);
  CHECK(s.read == stream_end);
  CHECK(s.done == done);
  CHECK(s.next == next);
}

// A 4 x 4 array: load L = 4 (ws, is) or 0 (os), skew R + C - 2 = 6.
constexpr int R = 4, C = 4;

}  // namespace

TEST_CASE("array model (formula): ws with overlap hides the next load under a long stream",
          "[timing]") {
  // S = 10 >= L: the second load runs during the first stream; the second stream follows the
  // first at once. The array takes the second matmul when the first stream starts.
  const auto s = drive({R, C, Dataflow::ws, true}, {{0, 10, 4, 4}, {0, 10, 4, 4}});
  check(s[0], 0, 0, 4, 14, 20, 4);
  CHECK(s[1].offered == 4);
  check(s[1], 4, 14, 14, 24, 30, 14);
}

TEST_CASE("array model (formula): ws with overlap, a short stream waits for its load", "[timing]") {
  // S = 2 < L: the second stream waits for its own load (started when the first stream started).
  const auto s = drive({R, C, Dataflow::ws, true}, {{0, 2, 4, 4}, {0, 2, 4, 4}});
  check(s[0], 0, 0, 4, 6, 12, 4);
  check(s[1], 4, 6, 8, 10, 16, 8);
}

TEST_CASE("array model (formula): os streams wait for the output port", "[timing]") {
  // No load; S = K = 2 < R: the second stream may end no earlier than R cycles after the first.
  const auto s = drive({R, C, Dataflow::os, true}, {{0, 4, 2, 4}, {0, 4, 2, 4}});
  check(s[0], 0, 0, 0, 2, 8, 0);
  check(s[1], 0, 2, 4, 6, 12, 4);
}

TEST_CASE("array model (formula): is streams N after loading the input tile", "[timing]") {
  const auto s = drive({R, C, Dataflow::is, true}, {{3, 4, 4, 7}});
  check(s[0], 3, 3, 7, 14, 20, 7);
}

TEST_CASE("array model (formula): without overlap the next matmul waits for the done", "[timing]") {
  // The array takes the second matmul when the first is done; a third, ready later, at its ready.
  const auto s = drive({R, C, Dataflow::ws, false}, {{0, 10, 4, 4}, {0, 10, 4, 4}, {50, 1, 4, 4}});
  check(s[0], 0, 0, 4, 14, 20, 20);
  CHECK(s[1].offered == 20);
  check(s[1], 20, 20, 24, 34, 40, 40);
  check(s[2], 50, 50, 54, 55, 61, 61);
}

TEST_CASE("array model (formula): reports exactly what ArrayTiming computes", "[timing]") {
  for (Dataflow df : {Dataflow::ws, Dataflow::os, Dataflow::is})
    for (bool overlap : {true, false}) {
      const uint64_t seed = 17 + uint64_t(df) * 2 + (overlap ? 1 : 0);
      INFO("seed " << seed);
      xpusim::SplitMix64 rng(seed);
      std::vector<Matmul> ops;
      uint64_t ready = 0;
      for (int i = 0; i < 200; ++i) {
        ready += uint64_t(rng.range(0, 20));
        ops.push_back({ready, rng.range(1, 40), rng.range(1, 8), rng.range(1, 8)});
      }
      const ArrayConfig c{8, 8, df, overlap};
      const auto seen = drive(c, ops);
      ArrayTiming timing(c.rows, c.cols, df, overlap);
      for (size_t i = 0; i < ops.size(); ++i) {
        INFO("matmul " << i);
        const ArrayTiming::Times t = timing.issue(seen[i].offered, uint64_t(ops[i].m),
                                                  uint64_t(ops[i].k), uint64_t(ops[i].n));
        check(seen[i], t.load_start, t.stream_ready, t.stream_start, t.stream_end, t.done,
              timing.next_free());
      }
    }
}

TEST_CASE("array model (formula): weights offered before their rows' time is known", "[timing]") {
  // ws with overlap on the 4 x 4 array: the weights are in the FIFO at 10, the rows ready at 30;
  // the owner learns that at 25. The load runs 10 to 14 all the same, the stream from 30.
  const ArrayConfig c{R, C, Dataflow::ws, true};
  auto model = xpusim::tpu::make_formula_array(c);
  std::vector<Event> ev;
  model->offer(0, ArrayOp{6, 4, 4, 1, {}, {}}, ArrayModel::kLater, 10, ev);
  CHECK(ev.empty());
  CHECK_FALSE(model->busy());
  model->release(0, {}, 30, 25, ev);
  REQUIRE(ev.size() == 3);
  CHECK(ev[0].kind == Event::next);
  CHECK(ev[0].cycle == 30);
  CHECK(ev[1].cycle == 36);
  CHECK(ev[2].cycle == 42);
  const ArrayTiming::Times& t = ev[2].result.times;
  CHECK(t.load_start == 10);
  CHECK(t.stream_ready == 30);
  CHECK(t.stream_start == 30);
  // Rows whose time has passed when it is learnt stream from the release on.
  ev.clear();
  model->offer(1, ArrayOp{6, 4, 4, 1, {}, {}}, ArrayModel::kLater, 30, ev);
  model->release(1, {}, 20, 50, ev);
  REQUIRE(ev.size() == 3);
  CHECK(ev[2].result.times.load_start == 30);
  CHECK(ev[2].result.times.stream_start == 50);
  // Only the matmul offered for later can be released.
  CHECK_THROWS_AS(model->release(1, {}, 60, 60, ev), xpusim::Error);
}
