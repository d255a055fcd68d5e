#include "models/core/arbiter.h"

#include <fmt/format.h>

#include "models/core/error.h"
#include "models/core/simulation.h"

namespace xpusim {

Arbiter::Arbiter(sc_core::sc_module_name name, sc_core::sc_time period)
    : sc_module(name), period_(period) {
  SC_THREAD(run);
}

uint64_t Arbiter::now() const {
  return sc_core::sc_time_stamp().value() / period_.value();
}

Server::Grant Arbiter::request(Server& server, const Key& key, uint64_t bytes, bool write) {
  if (key.cycle < now())
    throw Error(
        fmt::format("internal: client {} stamped a request with cycle {}, before the "
                    "current cycle {}",
                    key.client, key.cycle, now()));
  if (server.ideal() && key.cycle == now()) return server.serve(key.cycle, bytes, write);
  Pending p{&server, bytes, write};
  if (!pending_.emplace(key, &p).second)
    throw Error(fmt::format("internal: client {} used request key ({}, {}) twice", key.client,
                            key.cycle, key.seq));
  if (server.yields(write)) ++yielding_;
  work_.notify(sc_core::SC_ZERO_TIME);
  while (!p.served) wait(served_);
  return p.grant;
}

void Arbiter::add_cycle_hook(std::function<bool()> busy, std::function<void()> step) {
  hooks_.emplace_back(std::move(busy), std::move(step));
}

void Arbiter::wake() {
  work_.notify(sc_core::SC_ZERO_TIME);
}

void Arbiter::check() const {
  if (error_) std::rethrow_exception(error_);
}

bool Arbiter::hooks_busy() const {
  for (const auto& h : hooks_)
    if (h.first()) return true;
  return false;
}

void Arbiter::settle() {
  while (sc_core::sc_pending_activity_at_current_time()) wait(sc_core::SC_ZERO_TIME);
}

uint64_t Arbiter::next_cycle() const {
  if (!yielding_) return pending_.begin()->first.cycle;
  uint64_t next = ~uint64_t(0);
  for (const auto& [key, p] : pending_)
    next = std::min(
        next, p->server->yields(p->write) ? std::max(key.cycle, p->server->idle_at()) : key.cycle);
  return next;
}

bool Arbiter::serve_cycle(uint64_t t) {
  bool any = false;
  auto serve = [&](std::map<Key, Pending*>::iterator it) {
    Pending* p = it->second;
    if (p->server->yields(p->write)) {
      p->server->yielded(t - it->first.cycle);
      --yielding_;
    }
    p->grant = p->server->serve(t, p->bytes, p->write);
    p->served = true;
    any = true;
    return pending_.erase(it);
  };
  // The cycle's requests in key order, then those that yield, oldest first, each once its
  // server is idle.
  for (auto it = pending_.begin(); it != pending_.end() && it->first.cycle <= t;)
    it = it->second->server->yields(it->second->write) ? std::next(it) : serve(it);
  for (auto it = pending_.begin(); it != pending_.end() && it->first.cycle <= t;)
    it = it->second->server->idle_at() <= t ? serve(it) : std::next(it);
  return any;
}

void Arbiter::run() {
  try {
    for (;;) {
      const bool clocking = hooks_busy();
      if (!clocking) {
        if (pending_.empty()) {
          wait(work_);
          continue;
        }
        // Sleep until the earliest cycle a request may be served, or until new work.
        const uint64_t first = next_cycle(), t = now();
        if (first > t) {
          wait(period_ * double(first - t), work_);
          continue;
        }
      }
      // Every request and every hook's work of this cycle is in once the rest has run.
      settle();
      if (clocking) {
        for (const auto& h : hooks_)
          if (h.first()) h.second();
        settle();
      }
      // Serving ends after this cycle, so the requesters it wakes issue nothing more in it; the
      // loop still catches a request that a wake-up makes for this cycle.
      const uint64_t t = now();
      while (serve_cycle(t)) {
        served_.notify(sc_core::SC_ZERO_TIME);
        settle();
      }
      if (clocking) wait(period_);
    }
  } catch (...) {
    error_ = std::current_exception();
    sc_core::sc_stop();
  }
  end_thread();
}

}  // namespace xpusim
