// The GPU target's row ops, over the last axis: softmax, layernorm and rmsnorm, and pool (a
// global pool is a row op too: the plane is the row). A row is held in registers, f32, by a
// group of 1 to 32 lanes of a warp (rows up to 1024 elements) or by a whole block (longer
// ones), read with vector loads and reduced with warp shuffles (and shared memory between the
// warps of a block); every value is computed in f32 and rounded once, as the reference does.
// Other pools take a thread per output element.
#include <algorithm>
#include <cmath>

#include "compiler/targets/gpu/kernel.h"

namespace xpusim::compiler::gpu {
namespace {

constexpr int kMaxValues = 32;          // f32 values of its row a thread holds
constexpr uint32_t kGroupBlock = 128;   // threads per block when a group of lanes takes a row
constexpr uint32_t kPoolBlock = 256;    // threads per block of the thread-per-output pool
constexpr int64_t kGroupRowMax = 1024;  // longest row a group of lanes takes
const char* const kNegInf = "0fFF800000";

uint32_t pow2_at_least(uint64_t v) {
  uint32_t p = 1;
  while (p < v) p *= 2;
  return p;
}

// How the rows of d elements map onto threads: chunks of `vec` elements (one vector load
// each), chunk c of a row held by thread c % threads of its row, `per` chunks per thread.
struct RowPlan {
  int64_t rows = 0, d = 0;
  DType dtype = DType::bf16;
  uint32_t vec = 1;
  uint32_t threads = 32;  // per row: a group of lanes (a power of two) or a block (32s)
  bool block = false;     // a block per row
  uint32_t chunks = 0;    // d / vec
  uint32_t per = 0;       // ceil(chunks / threads)

  uint32_t chunk_bytes() const { return vec * uint32_t(dtype_size(dtype)); }
  // Whether the last of a thread's chunks lies past the row's end for some threads.
  bool ragged() const { return chunks % threads != 0; }
};

RowPlan plan_rows(const Emitter& e, const Node& n, int64_t rows, int64_t d, DType t) {
  RowPlan p;
  p.rows = rows;
  p.d = d;
  p.dtype = t;
  p.vec = uint32_t(16 / dtype_size(t));
  while (p.vec > 1 && d % p.vec != 0) p.vec /= 2;
  if (p.vec * dtype_size(t) < 4) p.vec = 1;  // whole words, or single elements
  p.chunks = uint32_t(d / p.vec);
  if (d <= kGroupRowMax) {
    p.threads = std::min<uint32_t>(32, pow2_at_least(p.chunks));
  } else {  // about 16 values a thread, in whole warps
    p.block = true;
    const int64_t want = (d + 15) / 16;
    p.threads = uint32_t(
        std::clamp<int64_t>((want + 31) / 32 * 32, 32, e.caps.max_threads_per_block / 32 * 32));
  }
  p.per = (p.chunks + p.threads - 1) / p.threads;
  if (d > INT32_MAX / 2 || int64_t(p.per) * p.vec > kMaxValues)
    e.unsupported(n, fmt::format("rows of {} elements: at most {} values per thread of a block of "
                                 "{} threads",
                                 d, kMaxValues, p.threads));
  if (rows * d > INT32_MAX) e.unsupported(n, "more than 2^31 elements");
  return p;
}

// The registers a row kernel works with.
struct RowCtx {
  std::string lane;   // the thread's index within its row's threads
  std::string row;    // the row (clamped to the last one, so that every lane of a group runs)
  std::string live;   // predicate: the thread's row exists (its results are stored)
  std::string valid;  // predicate: the thread's last chunk lies inside the row (ragged plans)
  std::string warp, warp_lane;  // block plans: the warp of the block and the lane in it
};

// Sets up the thread's row and lane: a group of lanes per row (kGroupBlock / threads rows per
// block) or the block's row (%ctaid.x).
RowCtx row_context(Kernel& k, const RowPlan& p, const std::string& rows) {
  RowCtx c;
  const std::string tid = k.reg("r");
  k("mov.u32 {}, %tid.x", tid);
  c.row = k.reg("r");
  c.live = k.reg("p");
  if (p.block) {
    c.lane = tid;
    k("mov.u32 {}, %ctaid.x", c.row);
    k("setp.lt.u32 {}, {}, {}", c.live, c.row, rows);
    c.warp = k.reg("r");
    c.warp_lane = k.reg("r");
    k("shr.u32 {}, {}, 5", c.warp, tid);
    k("and.b32 {}, {}, 31", c.warp_lane, tid);
  } else {
    const uint32_t shift = uint32_t(std::log2(p.threads));
    const std::string b = k.reg("r"), last = k.reg("r");
    c.lane = k.reg("r");
    k("and.b32 {}, {}, {}", c.lane, tid, p.threads - 1);
    k("mov.u32 {}, %ctaid.x", b);
    k("shr.u32 {}, {}, {}", c.row, tid, shift);
    k("mad.lo.s32 {}, {}, {}, {}", c.row, b, kGroupBlock / p.threads, c.row);
    k("setp.lt.u32 {}, {}, {}", c.live, c.row, rows);
    k("add.s32 {}, {}, -1", last, rows);
    k("min.u32 {}, {}, {}", c.row, c.row, last);
  }
  if (p.ragged()) {
    c.valid = k.reg("p");
    k("setp.lt.u32 {}, {}, {}", c.valid, c.lane, p.chunks - (p.per - 1) * p.threads);
  }
  return c;
}

// The thread's chunks of the row at `base` (a global "rd" register, the row's first element)
// as loaded, each its words (or its element): chunk j at element (lane + j * threads) * vec. A
// last chunk past the row's end reads the row's first chunk instead. Every load is issued
// before any value is used (issue_row, then values), so that their latencies overlap.
using RawRow = std::vector<std::vector<std::string>>;
RawRow issue_row(Kernel& k, const RowPlan& p, const RowCtx& c, const std::string& base) {
  const std::string a = k.address(base, c.lane, p.chunk_bytes());
  RawRow raw;
  for (uint32_t j = 0; j < p.per; ++j) {
    const uint32_t off = j * p.threads * p.chunk_bytes();
    std::string at = j == 0 ? a : fmt::format("{}+{}", a, off);
    if (p.ragged() && j + 1 == p.per) {
      at = k.reg("rd");
      k("add.s64 {}, {}, {}", at, a, off);
      k("selp.b64 {}, {}, {}, {}", at, at, base, c.valid);
    }
    raw.push_back(p.vec == 1 ? std::vector<std::string>{k.load_element(p.dtype, at)}
                             : load_words(k, at, p.chunk_bytes() / 4));
  }
  return raw;
}

// The per * vec f32 values of a row issue_row loaded; those of a last chunk past the row's end
// are `fill`.
std::vector<std::string> values(Kernel& k, const RowPlan& p, const RowCtx& c, const RawRow& raw,
                                const std::string& fill) {
  std::vector<std::string> v;
  for (uint32_t j = 0; j < p.per; ++j) {
    std::vector<std::string> w = p.vec == 1 ? std::vector<std::string>{k.to_f32(p.dtype, raw[j][0])}
                                            : unpack_words(k, p.dtype, raw[j]);
    if (p.ragged() && j + 1 == p.per)
      for (std::string& x : w) k("selp.f32 {}, {}, {}, {}", x, x, fill, c.valid);
    v.insert(v.end(), w.begin(), w.end());
  }
  return v;
}

// The address of the row `row` of d elements of dtype t from the tensor at global `base`.
std::string row_address(Kernel& k, const std::string& base, const std::string& row, int64_t d,
                        DType t) {
  return k.address(base, row, uint32_t(d * dtype_size(t)));
}

// The combination (max or sum) of the thread's values `vs` over the threads of the row, in every
// one of them: the thread's values folded in order, then butterfly shuffles within the group or
// warp, then (block plans) the warps' results through shared memory (an array `name` of its own
// per reduction, so that none waits for the last to be read) and a second butterfly over them.
std::string reduce(Kernel& k, const RowPlan& p, const RowCtx& c, bool max,
                   const std::vector<std::string>& vs, const std::string& name) {
  const char* const op = max ? "max.f32" : "add.rn.f32";
  std::string v = vs[0];
  for (size_t i = 1; i < vs.size(); ++i) {
    const std::string r = k.reg("f");
    k("{} {}, {}, {}", op, r, v, vs[i]);
    v = r;
  }
  v = butterfly(k, op, v, p.block ? 32 : p.threads);
  if (!p.block) return v;
  const uint32_t warps = p.threads / 32;
  const std::string smem = k.shared(name, 4 * warps, 4);
  const std::string first = k.reg("p"), in = k.reg("p"), base = k.reg("r"), at = k.reg("r"),
                    w = k.reg("f");
  k("mov.u32 {}, {}", base, smem);
  k("setp.eq.u32 {}, {}, 0", first, c.warp_lane);
  k("mad.lo.s32 {}, {}, 4, {}", at, c.warp, base);
  k("@{} st.shared.f32 [{}], {}", first, at, v);
  k("bar.sync 0");
  // Every aligned group of `width` lanes reads the warps' results, so each lane gets the total.
  const uint32_t width = pow2_at_least(warps);
  const std::string i = k.reg("r");
  k("and.b32 {}, {}, {}", i, c.warp_lane, width - 1);
  k("setp.lt.u32 {}, {}, {}", in, i, warps);
  k("mov.f32 {}, {}", w, max ? kNegInf : "0f00000000");
  k("mad.lo.s32 {}, {}, 4, {}", at, i, base);
  k("@{} ld.shared.f32 {}, [{}]", in, w, at);
  return butterfly(k, op, w, width);
}

// Stores the row's values (per * vec, chunk by chunk, the last chunk where valid) at `base`;
// call where every thread's row exists.
void store_row(Kernel& k, const RowPlan& p, const RowCtx& c, const std::string& base,
               const std::vector<std::string>& v, const std::string& done) {
  const std::string a = k.address(base, c.lane, p.chunk_bytes());
  for (uint32_t j = 0; j < p.per; ++j) {
    if (p.ragged() && j + 1 == p.per) k("@!{} bra {}", c.valid, done);
    const std::string at = j == 0 ? a : fmt::format("{}+{}", a, j * p.threads * p.chunk_bytes());
    if (p.vec == 1) {
      k.store_f32(p.dtype, at, v[j]);
      continue;
    }
    const std::vector<std::string> part(v.begin() + j * p.vec, v.begin() + (j + 1) * p.vec);
    store_vector(k, p.dtype, at, part, p.chunk_bytes() / 4);
  }
}

// Launches a row kernel: a block per row, or a group of lanes per row.
void launch_rows(Emitter& e, const RowPlan& p, const std::string& entry,
                 std::vector<std::string> args) {
  if (p.block) {
    e.launch(entry, {uint32_t(p.rows), 1, 1}, {p.threads, 1, 1}, 0, std::move(args));
    return;
  }
  const int64_t per_block = kGroupBlock / p.threads;
  e.launch(entry, {uint32_t((p.rows + per_block - 1) / per_block), 1, 1}, {kGroupBlock, 1, 1}, 0,
           std::move(args));
}

// softmax, layernorm, rmsnorm over the last axis.
void lower_row_op(Emitter& e, const Node& n) {
  const TensorInfo& x = e.g.tensor(n.inputs[0]);
  const int64_t d = x.shape.back(), rows = x.elements() / d;
  const RowPlan p = plan_rows(e, n, rows, d, x.dtype);
  const bool ln = n.kind == OpKind::layernorm, softmax = n.kind == OpKind::softmax;
  std::vector<Kernel::Param> params = {{"u64", "x"}};
  if (!softmax) params.push_back({"u64", "gamma"});
  if (ln) params.push_back({"u64", "beta"});
  params.push_back({"u64", "out"});
  params.push_back({"u32", "rows"});
  Kernel k(e.caps.sm, params);
  std::vector<std::string> ptr;
  for (const Kernel::Param& q : params)
    if (q.type == "u64") {
      const std::string g = k.reg("rd");
      k("cvta.to.global.u64 {}, {}", g, k.param(q.name));
      ptr.push_back(g);
    }
  const std::string rows_reg = k.param("rows"), done = k.label();
  const RowCtx c = row_context(k, p, rows_reg);
  const RawRow xr = issue_row(k, p, c, row_address(k, ptr[0], c.row, d, p.dtype));
  const RawRow gr = softmax ? RawRow() : issue_row(k, p, c, ptr[1]);
  const RawRow br = ln ? issue_row(k, p, c, ptr[2]) : RawRow();
  std::vector<std::string> v = values(k, p, c, xr, softmax ? kNegInf : "0f00000000");
  const float inv_d = float(1.0 / double(d));
  std::vector<std::string> y(v.size());
  if (softmax) {
    const std::string m = reduce(k, p, c, true, v, "row_max");
    // exp(x - m) = 2^(x log2 e - m log2 e)
    const float log2e = float(1.4426950408889634);
    const std::string ml = k.reg("f");
    k("mul.rn.f32 {}, {}, {}", ml, m, f32_literal(-log2e));
    for (size_t i = 0; i < v.size(); ++i) {
      y[i] = k.reg("f");
      k("fma.rn.f32 {}, {}, {}, {}", y[i], v[i], f32_literal(log2e), ml);
      k("ex2.approx.ftz.f32 {}, {}", y[i], y[i]);
    }
    const std::string s = reduce(k, p, c, false, y, "row_sum");
    const std::string inv = k.reg("f");
    k("rcp.rn.f32 {}, {}", inv, s);
    for (std::string& r : y) k("mul.rn.f32 {}, {}, {}", r, r, inv);
  } else {
    std::string mean;
    std::vector<std::string> dev = v;  // x - mean (layernorm), x (rmsnorm)
    if (ln) {
      const std::string s = reduce(k, p, c, false, v, "row_sum");
      mean = k.reg("f");
      k("mul.rn.f32 {}, {}, {}", mean, s, f32_literal(inv_d));
      const size_t ragged_from = p.ragged() ? v.size() - p.vec : v.size();
      for (size_t i = 0; i < v.size(); ++i) {
        dev[i] = k.reg("f");
        k("sub.rn.f32 {}, {}, {}", dev[i], v[i], mean);
        if (i >= ragged_from) k("selp.f32 {}, {}, 0f00000000, {}", dev[i], dev[i], c.valid);
      }
    }
    std::string q;
    for (size_t i = 0; i < dev.size(); ++i) {
      const std::string r = k.reg("f");
      if (i == 0)
        k("mul.rn.f32 {}, {}, {}", r, dev[i], dev[i]);
      else
        k("fma.rn.f32 {}, {}, {}, {}", r, dev[i], dev[i], q);
      q = r;
    }
    q = reduce(k, p, c, false, {q}, "row_squares");
    const std::string inv = k.reg("f");
    k("fma.rn.f32 {}, {}, {}, {}", inv, q, f32_literal(inv_d), f32_literal(float(n.attrs.eps)));
    k("rsqrt.approx.f32 {}, {}", inv, inv);
    k("@!{} bra {}", c.live, done);
    const std::vector<std::string> gamma = values(k, p, c, gr, "0f00000000");
    const std::vector<std::string> beta =
        ln ? values(k, p, c, br, "0f00000000") : std::vector<std::string>();
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string t = k.reg("f");
      k("mul.rn.f32 {}, {}, {}", t, dev[i], inv);
      y[i] = k.reg("f");
      if (ln)
        k("fma.rn.f32 {}, {}, {}, {}", y[i], t, gamma[i], beta[i]);
      else
        k("mul.rn.f32 {}, {}, {}", y[i], t, gamma[i]);
    }
  }
  if (softmax) k("@!{} bra {}", c.live, done);
  store_row(k, p, c, row_address(k, ptr.back(), c.row, d, p.dtype), y, done);
  k.place(done);
  const std::string entry =
      e.add(fmt::format("{}_{}_{}", op_name(n.kind), dtype_name(p.dtype), d), k);
  std::vector<std::string> args;
  for (int t : n.inputs) args.push_back(e.addr(t));
  args.push_back(e.addr(n.outputs[0]));
  args.push_back(std::to_string(rows));
  launch_rows(e, p, entry, args);
}

// The average of int8 elements summing to `sum` (an s32 register) over `count` (u32): rounded
// half away from zero, as the reference rounds it; an s32 register.
std::string int8_average(Kernel& k, const std::string& sum, const std::string& count) {
  const std::string a = k.reg("r"), d = k.reg("r"), q = k.reg("r"), neg = k.reg("r"),
                    p = k.reg("p");
  k("abs.s32 {}, {}", a, sum);  // (2 |s| + count) / (2 count)
  k("shl.b32 {}, {}, 1", a, a);
  k("add.s32 {}, {}, {}", a, a, count);
  k("shl.b32 {}, {}, 1", d, count);
  k("div.u32 {}, {}, {}", q, a, d);
  k("neg.s32 {}, {}", neg, q);
  k("setp.lt.s32 {}, {}, 0", p, sum);
  k("selp.b32 {}, {}, {}, {}", q, neg, q, p);
  return q;
}

// A global pool (the window is the whole plane, no padding): a row op over each plane of H x W.
void lower_global_pool(Emitter& e, const Node& n) {
  const TensorInfo& x = e.g.tensor(n.inputs[0]);
  const int64_t d = x.shape[2] * x.shape[3], rows = x.shape[0] * x.shape[1];
  const RowPlan p = plan_rows(e, n, rows, d, x.dtype);
  const bool max = n.attrs.pool_max;
  Kernel k(e.caps.sm, {{"u64", "x"}, {"u64", "out"}, {"u32", "rows"}});
  const std::string px = k.reg("rd"), po = k.reg("rd");
  k("cvta.to.global.u64 {}, {}", px, k.param("x"));
  k("cvta.to.global.u64 {}, {}", po, k.param("out"));
  const std::string rows_reg = k.param("rows"), done = k.label();
  const RowCtx c = row_context(k, p, rows_reg);
  const std::vector<std::string> v =
      values(k, p, c, issue_row(k, p, c, row_address(k, px, c.row, d, p.dtype)),
             max ? kNegInf : "0f00000000");
  const std::string r = reduce(k, p, c, max, v, "plane");
  const std::string first = k.reg("p");
  k("setp.eq.and.u32 {}, {}, 0, {}", first, c.lane, c.live);
  k("@!{} bra {}", first, done);
  const std::string at = k.address(po, c.row, uint32_t(dtype_size(p.dtype)));
  if (max) {
    k.store_f32(p.dtype, at, r);
  } else if (p.dtype == DType::int8) {  // the sum is exact in f32 (below 2^24)
    const std::string s = k.reg("r"), cnt = k.reg("r");
    k("cvt.rni.s32.f32 {}, {}", s, r);
    k("mov.u32 {}, {}", cnt, d);
    k("st.global.s8 [{}], {}", at, int8_average(k, s, cnt));
  } else {
    const std::string a = k.reg("f");
    k("div.rn.f32 {}, {}, {}", a, r, f32_literal(float(d)));
    k.store_f32(p.dtype, at, a);
  }
  k.place(done);
  const std::string entry =
      e.add(fmt::format("global_{}pool_{}_{}", max ? "max" : "avg", dtype_name(p.dtype), d), k);
  launch_rows(e, p, entry, {e.addr(n.inputs[0]), e.addr(n.outputs[0]), std::to_string(rows)});
}

// pool: a thread per output element walks its window (clipped to the input: padding is not
// read and, for an average, not counted).
void lower_pool(Emitter& e, const Node& n) {
  const TensorInfo& x = e.g.tensor(n.inputs[0]);
  const TensorInfo& out = e.g.tensor(n.outputs[0]);
  const OpAttrs& a = n.attrs;
  const int64_t H = x.shape[2], W = x.shape[3], OH = out.shape[2], OW = out.shape[3];
  if (OH == 1 && OW == 1 && a.pad_h == 0 && a.pad_w == 0 && a.kernel_h == H && a.kernel_w == W)
    return lower_global_pool(e, n);
  const int64_t total = out.elements();
  if (x.elements() > INT32_MAX) e.unsupported(n, "more than 2^31 elements");
  const DType t = x.dtype;
  const uint32_t es = uint32_t(dtype_size(t));
  const bool int8 = t == DType::int8, max = a.pool_max;
  Kernel k(e.caps.sm, {{"u64", "x"}, {"u64", "out"}, {"u32", "total"}});
  const std::string px = k.reg("rd"), po = k.reg("rd");
  k("cvta.to.global.u64 {}, {}", px, k.param("x"));
  k("cvta.to.global.u64 {}, {}", po, k.param("out"));
  const std::string total_reg = k.param("total"), done = k.label();
  const std::string o = k.global_x(), p = k.reg("p");
  k("setp.ge.u32 {}, {}, {}", p, o, total_reg);
  k("@{} bra {}", p, done);
  // o = (plane * OH + oh) * OW + ow
  const std::string ow = k.reg("r"), oh = k.reg("r"), plane = k.reg("r"), q = k.reg("r");
  k("div.u32 {}, {}, {}", q, o, OW);
  k("mul.lo.s32 {}, {}, {}", ow, q, OW);
  k("sub.s32 {}, {}, {}", ow, o, ow);
  k("div.u32 {}, {}, {}", plane, q, OH);
  k("mul.lo.s32 {}, {}, {}", oh, plane, OH);
  k("sub.s32 {}, {}, {}", oh, q, oh);
  // The window clipped to the input: rows [h0, h1), columns [w0, w1) (never empty: pad < kernel).
  const auto clip = [&](const std::string& i, int64_t stride, int64_t pad, int64_t kernel,
                        int64_t size) {
    const std::string lo = k.reg("r"), hi = k.reg("r");
    k("mad.lo.s32 {}, {}, {}, {}", lo, i, stride, -pad);
    k("add.s32 {}, {}, {}", hi, lo, kernel);
    k("max.s32 {}, {}, 0", lo, lo);
    k("min.s32 {}, {}, {}", hi, hi, size);
    return std::make_pair(lo, hi);
  };
  const auto [h0, h1] = clip(oh, a.stride_h, a.pad_h, a.kernel_h, H);
  const auto [w0, w1] = clip(ow, a.stride_w, a.pad_w, a.kernel_w, W);
  const std::string acc = k.reg(int8 ? "r" : "f");
  if (int8)
    k("mov.u32 {}, {}", acc, max ? -128 : 0);
  else
    k("mov.f32 {}, {}", acc, max ? kNegInf : "0f00000000");
  const std::string r = k.reg("r"), s = k.reg("r"), idx = k.reg("r"), row_loop = k.label(),
                    col_loop = k.label();
  k("mov.u32 {}, {}", r, h0);
  k.place(row_loop);
  k("mad.lo.s32 {}, {}, {}, {}", idx, plane, H, r);  // (plane * H + r) * W + w0
  k("mad.lo.s32 {}, {}, {}, {}", idx, idx, W, w0);
  const std::string at = k.address(px, idx, es);
  k("mov.u32 {}, {}", s, w0);
  k.place(col_loop);
  if (int8) {
    const std::string v = k.reg("r");
    k("ld.global.s8 {}, [{}]", v, at);
    k("{} {}, {}, {}", max ? "max.s32" : "add.s32", acc, acc, v);
  } else {
    const std::string v = k.load_f32(t, at);
    k("{} {}, {}, {}", max ? "max.f32" : "add.rn.f32", acc, acc, v);
  }
  k("add.s64 {}, {}, {}", at, at, es);
  k("add.s32 {}, {}, 1", s, s);
  k("setp.lt.s32 {}, {}, {}", p, s, w1);
  k("@{} bra {}", p, col_loop);
  k("add.s32 {}, {}, 1", r, r);
  k("setp.lt.s32 {}, {}, {}", p, r, h1);
  k("@{} bra {}", p, row_loop);
  const std::string dst = k.address(po, o, es);
  std::string res = acc;
  if (!max) {
    const std::string cnt = k.reg("r"), cw = k.reg("r");
    k("sub.s32 {}, {}, {}", cnt, h1, h0);
    k("sub.s32 {}, {}, {}", cw, w1, w0);
    k("mul.lo.s32 {}, {}, {}", cnt, cnt, cw);
    if (int8) {
      res = int8_average(k, acc, cnt);
    } else {
      const std::string cf = k.reg("f");
      res = k.reg("f");
      k("cvt.rn.f32.u32 {}, {}", cf, cnt);
      k("div.rn.f32 {}, {}, {}", res, acc, cf);
    }
  }
  if (int8)
    k("st.global.s8 [{}], {}", dst, res);
  else
    k.store_f32(t, dst, res);
  k.place(done);
  const std::string entry = e.add(fmt::format("{}pool_{}", max ? "max" : "avg", dtype_name(t)), k);
  e.launch(entry, {uint32_t((total + kPoolBlock - 1) / kPoolBlock), 1, 1}, {kPoolBlock, 1, 1}, 0,
           {e.addr(n.inputs[0]), e.addr(n.outputs[0]), std::to_string(total)});
}

const bool registered = [] {
  for (OpKind k : {OpKind::softmax, OpKind::layernorm, OpKind::rmsnorm})
    register_lowering(k, lower_row_op);
  return register_lowering(OpKind::pool, lower_pool);
}();

}  // namespace
}  // namespace xpusim::compiler::gpu
