#include "models/gpu/memsys.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <string>

#include "models/core/error.h"

namespace xpusim::gpu {

namespace {

constexpr uint32_t kMaxAccessBytes = 16;

void check_access_bytes(uint32_t bytes, const char* who) {
  if (bytes == 0 || bytes > kMaxAccessBytes)
    throw Error(
        fmt::format("internal: {}: an access of {} bytes (1 to {})", who, bytes, kMaxAccessBytes));
}

// x / d and x % d by a shift and a mask when d is a power of two (always so for real shared
// memories), by division otherwise.
class Divisor {
 public:
  explicit Divisor(uint64_t d) : d_(d), shift_((d & (d - 1)) ? -1 : __builtin_ctzll(d)) {}
  uint64_t div(uint64_t x) const { return shift_ >= 0 ? x >> shift_ : x / d_; }
  uint64_t mod(uint64_t x) const { return shift_ >= 0 ? x & (d_ - 1) : x % d_; }

 private:
  uint64_t d_;
  int shift_;
};

// Sorts a short array that is usually in order already (lanes on ascending addresses).
template <typename T, typename Less>
void sort_small(T* begin, T* end, Less less) {
  if (!std::is_sorted(begin, end, less)) std::sort(begin, end, less);
}

}  // namespace

uint32_t shared_wavefronts(const uint64_t* addr, uint32_t mask, uint32_t bytes, uint32_t banks,
                           uint32_t bank_bytes) {
  check_access_bytes(bytes, "shared_wavefronts");
  if (banks == 0 || banks > kMaxSharedBanks || bank_bytes == 0)
    throw Error(fmt::format("internal: shared_wavefronts: {} banks (1 to {}) of {} bytes", banks,
                            kMaxSharedBanks, bank_bytes));
  const Divisor word(bank_bytes), bank_of(banks);
  // Each word is (bank, row within the bank): the words are bucketed by bank (a counting sort),
  // then each bank's distinct rows are counted within its bucket, which holds a few words in
  // any access that is not badly conflicted (no sort, no heap).
  constexpr uint32_t kMaxWords = kWarpLanes * (kMaxAccessBytes + 1);  // +1: a misaligned lane
  std::array<uint16_t, kMaxSharedBanks + 1> start{};
  std::array<uint32_t, kMaxWords> bank_of_word;
  std::array<uint64_t, kMaxWords> row_of_word, bucket;
  uint32_t n = 0;
  for (uint32_t m = mask; m; m &= m - 1) {
    const uint64_t a = addr[__builtin_ctz(m)];
    for (uint64_t w = word.div(a), last = word.div(a + bytes - 1); w <= last; ++w) {
      bank_of_word[n] = uint32_t(bank_of.mod(w));
      row_of_word[n] = bank_of.div(w);
      ++start[bank_of_word[n] + 1];
      ++n;
    }
  }
  if (n == 0) return 0;
  for (uint32_t b = 0; b < banks; ++b) start[b + 1] = uint16_t(start[b + 1] + start[b]);
  std::array<uint16_t, kMaxSharedBanks> fill;
  std::copy(start.begin(), start.begin() + banks, fill.begin());
  for (uint32_t i = 0; i < n; ++i) bucket[fill[bank_of_word[i]]++] = row_of_word[i];
  uint32_t most = 0;
  for (uint32_t b = 0; b < banks; ++b) {
    uint32_t distinct = 0;
    for (uint32_t i = start[b]; i < start[b + 1]; ++i) {
      bool seen = false;
      for (uint32_t j = start[b]; j < i && !seen; ++j) seen = bucket[j] == bucket[i];
      distinct += !seen;
    }
    most = std::max(most, distinct);
  }
  return most;
}

uint32_t coalesce(const uint64_t* addr, uint32_t mask, uint32_t bytes, uint64_t* sectors_out) {
  check_access_bytes(bytes, "coalesce");
  constexpr uint64_t align = ~uint64_t(kSectorBytes - 1);
  uint32_t n = 0;
  for (uint32_t m = mask; m; m &= m - 1) {
    const uint64_t a = addr[__builtin_ctz(m)];
    const uint64_t first = a & align, last = (a + bytes - 1) & align;
    // Lanes on one sector (the common case) are merged before the sort.
    if (n == 0 || sectors_out[n - 1] != first) sectors_out[n++] = first;
    if (last != first) sectors_out[n++] = last;
  }
  sort_small(sectors_out, sectors_out + n, std::less<uint64_t>());
  return uint32_t(std::unique(sectors_out, sectors_out + n) - sectors_out);
}

uint32_t group_lines(const uint64_t* sectors, uint32_t n, LineRequest* out) {
  uint32_t lines = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const uint64_t line = sectors[i] & ~uint64_t(kLineBytes - 1);
    const uint8_t bit = uint8_t(1u << (sectors[i] / kSectorBytes % kSectorsPerLine));
    if (lines && out[lines - 1].line == line)
      out[lines - 1].sector_mask |= bit;
    else
      out[lines++] = {line, bit};
  }
  return lines;
}

uint32_t spread_index(uint64_t key, uint32_t n) {
  if (n <= 1) return 0;
  unsigned b = 1;
  while ((uint64_t(1) << b) < n) ++b;
  const uint64_t digit = (uint64_t(1) << b) - 1;
  uint64_t sum = 0;
  for (; key; key >>= b) sum += key & digit;
  return uint32_t(sum % n);
}

// --- MemorySide -------------------------------------------------------------------------------

namespace {

const MemorySideParams& checked(const MemorySideParams& p) {
  auto fail = [](const std::string& what) { throw Error("gpu memory side: " + what); };
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

MemorySide::MemorySide(const MemorySideParams& p, StatGroup& stats)
    : params_(checked(p)),
      slice_ticks_(sector_ticks(p.l2_bytes_per_cycle_per_slice, kTickBits)),
      dram_ticks_(sector_ticks(p.dram_bytes_per_cycle / p.dram_channels, kTickBits)),
      slice_free_(p.l2_slices, 0),
      channel_free_(p.dram_channels, 0),
      read_sectors_(stats.group("l2", "the L2 slices shared by all SMs")
                        .counter("read_sectors", "sectors", "32-byte sectors read")),
      write_sectors_(
          stats.group("l2").counter("write_sectors", "sectors", "32-byte sectors written")),
      atomic_sectors_(stats.group("l2").counter("atomic_sectors", "sectors",
                                                "32-byte sectors of atomic operations")),
      hits_(stats.group("l2").counter("hits", "sectors",
                                      "read and atomic sectors found valid in the L2")),
      pending_hits_(stats.group("l2").counter(
          "pending_hits", "sectors",
          "hits whose line's fill was still on its way from DRAM (they wait for it)")),
      misses_(stats.group("l2").counter("misses", "sectors",
                                        "read and atomic sectors fetched from DRAM")),
      write_backs_(stats.group("l2").counter("write_backs", "sectors",
                                             "dirty sectors of evicted lines written to DRAM")),
      l2_busy_(stats.group("l2").scalar("busy_cycles", "cycles",
                                        "sum over slices of cycles spent moving sectors")),
      l2_queue_(stats.group("l2").scalar(
          "queue_cycles", "cycles",
          "sum over requests of cycles waited for their slice before its first sector")),
      dram_read_(stats.group("dram", "HBM channels behind the L2")
                     .counter("bytes_read", "bytes", "bytes read from DRAM")),
      dram_written_(stats.group("dram").counter("bytes_written", "bytes",
                                                "bytes written to DRAM (L2 write-backs)")),
      dram_busy_(stats.group("dram").scalar("busy_cycles", "cycles",
                                            "sum over channels of cycles spent transferring")),
      dram_queue_(stats.group("dram").scalar(
          "queue_cycles", "cycles",
          "sum over 32-byte transfers of cycles waited for the channel")) {
  stats.group("l2").formula(
      "hit_rate", "fraction", "hits / (hits + misses)",
      [&h = hits_, &m = misses_] { return h + m ? double(h) / double(h + m) : 0.0; });
  tags_.reserve(p.l2_slices);
  for (uint32_t i = 0; i < p.l2_slices; ++i)
    tags_.emplace_back(p.l2_bytes / p.l2_slices, p.l2_ways, true, p.l2_slices);
}

uint64_t MemorySide::dram_transfer(uint64_t addr, uint64_t arrival, bool write) {
  const uint32_t channel =
      spread_index(addr / params_.dram_interleave_bytes, params_.dram_channels);
  const uint64_t start = std::max(arrival, channel_free_[channel]);
  dram_queue_ += double(start - arrival) * kTick;
  dram_busy_ += double(dram_ticks_) * kTick;
  (write ? dram_written_ : dram_read_) += kSectorBytes;
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
  l2_queue_ += double(start - arrival) * kTick;
  uint64_t done = 0;
  for (uint32_t i = 0; i < kSectorsPerLine; ++i) {
    if (!(sector_mask >> i & 1)) continue;
    const uint64_t addr = line * kLineBytes + i * kSectorBytes;
    uint64_t sector_done = cycles(start) + params_.l2_hit_latency;
    SectorCache::Outcome o;
    if (kind == Access::write) {
      ++write_sectors_;
      o = tags.write(addr, true);
    } else {
      ++(kind == Access::read ? read_sectors_ : atomic_sectors_);
      o = tags.read(addr, true);
      if (!o.hit) {
        ++misses_;
        sector_done = cycles(dram_transfer(addr, start, false)) + params_.dram_latency +
                      params_.l2_hit_latency;
        tags.note_fill(addr, sector_done);
      } else {
        ++hits_;
        if (o.ready > sector_done) {
          ++pending_hits_;
          sector_done = o.ready;
        }
      }
      if (kind == Access::atomic) tags.write(addr, true);
    }
    for (uint32_t j = 0; j < kSectorsPerLine; ++j) {
      if (!(o.evicted_dirty >> j & 1)) continue;
      ++write_backs_;
      dram_transfer(o.evicted_line + j * kSectorBytes, start, true);
    }
    done = std::max(done, sector_done);
    start += slice_ticks_;
    l2_busy_ += double(slice_ticks_) * kTick;
  }
  slice_free_[slice] = start;
  return done;
}

}  // namespace xpusim::gpu
