#include "models/core/memside.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "models/core/error.h"

namespace xpusim {

uint32_t spread_index(uint64_t key, uint32_t n) {
  if (n <= 1) return 0;
  unsigned b = 1;
  while ((uint64_t(1) << b) < n) ++b;
  const uint64_t digit = (uint64_t(1) << b) - 1;
  uint64_t sum = 0;
  for (; key; key >>= b) sum += key & digit;
  return uint32_t(sum % n);
}

namespace {

const MemorySideParams& checked(const MemorySideParams& p) {
  auto fail = [](const std::string& what) { throw Error("memory side: " + what); };
  if (p.l2_slices == 0) fail("l2_slices must be at least 1");
  if (p.l2_ways == 0 || p.l2_ways > UINT16_MAX)
    fail(fmt::format("l2_ways is {} (1 to {})", p.l2_ways, UINT16_MAX));
  if (p.l2_bytes / p.l2_slices < uint64_t(p.l2_ways) * kLineBytes)
    fail(
        fmt::format("l2_bytes of {} over {} slices leaves less than one set of {} ways of {} "
                    "bytes per slice",
                    p.l2_bytes, p.l2_slices, p.l2_ways, kLineBytes));
  if (!(p.l2_bytes_per_cycle_per_slice > 0) || !std::isfinite(p.l2_bytes_per_cycle_per_slice))
    fail(fmt::format("l2_bytes_per_cycle_per_slice is {} (must be positive)",
                     p.l2_bytes_per_cycle_per_slice));
  if (p.dram_channels == 0) fail("dram_channels must be at least 1");
  if (!(p.dram_bytes_per_cycle > 0) || !std::isfinite(p.dram_bytes_per_cycle))
    fail(fmt::format("dram_bytes_per_cycle is {} (must be positive)", p.dram_bytes_per_cycle));
  if (p.dram_interleave_bytes == 0 || p.dram_interleave_bytes % kSectorBytes)
    fail(fmt::format("dram_interleave_bytes is {} (a positive multiple of {})",
                     p.dram_interleave_bytes, kSectorBytes));
  return p;
}

// Ticks (1 / 2^bits cycle) to move one sector at `bytes_per_cycle`, at least one.
uint64_t sector_ticks(double bytes_per_cycle, unsigned bits) {
  return std::max<uint64_t>(
      1, uint64_t(std::llround(std::ldexp(kSectorBytes, int(bits)) / bytes_per_cycle)));
}

}  // namespace

MemorySideParams memory_side_params(const ParamValues& v, double clock_mhz) {
  MemorySideParams m;
  m.l2_bytes = uint64_t(v.integer("l2.bytes"));
  m.l2_slices = uint32_t(v.integer("l2.slices"));
  m.l2_ways = uint32_t(v.integer("l2.ways"));
  m.l2_bytes_per_cycle_per_slice = v.real("l2.bytes_per_cycle");
  m.l2_hit_latency = uint64_t(v.integer("l2.latency"));
  m.dram_channels = uint32_t(v.integer("memory.channels"));
  m.dram_bytes_per_cycle = v.real("memory.bandwidth_gbps") * 1e9 / (clock_mhz * 1e6);
  m.dram_latency = uint64_t(v.integer("memory.latency"));
  m.dram_interleave_bytes = uint64_t(v.integer("memory.interleave_bytes"));
  return m;
}

MemorySide::MemorySide(const MemorySideParams& p, StatGroup& stats)
    : params_(checked(p)),
      slice_ticks_(sector_ticks(p.l2_bytes_per_cycle_per_slice, kTickBits)),
      dram_ticks_(sector_ticks(p.dram_bytes_per_cycle / p.dram_channels, kTickBits)),
      slice_free_(p.l2_slices, 0),
      channel_free_(p.dram_channels, 0) {
  attach(stats);
  tags_.reserve(p.l2_slices);
  for (uint32_t i = 0; i < p.l2_slices; ++i)
    tags_.emplace_back(p.l2_bytes / p.l2_slices, p.l2_ways, true, p.l2_slices);
}

void MemorySide::attach(StatGroup& stats) {
  StatGroup& l2 = stats.group("l2", "the L2 slices shared by all cores");
  read_sectors_ = &l2.counter("read_sectors", "sectors", "32-byte sectors read");
  write_sectors_ = &l2.counter("write_sectors", "sectors", "32-byte sectors written");
  atomic_sectors_ =
      &l2.counter("atomic_sectors", "sectors", "32-byte sectors of atomic operations");
  hits_ = &l2.counter("hits", "sectors", "read and atomic sectors found valid in the L2");
  pending_hits_ =
      &l2.counter("pending_hits", "sectors",
                  "hits whose line's fill was still on its way from DRAM (they wait for it)");
  misses_ = &l2.counter("misses", "sectors", "read and atomic sectors fetched from DRAM");
  write_backs_ =
      &l2.counter("write_backs", "sectors", "dirty sectors of evicted lines written to DRAM");
  l2_busy_ = &l2.scalar("busy_cycles", "cycles", "sum over slices of cycles spent moving sectors");
  l2_queue_ = &l2.scalar("queue_cycles", "cycles",
                         "sum over requests of cycles waited for their slice before its first "
                         "sector");
  l2.formula("hit_rate", "fraction", "hits / (hits + misses)",
             [h = hits_, m = misses_] { return *h + *m ? double(*h) / double(*h + *m) : 0.0; });
  StatGroup& dram = stats.group("dram", "HBM channels behind the L2");
  dram_read_ = &dram.counter("bytes_read", "bytes", "bytes read from DRAM");
  dram_written_ = &dram.counter("bytes_written", "bytes", "bytes written to DRAM (L2 write-backs)");
  dram_busy_ =
      &dram.scalar("busy_cycles", "cycles", "sum over channels of cycles spent transferring");
  dram_queue_ = &dram.scalar("queue_cycles", "cycles",
                             "sum over 32-byte transfers of cycles waited for the channel");
}

void MemorySide::restart_at(uint64_t cycle) {
  const uint64_t t = cycle << kTickBits;
  for (auto* v : {&slice_free_, &channel_free_})
    for (uint64_t& f : *v) f = f > t ? f - t : 0;
  for (SectorCache& c : tags_) c.clear_fills();
}

uint64_t MemorySide::dram_transfer(uint64_t addr, uint64_t arrival, bool write) {
  const uint32_t channel =
      spread_index(addr / params_.dram_interleave_bytes, params_.dram_channels);
  const uint64_t start = std::max(arrival, channel_free_[channel]);
  *dram_queue_ += double(start - arrival) * kTick;
  *dram_busy_ += double(dram_ticks_) * kTick;
  *(write ? dram_written_ : dram_read_) += kSectorBytes;
  return channel_free_[channel] = start + dram_ticks_;
}

uint64_t MemorySide::serve(uint64_t cycle, uint64_t line_addr, uint8_t sector_mask, Access kind) {
  if (sector_mask == 0 || sector_mask >> kSectorsPerLine)
    throw Error(fmt::format("internal: memory request with sector mask {:#x}", sector_mask));
  const auto cycles = [](uint64_t ticks) {  // rounded up
    return (ticks + (uint64_t(1) << kTickBits) - 1) >> kTickBits;
  };
  const uint64_t line = line_addr / kLineBytes;
  const uint32_t slice = spread_index(line, params_.l2_slices);
  SectorCache& tags = tags_[slice];
  const uint64_t arrival = cycle << kTickBits;
  uint64_t start = std::max(arrival, slice_free_[slice]);  // s_k of the next sector
  *l2_queue_ += double(start - arrival) * kTick;
  // One lookup for the request's sectors, which behave as if looked up one by one in ascending
  // order: only the first can evict, and a hit waits for the fills noted by the misses before it
  // (as for the line's earlier ones). An atomic reads then writes each sector: its hits are the
  // read's, and its sectors end valid and dirty as after a write.
  const SectorCache::Outcome o = tags.access(line_addr, sector_mask, true, kind != Access::read);
  uint8_t evicted = o.evicted_dirty;
  uint64_t ready = o.ready, done = 0;
  for (uint32_t i = 0; i < kSectorsPerLine; ++i) {
    if (!(sector_mask >> i & 1)) continue;
    const uint64_t addr = line * kLineBytes + i * kSectorBytes;
    uint64_t sector_done = cycles(start) + params_.l2_hit_latency;
    if (kind == Access::write) {
      ++*write_sectors_;
    } else {
      ++*(kind == Access::read ? read_sectors_ : atomic_sectors_);
      if (!(o.hits >> i & 1)) {
        ++*misses_;
        sector_done = cycles(dram_transfer(addr, start, false)) + params_.dram_latency +
                      params_.l2_hit_latency;
        ready = std::max(ready, sector_done);
      } else {
        ++*hits_;
        if (ready > sector_done) {
          ++*pending_hits_;
          sector_done = ready;
        }
      }
    }
    for (uint32_t j = 0; j < kSectorsPerLine; ++j) {
      if (!(evicted >> j & 1)) continue;
      ++*write_backs_;
      dram_transfer(o.evicted_line + j * kSectorBytes, start, true);
    }
    evicted = 0;
    done = std::max(done, sector_done);
    start += slice_ticks_;
    *l2_busy_ += double(slice_ticks_) * kTick;
  }
  if (ready > o.ready) tags.note_fill(line_addr, ready);
  slice_free_[slice] = start;
  return done;
}

}  // namespace xpusim
