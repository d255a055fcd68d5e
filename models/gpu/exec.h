// The GPU family's functional PTX executor: executes a decoded kernel's (isa/ptx/module.h)
// warp-instructions one at a time, in the order the timing model (timing.h) issues them, on a
// device memory (docs/models/gpu.md).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "isa/ptx/module.h"

namespace xpusim::gpu {

struct Dim3 {
  uint32_t x = 1, y = 1, z = 1;
  uint64_t count() const { return uint64_t(x) * y * z; }
};

struct LaunchShape {
  Dim3 grid, block;
  uint64_t dynamic_shared = 0;  // bytes of `.extern .shared` per block
};

// Zero-filled bytes that cost host memory only where written: an anonymous private mapping,
// whose untouched pages read as zero without being allocated. A timing-only run of a large
// model reads gigabytes of weights it never writes; they take no host memory. Grows in place or
// by remapping (data() may move on resize).
class ZeroBytes {
 public:
  ZeroBytes() = default;
  ~ZeroBytes();
  ZeroBytes(const ZeroBytes&) = delete;
  ZeroBytes& operator=(const ZeroBytes&) = delete;
  uint8_t* data() { return p_; }
  uint64_t size() const { return size_; }
  // n >= size(): the bytes added read as zero. Error when the host cannot map them.
  void grow(uint64_t n);

 private:
  uint8_t* p_ = nullptr;
  uint64_t size_ = 0, mapped_ = 0;
};

// Global memory: one address range from kGlobalBase; each allocation 256-byte aligned, and
// every access must lie inside one allocation.
class DeviceMemory {
 public:
  static constexpr uint64_t kGlobalBase = uint64_t(1) << 32;
  explicit DeviceMemory(uint64_t capacity) : capacity_(capacity) {}
  // A zero-filled allocation; Error naming `what` when the device memory is full.
  uint64_t alloc(uint64_t bytes, const std::string& what);
  // A zero-filled allocation at a given address: 256-byte aligned, at or past every allocation
  // made so far (a compiled program's buffers, placed by the compiler). Error naming `what` when
  // it is not, or when the device memory is full.
  void alloc_at(uint64_t addr, uint64_t bytes, const std::string& what);
  uint8_t* data(uint64_t addr) { return bytes_.data() + (addr - kGlobalBase); }
  // True when [addr, addr + n) lies inside one allocation.
  bool contains(uint64_t addr, uint64_t n) const;

 private:
  struct Range {
    uint64_t begin, end;
  };
  uint64_t capacity_;
  ZeroBytes bytes_;
  std::vector<Range> ranges_;  // in address order
  mutable size_t last_ = 0;    // the allocation the previous access hit
};

// Warp-instruction classes counted by the executor.
enum class InstrClass : uint8_t {
  integer,  // integer and bit arithmetic, compare/select on integers, moves
  fp32,
  fp64,
  half,     // f16/bf16 and packed f16x2/bf16x2 arithmetic
  sfu,      // rcp sqrt rsqrt ex2 lg2 sin cos tanh
  convert,  // cvt, cvta
  memory,   // ld st
  atomic,   // atom red
  async,    // cp.async and its groups
  tensor,   // ldmatrix mma wmma
  warp,     // shfl vote match activemask
  control,  // bra ret exit bar membar fence nanosleep trap brkpt
  count_
};
const char* class_name(InstrClass c);
InstrClass instr_class(const isa::ptx::Instr& in);

struct ExecStats {
  std::array<uint64_t, size_t(InstrClass::count_)> by_class{};
  uint64_t warp_instructions = 0;  // executed (each counts once, whatever its active lanes)
  uint64_t thread_instructions = 0;
  uint64_t blocks = 0, warps = 0, threads = 0;
};

struct ExecConfig {
  int sms = 1;  // %nsmid; a block's %smid is its linear index modulo this
  // Warp-instructions after which the run stops with an error (limits.max_instructions).
  uint64_t max_instructions = UINT64_MAX;
  // false: a timing-only run executes only the instructions its control flow and addresses
  // depend on (timing_slice, regs.h); the others keep stale destinations, and loads and stores
  // outside that slice take their addresses without moving data. Control flow and addresses are
  // those of a run with values, but for values read from memory the run never wrote (zeros).
  bool values = true;
  // Timing only: timing_slice of the kernel's code before its registers were renamed (renaming
  // merges registers, which makes the slice computed after it larger); null: computed here.
  const std::vector<uint8_t>* slice = nullptr;
};

// One memory access of one thread, as the executor performed it: `addr` in its resolved space
// (a global/const address, or an offset in the block's shared memory, the thread's local
// memory, the param space).
struct MemRef {
  uint64_t addr;
  uint32_t bytes;
  uint8_t lane;
  isa::ptx::Space space;
  bool write;
};

// The accesses of one step. When each came as a group (n bytes, n-aligned, at a register's
// value plus an offset in every lane of a set of lanes, all of them inside one allocation or
// shared memory: what a timing-only load, store, cp.async or ldmatrix makes), they are
// `groups`, in order, and `refs` is empty; otherwise `refs` holds them all, lane by lane.
struct StepAccesses {
  struct Group {
    const uint64_t* regs;  // the address register's lanes (the executor's, until its next step)
    uint64_t offset;
    uint32_t lanes, bytes;
    isa::ptx::Space space;  // shared or global
    bool write;
    uint64_t addr(int lane) const { return regs[lane] + offset; }
  };
  std::vector<Group> groups;
  std::vector<MemRef> refs;

  void clear() {
    groups.clear();
    refs.clear();
  }
  // Moves the groups into refs (after the refs already there), lane by lane.
  void expand() {
    for (const Group& g : groups) {
      size_t i = refs.size();
      refs.resize(i + size_t(__builtin_popcount(g.lanes)));
      for (uint32_t k = g.lanes; k; k &= k - 1, ++i) {
        const int l = __builtin_ctz(k);
        MemRef& r = refs[i];
        r.addr = g.addr(l);
        r.bytes = g.bytes;
        r.lane = uint8_t(l);
        r.space = g.space;
        r.write = g.write;
      }
    }
    groups.clear();
  }
};

// The executor as a timing model drives it: blocks live in slots (a slot per resident block
// of every SM), and each call runs one warp-instruction, in the order the timing model issues
// them, so values follow the simulated order of events.
class Executor {
 public:
  Executor(const isa::ptx::Module& m, const isa::ptx::Kernel& k, const LaunchShape& shape,
           const std::vector<uint8_t>& params, DeviceMemory& mem, const ExecConfig& cfg);
  ~Executor();

  uint32_t warps_per_block() const;
  const ExecStats& stats() const;
  // Starts block `linear` (x fastest) in `slot` (any number; storage is reused), on SM `smid`.
  void start_block(uint32_t slot, uint64_t linear, uint32_t smid);
  // A warp can issue while some of its threads are neither exited nor held at a barrier.
  bool can_issue(uint32_t slot, uint32_t warp) const;
  bool exited(uint32_t slot, uint32_t warp) const;  // every thread of the warp has exited
  // The instruction the warp issues next (>= the code size: it falls off the end, an exit).
  uint32_t pc(uint32_t slot, uint32_t warp) const;
  struct Step {
    uint32_t pc;    // the instruction executed
    uint32_t exec;  // the threads that executed it (its guard applied)
    uint32_t next;  // the warp's pc after it (as pc() would say)
    bool active;    // whether the warp can issue after it (as can_issue() would say)
  };
  // Executes the warp's next instruction (can_issue must hold); %clock64 reads `clock`; the
  // accesses it made go to `acc` (cleared first) when given.
  Step step(uint32_t slot, uint32_t warp, uint64_t clock, StepAccesses* acc);
  // Releases the barriers every expected thread of the block reached; true when some were.
  bool release_barriers(uint32_t slot);
  bool block_done(uint32_t slot) const;
  // Throws the Error that describes why no warp of the block can go on (barriers).
  [[noreturn]] void deadlock(uint32_t slot);

  class Impl;

 private:
  std::unique_ptr<Impl> p_;
};

}  // namespace xpusim::gpu
