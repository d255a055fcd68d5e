#include "models/tpu/cmem.h"

#include <fmt/format.h>

#include <algorithm>

#include "models/core/error.h"

namespace xpusim::tpu {

Cmem::Cmem(uint64_t bytes, uint32_t ways, double port_bytes_per_cycle, uint64_t latency, bool ideal,
           Server& hbm, StatGroup& stats)
    : sets_(ways ? bytes / (uint64_t(ways) * kPageBytes) : 0),
      ways_(ways),
      port_(port_bytes_per_cycle, latency, ideal, false,
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
  if (sets_ == 0)
    throw Error(fmt::format("cmem.bytes: {} bytes is less than one set ({} ways of {} bytes)",
                            bytes, ways, kPageBytes));
  try {
    pages_ = ZeroArray<Page>(sets_ * ways_);
    tags_ = ZeroArray<uint64_t>(sets_ * ways_);
  } catch (const Error& e) {
    throw Error(fmt::format("cmem.bytes: {} bytes: the tags of its {} pages: {}", bytes,
                            sets_ * ways_, e.what()));
  }
  sets_pow2_ = (sets_ & (sets_ - 1)) == 0;
  while ((uint64_t(1) << sets_shift_) < sets_) ++sets_shift_;
  stats.scalar("capacity", "bytes", "capacity of the CMEM") = double(bytes);
}

Cmem::Page* Cmem::find(uint64_t page, bool allocate) {
  if (last_ && last_->number == page) {  // the rows of a DMA often share a page
    last_->used = ++clock_;
    return last_;
  }
  const uint64_t mixed = page ^ (page >> sets_shift_);  // page xor page / sets, when a power
  const uint64_t first =
      (sets_pow2_ ? mixed & (sets_ - 1) : (page ^ (page / sets_)) % sets_) * ways_;
  // The tags alone first (a hit reads two host cache lines of them), the ages on a miss.
  const uint64_t* tag = &tags_[first];
  for (uint32_t w = 0; w < ways_; ++w)
    if (tag[w] == page + 1) {
      Page& pg = pages_[first + w];
      pg.used = ++clock_;
      return last_ = &pg;
    }
  if (!allocate) return nullptr;
  uint64_t victim = first;
  for (uint64_t w = first; w < first + ways_; ++w) {
    if (tags_[w] == 0) {
      victim = w;
      break;
    }
    if (pages_[w].used < pages_[victim].used) victim = w;
  }
  tags_[victim] = page + 1;
  pages_[victim] = Page{page, 0, 0, ++clock_};
  return last_ = &pages_[victim];
}

template <typename F>
void Cmem::for_pages(const DramBlock& b, F f) {
  for (uint64_t r = 0; r < b.rows; ++r) {
    const uint64_t lo = b.addr + r * b.stride, hi = lo + b.row_bytes;
    for (uint64_t p = lo / kPageBytes; p * kPageBytes < hi; ++p) {
      const uint64_t base = p * kPageBytes, a = std::max(lo, base),
                     e = std::min(hi, base + kPageBytes);
      const uint64_t s0 = (a - base) / kSectorBytes, s1 = (e - 1 - base) / kSectorBytes;
      const uint64_t mask =
          (s1 == 63 ? ~uint64_t(0) : (uint64_t(1) << (s1 + 1)) - 1) & ~((uint64_t(1) << s0) - 1);
      f(p, mask, a, e);
    }
  }
}

namespace {

// The bytes of [a, e) in the sectors of `mask` (sectors of the page at `base`), where the first
// and last sectors [a, e) touches may be partial.
uint64_t bytes_in(uint64_t mask, uint64_t base, uint64_t a, uint64_t e) {
  if (!mask) return 0;
  constexpr uint64_t S = Cmem::kSectorBytes;
  const uint64_t s0 = (a - base) / S, s1 = (e - 1 - base) / S;
  uint64_t n = uint64_t(__builtin_popcountll(mask)) * S;
  if (mask >> s0 & 1) n -= a - (base + s0 * S);
  if (mask >> s1 & 1) n -= base + (s1 + 1) * S - e;
  return n;
}

}  // namespace

Server::Grant Cmem::read(uint64_t cycle, const DramBlock& b, uint64_t& offchip) {
  uint64_t hit = 0, miss = 0, fill = 0, ready = 0;
  filled_.clear();
  for_pages(b, [&](uint64_t p, uint64_t mask, uint64_t a, uint64_t e) {
    Page& pg = *find(p, true);
    const uint64_t base = p * kPageBytes, in = mask & pg.valid, out = mask & ~pg.valid;
    if (in) {
      const uint64_t n = bytes_in(in, base, a, e);
      hit += n;
      if (pg.ready > cycle) pending_hit_bytes_ += n;
      ready = std::max(ready, pg.ready);
    }
    if (out) {
      miss += bytes_in(out, base, a, e);
      fill += uint64_t(__builtin_popcountll(out)) * kSectorBytes;
      pg.valid |= out;
      if (filled_.empty() || filled_.back() != &pg) filled_.push_back(&pg);
    }
  });
  hit_bytes_ += hit;
  miss_bytes_ += miss;
  fill_bytes_ += fill;
  offchip = fill;
  Server::Grant g{cycle, std::max(cycle, ready)};
  if (fill) {
    const Server::Grant h = hbm_.serve(cycle, fill, false);
    for (Page* pg : filled_) pg->ready = std::max(pg->ready, h.done);
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
  for_pages(b, [&](uint64_t p, uint64_t mask, uint64_t a, uint64_t e) {
    bytes += e - a;
    if (const Page* pg = find(p, false))
      updated_bytes_ += bytes_in(mask & pg->valid, p * kPageBytes, a, e);
  });
  write_bytes_ += bytes;
  offchip = bytes;
  return hbm_.serve(cycle, bytes, true);
}

}  // namespace xpusim::tpu
