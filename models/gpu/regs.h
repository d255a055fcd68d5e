// Registers an instruction reads and writes, as the GPU model's analyses over a kernel's code
// see them (liveness and renaming in timing.cpp, the timing-only slice below).
#pragma once

#include <cstdint>
#include <vector>

#include "isa/ptx/module.h"

namespace xpusim::gpu {

// Destination operands of an instruction (the leading ones); the rest are sources.
inline int dest_count(const isa::ptx::Instr& in) {
  switch (in.op) {
    case isa::ptx::Op::st:
    case isa::ptx::Op::red:
    case isa::ptx::Op::bar_sync:
    case isa::ptx::Op::bar_arrive:
    case isa::ptx::Op::bar_warp_sync:
    case isa::ptx::Op::membar:
    case isa::ptx::Op::fence:
    case isa::ptx::Op::nanosleep:
    case isa::ptx::Op::brkpt:
    case isa::ptx::Op::trap:
    case isa::ptx::Op::bra:
    case isa::ptx::Op::ret:
    case isa::ptx::Op::exit:
    case isa::ptx::Op::cp_async:
    case isa::ptx::Op::cp_async_commit:
    case isa::ptx::Op::cp_async_wait_group:
    case isa::ptx::Op::cp_async_wait_all:
    case isa::ptx::Op::wmma_store:
      return 0;
    case isa::ptx::Op::setp:
    case isa::ptx::Op::shfl:
      return 2;
    case isa::ptx::Op::match:
      return in.mode == uint8_t(isa::ptx::MatchMode::all) ? 2 : 1;
    default:
      return 1;
  }
}

// Calls fn(register) for each register an operand names (vector elements, an address base).
// With a mutable code and operand, fn receives a reference to the stored index (renaming).
template <class CodeT, class OperandT, class Fn>
void operand_regs(CodeT& code, OperandT& o, Fn&& fn) {
  switch (o.kind) {
    case isa::ptx::OperandKind::reg:
      fn(o.index);
      return;
    case isa::ptx::OperandKind::vec: {
      auto* e = code.operands.data() + o.index;
      for (int i = 0; i < o.count; ++i)
        if (e[i].kind == isa::ptx::OperandKind::reg) fn(e[i].index);
      return;
    }
    case isa::ptx::OperandKind::mem:
      if (o.index != isa::ptx::kNoReg && o.space == isa::ptx::Space::generic) fn(o.index);
      return;
    default:
      return;
  }
}

// Sources (the guard included) and destinations of an instruction.
template <class Src, class Dst>
void instr_regs(const isa::ptx::Code& code, const isa::ptx::Instr& in, Src&& src, Dst&& dst) {
  const isa::ptx::Operand* o = code.ops(in);
  const int nd = dest_count(in);
  for (int i = 0; i < in.nops; ++i) {
    if (i < nd)
      operand_regs(code, o[i], dst);
    else
      operand_regs(code, o[i], src);
  }
  if (in.guard != isa::ptx::kNoReg) src(in.guard);
}

// The instructions a timing-only run must execute (1) for its control flow and addresses to be
// those of a run with values: every instruction whose result reaches, through registers, a
// guard, a branch, a barrier's operands, a memory address, or, through memory, a load that is
// itself needed (every store to the space of such a load is then needed, with its data). The
// rest (0) only occupy their pipes: a timing-only run skips their arithmetic, and a load or
// store outside the slice moves no data (its addresses are still taken and checked).
// Flow-insensitive over registers, so conservative.
std::vector<uint8_t> timing_slice(const isa::ptx::Code& code);

}  // namespace xpusim::gpu
