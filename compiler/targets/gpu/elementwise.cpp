// The GPU target's elementwise ops (add, mul, relu, gelu, silu, clip) and reshape: one thread
// per element, computed in f32 and rounded once to the output's dtype, as the reference does.
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
    case OpKind::silu: {
      // x / (1 + 2^(-x log2 e))
      const std::string e = k.reg("f"), d = k.reg("f");
      k("mul.rn.f32 {}, {}, {}", e, x, f32_literal(-1.4426950408889634f));
      k("ex2.approx.f32 {}, {}", e, e);
      k("add.rn.f32 {}, {}, 0f3F800000", d, e);
      k("div.rn.f32 {}, {}, {}", r, x, d);
      break;
    }
    default:
      throw Error("internal: not an elementwise op");
  }
  return r;
}

void lower_elementwise(Emitter& e, const Node& n) {
  const TensorInfo& out = e.g.tensor(n.outputs[0]);
  const bool binary = n.inputs.size() == 2;
  const int64_t count = out.elements();
  if (count > INT32_MAX) e.unsupported(n, "more than 2^31 elements");
  std::vector<Kernel::Param> params = {{"u64", "x"}};
  if (binary) params.push_back({"u64", "y"});
  params.push_back({"u64", "out"});
  params.push_back({"u32", "n"});
  Kernel k(e.caps.sm, params);
  const std::string px = k.param("x"), py = binary ? k.param("y") : "", po = k.param("out"),
                    pn = k.param("n");
  const std::string i = k.global_x(), done = k.label(), p = k.reg("p");
  k("setp.ge.u32 {}, {}, {}", p, i, pn);
  k("@{} bra {}", p, done);
  const uint32_t es = uint32_t(dtype_size(out.dtype));
  const std::string gx = k.reg("rd");
  k("cvta.to.global.u64 {}, {}", gx, px);
  const std::string x = k.load_f32(out.dtype, k.address(gx, i, es));
  std::string y;
  if (binary) {
    const std::string gy = k.reg("rd");
    k("cvta.to.global.u64 {}, {}", gy, py);
    y = k.load_f32(out.dtype, k.address(gy, i, es));
  }
  const std::string r = apply(k, n, x, y);
  const std::string go = k.reg("rd");
  k("cvta.to.global.u64 {}, {}", go, po);
  k.store_f32(out.dtype, k.address(go, i, es), r);
  k.place(done);
  const std::string entry = e.add(std::string(op_name(n.kind)) + "_" + dtype_name(out.dtype), k);
  std::vector<std::string> args = {e.addr(n.inputs[0])};
  if (binary) args.push_back(e.addr(n.inputs[1]));
  args.push_back(e.addr(n.outputs[0]));
  args.push_back(std::to_string(count));
  e.launch(entry, {uint32_t((count + kBlock - 1) / kBlock), 1, 1}, {kBlock, 1, 1}, 0, args);
}

void lower_reshape(Emitter&, const Node&) {}

const bool registered = [] {
  for (OpKind k :
       {OpKind::add, OpKind::mul, OpKind::relu, OpKind::gelu, OpKind::silu, OpKind::clip})
    register_lowering(k, lower_elementwise);
  return register_lowering(OpKind::reshape, lower_reshape);
}();

}  // namespace
}  // namespace xpusim::compiler::gpu
