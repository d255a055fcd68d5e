// The GPU target's gemm and matmul, and the matrix main loop conv2d shares (gemm.h).
//
// Tensor-core kernel (tc_kernel): fp16, bf16 and int8 on sm_80 and later, fp16 on sm_70 (wmma).
// SIMT kernel (every preset, every dtype; what the tensor cores do not take): a block of 256
// threads computes a 64 x 64 tile of C over K tiles of 16; each K tile of A (transposed, so that a
// thread's 4 rows are one 16-byte read) and B is staged in shared memory as f32 (s32 for int8), and
// each thread accumulates a 4 x 4 register tile with 16 FMAs per two ld.shared.v4. The next K
// tile's elements are loaded into registers while the current one is multiplied. Edges (m, n, k not
// multiples of the tile) load zeros and store nothing.
#include "compiler/targets/gpu/gemm.h"

#include <algorithm>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

namespace xpusim::compiler::gpu {
namespace {

constexpr uint32_t kThreads = 256;

}  // namespace

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
  if (j.bias >= 0) p.push_back({"u64", "bias"});
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
  if (j.bias >= 0) a.push_back(e.addr(j.bias));
  return a;
}

namespace {

uint32_t log2_of(uint32_t v) {
  uint32_t l = 0;
  while ((1u << l) < v) ++l;
  return l;
}

}  // namespace

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
  const std::string pbias = j.bias >= 0 ? k.param("bias") : "";
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
  if (j.bias >= 0) {
    // bias + (z % groups) * m * es for a bias per row (a group's output channels).
    s.bias = k.reg("rd");
    k("cvta.to.global.u64 {}, {}", s.bias, pbias);
    if (j.bias_rows && j.groups > 1) {
      const std::string off = k.reg("rd");
      k("mul.wide.u32 {}, {}, {}", off, zg, s.m);
      if (es > 1) k("shl.b64 {}, {}, {}", off, off, log2_of(es));
      k("add.s64 {}, {}, {}", s.bias, s.bias, off);
    }
  }
  return s;
}

std::vector<std::string> load_biases(Kernel& k, const MatrixJob& j, const Setup& s,
                                     const std::string& first,
                                     const std::vector<uint32_t>& offsets) {
  std::vector<std::string> v(offsets.size());
  if (j.bias < 0) return v;
  const uint32_t es = uint32_t(dtype_size(j.dtype));
  // One address, the values at immediate offsets from it.
  const std::string addr = k.reg("rd");
  k("mul.wide.u32 {}, {}, {}", addr, first, es);
  k("add.s64 {}, {}, {}", addr, s.bias, addr);
  for (size_t x = 0; x < offsets.size(); ++x) {
    const std::string i = k.reg("r"), q = k.reg("p");
    k("add.s32 {}, {}, {}", i, first, offsets[x]);
    k("setp.lt.u32 {}, {}, {}", q, i, j.bias_rows ? s.m : s.n);
    v[x] = k.reg("f");
    load_element(k, j.dtype, q, fmt::format("{}+{}", addr, offsets[x] * es), v[x]);
  }
  return v;
}

std::string add_bias(Kernel& k, const std::string& acc, const std::string& bias) {
  if (bias.empty()) return acc;
  const std::string r = k.reg("f");
  k("add.rn.f32 {}, {}, {}", r, acc, bias);
  return r;
}

namespace {

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

// The address of A's element (row, kcol), row = row0 + first + offset (offset a constant), into
// addr, and in ok whether the row is inside M.
void a_row_address(Kernel& k, const Setup& s, const std::string& row0, const std::string& first,
                   uint32_t offset, const std::string& kcol, uint32_t es, const std::string& ok,
                   const std::string& addr) {
  const std::string m = k.reg("r"), off = k.reg("rd"), kw = k.reg("rd");
  k("add.s32 {}, {}, {}", m, row0, first);
  if (offset) k("add.s32 {}, {}, {}", m, m, offset);
  k("setp.lt.u32 {}, {}, {}", ok, m, s.m);
  k("mul.wide.u32 {}, {}, {}", off, m, s.kdim);
  k("cvt.u64.u32 {}, {}", kw, kcol);
  k("add.s64 {}, {}, {}", off, off, kw);
  if (es > 1) k("shl.b64 {}, {}, {}", off, off, log2_of(es));
  k("add.s64 {}, {}, {}", addr, s.a, off);
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
    a_addr[i] = k.reg("rd");
    a_row_ok[i] = k.reg("p");
    a_row_address(k, s, row0, ma, 16 * i, ka, es, a_row_ok[i], a_addr[i]);
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
  // The bias of the thread's rows or columns.
  const std::vector<std::string> bias = load_biases(k, j, s, j.bias_rows ? r0 : c0, {0, 1, 2, 3});
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
      store_element(k, j.dtype, j.relu, s.q, q, addr,
                    add_bias(k, acc[a * TN + b], bias[j.bias_rows ? a : b]));
    }
  }
  const std::string entry =
      e.add(fmt::format("{}_simt_{}", j.conv ? "conv" : "gemm", dtype_name(j.dtype)), k);
  return entry;
}

// The tensor-core kernel's tiling: a BM x BN block tile of warps each computing WM x WN of it,
// K tiles of 64 bytes, `stages` of them in flight.
// wmma (sm_70): rows padded by 16 bytes instead of swizzled, since wmma.load takes a stride.
struct TcTile {
  uint32_t bm, bn, wm, wn;
  uint32_t stages = 0;
  bool wmma = false;
  // How the operands load: pieces of aw bytes of A's rows of K elements and bw of B's rows of N
  // (a gathered B: single elements), by cp.async or staged in registers.
  uint32_t aw = 16, bw = 16;
  bool a_async = false, b_async = false;
  uint32_t threads() const { return 32 * (bm / wm) * (bn / wn); }
  uint32_t a_row() const { return wmma ? 80 : 64; }
  uint32_t b_row() const { return (bn + (wmma ? 8 : 0)) * 2; }
  uint32_t stage_bytes() const { return bm * a_row() + 32 * b_row(); }
  // wmma: the fp32 tile staged for the epilogue, rows padded by 4 elements.
  uint32_t shared_bytes() const {
    return std::max(stages * stage_bytes(), wmma ? bm * (bn + 4) * 4 : 0);
  }
};

// The wmma kernel's epilogue: each warp stores its fp32 accumulators into shared memory (the
// fragments' element order is not specified), then each thread rounds and writes elements
// tid, tid + T, ... of the block tile, a warp's 32 consecutive columns per store.
void wmma_epilogue(Kernel& k, const MatrixJob& j, const TcTile& t, const Setup& s,
                   const std::vector<std::string>& acc, const std::string& smem,
                   const std::string& tid, const std::string& wmi, const std::string& wni,
                   const std::string& row0, const std::string& col0) {
  const uint32_t row_bytes = (t.bn + 4) * 4, FM = t.wm / 16, FN = t.wn / 16, T = t.threads();
  k("bar.sync 0");
  const std::string base = k.reg("r");
  k("mad.lo.s32 {}, {}, {}, {}", base, wmi, t.wm * row_bytes, smem);
  k("mad.lo.s32 {}, {}, {}, {}", base, wni, t.wn * 4, base);
  for (uint32_t i = 0; i < FM; ++i)
    for (uint32_t n = 0; n < FN; ++n) {
      const std::vector<std::string> d(acc.begin() + (i * FN + n) * 8,
                                       acc.begin() + (i * FN + n + 1) * 8);
      k("wmma.store.d.sync.aligned.row.m16n16k16.shared.f32 [{}+{}], {{{}}}, {}", base,
        i * 16 * row_bytes + n * 64, fmt::join(d, ", "), t.bn + 4);
    }
  k("bar.sync 0");
  const std::string r0 = k.reg("r"), c = k.reg("r"), col = k.reg("r"), col_ok = k.reg("p");
  const std::string src = k.reg("r");
  k("div.u32 {}, {}, {}", r0, tid, t.bn);
  k("rem.u32 {}, {}, {}", c, tid, t.bn);
  k("mad.lo.s32 {}, {}, {}, {}", src, r0, row_bytes, smem);
  k("shl.b32 {}, {}, 2", col, c);
  k("add.s32 {}, {}, {}", src, src, col);
  k("add.s32 {}, {}, {}", col, col0, c);
  k("setp.lt.u32 {}, {}, {}", col_ok, col, s.n);
  k("add.s32 {}, {}, {}", r0, r0, row0);
  const Requant none;
  const uint32_t per = t.bm * t.bn / T;
  std::vector<uint32_t> rows(per);
  for (uint32_t x = 0; x < per; ++x) rows[x] = x * T / t.bn;
  // The bias of the thread's column, or of each of its rows.
  const std::vector<std::string> bias =
      j.bias_rows ? load_biases(k, j, s, r0, rows) : load_biases(k, j, s, col, {0});
  for (uint32_t x = 0; x < per; ++x) {
    const std::string r = k.reg("r"), q = k.reg("p"), v = k.reg("f"), idx = k.reg("r");
    const std::string addr = k.reg("rd");
    k("add.s32 {}, {}, {}", r, r0, rows[x]);
    k("setp.lt.and.u32 {}, {}, {}, {}", q, r, s.m, col_ok);
    k("ld.shared.f32 {}, [{}+{}]", v, src, rows[x] * row_bytes);
    k("mad.lo.s32 {}, {}, {}, {}", idx, r, s.n, col);
    k("mul.wide.u32 {}, {}, 2", addr, idx);
    k("add.s64 {}, {}, {}", addr, s.c, addr);
    store_element(k, j.dtype, j.relu, none, q, addr, add_bias(k, v, bias[j.bias_rows ? x : 0]));
  }
}

// A run of bytes of one operand row staged in registers: loaded from global memory in pieces of
// w bytes (w >= 4: words, one vector load a piece; 2: halves, "rs"; 1: bytes, "r"), packed into
// words when stored to shared memory.
struct Run {
  uint32_t w = 16;
  std::vector<std::string> regs;
};

Run make_run(Kernel& k, uint32_t bytes, uint32_t w) {
  Run r{w, {}};
  for (uint32_t i = 0; i < (w >= 4 ? bytes / 4 : bytes / w); ++i)
    r.regs.push_back(k.reg(w == 2 ? "rs" : "r"));
  return r;
}

// Loads piece i of run r from [src + off + i w] when ok[i] holds; else zero when `zero`, else
// the run keeps what it held.
void load_run(Kernel& k, const Run& r, const std::string& src, int64_t off,
              const std::vector<std::string>& ok, bool zero) {
  const uint32_t per = r.w >= 4 ? r.w / 4 : 1;  // registers a piece
  const char* v = per == 4 ? ".v4" : per == 2 ? ".v2" : "";
  const char* t = r.w >= 4 ? "b32" : r.w == 2 ? "b16" : "u8";
  for (uint32_t i = 0; i * per < r.regs.size(); ++i) {
    const std::vector<std::string> d(r.regs.begin() + i * per, r.regs.begin() + (i + 1) * per);
    if (zero)
      for (const std::string& x : d) k(r.w == 2 ? "mov.b16 {}, 0" : "mov.b32 {}, 0", x);
    k("@{} ld.global{}.{} {}, [{}+{}]", ok[i], v, t, word_list(d), src, off + i * r.w);
  }
}

// Run r's bytes as 32-bit words, little-endian as in memory.
std::vector<std::string> run_words(Kernel& k, const Run& r) {
  if (r.w >= 4) return r.regs;
  std::vector<std::string> out;
  for (size_t i = 0; i < r.regs.size(); i += 4 / r.w) {
    const std::string w = k.reg("r");
    if (r.w == 2) {
      k("mov.b32 {}, {{{}, {}}}", w, r.regs[i], r.regs[i + 1]);
    } else {
      const std::string lo = k.reg("r"), hi = k.reg("r");
      k("prmt.b32 {}, {}, {}, 0x0040", lo, r.regs[i], r.regs[i + 1]);
      k("prmt.b32 {}, {}, {}, 0x0040", hi, r.regs[i + 2], r.regs[i + 3]);
      k("prmt.b32 {}, {}, {}, 0x5410", w, lo, hi);
    }
    out.push_back(w);
  }
  return out;
}

// The widest piece (16, 8, 4, 2 or 1 bytes, at most `most`) that divides `bytes`.
uint32_t piece(int64_t bytes, uint32_t most) {
  uint32_t w = most;
  while (bytes % w) w /= 2;
  return w;
}

// The tensor-core kernel (fp16, bf16 and int8 on sm_80 and later; fp16 by wmma on sm_70). Each
// stage of shared memory holds a K tile of 64 bytes a row: the A tile (BM rows of 64 bytes,
// 16-byte chunk c of row m at c ^ (m / 2 % 4)) and the B tile (32 rows of BN 2-byte elements,
// chunk c of row r at c ^ (r % 8)), swizzled so that ldmatrix (.trans for B) reads 8 rows of one
// chunk column without bank conflicts. fp16 and bf16: K tiles of 32, B's row r is B's row k.
// int8: K tiles of 64, B's row r holds B's rows 2r and 2r + 1 interleaved byte by byte (element
// n of row r is the pair (B[2r][n], B[2r+1][n])), so that ldmatrix.trans hands each lane the
// four consecutive k of one column that mma.m16n8k32's B fragment holds, as it hands fp16's two.
// Rows of A and B whose pieces are at least 4-byte aligned (K, N times the element size) are
// copied by cp.async (.cg for 16 bytes, .ca for 8 or 4); otherwise (and for int8's B, a gathered
// B, and on sm_70) they are loaded into registers by vector loads of the widest piece the row
// length allows, as the previous tile is multiplied, and stored after its mma. Only the last K
// tile, when the K tile does not divide K, tests K (zero-filling past it): the others copy under
// predicates computed once, from one pointer per operand at immediate offsets, and the ring of
// stages is unrolled (from the job's K) so that shared-memory offsets are immediates too. Per K
// tile a warp loads its A fragments with ldmatrix.x4 and its B fragments with ldmatrix.x4.trans,
// the second K step's among the first step's mma, and issues mma.sync.m16n8k16 with fp32
// accumulators (int8: mma.sync.m16n8k32 with s32 ones); the epilogue writes each pair of columns
// with one store.
std::string tc_kernel(Emitter& e, const MatrixJob& j, const TcTile& t) {
  const bool i8 = j.dtype == DType::int8;
  const uint32_t es = uint32_t(dtype_size(j.dtype));
  const uint32_t BK = 64 / es, T = t.threads(), WARPS_N = t.bn / t.wn;
  const uint32_t MT = t.wm / 16, NT = t.wn / 8;
  const uint32_t A_ROW = t.a_row(), A_TILE = t.bm * A_ROW, B_ROW = t.b_row();
  const uint32_t STAGE = t.stage_bytes();
  const uint32_t A_COPIES = t.bm * 4 / T, B_COPIES = 4 * t.bn / T;
  const uint32_t B_CHUNKS = t.bn / 8, A_STEP_ROWS = T / 4, B_STEP_ROWS = T / B_CHUNKS;
  const uint32_t R = 2 / es;  // rows of B in a row of its tile
  const bool n_even = j.n % 2 == 0;
  const char* ty = j.dtype == DType::bf16 ? "bf16" : "f16";
  const bool async = e.caps.sm >= 80;
  const uint32_t aw = t.aw, bw = t.bw;
  const bool a_async = t.a_async, b_async = t.b_async, staged = !a_async || !b_async;
  Kernel k(e.caps.sm, matrix_params(j));
  const Setup s = setup(k, j);
  const std::string smem = k.reg("r");
  k("mov.u32 {}, {}", smem, k.dynamic_shared());
  const std::string tid = k.reg("r"), lane = k.reg("r"), warp = k.reg("r");
  const std::string wmi = k.reg("r"), wni = k.reg("r"), row0 = k.reg("r"), col0 = k.reg("r");
  k("mov.u32 {}, %tid.x", tid);
  k("and.b32 {}, {}, 31", lane, tid);
  k("shr.u32 {}, {}, 5", warp, tid);
  k("div.u32 {}, {}, {}", wmi, warp, WARPS_N);
  k("rem.u32 {}, {}, {}", wni, warp, WARPS_N);
  k("mov.u32 {}, %ctaid.y", row0);
  k("mul.lo.s32 {}, {}, {}", row0, row0, t.bm);
  k("mov.u32 {}, %ctaid.x", col0);
  k("mul.lo.s32 {}, {}, {}", col0, col0, t.bn);
  // swz(dst, row, chunk, xor_of_row, row_bytes, base): dst = base + row * row_bytes +
  // ((chunk ^ xor) << 4)
  auto swizzled = [&](const std::string& row, const std::string& chunk, const std::string& x,
                      uint32_t row_bytes, uint32_t base) {
    const std::string d = k.reg("r"), c = k.reg("r");
    if (t.wmma)
      k("mov.u32 {}, {}", c, chunk);
    else
      k("xor.b32 {}, {}, {}", c, chunk, x);
    k("shl.b32 {}, {}, 4", c, c);
    k("mad.lo.s32 {}, {}, {}, {}", d, row, row_bytes, c);
    if (base) k("add.s32 {}, {}, {}", d, d, base);
    return d;
  };

  // ---- A: this thread copies chunk tid % 4 of rows tid / 4 + (T / 4) c: one source pointer
  // (the first row's chunk), the copies at immediate offsets from it.
  const std::string a_row = k.reg("r"), a_chunk = k.reg("r"), a_x = k.reg("r");
  k("shr.u32 {}, {}, 2", a_row, tid);
  k("and.b32 {}, {}, 3", a_chunk, tid);
  k("bfe.u32 {}, {}, 1, 2", a_x, a_row);
  const std::string a_dst = swizzled(a_row, a_chunk, a_x, A_ROW, 0);
  k("add.s32 {}, {}, {}", a_dst, a_dst, smem);
  const std::string a_k = k.reg("r");  // the chunk's first column in the K tile
  k("shl.b32 {}, {}, {}", a_k, a_chunk, log2_of(16 / es));
  const std::string a_src = k.reg("rd");
  std::vector<std::string> a_ok(A_COPIES);  // the copy's row is inside M
  for (uint32_t c = 0; c < A_COPIES; ++c) {
    a_ok[c] = k.reg("p");
    if (c == 0) {
      a_row_address(k, s, row0, a_row, 0, a_k, es, a_ok[c], a_src);
      continue;
    }
    const std::string m = k.reg("r");
    k("add.s32 {}, {}, {}", m, row0, a_row);
    k("add.s32 {}, {}, {}", m, m, A_STEP_ROWS * c);
    k("setp.lt.u32 {}, {}, {}", a_ok[c], m, s.m);
  }
  // ---- B: this thread copies chunk tid % (BN / 8) (8 columns) of tile rows tid / (BN / 8) +
  // (T / (BN / 8)) c, each R rows of B; one source pointer, as for A.
  const std::string b_row = k.reg("r"), b_chunk = k.reg("r"), b_x = k.reg("r");
  k("div.u32 {}, {}, {}", b_row, tid, B_CHUNKS);
  k("rem.u32 {}, {}, {}", b_chunk, tid, B_CHUNKS);
  k("and.b32 {}, {}, 7", b_x, b_row);
  const std::string b_dst = swizzled(b_row, b_chunk, b_x, B_ROW, A_TILE);
  k("add.s32 {}, {}, {}", b_dst, b_dst, smem);
  const std::string b_col = k.reg("r");  // the chunk's first column of B
  k("shl.b32 {}, {}, 3", b_col, b_chunk);
  k("add.s32 {}, {}, {}", b_col, b_col, col0);
  // Column ok and (gathered) window origin of each piece of a chunk's B row.
  const uint32_t B_PIECES = (b_async ? 16 : 8 * es) / bw;
  std::vector<std::string> col_ok(B_PIECES), ih0(B_PIECES), iw0(B_PIECES);
  for (uint32_t x = 0; x < B_PIECES; ++x) {
    const std::string c = k.reg("r");
    col_ok[x] = k.reg("p");
    k("add.s32 {}, {}, {}", c, b_col, x * bw / es);
    k("setp.lt.u32 {}, {}, {}", col_ok[x], c, s.n);
    if (j.conv) std::tie(ih0[x], iw0[x]) = conv_origin(k, s, c);
  }
  const std::string b_first = k.reg("r");  // this thread's first row of B in a K tile
  k("mul.lo.s32 {}, {}, {}", b_first, b_row, R);
  const std::string b_src = k.reg("rd");
  if (!j.conv) {
    const std::string r = k.reg("r"), off = k.reg("rd");
    k("mad.lo.s32 {}, {}, {}, {}", r, b_first, s.n, b_col);
    k("mul.wide.u32 {}, {}, {}", off, r, es);
    k("add.s64 {}, {}, {}", b_src, s.b, off);
  }
  // Byte offsets from the source pointers: A's copy c, piece x, u K tiles on; B's copy c, row h
  // of its R, piece x, u K tiles on.
  const int64_t K = j.k, N = j.n;
  auto a_off = [&](uint32_t c, int64_t u, uint32_t x) {
    return (int64_t(A_STEP_ROWS) * c * K + u * BK) * es + x * aw;
  };
  auto b_off = [&](uint32_t c, uint32_t h, int64_t u, uint32_t x) {
    return (int64_t(R) * B_STEP_ROWS * c + h + u * BK) * N * es + x * bw;
  };
  // The gathered B's K position: the first column of the K tile the pointers are at.
  const std::string kt0 = j.conv ? k.reg("r") : "";
  if (j.conv) k("mov.u32 {}, 0", kt0);

  // The register-staged chunks: A's one run of 16 bytes, B's R runs of 16 / R.
  std::vector<Run> a_reg, b_reg;
  if (!a_async)
    for (uint32_t c = 0; c < A_COPIES; ++c) a_reg.push_back(make_run(k, 16, aw));
  if (!b_async)
    for (uint32_t c = 0; c < B_COPIES * R; ++c) b_reg.push_back(make_run(k, 16 / R, bw));
  // int8 B's elements outside the product need not be zero: past K they meet A's zeros, past N
  // they make columns that are not stored (a gathered B's padding must be zero).
  const bool b_zero = !i8 || j.conv;
  // K tiles: `full` of BK columns, then a partial one when BK does not divide K.
  const int64_t full = K / BK, tiles = (K + BK - 1) / BK;
  // Issues the loads of K tile i, u tiles past the pointers, into stage `stage` (cp.async), or
  // into the staging registers. A full tile needs only the rows' and columns' predicates, which
  // hold for the whole loop: a copy they turn off leaves rows of A past M or columns of B past N
  // unwritten, which only reach outputs that are not stored. The partial tile also tests K, and
  // zero-fills what lies past it.
  auto issue = [&](int64_t i, int64_t u, uint32_t stage) {
    const bool part = i >= full;
    const int64_t left = K - i * BK;  // K columns from the tile's first
    const uint32_t at = stage * STAGE;
    // cp.async of `bytes` from [src + soff] to [dst + doff] when q holds; zero-filled
    // (src-size 0) when it does not and `fill`.
    auto copy = [&](const std::string& src, int64_t soff, const std::string& base,
                    const std::string& q, bool fill, const std::string& dst, uint32_t doff,
                    uint32_t bytes) {
      const char* cache = bytes == 16 ? "cg" : "ca";
      if (!fill) {
        k("@{} cp.async.{}.shared.global [{}+{}], [{}+{}], {}", q, cache, dst, doff, src, soff,
          bytes);
        return;
      }
      const std::string n = k.reg("r"), from = k.reg("rd");
      k("selp.u32 {}, {}, 0, {}", n, bytes, q);
      k("add.s64 {}, {}, {}", from, src, soff);
      k("selp.b64 {}, {}, {}, {}", from, from, base, q);
      k("cp.async.{}.shared.global [{}+{}], [{}], {}, {}", cache, dst, doff, from, bytes, n);
    };
    for (uint32_t c = 0; c < A_COPIES; ++c) {
      std::vector<std::string> ok(16 / aw, a_ok[c]);
      for (uint32_t x = 0; x < ok.size(); ++x) {
        if (part) {
          ok[x] = k.reg("p");
          k("setp.lt.and.s32 {}, {}, {}, {}", ok[x], a_k, left - x * aw / es, a_ok[c]);
        }
        if (a_async)
          copy(a_src, a_off(c, u, x), s.a, ok[x], part, a_dst,
               at + A_STEP_ROWS * A_ROW * c + x * aw, aw);
      }
      if (!a_async) load_run(k, a_reg[c], a_src, a_off(c, u, 0), ok, part);
    }
    for (uint32_t c = 0; c < B_COPIES; ++c)
      for (uint32_t h = 0; h < R; ++h) {
        const uint32_t row = R * B_STEP_ROWS * c + h;  // in the K tile, after b_first
        if (j.conv) {
          const std::string kr = k.reg("r");
          k("add.s32 {}, {}, {}", kr, b_first, kt0);
          if (u * BK + row) k("add.s32 {}, {}, {}", kr, kr, u * BK + row);
          const ConvRow cr = conv_row(k, s, kr);
          const Run& r = b_reg[c * R + h];
          for (uint32_t x = 0; x < 8; ++x) {
            const std::string q = k.reg("p"), addr = k.reg("rd");
            conv_element(k, s, es, cr, ih0[x], iw0[x], col_ok[x], q, addr);
            load_run(k, Run{es, {r.regs[x]}}, addr, 0, {q}, true);
          }
          continue;
        }
        std::vector<std::string> ok(col_ok);
        for (uint32_t x = 0; x < B_PIECES; ++x) {
          if (part) {
            ok[x] = k.reg("p");
            k("setp.lt.and.s32 {}, {}, {}, {}", ok[x], b_first, left - row, col_ok[x]);
          }
          if (b_async)
            copy(b_src, b_off(c, h, u, x), s.b, ok[x], part, b_dst,
                 at + B_STEP_ROWS * B_ROW * c + x * bw, bw);
        }
        if (!b_async) load_run(k, b_reg[c * R + h], b_src, b_off(c, h, u, 0), ok, part && b_zero);
      }
  };
  // Stores the staging registers into stage `stage`.
  auto store = [&](uint32_t stage) {
    const uint32_t at = stage * STAGE;
    auto put = [&](const std::vector<std::string>& w, const std::string& dst, uint32_t off) {
      k("st.shared.v4.b32 [{}+{}], {{{}, {}, {}, {}}}", dst, at + off, w[0], w[1], w[2], w[3]);
    };
    for (uint32_t c = 0; c < a_reg.size(); ++c)
      put(run_words(k, a_reg[c]), a_dst, A_STEP_ROWS * A_ROW * c);
    for (uint32_t c = 0; c < b_reg.size() / R; ++c) {
      std::vector<std::string> w = run_words(k, b_reg[c * R]);
      if (R > 1) {  // int8: rows 2r and 2r + 1 interleaved byte by byte
        const std::vector<std::string> lo = w, hi = run_words(k, b_reg[c * R + 1]);
        w.clear();
        for (size_t x = 0; x < lo.size(); ++x)
          for (const char* sel : {"0x5140", "0x7362"}) {
            w.push_back(k.reg("r"));
            k("prmt.b32 {}, {}, {}, {}", w.back(), lo[x], hi[x], sel);
          }
      }
      put(w, b_dst, B_STEP_ROWS * B_ROW * c);
    }
  };

  // ldmatrix addresses (stage 0). A, K step s: lane l reads row wm * WM + l % 16, chunk
  // 2 s + l / 16 (m tile i is 16 rows on). B, n tiles 2p and 2p + 1: tile row l % 16, chunk
  // (wn * WN + 16 p) / 8 + l / 16 (K step s is 16 tile rows on).
  std::string a_ld[2];
  std::vector<std::string> b_ld(NT / 2);
  if (!t.wmma) {
    const std::string r = k.reg("r"), x = k.reg("r"), hi = k.reg("r");
    k("and.b32 {}, {}, 15", r, lane);
    k("mad.lo.s32 {}, {}, {}, {}", r, wmi, t.wm, r);
    k("bfe.u32 {}, {}, 1, 2", x, r);
    k("shr.u32 {}, {}, 4", hi, lane);
    for (uint32_t st = 0; st < 2; ++st) {
      const std::string c = k.reg("r");
      k("add.s32 {}, {}, {}", c, hi, 2 * st);
      a_ld[st] = swizzled(r, c, x, 64, 0);
      k("add.s32 {}, {}, {}", a_ld[st], a_ld[st], smem);
    }
    const std::string br = k.reg("r"), bx = k.reg("r"), c0 = k.reg("r");
    k("and.b32 {}, {}, 15", br, lane);
    k("and.b32 {}, {}, 7", bx, lane);
    k("shr.u32 {}, {}, 4", c0, lane);
    k("mad.lo.s32 {}, {}, {}, {}", c0, wni, t.wn / 8, c0);
    for (uint32_t p = 0; p < NT / 2; ++p) {
      const std::string c = k.reg("r");
      k("add.s32 {}, {}, {}", c, c0, 2 * p);
      b_ld[p] = swizzled(br, c, bx, B_ROW, A_TILE);
      k("add.s32 {}, {}, {}", b_ld[p], b_ld[p], smem);
    }
  }
  // wmma: the warp's tiles in stage 0.
  const std::string ab = t.wmma ? k.reg("r") : "", bb = t.wmma ? k.reg("r") : "";
  if (t.wmma) {
    k("mad.lo.s32 {}, {}, {}, {}", ab, wmi, t.wm * A_ROW, smem);
    k("mad.lo.s32 {}, {}, {}, {}", bb, wni, t.wn * 2, smem);
  }

  std::vector<std::string> acc(MT * NT * 4);
  for (std::string& r : acc) {
    r = k.reg(i8 ? "r" : "f");
    k(i8 ? "mov.u32 {}, 0" : "mov.f32 {}, 0f00000000", r);
  }
  std::vector<std::vector<std::string>> af(2), bf(2);
  if (!t.wmma)
    for (int b = 0; b < 2; ++b) {
      for (uint32_t x = 0; x < MT * 4; ++x) af[size_t(b)].push_back(k.reg("r"));
      for (uint32_t x = 0; x < NT * 2; ++x) bf[size_t(b)].push_back(k.reg("r"));
    }
  // The warp's products of the K tile in stage `stage`.
  auto compute = [&](uint32_t stage, const std::function<void()>& mid) {
    const uint32_t at = stage * STAGE;
    if (t.wmma) {
      // K steps of 16: a warp's (WM / 16) x (WN / 16) accumulators of 16 x 16.
      const uint32_t FM = t.wm / 16, FN = t.wn / 16;
      for (uint32_t st = 0; st < BK / 16; ++st) {
        std::vector<std::vector<std::string>> a(FM), b(FN);
        for (uint32_t i = 0; i < FM; ++i) {
          for (int x = 0; x < 8; ++x) a[i].push_back(k.reg("r"));
          k("wmma.load.a.sync.aligned.row.m16n16k16.shared.f16 {{{}}}, [{}+{}], {}",
            fmt::join(a[i], ", "), ab, at + i * 16 * A_ROW + st * 32, A_ROW / 2);
        }
        for (uint32_t n = 0; n < FN; ++n) {
          for (int x = 0; x < 8; ++x) b[n].push_back(k.reg("r"));
          k("wmma.load.b.sync.aligned.row.m16n16k16.shared.f16 {{{}}}, [{}+{}], {}",
            fmt::join(b[n], ", "), bb, at + A_TILE + st * 16 * B_ROW + n * 32, B_ROW / 2);
        }
        for (uint32_t i = 0; i < FM; ++i)
          for (uint32_t n = 0; n < FN; ++n) {
            const std::vector<std::string> d(acc.begin() + (i * FN + n) * 8,
                                             acc.begin() + (i * FN + n + 1) * 8);
            k("wmma.mma.sync.aligned.row.row.m16n16k16.f32.f32 {{{}}}, {{{}}}, {{{}}}, {{{}}}",
              fmt::join(d, ", "), fmt::join(a[i], ", "), fmt::join(b[n], ", "), fmt::join(d, ", "));
          }
      }
      mid();
      return;
    }
    // The ldmatrix of K step st's fragments into buffer buf.
    auto fragments = [&](int buf, uint32_t st) {
      const std::vector<std::string>& a = af[size_t(buf)];
      const std::vector<std::string>& b = bf[size_t(buf)];
      std::vector<std::string> out;
      for (uint32_t i = 0; i < MT; ++i)
        out.push_back(fmt::format(
            "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {{{}, {}, {}, {}}}, [{}+{}]", a[4 * i],
            a[4 * i + 1], a[4 * i + 2], a[4 * i + 3], a_ld[st], at + i * 16 * 64));
      for (uint32_t q = 0; q < NT / 2; ++q)
        out.push_back(fmt::format(
            "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {{{}, {}, {}, {}}}, [{}+{}]", b[4 * q],
            b[4 * q + 1], b[4 * q + 2], b[4 * q + 3], b_ld[q], at + st * 16 * B_ROW));
      return out;
    };
    // K steps of 32 bytes: 16 fp16 or bf16 (m16n8k16), 32 int8 (m16n8k32). The mma of step st,
    // with the loads `between` issued among them (one after every few), so that the shared-memory
    // path's queue does not hold the mma back.
    const std::string mma =
        i8 ? "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32"
           : fmt::format("mma.sync.aligned.m16n8k16.row.col.f32.{}.{}.f32", ty, ty);
    auto mmas = [&](uint32_t st, const std::vector<std::string>& between) {
      const std::vector<std::string>& a = af[st % 2];
      const std::vector<std::string>& b = bf[st % 2];
      const size_t gap = std::max<size_t>(1, MT * NT / std::max<size_t>(1, between.size()));
      size_t next = 0;
      for (uint32_t i = 0; i < MT; ++i)
        for (uint32_t n = 0; n < NT; ++n) {
          const std::string* d = &acc[(i * NT + n) * 4];
          k("{} {{{}, {}, {}, {}}}, {{{}, {}, {}, {}}}, {{{}, {}}}, {{{}, {}, {}, {}}}", mma, d[0],
            d[1], d[2], d[3], a[4 * i], a[4 * i + 1], a[4 * i + 2], a[4 * i + 3], b[2 * n],
            b[2 * n + 1], d[0], d[1], d[2], d[3]);
          if ((i * NT + n) % gap == 0 && next < between.size()) k("{}", between[next++]);
          if (st == 1 && i * NT + n + 1 == std::max<uint32_t>(1, MT * NT / 2)) mid();
        }
      for (; next < between.size(); ++next) k("{}", between[next]);
    };
    for (const std::string& l : fragments(0, 0)) k("{}", l);
    mmas(0, fragments(1, 1));
    mmas(1, {});
  };
  // The ring: K tile i goes into stage i % S. Iteration kt waits for tile kt, multiplies it and
  // issues tile kt + S - 1 into the stage of tile kt - 1 (which every warp has finished): copies
  // halfway through the second K step's mma, once the fragment loads the mma wait for have gone
  // through the shared-memory path; register-staged loads before the mma, which hide their
  // latency, and stored after them. The tile counts are the job's, so everything but the steady
  // state is unrolled with immediate stage offsets; the steady state is a loop whose body covers S
  // iterations (so that its stage offsets are immediates too) and then advances the pointers.
  const uint32_t S = t.stages;
  auto iteration = [&](int64_t kt, int64_t at_tile) {
    const int64_t i = kt + S - 1;
    if (async) k("cp.async.wait_group {}", S - 2);
    k("bar.sync 0");
    auto loads = [&] {
      if (i < tiles) issue(i, i - at_tile, uint32_t(i % S));
      if (async) k("cp.async.commit_group");
    };
    if (staged) loads();
    compute(uint32_t(kt % S), staged ? std::function<void()>([] {}) : loads);
    if (staged && i < tiles) store(uint32_t(i % S));
  };
  for (int64_t i = 0; i + 1 < S; ++i) {
    if (i < tiles) {
      issue(i, i, uint32_t(i));
      if (staged) store(uint32_t(i));
    }
    if (async) k("cp.async.commit_group");
  }
  // The loop: iterations 0 .. steady - 1, every one loading a full tile.
  const int64_t steady = full >= S - 1 ? (full - S + 1) / S * S : 0;
  if (steady > 0) {
    const std::string loop = steady > S ? k.label() : "", count = steady > S ? k.reg("r") : "";
    if (steady > S) {
      k("mov.u32 {}, 0", count);
      k.place(loop);
    }
    for (int64_t kt = 0; kt < S; ++kt) iteration(kt, 0);
    k("add.s64 {}, {}, {}", a_src, a_src, int64_t(S) * BK * es);
    if (j.conv)
      k("add.s32 {}, {}, {}", kt0, kt0, S * BK);
    else
      k("add.s64 {}, {}, {}", b_src, b_src, int64_t(S) * BK * N * es);
    if (steady > S) {
      const std::string more = k.reg("p");
      k("add.s32 {}, {}, 1", count, count);
      k("setp.lt.u32 {}, {}, {}", more, count, steady / S);
      k("@{} bra {}", more, loop);
    }
  }
  for (int64_t kt = steady; kt < tiles; ++kt) iteration(kt, steady);
  if (t.wmma) {
    wmma_epilogue(k, j, t, s, acc, smem, tid, wmi, wni, row0, col0);
    return e.add(fmt::format("{}_wmma_{}", j.conv ? "conv" : "gemm", dtype_name(j.dtype)), k);
  }
  k("cp.async.wait_all");

  // Epilogue: d0, d1 of an m16n8 tile at (row g, columns 2t, 2t + 1), d2, d3 at row g + 8.
  const std::string g = k.reg("r"), tq = k.reg("r"), rb = k.reg("r"), cb = k.reg("r");
  k("shr.u32 {}, {}, 2", g, lane);
  k("and.b32 {}, {}, 3", tq, lane);
  k("mad.lo.s32 {}, {}, {}, {}", rb, wmi, t.wm, row0);
  k("add.s32 {}, {}, {}", rb, rb, g);
  k("mad.lo.s32 {}, {}, {}, {}", cb, wni, t.wn, col0);
  k("shl.b32 {}, {}, 1", tq, tq);
  k("add.s32 {}, {}, {}", cb, cb, tq);
  // The bias of the lane's rows rb + 16 i + 8 h, or of its columns cb + 8 n + x.
  std::vector<uint32_t> bias_at;
  for (uint32_t i = 0; i < (j.bias_rows ? MT : NT); ++i)
    for (uint32_t x = 0; x < 2; ++x) bias_at.push_back(j.bias_rows ? 16 * i + 8 * x : 8 * i + x);
  const std::vector<std::string> bias = load_biases(k, j, s, j.bias_rows ? rb : cb, bias_at);
  for (uint32_t i = 0; i < MT; ++i)
    for (uint32_t h = 0; h < 2; ++h) {
      const std::string r = k.reg("r"), row_ok = k.reg("p");
      k("add.s32 {}, {}, {}", r, rb, 16 * i + 8 * h);
      k("setp.lt.u32 {}, {}, {}", row_ok, r, s.m);
      for (uint32_t n = 0; n < NT; ++n) {
        // The pair's output elements: int8 requantised (with the ReLU), floats biased and ReLU'd.
        std::string v[2];
        for (uint32_t x = 0; x < 2; ++x) {
          v[x] = add_bias(k, acc[(i * NT + n) * 4 + 2 * h + x],
                          bias[j.bias_rows ? 2 * i + h : 2 * n + x]);
          if (i8) {
            v[x] = requantize(k, j.relu, s.q, v[x]);
          } else if (j.relu) {
            const std::string y = k.reg("f");
            k("max.f32 {}, {}, 0f00000000", y, v[x]);
            v[x] = y;
          }
        }
        const std::string c = k.reg("r"), q = k.reg("p"), idx = k.reg("r"), addr = k.reg("rd");
        k("add.s32 {}, {}, {}", c, cb, 8 * n);
        k("setp.lt.and.u32 {}, {}, {}, {}", q, c, s.n, row_ok);
        k("mad.lo.s32 {}, {}, {}, {}", idx, r, s.n, c);
        k("mul.wide.u32 {}, {}, {}", addr, idx, es);
        k("add.s64 {}, {}, {}", addr, s.c, addr);
        if (n_even) {
          const std::string w = k.reg("r");
          if (i8) {
            k("prmt.b32 {}, {}, {}, 0x0040", w, v[0], v[1]);
            k("@{} st.global.b16 [{}], {}", q, addr, w);
          } else {
            k("cvt.rn.{}x2.f32 {}, {}, {}", ty, w, v[1], v[0]);
            k("@{} st.global.b32 [{}], {}", q, addr, w);
          }
        } else {
          const std::string c1 = k.reg("r"), q1 = k.reg("p");
          const char* st = i8 ? "s8" : "b16";
          k("@{} st.global.{} [{}], {}", q, st, addr, i8 ? v[0] : k.half(j.dtype, v[0]));
          k("add.s32 {}, {}, 1", c1, c);
          k("setp.lt.and.u32 {}, {}, {}, {}", q1, c1, s.n, row_ok);
          k("@{} st.global.{} [{}+{}], {}", q1, st, addr, es, i8 ? v[1] : k.half(j.dtype, v[1]));
        }
      }
    }
  return e.add(fmt::format("{}_tc_{}", j.conv ? "conv" : "gemm", dtype_name(j.dtype)), k);
}

void check_sizes(Emitter& e, const Node& n, const MatrixJob& j) {
  for (int t : {j.a, j.b, j.c})
    if (e.g.tensor(t).elements() > INT32_MAX)
      e.unsupported(n, "a tensor of more than 2^31 elements");
  if (j.batch * j.groups > 65535) e.unsupported(n, "more than 65535 products in one launch");
}

void lower_matrix(Emitter& e, const Node& n) {
  MatrixJob j = matrix_job(e.g, n);
  j.b_fragments = e.fragments(j.b);
  emit_matrix(e, n, j);
}

const bool registered = [] {
  register_lowering(OpKind::gemm, lower_matrix);
  return register_lowering(OpKind::matmul, lower_matrix);
}();

}  // namespace

MatrixJob matrix_job(const Graph& g, const Node& n) {
  const MatmulDims d = matmul_dims(g, n);
  MatrixJob j;
  j.dtype = g.tensor(n.outputs[0]).dtype;
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
  if (n.inputs.size() == 3) j.bias = n.inputs[2];
  return j;
}

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
  q.neg = k.reg("rd");
  k("mov.u64 {}, 1", one);
  k("shl.b64 {}, {}, {}", one, one, q.shift);
  k("shr.u64 {}, {}, 1", q.half, one);
  k("sub.s64 {}, {}, {}", q.neg, one, q.half);
  k("sub.s64 {}, {}, 1", q.neg, q.neg);
  return q;
}

std::string requantize(Kernel& k, bool relu, const Requant& rq, const std::string& acc) {
  // p >> shift rounded half away from zero: (p + 2^shift / 2) >> shift for p >= 0, and
  // -((-p + 2^shift / 2) >> shift) = (p + 2^shift - 1 - 2^shift / 2) >> shift (floor) for p < 0.
  const std::string p = k.reg("rd"), bias = k.reg("rd"), w = k.reg("r");
  const std::string neg = k.reg("p");
  k("mul.wide.s32 {}, {}, {}", p, acc, rq.mult);
  k("setp.lt.s64 {}, {}, 0", neg, p);
  k("selp.b64 {}, {}, {}, {}", bias, rq.neg, rq.half, neg);
  k("add.s64 {}, {}, {}", p, p, bias);
  k("shr.s64 {}, {}, {}", p, p, rq.shift);
  if (relu) k("max.s64 {}, {}, 0", p, p);
  k("cvt.sat.s8.s64 {}, {}", w, p);
  return w;
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
    k("{}st.global.s8 [{}], {}", guard(pred), addr, requantize(k, relu, rq, acc));
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

// The tensor-core block tile for job j on the preset: the one whose busiest SM has the least
// work (its tiles' elements over the tile's efficiency), so that few products get smaller tiles
// and every SM some work; none (stages 0) when no candidate fits. The efficiency is the share of
// the tensor pipe's rate an SM reaches with the tile: its busiest SM's MACs over the run's
// cycles, measured on a100 (the fp16 gemm of docs/validation/gpu.md, 2048^3 to 4096^3): warp tiles
// of 64 x 64 read the least shared memory per mma, and 128 x 128 blocks of 4 such warps leave
// room for two blocks an SM, one's barrier and epilogue hidden by the other's mma (128 x 256
// blocks of 8 reach 0.72, never enough to be chosen). 64 x 32 warp tiles serve a B staged in
// registers, for which 64 x 64 ones would need too many.
TcTile tc_tile(const GpuCaps& caps, const MatrixJob& j, bool wmma) {
  struct Candidate {
    TcTile t;
    double efficiency;
  };
  const Candidate candidates[] = {{{128, 128, 64, 64}, 0.75},
                                  {{128, 128, 64, 32}, 0.62},
                                  {{64, 128, 32, 64}, 0.65},
                                  {{64, 64, 32, 32}, 0.48}};
  const uint32_t es = uint32_t(dtype_size(j.dtype));
  TcTile best{};
  double best_cost = 0;
  for (const Candidate& c : candidates) {
    TcTile t = c.t;
    t.wmma = wmma;
    t.aw = piece(j.k * es, 16);
    t.bw = j.conv ? es : piece(j.n * es, 8 * es);
    t.a_async = caps.sm >= 80 && t.aw >= 4;
    t.b_async = caps.sm >= 80 && j.dtype != DType::int8 && t.bw >= 4;
    // A warp tile of 64 x 64 holds 128 accumulators and 64 fragment registers: B's chunks
    // staged in registers would take it past 255 registers a thread.
    if (!t.b_async && t.wm * t.wn > 32 * 64) continue;
    // wmma: without cp.async the elements are staged in registers; two stages suffice.
    t.stages =
        uint32_t(std::min<int64_t>(wmma ? 2 : 4, caps.max_shared_per_block / t.stage_bytes()));
    if (t.stages < 2 || t.shared_bytes() > caps.max_shared_per_block || (wmma && t.bm > 64))
      continue;
    // The copies' source offsets are immediates (tc_kernel), up to 2 stages - 2 K tiles (of 64
    // bytes a row) past the pointers, plus the rows of a tile: they must fit in an s32.
    const int64_t ahead = std::min<int64_t>(2 * t.stages - 1, (j.k * es + 63) / 64) * 64;
    if (int64_t(t.bm) * j.k * es + ahead > INT32_MAX || (!j.conv && ahead * j.n > INT32_MAX))
      continue;
    const int64_t tiles = (j.m + t.bm - 1) / t.bm * ((j.n + t.bn - 1) / t.bn) * j.batch * j.groups;
    const double cost = double((tiles + caps.sms - 1) / caps.sms) * t.bm * t.bn / c.efficiency;
    if (best.stages == 0 || cost < best_cost) {
      best = t;
      best_cost = cost;
    }
  }
  return best;
}

void emit_matrix(Emitter& e, const Node& n, const MatrixJob& j) {
  check_sizes(e, n, j);
  // Tensor cores: fp16, bf16 and int8 by mma.sync on sm_80 and later, fp16 by wmma on sm_70
  // (whose int8 wmma needs sm_72). The SIMT kernel takes the rest, and products too large for
  // the tensor-core kernel's immediate offsets.
  const bool wmma = j.dtype == DType::fp16 && e.caps.sm < 80;
  const bool tensor_cores = (j.dtype != DType::fp32 && e.caps.sm >= 80) || wmma;
  // A few rows of A: the weights streamed once (gemv.cpp).
  if (j.b_fragments && !gemv_takes(e.caps, j, tensor_cores))
    throw Error(fmt::format("internal: {}: B in mma fragments for a job of {} rows", n.name, j.m));
  if (gemv_takes(e.caps, j, tensor_cores)) {
    emit_gemv(e, j);
    return;
  }
  if (tensor_cores) {
    const TcTile t = tc_tile(e.caps, j, wmma);
    if (t.stages) {
      const std::string entry = tc_kernel(e, j, t);
      e.launch(entry,
               {uint32_t((j.n + t.bn - 1) / t.bn), uint32_t((j.m + t.bm - 1) / t.bm),
                uint32_t(j.batch * j.groups)},
               {t.threads(), 1, 1}, t.shared_bytes(), matrix_args(e, j));
      return;
    }
  }
  const std::string entry = simt_kernel(e, j);
  e.launch(entry,
           {uint32_t((j.n + 63) / 64), uint32_t((j.m + 63) / 64), uint32_t(j.batch * j.groups)},
           {kThreads, 1, 1}, 0, matrix_args(e, j));
}

}  // namespace xpusim::compiler::gpu
