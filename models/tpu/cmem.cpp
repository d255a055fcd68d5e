#include "models/tpu/cmem.h"

#include <algorithm>

namespace xpusim::tpu {

Cmem::Cmem(uint64_t bytes, uint32_t ways, double port_bytes_per_cycle, uint64_t latency, bool ideal,
           Server& hbm, StatGroup& stats)
    : tags_(bytes, ways, true),
      port_(port_bytes_per_cycle, latency, ideal,
            stats.group("port", "the CMEM's port to the cores"), "CMEM"),
      hbm_(hbm),
      hit_bytes_(stats.counter("hit_bytes", "bytes",
                               "bytes of DMA reads found in the CMEM (or on their way into it), "
                               "sent to the cores through its port")),
      pending_hit_bytes_(stats.counter(
          "pending_hit_bytes", "bytes",
          "of hit_bytes, those whose fill from HBM was still on its way: the read waited for it")),
      miss_bytes_(stats.counter("miss_bytes", "bytes",
                                "bytes of DMA reads not in the CMEM, fetched from HBM")),
      fill_bytes_(stats.counter("fill_bytes", "bytes",
                                "bytes fetched from HBM into the CMEM: the missed sectors, 32 "
                                "bytes each")),
      write_bytes_(
          stats.counter("write_bytes", "bytes", "bytes of DMA writes, written through to HBM")),
      updated_bytes_(
          stats.counter("updated_bytes", "bytes",
                        "of write_bytes, those in sectors the CMEM held: updated there")) {
  stats.scalar("capacity", "bytes", "capacity of the CMEM") = double(bytes);
}

namespace {

// Calls f(sector, bytes of the block in it) for each 32-byte sector the block touches, in
// address order within each row.
template <typename F>
void for_sectors(const DramBlock& b, F f) {
  for (uint64_t r = 0; r < b.rows; ++r) {
    const uint64_t lo = b.addr + r * b.stride, hi = lo + b.row_bytes;
    for (uint64_t s = lo / kSectorBytes * kSectorBytes; s < hi; s += kSectorBytes)
      f(s, std::min(hi, s + kSectorBytes) - std::max(lo, s));
  }
}

}  // namespace

Server::Grant Cmem::read(uint64_t cycle, const DramBlock& b, uint64_t& offchip) {
  uint64_t hit = 0, miss = 0, ready = 0;
  offchip = 0;
  missed_.clear();
  for_sectors(b, [&](uint64_t s, uint64_t n) {
    // A sector this read itself missed (rows sharing it) comes with that fill.
    if (!missed_.empty() && missed_.back() == s) {
      miss += n;
      return;
    }
    const SectorCache::Outcome o = tags_.read(s, true);
    if (o.hit) {
      hit += n;
      if (o.ready > cycle) pending_hit_bytes_ += n;
      ready = std::max(ready, o.ready);
    } else {
      miss += n;
      missed_.push_back(s);
    }
  });
  hit_bytes_ += hit;
  miss_bytes_ += miss;
  Server::Grant g{cycle, std::max(cycle, ready)};
  if (!missed_.empty()) {
    offchip = uint64_t(missed_.size()) * kSectorBytes;
    fill_bytes_ += offchip;
    const Server::Grant h = hbm_.serve(cycle, offchip, false);
    for (const uint64_t s : missed_) tags_.note_fill(s, h.done);
    g = {std::max(g.service_end, h.service_end), std::max(g.done, h.done)};
  }
  if (hit) {
    const Server::Grant p = port_.serve(cycle, hit, false);
    g = {std::max(g.service_end, p.service_end), std::max(g.done, p.done)};
  }
  return g;
}

Server::Grant Cmem::write(uint64_t cycle, const DramBlock& b, uint64_t& offchip) {
  uint64_t bytes = 0;
  for_sectors(b, [&](uint64_t s, uint64_t n) {
    bytes += n;
    if (tags_.write(s, false).hit) updated_bytes_ += n;
  });
  write_bytes_ += bytes;
  offchip = bytes;
  return hbm_.serve(cycle, bytes, true);
}

}  // namespace xpusim::tpu
