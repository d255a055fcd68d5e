// A TPU v4 chip's CMEM ("common memory"): 128 MiB of on-chip memory that the chip's TensorCores
// share, between their unified buffers (VMEM) and HBM (Jouppi et al., ISCA 2023). How XLA uses
// it is not public; it is modelled as a read cache in front of HBM, shared by the cores, so that
// an operand both cores read (a GEMM's B when they split the rows of C) crosses HBM once.
// Free of SystemC: the arbiter (models/core/arbiter.h) hands it the requests of every core in
// (cycle, core, instruction) order, so results do not depend on the host's scheduling.
#pragma once

#include <cstdint>
#include <vector>

#include "models/core/cache.h"
#include "models/core/memory.h"
#include "models/core/server.h"
#include "models/core/stats.h"

namespace xpusim::tpu {

// The DRAM bytes of a strided DMA: `rows` rows of `row_bytes` bytes, `stride` bytes apart.
struct DramBlock {
  uint64_t addr;
  uint64_t rows, row_bytes, stride;
};

// Tags of 32-byte sectors in 128-byte lines (SectorCache: `ways`-way, LRU, hashed set index)
// over `bytes` of capacity, and a port that is a bandwidth/latency server (DramChannel) for the
// bytes it sends to the cores.
//   - read: each sector the block touches is looked up. A hit (the sector is in the CMEM, or on
//     its way there for an earlier read: the later read waits for that fill) sends the block's
//     bytes in the sector through the port; a miss allocates the sector and fetches it whole from
//     HBM, in one HBM request of every missing sector's 32 bytes, and the read's data is back
//     when both the port's transfer and the HBM's are (and every fill it waits for). The data a
//     miss brings passes to the core at HBM's rate; its write into the CMEM takes no port time.
//   - write: write-through to HBM, whose request is the write's; the sectors the CMEM holds
//     are updated in place, no sector is allocated.
// The grant's service_end (when the requesting DMA may issue its next request) is the later of
// the port's and the HBM's service ends.
class Cmem {
 public:
  // Creates its counters in `stats` (the chip's "cmem" group), the port's in its group "port".
  // `hbm` is the chip's HBM channel. `ideal`: the port answers at once (timing.stall_free). Throws
  // Error when the capacity is less than one set (ways x 128 bytes).
  Cmem(uint64_t bytes, uint32_t ways, double port_bytes_per_cycle, uint64_t latency, bool ideal,
       Server& hbm, StatGroup& stats);

  // Each sets `offchip` to the bytes it moved through HBM (a read's fills, a write's bytes).
  Server::Grant read(uint64_t cycle, const DramBlock& b, uint64_t& offchip);
  Server::Grant write(uint64_t cycle, const DramBlock& b, uint64_t& offchip);

 private:
  SectorCache tags_;
  DramChannel port_;
  Server& hbm_;
  std::vector<uint64_t> missed_;  // the sectors a read missed (reused between reads)
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
  // Once served: the bytes it moved through HBM.
  uint64_t offchip_bytes() const { return offchip_; }

 private:
  Cmem& cmem_;
  DramBlock block_;
  uint64_t offchip_ = 0;
};

}  // namespace xpusim::tpu
