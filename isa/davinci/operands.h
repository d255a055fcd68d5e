// Internal to isa/davinci: the operand table of every opcode. The assembler parses with it, the
// disassembler prints with it and the decoder validates with it, so the three cannot drift.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "isa/davinci/instr.h"

namespace xpusim::isa::davinci::detail {

// A positional operand: how it is written and which Instr field holds it.
enum class Pos : uint8_t {
  rd,      // xD: the destination register (rd)
  reg_a,   // xA: a register (a, with imm 0)
  val_a,   // a Val (a): mov's source, set_vector_mask's hi
  val_b,   // a Val (b)
  num_b,   // a number (b.imm): fp32 bits, or the integer itself for s32
  dst,     // BUF[VAL] (dst)
  src0,    // BUF[VAL] (src0)
  src1,    // BUF[VAL] (src1)
  pipe1,   // PIPE_X, a real pipe (p1): set_flag/wait_flag's source
  pipe2,   // PIPE_X, a real pipe (p2): set_flag/wait_flag's destination
  pipe_b,  // PIPE_X or PIPE_ALL (p1): pipe_barrier's pipe
  event,   // EVENT_IDn (event)
  label,   // a label (target)
};

struct Operand {
  Pos pos;
  Buf buf = Buf::gm;  // the memory a BUF[VAL] operand must name
  const char* role;   // for messages: "destination", "source", "A", ...
};

// Where a key=value operand is stored.
enum class Slot : uint8_t {
  n0,
  n1,
  n2,
  n3,
  dst_blk,
  src0_blk,
  src1_blk,
  dst_rep,
  src0_rep,
  src1_rep,
  b,  // the Val b
  flag,
  round,
  conv
};

// How a key's value is written.
enum class KeyKind : uint8_t {
  val,    // a Val: register, register+offset or integer
  bit,    // 0 or 1 (flag)
  round,  // rn, a, f, c, z
  conv,   // none, f322f16, f322bf16, req8 (those the opcode allows)
};

struct Key {
  const char* name;
  Slot slot;
  KeyKind kind;
  bool required;
  int64_t dflt;  // the value of an omitted optional key (an immediate; 0/1 for a bit)
};

// The value (a Val, or an immediate holding an enum or flag) of a key in `in`.
Val get_key(const Instr& in, Slot slot);
void set_key(Instr& in, Slot slot, const Val& v);

struct OpDef {
  Op op;
  std::vector<Operand> operands;
  std::vector<Key> keys;    // in canonical (disassembly) order
  std::vector<Ty> types;    // the types of mnemonic.TY; empty: no suffix (vconv: below)
  unsigned convs = 0;       // the conv= values allowed, bit per Conv
  bool takes_pair = false;  // vconv: mnemonic.DST.SRC, one of conv_pairs()
};

// nullptr for a value that is not an Op.
const OpDef* find_op(Op op);
const std::vector<OpDef>& all_ops();
// vconv's (destination, source) pairs.
const std::vector<std::pair<Ty, Ty>>& conv_pairs();

const char* round_name(Round r);
const char* conv_name(Conv c);
constexpr int kRounds = 5;
constexpr int kConvs = 4;
constexpr int kEvents = 8;

// Empty when `in` is valid on its own: known opcode, enum values in range and allowed for the
// opcode, registers x0..x31, memories the opcode's operands must name, number immediates in
// range for the type, and every field the opcode does not use at its default. Otherwise the
// reason. Branch targets and limits that depend on resolved register values are the callers'
// and the model's to check.
std::string check_instr(const Instr& in);

// Whether `name` is a valid kernel or parameter name: a letter, '_' or '$', then letters,
// digits, '_', '$' or '.'.
bool valid_name(const std::string& name);

}  // namespace xpusim::isa::davinci::detail
