// Internal to isa/tpu: the operand table of every opcode. The assembler parses with it, the
// disassembler prints with it and the decoder validates with it, so the three cannot drift.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "isa/tpu/instr.h"

namespace xpusim::isa::tpu::detail {

// The encoded fields of Instr (all but op, line and layer).
enum class Field : uint8_t {
  dtype,
  func,
  flags,
  imm,
  dram,
  ub,
  src,
  src2,
  rows,
  cols,
  k,
  stride,
  shift,
  mxu,
  target,
  count
};
constexpr int kFieldCount = 16;
const char* field_name(Field f);
// A field's bits, zero-extended (imm and shift as their uint32 two's complement).
uint64_t get_field(const Instr& in, Field f);
void set_field(Instr& in, Field f, uint64_t v);

// How an operand's value is written and checked.
enum class Kind : uint8_t {
  addr,      // 0x hex (64 bits for DRAM, 32 for the others)
  size,      // decimal
  count,     // decimal, at least 1
  i32,       // signed decimal
  f32,       // a number stored as its fp32 bits
  bit,       // 0 or 1
  dtype,     // DType by name
  act_func,  // ActFunc by name
  vec_func,  // VecFunc by name
  acc_mode,  // AccMode by name
  pad_mode,  // rdconv padding value by name (zero, lowest)
  label,     // an instruction index, written as a label
};
// The names of an enum kind's values, indexed by value; empty for other kinds.
const std::vector<const char*>& kind_names(Kind kind);

// Value of an optional key that is left out.
enum class Default : uint8_t {
  required,
  zero,
  one,
  cols,        // stride of rdhost/wrhost: the row length in bytes
  weight_row,  // stride of rdweight: N elements of the dtype, K when transposed
};

struct Key {
  const char* name;
  Field field;
  Kind kind;
  Default dflt;
  // A key may own only bits [lsb, lsb + bits) of its field (rdconv packs its geometry);
  // bits = 0: the whole field.
  uint8_t lsb = 0;
  uint8_t bits = 0;
};
// The key's value in `in`, and its largest value.
uint64_t get_key(const Instr& in, const Key& key);
void set_key(Instr& in, const Key& key, uint64_t v);
uint64_t key_max(const Key& key);

struct OpDef {
  Opcode op;
  std::vector<Key> keys;  // in canonical (disassembly) order
};

// nullptr for a value that is not an Opcode.
const OpDef* find_op(Opcode op);
const std::vector<OpDef>& all_ops();

// Empty when `in` is valid on its own: known opcode, enum and flag values in range and
// allowed for the opcode, fields and bits it does not use zero, counts >= 1. Otherwise the
// reason. Limits that depend on a configuration (array size, memory sizes) or on the rest of
// the program are the model's to check; whether a loop's target lies before the loop
// depends on its index and is checked by the callers.
std::string check_instr(const Instr& in);

}  // namespace xpusim::isa::tpu::detail
