// The shared assembler toolkit (lexer, parser helpers, labels) and the TPU ISA tools:
// assembler, disassembler, binary encoding, and their diagnostics.
#include <algorithm>
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include "tests/support.h"

#include "isa/common/lexer.h"
#include "isa/common/parser.h"
#include "isa/tpu/instr.h"
#include "isa/tpu/operands.h"
#include "isa/tpu/semantics.h"
#include "models/core/memory.h"

using namespace xpusim;
using namespace xpusim::isa;
using namespace xpusim::isa::tpu;
using Catch::Matchers::Contains;

namespace {

using xpusim::test::error_of;

struct Tok {
  TokenKind kind;
  std::string text;
  int line;
  int column;
};

std::vector<Tok> lex(const std::string& text, unsigned styles) {
  std::vector<Tok> out;
  for (const Token& t : tokenize(text, "t.s", styles)) {
    CHECK(t.loc.file == "t.s");
    out.push_back({t.kind, t.text, t.loc.line, t.loc.column});
  }
  return out;
}

void check_tokens(const std::vector<Tok>& got, const std::vector<Tok>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("token " << i << " '" << got[i].text << "'");
    CHECK(token_kind_name(got[i].kind) == std::string(token_kind_name(want[i].kind)));
    CHECK(got[i].text == want[i].text);
    CHECK(got[i].line == want[i].line);
    CHECK(got[i].column == want[i].column);
  }
}

std::string asm_error(const std::string& text) {
  return error_of([&] { assemble(text, "p.s"); });
}

uint32_t f32_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

constexpr auto I = TokenKind::ident;
constexpr auto N = TokenKind::integer;
constexpr auto F = TokenKind::floating;
constexpr auto P = TokenKind::punct;
constexpr auto E = TokenKind::eol;
constexpr auto Z = TokenKind::eof;

}  // namespace

TEST_CASE("lexer: PTX declarations, predicates and hex floats", "[unit]") {
  std::string ptx =
      "\t.reg .f32 %f<4>;\n"
      "@%p1 bra $L__BB0_2; // taken\n"
      "mov.b32 %f1, 0f3F800000;\n";
  auto toks = lex(ptx, kSlashComments);
  check_tokens(toks, {{I, ".reg", 1, 2}, {I, ".f32", 1, 7}, {I, "%f", 1, 12},
                      {P, "<", 1, 14},   {N, "4", 1, 15},   {P, ">", 1, 16},
                      {P, ";", 1, 17},   {E, "", 1, 18},    {P, "@", 2, 1},
                      {I, "%p1", 2, 2},  {I, "bra", 2, 6},  {I, "$L__BB0_2", 2, 10},
                      {P, ";", 2, 19},   {E, "", 2, 29},    {I, "mov.b32", 3, 1},
                      {I, "%f1", 3, 9},  {P, ",", 3, 12},   {F, "0f3F800000", 3, 14},
                      {P, ";", 3, 24},   {E, "", 3, 25},    {Z, "", 4, 1}});
  auto t = tokenize(ptx, "k.ptx", kSlashComments);
  CHECK(t[17].f32() == 1.0f);
  CHECK(t[17].value == 1.0);
}

TEST_CASE("lexer: more PTX forms", "[unit]") {
  std::string ptx =
      "ld.global.v4.f32 {%f1, %f2}, [%rd1+-4];\n"
      "/* a block\n   comment */ add.s32 %r1, %r2-4, -0x10;\n"
      "@!%p2 setp.lt.s32 %p1|%p3, %r1, 0d3FF0000000000000; .version 7.8";
  auto t = tokenize(ptx, "k.ptx", kSlashComments);
  std::vector<Tok> got;
  for (const Token& x : t) got.push_back({x.kind, x.text, x.loc.line, x.loc.column});
  check_tokens(got, {{I, "ld.global.v4.f32", 1, 1},
                     {P, "{", 1, 18},
                     {I, "%f1", 1, 19},
                     {P, ",", 1, 22},
                     {I, "%f2", 1, 24},
                     {P, "}", 1, 27},
                     {P, ",", 1, 28},
                     {P, "[", 1, 30},
                     {I, "%rd1", 1, 31},
                     {P, "+", 1, 35},
                     {N, "-4", 1, 36},
                     {P, "]", 1, 38},
                     {P, ";", 1, 39},
                     {E, "", 1, 40},
                     // The block comment swallows its newline: no eol for line 2.
                     {I, "add.s32", 3, 15},
                     {I, "%r1", 3, 23},
                     {P, ",", 3, 26},
                     {I, "%r2", 3, 28},
                     {P, "-", 3, 31},
                     {N, "4", 3, 32},
                     {P, ",", 3, 33},
                     {N, "-0x10", 3, 35},
                     {P, ";", 3, 40},
                     {E, "", 3, 41},
                     {P, "@", 4, 1},
                     {P, "!", 4, 2},
                     {I, "%p2", 4, 3},
                     {I, "setp.lt.s32", 4, 7},
                     {I, "%p1", 4, 19},
                     {P, "|", 4, 22},
                     {I, "%p3", 4, 23},
                     {P, ",", 4, 26},
                     {I, "%r1", 4, 28},
                     {P, ",", 4, 31},
                     {F, "0d3FF0000000000000", 4, 33},
                     {P, ";", 4, 51},
                     {I, ".version", 4, 53},
                     {F, "7.8", 4, 62},
                     {E, "", 4, 65},
                     {Z, "", 4, 65}});
  CHECK(t[10].negative);
  CHECK(t[10].magnitude == 4);
  CHECK(t[21].negative);
  CHECK(t[21].magnitude == 16);
  CHECK(t[34].value == 1.0);
  CHECK(t[37].value == 7.8);
}

TEST_CASE("lexer: numbers, strings and comment styles", "[unit]") {
  // One literal at a time: after an operand, '-' is the subtraction sign.
  auto one = [](const std::string& text) {
    auto t = tokenize(text, "n.s", kHashComments);
    REQUIRE(t.size() == 3);
    return t[0];
  };
  CHECK(one("18446744073709551615").magnitude == UINT64_MAX);
  CHECK(one("0xFFFFffffFFFFFFFF").magnitude == UINT64_MAX);
  auto min64 = one("-9223372036854775808");
  CHECK((min64.negative && min64.magnitude == (uint64_t(1) << 63)));
  CHECK(one("1.5e3").value == 1500.0);
  CHECK(one(".25").value == 0.25);
  CHECK(one("-2.5E-1").value == -0.25);
  CHECK(one("3.").value == 3.0);
  auto e10 = one("1e10");
  CHECK((e10.kind == F && e10.value == 1e10));
  CHECK(std::signbit(one("-0").f32()));
  CHECK(one("-0.0e0").f32() == 0.0f);
  auto s = one("\"a\\\"b\\n\"");
  CHECK(s.kind == TokenKind::string);
  CHECK(s.str == "a\"b\n");
  CHECK(s.text == "\"a\\\"b\\n\"");
  // f32() rounds the text once: 16777217 is halfway and goes to even.
  CHECK(tokenize("16777217", "", 0)[0].f32() == 16777216.0f);
  CHECK(f32_bits(tokenize("1.40129846e-45", "", 0)[0].f32()) == 1u);
  CHECK(f32_bits(tokenize("0f7FC00001", "", 0)[0].f32()) == 0x7fc00001u);

  // Comment styles are chosen per dialect; ';' is punctuation unless selected.
  CHECK(lex("a # b\nc ; d\n", kHashComments | kSemicolonComments).size() == 5);
  auto semi = lex("a ; d // e\n", kSlashComments);
  check_tokens(semi,
               {{I, "a", 1, 1}, {P, ";", 1, 3}, {I, "d", 1, 5}, {E, "", 1, 11}, {Z, "", 2, 1}});
  CHECK(lex("", 0).size() == 1);
}

TEST_CASE("lexer: errors carry file:line:column", "[unit]") {
  auto err = [](const std::string& text, unsigned styles = kHashComments) {
    return error_of([&] { tokenize(text, "e.s", styles); });
  };
  CHECK(err("ok\n  12ab") == "e.s:2:3: malformed number '12ab'");
  CHECK(err("0x") == "e.s:1:1: malformed number '0x'");
  CHECK(err("0f3F80") == "e.s:1:1: malformed number '0f3F80'");
  CHECK(err("1e+") == "e.s:1:1: malformed number '1e'");
  CHECK(err("x 18446744073709551616") == "e.s:1:3: integer out of range (more than 64 bits)");
  CHECK(err("0x10000000000000000") == "e.s:1:1: integer out of range (more than 64 bits)");
  CHECK(err("a `") == "e.s:1:3: unexpected character '`'");
  CHECK(err("a\n\x01") == "e.s:2:1: unexpected byte 0x01");
  CHECK(err(" \"abc\nd\"") ==
        "e.s:1:2: unterminated string (expected '\"' before the end of line)");
  CHECK(err("\"a\\qb\"") == "e.s:1:3: unknown escape in string (expected \\\" \\\\ \\n or \\t)");
  CHECK(err("a\n /* x\n\n", kSlashComments) ==
        "e.s:2:2: unterminated block comment (expected '*/')");
  CHECK(error_of([] { tokenize("1e39", "f.s", 0)[0].f32(); }) ==
        "f.s:1:1: value out of fp32 range: '1e39'");
}

TEST_CASE("parser helpers: expect and labels", "[unit]") {
  TokenStream ts(tokenize("foo = 0x20, -3\nbar", "h.s", kHashComments));
  CHECK(ts.expect(TokenKind::ident, "a name").text == "foo");
  CHECK(error_of([&] { ts.expect(TokenKind::integer, "a number"); }) ==
        "h.s:1:5: expected a number, found '='");
  ts.expect_punct('=');
  CHECK(error_of([&] { ts.expect_uint(0x1f, "a small address"); }) ==
        "h.s:1:7: expected a small address, found '0x20'");
  CHECK(ts.expect_uint(0x20, "an address") == 0x20);
  CHECK(ts.accept_punct(','));
  CHECK(error_of([&] { ts.expect_uint(100, "a size"); }) ==
        "h.s:1:13: expected a size, found '-3'");
  CHECK(error_of([&] { ts.expect_int(-2, 5, "a shift"); }) ==
        "h.s:1:13: expected a shift, found '-3'");
  CHECK(ts.expect_int(INT64_MIN, 0, "an offset") == -3);
  CHECK(error_of([&] { ts.expect_punct(';'); }) == "h.s:1:15: expected ';', found end of line");
  ts.next();
  ts.next();
  CHECK(ts.at(TokenKind::eol));
  ts.next();
  CHECK(ts.at(TokenKind::eof));
  ts.next();  // never moves past eof
  CHECK(ts.at(TokenKind::eof));
  CHECK(error_of([&] { ts.fail("more"); }) == "h.s:2:4: expected more, found end of file");

  LabelTable labels;
  SourceLoc use{"h.s", 1, 5};
  labels.define("later", 7, {"h.s", 3, 1});  // after its use: resolved at the end
  CHECK(labels.resolve("later", use) == 7);
  CHECK(labels.find("nope") == nullptr);
  CHECK(error_of([&] { labels.resolve("nope", use); }) == "h.s:1:5: undefined label nope");
  CHECK(error_of([&] {
          labels.define("later", 9, {"h.s", 8, 2});
        }) == "h.s:8:2: duplicate label later (first defined at line 3)");
}

namespace {

// Every opcode and every enum value at least once.
const char* kAllOps = R"(# every opcode and enum value
top:
  rdhost ub=0x0, dram=0x10000, rows=16, bytes=16          ; stride defaults to bytes
  rdweight dram=0x20000, k=16, n=16, dtype=int8
  rdweight k=8, n=4, dtype=bf16, dram=0xffffffffffffffff, transpose=1, mxu=1  ; stride: k * 2
  matmul ub=0x0, acc=0x0, m=16, k=16, n=16, dtype=int8
body: matmul ub=0x100, acc=0x0, m=4, k=8, n=4, dtype=bf16, mode=acc, keep=1, mxu=1
  activate acc=0x0, ub=0x400, rows=16, cols=16, dtype=int8, func=relu, mult=77, shift=12
  activate acc=0x0, ub=0x500, rows=4, cols=4, dtype=bf16
  vector func=add, dst=0x10, src=0x20, src2=0x30, rows=2, cols=8, dtype=int8
  vector func=mul, dst=0x10, src=0x20, src2=0x30, rows=2, cols=8, dtype=bf16
  vector func=relu, dst=0x10, src=0x20, rows=2, cols=8, dtype=int8
  vector func=gelu, dst=0x10, src=0x20, rows=2, cols=8, dtype=bf16
  vector func=silu, dst=0x10, src=0x20, rows=2, cols=8, dtype=bf16
  vector func=scale, dst=0x10, src=0x20, rows=2, cols=8, dtype=bf16, imm=0.125
  vector func=softmax, dst=0x10, src=0x20, rows=2, cols=8, dtype=bf16, imm=0.5, causal=1, offset=-3
  vector func=layernorm, dst=0x10, src=0x20, src2=0x40, rows=2, cols=8, dtype=bf16, imm=1e-5
  vector func=rmsnorm, dst=0x10, src=0x20, src2=0x40, rows=2, cols=8, dtype=bf16, imm=1e-6
  vector func=rowmax, dst=0x10, src=0x20, rows=2, cols=8, dtype=int8, groups=3
  vector func=rowavg, dst=0x10, src=0x20, rows=2, cols=8, dtype=bf16, imm=0f7F800000, groups=2
  loop target=body, count=3
  rdconv ub=0x800, dram=0x40000, dtype=int8, h=5, w=7, c=3, r=3, s=3, rows=10, cols=27
  rdconv cols=4, rows=2, k0=5, m0=3, pad=lowest, pad_w=2, pad_h=1, stride_w=2, stride_h=3, s=2, r=4, cg=8, c=16, w=65535, h=300, dtype=bf16, dram=0x50000, ub=0x900
  wrhost dram=0x30000, ub=0x400, rows=16, bytes=16, stride=64
  vector func=sigmoid, dst=0x10, src=0x20, rows=2, cols=8, dtype=bf16
  sync
  loop count=2, target=top
  halt
)";

}  // namespace

TEST_CASE("tpu asm: every opcode and enum value", "[unit]") {
  auto p = assemble(kAllOps, "all.s");
  REQUIRE(p.size() == 26);
  CHECK(p[0] == Instr{Opcode::rdhost, DType::int8, 0, 0, 0x10000, 0, 0, 0, 16, 16, 0, 16, 0, 0});
  CHECK(p[0].line == 3);
  CHECK((p[1].stride == 16 && p[1].flags == 0));
  CHECK((p[2].dram == UINT64_MAX && p[2].rows == 8 && p[2].cols == 4 && p[2].stride == 16 &&
         p[2].dtype == DType::bf16 && p[2].flags == 1 && p[2].mxu == 1));
  CHECK(
      (p[3].flags == uint8_t(AccMode::set) && p[4].flags == (uint8_t(AccMode::acc) | kMatmulKeep)));
  CHECK((p[4].ub == 0x100 && p[4].rows == 4 && p[4].k == 8 && p[4].cols == 4 && p[4].line == 7 &&
         p[4].mxu == 1 && p[3].mxu == 0));
  CHECK((p[5].func == uint8_t(ActFunc::relu) && p[5].imm == 77 && p[5].shift == 12));
  CHECK((p[6].func == uint8_t(ActFunc::none) && p[6].imm == 1 && p[6].shift == 0));
  for (int f = 0; f <= int(VecFunc::rowavg); ++f) {
    CHECK(p[7 + f].op == Opcode::vector);
    CHECK(p[7 + f].func == f);
  }
  CHECK(p[12].imm == int32_t(f32_bits(0.125f)));
  CHECK((p[13].flags == 1 && p[13].shift == -3 && p[13].imm == int32_t(f32_bits(0.5f))));
  CHECK(p[14].src2 == 0x40);
  CHECK(p[15].imm == int32_t(f32_bits(1e-6f)));
  CHECK((p[16].k == 3 && p[17].k == 2 && p[15].k == 0));
  CHECK(p[17].imm == int32_t(f32_bits(INFINITY)));
  CHECK((p[18].op == Opcode::loop && p[18].target == 4 && p[18].count == 3));
  // rdconv packs its geometry as instr.h's conv_geom() reads it.
  CHECK(p[19] == Instr{Opcode::rdconv, DType::int8, 0, 0, 0x40000, 0x800, 0, 3, 10, 27, 0,
                       5u << 16 | 7, 3 << 24 | 3 << 16 | 1 << 8 | 1, 0});
  CHECK(p[20] == Instr{Opcode::rdconv, DType::bf16, 0, 1, 0x50000, 0x900, 3, 16, 2, 4, 5,
                       300u << 16 | 65535, 4 << 24 | 2 << 16 | 3 << 8 | 2, 8 << 16 | 1 << 8 | 2});
  CHECK(p[21].stride == 64);
  CHECK((p[22].op == Opcode::vector && p[22].func == uint8_t(VecFunc::sigmoid)));
  CHECK((p[24].op == Opcode::loop && p[24].target == 0 && p[24].count == 2));
  CHECK(p[25].op == Opcode::halt);

  std::string text = disassemble(p);
  CHECK_THAT(text, Contains("L0:\n  rdhost ub=0x0, dram=0x10000, rows=16, bytes=16, stride=16\n"));
  CHECK_THAT(text, Contains("  rdweight dram=0xffffffffffffffff, k=8, n=4, dtype=bf16, stride=16, "
                            "transpose=1, mxu=1\n"));
  CHECK_THAT(text, Contains("L4:\n  matmul ub=0x100, acc=0x0, m=4, k=8, n=4, dtype=bf16, mode=acc, "
                            "keep=1, mxu=1\n"));
  CHECK_THAT(text, Contains("  activate acc=0x0, ub=0x500, rows=4, cols=4, dtype=bf16, "
                            "func=none, mult=1, shift=0, sum=0, gap=0, bias=0, bias_ub=0x0\n"));
  CHECK_THAT(text,
             Contains("  vector func=softmax, dst=0x10, src=0x20, src2=0x0, rows=2, "
                      "cols=8, dtype=bf16, imm=0.5, causal=1, src_fp32=0, offset=-3, groups=0\n"));
  CHECK_THAT(text, Contains("imm=9.99999997e-07,"));
  CHECK_THAT(text, Contains("imm=0f7F800000, causal=0, src_fp32=0, offset=0, groups=2\n"));
  CHECK_THAT(text, Contains("  loop target=L4, count=3\n"));
  CHECK_THAT(text,
             Contains("  rdconv ub=0x900, dram=0x50000, dtype=bf16, h=300, w=65535, c=16, cg=8, "
                      "r=4, s=2, stride_h=3, stride_w=2, pad_h=1, pad_w=2, pad=lowest, m0=3, "
                      "rows=2, k0=5, cols=4\n"));
  CHECK_THAT(text, Contains("  sync\n  loop target=L0, count=2\n  halt\n"));

  auto again = assemble(text, "all2.s");
  CHECK(again == p);
  CHECK(disassemble(again) == text);
  CHECK(decode(encode(p), "all.bin") == p);
}

TEST_CASE("tpu encoding: byte layout", "[unit]") {
  // Every field set (no opcode uses them all: encode() does not validate, decode() does).
  Instr all{Opcode::vector,
            DType::bf16,
            6,
            1,
            0x0102030405060708ull,
            0x11121314,
            0x21222324,
            0x31323334,
            5,
            6,
            7,
            8,
            int32_t(0x3f800000),
            -2};
  auto bytes = encode({all});
  REQUIRE(bytes.size() == 8 + kInstrBytes);
  CHECK(std::string(bytes.begin(), bytes.begin() + 8) == "XPUTPU01");
  std::vector<uint8_t> want = {5,    1,    6,    1,    0x00, 0x00, 0x80, 0x3f, 0x08, 0x07,
                               0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x14, 0x13, 0x12, 0x11,
                               0x24, 0x23, 0x22, 0x21, 0x34, 0x33, 0x32, 0x31, 5,    0,
                               0,    0,    6,    0,    0,    0,    7,    0,    0,    0,
                               8,    0,    0,    0,    0xfe, 0xff, 0xff, 0xff};
  CHECK(std::vector<uint8_t>(bytes.begin() + 8, bytes.end()) == want);
  CHECK(error_of([&] { decode(bytes, "x.bin"); }) ==
        "x.bin: instruction 0 (byte offset 8): vector does not use field dram: it must be 0");

  Instr vec = all;
  vec.dram = 0;
  vec.k = 0;
  vec.stride = 0;
  Instr loop{Opcode::loop};
  loop.count = 9;
  auto back = decode(encode({vec, loop}), "x.bin");
  REQUIRE(back.size() == 2);
  CHECK(back[0] == vec);
  CHECK(back[1] == loop);
  // line and layer are not encoded and not compared.
  Instr other = vec;
  other.line = 12;
  other.layer = 3;
  CHECK(other == vec);
  other.shift = 0;
  CHECK_FALSE(other == vec);
}

namespace {

// A random valid instruction at `index` (a loop needs an earlier instruction to target).
Instr random_instr(std::mt19937_64& rng, size_t index) {
  auto pick = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
  // Small values, boundaries and full-range values all occur.
  auto value = [&](uint64_t max) -> uint64_t {
    switch (pick(4)) {
      case 0:
        return std::min<uint64_t>(pick(300), max);
      case 1:
        return max - pick(3);
      default:
        return max == UINT64_MAX ? rng() : pick(max + 1);
    }
  };
  const auto& ops = detail::all_ops();
  for (;;) {
    const detail::OpDef& def = ops[pick(ops.size())];
    if (def.op == Opcode::loop && index == 0) continue;
    Instr in;
    in.op = def.op;
    for (const detail::Key& key : def.keys) {
      const uint64_t max = detail::key_max(key);
      uint64_t v = 0;
      switch (key.kind) {
        case detail::Kind::count:
          v = 1 + value(max - 1);
          break;
        case detail::Kind::bit:
          v = pick(2);
          break;
        case detail::Kind::label:
          v = pick(index);
          break;
        case detail::Kind::dtype:
        case detail::Kind::act_func:
        case detail::Kind::vec_func:
        case detail::Kind::acc_mode:
        case detail::Kind::pad_mode:
          v = pick(detail::kind_names(key.kind).size());
          break;
        default:  // f32 takes any bit pattern: NaN payloads, infinities, -0, subnormals
          v = value(max);
      }
      detail::set_key(in, key, v);
    }
    if (in.op == Opcode::activate) in.shift = int32_t(pick(63));
    if (detail::check_instr(in).empty()) return in;
  }
}

}  // namespace

TEST_CASE("tpu asm: random programs round-trip through text and bytes", "[unit]") {
  // A fresh seed each run; rerun a failure with --rng-seed <seed>.
  uint64_t seed = Catch::rngSeed() ? Catch::rngSeed() : std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<Instr> p;
    size_t n = 1 + rng() % 40;
    for (size_t i = 0; i < n; ++i) p.push_back(random_instr(rng, i));
    // A loop stays within its core's program (no halt between its target and itself).
    for (size_t i = 0, after_halt = 0; i < n; ++i) {
      if (p[i].op == Opcode::loop && p[i].target < after_halt) p[i].target = uint32_t(after_halt);
      if (p[i].op == Opcode::loop && p[i].target >= i) p[i] = Instr{Opcode::sync};
      if (p[i].op == Opcode::halt) after_halt = i + 1;
    }
    INFO("trial " << trial);
    std::string text = disassemble(p);
    INFO(text);
    auto q = assemble(text, "r.s");
    REQUIRE(q == p);
    CHECK(disassemble(q) == text);
    CHECK(decode(encode(p), "r.bin") == p);
  }
}

TEST_CASE("tpu asm: diagnostics", "[unit]") {
  CHECK(asm_error("\n  mul ub=0\n") ==
        "p.s:2:3: expected a mnemonic (rdhost, rdweight, ldweight, matmul, activate, vector, "
        "rdrows, wrhost, "
        "rdconv, im2col, sync, loop, halt or barrier) or a label, found 'mul'");
  CHECK(asm_error("halt\n  , x\n") ==
        "p.s:2:3: expected a mnemonic (rdhost, rdweight, ldweight, matmul, "
        "activate, vector, rdrows, wrhost, rdconv, im2col, sync, loop, halt or barrier) or a "
        "label, "
        "found ','");
  CHECK(asm_error("rdhost ub=0, drm=4") ==
        "p.s:1:14: expected a key of rdhost (ub, dram, rows, bytes, stride), found 'drm'");
  CHECK(asm_error("sync now") ==
        "p.s:1:6: expected end of line (sync takes no operands), "
        "found 'now'");
  CHECK(asm_error("rdhost ub=0, dram=0, rows=1") ==
        "p.s:1:1: missing key bytes (rdhost requires ub, dram, rows, bytes)");
  CHECK(asm_error("rdhost ub=0, dram=0, rows=1, ub=4, bytes=1") ==
        "p.s:1:30: duplicate key ub (first given at column 8)");
  CHECK(asm_error("rdweight dram=0, k=1, n=1, dtype=fp16") ==
        "p.s:1:34: expected int8, bf16 or fp32 for dtype, found 'fp16'");
  CHECK(asm_error("matmul ub=0, acc=0, m=1, k=1, n=1, dtype=int8, mode=add") ==
        "p.s:1:53: expected set or acc for mode, found 'add'");
  CHECK(asm_error("activate acc=0, ub=0, rows=1, cols=1, dtype=int8, func=gelu") ==
        "p.s:1:56: expected none or relu for func, found 'gelu'");
  CHECK_THAT(
      asm_error("vector func=tanh, dst=0, src=0, rows=1, cols=1, dtype=bf16"),
      Contains("p.s:1:13: expected add, mul, relu, gelu, silu, scale, softmax, "
               "layernorm, rmsnorm, rowmax, rowavg, maxs, mins or sigmoid for func, found 'tanh'"));
  CHECK(asm_error("rdhost ub=0x100000000, dram=0, rows=1, bytes=1") ==
        "p.s:1:11: expected an address (0 to 0xffffffff), found '0x100000000'");
  CHECK(asm_error("rdhost ub=0, dram=0x10000000000000000, rows=1, bytes=1") ==
        "p.s:1:19: integer out of range (more than 64 bits)");
  CHECK(asm_error("rdhost ub=0, dram=-1, rows=1, bytes=1") ==
        "p.s:1:19: expected an address (0 to 0xffffffffffffffff), found '-1'");
  CHECK(asm_error("rdhost ub=0, dram=0, rows=4294967296, bytes=1") ==
        "p.s:1:27: expected a size (0 to 4294967295), found '4294967296'");
  CHECK(asm_error("rdhost ub=0, dram=0, rows=1.5, bytes=1") ==
        "p.s:1:27: expected a size (0 to 4294967295), found '1.5'");
  CHECK(asm_error("activate acc=0, ub=0, rows=1, cols=1, dtype=int8, mult=2147483648") ==
        "p.s:1:56: expected an integer (-2147483648 to 2147483647), found '2147483648'");
  CHECK(asm_error("activate acc=0, ub=0, rows=1, cols=1, dtype=int8, shift=63") ==
        "p.s:1:1: activate shift 63 is out of range (0 to 62)");
  CHECK(asm_error("vector func=scale, dst=0, src=0, rows=1, cols=1, dtype=bf16, imm=x") ==
        "p.s:1:66: expected a number, found 'x'");
  CHECK(asm_error("vector func=softmax, dst=0, src=0, rows=1, cols=1, dtype=bf16, causal=2") ==
        "p.s:1:71: expected 0 or 1, found '2'");
  CHECK(asm_error("vector func=add, dst=0, src=0, rows=1, cols=1, dtype=bf16, causal=1") ==
        "p.s:1:1: vector add does not take causal=1 (only softmax does)");
  CHECK(asm_error("vector func=mul, dst=0, src=0, rows=1, cols=1, dtype=bf16, src_fp32=1") ==
        "p.s:1:1: vector mul does not take src_fp32=1 (only softmax and add do)");
  CHECK(asm_error("vector func=add, dst=0, src=0, rows=1, cols=1, dtype=int8, src_fp32=1") ==
        "p.s:1:1: vector add src_fp32=1 needs dtype bf16 (an fp32 result rounded to it)");
  CHECK(asm_error("\n\n  vector func=gelu, dst=0, src=0, rows=1, cols=1, dtype=int8") ==
        "p.s:3:3: vector gelu needs dtype bf16 (int8 is allowed for add, relu, rowmax, rowavg, "
        "maxs, mins)");
  CHECK(asm_error("vector func=maxs, dst=0, src=0, rows=1, cols=1, dtype=int8, imm=0.5") ==
        "p.s:1:1: vector maxs int8 takes an integer imm in [-128, 127]");
  CHECK(asm_error("rdhost ub=0 dram=0") == "p.s:1:13: expected ',' or end of line, found 'dram'");
  CHECK(asm_error("rdhost ub=0, dram=0, rows=1, bytes=1,") ==
        "p.s:1:38: expected a key of rdhost (ub, dram, rows, bytes, stride), found end of line");
  CHECK(asm_error("rdhost ub 0") == "p.s:1:11: expected '=', found '0'");
  CHECK(asm_error("rdweight dram=0, k=1, n=3000000000, dtype=bf16") ==
        "p.s:1:1: the default stride (a row of the tile) exceeds 32 bits: expected an "
        "explicit stride=");

  CHECK(asm_error("rdweight dram=0, k=1, n=1, dtype=int8, transpose=2") ==
        "p.s:1:50: expected 0 or 1, found '2'");
  CHECK(asm_error("vector func=add, dst=0, src=0, rows=1, cols=1, dtype=int8, groups=2") ==
        "p.s:1:1: vector add does not take groups (only rowmax and rowavg do)");
  CHECK(asm_error("rdconv ub=0, dram=0, dtype=int8, h=65536, w=1, c=1, r=1, s=1, rows=1, cols=1") ==
        "p.s:1:36: expected a count (1 to 65535), found '65536'");
  CHECK(asm_error("rdconv ub=0, dram=0, dtype=int8, h=1, w=1, c=1, r=1, s=1, rows=1, cols=1, "
                  "stride_w=0") == "p.s:1:84: expected a count (1 to 255), found '0'");
  CHECK(asm_error("rdconv ub=0, dram=0, dtype=int8, h=1, w=1, c=1, r=1, s=1, rows=1, cols=1, "
                  "pad_h=256") == "p.s:1:81: expected a size (0 to 255), found '256'");
  CHECK(asm_error("rdconv ub=0, dram=0, dtype=int8, h=1, w=1, c=1, r=1, s=1, rows=1, cols=1, "
                  "pad=min") == "p.s:1:79: expected zero or lowest for pad, found 'min'");
  CHECK(asm_error("rdconv ub=0, dram=0, dtype=int8, h=1, w=1, r=1, s=1, rows=1, cols=1") ==
        "p.s:1:1: missing key c (rdconv requires ub, dram, dtype, h, w, c, r, s, rows, cols)");

  // Labels and loops.
  CHECK(asm_error("a:\nsync\n  a: halt") == "p.s:3:3: duplicate label a (first defined at line 1)");
  CHECK(asm_error("a: sync\nloop target=b, count=2") == "p.s:2:13: undefined label b");
  CHECK(asm_error("a: sync\nloop target=a, count=0") ==
        "p.s:2:22: expected a count (1 to 4294967295), found '0'");
  CHECK(asm_error("sync\nloop target=0, count=1") == "p.s:2:13: expected a label, found '0'");
  CHECK(asm_error("sync\nloop target=b, count=2\nb: halt") ==
        "p.s:2:13: loop target b (instruction 2) is after the loop (instruction 1): expected a "
        "label before it");
  CHECK(asm_error("sync\nb: loop target=b, count=2") ==
        "p.s:2:16: loop target b (instruction 1) is after the loop (instruction 1): expected a "
        "label before it");
  // Lexer errors surface with their location too.
  CHECK(asm_error("halt\nrdhost ub=0x1g") == "p.s:2:11: malformed number '0x1g'");
  // Labels before an instruction, on their own line, and several at one place.
  auto p =
      assemble("a: b:\nc:\n sync ; x\nloop target=b, count=4 # y\nloop count=1, target=c", "ok.s");
  REQUIRE(p.size() == 3);
  CHECK((p[1].target == 0 && p[2].target == 0 && p[1].count == 4 && p[2].line == 5));
}

TEST_CASE("tpu decode: diagnostics name the file and the instruction", "[unit]") {
  Instr mm{Opcode::matmul, DType::int8, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0};
  auto good = encode({mm, mm});
  auto with = [&](size_t byte, uint8_t v) {
    auto b = good;
    b[8 + kInstrBytes + byte] = v;
    return error_of([&] { decode(b, "w.bin"); });
  };
  CHECK(error_of([&] {
          decode({'X', 'P', 'U'}, "w.bin");
        }) == "w.bin: not a TPU program: expected the magic \"XPUTPU01\" at the start");
  auto bad_magic = good;
  bad_magic[7] = '2';
  CHECK_THAT(error_of([&] { decode(bad_magic, "w.bin"); }), Contains("w.bin: not a TPU program"));
  auto short_by_one = good;
  short_by_one.pop_back();
  CHECK(error_of([&] { decode(short_by_one, "w.bin"); }) ==
        "w.bin: size 103 bytes: expected 8 + a multiple of 48");
  CHECK(with(0, 0) == "w.bin: instruction 1 (byte offset 56): unknown opcode 0");
  CHECK(with(0, 15) == "w.bin: instruction 1 (byte offset 56): unknown opcode 15");
  CHECK(with(1, 2) == "");  // fp32 operands: multiplied in bf16 passes
  CHECK(with(1, 3) ==
        "w.bin: instruction 1 (byte offset 56): matmul dtype 3 is out of range (0 to 2)");
  CHECK(with(3, 2) == "");  // keep=1
  CHECK(with(3, 4) ==
        "w.bin: instruction 1 (byte offset 56): matmul does not use bits 0x4 of field flags: it "
        "must be 0");
  CHECK(with(2, 3) == "");  // mxu=3: whether the core has 4 arrays is the model's to check
  CHECK(with(9, 1) ==
        "w.bin: instruction 1 (byte offset 56): matmul does not use field dram: it must be 0");
  CHECK(with(47, 1) ==
        "w.bin: instruction 1 (byte offset 56): matmul does not use field shift: it must be 0");

  Instr act{Opcode::activate, DType::int8, 2, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0};
  CHECK(error_of([&] { decode(encode({act}), "a.bin"); }) ==
        "a.bin: instruction 0 (byte offset 8): activate func 2 is out of range (0 to 1)");
  Instr vec{
      Opcode::vector, DType::int8, uint8_t(VecFunc::softmax), 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0};
  CHECK_THAT(error_of([&] { decode(encode({vec}), "v.bin"); }),
             Contains("v.bin: instruction 0 (byte offset 8): vector softmax needs dtype bf16"));
  vec.func = uint8_t(VecFunc::sigmoid) + 1;
  CHECK(error_of([&] { decode(encode({vec}), "v.bin"); }) ==
        "v.bin: instruction 0 (byte offset 8): vector func 14 is out of range (0 to 13)");
  vec.func = uint8_t(VecFunc::add);
  vec.flags = 4;
  CHECK(error_of([&] { decode(encode({vec}), "v.bin"); }) ==
        "v.bin: instruction 0 (byte offset 8): vector does not use bits 0x4 of field flags: it "
        "must be 0");
  vec.flags = 1;
  CHECK(error_of([&] { decode(encode({vec}), "v.bin"); }) ==
        "v.bin: instruction 0 (byte offset 8): vector add does not take causal=1 (only softmax "
        "does)");

  vec.flags = 0;
  vec.k = 2;
  CHECK(error_of([&] { decode(encode({vec}), "v.bin"); }) ==
        "v.bin: instruction 0 (byte offset 8): vector add does not take groups (only rowmax and "
        "rowavg do)");

  Instr conv{Opcode::rdconv,
             DType::int8,
             0,
             0,
             0,
             0,
             0,
             1,
             1,
             1,
             0,
             1u << 16 | 1,
             1 << 24 | 1 << 16 | 1 << 8 | 1,
             0};
  CHECK(decode(encode({conv}), "c.bin").size() == 1);
  conv.func = 1;
  CHECK(error_of([&] { decode(encode({conv}), "c.bin"); }) ==
        "c.bin: instruction 0 (byte offset 8): rdconv does not use field func: it must be 0");
  conv.func = 0;
  conv.imm = 1 << 24 | 1 << 16 | 1 << 8;
  CHECK(error_of([&] { decode(encode({conv}), "c.bin"); }) ==
        "c.bin: instruction 0 (byte offset 8): rdconv stride_w must be at least 1");
  conv.imm = 1 << 24 | 1 << 16 | 1 << 8 | 1;
  conv.flags = 2;
  CHECK(error_of([&] { decode(encode({conv}), "c.bin"); }) ==
        "c.bin: instruction 0 (byte offset 8): rdconv pad 2 is out of range (0 to 1)");

  Instr loop{Opcode::loop};
  loop.count = 1;
  loop.target = 1;
  CHECK(error_of([&] {
          decode(encode({mm, loop}), "l.bin");
        }) == "l.bin: instruction 1 (byte offset 56): loop target 1 is not before the loop");
  loop.target = 0;
  loop.count = 0;
  CHECK(error_of([&] {
          decode(encode({mm, loop}), "l.bin");
        }) == "l.bin: instruction 1 (byte offset 56): loop count must be at least 1");
  loop.count = 5;
  CHECK(decode(encode({mm, loop}), "l.bin").size() == 2);
  CHECK(decode(encode({}), "empty.bin").empty());
}

TEST_CASE("docs/isa/tpu.md: the examples assemble and the canonical form is the tool's", "[unit]") {
  std::ifstream f(XPUSIM_SOURCE_DIR "/docs/isa/tpu.md");
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
  REQUIRE(blocks.size() >= 2);
  for (const std::string& b : blocks) {
    INFO(b);
    CHECK_NOTHROW(assemble(b, "tpu.md"));
  }
  // The last block is the disassembly of the example before it.
  auto example = assemble(blocks[blocks.size() - 2], "tpu.md");
  CHECK(disassemble(example) == blocks.back());
}

TEST_CASE("tpu asm: ldweight and activate sum/gap round-trip", "[unit]") {
  const char* text =
      "  ldweight ub=0x1200, k=16, n=8, dtype=fp32\n"
      "  ldweight ub=0x40, k=5, n=3, dtype=bf16, transpose=1, mxu=2\n"
      "  ldweight n=4, k=2, dtype=int8, ub=0x10, stride=100, mxu=7\n"
      "  matmul ub=0x0, acc=0x100, m=8, k=16, n=8, dtype=fp32, mode=acc\n"
      "  activate acc=0x0, ub=0x400, rows=8, cols=16, dtype=int8, sum=3, gap=0x800\n"
      "  activate acc=0x0, ub=0x400, rows=8, cols=16, dtype=fp32\n"
      "  halt\n";
  auto p = assemble(text, "ld.s");
  REQUIRE(p.size() == 7);
  // ldweight: rows = k, cols = n, the UB address in ub; the default stride is one tile row
  // (n elements), or one column (k elements) when transposed.
  CHECK(p[0].op == Opcode::ldweight);
  CHECK((p[0].ub == 0x1200 && p[0].rows == 16 && p[0].cols == 8 && p[0].dtype == DType::fp32 &&
         p[0].stride == 8 * 4 && p[0].flags == 0 && p[0].mxu == 0 && p[0].dram == 0));
  CHECK((p[1].rows == 5 && p[1].cols == 3 && p[1].stride == 5 * 2 && p[1].flags == 1 &&
         p[1].mxu == 2));
  CHECK((p[2].stride == 100 && p[2].mxu == 7 && p[2].dtype == DType::int8));
  CHECK((p[3].dtype == DType::fp32 && p[3].flags == uint8_t(AccMode::acc)));
  // activate: sum in k, gap in stride; absent, both 0.
  CHECK((p[4].k == 3 && p[4].stride == 0x800));
  CHECK((p[5].k == 0 && p[5].stride == 0 && p[5].dtype == DType::fp32));

  const std::string dis = disassemble(p);
  CHECK_THAT(dis, Contains("  ldweight ub=0x1200, k=16, n=8, dtype=fp32, stride=32, transpose=0, "
                           "mxu=0\n"));
  CHECK_THAT(dis, Contains("  ldweight ub=0x40, k=5, n=3, dtype=bf16, stride=10, transpose=1, "
                           "mxu=2\n"));
  CHECK_THAT(dis, Contains("sum=3, gap=2048, bias=0, bias_ub=0x0\n"));
  auto again = assemble(dis, "ld2.s");
  CHECK(again == p);
  CHECK(disassemble(again) == dis);
  // The binary: opcode 12 in the first byte, and back.
  const std::vector<uint8_t> bytes = encode(p);
  REQUIRE(bytes.size() == 8 + 7 * size_t(kInstrBytes));
  CHECK(bytes[8] == 12);
  CHECK(bytes[8 + 2 * kInstrBytes] == 12);
  CHECK(decode(bytes, "ld.bin") == p);

  // Diagnostics: ldweight needs ub, k, n and dtype; has no dram; mxu is 8 bits.
  CHECK_THAT(asm_error("ldweight k=1, n=1, dtype=int8"), Contains("ub"));
  CHECK_THAT(asm_error("ldweight ub=0, k=1, n=1, dtype=int8, dram=0"), Contains("dram"));
  CHECK(asm_error("ldweight ub=0, k=1, n=1, dtype=int8, mxu=256") ==
        "p.s:1:42: expected a size (0 to 255), found '256'");
  // fp32 is a matmul's and its weights' dtype, not a copy's.
  CHECK(asm_error("ldweight ub=0, k=1, n=1, dtype=fp32").empty());
  CHECK(asm_error("rdweight dram=0, k=1, n=1, dtype=fp32").empty());
  CHECK_THAT(asm_error("vector func=add, dst=0, src=0, src2=0, rows=1, cols=1, dtype=fp32"),
             Contains("fp32"));
}

TEST_CASE("tpu rdrows: table rows chosen by int32 ids in the UB", "[unit]") {
  ByteStore dram("dram", 4096), ub("ub", 4096);
  std::vector<uint8_t> table(5 * 8);
  for (size_t i = 0; i < table.size(); ++i) table[i] = uint8_t(i);
  dram.write(256, table.data(), table.size());  // 5 rows of 8 bytes, 16 apart below
  std::vector<uint8_t> spaced(5 * 16, 0);
  for (size_t r = 0; r < 5; ++r) std::copy_n(&table[r * 8], 8, &spaced[r * 16]);
  dram.write(1024, spaced.data(), spaced.size());
  const int32_t ids[3] = {4, 0, 2};
  ub.write(0, ids, sizeof ids);
  const std::vector<Instr> p = assemble(
      "rdrows ub=64, dram=1024, ids=0, rows=3, bytes=8, stride=16, table=5\nhalt\n", "r.s");
  REQUIRE(disassemble(p) == disassemble(assemble(disassemble(p), "again.s")));
  exec_rdrows(p[0], dram, ub, "rdrows");
  std::vector<uint8_t> got(24);
  ub.read(64, got.data(), got.size(), "test");
  for (size_t i = 0; i < 3; ++i)
    for (size_t b = 0; b < 8; ++b) CHECK(got[i * 8 + b] == table[size_t(ids[i]) * 8 + b]);
  const int32_t bad = 5;
  ub.write(4, &bad, 4);
  CHECK_THAT(error_of([&] { isa::tpu::exec_rdrows(p[0], dram, ub, "rdrows"); }),
             Contains("id 5 (row 1) is outside the table's 5 rows"));
}

TEST_CASE("tpu im2col: assembly, encoding and its fields", "[unit]") {
  const std::string text =
      "im2col ub=0x900, src=0x100, dtype=bf16, h=300, w=65535, c=16, cg=8, r=4, s=2, "
      "stride_h=3, stride_w=2, pad_h=1, pad_w=2, pad=lowest, h0=7, m0=3, rows=2, k0=5, cols=4\n"
      "halt\n";
  const std::vector<Instr> p = assemble(text, "i.s");
  REQUIRE(p.size() == 2);
  // The geometry packed as rdconv's; the band's address in src, h0 << 32 | m0 in dram.
  CHECK(p[0] == Instr{Opcode::im2col, DType::bf16, 0, 1, uint64_t(7) << 32 | 3, 0x900, 0x100, 16, 2,
                      4, 5, 300u << 16 | 65535, 4 << 24 | 2 << 16 | 3 << 8 | 2,
                      8 << 16 | 1 << 8 | 2});
  CHECK(conv_m0(p[0]) == 3);
  CHECK(conv_h0(p[0]) == 7);
  const std::string canon = disassemble(p);
  CHECK_THAT(canon, Contains("  im2col ub=0x900, src=0x100, dtype=bf16, h=300, w=65535, c=16, "
                             "cg=8, r=4, s=2, stride_h=3, stride_w=2, pad_h=1, pad_w=2, "
                             "pad=lowest, h0=7, m0=3, rows=2, k0=5, cols=4\n"));
  CHECK(assemble(canon, "again.s") == p);
  const std::vector<uint8_t> bin = encode(p);
  CHECK(bin[8] == 14);                                  // the opcode
  CHECK(bin[8 + 8] == 3);                               // m0 in bits 31:0 of dram
  CHECK((bin[8 + 12] == 7 && bin[8 + 13] == 0));        // h0 in bits 47:32
  CHECK((bin[8 + 20] == 0x00 && bin[8 + 21] == 0x01));  // src
  CHECK(decode(bin, "i.bin") == p);
  // Bits of dram above h0 are not a field of im2col.
  Instr bad = p[0];
  bad.dram |= uint64_t(1) << 48;
  CHECK(error_of([&] { decode(encode({bad}), "b.bin"); }) ==
        "b.bin: instruction 0 (byte offset 8): im2col does not use bits 0x1000000000000 of field "
        "dram: it must be 0");
  CHECK_THAT(error_of([&] {
               assemble(
                   "im2col ub=0, src=0, dtype=int8, h=1, w=1, c=1, r=1, s=1, "
                   "rows=1, cols=1, h0=65536\n",
                   "h.s");
             }),
             Contains("h.s:1:77: expected a size (0 to 65535), found '65536'"));
}

TEST_CASE("tpu im2col: the rows rdconv gathers, formed from a band of the image", "[unit]") {
  // A 7 x 6 image of 5 channels (int8 and bf16 bytes alike), 3x3 window, stride 2x1, pad 1:
  // out 4 x 6. The band holds image rows [2, 6) at UB 0x1000.
  const uint32_t H = 7, W = 6, C = 5;
  for (DType t : {DType::int8, DType::bf16}) {
    const uint64_t e = uint64_t(elem_bytes(t));
    ByteStore dram("dram", 1 << 16), ub("ub", 1 << 16);
    std::mt19937 rng(7);
    std::vector<uint8_t> image(H * W * C * e);
    for (auto& b : image) b = uint8_t(rng() & 0x3f);  // finite bf16 bytes too
    dram.write(0x200, image.data(), image.size());
    const uint64_t row = W * C * e;
    ub.write(0x1000, &image[2 * row], 4 * row);
    const ConvGeom g{C, C, H, W, 3, 3, 2, 1, 1, 1};
    // Output rows 1 and 2 (pixels 6 to 17) read image rows 1 to 5 with window rows 0 to 2;
    // with columns of window rows 1 and 2 only (k0 = 15) they read rows 2 to 5.
    struct Case {
      uint32_t m0, rows, k0, cols;
    };
    for (const Case& c : {Case{6, 12, 15, 30}, Case{7, 5, 17, 9}, Case{12, 6, 20, 10}}) {
      INFO("m0 " << c.m0 << " k0 " << c.k0);
      Instr rd{Opcode::rdconv};
      rd.dtype = t;
      rd.dram = 0x200;
      rd.src = c.m0;
      rd.ub = 0x0;
      rd.rows = c.rows;
      rd.k = c.k0;
      rd.cols = c.cols;
      set_conv_geom(rd, g);
      Instr ic = rd;
      ic.op = Opcode::im2col;
      ic.src = 0x1000;
      ic.dram = uint64_t(2) << 32 | c.m0;
      ic.ub = 0x800;
      CHECK(detail::check_instr(ic).empty());
      const ImageRows r = conv_rows_read(ic);
      CHECK((r.lo >= 2 && r.hi <= 6));
      exec_rdconv(rd, dram, ub, "rdconv");
      exec_im2col(ic, ub, "im2col");
      std::vector<uint8_t> want(c.rows * c.cols * e), got(want.size());
      ub.read(0x0, want.data(), want.size(), "test");
      ub.read(0x800, got.data(), got.size(), "test");
      CHECK(got == want);
    }
    // Output row 0 reads image row 0 (window row 1, pad 1), before the band.
    Instr early{Opcode::im2col};
    early.dtype = t;
    early.src = 0x1000;
    early.dram = uint64_t(2) << 32;
    early.ub = 0x800;
    early.rows = 6;
    early.cols = 45;
    set_conv_geom(early, g);
    CHECK(conv_rows_read(early).lo == 0);
    CHECK_THAT(error_of([&] { exec_im2col(early, ub, "im2col"); }),
               Contains("im2col: reads image row 0, before the band's first row h0 = 2"));
  }
}

TEST_CASE("tpu asm: activate's bias operands round-trip; int8 with a bias is refused", "[unit]") {
  const std::string text =
      "  activate acc=0x0, ub=0x500, rows=4, cols=8, dtype=bf16, func=relu, mult=1, shift=0, "
      "sum=0, gap=0, bias=1, bias_ub=0x1000\n  halt\n";
  const auto p = assemble(text, "bias.s");
  REQUIRE(p.size() == 2);
  CHECK((p[0].flags == 1 && p[0].src2 == 0x1000));
  CHECK(disassemble(p) == text);
  CHECK(decode(encode(p), "bias.bin") == p);
  // The run checks each instruction: a bias on an int8 result is an error naming the line.
  const std::string dir = xpusim::test::temp_dir("tpu-bias-int8");
  const std::string prog = xpusim::test::write_text(
      dir, "bias8.s",
      "  activate acc=0x0, ub=0x500, rows=4, cols=8, dtype=int8, bias=1, bias_ub=0x1000\n"
      "  halt\n");
  const xpusim::test::Cli r =
      xpusim::test::run_cli({"run", "--arch", "tpu_lab", "--program", prog, "--out", dir + "/out"});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("bias8.s:1: activate") && Contains("bias=1 with dtype int8"));
}
