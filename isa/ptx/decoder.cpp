// Parsed PTX instructions -> decoded Instr/Operand (instr.h), with the kernel's shared and
// local layouts; anything outside the supported subset becomes an Unsupported record.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <map>
#include <string_view>

#include "isa/ptx/syntax.h"

namespace xpusim::isa::ptx::detail {

namespace {

// Thrown while decoding one instruction: it is outside the subset, for this reason.
struct Refuse {
  std::string reason;
};
[[noreturn]] void refuse(std::string reason) {
  throw Refuse{std::move(reason)};
}

std::string dot(Type t) {
  return std::string(".") + type_name(t);
}

// The oldest target an instruction's PTX needs (the PTX ISA's "Target ISA notes"), 70 for
// the rest of the subset.
int required_sm(const Instr& in, const std::string& opcode) {
  const bool bf16 = opcode.find(".bf16") != std::string::npos;
  if (in.op == Op::cp_async || in.op == Op::cp_async_commit || in.op == Op::cp_async_wait_group ||
      in.op == Op::cp_async_wait_all || bf16)
    return 80;
  if (in.op == Op::mma) return opcode.find(".m16n8k8") != std::string::npos ? 75 : 80;
  if (in.op == Op::ldmatrix || in.op == Op::tanh) return 75;
  return 70;
}

// The target's number: 80 for sm_80 and sm_80a, 0 when it is not of that form.
int target_number(const std::string& t) {
  if (t.size() < 5 || t.compare(0, 3, "sm_") != 0) return 0;
  int v = 0;
  for (size_t i = 3; i < t.size() && t[i] >= '0' && t[i] <= '9'; ++i) {
    if (v > 9999) return 0;  // more digits than any target has (sm_18446744073 is not one)
    v = v * 10 + (t[i] - '0');
  }
  return v;
}

template <class E>
bool one_of(E v, std::initializer_list<E> set) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

int64_t f32_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
int64_t f64_bits(double d) {
  int64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}

const std::initializer_list<Type> kInts = {Type::u16, Type::u32, Type::u64,
                                           Type::s16, Type::s32, Type::s64};
const std::initializer_list<Type> kBits = {Type::b16, Type::b32, Type::b64};
const std::initializer_list<Type> kHalf = {Type::f16, Type::f16x2, Type::bf16, Type::bf16x2};

template <class E>
using Table = std::initializer_list<std::pair<std::string_view, E>>;

const Table<Rounding> kFloatRounding = {
    {"rn", Rounding::rn}, {"rz", Rounding::rz}, {"rm", Rounding::rm}, {"rp", Rounding::rp}};
const Table<Rounding> kIntRounding = {
    {"rni", Rounding::rni}, {"rzi", Rounding::rzi}, {"rmi", Rounding::rmi}, {"rpi", Rounding::rpi}};
const Table<Cmp> kCmps = {
    {"eq", Cmp::eq},   {"ne", Cmp::ne},   {"lt", Cmp::lt},   {"le", Cmp::le},   {"gt", Cmp::gt},
    {"ge", Cmp::ge},   {"lo", Cmp::lo},   {"ls", Cmp::ls},   {"hi", Cmp::hi},   {"hs", Cmp::hs},
    {"equ", Cmp::equ}, {"neu", Cmp::neu}, {"ltu", Cmp::ltu}, {"leu", Cmp::leu}, {"gtu", Cmp::gtu},
    {"geu", Cmp::geu}, {"num", Cmp::num}, {"nan", Cmp::nan}};
const Table<BoolOp> kBoolOps = {{"and", BoolOp::and_}, {"or", BoolOp::or_}, {"xor", BoolOp::xor_}};
const Table<Cache> kLoadCache = {
    {"ca", Cache::ca}, {"cg", Cache::cg}, {"cs", Cache::cs}, {"lu", Cache::lu}, {"cv", Cache::cv}};
const Table<Cache> kStoreCache = {
    {"wb", Cache::wb}, {"cg", Cache::cg}, {"cs", Cache::cs}, {"wt", Cache::wt}};
const Table<Sem> kAtomSems = {{"relaxed", Sem::relaxed},
                              {"acquire", Sem::acquire},
                              {"release", Sem::release},
                              {"acq_rel", Sem::acq_rel}};
const Table<Scope> kScopes = {{"cta", Scope::cta}, {"gpu", Scope::gpu}, {"sys", Scope::sys}};
const Table<MulMode> kMulModes = {
    {"lo", MulMode::lo}, {"hi", MulMode::hi}, {"wide", MulMode::wide}};
const Table<AtomOp> kAtomOps = {{"add", AtomOp::add},   {"min", AtomOp::min},  {"max", AtomOp::max},
                                {"inc", AtomOp::inc},   {"dec", AtomOp::dec},  {"cas", AtomOp::cas},
                                {"exch", AtomOp::exch}, {"and", AtomOp::and_}, {"or", AtomOp::or_},
                                {"xor", AtomOp::xor_}};
const Table<ShflMode> kShflModes = {{"up", ShflMode::up},
                                    {"down", ShflMode::down},
                                    {"bfly", ShflMode::bfly},
                                    {"idx", ShflMode::idx}};
const Table<VoteMode> kVoteModes = {{"all", VoteMode::all},
                                    {"any", VoteMode::any},
                                    {"uni", VoteMode::uni},
                                    {"ballot", VoteMode::ballot}};
const Table<PrmtMode> kPrmtModes = {{"f4e", PrmtMode::f4e}, {"b4e", PrmtMode::b4e},
                                    {"rc8", PrmtMode::rc8}, {"ecl", PrmtMode::ecl},
                                    {"ecr", PrmtMode::ecr}, {"rc16", PrmtMode::rc16}};

// The modifiers of an opcode ("ld.global.nc.v4.f32" -> global nc v4 f32), each taken at most
// once by the decoder; done() refuses any left over.
class Mods {
 public:
  explicit Mods(std::vector<std::string> parts) : p_(std::move(parts)), used_(p_.size()) {}

  bool take(std::string_view s) {
    for (size_t i = 0; i < p_.size(); ++i) {
      if (!used_[i] && p_[i] == s) {
        used_[i] = true;
        return true;
      }
    }
    return false;
  }
  template <class E>
  bool take(const Table<E>& table, E& out) {
    for (size_t i = 0; i < p_.size(); ++i) {
      if (used_[i]) continue;
      for (const auto& [name, value] : table) {
        if (p_[i] == name) {
          used_[i] = true;
          out = value;
          return true;
        }
      }
    }
    return false;
  }
  // The first unused modifier, in order of writing, that is one of `names`; "" when none.
  std::string take_next(std::initializer_list<std::string_view> names) {
    for (size_t i = 0; i < p_.size(); ++i) {
      if (used_[i]) continue;
      for (std::string_view n : names) {
        if (p_[i] == n) {
          used_[i] = true;
          return p_[i];
        }
      }
    }
    return "";
  }
  // The next type among the modifiers, in order of writing.
  bool take_type(Type& out) {
    for (size_t i = 0; i < p_.size(); ++i) {
      if (!used_[i] && type_from_name(p_[i], out)) {
        used_[i] = true;
        return true;
      }
    }
    return false;
  }
  Type need_type(const char* what = "a type") {
    Type t;
    if (!take_type(t)) refuse(std::string("missing ") + what);
    return t;
  }
  bool take_space(Space& out) {
    for (size_t i = 0; i < p_.size(); ++i) {
      if (!used_[i] && space_from_name(p_[i], out)) {
        used_[i] = true;
        return true;
      }
    }
    return false;
  }
  void done() const {
    for (size_t i = 0; i < p_.size(); ++i) {
      if (!used_[i]) refuse("modifier ." + p_[i] + " is not supported here");
    }
  }

 private:
  std::vector<std::string> p_;
  std::vector<bool> used_;
};

std::vector<std::string> split_opcode(const std::string& s) {
  std::vector<std::string> parts;
  size_t i = 0;
  for (;;) {
    size_t j = s.find('.', i);
    parts.push_back(s.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return parts;
}

uint32_t round_up(uint64_t v, uint32_t align) {
  return uint32_t((v + align - 1) / align * align);
}

class KernelDecoder {
 public:
  KernelDecoder(ParsedKernel& pk, Module& m) : pk_(pk), m_(m), code_(pk.kernel.code) {}

  void run() {
    layout();
    code_.labels = pk_.label_order;
    for (const PInstr& p : pk_.body) decode(p);
  }

 private:
  // ---- layout -----------------------------------------------------------------------------

  void collect_module_refs(const POperand& o, std::vector<bool>& used) const {
    if ((o.kind == PKind::sym || o.kind == PKind::mem) && o.sym.where == SymRef::module_var) {
      used[o.sym.index] = true;
    }
    for (const POperand& e : o.elems) collect_module_refs(e, used);
  }

  void place(Variable v, uint32_t& end, std::vector<Variable>& out, int64_t& offset) {
    v.offset = round_up(end, v.align);
    end = uint32_t(v.offset + v.size);
    offset = int64_t(v.offset);
    out.push_back(std::move(v));
  }

  void layout() {
    std::vector<bool> used(m_.variables.size());
    for (const PInstr& p : pk_.body) {
      for (const POperand& o : p.ops) collect_module_refs(o, used);
    }
    uint32_t shared_end = 0, local_end = 0, dyn_align = 1;
    module_offset_.assign(m_.variables.size(), 0);
    for (size_t i = 0; i < m_.variables.size(); ++i) {
      const Variable& v = m_.variables[i];
      if (!used[i] || v.space != Space::shared) continue;
      if (v.dynamic) {
        code_.uses_dynamic_shared = true;
        dyn_align = std::max(dyn_align, v.align);
      } else {
        place(v, shared_end, code_.shared, module_offset_[i]);
      }
    }
    kernel_offset_.assign(pk_.vars.size(), 0);
    for (size_t i = 0; i < pk_.vars.size(); ++i) {
      const Variable& v = pk_.vars[i];
      if (v.space == Space::shared) {
        place(v, shared_end, code_.shared, kernel_offset_[i]);
      } else {
        place(v, local_end, code_.local, kernel_offset_[i]);
      }
    }
    code_.shared_bytes = shared_end;
    code_.local_bytes = local_end;
    code_.dynamic_offset = round_up(shared_end, dyn_align);
    for (size_t i = 0; i < m_.variables.size(); ++i) {
      const Variable& v = m_.variables[i];
      if (!used[i] || !v.dynamic) continue;
      Variable d = v;
      d.offset = code_.dynamic_offset;
      module_offset_[i] = code_.dynamic_offset;
      code_.shared.push_back(std::move(d));
    }
  }

  // ---- one instruction --------------------------------------------------------------------

  void decode(const PInstr& p) {
    p_ = &p;
    ops_.clear();
    elems_.clear();
    Instr in;
    in.guard = p.guard;
    in.guard_neg = p.guard_neg;
    try {
      std::vector<std::string> parts = split_opcode(p.opcode);
      std::string base = parts.front();
      parts.erase(parts.begin());
      Mods m(std::move(parts));
      dispatch(base, m, in);
      m.done();
      const int need = required_sm(in, p.opcode), have = target_number(m_.target);
      if (have && need > have)
        refuse(fmt::format("it needs sm_{} or later; the module's .target is {}", need, m_.target));
    } catch (const Refuse& r) {
      m_.unsupported.push_back({p.loc, false, p.text, r.reason});
      in = Instr{};
      ops_.clear();
      elems_.clear();
    }
    in.first_op = uint32_t(code_.operands.size());
    in.nops = uint8_t(ops_.size());
    const uint32_t elem_base = in.first_op + uint32_t(ops_.size());
    for (Operand& o : ops_) {
      if (o.kind == OperandKind::vec) o.index += elem_base;
    }
    code_.operands.insert(code_.operands.end(), ops_.begin(), ops_.end());
    code_.operands.insert(code_.operands.end(), elems_.begin(), elems_.end());
    code_.instrs.push_back(in);
    code_.where.push_back(p.where);
    code_.text.push_back(p.text);
  }

  const POperand& op(size_t i) const { return p_->ops[i]; }
  void arity(size_t lo, size_t hi) const {
    size_t n = p_->ops.size();
    if (n < lo || n > hi) {
      refuse(lo == hi
                 ? "expected " + std::to_string(lo) + " operands"
                 : "expected " + std::to_string(lo) + " to " + std::to_string(hi) + " operands");
    }
  }
  void arity(size_t n) const { arity(n, n); }

  // ---- operands ---------------------------------------------------------------------------

  bool is_pred(uint32_t reg) const { return code_.regs[reg].type == Type::pred; }

  // A destination register (a predicate one when `pred`).
  void dst(const POperand& o, bool pred = false) {
    if (o.kind == PKind::sink) {
      ops_.push_back({OperandKind::sink});
      return;
    }
    if (o.kind != PKind::reg || o.neg || o.reg2 != kNoReg) {
      refuse(pred ? "expected a predicate register as destination"
                  : "expected a register as destination");
    }
    if (is_pred(o.reg) != pred) {
      refuse(pred ? "expected a predicate register" : "a predicate register is not a value");
    }
    Operand r;
    r.index = o.reg;
    ops_.push_back(r);
  }

  // A predicate source, possibly negated.
  void pred_src(const POperand& o) {
    if (o.kind != PKind::reg || !is_pred(o.reg) || o.reg2 != kNoReg) {
      refuse("expected a predicate register");
    }
    Operand r;
    r.index = o.reg;
    r.flags = o.neg ? kNegate : 0;
    ops_.push_back(r);
  }

  // The bits of an immediate at type t.
  static int64_t imm_bits(const Token& lit, Type t) {
    if (lit.is(TokenKind::integer)) {
      // PTX reads 017 as octal; the lexer would read it as decimal.
      const size_t p = lit.negative ? 1 : 0;
      if (lit.text.size() > p + 1 && lit.text[p] == '0' && lit.text[p + 1] >= '0' &&
          lit.text[p + 1] <= '9') {
        refuse("octal literals are not supported");
      }
      const int64_t v = int64_t(lit.negative ? uint64_t(0) - lit.magnitude : lit.magnitude);
      if (t == Type::f32) return f32_bits(lit.f32());
      if (t == Type::f64) return f64_bits(double(v));
      if (is_float(t)) refuse("an immediate operand of type " + dot(t));
      return v;
    }
    if (t == Type::f32) return f32_bits(lit.f32());
    if (t == Type::f64) return f64_bits(lit.value);
    // A hex float gives its bits to a .b32/.b64 operand of its width.
    const size_t p = lit.negative ? 1 : 0;
    const char k = lit.text.size() > p + 1 ? lit.text[p + 1] : 0;
    const bool f = k == 'f' || k == 'F', d = k == 'd' || k == 'D';
    if ((f && type_bytes(t) == 4 && !is_float(t)) || (d && type_bytes(t) == 8 && !is_float(t))) {
      const uint64_t sign = lit.negative ? uint64_t(1) << (f ? 31 : 63) : 0;
      return int64_t(lit.magnitude ^ sign);
    }
    refuse("a floating-point immediate for a " + dot(t) + " operand");
  }

  void symbol(const SymRef& s, int64_t off, Operand& o) const {
    switch (s.where) {
      case SymRef::module_var: {
        const Variable& v = m_.variables[s.index];
        o.space = v.space;
        if (v.space == Space::shared) {
          o.value = module_offset_[s.index] + off;
        } else if (v.space == Space::global || v.space == Space::const_) {
          o.index = s.index;
          o.value = off;
        } else {
          refuse("module-scope " + std::string(".local") + " variables are not supported");
        }
        return;
      }
      case SymRef::kernel_var:
        o.space = pk_.vars[s.index].space;
        o.value = kernel_offset_[s.index] + off;
        return;
      case SymRef::param:
        o.space = Space::param;
        o.value = pk_.kernel.params[s.index].offset + off;
        return;
      case SymRef::retval:
        o.space = Space::param;
        o.value = pk_.kernel.returns[s.index].offset + off;
        return;
      case SymRef::call_param:
        refuse("call arguments (calls are not supported)");
      case SymRef::none:
        break;
    }
    refuse("unresolved symbol");
  }

  [[noreturn]] void undefined(const POperand& o) const {
    for (const Kernel& k : m_.kernels) {
      if (k.name == o.name) refuse("function addresses are not supported");
    }
    if (o.name == pk_.kernel.name) refuse("function addresses are not supported");
    if (pk_.labels.find(o.name)) refuse("a label as a value");
    throw Error(o.loc, "undefined symbol " + o.name);
  }

  // A value operand of type t: register, immediate, special register, symbol address.
  Operand value(const POperand& o, Type t) const {
    Operand r;
    switch (o.kind) {
      case PKind::reg:
        if (o.reg2 != kNoReg || o.neg) refuse("unexpected '|' or '!' in a source operand");
        if (is_pred(o.reg) != (t == Type::pred)) {
          refuse(t == Type::pred ? "expected a predicate" : "a predicate register is not a value");
        }
        r.index = o.reg;
        return r;
      case PKind::imm:
        r.kind = OperandKind::imm;
        r.value = imm_bits(o.lit, t);
        return r;
      case PKind::sreg:
        r.kind = OperandKind::sreg;
        r.value = int64_t(o.sreg);
        return r;
      case PKind::sym:
        r.kind = OperandKind::sym;
        symbol(o.sym, o.offset, r);
        return r;
      case PKind::name:
        undefined(o);
      default:
        refuse("expected a register or an immediate");
    }
  }
  void src(const POperand& o, Type t) { ops_.push_back(value(o, t)); }

  // A memory operand; `space` is the instruction's (generic when absent).
  void mem(const POperand& o, Space space) {
    if (o.kind != PKind::mem) refuse("expected an address [...]");
    Operand r;
    r.kind = OperandKind::mem;
    r.value = o.offset;
    if (o.reg != kNoReg) {
      if (is_pred(o.reg) || code_.regs[o.reg].bits < 32)
        refuse("an address register must be 32 or 64 bits");
      r.index = o.reg;
    } else if (o.sym.where != SymRef::none) {
      symbol(o.sym, o.offset, r);
      if (space != Space::generic && r.space != space) {
        refuse("the variable is not in the instruction's state space");
      }
    } else if (!o.name.empty()) {
      undefined(o);
    }
    ops_.push_back(r);
  }

  // A vector {a, b, ...} of `count` elements (0: any), or (when `scalar_ok` and count is 1) a
  // plain register. Elements: registers, `_` (destinations), immediates (sources).
  void vec(const POperand& o, Type elem, size_t count, bool dest, bool scalar_ok = false) {
    if (o.kind != PKind::vec) {
      if (scalar_ok && count == 1) {
        dest ? dst(o) : src(o, elem);
        return;
      }
      refuse("expected a vector {...}");
    }
    if (count && o.elems.size() != count) {
      refuse("expected " + std::to_string(count) + " elements in {...}");
    }
    Operand r;
    r.kind = OperandKind::vec;
    r.index = uint32_t(elems_.size());
    r.count = uint8_t(o.elems.size());
    for (const POperand& e : o.elems) {
      if (e.kind == PKind::sink) {
        elems_.push_back({OperandKind::sink});
      } else if (dest && e.kind != PKind::reg) {
        refuse("expected registers in a destination vector");
      } else {
        elems_.push_back(value(e, elem));
      }
    }
    ops_.push_back(r);
  }

  void label(const POperand& o) {
    if (o.kind != PKind::name) refuse("expected a label");
    Operand r;
    r.kind = OperandKind::label;
    r.value = int64_t(pk_.labels.resolve(o.name, o.loc));
    ops_.push_back(r);
  }

  // ---- opcodes ----------------------------------------------------------------------------

  void dispatch(const std::string& base, Mods& m, Instr& in) {
    using Fn = void (KernelDecoder::*)(Mods&, Instr&);
    static const std::map<std::string_view, Fn> kOps = {
        {"ld", &KernelDecoder::ld_st},
        {"st", &KernelDecoder::ld_st},
        {"mov", &KernelDecoder::mov},
        {"cvta", &KernelDecoder::cvta},
        {"cvt", &KernelDecoder::cvt},
        {"add", &KernelDecoder::arith},
        {"sub", &KernelDecoder::arith},
        {"mul", &KernelDecoder::arith},
        {"mad", &KernelDecoder::arith},
        {"fma", &KernelDecoder::arith},
        {"div", &KernelDecoder::arith},
        {"rem", &KernelDecoder::arith},
        {"min", &KernelDecoder::arith},
        {"max", &KernelDecoder::arith},
        {"abs", &KernelDecoder::arith},
        {"neg", &KernelDecoder::arith},
        {"copysign", &KernelDecoder::arith},
        {"rcp", &KernelDecoder::special},
        {"sqrt", &KernelDecoder::special},
        {"rsqrt", &KernelDecoder::special},
        {"ex2", &KernelDecoder::special},
        {"lg2", &KernelDecoder::special},
        {"sin", &KernelDecoder::special},
        {"cos", &KernelDecoder::special},
        {"tanh", &KernelDecoder::special},
        {"shl", &KernelDecoder::bits},
        {"shr", &KernelDecoder::bits},
        {"and", &KernelDecoder::bits},
        {"or", &KernelDecoder::bits},
        {"xor", &KernelDecoder::bits},
        {"not", &KernelDecoder::bits},
        {"cnot", &KernelDecoder::bits},
        {"bfe", &KernelDecoder::bits},
        {"bfi", &KernelDecoder::bits},
        {"popc", &KernelDecoder::bits},
        {"clz", &KernelDecoder::bits},
        {"brev", &KernelDecoder::bits},
        {"prmt", &KernelDecoder::bits},
        {"dp4a", &KernelDecoder::dp},
        {"dp2a", &KernelDecoder::dp},
        {"setp", &KernelDecoder::setp},
        {"set", &KernelDecoder::set},
        {"selp", &KernelDecoder::selp},
        {"slct", &KernelDecoder::slct},
        {"bra", &KernelDecoder::control},
        {"ret", &KernelDecoder::control},
        {"exit", &KernelDecoder::control},
        {"trap", &KernelDecoder::control},
        {"brkpt", &KernelDecoder::control},
        {"bar", &KernelDecoder::barrier},
        {"barrier", &KernelDecoder::barrier},
        {"membar", &KernelDecoder::fence},
        {"fence", &KernelDecoder::fence},
        {"nanosleep", &KernelDecoder::nanosleep},
        {"shfl", &KernelDecoder::shfl},
        {"vote", &KernelDecoder::vote},
        {"activemask", &KernelDecoder::activemask},
        {"match", &KernelDecoder::match},
        {"atom", &KernelDecoder::atom},
        {"red", &KernelDecoder::atom},
        {"cp", &KernelDecoder::cp},
        {"ldmatrix", &KernelDecoder::ldmatrix},
        {"mma", &KernelDecoder::mma},
        {"wmma", &KernelDecoder::wmma},
    };
    base_ = base;
    auto it = kOps.find(base);
    if (base == "call") refuse("calls are not supported");
    if (it == kOps.end()) refuse("opcode '" + base + "' is not supported");
    (this->*(it->second))(m, in);
  }

  // ld / st [.weak|.volatile|.relaxed.scope|.acquire.scope|.release.scope] [.space] [.nc]
  // [.cache] [.v2|.v4] .type
  void ld_st(Mods& m, Instr& in) {
    const bool load = base_ == "ld";
    in.op = load ? Op::ld : Op::st;
    if (m.take("volatile")) {
      in.sem = Sem::volatile_;
    } else if (m.take("relaxed")) {
      in.sem = Sem::relaxed;
    } else if (load && m.take("acquire")) {
      in.sem = Sem::acquire;
    } else if (!load && m.take("release")) {
      in.sem = Sem::release;
    } else {
      m.take("weak");
    }
    m.take(kScopes, in.scope);
    if (in.sem != Sem::none && in.sem != Sem::volatile_ && in.scope == Scope::none) {
      refuse("a memory ordering needs a scope (.cta, .gpu or .sys)");
    }
    m.take_space(in.space);
    if (load && m.take("nc")) {
      if (in.space != Space::global) refuse(".nc applies to ld.global");
      in.flags |= kNc;
    }
    m.take(load ? kLoadCache : kStoreCache, in.cache);
    if (m.take("v2")) in.vec = 2;
    if (m.take("v4")) in.vec = 4;
    in.type = m.need_type();
    if (in.type == Type::pred || in.type == Type::tf32) refuse("type " + dot(in.type));
    arity(2);
    const POperand& data = op(load ? 0 : 1);
    if (load) {
      in.vec > 1 ? vec(data, in.type, in.vec, true) : dst(data);
      mem(op(1), in.space);
    } else {
      mem(op(0), in.space);
      in.vec > 1 ? vec(data, in.type, in.vec, false) : src(data, in.type);
    }
  }

  // mov.type d, a; packing mov.b64 d, {a, b} and unpacking mov.b64 {a, b}, d
  void mov(Mods& m, Instr& in) {
    in.op = Op::mov;
    in.type = m.need_type();
    if (in.type == Type::tf32) refuse("type .tf32");
    arity(2);
    const bool pack = op(1).kind == PKind::vec, unpack = op(0).kind == PKind::vec;
    if (pack || unpack) {
      if (pack && unpack) refuse("a vector on both sides");
      if (!one_of(in.type, {Type::b32, Type::b64})) refuse("packing mov needs .b32 or .b64");
      const POperand& v = pack ? op(1) : op(0);
      const Type half = in.type == Type::b32 ? Type::b16 : Type::b32;
      if (v.elems.size() != 2 && !(in.type == Type::b64 && v.elems.size() == 4)) {
        refuse("expected 2 elements in {...}");
      }
      const Type elem = v.elems.size() == 4 ? Type::b16 : half;
      if (unpack) {
        vec(op(0), elem, 0, true);
        src(op(1), in.type);
      } else {
        dst(op(0));
        vec(op(1), elem, 0, false);
      }
      return;
    }
    dst(op(0), in.type == Type::pred);
    if (op(1).kind == PKind::sym &&
        !one_of(in.type, {Type::u32, Type::u64, Type::b32, Type::b64})) {
      refuse("the address of a variable needs .u32/.u64");
    }
    src(op(1), in.type);
  }

  // cvta[.to].space.size d, a
  void cvta(Mods& m, Instr& in) {
    in.op = Op::cvta;
    if (m.take("to")) in.flags |= kToSpace;
    if (!m.take_space(in.space) || in.space == Space::param) refuse("missing state space");
    in.type = m.need_type();
    if (!one_of(in.type, {Type::u32, Type::u64})) refuse("cvta needs .u32 or .u64");
    arity(2);
    dst(op(0));
    src(op(1), in.type);
  }

  // cvt[.rnd][.ftz][.sat].dtype.atype d, a; cvt.rn[.relu].{f16x2,bf16x2}.f32 d, a, b
  void cvt(Mods& m, Instr& in) {
    in.op = Op::cvt;
    const bool frnd = m.take(kFloatRounding, in.rnd);
    const bool irnd = !frnd && m.take(kIntRounding, in.rnd);
    if (!frnd && !irnd && m.take("rna")) in.rnd = Rounding::rna;
    if (m.take("ftz")) in.flags |= kFtz;
    if (m.take("sat")) in.flags |= kSat;
    if (m.take("relu")) in.flags |= kRelu;
    in.type = m.need_type("the destination type");
    in.type2 = m.need_type("the source type");
    const Type d = in.type, a = in.type2;
    auto ok = [](Type t) {
      return one_of(t, kInts) ||
             one_of(t, {Type::u8, Type::s8, Type::f16, Type::bf16, Type::f32, Type::f64});
    };
    if (one_of(d, {Type::f16x2, Type::bf16x2}) && a == Type::f32) {
      if (!frnd) refuse("packing cvt needs .rn/.rz/.rm/.rp");
      arity(3);
      dst(op(0));
      src(op(1), a);
      src(op(2), a);
      return;
    }
    if (in.flags & kRelu) refuse(".relu applies to the packing forms");
    if (d == Type::tf32 && a == Type::f32) {
      if (in.rnd != Rounding::rna) refuse("cvt to .tf32 needs .rna");
    } else {
      if (!ok(d) || !ok(a)) refuse("cvt from " + dot(a) + " to " + dot(d));
      if (in.rnd == Rounding::rna) refuse(".rna applies to cvt.tf32.f32");
      if (irnd && !is_float(a)) refuse("integer rounding needs a floating-point source");
      if (frnd && !is_float(d))
        refuse("floating-point rounding needs a floating-point destination");
      const bool narrowing = is_float(d) && is_float(a) && type_bytes(d) < type_bytes(a);
      if (!frnd && ((is_float(d) && !is_float(a)) || narrowing)) {
        refuse("this conversion needs .rn, .rz, .rm or .rp");
      }
      if (!irnd && is_float(a) && !is_float(d)) {
        refuse("this conversion needs .rni, .rzi, .rmi or .rpi");
      }
    }
    arity(2);
    dst(op(0));
    src(op(1), a);
  }

  // add sub mul mad fma div rem min max abs neg copysign, integer and floating point.
  void arith(Mods& m, Instr& in) {
    static const std::map<std::string_view, std::pair<Op, int>> kArith = {
        {"add", {Op::add, 2}}, {"sub", {Op::sub, 2}}, {"mul", {Op::mul, 2}},
        {"mad", {Op::mad, 3}}, {"fma", {Op::fma, 3}}, {"div", {Op::div, 2}},
        {"rem", {Op::rem, 2}}, {"min", {Op::min, 2}}, {"max", {Op::max, 2}},
        {"abs", {Op::abs, 1}}, {"neg", {Op::neg, 1}}, {"copysign", {Op::copysign, 2}},
    };
    const auto [opc, nsrc] = kArith.at(base_);
    in.op = opc;
    MulMode mm = MulMode::none;
    const bool has_mm = (opc == Op::mul || opc == Op::mad) && m.take(kMulModes, mm);
    in.mode = uint8_t(mm);
    m.take(kFloatRounding, in.rnd);
    if (m.take("approx")) in.flags |= kApprox;
    if (m.take("full")) in.flags |= kFull;
    if (m.take("ftz")) in.flags |= kFtz;
    if (m.take("sat")) in.flags |= kSat;
    if (m.take("relu")) in.flags |= kRelu;
    in.type = m.need_type();
    const Type t = in.type;
    const bool rounding = in.rnd != Rounding::none;
    auto no = [&](uint16_t flags, const char* what) {
      if (in.flags & flags) refuse(std::string(what) + " does not apply to " + base_ + dot(t));
    };
    if (opc == Op::copysign) {
      if (!one_of(t, {Type::f32, Type::f64})) refuse("copysign needs .f32 or .f64");
      no(kApprox | kFull | kFtz | kSat | kRelu, "this modifier");
      if (rounding) refuse("rounding does not apply to copysign");
    } else if (one_of(t, kInts)) {
      if (rounding) refuse("rounding applies to floating-point types");
      no(kApprox | kFull | kFtz | kRelu, "this modifier");
      const bool signed_op = one_of(opc, {Op::abs, Op::neg});
      if (signed_op && !is_signed(t)) refuse(base_ + " needs a signed type");
      if (opc == Op::fma || opc == Op::copysign) refuse(base_ + " on integers");
      if ((opc == Op::mul || opc == Op::mad) && !has_mm) refuse("missing .lo, .hi or .wide");
      if (mm == MulMode::wide && type_bytes(t) == 8) refuse(".wide needs a 16- or 32-bit type");
      if ((in.flags & kSat) && !(t == Type::s32 && (opc == Op::add || opc == Op::sub ||
                                                    (opc == Op::mad && mm == MulMode::hi)))) {
        refuse(".sat does not apply to " + base_ + dot(t));
      }
    } else if (t == Type::f32 || t == Type::f64) {
      if (has_mm) refuse(".lo/.hi/.wide apply to integer types");
      no(kRelu, ".relu");
      if (opc == Op::rem) refuse("rem on floating point");
      if (t == Type::f64) no(kFtz | kSat, ".ftz/.sat");
      if (opc == Op::div) {
        const int forms = rounding + bool(in.flags & kApprox) + bool(in.flags & kFull);
        if (forms != 1) refuse("div needs exactly one of .approx, .full or a rounding");
        if (t == Type::f64 && !rounding) refuse("div.f64 needs a rounding");
      } else {
        no(kApprox | kFull, ".approx/.full");
      }
      if (opc == Op::fma && !rounding) refuse("fma needs a rounding");
      if (one_of(opc, {Op::min, Op::max, Op::abs, Op::neg}) && (rounding || (in.flags & kSat))) {
        refuse("rounding and .sat do not apply to " + base_);
      }
    } else if (one_of(t, kHalf)) {
      if (!one_of(opc, {Op::add, Op::sub, Op::mul, Op::fma, Op::min, Op::max, Op::abs, Op::neg})) {
        refuse(base_ + " on " + dot(t));
      }
      if (has_mm) refuse(".lo/.hi/.wide apply to integer types");
      no(kApprox | kFull, ".approx/.full");
      if (rounding && in.rnd != Rounding::rn) refuse("half-precision arithmetic rounds .rn");
      const bool bf = t == Type::bf16 || t == Type::bf16x2;
      if (bf) no(kFtz | kSat, ".ftz/.sat");
      if (opc != Op::fma && opc != Op::min && opc != Op::max) no(kRelu, ".relu");
      if (one_of(opc, {Op::min, Op::max, Op::abs, Op::neg}) && (rounding || (in.flags & kSat))) {
        refuse("rounding and .sat do not apply to " + base_);
      }
    } else {
      refuse(base_ + " on " + dot(t));
    }
    arity(size_t(nsrc) + 1);
    dst(op(0));
    for (int i = 1; i <= nsrc; ++i) src(op(size_t(i)), t);
  }

  // rcp sqrt rsqrt ex2 lg2 sin cos tanh
  void special(Mods& m, Instr& in) {
    static const std::map<std::string_view, Op> kOps = {
        {"rcp", Op::rcp}, {"sqrt", Op::sqrt}, {"rsqrt", Op::rsqrt}, {"ex2", Op::ex2},
        {"lg2", Op::lg2}, {"sin", Op::sin},   {"cos", Op::cos},     {"tanh", Op::tanh}};
    in.op = kOps.at(base_);
    const bool approx = m.take("approx");
    const bool rounding = m.take(kFloatRounding, in.rnd);
    if (approx) in.flags |= kApprox;
    if (m.take("ftz")) in.flags |= kFtz;
    in.type = m.need_type();
    const Type t = in.type;
    if (approx == rounding) refuse(base_ + " needs exactly one of .approx or a rounding");
    if (t == Type::f32) {
      if (rounding && !one_of(in.op, {Op::rcp, Op::sqrt})) refuse(base_ + " needs .approx");
      if (in.op == Op::tanh && (in.flags & kFtz)) refuse(".ftz does not apply to tanh");
    } else if (t == Type::f64) {
      if (in.op == Op::rsqrt) {
        if (!approx) refuse("rsqrt.f64 needs .approx");
      } else if (in.op == Op::rcp) {
        if (approx && !(in.flags & kFtz)) refuse("rcp.approx.f64 needs .ftz");
      } else if (in.op == Op::sqrt) {
        if (!rounding) refuse("sqrt.f64 needs a rounding");
      } else {
        refuse(base_ + dot(t));
      }
      if (rounding && (in.flags & kFtz)) refuse(".ftz does not apply to .f64");
    } else {
      refuse(base_ + dot(t));
    }
    arity(2);
    dst(op(0));
    src(op(1), t);
  }

  // shl shr and or xor not cnot bfe bfi popc clz brev prmt
  void bits(Mods& m, Instr& in) {
    static const std::map<std::string_view, Op> kOps = {
        {"shl", Op::shl},  {"shr", Op::shr},   {"and", Op::and_},  {"or", Op::or_},
        {"xor", Op::xor_}, {"not", Op::not_},  {"cnot", Op::cnot}, {"bfe", Op::bfe},
        {"bfi", Op::bfi},  {"popc", Op::popc}, {"clz", Op::clz},   {"brev", Op::brev},
        {"prmt", Op::prmt}};
    in.op = kOps.at(base_);
    if (in.op == Op::prmt) {
      PrmtMode pm = PrmtMode::none;
      m.take(kPrmtModes, pm);
      in.mode = uint8_t(pm);
    }
    in.type = m.need_type();
    const Type t = in.type;
    const Type u32 = Type::u32;
    switch (in.op) {
      case Op::shl:
      case Op::shr: {
        const bool ok = one_of(t, kBits) || (in.op == Op::shr && one_of(t, kInts));
        if (!ok) refuse(base_ + dot(t));
        arity(3);
        dst(op(0));
        src(op(1), t);
        src(op(2), u32);
        return;
      }
      case Op::and_:
      case Op::or_:
      case Op::xor_:
      case Op::not_:
      case Op::cnot: {
        const bool ok = one_of(t, kBits) || (t == Type::pred && in.op != Op::cnot);
        if (!ok) refuse(base_ + dot(t));
        const size_t n = in.op == Op::not_ || in.op == Op::cnot ? 1 : 2;
        arity(n + 1);
        dst(op(0), t == Type::pred);
        for (size_t i = 1; i <= n; ++i) {
          t == Type::pred ? pred_src(op(i)) : src(op(i), t);
        }
        return;
      }
      case Op::bfe:
        if (!one_of(t, {Type::u32, Type::u64, Type::s32, Type::s64})) refuse(base_ + dot(t));
        arity(4);
        dst(op(0));
        src(op(1), t);
        src(op(2), u32);
        src(op(3), u32);
        return;
      case Op::bfi:
        if (!one_of(t, {Type::b32, Type::b64})) refuse(base_ + dot(t));
        arity(5);
        dst(op(0));
        src(op(1), t);
        src(op(2), t);
        src(op(3), u32);
        src(op(4), u32);
        return;
      case Op::popc:
      case Op::clz:
      case Op::brev:
        if (!one_of(t, {Type::b32, Type::b64})) refuse(base_ + dot(t));
        arity(2);
        dst(op(0));
        src(op(1), t);
        return;
      default:  // prmt
        if (t != Type::b32) refuse("prmt needs .b32");
        arity(4);
        dst(op(0));
        for (size_t i = 1; i <= 3; ++i) src(op(i), t);
        return;
    }
  }

  // dp4a.atype.btype d, a, b, c; dp2a.{lo,hi}.atype.btype d, a, b, c
  void dp(Mods& m, Instr& in) {
    in.op = base_ == "dp4a" ? Op::dp4a : Op::dp2a;
    if (in.op == Op::dp2a) {
      if (m.take("lo")) {
        in.mode = uint8_t(DpHalf::lo);
      } else if (m.take("hi")) {
        in.mode = uint8_t(DpHalf::hi);
      } else {
        refuse("dp2a needs .lo or .hi");
      }
    }
    in.type = m.need_type();
    in.type2 = m.need_type();
    for (Type t : {in.type, in.type2}) {
      if (!one_of(t, {Type::u32, Type::s32})) refuse(base_ + " needs .u32/.s32 types");
    }
    const Type acc = is_signed(in.type) || is_signed(in.type2) ? Type::s32 : Type::u32;
    arity(4);
    dst(op(0));
    src(op(1), in.type);
    src(op(2), in.type2);
    src(op(3), acc);
  }

  void check_cmp(Cmp c, Type t) const {
    const bool unsigned_only = one_of(c, {Cmp::lo, Cmp::ls, Cmp::hi, Cmp::hs});
    const bool float_only = c >= Cmp::equ;
    if (is_float(t) ? unsigned_only : float_only) {
      refuse("this comparison does not apply to " + dot(t));
    }
    if (unsigned_only && is_signed(t)) refuse("this comparison does not apply to " + dot(t));
  }

  // setp.cmp[.bop][.ftz].type p[|q], a, b[, {!}c]
  void setp(Mods& m, Instr& in) {
    in.op = Op::setp;
    if (!m.take(kCmps, in.cmp)) refuse("missing comparison");
    const bool combine = m.take(kBoolOps, in.bop);
    if (m.take("ftz")) in.flags |= kFtz;
    in.type = m.need_type();
    const Type t = in.type;
    if (!(one_of(t, kInts) || one_of(t, kBits) || one_of(t, kHalf) ||
          one_of(t, {Type::f32, Type::f64}))) {
      refuse("setp" + dot(t));
    }
    check_cmp(in.cmp, t);
    if ((in.flags & kFtz) && !one_of(t, {Type::f32, Type::f16, Type::f16x2})) {
      refuse(".ftz does not apply to " + dot(t));
    }
    arity(combine ? 4 : 3);
    const POperand& pq = op(0);
    if (pq.kind != PKind::reg || pq.neg) refuse("expected a predicate register as destination");
    POperand p = pq;
    p.reg2 = kNoReg;
    dst(p, true);
    if (pq.reg2 != kNoReg) {
      if (!is_pred(pq.reg2)) refuse("expected a predicate register after '|'");
      Operand q;
      q.index = pq.reg2;
      ops_.push_back(q);
    } else {
      ops_.push_back({OperandKind::sink});
    }
    src(op(1), t);
    src(op(2), t);
    if (combine) pred_src(op(3));
  }

  // set.cmp[.bop][.ftz].dtype.stype d, a, b[, {!}c]
  void set(Mods& m, Instr& in) {
    in.op = Op::set;
    if (!m.take(kCmps, in.cmp)) refuse("missing comparison");
    const bool combine = m.take(kBoolOps, in.bop);
    if (m.take("ftz")) in.flags |= kFtz;
    in.type = m.need_type("the destination type");
    in.type2 = m.need_type("the source type");
    if (!one_of(in.type, {Type::u32, Type::s32, Type::f32})) refuse("set" + dot(in.type));
    const Type t = in.type2;
    if (!(one_of(t, kInts) || one_of(t, kBits) || one_of(t, {Type::f32, Type::f64}))) {
      refuse("set with source " + dot(t));
    }
    check_cmp(in.cmp, t);
    arity(combine ? 4 : 3);
    dst(op(0));
    src(op(1), t);
    src(op(2), t);
    if (combine) pred_src(op(3));
  }

  // selp.type d, a, b, c
  void selp(Mods& m, Instr& in) {
    in.op = Op::selp;
    in.type = m.need_type();
    const Type t = in.type;
    if (!(one_of(t, kInts) || one_of(t, kBits) || one_of(t, {Type::f32, Type::f64}))) {
      refuse("selp" + dot(t));
    }
    arity(4);
    dst(op(0));
    src(op(1), t);
    src(op(2), t);
    pred_src(op(3));
  }

  // slct[.ftz].dtype.{s32,f32} d, a, b, c
  void slct(Mods& m, Instr& in) {
    in.op = Op::slct;
    if (m.take("ftz")) in.flags |= kFtz;
    in.type = m.need_type();
    in.type2 = m.need_type("the selector type");
    if (!one_of(in.type2, {Type::s32, Type::f32})) refuse("slct's selector is .s32 or .f32");
    if ((in.flags & kFtz) && in.type2 != Type::f32) refuse(".ftz needs an .f32 selector");
    const Type t = in.type;
    if (!(one_of(t, kInts) || one_of(t, kBits) || one_of(t, {Type::f32, Type::f64}))) {
      refuse("slct" + dot(t));
    }
    arity(4);
    dst(op(0));
    src(op(1), t);
    src(op(2), t);
    src(op(3), in.type2);
  }

  // bra[.uni] label; ret[.uni]; exit; trap; brkpt
  void control(Mods& m, Instr& in) {
    static const std::map<std::string_view, Op> kOps = {{"bra", Op::bra},
                                                        {"ret", Op::ret},
                                                        {"exit", Op::exit},
                                                        {"trap", Op::trap},
                                                        {"brkpt", Op::brkpt}};
    in.op = kOps.at(base_);
    if ((in.op == Op::bra || in.op == Op::ret) && m.take("uni")) in.flags |= kUni;
    if (in.op == Op::bra) {
      arity(1);
      label(op(0));
    } else {
      arity(0);
    }
  }

  // bar.sync a[, b]; bar.arrive a, b; bar.warp.sync mask;
  // barrier.sync[.aligned] a[, b]; barrier.arrive[.aligned] a, b
  void barrier(Mods& m, Instr& in) {
    const bool bar = base_ == "bar";
    if (bar && m.take("warp")) {
      if (!m.take("sync")) refuse("bar.warp needs .sync");
      in.op = Op::bar_warp_sync;
      arity(1);
      src(op(0), Type::b32);
      return;
    }
    m.take("cta");
    if (m.take("sync")) {
      in.op = Op::bar_sync;
    } else if (m.take("arrive")) {
      in.op = Op::bar_arrive;
    } else {
      refuse("only the .sync and .arrive barriers are supported");
    }
    if (bar || m.take("aligned")) in.flags |= kAligned;
    if (in.op == Op::bar_arrive) {
      arity(2);
    } else {
      arity(1, 2);
    }
    for (size_t i = 0; i < p_->ops.size(); ++i) src(op(i), Type::u32);
  }

  // membar.{cta,gl,sys}; fence[.sc|.acq_rel].{cta,gpu,sys}
  void fence(Mods& m, Instr& in) {
    if (base_ == "membar") {
      in.op = Op::membar;
      if (m.take("gl")) {
        in.scope = Scope::gpu;
      } else if (!m.take(kScopes, in.scope) || in.scope == Scope::gpu) {
        refuse("membar needs .cta, .gl or .sys");
      }
    } else {
      in.op = Op::fence;
      // .acq_rel is the default semantics.
      in.sem = m.take("sc") ? Sem::sc : Sem::acq_rel;
      if (in.sem == Sem::acq_rel) m.take("acq_rel");
      if (!m.take(kScopes, in.scope)) refuse("fence needs .cta, .gpu or .sys");
    }
    arity(0);
  }

  void nanosleep(Mods& m, Instr& in) {
    in.op = Op::nanosleep;
    in.type = m.need_type();
    if (in.type != Type::u32) refuse("nanosleep needs .u32");
    arity(1);
    src(op(0), Type::u32);
  }

  // shfl.sync.mode.b32 d[|p], a, b, c, membermask
  void shfl(Mods& m, Instr& in) {
    in.op = Op::shfl;
    if (!m.take("sync")) refuse("shfl without .sync (use shfl.sync)");
    ShflMode mode;
    if (!m.take(kShflModes, mode)) refuse("missing .up, .down, .bfly or .idx");
    in.mode = uint8_t(mode);
    in.type = m.need_type();
    if (in.type != Type::b32) refuse("shfl needs .b32");
    arity(5);
    dst_pair(op(0));
    for (size_t i = 1; i <= 4; ++i) src(op(i), Type::b32);
  }

  // d[|p]: the value and an optional predicate.
  void dst_pair(const POperand& o) {
    POperand d = o;
    d.reg2 = kNoReg;
    dst(d);
    if (o.reg2 != kNoReg) {
      if (!is_pred(o.reg2)) refuse("expected a predicate register after '|'");
      Operand p;
      p.index = o.reg2;
      ops_.push_back(p);
    } else {
      ops_.push_back({OperandKind::sink});
    }
  }

  // vote.sync.{all,any,uni}.pred d, {!}a, mask; vote.sync.ballot.b32 d, {!}a, mask
  void vote(Mods& m, Instr& in) {
    in.op = Op::vote;
    if (!m.take("sync")) refuse("vote without .sync (use vote.sync)");
    VoteMode mode;
    if (!m.take(kVoteModes, mode)) refuse("missing .all, .any, .uni or .ballot");
    in.mode = uint8_t(mode);
    in.type = m.need_type();
    const bool ballot = mode == VoteMode::ballot;
    if (in.type != (ballot ? Type::b32 : Type::pred)) {
      refuse(ballot ? "vote.ballot needs .b32" : "this vote needs .pred");
    }
    arity(3);
    dst(op(0), !ballot);
    pred_src(op(1));
    src(op(2), Type::b32);
  }

  void activemask(Mods& m, Instr& in) {
    in.op = Op::activemask;
    in.type = m.need_type();
    if (in.type != Type::b32) refuse("activemask needs .b32");
    arity(1);
    dst(op(0));
  }

  // match.any.sync.type d, a, mask; match.all.sync.type d[|p], a, mask
  void match(Mods& m, Instr& in) {
    in.op = Op::match;
    if (m.take("any")) {
      in.mode = uint8_t(MatchMode::any);
    } else if (m.take("all")) {
      in.mode = uint8_t(MatchMode::all);
    } else {
      refuse("missing .any or .all");
    }
    if (!m.take("sync")) refuse("match needs .sync");
    in.type = m.need_type();
    if (!one_of(in.type, {Type::b32, Type::b64})) refuse("match needs .b32 or .b64");
    arity(3);
    if (in.mode == uint8_t(MatchMode::all)) {
      dst_pair(op(0));
    } else {
      dst(op(0));
      ops_.push_back({OperandKind::sink});
    }
    src(op(1), in.type);
    src(op(2), Type::b32);
  }

  // atom[.sem][.scope][.space].op.type d, [a], b[, c]; red[.sem][.scope][.space].op.type [a], b
  void atom(Mods& m, Instr& in) {
    const bool red = base_ == "red";
    in.op = red ? Op::red : Op::atom;
    m.take(kAtomSems, in.sem);
    m.take(kScopes, in.scope);
    if (m.take_space(in.space) && in.space != Space::global && in.space != Space::shared) {
      refuse("atomics on .global, .shared or generic addresses only");
    }
    AtomOp aop;
    if (!m.take(kAtomOps, aop)) refuse("missing the atomic operation");
    in.mode = uint8_t(aop);
    in.type = m.need_type();
    const Type t = in.type;
    bool ok = false;
    switch (aop) {
      case AtomOp::add:
        ok = one_of(t, {Type::u32, Type::s32, Type::u64, Type::f32, Type::f64});
        break;
      case AtomOp::inc:
      case AtomOp::dec:
        ok = t == Type::u32;
        break;
      case AtomOp::min:
      case AtomOp::max:
        ok = one_of(t, {Type::u32, Type::s32, Type::u64, Type::s64});
        break;
      default:  // and or xor exch cas
        ok = one_of(t, {Type::b32, Type::b64});
        break;
    }
    if (!ok) refuse(std::string(red ? "red" : "atom") + " of this operation on " + dot(t));
    if (aop == AtomOp::cas && red) refuse("red has no .cas");
    const size_t nsrc = aop == AtomOp::cas ? 2 : 1;
    if (red) {
      arity(2);
      mem(op(0), in.space);
      src(op(1), t);
      return;
    }
    arity(nsrc + 2);
    dst(op(0));
    mem(op(1), in.space);
    for (size_t i = 0; i < nsrc; ++i) src(op(2 + i), t);
  }

  // cp.async.{ca,cg}.shared.global [d], [s], size[, src-size]; cp.async.commit_group;
  // cp.async.wait_group N; cp.async.wait_all
  void cp(Mods& m, Instr& in) {
    if (!m.take("async")) refuse("only cp.async is supported");
    if (m.take("commit_group")) {
      in.op = Op::cp_async_commit;
      arity(0);
      return;
    }
    if (m.take("wait_group")) {
      in.op = Op::cp_async_wait_group;
      arity(1);
      if (op(0).kind != PKind::imm) refuse("wait_group needs an immediate");
      src(op(0), Type::u32);
      return;
    }
    if (m.take("wait_all")) {
      in.op = Op::cp_async_wait_all;
      arity(0);
      return;
    }
    in.op = Op::cp_async;
    if (!m.take(kLoadCache, in.cache) || (in.cache != Cache::ca && in.cache != Cache::cg)) {
      refuse("cp.async needs .ca or .cg");
    }
    Space dst_space, src_space;
    if (!m.take_space(dst_space) || dst_space != Space::shared || !m.take_space(src_space) ||
        src_space != Space::global) {
      refuse("cp.async copies .shared.global");
    }
    in.space = Space::shared;
    arity(3, 4);
    mem(op(0), Space::shared);
    mem(op(1), Space::global);
    if (op(2).kind != PKind::imm || op(2).lit.kind != TokenKind::integer) {
      refuse("the copy size must be an integer");
    }
    const uint64_t size = op(2).lit.magnitude;
    const bool size_ok =
        in.cache == Cache::cg ? size == 16 : (size == 4 || size == 8 || size == 16);
    if (!size_ok || op(2).lit.negative) refuse("copy size 4, 8 or 16 (.cg: 16)");
    in.vec = uint8_t(size);
    src(op(2), Type::u32);
    if (p_->ops.size() == 4) {
      in.flags |= kSrcSize;
      src(op(3), Type::u32);
    }
  }

  // ldmatrix.sync.aligned.m8n8.{x1,x2,x4}[.trans][.shared].b16 {d...}, [a]
  void ldmatrix(Mods& m, Instr& in) {
    in.op = Op::ldmatrix;
    if (!m.take("sync") || !m.take("aligned")) refuse("ldmatrix needs .sync.aligned");
    in.flags |= kAligned;
    if (!m.take("m8n8")) refuse("ldmatrix supports .m8n8");
    in.shape = Shape::m8n8;
    if (m.take("x1")) {
      in.vec = 1;
    } else if (m.take("x2")) {
      in.vec = 2;
    } else if (m.take("x4")) {
      in.vec = 4;
    } else {
      refuse("missing .x1, .x2 or .x4");
    }
    if (m.take("trans")) in.flags |= kTrans;
    if (m.take_space(in.space) && in.space != Space::shared) refuse("ldmatrix reads .shared");
    in.type = m.need_type();
    if (in.type != Type::b16) refuse("ldmatrix needs .b16");
    in.type2 = Type::b16;
    arity(2);
    vec(op(0), Type::b32, in.vec, true, true);
    mem(op(1), in.space);
  }

  // Fragment registers of mma.m16n8kK for A, B (per thread) and C/D (by their type).
  struct MmaForm {
    Shape shape;
    Type a;
    uint8_t a_regs, b_regs;
  };

  // mma.sync.aligned.shape.row.col[.satfinite].dtype.atype.btype.ctype d, a, b, c
  void mma(Mods& m, Instr& in) {
    static constexpr MmaForm kForms[] = {
        {Shape::m16n8k16, Type::f16, 4, 2}, {Shape::m16n8k16, Type::bf16, 4, 2},
        {Shape::m16n8k16, Type::s8, 2, 1},  {Shape::m16n8k16, Type::u8, 2, 1},
        {Shape::m16n8k32, Type::s8, 4, 2},  {Shape::m16n8k32, Type::u8, 4, 2},
        {Shape::m16n8k8, Type::f16, 2, 1},  {Shape::m16n8k8, Type::bf16, 2, 1},
        {Shape::m16n8k8, Type::tf32, 4, 2},
    };
    in.op = Op::mma;
    if (!m.take("sync") || !m.take("aligned")) refuse("mma needs .sync.aligned");
    in.flags |= kAligned;
    if (m.take("m16n8k16")) {
      in.shape = Shape::m16n8k16;
    } else if (m.take("m16n8k32")) {
      in.shape = Shape::m16n8k32;
    } else if (m.take("m16n8k8")) {
      in.shape = Shape::m16n8k8;
    } else {
      refuse("mma supports .m16n8k8, .m16n8k16 and .m16n8k32");
    }
    if (m.take_next({"row", "col"}) != "row" || m.take_next({"row", "col"}) != "col") {
      refuse("mma needs .row.col");
    }
    in.flags |= kARow;
    if (m.take("satfinite")) in.flags |= kSat;
    in.type = m.need_type();
    in.type2 = m.need_type();
    in.type3 = m.need_type();
    in.type4 = m.need_type();
    const MmaForm* form = nullptr;
    for (const MmaForm& f : kForms) {
      if (f.shape == in.shape && f.a == in.type2) form = &f;
    }
    const bool integer = in.type2 == Type::s8 || in.type2 == Type::u8;
    const bool b_ok = integer ? one_of(in.type3, {Type::s8, Type::u8}) : in.type3 == in.type2;
    const bool dc_ok = integer                 ? (in.type == Type::s32 && in.type4 == Type::s32)
                       : in.type2 == Type::f16 ? (one_of(in.type, {Type::f16, Type::f32}) &&
                                                  one_of(in.type4, {Type::f16, Type::f32}))
                                               : (in.type == Type::f32 && in.type4 == Type::f32);
    if (!form || !b_ok || !dc_ok) refuse("this mma shape and type combination");
    if ((in.flags & kSat) && !integer) refuse(".satfinite applies to integer mma");
    const auto acc_regs = [](Type t) { return uint8_t(t == Type::f16 ? 2 : 4); };
    arity(4);
    vec(op(0), in.type == Type::f16 ? Type::b32 : in.type, acc_regs(in.type), true);
    vec(op(1), Type::b32, form->a_regs, false, true);
    vec(op(2), Type::b32, form->b_regs, false, true);
    vec(op(3), in.type4 == Type::f16 ? Type::b32 : in.type4, acc_regs(in.type4), false);
  }

  // wmma.load.{a,b,c}.sync.aligned.layout.m16n16k16[.space].type {d}, [a][, stride]
  // wmma.store.d.sync.aligned.layout.m16n16k16[.space].type [a], {s}[, stride]
  // wmma.mma.sync.aligned.alayout.blayout.m16n16k16.dtype.ctype (f16) or
  //   .f32.bf16.bf16.f32 d, a, b, c
  void wmma(Mods& m, Instr& in) {
    const bool load = m.take("load"), store = !load && m.take("store");
    const bool mma = !load && !store && m.take("mma");
    if (!load && !store && !mma) refuse("wmma supports .load, .store and .mma");
    if (!m.take("sync") || !m.take("aligned")) refuse("wmma needs .sync.aligned");
    in.flags |= kAligned;
    auto layout = [&](uint16_t bit) {
      const std::string l = m.take_next({"row", "col"});
      if (l.empty()) refuse("missing .row or .col");
      if (l == "row") in.flags |= bit;
    };
    // f16 fragments hold 2 values per register; f32 one; bf16 inputs 2.
    auto regs = [](WmmaMatrix w, Type t) -> uint8_t {
      if (w == WmmaMatrix::a || w == WmmaMatrix::b) return t == Type::f16 ? 8 : 4;
      return t == Type::f16 ? 4 : 8;
    };
    if (mma) {
      in.op = Op::wmma_mma;
      layout(kARow);
      layout(kBRow);
      if (!m.take("m16n16k16")) refuse("wmma supports .m16n16k16");
      in.shape = Shape::m16n16k16;
      if (m.take("satfinite")) in.flags |= kSat;
      in.type = m.need_type();
      Type t2 = m.need_type();
      Type t3, t4;
      if (m.take_type(t3)) {
        t4 = m.need_type();
        if (t2 != Type::bf16 || t3 != Type::bf16 || in.type != Type::f32 || t4 != Type::f32) {
          refuse("this wmma type combination");
        }
        in.type2 = in.type3 = Type::bf16;
        in.type4 = t4;
      } else {
        if (!one_of(in.type, {Type::f16, Type::f32}) || !one_of(t2, {Type::f16, Type::f32})) {
          refuse("this wmma type combination");
        }
        in.type2 = in.type3 = Type::f16;
        in.type4 = t2;
      }
      arity(4);
      const Type de = in.type == Type::f16 ? Type::b32 : Type::f32;
      const Type ce = in.type4 == Type::f16 ? Type::b32 : Type::f32;
      vec(op(0), de, regs(WmmaMatrix::d, in.type), true);
      vec(op(1), Type::b32, regs(WmmaMatrix::a, in.type2), false);
      vec(op(2), Type::b32, regs(WmmaMatrix::b, in.type3), false);
      vec(op(3), ce, regs(WmmaMatrix::c, in.type4), false);
      return;
    }
    WmmaMatrix w = WmmaMatrix::d;
    if (load) {
      in.op = Op::wmma_load;
      if (m.take("a")) {
        w = WmmaMatrix::a;
      } else if (m.take("b")) {
        w = WmmaMatrix::b;
      } else if (m.take("c")) {
        w = WmmaMatrix::c;
      } else {
        refuse("missing .a, .b or .c");
      }
    } else {
      in.op = Op::wmma_store;
      if (!m.take("d")) refuse("wmma.store needs .d");
    }
    in.mode = uint8_t(w);
    layout(kARow);
    if (!m.take("m16n16k16")) refuse("wmma supports .m16n16k16");
    in.shape = Shape::m16n16k16;
    if (m.take_space(in.space) && in.space != Space::global && in.space != Space::shared) {
      refuse("wmma accesses .global, .shared or generic memory");
    }
    in.type2 = m.need_type();
    const bool input = w == WmmaMatrix::a || w == WmmaMatrix::b;
    if (input ? !one_of(in.type2, {Type::f16, Type::bf16})
              : !one_of(in.type2, {Type::f16, Type::f32})) {
      refuse("wmma fragment type " + dot(in.type2));
    }
    in.type = in.type2;
    arity(2, 3);
    const Type elem = in.type2 == Type::f32 ? Type::f32 : Type::b32;
    if (load) {
      vec(op(0), elem, regs(w, in.type2), true);
      mem(op(1), in.space);
    } else {
      mem(op(0), in.space);
      vec(op(1), elem, regs(w, in.type2), false);
    }
    if (p_->ops.size() == 3) src(op(2), Type::u32);
  }

  ParsedKernel& pk_;
  Module& m_;
  Code& code_;
  std::vector<int64_t> module_offset_;  // per module variable: its shared offset here
  std::vector<int64_t> kernel_offset_;  // per body variable
  const PInstr* p_ = nullptr;
  std::string base_;
  std::vector<Operand> ops_;    // the current instruction's operands
  std::vector<Operand> elems_;  // and its vector elements
};

}  // namespace

void decode_kernel(ParsedKernel& pk, Module& module) {
  KernelDecoder(pk, module).run();
}

}  // namespace xpusim::isa::ptx::detail
