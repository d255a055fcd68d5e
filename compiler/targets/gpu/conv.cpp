// The GPU target's conv2d. X (N,C,H,W) and the output (N,K,OH,OW) are row-major, so for image n
// and group g the output channels' planes are the matrix product W_g (K/groups x C/groups*R*S,
// the weights as they lie) times the im2col matrix of X (C/groups*R*S x OH*OW): the matrix
// main loop (gemm.h) runs it with M = K/groups, N = OH*OW, K = C/groups*R*S, one product per
// (image, group), B gathered from X (zero in the padding) as its K tiles are loaded. A 1x1
// convolution of stride 1 without padding needs no gather: its im2col matrix is X's planes.
// A convolution whose groups have one input channel each (depthwise) has too little reduction
// for a matrix product: a direct kernel, a thread per output element summing its R x S window.
// A bias (one value per output channel) is added to the accumulators in the output stage: the
// matrix kernels' epilogues load one value per row of C (gemm.h: bias_rows), the direct kernel
// one per thread.
#include "compiler/targets/gpu/gemm.h"

namespace xpusim::compiler::gpu {
namespace {

constexpr uint32_t kBlock = 256;

// Depthwise: thread i computes output element i (n, k, oh, ow) from input channel
// k / (K / groups) of image n.
void lower_depthwise(Emitter& e, const Node& n) {
  const TensorInfo& x = e.g.tensor(n.inputs[0]);
  const TensorInfo& out = e.g.tensor(n.outputs[0]);
  const OpAttrs& at = n.attrs;
  const DType t = out.dtype;
  const bool i8 = t == DType::int8;
  const uint32_t es = uint32_t(dtype_size(t));
  const int64_t R = at.kernel_h, S = at.kernel_w;
  if (out.elements() > INT32_MAX || x.elements() > INT32_MAX)
    e.unsupported(n, "a tensor of more than 2^31 elements");
  std::vector<Kernel::Param> params = {
      {"u64", "x"},  {"u64", "wt"}, {"u64", "out"}, {"u32", "total"}, {"u32", "c"},
      {"u32", "kg"}, {"u32", "k"},  {"u32", "h"},   {"u32", "w"},     {"u32", "oh"},
      {"u32", "ow"}, {"u32", "sh"}, {"u32", "sw"},  {"u32", "ph"},    {"u32", "pw"}};
  if (i8) {
    params.push_back({"u32", "mult"});
    params.push_back({"u32", "shift"});
  }
  const bool biased = n.inputs.size() == 3;
  if (biased) params.push_back({"u64", "bias"});
  Kernel k(e.caps.sm, params);
  std::map<std::string, std::string> p;
  for (const Kernel::Param& q : params)
    if (q.name != "mult" && q.name != "shift") p[q.name] = k.param(q.name);
  const Requant rq = i8 ? load_requant(k) : Requant{};
  std::vector<const char*> pointers = {"x", "wt", "out"};
  if (biased) pointers.push_back("bias");
  for (const char* ptr : pointers) {
    const std::string g = k.reg("rd");
    k("cvta.to.global.u64 {}, {}", g, p[ptr]);
    p[ptr] = g;
  }
  const std::string i = k.global_x(), done = k.label(), in = k.reg("p");
  k("setp.ge.u32 {}, {}, {}", in, i, p["total"]);
  k("@{} bra {}", in, done);
  // i = ((img * K + ch) * OH + oy) * OW + ox
  const std::string ox = k.reg("r"), oy = k.reg("r"), ch = k.reg("r"), img = k.reg("r");
  const std::string t1 = k.reg("r"), t2 = k.reg("r");
  k("rem.u32 {}, {}, {}", ox, i, p["ow"]);
  k("div.u32 {}, {}, {}", t1, i, p["ow"]);
  k("rem.u32 {}, {}, {}", oy, t1, p["oh"]);
  k("div.u32 {}, {}, {}", t2, t1, p["oh"]);
  k("rem.u32 {}, {}, {}", ch, t2, p["k"]);
  k("div.u32 {}, {}, {}", img, t2, p["k"]);
  // The input plane (img, ch / kg) and the window origin.
  const std::string plane = k.reg("r"), cin = k.reg("r"), ih0 = k.reg("r"), iw0 = k.reg("r");
  k("div.u32 {}, {}, {}", cin, ch, p["kg"]);
  k("mad.lo.s32 {}, {}, {}, {}", plane, img, p["c"], cin);
  k("mul.lo.s32 {}, {}, {}", plane, plane, p["h"]);
  k("mul.lo.s32 {}, {}, {}", ih0, oy, p["sh"]);
  k("sub.s32 {}, {}, {}", ih0, ih0, p["ph"]);
  k("mul.lo.s32 {}, {}, {}", iw0, ox, p["sw"]);
  k("sub.s32 {}, {}, {}", iw0, iw0, p["pw"]);
  const std::string wrow = k.reg("r");
  k("mul.lo.s32 {}, {}, {}", wrow, ch, uint32_t(R * S));
  const std::string acc = k.reg(i8 ? "r" : "f");
  k(i8 ? "mov.u32 {}, 0" : "mov.f32 {}, 0f00000000", acc);
  for (int64_t r = 0; r < R; ++r) {
    const std::string ih = k.reg("r"), row = k.reg("r"), row_ok = k.reg("p");
    k("add.s32 {}, {}, {}", ih, ih0, uint32_t(r));
    k("setp.lt.u32 {}, {}, {}", row_ok, ih, p["h"]);
    k("add.s32 {}, {}, {}", row, plane, ih);
    k("mul.lo.s32 {}, {}, {}", row, row, p["w"]);
    for (int64_t s = 0; s < S; ++s) {
      const std::string iw = k.reg("r"), q = k.reg("p"), idx = k.reg("r");
      const std::string xv = k.reg(i8 ? "r" : "f"), wv = k.reg(i8 ? "r" : "f");
      k("add.s32 {}, {}, {}", iw, iw0, uint32_t(s));
      k("setp.lt.and.u32 {}, {}, {}, {}", q, iw, p["w"], row_ok);
      k("add.s32 {}, {}, {}", idx, row, iw);
      load_element(k, t, q, k.address(p["x"], idx, es), xv);
      const std::string widx = k.reg("r");
      k("add.s32 {}, {}, {}", widx, wrow, uint32_t(r * S + s));
      load_element(k, t, "", k.address(p["wt"], widx, es), wv);
      if (i8)
        k("mad.lo.s32 {}, {}, {}, {}", acc, xv, wv, acc);
      else
        k("fma.rn.f32 {}, {}, {}, {}", acc, xv, wv, acc);
    }
  }
  const std::string bias = biased ? k.load_f32(t, k.address(p["bias"], ch, es)) : "";
  store_element(k, t, at.fused_relu, rq, "", k.address(p["out"], i, es), add_bias(k, acc, bias));
  k.place(done);
  const std::string entry = e.add(fmt::format("conv_depthwise_{}x{}_{}", R, S, dtype_name(t)), k);
  std::vector<std::string> args = {e.addr(n.inputs[0]), e.addr(n.inputs[1]), e.addr(n.outputs[0])};
  for (int64_t v :
       {out.elements(), x.shape[1], out.shape[1] / at.groups, out.shape[1], x.shape[2], x.shape[3],
        out.shape[2], out.shape[3], at.stride_h, at.stride_w, at.pad_h, at.pad_w})
    args.push_back(std::to_string(v));
  if (i8) {
    args.push_back(std::to_string(uint32_t(at.requant_multiplier)));
    args.push_back(std::to_string(at.requant_shift));
  }
  if (biased) args.push_back(e.addr(n.inputs[2]));
  e.launch(entry, {uint32_t((out.elements() + kBlock - 1) / kBlock), 1, 1}, {kBlock, 1, 1}, 0,
           args);
}

void lower_conv(Emitter& e, const Node& n) {
  const TensorInfo& x = e.g.tensor(n.inputs[0]);
  const TensorInfo& w = e.g.tensor(n.inputs[1]);
  const TensorInfo& out = e.g.tensor(n.outputs[0]);
  const OpAttrs& at = n.attrs;
  const int64_t C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t K = w.shape[0], Cg = w.shape[1], R = w.shape[2], S = w.shape[3];
  const int64_t OH = out.shape[2], OW = out.shape[3], G = at.groups;
  if (Cg == 1) return lower_depthwise(e, n);
  MatrixJob j;
  j.dtype = out.dtype;
  j.relu = at.fused_relu;
  j.multiplier = at.requant_multiplier;
  j.shift = at.requant_shift;
  j.m = K / G;
  j.n = OH * OW;
  j.k = Cg * R * S;
  j.batch = x.shape[0];
  j.groups = G;
  j.a_g = j.m * j.k;
  j.b_n = C * H * W;
  j.b_g = Cg * H * W;
  j.c_n = K * j.n;
  j.c_g = j.m * j.n;
  j.a = n.inputs[1];
  j.b = n.inputs[0];
  j.c = n.outputs[0];
  if (n.inputs.size() == 3) j.bias = n.inputs[2];
  j.bias_rows = true;
  const bool plain =
      R == 1 && S == 1 && at.stride_h == 1 && at.stride_w == 1 && at.pad_h == 0 && at.pad_w == 0;
  if (!plain) j.conv = ConvGather{H, W, OW, R, S, at.stride_h, at.stride_w, at.pad_h, at.pad_w};
  emit_matrix(e, n, j);
}

const bool registered = register_lowering(OpKind::conv2d, lower_conv);

}  // namespace
}  // namespace xpusim::compiler::gpu
