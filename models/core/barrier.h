// A barrier between the cores of a chip (the TPU's `barrier`; the NPU families' core-to-core
// barrier to come): each core's dispatcher arrives and waits until every core has arrived; the
// barrier then opens for all of them in the cycle the last one arrived.
#pragma once

#include <functional>
#include <systemc>
#include <utility>

namespace xpusim {

class CoreBarrier {
 public:
  explicit CoreBarrier(int cores) : cores_(cores) {}
  // Called as the barrier opens, by the last core to arrive, before any core goes on.
  void on_release(std::function<void()> f) { on_release_ = std::move(f); }
  // From a core's SystemC thread.
  void arrive_and_wait() {
    if (++arrived_ == cores_) {
      arrived_ = 0;
      ++generation_;
      if (on_release_) on_release_();
      released_.notify(sc_core::SC_ZERO_TIME);
      return;
    }
    const unsigned long g = generation_;
    while (generation_ == g) sc_core::wait(released_);
  }
  int cores() const { return cores_; }
  // Cores waiting now (for a deadlock report).
  int arrived() const { return arrived_; }

 private:
  int cores_;
  int arrived_ = 0;
  unsigned long generation_ = 0;
  sc_core::sc_event released_;
  std::function<void()> on_release_;
};

}  // namespace xpusim
