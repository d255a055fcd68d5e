// The arbiter of shared servers (models/core/arbiter.h): requests of many clients are served
// in the order of their key (cycle, client, sequence), whatever order SystemC runs the clients
// in, also when clients stamp requests with later cycles than the current one. Each test case
// is one simulation (one process, as SystemC requires): clients request at random cycles after
// random numbers of delta cycles, and every grant must equal the one a server gets when the same
// requests are handed to it sorted by key, without SystemC (where writes yield to reads, by the
// same rule written out in the test: reference()).
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <systemc>
#include <tuple>
#include <vector>

#include "models/core/arbiter.h"
#include "models/core/memory.h"
#include "models/core/random.h"
#include "models/core/simulation.h"
#include "models/core/stats.h"

using namespace xpusim;

namespace {

struct Req {
  Arbiter::Key key;
  uint64_t bytes;
  bool write;
  int deltas;          // delta cycles the client waits before requesting
  bool stamped_early;  // requested before its cycle, with a timestamp
};

// A client thread per request list; each records the grants it got.
struct Clients : sc_core::sc_module {
  Clients(sc_core::sc_module_name n, Arbiter& a, Server& s, sc_core::sc_time period,
          const std::vector<std::vector<Req>>& reqs)
      : sc_module(n), arb(a), server(s), period_(period), reqs_(reqs) {
    for (size_t c = 0; c < reqs_.size(); ++c)
      sc_core::sc_spawn(sc_bind(&Clients::client, this, c), fmt::format("c{}", c).c_str());
  }
  void client(size_t c) {
    uint64_t next = 0;  // the cycle after the last grant
    for (Req r : reqs_[c]) {
      // A request after one that waited past its cycle (a write that yields) goes in the
      // cycle after its grant.
      r.key.cycle = std::max(r.key.cycle, next);
      const uint64_t now = sc_core::sc_time_stamp().value() / period_.value();
      if (!r.stamped_early && r.key.cycle > now) wait(period_ * double(r.key.cycle - now));
      for (int i = 0; i < r.deltas; ++i) wait(sc_core::SC_ZERO_TIME);
      got[{r.key.cycle, r.key.client, r.key.seq}] = arb.request(server, r.key, r.bytes, r.write);
      sent.push_back(r);
      next = sc_core::sc_time_stamp().value() / period_.value() + 1;
    }
    end_thread();
  }
  Arbiter& arb;
  Server& server;
  sc_core::sc_time period_;
  std::vector<std::vector<Req>> reqs_;
  std::map<std::tuple<uint64_t, int, uint64_t>, Server::Grant> got;
  std::vector<Req> sent;  // as stamped
};

// The grants a server gives the requests without SystemC: at the end of each cycle, that
// cycle's requests in key order, then, where writes yield, the waiting writes oldest first, each
// while the server is idle.
std::map<std::tuple<uint64_t, int, uint64_t>, Server::Grant> reference(std::vector<Req> all,
                                                                       Server& server) {
  std::sort(all.begin(), all.end(), [](const Req& a, const Req& b) { return a.key < b.key; });
  std::map<std::tuple<uint64_t, int, uint64_t>, Server::Grant> out;
  std::vector<Req> waiting;  // in key order
  size_t next = 0;
  for (uint64_t t = 0; next < all.size() || !waiting.empty(); ++t) {
    for (; next < all.size() && all[next].key.cycle == t; ++next) {
      const Req& r = all[next];
      if (server.yields(r.write))
        waiting.push_back(r);
      else
        out[{r.key.cycle, r.key.client, r.key.seq}] = server.serve(t, r.bytes, r.write);
    }
    while (!waiting.empty() && server.idle_at() <= t) {
      const Req& r = waiting.front();
      server.yielded(t - r.key.cycle);
      out[{r.key.cycle, r.key.client, r.key.seq}] = server.serve(t, r.bytes, r.write);
      waiting.erase(waiting.begin());
    }
  }
  return out;
}

void check_against_sorted(uint64_t seed, bool stamps, bool writes_yield = false) {
  SplitMix64 rng(seed);
  const int clients = 5;
  std::vector<std::vector<Req>> reqs(clients);
  for (int c = 0; c < clients; ++c) {
    uint64_t cycle = 0;
    for (uint64_t s = 0; s < 40; ++s) {
      cycle += 1 + rng.next() % 3;  // a client waits for its grant: one request per cycle
      reqs[size_t(c)].push_back({{cycle, c, s},
                                 1 + rng.next() % 300,
                                 rng.next() % 2 == 0,
                                 int(rng.next() % 4),
                                 stamps && rng.next() % 2 == 0});
    }
  }
  const sc_core::sc_time period(1, sc_core::SC_NS);
  StatGroup stats("t");
  DramChannel channel(32, 7, false, writes_yield, stats.group("dram"));
  Arbiter arb("arbiter", period);
  Clients cl("clients", arb, channel, period, reqs);
  simulate();
  arb.check();

  StatGroup ref_stats("r");
  DramChannel ref(32, 7, false, writes_yield, ref_stats.group("dram"));
  const auto want = reference(cl.sent, ref);
  REQUIRE(cl.got.size() == want.size());
  for (const auto& [key, w] : want) {
    const Server::Grant g = cl.got.at(key);
    INFO("cycle " << std::get<0>(key) << " client " << std::get<1>(key) << " seq "
                  << std::get<2>(key));
    CHECK(g.service_end == w.service_end);
    CHECK(g.done == w.done);
  }
  CHECK(stats.value("dram.queue_cycles") == ref_stats.value("dram.queue_cycles"));
  if (writes_yield) {  // the writes did yield: a channel serving all in key order differs
    StatGroup fifo_stats("f");
    DramChannel fifo(32, 7, false, false, fifo_stats.group("dram"));
    const auto in_order = reference(cl.sent, fifo);
    CHECK(std::any_of(want.begin(), want.end(), [&](const auto& kv) {
      return kv.second.done != in_order.at(kv.first).done;
    }));
  }
}

}  // namespace

TEST_CASE("arbiter: same-cycle requests are served in key order, not delta order", "[timing]") {
  check_against_sorted(11, false);
}

TEST_CASE("arbiter: requests stamped with a later cycle are served in key order", "[timing]") {
  check_against_sorted(12, true);
}

TEST_CASE("arbiter: writes that yield wait for the channel to be idle of reads", "[timing]") {
  check_against_sorted(13, false, true);
}

TEST_CASE("arbiter: stamped requests and writes that yield", "[timing]") {
  check_against_sorted(14, true, true);
}

TEST_CASE("arbiter: a write that yields lets a later read go first", "[timing]") {
  // 32 bytes a cycle, a latency of 7: a read of 320 bytes at cycle 0 holds the channel until
  // cycle 10; a write of 64 bytes arrives at cycle 1, a read of 64 bytes at cycle 5. The read
  // goes first (cycles 10 to 12, its data at 19), the write once the channel is idle (12 to 14,
  // done at 21). Served in arrival order, the write would take cycles 10 to 12 and the read 12
  // to 14.
  const sc_core::sc_time period(1, sc_core::SC_NS);
  StatGroup stats("t");
  DramChannel channel(32, 7, false, true, stats.group("dram"));
  Arbiter arb("arbiter", period);
  Clients cl("clients", arb, channel, period,
             {{{{0, 0, 0}, 320, false, 0, false}},
              {{{1, 1, 0}, 64, true, 0, false}},
              {{{5, 2, 0}, 64, false, 0, false}}});
  simulate();
  arb.check();
  CHECK(cl.got.at({0, 0, 0}).done == 17);
  CHECK(cl.got.at({5, 2, 0}).service_end == 12);
  CHECK(cl.got.at({5, 2, 0}).done == 19);
  CHECK(cl.got.at({1, 1, 0}).service_end == 14);
  CHECK(cl.got.at({1, 1, 0}).done == 21);
  CHECK(stats.value("dram.queue_cycles") == 0 + 5 + 11);  // the reads 0 and 5, the write 11
}
