// A DaVinci program: one kernel, as the framework's isa::Program.
#pragma once

#include <vector>

#include "isa/davinci/instr.h"
#include "isa/program.h"

namespace xpusim::isa::davinci {

class Program final : public isa::Program {
 public:
  explicit Program(Kernel k) : kernel(std::move(k)) {}
  size_t size() const override { return kernel.code.size(); }
  std::string disassemble() const override { return davinci::disassemble(kernel); }
  std::vector<uint8_t> encode() const override { return davinci::encode(kernel); }

  Kernel kernel;
};

}  // namespace xpusim::isa::davinci
