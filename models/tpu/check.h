// Static checks of a TPU program against a configuration, made before anything runs (so that
// no error unwinds a SystemC thread): each instruction's fields against the preset (the array
// mapping of the dataflow, dtypes, unified-buffer, accumulator and DRAM ranges, FIFO tiles),
// and the program's shape (one halt-terminated list per core). The machine, the cores and the
// fuzz tests use them.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "isa/tpu/instr.h"
#include "models/tpu/params.h"

namespace xpusim::tpu {

class ProgramCheck {
 public:
  // `file` names the program in messages.
  ProgramCheck(const TpuParams& p, const std::vector<isa::tpu::Instr>& prog, std::string file);

  // Checks instructions [begin, end); throws Error naming the first bad one and why.
  void instrs(size_t begin, size_t end) const;
  // The [begin, end) of each core's list; throws Error unless the program ends with halt and
  // holds one list per core of the configuration (`arch` names it).
  std::vector<std::pair<size_t, size_t>> core_lists(const std::string& arch) const;
  // "file:line: opcode" for assembly, "file: opcode (instruction i, layer l)" for compiled code.
  std::string who(const isa::tpu::Instr& in) const;

 private:
  void instr(const isa::tpu::Instr& in) const;

  const TpuParams& p_;
  const std::vector<isa::tpu::Instr>& prog_;
  std::string file_;
};

}  // namespace xpusim::tpu
