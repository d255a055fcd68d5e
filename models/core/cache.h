// A sectored, set-associative, tag-only cache shared by the families' memory systems: the GPU's
// L1 and L2 slices, the NPU families' L2.
#pragma once

#include <array>
#include <cstdint>
#include <utility>

#include "models/core/zero_array.h"

namespace xpusim {

constexpr uint32_t kSectorBytes = 32;
constexpr uint32_t kLineBytes = 128;
constexpr uint32_t kSectorsPerLine = kLineBytes / kSectorBytes;

// A set-associative cache of 128-byte lines with 32-byte sectors, tags and sector states only
// (the data lives in the functional model's memory). A line is allocated as a whole, but
// each sector is valid (and dirty) on its own, so a miss fetches just the missing sectors.
// Replacement is true LRU within a set: each way keeps the number of the cache's latest access
// that touched it, so that the choice depends on nothing but the order of the calls; a full
// set's least recently used way has the lowest. A free way (no valid sector) is taken before the
// oldest line.
//
// Sets = capacity / (ways * 128), rounded down (a remainder of less than a set is unused), at
// least one; the count need not be a power of two (A100's L1 after a shared-memory carve-out,
// an L2 slice of 40 MiB / 80), so the set index is a modulo. `interleave`: the cache is one of
// that many slices that consecutive lines are spread over (an L2 slice), and the set index is
// taken from line / interleave, so that the choice of slice does not also crowd the sets.
// `hashed`: without it, set = key % sets (key = line / interleave); with it, each block of
// `sets` consecutive keys is rotated by an offset mixed from the higher key bits, set = (key +
// mix(key / sets)) % sets: consecutive lines still fill consecutive sets (a working set of the
// capacity fits, as with the modulo), while power-of-two strides, which the modulo sends to one
// set, spread over all of them. Real GPUs hash their L2 index too; this is not their function.
//
// A line also keeps the cycle its pending fills are back (note_fill), so that an access which
// finds a sector valid while its data is still on the way from DRAM can wait for it (the merge
// that an MSHR does). It is one time per line, the latest of its fills: a hit on a sector whose
// own fill came earlier than another sector's of the line waits for the later one (pessimistic
// by at most the time between the two fetches).
//
// State per line: tag, fill time, last touch, valid and dirty masks in 26 bytes (a 40 MiB L2 has
// 327,680 lines: 8.1 MiB), in arrays of their own so that a lookup reads only the set's tags,
// its touches and masks, and the fill time of the line it finds (16 ways: six host cache lines,
// two of them the tags). Every array starts as zero bytes from mmap (models/core/zero_array.h),
// which the host maps only as a page is first written: a cache of hundreds of MiB (an NPU's L2)
// costs nothing to make, and a run pays only for the sets it uses.
class SectorCache {
 public:
  // Throws Error when ways is 0 or above 65535, interleave is 0, the capacity is less than one
  // set (ways * 128 bytes), or its lines' state is more than the host can map.
  SectorCache(uint64_t capacity_bytes, uint32_t ways, bool hashed = false, uint32_t interleave = 1);

  // What an access to a line found and what it displaced. evicted_dirty is non-zero only when
  // the access allocated the line in place of one that had dirty sectors: the caller writes
  // those sectors back (bit i: the sector at evicted_line + 32 * i).
  struct Outcome {
    uint8_t hits;           // the accessed sectors that were valid before the access
    uint8_t evicted_dirty;  // dirty sectors of the line that was evicted
    uint64_t evicted_line;  // byte address of that line (meaningful when evicted_dirty != 0)
    uint64_t ready;         // the line's fill time (note_fill) when it was present, else 0
  };

  // An access to the sectors in `sectors` (bits 0..3, not empty) of the line at line_addr (its
  // low 7 bits are ignored): the same as accessing them one by one in ascending order, each a
  // read or a write with or without `allocate`, with one lookup of the line.
  //   - read: a hit makes the line the most recently used. A miss with `allocate` makes the
  //     sector valid, in its line if present, else in a line allocated in place of the set's
  //     free or least recently used way (so only the first sector can evict); a miss without
  //     `allocate` changes nothing.
  //   - write with `allocate` (write-back, write-allocate without fetch: the cache is taken to
  //     keep byte masks, so a partial write needs no read of the rest of the sector): the sector
  //     becomes valid and dirty, allocating as a read does. Without it (write-through, no
  //     write-allocate) a valid sector is updated in place (its state unchanged, its line made
  //     the most recently used); an absent or invalid sector is left alone.
  // An atomic (a read then a write of each sector, both allocating) is a write with `allocate`:
  // its hits are the read's.
  Outcome access(uint64_t line_addr, uint8_t sectors, bool allocate, bool write);
  // Every line becomes free; dirty sectors are dropped without a write-back (for write-through
  // caches such as the L1, invalidated between kernels).
  void invalidate_all();
  // Records that data of the line at line_addr (fetched after a miss; low 7 bits ignored) are
  // back at `cycle`: the line's fill time becomes the later of the two. Does nothing when the
  // line is not present.
  void note_fill(uint64_t line_addr, uint64_t cycle);
  // Forgets every fill time (the lines and their sectors stay): for a caller whose clock
  // restarts once every fill is back.
  void clear_fills() {
    if (filled_) ready_.clear();
    filled_ = false;
  }
  // A hint that the line at line_addr is looked up soon: brings its set's state into
  // the host's cache. Changes nothing.
  void prefetch(uint64_t line_addr) const;

  uint64_t sets() const { return sets_; }
  uint32_t ways() const { return ways_; }

 private:
  static constexpr uint64_t kNone = ~uint64_t(0);  // no line (last_line_, prefetched_)
  struct Masks {
    uint8_t valid;  // bit i: sector i valid; 0 = the way is free
    uint8_t dirty;  // bit i: sector i written since it was allocated
  };
  // The way (index into the arrays below) holding `line`, or none (-1).
  int64_t find(uint64_t line) const;
  uint64_t set_index(uint64_t line) const;
  // set_index(line) * ways_, from the lines prefetched lately when it is one of them.
  uint64_t first_way(uint64_t line) const;
  void touch(uint64_t way) { touched_[way] = ++accesses_; }

  uint64_t sets_;
  bool sets_pow2_ = false;  // sets_ is a power of two: 1 << sets_shift_
  unsigned sets_shift_ = 0;
  uint32_t ways_, interleave_;
  bool hashed_;
  // Per way (set s: [s * ways_, (s + 1) * ways_)): its line number plus one (0 when free), the
  // number of the latest access that touched it (accesses_ then; 0: none), its sector masks,
  // and the cycle its latest fill is back (0: none since it was allocated).
  ZeroArray<uint64_t> tags_;
  ZeroArray<uint64_t> touched_;
  ZeroArray<Masks> masks_;
  ZeroArray<uint64_t> ready_;
  uint64_t accesses_ = 0;  // touches so far
  bool filled_ = false;    // a fill time noted since the last clear_fills()
  // The lines prefetched lately and the first ways of their sets, in a ring.
  mutable std::array<std::pair<uint64_t, uint64_t>, 8> prefetched_;
  mutable uint32_t prefetched_next_ = 0;
  // The line of the latest access, its way and its set's first way (the note_fill after a
  // miss, the next request to the line); last_line_ is kNone when none.
  uint64_t last_line_ = kNone, last_way_ = 0, last_first_ = 0;
};

}  // namespace xpusim
