// The GPU family's timing model: SMs of sub-partitions (warp scheduler, scoreboard, pipes),
// the L1/shared-memory data path, L2 slices and HBM channels shared by every SM, and a block
// scheduler that fills the SMs in waves. It drives the functional executor (exec.h) one
// warp-instruction at a time in the order it issues them (docs/models/gpu.md).
#pragma once

#include <cstdint>
#include <string>

#include "isa/ptx/module.h"
#include "models/core/stats.h"
#include "models/gpu/exec.h"
#include "models/gpu/memsys.h"
#include "models/gpu/params.h"

namespace xpusim::gpu {

// Registers per thread a kernel needs, estimated from its PTX: the most 32-bit units (a 64-bit
// register counts two) live at any instruction, by a liveness analysis over the control-flow
// graph. ptxas allocates registers for the same values, so this is close to (and usually at
// or above) what it reports; predicates live in a separate file and do not count.
uint32_t estimate_registers(const isa::ptx::Code& code);

// Renames a kernel's registers onto as few slots as the liveness allows, as a register allocator
// does: registers of the same width that are never live at once (and never operands of one
// instruction) share a slot. The executor keeps every register of every lane and the scoreboard
// a ready cycle per register and warp, so a compiled kernel's thousands of virtual registers
// would cost that many rows; after this, about as many as are live. Values and the order of
// execution do not change; code.regs becomes the slots (each named after its first register).
// A kernel of more than kMaxCompactRegisters registers is left as it is.
constexpr size_t kMaxCompactRegisters = 16384;
void compact_registers(isa::ptx::Code& code);

// How many blocks of a launch one SM holds at once, and what limits it.
struct Occupancy {
  uint32_t blocks = 0;  // resident blocks per SM
  uint32_t warps_per_block = 0;
  uint32_t registers = 0;         // per thread, as allocated (rounded up to 8)
  uint64_t shared_per_block = 0;  // bytes
  std::string limit;              // "warps", "threads", "blocks", "registers", "shared memory"
};
Occupancy occupancy(const GpuParams& p, uint32_t registers_per_thread, uint64_t shared_per_block,
                    uint64_t threads_per_block);

struct TimingResult {
  uint64_t cycles = 0;                       // from the launch to the last block's end
  uint64_t dram_read = 0, dram_written = 0;  // bytes
  uint64_t onchip_bytes = 0;                 // bytes through shared memory and L1
  uint64_t macs_f16 = 0, macs_bf16 = 0, macs_tf32 = 0, macs_int8 = 0;  // tensor-core MACs
  // What the blocks a sampled run skipped would have executed (sampling.waves); zero otherwise.
  ExecStats skipped;
};

// Runs a launch on the timing model: blocks in slots of `ex` (SM s, slot b: s * blocks + b),
// each warp-instruction executed as it issues, global accesses served by `mem` (the L2 and HBM,
// as earlier launches left them; its statistics are attached to `stats` by the caller).
// Statistics go under `stats`. Throws Error past
// max_cycles (limits.max_cycles). sample_waves > 0 (timing-only runs only: the skipped blocks
// never execute) samples the launch's waves (sampling.waves, docs/models/gpu.md).
TimingResult run_timed(Executor& ex, const isa::ptx::Code& code, const LaunchShape& shape,
                       const GpuParams& p, const Occupancy& occ, uint64_t max_cycles,
                       uint64_t sample_waves, MemorySide& mem, StatGroup& stats);

}  // namespace xpusim::gpu
