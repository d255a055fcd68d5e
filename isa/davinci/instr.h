// The DaVinci family's instruction set: an Ascend DaVinci-style AI core, whose scalar unit runs
// scalar instructions itself and dispatches every other instruction, in program order, to the
// in-order queue of its pipe (MTE1, MTE2, MTE3, cube, vector, FIX). The pipes run in parallel;
// order between them comes only from set_flag / wait_flag and pipe_barrier, as on the hardware.
// Mnemonics follow the CCE intrinsics that Ascend C is built on (docs/isa/davinci.md gives the
// correspondence table: our mnemonic, Ascend C API, CCE intrinsic, pipe).
//
// A program is one kernel: `.kernel NAME`, its parameters (`.param NAME, xN`: the launch's
// argument NAME is in register xN when each block starts), then instructions, one per line,
// with `label:` lines and comments after '#' or "//". Every block of a launch runs the whole
// kernel; `get_block_idx` tells it which block it is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/core/dtype.h"
#include "models/core/error.h"

namespace xpusim::isa::davinci {

// The pipes. In text: PIPE_S, PIPE_V, PIPE_M, PIPE_MTE1, PIPE_MTE2, PIPE_MTE3, PIPE_FIX,
// PIPE_ALL (pipe_barrier only).
enum class Pipe : uint8_t { s, v, m, mte1, mte2, mte3, fix, all };
constexpr int kPipes = 7;  // the real pipes: s .. fix
const char* pipe_name(Pipe p);

// The memories an operand names. In text: gm, l1, l0a, l0b, l0c, ub (GM: global memory, the
// device's HBM/DDR behind the L2; L1 is the CCE's cbuf, L0A ca, L0B cb, L0C cc, UB ubuf).
enum class Buf : uint8_t { gm, l1, l0a, l0b, l0c, ub };
constexpr int kBufs = 6;
const char* buf_name(Buf b);

// Element types. In text (the suffix of a mnemonic, `dtype=`): f16, bf16, f32, s8, s32.
enum class Ty : uint8_t { f16, bf16, f32, s8, s32 };
int ty_bytes(Ty t);
const char* ty_name(Ty t);
// The workload dtype of an element type (statistics name dtypes as workloads do).
DType ty_dtype(Ty t);

// A numeric operand: an immediate, or a scalar register plus an immediate (written `x5`,
// `x5+64`, `x5-64`, or `64`). Floating-point immediates (vector-scalar ops, vector_dup) are
// kept as their fp32 bits in imm.
struct Val {
  int8_t reg = -1;  // x0 .. x31, or -1 for an immediate
  int64_t imm = 0;
  bool operator==(const Val& o) const { return reg == o.reg && imm == o.imm; }
};
constexpr int kRegs = 32;

// A memory operand: `ub[x3+256]`, `gm[x1]`, `l0a[0]`: a byte address in buf.
struct Addr {
  Buf buf = Buf::gm;
  Val at;
  bool operator==(const Addr& o) const { return buf == o.buf && at == o.at; }
};

enum class Op : uint8_t {
  // ---- scalar unit (PIPE_S): executed by the scalar unit itself, in order --------------------
  mov,  // mov xD, a                     xD = a
  add,  // add xD, xA, b                 (and sub mul div rem shl shr and or xor min max):
  sub,  //                               xD = xA op b on signed 64-bit values; div and rem
  mul,  //                               by zero are errors; shl/shr take b mod 64 (shr is
  div,  //                               arithmetic)
  rem,
  shl,
  shr,
  and_,
  or_,
  xor_,
  min,
  max,
  beq,  // beq xA, b, LABEL               branch when xA == b (bne, blt, bge, ble, bgt: signed)
  bne,
  blt,
  bge,
  ble,
  bgt,
  jmp,            // jmp LABEL
  get_block_idx,  // get_block_idx xD            xD = this block's index (GetBlockIdx)
  get_block_num,  // get_block_num xD            xD = blocks in the launch (GetBlockNum)
  end,            // end                         the block ends once every pipe has drained

  // ---- synchronisation ---------------------------------------------------------------------
  // set_flag PIPE_A, PIPE_B, EVENT_IDn: queued on pipe A; when every earlier instruction of A
  // has completed, the flag (A, B, n) is set. wait_flag PIPE_A, PIPE_B, EVENT_IDn: queued on
  // pipe B; B stops until the flag is set, then clears it. A flag counts: each set allows one
  // wait (up to params' core.flag_depth pending sets). Either pipe may be PIPE_S.
  set_flag,
  wait_flag,
  // pipe_barrier PIPE_X: the next instruction of pipe X starts after every earlier one of X
  // has completed (instructions of one pipe otherwise overlap: a vector op may start before
  // the previous one has written its result). pipe_barrier PIPE_ALL: the scalar unit waits
  // until every pipe has drained.
  pipe_barrier,
  // sync_all: every pipe of the core drains, then the core waits until every core running a
  // block of the launch has reached its sync_all (SyncAll). Only for launches whose blocks all
  // run at once (block count <= AI cores).
  sync_all,

  // ---- MTE2: global memory in ----------------------------------------------------------------
  // copy_gm_to_cbuf l1[d], gm[s], nburst=N, burst=L, src_gap=G, dst_gap=H
  // copy_gm_to_ubuf ub[d],  gm[s], ...  (DataCopy)
  // N bursts of L 32-byte blocks; burst i reads gm at s + i*(L+G)*32 and writes at
  // d + i*(L+H)*32. The on-chip address must be 32-byte aligned.
  copy_gm_to_cbuf,
  copy_gm_to_ubuf,

  // ---- MTE1: L1 to L0A / L0B / UB ----------------------------------------------------------
  // load_cbuf_to_ca l0a[d], l1[s], repeat=R, src_stride=S, dst_gap=G, transpose=T (LoadData)
  // load_cbuf_to_cb l0b[d], l1[s], ...
  // Moves R fractals of 512 bytes (16x16 2-byte or 16x32 1-byte elements): fractal i from
  // s + i*S*512 to d + i*(1+G)*512; with T=1 each fractal is transposed (2-byte elements
  // only). Addresses 512-byte aligned.
  load_cbuf_to_ca,
  load_cbuf_to_cb,
  // copy_cbuf_to_ubuf ub[d], l1[s], nburst=N, burst=L, src_gap=G, dst_gap=H (as MTE2's copies)
  copy_cbuf_to_ubuf,

  // ---- cube (PIPE_M) -------------------------------------------------------------------------
  // mad.TY l0c[c], l0a[a], l0b[b], m=M, k=K, n=N, init=I            (Mmad; TY f16, bf16 or s8)
  // C (M x N) = A (M x K) x B (K x N) + (I ? 0 : C), accumulated in f32 (s32 for s8).
  // Fractal layouts (docs/isa/davinci.md): A in L0A as zZ (16 x k0 fractals in row-major order,
  // each row-major; k0 = 32 / element bytes), B in L0B as zN (k0 x 16 fractals in row-major
  // order, each stored column by column), C in L0C as NZ (16 x 16 fractals in column-major
  // order, each row-major). M and N multiples of 16, K a multiple of k0; addresses 512-byte
  // (L0C: 1024-byte) aligned.
  mad,

  // ---- vector (PIPE_V), on the UB -----------------------------------------------------------
  // Every vector op runs `repeat` iterations; an iteration covers 8 blocks of 32 bytes (256 bytes,
  // 128 f16 or 64 f32/s32 elements). Block j of iteration r of an operand is at
  //   addr + (r * rep_stride + j * blk_stride) * 32
  // with each operand's strides given as dst_blk / src0_blk / src1_blk (default 1) and
  // dst_rep / src0_rep / src1_rep (default 8). Only the elements whose bit is set in the vector
  // mask are computed and written (element e of an iteration: bit e of the 128-bit mask; f32
  // and s32 use the low 64 bits). Addresses 32-byte aligned.
  // vadd.TY ud, us0, us1 (and vsub vmul vdiv vmax vmin): elementwise; TY f16, f32 (vadd, vsub,
  //   vmax, vmin also s32). Results rounded to nearest even.
  vadd,
  vsub,
  vmul,
  vdiv,
  vmax,
  vmin,
  // vexp.TY ud, us (and vln vabs vrec vsqrt vrsqrt vrelu): f16 or f32, computed in f32 and
  //   rounded once to TY.
  vexp,
  vln,
  vabs,
  vrec,
  vsqrt,
  vrsqrt,
  vrelu,
  // vadds.TY ud, us, imm (and vmuls vmaxs vmins): with the scalar immediate imm (a number).
  vadds,
  vmuls,
  vmaxs,
  vmins,
  // vector_dup.TY ud, imm: every selected element of the destination becomes imm (Duplicate).
  vector_dup,
  // vcadd.TY ud, us (and vcmax vcmin): each iteration reduces its selected elements to one
  //   value, written at ud + r * element bytes (iteration r). f16 or f32; vcadd sums in f32
  //   and rounds once.
  vcadd,
  vcmax,
  vcmin,
  // vconv.DST.SRC ud, us, round=R: converts each selected element (element e of iteration r
  //   in both operands; 64 elements per iteration when either type is 4 bytes). R: rn (to
  //   nearest even), a (away from zero), f (floor), c (ceil), z (toward zero). Pairs: f32->f16,
  //   f16->f32, f32->bf16, bf16->f32, f32->s32, s32->f32, f16->s32, s32->f16, f16->s8, s8->f16
  //   (vconv_f322f16...; 128 elements per iteration for the s8 pairs).
  vconv,
  // set_vector_mask hi, lo: the mask for the vector ops that follow in PIPE_V (hi: bits 64-127).
  set_vector_mask,
  // copy_matrix_cc_to_ubuf ub[d], l0c[s], nburst=N, burst=L, src_gap=G, dst_gap=H, conv=C,
  //   mul=Q, shift=S, relu=R (910-style path, on PIPE_V): N bursts of L fractals of 16x16
  //   elements (f32/s32 in L0C, 1024 bytes; the UB side has the converted size: 512 bytes for
  //   conv f32->f16); gaps in fractals of each side. C: none, f322f16 (round to nearest even),
  //   req8 (s32 -> s8: numeric::requantize(acc, Q, S); a fractal takes 512 bytes of the UB, its
  //   16 rows of 16 bytes 32 bytes apart, so that two column blocks interleave as a 16 x 32
  //   fractal; the destination may be 16-byte aligned). R=1: ReLU on the converted value.
  copy_matrix_cc_to_ubuf,

  // ---- FIX pipe (910B-style presets: core.fix) ----------------------------------------------
  // fixpipe gm[d], l0c[s], m=M, n=N, dst_stride=D, conv=C, mul=Q, shift=S, relu=R (Fixpipe):
  //   the M x N NZ matrix at s (M, N multiples of 16) to row-major rows in GM, row i at d + i*D
  //   bytes, converted by C (none, f322f16, f322bf16, req8 as copy_matrix_cc_to_ubuf's), with
  //   ReLU on the converted value when R=1.
  fixpipe,

  // ---- MTE3: global memory out --------------------------------------------------------------
  // copy_ubuf_to_gm gm[d], ub[s], nburst=N, burst=L, src_gap=G, dst_gap=H (DataCopy)
  copy_ubuf_to_gm,

  // ---- vector (PIPE_V), continued ------------------------------------------------------------
  // vbrcb.TY ud, us, repeat=R, dst_blk=B, dst_rep=P (Brcb): iteration r reads the 8 elements at
  //   us + r * 32 and writes element i to every element of block i of its iteration
  //   (ud + (r * P + i * B) * 32): one value per 32-byte block, the broadcast that row-wise
  //   operations use with a second source of blk 0 and rep 1. TY f32 or s32; the vector mask
  //   does not apply.
  vbrcb,

  // ---- MTE1, continued: img2col (load3d) --------------------------------------------------
  // set_fmatrix h=H, w=W, pad_t=T, pad_l=L (SetFmatrix): the feature map that the img2col loads
  //   after it in PIPE_MTE1 read: H x W pixels, padded by T rows above and L columns left (the
  //   padding below and right is whatever lies past H and W).
  set_fmatrix,
  // img2col_cbuf_to_ca l0a[d], l1[s], kh=KH, kw=KW, stride_h=SH, stride_w=SW, ow=OW, m=M,
  //   k=K, repeat=R (LoadData 3D, load3d): R fractals (16 x 16 2-byte or 16 x 32 s8) of the img2col
  //   matrix of a convolution into L0A as zZ, fractal i at d + i * 512. The feature map at s in
  //   L1 is NC1HWC0: C1 slices of H x W pixels of 16 channels (32 bytes), slice c at
  //   s + c * H * W * 32. Row r of a fractal is output pixel p = M + r (oh = p / OW,
  //   ow = p % OW); fractal i is K fractal k = K + i, the 16 channels of slice k / (KH KW) at
  //   kernel tap (k / KW % KH, k % KW). Element (r, c) is channel c of input pixel
  //   (oh SH - T + kh, ow SW - L + kw), or 0 where that pixel is outside the H x W map.
  img2col_cbuf_to_ca,

  // ---- scalar unit, continued: a read of the UB (LocalTensor::GetValue) -------------------
  // ld_ub xD, ub[a]                xD = the s32 at UB address a (4-byte aligned), sign-extended.
  //   The scalar unit reads the UB itself: a copy that fills those bytes must be ordered before
  //   it (set_flag PIPE_MTE2, PIPE_S / wait_flag); instructions dispatched after it come after
  //   the read. Without values (a timing-only run) it reads 0.
  ld_ub,
};

const char* op_name(Op op);
// The pipe whose queue an instruction enters (sync ops: set_flag -> its source pipe,
// wait_flag -> its destination pipe, pipe_barrier -> its pipe; scalar ops, sync_all and end:
// Pipe::s).
Pipe pipe_of(const struct Instr& in);

// Rounding of vconv and of the conversions in copies.
enum class Round : uint8_t { rn, a, f, c, z };
// conv= of copy_matrix_cc_to_ubuf and fixpipe. req8: s32 -> s8 requantised with the
// instruction's mul and shift (Ascend's REQ8 quant mode, with the workload IR's integer scale).
enum class Conv : uint8_t { none, f322f16, f322bf16, req8 };

// One instruction. Fields an opcode does not use stay default. Names of the text's keys in
// brackets.
struct Instr {
  Op op = Op::end;
  Ty ty = Ty::f16;   // vector ops, mad: the element type; vconv: the destination type
  Ty ty2 = Ty::f16;  // vconv: the source type
  uint8_t rd = 0;    // scalar ops, get_block_idx/num: the destination register
  Val a, b;          // scalar ops: the operands (a: mov's source, xA of the others);
                     // set_vector_mask: hi, lo; vector-scalar ops and vector_dup: the
                     // immediate (fp32 bits, in b); copy_matrix_cc_to_ubuf, fixpipe: [shift]
                     // in b
  Addr dst, src0, src1;
  // Copies: [nburst] [burst] [src_gap] [dst_gap]; loads: [repeat] [src_stride] [dst_gap];
  // mad: [m] [k] [n]; fixpipe: [m] [n] [dst_stride]; vector: [repeat]; set_fmatrix: [h] [w]
  // [pad_t] [pad_l]; img2col_cbuf_to_ca: [repeat] [ow] [m] [k], and in blk[0..2], rep[0]:
  // [kh] [kw] [stride_h] [stride_w]; copy_matrix_cc_to_ubuf, fixpipe: [mul] in blk[0].
  Val n0, n1, n2, n3;
  // Vector strides in 32-byte blocks: [dst_blk] [src0_blk] [src1_blk] [dst_rep] [src0_rep]
  // [src1_rep] (defaults 1, 1, 1, 8, 8, 8).
  Val blk[3] = {{-1, 1}, {-1, 1}, {-1, 1}};
  Val rep[3] = {{-1, 8}, {-1, 8}, {-1, 8}};
  bool flag = false;  // mad: [init]; loads: [transpose]; copy_matrix_cc_to_ubuf, fixpipe: [relu]
  Round round = Round::rn;
  Conv conv = Conv::none;
  Pipe p1 = Pipe::s, p2 = Pipe::s;  // set_flag/wait_flag: source, destination; pipe_barrier: p1
  uint8_t event = 0;                // set_flag/wait_flag: EVENT_IDn
  uint32_t target = 0;              // branches: the index of the instruction jumped to
  int line = 0;                     // source line; not encoded
  int layer = -1;                   // the compiler's layer index; not encoded

  bool operator==(const Instr& o) const;
};

// The Vals of an instruction (a const or mutable Instr), in their encoded order: a, b, dst.at,
// src0.at, src1.at, n0 .. n3, blk[0..2], rep[0..2].
constexpr int kVals = 15;
template <class I, class V>
void for_each_val(I& in, V&& visit) {
  visit(in.a);
  visit(in.b);
  visit(in.dst.at);
  visit(in.src0.at);
  visit(in.src1.at);
  visit(in.n0);
  visit(in.n1);
  visit(in.n2);
  visit(in.n3);
  for (auto& v : in.blk) visit(v);
  for (auto& v : in.rep) visit(v);
}

struct KernelParam {
  std::string name;
  uint8_t reg = 0;
};

// A kernel: its name, parameters and code.
struct Kernel {
  std::string name;
  std::vector<KernelParam> params;
  std::vector<Instr> code;
};

// Assembly text (format above). Throws Error with file:line:column and what was expected; an
// instruction that is not valid for its opcode (a missing operand, a type the op does not
// take, a branch to an undefined label) is an error too.
Kernel assemble(const std::string& text, const std::string& file);
// Canonical text; assemble(disassemble(k)) == k. Branch targets are printed as generated
// labels.
std::string disassemble(const Kernel& k);

// Binary form: the magic "XPUDV001", then the kernel's name and parameters, then fixed-size
// little-endian instructions (docs/isa/davinci.md). decode throws Error naming `file` and the
// instruction index for a bad magic, size or field.
std::vector<uint8_t> encode(const Kernel& k);
Kernel decode(const std::vector<uint8_t>& bytes, const std::string& file);

}  // namespace xpusim::isa::davinci
