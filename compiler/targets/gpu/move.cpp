// The GPU target's data-movement ops: transpose, concat, slice, gather, rope and kv_append.
// Every one but rope moves bytes unchanged, in the widest chunks (16, 8, 4, 2 or 1 bytes) that the
// alignment of its runs allows:
// - a strided copy (concat, slice, kv_append, and a transpose that keeps the innermost dim): a
//   thread per chunk of the output, its source found by dividing its index by each dim's size;
// - a tiled transpose (any other transpose): 32 x 32 blocks of p x p elements (p = 4 / element
//   size, or 1) through shared memory, so that both the reads and the writes are whole rows;
// - gather: a thread per chunk of an output row, the row of the table its id names.
// rope computes in f32 and rounds once to the output's dtype. kv_append writes only the new rows,
// after each matrix's cache rows: the output is the cache's buffer (target.cpp gives it room).
#include <algorithm>

#include "compiler/targets/gpu/kernel.h"

namespace xpusim::compiler::gpu {
namespace {

constexpr uint32_t kBlock = 256;

// x / d and x % d for a u32 register x below 2^31 and a constant d, as nvcc divides by a
// constant: a power of two by shift and mask, any other d by a multiply-high with
// m = ceil(2^(31 + l) / d), 2^(l-1) < d <= 2^l, then a shift by l - 1 (exact for x < 2^31:
// the error x (m d - 2^(31+l)) / (d 2^(31+l)) stays below 1 / d).
struct DivMod {
  std::string q, r;
};
DivMod divmod(Kernel& k, const std::string& x, int64_t d) {
  DivMod o{k.reg("r"), k.reg("r")};
  if (d == 1) {
    k("mov.u32 {}, {}", o.q, x);
    k("mov.u32 {}, 0", o.r);
    return o;
  }
  int l = 0;
  while ((int64_t(1) << l) < d) ++l;
  if ((int64_t(1) << l) == d) {
    k("shr.u32 {}, {}, {}", o.q, x, l);
    k("and.b32 {}, {}, {}", o.r, x, d - 1);
    return o;
  }
  const uint64_t m = ((uint64_t(1) << (31 + l)) + uint64_t(d) - 1) / uint64_t(d);
  const std::string t = k.reg("r");
  k("mul.hi.u32 {}, {}, {}", o.q, x, m);
  k("shr.u32 {}, {}, {}", o.q, o.q, l - 1);
  k("mul.lo.s32 {}, {}, {}", t, o.q, d);
  k("sub.s32 {}, {}, {}", o.r, x, t);
  return o;
}

// The access of `bytes` (16, 8, 4, 2 or 1) as one instruction: "v4.b32", "v2.b32", "b32", "b16",
// "u8", and the registers it takes (words, or one 16-bit register).
std::string access_type(int64_t bytes) {
  switch (bytes) {
    case 16:
      return "v4.b32";
    case 8:
      return "v2.b32";
    case 4:
      return "b32";
    case 2:
      return "b16";
    default:
      return "u8";
  }
}
std::vector<std::string> chunk_regs(Kernel& k, int64_t bytes) {
  std::vector<std::string> r(size_t(std::max<int64_t>(bytes / 4, 1)));
  for (std::string& s : r) s = k.reg(bytes >= 4 ? "r" : "rs");
  return r;
}

// `bytes` at global [addr] loaded into registers (chunk_regs), and stored.
std::vector<std::string> load_chunk(Kernel& k, const std::string& addr, int64_t bytes) {
  std::vector<std::string> r = chunk_regs(k, bytes);
  k("ld.global.{} {}, [{}]", access_type(bytes), word_list(r), addr);
  return r;
}
void store_chunk(Kernel& k, const std::string& addr, const std::vector<std::string>& r,
                 int64_t bytes) {
  k("st.global.{} [{}], {}", access_type(bytes), addr, word_list(r));
}

// A u64 parameter as a global address.
std::string global_param(Kernel& k, const std::string& name) {
  const std::string p = k.param(name), g = k.reg("rd");
  k("cvta.to.global.u64 {}, {}", g, p);
  return g;
}

// The largest of 16, 8, 4, 2, 1 bytes (at least `min`) that divides every value.
int64_t widest(const std::vector<int64_t>& values, int64_t min) {
  int64_t w = 16;
  while (w > min && std::any_of(values.begin(), values.end(), [&](int64_t v) { return v % w; }))
    w /= 2;
  return w;
}

// Halves `bytes` per thread (down to `min`) while the threads would not give every SM a block:
// a small tensor keeps its parallelism, a large one takes few instructions per byte.
int64_t keep_sms_busy(const Emitter& e, int64_t total_bytes, int64_t bytes, int64_t min) {
  const int64_t wanted = int64_t(e.caps.sms) * kBlock;
  while (bytes > min && total_bytes / bytes < wanted) bytes /= 2;
  return bytes;
}

// One dim of a copy: n positions, each `src` bytes on in the source and `dst` in the output.
struct Dim {
  int64_t n, src, dst;
};

// dims (outermost first) without dims of 1, neighbours merged where the outer one steps over
// the whole inner one in both the source and the output.
std::vector<Dim> merged(const std::vector<Dim>& dims) {
  std::vector<Dim> out;
  for (const Dim& d : dims) {
    if (d.n == 1) continue;
    if (!out.empty() && out.back().src == d.n * d.src && out.back().dst == d.n * d.dst)
      out.back() = Dim{out.back().n * d.n, d.src, d.dst};
    else
      out.push_back(d);
  }
  return out;
}

void check_size(const Emitter& e, const Node& n, int64_t threads, const std::vector<Dim>& dims) {
  if (threads >= INT32_MAX) e.unsupported(n, "more than 2^31 threads");
  for (const Dim& d : dims)
    if (d.src * d.n >= INT32_MAX || d.dst * d.n >= INT32_MAX)
      e.unsupported(n, "a tensor of 2 GiB or more");
}

// Copies the elements of `dims` (outermost first; element size es) from tensor `src` (from byte
// src_off) into tensor `dst` (from byte dst_off): a thread per chunk of the innermost dim when it
// is contiguous on both sides (the widest chunk that the runs' alignment allows), else per
// element; each thread finds its place by dividing its index by the dims' sizes.
void strided_copy(Emitter& e, const Node& n, const std::vector<Dim>& shape, int64_t es, int src,
                  int64_t src_off, int dst, int64_t dst_off) {
  std::vector<Dim> dims = merged(shape);
  if (dims.empty()) dims.push_back(Dim{1, es, es});
  int64_t count = 1;
  for (const Dim& d : dims) count *= d.n;
  Dim& in = dims.back();
  int64_t w = es;
  if (in.src == es && in.dst == es) {
    std::vector<int64_t> v = {in.n * es, src_off, dst_off};
    for (size_t i = 0; i + 1 < dims.size(); ++i) {
      v.push_back(dims[i].src);
      v.push_back(dims[i].dst);
    }
    w = keep_sms_busy(e, count * es, widest(v, es), es);
    in = Dim{in.n * es / w, w, w};
  }
  const int64_t chunks = count * es / w;
  check_size(e, n, chunks, dims);
  Kernel k(e.caps.sm, {{"u64", "src"}, {"u64", "dst"}});
  const std::string s = global_param(k, "src"), d = global_param(k, "dst");
  const std::string g = k.global_x(), p = k.reg("p"), done = k.label();
  k("setp.ge.u32 {}, {}, {}", p, g, chunks);
  k("@{} bra {}", p, done);
  const std::string so = k.reg("rd"), dof = k.reg("rd");
  std::string rest = g;
  for (size_t i = dims.size(); i-- > 0;) {
    std::string idx = rest;
    if (i > 0) {
      const DivMod qr = divmod(k, rest, dims[i].n);
      idx = qr.r;
      rest = qr.q;
    }
    if (i + 1 == dims.size()) {
      k("mul.wide.u32 {}, {}, {}", so, idx, dims[i].src);
      k("mul.wide.u32 {}, {}, {}", dof, idx, dims[i].dst);
    } else {
      k("mad.wide.u32 {}, {}, {}, {}", so, idx, dims[i].src, so);
      k("mad.wide.u32 {}, {}, {}, {}", dof, idx, dims[i].dst, dof);
    }
  }
  const std::string sa = k.reg("rd"), da = k.reg("rd");
  k("add.s64 {}, {}, {}", sa, s, so);
  k("add.s64 {}, {}, {}", da, d, dof);
  store_chunk(k, da, load_chunk(k, sa, w), w);
  k.place(done);
  const std::string entry =
      e.add(fmt::format("{}_{}", op_name(n.kind), dtype_name(e.g.tensor(n.outputs[0]).dtype)), k);
  e.launch(entry, {uint32_t((chunks + kBlock - 1) / kBlock), 1, 1}, {kBlock, 1, 1}, 0,
           {e.addr(src, uint64_t(src_off)), e.addr(dst, uint64_t(dst_off))});
}

// Row-major strides in bytes of a shape.
std::vector<int64_t> strides(const std::vector<int64_t>& shape, int64_t es) {
  std::vector<int64_t> s(shape.size());
  int64_t step = es;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = step;
    step *= shape[i];
  }
  return s;
}

// A transpose whose output's innermost dim (dims.back()) is not the input's (dims[a], the dim of
// source stride es): tiles of 32 x 32 blocks of p x p elements, T = 32p elements a side, rows of
// the input's innermost dim I read whole (a thread per 4 bytes: p elements) and rows of the
// output's innermost dim O written whole. A thread reads p rows of a block, transposes the p x p
// block in registers (prmt) into p words of the output and stores them in shared memory at the
// block's transposed place (rows of 33 blocks, so that a warp's column reaches 32 banks); after
// the barrier each thread writes the p words of another block. The other dims are a batch: the
// block index is (batch, tile along O, tile along I).
void tiled_transpose(Emitter& e, const Node& n, const std::vector<Dim>& dims, size_t a,
                     int64_t es) {
  const Dim O = dims.back(), I = dims[a];
  std::vector<Dim> batch;
  for (size_t i = 0; i + 1 < dims.size(); ++i)
    if (i != a) batch.push_back(dims[i]);
  const int64_t pk = 4 / es;
  const int64_t p = I.n % pk == 0 && O.n % pk == 0 && std::min(I.n, O.n) >= 16 * pk ? pk : 1;
  const int64_t T = 32 * p, tiles_i = (I.n + T - 1) / T, tiles_o = (O.n + T - 1) / T;
  int64_t blocks = tiles_i * tiles_o;
  for (const Dim& b : batch) blocks *= b.n;
  check_size(e, n, blocks * kBlock, dims);
  // p elements (one word) per global access; or one element of es bytes in a 32-bit register.
  const std::string gt = p > 1 ? "b32" : es == 4 ? "b32" : es == 2 ? "u16" : "u8";
  const std::string vt = p == 4 ? ".v4" : p == 2 ? ".v2" : "";
  const int64_t block_bytes = 4 * p, pitch = 33 * block_bytes;
  Kernel k(e.caps.sm, {{"u64", "src"}, {"u64", "dst"}});
  const std::string tile = k.shared("tile", uint64_t(32 * pitch));
  const std::string s = global_param(k, "src"), d = global_param(k, "dst");
  const std::string b = k.reg("r"), tx = k.reg("r"), ty = k.reg("r");
  k("mov.u32 {}, %ctaid.x", b);
  k("mov.u32 {}, %tid.x", tx);
  k("mov.u32 {}, %tid.y", ty);
  const DivMod ti = divmod(k, b, tiles_i), to = divmod(k, ti.q, tiles_o);
  // The batch's offsets, innermost batch dim first.
  std::string rest = to.q;
  const std::string sb = k.reg("rd"), db = k.reg("rd");
  k("mov.u64 {}, {}", sb, s);
  k("mov.u64 {}, {}", db, d);
  for (size_t i = batch.size(); i-- > 0;) {
    std::string idx = rest;
    if (i > 0) {
      const DivMod qr = divmod(k, rest, batch[i].n);
      idx = qr.r;
      rest = qr.q;
    }
    k("mad.wide.u32 {}, {}, {}, {}", sb, idx, batch[i].src, sb);
    k("mad.wide.u32 {}, {}, {}, {}", db, idx, batch[i].dst, db);
  }
  const std::string i0 = k.reg("r"), o0 = k.reg("r"), base = k.reg("r");
  k("mul.lo.s32 {}, {}, {}", i0, ti.r, T);
  k("mul.lo.s32 {}, {}, {}", o0, to.r, T);
  k("mov.u32 {}, {}", base, tile);
  // Read: thread (tx, ty) reads block (row ty + 8j, column tx) of the tile, j < 4: the elements
  // i0 + p tx .. of I in the rows o0 + p (ty + 8j) + q of O, q < p.
  const std::string i = k.reg("r"), o = k.reg("r"), pi = k.reg("p");
  k("mad.lo.s32 {}, {}, {}, {}", i, tx, p, i0);
  k("mad.lo.s32 {}, {}, {}, {}", o, ty, p, o0);
  k("setp.lt.u32 {}, {}, {}", pi, i, I.n);
  const std::string col = k.reg("rd"), off = k.reg("rd");
  k("mul.wide.u32 {}, {}, {}", off, i, es);
  k("add.s64 {}, {}, {}", col, sb, off);
  std::vector<std::string> ok(4);
  std::vector<std::vector<std::string>> words(4);
  for (int j = 0; j < 4; ++j) {
    const std::string oj = k.reg("r"), addr = k.reg("rd");
    ok[size_t(j)] = k.reg("p");
    k("add.s32 {}, {}, {}", oj, o, 8 * j * p);
    k("setp.lt.and.u32 {}, {}, {}, {}", ok[size_t(j)], oj, O.n, pi);
    k("mad.wide.u32 {}, {}, {}, {}", addr, oj, O.src, col);
    for (int64_t q = 0; q < p; ++q) {
      words[size_t(j)].push_back(k.reg("r"));
      k("@{} ld.global.{} {}, [{}+{}]", ok[size_t(j)], gt, words[size_t(j)].back(), addr,
        q * O.src);
    }
  }
  const std::string rd = k.reg("r");  // tile + (tx * 33 + ty) * block_bytes
  k("mad.lo.s32 {}, {}, 33, {}", rd, tx, ty);
  k("mad.lo.s32 {}, {}, {}, {}", rd, rd, block_bytes, base);
  for (int j = 0; j < 4; ++j) {
    std::vector<std::string>& w = words[size_t(j)];
    if (p == 2) {  // (a0 a1), (b0 b1) -> (a0 b0), (a1 b1)
      const std::string t0 = k.reg("r"), t1 = k.reg("r");
      k("prmt.b32 {}, {}, {}, 21520", t0, w[0], w[1]);  // 0x5410
      k("prmt.b32 {}, {}, {}, 30258", t1, w[0], w[1]);  // 0x7632
      w = {t0, t1};
    } else if (p == 4) {  // rows of 4 bytes: pairs of rows interleaved, then pairs of pairs
      std::string x[4], t[4];
      for (std::string& r : x) r = k.reg("r");
      for (std::string& r : t) r = k.reg("r");
      k("prmt.b32 {}, {}, {}, 25152", x[0], w[0], w[1]);  // 0x6240: a0 b0 a2 b2
      k("prmt.b32 {}, {}, {}, 29521", x[1], w[0], w[1]);  // 0x7351: a1 b1 a3 b3
      k("prmt.b32 {}, {}, {}, 25152", x[2], w[2], w[3]);
      k("prmt.b32 {}, {}, {}, 29521", x[3], w[2], w[3]);
      k("prmt.b32 {}, {}, {}, 21520", t[0], x[0], x[2]);  // 0x5410
      k("prmt.b32 {}, {}, {}, 21520", t[1], x[1], x[3]);
      k("prmt.b32 {}, {}, {}, 30258", t[2], x[0], x[2]);  // 0x7632
      k("prmt.b32 {}, {}, {}, 30258", t[3], x[1], x[3]);
      w = {t[0], t[1], t[2], t[3]};
    }
    k("@{} st.shared{}.b32 [{}+{}], {}", ok[size_t(j)], vt, rd, 8 * j * block_bytes, word_list(w));
  }
  k("bar.sync 0");
  // Write: thread (tx, ty) writes block (row ty + 8j, column tx) of the transposed tile: the
  // elements o0 + p tx .. of O in the rows i0 + p (ty + 8j) + c of I, c < p.
  const std::string wo = k.reg("r"), wi = k.reg("r"), po = k.reg("p");
  k("mad.lo.s32 {}, {}, {}, {}", wo, tx, p, o0);
  k("mad.lo.s32 {}, {}, {}, {}", wi, ty, p, i0);
  k("setp.lt.u32 {}, {}, {}", po, wo, O.n);
  const std::string row = k.reg("rd"), woff = k.reg("rd");
  k("mul.wide.u32 {}, {}, {}", woff, wo, es);
  k("add.s64 {}, {}, {}", row, db, woff);
  const std::string wr = k.reg("r");  // tile + (ty * 33 + tx) * block_bytes
  k("mad.lo.s32 {}, {}, 33, {}", wr, ty, tx);
  k("mad.lo.s32 {}, {}, {}, {}", wr, wr, block_bytes, base);
  std::vector<std::string> wok(4), addrs(4);
  for (int j = 0; j < 4; ++j) {
    const std::string ij = k.reg("r");
    wok[size_t(j)] = k.reg("p");
    addrs[size_t(j)] = k.reg("rd");
    k("add.s32 {}, {}, {}", ij, wi, 8 * j * p);
    k("setp.lt.and.u32 {}, {}, {}, {}", wok[size_t(j)], ij, I.n, po);
    k("mad.wide.u32 {}, {}, {}, {}", addrs[size_t(j)], ij, I.dst, row);
    words[size_t(j)].clear();
    for (int64_t c = 0; c < p; ++c) words[size_t(j)].push_back(k.reg("r"));
    k("@{} ld.shared{}.b32 {}, [{}+{}]", wok[size_t(j)], vt, word_list(words[size_t(j)]), wr,
      8 * j * pitch);
  }
  for (int j = 0; j < 4; ++j)
    for (int64_t c = 0; c < p; ++c)
      k("@{} st.global.{} [{}+{}], {}", wok[size_t(j)], gt, addrs[size_t(j)], c * I.dst,
        words[size_t(j)][size_t(c)]);
  const TensorInfo& out = e.g.tensor(n.outputs[0]);
  const std::string entry = e.add(fmt::format("transpose_tiled_{}", dtype_name(out.dtype)), k);
  e.launch(entry, {uint32_t(blocks), 1, 1}, {32, 8, 1}, 0,
           {e.addr(n.inputs[0]), e.addr(n.outputs[0])});
}

// transpose: the output's dims with their source strides, merged; the tiled transpose when the
// innermost dim changes and both innermost dims are long enough to fill a tile's rows (16
// elements), else the strided copy (a thread per element when the innermost dim changes).
void lower_transpose(Emitter& e, const Node& n) {
  const TensorInfo& x = e.g.tensor(n.inputs[0]);
  const TensorInfo& out = e.g.tensor(n.outputs[0]);
  const int64_t es = dtype_size(x.dtype);
  const std::vector<int64_t> xs = strides(x.shape, es), os = strides(out.shape, es);
  std::vector<Dim> dims;
  for (size_t j = 0; j < out.shape.size(); ++j)
    dims.push_back(Dim{out.shape[j], xs[size_t(n.attrs.perm[j])], os[j]});
  const std::vector<Dim> m = merged(dims);
  for (size_t a = 0; a + 1 < m.size(); ++a)
    if (m[a].src == es && m[a].n >= 16 && m.back().n >= 16) return tiled_transpose(e, n, m, a, es);
  strided_copy(e, n, dims, es, n.inputs[0], 0, n.outputs[0], 0);
}

// The dims of a shape as (before axis, axis, after axis).
struct AxisView {
  int64_t outer = 1, dim, inner = 1;
};
AxisView around(const std::vector<int64_t>& shape, int64_t axis) {
  AxisView v;
  v.dim = shape[size_t(axis)];
  for (size_t i = 0; i < shape.size(); ++i) {
    if (int64_t(i) < axis) v.outer *= shape[i];
    if (int64_t(i) > axis) v.inner *= shape[i];
  }
  return v;
}

// concat: each input copied into its place along the axis (a launch per input).
void lower_concat(Emitter& e, const Node& n) {
  const TensorInfo& out = e.g.tensor(n.outputs[0]);
  const int64_t es = dtype_size(out.dtype);
  const AxisView o = around(out.shape, n.attrs.axis);
  int64_t at = 0;
  for (int in : n.inputs) {
    const AxisView v = around(e.g.tensor(in).shape, n.attrs.axis);
    const int64_t run = v.dim * v.inner * es;
    strided_copy(e, n, {{v.outer, run, o.dim * o.inner * es}, {v.dim * v.inner, es, es}}, es, in, 0,
                 n.outputs[0], at * o.inner * es);
    at += v.dim;
  }
}

// slice: elements start, start + step, ... of the axis.
void lower_slice(Emitter& e, const Node& n) {
  const TensorInfo& x = e.g.tensor(n.inputs[0]);
  const TensorInfo& out = e.g.tensor(n.outputs[0]);
  const int64_t es = dtype_size(x.dtype);
  const AxisView v = around(x.shape, n.attrs.axis);
  const int64_t kept = out.shape[size_t(n.attrs.axis)], row = v.inner * es;
  strided_copy(
      e, n,
      {{v.outer, v.dim * row, kept * row}, {kept, n.attrs.step * row, row}, {v.inner, es, es}}, es,
      n.inputs[0], n.attrs.start * row, n.outputs[0], 0);
}

// kv_append: the output is the cache's buffer, with room for the new rows after each matrix's
// cache rows (target.cpp lays the cache out so): only the new rows are copied there.
void lower_kv_append(Emitter& e, const Node& n) {
  const TensorInfo& cache = e.g.tensor(n.inputs[0]);
  const TensorInfo& nw = e.g.tensor(n.inputs[1]);
  if (e.addr(n.inputs[0]) != e.addr(n.outputs[0]))
    throw Error("internal: kv_append's output is not its cache's buffer");
  const int64_t es = dtype_size(nw.dtype), r = int64_t(nw.shape.size()) - 2;
  const int64_t ctx = cache.shape[size_t(r)], t = nw.shape[size_t(r)], row = nw.shape.back() * es;
  strided_copy(
      e, n,
      {{nw.elements() / (t * nw.shape.back()), t * row, (ctx + t) * row}, {t * row / es, es, es}},
      es, n.inputs[1], 0, n.outputs[0], ctx * row);
}

// gather: a thread per chunk of an output row (the widest chunk the row's bytes allow), which
// reads its token's id and copies that chunk of the table's row. An id outside [0, V) traps
// (the run fails naming the kernel and the thread), as the reference refuses it.
void lower_gather(Emitter& e, const Node& n) {
  const TensorInfo& table = e.g.tensor(n.inputs[0]);
  const TensorInfo& ids = e.g.tensor(n.inputs[1]);
  const int64_t es = dtype_size(table.dtype), V = table.shape[0];
  const int64_t row = table.shape[1] * es, tokens = ids.elements();
  const int64_t w = keep_sms_busy(e, tokens * row, widest({row}, es), es);
  const int64_t per = row / w, chunks = tokens * per;
  check_size(e, n, chunks, {{tokens, row, row}, {V, row, row}});
  Kernel k(e.caps.sm, {{"u64", "table"}, {"u64", "ids"}, {"u64", "out"}});
  const std::string tb = global_param(k, "table"), id = global_param(k, "ids"),
                    o = global_param(k, "out");
  const std::string g = k.global_x(), p = k.reg("p"), done = k.label();
  k("setp.ge.u32 {}, {}, {}", p, g, chunks);
  k("@{} bra {}", p, done);
  const DivMod tc = divmod(k, g, per);
  const std::string v = k.reg("r"), bad = k.reg("p"), off = k.reg("rd"), src = k.reg("rd");
  k("ld.global.nc.u32 {}, [{}]", v, k.address(id, tc.q, 4));
  k("setp.ge.u32 {}, {}, {}", bad, v, V);  // a negative id is a large u32
  k("@{} trap", bad);
  k("mul.wide.u32 {}, {}, {}", off, v, row);
  k("mad.wide.u32 {}, {}, {}, {}", off, tc.r, w, off);
  k("add.s64 {}, {}, {}", src, tb, off);
  store_chunk(k, k.address(o, g, uint32_t(w)), load_chunk(k, src, w), w);
  k.place(done);
  const std::string entry = e.add(fmt::format("gather_{}", dtype_name(table.dtype)), k);
  e.launch(entry, {uint32_t((chunks + kBlock - 1) / kBlock), 1, 1}, {kBlock, 1, 1}, 0,
           {e.addr(n.inputs[0]), e.addr(n.inputs[1]), e.addr(n.outputs[0])});
}

// The fp16 or bf16 elements of loaded chunk registers (a b16 register, or 32-bit words) as f32.
std::vector<std::string> halves_to_f32(Kernel& k, DType t, const std::vector<std::string>& r,
                                       int64_t bytes) {
  if (bytes == 2) return {k.to_f32(t, r[0])};
  return unpack_words(k, t, r);
}

// f32 registers rounded to fp16 or bf16 (Kernel::half) in chunk registers of `bytes`.
std::vector<std::string> f32_to_halves(Kernel& k, DType t, const std::vector<std::string>& f,
                                       int64_t bytes) {
  if (bytes == 2) return {k.half(t, f[0])};
  std::vector<std::string> r;
  for (size_t i = 0; i < f.size(); i += 2) {
    const std::string lo = k.half(t, f[i]), hi = k.half(t, f[i + 1]);
    r.push_back(k.reg("r"));
    k("mov.b32 {}, {{{}, {}}}", r.back(), lo, hi);
  }
  return r;
}

// rope: a thread per group of v columns j of one row's first half (v of 8, 4, 2, 1: the most that
// divide d/2 and keep every SM busy), which loads x1 = x[j..], x2 = x[d/2 + j..] and the cos and
// sin of the row's position as vectors, computes x1 cos - x2 sin and x2 cos + x1 sin in f32
// and stores both rounded once.
void lower_rope(Emitter& e, const Node& n) {
  const TensorInfo& x = e.g.tensor(n.inputs[0]);
  const DType t = x.dtype;
  const int64_t es = dtype_size(t), d = x.shape.back(), half = d / 2;
  const int64_t s = x.shape[x.shape.size() - 2], rows = x.elements() / d;
  const int64_t v = keep_sms_busy(e, rows * half * es, widest({half * es}, es), es) / es;
  const int64_t bytes = v * es, per = half / v, threads = rows * per;
  check_size(e, n, threads, {{rows, d * es, d * es}});
  Kernel k(e.caps.sm, {{"u64", "x"}, {"u64", "cos"}, {"u64", "sin"}, {"u64", "out"}});
  const std::string px = global_param(k, "x"), pc = global_param(k, "cos"),
                    ps = global_param(k, "sin"), po = global_param(k, "out");
  const std::string g = k.global_x(), p = k.reg("p"), done = k.label();
  k("setp.ge.u32 {}, {}, {}", p, g, threads);
  k("@{} bra {}", p, done);
  const DivMod rj = divmod(k, g, per);
  const DivMod pos = divmod(k, rj.q, s);
  const std::string xi = k.reg("r"), ti = k.reg("r");
  k("mul.lo.s32 {}, {}, {}", xi, rj.r, v);
  k("mad.lo.s32 {}, {}, {}, {}", ti, pos.r, half, xi);
  k("mad.lo.s32 {}, {}, {}, {}", xi, rj.q, d, xi);
  const std::string ax = k.address(px, xi, uint32_t(es)), ao = k.address(po, xi, uint32_t(es));
  const std::string ac = k.address(pc, ti, uint32_t(es)), as = k.address(ps, ti, uint32_t(es));
  const std::string ax2 = fmt::format("{}+{}", ax, half * es);
  const std::vector<std::string> r1 = load_chunk(k, ax, bytes), r2 = load_chunk(k, ax2, bytes),
                                 rc = load_chunk(k, ac, bytes), rs = load_chunk(k, as, bytes);
  const std::vector<std::string> x1 = halves_to_f32(k, t, r1, bytes),
                                 x2 = halves_to_f32(k, t, r2, bytes),
                                 c = halves_to_f32(k, t, rc, bytes),
                                 sn = halves_to_f32(k, t, rs, bytes);
  std::vector<std::string> y1, y2;
  for (size_t j = 0; j < x1.size(); ++j) {
    const std::string a = k.reg("f"), b = k.reg("f"), ns = k.reg("f");
    y1.push_back(k.reg("f"));
    y2.push_back(k.reg("f"));
    k("neg.f32 {}, {}", ns, sn[j]);
    k("mul.rn.f32 {}, {}, {}", a, x1[j], c[j]);
    k("fma.rn.f32 {}, {}, {}, {}", y1.back(), x2[j], ns, a);
    k("mul.rn.f32 {}, {}, {}", b, x2[j], c[j]);
    k("fma.rn.f32 {}, {}, {}, {}", y2.back(), x1[j], sn[j], b);
  }
  const std::string ao2 = fmt::format("{}+{}", ao, half * es);
  store_chunk(k, ao, f32_to_halves(k, t, y1, bytes), bytes);
  store_chunk(k, ao2, f32_to_halves(k, t, y2, bytes), bytes);
  k.place(done);
  const std::string entry = e.add(fmt::format("rope_{}", dtype_name(t)), k);
  e.launch(entry, {uint32_t((threads + kBlock - 1) / kBlock), 1, 1}, {kBlock, 1, 1}, 0,
           {e.addr(n.inputs[0]), e.addr(n.inputs[1]), e.addr(n.inputs[2]), e.addr(n.outputs[0])});
}

const bool registered = [] {
  register_lowering(OpKind::transpose, lower_transpose);
  register_lowering(OpKind::concat, lower_concat);
  register_lowering(OpKind::slice, lower_slice);
  register_lowering(OpKind::kv_append, lower_kv_append);
  register_lowering(OpKind::gather, lower_gather);
  return register_lowering(OpKind::rope, lower_rope);
}();

}  // namespace
}  // namespace xpusim::compiler::gpu
