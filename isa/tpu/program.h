// A TPU program: the instruction list, as the framework's isa::Program.
#pragma once

#include <vector>

#include "isa/program.h"
#include "isa/tpu/instr.h"

namespace xpusim::isa::tpu {

class Program final : public isa::Program {
 public:
  explicit Program(std::vector<Instr> instrs) : code(std::move(instrs)) {}
  size_t size() const override { return code.size(); }
  std::string disassemble() const override { return tpu::disassemble(code); }
  std::vector<uint8_t> encode() const override { return tpu::encode(code); }

  std::vector<Instr> code;
};

}  // namespace xpusim::isa::tpu
