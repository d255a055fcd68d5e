// DaVinci assembly text <-> Kernel, driven by the operand table in operands.h.
#include <cmath>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "isa/common/parser.h"
#include "isa/davinci/instr.h"
#include "isa/davinci/operands.h"

namespace xpusim::isa::davinci {

using detail::Key;
using detail::KeyKind;
using detail::OpDef;
using detail::Operand;
using detail::Pos;

namespace {

// "a, b or c"
std::string join_or(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) s += i + 1 == names.size() ? " or " : ", ";
    s += names[i];
  }
  return s;
}

std::string mnemonic_list() {
  std::vector<std::string> names;
  for (const OpDef& d : detail::all_ops()) names.push_back(op_name(d.op));
  return join_or(names);
}

std::string key_list(const OpDef& def, bool required_only) {
  std::string s;
  for (const Key& k : def.keys) {
    if (required_only && !k.required) continue;
    if (!s.empty()) s += ", ";
    s += k.name;
  }
  return s;
}

// The ways the mnemonic of `def` may be written: "vadd.f16, vadd.f32 or vadd.s32".
std::string forms(const OpDef& def) {
  std::vector<std::string> v;
  const std::string base = op_name(def.op);
  if (def.takes_pair) {
    for (const auto& [d, s] : detail::conv_pairs())
      v.push_back(base + "." + ty_name(d) + "." + ty_name(s));
  } else {
    for (Ty t : def.types) v.push_back(base + "." + ty_name(t));
  }
  if (v.empty()) return base + " (without a type suffix)";
  return join_or(v);
}

bool ty_of(const std::string& s, Ty& out) {
  for (int t = 0; t <= int(Ty::s32); ++t)
    if (s == ty_name(Ty(t))) {
      out = Ty(t);
      return true;
    }
  return false;
}

// x0 .. x31 (no leading zeros), or -1.
int reg_of(const Token& t) {
  if (!t.is(TokenKind::ident) || t.text.size() < 2 || t.text.size() > 3 || t.text[0] != 'x')
    return -1;
  int r = 0;
  for (size_t i = 1; i < t.text.size(); ++i) {
    char c = t.text[i];
    if (c < '0' || c > '9') return -1;
    r = r * 10 + (c - '0');
  }
  if (t.text.size() == 3 && t.text[1] == '0') return -1;
  return r < kRegs ? r : -1;
}

constexpr const char* kValWhat = "a value (xN, xN+OFFSET, xN-OFFSET or an integer)";
constexpr uint64_t kMinMagnitude = uint64_t(1) << 63;

// A 64-bit integer: -2^63 .. 2^64-1, the upper half kept as its two's complement bits.
int64_t parse_int(TokenStream& ts, const std::string& what) {
  const Token& t = ts.peek();
  if (!t.is(TokenKind::integer) || (t.negative && t.magnitude > kMinMagnitude)) ts.fail(what);
  ts.next();
  return int64_t(t.negative ? uint64_t(0) - t.magnitude : t.magnitude);
}

Val parse_val(TokenStream& ts) {
  const Token& t = ts.peek();
  if (t.is(TokenKind::integer)) return {-1, parse_int(ts, kValWhat)};
  int r = reg_of(t);
  if (r < 0) ts.fail(kValWhat);
  ts.next();
  Val v{int8_t(r), 0};
  if (ts.at_punct('+') || ts.at_punct('-')) {
    const bool minus = ts.next().text == "-";
    const Token& o = ts.peek();
    if (!o.is(TokenKind::integer) || o.negative || (minus && o.magnitude > kMinMagnitude))
      ts.fail(minus ? "an offset (0 to 9223372036854775808)" : "an offset (0 to 2^64-1)");
    ts.next();
    v.imm = int64_t(minus ? uint64_t(0) - o.magnitude : o.magnitude);
  }
  return v;
}

int parse_reg(TokenStream& ts) {
  int r = reg_of(ts.peek());
  if (r < 0) ts.fail("a register (x0 to x31)");
  ts.next();
  return r;
}

Addr parse_addr(TokenStream& ts, const Operand& o, const OpDef& def) {
  const Token& t = ts.peek();
  const std::string what =
      fmt::format("{}[ADDRESS] (the {} of {})", buf_name(o.buf), o.role, op_name(def.op));
  if (!t.is_ident(buf_name(o.buf))) ts.fail(what);
  ts.next();
  Addr a;
  a.buf = o.buf;
  ts.expect_punct('[');
  a.at = parse_val(ts);
  ts.expect_punct(']');
  return a;
}

// Names of enum values, tried in order; the index of the one at the stream, or fail.
int parse_name(TokenStream& ts, const std::vector<std::string>& names, const std::string& what) {
  const Token& t = ts.peek();
  for (size_t i = 0; i < names.size(); ++i)
    if (t.is_ident(names[i].c_str())) {
      ts.next();
      return int(i);
    }
  ts.fail(what);
}

std::vector<std::string> pipe_names(bool with_all) {
  std::vector<std::string> v;
  for (int p = 0; p < kPipes + (with_all ? 1 : 0); ++p) v.push_back(pipe_name(Pipe(p)));
  return v;
}

int64_t parse_number(TokenStream& ts, Ty ty, const char* mnemonic) {
  if (ty == Ty::s32) {
    return ts.expect_int(
        INT32_MIN, INT32_MAX,
        fmt::format("an integer (-2147483648 to 2147483647) for {}.s32", mnemonic));
  }
  if (!ts.at(TokenKind::integer) && !ts.at(TokenKind::floating)) ts.fail("a number");
  float f = ts.peek().f32();
  ts.next();
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return int64_t(bits);
}

// A branch whose label is resolved once the whole text has been read.
struct Fixup {
  size_t index;
  std::string label;
  SourceLoc loc;
};

// Parses the mnemonic (with its type suffix) at the stream's position.
const OpDef& parse_mnemonic(TokenStream& ts, Instr& in) {
  const Token& t = ts.peek();
  auto list = [] { return "a mnemonic (" + mnemonic_list() + ") or a label"; };
  if (!t.is(TokenKind::ident)) ts.fail(list());
  const size_t dot = t.text.find('.');
  const std::string base = t.text.substr(0, dot);
  const std::string suffix = dot == std::string::npos ? "" : t.text.substr(dot + 1);
  const OpDef* def = nullptr;
  for (const OpDef& d : detail::all_ops())
    if (base == op_name(d.op)) def = &d;
  if (!def) ts.fail(list());
  bool ok;
  if (def->takes_pair) {
    const size_t dot2 = suffix.find('.');
    ok = dot2 != std::string::npos && ty_of(suffix.substr(0, dot2), in.ty) &&
         ty_of(suffix.substr(dot2 + 1), in.ty2);
    bool listed = false;
    for (const auto& [d, s] : detail::conv_pairs()) listed = listed || (d == in.ty && s == in.ty2);
    ok = ok && listed;
  } else if (!def->types.empty()) {
    ok = ty_of(suffix, in.ty);
    bool listed = false;
    for (Ty ty : def->types) listed = listed || ty == in.ty;
    ok = ok && listed;
  } else {
    ok = suffix.empty() && dot == std::string::npos;
  }
  if (!ok) ts.fail(forms(*def));
  ts.next();
  return *def;
}

// Parses the operands of one instruction, up to and including the end of line.
Instr parse_instr(TokenStream& ts, size_t index, std::vector<Fixup>& fixups) {
  const Token& mnemonic = ts.peek();
  Instr in;
  const OpDef& def = parse_mnemonic(ts, in);
  in.op = def.op;
  in.line = mnemonic.loc.line;
  const char* name = op_name(def.op);

  for (size_t i = 0; i < def.operands.size(); ++i) {
    const Operand& o = def.operands[i];
    if (i > 0) ts.expect_punct(',');
    switch (o.pos) {
      case Pos::rd:
        in.rd = uint8_t(parse_reg(ts));
        break;
      case Pos::reg_a:
        in.a = {int8_t(parse_reg(ts)), 0};
        break;
      case Pos::val_a:
        in.a = parse_val(ts);
        break;
      case Pos::val_b:
        in.b = parse_val(ts);
        break;
      case Pos::num_b:
        in.b = {-1, parse_number(ts, in.ty, name)};
        break;
      case Pos::dst:
        in.dst = parse_addr(ts, o, def);
        break;
      case Pos::src0:
        in.src0 = parse_addr(ts, o, def);
        break;
      case Pos::src1:
        in.src1 = parse_addr(ts, o, def);
        break;
      case Pos::pipe1:
      case Pos::pipe2: {
        const std::string what = fmt::format(
            "a pipe (PIPE_S, PIPE_V, PIPE_M, PIPE_MTE1, "
            "PIPE_MTE2, PIPE_MTE3 or PIPE_FIX) as the {}",
            o.role);
        (o.pos == Pos::pipe1 ? in.p1 : in.p2) = Pipe(parse_name(ts, pipe_names(false), what));
        break;
      }
      case Pos::pipe_b:
        in.p1 = Pipe(parse_name(ts, pipe_names(true),
                                "a pipe (PIPE_S, PIPE_V, PIPE_M, PIPE_MTE1, PIPE_MTE2, "
                                "PIPE_MTE3, PIPE_FIX or PIPE_ALL)"));
        break;
      case Pos::event: {
        std::vector<std::string> names;
        for (int e = 0; e < detail::kEvents; ++e) names.push_back("EVENT_ID" + std::to_string(e));
        in.event = uint8_t(parse_name(ts, names, "an event (EVENT_ID0 to EVENT_ID7)"));
        break;
      }
      case Pos::label: {
        const Token& t = ts.expect(TokenKind::ident, "a label");
        fixups.push_back({index, t.text, t.loc});
        break;
      }
    }
  }

  // key=value operands, after a comma each (the first right after the mnemonic when the opcode
  // has no other operands), in any order.
  std::vector<const Token*> given(def.keys.size(), nullptr);
  bool first = def.operands.empty();
  while (!ts.at(TokenKind::eol)) {
    if (def.keys.empty()) {
      ts.fail(def.operands.empty()
                  ? fmt::format("end of line ({} takes no operands)", name)
                  : fmt::format("end of line ({} takes {} operand{})", name, def.operands.size(),
                                def.operands.size() == 1 ? "" : "s"));
    }
    if (!first) {
      if (!ts.at_punct(',')) ts.fail("',' or end of line");
      ts.next();
    }
    first = false;
    const Token& key = ts.peek();
    size_t k = 0;
    while (k < def.keys.size() && !key.is_ident(def.keys[k].name)) ++k;
    if (k == def.keys.size()) ts.fail(fmt::format("a key of {} ({})", name, key_list(def, false)));
    if (given[k]) {
      throw Error(key.loc, fmt::format("duplicate key {} (first given at column {})", key.text,
                                       given[k]->loc.column));
    }
    given[k] = &ts.next();
    ts.expect_punct('=');
    const Key& spec = def.keys[k];
    Val v;
    switch (spec.kind) {
      case KeyKind::val:
        v = parse_val(ts);
        break;
      case KeyKind::bit:
        v.imm = int64_t(ts.expect_uint(1, fmt::format("0 or 1 for {}", spec.name)));
        break;
      case KeyKind::round: {
        std::vector<std::string> names;
        for (int r = 0; r < detail::kRounds; ++r) names.push_back(detail::round_name(Round(r)));
        v.imm = parse_name(ts, names, "rn, a, f, c or z for round");
        break;
      }
      case KeyKind::conv: {
        std::vector<std::string> names, allowed;
        for (int c = 0; c < detail::kConvs; ++c) {
          // A conversion the opcode does not take keeps its slot, so the index is the value.
          names.push_back(def.convs >> c & 1 ? detail::conv_name(Conv(c)) : "");
          if (def.convs >> c & 1) allowed.push_back(detail::conv_name(Conv(c)));
        }
        v.imm = parse_name(ts, names, join_or(allowed) + " for conv");
        break;
      }
    }
    detail::set_key(in, spec.slot, v);
  }
  ts.next();  // the eol

  for (size_t k = 0; k < def.keys.size(); ++k) {
    if (given[k]) continue;
    const Key& spec = def.keys[k];
    if (spec.required) {
      throw Error(mnemonic.loc, fmt::format("missing key {} ({} requires {})", spec.name, name,
                                            key_list(def, true)));
    }
    detail::set_key(in, spec.slot, {-1, spec.dflt});
  }
  std::string why = detail::check_instr(in);
  if (!why.empty()) throw Error(mnemonic.loc, why);
  return in;
}

bool is_branch(Op op) {
  return (op >= Op::beq && op <= Op::bgt) || op == Op::jmp;
}

// ---- printing ------------------------------------------------------------------------------

std::string format_val(const Val& v, bool hex = false) {
  auto num = [&](uint64_t u) { return hex ? fmt::format("0x{:x}", u) : std::to_string(u); };
  if (v.reg < 0) return hex ? num(uint64_t(v.imm)) : std::to_string(v.imm);
  std::string s = "x" + std::to_string(v.reg);
  if (v.imm > 0 || (hex && v.imm != 0)) return s + "+" + num(uint64_t(v.imm));
  if (v.imm < 0) return s + "-" + num(uint64_t(0) - uint64_t(v.imm));
  return s;
}

std::string format_number(int64_t imm, Ty ty) {
  if (ty == Ty::s32) return std::to_string(imm);
  const uint32_t bits = uint32_t(imm);
  float f;
  std::memcpy(&f, &bits, 4);
  // 9 significant digits round-trip every finite fp32; inf and NaN (with its payload) keep
  // their exact bits as a hex float, which the lexer reads back.
  return std::isfinite(f) ? fmt::format("{:.9g}", f) : fmt::format("0f{:08X}", bits);
}

std::string format_addr(const Addr& a) {
  return std::string(buf_name(a.buf)) + "[" + format_val(a.at) + "]";
}

}  // namespace

Kernel assemble(const std::string& text, const std::string& file) {
  TokenStream ts(tokenize(text, file, kHashComments | kSlashComments));
  Kernel k;
  while (ts.at(TokenKind::eol)) ts.next();
  const Token& kernel = ts.peek();
  if (!kernel.is_ident(".kernel")) ts.fail(".kernel NAME (a program starts with its kernel)");
  ts.next();
  if (!ts.at(TokenKind::ident) || !detail::valid_name(ts.peek().text)) ts.fail("a kernel name");
  k.name = ts.next().text;
  if (!ts.at(TokenKind::eol)) ts.fail("end of line after the kernel name");

  LabelTable labels;
  std::vector<Fixup> fixups;
  SourceLoc last_loc;  // the last instruction's mnemonic
  bool labelled = false;
  while (!ts.at(TokenKind::eof)) {
    const Token& t = ts.peek();
    if (t.is(TokenKind::eol)) {
      ts.next();
    } else if (t.is_ident(".kernel")) {
      throw Error(t.loc,
                  fmt::format("duplicate .kernel: a program is one kernel (.kernel {} at line {})",
                              k.name, kernel.loc.line));
    } else if (t.is_ident(".param")) {
      if (!k.code.empty() || labelled)
        throw Error(t.loc, "expected .param before the first instruction and label");
      ts.next();
      const Token& name = ts.peek();
      if (!name.is(TokenKind::ident) || !detail::valid_name(name.text)) ts.fail("a parameter name");
      ts.next();
      ts.expect_punct(',');
      const Token& reg = ts.peek();
      const int r = parse_reg(ts);
      if (!ts.at(TokenKind::eol)) ts.fail("end of line after the parameter's register");
      for (const KernelParam& p : k.params) {
        if (p.name == name.text) throw Error(name.loc, "duplicate parameter " + name.text);
        if (p.reg == r)
          throw Error(reg.loc, fmt::format("register x{} already holds parameter {}", r, p.name));
      }
      k.params.push_back({name.text, uint8_t(r)});
    } else if (t.is(TokenKind::ident) && !t.text.empty() && t.text[0] == '.') {
      ts.fail("an instruction, a label or .param");
    } else if (t.is(TokenKind::ident) && ts.peek(1).is_punct(':')) {
      ts.next();
      ts.next();
      labels.define(t.text, k.code.size(), t.loc);
      labelled = true;
    } else {
      last_loc = t.loc;
      k.code.push_back(parse_instr(ts, k.code.size(), fixups));
    }
  }
  if (k.code.empty()) {
    throw Error(kernel.loc, "kernel " + k.name +
                                " has no instructions: expected at least one, the last end or jmp");
  }
  const Op last = k.code.back().op;
  if (last != Op::end && last != Op::jmp) {
    throw Error(last_loc, fmt::format("the last instruction is {}: expected end or jmp (control "
                                      "must not run past the end of the kernel)",
                                      op_name(last)));
  }
  for (const Fixup& f : fixups) {
    const uint64_t target = labels.resolve(f.label, f.loc);
    if (target >= k.code.size()) {
      throw Error(f.loc, "label " + f.label +
                             " is after the last instruction: expected a label of an instruction");
    }
    k.code[f.index].target = uint32_t(target);
  }
  return k;
}

std::string disassemble(const Kernel& k) {
  if (!detail::valid_name(k.name)) throw Error("disassemble: the kernel name is not a name");
  std::string out = ".kernel " + k.name + "\n";
  for (const KernelParam& p : k.params) {
    if (!detail::valid_name(p.name) || p.reg >= kRegs)
      throw Error("disassemble: a parameter's name or register is not valid");
    out += ".param " + p.name + ", x" + std::to_string(p.reg) + "\n";
  }
  std::set<uint32_t> targets;
  for (const Instr& in : k.code)
    if (is_branch(in.op)) targets.insert(in.target);
  for (size_t i = 0; i < k.code.size(); ++i) {
    const Instr& in = k.code[i];
    std::string why = detail::check_instr(in);
    if (why.empty() && is_branch(in.op) && in.target >= k.code.size())
      why = fmt::format("branch target {} is past the last instruction", in.target);
    if (!why.empty()) throw Error(fmt::format("disassemble: instruction {}: {}", i, why));
    if (targets.count(uint32_t(i))) out += "L" + std::to_string(i) + ":\n";
    const OpDef& def = *detail::find_op(in.op);
    out += "  ";
    out += op_name(in.op);
    if (def.takes_pair) {
      out += fmt::format(".{}.{}", ty_name(in.ty), ty_name(in.ty2));
    } else if (!def.types.empty()) {
      out += fmt::format(".{}", ty_name(in.ty));
    }
    std::vector<std::string> parts;
    for (const Operand& o : def.operands) {
      switch (o.pos) {
        case Pos::rd:
          parts.push_back("x" + std::to_string(in.rd));
          break;
        case Pos::reg_a:
        case Pos::val_a:
          parts.push_back(format_val(in.a, in.op == Op::set_vector_mask));
          break;
        case Pos::val_b:
          parts.push_back(format_val(in.b, in.op == Op::set_vector_mask));
          break;
        case Pos::num_b:
          parts.push_back(format_number(in.b.imm, in.ty));
          break;
        case Pos::dst:
          parts.push_back(format_addr(in.dst));
          break;
        case Pos::src0:
          parts.push_back(format_addr(in.src0));
          break;
        case Pos::src1:
          parts.push_back(format_addr(in.src1));
          break;
        case Pos::pipe1:
        case Pos::pipe_b:
          parts.push_back(pipe_name(in.p1));
          break;
        case Pos::pipe2:
          parts.push_back(pipe_name(in.p2));
          break;
        case Pos::event:
          parts.push_back("EVENT_ID" + std::to_string(in.event));
          break;
        case Pos::label:
          parts.push_back("L" + std::to_string(in.target));
          break;
      }
    }
    for (const Key& key : def.keys) {
      const Val v = detail::get_key(in, key.slot);
      if (!key.required && v == Val{-1, key.dflt}) continue;
      std::string value;
      switch (key.kind) {
        case KeyKind::val:
          value = format_val(v);
          break;
        case KeyKind::bit:
          value = std::to_string(v.imm);
          break;
        case KeyKind::round:
          value = detail::round_name(Round(v.imm));
          break;
        case KeyKind::conv:
          value = detail::conv_name(Conv(v.imm));
          break;
      }
      parts.push_back(std::string(key.name) + "=" + value);
    }
    for (size_t p = 0; p < parts.size(); ++p) out += (p == 0 ? " " : ", ") + parts[p];
    out += '\n';
  }
  return out;
}

}  // namespace xpusim::isa::davinci
