// The DaVinci operand table (operands.h) and the validation of one instruction.
#include "isa/davinci/operands.h"

#include <fmt/format.h>

#include <cstddef>
#include <functional>

namespace xpusim::isa::davinci::detail {

namespace {

// ---- operand lists -------------------------------------------------------------------------

const std::vector<Operand> kNoOperands;
const std::vector<Operand> kRd = {{Pos::rd, Buf::gm, "destination"}};
const std::vector<Operand> kMov = {{Pos::rd, Buf::gm, "destination"},
                                   {Pos::val_a, Buf::gm, "source"}};
const std::vector<Operand> kArith = {{Pos::rd, Buf::gm, "destination"},
                                     {Pos::reg_a, Buf::gm, "first operand"},
                                     {Pos::val_b, Buf::gm, "second operand"}};
const std::vector<Operand> kBranch = {{Pos::reg_a, Buf::gm, "first operand"},
                                      {Pos::val_b, Buf::gm, "second operand"},
                                      {Pos::label, Buf::gm, "target"}};
const std::vector<Operand> kJmp = {{Pos::label, Buf::gm, "target"}};
const std::vector<Operand> kFlag = {{Pos::pipe1, Buf::gm, "source pipe"},
                                    {Pos::pipe2, Buf::gm, "destination pipe"},
                                    {Pos::event, Buf::gm, "event"}};
const std::vector<Operand> kBarrier = {{Pos::pipe_b, Buf::gm, "pipe"}};
const std::vector<Operand> kMask = {{Pos::val_a, Buf::gm, "high half"},
                                    {Pos::val_b, Buf::gm, "low half"}};

std::vector<Operand> mem2(Buf dst, Buf src) {
  return {{Pos::dst, dst, "destination"}, {Pos::src0, src, "source"}};
}

// ---- key lists -----------------------------------------------------------------------------

Key req(const char* name, Slot slot) {
  return {name, slot, KeyKind::val, true, 0};
}
Key opt(const char* name, Slot slot, int64_t dflt) {
  return {name, slot, KeyKind::val, false, dflt};
}

const std::vector<Key> kCopyKeys = {req("nburst", Slot::n0), req("burst", Slot::n1),
                                    opt("src_gap", Slot::n2, 0), opt("dst_gap", Slot::n3, 0)};
const std::vector<Key> kLoadKeys = {req("repeat", Slot::n0),
                                    opt("src_stride", Slot::n1, 1),
                                    opt("dst_gap", Slot::n2, 0),
                                    {"transpose", Slot::flag, KeyKind::bit, false, 0}};
const std::vector<Key> kMadKeys = {req("m", Slot::n0),
                                   req("k", Slot::n1),
                                   req("n", Slot::n2),
                                   {"init", Slot::flag, KeyKind::bit, false, 1}};
const std::vector<Key> kBinaryKeys = {req("repeat", Slot::n0),
                                      opt("dst_blk", Slot::dst_blk, 1),
                                      opt("src0_blk", Slot::src0_blk, 1),
                                      opt("src1_blk", Slot::src1_blk, 1),
                                      opt("dst_rep", Slot::dst_rep, 8),
                                      opt("src0_rep", Slot::src0_rep, 8),
                                      opt("src1_rep", Slot::src1_rep, 8)};
const std::vector<Key> kUnaryKeys = {
    req("repeat", Slot::n0), opt("dst_blk", Slot::dst_blk, 1), opt("src0_blk", Slot::src0_blk, 1),
    opt("dst_rep", Slot::dst_rep, 8), opt("src0_rep", Slot::src0_rep, 8)};
const std::vector<Key> kDupKeys = {req("repeat", Slot::n0), opt("dst_blk", Slot::dst_blk, 1),
                                   opt("dst_rep", Slot::dst_rep, 8)};
// vcadd and its kin write iteration r's result at dst + r * element bytes: no dst strides.
const std::vector<Key> kReduceKeys = {req("repeat", Slot::n0), opt("src0_blk", Slot::src0_blk, 1),
                                      opt("src0_rep", Slot::src0_rep, 8)};
const std::vector<Key> kConvKeys = {req("repeat", Slot::n0),
                                    opt("dst_blk", Slot::dst_blk, 1),
                                    opt("src0_blk", Slot::src0_blk, 1),
                                    opt("dst_rep", Slot::dst_rep, 8),
                                    opt("src0_rep", Slot::src0_rep, 8),
                                    {"round", Slot::round, KeyKind::round, false, 0}};
// The conversion of the two paths out of L0C: its kind, req8's scale, and ReLU.
const std::vector<Key> kOutConvKeys = {{"conv", Slot::conv, KeyKind::conv, false, 0},
                                       opt("mul", Slot::dst_blk, 1),
                                       opt("shift", Slot::b, 0),
                                       {"relu", Slot::flag, KeyKind::bit, false, 0}};
std::vector<Key> with_out_conv(std::vector<Key> keys) {
  keys.insert(keys.end(), kOutConvKeys.begin(), kOutConvKeys.end());
  return keys;
}
const std::vector<Key> kCcKeys =
    with_out_conv({req("nburst", Slot::n0), req("burst", Slot::n1), opt("src_gap", Slot::n2, 0),
                   opt("dst_gap", Slot::n3, 0)});
const std::vector<Key> kFixKeys =
    with_out_conv({req("m", Slot::n0), req("n", Slot::n1), req("dst_stride", Slot::n2)});

const std::vector<Key> kFmatrixKeys = {req("h", Slot::n0), req("w", Slot::n1),
                                       opt("pad_t", Slot::n2, 0), opt("pad_l", Slot::n3, 0)};
const std::vector<Key> kImg2colKeys = {req("kh", Slot::dst_blk),
                                       req("kw", Slot::src0_blk),
                                       opt("stride_h", Slot::src1_blk, 1),
                                       opt("stride_w", Slot::dst_rep, 1),
                                       req("ow", Slot::n1),
                                       req("m", Slot::n2),
                                       req("k", Slot::n3),
                                       req("repeat", Slot::n0)};

const std::vector<Ty> kMadTypes = {Ty::f16, Ty::bf16, Ty::s8};
const std::vector<Ty> kFloatTypes = {Ty::f16, Ty::f32};
const std::vector<Ty> kAllVecTypes = {Ty::f16, Ty::f32, Ty::s32};
const std::vector<Ty> kWordTypes = {Ty::f32, Ty::s32};

constexpr unsigned bit(Conv c) {
  return 1u << unsigned(c);
}

std::vector<OpDef> build() {
  std::vector<OpDef> v;
  auto add = [&](Op op, std::vector<Operand> operands, std::vector<Key> keys = {},
                 std::vector<Ty> types = {}) {
    v.push_back({op, std::move(operands), std::move(keys), std::move(types)});
  };
  add(Op::mov, kMov);
  for (Op op = Op::add; op <= Op::max; op = Op(int(op) + 1)) add(op, kArith);
  for (Op op = Op::beq; op <= Op::bgt; op = Op(int(op) + 1)) add(op, kBranch);
  add(Op::jmp, kJmp);
  add(Op::get_block_idx, kRd);
  add(Op::get_block_num, kRd);
  add(Op::end, kNoOperands);
  add(Op::set_flag, kFlag);
  add(Op::wait_flag, kFlag);
  add(Op::pipe_barrier, kBarrier);
  add(Op::sync_all, kNoOperands);
  add(Op::copy_gm_to_cbuf, mem2(Buf::l1, Buf::gm), kCopyKeys);
  add(Op::copy_gm_to_ubuf, mem2(Buf::ub, Buf::gm), kCopyKeys);
  add(Op::load_cbuf_to_ca, mem2(Buf::l0a, Buf::l1), kLoadKeys);
  add(Op::load_cbuf_to_cb, mem2(Buf::l0b, Buf::l1), kLoadKeys);
  add(Op::copy_cbuf_to_ubuf, mem2(Buf::ub, Buf::l1), kCopyKeys);
  add(Op::mad, {{Pos::dst, Buf::l0c, "C"}, {Pos::src0, Buf::l0a, "A"}, {Pos::src1, Buf::l0b, "B"}},
      kMadKeys, kMadTypes);
  const std::vector<Operand> binary = {{Pos::dst, Buf::ub, "destination"},
                                       {Pos::src0, Buf::ub, "first source"},
                                       {Pos::src1, Buf::ub, "second source"}};
  for (Op op = Op::vadd; op <= Op::vmin; op = Op(int(op) + 1)) {
    const bool s32 = op != Op::vmul && op != Op::vdiv;
    add(op, binary, kBinaryKeys, s32 ? kAllVecTypes : kFloatTypes);
  }
  for (Op op = Op::vexp; op <= Op::vrelu; op = Op(int(op) + 1))
    add(op, mem2(Buf::ub, Buf::ub), kUnaryKeys, kFloatTypes);
  for (Op op = Op::vadds; op <= Op::vmins; op = Op(int(op) + 1))
    add(op,
        {{Pos::dst, Buf::ub, "destination"},
         {Pos::src0, Buf::ub, "source"},
         {Pos::num_b, Buf::gm, "scalar"}},
        kUnaryKeys, kAllVecTypes);
  add(Op::vector_dup, {{Pos::dst, Buf::ub, "destination"}, {Pos::num_b, Buf::gm, "value"}},
      kDupKeys, kAllVecTypes);
  for (Op op = Op::vcadd; op <= Op::vcmin; op = Op(int(op) + 1))
    add(op, mem2(Buf::ub, Buf::ub), kReduceKeys, kFloatTypes);
  add(Op::vconv, mem2(Buf::ub, Buf::ub), kConvKeys);
  v.back().takes_pair = true;
  add(Op::set_vector_mask, kMask);
  add(Op::copy_matrix_cc_to_ubuf, mem2(Buf::ub, Buf::l0c), kCcKeys);
  v.back().convs = bit(Conv::none) | bit(Conv::f322f16) | bit(Conv::req8);
  add(Op::fixpipe, mem2(Buf::gm, Buf::l0c), kFixKeys);
  v.back().convs = bit(Conv::none) | bit(Conv::f322f16) | bit(Conv::f322bf16) | bit(Conv::req8);
  add(Op::copy_ubuf_to_gm, mem2(Buf::gm, Buf::ub), kCopyKeys);
  add(Op::vbrcb, mem2(Buf::ub, Buf::ub), kDupKeys, kWordTypes);
  add(Op::set_fmatrix, kNoOperands, kFmatrixKeys);
  add(Op::img2col_cbuf_to_ca, mem2(Buf::l0a, Buf::l1), kImg2colKeys);
  add(Op::ld_ub, {{Pos::rd, Buf::gm, "destination"}, {Pos::src0, Buf::ub, "source"}});
  return v;
}

// ---- field-by-field comparison, for "does not use field X" -----------------------------------

struct FieldCheck {
  const char* name;
  std::function<bool(const Instr&, const Instr&)> same;
  std::string dflt;
};

std::string val_text(const Val& v) {
  return v.reg < 0 ? std::to_string(v.imm) : fmt::format("x{}{:+}", v.reg, v.imm);
}

const std::vector<FieldCheck>& field_checks() {
  static const std::vector<FieldCheck> checks = [] {
    const Instr d;
    std::vector<FieldCheck> c = {
        {"ty", [](const Instr& x, const Instr& y) { return x.ty == y.ty; }, ty_name(d.ty)},
        {"ty2", [](const Instr& x, const Instr& y) { return x.ty2 == y.ty2; }, ty_name(d.ty2)},
        {"rd", [](const Instr& x, const Instr& y) { return x.rd == y.rd; }, "0"},
        {"a", [](const Instr& x, const Instr& y) { return x.a == y.a; }, val_text(d.a)},
        {"b", [](const Instr& x, const Instr& y) { return x.b == y.b; }, val_text(d.b)},
        {"dst", [](const Instr& x, const Instr& y) { return x.dst == y.dst; }, "gm[0]"},
        {"src0", [](const Instr& x, const Instr& y) { return x.src0 == y.src0; }, "gm[0]"},
        {"src1", [](const Instr& x, const Instr& y) { return x.src1 == y.src1; }, "gm[0]"},
        {"n0", [](const Instr& x, const Instr& y) { return x.n0 == y.n0; }, "0"},
        {"n1", [](const Instr& x, const Instr& y) { return x.n1 == y.n1; }, "0"},
        {"n2", [](const Instr& x, const Instr& y) { return x.n2 == y.n2; }, "0"},
        {"n3", [](const Instr& x, const Instr& y) { return x.n3 == y.n3; }, "0"},
        {"blk[0]", [](const Instr& x, const Instr& y) { return x.blk[0] == y.blk[0]; }, "1"},
        {"blk[1]", [](const Instr& x, const Instr& y) { return x.blk[1] == y.blk[1]; }, "1"},
        {"blk[2]", [](const Instr& x, const Instr& y) { return x.blk[2] == y.blk[2]; }, "1"},
        {"rep[0]", [](const Instr& x, const Instr& y) { return x.rep[0] == y.rep[0]; }, "8"},
        {"rep[1]", [](const Instr& x, const Instr& y) { return x.rep[1] == y.rep[1]; }, "8"},
        {"rep[2]", [](const Instr& x, const Instr& y) { return x.rep[2] == y.rep[2]; }, "8"},
        {"flag", [](const Instr& x, const Instr& y) { return x.flag == y.flag; }, "0"},
        {"round", [](const Instr& x, const Instr& y) { return x.round == y.round; }, "rn"},
        {"conv", [](const Instr& x, const Instr& y) { return x.conv == y.conv; }, "none"},
        {"p1", [](const Instr& x, const Instr& y) { return x.p1 == y.p1; }, pipe_name(d.p1)},
        {"p2", [](const Instr& x, const Instr& y) { return x.p2 == y.p2; }, pipe_name(d.p2)},
        {"event", [](const Instr& x, const Instr& y) { return x.event == y.event; }, "0"},
        {"target", [](const Instr& x, const Instr& y) { return x.target == y.target; }, "0"},
    };
    return c;
  }();
  return checks;
}

// A register field's value: x0..x31, or -1 (an immediate).
bool reg_ok(const Val& v) {
  return v.reg >= -1 && v.reg < kRegs;
}

std::string types_text(const std::vector<Ty>& types) {
  std::string s;
  for (size_t i = 0; i < types.size(); ++i) {
    if (i > 0) s += i + 1 == types.size() ? " or " : ", ";
    s += ty_name(types[i]);
  }
  return s;
}

}  // namespace

const std::vector<OpDef>& all_ops() {
  static const std::vector<OpDef> ops = build();
  return ops;
}

const OpDef* find_op(Op op) {
  const auto& ops = all_ops();
  // The table lists every opcode in enum order.
  return size_t(op) < ops.size() ? &ops[size_t(op)] : nullptr;
}

const std::vector<std::pair<Ty, Ty>>& conv_pairs() {
  static const std::vector<std::pair<Ty, Ty>> pairs = {
      {Ty::f16, Ty::f32}, {Ty::f32, Ty::f16}, {Ty::bf16, Ty::f32}, {Ty::f32, Ty::bf16},
      {Ty::s32, Ty::f32}, {Ty::f32, Ty::s32}, {Ty::s32, Ty::f16},  {Ty::f16, Ty::s32},
      {Ty::s8, Ty::f16},  {Ty::f16, Ty::s8}};
  return pairs;
}

const char* round_name(Round r) {
  static const char* const names[] = {"rn", "a", "f", "c", "z"};
  return names[size_t(r)];
}

const char* conv_name(Conv c) {
  static const char* const names[] = {"none", "f322f16", "f322bf16", "req8"};
  return names[size_t(c)];
}

Val get_key(const Instr& in, Slot slot) {
  switch (slot) {
    case Slot::n0:
      return in.n0;
    case Slot::n1:
      return in.n1;
    case Slot::n2:
      return in.n2;
    case Slot::n3:
      return in.n3;
    case Slot::dst_blk:
    case Slot::src0_blk:
    case Slot::src1_blk:
      return in.blk[int(slot) - int(Slot::dst_blk)];
    case Slot::dst_rep:
    case Slot::src0_rep:
    case Slot::src1_rep:
      return in.rep[int(slot) - int(Slot::dst_rep)];
    case Slot::b:
      return in.b;
    case Slot::flag:
      return {-1, in.flag ? 1 : 0};
    case Slot::round:
      return {-1, int64_t(in.round)};
    case Slot::conv:
      return {-1, int64_t(in.conv)};
  }
  return {};
}

void set_key(Instr& in, Slot slot, const Val& v) {
  switch (slot) {
    case Slot::n0:
      in.n0 = v;
      break;
    case Slot::n1:
      in.n1 = v;
      break;
    case Slot::n2:
      in.n2 = v;
      break;
    case Slot::n3:
      in.n3 = v;
      break;
    case Slot::dst_blk:
    case Slot::src0_blk:
    case Slot::src1_blk:
      in.blk[int(slot) - int(Slot::dst_blk)] = v;
      break;
    case Slot::dst_rep:
    case Slot::src0_rep:
    case Slot::src1_rep:
      in.rep[int(slot) - int(Slot::dst_rep)] = v;
      break;
    case Slot::b:
      in.b = v;
      break;
    case Slot::flag:
      in.flag = v.imm != 0;
      break;
    case Slot::round:
      in.round = Round(v.imm);
      break;
    case Slot::conv:
      in.conv = Conv(v.imm);
      break;
  }
}

std::string check_instr(const Instr& in) {
  const OpDef* def = find_op(in.op);
  if (!def) return fmt::format("unknown opcode {}", unsigned(in.op));
  const std::string name = op_name(in.op);
  // `clean` receives the fields the opcode uses; every other field must be at its default.
  Instr clean;
  clean.op = in.op;

  const unsigned kTyMax = unsigned(Ty::s32);
  if (def->takes_pair) {
    if (unsigned(in.ty) > kTyMax || unsigned(in.ty2) > kTyMax)
      return fmt::format("{} types {}, {} are out of range (0 to {})", name, unsigned(in.ty),
                         unsigned(in.ty2), kTyMax);
    bool ok = false;
    for (const auto& [d, s] : conv_pairs()) ok = ok || (d == in.ty && s == in.ty2);
    if (!ok)
      return fmt::format("{} does not convert {} to {}", name, ty_name(in.ty2), ty_name(in.ty));
    clean.ty = in.ty;
    clean.ty2 = in.ty2;
  } else if (!def->types.empty()) {
    if (unsigned(in.ty) > kTyMax)
      return fmt::format("{} type {} is out of range (0 to {})", name, unsigned(in.ty), kTyMax);
    bool ok = false;
    for (Ty t : def->types) ok = ok || t == in.ty;
    if (!ok)
      return fmt::format("{} does not take type {} (it takes {})", name, ty_name(in.ty),
                         types_text(def->types));
    clean.ty = in.ty;
  }

  auto check_val = [&](const Val& v, const char* what) -> std::string {
    if (!reg_ok(v))
      return fmt::format("{} {}: register {} is out of range (x0 to x31)", name, what, int(v.reg));
    return "";
  };
  for (const Operand& o : def->operands) {
    std::string why;
    switch (o.pos) {
      case Pos::rd:
        if (in.rd >= kRegs)
          why = fmt::format("{} {}: register {} is out of range (x0 to x31)", name, o.role,
                            unsigned(in.rd));
        clean.rd = in.rd;
        break;
      case Pos::reg_a:
        if (in.a.reg < 0 || in.a.reg >= kRegs || in.a.imm != 0)
          why = fmt::format("{} {}: expected a register x0 to x31 (found reg {}, imm {})", name,
                            o.role, int(in.a.reg), in.a.imm);
        clean.a = in.a;
        break;
      case Pos::val_a:
        why = check_val(in.a, o.role);
        clean.a = in.a;
        break;
      case Pos::val_b:
        why = check_val(in.b, o.role);
        clean.b = in.b;
        break;
      case Pos::num_b:
        if (in.b.reg != -1) {
          why = fmt::format("{} {}: expected an immediate, found register {}", name, o.role,
                            int(in.b.reg));
        } else if (in.ty == Ty::s32 && (in.b.imm < INT32_MIN || in.b.imm > INT32_MAX)) {
          why = fmt::format("{} {}: {} is out of the s32 range", name, o.role, in.b.imm);
        } else if (in.ty != Ty::s32 && (in.b.imm < 0 || in.b.imm > int64_t(UINT32_MAX))) {
          why = fmt::format("{} {}: {} is not fp32 bits (0 to 0xffffffff)", name, o.role, in.b.imm);
        }
        clean.b = in.b;
        break;
      case Pos::dst:
      case Pos::src0:
      case Pos::src1: {
        const Addr& a = o.pos == Pos::dst ? in.dst : o.pos == Pos::src0 ? in.src0 : in.src1;
        if (a.buf != o.buf) {
          why = unsigned(a.buf) < unsigned(kBufs)
                    ? fmt::format("{} {} must be in {}, not {}", name, o.role, buf_name(o.buf),
                                  buf_name(a.buf))
                    : fmt::format("{} {}: memory {} is out of range (0 to {})", name, o.role,
                                  unsigned(a.buf), kBufs - 1);
        } else {
          why = check_val(a.at, o.role);
        }
        (o.pos == Pos::dst ? clean.dst : o.pos == Pos::src0 ? clean.src0 : clean.src1) = a;
        break;
      }
      case Pos::pipe1:
      case Pos::pipe2: {
        Pipe p = o.pos == Pos::pipe1 ? in.p1 : in.p2;
        if (unsigned(p) >= unsigned(kPipes))
          why = fmt::format("{} {} {} is out of range (0 to {}: PIPE_S to PIPE_FIX)", name, o.role,
                            unsigned(p), kPipes - 1);
        (o.pos == Pos::pipe1 ? clean.p1 : clean.p2) = p;
        break;
      }
      case Pos::pipe_b:
        if (unsigned(in.p1) > unsigned(Pipe::all))
          why = fmt::format("{} pipe {} is out of range (0 to {}: PIPE_S to PIPE_ALL)", name,
                            unsigned(in.p1), unsigned(Pipe::all));
        clean.p1 = in.p1;
        break;
      case Pos::event:
        if (in.event >= kEvents)
          why = fmt::format("{} event {} is out of range (0 to {})", name, unsigned(in.event),
                            kEvents - 1);
        clean.event = in.event;
        break;
      case Pos::label:
        clean.target = in.target;
        break;
    }
    if (!why.empty()) return why;
  }

  for (const Key& k : def->keys) {
    const Val v = get_key(in, k.slot);
    std::string why;
    switch (k.kind) {
      case KeyKind::val:
        if (!reg_ok(v))
          why = fmt::format("{} {}: register {} is out of range (x0 to x31)", name, k.name,
                            int(v.reg));
        break;
      case KeyKind::bit:
        break;
      case KeyKind::round:
        if (v.imm >= kRounds)
          why = fmt::format("{} round {} is out of range (0 to {})", name, v.imm, kRounds - 1);
        break;
      case KeyKind::conv:
        if (v.imm >= kConvs || !(def->convs >> v.imm & 1)) {
          std::string allowed;
          for (int c = 0; c < kConvs; ++c)
            if (def->convs >> c & 1)
              allowed += std::string(allowed.empty() ? "" : ", ") + conv_name(Conv(c));
          why = v.imm < kConvs
                    ? fmt::format("{} does not take conv={} (it takes {})", name,
                                  conv_name(Conv(v.imm)), allowed)
                    : fmt::format("{} conv {} is out of range (0 to {})", name, v.imm, kConvs - 1);
        }
        break;
    }
    if (!why.empty()) return why;
    set_key(clean, k.slot, v);
  }

  for (const FieldCheck& f : field_checks()) {
    if (!f.same(clean, in))
      return fmt::format("{} does not use field {}: it must be {}", name, f.name, f.dflt);
  }
  return "";
}

bool valid_name(const std::string& name) {
  auto start = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
  };
  if (name.empty() || !start(name[0])) return false;
  for (char c : name)
    if (!start(c) && !(c >= '0' && c <= '9') && c != '.') return false;
  return true;
}

}  // namespace xpusim::isa::davinci::detail
