#include "compiler/targets/gpu/kernel.h"

#include <algorithm>
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

// "ld.global.v4.b32", "ld.global.v2.b32", "ld.global.b32" (and st) for `words` words.
std::string vector_op(const char* op, size_t words) {
  return fmt::format("{}.global{}.b32", op, words == 1 ? "" : fmt::format(".v{}", words));
}

}  // namespace

std::string word_list(const std::vector<std::string>& w) {
  if (w.size() == 1) return w[0];
  std::string s = "{" + w[0];
  for (size_t i = 1; i < w.size(); ++i) s += ", " + w[i];
  return s + "}";
}

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
  return to_f32(t, load_element(t, addr));
}

std::string Kernel::load_element(DType t, const std::string& addr) {
  std::string r;
  switch (t) {
    case DType::fp32:
      r = reg("f");
      (*this)("ld.global.f32 {}, [{}]", r, addr);
      break;
    case DType::fp16:
    case DType::bf16:
      r = reg("rs");
      (*this)("ld.global.b16 {}, [{}]", r, addr);
      break;
    case DType::int8:
      r = reg("r");
      (*this)("ld.global.s8 {}, [{}]", r, addr);
      break;
    default:
      throw Error(fmt::format("internal: GPU load of {}", dtype_name(t)));
  }
  return r;
}

std::string Kernel::to_f32(DType t, const std::string& raw) {
  if (t == DType::fp32) return raw;
  const std::string f = reg("f");
  if (t == DType::fp16) {
    (*this)("cvt.f32.f16 {}, {}", f, raw);
  } else if (t == DType::bf16) {
    const std::string w = reg("r");
    (*this)("cvt.u32.u16 {}, {}", w, raw);
    (*this)("shl.b32 {}, {}, 16", w, w);
    (*this)("mov.b32 {}, {}", f, w);
  } else {
    (*this)("cvt.rn.f32.s32 {}, {}", f, raw);
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

std::vector<std::string> load_vector(Kernel& k, DType t, const std::string& addr, size_t words) {
  return unpack_words(k, t, load_words(k, addr, words));
}

std::vector<std::string> load_words(Kernel& k, const std::string& addr, size_t words) {
  std::vector<std::string> w(words);
  for (std::string& r : w) r = k.reg("r");
  k("{} {}, [{}]", vector_op("ld", words), word_list(w), addr);
  return w;
}

std::string butterfly(Kernel& k, const char* op, std::string v, uint32_t width, bool upward) {
  for (uint32_t i = 1; i < width; i *= 2) {
    const uint32_t off = upward ? i : width / (2 * i);
    const std::string o = k.reg("f"), r = k.reg("f");
    k("shfl.sync.bfly.b32 {}, {}, {}, 31, -1", o, v, off);
    k("{} {}, {}, {}", op, r, v, o);
    v = r;
  }
  return v;
}

std::vector<std::string> unpack_words(Kernel& k, DType t, const std::vector<std::string>& w) {
  std::vector<std::string> v;
  for (const std::string& word : w) {
    if (t == DType::fp32) {
      v.push_back(k.reg("f"));
      k("mov.b32 {}, {}", v.back(), word);
    } else if (t == DType::fp16) {
      const std::string lo = k.reg("rs"), hi = k.reg("rs");
      k("mov.b32 {{{}, {}}}, {}", lo, hi, word);
      for (const std::string& h : {lo, hi}) {
        v.push_back(k.reg("f"));
        k("cvt.f32.f16 {}, {}", v.back(), h);
      }
    } else if (t == DType::bf16) {  // a bf16 is the upper half of its f32
      const std::string lo = k.reg("r"), hi = k.reg("r");
      k("shl.b32 {}, {}, 16", lo, word);
      k("and.b32 {}, {}, -65536", hi, word);
      for (const std::string& b : {lo, hi}) {
        v.push_back(k.reg("f"));
        k("mov.b32 {}, {}", v.back(), b);
      }
    } else {  // int8: four signed bytes
      for (int b = 0; b < 4; ++b) {
        const std::string i = k.reg("r");
        k("bfe.s32 {}, {}, {}, 8", i, word, 8 * b);
        v.push_back(k.reg("f"));
        k("cvt.rn.f32.s32 {}, {}", v.back(), i);
      }
    }
  }
  return v;
}

void store_vector(Kernel& k, DType t, const std::string& addr, const std::vector<std::string>& v,
                  size_t words) {
  const size_t per = v.size() / words;
  std::vector<std::string> w(words);
  for (size_t j = 0; j < words; ++j) {
    w[j] = k.reg("r");
    if (t == DType::fp32) {
      k("mov.b32 {}, {}", w[j], v[j]);
      continue;
    }
    if (t == DType::int8) {
      for (size_t b = 0; b < per; ++b) {
        const std::string i = k.reg("r");
        k("cvt.rni.s32.f32 {}, {}", i, v[j * per + b]);
        k("max.s32 {}, {}, -128", i, i);
        k("min.s32 {}, {}, 127", i, i);
        if (b == 0)
          k("mov.b32 {}, {}", w[j], i);
        else
          k("bfi.b32 {}, {}, {}, {}, 8", w[j], i, w[j], 8 * b);
      }
      continue;
    }
    std::string h[2];
    for (int b = 0; b < 2; ++b) h[b] = k.half(t, v[j * 2 + size_t(b)]);
    k("mov.b32 {}, {{{}, {}}}", w[j], h[0], h[1]);
  }
  k("{} [{}], {}", vector_op("st", words), addr, word_list(w));
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

std::string Emitter::scratch(uint64_t bytes) {
  scratch_bytes_ = std::max(scratch_bytes_, bytes);
  return "@scratch";
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
