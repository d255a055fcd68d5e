#include "compiler/targets/gpu/kernel.h"

#include <cstring>

#include "compiler/target.h"

namespace xpusim::compiler::gpu {
namespace {

// The registers of each kind as nvcc declares them.
const std::vector<std::pair<std::string, std::string>>& reg_kinds() {
  static const std::vector<std::pair<std::string, std::string>> kinds = {
      {"p", "pred"}, {"rs", "b16"}, {"r", "b32"}, {"rd", "b64"}, {"f", "f32"}};
  return kinds;
}

std::map<OpKind, LowerFn>& lowerings() {
  static std::map<OpKind, LowerFn> table;
  return table;
}

}  // namespace

std::string f32_literal(float v) {
  uint32_t bits = 0;
  std::memcpy(&bits, &v, 4);
  return fmt::format("0f{:08X}", bits);
}

bool register_lowering(OpKind kind, LowerFn fn) {
  return lowerings().emplace(kind, fn).second;
}

std::string Kernel::reg(const std::string& kind) {
  bool known = false;
  for (const auto& [k, type] : reg_kinds()) known = known || k == kind;
  if (!known) throw Error("internal: GPU kernel register kind '" + kind + "'");
  return fmt::format("%{}{}", kind, ++regs_[kind]);
}

std::string Kernel::label() {
  return fmt::format("$L__BB0_{}", ++labels_);
}

std::string Kernel::shared(const std::string& name, uint64_t bytes, uint32_t align) {
  shared_.push_back(fmt::format(".shared .align {} .b8 {}[{}];", align, name, bytes));
  return name;
}

std::string Kernel::dynamic_shared() {
  dynamic_shared_ = true;
  return "dsmem";
}

std::string Kernel::param(const std::string& name) {
  for (const Param& p : params_)
    if (p.name == name) {
      const std::string r = reg(p.type == "u64" ? "rd" : p.type == "f32" ? "f" : "r");
      (*this)("ld.param.{} {}, [{}]", p.type, r, name);
      return r;
    }
  throw Error("internal: GPU kernel has no parameter '" + name + "'");
}

std::string Kernel::global_x() {
  const std::string a = reg("r"), b = reg("r"), c = reg("r"), i = reg("r");
  (*this)("mov.u32 {}, %ctaid.x", a);
  (*this)("mov.u32 {}, %ntid.x", b);
  (*this)("mov.u32 {}, %tid.x", c);
  (*this)("mad.lo.s32 {}, {}, {}, {}", i, a, b, c);
  return i;
}

std::string Kernel::address(const std::string& base, const std::string& index, uint32_t bytes) {
  const std::string off = reg("rd"), a = reg("rd");
  (*this)("mul.wide.u32 {}, {}, {}", off, index, bytes);
  (*this)("add.s64 {}, {}, {}", a, base, off);
  return a;
}

std::string Kernel::load_f32(DType t, const std::string& addr) {
  const std::string f = reg("f");
  switch (t) {
    case DType::fp32:
      (*this)("ld.global.f32 {}, [{}]", f, addr);
      break;
    case DType::fp16: {
      const std::string h = reg("rs");
      (*this)("ld.global.b16 {}, [{}]", h, addr);
      (*this)("cvt.f32.f16 {}, {}", f, h);
      break;
    }
    case DType::bf16: {
      const std::string h = reg("rs"), w = reg("r");
      (*this)("ld.global.b16 {}, [{}]", h, addr);
      (*this)("cvt.u32.u16 {}, {}", w, h);
      (*this)("shl.b32 {}, {}, 16", w, w);
      (*this)("mov.b32 {}, {}", f, w);
      break;
    }
    case DType::int8: {
      const std::string w = reg("r");
      (*this)("ld.global.s8 {}, [{}]", w, addr);
      (*this)("cvt.rn.f32.s32 {}, {}", f, w);
      break;
    }
    default:
      throw Error(fmt::format("internal: GPU load of {}", dtype_name(t)));
  }
  return f;
}

void Kernel::store_f32(DType t, const std::string& addr, const std::string& value) {
  switch (t) {
    case DType::fp32:
      (*this)("st.global.f32 [{}], {}", addr, value);
      break;
    case DType::fp16:
    case DType::bf16:
      (*this)("st.global.b16 [{}], {}", addr, half(t, value));
      break;
    case DType::int8: {
      const std::string w = reg("r");
      (*this)("cvt.rni.s32.f32 {}, {}", w, value);
      (*this)("max.s32 {}, {}, -128", w, w);
      (*this)("min.s32 {}, {}, 127", w, w);
      (*this)("st.global.s8 [{}], {}", addr, w);
      break;
    }
    default:
      throw Error(fmt::format("internal: GPU store of {}", dtype_name(t)));
  }
}

std::string Kernel::half(DType t, const std::string& value) {
  const std::string h = reg("rs");
  if (t == DType::fp16 || sm_ >= 80) {
    (*this)("cvt.rn.{}.f32 {}, {}", t == DType::fp16 ? "f16" : "bf16", h, value);
    return h;
  }
  // sm_70 has no bf16 conversion: bits + 0x7FFF + (bit 16 of bits), the upper half.
  const std::string b = reg("r"), l = reg("r");
  (*this)("mov.b32 {}, {}", b, value);
  (*this)("bfe.u32 {}, {}, 16, 1", l, b);
  (*this)("add.s32 {}, {}, {}", b, b, l);
  (*this)("add.s32 {}, {}, 32767", b, b);
  (*this)("shr.u32 {}, {}, 16", b, b);
  (*this)("cvt.u16.u32 {}, {}", h, b);
  return h;
}

std::string Kernel::text(const std::string& entry) const {
  std::string s = fmt::format("\t// .globl\t{}\n.visible .entry {}(\n", entry, entry);
  for (size_t i = 0; i < params_.size(); ++i)
    s += fmt::format("\t.param .{} {}{}\n", params_[i].type, params_[i].name,
                     i + 1 < params_.size() ? "," : "");
  s += ")\n{\n";
  for (const auto& [kind, type] : reg_kinds()) {
    auto it = regs_.find(kind);
    if (it != regs_.end()) s += fmt::format("\t.reg .{} \t%{}<{}>;\n", type, kind, it->second + 1);
  }
  for (const std::string& d : shared_) s += "\t" + d + "\n";
  return s + "\n" + body_ + "\tret;\n\n}\n";
}

std::string Emitter::addr(int tensor, uint64_t offset) const {
  const std::string& a = args_.at(size_t(tensor));
  if (offset == 0) return a;
  const size_t plus = a.find('+');
  const uint64_t base = plus == std::string::npos ? 0 : std::stoull(a.substr(plus + 1));
  return fmt::format("{}+{}", a.substr(0, plus), base + offset);
}

std::string Emitter::add(const std::string& base, const Kernel& k) {
  dynamic_shared_ = dynamic_shared_ || k.uses_dynamic_shared();
  const std::string body = k.text("$");
  auto it = by_body_.find(body);
  if (it != by_body_.end()) return it->second;
  const std::string entry = fmt::format("{}_{}", base, names_[base]++);
  kernels_ += "\n" + k.text(entry);
  by_body_.emplace(body, entry);
  std::vector<std::string>& names = param_names_[entry];
  for (const Kernel::Param& p : k.params()) names.push_back(p.name);
  return entry;
}

void Emitter::launch(const std::string& entry, std::array<uint32_t, 3> grid,
                     std::array<uint32_t, 3> block, uint64_t shared,
                     std::vector<std::string> args) {
  const std::vector<std::string>& names = param_names_.at(entry);
  if (names.size() != args.size())
    throw Error(fmt::format("internal: launch of {} with {} arguments for {} parameters", entry,
                            args.size(), names.size()));
  isa::ptx::Launch l;
  l.entry = entry;
  l.grid = grid;
  l.block = block;
  l.shared = shared;
  l.layer = layer_;
  for (size_t i = 0; i < args.size(); ++i) l.args.push_back({names[i], std::move(args[i])});
  launches_.push_back(std::move(l));
}

void Emitter::unsupported(const Node& n, const std::string& why) const {
  compiler::unsupported(n, caps.name, why);
}

void Emitter::lower_all() {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    layer_ = int(i);
    auto it = lowerings().find(n.kind);
    if (it == lowerings().end()) unsupported(n, "the GPU target does not lower this op yet");
    it->second(*this, n);
  }
  layer_ = -1;
}

std::string Emitter::ptx() const {
  return fmt::format(
      "//\n// Generated by xpusim's GPU compiler target for {}\n//\n\n.version 8.0\n.target "
      "sm_{}\n.address_size 64\n{}{}",
      caps.name, caps.sm, dynamic_shared_ ? "\n.extern .shared .align 16 .b8 dsmem[];\n" : "",
      kernels_);
}

}  // namespace xpusim::compiler::gpu
