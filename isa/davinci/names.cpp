// Names of the DaVinci ISA's enumerations, and which pipe runs each instruction.
#include <cstddef>

#include "isa/davinci/instr.h"

namespace xpusim::isa::davinci {

const char* pipe_name(Pipe p) {
  static const char* const names[] = {"PIPE_S",    "PIPE_V",    "PIPE_M",   "PIPE_MTE1",
                                      "PIPE_MTE2", "PIPE_MTE3", "PIPE_FIX", "PIPE_ALL"};
  return names[size_t(p)];
}

const char* buf_name(Buf b) {
  static const char* const names[] = {"gm", "l1", "l0a", "l0b", "l0c", "ub"};
  return names[size_t(b)];
}

int ty_bytes(Ty t) {
  switch (t) {
    case Ty::s8:
      return 1;
    case Ty::f16:
    case Ty::bf16:
      return 2;
    case Ty::f32:
    case Ty::s32:
      return 4;
  }
  return 0;
}

const char* ty_name(Ty t) {
  static const char* const names[] = {"f16", "bf16", "f32", "s8", "s32"};
  return names[size_t(t)];
}

DType ty_dtype(Ty t) {
  static const DType dtypes[] = {DType::fp16, DType::bf16, DType::fp32, DType::int8, DType::int32};
  return dtypes[size_t(t)];
}

const char* op_name(Op op) {
  static const char* const names[] = {
      "mov",
      "add",
      "sub",
      "mul",
      "div",
      "rem",
      "shl",
      "shr",
      "and",
      "or",
      "xor",
      "min",
      "max",
      "beq",
      "bne",
      "blt",
      "bge",
      "ble",
      "bgt",
      "jmp",
      "get_block_idx",
      "get_block_num",
      "end",
      "set_flag",
      "wait_flag",
      "pipe_barrier",
      "sync_all",
      "copy_gm_to_cbuf",
      "copy_gm_to_ubuf",
      "load_cbuf_to_ca",
      "load_cbuf_to_cb",
      "copy_cbuf_to_ubuf",
      "mad",
      "vadd",
      "vsub",
      "vmul",
      "vdiv",
      "vmax",
      "vmin",
      "vexp",
      "vln",
      "vabs",
      "vrec",
      "vsqrt",
      "vrsqrt",
      "vrelu",
      "vadds",
      "vmuls",
      "vmaxs",
      "vmins",
      "vector_dup",
      "vcadd",
      "vcmax",
      "vcmin",
      "vconv",
      "set_vector_mask",
      "copy_matrix_cc_to_ubuf",
      "fixpipe",
      "copy_ubuf_to_gm",
      "vbrcb",
      "set_fmatrix",
      "img2col_cbuf_to_ca",
      "ld_ub",
  };
  static_assert(sizeof(names) / sizeof(names[0]) == size_t(Op::ld_ub) + 1);
  return names[size_t(op)];
}

Pipe pipe_of(const Instr& in) {
  switch (in.op) {
    case Op::set_flag:
    case Op::pipe_barrier:
      return in.p1;
    case Op::wait_flag:
      return in.p2;
    case Op::copy_gm_to_cbuf:
    case Op::copy_gm_to_ubuf:
      return Pipe::mte2;
    case Op::load_cbuf_to_ca:
    case Op::load_cbuf_to_cb:
    case Op::copy_cbuf_to_ubuf:
    case Op::set_fmatrix:
    case Op::img2col_cbuf_to_ca:
      return Pipe::mte1;
    case Op::mad:
      return Pipe::m;
    case Op::fixpipe:
      return Pipe::fix;
    case Op::copy_ubuf_to_gm:
      return Pipe::mte3;
    case Op::vbrcb:
      return Pipe::v;
    default:
      return in.op >= Op::vadd && in.op <= Op::copy_matrix_cc_to_ubuf ? Pipe::v : Pipe::s;
  }
}

bool Instr::operator==(const Instr& o) const {
  for (int i = 0; i < 3; ++i)
    if (!(blk[i] == o.blk[i]) || !(rep[i] == o.rep[i])) return false;
  return op == o.op && ty == o.ty && ty2 == o.ty2 && rd == o.rd && a == o.a && b == o.b &&
         dst == o.dst && src0 == o.src0 && src1 == o.src1 && n0 == o.n0 && n1 == o.n1 &&
         n2 == o.n2 && n3 == o.n3 && flag == o.flag && round == o.round && conv == o.conv &&
         p1 == o.p1 && p2 == o.p2 && event == o.event && target == o.target;
}

}  // namespace xpusim::isa::davinci
