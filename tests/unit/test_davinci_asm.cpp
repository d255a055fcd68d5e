// The DaVinci ISA tools: assembler, disassembler, binary encoding and their diagnostics.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <random>
#include <set>

#include "isa/davinci/instr.h"
#include "isa/davinci/operands.h"
#include "isa/davinci/program.h"
#include "tests/support.h"

using namespace xpusim;
using namespace xpusim::isa::davinci;
using Catch::Matchers::Contains;
using xpusim::test::error_of;

namespace {

std::string asm_error(const std::string& text) {
  return error_of([&] { assemble(text, "k.s"); });
}

// text as the body of a kernel (line 1 is `.kernel k`), ended by `end` unless it ends itself.
std::string body_error(const std::string& body) {
  return asm_error(".kernel k\n" + body + "\n  end\n");
}

uint32_t f32_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

Val imm(int64_t v) {
  return {-1, v};
}
Val reg(int r, int64_t off = 0) {
  return {int8_t(r), off};
}

// Every opcode, every key, every type of every opcode, every pipe, round and conv value.
const char* kAllOps = R"(// every opcode and every key
.kernel all_ops
.param a, x1
.param b, x2   # comments: '#' and '//'
.param n, x3
top:
  mov x4, 64
  mov x5, x1+256
  add x6, x4, x5
  sub x6, x6, -3
  mul x6, x6, 0x40
  div x6, x6, x4-1
  rem x6, x6, 7
  shl x7, x6, 2
  shr x7, x7, 1
  and x7, x7, 0xff
  or x7, x7, x4
  xor x7, x7, 1
  min x8, x7, x3
  max x8, x8, 0
  get_block_idx x9
  get_block_num x10
  beq x9, 0, first
  bne x9, x10, top
  blt x9, 5, top
  bge x9, x3+1, next
  ble x9, -1, next
  bgt x9, 0, next
first: jmp next
next:
  set_flag PIPE_MTE2, PIPE_V, EVENT_ID0
  wait_flag PIPE_MTE2, PIPE_V, EVENT_ID0
  set_flag PIPE_S, PIPE_FIX, EVENT_ID7
  wait_flag PIPE_S, PIPE_FIX, EVENT_ID7
  set_flag PIPE_M, PIPE_MTE1, EVENT_ID3
  wait_flag PIPE_M, PIPE_MTE1, EVENT_ID3
  set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID1
  wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID1
  pipe_barrier PIPE_V
  pipe_barrier PIPE_ALL
  pipe_barrier PIPE_S
  pipe_barrier PIPE_M
  pipe_barrier PIPE_MTE1
  pipe_barrier PIPE_MTE2
  pipe_barrier PIPE_MTE3
  pipe_barrier PIPE_FIX
  sync_all
  copy_gm_to_cbuf l1[0], gm[x1], nburst=1, burst=16, src_gap=3, dst_gap=5
  copy_gm_to_ubuf ub[x4+32], gm[x1-32], dst_gap=x5, nburst=x3, src_gap=2, burst=x4
  load_cbuf_to_ca l0a[0], l1[0], repeat=4, transpose=1, dst_gap=x2, src_stride=0
  load_cbuf_to_cb l0b[512], l1[2048], repeat=x4, src_stride=4, dst_gap=1, transpose=1
  copy_cbuf_to_ubuf ub[0], l1[0x100], nburst=2, burst=3, src_gap=1, dst_gap=4
  mad.f16 l0c[0], l0a[0], l0b[0], m=16, k=32, n=16
  mad.bf16 l0c[1024], l0a[512], l0b[512], m=x4, k=x5, n=32, init=0
  mad.s8 l0c[0], l0a[0], l0b[0], m=16, k=64, n=16, init=1
  set_vector_mask 0xffffffffffffffff, 0xffffffffffffffff
  set_vector_mask x4, x5+1
  set_vector_mask 0, -1
  vadd.f16 ub[0], ub[256], ub[512], repeat=1
  vadd.f32 ub[0], ub[256], ub[512], repeat=1, dst_blk=2, src0_blk=3, src1_blk=4, dst_rep=16, src0_rep=24, src1_rep=32
  vadd.s32 ub[0], ub[256], ub[512], repeat=1
  vsub.f32 ub[0], ub[256], ub[512], repeat=2, dst_blk=2, src0_blk=3, src1_blk=4, dst_rep=16, src0_rep=24, src1_rep=x6
  vmul.f16 ub[x4], ub[x5], ub[x6], repeat=x7, dst_blk=x1, src0_blk=x2, src1_blk=x3, dst_rep=x4, src0_rep=x5, src1_rep=x6
  vdiv.f32 ub[0], ub[256], ub[512], repeat=1, dst_blk=0, src0_blk=0, src1_blk=0, dst_rep=0, src0_rep=0, src1_rep=0
  vmax.s32 ub[0], ub[256], ub[512], repeat=1, src1_blk=0, dst_blk=2, src0_blk=2, dst_rep=1, src0_rep=1, src1_rep=1
  vmin.f16 ub[0], ub[256], ub[512], repeat=255, dst_rep=0, dst_blk=3, src0_blk=3, src1_blk=3, src0_rep=2, src1_rep=2
  vexp.f16 ub[0], ub[256], repeat=1, dst_blk=2, src0_blk=2, dst_rep=4, src0_rep=0
  vln.f32 ub[0], ub[256], repeat=1, src0_blk=2, dst_rep=9, dst_blk=x1, src0_rep=x2
  vabs.f16 ub[0], ub[256], repeat=1, dst_blk=2, src0_blk=2, dst_rep=16, src0_rep=16
  vrec.f32 ub[0], ub[256], repeat=1, dst_blk=2, src0_blk=2, dst_rep=16, src0_rep=16
  vsqrt.f16 ub[0], ub[256], repeat=1, dst_blk=2, src0_blk=2, dst_rep=16, src0_rep=16
  vrsqrt.f32 ub[0], ub[256], repeat=1, dst_blk=2, src0_blk=2, dst_rep=16, src0_rep=16
  vrelu.f16 ub[0], ub[256], repeat=1, dst_blk=2, src0_blk=2, dst_rep=16, src0_rep=16
  vadds.f16 ub[0], ub[256], 1.5, repeat=1
  vadds.s32 ub[0], ub[256], -2147483648, repeat=1, dst_blk=2, src0_blk=2, dst_rep=16, src0_rep=16
  vmuls.f32 ub[0], ub[256], -0.125, repeat=1, dst_rep=4, dst_blk=2, src0_blk=3, src0_rep=5
  vmaxs.s32 ub[0], ub[256], -7, repeat=1, dst_blk=2, src0_blk=2, dst_rep=16, src0_rep=16
  vmins.f32 ub[0], ub[0], 0f7F800000, repeat=1
  vmins.f16 ub[0], ub[0], 3, repeat=1, dst_blk=2, src0_blk=2, dst_rep=16, src0_rep=16
  vector_dup.f16 ub[0], 0, repeat=4, dst_blk=1, dst_rep=8
  vector_dup.s32 ub[0], 2147483647, repeat=x3, dst_rep=16, dst_blk=3
  vector_dup.f32 ub[0], 1e-5, repeat=1
  vcadd.f32 ub[0], ub[256], repeat=2, src0_blk=2, src0_rep=16
  vcmax.f16 ub[0], ub[256], repeat=1, src0_blk=0, src0_rep=1
  vcmin.f16 ub[0], ub[256], repeat=1, src0_blk=x1, src0_rep=x2
  vconv.f16.f32 ub[0], ub[256], repeat=2, dst_rep=4
  vconv.f32.f16 ub[0], ub[256], repeat=2, src0_rep=4, round=a
  vconv.bf16.f32 ub[0], ub[256], repeat=1, round=f
  vconv.f32.bf16 ub[0], ub[256], repeat=1, round=c
  vconv.s32.f32 ub[0], ub[256], repeat=1, round=z
  vconv.f32.s32 ub[0], ub[256], repeat=1, round=rn
  vconv.s32.f16 ub[0], ub[256], repeat=1, dst_blk=2, src0_blk=2
  vconv.f16.s32 ub[0], ub[256], repeat=1
  copy_matrix_cc_to_ubuf ub[0], l0c[0], nburst=1, burst=4, src_gap=1, dst_gap=2, conv=f322f16
  copy_matrix_cc_to_ubuf ub[16], l0c[0], nburst=1, burst=4, relu=1, shift=12, conv=req8, mul=x6
  fixpipe gm[x2], l0c[0], m=16, n=16, dst_stride=32, conv=f322bf16
  fixpipe gm[x2], l0c[0], m=16, n=16, dst_stride=64, conv=req8, mul=-3, shift=x7+1, relu=1
  fixpipe gm[x2+64], l0c[0], m=x4, n=16, dst_stride=x5
  copy_ubuf_to_gm gm[x2], ub[0], nburst=1, burst=8, src_gap=x1, dst_gap=-1
  vbrcb.f32 ub[x4], ub[256], repeat=2, dst_blk=2, dst_rep=16
  set_fmatrix h=56, w=x5, pad_t=1, pad_l=2
  img2col_cbuf_to_ca l0a[512], l1[x6+32], kh=3, kw=3, stride_h=2, stride_w=x7, ow=28, m=x8, k=4, repeat=9
  ld_ub x9, ub[x4+8]
  end
)";

// A realistic vector kernel, the fixture tests/fixtures/davinci/add_custom.s without its leading
// comment lines: z = x + y in f16, each block adding `pairs` pairs of 2048-element tiles,
// double-buffered (ping: EVENT_ID0, pong: EVENT_ID1), so that MTE2 loads one tile while the
// vector unit adds the other and MTE3 stores a third.
std::string vector_add() {
  std::string text =
      xpusim::test::read_text(XPUSIM_SOURCE_DIR "/tests/fixtures/davinci/add_custom.s");
  while (text.compare(0, 2, "//") == 0) text.erase(0, text.find('\n') + 1);
  return text;
}

const char* kGemm = R"(.kernel gemm
.param a, x1
.param b, x2
.param c, x3
  copy_gm_to_cbuf l1[0], gm[x1], nburst=1, burst=32
  copy_gm_to_cbuf l1[1024], gm[x2], nburst=1, burst=32
  set_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID0
  wait_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID0
  load_cbuf_to_ca l0a[0], l1[0], repeat=2
  load_cbuf_to_cb l0b[0], l1[1024], repeat=2
  set_flag PIPE_MTE1, PIPE_M, EVENT_ID0
  wait_flag PIPE_MTE1, PIPE_M, EVENT_ID0
  mad.f16 l0c[0], l0a[0], l0b[0], m=16, k=32, n=16
  set_flag PIPE_M, PIPE_FIX, EVENT_ID0
  wait_flag PIPE_M, PIPE_FIX, EVENT_ID0
  fixpipe gm[x3], l0c[0], m=16, n=16, dst_stride=64
  end
)";

// assemble -> disassemble -> assemble gives the same kernel and text; encode -> decode too.
void check_round_trip(const Kernel& k) {
  const std::string text = disassemble(k);
  INFO(text);
  const Kernel again = assemble(text, "again.s");
  CHECK(again.name == k.name);
  REQUIRE(again.params.size() == k.params.size());
  for (size_t i = 0; i < k.params.size(); ++i) {
    CHECK(again.params[i].name == k.params[i].name);
    CHECK(again.params[i].reg == k.params[i].reg);
  }
  CHECK(again.code == k.code);
  CHECK(disassemble(again) == text);
  const std::vector<uint8_t> bytes = encode(k);
  const Kernel back = decode(bytes, "k.bin");
  CHECK(back.name == k.name);
  CHECK(back.params.size() == k.params.size());
  CHECK(back.code == k.code);
  CHECK(encode(back) == bytes);
}

}  // namespace

TEST_CASE("davinci operand table: one entry per opcode, in order", "[unit]") {
  const auto& ops = detail::all_ops();
  REQUIRE(ops.size() == size_t(Op::ld_ub) + 1);
  for (size_t i = 0; i < ops.size(); ++i) CHECK(ops[i].op == Op(i));
  CHECK(detail::find_op(Op(200)) == nullptr);
}

TEST_CASE("davinci asm: every opcode, key, type and enum value", "[unit]") {
  const Kernel k = assemble(kAllOps, "all.s");
  CHECK(k.name == "all_ops");
  REQUIRE(k.params.size() == 3);
  CHECK((k.params[0].name == "a" && k.params[0].reg == 1));
  CHECK((k.params[2].name == "n" && k.params[2].reg == 3));
  const auto& c = k.code;
  REQUIRE(c.size() == 97);

  // Coverage: every opcode, and every key of each opcode away from its default somewhere.
  std::set<Op> ops;
  for (const Instr& in : c) ops.insert(in.op);
  CHECK(ops.size() == detail::all_ops().size());
  for (const detail::OpDef& def : detail::all_ops()) {
    for (const detail::Key& key : def.keys) {
      bool seen = false;
      for (const Instr& in : c)
        seen = seen || (in.op == def.op && !(detail::get_key(in, key.slot) == imm(key.dflt)));
      INFO(op_name(def.op) << " " << key.name);
      CHECK(seen);
    }
  }

  // Scalar operands.
  CHECK((c[0].op == Op::mov && c[0].rd == 4 && c[0].a == imm(64) && c[0].line == 7));
  CHECK(c[1].a == reg(1, 256));
  CHECK((c[2].op == Op::add && c[2].rd == 6 && c[2].a == reg(4) && c[2].b == reg(5)));
  CHECK(c[3].b == imm(-3));
  CHECK(c[4].b == imm(0x40));
  CHECK(c[5].b == reg(4, -1));
  CHECK((c[9].op == Op::and_ && c[10].op == Op::or_ && c[11].op == Op::xor_));
  CHECK((c[14].op == Op::get_block_idx && c[14].rd == 9 && c[15].rd == 10));
  // Branches: forward and backward labels, targets as instruction indexes.
  CHECK((c[16].op == Op::beq && c[16].a == reg(9) && c[16].b == imm(0) && c[16].target == 22));
  CHECK((c[17].op == Op::bne && c[17].b == reg(10) && c[17].target == 0));
  CHECK((c[19].b == reg(3, 1) && c[19].target == 23));
  CHECK((c[22].op == Op::jmp && c[22].target == 23 && c[22].line == 29));
  // Synchronisation.
  CHECK((c[23].op == Op::set_flag && c[23].p1 == Pipe::mte2 && c[23].p2 == Pipe::v &&
         c[23].event == 0));
  CHECK((c[25].p1 == Pipe::s && c[25].p2 == Pipe::fix && c[25].event == 7));
  CHECK((c[31].op == Op::pipe_barrier && c[31].p1 == Pipe::v && c[32].p1 == Pipe::all));
  CHECK(c[39].op == Op::sync_all);
  // Copies and loads: keys into n0..n3, defaults filled in.
  CHECK((c[40].dst == Addr{Buf::l1, imm(0)} && c[40].src0 == Addr{Buf::gm, reg(1)} &&
         c[40].n0 == imm(1) && c[40].n1 == imm(16) && c[40].n2 == imm(3) && c[40].n3 == imm(5)));
  CHECK((c[41].dst == Addr{Buf::ub, reg(4, 32)} && c[41].src0 == Addr{Buf::gm, reg(1, -32)} &&
         c[41].n0 == reg(3) && c[41].n1 == reg(4) && c[41].n2 == imm(2) && c[41].n3 == reg(5)));
  CHECK((c[42].n0 == imm(4) && c[42].n1 == imm(0) && c[42].n2 == reg(2) && c[42].flag));
  CHECK((c[43].dst.buf == Buf::l0b && c[43].n0 == reg(4) && c[43].n1 == imm(4) &&
         c[43].n2 == imm(1) && c[43].flag));
  // mad: m, k, n; init defaults to 1.
  CHECK((c[45].op == Op::mad && c[45].ty == Ty::f16 && c[45].dst.buf == Buf::l0c &&
         c[45].src0.buf == Buf::l0a && c[45].src1.buf == Buf::l0b && c[45].n0 == imm(16) &&
         c[45].n1 == imm(32) && c[45].n2 == imm(16) && c[45].flag));
  CHECK((c[46].ty == Ty::bf16 && !c[46].flag && c[46].n0 == reg(4)));
  CHECK((c[47].ty == Ty::s8 && c[47].flag));
  // set_vector_mask: hi in a, lo in b; a 64-bit hex mask keeps its bits.
  CHECK((c[48].a == imm(-1) && c[48].b == imm(-1)));
  CHECK((c[49].a == reg(4) && c[49].b == reg(5, 1)));
  // Vector ops: repeat in n0, strides in blk[] / rep[] with their defaults.
  CHECK((c[51].ty == Ty::f16 && c[51].n0 == imm(1) && c[51].blk[0] == imm(1) &&
         c[51].rep[2] == imm(8)));
  CHECK((c[53].ty == Ty::s32));
  CHECK((c[54].blk[0] == imm(2) && c[54].blk[1] == imm(3) && c[54].blk[2] == imm(4) &&
         c[54].rep[0] == imm(16) && c[54].rep[1] == imm(24) && c[54].rep[2] == reg(6)));
  CHECK((c[55].dst.at == reg(4) && c[55].n0 == reg(7)));
  CHECK((c[66].op == Op::vadds && c[66].b == imm(f32_bits(1.5f))));
  CHECK((c[67].ty == Ty::s32 && c[67].b == imm(INT32_MIN)));
  CHECK(c[68].b == imm(f32_bits(-0.125f)));
  CHECK(c[69].b == imm(-7));  // s32: the integer itself
  CHECK(c[70].b == imm(0x7f800000));
  CHECK(c[71].b == imm(f32_bits(3.0f)));
  CHECK((c[72].op == Op::vector_dup && c[72].b == imm(0) && c[72].n0 == imm(4)));
  CHECK((c[73].b == imm(2147483647) && c[73].blk[0] == imm(3) && c[73].rep[0] == imm(16)));
  CHECK(c[74].b == imm(f32_bits(1e-5f)));
  CHECK((c[75].op == Op::vcadd && c[75].blk[1] == imm(2) && c[75].rep[1] == imm(16)));
  // vconv: destination type, source type, round.
  CHECK((c[78].op == Op::vconv && c[78].ty == Ty::f16 && c[78].ty2 == Ty::f32 &&
         c[78].round == Round::rn));
  CHECK((c[79].ty == Ty::f32 && c[79].ty2 == Ty::f16 && c[79].round == Round::a));
  CHECK((c[80].round == Round::f && c[81].round == Round::c && c[82].round == Round::z));
  CHECK((c[86].op == Op::copy_matrix_cc_to_ubuf && c[86].conv == Conv::f322f16 &&
         c[86].n2 == imm(1) && c[86].n3 == imm(2)));
  CHECK((c[87].conv == Conv::req8 && c[87].blk[0] == reg(6) && c[87].b == imm(12) && c[87].flag &&
         c[87].dst == Addr{Buf::ub, imm(16)}));
  CHECK(
      (c[89].conv == Conv::req8 && c[89].blk[0] == imm(-3) && c[89].b == reg(7, 1) && c[89].flag));
  CHECK((c[88].op == Op::fixpipe && c[88].conv == Conv::f322bf16 && c[88].n0 == imm(16) &&
         c[88].n1 == imm(16) && c[88].n2 == imm(32) && c[88].dst == Addr{Buf::gm, reg(2)}));
  CHECK((c[90].n0 == reg(4) && c[90].n2 == reg(5) && c[90].conv == Conv::none));
  CHECK((c[91].op == Op::copy_ubuf_to_gm && c[91].dst.buf == Buf::gm && c[91].src0.buf == Buf::ub));
  CHECK((c[92].op == Op::vbrcb && c[92].ty == Ty::f32 && c[92].dst == Addr{Buf::ub, reg(4)} &&
         c[92].n0 == imm(2) && c[92].blk[0] == imm(2) && c[92].rep[0] == imm(16)));
  CHECK((c[93].op == Op::set_fmatrix && c[93].n0 == imm(56) && c[93].n1 == reg(5) &&
         c[93].n2 == imm(1) && c[93].n3 == imm(2)));
  CHECK((c[94].op == Op::img2col_cbuf_to_ca && c[94].dst == Addr{Buf::l0a, imm(512)} &&
         c[94].src0 == Addr{Buf::l1, Val{6, 32}} && c[94].blk[0] == imm(3) &&
         c[94].blk[1] == imm(3) && c[94].blk[2] == imm(2) && c[94].rep[0] == reg(7) &&
         c[94].n1 == imm(28) && c[94].n2 == reg(8) && c[94].n3 == imm(4) && c[94].n0 == imm(9)));
  CHECK((c[95].op == Op::ld_ub && c[95].rd == 9 && c[95].src0 == Addr{Buf::ub, Val{4, 8}}));
  CHECK(c.back().op == Op::end);
  CHECK(c.back().line == 104);

  // The canonical text: keys in table order, defaults left out, generated labels.
  const std::string text = disassemble(k);
  CHECK(text.rfind(".kernel all_ops\n.param a, x1\n.param b, x2\n.param n, x3\nL0:\n"
                   "  mov x4, 64\n  mov x5, x1+256\n",
                   0) == 0);
  CHECK_THAT(text, Contains("  sub x6, x6, -3\n  mul x6, x6, 64\n  div x6, x6, x4-1\n"));
  CHECK_THAT(text, Contains("  beq x9, 0, L22\n  bne x9, x10, L0\n"));
  CHECK_THAT(text, Contains("L22:\n  jmp L23\nL23:\n  set_flag PIPE_MTE2, PIPE_V, EVENT_ID0\n"));
  CHECK_THAT(text, Contains("  pipe_barrier PIPE_ALL\n"));
  CHECK_THAT(text, Contains("  copy_gm_to_ubuf ub[x4+32], gm[x1-32], nburst=x3, burst=x4, "
                            "src_gap=2, dst_gap=x5\n"));
  CHECK_THAT(text, Contains("  load_cbuf_to_ca l0a[0], l1[0], repeat=4, src_stride=0, dst_gap=x2, "
                            "transpose=1\n"));
  CHECK_THAT(text, Contains("  load_cbuf_to_cb l0b[512], l1[2048], repeat=x4, src_stride=4, "
                            "dst_gap=1, transpose=1\n"));
  CHECK_THAT(text, Contains("  copy_cbuf_to_ubuf ub[0], l1[256], nburst=2, burst=3, src_gap=1, "
                            "dst_gap=4\n"));
  CHECK_THAT(text, Contains("  mad.f16 l0c[0], l0a[0], l0b[0], m=16, k=32, n=16\n"));
  CHECK_THAT(text, Contains("  mad.bf16 l0c[1024], l0a[512], l0b[512], m=x4, k=x5, n=32, "
                            "init=0\n"));
  CHECK_THAT(text, Contains("  set_vector_mask 0xffffffffffffffff, 0xffffffffffffffff\n"
                            "  set_vector_mask x4, x5+0x1\n"
                            "  set_vector_mask 0x0, 0xffffffffffffffff\n"));
  CHECK_THAT(text, Contains("  vsub.f32 ub[0], ub[256], ub[512], repeat=2, dst_blk=2, "
                            "src0_blk=3, src1_blk=4, dst_rep=16, src0_rep=24, src1_rep=x6\n"));
  CHECK_THAT(text, Contains("  vmin.f16 ub[0], ub[256], ub[512], repeat=255, dst_blk=3, "
                            "src0_blk=3, src1_blk=3, dst_rep=0, src0_rep=2, src1_rep=2\n"));
  CHECK_THAT(text, Contains("  vadds.f16 ub[0], ub[256], 1.5, repeat=1\n"));
  CHECK_THAT(text, Contains("  vmuls.f32 ub[0], ub[256], -0.125, repeat=1, dst_blk=2, "
                            "src0_blk=3, dst_rep=4, src0_rep=5\n"));
  CHECK_THAT(text, Contains("  vmaxs.s32 ub[0], ub[256], -7, repeat=1, dst_blk=2, src0_blk=2, "
                            "dst_rep=16, src0_rep=16\n"));
  CHECK_THAT(text, Contains("  vmins.f32 ub[0], ub[0], 0f7F800000, repeat=1\n"));
  CHECK_THAT(text, Contains("  vector_dup.f16 ub[0], 0, repeat=4\n"));
  CHECK_THAT(text, Contains("  vector_dup.f32 ub[0], 9.99999975e-06, repeat=1\n"));
  CHECK_THAT(text, Contains("  vcadd.f32 ub[0], ub[256], repeat=2, src0_blk=2, src0_rep=16\n"));
  CHECK_THAT(text, Contains("  vconv.f16.f32 ub[0], ub[256], repeat=2, dst_rep=4\n"));
  CHECK_THAT(text, Contains("  vconv.f32.f16 ub[0], ub[256], repeat=2, src0_rep=4, round=a\n"));
  CHECK_THAT(text, Contains("  vconv.f32.s32 ub[0], ub[256], repeat=1\n"));
  CHECK_THAT(text, Contains("  copy_matrix_cc_to_ubuf ub[0], l0c[0], nburst=1, burst=4, "
                            "src_gap=1, dst_gap=2, conv=f322f16\n"
                            "  copy_matrix_cc_to_ubuf ub[16], l0c[0], nburst=1, burst=4, "
                            "conv=req8, mul=x6, shift=12, relu=1\n"));
  CHECK_THAT(text, Contains("  fixpipe gm[x2], l0c[0], m=16, n=16, dst_stride=64, conv=req8, "
                            "mul=-3, shift=x7+1, relu=1\n"));
  CHECK_THAT(text, Contains("  fixpipe gm[x2], l0c[0], m=16, n=16, dst_stride=32, "
                            "conv=f322bf16\n"));
  CHECK_THAT(text, Contains("  fixpipe gm[x2+64], l0c[0], m=x4, n=16, dst_stride=x5\n"));
  CHECK_THAT(text, Contains("  copy_ubuf_to_gm gm[x2], ub[0], nburst=1, burst=8, src_gap=x1, "
                            "dst_gap=-1\n  vbrcb.f32 ub[x4], ub[256], repeat=2, dst_blk=2, "
                            "dst_rep=16\n  set_fmatrix h=56, w=x5, pad_t=1, pad_l=2\n"
                            "  img2col_cbuf_to_ca l0a[512], l1[x6+32], kh=3, kw=3, stride_h=2, "
                            "stride_w=x7, ow=28, m=x8, k=4, repeat=9\n  ld_ub x9, ub[x4+8]\n"
                            "  end\n"));

  check_round_trip(k);
}

TEST_CASE("davinci asm: a double-buffered vector add and a cube GEMM", "[unit]") {
  const Kernel add = assemble(vector_add(), "add.s");
  CHECK(add.name == "add_custom");
  REQUIRE(add.params.size() == 4);
  CHECK((add.params[3].name == "pairs" && add.params[3].reg == 4));
  REQUIRE(add.code.size() == 38);
  CHECK((add.code[34].op == Op::blt && add.code[34].target == 10));
  // The instructions enter the pipes the flags name.
  for (const Instr& in : add.code) {
    INFO(op_name(in.op) << " line " << in.line);
    if (in.op == Op::copy_gm_to_ubuf) CHECK(pipe_of(in) == Pipe::mte2);
    if (in.op == Op::vadd) CHECK(pipe_of(in) == Pipe::v);
    if (in.op == Op::copy_ubuf_to_gm) CHECK(pipe_of(in) == Pipe::mte3);
    if (in.op == Op::set_flag) CHECK(pipe_of(in) == in.p1);
    if (in.op == Op::wait_flag) CHECK(pipe_of(in) == in.p2);
    if (in.op == Op::add || in.op == Op::blt) CHECK(pipe_of(in) == Pipe::s);
  }
  check_round_trip(add);

  const Kernel gemm = assemble(kGemm, "gemm.s");
  REQUIRE(gemm.code.size() == 13);
  const Instr& mad = gemm.code[8];
  CHECK((mad.op == Op::mad && mad.n0 == imm(16) && mad.n1 == imm(32) && mad.n2 == imm(16) &&
         mad.flag && pipe_of(mad) == Pipe::m));
  CHECK(pipe_of(gemm.code[4]) == Pipe::mte1);
  CHECK(pipe_of(gemm.code[11]) == Pipe::fix);
  CHECK(disassemble(gemm) == kGemm);  // already canonical
  check_round_trip(gemm);

  // The registry's tools.
  const isa::IsaTools& tools = isa::find_isa("davinci");
  auto p = tools.assemble(kGemm, "gemm.s");
  CHECK(p->size() == 13);
  CHECK(p->disassemble() == kGemm);
  CHECK(tools.decode(p->encode(), "gemm.bin")->disassemble() == kGemm);
  CHECK(dynamic_cast<const Program&>(*p).kernel.code == gemm.code);
}

TEST_CASE("davinci asm: syntax details", "[unit]") {
  // Blank lines and comments before .kernel, labels on their own line or before an
  // instruction, several labels at one place, a kernel with no parameters, block comments.
  const Kernel k = assemble(
      "\n# head\n// more\n.kernel k2\na: b:\nc: mov x0, x31 /* block */\n"
      "  jmp b\n  beq x1, x2-9223372036854775808, c\n  bne x1, 18446744073709551615, a\n"
      "  add x1, x1, 0x7fffffffffffffff\n  end",
      "s.s");
  CHECK(k.params.empty());
  REQUIRE(k.code.size() == 6);
  CHECK((k.code[0].a == reg(31) && k.code[0].line == 6));
  CHECK(k.code[1].target == 0);
  CHECK(k.code[2].b == reg(2, INT64_MIN));
  CHECK(k.code[3].b == imm(-1));
  CHECK(k.code[4].b == imm(INT64_MAX));
  const std::string text = disassemble(k);
  CHECK_THAT(text, Contains("  beq x1, x2-9223372036854775808, L0\n  bne x1, -1, L0\n"));
  check_round_trip(k);
  // Spaces inside operands are optional.
  const Kernel spaced = assemble(
      ".kernel s\n mov x1 , x2 + 4\n vadd.f16 ub [ x1 - 4 ] ,ub[0],"
      "ub[0],repeat = 1\n end",
      "s.s");
  CHECK(spaced.code[0].a == reg(2, 4));
  CHECK(spaced.code[1].dst.at == reg(1, -4));
}

TEST_CASE("davinci asm: diagnostics", "[unit]") {
  // Kernel and parameters.
  CHECK(asm_error("") ==
        "k.s:1:1: expected .kernel NAME (a program starts with its kernel), "
        "found end of file");
  CHECK(asm_error("\n  mov x1, 2\n  end\n") ==
        "k.s:2:3: expected .kernel NAME (a program starts with its kernel), found 'mov'");
  CHECK(asm_error(".kernel\n") == "k.s:1:8: expected a kernel name, found end of line");
  CHECK(asm_error(".kernel 3\n") == "k.s:1:9: expected a kernel name, found '3'");
  CHECK(asm_error(".kernel a b\n") ==
        "k.s:1:11: expected end of line after the kernel name, found 'b'");
  CHECK(asm_error(".kernel k\n  end\n.kernel k2\n") ==
        "k.s:3:1: duplicate .kernel: a program is one kernel (.kernel k at line 1)");
  CHECK(asm_error(".kernel k\n.param a, x1\n.param a, x2\n  end") ==
        "k.s:3:8: duplicate parameter a");
  CHECK(asm_error(".kernel k\n.param a, x1\n.param b, x1\n  end") ==
        "k.s:3:11: register x1 already holds parameter a");
  CHECK(asm_error(".kernel k\n.param a, x32\n  end") ==
        "k.s:2:11: expected a register (x0 to x31), found 'x32'");
  CHECK(asm_error(".kernel k\n.param a x1\n  end") == "k.s:2:10: expected ',', found 'x1'");
  CHECK(asm_error(".kernel k\n  end\n.param a, x1\n") ==
        "k.s:3:1: expected .param before the first instruction and label");
  CHECK(asm_error(".kernel k\n.parm a, x1\n  end") ==
        "k.s:2:1: expected an instruction, a label or .param, found '.parm'");
  CHECK(asm_error(".kernel empty\n# nothing\n") ==
        "k.s:1:1: kernel empty has no instructions: expected at least one, the last end or jmp");
  CHECK(asm_error(".kernel k\nl:\n") ==
        "k.s:1:1: kernel k has no instructions: expected at least one, the last end or jmp");
  CHECK(asm_error(".kernel k\n  end\n  mov x1, 1\n") ==
        "k.s:3:3: the last instruction is mov: expected end or jmp (control must not run past "
        "the end of the kernel)");
  CHECK(asm_error(".kernel k\nl: jmp l\n").empty());  // a kernel may end in a jmp

  // Mnemonics and types.
  CHECK_THAT(body_error("  vfoo.f16 ub[0], ub[0], repeat=1"),
             Contains("k.s:2:3: expected a mnemonic (mov, add, sub, mul, div, rem, shl, shr, "
                      "and, or, xor, min, max, beq, "));
  CHECK_THAT(body_error("  vfoo.f16 ub[0], ub[0], repeat=1"),
             Contains("vconv, set_vector_mask, copy_matrix_cc_to_ubuf, fixpipe, "
                      "copy_ubuf_to_gm, vbrcb, set_fmatrix, img2col_cbuf_to_ca or ld_ub) or a "
                      "label, "
                      "found 'vfoo.f16'"));
  CHECK(body_error("  vmul.s32 ub[0], ub[0], ub[0], repeat=1") ==
        "k.s:2:3: expected vmul.f16 or vmul.f32, found 'vmul.s32'");
  CHECK(body_error("  vadd ub[0], ub[0], ub[0], repeat=1") ==
        "k.s:2:3: expected vadd.f16, vadd.f32 or vadd.s32, found 'vadd'");
  CHECK(body_error("  vadd.f64 ub[0], ub[0], ub[0], repeat=1") ==
        "k.s:2:3: expected vadd.f16, vadd.f32 or vadd.s32, found 'vadd.f64'");
  CHECK(body_error("  mad.f32 l0c[0], l0a[0], l0b[0], m=16, k=16, n=16") ==
        "k.s:2:3: expected mad.f16, mad.bf16 or mad.s8, found 'mad.f32'");
  CHECK(body_error("  vexp.s32 ub[0], ub[0], repeat=1") ==
        "k.s:2:3: expected vexp.f16 or vexp.f32, found 'vexp.s32'");
  CHECK(body_error("  vcadd.s32 ub[0], ub[0], repeat=1") ==
        "k.s:2:3: expected vcadd.f16 or vcadd.f32, found 'vcadd.s32'");
  CHECK(body_error("  vector_dup.bf16 ub[0], 1, repeat=1") ==
        "k.s:2:3: expected vector_dup.f16, vector_dup.f32 or vector_dup.s32, found "
        "'vector_dup.bf16'");
  CHECK(body_error("  vconv.f16.bf16 ub[0], ub[0], repeat=1") ==
        "k.s:2:3: expected vconv.f16.f32, vconv.f32.f16, vconv.bf16.f32, vconv.f32.bf16, "
        "vconv.s32.f32, vconv.f32.s32, vconv.s32.f16, vconv.f16.s32, vconv.s8.f16 or "
        "vconv.f16.s8, found 'vconv.f16.bf16'");
  CHECK_THAT(body_error("  vconv.f16 ub[0], ub[0], repeat=1"), Contains("found 'vconv.f16'"));
  CHECK(body_error("  end.f16") ==
        "k.s:2:3: expected end (without a type suffix), found 'end.f16'");
  CHECK(body_error("  sync_all.") ==
        "k.s:2:3: expected sync_all (without a type suffix), found 'sync_all.'");

  // Memories.
  CHECK(body_error("  mad.f16 l0a[0], l0a[0], l0b[0], m=16, k=16, n=16") ==
        "k.s:2:11: expected l0c[ADDRESS] (the C of mad), found 'l0a'");
  CHECK(body_error("  mad.f16 l0c[0], l1[0], l0b[0], m=16, k=16, n=16") ==
        "k.s:2:19: expected l0a[ADDRESS] (the A of mad), found 'l1'");
  CHECK(body_error("  mad.f16 l0c[0], l0a[0], l0a[0], m=16, k=16, n=16") ==
        "k.s:2:27: expected l0b[ADDRESS] (the B of mad), found 'l0a'");
  CHECK(body_error("  copy_gm_to_ubuf gm[0], gm[0], nburst=1, burst=1") ==
        "k.s:2:19: expected ub[ADDRESS] (the destination of copy_gm_to_ubuf), found 'gm'");
  CHECK(body_error("  copy_gm_to_ubuf ub[0], l1[0], nburst=1, burst=1") ==
        "k.s:2:26: expected gm[ADDRESS] (the source of copy_gm_to_ubuf), found 'l1'");
  CHECK(body_error("  load_cbuf_to_ca l0b[0], l1[0], repeat=1") ==
        "k.s:2:19: expected l0a[ADDRESS] (the destination of load_cbuf_to_ca), found 'l0b'");
  CHECK(body_error("  load_cbuf_to_cb l0b[0], gm[0], repeat=1") ==
        "k.s:2:27: expected l1[ADDRESS] (the source of load_cbuf_to_cb), found 'gm'");
  CHECK(body_error("  copy_cbuf_to_ubuf ub[0], gm[0], nburst=1, burst=1") ==
        "k.s:2:28: expected l1[ADDRESS] (the source of copy_cbuf_to_ubuf), found 'gm'");
  CHECK(body_error("  copy_matrix_cc_to_ubuf ub[0], l0a[0], nburst=1, burst=1") ==
        "k.s:2:33: expected l0c[ADDRESS] (the source of copy_matrix_cc_to_ubuf), found 'l0a'");
  CHECK(body_error("  fixpipe ub[0], l0c[0], m=16, n=16, dst_stride=64") ==
        "k.s:2:11: expected gm[ADDRESS] (the destination of fixpipe), found 'ub'");
  CHECK(body_error("  copy_ubuf_to_gm gm[0], l1[0], nburst=1, burst=1") ==
        "k.s:2:26: expected ub[ADDRESS] (the source of copy_ubuf_to_gm), found 'l1'");
  CHECK(body_error("  vadd.f16 ub[0], ub[0], gm[0], repeat=1") ==
        "k.s:2:26: expected ub[ADDRESS] (the second source of vadd), found 'gm'");
  CHECK(body_error("  vadd.f16 ub(0), ub[0], ub[0], repeat=1") ==
        "k.s:2:14: expected '[', found '('");
  CHECK(body_error("  vadd.f16 ub[0, ub[0], ub[0], repeat=1") ==
        "k.s:2:16: expected ']', found ','");
  CHECK(body_error("  vadd.f16 ub[y], ub[0], ub[0], repeat=1") ==
        "k.s:2:15: expected a value (xN, xN+OFFSET, xN-OFFSET or an integer), found 'y'");

  // Values and registers.
  CHECK(body_error("  mov x32, 1") == "k.s:2:7: expected a register (x0 to x31), found 'x32'");
  CHECK(body_error("  mov x01, 1") == "k.s:2:7: expected a register (x0 to x31), found 'x01'");
  CHECK(body_error("  mov x1, 1.5") ==
        "k.s:2:11: expected a value (xN, xN+OFFSET, xN-OFFSET or an integer), found '1.5'");
  CHECK(body_error("  mov x1, -9223372036854775809") ==
        "k.s:2:11: expected a value (xN, xN+OFFSET, xN-OFFSET or an integer), found "
        "'-9223372036854775809'");
  CHECK(body_error("  mov x1, x2+-4") == "k.s:2:14: expected an offset (0 to 2^64-1), found '-4'");
  CHECK(body_error("  mov x1, x2-9223372036854775809") ==
        "k.s:2:14: expected an offset (0 to 9223372036854775808), found '9223372036854775809'");
  CHECK(body_error("  add x1, 4, 4") == "k.s:2:11: expected a register (x0 to x31), found '4'");
  CHECK(body_error("  add x1, x2+4, 4") == "k.s:2:13: expected ',', found '+'");
  CHECK(body_error("  mov x1") == "k.s:2:9: expected ',', found end of line");
  CHECK(body_error("  vadds.f16 ub[0], ub[0], x1, repeat=1") ==
        "k.s:2:27: expected a number, found 'x1'");
  CHECK(body_error("  vadds.s32 ub[0], ub[0], 1.5, repeat=1") ==
        "k.s:2:27: expected an integer (-2147483648 to 2147483647) for vadds.s32, found '1.5'");
  CHECK(body_error("  vector_dup.s32 ub[0], 2147483648, repeat=1") ==
        "k.s:2:25: expected an integer (-2147483648 to 2147483647) for vector_dup.s32, found "
        "'2147483648'");
  CHECK(body_error("  vector_dup.f32 ub[0], 1e39, repeat=1") ==
        "k.s:2:25: value out of fp32 range: '1e39'");

  // Keys.
  CHECK(body_error("  copy_gm_to_ubuf ub[0], gm[0], nburst=1") ==
        "k.s:2:3: missing key burst (copy_gm_to_ubuf requires nburst, burst)");
  CHECK(body_error("  mad.f16 l0c[0], l0a[0], l0b[0], m=16, n=16") ==
        "k.s:2:3: missing key k (mad requires m, k, n)");
  CHECK(body_error("  fixpipe gm[0], l0c[0], m=16, n=16") ==
        "k.s:2:3: missing key dst_stride (fixpipe requires m, n, dst_stride)");
  CHECK(body_error("  vadd.f16 ub[0], ub[0], ub[0]") ==
        "k.s:2:3: missing key repeat (vadd requires repeat)");
  CHECK(body_error("  copy_gm_to_ubuf ub[0], gm[0], nburst=1, burst=1, stride=2") ==
        "k.s:2:52: expected a key of copy_gm_to_ubuf (nburst, burst, src_gap, dst_gap), "
        "found 'stride'");
  CHECK(body_error("  vexp.f16 ub[0], ub[0], repeat=1, src1_blk=1") ==
        "k.s:2:36: expected a key of vexp (repeat, dst_blk, src0_blk, dst_rep, src0_rep), "
        "found 'src1_blk'");
  CHECK(body_error("  vcadd.f16 ub[0], ub[0], repeat=1, dst_rep=1") ==
        "k.s:2:37: expected a key of vcadd (repeat, src0_blk, src0_rep), found 'dst_rep'");
  CHECK(body_error("  copy_gm_to_ubuf ub[0], gm[0], nburst=1, burst=1, nburst=2") ==
        "k.s:2:52: duplicate key nburst (first given at column 33)");
  CHECK(body_error("  copy_gm_to_ubuf ub[0], gm[0], nburst 1, burst=1") ==
        "k.s:2:40: expected '=', found '1'");
  CHECK(body_error("  copy_gm_to_ubuf ub[0], gm[0], nburst=1 burst=1") ==
        "k.s:2:42: expected ',' or end of line, found 'burst'");
  CHECK(body_error("  copy_gm_to_ubuf ub[0], gm[0], nburst=1, burst=1,") ==
        "k.s:2:51: expected a key of copy_gm_to_ubuf (nburst, burst, src_gap, dst_gap), found end "
        "of line");
  CHECK(body_error("  load_cbuf_to_ca l0a[0], l1[0], repeat=1, transpose=2") ==
        "k.s:2:54: expected 0 or 1 for transpose, found '2'");
  CHECK(body_error("  mad.f16 l0c[0], l0a[0], l0b[0], m=16, k=16, n=16, init=x1") ==
        "k.s:2:58: expected 0 or 1 for init, found 'x1'");
  CHECK(body_error("  vconv.f16.f32 ub[0], ub[0], repeat=1, round=up") ==
        "k.s:2:47: expected rn, a, f, c or z for round, found 'up'");
  CHECK(body_error("  copy_matrix_cc_to_ubuf ub[0], l0c[0], nburst=1, burst=1, conv=f322bf16") ==
        "k.s:2:65: expected none, f322f16 or req8 for conv, found 'f322bf16'");
  CHECK(body_error("  fixpipe gm[0], l0c[0], m=16, n=16, dst_stride=64, conv=f16") ==
        "k.s:2:58: expected none, f322f16, f322bf16 or req8 for conv, found 'f16'");
  CHECK(body_error("  fixpipe gm[0], l0c[0], m=16, n=16, dst_stride=64, relu=2") ==
        "k.s:2:58: expected 0 or 1 for relu, found '2'");
  CHECK(body_error("  end now") ==
        "k.s:2:7: expected end of line (end takes no operands), found "
        "'now'");
  CHECK(body_error("  get_block_idx x1, x2") ==
        "k.s:2:19: expected end of line (get_block_idx takes 1 operand), found ','");
  CHECK(body_error("  set_vector_mask 1, 2, 3") ==
        "k.s:2:23: expected end of line (set_vector_mask takes 2 operands), found ','");

  // Synchronisation.
  CHECK(body_error("  set_flag PIPE_MTE2, PIPE_V, EVENT_ID8") ==
        "k.s:2:31: expected an event (EVENT_ID0 to EVENT_ID7), found 'EVENT_ID8'");
  CHECK(body_error("  wait_flag PIPE_MTE2, PIPE_V, 0") ==
        "k.s:2:32: expected an event (EVENT_ID0 to EVENT_ID7), found '0'");
  CHECK(body_error("  set_flag PIPE_ALL, PIPE_V, EVENT_ID0") ==
        "k.s:2:12: expected a pipe (PIPE_S, PIPE_V, PIPE_M, PIPE_MTE1, PIPE_MTE2, PIPE_MTE3 or "
        "PIPE_FIX) as the source pipe, found 'PIPE_ALL'");
  CHECK(body_error("  wait_flag PIPE_V, PIPE_X, EVENT_ID0") ==
        "k.s:2:21: expected a pipe (PIPE_S, PIPE_V, PIPE_M, PIPE_MTE1, PIPE_MTE2, PIPE_MTE3 or "
        "PIPE_FIX) as the destination pipe, found 'PIPE_X'");
  CHECK(body_error("  pipe_barrier V") ==
        "k.s:2:16: expected a pipe (PIPE_S, PIPE_V, PIPE_M, PIPE_MTE1, PIPE_MTE2, PIPE_MTE3, "
        "PIPE_FIX or PIPE_ALL), found 'V'");

  // Labels.
  CHECK(body_error("  jmp nowhere") == "k.s:2:7: undefined label nowhere");
  CHECK(body_error("  beq x1, 0, 5") == "k.s:2:14: expected a label, found '5'");
  CHECK(body_error("a:\n  mov x1, 1\na: end") ==
        "k.s:4:1: duplicate label a (first defined at line 2)");
  CHECK(asm_error(".kernel k\n  jmp after\nafter:\n") ==
        "k.s:2:7: label after is after the last instruction: expected a label of an instruction");

  // Lexer errors keep their location.
  CHECK(body_error("  mov x1, 0x1g") == "k.s:2:11: malformed number '0x1g'");
  // ';' is not a comment leader in this syntax.
  CHECK(body_error("  mov x1, 1 ; x") ==
        "k.s:2:13: expected end of line (mov takes 2 operands), found ';'");
}

namespace {

std::vector<uint8_t> gemm_bytes() {
  return encode(assemble(kGemm, "gemm.s"));
}

std::string decode_error(const std::vector<uint8_t>& b) {
  return error_of([&] { decode(b, "h.bin"); });
}

// Offsets in gemm_bytes(): magic 8, name "gemm" 4 + 4, 3 params of 4 + 1 + 1 each, count 4.
constexpr size_t kCode = 8 + 8 + 4 + 3 * 6 + 4;
constexpr size_t kRec = 152;

}  // namespace

TEST_CASE("davinci encoding: byte layout", "[unit]") {
  Kernel k;
  k.name = "t";
  k.params = {{"p", 7}};
  Instr in;
  in.op = Op::copy_gm_to_ubuf;
  in.dst = {Buf::ub, reg(3, 0x20)};
  in.src0 = {Buf::gm, reg(1, -1)};
  in.n0 = imm(2);
  in.n1 = reg(4);
  Instr end;
  k.code = {in, end};
  const auto b = encode(k);
  REQUIRE(b.size() == 8 + 5 + 4 + 6 + 4 + 2 * kRec);
  CHECK(std::string(b.begin(), b.begin() + 8) == "XPUDV001");
  const std::vector<uint8_t> head = {1, 0, 0, 0, 't', 1, 0, 0, 0, 1, 0, 0, 0, 'p', 7, 2, 0, 0, 0};
  CHECK(std::vector<uint8_t>(b.begin() + 8, b.begin() + 27) == head);
  const uint8_t* r = b.data() + 27;
  // op, ty, ty2, rd, dst/src0/src1 buf, flag, round, conv, p1, p2, event, target.
  CHECK(std::vector<uint8_t>(r, r + 17) ==
        std::vector<uint8_t>{28, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  // Vals: a, b, dst.at, src0.at, ...: a register byte (0xff: none), then the int64.
  CHECK(std::vector<uint8_t>(r + 17, r + 26) == std::vector<uint8_t>{0xff, 0, 0, 0, 0, 0, 0, 0, 0});
  CHECK(std::vector<uint8_t>(r + 35, r + 44) == std::vector<uint8_t>{3, 0x20, 0, 0, 0, 0, 0, 0, 0});
  CHECK(std::vector<uint8_t>(r + 44, r + 53) ==
        std::vector<uint8_t>{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  CHECK(std::vector<uint8_t>(r + 62, r + 71) == std::vector<uint8_t>{0xff, 2, 0, 0, 0, 0, 0, 0, 0});
  CHECK(std::vector<uint8_t>(r + 71, r + 80) == std::vector<uint8_t>{4, 0, 0, 0, 0, 0, 0, 0, 0});
  // blk[0] (default 1) and rep[2] (default 8), the last Val.
  CHECK(std::vector<uint8_t>(r + 98, r + 107) ==
        std::vector<uint8_t>{0xff, 1, 0, 0, 0, 0, 0, 0, 0});
  CHECK(std::vector<uint8_t>(r + 143, r + 152) ==
        std::vector<uint8_t>{0xff, 8, 0, 0, 0, 0, 0, 0, 0});
  CHECK(b[27 + kRec] == uint8_t(Op::end));
  const Kernel back = decode(b, "t.bin");
  CHECK(back.code == k.code);
  CHECK((back.params.size() == 1 && back.params[0].name == "p" && back.params[0].reg == 7));
  // line and layer are not encoded and not compared.
  Instr other = in;
  other.line = 12;
  other.layer = 3;
  CHECK(other == in);
  other.n3 = imm(1);
  CHECK_FALSE(other == in);
}

TEST_CASE("davinci decode: hostile inputs give an Error naming the file", "[unit]") {
  const auto good = gemm_bytes();
  REQUIRE(good.size() == kCode + 13 * kRec);
  REQUIRE_NOTHROW(decode(good, "h.bin"));
  auto with = [&](size_t at, uint8_t v) {
    auto b = good;
    b.at(at) = v;
    return decode_error(b);
  };
  auto rec = [&](size_t i, size_t byte) { return kCode + i * kRec + byte; };

  // Every truncation is an error, never a crash.
  for (size_t n = 0; n < good.size(); ++n) {
    INFO("first " << n << " bytes");
    CHECK_FALSE(decode_error(std::vector<uint8_t>(good.begin(), good.begin() + long(n))).empty());
  }
  CHECK(decode_error({}) ==
        "h.bin: not a DaVinci program: expected the magic \"XPUDV001\" at "
        "the start");
  CHECK(with(7, '2') ==
        "h.bin: not a DaVinci program: expected the magic \"XPUDV001\" at the "
        "start");
  CHECK(decode_error(std::vector<uint8_t>(good.begin(), good.begin() + 10)) ==
        "h.bin: truncated at byte 8: expected the kernel name (4 bytes), found 2");
  CHECK(decode_error(std::vector<uint8_t>(good.begin(), good.begin() + 14)) ==
        "h.bin: truncated at byte 12: expected the kernel name (4 bytes), found 2");
  CHECK(decode_error(std::vector<uint8_t>(good.begin(), good.end() - 1)) ==
        "h.bin: 1975 bytes after byte 42: expected 13 instructions of 152 bytes");
  auto longer = good;
  longer.push_back(0);
  CHECK(decode_error(longer) ==
        "h.bin: 1977 bytes after byte 42: expected 13 instructions of 152 bytes");

  // Huge counts and lengths: refused before anything is allocated.
  CHECK(with(11, 0xff) ==
        "h.bin: truncated at byte 12: expected the kernel name (4278190084 bytes), found 2006");
  CHECK(with(19, 0xff) ==
        "h.bin: parameter count 4278190083 at byte 16 exceeds what the file holds");
  CHECK(with(kCode - 1, 0xff) ==
        "h.bin: 1976 bytes after byte 42: expected 4278190093 instructions of 152 bytes");
  auto none = std::vector<uint8_t>(good.begin(), good.begin() + kCode);
  none[kCode - 4] = 0;
  CHECK(decode_error(none) == "h.bin: kernel gemm has no instructions: expected at least one");

  // Names and parameters.
  CHECK(with(12, '1') ==
        "h.bin: the kernel name at byte 8 is not a name: expected a letter, "
        "'_' or '$', then letters, digits, '_', '$' or '.'");
  // Parameter i: its name's length at 20 + 6i, the name at 24 + 6i, the register at 25 + 6i.
  CHECK(with(30, 'a') == "h.bin: duplicate parameter a");
  CHECK(with(31, 1) == "h.bin: register x1 holds both parameters a and b");
  CHECK(with(31, 32) == "h.bin: parameter b register 32 at byte 31 is out of range (x0 to x31)");

  // Instruction fields (instruction 8 is the mad, 12 the end).
  const std::string at8 = "h.bin: instruction 8 (byte offset 1258): ";
  CHECK(with(rec(8, 0), 200) == at8 + "unknown opcode 200");
  CHECK(with(rec(8, 1), 2) == at8 + "mad does not take type f32 (it takes f16, bf16 or s8)");
  CHECK(with(rec(8, 1), 9) == at8 + "mad type 9 is out of range (0 to 4)");
  CHECK(with(rec(8, 2), 1) == at8 + "mad does not use field ty2: it must be f16");
  CHECK(with(rec(8, 3), 1) == at8 + "mad does not use field rd: it must be 0");
  CHECK(with(rec(8, 4), 5) == at8 + "mad C must be in l0c, not ub");
  CHECK(with(rec(8, 5), 6) == at8 + "mad A: memory 6 is out of range (0 to 5)");
  CHECK(with(rec(8, 7), 2) == at8 + "flag 2 is not 0 or 1");
  CHECK(with(rec(8, 8), 1) == at8 + "mad does not use field round: it must be rn");
  CHECK(with(rec(8, 13), 1) == at8 + "mad does not use field target: it must be 0");
  CHECK(with(rec(8, 17), 0) == at8 + "mad does not use field a: it must be 0");
  CHECK(with(rec(8, 35), 32) == at8 + "mad C: register 32 is out of range (x0 to x31)");
  CHECK(with(rec(8, 35), 0x80) == at8 + "mad C: register -128 is out of range (x0 to x31)");
  CHECK(with(rec(8, 62), 31).empty());  // m=x31+16: a register is fine
  CHECK(with(rec(8, 89), 0) == at8 + "mad does not use field n3: it must be 0");
  CHECK(with(rec(8, 98), 5) == at8 + "mad does not use field blk[0]: it must be 1");
  // set_flag / wait_flag (instruction 2 and 3), fixpipe (11), end (12).
  const std::string at2 = "h.bin: instruction 2 (byte offset 346): ";
  CHECK(with(rec(2, 10), 7) == at2 +
                                   "set_flag source pipe 7 is out of range (0 to 6: PIPE_S to "
                                   "PIPE_FIX)");
  CHECK(with(rec(2, 11), 9) == at2 +
                                   "set_flag destination pipe 9 is out of range (0 to 6: "
                                   "PIPE_S to PIPE_FIX)");
  CHECK(with(rec(2, 12), 8) == at2 + "set_flag event 8 is out of range (0 to 7)");
  CHECK(with(rec(11, 9), 4) ==
        "h.bin: instruction 11 (byte offset 1714): fixpipe conv 4 is out of range (0 to 3)");
  CHECK(with(rec(12, 0), uint8_t(Op::sync_all)) ==
        "h.bin: instruction 12 (byte offset 1866): the last instruction is sync_all: expected end "
        "or jmp");
  CHECK(with(rec(12, 0), uint8_t(Op::jmp)).empty());  // jmp 0
  auto far = good;
  far[rec(12, 0)] = uint8_t(Op::jmp);
  far[rec(12, 13)] = 13;
  CHECK(decode_error(far) ==
        "h.bin: instruction 12 (byte offset 1866): jmp target 13 is past the last instruction "
        "(12)");
}

TEST_CASE("davinci decode: mutated bytes decode to a valid kernel or give an Error", "[unit]") {
  // A fresh seed each run; rerun a failure with --rng-seed <seed>.
  const uint64_t seed = Catch::rngSeed() ? Catch::rngSeed() : std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const auto good = encode(assemble(kAllOps, "all.s"));
  int decoded = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    auto b = good;
    const int flips = 1 + int(rng() % 3);
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] = uint8_t(rng() >> (f * 8));
    Kernel k;
    try {
      k = decode(b, "m.bin");
    } catch (const Error& e) {
      CHECK_THAT(e.what(), Contains("m.bin: "));
      continue;
    }
    ++decoded;
    INFO("trial " << trial);
    // Whatever decodes is a kernel the tools agree on.
    CHECK(encode(k) == b);
    const std::string text = disassemble(k);
    CHECK(assemble(text, "m.s").code == k.code);
  }
  CHECK(decoded > 0);
}

namespace {

// A random valid instruction for a kernel of `size` instructions, from the operand table.
Instr random_instr(std::mt19937_64& rng, size_t size) {
  auto pick = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
  auto val = [&](bool regs) -> Val {
    int64_t v;
    switch (pick(5)) {
      case 0:
        v = int64_t(pick(600)) - 100;
        break;
      case 1:
        v = INT64_MIN + int64_t(pick(2));
        break;
      case 2:
        v = INT64_MAX - int64_t(pick(2));
        break;
      default:
        v = int64_t(rng());
    }
    return {regs && pick(2) ? int8_t(pick(kRegs)) : int8_t(-1), v};
  };
  const auto& ops = detail::all_ops();
  const detail::OpDef& def = ops[pick(ops.size())];
  Instr in;
  in.op = def.op;
  if (def.takes_pair) {
    const auto& pairs = detail::conv_pairs();
    std::tie(in.ty, in.ty2) = pairs[pick(pairs.size())];
  } else if (!def.types.empty()) {
    in.ty = def.types[pick(def.types.size())];
  }
  for (const detail::Operand& o : def.operands) {
    switch (o.pos) {
      case detail::Pos::rd:
        in.rd = uint8_t(pick(kRegs));
        break;
      case detail::Pos::reg_a:
        in.a = {int8_t(pick(kRegs)), 0};
        break;
      case detail::Pos::val_a:
        in.a = val(true);
        break;
      case detail::Pos::val_b:
        in.b = val(true);
        break;
      case detail::Pos::num_b:
        if (in.ty == Ty::s32) {
          in.b = imm(int32_t(uint32_t(rng())));
        } else {
          // Any fp32 bit pattern: NaN payloads, infinities, -0, subnormals.
          in.b = imm(int64_t(uint32_t(rng())));
        }
        break;
      case detail::Pos::dst:
        in.dst = {o.buf, val(true)};
        break;
      case detail::Pos::src0:
        in.src0 = {o.buf, val(true)};
        break;
      case detail::Pos::src1:
        in.src1 = {o.buf, val(true)};
        break;
      case detail::Pos::pipe1:
        in.p1 = Pipe(pick(kPipes));
        break;
      case detail::Pos::pipe2:
        in.p2 = Pipe(pick(kPipes));
        break;
      case detail::Pos::pipe_b:
        in.p1 = Pipe(pick(kPipes + 1));
        break;
      case detail::Pos::event:
        in.event = uint8_t(pick(8));
        break;
      case detail::Pos::label:
        in.target = uint32_t(pick(size));
        break;
    }
  }
  for (const detail::Key& key : def.keys) {
    if (!key.required && pick(3) == 0) {
      detail::set_key(in, key.slot, imm(key.dflt));
      continue;
    }
    switch (key.kind) {
      case detail::KeyKind::val:
        detail::set_key(in, key.slot, val(true));
        break;
      case detail::KeyKind::bit:
        detail::set_key(in, key.slot, imm(int64_t(pick(2))));
        break;
      case detail::KeyKind::round:
        detail::set_key(in, key.slot, imm(int64_t(pick(detail::kRounds))));
        break;
      case detail::KeyKind::conv: {
        int64_t c;
        do c = int64_t(pick(detail::kConvs));
        while (!(def.convs >> c & 1));
        detail::set_key(in, key.slot, imm(c));
        break;
      }
    }
  }
  return in;
}

}  // namespace

TEST_CASE("davinci asm: random kernels round-trip through text and bytes", "[unit]") {
  const uint64_t seed = Catch::rngSeed() ? Catch::rngSeed() : std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 200; ++trial) {
    Kernel k;
    k.name = "r" + std::to_string(trial);
    for (int p = 0; p < int(rng() % 4); ++p)
      k.params.push_back({"p" + std::to_string(p), uint8_t(31 - p)});
    const size_t n = 1 + rng() % 60;
    for (size_t i = 0; i < n; ++i) k.code.push_back(random_instr(rng, n));
    if (k.code.back().op != Op::jmp) k.code.back() = Instr{};  // end
    INFO("trial " << trial);
    for (const Instr& in : k.code) REQUIRE(detail::check_instr(in).empty());
    check_round_trip(k);
  }
}

TEST_CASE("docs/isa/davinci.md: the examples assemble and match the tests' kernels", "[unit]") {
  std::ifstream f(XPUSIM_SOURCE_DIR "/docs/isa/davinci.md");
  REQUIRE(f);
  std::vector<std::string> blocks;
  bool in_block = false;
  for (std::string line; std::getline(f, line);) {
    if (!in_block && line == "```asm") {
      in_block = true;
      blocks.emplace_back();
    } else if (in_block && line == "```") {
      in_block = false;
    } else if (in_block) {
      blocks.back() += line + "\n";
    }
  }
  REQUIRE(blocks.size() == 3);
  for (const std::string& b : blocks) {
    INFO(b);
    CHECK_NOTHROW(assemble(b, "davinci.md"));
  }
  // The examples are this file's kernels; the GEMM is in canonical form, as the page says.
  CHECK(blocks[1] == vector_add());
  CHECK(blocks[2] == kGemm);
  CHECK(disassemble(assemble(blocks[2], "davinci.md")) == blocks[2]);
}
