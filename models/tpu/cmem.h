// A TPU v4 chip's CMEM ("common memory"): 128 MiB of on-chip memory that the chip's TensorCores
// share, between their unified buffers (VMEM) and HBM (Jouppi et al., ISCA 2023). How XLA uses
// it is not public; it is modelled as a read cache in front of HBM, shared by the cores, so that
// an operand both cores read (a GEMM's B when they split the rows of C) crosses HBM once.
// Free of SystemC: the arbiter (models/core/arbiter.h) hands it the requests of every core in
// (cycle, core, instruction) order, so results do not depend on the host's scheduling.
#pragma once

#include <cstdint>
#include <vector>

#include "models/core/memory.h"
#include "models/core/server.h"
#include "models/core/stats.h"
#include "models/core/zero_array.h"

namespace xpusim::tpu {

// The DRAM bytes of a strided DMA: `rows` rows of `row_bytes` bytes, `stride` bytes apart.
struct DramBlock {
  uint64_t addr;
  uint64_t rows, row_bytes, stride;
};

// Tags of 2 KiB pages, each with the valid bits of its 64 sectors of 32 bytes, `ways`-way
// set-associative over `bytes` of capacity (sets = bytes / (ways x 2 KiB); the set of page p is
// (p xor p / sets) mod sets, so that strides of a multiple of the sets spread; least recently
// used replacement), and a port that is a bandwidth/latency server (DramChannel) for the bytes it
// sends to the cores. A page, not a sector, is the unit of the tags so that a DMA row costs a
// lookup or two, not one per 32 bytes (Llama-sized runs move tens of GB); a page holding few
// valid sectors still takes a whole page of the capacity.
//   - read: each sector the block touches is looked up. A hit (the sector is in the CMEM, or on
//     its way there for an earlier read: the later read waits for that fill) sends the block's
//     bytes in the sector through the port; a miss makes the sector valid (allocating its page
//     in place of the set's least recently used one if absent) and fetches it whole from HBM,
//     in one HBM request of every missing sector's 32 bytes. A page keeps one fill time, the
//     latest of its fills: a hit waits for it (pessimistic by at most the time between two
//     fetches of the page). The read's data is back when both the port's transfer and the
//     HBM's are (and every fill it waits for). The data a miss brings passes to the core at
//     HBM's rate; its write into the CMEM takes no port time.
//   - write: write-through to HBM, whose request is the write's; the sectors the CMEM holds
//     are updated in place, no page or sector is allocated.
// The grant's service_end (when the requesting DMA may issue its next request) is the later of
// the port's and the HBM's service ends.
class Cmem {
 public:
  // Creates its counters in `stats` (the chip's "cmem" group), the port's in its group "port".
  // `hbm` is the chip's HBM channel. `ideal`: the port answers at once (timing.stall_free).
  // Throws Error when the capacity is less than one set (ways x 2 KiB), or its pages' tags are more
  // than the host can map.
  Cmem(uint64_t bytes, uint32_t ways, double port_bytes_per_cycle, uint64_t latency, bool ideal,
       Server& hbm, StatGroup& stats);

  // Each sets `offchip` to the bytes it moved through HBM (a read's fills, a write's bytes).
  Server::Grant read(uint64_t cycle, const DramBlock& b, uint64_t& offchip);
  Server::Grant write(uint64_t cycle, const DramBlock& b, uint64_t& offchip);

  static constexpr uint64_t kPageBytes = 2048, kSectorBytes = 32;
  // The HBM channel behind it, which its writes go through to.
  Server& hbm() const { return hbm_; }

 private:
  struct Page {
    uint64_t number;  // address / kPageBytes (of a way that holds a page)
    uint64_t valid;   // bit i: sector i holds data (or its fill is on the way)
    uint64_t ready;   // the cycle its latest fill is back
    uint64_t used;    // the access that used it last (LRU)
  };
  // The way holding `page`, or, with `allocate`, the way it is given (its set's free or least
  // recently used way, emptied); nullptr when absent and not allocated.
  Page* find(uint64_t page, bool allocate);
  // Calls f(page number, sector mask, first byte, end byte) for each page a row of the block
  // touches, the bytes [lo, hi) of the row in that page.
  template <typename F>
  static void for_pages(const DramBlock& b, F f);

  uint64_t sets_;
  uint32_t ways_;
  bool sets_pow2_ = false;  // sets_ is 1 << sets_shift_
  unsigned sets_shift_ = 0;
  // Set s: [s * ways_, (s + 1) * ways_), zero bytes until used (models/core/zero_array.h), so
  // that a 128 MiB CMEM costs nothing to make.
  ZeroArray<Page> pages_;
  ZeroArray<uint64_t> tags_;  // pages_[i].number + 1, kept apart for the lookups' scan; 0: free
  uint64_t clock_ = 0;        // accesses so far (the LRU order)
  Page* last_ = nullptr;      // the way find() returned last
  DramChannel port_;
  Server& hbm_;
  std::vector<Page*> filled_;  // the pages a read fetched sectors of (reused between reads)
  uint64_t &hit_bytes_, &pending_hit_bytes_, &miss_bytes_, &fill_bytes_, &write_bytes_,
      &updated_bytes_;
};

// One DMA's request as the arbiter serves it: a read or a write of a block through the CMEM.
// Never ideal (even when the port and HBM are): the CMEM's contents depend on the order of the
// requests, which only the arbiter makes deterministic.
class CmemRequest final : public Server {
 public:
  CmemRequest(Cmem& c, const DramBlock& b) : cmem_(c), block_(b) {}
  Grant serve(uint64_t cycle, uint64_t, bool write) override {
    return write ? cmem_.write(cycle, block_, offchip_) : cmem_.read(cycle, block_, offchip_);
  }
  // A write goes through to HBM: it yields where HBM's writes do.
  bool yields(bool write) const override { return cmem_.hbm().yields(write); }
  uint64_t idle_at() const override { return cmem_.hbm().idle_at(); }
  void yielded(uint64_t cycles) override { cmem_.hbm().yielded(cycles); }
  // Once served: the bytes it moved through HBM.
  uint64_t offchip_bytes() const { return offchip_; }

 private:
  Cmem& cmem_;
  DramBlock block_;
  uint64_t offchip_ = 0;
};

}  // namespace xpusim::tpu
