#include "tests/fuzz/entries.h"

#include <stdexcept>

#include <fmt/format.h>

#include "compiler/ir/frontend.h"
#include "compiler/onnx/onnx.h"
#include "compiler/target.h"
#include "isa/davinci/program.h"
#include "isa/davinci/semantics.h"
#include "isa/program.h"
#include "isa/ptx/program.h"
#include "isa/tpu/program.h"
#include "models/core/config.h"
#include "models/core/error.h"
#include "models/core/machine.h"
#include "models/npu_davinci/params.h"
#include "models/tpu/check.h"
#include "models/tpu/params.h"

namespace xpusim::fuzz {
namespace {

std::string text_of(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

const isa::tpu::Program& tpu_program(const isa::Program& p) {
  return dynamic_cast<const isa::tpu::Program&>(p);
}

// The canonical assembly of p must assemble to p again, and print the same text again.
void check_disassembly(const isa::tpu::Program& p) {
  const std::string text = p.disassemble();
  std::unique_ptr<isa::Program> again;
  try {
    again = isa::find_isa("tpu").assemble(text, "disassembly");
  } catch (const Error& e) {
    throw std::logic_error(std::string("the disassembly does not assemble: ") + e.what());
  }
  if (tpu_program(*again).code != p.code)
    throw std::logic_error("assemble(disassemble(p)) differs from p");
  if (again->disassemble() != text)
    throw std::logic_error("the disassembly of the reassembled program differs");
}

// The model's static checks of every instruction and of the program's shape (what the
// machine checks before any SystemC process exists).
void validate(const isa::tpu::Program& p) {
  static const tpu::TpuParams params(load_arch("tpu_v4").values);
  const tpu::ProgramCheck check(params, p.code, "fuzz");
  check.instrs(0, p.code.size());
  check.core_lists("tpu_v4");
}

// A GPU program's text must read back to the same program: its disassembly (and its binary
// form) assembles to a program that prints the same text.
void check_gpu_program(const isa::ptx::Program& p) {
  const std::string text = p.disassemble();
  std::unique_ptr<isa::Program> again, decoded;
  try {
    again = isa::find_isa("gpu").assemble(text, "disassembly");
    decoded = isa::find_isa("gpu").decode(p.encode(), "encoded");
  } catch (const Error& e) {
    throw std::logic_error(std::string("the disassembly does not read back: ") + e.what());
  }
  if (again->disassemble() != text)
    throw std::logic_error("the disassembly of the reassembled program differs");
  if (decoded->disassemble() != text)
    throw std::logic_error("the disassembly of decode(encode(p)) differs");
  if (again->size() != p.size()) throw std::logic_error("the reassembled program's size differs");
}

bool same_kernel(const isa::davinci::Kernel& a, const isa::davinci::Kernel& b) {
  if (a.name != b.name || a.params.size() != b.params.size() || a.code != b.code) return false;
  for (size_t i = 0; i < a.params.size(); ++i)
    if (a.params[i].name != b.params[i].name || a.params[i].reg != b.params[i].reg) return false;
  return true;
}

// The canonical assembly of k must assemble to k again and print the same text; so must its
// binary form decode to k.
void check_davinci_disassembly(const isa::davinci::Kernel& k) {
  const std::string text = isa::davinci::disassemble(k);
  isa::davinci::Kernel again, decoded;
  try {
    again = isa::davinci::assemble(text, "disassembly");
    decoded = isa::davinci::decode(isa::davinci::encode(k), "encoded");
  } catch (const Error& e) {
    throw std::logic_error(std::string("the disassembly does not read back: ") + e.what());
  }
  if (!same_kernel(again, k)) throw std::logic_error("assemble(disassemble(k)) differs from k");
  if (isa::davinci::disassemble(again) != text)
    throw std::logic_error("the disassembly of the reassembled kernel differs");
  if (!same_kernel(decoded, k)) throw std::logic_error("decode(encode(k)) differs from k");
}

// What the DaVinci model checks of an instruction before its pipe runs it, for every
// instruction whose operands need no register value (all immediates): the operand rules
// (isa::davinci::check) and the bytes it reads and writes, within the ascend910 preset's
// buffers and global memory.
void validate_davinci(const isa::davinci::Kernel& k) {
  using isa::davinci::Op;
  static const davinci::DavinciParams params(load_arch("ascend910").values);
  const int64_t capacity[isa::davinci::kBufs] = {params.memory_bytes, params.l1_bytes,
                                                 params.l0a_bytes,    params.l0b_bytes,
                                                 params.l0c_bytes,    params.ub_bytes};
  std::vector<isa::davinci::Range> ranges;
  for (size_t pc = 0; pc < k.code.size(); ++pc) {
    const isa::davinci::Instr& in = k.code[pc];
    // Scalar ops and synchronisation: the scalar unit runs them without a check.
    if ((in.op <= Op::get_block_num && in.op != Op::ld_ub) || in.op == Op::end ||
        in.op == Op::set_flag || in.op == Op::wait_flag || in.op == Op::pipe_barrier ||
        in.op == Op::sync_all)
      continue;
    const isa::davinci::Val* vals[] = {&in.a,      &in.b,      &in.dst.at, &in.src0.at, &in.src1.at,
                                       &in.n0,     &in.n1,     &in.n2,     &in.n3,      &in.blk[0],
                                       &in.blk[1], &in.blk[2], &in.rep[0], &in.rep[1],  &in.rep[2]};
    bool immediate = true;
    for (const isa::davinci::Val* v : vals) immediate = immediate && v->reg < 0;
    if (!immediate) continue;
    const std::string who = fmt::format("fuzz.s:{}: {}", in.line, isa::davinci::op_name(in.op));
    isa::davinci::check(in, who);
    if (in.op == Op::img2col_cbuf_to_ca) continue;  // reads what set_fmatrix set at run time
    ranges.clear();
    isa::davinci::accesses(in, ranges, isa::davinci::kFullMask);
    for (const isa::davinci::Range& r : ranges)
      if (r.lo > r.hi || r.hi > uint64_t(capacity[size_t(r.buf)]))
        throw Error(fmt::format("{}: {} {}[{:#x}, {:#x}), outside its {} bytes", who,
                                r.write ? "writes" : "reads", isa::davinci::buf_name(r.buf), r.lo,
                                r.hi, capacity[size_t(r.buf)]));
  }
}

}  // namespace

void workload(const uint8_t* data, size_t size) {
  compiler::parse_workload(text_of(data, size), "fuzz.yaml");
}

void arch(const uint8_t* data, size_t size) {
  const ArchConfig cfg = load_arch_text(text_of(data, size), "fuzz.yaml");
  find_family(cfg.family).make(cfg);
  const std::string resolved = resolved_yaml(cfg);
  std::string again;
  try {
    again = resolved_yaml(load_arch_text(resolved, "fuzz.yaml"));
  } catch (const Error& e) {
    throw std::logic_error(std::string("the resolved configuration does not load: ") + e.what());
  }
  if (again != resolved)
    throw std::logic_error("the resolved configuration reads back differently");
}

void assembly(const uint8_t* data, size_t size) {
  const auto p = isa::find_isa("tpu").assemble(text_of(data, size), "fuzz.s");
  check_disassembly(tpu_program(*p));
  validate(tpu_program(*p));
}

void binary(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  const auto p = isa::find_isa("tpu").decode(bytes, "fuzz.bin");
  if (p->encode() != bytes) throw std::logic_error("encode(decode(bytes)) differs from bytes");
  check_disassembly(tpu_program(*p));
  validate(tpu_program(*p));
}

void onnx(const uint8_t* data, size_t size) {
  compiler::OnnxModel m = compiler::import_onnx_bytes(text_of(data, size), "fuzz.onnx", {});
  static const std::unique_ptr<compiler::Target> tpu =
      compiler::find_target("tpu").make(load_arch("tpu_lab"));
  const compiler::Dump none;
  compiler::run_graph_passes(m.graph, none);
  tpu->lower(m.graph, none);
}

void ptx(const uint8_t* data, size_t size) {
  const std::string text = text_of(data, size);
  isa::ptx::check_module(text, "fuzz.ptx");
  check_gpu_program(isa::ptx::assemble(text, "fuzz.ptx"));
}

void davinci(const uint8_t* data, size_t size) {
  const auto p = isa::find_isa("davinci").assemble(text_of(data, size), "fuzz.s");
  const isa::davinci::Kernel& k = dynamic_cast<const isa::davinci::Program&>(*p).kernel;
  check_davinci_disassembly(k);
  validate_davinci(k);
}

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {{"workload", workload}, {"arch", arch}, {"asm", assembly},
                                          {"binary", binary},     {"onnx", onnx}, {"ptx", ptx},
                                          {"davinci", davinci}};
  return all;
}

}  // namespace xpusim::fuzz
