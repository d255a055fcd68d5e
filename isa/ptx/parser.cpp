// PTX text -> Module: directives, declarations, kernel bodies (decode.cpp decodes each body).
#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "isa/ptx/syntax.h"

namespace xpusim::isa::ptx {

using detail::ParsedKernel;
using detail::PInstr;
using detail::PKind;
using detail::POperand;
using detail::SymRef;

namespace {

bool starts_with(const std::string& s, char c) {
  return !s.empty() && s[0] == c;
}

// ".ptr.global.align" -> {"ptr", "global", "align"}; the lexer keeps dotted words together.
std::vector<std::string> split_dots(const std::string& s) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '.') {
      ++i;
      continue;
    }
    size_t j = s.find('.', i);
    if (j == std::string::npos) j = s.size();
    parts.push_back(s.substr(i, j - i));
    i = j;
  }
  return parts;
}

// Directives that are valid PTX but outside the subset: recorded as unsupported, skipped.
bool known_unsupported_directive(const std::string& d) {
  static const char* const kNames[] = {
      ".alias",
      ".callprototype",
      ".branchtargets",
      ".calltargets",
      ".common",
      ".tex",
      ".texref",
      ".surfref",
      ".samplerref",
      ".maxclusterrank",
      ".reqnctapercluster",
      ".explicitcluster",
      ".blocksareclusters",
      ".abi_preserve",
      ".abi_preserve_control",
  };
  for (const char* n : kNames) {
    if (d == n) return true;
  }
  return false;
}

bool supported_target(const std::string& t) {
  // sm_70 .. sm_90 (and sm_90a).
  if (t.size() < 5 || t.compare(0, 3, "sm_") != 0) return false;
  std::string num = t.substr(3);
  if (!num.empty() && num.back() == 'a') num.pop_back();
  if (num.empty() || num.size() > 3 || num.find_first_not_of("0123456789") != std::string::npos)
    return false;
  int v = std::stoi(num);
  return v >= 70 && v <= 90;
}

bool power_of_2(uint32_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

uint8_t reg_bits(Type t) {
  if (t == Type::pred) return 1;
  unsigned b = type_bytes(t) * 8;
  return uint8_t(b < 16 ? 16 : b);
}

class Parser {
 public:
  Parser(const std::string& text, const std::string& file) : text_(text), ts_(tokens(text, file)) {
    m_.file = file;
    line_starts_.push_back(0);
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  Module run() {
    while (!ts_.at(TokenKind::eof)) module_statement();
    std::stable_sort(
        m_.unsupported.begin(), m_.unsupported.end(),
        [](const Unsupported& a, const Unsupported& b) { return a.loc.line < b.loc.line; });
    return std::move(m_);
  }

 private:
  // An entity a name can denote inside a body.
  struct Entity {
    bool is_reg = false;
    uint32_t reg = kNoReg;
    SymRef sym;
  };
  using Scope = std::unordered_map<std::string, Entity>;

  static std::vector<Token> tokens(const std::string& text, const std::string& file) {
    std::vector<Token> all = tokenize(text, file, kSlashComments | kUnsignedSuffix);
    // PTX statements end with ';' or are single-line directives whose arguments are counted,
    // so line ends carry no meaning here.
    all.erase(std::remove_if(all.begin(), all.end(),
                             [](const Token& t) { return t.kind == TokenKind::eol; }),
              all.end());
    return all;
  }

  // ---- helpers ----------------------------------------------------------------------------

  size_t offset_of(const Token& t) const {
    return line_starts_[size_t(t.loc.line - 1)] + size_t(t.loc.column - 1);
  }

  // The source between two tokens (both included), whitespace runs collapsed to one space.
  std::string source_text(const Token& first, const Token& last) const {
    size_t b = offset_of(first);
    size_t e = offset_of(last) + last.text.size();
    std::string out;
    bool space = false;
    for (size_t i = b; i < e && i < text_.size(); ++i) {
      char c = text_[i];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        space = !out.empty();
        continue;
      }
      if (space) out += ' ';
      space = false;
      out += c;
    }
    return out;
  }

  bool at_ident(const char* s) const { return ts_.peek().is_ident(s); }
  bool at_directive() const {
    return ts_.at(TokenKind::ident) && starts_with(ts_.peek().text, '.');
  }

  void record_unsupported(const Token& first, const Token& last, const std::string& reason) {
    m_.unsupported.push_back({first.loc, true, source_text(first, last), reason});
  }

  // Skips a statement: to its ';' at brace depth 0, or its balanced { } block. Returns the
  // last token consumed.
  Token skip_statement() {
    int depth = 0;
    for (;;) {
      if (ts_.at(TokenKind::eof)) ts_.fail("';'");
      Token t = ts_.next();
      if (t.is_punct('{')) ++depth;
      if (t.is_punct('}') && --depth == 0) return t;
      if (t.is_punct(';') && depth == 0) return t;
    }
  }

  uint32_t expect_u32(const std::string& what) {
    return uint32_t(ts_.expect_uint(UINT32_MAX, what));
  }

  // ---- module scope -----------------------------------------------------------------------

  void module_statement() {
    const Token& t = ts_.peek();
    if (!t.is(TokenKind::ident) || !starts_with(t.text, '.')) ts_.fail("a directive");
    const std::string d = t.text;
    if (d == ".version") {
      version();
    } else if (d == ".target") {
      target();
    } else if (d == ".address_size") {
      Token first = ts_.next();
      m_.address_size = int(ts_.expect_uint(64, "an address size (32 or 64)"));
      if (m_.address_size != 64) {
        record_unsupported(first, first, "only .address_size 64 is supported");
      }
    } else if (d == ".file") {
      file_directive();
    } else if (d == ".loc") {
      loc_directive();
    } else if (d == ".section") {
      ts_.next();
      ts_.expect(TokenKind::ident, "a section name");
      skip_statement();  // debug sections: ignored
    } else if (d == ".pragma") {
      m_.pragmas.push_back(pragma());
    } else if (d == ".visible" || d == ".extern" || d == ".weak" || d == ".entry" || d == ".func" ||
               d == ".global" || d == ".const" || d == ".shared" || d == ".local") {
      linked_declaration();
    } else if (known_unsupported_directive(d)) {
      Token first = ts_.peek();
      record_unsupported(first, skip_statement(), "directive " + d + " is not supported");
    } else {
      throw Error(t.loc, "unknown directive '" + d + "'");
    }
  }

  void version() {
    ts_.next();
    const Token& v = ts_.peek();
    if (!v.is(TokenKind::floating) && !v.is(TokenKind::integer)) ts_.fail("a version (9.0)");
    // MAJOR.MINOR, each 1 to 4 digits (a floating token may also be "9.", "9.0e1" or hex).
    const size_t dot = v.text.find('.');
    const auto digits = [](const std::string& part) {
      return !part.empty() && part.size() <= 4 &&
             part.find_first_not_of("0123456789") == std::string::npos;
    };
    if (dot == std::string::npos || v.negative || !digits(v.text.substr(0, dot)) ||
        !digits(v.text.substr(dot + 1)))
      ts_.fail("a version (major.minor)");
    m_.version_major = std::stoi(v.text.substr(0, dot));
    m_.version_minor = std::stoi(v.text.substr(dot + 1));
    ts_.next();
  }

  void target() {
    Token first = ts_.next();
    Token last = first;
    do {
      last = ts_.expect(TokenKind::ident, "a target (sm_80)");
      if (m_.target.empty()) {
        m_.target = last.text;
      } else {
        m_.target_options.push_back(last.text);
      }
    } while (ts_.accept_punct(','));
    if (!supported_target(m_.target)) {
      record_unsupported(first, last, "target " + m_.target + " is outside sm_70..sm_90");
    }
  }

  // .file N "path" [, timestamp, size]
  void file_directive() {
    ts_.next();
    int index = int(ts_.expect_uint(INT32_MAX, "a file index"));
    m_.files[index] = ts_.expect(TokenKind::string, "a file name in quotes").str;
    while (ts_.accept_punct(',')) ts_.expect(TokenKind::integer, "an integer");
  }

  // .loc file line column [, function_name label, inlined_at file line column]
  void loc_directive() {
    ts_.next();
    loc_.loc_file = int(ts_.expect_uint(INT32_MAX, "a file index"));
    loc_.loc_line = int(ts_.expect_uint(INT32_MAX, "a line number"));
    loc_.loc_column = int(ts_.expect_uint(INT32_MAX, "a column number"));
    while (ts_.accept_punct(',')) {
      const Token& key = ts_.expect(TokenKind::ident, "function_name or inlined_at");
      if (key.text == "function_name") {
        ts_.expect(TokenKind::ident, "a label");
      } else if (key.text == "inlined_at") {
        for (int i = 0; i < 3; ++i) ts_.expect(TokenKind::integer, "an integer");
      } else {
        throw_expected(key, "function_name or inlined_at");
      }
    }
  }

  std::string pragma() {
    ts_.next();
    std::string s = ts_.expect(TokenKind::string, "a pragma string").str;
    while (ts_.accept_punct(',')) s += "," + ts_.expect(TokenKind::string, "a string").str;
    ts_.expect_punct(';');
    return s;
  }

  void linked_declaration() {
    bool visible = false, is_extern = false;
    Token first = ts_.peek();
    for (;;) {
      if (at_ident(".visible") || at_ident(".weak")) {
        visible = true;
      } else if (at_ident(".extern")) {
        is_extern = true;
      } else {
        break;
      }
      ts_.next();
    }
    if (at_ident(".entry") || at_ident(".func")) {
      function(visible);
    } else if (at_ident(".global") || at_ident(".const") || at_ident(".shared") ||
               at_ident(".local")) {
      variable_declaration(first, is_extern, nullptr);
    } else {
      ts_.fail("'.entry', '.func' or a variable declaration");
    }
  }

  // ---- declarations -----------------------------------------------------------------------

  // [.extern] .space [.align N] [.vN] .type name[dims] [= init] {, name...} ;
  // Module scope when pk is nullptr, else a body's .shared/.local.
  void variable_declaration(const Token& first, bool is_extern, ParsedKernel* pk) {
    Variable proto;
    proto.is_extern = is_extern;
    detail::space_from_name(ts_.next().text.substr(1), proto.space);
    bool typed = false, vector = false;
    uint32_t align = 0;
    while (at_directive()) {
      Token d = ts_.next();
      for (const std::string& p : split_dots(d.text)) {
        Type t;
        if (p == "align") {
          align = expect_u32("an alignment");
        } else if (p == "v2" || p == "v4" || p == "v8") {
          vector = true;
        } else if (detail::type_from_name(p, t) && t != Type::pred) {
          proto.type = t;
          typed = true;
        } else if (p == "extern") {
          proto.is_extern = true;
        } else {
          throw Error(d.loc, "expected '.align' or a type, found '." + p + "'");
        }
      }
    }
    if (!typed) ts_.fail("a type (.b8, .u32, .f32, ...)");
    proto.align = align ? align : type_bytes(proto.type);
    if (!power_of_2(proto.align)) {
      throw Error(first.loc, "alignment " + std::to_string(proto.align) + " is not a power of 2");
    }
    std::string unsupported;
    if (vector) unsupported = "vector variables are not supported";
    do {
      Variable v = proto;
      const Token& name = ts_.expect(TokenKind::ident, "a variable name");
      v.name = name.text;
      v.loc = name.loc;
      uint64_t count = 1;
      bool unsized = false;
      while (ts_.accept_punct('[')) {
        if (ts_.accept_punct(']')) {
          unsized = true;
          continue;
        }
        count *= ts_.expect_uint(UINT32_MAX, "an array size");
        ts_.expect_punct(']');
      }
      v.size = unsized ? 0 : count * type_bytes(v.type);
      if (ts_.accept_punct('=')) initialiser(v, unsized, unsupported);
      if (v.space == Space::shared && v.is_extern && v.size == 0) v.dynamic = true;
      if (!unsupported.empty()) {
        continue;
      }
      add_variable(std::move(v), pk);
    } while (ts_.accept_punct(','));
    const Token& last = ts_.expect_punct(';');
    if (!unsupported.empty()) record_unsupported(first, last, unsupported);
  }

  void add_variable(Variable v, ParsedKernel* pk) {
    if (!pk) {
      if (module_vars_.count(v.name)) throw Error(v.loc, "duplicate variable " + v.name);
      module_vars_[v.name] = uint32_t(m_.variables.size());
      m_.variables.push_back(std::move(v));
      return;
    }
    if (v.space != Space::shared && v.space != Space::local) {
      throw Error(v.loc, "a kernel body may declare .reg, .shared, .local and .param only");
    }
    Entity e;
    e.sym = {SymRef::kernel_var, uint32_t(pk->vars.size())};
    declare(v.name, e, v.loc);
    pk->vars.push_back(std::move(v));
  }

  // = value | = { values } (nested braces flatten). Integers and floats only; a symbol
  // address in an initialiser is not supported.
  void initialiser(Variable& v, bool unsized, std::string& unsupported) {
    std::vector<Token> values;
    int depth = 0;
    do {
      while (ts_.accept_punct('{')) ++depth;
      const Token& t = ts_.peek();
      if (t.is(TokenKind::integer) || t.is(TokenKind::floating)) {
        values.push_back(ts_.next());
      } else if (t.is(TokenKind::ident)) {
        unsupported = "initialisers with addresses are not supported";
        skip_initialiser_item();
      } else {
        ts_.fail("an initial value");
      }
      while (depth > 0 && ts_.accept_punct('}')) --depth;
    } while (ts_.accept_punct(','));
    if (depth != 0) ts_.fail("'}'");
    const unsigned eb = type_bytes(v.type);
    if (unsized) v.size = values.size() * eb;
    if (values.size() * eb > v.size) {
      throw Error(v.loc, "too many initial values for " + v.name);
    }
    v.init.assign(v.size, 0);
    for (size_t i = 0; i < values.size(); ++i) {
      uint64_t bits = value_bits(values[i], v.type);
      std::memcpy(v.init.data() + i * eb, &bits, eb);  // little-endian host
    }
  }

  void skip_initialiser_item() {
    int parens = 0;
    for (;;) {
      const Token& t = ts_.peek();
      if (t.is(TokenKind::eof)) ts_.fail("';'");
      if (parens == 0 && (t.is_punct(',') || t.is_punct('}') || t.is_punct(';'))) return;
      if (t.is_punct('(')) ++parens;
      if (t.is_punct(')')) --parens;
      ts_.next();
    }
  }

  // An initial value's bits at type t.
  static uint64_t value_bits(const Token& t, Type type) {
    if (type == Type::f32) {
      float f = t.f32();
      uint32_t b;
      std::memcpy(&b, &f, 4);
      return b;
    }
    if (type == Type::f64) {
      double d = t.is(TokenKind::integer) ? double(t.magnitude) * (t.negative ? -1 : 1) : t.value;
      uint64_t b;
      std::memcpy(&b, &d, 8);
      return b;
    }
    if (t.is(TokenKind::floating)) {
      // A hex float keeps its bits for an integer-typed variable (0f3F800000 in a .b32).
      bool hex = t.text.find_first_of("fFdD") != std::string::npos &&
                 t.text.find('.') == std::string::npos;
      if (!hex) throw Error(t.loc, "expected an integer for an integer-typed variable");
      return t.magnitude;
    }
    return t.negative ? uint64_t(0) - t.magnitude : t.magnitude;
  }

  // ---- functions --------------------------------------------------------------------------

  void function(bool visible) {
    ParsedKernel pk;
    Kernel& k = pk.kernel;
    k.is_entry = ts_.next().text == ".entry";
    k.visible = visible;
    if (!k.is_entry && ts_.at_punct('(')) param_list(k.returns);
    const Token& name = ts_.expect(TokenKind::ident, "a kernel name");
    k.name = name.text;
    k.loc = name.loc;
    if (ts_.at_punct('(')) param_list(k.params);
    k.param_bytes = layout(k.params, 0);
    // A .func's return parameters follow its parameters in the same param space.
    layout(k.returns, k.param_bytes);
    attributes(k);
    if (ts_.accept_punct(';')) {
      // A prototype: the definition (if any) comes later.
      functions_.insert(k.name);
      return;
    }
    for (const Kernel& other : m_.kernels) {
      if (other.name == k.name) throw Error(name.loc, "duplicate function " + k.name);
    }
    functions_.insert(k.name);
    body(pk);
    detail::decode_kernel(pk, m_);
    m_.kernels.push_back(std::move(pk.kernel));
  }

  void param_list(std::vector<Param>& out) {
    ts_.expect_punct('(');
    if (ts_.accept_punct(')')) return;
    do {
      out.push_back(param());
    } while (ts_.accept_punct(','));
    ts_.expect_punct(')');
  }

  // .param .type [.ptr [.space] [.align N]] name | .param [.align N] .type name[N]
  Param param() {
    const Token& kw = ts_.peek();
    if (!kw.is(TokenKind::ident) || split_dots(kw.text).empty() ||
        split_dots(kw.text)[0] != "param") {
      ts_.fail("'.param'");
    }
    Param p;
    bool typed = false;
    uint32_t align = 0;
    bool first = true;
    while (at_directive()) {
      Token d = ts_.next();
      for (const std::string& part : split_dots(d.text)) {
        Type t;
        Space s;
        if (first) {
          first = false;  // "param"
        } else if (part == "align") {
          align = expect_u32("an alignment");
        } else if (part == "ptr") {
          p.is_ptr = true;
        } else if (detail::space_from_name(part, s)) {
          p.ptr_space = s;
        } else if (detail::type_from_name(part, t) && t != Type::pred) {
          p.type = t;
          typed = true;
        } else {
          throw Error(d.loc, "expected a parameter type or attribute, found '." + part + "'");
        }
      }
    }
    if (!typed) ts_.fail("a parameter type");
    const Token& name = ts_.expect(TokenKind::ident, "a parameter name");
    p.name = name.text;
    uint64_t count = 1;
    while (ts_.accept_punct('[')) {
      count *= ts_.expect_uint(UINT32_MAX, "an array size");
      ts_.expect_punct(']');
    }
    p.size = uint32_t(count * type_bytes(p.type));
    if (p.is_ptr) {
      p.ptr_align = align;
      p.align = type_bytes(p.type);
    } else {
      p.align = align ? align : type_bytes(p.type);
    }
    if (!power_of_2(p.align)) throw Error(name.loc, "alignment is not a power of 2");
    return p;
  }

  // Lays params out from `off` on, each at its alignment; returns the end offset.
  static uint32_t layout(std::vector<Param>& params, uint32_t off) {
    for (Param& p : params) {
      off = (off + p.align - 1) / p.align * p.align;
      p.offset = off;
      off += p.size;
    }
    return off;
  }

  std::array<uint32_t, 3> dims() {
    std::array<uint32_t, 3> d{1, 1, 1};
    d[0] = expect_u32("a thread count");
    for (int i = 1; i < 3 && ts_.accept_punct(','); ++i)
      d[size_t(i)] = expect_u32("a thread count");
    return d;
  }

  void attributes(Kernel& k) {
    while (at_directive()) {
      const Token t = ts_.peek();
      if (t.text == ".maxntid") {
        ts_.next();
        k.maxntid = dims();
      } else if (t.text == ".reqntid") {
        ts_.next();
        k.reqntid = dims();
      } else if (t.text == ".minnctapersm") {
        ts_.next();
        k.minnctapersm = expect_u32("a block count");
      } else if (t.text == ".maxnreg") {
        ts_.next();
        k.maxnreg = expect_u32("a register count");
      } else if (t.text == ".noreturn") {
        ts_.next();
      } else if (t.text == ".pragma") {
        k.pragmas.push_back(pragma());
      } else if (known_unsupported_directive(t.text)) {
        Token last = ts_.next();
        while (ts_.at(TokenKind::integer) || ts_.at_punct(',')) last = ts_.next();
        record_unsupported(t, last, "directive " + t.text + " is not supported");
      } else {
        throw Error(t.loc, "unknown directive '" + t.text + "'");
      }
    }
  }

  // ---- bodies -----------------------------------------------------------------------------

  void declare(const std::string& name, const Entity& e, const SourceLoc& loc) {
    if (!scopes_.back().emplace(name, e).second) {
      throw Error(loc, "duplicate declaration of " + name);
    }
  }

  const Entity* lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto f = it->find(name);
      if (f != it->end()) return &f->second;
    }
    return nullptr;
  }

  void body(ParsedKernel& pk) {
    pk_ = &pk;
    loc_ = {};
    scopes_.assign(1, {});
    for (size_t i = 0; i < pk.kernel.params.size(); ++i) {
      Entity e;
      e.sym = {SymRef::param, uint32_t(i)};
      declare(pk.kernel.params[i].name, e, pk.kernel.loc);
    }
    for (size_t i = 0; i < pk.kernel.returns.size(); ++i) {
      Entity e;
      e.sym = {SymRef::retval, uint32_t(i)};
      declare(pk.kernel.returns[i].name, e, pk.kernel.loc);
    }
    ts_.expect_punct('{');
    scopes_.emplace_back();
    for (;;) {
      const Token& t = ts_.peek();
      if (t.is_punct('}')) {
        ts_.next();
        scopes_.pop_back();
        if (scopes_.size() == 1) break;
      } else if (t.is_punct('{')) {
        ts_.next();
        scopes_.emplace_back();
      } else if (t.is(TokenKind::ident) && !starts_with(t.text, '.') && !starts_with(t.text, '%') &&
                 t.text.find('.') == std::string::npos && ts_.peek(1).is_punct(':') &&
                 !ts_.peek(2).is_punct(':')) {
        Token label = ts_.next();
        ts_.next();
        pk.labels.define(label.text, pk.body.size(), label.loc);
        pk.label_order.emplace_back(label.text, uint32_t(pk.body.size()));
      } else if (at_directive()) {
        body_directive(pk);
      } else if (t.is_punct('@') || t.is(TokenKind::ident)) {
        instruction(pk);
      } else if (t.is(TokenKind::eof)) {
        ts_.fail("'}' (the kernel body is not closed)");
      } else {
        ts_.fail("an instruction, a directive, a label or '}'");
      }
    }
    scopes_.clear();
    pk_ = nullptr;
  }

  void body_directive(ParsedKernel& pk) {
    const Token first = ts_.peek();
    const std::string& d = first.text;
    if (d == ".reg") {
      reg_declaration();
    } else if (d == ".shared" || d == ".local") {
      variable_declaration(first, false, &pk);
    } else if (d == ".param") {
      call_param();
    } else if (d == ".pragma") {
      pk.kernel.pragmas.push_back(pragma());
    } else if (d == ".loc") {
      loc_directive();
    } else if (known_unsupported_directive(d)) {
      record_unsupported(first, skip_statement(), "directive " + d + " is not supported");
    } else {
      throw Error(first.loc, "unknown directive '" + d + "' in a kernel body");
    }
  }

  // .reg .type name[<N>] {, name[<N>]} ;
  void reg_declaration() {
    Token first = ts_.next();
    Type type = Type::none;
    bool vector = false;
    while (at_directive()) {
      Token d = ts_.next();
      for (const std::string& p : split_dots(d.text)) {
        Type t;
        if (p == "v2" || p == "v4") {
          vector = true;
        } else if (detail::type_from_name(p, t) && t != Type::tf32) {
          type = t;
        } else {
          throw Error(d.loc, "expected a register type, found '." + p + "'");
        }
      }
    }
    if (type == Type::none) ts_.fail("a register type (.b32, .f32, .pred, ...)");
    if (vector) {
      Token last = skip_statement();
      record_unsupported(first, last, "vector registers are not supported");
      return;
    }
    Code& code = pk_->kernel.code;
    do {
      const Token& name = ts_.expect(TokenKind::ident, "a register name");
      uint64_t count = 0;
      bool range = ts_.accept_punct('<');
      if (range) {
        count = ts_.expect_uint(1u << 20, "a register count");
        ts_.expect_punct('>');
      }
      auto add = [&](const std::string& n) {
        Entity e;
        e.is_reg = true;
        e.reg = uint32_t(code.regs.size());
        declare(n, e, name.loc);
        code.regs.push_back({n, type, reg_bits(type)});
        if (type == Type::pred) {
          ++code.pred_regs;
        } else {
          code.reg_units += reg_bits(type) > 32 ? 2 : 1;
        }
      };
      if (range) {
        for (uint64_t i = 0; i < count; ++i) add(name.text + std::to_string(i));
      } else {
        add(name.text);
      }
    } while (ts_.accept_punct(','));
    ts_.expect_punct(';');
  }

  // A .param in a body: an argument or the result of a call.
  void call_param() {
    while (at_directive()) ts_.next();
    const Token& name = ts_.expect(TokenKind::ident, "a parameter name");
    while (ts_.accept_punct('[')) {
      ts_.expect_uint(UINT32_MAX, "an array size");
      ts_.expect_punct(']');
    }
    Entity e;
    e.sym = {SymRef::call_param, 0};
    declare(name.text, e, name.loc);
    ts_.expect_punct(';');
  }

  void instruction(ParsedKernel& pk) {
    PInstr in;
    const Token first = ts_.peek();
    in.loc = first.loc;
    if (ts_.accept_punct('@')) {
      in.guard_neg = ts_.accept_punct('!');
      const Token& g = ts_.expect(TokenKind::ident, "a predicate register");
      in.guard = predicate(g);
    }
    const Token& op = ts_.peek();
    if (!op.is(TokenKind::ident) || starts_with(op.text, '.') || starts_with(op.text, '%')) {
      ts_.fail("an opcode");
    }
    in.opcode_loc = op.loc;
    in.opcode = ts_.next().text;
    // cp.async.ca.shared::cta.global: "::" joins the parts the lexer split.
    while (ts_.at_punct(':') && ts_.peek(1).is_punct(':') && ts_.peek(2).is(TokenKind::ident)) {
      ts_.next();
      ts_.next();
      in.opcode += "::" + ts_.next().text;
    }
    if (!ts_.at_punct(';')) {
      do {
        in.ops.push_back(operand());
      } while (ts_.accept_punct(','));
    }
    if (!ts_.at_punct(';')) ts_.fail("',' or ';'");
    const Token last = ts_.next();
    in.text = source_text(first, last);
    in.where = loc_;
    in.where.line = first.loc.line;
    in.where.column = first.loc.column;
    pk.body.push_back(std::move(in));
  }

  uint32_t predicate(const Token& t) {
    const Entity* e = lookup(t.text);
    if (!e || !e->is_reg) throw Error(t.loc, "unknown register " + t.text);
    if (pk_->kernel.code.regs[e->reg].type != Type::pred) {
      throw Error(t.loc, "expected a predicate register, found " + t.text);
    }
    return e->reg;
  }

  // A name in an operand: register, special register, variable, or (left for the decoder)
  // a label or function name.
  POperand name_operand(const Token& t) {
    POperand o;
    o.loc = t.loc;
    if (t.text == "_") {
      o.kind = PKind::sink;
      return o;
    }
    if (const Entity* e = lookup(t.text)) {
      if (e->is_reg) {
        o.kind = PKind::reg;
        o.reg = e->reg;
      } else {
        o.kind = PKind::sym;
        o.sym = e->sym;
      }
      return o;
    }
    auto mv = module_vars_.find(t.text);
    if (mv != module_vars_.end()) {
      o.kind = PKind::sym;
      o.sym = {SymRef::module_var, mv->second};
      return o;
    }
    if (starts_with(t.text, '%')) {
      if (!detail::sreg_from_name(t.text.substr(1), o.sreg)) {
        throw Error(t.loc, "unknown register " + t.text);
      }
      o.kind = PKind::sreg;
      return o;
    }
    o.kind = PKind::name;
    o.name = t.text;
    return o;
  }

  int64_t offset_after_sign() {
    if (ts_.accept_punct('+')) return ts_.expect_int(INT64_MIN, INT64_MAX, "an offset");
    if (ts_.accept_punct('-')) {
      return -ts_.expect_int(0, INT64_MAX, "an offset");
    }
    return 0;
  }

  POperand operand() {
    const Token& t = ts_.peek();
    POperand o;
    o.loc = t.loc;
    if (ts_.accept_punct('!')) {
      o = operand();
      if (o.kind != PKind::reg) throw Error(t.loc, "'!' applies to a predicate register");
      o.neg = true;
      return o;
    }
    if (ts_.accept_punct('{') || ts_.accept_punct('(')) {
      const char close = t.is_punct('{') ? '}' : ')';
      o.kind = close == '}' ? PKind::vec : PKind::list;
      if (!ts_.accept_punct(close)) {
        do {
          o.elems.push_back(operand());
        } while (ts_.accept_punct(','));
        ts_.expect_punct(close);
      }
      return o;
    }
    if (ts_.accept_punct('[')) {
      o.kind = PKind::mem;
      const Token& b = ts_.peek();
      if (b.is(TokenKind::integer)) {
        o.offset = ts_.expect_int(INT64_MIN, INT64_MAX, "an address");
      } else if (b.is(TokenKind::ident)) {
        POperand base = name_operand(ts_.next());
        if (base.kind == PKind::reg) {
          o.reg = base.reg;
        } else if (base.kind == PKind::sym) {
          o.sym = base.sym;
        } else if (base.kind == PKind::name) {
          o.name = base.name;
        } else {
          throw_expected(b, "a register or a variable as an address");
        }
        o.offset = offset_after_sign();
      } else {
        ts_.fail("an address (register, variable or integer)");
      }
      ts_.expect_punct(']');
      return o;
    }
    if (t.is(TokenKind::integer) || t.is(TokenKind::floating)) {
      o.kind = PKind::imm;
      o.lit = ts_.next();
      return o;
    }
    // After an opcode the lexer reads "-1" as '-' and 1 (as in "%r1-1"): the first operand
    // of "bar.warp.sync -1;".
    if (t.is_punct('-') &&
        (ts_.peek(1).is(TokenKind::integer) || ts_.peek(1).is(TokenKind::floating)) &&
        !ts_.peek(1).negative) {
      ts_.next();
      o.kind = PKind::imm;
      o.lit = ts_.next();
      o.lit.negative = true;
      o.lit.text = "-" + o.lit.text;
      o.lit.value = -o.lit.value;
      return o;
    }
    if (t.is(TokenKind::ident) && !starts_with(t.text, '.')) {
      o = name_operand(ts_.next());
      if (o.kind == PKind::reg && ts_.accept_punct('|')) {
        const Token& r2 = ts_.expect(TokenKind::ident, "a register after '|'");
        POperand second = name_operand(r2);
        if (second.kind != PKind::reg) throw Error(r2.loc, "unknown register " + r2.text);
        o.reg2 = second.reg;
      } else if (o.kind == PKind::sym) {
        o.offset = offset_after_sign();
      }
      return o;
    }
    ts_.fail("an operand");
  }

  const std::string& text_;
  TokenStream ts_;
  std::vector<size_t> line_starts_;
  Module m_;
  std::unordered_map<std::string, uint32_t> module_vars_;
  std::unordered_set<std::string> functions_;
  ParsedKernel* pk_ = nullptr;
  std::vector<Scope> scopes_;
  SourceInfo loc_;  // the last .loc
};

}  // namespace

const Kernel* Module::find_kernel(const std::string& name) const {
  for (const Kernel& k : kernels) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

size_t Module::instruction_count() const {
  size_t n = 0;
  for (const Kernel& k : kernels) n += k.code.instrs.size();
  return n;
}

std::string Module::cuda_location(const SourceInfo& where) const {
  auto f = files.find(where.loc_file);
  if (where.loc_file == 0 || f == files.end()) return "";
  return f->second + ":" + std::to_string(where.loc_line);
}

std::string describe(const Unsupported& u) {
  return u.loc.file + ":" + std::to_string(u.loc.line) + ": unsupported " +
         (u.directive ? "directive" : "instruction") + " '" + u.text + "' (" + u.reason + ")";
}

Module check_module(const std::string& text, const std::string& file) {
  return Parser(text, file).run();
}

Module parse_module(const std::string& text, const std::string& file) {
  Module m = check_module(text, file);
  if (!m.unsupported.empty()) throw Error(describe(m.unsupported.front()));
  return m;
}

Module load_module(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_module(ss.str(), path);
}

}  // namespace xpusim::isa::ptx
