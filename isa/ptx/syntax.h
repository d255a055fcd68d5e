// Internal to isa/ptx: a kernel body as the parser reads it (names resolved to registers and
// variables, labels not yet), which the decoder turns into Code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "isa/common/lexer.h"
#include "isa/common/parser.h"
#include "isa/ptx/module.h"

namespace xpusim::isa::ptx::detail {

// A variable an operand names.
struct SymRef {
  enum Where : uint8_t {
    none,
    module_var,  // Module::variables[index]
    kernel_var,  // ParsedKernel::vars[index] (.shared / .local in the body)
    param,       // Kernel::params[index]
    retval,      // Kernel::returns[index]
    call_param,  // a .param declared in a body block (the arguments of a call)
  };
  Where where = none;
  uint32_t index = 0;
};

enum class PKind : uint8_t {
  reg,   // reg (and reg2 for `%r1|%p1`)
  sreg,  // sreg
  imm,   // lit (an integer or floating token)
  sym,   // a variable (sym), plus offset for name+8
  name,  // a name that is neither a register nor a variable: a label or a function
  mem,   // [reg + offset], [sym + offset], [offset]
  vec,   // {elems}
  list,  // (elems), in call
  sink,  // _
};

struct POperand {
  PKind kind = PKind::reg;
  bool neg = false;        // !%p
  uint32_t reg = kNoReg;   // reg; mem base register
  uint32_t reg2 = kNoReg;  // second register of `a|b`
  Sreg sreg = Sreg::tid_x;
  Token lit;
  SymRef sym;          // sym; mem with a variable base
  std::string name;    // name; mem with a name base that is no variable
  int64_t offset = 0;  // mem, sym
  std::vector<POperand> elems;
  SourceLoc loc;
};

struct PInstr {
  SourceLoc loc;
  std::string text;
  SourceInfo where;
  uint32_t guard = kNoReg;
  bool guard_neg = false;
  std::string opcode;
  SourceLoc opcode_loc;
  std::vector<POperand> ops;
};

// A kernel while it is parsed: the Kernel (params, attributes, registers in code.regs), its
// body's variables and instructions, its labels.
struct ParsedKernel {
  Kernel kernel;
  std::vector<Variable> vars;  // .shared and .local declared in the body
  std::vector<PInstr> body;
  LabelTable labels;
  std::vector<std::pair<std::string, uint32_t>> label_order;
};

// Name tables (names.cpp): false when s is no such name. Names without '.' or '%'.
bool type_from_name(std::string_view s, Type& out);
bool sreg_from_name(std::string_view s, Sreg& out);
bool space_from_name(std::string_view s, Space& out);  // global shared local param const

// Decodes pk's body into pk.kernel.code (layouts included); unsupported instructions go to
// module.unsupported. Throws Error for an undefined label or symbol.
void decode_kernel(ParsedKernel& pk, Module& module);

}  // namespace xpusim::isa::ptx::detail
