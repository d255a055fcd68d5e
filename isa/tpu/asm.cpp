// TPU assembly text <-> instructions, driven by the operand table in operands.h.
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "isa/common/parser.h"
#include "isa/tpu/instr.h"
#include "isa/tpu/operands.h"

namespace xpusim::isa::tpu {

using detail::Default;
using detail::Key;
using detail::Kind;
using detail::OpDef;

namespace {

// "a, b or c"
std::string join_or(const std::vector<const char*>& names) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) s += i + 1 == names.size() ? " or " : ", ";
    s += names[i];
  }
  return s;
}

std::string mnemonic_list() {
  std::vector<const char*> names;
  for (const OpDef& d : detail::all_ops()) names.push_back(opcode_name(d.op));
  return join_or(names);
}

const OpDef* find_mnemonic(const std::string& name) {
  for (const OpDef& d : detail::all_ops()) {
    if (name == opcode_name(d.op)) return &d;
  }
  return nullptr;
}

std::string key_list(const OpDef& def, bool required_only) {
  std::string s;
  for (const Key& k : def.keys) {
    if (required_only && k.dflt != Default::required) continue;
    if (!s.empty()) s += ", ";
    s += k.name;
  }
  return s;
}

// A loop whose target label is resolved once the whole text has been read.
struct LoopFixup {
  size_t index;
  std::string label;
  SourceLoc loc;
};

// Parses the value of `key` at the stream's position into `in`.
void parse_value(TokenStream& ts, const Key& key, Instr& in, size_t index,
                 std::vector<LoopFixup>& fixups) {
  const uint64_t max = detail::key_max(key);
  uint64_t v = 0;
  switch (key.kind) {
    case Kind::addr:
      v = ts.expect_uint(max, fmt::format("an address (0 to {:#x})", max));
      break;
    case Kind::size:
      v = ts.expect_uint(max, fmt::format("a size (0 to {})", max));
      break;
    case Kind::count: {
      std::string what = fmt::format("a count (1 to {})", max);
      if (ts.peek().is(TokenKind::integer) && ts.peek().magnitude == 0) ts.fail(what);
      v = ts.expect_uint(max, what);
      break;
    }
    case Kind::i32:
      v = uint32_t(
          int32_t(ts.expect_int(INT32_MIN, INT32_MAX, "an integer (-2147483648 to 2147483647)")));
      break;
    case Kind::f32: {
      if (!ts.at(TokenKind::integer) && !ts.at(TokenKind::floating)) ts.fail("a number");
      float f = ts.next().f32();
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      v = bits;
      break;
    }
    case Kind::bit:
      v = ts.expect_uint(1, "0 or 1");
      break;
    case Kind::label: {
      const Token& t = ts.expect(TokenKind::ident, "a label");
      fixups.push_back({index, t.text, t.loc});
      return;  // set once resolved
    }
    case Kind::dtype:
    case Kind::act_func:
    case Kind::vec_func:
    case Kind::acc_mode:
    case Kind::pad_mode: {
      const auto& names = detail::kind_names(key.kind);
      const Token& t = ts.peek();
      size_t i = 0;
      while (i < names.size() && !t.is_ident(names[i])) ++i;
      if (i == names.size()) ts.fail(join_or(names) + " for " + key.name);
      ts.next();
      v = i;
      break;
    }
  }
  detail::set_key(in, key, v);
}

// Parses the operands of one instruction, up to and including the end of line.
Instr parse_instr(TokenStream& ts, const Token& mnemonic, const OpDef& def, size_t index,
                  std::vector<LoopFixup>& fixups) {
  Instr in;
  in.op = def.op;
  in.line = mnemonic.loc.line;
  std::vector<const Token*> given(def.keys.size(), nullptr);
  // key=value, separated by commas; a trailing comma asks for another key.
  for (bool more = !ts.at(TokenKind::eol); more;) {
    const Token& key = ts.peek();
    size_t k = 0;
    while (k < def.keys.size() && !key.is_ident(def.keys[k].name)) ++k;
    if (k == def.keys.size()) {
      if (def.keys.empty())
        ts.fail(std::string("end of line (") + opcode_name(def.op) + " takes no operands)");
      ts.fail(std::string("a key of ") + opcode_name(def.op) + " (" + key_list(def, false) + ")");
    }
    if (given[k]) {
      throw Error(key.loc, "duplicate key " + key.text + " (first given at column " +
                               std::to_string(given[k]->loc.column) + ")");
    }
    given[k] = &ts.next();
    ts.expect_punct('=');
    parse_value(ts, def.keys[k], in, index, fixups);
    more = ts.accept_punct(',');
    if (!more && !ts.at(TokenKind::eol)) ts.fail("',' or end of line");
  }
  ts.next();  // the eol
  // Defaults, once every given key is in: the stride defaults read rows, cols, dtype and
  // transpose. Each table lists the required keys a default reads before that default, so
  // a missing one is reported before it would be used.
  for (size_t k = 0; k < def.keys.size(); ++k) {
    const Key& key = def.keys[k];
    if (given[k]) continue;
    uint64_t v = 0;
    switch (key.dflt) {
      case Default::required:
        throw Error(mnemonic.loc, std::string("missing key ") + key.name + " (" +
                                      opcode_name(def.op) + " requires " + key_list(def, true) +
                                      ")");
      case Default::zero:
        break;
      case Default::one:
        v = 1;
        break;
      case Default::cols:
        v = in.cols;
        break;
      case Default::weight_row:
        // A row (of DRAM or the UB) holds one tile row (N elements), or one column (K) when
        // transposed.
        v = uint64_t(in.flags & 1 ? in.rows : in.cols) * uint64_t(dtype_size(in.dtype));
        if (v > UINT32_MAX) {
          throw Error(mnemonic.loc,
                      "the default stride (a row of the tile) exceeds 32 bits: "
                      "expected an explicit stride=");
        }
        break;
    }
    detail::set_key(in, key, v);
  }
  std::string why = detail::check_instr(in);
  if (!why.empty()) throw Error(mnemonic.loc, why);
  return in;
}

std::string format_value(Kind kind, uint64_t v) {
  switch (kind) {
    case Kind::addr:
      return fmt::format("0x{:x}", v);
    case Kind::i32:
      return std::to_string(int32_t(uint32_t(v)));
    case Kind::f32: {
      uint32_t bits = uint32_t(v);
      float f;
      std::memcpy(&f, &bits, 4);
      // 9 significant digits round-trip every finite fp32; inf and NaN (with its payload)
      // keep their exact bits in PTX's hex-float form, which the lexer reads back.
      return std::isfinite(f) ? fmt::format("{:.9g}", f) : fmt::format("0f{:08X}", bits);
    }
    case Kind::label:
      return "L" + std::to_string(v);
    case Kind::dtype:
    case Kind::act_func:
    case Kind::vec_func:
    case Kind::acc_mode:
    case Kind::pad_mode: {
      const auto& names = detail::kind_names(kind);
      // An out-of-range value (a corrupt Instr) stays visible; assemble() rejects it.
      return v < names.size() ? names[v] : std::to_string(v);
    }
    default:
      return std::to_string(v);
  }
}

}  // namespace

bool Instr::operator==(const Instr& o) const {
  return op == o.op && dtype == o.dtype && func == o.func && flags == o.flags && imm == o.imm &&
         dram == o.dram && ub == o.ub && src == o.src && src2 == o.src2 && rows == o.rows &&
         cols == o.cols && k == o.k && stride == o.stride && shift == o.shift && mxu == o.mxu &&
         target == o.target && count == o.count;
}

const char* opcode_name(Opcode op) {
  switch (op) {
    case Opcode::rdhost:
      return "rdhost";
    case Opcode::rdweight:
      return "rdweight";
    case Opcode::matmul:
      return "matmul";
    case Opcode::activate:
      return "activate";
    case Opcode::vector:
      return "vector";
    case Opcode::wrhost:
      return "wrhost";
    case Opcode::sync:
      return "sync";
    case Opcode::loop:
      return "loop";
    case Opcode::halt:
      return "halt";
    case Opcode::rdconv:
      return "rdconv";
    case Opcode::barrier:
      return "barrier";
    case Opcode::ldweight:
      return "ldweight";
    case Opcode::rdrows:
      return "rdrows";
    case Opcode::im2col:
      return "im2col";
  }
  return "invalid";
}

std::vector<Instr> assemble(const std::string& text, const std::string& file) {
  TokenStream ts(tokenize(text, file, kHashComments | kSemicolonComments));
  LabelTable labels;
  std::vector<LoopFixup> fixups;
  std::vector<Instr> prog;
  while (!ts.at(TokenKind::eof)) {
    if (ts.at(TokenKind::eol)) {
      ts.next();
    } else if (ts.at(TokenKind::ident) && ts.peek(1).is_punct(':')) {
      const Token& name = ts.next();
      ts.next();
      labels.define(name.text, prog.size(), name.loc);
    } else {
      const Token& mnemonic = ts.peek();
      const OpDef* def = mnemonic.is(TokenKind::ident) ? find_mnemonic(mnemonic.text) : nullptr;
      if (!def) ts.fail("a mnemonic (" + mnemonic_list() + ") or a label");
      ts.next();
      prog.push_back(parse_instr(ts, mnemonic, *def, prog.size(), fixups));
    }
  }
  for (const LoopFixup& f : fixups) {
    uint64_t target = labels.resolve(f.label, f.loc);
    if (target >= f.index) {
      throw Error(f.loc, "loop target " + f.label + " (instruction " + std::to_string(target) +
                             ") is after the loop (instruction " + std::to_string(f.index) +
                             "): expected a label before it");
    }
    for (uint64_t i = target; i < f.index; ++i)
      if (prog[i].op == Opcode::halt)
        throw Error(f.loc, "loop target " + f.label + " is before the halt at instruction " +
                               std::to_string(i) + ": a loop stays within its core's program");
    prog[f.index].target = uint32_t(target);
  }
  return prog;
}

std::vector<std::pair<size_t, size_t>> core_programs(const std::vector<Instr>& prog) {
  std::vector<std::pair<size_t, size_t>> v;
  size_t begin = 0;
  for (size_t i = 0; i < prog.size(); ++i)
    if (prog[i].op == Opcode::halt) {
      v.emplace_back(begin, i + 1);
      begin = i + 1;
    }
  return v;
}

std::string disassemble(const std::vector<Instr>& prog) {
  std::vector<bool> is_target(prog.size(), false);
  for (const Instr& in : prog) {
    if (in.op == Opcode::loop && in.target < prog.size()) is_target[in.target] = true;
  }
  const auto cores = core_programs(prog);
  std::string out;
  for (size_t i = 0; i < prog.size(); ++i) {
    const Instr& in = prog[i];
    for (size_t c = 0; cores.size() > 1 && c < cores.size(); ++c)
      if (cores[c].first == i) out += "# core " + std::to_string(c) + "\n";
    if (is_target[i]) out += "L" + std::to_string(i) + ":\n";
    const OpDef* def = detail::find_op(in.op);
    if (!def) {
      throw Error("disassemble: instruction " + std::to_string(i) + ": unknown opcode " +
                  std::to_string(unsigned(in.op)));
    }
    out += "  ";
    out += opcode_name(in.op);
    for (size_t k = 0; k < def->keys.size(); ++k) {
      const Key& key = def->keys[k];
      out += k == 0 ? " " : ", ";
      out += key.name;
      out += '=';
      out += format_value(key.kind, detail::get_key(in, key));
    }
    out += '\n';
  }
  return out;
}

}  // namespace xpusim::isa::tpu
