// A PTX module as nvcc writes it, parsed and decoded: kernels with their decoded code, register
// counts, param/shared/local layouts, and the module's variables. Reference: docs/isa/ptx.md.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "isa/ptx/instr.h"
#include "models/core/error.h"

namespace xpusim::isa::ptx {

// A declared register. Vector-typed and .b8 registers are not accepted.
struct RegInfo {
  std::string name;        // "%r3", "%SP", or a scoped name without '%' ("low")
  Type type = Type::none;  // as declared (.b32, .f32, .pred, ...)
  uint8_t bits = 0;        // 1 (pred), 16, 32 or 64
};

// A variable of a state space: module scope (Module::variables) or a kernel's (.shared,
// .local in a body).
struct Variable {
  std::string name;
  Space space = Space::global;
  Type type = Type::b8;  // element type
  uint32_t align = 1;    // bytes: .align, or the element size
  uint64_t size = 0;     // bytes (0 for `.extern .shared ... name[]`)
  bool is_extern = false;
  bool dynamic = false;       // `.extern .shared ... name[]`: the dynamic shared memory
  uint64_t offset = 0;        // shared/local in a kernel's layout: its offset there
  std::vector<uint8_t> init;  // initial bytes (zero-filled to size) when it has an initialiser
  SourceLoc loc;
};

// A kernel (or .func) parameter.
struct Param {
  std::string name;
  Type type = Type::b8;
  uint32_t size = 0;    // bytes
  uint32_t align = 1;   // bytes, of the parameter itself
  uint32_t offset = 0;  // in the param space, each parameter aligned to its `align`
  bool is_ptr = false;  // .ptr: the value is a pointer into ptr_space aligned to ptr_align
  Space ptr_space = Space::generic;
  uint32_t ptr_align = 0;
};

// Where an instruction came from: its PTX line, and the CUDA line of the .loc before it.
struct SourceInfo {
  int line = 0;  // PTX line
  int column = 0;
  int loc_file = 0;  // .loc file index (Module::files), 0 when no .loc preceded it
  int loc_line = 0;
  int loc_column = 0;
};

// A kernel's decoded code and its resource layout.
struct Code {
  std::vector<Instr> instrs;
  std::vector<Operand> operands;  // every instruction's operands and vector elements
  std::vector<RegInfo> regs;      // flat register numbering: Operand::index for reg operands
  // Per thread, declared: 32-bit units of the non-predicate registers (a 64-bit register
  // counts 2, a 16-bit one 1) and the predicates. ptxas allocates fewer; this is the upper
  // bound an occupancy estimate may start from.
  uint32_t reg_units = 0;
  uint32_t pred_regs = 0;
  // Shared memory: the static variables (the kernel's own and the module-scope ones it uses)
  // with their offsets; the dynamic part (`.extern .shared`) starts at dynamic_offset.
  std::vector<Variable> shared;
  uint32_t shared_bytes = 0;  // static size
  bool uses_dynamic_shared = false;
  uint32_t dynamic_offset = 0;  // shared_bytes rounded up to the extern variables' alignment
  std::vector<Variable> local;  // per-thread .local variables with their offsets
  uint32_t local_bytes = 0;
  std::vector<SourceInfo> where;  // per instruction
  std::vector<std::string> text;  // per instruction, as written (whitespace collapsed)
  std::vector<std::pair<std::string, uint32_t>> labels;  // name, instruction index

  // An instruction's operands (in.nops of them), a vector operand's elements (vec.count).
  const Operand* ops(const Instr& in) const { return operands.data() + in.first_op; }
  const Operand* elems(const Operand& vec) const { return operands.data() + vec.index; }
};

struct Kernel {
  std::string name;
  bool is_entry = true;  // .entry (false: .func)
  bool visible = false;
  bool has_body = true;  // false for a prototype (`.extern .func f(...);`)
  SourceLoc loc;
  std::vector<Param> params;
  uint32_t param_bytes = 0;
  std::vector<Param> returns;         // .func return parameters (offsets after param_bytes)
  std::array<uint32_t, 3> maxntid{};  // zeros when not given
  std::array<uint32_t, 3> reqntid{};
  uint32_t minnctapersm = 0;
  uint32_t maxnreg = 0;
  std::vector<std::string> pragmas;  // .pragma strings in the body
  Code code;
};

// An instruction or directive the decoder does not accept.
struct Unsupported {
  SourceLoc loc;
  bool directive = false;  // a directive rather than an instruction
  std::string text;        // as written
  std::string reason;      // "unknown opcode", "modifier .cc", ...
};

struct Module {
  std::string file;
  int version_major = 0;
  int version_minor = 0;
  std::string target;                       // "sm_80"
  std::vector<std::string> target_options;  // texmode_..., debug
  int address_size = 64;
  std::vector<Variable> variables;       // module scope: .global, .const, .shared
  std::vector<Kernel> kernels;           // .entry and .func, in file order
  std::map<int, std::string> files;      // .file index -> path
  std::vector<std::string> pragmas;      // module-scope .pragma strings
  std::vector<Unsupported> unsupported;  // in file order

  // nullptr when there is none of that name.
  const Kernel* find_kernel(const std::string& name) const;
  size_t instruction_count() const;
  // "file.cu:12" for an instruction with a .loc whose file is known, else "".
  std::string cuda_location(const SourceInfo& where) const;
};

// Parses and decodes PTX text. Syntax errors, unknown registers, undefined or duplicate labels
// throw Error (file:line:column: what was expected); an instruction or directive outside the
// supported subset is recorded in Module::unsupported (its Instr is Op::unsupported).
Module check_module(const std::string& text, const std::string& file);
// As check_module, but the first unsupported instruction or directive throws Error
// ("file:line: unsupported instruction 'text' (reason)"). What `run --kernel` uses.
Module parse_module(const std::string& text, const std::string& file);
// parse_module on a file's contents; throws Error when it cannot be read.
Module load_module(const std::string& path);

// "FILE:LINE: unsupported instruction 'text' (reason)" (or "unsupported directive").
std::string describe(const Unsupported& u);

}  // namespace xpusim::isa::ptx
