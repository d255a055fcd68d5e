// The GPU timing model (docs/models/gpu.md, "The timing model"). SMs are plain objects, not
// SystemC processes: each runs ahead on its own clock through a window of W cycles, W no longer
// than the shortest round trip through L2, so nothing an SM does inside a window depends on
// an answer from the shared memory side within it. At the window's end the requests of every
// SM are served by the L2 slices and HBM channels in (cycle, SM, sequence) order, the answers
// land in the SMs' scoreboards, and the block scheduler fills the slots that emptied. The
// result is the same whatever order the SMs run in: exact and deterministic.
#include "models/gpu/timing.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <tuple>
#include <vector>

#include "models/core/error.h"
#include "models/gpu/memsys.h"
#include "models/gpu/regs.h"

namespace xpusim::gpu {

using namespace isa::ptx;

namespace {

constexpr int kW = int(kWarpLanes);
constexpr uint64_t kPending = UINT64_MAX;  // a ready cycle that the memory side has yet to give

// Successors of instruction i in the control-flow graph.
template <class Fn>
void successors(const Code& code, uint32_t i, Fn&& fn) {
  const Instr& in = code.instrs[i];
  const bool always = in.guard == kNoReg;
  if (in.op == Op::bra) fn(uint32_t(code.ops(in)[0].value));
  if ((in.op == Op::bra || in.op == Op::ret || in.op == Op::exit) && always) return;
  if (i + 1 < code.instrs.size()) fn(i + 1);
}

// Register liveness over the control-flow graph: bit r of live[i * words ..] is set when
// register r is live on entry to instruction i (read later without a write in between).
struct Liveness {
  size_t words = 0;
  std::vector<uint64_t> live;
  const uint64_t* in(size_t i) const { return live.data() + i * words; }
};

Liveness liveness(const Code& code) {
  const size_t n = code.instrs.size(), nregs = code.regs.size();
  Liveness lv;
  lv.words = (nregs + 63) / 64;
  const size_t words = lv.words;
  std::vector<uint64_t> use(n * words, 0), def(n * words, 0);
  lv.live.assign(n * words, 0);
  auto set = [&](std::vector<uint64_t>& v, size_t i, uint32_t r) {
    v[i * words + r / 64] |= uint64_t(1) << (r % 64);
  };
  for (size_t i = 0; i < n; ++i) {
    const Instr& in = code.instrs[i];
    instr_regs(
        code, in, [&](uint32_t r) { set(use, i, r); },
        [&](uint32_t r) {
          // A guarded write may leave the old value: it does not end the old value's life.
          if (in.guard == kNoReg) set(def, i, r);
        });
  }
  // Backward iteration to the fixed point: live-in = use | (live-out & ~def).
  std::vector<uint64_t> out(words);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = n; i-- > 0;) {
      std::fill(out.begin(), out.end(), 0);
      successors(code, uint32_t(i), [&](uint32_t s) {
        for (size_t w = 0; w < words; ++w) out[w] |= lv.live[s * words + w];
      });
      for (size_t w = 0; w < words; ++w) {
        const uint64_t v = use[i * words + w] | (out[w] & ~def[i * words + w]);
        if (v != lv.live[i * words + w]) {
          lv.live[i * words + w] = v;
          changed = true;
        }
      }
    }
  }
  return lv;
}

}  // namespace

uint32_t estimate_registers(const Code& code) {
  const size_t n = code.instrs.size(), nregs = code.regs.size();
  if (!n || !nregs) return 0;
  const Liveness lv = liveness(code);
  std::vector<uint8_t> units(nregs);
  for (size_t r = 0; r < nregs; ++r)
    units[r] = code.regs[r].bits == 1 ? 0 : code.regs[r].bits > 32 ? 2 : 1;
  uint32_t most = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t u = 0;
    const uint64_t* live = lv.in(i);
    for (size_t w = 0; w < lv.words; ++w)
      for (uint64_t b = live[w]; b; b &= b - 1) u += units[w * 64 + __builtin_ctzll(b)];
    most = std::max(most, u);
  }
  return most;
}

void compact_registers(Code& code) {
  const size_t n = code.instrs.size(), nregs = code.regs.size();
  // The conflict matrix takes nregs^2 bits: 32 MiB at the limit.
  if (!n || nregs < 2 || nregs > kMaxCompactRegisters) return;
  const Liveness lv = liveness(code);
  const size_t words = lv.words;
  // Interference: a register written by an instruction interferes with every register live
  // after it, and with the instruction's other operands (no slot is shared within one
  // instruction: a lane may read a source after another lane wrote a destination).
  std::vector<uint64_t> conflict(nregs * words, 0);
  std::vector<uint64_t> around(words);
  std::vector<uint32_t> defs;
  std::vector<uint8_t> private_slot(nregs, 0);
  for (size_t i = 0; i < n; ++i) {
    const Instr& in = code.instrs[i];
    std::fill(around.begin(), around.end(), 0);
    successors(code, uint32_t(i), [&](uint32_t s) {
      for (size_t w = 0; w < words; ++w) around[w] |= lv.in(s)[w];
    });
    defs.clear();
    const auto mark = [&](uint32_t r) { around[r / 64] |= uint64_t(1) << (r % 64); };
    instr_regs(code, in, mark, [&](uint32_t r) {
      mark(r);
      defs.push_back(r);
    });
    for (uint32_t d : defs) {
      bool read_later = false;
      successors(code, uint32_t(i), [&](uint32_t s) {
        read_later = read_later || (lv.in(s)[d / 64] >> (d % 64) & 1);
      });
      // A value nobody reads may still be on its way (a load's unused vector element): its
      // register keeps a slot of its own, so that no later register waits for it.
      if (!read_later) private_slot[d] = 1;
      for (size_t w = 0; w < words; ++w) conflict[d * words + w] |= around[w];
    }
  }
  // Symmetric: a conflict recorded at either register's write holds for both.
  for (size_t a = 0; a < nregs; ++a)
    for (size_t w = 0; w < words; ++w)
      for (uint64_t b = conflict[a * words + w]; b; b &= b - 1)
        conflict[(w * 64 + size_t(__builtin_ctzll(b))) * words + a / 64] |= uint64_t(1) << (a % 64);
  // Greedy colouring in declaration order: each register takes the first slot of its width
  // that no conflicting register holds.
  constexpr uint32_t kNone = UINT32_MAX;
  std::vector<uint32_t> slot(nregs, kNone);
  std::vector<RegInfo> slots;
  std::vector<uint8_t> shared_slot;  // 0: a private slot (of a register with unread values)
  std::vector<uint8_t> taken;
  for (size_t r = 0; r < nregs; ++r) {
    taken.assign(slots.size(), 0);
    for (size_t w = 0; w < words; ++w)
      for (uint64_t b = conflict[r * words + w]; b; b &= b - 1) {
        const uint32_t s = slot[w * 64 + size_t(__builtin_ctzll(b))];
        if (s != kNone) taken[s] = 1;
      }
    uint32_t s = 0;
    while (s < slots.size() && (private_slot[r] || shared_slot[s] == 0 || taken[s] ||
                                slots[s].bits != code.regs[r].bits))
      ++s;
    if (s == slots.size()) {
      slots.push_back(code.regs[r]);
      shared_slot.push_back(private_slot[r] ? 0 : 1);
    }
    slot[r] = s;
  }
  for (Instr& in : code.instrs) {
    for (int i = 0; i < in.nops; ++i)
      operand_regs(code, code.operands[in.first_op + size_t(i)], [&](uint32_t& r) { r = slot[r]; });
    if (in.guard != kNoReg) in.guard = slot[in.guard];
  }
  code.regs = std::move(slots);
}

Occupancy occupancy(const GpuParams& p, uint32_t registers_per_thread, uint64_t shared_per_block,
                    uint64_t threads_per_block) {
  Occupancy o;
  o.warps_per_block = uint32_t((threads_per_block + kW - 1) / kW);
  // Registers are allocated per warp in units of 256 (8 per thread), at least 16 per thread.
  o.registers = std::max<uint32_t>(16, (registers_per_thread + 7) / 8 * 8);
  o.shared_per_block = shared_per_block;
  struct Limit {
    uint64_t blocks;
    const char* name;
  };
  const uint64_t reg_warp = uint64_t(o.registers) * kW;
  const Limit limits[] = {
      {uint64_t(p.max_blocks_per_sm), "blocks"},
      {uint64_t(p.max_warps_per_sm) / o.warps_per_block, "warps"},
      {uint64_t(p.max_threads_per_sm) / threads_per_block, "threads"},
      {uint64_t(p.registers_per_sm) / reg_warp / o.warps_per_block, "registers"},
      {shared_per_block ? uint64_t(p.shared_per_sm) / shared_per_block : UINT64_MAX,
       "shared memory"},
  };
  o.blocks = UINT32_MAX;
  for (const Limit& l : limits)
    if (l.blocks < o.blocks) {
      o.blocks = uint32_t(l.blocks);
      o.limit = l.name;
    }
  return o;
}

namespace {

enum Pipe : uint8_t { kInt, kFp32, kFp64, kSfu, kTensor, kLsu, kNone, kPipes };

enum class Kind : uint8_t {
  compute,     // a result after the pipe's latency
  memory,      // ld st atom red cp.async ldmatrix wmma.load/store: through the memory path
  shuffle,     // shfl match: through the shared-memory crossbar
  barrier,     // bar.sync bar.arrive
  commit,      // cp.async.commit_group
  wait_group,  // cp.async.wait_group N / wait_all
  other,       // control flow, fences: an issue slot only
};

// What the timing model needs of one instruction, computed once per launch.
struct Info {
  uint32_t regs_first = 0;  // into Timing::regs_: sources then destinations
  uint16_t nsrc = 0, ndst = 0;
  Pipe pipe = kNone;
  Kind kind = Kind::other;
  uint16_t ii = 1;       // cycles the pipe is busy (one sub-partition)
  uint16_t latency = 1;  // issue to result usable
  uint32_t wait_n = 0;   // wait_group: groups that may stay in flight
  uint64_t macs = 0;     // tensor: multiply-accumulates per warp-instruction
  uint8_t mac_type = 0;  // 0 f16, 1 bf16, 2 tf32, 3 int8
};

// A cp.async group: its copies' latest completion, and how many are still unanswered.
struct Group {
  uint64_t seq = 0;
  uint64_t done = 0;
  uint32_t pending = 0;
};

struct WarpT {
  uint32_t slot = 0, warp = 0;  // the executor's block slot and warp index
  uint32_t local = 0;           // index of the SM's resident warps (scoreboard rows)
  uint64_t age = 0;             // launch order, for GTO's "oldest"
  uint64_t next = 0;            // earliest cycle of its next issue (in order, one per cycle)
  uint32_t pc = 0;              // its next instruction (the executor's, kept here at hand)
  uint64_t ready_at = 0;        // cached: when its next instruction's operands are ready
  bool cached = false;
  uint8_t pipe = 0;          // cached with ready_at: the next instruction's pipe
  bool mem = false;          // and whether it takes the memory path
  uint8_t wait = 0;          // and what ready_at waits for (Stall)
  uint64_t loads_until = 0;  // the answers known of its loads are in by then
  uint64_t thread0 = 0;      // the launch-wide index of its lane 0 (local memory)
  bool resident = false;
  bool exited = false;
  bool at_barrier = false;
  std::vector<Group> groups;  // committed cp.async groups, oldest first
  Group open;                 // the group cp.async instructions join now
};

// An answer the memory side owes an SM: when it comes, registers become ready or a cp.async
// group completes.
struct Pend {
  uint32_t warp;   // WarpT index in the SM
  uint64_t age;    // the warp's launch (a relaunched slot ignores its predecessor's answers)
  uint32_t pc;     // the instruction (its destinations)
  uint64_t done;   // the latest answer so far
  uint32_t left;   // requests not yet answered
  uint64_t group;  // cp.async: the group's seq
  uint8_t what;    // 0 registers, 1 a cp.async group, 2 nothing (stores, reductions)
};

struct Request {
  uint64_t cycle;  // leaves the SM
  uint32_t sm;
  uint64_t seq;
  uint64_t line;
  uint8_t sectors;
  Access kind;
  bool fill_l1;  // a read whose sectors the L1 keeps
  uint32_t pend;
};

// Why a scheduler that has warps issues nothing in a cycle: the reason of the warp that can
// issue soonest.
enum Stall : uint8_t {
  kStallOperands,  // a source or destination register awaits an arithmetic result
  kStallMemory,    // a register awaits a load (shared, L1, L2, HBM)
  kStallPipe,      // the instruction's pipe, or the L1/shared-memory queue, is busy
  kStallBarrier,   // every warp waits at a barrier
  kStallSync,      // cp.async.wait_group: copies still in flight
  kStallIssue,     // the warp issued in the previous cycle (in-order issue)
  kStalls
};
constexpr const char* kStallNames[] = {"operands", "memory", "pipe", "barrier", "sync", "issue"};
constexpr const char* kStallText[] = {
    "a source or destination register awaited an arithmetic result",
    "a register awaited a load (shared memory, L1, L2 or HBM)",
    "the instruction's pipe or the L1/shared-memory queue was busy",
    "the warps waited at a barrier",
    "cp.async.wait_group waited for copies in flight",
    "the warp had issued in the cycle before (one instruction per cycle per warp)"};

struct SchedStats {
  uint64_t issued = 0, stalled = 0, idle = 0;
  std::array<uint64_t, kStalls> stall{};
};

}  // namespace

class Timing {
 public:
  Timing(Executor& ex, const Code& code, const LaunchShape& shape, const GpuParams& p,
         const Occupancy& occ, uint64_t max_cycles, uint64_t sample_waves, MemorySide& mem,
         StatGroup& stats)
      : ex_(ex),
        code_(code),
        shape_(shape),
        p_(p),
        occ_(occ),
        mem_(mem),
        stats_(stats),
        max_cycles_(max_cycles) {
    build_infos();
    memo_at_.assign(code.instrs.size(), UINT32_MAX);
    const uint64_t shared_used = occ.shared_per_block * occ.blocks;
    l1_bytes_ =
        p.l1_shared_bytes > int64_t(shared_used) ? uint64_t(p.l1_shared_bytes) - shared_used : 0;
    sms_.resize(size_t(p.sms));
    for (size_t s = 0; s < sms_.size(); ++s) {
      Sm& sm = sms_[s];
      sm.index = uint32_t(s);
      sm.warps.resize(size_t(occ.blocks) * occ.warps_per_block);
      for (uint32_t i = 0; i < sm.warps.size(); ++i) {
        WarpT& w = sm.warps[i];
        w.local = i;
        w.slot = uint32_t(s) * occ.blocks + i / occ.warps_per_block;
        w.warp = i % occ.warps_per_block;
      }
      sm.ready.assign(sm.warps.size() * code.regs.size(), 0);
      sm.sched.resize(size_t(p.sub_partitions));
      sm.pipe_free.assign(size_t(p.sub_partitions) * kPipes, 0);
      sm.last.assign(size_t(p.sub_partitions), UINT32_MAX);
      sm.resident.assign(size_t(p.sub_partitions), 0);
      sm.wake.assign(size_t(p.sub_partitions), 0);
      sm.why.assign(size_t(p.sub_partitions), kStallIssue);
      if (l1_bytes_ >= uint64_t(128) * uint64_t(p.l1_ways))
        sm.l1 = std::make_unique<SectorCache>(l1_bytes_, uint32_t(p.l1_ways));
    }
    window_ = std::max<uint64_t>(1, mem_.min_round_trip());
    sample_waves_ = sample_waves;
  }

  TimingResult run();

 private:
  struct Sm {
    uint32_t index = 0;
    std::vector<WarpT> warps;
    std::vector<uint64_t> ready;  // [warp][register]: cycle the value is usable
    std::vector<SchedStats> sched;
    std::vector<uint64_t> pipe_free;  // [sub-partition][pipe]
    std::vector<uint32_t> last;       // per sub-partition: the warp issued last
    // Per sub-partition: resident warps, and the cycle before which none of them can issue
    // (a lower bound, reset when a launch, a barrier or an answer may bring it closer).
    std::vector<uint32_t> resident;
    std::vector<uint64_t> wake;
    std::vector<uint8_t> why;  // per sub-partition: the stall reason its last check found
    std::unique_ptr<SectorCache> l1;
    uint64_t clock = 0;     // cycles before this have been simulated
    uint64_t mio_free = 0;  // the L1/shared-memory data path is free again
    uint64_t seq = 0;
    uint64_t resident_warp_cycles = 0;  // for the achieved occupancy
    uint64_t active_cycles = 0;         // cycles with a resident block
    uint64_t issued = 0;
  };

  uint16_t pipe_ii(int lanes) const {
    const int per = std::max(1, lanes / p_.sub_partitions);
    return uint16_t((kW + per - 1) / per);
  }

  void build_infos() {
    infos_.resize(code_.instrs.size());
    for (size_t i = 0; i < code_.instrs.size(); ++i) {
      const Instr& in = code_.instrs[i];
      Info& f = infos_[i];
      f.regs_first = uint32_t(regs_.size());
      std::vector<uint32_t> dsts;
      instr_regs(
          code_, in, [&](uint32_t r) { regs_.push_back(r); },
          [&](uint32_t r) { dsts.push_back(r); });
      f.nsrc = uint16_t(regs_.size() - f.regs_first);
      f.ndst = uint16_t(dsts.size());
      regs_.insert(regs_.end(), dsts.begin(), dsts.end());
      classify(in, f);
    }
  }

  void classify(const Instr& in, Info& f) const {
    auto compute = [&](Pipe pipe, int lanes, int latency) {
      f.kind = Kind::compute;
      f.pipe = pipe;
      f.ii = pipe_ii(lanes);
      f.latency = uint16_t(latency);
    };
    switch (in.op) {
      case Op::ld:
      case Op::st:
      case Op::atom:
      case Op::red:
      case Op::cp_async:
      case Op::ldmatrix:
      case Op::wmma_load:
      case Op::wmma_store:
        f.kind = Kind::memory;
        f.pipe = kLsu;
        f.ii = pipe_ii(p_.lsu_lanes);
        return;
      case Op::shfl:
      case Op::match:
        f.kind = Kind::shuffle;
        f.pipe = kLsu;
        f.ii = pipe_ii(p_.lsu_lanes);
        f.latency = uint16_t(p_.lat_shared);
        return;
      case Op::bar_sync:
      case Op::bar_arrive:
        f.kind = Kind::barrier;
        return;
      case Op::cp_async_commit:
        f.kind = Kind::commit;
        return;
      case Op::cp_async_wait_all:
        f.kind = Kind::wait_group;
        return;
      case Op::cp_async_wait_group:
        f.kind = Kind::wait_group;
        f.wait_n = uint32_t(code_.ops(in)[0].value);
        return;
      case Op::mma:
      case Op::wmma_mma: {
        const uint64_t macs = in.op == Op::wmma_mma         ? 16 * 16 * 16
                              : in.shape == Shape::m16n8k8  ? 16 * 8 * 8
                              : in.shape == Shape::m16n8k16 ? 16 * 8 * 16
                                                            : 16 * 8 * 32;
        const Type a = in.type2;
        int rate = p_.tensor_f16;
        f.mac_type = a == Type::bf16 ? 1 : 0;
        if (a == Type::tf32) {
          rate = p_.tensor_tf32;
          f.mac_type = 2;
        } else if (a == Type::s8 || a == Type::u8) {
          rate = p_.tensor_int8;
          f.mac_type = 3;
        }
        const uint64_t per = std::max<uint64_t>(1, uint64_t(rate) / uint64_t(p_.sub_partitions));
        f.kind = Kind::compute;
        f.pipe = kTensor;
        f.macs = macs;
        f.ii = uint16_t((macs + per - 1) / per);
        f.latency = uint16_t(std::max(p_.lat_tensor, int(f.ii)));
        return;
      }
      case Op::cvta:
        return compute(kInt, p_.int_lanes, p_.lat_int);
      case Op::cvt:
        if (!is_float(in.type) && !is_float(in.type2))
          return compute(kInt, p_.int_lanes, p_.lat_int);
        return compute(kSfu, p_.sfu_lanes, p_.lat_sfu);
      default:
        break;
    }
    switch (instr_class(in)) {
      case InstrClass::fp64:
        return compute(kFp64, p_.fp64_lanes, p_.lat_fp64);
      case InstrClass::sfu:
        return compute(kSfu, p_.sfu_lanes, p_.lat_sfu);
      case InstrClass::fp32:
        return compute(kFp32, p_.fp32_lanes, p_.lat_fp32);
      case InstrClass::half:
        return compute(kFp32, p_.fp32_lanes, p_.lat_half);
      case InstrClass::control:
        return;  // an issue slot only
      default:   // integer; vote and activemask
        return compute(kInt, p_.int_lanes, p_.lat_int);
    }
  }

  const uint32_t* srcs(const Info& f) const { return regs_.data() + f.regs_first; }
  const uint32_t* dsts(const Info& f) const { return regs_.data() + f.regs_first + f.nsrc; }
  uint64_t* ready_row(Sm& sm, const WarpT& w) {
    return sm.ready.data() + size_t(w.local) * code_.regs.size();
  }

  // The cycle from which the warp's next instruction may issue as far as its own state goes
  // (operands, in-order issue, cp.async groups); kPending while the memory side owes it.
  uint64_t ready_at(Sm& sm, WarpT& w) {
    if (w.cached) return w.ready_at;
    uint64_t t = w.next;
    w.wait = kStallIssue;
    const uint32_t pc = w.pc;
    w.pipe = kNone;
    w.mem = false;
    if (pc < infos_.size()) {
      const Info& f = infos_[pc];
      w.pipe = f.pipe;
      w.mem = f.kind == Kind::memory;
      const uint64_t* ready = ready_row(sm, w);
      const uint32_t* r = srcs(f);
      uint64_t regs = 0;
      for (int i = 0; i < f.nsrc + f.ndst; ++i) regs = std::max(regs, ready[r[i]]);
      if (regs > t) {
        t = regs;
        w.wait = regs == kPending || regs <= w.loads_until ? kStallMemory : kStallOperands;
      }
      if (f.kind == Kind::wait_group) {
        // wait_all first commits the open group.
        const bool all = code_.instrs[pc].op == Op::cp_async_wait_all;
        const size_t keep = all ? 0 : f.wait_n;
        const size_t n = w.groups.size() > keep ? w.groups.size() - keep : 0;
        uint64_t g = 0;
        for (size_t i = 0; i < n; ++i)
          g = std::max(g, w.groups[i].pending ? kPending : w.groups[i].done);
        if (all) g = std::max(g, w.open.pending ? kPending : w.open.done);
        if (g > t) {
          t = g;
          w.wait = kStallSync;
        }
      }
    }
    w.ready_at = t;
    w.cached = true;
    return t;
  }

  // Data-path cycles of pass k of instruction pc on shared memory (shared_wavefronts; atomics
  // also serialise the lanes that update one address). A shift of every address by a multiple
  // of the bank width permutes the banks and keeps the count, so the answer is remembered per
  // instruction and pass by the lanes' offsets from the first one: a loop that walks a buffer
  // with the same pattern each time computes it once. A few patterns are kept per instruction
  // and pass (the stages of a multi-buffered copy may each have their own).
  uint32_t shared_cycles(uint32_t pc, uint32_t k, const uint64_t* addr, uint32_t mask,
                         uint32_t bytes, bool atomic) {
    const uint64_t a0 = addr[__builtin_ctz(mask)];
    SharedMemo* ways = nullptr;
    if (k < kMemoPasses) {
      uint32_t& at = memo_at_[pc];
      if (at == UINT32_MAX) {
        at = uint32_t(shared_memo_.size());
        shared_memo_.resize(shared_memo_.size() + kMemoPasses * kMemoWays);
      }
      ways = &shared_memo_[at + k * kMemoWays];
      for (uint32_t i = 0; i < kMemoWays; ++i) {
        const SharedMemo& m = ways[i];
        if (m.mask != mask || m.bytes != bytes || m.low != a0 % 4) continue;
        bool same = true;
        for (uint32_t b = mask; b && same; b &= b - 1) {
          const int l = __builtin_ctz(b);
          same = int64_t(addr[l] - a0) == m.offset[l];
        }
        if (same) return m.cycles;
      }
    }
    uint32_t wf = shared_wavefronts(addr, mask, bytes);
    if (atomic)
      for (uint32_t a = mask; a; a &= a - 1) {
        uint32_t same = 0;
        for (uint32_t b = mask; b; b &= b - 1)
          same += addr[__builtin_ctz(b)] == addr[__builtin_ctz(a)];
        wf = std::max(wf, same);
      }
    if (ways) {
      // The oldest pattern gives way (ways[0] the newest).
      std::move_backward(ways, ways + kMemoWays - 1, ways + kMemoWays);
      SharedMemo& m = ways[0];
      m.mask = mask;
      m.bytes = bytes;
      m.low = uint32_t(a0 % 4);
      for (uint32_t b = mask; b; b &= b - 1) {
        const int l = __builtin_ctz(b);
        m.offset[l] = int32_t(addr[l] - a0);
      }
      m.cycles = wf;
    }
    return wf;
  }

  void run_sm(Sm& sm, uint64_t end);
  bool pick(Sm& sm, uint32_t sp, uint64_t c, uint64_t& next_event, uint8_t& why);
  void issue(Sm& sm, WarpT& w, uint32_t sp, uint64_t c);
  void memory(Sm& sm, WarpT& w, const Info& f, const Instr& in, uint64_t c);
  void launch(Sm& sm, uint32_t local_block, uint64_t linear, uint64_t start);
  void block_end(Sm& sm, uint32_t local_block, uint64_t c);
  void write_stats(StatGroup& root) const;
  void take_sample(int i, uint64_t t);

  Executor& ex_;
  const Code& code_;
  LaunchShape shape_;
  const GpuParams& p_;
  Occupancy occ_;
  MemorySide& mem_;
  StatGroup& stats_;
  uint64_t max_cycles_;
  std::vector<Info> infos_;
  std::vector<uint32_t> regs_;
  struct SharedMemo {
    uint32_t mask = 0, bytes = 0, cycles = 0, low = 0;
    int32_t offset[kW];  // from the first lane's address (shared memory is far below 2 GiB)
  };
  static constexpr uint32_t kMemoPasses = 4, kMemoWays = 4;
  std::vector<uint32_t> memo_at_;        // per instruction: its patterns in shared_memo_, or none
  std::vector<SharedMemo> shared_memo_;  // [pass][way] of each instruction with shared accesses
  std::vector<Sm> sms_;
  uint64_t l1_bytes_ = 0;
  uint64_t window_ = 1;
  uint64_t next_block_ = 0, blocks_done_ = 0, age_ = 0;
  uint64_t end_ = 0;  // the latest event: a block's end or a request's answer
  StepAccesses acc_;
  std::vector<Pend> pends_;
  std::vector<Request> requests_;  // of this window and later (cycles beyond its end)
  struct Freed {
    uint64_t cycle;
    uint32_t sm, block;
  };
  std::vector<Freed> freed_;
  // statistics
  uint64_t shared_wavefronts_ = 0, shared_ideal_ = 0, shared_instrs_ = 0;
  uint64_t global_sectors_ = 0, global_ideal_ = 0, global_instrs_ = 0;
  uint64_t l1_hits_ = 0, l1_misses_ = 0;
  uint64_t barrier_waits_ = 0;
  TimingResult result_;
  // Sampling (sampling.waves): the snapshots at the first wave's end and sample_waves_ later.
  struct Sample {
    uint64_t t = 0, done = 0;
    std::unique_ptr<StatGroup> tree;
    TimingResult result;
    ExecStats exec;
  };
  uint64_t sample_waves_ = 0;
  int phase_ = 0;  // 0: first wave, 1: sampled waves, 2: past them
  Sample sample_[2];
  uint64_t skipped_blocks_ = 0, extra_cycles_ = 0;
};

void Timing::launch(Sm& sm, uint32_t local_block, uint64_t linear, uint64_t start) {
  const uint32_t slot = sm.index * occ_.blocks + local_block;
  ex_.start_block(slot, linear, sm.index);
  const uint32_t first = local_block * occ_.warps_per_block;
  for (uint32_t i = 0; i < occ_.warps_per_block; ++i) {
    WarpT& w = sm.warps[first + i];
    w.resident = true;
    ++sm.resident[w.local % uint32_t(p_.sub_partitions)];
    w.exited = false;
    w.at_barrier = false;
    w.thread0 = linear * shape_.block.count() + uint64_t(i) * kW;
    w.pc = ex_.pc(w.slot, w.warp);
    w.age = age_++;
    w.next = start;
    w.cached = false;
    w.groups.clear();
    w.open = Group{};
    w.loads_until = 0;
    uint64_t* ready = ready_row(sm, w);
    std::fill(ready, ready + code_.regs.size(), 0);
  }
  std::fill(sm.wake.begin(), sm.wake.end(), 0);
}

void Timing::block_end(Sm& sm, uint32_t local_block, uint64_t c) {
  const uint32_t first = local_block * occ_.warps_per_block;
  for (uint32_t i = 0; i < occ_.warps_per_block; ++i) {
    sm.warps[first + i].resident = false;
    --sm.resident[(first + i) % uint32_t(p_.sub_partitions)];
  }
  freed_.push_back({c, sm.index, local_block});
  ++blocks_done_;
  end_ = std::max(end_, c);
}

// Issues warp w's next instruction at cycle c on sub-partition sp.
void Timing::issue(Sm& sm, WarpT& w, uint32_t sp, uint64_t c) {
  const uint32_t pc = w.pc;
  w.cached = false;
  w.next = c + 1;
  ++sm.issued;
  ++sm.sched[sp].issued;
  Executor::Step st;
  if (pc >= infos_.size()) {
    st = ex_.step(w.slot, w.warp, c, nullptr);  // falls off the end: an exit
  } else {
    const Info& f = infos_[pc];
    const Instr& in = code_.instrs[pc];
    const bool mem = f.kind == Kind::memory;
    st = ex_.step(w.slot, w.warp, c, mem ? &acc_ : nullptr);
    if (f.pipe != kNone) sm.pipe_free[sp * kPipes + f.pipe] = c + f.ii;
    uint64_t* ready = ready_row(sm, w);
    switch (f.kind) {
      case Kind::compute:
      case Kind::shuffle: {
        const uint32_t* d = dsts(f);
        for (int i = 0; i < f.ndst; ++i) ready[d[i]] = c + f.latency;
        if (f.macs) {
          const uint64_t m = f.macs;
          (f.mac_type == 0   ? result_.macs_f16
           : f.mac_type == 1 ? result_.macs_bf16
           : f.mac_type == 2 ? result_.macs_tf32
                             : result_.macs_int8) += m;
        }
        break;
      }
      case Kind::memory:
        memory(sm, w, f, in, c);
        break;
      case Kind::commit:
        w.groups.push_back(w.open);
        w.open = Group{w.open.seq + 1, 0, 0};
        break;
      case Kind::wait_group: {
        if (in.op == Op::cp_async_wait_all) {
          w.groups.clear();
          w.open = Group{w.open.seq + 1, 0, 0};
        } else if (w.groups.size() > f.wait_n) {
          w.groups.erase(w.groups.begin(), w.groups.end() - f.wait_n);
        }
        break;
      }
      default:
        break;
    }
  }
  w.pc = st.next;
  if (st.active) return;
  w.exited = ex_.exited(w.slot, w.warp);
  const uint32_t block = w.local / occ_.warps_per_block;
  const uint32_t first = block * occ_.warps_per_block;
  if (!w.exited) {
    // At a barrier: released when the block's last expected thread arrives.
    w.at_barrier = true;
    ++barrier_waits_;
    if (ex_.release_barriers(w.slot)) {
      std::fill(sm.wake.begin(), sm.wake.end(), 0);
      for (uint32_t i = 0; i < occ_.warps_per_block; ++i) {
        WarpT& o = sm.warps[first + i];
        if (o.at_barrier && ex_.can_issue(o.slot, o.warp)) {
          o.pc = ex_.pc(o.slot, o.warp);  // the release moved it on
          o.at_barrier = false;
          o.next = std::max(o.next, c + uint64_t(p_.lat_barrier));
          o.cached = false;
        }
      }
    }
  }
  if (ex_.block_done(w.slot)) {
    block_end(sm, block, c + 1);
    return;
  }
  bool any = false;
  for (uint32_t i = 0; i < occ_.warps_per_block && !any; ++i)
    any = ex_.can_issue(sm.warps[first + i].slot, sm.warps[first + i].warp);
  if (!any) ex_.deadlock(w.slot);
}

// The memory path of an instruction that issued at cycle c: its accesses (acc_) become
// passes over the lanes (a lane's n-th access in the n-th pass, a lane's contiguous accesses
// merged up to 16 bytes, as the SASS vector loads do), each through shared memory (banks),
// the constant cache, or L1 and then L2 (coalesced into sectors of 128-byte lines).
void Timing::memory(Sm& sm, WarpT& w, const Info& f, const Instr& in, uint64_t c) {
  const bool cp = in.op == Op::cp_async;
  const bool atomic = in.op == Op::atom || in.op == Op::red;
  const bool no_result = in.op == Op::st || in.op == Op::wmma_store || in.op == Op::red;
  constexpr int kMaxRuns = 32;  // passes at most (a lane's runs beyond are charged to its last)
  uint64_t done = c + 1;        // answers known now (shared memory, L1 hits, constants)
  uint32_t mio = 0;             // data-path cycles of this instruction
  uint32_t lines_out = 0;       // requests to L2
  const uint32_t pend = uint32_t(pends_.size());
  const uint32_t me = uint32_t(&f - infos_.data());
  const uint64_t base = std::max(c, sm.mio_free);
  uint64_t addr[kW];
  uint64_t sectors[2 * kW];
  LineRequest lines[2 * kW];
  // Sub-pass k over the lanes of `mask`, all in space sp, their addresses in addr: at most
  // `bytes` per lane, `total` in all.
  auto serve = [&](uint8_t k, Space sp, uint32_t mask, uint32_t bytes, uint32_t total, bool write) {
    const uint64_t start = base + mio;
    if (sp == Space::shared) {
      const uint32_t wf = shared_cycles(me, k, addr, mask, bytes, atomic);
      shared_wavefronts_ += wf;
      shared_ideal_ += (total + 127) / 128;
      ++shared_instrs_;
      result_.onchip_bytes += total;
      if (cp) return;  // a copy's data are written into shared memory as they arrive
      mio += wf;
      done = std::max(done, start + uint64_t(p_.lat_shared) + wf - 1);
    } else if (sp == Space::const_) {
      // The constant cache serves one distinct address per cycle.
      uint32_t distinct = 0;
      for (uint32_t a = mask; a; a &= a - 1) {
        const int la = __builtin_ctz(a);
        bool seen = false;
        for (uint32_t b = mask & ((uint32_t(1) << la) - 1); b && !seen; b &= b - 1)
          seen = addr[__builtin_ctz(b)] == addr[la];
        distinct += !seen;
      }
      done = std::max(done, c + uint64_t(p_.lat_const) + distinct - 1);
    } else {
      const uint32_t ns = coalesce(addr, mask, bytes, sectors);
      const uint32_t nl = group_lines(sectors, ns, lines);
      global_sectors_ += ns;
      global_ideal_ += (total + 31) / 32;
      ++global_instrs_;
      mio += nl;
      result_.onchip_bytes += uint64_t(ns) * 32;
      // .cg loads and copies bypass L1; stores and atomics do not allocate in it.
      const bool use_l1 = sm.l1 && in.cache != Cache::cg && !atomic && !write;
      if (use_l1)  // the sets of the lines after the first come in while it is looked up
        for (uint32_t i = 1; i < nl; ++i) sm.l1->prefetch(lines[i].line);
      for (uint32_t i = 0; i < nl; ++i) {
        uint8_t miss = lines[i].sector_mask;
        if (use_l1) {
          const SectorCache::Outcome o = sm.l1->access(lines[i].line, miss, false, false);
          miss &= uint8_t(~o.hits);
          l1_hits_ += uint64_t(__builtin_popcount(o.hits));
          l1_misses_ += uint64_t(__builtin_popcount(miss));
          if (!miss) {
            // A hit on a sector whose fill is still on its way waits for it.
            done = std::max(done, std::max(start + i + uint64_t(p_.lat_l1), o.ready));
            continue;
          }
        }
        const Access kind = atomic ? Access::atomic : write ? Access::write : Access::read;
        requests_.push_back(
            {start + i, sm.index, sm.seq++, lines[i].line, miss, kind, use_l1, pend});
        ++lines_out;
      }
    }
  };
  // The common case, taken without building runs: the accesses came as groups (each in one
  // space, shared or global), every group over the same lanes and in another space than the
  // group before (so no lane's accesses merge); the general way makes group k pass k. A load, a
  // store or ldmatrix is one group; cp.async two.
  auto grouped = [&]() -> bool {
    const std::vector<StepAccesses::Group>& gs = acc_.groups;
    if (gs.empty() || gs.size() > size_t(kMaxRuns)) return false;
    for (size_t k = 1; k < gs.size(); ++k)
      if (gs[k].lanes != gs[0].lanes || gs[k].space == gs[k - 1].space) return false;
    for (size_t k = 0; k < gs.size(); ++k) {
      const StepAccesses::Group& g = gs[k];
      for (uint32_t m = g.lanes; m; m &= m - 1) {
        const int l = __builtin_ctz(m);
        addr[l] = g.addr(l);
      }
      serve(uint8_t(k), g.space, g.lanes, g.bytes, g.bytes * uint32_t(__builtin_popcount(g.lanes)),
            g.write);
    }
    return true;
  };
  // Any other: per lane, its accesses merged into runs; pass k takes each lane's k-th run.
  auto general = [&] {
    struct Run {
      uint64_t addr;
      uint32_t bytes;
      Space space;  // shared, global (local mapped into it), const (param too)
      bool write;
    };
    Run runs[kMaxRuns][kW];  // [k][lane]: a pass's lanes side by side
    uint8_t nruns[kW] = {};
    // A pass may mix spaces (a generic pointer per lane): one sub-pass per space, in the order
    // of kSpaces, over the lanes whose k-th run is in it.
    constexpr Space kSpaces[] = {Space::shared, Space::const_, Space::global};
    uint32_t lanes_in[kMaxRuns][3];  // [k][space]: the lanes of sub-pass (k, space)
    uint8_t passes = 0;
    for (const MemRef& r : acc_.refs) {
      uint64_t a = r.addr;
      Space sp = r.space;
      if (sp == Space::local) {
        // Local memory is interleaved by 4-byte words over the launch's threads (the same
        // variable of consecutive threads is contiguous), placed beyond device memory.
        const uint64_t threads = shape_.grid.count() * shape_.block.count();
        a = (uint64_t(1) << 46) + ((a / 4) * threads + w.thread0 + r.lane) * 4 + a % 4;
        sp = Space::global;
      } else if (sp == Space::param) {
        sp = Space::const_;
      }
      uint8_t& n = nruns[r.lane];
      Run* last = n ? &runs[n - 1][r.lane] : nullptr;
      if (last && last->space == sp && last->write == r.write && last->addr + last->bytes == a &&
          last->bytes + r.bytes <= 16 && sp != Space::const_) {
        last->bytes += r.bytes;
      } else if (n < kMaxRuns) {
        if (n == passes) {
          lanes_in[n][0] = lanes_in[n][1] = lanes_in[n][2] = 0;
          ++passes;
        }
        lanes_in[n][sp == Space::shared ? 0 : sp == Space::const_ ? 1 : 2] |= uint32_t(1) << r.lane;
        runs[n++][r.lane] = {a, r.bytes, sp, r.write};
      } else {
        last->bytes += r.bytes;  // more than kMaxRuns: charged with the last pass
      }
    }
    for (uint8_t k = 0; k < passes; ++k) {
      for (int si = 0; si < 3; ++si) {
        const uint32_t mask = lanes_in[k][si];
        if (!mask) continue;
        uint32_t bytes = 0, total = 0;
        bool write = false;
        for (uint32_t m = mask; m; m &= m - 1) {
          const int l = __builtin_ctz(m);
          const Run& r = runs[k][l];
          addr[l] = r.addr;
          bytes = std::max(bytes, r.bytes);
          total += r.bytes;
          write = r.write;
        }
        serve(k, kSpaces[si], mask, bytes, total, write);
      }
    }
  };
  if (!grouped()) {
    acc_.expand();
    general();
  }
  sm.mio_free = base + mio;
  end_ = std::max(end_, done);
  if (cp) {
    // The group completes when its copies' data are in shared memory.
    w.open.done = std::max(w.open.done, done);
    if (lines_out) ++w.open.pending;
  } else if (!no_result) {
    uint64_t* ready = ready_row(sm, w);
    const uint32_t* d = dsts(f);
    for (int i = 0; i < f.ndst; ++i) ready[d[i]] = lines_out ? kPending : done;
    w.loads_until = std::max(w.loads_until, done);
  }
  if (lines_out)
    pends_.push_back({w.local, w.age, me, done, lines_out, w.open.seq,
                      uint8_t(cp          ? 1
                              : no_result ? 2
                                          : 0)});
}

bool Timing::pick(Sm& sm, uint32_t sp, uint64_t c, uint64_t& next_event, uint8_t& why) {
  const uint32_t n = uint32_t(sm.warps.size());
  const uint32_t subs = uint32_t(p_.sub_partitions);
  why = kStallBarrier;
  bool found = false;
  uint64_t soonest = 0;
  auto eligible = [&](WarpT& w) -> bool {
    if (!w.resident || w.exited || w.at_barrier) return false;
    uint64_t t = ready_at(sm, w);
    uint8_t reason = w.wait;
    uint64_t busy = w.pipe != kNone ? sm.pipe_free[sp * kPipes + w.pipe] : 0;
    if (w.mem && sm.mio_free > c + uint64_t(p_.lsu_queue))
      busy = std::max(busy, sm.mio_free - uint64_t(p_.lsu_queue));
    if (busy > t) {
      t = busy;
      reason = kStallPipe;
    }
    if (t <= c) return true;
    next_event = std::min(next_event, t);
    if (!found || t < soonest) {
      found = true;
      soonest = t;
      why = reason;
    }
    return false;
  };
  WarpT* chosen = nullptr;
  const uint32_t last = sm.last[sp];
  if (p_.gto) {
    if (last != UINT32_MAX && eligible(sm.warps[last])) {
      chosen = &sm.warps[last];
    } else {
      for (uint32_t i = sp; i < n; i += subs) {
        WarpT& w = sm.warps[i];
        if (i != last && (!chosen || w.age < chosen->age) && eligible(w)) chosen = &w;
      }
    }
  } else {
    const uint32_t mine = (n - sp + subs - 1) / subs;  // warps of this sub-partition
    const uint32_t from = last == UINT32_MAX ? 0 : (last - sp) / subs + 1;
    for (uint32_t k = 0; k < mine && !chosen; ++k) {
      WarpT& w = sm.warps[sp + ((from + k) % mine) * subs];
      if (eligible(w)) chosen = &w;
    }
  }
  if (!chosen) return false;
  sm.last[sp] = chosen->local;
  issue(sm, *chosen, sp, c);
  return true;
}

// Simulates SM cycles [sm.clock, end): each cycle every sub-partition issues one ready warp;
// cycles in which none can issue are skipped to the next event.
void Timing::run_sm(Sm& sm, uint64_t end) {
  const uint32_t subs = uint32_t(p_.sub_partitions);
  uint64_t c = sm.clock;
  // The SM's scoreboard has left the host's cache while the other SMs ran their windows: it is
  // read at every issue, so ask for all of it at once.
  for (size_t i = 0; i < sm.ready.size(); i += 8) __builtin_prefetch(sm.ready.data() + i);
  while (c < end) {
    uint32_t resident = 0;
    for (uint32_t sp = 0; sp < subs; ++sp) resident += sm.resident[sp];
    if (!resident) {
      c = end;
      break;
    }
    uint64_t next_event = kPending;
    bool any = false;
    for (uint32_t sp = 0; sp < subs; ++sp) {
      if (c >= sm.wake[sp]) {
        uint64_t wake = kPending;
        if (pick(sm, sp, c, wake, sm.why[sp])) {
          any = true;
          sm.wake[sp] = 0;
          continue;
        }
        sm.wake[sp] = std::max(wake, c + 1);
      }
      next_event = std::min(next_event, sm.wake[sp]);
    }
    const uint64_t step = any ? 1 : std::min(std::max(next_event, c + 1), end) - c;
    // A scheduler that issued nothing counts this cycle (and those skipped) as stalled, for the
    // reason its last check found, or idle without resident warps.
    for (uint32_t sp = 0; sp < subs; ++sp) {
      if (sm.wake[sp] == 0) continue;
      SchedStats& st = sm.sched[sp];
      if (sm.resident[sp]) {
        st.stalled += step;
        st.stall[sm.why[sp]] += step;
      } else {
        st.idle += step;
      }
    }
    sm.resident_warp_cycles += uint64_t(resident) * step;
    sm.active_cycles += step;
    c += step;
  }
  sm.clock = std::max(sm.clock, end);
}

// The SMs' statistics (groups sm, shared, global) into root.
void Timing::write_stats(StatGroup& root) const {
  StatGroup& sg = root.group("sm", "streaming multiprocessors, summed over all SMs");
  uint64_t issued = 0, active = 0, resident = 0, stalled = 0, idle = 0;
  for (const Sm& sm : sms_) {
    issued += sm.issued;
    active += sm.active_cycles;
    resident += sm.resident_warp_cycles;
    for (const SchedStats& s : sm.sched) {
      stalled += s.stalled;
      idle += s.idle;
    }
  }
  uint64_t& n_issued = sg.counter("issued", "warp-instructions", "warp-instructions issued");
  uint64_t& n_active =
      sg.counter("active_cycles", "SM-cycles", "cycles SMs held at least one block");
  uint64_t& n_resident = sg.counter("resident_warp_cycles", "warp-cycles",
                                    "sum over active SM cycles of the warps resident");
  n_issued = issued;
  n_active = active;
  n_resident = resident;
  sg.counter("scheduler_stalled", "scheduler-cycles",
             "cycles a warp scheduler had resident warps but none could issue") = stalled;
  sg.counter("scheduler_idle", "scheduler-cycles", "cycles a warp scheduler had no resident warp") =
      idle;
  // The formulas read the counters (not values captured now), so that they stay right when a
  // program's later launches are accumulated into this tree.
  sg.formula(
      "achieved_warps", "warps", "average resident warps per active SM cycle",
      [&n_resident, &n_active] { return n_active ? double(n_resident) / double(n_active) : 0; });
  sg.formula("issue_per_cycle", "warp-instructions/cycle",
             "warp-instructions issued per active SM cycle (at most the sub-partitions)",
             [&n_issued, &n_active] { return n_active ? double(n_issued) / double(n_active) : 0; });
  sg.counter("barrier_waits", "warp-waits", "times a warp waited at a barrier") = barrier_waits_;
  StatGroup& stall = sg.group(
      "stalls", "scheduler cycles stalled, by the reason of the warp that could issue soonest");
  for (int r = 0; r < kStalls; ++r) {
    uint64_t n = 0;
    for (const Sm& sm : sms_)
      for (const SchedStats& st : sm.sched) n += st.stall[r];
    stall.counter(kStallNames[r], "scheduler-cycles", kStallText[r]) = n;
  }
  StatGroup& sh = root.group("shared", "shared memory (32 banks of 4 bytes)");
  sh.counter("instructions", "warp-instructions", "shared-memory accesses") = shared_instrs_;
  sh.counter("wavefronts", "cycles", "data-path cycles the accesses took") = shared_wavefronts_;
  sh.counter("ideal_wavefronts", "cycles",
             "cycles without bank conflicts (the bytes over 128 per cycle)") = shared_ideal_;
  StatGroup& gl = root.group("global", "global and local memory accesses (coalescing, L1)");
  gl.counter("instructions", "warp-instructions", "global/local memory accesses") = global_instrs_;
  gl.counter("sectors", "sectors", "32-byte sectors the accesses touched") = global_sectors_;
  gl.counter("ideal_sectors", "sectors", "sectors if every access were fully coalesced") =
      global_ideal_;
  gl.counter("l1_hits", "sectors", "L1 sector hits of loads") = l1_hits_;
  gl.counter("l1_misses", "sectors", "L1 sector misses of loads (sent to L2)") = l1_misses_;
  gl.maximum(
      "l1_bytes", "bytes",
      "L1 capacity per SM (what shared memory leaves; a program: the most of its launches)") =
      l1_bytes_;
}

// Snapshot i of the sampled waves: the time, the blocks done, the statistics so far.
void Timing::take_sample(int i, uint64_t t) {
  Sample& smp = sample_[i];
  smp.t = t;
  smp.done = blocks_done_;
  smp.tree = std::make_unique<StatGroup>("gpu");
  write_stats(*smp.tree);
  smp.tree->group("l2").accumulate(stats_.group("l2"));
  smp.tree->group("dram").accumulate(stats_.group("dram"));
  smp.result = result_;
  smp.exec = ex_.stats();
}

TimingResult Timing::run() {
  const uint64_t blocks = shape_.grid.count();
  // The first wave: block i to SM i mod SMs, until every SM is full.
  for (uint32_t b = 0; b < occ_.blocks && next_block_ < blocks; ++b)
    for (Sm& sm : sms_) {
      if (next_block_ >= blocks) break;
      launch(sm, b, next_block_++, 0);
    }
  uint64_t t = 0;
  std::vector<Request> later;
  while (blocks_done_ + skipped_blocks_ < blocks) {
    if (t > max_cycles_)
      throw Error(fmt::format(
          "the launch ran past limits.max_cycles = {} cycles with {} of {} blocks done (raise "
          "it with --max-cycles N)",
          max_cycles_, blocks_done_, blocks));
    const uint64_t end = t + window_;
    for (Sm& sm : sms_) run_sm(sm, end);
    // Serve the requests that left before the window's end, in (cycle, SM, sequence) order.
    std::stable_sort(requests_.begin(), requests_.end(), [](const Request& a, const Request& b) {
      return std::tie(a.cycle, a.sm, a.seq) < std::tie(b.cycle, b.sm, b.seq);
    });
    later.clear();
    // The L2 sets (and L1 sets to fill) of the request kAhead places on are brought into the
    // host's cache while the ones before it are served: the L2's tags do not stay there.
    constexpr size_t kAhead = 12;
    const auto prefetch = [&](size_t i) {
      if (i >= requests_.size()) return;
      const Request& r = requests_[i];
      mem_.prefetch(r.line);
      if (r.fill_l1) sms_[r.sm].l1->prefetch(r.line);
    };
    for (size_t i = 0; i < kAhead; ++i) prefetch(i);
    for (size_t k = 0; k < requests_.size(); ++k) {
      prefetch(k + kAhead);
      const Request& r = requests_[k];
      if (r.cycle >= end) {
        later.push_back(r);
        continue;
      }
      const uint64_t done = mem_.serve(r.cycle, r.line, r.sectors, r.kind);
      end_ = std::max(end_, done);
      Pend& pd = pends_[r.pend];
      pd.done = std::max(pd.done, done);
      if (r.fill_l1) {
        sms_[r.sm].l1->access(r.line, r.sectors, true, false);
        sms_[r.sm].l1->note_fill(r.line, done);
      }
      if (--pd.left) continue;
      Sm& sm = sms_[r.sm];
      WarpT& w = sm.warps[pd.warp];
      if (w.age != pd.age) continue;
      w.cached = false;
      std::fill(sm.wake.begin(), sm.wake.end(), 0);
      if (pd.what == 0) {
        const Info& f = infos_[pd.pc];
        uint64_t* ready = ready_row(sm, w);
        const uint32_t* d = dsts(f);
        for (int i = 0; i < f.ndst; ++i) ready[d[i]] = pd.done;
        w.loads_until = std::max(w.loads_until, pd.done);
      } else if (pd.what == 1) {
        Group* g = w.open.seq == pd.group ? &w.open : nullptr;
        for (Group& x : w.groups)
          if (x.seq == pd.group) g = &x;
        if (g) {
          g->done = std::max(g->done, pd.done);
          --g->pending;
        }
      }
    }
    requests_.swap(later);
    // Keep only the answers still owed (those of requests beyond this window), renumbered.
    std::vector<uint32_t> renumber(pends_.size(), UINT32_MAX);
    std::vector<Pend> owed;
    for (Request& r : requests_) {
      if (renumber[r.pend] == UINT32_MAX) {
        renumber[r.pend] = uint32_t(owed.size());
        owed.push_back(pends_[r.pend]);
      }
      r.pend = renumber[r.pend];
    }
    pends_.swap(owed);
    // Sampling: after the first wave, `sample_waves` more are simulated; then whole waves of
    // the blocks not yet launched are skipped, leaving the waves in flight and the remainder
    // (less than a wave) to run.
    const uint64_t wave = uint64_t(occ_.blocks) * sms_.size();
    if (sample_waves_ && phase_ == 0 && blocks_done_ >= wave) {
      take_sample(0, end);
      phase_ = 1;
    } else if (phase_ == 1 && blocks_done_ >= sample_[0].done + sample_waves_ * wave) {
      take_sample(1, end);
      phase_ = 2;
      const uint64_t left = blocks - next_block_;
      if (left >= wave) {
        skipped_blocks_ = left / wave * wave;
        next_block_ += skipped_blocks_;
        extra_cycles_ =
            uint64_t(std::llround(double(skipped_blocks_) * double(sample_[1].t - sample_[0].t) /
                                  double(sample_[1].done - sample_[0].done)));
      }
    }
    // Blocks to the slots that emptied, in the order they emptied.
    std::sort(freed_.begin(), freed_.end(), [](const Freed& a, const Freed& b) {
      return std::tie(a.cycle, a.sm, a.block) < std::tie(b.cycle, b.sm, b.block);
    });
    for (const Freed& f : freed_)
      if (next_block_ < blocks) launch(sms_[f.sm], f.block, next_block_++, end);
    freed_.clear();
    t = end;
  }
  result_.cycles = end_;
  mem_.restart_at(end_);  // a following launch starts here

  write_stats(stats_);
  StatGroup& sampling =
      stats_.group("sampling", "waves of blocks skipped in a timing-only run (sampling.waves)");
  uint64_t& skipped = sampling.counter(
      "blocks_skipped", "blocks",
      "blocks not simulated: their cycles, traffic and statistics are the rate of the simulated "
      "waves times their number");
  uint64_t& extrapolated = sampling.counter(
      "cycles_extrapolated", "cycles", "cycles added for the skipped blocks (in total_cycles)");
  if (skipped_blocks_) {
    // Every statistic grows by what the skipped blocks would have added at the measured rate.
    const double f = double(skipped_blocks_) / double(sample_[1].done - sample_[0].done);
    stats_.accumulate_change(*sample_[1].tree, *sample_[0].tree, f);
    const auto grow = [f](uint64_t& v, uint64_t at_b, uint64_t at_a) {
      v += uint64_t(std::llround(f * double(at_b - at_a)));
    };
    grow(result_.onchip_bytes, sample_[1].result.onchip_bytes, sample_[0].result.onchip_bytes);
    grow(result_.macs_f16, sample_[1].result.macs_f16, sample_[0].result.macs_f16);
    grow(result_.macs_bf16, sample_[1].result.macs_bf16, sample_[0].result.macs_bf16);
    grow(result_.macs_tf32, sample_[1].result.macs_tf32, sample_[0].result.macs_tf32);
    grow(result_.macs_int8, sample_[1].result.macs_int8, sample_[0].result.macs_int8);
    const ExecStats& a = sample_[0].exec;
    const ExecStats& b = sample_[1].exec;
    ExecStats& x = result_.skipped;
    grow(x.warp_instructions, b.warp_instructions, a.warp_instructions);
    grow(x.thread_instructions, b.thread_instructions, a.thread_instructions);
    grow(x.warps, b.warps, a.warps);
    grow(x.threads, b.threads, a.threads);
    for (size_t c = 0; c < x.by_class.size(); ++c)
      grow(x.by_class[c], b.by_class[c], a.by_class[c]);
    x.blocks = skipped_blocks_;
    result_.cycles += extra_cycles_;
  }
  skipped = skipped_blocks_;
  extrapolated = extra_cycles_;
  result_.dram_read = uint64_t(stats_.value("dram.bytes_read"));
  result_.dram_written = uint64_t(stats_.value("dram.bytes_written"));
  return result_;
}

TimingResult run_timed(Executor& ex, const Code& code, const LaunchShape& shape, const GpuParams& p,
                       const Occupancy& occ, uint64_t max_cycles, uint64_t sample_waves,
                       MemorySide& mem, StatGroup& stats) {
  Timing t(ex, code, shape, p, occ, max_cycles, sample_waves, mem, stats);
  return t.run();
}

}  // namespace xpusim::gpu
