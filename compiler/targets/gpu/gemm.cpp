// The GPU target's gemm and matmul, and the matrix main loop conv2d shares (gemm.h).
//
// SIMT kernel (every preset, every dtype): a block of 256 threads computes a 64 x 64 tile of C
// over K tiles of 16; each K tile of A (transposed, so that a thread's 4 rows are one 16-byte
// read) and B is staged in shared memory as f32 (s32 for int8), and each thread accumulates a
// 4 x 4 register tile with 16 FMAs per two ld.shared.v4. The next K tile's elements are loaded
// into registers while the current one is multiplied. Edges (m, n, k not multiples of the tile)
// load zeros and store nothing.
#include "compiler/targets/gpu/gemm.h"

#include <string>
#include <vector>

namespace xpusim::compiler::gpu {
namespace {

constexpr uint32_t kThreads = 256;

// The kernel's parameters: pointers, sizes, the strides of a product's operands, then the
// requantisation (int8) and the convolution's geometry (a gathered B).
std::vector<Kernel::Param> matrix_params(const MatrixJob& j) {
  std::vector<Kernel::Param> p = {{"u64", "a"},   {"u64", "b"},   {"u64", "c"},      {"u32", "m"},
                                  {"u32", "n"},   {"u32", "k"},   {"u32", "groups"}, {"u32", "a_n"},
                                  {"u32", "a_g"}, {"u32", "b_n"}, {"u32", "b_g"},    {"u32", "c_n"},
                                  {"u32", "c_g"}};
  if (j.dtype == DType::int8) {
    p.push_back({"u32", "mult"});
    p.push_back({"u32", "shift"});
  }
  if (j.conv)
    for (const char* name : {"h", "w", "ow", "rs", "s", "sh", "sw", "ph", "pw"})
      p.push_back({"u32", name});
  return p;
}

std::vector<std::string> matrix_args(const Emitter& e, const MatrixJob& j) {
  std::vector<std::string> a = {e.addr(j.a), e.addr(j.b), e.addr(j.c)};
  for (int64_t v : {j.m, j.n, j.k, j.groups, j.a_n, j.a_g, j.b_n, j.b_g, j.c_n, j.c_g})
    a.push_back(std::to_string(v));
  if (j.dtype == DType::int8) {
    a.push_back(std::to_string(uint32_t(j.multiplier)));
    a.push_back(std::to_string(j.shift));
  }
  if (j.conv) {
    const ConvGather& g = *j.conv;
    for (int64_t v : {g.h, g.w, g.ow, g.r * g.s, g.s, g.sh, g.sw, g.ph, g.pw})
      a.push_back(std::to_string(v));
  }
  return a;
}

uint32_t log2_of(uint32_t v) {
  uint32_t l = 0;
  while ((1u << l) < v) ++l;
  return l;
}

// What every matrix kernel starts with: its parameters in registers, the product's operand
// pointers (global space), and the requantisation's constants.
struct Setup {
  std::string a, b, c;                      // "rd": this product's A, B (or X) and C
  std::string m, n, kdim;                   // "r"
  Requant q;                                // int8
  std::map<std::string, std::string> conv;  // conv parameter -> "r"
};

Setup setup(Kernel& k, const MatrixJob& j) {
  Setup s;
  const uint32_t es = uint32_t(dtype_size(j.dtype));
  const std::string pa = k.param("a"), pb = k.param("b"), pc = k.param("c");
  s.m = k.param("m");
  s.n = k.param("n");
  s.kdim = k.param("k");
  const std::string groups = k.param("groups");
  std::map<std::string, std::string> stride;
  for (const char* name : {"a_n", "a_g", "b_n", "b_g", "c_n", "c_g"}) stride[name] = k.param(name);
  if (j.dtype == DType::int8) s.q = load_requant(k);
  if (j.conv)
    for (const char* name : {"h", "w", "ow", "rs", "s", "sh", "sw", "ph", "pw"})
      s.conv[name] = k.param(name);
  const std::string z = k.reg("r"), zn = k.reg("r"), zg = k.reg("r");
  k("mov.u32 {}, %ctaid.z", z);
  k("div.u32 {}, {}, {}", zn, z, groups);
  k("rem.u32 {}, {}, {}", zg, z, groups);
  // base + ((z / groups) * x_n + (z % groups) * x_g) * es
  auto at = [&](const std::string& base, const std::string& x) {
    const std::string g = k.reg("rd"), o1 = k.reg("rd"), o2 = k.reg("rd"), p = k.reg("rd");
    k("cvta.to.global.u64 {}, {}", g, base);
    k("mul.wide.u32 {}, {}, {}", o1, zn, stride[x + "_n"]);
    k("mul.wide.u32 {}, {}, {}", o2, zg, stride[x + "_g"]);
    k("add.s64 {}, {}, {}", o1, o1, o2);
    if (es > 1) k("shl.b64 {}, {}, {}", o1, o1, log2_of(es));
    k("add.s64 {}, {}, {}", p, g, o1);
    return p;
  };
  s.a = at(pa, "a");
  s.b = at(pb, "b");
  s.c = at(pc, "c");
  return s;
}

// Row kr of a convolution's gathered B decoded: c * h (the channel's first input row), the
// window offsets r and s, and whether kr < K ("p").
struct ConvRow {
  std::string ch, r, s, ok;
};

ConvRow conv_row(Kernel& k, const Setup& st, const std::string& kr) {
  ConvRow row{k.reg("r"), k.reg("r"), k.reg("r"), k.reg("p")};
  const std::string t = k.reg("r"), c = k.reg("r");
  k("div.u32 {}, {}, {}", c, kr, st.conv.at("rs"));
  k("mul.lo.s32 {}, {}, {}", t, c, st.conv.at("rs"));
  k("sub.s32 {}, {}, {}", t, kr, t);
  k("div.u32 {}, {}, {}", row.r, t, st.conv.at("s"));
  k("mul.lo.s32 {}, {}, {}", row.s, row.r, st.conv.at("s"));
  k("sub.s32 {}, {}, {}", row.s, t, row.s);
  k("mul.lo.s32 {}, {}, {}", row.ch, c, st.conv.at("h"));
  k("setp.lt.u32 {}, {}, {}", row.ok, kr, st.kdim);
  return row;
}

// The address of B's element (row, column) of a convolution's gathered input into addr, and in
// pred whether it lies inside the image (else it reads as zero). ih0, iw0: the column's window
// origin (conv_origin); valid: the column exists.
void conv_element(Kernel& k, const Setup& st, uint32_t es, const ConvRow& row,
                  const std::string& ih0, const std::string& iw0, const std::string& valid,
                  const std::string& pred, const std::string& addr) {
  const std::string ih = k.reg("r"), iw = k.reg("r"), idx = k.reg("r"), off = k.reg("rd");
  k("add.s32 {}, {}, {}", ih, ih0, row.r);
  k("add.s32 {}, {}, {}", iw, iw0, row.s);
  k("and.pred {}, {}, {}", pred, row.ok, valid);
  k("setp.lt.and.u32 {}, {}, {}, {}", pred, ih, st.conv.at("h"), pred);
  k("setp.lt.and.u32 {}, {}, {}, {}", pred, iw, st.conv.at("w"), pred);
  k("add.s32 {}, {}, {}", idx, row.ch, ih);
  k("mad.lo.s32 {}, {}, {}, {}", idx, idx, st.conv.at("w"), iw);
  k("mul.wide.u32 {}, {}, {}", off, idx, es);
  k("add.s64 {}, {}, {}", addr, st.b, off);
}

// The window origin (ih0, iw0) of output column p (an "r" register) of a convolution.
std::pair<std::string, std::string> conv_origin(Kernel& k, const Setup& s, const std::string& p) {
  const std::string oh = k.reg("r"), ow = k.reg("r"), ih0 = k.reg("r"), iw0 = k.reg("r");
  k("div.u32 {}, {}, {}", oh, p, s.conv.at("ow"));
  k("mul.lo.s32 {}, {}, {}", ow, oh, s.conv.at("ow"));
  k("sub.s32 {}, {}, {}", ow, p, ow);
  k("mul.lo.s32 {}, {}, {}", ih0, oh, s.conv.at("sh"));
  k("sub.s32 {}, {}, {}", ih0, ih0, s.conv.at("ph"));
  k("mul.lo.s32 {}, {}, {}", iw0, ow, s.conv.at("sw"));
  k("sub.s32 {}, {}, {}", iw0, iw0, s.conv.at("pw"));
  return {ih0, iw0};
}

// The SIMT kernel (see the top of the file).
std::string simt_kernel(Emitter& e, const MatrixJob& j) {
  constexpr uint32_t BM = 64, BN = 64, BK = 16, TM = 4, TN = 4;
  constexpr uint32_t AS = BM + 4;  // As row stride in words: k rows, m contiguous
  constexpr uint32_t LA = BM * BK / kThreads, LB = BK * BN / kThreads;  // 4 and 4 per thread
  const bool i8 = j.dtype == DType::int8;
  const uint32_t es = uint32_t(dtype_size(j.dtype));
  const std::string vk = i8 ? "r" : "f";  // the kind of a staged value and an accumulator
  Kernel k(e.caps.sm, matrix_params(j));
  const Setup s = setup(k, j);
  const std::string as = k.shared("as", BK * AS * 4), bs = k.shared("bs", BK * BN * 4);
  const std::string tid = k.reg("r"), row0 = k.reg("r"), col0 = k.reg("r");
  k("mov.u32 {}, %tid.x", tid);
  k("mov.u32 {}, %ctaid.y", row0);
  k("shl.b32 {}, {}, 6", row0, row0);
  k("mov.u32 {}, %ctaid.x", col0);
  k("shl.b32 {}, {}, 6", col0, col0);

  // A: this thread loads column ka of rows ma + 16 i of each K tile.
  const std::string ka = k.reg("r"), ma = k.reg("r");
  k("and.b32 {}, {}, 15", ka, tid);
  k("shr.u32 {}, {}, 4", ma, tid);
  std::vector<std::string> a_addr(LA), a_row_ok(LA);
  for (uint32_t i = 0; i < LA; ++i) {
    const std::string m = k.reg("r"), off = k.reg("rd"), kw = k.reg("rd");
    a_addr[i] = k.reg("rd");
    a_row_ok[i] = k.reg("p");
    k("add.s32 {}, {}, {}", m, row0, ma);
    if (i) k("add.s32 {}, {}, {}", m, m, 16 * i);
    k("setp.lt.u32 {}, {}, {}", a_row_ok[i], m, s.m);
    k("mul.wide.u32 {}, {}, {}", off, m, s.kdim);
    k("cvt.u64.u32 {}, {}", kw, ka);
    k("add.s64 {}, {}, {}", off, off, kw);
    if (es > 1) k("shl.b64 {}, {}, {}", off, off, log2_of(es));
    k("add.s64 {}, {}, {}", a_addr[i], s.a, off);
  }
  // B: this thread loads column nb of rows kb + 4 i of each K tile.
  const std::string nb = k.reg("r"), kb = k.reg("r"), col = k.reg("r"), col_ok = k.reg("p");
  k("and.b32 {}, {}, 63", nb, tid);
  k("shr.u32 {}, {}, 6", kb, tid);
  k("add.s32 {}, {}, {}", col, col0, nb);
  k("setp.lt.u32 {}, {}, {}", col_ok, col, s.n);
  std::vector<std::string> b_addr(LB);
  std::string ih0, iw0;
  if (j.conv) {
    std::tie(ih0, iw0) = conv_origin(k, s, col);
  } else {
    for (uint32_t i = 0; i < LB; ++i) {
      const std::string r = k.reg("r"), off = k.reg("rd");
      b_addr[i] = k.reg("rd");
      k("add.s32 {}, {}, {}", r, kb, 4 * i);
      k("mad.lo.s32 {}, {}, {}, {}", r, r, s.n, col);
      k("mul.wide.u32 {}, {}, {}", off, r, es);
      k("add.s64 {}, {}, {}", b_addr[i], s.b, off);
    }
  }
  const std::string b_step = k.reg("rd");  // BK rows of B in bytes
  k("mul.wide.u32 {}, {}, {}", b_step, s.n, BK * es);
  // Shared-memory addresses: where this thread stores, and where it reads its 4 x 4 tile.
  const std::string a_st = k.reg("r"), b_st = k.reg("r"), a_rd = k.reg("r"), b_rd = k.reg("r");
  const std::string base = k.reg("r");
  k("mov.u32 {}, {}", base, as);
  k("mad.lo.s32 {}, {}, {}, {}", a_st, ka, AS, ma);
  k("shl.b32 {}, {}, 2", a_st, a_st);
  k("add.s32 {}, {}, {}", a_st, a_st, base);
  k("shr.u32 {}, {}, 4", a_rd, tid);  // ty
  k("shl.b32 {}, {}, 4", a_rd, a_rd);
  k("add.s32 {}, {}, {}", a_rd, a_rd, base);
  k("mov.u32 {}, {}", base, bs);
  k("shl.b32 {}, {}, 2", b_st, tid);  // (kb * 64 + nb) * 4 = tid * 4
  k("add.s32 {}, {}, {}", b_st, b_st, base);
  k("and.b32 {}, {}, 15", b_rd, tid);  // tx
  k("shl.b32 {}, {}, 4", b_rd, b_rd);
  k("add.s32 {}, {}, {}", b_rd, b_rd, base);

  std::vector<std::string> acc(TM * TN), sa(LA), sb(LB);
  for (std::string& r : acc) {
    r = k.reg(vk);
    k(i8 ? "mov.u32 {}, 0" : "mov.f32 {}, 0f00000000", r);
  }
  for (std::string& r : sa) r = k.reg(vk);
  for (std::string& r : sb) r = k.reg(vk);
  const std::string k0 = k.reg("r"), p = k.reg("p"), kr = k.reg("r");
  // Loads the K tile at k0 into sa / sb.
  auto load_tile = [&] {
    k("add.s32 {}, {}, {}", kr, k0, ka);
    k("setp.lt.u32 {}, {}, {}", p, kr, s.kdim);
    for (uint32_t i = 0; i < LA; ++i) {
      const std::string q = k.reg("p");
      k("and.pred {}, {}, {}", q, p, a_row_ok[i]);
      load_element(k, j.dtype, q, a_addr[i], sa[i]);
    }
    for (uint32_t i = 0; i < LB; ++i) {
      const std::string q = k.reg("p");
      k("add.s32 {}, {}, {}", kr, k0, kb);
      if (i) k("add.s32 {}, {}, {}", kr, kr, 4 * i);
      if (j.conv) {
        const std::string addr = k.reg("rd");
        conv_element(k, s, es, conv_row(k, s, kr), ih0, iw0, col_ok, q, addr);
        load_element(k, j.dtype, q, addr, sb[i]);
      } else {
        k("setp.lt.and.u32 {}, {}, {}, {}", q, kr, s.kdim, col_ok);
        load_element(k, j.dtype, q, b_addr[i], sb[i]);
      }
    }
  };
  k("mov.u32 {}, 0", k0);
  load_tile();
  const std::string loop = k.label();
  k.place(loop);
  for (uint32_t i = 0; i < LA; ++i) k("st.shared.b32 [{}+{}], {}", a_st, 16 * 4 * i, sa[i]);
  for (uint32_t i = 0; i < LB; ++i) k("st.shared.b32 [{}+{}], {}", b_st, 4 * BN * 4 * i, sb[i]);
  k("bar.sync 0");
  // The next K tile's loads, in flight while this one is multiplied.
  k("add.s32 {}, {}, {}", k0, k0, BK);
  for (uint32_t i = 0; i < LA; ++i) k("add.s64 {}, {}, {}", a_addr[i], a_addr[i], BK * es);
  if (!j.conv)
    for (uint32_t i = 0; i < LB; ++i) k("add.s64 {}, {}, {}", b_addr[i], b_addr[i], b_step);
  load_tile();
  for (uint32_t kk = 0; kk < BK; ++kk) {
    std::vector<std::string> av(TM), bv(TN);
    for (std::string& r : av) r = k.reg(vk);
    for (std::string& r : bv) r = k.reg(vk);
    const char* t = i8 ? "b32" : "f32";
    k("ld.shared.v4.{} {{{}, {}, {}, {}}}, [{}+{}]", t, av[0], av[1], av[2], av[3], a_rd,
      kk * AS * 4);
    k("ld.shared.v4.{} {{{}, {}, {}, {}}}, [{}+{}]", t, bv[0], bv[1], bv[2], bv[3], b_rd,
      kk * BN * 4);
    for (uint32_t a = 0; a < TM; ++a)
      for (uint32_t b = 0; b < TN; ++b) {
        const std::string& d = acc[a * TN + b];
        if (i8)
          k("mad.lo.s32 {}, {}, {}, {}", d, av[a], bv[b], d);
        else
          k("fma.rn.f32 {}, {}, {}, {}", d, av[a], bv[b], d);
      }
  }
  k("bar.sync 0");
  k("setp.lt.u32 {}, {}, {}", p, k0, s.kdim);
  k("@{} bra {}", p, loop);

  // Epilogue: rows ty * 4 + a, columns tx * 4 + b of the tile.
  const std::string r0 = k.reg("r"), c0 = k.reg("r");
  k("shr.u32 {}, {}, 4", r0, tid);
  k("shl.b32 {}, {}, 2", r0, r0);
  k("add.s32 {}, {}, {}", r0, r0, row0);
  k("and.b32 {}, {}, 15", c0, tid);
  k("shl.b32 {}, {}, 2", c0, c0);
  k("add.s32 {}, {}, {}", c0, c0, col0);
  for (uint32_t a = 0; a < TM; ++a) {
    const std::string r = k.reg("r"), row_ok = k.reg("p");
    k("add.s32 {}, {}, {}", r, r0, a);
    k("setp.lt.u32 {}, {}, {}", row_ok, r, s.m);
    for (uint32_t b = 0; b < TN; ++b) {
      const std::string c = k.reg("r"), q = k.reg("p"), idx = k.reg("r"), addr = k.reg("rd");
      k("add.s32 {}, {}, {}", c, c0, b);
      k("setp.lt.and.u32 {}, {}, {}, {}", q, c, s.n, row_ok);
      k("mad.lo.s32 {}, {}, {}, {}", idx, r, s.n, c);
      k("mul.wide.u32 {}, {}, {}", addr, idx, es);
      k("add.s64 {}, {}, {}", addr, s.c, addr);
      store_element(k, j.dtype, j.relu, s.q, q, addr, acc[a * TN + b]);
    }
  }
  const std::string entry =
      e.add(fmt::format("{}_simt_{}", j.conv ? "conv" : "gemm", dtype_name(j.dtype)), k);
  return entry;
}

void check_sizes(Emitter& e, const Node& n, const MatrixJob& j) {
  for (int t : {j.a, j.b, j.c})
    if (e.g.tensor(t).elements() > INT32_MAX)
      e.unsupported(n, "a tensor of more than 2^31 elements");
  if (j.batch * j.groups > 65535) e.unsupported(n, "more than 65535 products in one launch");
}

void lower_matrix(Emitter& e, const Node& n) {
  const MatmulDims d = matmul_dims(e.g, n);
  MatrixJob j;
  j.dtype = e.g.tensor(n.outputs[0]).dtype;
  j.relu = n.attrs.fused_relu;
  j.multiplier = n.attrs.requant_multiplier;
  j.shift = n.attrs.requant_shift;
  j.m = d.m;
  j.n = d.n;
  j.k = d.k;
  j.batch = d.batch;
  j.a_n = d.m * d.k;
  j.b_n = d.k * d.n;
  j.c_n = d.m * d.n;
  j.a = n.inputs[0];
  j.b = n.inputs[1];
  j.c = n.outputs[0];
  emit_matrix(e, n, j);
}

const bool registered = [] {
  register_lowering(OpKind::gemm, lower_matrix);
  return register_lowering(OpKind::matmul, lower_matrix);
}();

}  // namespace

// "@p " for pred p, "" for none.
std::string guard(const std::string& pred) {
  return pred.empty() ? "" : "@" + pred + " ";
}

Requant load_requant(Kernel& k) {
  Requant q;
  q.mult = k.param("mult");
  q.shift = k.param("shift");
  const std::string one = k.reg("rd");
  q.half = k.reg("rd");
  k("mov.u64 {}, 1", one);
  k("shl.b64 {}, {}, {}", one, one, q.shift);
  k("shr.u64 {}, {}, 1", q.half, one);
  return q;
}

void load_element(Kernel& k, DType t, const std::string& pred, const std::string& addr,
                  const std::string& v) {
  switch (t) {
    case DType::fp32:
      if (!pred.empty()) k("mov.f32 {}, 0f00000000", v);
      k("{}ld.global.f32 {}, [{}]", guard(pred), v, addr);
      break;
    case DType::int8:
      if (!pred.empty()) k("mov.u32 {}, 0", v);
      k("{}ld.global.s8 {}, [{}]", guard(pred), v, addr);
      break;
    case DType::fp16: {
      const std::string h = k.reg("rs");
      if (!pred.empty()) k("mov.b16 {}, 0", h);
      k("{}ld.global.b16 {}, [{}]", guard(pred), h, addr);
      k("cvt.f32.f16 {}, {}", v, h);
      break;
    }
    case DType::bf16: {
      const std::string h = k.reg("rs"), w = k.reg("r");
      if (!pred.empty()) k("mov.b16 {}, 0", h);
      k("{}ld.global.b16 {}, [{}]", guard(pred), h, addr);
      k("cvt.u32.u16 {}, {}", w, h);
      k("shl.b32 {}, {}, 16", w, w);
      k("mov.b32 {}, {}", v, w);
      break;
    }
    default:
      throw Error("internal: GPU matrix load of " + std::string(dtype_name(t)));
  }
}

void store_element(Kernel& k, DType t, bool relu, const Requant& rq, const std::string& pred,
                   const std::string& addr, const std::string& acc) {
  if (t == DType::int8) {
    const std::string p = k.reg("rd"), q = k.reg("rd"), nq = k.reg("rd"), w = k.reg("r");
    const std::string neg = k.reg("p");
    k("mul.wide.s32 {}, {}, {}", p, acc, rq.mult);
    k("abs.s64 {}, {}", q, p);
    k("add.s64 {}, {}, {}", q, q, rq.half);
    k("shr.u64 {}, {}, {}", q, q, rq.shift);
    k("neg.s64 {}, {}", nq, q);
    k("setp.lt.s64 {}, {}, 0", neg, p);
    k("selp.b64 {}, {}, {}, {}", q, nq, q, neg);
    k("min.s64 {}, {}, 127", q, q);
    k("max.s64 {}, {}, {}", q, q, relu ? 0 : -128);
    k("cvt.u32.u64 {}, {}", w, q);
    k("{}st.global.s8 [{}], {}", guard(pred), addr, w);
    return;
  }
  std::string v = acc;
  if (relu) {
    v = k.reg("f");
    k("max.f32 {}, {}, 0f00000000", v, acc);
  }
  if (t == DType::fp32) {
    k("{}st.global.f32 [{}], {}", guard(pred), addr, v);
    return;
  }
  k("{}st.global.b16 [{}], {}", guard(pred), addr, k.half(t, v));
}

void emit_matrix(Emitter& e, const Node& n, const MatrixJob& j) {
  check_sizes(e, n, j);
  const std::string entry = simt_kernel(e, j);
  e.launch(entry,
           {uint32_t((j.n + 63) / 64), uint32_t((j.m + 63) / 64), uint32_t(j.batch * j.groups)},
           {kThreads, 1, 1}, 0, matrix_args(e, j));
}

}  // namespace xpusim::compiler::gpu
