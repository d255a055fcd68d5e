// The arbiter of shared servers (models/core/arbiter.h): requests of many clients are served
// in the order of their key (cycle, client, sequence), whatever order SystemC runs the clients
// in, also when clients stamp requests with later cycles than the current one. Each test case
// is one simulation (one process, as SystemC requires): clients request at random cycles after
// random numbers of delta cycles, and every grant must equal the one a server gets when the same
// requests are handed to it sorted by key, without SystemC.
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <systemc>
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
    for (const Req& r : reqs_[c]) {
      const uint64_t now = sc_core::sc_time_stamp().value() / period_.value();
      if (!r.stamped_early && r.key.cycle > now) wait(period_ * double(r.key.cycle - now));
      for (int i = 0; i < r.deltas; ++i) wait(sc_core::SC_ZERO_TIME);
      got[{r.key.cycle, r.key.client, r.key.seq}] = arb.request(server, r.key, r.bytes, r.write);
    }
    end_thread();
  }
  Arbiter& arb;
  Server& server;
  sc_core::sc_time period_;
  std::vector<std::vector<Req>> reqs_;
  std::map<std::tuple<uint64_t, int, uint64_t>, Server::Grant> got;
};

void check_against_sorted(uint64_t seed, bool stamps) {
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
  DramChannel channel(32, 7, false, stats.group("dram"));
  Arbiter arb("arbiter", period);
  Clients cl("clients", arb, channel, period, reqs);
  simulate();
  arb.check();

  std::vector<Req> all;
  for (const auto& v : reqs) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end(), [](const Req& a, const Req& b) { return a.key < b.key; });
  StatGroup ref_stats("r");
  DramChannel ref(32, 7, false, ref_stats.group("dram"));
  REQUIRE(cl.got.size() == all.size());
  for (const Req& r : all) {
    const Server::Grant want = ref.serve(r.key.cycle, r.bytes, r.write);
    const Server::Grant g = cl.got.at({r.key.cycle, r.key.client, r.key.seq});
    INFO("cycle " << r.key.cycle << " client " << r.key.client << " seq " << r.key.seq);
    CHECK(g.service_end == want.service_end);
    CHECK(g.done == want.done);
  }
}

}  // namespace

TEST_CASE("arbiter: same-cycle requests are served in key order, not delta order", "[timing]") {
  check_against_sorted(11, false);
}

TEST_CASE("arbiter: requests stamped with a later cycle are served in key order", "[timing]") {
  check_against_sorted(12, true);
}
