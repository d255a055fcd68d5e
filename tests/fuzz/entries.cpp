#include "tests/fuzz/entries.h"

#include <stdexcept>

#include "compiler/ir/frontend.h"
#include "isa/program.h"
#include "isa/tpu/program.h"
#include "models/core/config.h"
#include "models/core/error.h"
#include "models/core/machine.h"
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

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {
      {"workload", workload}, {"arch", arch}, {"asm", assembly}, {"binary", binary}};
  return all;
}

}  // namespace xpusim::fuzz
