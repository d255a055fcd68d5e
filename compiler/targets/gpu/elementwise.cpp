// The GPU target's elementwise ops (add, mul, relu, gelu, silu, sigmoid, clip) and reshape: 16
// bytes of elements per thread, computed in f32 and rounded once to the output's dtype, as the
// reference does.
// A reshape moves nothing: its output is its input's buffer (target.cpp places it so).
#include <cmath>

#include "compiler/targets/gpu/kernel.h"

namespace xpusim::compiler::gpu {
namespace {

constexpr uint32_t kBlock = 256;

// f = op(x[, y]) in f32 registers of k.
std::string apply(Kernel& k, const Node& n, const std::string& x, const std::string& y) {
  const std::string r = k.reg("f");
  switch (n.kind) {
    case OpKind::add:
      k("add.rn.f32 {}, {}, {}", r, x, y);
      break;
    case OpKind::mul:
      k("mul.rn.f32 {}, {}, {}", r, x, y);
      break;
    case OpKind::relu:
      k("max.f32 {}, {}, 0f00000000", r, x);
      break;
    case OpKind::clip: {
      const OpAttrs& a = n.attrs;
      k("mov.f32 {}, {}", r, x);
      if (std::isfinite(a.clip_min)) k("max.f32 {}, {}, {}", r, r, f32_literal(float(a.clip_min)));
      if (std::isfinite(a.clip_max)) k("min.f32 {}, {}, {}", r, r, f32_literal(float(a.clip_max)));
      break;
    }
    case OpKind::gelu: {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      const std::string x3 = k.reg("f"), in = k.reg("f"), t = k.reg("f"), h = k.reg("f");
      k("mul.rn.f32 {}, {}, {}", x3, x, x);
      k("mul.rn.f32 {}, {}, {}", x3, x3, x);
      k("fma.rn.f32 {}, {}, {}, {}", in, x3, f32_literal(0.044715f), x);
      k("mul.rn.f32 {}, {}, {}", in, in, f32_literal(0.7978845608028654f));
      if (k.sm() >= 75) {
        k("tanh.approx.f32 {}, {}", t, in);
      } else {  // tanh(v) = 1 - 2 / (2^(2 v log2 e) + 1)
        const std::string q = k.reg("f");
        k("mul.rn.f32 {}, {}, {}", q, in, f32_literal(2.8853900817779268f));
        k("ex2.approx.f32 {}, {}", q, q);
        k("add.rn.f32 {}, {}, 0f3F800000", q, q);
        k("div.rn.f32 {}, 0fC0000000, {}", q, q);
        k("add.rn.f32 {}, {}, 0f3F800000", t, q);
      }
      k("add.rn.f32 {}, {}, 0f3F800000", t, t);
      k("mul.rn.f32 {}, {}, 0f3F000000", h, x);
      k("mul.rn.f32 {}, {}, {}", r, h, t);
      break;
    }
    case OpKind::silu:
    case OpKind::sigmoid: {
      // x / (1 + 2^(-x log2 e)); sigmoid: its correctly rounded reciprocal
      const std::string e = k.reg("f"), d = k.reg("f");
      k("mul.rn.f32 {}, {}, {}", e, x, f32_literal(-1.4426950408889634f));
      k("ex2.approx.f32 {}, {}", e, e);
      k("add.rn.f32 {}, {}, 0f3F800000", d, e);
      if (n.kind == OpKind::sigmoid)
        k("rcp.rn.f32 {}, {}", r, d);
      else
        k("div.rn.f32 {}, {}, {}", r, x, d);
      break;
    }
    default:
      throw Error("internal: not an elementwise op");
  }
  return r;
}

// Each thread maps a group of 16, 8 or 4 bytes of elements with one load and store per operand
// (every buffer is 256-byte aligned): the widest group that still gives every SM a block of
// threads, so that small tensors keep their parallelism; a thread more per element past the
// last whole group maps that element. A tensor too small for a block per SM even with one
// element per thread has no groups: a thread per element.
void lower_elementwise(Emitter& e, const Node& n) {
  const TensorInfo& out = e.g.tensor(n.outputs[0]);
  const bool binary = n.inputs.size() == 2;
  const int64_t count = out.elements();
  if (count > INT32_MAX) e.unsupported(n, "more than 2^31 elements");
  const uint32_t es = uint32_t(dtype_size(out.dtype));
  const int64_t wanted = int64_t(e.caps.sms) * kBlock;
  size_t words = 4;
  while (words > 1 && out.bytes() / int64_t(4 * words) < wanted) words /= 2;
  const bool grouped = out.bytes() / int64_t(4 * words) >= wanted && 4 * words >= es;
  const uint32_t per = grouped ? uint32_t(4 * words) / es : 1;
  const int64_t groups = grouped ? count / per : 0;
  std::vector<Kernel::Param> params = {{"u64", "x"}};
  if (binary) params.push_back({"u64", "y"});
  params.push_back({"u64", "out"});
  params.push_back({"u32", "n"});
  params.push_back({"u32", "groups"});
  Kernel k(e.caps.sm, params);
  std::string ptr[3] = {k.param("x"), binary ? k.param("y") : "", k.param("out")};
  const std::string pn = k.param("n"), pg = k.param("groups");
  for (std::string& p : ptr)
    if (!p.empty()) {
      const std::string g = k.reg("rd");
      k("cvta.to.global.u64 {}, {}", g, p);
      p = g;
    }
  const std::string i = k.global_x(), tail = k.label(), done = k.label();
  const std::string p = k.reg("p");
  if (grouped) {
    k("setp.ge.u32 {}, {}, {}", p, i, pg);
    k("@{} bra {}", p, tail);
    const uint32_t bytes = per * es;
    const std::vector<std::string> x =
        load_vector(k, out.dtype, k.address(ptr[0], i, bytes), words);
    std::vector<std::string> y(x.size()), r(x.size());
    if (binary) y = load_vector(k, out.dtype, k.address(ptr[1], i, bytes), words);
    for (size_t j = 0; j < x.size(); ++j) r[j] = apply(k, n, x[j], y[j]);
    store_vector(k, out.dtype, k.address(ptr[2], i, bytes), r, words);
    k("bra.uni {}", done);
    k.place(tail);  // thread groups + t maps element groups * per + t
  }
  const std::string j = k.reg("r");
  k("mad.lo.s32 {}, {}, {}, {}", j, pg, per - 1, i);
  k("setp.ge.u32 {}, {}, {}", p, j, pn);
  k("@{} bra {}", p, done);
  const std::string x = k.load_f32(out.dtype, k.address(ptr[0], j, es));
  const std::string y = binary ? k.load_f32(out.dtype, k.address(ptr[1], j, es)) : "";
  k.store_f32(out.dtype, k.address(ptr[2], j, es), apply(k, n, x, y));
  k.place(done);
  const std::string entry = e.add(std::string(op_name(n.kind)) + "_" + dtype_name(out.dtype), k);
  std::vector<std::string> args = {e.addr(n.inputs[0])};
  if (binary) args.push_back(e.addr(n.inputs[1]));
  args.push_back(e.addr(n.outputs[0]));
  args.push_back(std::to_string(count));
  args.push_back(std::to_string(groups));
  const int64_t threads = groups + (count - groups * per);
  e.launch(entry, {uint32_t((threads + kBlock - 1) / kBlock), 1, 1}, {kBlock, 1, 1}, 0, args);
}

void lower_reshape(Emitter&, const Node&) {}

const bool registered = [] {
  for (OpKind k : {OpKind::add, OpKind::mul, OpKind::relu, OpKind::gelu, OpKind::silu,
                   OpKind::sigmoid, OpKind::clip})
    register_lowering(k, lower_elementwise);
  return register_lowering(OpKind::reshape, lower_reshape);
}();

}  // namespace
}  // namespace xpusim::compiler::gpu
