// The GPU's memory-system pieces, free of SystemC so that the SM timing model calls them
// inline and unit tests drive them alone: shared-memory bank conflicts, the coalescing of a
// warp's global access into 32-byte sectors, a sectored tag-only cache (L1 or an L2 slice),
// and the memory side that all SMs share (L2 slices and HBM channels as bandwidth servers).
// Times are cycles of the SM clock.
#pragma once

#include <cstdint>
#include <vector>

#include "models/core/cache.h"
#include "models/core/memside.h"
#include "models/core/stats.h"

namespace xpusim::gpu {

using xpusim::Access;
using xpusim::kLineBytes;
using xpusim::kSectorBytes;
using xpusim::kSectorsPerLine;
using xpusim::MemorySide;
using xpusim::MemorySideParams;
using xpusim::SectorCache;
using xpusim::spread_index;

constexpr uint32_t kWarpLanes = 32;

// --- Shared memory ---------------------------------------------------------------------------

// Wavefronts (passes of the banked data path, one per cycle) that a warp's shared-memory
// access needs. addr[lane] is read for the lanes set in `mask` (bit i = lane i); each lane
// accesses `bytes` bytes (1 to 16) from its address. Shared memory is `banks` banks of
// `bank_bytes`-byte words; word w = address / bank_bytes lives in bank w % banks. The rule:
// every distinct word touched counts once (lanes reading the same word share it: broadcast,
// and a lane's wide access touches several words), and the access takes as many wavefronts as
// the bank with the most distinct words. So 32 lanes on consecutive 4-byte words take 1,
// stride 2 words take 2, stride 32 words (all in one bank) take 32, stride 33 take 1, 32
// consecutive 8-byte values take 2 and 16-byte values 4; an empty mask takes 0.
// Not modelled: the hardware's split of 64/128-bit accesses into half- or quarter-warps (the
// count above equals it for conflict-free patterns and bounds it from below otherwise), and
// stores being merged differently from loads: a store is counted like a load.
// Addresses are offsets in the shared window (below 2^58). No heap allocation: fixed arrays on
// the stack, and a sort only of the words that conflict. Throws Error when bytes is outside
// 1..16, banks outside 1..kMaxSharedBanks or bank_bytes is 0.
constexpr uint32_t kMaxSharedBanks = 64;  // GPUs have 32
uint32_t shared_wavefronts(const uint64_t* addr, uint32_t mask, uint32_t bytes, uint32_t banks = 32,
                           uint32_t bank_bytes = 4);

// --- Coalescing of global accesses -----------------------------------------------------------

// The most sectors a warp's access can touch: 32 lanes of at most 16 bytes, each lane within
// at most two sectors (an access that crosses a sector boundary touches both).
constexpr uint32_t kMaxWarpSectors = 2 * kWarpLanes;

// The distinct 32-byte sectors that a warp's global access touches: addr[lane] for the lanes
// set in `mask`, each accessing `bytes` bytes (1 to 16). Writes the sectors' addresses
// (aligned down to 32) in ascending order to sectors_out, which must hold kMaxWarpSectors
// entries, and returns their count (0 for an empty mask). So 32 consecutive floats touch 4
// sectors, 32 consecutive 16-byte vectors 16, and floats 128 bytes apart 32. No heap
// allocation. Throws Error when bytes is outside 1..16.
uint32_t coalesce(const uint64_t* addr, uint32_t mask, uint32_t bytes, uint64_t* sectors_out);

// A request for some sectors of one 128-byte line: the unit in which the L1 and the L2 are
// looked up.
struct LineRequest {
  uint64_t line;        // byte address of the line (a multiple of 128)
  uint8_t sector_mask;  // bit i: the sector at line + 32 * i
};

// Groups `n` ascending sector addresses (as coalesce writes them) into requests per 128-byte
// line, in ascending line order; `out` must hold n entries. Returns the number of lines.
uint32_t group_lines(const uint64_t* sectors, uint32_t n, LineRequest* out);

}  // namespace xpusim::gpu
