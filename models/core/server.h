// A shared resource (a DRAM/HBM channel; L2 slices and links to come) as a server of requests,
// SystemC-free so that it is testable alone. The Arbiter (arbiter.h) decides the order in which
// many clients' requests reach it.
#pragma once

#include <cstdint>

namespace xpusim {

// A shared resource whose requests are served one by one in key order.
class Server {
 public:
  struct Grant {
    uint64_t service_end;  // the server is free again (the requester may issue its next)
    uint64_t done;         // the data has arrived
  };
  virtual ~Server() = default;
  // Serves a request that arrives at `cycle`; calls come in non-decreasing cycle order.
  virtual Grant serve(uint64_t cycle, uint64_t bytes, bool write) = 0;
  // An ideal server answers every request at once, so the order of requests does not matter
  // and they need not wait for the end of the cycle.
  virtual bool ideal() const { return false; }
  // Whether a request of this kind, once arrived, waits for the server to be idle at the end of
  // a cycle, after that cycle's requests that do not wait (a memory controller that holds
  // writes back while reads come: writes yield to reads). Such requests go oldest first.
  virtual bool yields(bool /*write*/) const { return false; }
  // The first cycle at which the server is idle.
  virtual uint64_t idle_at() const { return 0; }
  // A request that yields waited `cycles` from its arrival to its serve().
  virtual void yielded(uint64_t /*cycles*/) {}
};

}  // namespace xpusim
