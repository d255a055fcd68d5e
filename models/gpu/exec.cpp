// The functional PTX executor: a warp interpreter over the decoded Code with per-thread PCs
// (the warp runs the threads at the lowest PC), per-register lane arrays, barriers across the
// warps of a block, and bounds-checked memories (docs/models/gpu.md).
#include "models/gpu/exec.h"

#include <fmt/format.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "isa/ptx/fragments.h"
#include "isa/ptx/numeric.h"
#include "models/gpu/regs.h"

namespace xpusim::gpu {

using namespace isa::ptx;
namespace frag = isa::ptx;

ZeroBytes::~ZeroBytes() {
  if (p_) munmap(p_, mapped_);
}

void ZeroBytes::grow(uint64_t n) {
  if (n <= mapped_) {
    size_ = std::max(size_, n);
    return;
  }
  const uint64_t page = uint64_t(sysconf(_SC_PAGESIZE));
  const uint64_t want = (std::max(n, 2 * mapped_) + page - 1) / page * page;
  void* p = p_ ? mremap(p_, mapped_, want, MREMAP_MAYMOVE)
               : mmap(nullptr, want, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    throw Error(fmt::format("device memory: the host cannot map {} bytes ({})", want,
                            std::strerror(errno)));
  p_ = static_cast<uint8_t*>(p);
  mapped_ = want;
  size_ = n;
}

uint64_t DeviceMemory::alloc(uint64_t bytes, const std::string& what) {
  const uint64_t addr = kGlobalBase + ((bytes_.size() + 255) & ~uint64_t(255));
  alloc_at(addr, bytes, what);
  return addr;
}

void DeviceMemory::alloc_at(uint64_t addr, uint64_t bytes, const std::string& what) {
  if (addr < kGlobalBase + bytes_.size() || addr % 256)
    throw Error(
        fmt::format("{}: address {:#x} is not 256-byte aligned past the allocations so far "
                    "(which end at {:#x})",
                    what, addr, kGlobalBase + bytes_.size()));
  const uint64_t off = addr - kGlobalBase;
  const uint64_t size = std::max<uint64_t>(bytes, 1);
  if (off + size > capacity_ || off + size < off)
    throw Error(fmt::format("{}: {} bytes do not fit the device memory ({} bytes, {} in use)", what,
                            bytes, capacity_, bytes_.size()));
  bytes_.grow(off + size);
  ranges_.push_back({addr, addr + bytes});
}

bool DeviceMemory::contains(uint64_t addr, uint64_t n) const {
  if (last_ < ranges_.size() && addr >= ranges_[last_].begin && addr + n <= ranges_[last_].end &&
      addr + n >= addr)
    return true;
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), addr,
                             [](uint64_t a, const Range& r) { return a < r.begin; });
  if (it == ranges_.begin()) return false;
  --it;
  if (addr + n > it->end || addr + n < addr) return false;
  last_ = size_t(it - ranges_.begin());
  return true;
}

const char* class_name(InstrClass c) {
  static const char* const names[] = {"integer", "fp32",   "fp64",  "half",   "sfu",  "convert",
                                      "memory",  "atomic", "async", "tensor", "warp", "control"};
  return names[size_t(c)];
}

namespace {

constexpr int kW = kWarpSize;
// Generic addresses of the shared and local windows (global addresses are their own).
constexpr uint64_t kSharedWindow = uint64_t(1) << 48;
constexpr uint64_t kLocalWindow = uint64_t(2) << 48;
constexpr uint64_t kWindowSize = uint64_t(1) << 32;

}  // namespace

InstrClass instr_class(const Instr& in) {
  switch (in.op) {
    case Op::ld:
    case Op::st:
      return InstrClass::memory;
    case Op::cvt:
    case Op::cvta:
      return InstrClass::convert;
    case Op::rcp:
    case Op::sqrt:
    case Op::rsqrt:
    case Op::ex2:
    case Op::lg2:
    case Op::sin:
    case Op::cos:
    case Op::tanh:
      return in.type == Type::f64 ? InstrClass::fp64 : InstrClass::sfu;
    case Op::atom:
    case Op::red:
      return InstrClass::atomic;
    case Op::cp_async:
    case Op::cp_async_commit:
    case Op::cp_async_wait_group:
    case Op::cp_async_wait_all:
      return InstrClass::async;
    case Op::ldmatrix:
    case Op::mma:
    case Op::wmma_load:
    case Op::wmma_mma:
    case Op::wmma_store:
      return InstrClass::tensor;
    case Op::shfl:
    case Op::vote:
    case Op::match:
    case Op::activemask:
      return InstrClass::warp;
    case Op::bra:
    case Op::ret:
    case Op::exit:
    case Op::trap:
    case Op::brkpt:
    case Op::bar_sync:
    case Op::bar_arrive:
    case Op::bar_warp_sync:
    case Op::membar:
    case Op::fence:
    case Op::nanosleep:
      return InstrClass::control;
    default:
      break;
  }
  const Type t = in.op == Op::set ? in.type2 : in.type;
  if (t == Type::f32 || t == Type::tf32) return InstrClass::fp32;
  if (t == Type::f64) return InstrClass::fp64;
  if (is_half(t)) return InstrClass::half;
  return InstrClass::integer;
}

namespace {

IntType int_type(Type t) {
  switch (t) {
    case Type::s8:
      return IntType::s8;
    case Type::s16:
      return IntType::s16;
    case Type::s32:
      return IntType::s32;
    case Type::s64:
      return IntType::s64;
    case Type::u8:
    case Type::b8:
      return IntType::u8;
    case Type::u16:
    case Type::b16:
    case Type::f16:
    case Type::bf16:
      return IntType::u16;
    case Type::u64:
    case Type::b64:
    case Type::f64:
      return IntType::u64;
    default:
      return IntType::u32;
  }
}
int width(Type t) {
  return t == Type::pred ? 1 : int(type_bytes(t)) * 8;
}
Rnd frnd(Rounding r) {
  switch (r) {
    case Rounding::rz:
      return Rnd::rz;
    case Rounding::rm:
      return Rnd::rm;
    case Rounding::rp:
      return Rnd::rp;
    case Rounding::rna:
      return Rnd::rna;
    default:
      return Rnd::rn;
  }
}
IRnd irnd(Rounding r) {
  switch (r) {
    case Rounding::rni:
      return IRnd::rni;
    case Rounding::rmi:
      return IRnd::rmi;
    case Rounding::rpi:
      return IRnd::rpi;
    default:
      return IRnd::rzi;
  }
}
float F(uint64_t v) {
  return f32_from(uint32_t(v));
}
uint64_t B(float f) {
  return f32_bits(f);
}
double D(uint64_t v) {
  return f64_from(v);
}
uint64_t B(double d) {
  return f64_bits(d);
}
frag::ElemType elem(Type t) {
  switch (t) {
    case Type::bf16:
      return frag::ElemType::bf16;
    case Type::tf32:
      return frag::ElemType::tf32;
    case Type::s8:
      return frag::ElemType::s8;
    case Type::u8:
      return frag::ElemType::u8;
    case Type::f32:
      return frag::ElemType::f32;
    case Type::s32:
      return frag::ElemType::s32;
    default:
      return frag::ElemType::f16;
  }
}
// .relu on a half: negative to +0, NaN to the canonical NaN.
uint16_t relu16(uint16_t h, bool bf) {
  const bool nan = bf ? (h & 0x7fff) > 0x7f80 : (h & 0x7fff) > 0x7c00;
  if (nan) return bf ? kNanBF16 : kNanF16;
  return (h & 0x8000) ? 0 : h;
}
uint32_t relu32(uint32_t v, bool bf) {
  return relu16(uint16_t(v), bf) | uint32_t(relu16(uint16_t(v >> 16), bf)) << 16;
}
// A half as float (for comparisons).
double half_val(uint16_t h, bool bf) {
  return bf ? double(bf16_to_f32(h)) : double(f16_to_f32(h));
}

bool compare(Cmp c, double a, double b) {
  const bool un = std::isnan(a) || std::isnan(b);
  switch (c) {
    case Cmp::eq:
      return !un && a == b;
    case Cmp::ne:
      return !un && a != b;
    case Cmp::lt:
      return !un && a < b;
    case Cmp::le:
      return !un && a <= b;
    case Cmp::gt:
      return !un && a > b;
    case Cmp::ge:
      return !un && a >= b;
    case Cmp::equ:
      return un || a == b;
    case Cmp::neu:
      return un || a != b;
    case Cmp::ltu:
      return un || a < b;
    case Cmp::leu:
      return un || a <= b;
    case Cmp::gtu:
      return un || a > b;
    case Cmp::geu:
      return un || a >= b;
    case Cmp::num:
      return !un;
    case Cmp::nan:
      return un;
    default:
      return false;
  }
}
bool compare_int(Cmp c, uint64_t a, uint64_t b, bool sgn) {
  const bool lt = sgn ? int64_t(a) < int64_t(b) : a < b;
  switch (c) {
    case Cmp::eq:
      return a == b;
    case Cmp::ne:
      return a != b;
    case Cmp::lt:
    case Cmp::lo:
      return lt;
    case Cmp::le:
    case Cmp::ls:
      return lt || a == b;
    case Cmp::gt:
    case Cmp::hi:
      return !lt && a != b;
    case Cmp::ge:
    case Cmp::hs:
      return !lt;
    default:
      return false;
  }
}
bool combine(BoolOp op, bool r, bool c) {
  switch (op) {
    case BoolOp::and_:
      return r && c;
    case BoolOp::or_:
      return r || c;
    case BoolOp::xor_:
      return r != c;
    default:
      return r;
  }
}

template <class Fn>
inline void each(uint32_t mask, Fn&& fn) {
  while (mask) {
    const int l = __builtin_ctz(mask);
    mask &= mask - 1;
    fn(l);
  }
}

struct Warp {
  uint32_t index = 0;
  uint32_t pc = 0;                 // the PC of the active threads
  uint32_t active = 0;             // threads executing now (all at pc)
  uint32_t live = 0;               // threads not exited
  uint32_t waiting = 0;            // threads held at a barrier
  uint32_t merge_pc = UINT32_MAX;  // the lowest PC of the other runnable threads
  uint64_t executed = 0;
  uint32_t pcs[kW] = {};  // per thread, valid for live threads outside `active`
  uint8_t bar_id[kW] = {};
  uint32_t first_tid = 0;
};

struct Barrier {
  uint32_t arrived = 0;
  uint32_t expected = 0;  // 0: every live thread of the block
  uint32_t pc = 0;        // of the first arrival (for messages)
};

// A resident thread block: its warps, registers, shared and local memory, barriers.
struct Block {
  Dim3 ctaid;
  uint64_t linear = 0;
  uint32_t smid = 0;
  std::vector<Warp> warps;
  std::vector<uint64_t> regs;  // [warp][register slot][lane]
  std::vector<uint8_t> shared, local;
  std::vector<Barrier> bars;
};

}  // namespace

class Executor::Impl {
 public:
  Impl(const Module& m, const Kernel& k, const LaunchShape& shape,
       const std::vector<uint8_t>& params, DeviceMemory& mem, const ExecConfig& cfg)
      : m_(m),
        k_(k),
        code_(k.code),
        shape_(shape),
        params_(params),
        mem_(mem),
        cfg_(cfg),
        nregs_(uint32_t(code_.regs.size())) {
    regmask_.resize(nregs_);
    for (uint32_t r = 0; r < nregs_; ++r) regmask_[r] = zext(~uint64_t(0), code_.regs[r].bits);
    cls_.resize(code_.instrs.size());
    for (size_t i = 0; i < code_.instrs.size(); ++i)
      cls_[i] = uint8_t(instr_class(code_.instrs[i]));
    // Timing only: what each instruction does of its data (timing_slice).
    run_.assign(code_.instrs.size(), Run::all);
    if (!cfg_.values) {
      const std::vector<uint8_t> needed = cfg_.slice ? *cfg_.slice : timing_slice(code_);
      for (size_t i = 0; i < code_.instrs.size(); ++i) {
        const Instr& in = code_.instrs[i];
        const Operand* o = code_.ops(in);
        bool memory = false;
        for (int j = 0; j < in.nops; ++j) memory = memory || o[j].kind == OperandKind::mem;
        if (needed[i] || (memory && in.op != Op::ld && in.op != Op::st && in.op != Op::cp_async))
          run_[i] = Run::all;
        else
          run_[i] = memory ? Run::addresses : Run::none;
      }
    }
    assign_slots();
    // Module-scope global and const variables live in device memory.
    var_addr_.resize(m.variables.size(), 0);
    for (size_t i = 0; i < m.variables.size(); ++i) {
      const Variable& v = m.variables[i];
      if (v.space != Space::global && v.space != Space::const_) continue;
      var_addr_[i] = mem.alloc(v.size, "variable " + v.name);
      if (!v.init.empty()) std::memcpy(mem.data(var_addr_[i]), v.init.data(), v.init.size());
    }
    const uint32_t threads = uint32_t(shape.block.count());
    nwarps_ = (threads + kW - 1) / kW;
    shared_size_ = code_.uses_dynamic_shared ? code_.dynamic_offset + shape.dynamic_shared
                                             : code_.shared_bytes;
  }

  uint32_t warps_per_block() const { return nwarps_; }
  const ExecStats& stats() const { return stats_; }

  // Starts block `linear` (x fastest) in `slot`, reusing the slot's storage.
  void start_block(uint32_t slot, uint64_t linear, uint32_t smid) {
    if (slot >= blocks_.size()) blocks_.resize(slot + 1);
    Block& b = blocks_[slot];
    const Dim3& g = shape_.grid;
    b.ctaid = {uint32_t(linear % g.x), uint32_t(linear / g.x % g.y), uint32_t(linear / g.x / g.y)};
    b.linear = linear;
    b.smid = smid;
    const uint32_t threads = uint32_t(shape_.block.count());
    b.regs.assign(size_t(nwarps_) * nslots_ * kW, 0);
    b.shared.assign(code_.dynamic_offset + shape_.dynamic_shared, 0);
    b.local.assign(size_t(threads) * code_.local_bytes, 0);
    b.bars.assign(16, Barrier{});
    b.warps.resize(nwarps_);
    for (uint32_t i = 0; i < nwarps_; ++i) {
      Warp& w = b.warps[i];
      w = Warp{};
      w.index = i;
      w.first_tid = i * kW;
      const uint32_t n = std::min<uint32_t>(kW, threads - i * kW);
      w.live = w.active = n == 32 ? ~uint32_t(0) : (uint32_t(1) << n) - 1;
    }
    ++stats_.blocks;
    stats_.warps += nwarps_;
    stats_.threads += threads;
  }

  bool can_issue(uint32_t slot, uint32_t warp) const { return blocks_[slot].warps[warp].active; }
  bool exited(uint32_t slot, uint32_t warp) const { return !blocks_[slot].warps[warp].live; }
  uint32_t pc(uint32_t slot, uint32_t warp) const { return blocks_[slot].warps[warp].pc; }
  bool block_done(uint32_t slot) const {
    for (const Warp& w : blocks_[slot].warps)
      if (w.live) return false;
    return true;
  }

  // Executes the next warp-instruction of a warp that can issue.
  Executor::Step step(uint32_t slot, uint32_t warp, uint64_t clock, StepAccesses* acc) {
    b_ = &blocks_[slot];
    clock_ = clock;
    acc_ = acc;
    if (acc_) acc_->clear();
    Warp& w = b_->warps[warp];
    Executor::Step st;
    st.pc = w.pc;
    st.exec = issue(w);
    st.next = w.pc;
    st.active = w.active != 0;
    return st;
  }

  bool release(uint32_t slot) {
    b_ = &blocks_[slot];
    return release_barriers();
  }
  [[noreturn]] void stuck(uint32_t slot) {
    b_ = &blocks_[slot];
    deadlock();
  }

 private:
  // ---- errors -------------------------------------------------------------------------------

  std::string where(uint32_t pc) const {
    const SourceInfo& s = code_.where[pc];
    const std::string cuda = m_.cuda_location(s);
    return fmt::format("kernel {}, {}:{}{}", k_.name, m_.file, s.line,
                       cuda.empty() ? "" : " (" + cuda + ")");
  }
  std::string block_name() const {
    return fmt::format("block ({},{},{})", b_->ctaid.x, b_->ctaid.y, b_->ctaid.z);
  }
  [[noreturn]] void fail(const Warp& w, int lane, const std::string& why) const {
    throw Error(fmt::format("{}: {}, warp {}, lane {} (thread {}): {} in '{}'", where(w.pc),
                            block_name(), w.index, lane, w.first_tid + uint32_t(lane), why,
                            code_.text[w.pc]));
  }

  // ---- registers and operands ------------------------------------------------------------

  uint64_t* reg(const Warp& w, uint32_t r) {
    return b_->regs.data() + (size_t(w.index) * nslots_ + slot_[r]) * kW;
  }
  // Where each register's lanes are stored (slot_). With values, a slot per register. Timing
  // only, a slot for each register a step reads or writes (the guards, every register of the
  // instructions run in full, the addresses of those whose addresses alone are taken), and one
  // more that every other register shares: those are the destinations of skipped arithmetic,
  // which nothing reads. A compiled GEMM's accumulators and fragments then take no storage, and
  // the registers the run does touch stay close together in the host's caches.
  void assign_slots() {
    slot_.resize(nregs_);
    if (cfg_.values) {
      for (uint32_t r = 0; r < nregs_; ++r) slot_[r] = r;
      nslots_ = nregs_;
      return;
    }
    constexpr uint32_t kNone = UINT32_MAX;
    slot_.assign(nregs_, kNone);
    nslots_ = 0;
    const auto keep = [&](uint32_t r) {
      if (slot_[r] == kNone) slot_[r] = nslots_++;
    };
    for (size_t i = 0; i < code_.instrs.size(); ++i) {
      const Instr& in = code_.instrs[i];
      if (in.guard != kNoReg) keep(in.guard);
      if (run_[i] == Run::all) {
        instr_regs(code_, in, keep, keep);
      } else if (run_[i] == Run::addresses) {
        const Operand* o = code_.ops(in);
        for (int k = 0; k < in.nops; ++k)  // cp.async also reads its source size
          if (o[k].kind == OperandKind::mem || in.op == Op::cp_async)
            operand_regs(code_, o[k], keep);
      }
    }
    for (uint32_t& s : slot_)
      if (s == kNone) s = nslots_;
    ++nslots_;
  }
  uint64_t sreg(const Warp& w, int lane, Sreg s) const {
    const uint32_t t = w.first_tid + uint32_t(lane);
    const Dim3& b = shape_.block;
    switch (s) {
      case Sreg::tid_x:
        return t % b.x;
      case Sreg::tid_y:
        return (t / b.x) % b.y;
      case Sreg::tid_z:
        return t / (b.x * b.y);
      case Sreg::ntid_x:
        return b.x;
      case Sreg::ntid_y:
        return b.y;
      case Sreg::ntid_z:
        return b.z;
      case Sreg::ctaid_x:
        return b_->ctaid.x;
      case Sreg::ctaid_y:
        return b_->ctaid.y;
      case Sreg::ctaid_z:
        return b_->ctaid.z;
      case Sreg::nctaid_x:
        return shape_.grid.x;
      case Sreg::nctaid_y:
        return shape_.grid.y;
      case Sreg::nctaid_z:
        return shape_.grid.z;
      case Sreg::laneid:
        return uint64_t(lane);
      case Sreg::warpid:
        return w.index;
      case Sreg::nwarpid:
        return nwarps_;
      case Sreg::smid:
        return b_->smid;
      case Sreg::nsmid:
        return uint64_t(cfg_.sms);
      case Sreg::clock:
        return uint32_t(clock_);
      case Sreg::clock64:
      case Sreg::globaltimer:
        return clock_;
      case Sreg::lanemask_eq:
        return uint32_t(1) << lane;
      case Sreg::lanemask_lt:
        return (uint32_t(1) << lane) - 1;
      case Sreg::lanemask_le:
        return uint32_t((uint64_t(2) << lane) - 1);
      case Sreg::lanemask_gt:
        return ~uint32_t((uint64_t(2) << lane) - 1);
      case Sreg::lanemask_ge:
        return ~((uint32_t(1) << lane) - 1);
      case Sreg::dynamic_smem_size:
        return shape_.dynamic_shared;
      case Sreg::total_smem_size:
        return shared_size_;
    }
    return 0;
  }
  // The address of a symbol operand (sym, or mem without a base register): an offset in the
  // param/shared/local space, or a global address.
  uint64_t sym_addr(const Operand& o) const {
    if ((o.space == Space::global || o.space == Space::const_) && o.index != kNoReg)
      return var_addr_[o.index] + uint64_t(o.value);
    return uint64_t(o.value);
  }
  // An operand's raw bits for a lane (registers as stored, immediates as decoded).
  uint64_t val(Warp& w, const Operand& o, int lane) {
    switch (o.kind) {
      case OperandKind::reg: {
        const uint64_t v = reg(w, o.index)[lane];
        return (o.flags & kNegate) ? !v : v;
      }
      case OperandKind::imm:
        return uint64_t(o.value);
      case OperandKind::sreg:
        return sreg(w, lane, Sreg(o.value));
      case OperandKind::sym:
        return sym_addr(o);
      default:
        return 0;
    }
  }
  // A source as an integer of type t (sign- or zero-extended).
  uint64_t ival(Warp& w, const Operand& o, int lane, Type t) {
    return int_norm(val(w, o, lane), int_type(t));
  }
  // Every operand's raw bits for the lanes of mask, as arrays indexed by lane (S[i] for
  // operand i): a register's own lane array, or scratch filled once per instruction.
  void sources(Warp& w, const Instr& in, const Operand* o, uint32_t mask, const uint64_t** S) {
    for (int i = 0; i < in.nops; ++i) {
      if (o[i].kind == OperandKind::reg && !(o[i].flags & kNegate)) {
        S[i] = reg(w, o[i].index);
        continue;
      }
      uint64_t* t = scratch_[i];
      if (o[i].kind == OperandKind::imm || o[i].kind == OperandKind::sym) {
        const uint64_t v = val(w, o[i], 0);
        for (int l = 0; l < kW; ++l) t[l] = v;
      } else {
        each(mask, [&](int l) { t[l] = val(w, o[i], l); });
      }
      S[i] = t;
    }
  }
  // A destination's lane array and register mask (a sink writes to scratch).
  struct Dst {
    uint64_t* p;
    uint64_t m;
    void put(int l, uint64_t v) const { p[l] = v & m; }
  };
  Dst dest(Warp& w, const Operand& o) {
    if (o.kind == OperandKind::reg) return {reg(w, o.index), regmask_[o.index]};
    return {sink_, 0};
  }
  void set(Warp& w, const Operand& o, int lane, uint64_t v) {
    if (o.kind == OperandKind::reg) reg(w, o.index)[lane] = v & regmask_[o.index];
  }

  // ---- memory -------------------------------------------------------------------------------

  // Resolves an access of n bytes at a (in `space`, generic resolved) to host bytes; Error
  // for an out-of-bounds or misaligned access.
  uint8_t* access(Warp& w, int lane, Space space, uint64_t a, uint32_t n, uint32_t align,
                  bool write) {
    if (space == Space::generic) {
      if (a >= kSharedWindow && a < kSharedWindow + kWindowSize) {
        space = Space::shared;
        a -= kSharedWindow;
      } else if (a >= kLocalWindow && a < kLocalWindow + kWindowSize) {
        space = Space::local;
        a -= kLocalWindow;
      } else {
        space = Space::global;
      }
    }
    // align is a power of two (PTX's sizes and vectors of 2, 4 or 8): a mask, not a division.
    if ((a & (align - 1)) != 0)
      fail(w, lane,
           fmt::format("misaligned {}-byte {} at {} address {:#x}", n, write ? "write" : "read",
                       space_name(space), a));
    switch (space) {
      case Space::shared:
        if (a + n <= shared_size_ && a + n >= a) {
          record(lane, space, a, n, write);
          return b_->shared.data() + a;
        }
        break;
      case Space::local:
        if (a + n <= code_.local_bytes && a + n >= a) {
          const uint64_t t = w.first_tid + uint32_t(lane);
          record(lane, space, a, n, write);
          return b_->local.data() + size_t(t) * code_.local_bytes + a;
        }
        break;
      case Space::param:
        if (!write && a + n <= params_.size() && a + n >= a) {
          record(lane, space, a, n, write);
          return params_.data() + a;
        }
        break;
      default:
        if (mem_.contains(a, n)) {
          record(lane, space == Space::const_ ? space : Space::global, a, n, write);
          return mem_.data(a);
        }
        break;
    }
    fail(w, lane,
         fmt::format("out-of-bounds {}-byte {} at {} address {:#x}", n, write ? "write" : "read",
                     space_name(space), a));
  }
  // A timing-only step's accesses of n bytes (n-aligned) at operand m's address in each lane
  // of `lanes`, recorded as a group. The checks are made once, over the lanes' lowest and
  // highest addresses: n bytes at each lie inside one allocation (or shared memory) when all of
  // [lowest, highest + n) does. When that fails, or the operand or the space needs resolving
  // per lane, access() takes the lanes one by one (and names the lane at fault).
  void access_lanes(Warp& w, uint32_t lanes, Space space, const Operand& m, uint32_t n,
                    bool write) {
    auto one_by_one = [&] {
      each(lanes, [&](int l) { access(w, l, space, addr(w, m, l), n, n, write); });
    };
    if (!lanes || m.index == kNoReg || m.space != Space::generic ||
        (space != Space::shared && space != Space::global))
      return one_by_one();
    const uint64_t* r = reg(w, m.index);
    const uint64_t off = uint64_t(m.value);
    uint64_t lo = UINT64_MAX, hi = 0, bits = 0;
    for (uint32_t k = lanes; k; k &= k - 1) {
      const uint64_t a = r[__builtin_ctz(k)] + off;
      lo = std::min(lo, a);
      hi = std::max(hi, a);
      bits |= a;
    }
    const bool inside = hi + n >= hi && (space == Space::shared ? hi + n <= shared_size_
                                                                : mem_.contains(lo, hi + n - lo));
    if ((bits & (n - 1)) != 0 || !inside) return one_by_one();
    if (!acc_) return;
    acc_->groups.push_back({r, off, lanes, n, space, write});
    if (!acc_->refs.empty()) acc_->expand();  // the step's earlier accesses went lane by lane
  }
  void record(int lane, Space space, uint64_t a, uint32_t n, bool write) {
    if (!acc_) return;
    acc_->expand();  // the groups before this access, lane by lane, then it
    // Field by field in place: a MemRef built on the stack and copied as a whole stalls the
    // host on the copy's load of the fields just stored (a failed store-to-load forwarding).
    MemRef& r = acc_->refs.emplace_back();
    r.addr = a;
    r.bytes = n;
    r.lane = uint8_t(lane);
    r.space = space;
    r.write = write;
  }
  static const char* space_name(Space s) {
    switch (s) {
      case Space::shared:
        return "shared";
      case Space::local:
        return "local";
      case Space::param:
        return "param";
      case Space::const_:
        return "const";
      default:
        return "global";
    }
  }
  // The address of a mem operand for a lane: [base + offset] or a symbol.
  uint64_t addr(Warp& w, const Operand& o, int lane) {
    if (o.index == kNoReg || o.space != Space::generic) return sym_addr(o);
    return reg(w, o.index)[lane] + uint64_t(o.value);
  }
  static uint64_t load_bytes(const uint8_t* p, uint32_t n) {
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    return v;
  }
  static void store_bytes(uint8_t* p, uint64_t v, uint32_t n) { std::memcpy(p, &v, n); }

  // ---- the block loop ----------------------------------------------------------------------

  // Reschedules a warp: the runnable threads at the lowest PC become active.
  void reschedule(Warp& w) {
    const uint32_t runnable = w.live & ~w.waiting;
    w.active = 0;
    w.merge_pc = UINT32_MAX;
    if (!runnable) return;
    uint32_t lo = UINT32_MAX;
    each(runnable, [&](int l) { lo = std::min(lo, w.pcs[l]); });
    each(runnable, [&](int l) {
      if (w.pcs[l] == lo)
        w.active |= uint32_t(1) << l;
      else
        w.merge_pc = std::min(w.merge_pc, w.pcs[l]);
    });
    w.pc = lo;
  }
  // Active threads leave pc for their own PCs (a divergence, a barrier, an exit).
  void spill(Warp& w) {
    each(w.active, [&](int l) { w.pcs[l] = w.pc; });
  }

  bool release_barriers() {
    uint32_t live = 0;
    for (const Warp& w : b_->warps) live += uint32_t(__builtin_popcount(w.live));
    bool any = false;
    for (size_t id = 0; id < b_->bars.size(); ++id) {
      Barrier& b = b_->bars[id];
      if (!b.arrived) continue;
      const uint32_t need = b.expected ? b.expected : live;
      if (b.arrived < need) continue;
      b = Barrier{};
      for (Warp& w : b_->warps) {
        uint32_t freed = 0;
        each(w.waiting, [&](int l) {
          if (w.bar_id[l] == id) freed |= uint32_t(1) << l;
        });
        if (!freed) continue;
        w.waiting &= ~freed;
        spill(w);
        reschedule(w);
        any = true;
      }
    }
    return any;
  }

  [[noreturn]] void deadlock() const {
    std::string msg;
    for (size_t id = 0; id < b_->bars.size(); ++id) {
      const Barrier& b = b_->bars[id];
      if (!b.arrived) continue;
      std::string waiting;
      for (const Warp& w : b_->warps)
        if (w.waiting) {
          bool here = false;
          each(w.waiting, [&](int l) { here |= w.bar_id[l] == id; });
          if (here) waiting += fmt::format("{}{}", waiting.empty() ? "" : ", ", w.index);
        }
      uint32_t live = 0;
      for (const Warp& w : b_->warps) live += uint32_t(__builtin_popcount(w.live));
      msg += fmt::format(
          "{}{}: {}: barrier {} cannot complete: {} of {} threads arrived (warps waiting: {}); "
          "the other threads wait at another barrier or never reach it",
          msg.empty() ? "" : "; ", where(b.pc), block_name(), id, b.arrived,
          b.expected ? b.expected : live, waiting);
    }
    throw Error(msg);
  }

  // ---- one warp ----------------------------------------------------------------------------

  // Executes the warp's next instruction for its active threads (the guard applied); returns
  // the threads that executed it. Falling off the end of the kernel is an exit.
  uint32_t issue(Warp& w) {
    const uint32_t n = uint32_t(code_.instrs.size());
    if (w.pc >= n) {
      w.live &= ~w.active;
      reschedule(w);
      return 0;
    }
    const Instr& in = code_.instrs[w.pc];
    uint32_t exec = w.active;
    if (in.guard != kNoReg) {
      const uint64_t* p = reg(w, in.guard);
      uint32_t g = 0;
      each(exec, [&](int l) {
        if ((p[l] != 0) != in.guard_neg) g |= uint32_t(1) << l;
      });
      exec = g;
    }
    if (++stats_.warp_instructions > cfg_.max_instructions)
      throw Error(
          fmt::format("{}: {}, warp {}: the run executed more than limits.max_instructions = {} "
                      "warp-instructions (raise it with --max-instructions N; does the kernel loop "
                      "forever?)",
                      where(w.pc), block_name(), w.index, cfg_.max_instructions));
    ++w.executed;
    ++stats_.by_class[cls_[w.pc]];
    stats_.thread_instructions += uint32_t(__builtin_popcount(exec));
    // Reaching the PC where other threads wait merges them in (reconvergence).
    if (execute(w, in, exec) && ++w.pc == w.merge_pc) {
      spill(w);
      reschedule(w);
    }
    return exec;
  }

  // Executes one instruction for the threads in exec; false when it moved the PC itself.
  bool execute(Warp& w, const Instr& in, uint32_t exec) {
    const Operand* o = code_.ops(in);
    switch (in.op) {
      case Op::bra: {
        const uint32_t target = uint32_t(o[0].value);
        if (exec == w.active) {
          w.pc = target;
          if (w.active != (w.live & ~w.waiting)) {
            spill(w);
            reschedule(w);
          }
        } else if (exec) {
          each(w.active, [&](int l) { w.pcs[l] = (exec >> l) & 1 ? target : w.pc + 1; });
          reschedule(w);
        } else {
          return true;
        }
        return false;
      }
      case Op::ret:
      case Op::exit: {
        if (!exec) return true;
        w.live &= ~exec;
        const uint32_t rest = w.active & ~exec;
        each(rest, [&](int l) { w.pcs[l] = w.pc + 1; });
        reschedule(w);
        return false;
      }
      case Op::trap:
        if (exec) fail(w, __builtin_ctz(exec), "trap");
        return true;
      case Op::bar_sync:
      case Op::bar_arrive: {
        if (!exec) return true;
        const int l0 = __builtin_ctz(exec);
        const uint32_t id = uint32_t(val(w, o[0], l0));
        if (id >= b_->bars.size()) fail(w, l0, fmt::format("barrier {} (0 to 15)", id));
        Barrier& b = b_->bars[id];
        const uint32_t expected = in.nops > 1 ? uint32_t(val(w, o[1], l0)) : 0;
        if (!b.arrived) {
          b.pc = w.pc;
          b.expected = expected;
        }
        b.arrived += uint32_t(__builtin_popcount(exec));
        if (in.op == Op::bar_arrive) return true;
        each(exec, [&](int l) { w.bar_id[l] = uint8_t(id); });
        w.waiting |= exec;
        each(w.active, [&](int l) { w.pcs[l] = w.pc + 1; });
        reschedule(w);
        return false;
      }
      case Op::bar_warp_sync:
      case Op::membar:
      case Op::fence:
      case Op::nanosleep:
      case Op::brkpt:
      case Op::cp_async_commit:
      case Op::cp_async_wait_group:
      case Op::cp_async_wait_all:
        return true;
      default:
        break;
    }
    if (exec && run_[w.pc] != Run::none) data_op(w, in, o, exec);
    return true;
  }

  void data_op(Warp& w, const Instr& in, const Operand* o, uint32_t exec);
  void alu(Warp& w, const Instr& in, const Operand* o, uint32_t exec);
  void convert(Warp& w, const Instr& in, const Operand* o, uint32_t exec);
  void compare_op(Warp& w, const Instr& in, const Operand* o, uint32_t exec);
  void memory_op(Warp& w, const Instr& in, const Operand* o, uint32_t exec);
  void atomic_op(Warp& w, const Instr& in, const Operand* o, uint32_t exec);
  void warp_op(Warp& w, const Instr& in, const Operand* o, uint32_t exec);
  void tensor_op(Warp& w, const Instr& in, const Operand* o, uint32_t exec);

  const Module& m_;
  const Kernel& k_;
  const Code& code_;
  LaunchShape shape_;
  std::vector<uint8_t> params_;  // a copy: the access path hands out writable bytes
  DeviceMemory& mem_;
  ExecConfig cfg_;
  uint32_t nregs_;
  std::vector<uint32_t> slot_;  // per register: its row in Block::regs (assign_slots)
  uint32_t nslots_ = 0;
  uint32_t nwarps_ = 0;
  std::vector<uint64_t> regmask_;
  std::vector<uint8_t> cls_;
  // What a step does of each instruction's data: everything, its memory accesses' addresses
  // only (a load or store outside a timing-only run's slice), or nothing (arithmetic outside
  // it).
  enum class Run : uint8_t { all, addresses, none };
  std::vector<Run> run_;
  std::vector<uint64_t> var_addr_;
  std::vector<Block> blocks_;  // by slot
  Block* b_ = nullptr;         // the block being stepped
  uint64_t shared_size_ = 0;
  uint64_t clock_ = 0;            // the SM cycle of the step (%clock64)
  StepAccesses* acc_ = nullptr;   // where a timed step records its accesses
  uint64_t scratch_[8][kW] = {};  // sources(): operands that are not plain registers
  uint64_t sink_[kW] = {};        // dest() of `_`
  ExecStats stats_;
};

void Executor::Impl::data_op(Warp& w, const Instr& in, const Operand* o, uint32_t exec) {
  switch (in.op) {
    case Op::ld:
    case Op::st:
    case Op::cp_async:
      return memory_op(w, in, o, exec);
    case Op::atom:
    case Op::red:
      return atomic_op(w, in, o, exec);
    case Op::cvt:
    case Op::cvta:
      return convert(w, in, o, exec);
    case Op::setp:
    case Op::set:
    case Op::selp:
    case Op::slct:
      return compare_op(w, in, o, exec);
    case Op::shfl:
    case Op::vote:
    case Op::match:
    case Op::activemask:
      return warp_op(w, in, o, exec);
    case Op::ldmatrix:
    case Op::mma:
    case Op::wmma_load:
    case Op::wmma_mma:
    case Op::wmma_store:
      return tensor_op(w, in, o, exec);
    case Op::mov: {
      if (o[1].kind == OperandKind::vec) {  // pack
        const Operand* e = code_.elems(o[1]);
        const int bits = width(in.type) / o[1].count;
        each(exec, [&](int l) {
          uint64_t v = 0;
          for (int i = 0; i < o[1].count; ++i) v |= zext(val(w, e[i], l), bits) << (i * bits);
          set(w, o[0], l, v);
        });
      } else if (o[0].kind == OperandKind::vec) {  // unpack
        const Operand* e = code_.elems(o[0]);
        const int bits = width(in.type) / o[0].count;
        each(exec, [&](int l) {
          const uint64_t v = val(w, o[1], l);
          for (int i = 0; i < o[0].count; ++i) set(w, e[i], l, zext(v >> (i * bits), bits));
        });
      } else {
        const uint64_t* S[8];
        sources(w, in, o, exec, S);
        each(exec, [&](int l) { set(w, o[0], l, S[1][l]); });
      }
      return;
    }
    default:
      return alu(w, in, o, exec);
  }
}

void Executor::Impl::alu(Warp& w, const Instr& in, const Operand* o, uint32_t exec) {
  const uint64_t* S[8];
  sources(w, in, o, exec, S);
  const Dst D0 = dest(w, o[0]);
  const Type t = in.type;
  const bool ftz = in.flags & kFtz, sat = in.flags & kSat;
  const Rnd r = frnd(in.rnd);
  const Op op = in.op;
  if (t == Type::f32) {
    each(exec, [&](int l) {
      const float a = F(S[1][l]);
      const float b = in.nops > 2 ? F(S[2][l]) : 0.0f;
      float d = 0;
      switch (op) {
        case Op::add:
          d = add_f32(a, b, r, ftz, sat);
          break;
        case Op::sub:
          d = sub_f32(a, b, r, ftz, sat);
          break;
        case Op::mul:
          d = mul_f32(a, b, r, ftz, sat);
          break;
        case Op::mad:
        case Op::fma:
          d = fma_f32(a, b, F(S[3][l]), r, ftz, sat);
          break;
        case Op::div:
          d = (in.flags & kApprox) ? div_approx_f32(a, b, ftz)
              : (in.flags & kFull) ? div_full_f32(a, b, ftz)
                                   : div_f32(a, b, r, ftz);
          break;
        case Op::min:
          d = min_f32(a, b, false, ftz);
          break;
        case Op::max:
          d = max_f32(a, b, false, ftz);
          break;
        case Op::abs:
          d = f32_from(f32_bits(ftz ? ftz_f32(a) : a) & 0x7fffffffu);
          break;
        case Op::neg:
          d = f32_from(f32_bits(ftz ? ftz_f32(a) : a) ^ 0x80000000u);
          break;
        case Op::copysign:
          d = f32_from((f32_bits(b) & 0x7fffffffu) | (f32_bits(a) & 0x80000000u));
          break;
        case Op::rcp:
          d = (in.flags & kApprox) ? rcp_approx_f32(a, ftz) : rcp_f32(a, r, ftz);
          break;
        case Op::sqrt:
          d = (in.flags & kApprox) ? sqrt_approx_f32(a, ftz) : sqrt_f32(a, r, ftz);
          break;
        case Op::rsqrt:
          d = rsqrt_approx_f32(a, ftz);
          break;
        case Op::ex2:
          d = ex2_approx_f32(a, ftz);
          break;
        case Op::lg2:
          d = lg2_approx_f32(a, ftz);
          break;
        case Op::sin:
          d = sin_approx_f32(a, ftz);
          break;
        case Op::cos:
          d = cos_approx_f32(a, ftz);
          break;
        case Op::tanh:
          d = tanh_approx_f32(a);
          break;
        default:
          break;
      }
      D0.put(l, B(d));
    });
    return;
  }
  if (t == Type::f64) {
    each(exec, [&](int l) {
      const double a = D(S[1][l]);
      const double b = in.nops > 2 ? D(S[2][l]) : 0.0;
      double d = 0;
      switch (op) {
        case Op::add:
          d = add_f64(a, b, r);
          break;
        case Op::sub:
          d = sub_f64(a, b, r);
          break;
        case Op::mul:
          d = mul_f64(a, b, r);
          break;
        case Op::mad:
        case Op::fma:
          d = fma_f64(a, b, D(S[3][l]), r);
          break;
        case Op::div:
          d = div_f64(a, b, r);
          break;
        case Op::min:
          d = min_f64(a, b);
          break;
        case Op::max:
          d = max_f64(a, b);
          break;
        case Op::abs:
          d = f64_from(f64_bits(a) & ~(uint64_t(1) << 63));
          break;
        case Op::neg:
          d = f64_from(f64_bits(a) ^ (uint64_t(1) << 63));
          break;
        case Op::copysign:
          d = f64_from((f64_bits(b) & ~(uint64_t(1) << 63)) | (f64_bits(a) & (uint64_t(1) << 63)));
          break;
        case Op::rcp:
          d = (in.flags & kApprox) ? rcp_approx_ftz_f64(a) : rcp_f64(a, r);
          break;
        case Op::sqrt:
          d = sqrt_f64(a, r);
          break;
        case Op::rsqrt:
          d = rsqrt_approx_f64(a);
          break;
        default:
          break;
      }
      D0.put(l, B(d));
    });
    return;
  }
  if (is_half(t)) {
    const bool bf = t == Type::bf16 || t == Type::bf16x2;
    const bool x2 = t == Type::f16x2 || t == Type::bf16x2;
    const bool relu = in.flags & kRelu;
    each(exec, [&](int l) {
      const uint32_t a = uint32_t(S[1][l]);
      const uint32_t b = in.nops > 2 ? uint32_t(S[2][l]) : 0;
      const uint32_t c = in.nops > 3 ? uint32_t(S[3][l]) : 0;
      uint32_t d = 0;
      switch (op) {
        case Op::add:
          d = bf ? (x2 ? add_bf16x2(a, b) : add_bf16(uint16_t(a), uint16_t(b)))
                 : (x2 ? add_f16x2(a, b, ftz, sat) : add_f16(uint16_t(a), uint16_t(b), ftz, sat));
          break;
        case Op::sub:
          d = bf ? (x2 ? sub_bf16x2(a, b) : sub_bf16(uint16_t(a), uint16_t(b)))
                 : (x2 ? sub_f16x2(a, b, ftz, sat) : sub_f16(uint16_t(a), uint16_t(b), ftz, sat));
          break;
        case Op::mul:
          d = bf ? (x2 ? mul_bf16x2(a, b) : mul_bf16(uint16_t(a), uint16_t(b)))
                 : (x2 ? mul_f16x2(a, b, ftz, sat) : mul_f16(uint16_t(a), uint16_t(b), ftz, sat));
          break;
        case Op::mad:
        case Op::fma:
          d = bf ? (x2 ? fma_bf16x2(a, b, c) : fma_bf16(uint16_t(a), uint16_t(b), uint16_t(c)))
                 : (x2 ? fma_f16x2(a, b, c, ftz, sat)
                       : fma_f16(uint16_t(a), uint16_t(b), uint16_t(c), ftz, sat));
          break;
        case Op::min:
          d = bf ? (x2 ? min_bf16x2(a, b) : min_bf16(uint16_t(a), uint16_t(b)))
                 : (x2 ? min_f16x2(a, b, false, ftz)
                       : min_f16(uint16_t(a), uint16_t(b), false, ftz));
          break;
        case Op::max:
          d = bf ? (x2 ? max_bf16x2(a, b) : max_bf16(uint16_t(a), uint16_t(b)))
                 : (x2 ? max_f16x2(a, b, false, ftz)
                       : max_f16(uint16_t(a), uint16_t(b), false, ftz));
          break;
        case Op::abs:
          d = bf ? (x2 ? abs_bf16x2(a) : abs_bf16(uint16_t(a)))
                 : (x2 ? abs_f16x2(a, ftz) : abs_f16(uint16_t(a), ftz));
          break;
        case Op::neg:
          d = bf ? (x2 ? neg_bf16x2(a) : neg_bf16(uint16_t(a)))
                 : (x2 ? neg_f16x2(a, ftz) : neg_f16(uint16_t(a), ftz));
          break;
        default:
          break;
      }
      if (relu) d = x2 ? relu32(d, bf) : relu16(uint16_t(d), bf);
      D0.put(l, d);
    });
    return;
  }
  // Integers and bits.
  const IntType it = int_type(t);
  const int wd = width(t);
  const bool sgn = is_signed(t);
  const int sh = 64 - wd;  // the type's value, sign- or zero-extended from its width
  const auto norm = [sgn, sh](uint64_t x) {
    return sgn ? uint64_t(int64_t(x << sh) >> sh) : (x << sh) >> sh;
  };
  const MulMode mm = MulMode(in.mode);
  if (t == Type::pred) {
    each(exec, [&](int l) {
      const bool a = S[1][l] != 0;
      const bool b = in.nops > 2 && S[2][l] != 0;
      bool d = false;
      switch (op) {
        case Op::and_:
          d = a && b;
          break;
        case Op::or_:
          d = a || b;
          break;
        case Op::xor_:
          d = a != b;
          break;
        default:  // not
          d = !a;
          break;
      }
      D0.put(l, d);
    });
    return;
  }
  each(exec, [&](int l) {
    const uint64_t a = norm(S[1][l]);
    uint64_t d = 0;
    switch (op) {
      case Op::add:
      case Op::sub: {
        const uint64_t b = norm(S[2][l]);
        if (sat) {
          const int64_t s = op == Op::add ? int64_t(a) + int64_t(b) : int64_t(a) - int64_t(b);
          d = uint64_t(s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : s));
        } else {
          d = op == Op::add ? a + b : a - b;
        }
        break;
      }
      case Op::mul:
      case Op::mad: {
        const uint64_t b = norm(S[2][l]);
        uint64_t p = 0;
        if (mm == MulMode::wide) {
          p = sgn ? uint64_t(int64_t(a) * int64_t(b)) : a * b;
        } else if (mm == MulMode::hi) {
          if (wd == 64)
            p = sgn ? uint64_t(mul_hi_s64(int64_t(a), int64_t(b))) : mul_hi_u64(a, b);
          else
            p = sgn ? uint64_t((int64_t(a) * int64_t(b)) >> wd) : (a * b) >> wd;
        } else {
          p = a * b;
        }
        if (op == Op::mad) {
          // mad.wide adds a double-width c.
          const Type wide =
              wd == 16 ? (sgn ? Type::s32 : Type::u32) : (sgn ? Type::s64 : Type::u64);
          const Type ct = mm == MulMode::wide ? wide : t;
          const uint64_t c = int_norm(S[3][l], int_type(ct));
          if (sat && mm == MulMode::hi) {
            d = uint64_t(int64_t(mad_hi_s32(int32_t(a), int32_t(b), int32_t(c), true)));
          } else {
            d = p + c;
          }
        } else {
          d = p;
        }
        break;
      }
      case Op::div:
        d = div_int(a, norm(S[2][l]), it);
        break;
      case Op::rem:
        d = rem_int(a, norm(S[2][l]), it);
        break;
      case Op::min:
        d = min_int(a, norm(S[2][l]), it);
        break;
      case Op::max:
        d = max_int(a, norm(S[2][l]), it);
        break;
      case Op::abs:
        d = abs_int(a, wd);
        break;
      case Op::neg:
        d = neg_int(a, wd);
        break;
      case Op::shl:
        d = isa::ptx::shl(a, uint32_t(S[2][l]), wd);
        break;
      case Op::shr:
        d = sgn ? shr_s(a, uint32_t(S[2][l]), wd) : shr_u(a, uint32_t(S[2][l]), wd);
        break;
      case Op::and_:
        d = a & norm(S[2][l]);
        break;
      case Op::or_:
        d = a | norm(S[2][l]);
        break;
      case Op::xor_:
        d = a ^ norm(S[2][l]);
        break;
      case Op::not_:
        d = ~a;
        break;
      case Op::cnot:
        d = zext(a, wd) == 0 ? 1 : 0;
        break;
      case Op::bfe:
        d = isa::ptx::bfe(a, uint32_t(S[2][l]), uint32_t(S[3][l]), wd, sgn);
        break;
      case Op::bfi:
        d = isa::ptx::bfi(a, norm(S[2][l]), uint32_t(S[3][l]), uint32_t(S[4][l]), wd);
        break;
      case Op::popc:
        d = isa::ptx::popc(a, wd);
        break;
      case Op::clz:
        d = isa::ptx::clz(a, wd);
        break;
      case Op::brev:
        d = isa::ptx::brev(a, wd);
        break;
      case Op::prmt:
        d = isa::ptx::prmt(uint32_t(a), uint32_t(S[2][l]), uint32_t(S[3][l]),
                           isa::ptx::PrmtMode(in.mode));
        break;
      case Op::dp4a:
        d = isa::ptx::dp4a(uint32_t(S[1][l]), uint32_t(S[2][l]), uint32_t(S[3][l]),
                           is_signed(in.type), is_signed(in.type2));
        break;
      case Op::dp2a:
        d = isa::ptx::dp2a(uint32_t(S[1][l]), uint32_t(S[2][l]), uint32_t(S[3][l]),
                           is_signed(in.type), is_signed(in.type2), DpHalf(in.mode) == DpHalf::hi);
        break;
      default:
        break;
    }
    D0.put(l, d);
  });
}

void Executor::Impl::convert(Warp& w, const Instr& in, const Operand* o, uint32_t exec) {
  const uint64_t* S[8];
  sources(w, in, o, exec, S);
  const Dst D0 = dest(w, o[0]);
  if (in.op == Op::cvta) {
    const bool to = in.flags & kToSpace;
    const uint64_t base = in.space == Space::shared  ? kSharedWindow
                          : in.space == Space::local ? kLocalWindow
                                                     : 0;
    each(exec, [&](int l) {
      const uint64_t a = S[1][l];
      D0.put(l, to ? a - base : a + base);
    });
    return;
  }
  const Type d = in.type, s = in.type2;
  const bool ftz = in.flags & kFtz, sat = in.flags & kSat;
  CvtMods mods;
  mods.ftz = ftz;
  mods.sat = sat;
  mods.relu = in.flags & kRelu;
  const Rnd r = frnd(in.rnd);
  const IRnd ir = irnd(in.rnd);
  const bool int_rnd = in.rnd >= Rounding::rni;
  if (d == Type::f16x2 || d == Type::bf16x2) {  // a to the upper half, b to the lower
    each(exec, [&](int l) {
      const float a = F(S[1][l]), b = F(S[2][l]);
      const auto cv = [&](float x) {
        return d == Type::f16x2 ? f32_to_f16(x, r, mods) : f32_to_bf16(x, r, mods);
      };
      D0.put(l, uint64_t(cv(b)) | uint64_t(cv(a)) << 16);
    });
    return;
  }
  each(exec, [&](int l) {
    const uint64_t raw = S[1][l];
    uint64_t v = 0;
    if (d == Type::tf32) {
      v = f32_to_tf32(F(raw), Rnd::rna, mods);
    } else if (!is_float(s) && !is_float(d)) {
      v = int_to_int(raw, int_type(s), int_type(d), sat);
    } else if (!is_float(s)) {
      const IntType st = int_type(s);
      switch (d) {
        case Type::f32:
          v = B(int_to_f32(raw, st, r, mods));
          break;
        case Type::f64:
          v = B(int_to_f64(raw, st, r));
          break;
        case Type::f16:
          v = int_to_f16(raw, st, r, mods);
          break;
        default:
          v = int_to_bf16(raw, st, r, mods);
          break;
      }
    } else if (!is_float(d)) {
      const IntType dt = int_type(d);
      switch (s) {
        case Type::f64:
          v = f64_to_int(D(raw), dt, ir);
          break;
        case Type::f16:
          v = f32_to_int(f16_to_f32(uint16_t(raw)), dt, ir, ftz);
          break;
        case Type::bf16:
          v = f32_to_int(bf16_to_f32(uint16_t(raw)), dt, ir, ftz);
          break;
        default:
          v = f32_to_int(F(raw), dt, ir, ftz);
          break;
      }
    } else if (s == d) {
      if (d == Type::f32) {
        float x = F(raw);
        if (int_rnd) {
          x = round_int_f32(x, ir, ftz, sat);
        } else {
          if (ftz) x = ftz_f32(x);
          if (sat) x = sat_f32(x);
        }
        v = B(canon_f32(x));
      } else if (d == Type::f64) {
        double x = D(raw);
        if (int_rnd) {
          x = round_int_f64(x, ir, sat);
        } else if (sat) {
          x = std::isnan(x) ? 0.0 : std::min(1.0, std::max(0.0, x));
        }
        v = B(x);
      } else if (int_rnd) {  // f16/bf16 to an integral value of the same type (exact)
        const bool bf = d == Type::bf16;
        const float x = round_int_f32(bf ? bf16_to_f32(uint16_t(raw)) : f16_to_f32(uint16_t(raw)),
                                      ir, false, sat);
        v = bf ? f32_to_bf16(x) : f32_to_f16(x);
      } else {
        v = raw;  // f16 to f16 without integer rounding: the value is already one
      }
    } else {
      switch (s) {
        case Type::f32: {
          const float x = F(raw);
          v = d == Type::f64   ? B(f32_to_f64(x, mods))
              : d == Type::f16 ? uint64_t(f32_to_f16(x, r, mods))
                               : uint64_t(f32_to_bf16(x, r, mods));
          break;
        }
        case Type::f64: {
          const double x = D(raw);
          v = d == Type::f32   ? B(f64_to_f32(x, r, mods))
              : d == Type::f16 ? uint64_t(f64_to_f16(x, r, mods))
                               : uint64_t(f64_to_bf16(x, r, mods));
          break;
        }
        case Type::f16:
          v = d == Type::f32   ? B(f16_to_f32(uint16_t(raw), ftz))
              : d == Type::f64 ? B(f16_to_f64(uint16_t(raw)))
                               : uint64_t(f16_to_bf16(uint16_t(raw), r, mods));
          if (d == Type::f32 && sat) v = B(sat_f32(F(v)));
          break;
        default:  // bf16
          v = d == Type::f32   ? B(bf16_to_f32(uint16_t(raw), ftz))
              : d == Type::f64 ? B(bf16_to_f64(uint16_t(raw)))
                               : uint64_t(bf16_to_f16(uint16_t(raw), r, mods));
          if (d == Type::f32 && sat) v = B(sat_f32(F(v)));
          break;
      }
    }
    D0.put(l, v);
  });
}

void Executor::Impl::compare_op(Warp& w, const Instr& in, const Operand* o, uint32_t exec) {
  const uint64_t* S[8];
  sources(w, in, o, exec, S);
  const Dst D0 = dest(w, o[0]);
  const Dst D1 = dest(w, o[1]);
  if (in.op == Op::selp) {
    each(exec, [&](int l) { D0.put(l, S[3][l] ? S[1][l] : S[2][l]); });
    return;
  }
  if (in.op == Op::slct) {
    const bool ftz = in.flags & kFtz;
    each(exec, [&](int l) {
      const uint64_t c = S[3][l];
      bool ge = false;
      if (in.type2 == Type::f32) {
        const float f = ftz ? ftz_f32(F(c)) : F(c);
        ge = f >= 0.0f;
      } else {
        ge = int32_t(c) >= 0;
      }
      D0.put(l, ge ? S[1][l] : S[2][l]);
    });
    return;
  }
  const bool setp = in.op == Op::setp;
  const Type t = setp ? in.type : in.type2;
  const int a_op = setp ? 2 : 1;
  const bool has_c = in.bop != BoolOp::none;
  const int c_op = a_op + 2;
  const bool ftz = in.flags & kFtz;
  // The comparison of one lane (of one half for .f16x2/.bf16x2).
  auto cmp = [&](uint64_t a, uint64_t b, int half) -> bool {
    switch (t) {
      case Type::f32: {
        float x = F(a), y = F(b);
        if (ftz) {
          x = ftz_f32(x);
          y = ftz_f32(y);
        }
        return compare(in.cmp, x, y);
      }
      case Type::f64:
        return compare(in.cmp, D(a), D(b));
      case Type::f16:
      case Type::f16x2:
      case Type::bf16:
      case Type::bf16x2: {
        const bool bf = t == Type::bf16 || t == Type::bf16x2;
        return compare(in.cmp, half_val(uint16_t(a >> (16 * half)), bf),
                       half_val(uint16_t(b >> (16 * half)), bf));
      }
      default:
        return compare_int(in.cmp, int_norm(a, int_type(t)), int_norm(b, int_type(t)),
                           is_signed(t));
    }
  };
  const bool x2 = t == Type::f16x2 || t == Type::bf16x2;
  each(exec, [&](int l) {
    const uint64_t a = S[a_op][l], b = S[a_op + 1][l];
    const bool c = has_c ? S[c_op][l] != 0 : false;
    const bool r0 = cmp(a, b, 0);
    if (setp) {
      if (x2) {
        D0.put(l, combine(in.bop, r0, c));
        D1.put(l, combine(in.bop, cmp(a, b, 1), c));
      } else {
        D0.put(l, combine(in.bop, r0, c));
        D1.put(l, combine(in.bop, !r0, c));
      }
    } else {
      const bool r = combine(in.bop, r0, c);
      D0.put(l, in.type == Type::f32 ? (r ? 0x3f800000u : 0u) : (r ? 0xffffffffu : 0u));
    }
  });
}

void Executor::Impl::memory_op(Warp& w, const Instr& in, const Operand* o, uint32_t exec) {
  const bool moves = run_[w.pc] == Run::all;
  if (in.op == Op::cp_async) {
    // Copied at issue: the program may read the destination only after a wait, and nothing
    // else writes the source meanwhile (docs/models/gpu.md).
    const uint32_t n = in.vec;
    if (!moves && !(in.flags & kSrcSize)) {  // timing only, every lane copies n bytes
      access_lanes(w, exec, Space::shared, o[0], n, true);
      access_lanes(w, exec, Space::global, o[1], n, false);
      return;
    }
    each(exec, [&](int l) {
      const uint32_t src_n =
          (in.flags & kSrcSize) ? std::min<uint32_t>(n, uint32_t(val(w, o[3], l))) : n;
      uint8_t* d = access(w, l, Space::shared, addr(w, o[0], l), n, n, true);
      if (src_n) {
        const uint8_t* s = access(w, l, Space::global, addr(w, o[1], l), src_n, n, false);
        if (moves) std::memmove(d, s, src_n);
      }
      if (moves) std::memset(d + src_n, 0, n - src_n);
    });
    return;
  }
  const bool load = in.op == Op::ld;
  const uint32_t size = type_bytes(in.type);
  const uint32_t n = size * in.vec;
  const Operand& m = o[load ? 1 : 0];
  const Operand& data = o[load ? 0 : 1];
  const Space space = m.space != Space::generic ? m.space : in.space;
  const bool sgn = is_signed(in.type);
  if (!moves) return access_lanes(w, exec, space, m, n, !load);
  each(exec, [&](int l) {
    uint8_t* p = access(w, l, space, addr(w, m, l), n, n, !load);
    if (!moves) return;
    if (in.vec == 1) {
      if (load) {
        uint64_t v = load_bytes(p, size);
        if (sgn) v = sext(v, int(size) * 8);
        set(w, data, l, v);
      } else {
        store_bytes(p, val(w, data, l), size);
      }
      return;
    }
    const Operand* e = code_.elems(data);
    for (int i = 0; i < in.vec; ++i) {
      if (load) {
        uint64_t v = load_bytes(p + i * size, size);
        if (sgn) v = sext(v, int(size) * 8);
        set(w, e[i], l, v);
      } else {
        store_bytes(p + i * size, e[i].kind == OperandKind::sink ? 0 : val(w, e[i], l), size);
      }
    }
  });
}

void Executor::Impl::atomic_op(Warp& w, const Instr& in, const Operand* o, uint32_t exec) {
  const bool red = in.op == Op::red;
  const Operand& m = o[red ? 0 : 1];
  const Operand* src = o + (red ? 1 : 2);
  const Type t = in.type;
  const uint32_t size = type_bytes(t);
  const int wd = int(size) * 8;
  const AtomOp aop = AtomOp(in.mode);
  const Space space = m.space != Space::generic ? m.space : in.space;
  // Lanes in ascending order, each read-modify-write whole before the next.
  each(exec, [&](int l) {
    uint8_t* p = access(w, l, space, addr(w, m, l), size, size, true);
    const uint64_t old = load_bytes(p, size);
    const uint64_t b = val(w, src[0], l);
    uint64_t d = old;
    switch (aop) {
      case AtomOp::add:
        d = t == Type::f32   ? B(add_f32(F(old), F(b)))
            : t == Type::f64 ? B(add_f64(D(old), D(b)))
                             : old + b;
        break;
      case AtomOp::inc:
        d = uint32_t(old) >= uint32_t(b) ? 0 : old + 1;
        break;
      case AtomOp::dec:
        d = (uint32_t(old) == 0 || uint32_t(old) > uint32_t(b)) ? b : old - 1;
        break;
      case AtomOp::min:
        d = min_int(old, b, int_type(t));
        break;
      case AtomOp::max:
        d = max_int(old, b, int_type(t));
        break;
      case AtomOp::cas:
        d = zext(old, wd) == zext(b, wd) ? val(w, src[1], l) : old;
        break;
      case AtomOp::exch:
        d = b;
        break;
      case AtomOp::and_:
        d = old & b;
        break;
      case AtomOp::or_:
        d = old | b;
        break;
      case AtomOp::xor_:
        d = old ^ b;
        break;
    }
    store_bytes(p, d, size);
    if (!red) set(w, o[0], l, is_signed(t) ? sext(old, wd) : old);
  });
}

void Executor::Impl::warp_op(Warp& w, const Instr& in, const Operand* o, uint32_t exec) {
  switch (in.op) {
    case Op::activemask:
      each(exec, [&](int l) { set(w, o[0], l, w.active); });
      return;
    case Op::vote: {
      const VoteMode mode = VoteMode(in.mode);
      uint32_t ballot = 0;
      each(exec, [&](int l) {
        if (val(w, o[1], l)) ballot |= uint32_t(1) << l;
      });
      each(exec, [&](int l) {
        const uint32_t mask = uint32_t(val(w, o[2], l)) & exec;
        const uint32_t b = ballot & mask;
        uint64_t d = 0;
        switch (mode) {
          case VoteMode::all:
            d = b == mask;
            break;
          case VoteMode::any:
            d = b != 0;
            break;
          case VoteMode::uni:
            d = b == 0 || b == mask;
            break;
          case VoteMode::ballot:
            d = b;
            break;
        }
        set(w, o[0], l, d);
      });
      return;
    }
    case Op::match: {
      uint64_t v[kW] = {};
      each(exec, [&](int l) { v[l] = zext(val(w, o[2], l), width(in.type)); });
      each(exec, [&](int l) {
        const uint32_t mask = uint32_t(val(w, o[3], l)) & exec;
        uint32_t same = 0;
        each(mask, [&](int j) {
          if (v[j] == v[l]) same |= uint32_t(1) << j;
        });
        if (MatchMode(in.mode) == MatchMode::any) {
          set(w, o[0], l, same);
        } else {
          const bool all = same == mask;
          set(w, o[0], l, all ? mask : 0);
          set(w, o[1], l, all);
        }
      });
      return;
    }
    default: {  // shfl.sync d|p, a, b, c, mask
      uint64_t a[kW] = {};
      each(w.active, [&](int l) { a[l] = val(w, o[2], l); });
      const ShflMode mode = ShflMode(in.mode);
      each(exec, [&](int l) {
        const uint32_t b = uint32_t(val(w, o[3], l)), c = uint32_t(val(w, o[4], l));
        const uint32_t bval = b & 0x1f, clamp = c & 0x1f, seg = (c >> 8) & 0x1f;
        const uint32_t lane = uint32_t(l);
        const uint32_t max_lane = (lane & seg) | (clamp & ~seg), min_lane = lane & seg;
        int64_t j = 0;
        bool ok = false;
        switch (mode) {
          case ShflMode::up:
            j = int64_t(lane) - bval;
            ok = j >= int64_t(max_lane);
            break;
          case ShflMode::down:
            j = int64_t(lane) + bval;
            ok = j <= int64_t(max_lane);
            break;
          case ShflMode::bfly:
            j = int64_t(lane ^ bval);
            ok = j <= int64_t(max_lane);
            break;
          case ShflMode::idx:
            j = int64_t(min_lane | (bval & ~seg));
            ok = j <= int64_t(max_lane);
            break;
        }
        if (!ok) j = l;
        set(w, o[0], l, a[j]);
        set(w, o[1], l, ok);
      });
      return;
    }
  }
}

void Executor::Impl::tensor_op(Warp& w, const Instr& in, const Operand* o, uint32_t exec) {
  if (exec != w.active || w.active != w.live)
    fail(w, __builtin_ctz(exec),
         fmt::format("{} needs every thread of the warp (active mask {:#010x})", op_name(in.op),
                     exec));
  // A vector operand's registers into a fragment (count registers per lane).
  auto gather = [&](const Operand& v, frag::WarpFrag& f) {
    const Operand* e = v.kind == OperandKind::vec ? code_.elems(v) : &v;
    const int cnt = v.kind == OperandKind::vec ? v.count : 1;
    for (int l = 0; l < kW; ++l)
      for (int i = 0; i < cnt; ++i) f.r[l][i] = uint32_t(val(w, e[i], l));
  };
  auto scatter = [&](const Operand& v, const frag::WarpFrag& f) {
    const Operand* e = v.kind == OperandKind::vec ? code_.elems(v) : &v;
    const int cnt = v.kind == OperandKind::vec ? v.count : 1;
    for (int l = 0; l < kW; ++l)
      for (int i = 0; i < cnt; ++i) set(w, e[i], l, f.r[l][i]);
  };
  const frag::MmaTypes types{elem(in.type2), elem(in.type3), elem(in.type4), elem(in.type)};
  switch (in.op) {
    case Op::mma: {
      frag::WarpFrag a, b, c, d;
      gather(o[1], a);
      gather(o[2], b);
      gather(o[3], c);
      const frag::MmaShape s = in.shape == Shape::m16n8k8    ? frag::MmaShape::m16n8k8
                               : in.shape == Shape::m16n8k16 ? frag::MmaShape::m16n8k16
                                                             : frag::MmaShape::m16n8k32;
      frag::mma_sync(s, types, a, b, c, d);
      scatter(o[0], d);
      return;
    }
    case Op::wmma_mma: {
      frag::WarpFrag a, b, c, d;
      gather(o[1], a);
      gather(o[2], b);
      gather(o[3], c);
      frag::wmma_mma_sync(types, a, b, c, d);
      scatter(o[0], d);
      return;
    }
    case Op::ldmatrix: {
      const int num = in.vec;
      if (!cfg_.values) {  // timing only: fragments feed mma, which is skipped too
        access_lanes(w, uint32_t((uint64_t(1) << (8 * num)) - 1), in.space, o[1], 16, false);
        return;
      }
      uint16_t rows[kW][8] = {};
      for (int l = 0; l < 8 * num; ++l) {
        const uint8_t* p = access(w, l, in.space, addr(w, o[1], l), 16, 16, false);
        std::memcpy(rows[l], p, 16);
      }
      frag::WarpFrag d;
      frag::ldmatrix_distribute(num, in.flags & kTrans, rows, d);
      scatter(o[0], d);
      return;
    }
    default: {  // wmma.load / wmma.store
      const bool load = in.op == Op::wmma_load;
      const WmmaMatrix which = WmmaMatrix(in.mode);
      const frag::FragOperand fop = which == WmmaMatrix::a   ? frag::FragOperand::a
                                    : which == WmmaMatrix::b ? frag::FragOperand::b
                                                             : frag::FragOperand::c;
      const frag::ElemType et = elem(in.type2);
      const frag::FragShape fs = frag::wmma_frag_shape(fop, et);
      const int bits = frag::elem_bits(et);
      const uint32_t esize = uint32_t(bits / 8);
      const frag::WmmaLayout layout =
          (in.flags & kARow) ? frag::WmmaLayout::row : frag::WmmaLayout::col;
      const Operand& m = o[load ? 1 : 0];
      const Operand& v = o[load ? 0 : 1];
      frag::WarpFrag f;
      if (!load) gather(v, f);
      const int elems = fs.regs * fs.per_reg;
      for (int l = 0; l < kW; ++l) {
        const uint32_t stride = in.nops > 2 ? uint32_t(val(w, o[2], l)) : 16;
        const uint64_t base = addr(w, m, l);
        if (base % 32)
          fail(w, l, fmt::format("misaligned wmma tile at address {:#x} (32 bytes)", base));
        for (int i = 0; i < elems; ++i) {
          const frag::RowCol rc = frag::wmma_frag_elem(fop, l, i);
          const uint64_t a = base + frag::wmma_offset(layout, stride, rc.row, rc.col) * esize;
          uint8_t* p = access(w, l, in.space, a, esize, esize, !load);
          if (load)
            frag::frag_set(f, fs, bits, l, i, uint32_t(load_bytes(p, esize)));
          else
            store_bytes(p, frag::frag_get(f, fs, bits, l, i), esize);
        }
      }
      if (load) scatter(v, f);
      return;
    }
  }
}

Executor::Executor(const Module& m, const Kernel& k, const LaunchShape& shape,
                   const std::vector<uint8_t>& params, DeviceMemory& mem, const ExecConfig& cfg)
    : p_(std::make_unique<Impl>(m, k, shape, params, mem, cfg)) {}
Executor::~Executor() = default;
uint32_t Executor::warps_per_block() const {
  return p_->warps_per_block();
}
const ExecStats& Executor::stats() const {
  return p_->stats();
}
void Executor::start_block(uint32_t slot, uint64_t linear, uint32_t smid) {
  p_->start_block(slot, linear, smid);
}
bool Executor::can_issue(uint32_t slot, uint32_t warp) const {
  return p_->can_issue(slot, warp);
}
bool Executor::exited(uint32_t slot, uint32_t warp) const {
  return p_->exited(slot, warp);
}
uint32_t Executor::pc(uint32_t slot, uint32_t warp) const {
  return p_->pc(slot, warp);
}
Executor::Step Executor::step(uint32_t slot, uint32_t warp, uint64_t clock, StepAccesses* acc) {
  return p_->step(slot, warp, clock, acc);
}
bool Executor::release_barriers(uint32_t slot) {
  return p_->release(slot);
}
bool Executor::block_done(uint32_t slot) const {
  return p_->block_done(slot);
}
void Executor::deadlock(uint32_t slot) {
  p_->stuck(slot);
}

}  // namespace xpusim::gpu
