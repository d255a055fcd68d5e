// Shared servers and their arbiter: where the requests of many clients (the units of several
// cores, later the SMs of a GPU or the AI cores of an NPU) meet a shared resource (a DRAM/HBM
// channel; L2 slices and links to come).
//
// Determinism: requests of the same cycle are served in the order of a fixed key (cycle,
// client, sequence), whatever the SystemC delta cycle each requester ran in. The Arbiter is the
// one end-of-cycle process of a simulation: once every other process of a cycle has run (so
// every request of the cycle is in), it runs the cycle hooks (clocking verilated units, which
// may complete work that others wait for), then serves the cycle's requests of every server in
// key order and wakes their requesters.
//
// Timestamps: a request carries its own cycle, which may be later than the current simulated
// time (a client that advances its own clock in windows, as GPU SMs will); it is served at the
// end of that cycle, in key order with the others of that cycle. A stamp earlier than the
// current cycle is an error: the client fell behind the simulation.
//
// Writes that yield (a server whose Server::yields says so: a DRAM channel whose controller
// serves reads first): such a request, once its cycle has come, waits until the end of a cycle
// at which its server is idle after serving that cycle's other requests; the waiting ones go
// oldest first (key order), one at a time as the server frees again. A request that arrives
// while such a write is being served waits for it (a write is not interrupted).
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <systemc>
#include <tuple>
#include <vector>

#include "models/core/server.h"

namespace xpusim {

class Arbiter : public sc_core::sc_module {
 public:
  // `period`: one cycle of the clock that request stamps count.
  Arbiter(sc_core::sc_module_name name, sc_core::sc_time period);
  SC_HAS_PROCESS(Arbiter);

  struct Key {
    uint64_t cycle;  // when the request arrives (>= the current cycle)
    int client;      // a fixed number per client (core, SM)
    uint64_t seq;    // the client's own order (its instruction or request number)
    bool operator<(const Key& o) const {
      return std::tie(cycle, client, seq) < std::tie(o.cycle, o.client, o.seq);
    }
  };
  // Called from a client's thread: returns the grant once the request has been served (at the
  // end of cycle key.cycle). Throws Error for a stamp in the past or a key used twice.
  Server::Grant request(Server& server, const Key& key, uint64_t bytes, bool write);

  // A hook run at the end of every cycle in which busy() is true, before the requests are
  // served; while any hook is busy the arbiter runs every cycle. Call wake() when a hook may
  // have become busy.
  void add_cycle_hook(std::function<bool()> busy, std::function<void()> step);
  void wake();

  uint64_t now() const;
  // After sc_start(): rethrows an error raised in the arbiter (by a server or a hook).
  void check() const;

 private:
  struct Pending {
    Server* server;
    uint64_t bytes;
    bool write;
    bool served = false;
    Server::Grant grant{};
  };
  void run();
  // Lets every other process of the current time run, until only the arbiter is left.
  void settle();
  bool hooks_busy() const;
  // The earliest cycle at which a pending request may be served.
  uint64_t next_cycle() const;
  // Serves the requests that may be served at the end of cycle t; false when none.
  bool serve_cycle(uint64_t t);

  sc_core::sc_time period_;
  std::map<Key, Pending*> pending_;  // each Pending lives on its requester's stack
  size_t yielding_ = 0;              // of them, requests that yield (Server::yields)
  std::vector<std::pair<std::function<bool()>, std::function<void()>>> hooks_;
  sc_core::sc_event work_, served_;
  std::exception_ptr error_;
};

}  // namespace xpusim
