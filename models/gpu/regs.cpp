#include "models/gpu/regs.h"

namespace xpusim::gpu {

using namespace isa::ptx;

namespace {

// Whether instruction `in` writes memory of space s (or may: generic addresses).
bool writes_space(const Instr& in, Space s) {
  const bool store = in.op == Op::st || in.op == Op::red || in.op == Op::atom ||
                     in.op == Op::wmma_store || in.op == Op::cp_async;
  if (!store) return false;
  const Space w = in.op == Op::cp_async ? Space::shared : in.space;
  return s == Space::generic || w == Space::generic || w == s;
}

}  // namespace

std::vector<uint8_t> timing_slice(const Code& code) {
  const size_t n = code.instrs.size();
  // The instructions writing each register.
  std::vector<std::vector<uint32_t>> writers(code.regs.size());
  for (size_t i = 0; i < n; ++i)
    instr_regs(
        code, code.instrs[i], [](uint32_t) {},
        [&](uint32_t r) { writers[r].push_back(uint32_t(i)); });
  std::vector<uint8_t> needed(n, 0), reg(code.regs.size(), 0);
  std::vector<uint32_t> work;  // needed registers whose writers are still to be marked
  const auto need_reg = [&](uint32_t r) {
    if (!reg[r]) reg[r] = 1, work.push_back(r);
  };
  std::vector<uint8_t> space_read(size_t(Space::const_) + 1, 0);  // by a needed load
  std::vector<uint32_t> loads;  // needed loads whose space is still to be handled
  const auto need = [&](size_t i) {
    if (needed[i]) return;
    needed[i] = 1;
    const Instr& in = code.instrs[i];
    instr_regs(code, in, need_reg, [](uint32_t) {});
    if (in.op == Op::ld || in.op == Op::atom || in.op == Op::ldmatrix || in.op == Op::wmma_load)
      loads.push_back(uint32_t(i));
  };
  // Seeds: guards, control flow and barriers, addresses.
  for (size_t i = 0; i < n; ++i) {
    const Instr& in = code.instrs[i];
    if (in.guard != kNoReg) need_reg(in.guard);
    if (in.op == Op::bra || in.op == Op::bar_sync || in.op == Op::bar_arrive ||
        in.op == Op::bar_warp_sync)
      need(i);
    const Operand* o = code.ops(in);
    for (int k = 0; k < in.nops; ++k)
      if (o[k].kind == OperandKind::mem) operand_regs(code, o[k], need_reg);
    // cp.async's source size decides whether it reads global memory at all.
    if (in.op == Op::cp_async)
      for (int k = 0; k < in.nops; ++k) operand_regs(code, o[k], need_reg);
  }
  while (!work.empty() || !loads.empty()) {
    // Through registers: the writers of a needed register.
    while (!work.empty()) {
      const uint32_t r = work.back();
      work.pop_back();
      for (uint32_t i : writers[r]) need(i);
    }
    // Through memory: a needed load's space makes the stores to it needed (a kernel never
    // writes its params or constants).
    while (!loads.empty()) {
      const Space s = code.instrs[loads.back()].space;
      loads.pop_back();
      if (s == Space::param || s == Space::const_ || space_read[size_t(s)]) continue;
      space_read[size_t(s)] = 1;
      for (size_t j = 0; j < n; ++j)
        if (writes_space(code.instrs[j], s)) need(j);
    }
  }
  return needed;
}

}  // namespace xpusim::gpu
