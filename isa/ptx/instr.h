// The GPU family's decoded PTX instruction: enums for opcodes, types and modifiers, resolved
// operands. This is what the warp interpreter walks; reference: docs/isa/ptx.md.
#pragma once

#include <cstdint>

namespace xpusim::isa::ptx {

// A register index that names no register (an absent guard, an address without a base).
inline constexpr uint32_t kNoReg = UINT32_MAX;

enum class Op : uint8_t {
  unsupported,  // placeholder for an instruction the decoder refused (Module::unsupported)
  // data movement
  ld,
  st,
  mov,
  cvta,
  cvt,
  // integer and floating-point arithmetic (the type says which)
  add,
  sub,
  mul,
  mad,
  fma,
  div,
  rem,
  min,
  max,
  abs,
  neg,
  copysign,
  rcp,
  sqrt,
  rsqrt,
  ex2,
  lg2,
  sin,
  cos,
  tanh,
  // bits
  shl,
  shr,
  and_,
  or_,
  xor_,
  not_,
  cnot,
  bfe,
  bfi,
  popc,
  clz,
  brev,
  prmt,
  dp4a,
  dp2a,
  // compare and select
  setp,
  set,
  selp,
  slct,
  // control
  bra,
  ret,
  exit,
  trap,
  brkpt,
  bar_sync,       // bar.sync / bar.red-less barrier.sync (`aligned` flag: bar.sync's form)
  bar_arrive,     // bar.arrive / barrier.arrive
  bar_warp_sync,  // bar.warp.sync mask
  membar,         // membar.{cta,gl,sys}: no effect in the model
  fence,          // fence.{sc,acq_rel}.scope: no effect in the model
  nanosleep,
  // warp-level
  shfl,
  vote,
  activemask,
  match,
  // atomics
  atom,
  red,
  // asynchronous copies and tensor cores
  cp_async,
  cp_async_commit,
  cp_async_wait_group,
  cp_async_wait_all,
  ldmatrix,
  mma,
  wmma_load,
  wmma_mma,
  wmma_store,
  count_  // number of opcodes
};

enum class Type : uint8_t {
  none,
  b8,
  b16,
  b32,
  b64,
  u8,
  u16,
  u32,
  u64,
  s8,
  s16,
  s32,
  s64,
  f16,
  f16x2,
  bf16,
  bf16x2,
  tf32,
  f32,
  f64,
  pred,
};

// Bytes of a value of type t (f16x2: 4; pred: 1; none: 0).
unsigned type_bytes(Type t);
bool is_float(Type t);   // f16 f16x2 bf16 bf16x2 tf32 f32 f64
bool is_signed(Type t);  // s8..s64
// f16 f16x2 bf16 bf16x2
inline bool is_half(Type t) {
  return t == Type::f16 || t == Type::f16x2 || t == Type::bf16 || t == Type::bf16x2;
}

enum class Rounding : uint8_t { none, rn, rz, rm, rp, rna, rni, rzi, rmi, rpi };

// setp/set comparison; the ...u forms are true when either operand is NaN.
enum class Cmp : uint8_t {
  none,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  lo,
  ls,
  hi,
  hs,
  equ,
  neu,
  ltu,
  leu,
  gtu,
  geu,
  num,
  nan,
};

// setp/set: combine the comparison with a predicate source (.and/.or/.xor).
enum class BoolOp : uint8_t { none, and_, or_, xor_ };

// State space of a memory access or of a symbol. `generic` is the default of ld/st/atom.
enum class Space : uint8_t { generic, global, shared, local, param, const_ };

// Cache operator of ld/st/cp.async (recorded; no effect on values).
enum class Cache : uint8_t { none, ca, cg, cs, lu, cv, wb, wt };

// Memory-ordering semantics and scope of atom/red/fence/ld/st.
enum class Sem : uint8_t { none, relaxed, acquire, release, acq_rel, sc, volatile_ };
// membar.gl is Scope::gpu.
enum class Scope : uint8_t { none, cta, gpu, sys };

enum class Shape : uint8_t { none, m8n8, m16n8k8, m16n8k16, m16n8k32, m16n16k16 };

// Instr::mode, by opcode.
enum class MulMode : uint8_t { none, lo, hi, wide };      // mul, mad (integers)
enum class ShflMode : uint8_t { up, down, bfly, idx };    // shfl
enum class VoteMode : uint8_t { all, any, uni, ballot };  // vote
enum class MatchMode : uint8_t { any, all };              // match
enum class AtomOp : uint8_t { add, min, max, inc, dec, cas, exch, and_, or_, xor_ };  // atom red
enum class WmmaMatrix : uint8_t { a, b, c, d };  // wmma.load (a b c), store (d)
enum class PrmtMode : uint8_t { none, f4e, b4e, rc8, ecl, ecr, rc16 };  // prmt
enum class DpHalf : uint8_t { lo, hi };                                 // dp2a

// Instr::flags bits.
enum Flag : uint16_t {
  kFtz = 1u << 0,
  kSat = 1u << 1,  // .sat, and mma's .satfinite
  kApprox = 1u << 2,
  kFull = 1u << 3,
  kNc = 1u << 4,        // ld.global.nc
  kUni = 1u << 5,       // bra.uni
  kTrans = 1u << 6,     // ldmatrix .trans
  kToSpace = 1u << 7,   // cvta.to.space (generic -> space); without it space -> generic
  kAligned = 1u << 8,   // .aligned (bar.sync is barrier.sync.aligned)
  kARow = 1u << 9,      // mma/wmma: A is row-major (otherwise column-major)
  kBRow = 1u << 10,     // mma/wmma: B is row-major
  kSrcSize = 1u << 11,  // cp.async with the src-size operand
  kRelu = 1u << 12,     // .relu (cvt to f16x2/bf16x2, half fma/min/max)
};

// An operand, resolved. Vector elements are operands too, stored in Code::operands from
// `index` on (`count` of them).
enum class OperandKind : uint8_t {
  reg,    // index: register
  imm,    // value: the bits at the operand's type (floats as their IEEE bit pattern)
  sreg,   // value: Sreg
  mem,    // [base + value]: index: base register, or kNoReg for [symbol+off] / [imm]
  sym,    // the address of a symbol (mov %r, name; mov %rd, name+8), in space `space`
  vec,    // {a, b, ...}: elements from index, count of them
  label,  // value: the target instruction's index
  sink,   // _ in a vector or as a destination
};

// Special registers.
enum class Sreg : uint8_t {
  tid_x,
  tid_y,
  tid_z,
  ntid_x,
  ntid_y,
  ntid_z,
  ctaid_x,
  ctaid_y,
  ctaid_z,
  nctaid_x,
  nctaid_y,
  nctaid_z,
  laneid,
  warpid,
  nwarpid,
  smid,
  nsmid,
  clock,
  clock64,
  lanemask_eq,
  lanemask_lt,
  lanemask_le,
  lanemask_gt,
  lanemask_ge,
  globaltimer,
  dynamic_smem_size,
  total_smem_size,
};

// Operand::flags bits.
enum OperandFlag : uint8_t {
  kNegate = 1u << 0,  // !%p (a predicate source used inverted)
};

// 16 bytes. mem: with space generic, [index + value] where index is the base register (the
// instruction's space applies), or [value] when index is kNoReg. mem with another space, and
// sym, name a symbol of that space: for one in the kernel's own layout (param, shared, local)
// `value` is already the offset in that space and index is kNoReg; a global/const symbol has
// index = its Module::variables index and value = the offset from its start.
struct Operand {
  OperandKind kind = OperandKind::reg;
  Space space = Space::generic;
  uint8_t count = 0;  // vec: elements
  uint8_t flags = 0;  // OperandFlag
  uint32_t index = kNoReg;
  int64_t value = 0;
};

// One decoded instruction, 28 bytes. Its operands are Code::operands[first_op ..
// first_op + nops). Fields an opcode does not use are zero / none.
struct Instr {
  Op op = Op::unsupported;
  // type: the instruction's type (cvt, set: the destination's; mma/wmma: D's).
  // type2: cvt/set source type; mma/wmma: A's; wmma.load/store, ldmatrix: the element type.
  // type3: mma/wmma B's; type4: mma/wmma C's.
  Type type = Type::none;
  Type type2 = Type::none;
  Type type3 = Type::none;
  Type type4 = Type::none;
  Rounding rnd = Rounding::none;
  Cmp cmp = Cmp::none;
  BoolOp bop = BoolOp::none;
  Space space = Space::generic;  // ld st atom red cvta wmma ldmatrix cp.async (the dst)
  Cache cache = Cache::none;
  Sem sem = Sem::none;
  Scope scope = Scope::none;
  Shape shape = Shape::none;
  uint8_t mode = 0;  // MulMode ShflMode VoteMode MatchMode AtomOp WmmaMatrix, by opcode
  uint8_t vec = 1;   // ld/st .v2 .v4: 2 or 4; ldmatrix: .x1 .x2 .x4 count; cp.async: bytes
  uint8_t nops = 0;
  bool guard_neg = false;
  uint16_t flags = 0;       // Flag bits
  uint32_t guard = kNoReg;  // guard predicate register (@%p / @!%p), kNoReg when unguarded
  uint32_t first_op = 0;
};
static_assert(sizeof(Instr) == 28 && sizeof(Operand) == 16, "keep the decoded form compact");

// Lower-case PTX spelling: "ld", "bar.sync", ... ; "and" for Op::and_.
const char* op_name(Op op);
// ".f32" without the dot: "f32"; "" for none.
const char* type_name(Type t);
// "%tid.x" without the percent sign: "tid.x".
const char* sreg_name(Sreg s);

}  // namespace xpusim::isa::ptx
