// The owner's side of a unit model's contract (models/core/unit_model.h), as the cores play it,
// for the cosim tests of every unit: at each cycle, offers the next operations whose operands
// are ready, not before the `next` of the one before; then clocks the model if it is busy.
// Checks that each operation gets one event of each kind, each kind in offer order, its read
// before its done.
#pragma once

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/core/params.h"
#include "models/core/unit_model.h"

namespace xpusim::test {

// What the model reported about one operation.
template <class Result>
struct Seen {
  uint64_t next = 0, read = 0, done = 0;
  Result result{};
};

// For a unit that takes one operand before the others (a systolic array's weights, before the
// rows it streams: tpu::ArrayModel::release), what the owner knows when. NoLater: nothing of it;
// each operation is offered at its ready(i). A policy with kEnabled offers operation i from
// from(i) on (<= ready(i)), passing ready(i) where the owner knows it by then (known(i), <=
// ready(i)), else offering it for later (offer(i, cycle, events)) and releasing it at cycle
// known(i) (release(i, cycle, events)).
struct NoLater {
  static constexpr bool kEnabled = false;
};

// Drives `n` operations: ready(i) is the cycle operation i's operands are ready, make(i) the
// operation (its operands left empty by the caller for a model that does not compute values).
template <class Op, class Result, class Ready, class Make, class Later = NoLater>
std::vector<Seen<Result>> drive(UnitModel<Op, Result>& model, size_t n, Ready ready, Make make,
                                Later later = {}) {
  using Event = typename UnitModel<Op, Result>::Event;
  std::vector<Seen<Result>> seen(n);
  std::vector<uint64_t> takes = {0};            // takes[i]: the `next` of operation i - 1
  std::map<std::pair<int, size_t>, int> count;  // (kind, operation): events reported
  size_t offered = 0, done = 0, read = 0;
  std::vector<Event> ev;
  auto absorb = [&] {
    for (Event& e : ev) {
      REQUIRE(e.id < offered);
      ++count[{int(e.kind), e.id}];
      Seen<Result>& s = seen[e.id];
      if (e.kind == Event::next) {
        REQUIRE(takes.size() == e.id + 1);  // in order
        takes.push_back(e.cycle);
        s.next = e.cycle;
      } else if (e.kind == Event::read) {
        CHECK(e.id == read);  // in order
        ++read;
        s.read = e.cycle;
      } else {
        CHECK(e.id == done);                          // in order
        CHECK(count[{int(Event::read), e.id}] == 1);  // after its read
        ++done;
        s.done = e.cycle;
        s.result = std::move(e.result);
      }
    }
    ev.clear();
  };
  size_t waiting = n;  // the operation offered for later, until released (n: none)
  auto from = [&](size_t i) -> uint64_t {
    if constexpr (Later::kEnabled)
      return later.from(i);
    else
      return ready(i);
  };
  for (uint64_t cycle = 0;; ++cycle) {  // absorb() counts `done`
    if (done == n) break;
    REQUIRE(cycle < 1000000);
    if constexpr (Later::kEnabled)
      if (waiting < n && later.known(waiting) <= cycle) {
        later.release(waiting, cycle, ev);
        waiting = n;
        absorb();
      }
    while (offered < n && waiting == n && from(offered) <= cycle &&
           (offered >= takes.size() || takes[offered] <= cycle)) {
      if constexpr (Later::kEnabled)
        if (later.known(offered) > cycle) {
          later.offer(offered, cycle, ev);
          waiting = offered++;
          absorb();
          continue;
        }
      model.offer(offered, make(offered), ready(offered), cycle, ev);
      ++offered;
      absorb();
    }
    if (model.busy()) {
      model.step(cycle, ev);
      absorb();
    }
  }
  for (const auto& [key, k] : count) CHECK(k == 1);
  CHECK(count.size() == 3 * n);
  return seen;
}

// The RTL model of `unit` (registered under that name, its parameters `specs`) for `config`, as
// a family makes it from `<unit>.model rtl`; with a `vcd` path, its waveforms of ops [first, last]
// (SIZE_MAX: to the end).
template <class Model, class Config>
std::unique_ptr<Model> make_rtl(const std::vector<ParamSpec>& specs, const std::string& unit,
                                const Config& config, const std::string& vcd = "", size_t first = 0,
                                size_t last = SIZE_MAX) {
  ParamValues v(&specs);
  v.set(unit + ".model", "rtl", {});
  if (!vcd.empty()) {
    v.set(unit + ".vcd", vcd, {});
    v.set(unit + ".vcd_first", std::to_string(first), {});
    if (last != SIZE_MAX) v.set(unit + ".vcd_last", std::to_string(last), {});
  }
  return UnitModelChoice(v, unit).make_rtl<Model, Config>(unit, config, !vcd.empty());
}

}  // namespace xpusim::test
