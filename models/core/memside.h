// The memory side that the cores of a chip share (a GPU's SMs, an NPU's AI cores): L2 slices
// with tags and HBM channels as bandwidth/latency servers, and the interleaving of addresses over
// units. Free of SystemC: callers serve requests in their own deterministic order.
#pragma once

#include <cstdint>
#include <vector>

#include "models/core/cache.h"
#include "models/core/params.h"
#include "models/core/stats.h"

namespace xpusim {

// --- Address interleaving --------------------------------------------------------------------

// Which of `n` units (L2 slices, DRAM channels) serves `key` (a line number, or an address
// divided by the interleave granule), so that both consecutive keys and power-of-two strides
// spread over all units. With b = ceil(log2 n) bits (at least 1), it is the sum of the key's
// b-bit digits modulo n: n consecutive keys of an aligned block of 2^b reach n distinct units
// when n is a power of two, and so do the n first multiples of any power-of-two stride (the
// stride puts the bits that vary into at most two neighbouring digits, at disjoint positions,
// so their sum takes n distinct values). For other n the sum is reduced modulo n, which keeps
// runs of consecutive keys spread and breaks the aliasing of strides that are multiples of n
// (a pure modulo would send them all to one unit). Unlike a random hash, runs of consecutive
// keys do not pile up on one unit. Not the hardware's function (NVIDIA does not publish it);
// n must be at least 1.
uint32_t spread_index(uint64_t key, uint32_t n);

enum class Access { read, write, atomic };

struct MemorySideParams {
  uint64_t l2_bytes;                    // whole device, divided evenly among the slices
  uint32_t l2_slices;                   // L2 slices, each a bandwidth server with its own tags
  uint32_t l2_ways;                     // associativity of each slice
  double l2_bytes_per_cycle_per_slice;  // bytes a slice moves per cycle
  uint64_t l2_hit_latency;      // cycles from the start of a sector's service at its slice to its
                                // data at the core: NoC both ways, tag and data pipeline
  uint32_t dram_channels;       // independent channels (HBM pseudo-channels)
  double dram_bytes_per_cycle;  // whole device, per core clock cycle, shared evenly by channels
  uint64_t dram_latency;        // cycles a miss adds beyond l2_hit_latency and the transfer
  uint64_t dram_interleave_bytes;  // consecutive bytes in one channel (a multiple of 32)
};

// The parameters as every family that uses the memory side declares them (l2.bytes, l2.slices,
// l2.ways, l2.bytes_per_cycle, l2.latency, memory.bandwidth_gbps, memory.channels,
// memory.interleave_bytes, memory.latency), with the bandwidth in bytes per cycle at clock_mhz.
MemorySideParams memory_side_params(const ParamValues& v, double clock_mhz);

// The L2 and the HBM that all cores (SMs, AI cores) share. The caller serves the requests of all
// SMs through one object in a deterministic order (sorted by cycle, core and sequence number), so
// results do not depend on the host's scheduling.
//
// A request is one 128-byte line with a mask of sectors (group_lines). Its line goes to the
// slice spread_index(line / 128, slices), whose tags are a SectorCache of l2_bytes / slices
// bytes, l2_ways ways, hashed and interleaved over the slices. A slice is a bandwidth server
// that moves one sector in t_s = 32 / l2_bytes_per_cycle_per_slice cycles, kept as a fraction
// (rounded to 1/65536 cycle; cycles must stay below 2^48): rounding each sector up to a whole
// cycle would state a 64 B/cycle slice as 32 B/cycle.
// Requests queue at their slice in call order: the request's sectors start at max(arrival,
// the slice's free time) and follow one another, sector k (in ascending order) starting at s_k.
//   - read, hit: the data is back at ceil(s_k) + l2_hit_latency, or when the line's pending
//     fill is back if that is later (SectorCache::note_fill: a hit under a miss waits for it).
//   - read, miss: the sector goes to its DRAM channel, spread_index(address /
//     dram_interleave_bytes, channels), at s_k; the channel is a bandwidth server of
//     dram_bytes_per_cycle / channels that moves the 32 bytes in t_d cycles (also a fraction),
//     starting at max(s_k, the channel's free time); the data is back at ceil(transfer end) +
//     dram_latency + l2_hit_latency. The line is allocated at the lookup (read-allocate).
//   - write: the L2 is write-back and allocates on a write without a fetch (SectorCache::access):
//     the sector becomes valid and dirty (a later read of it hits, as if the write had covered
//     the whole sector); the write is acknowledged at ceil(s_k) + l2_hit_latency.
//   - atomic: looked up and fetched like a read, then the sector is dirty (the L2's atomic unit
//     writes the result); returns like a read.
//   - a line evicted with dirty sectors sends each of them to its channel as a 32-byte write,
//     at the s_k of the access that evicted it and after that access's own fetch; the write
//     occupies the channel but nobody waits for it.
// The request is done when its last sector is: the result of serve.
//
// Simplifications: the slice is charged one transfer per sector
// whatever the outcome (a miss's fill does not pass it again, an atomic's read-modify-write is
// one transfer, and same-address atomics are not serialised beyond that); the NoC is folded into
// l2_hit_latency, without contention of its own; the number of misses in flight is not limited
// (no MSHR count); DRAM has no banks, rows or refresh, only bandwidth and latency. A channel serves
// in call order: the caller's arrivals are non-decreasing, but the times at which misses reach a
// channel (after queueing at different slices) need not be, so a miss can wait behind one that
// reached the channel later in time: the channel starts each transfer at max(arrival, free).
class MemorySide {
 public:
  // Creates the statistics groups "l2" and "dram" under `stats`. Throws Error naming the
  // parameter when one is out of range.
  MemorySide(const MemorySideParams& p, StatGroup& stats);

  // Serves the request that reaches the memory side at `cycle` for the sectors of the line at
  // line_addr (low 7 bits ignored) in sector_mask (bits 0..3, not empty); calls come in
  // non-decreasing cycle order. Returns the cycle its data is back at the core (read, atomic)
  // or its write is acknowledged (write). Throws Error for an empty or too wide mask.
  uint64_t serve(uint64_t cycle, uint64_t line_addr, uint8_t sector_mask, Access kind);
  // A hint that the line at line_addr is served soon (SectorCache::prefetch). Changes nothing.
  void prefetch(uint64_t line_addr) const {
    tags_[spread_index(line_addr / kLineBytes, params_.l2_slices)].prefetch(line_addr);
  }

  // A kernel that follows the one just served: its cycles count from 0, which is `cycle` of
  // the previous kernel's clock (its end: every request answered). The L2 keeps its lines,
  // dirty sectors included, and the servers the work still queued past `cycle` (write-backs
  // nobody waited for).
  void restart_at(uint64_t cycle);
  // From now on the statistics go to new "l2" and "dram" groups under `stats` (a later
  // kernel's own tree), counting from zero.
  void attach(StatGroup& stats);

  // The least (serve's result - cycle) of any request: l2_hit_latency, which an unloaded
  // one-sector hit or write takes (its sector starts at its arrival); every other path adds to
  // it. The caller may let cores run this many cycles apart without missing a response.
  uint64_t min_round_trip() const { return params_.l2_hit_latency; }

 private:
  // Time in 1/65536 cycle: fractional occupancy with exact, deterministic sums.
  static constexpr unsigned kTickBits = 16;
  static constexpr double kTick = 1.0 / double(uint64_t(1) << kTickBits);  // in cycles
  // Queues a 32-byte transfer for `addr` at its DRAM channel, arriving at `arrival` (ticks);
  // returns the end of the transfer (ticks).
  uint64_t dram_transfer(uint64_t addr, uint64_t arrival, bool write);

  MemorySideParams params_;
  uint64_t slice_ticks_;  // t_s: one sector through a slice
  uint64_t dram_ticks_;   // t_d: one sector through a channel
  std::vector<SectorCache> tags_;
  std::vector<uint64_t> slice_free_, channel_free_;  // ticks

  // The statistics (attach).
  uint64_t *read_sectors_, *write_sectors_, *atomic_sectors_, *hits_, *pending_hits_, *misses_,
      *write_backs_, *dram_read_, *dram_written_;
  double *l2_busy_, *l2_queue_, *dram_busy_, *dram_queue_;
};

}  // namespace xpusim
