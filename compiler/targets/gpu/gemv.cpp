// The GPU target's small-M gemm and matmul: GEMV-style kernels that stream B (the weights) once,
// where the tiled kernels of gemm.cpp pad M to their block tile of 64 rows. Two forms:
// - tensor cores (fp16 and bf16 on sm_80 and later, N a multiple of 8, K even; M <= 8):
//   gemv_tc_kernel below;
// - SIMT (every other dtype, shape and preset; M <= 6 where the tiled kernel would use the
//   tensor cores, M <= 8 where it would not):
//
// A block of 256 threads (8 warps) owns a strip of C * V columns of C (V: the elements of one
// vector load of B, 16 bytes (int8: 8) or the widest power of two that divides a row of B):
// lane c of a warp's C column lanes reads V consecutive columns, and its R = 32 / C lanes and
// the block's 8 warps split K into S = 8 R interleaved rows (slot s reads rows s, s + S, ...).
// A warp's load is R rows of C * V columns, whole 32-byte sectors, coalesced. Each thread keeps
// the M x V accumulators (f32; s32 for int8) of its columns and per row loads its M elements of
// A (the same for the C lanes of a row: one broadcast) and does M * V FMAs; 8 rows (M > 2: 4)
// are loaded, B's and A's, before the first is waited for. The R lanes of a column add their
// sums by xor shuffles, the warps theirs in shared memory; the sums are biased, rounded,
// requantised and ReLU'd as the tiled kernels do (load_biases, store_element). The strip (C * V *
// size) is 128 bytes (4 rows of whole lines a warp load), or 64 or 32 where that leaves fewer
// blocks than a quarter of the SMs (each block keeps 32 KiB of loads in flight at M = 1).
#include <algorithm>
#include <string>
#include <vector>

#include "compiler/targets/gpu/gemm.h"

namespace xpusim::compiler::gpu {
namespace {

// The largest M the SIMT form takes: where the tensor cores would run the job, the tiled kernel
// is as fast from 7 rows on (a 7x4096x4096 bf16 gemm on a100 in the SIMT form: 48,294 cycles,
// the tiled kernel 47,797; 6 rows: 44,654); the tiled SIMT kernel is 5 times slower at 8 rows
// (fp32: 343,552 cycles, this form 66,201).
constexpr int64_t kMaxTensorRows = 6, kMaxRows = 8;
constexpr uint32_t kWarps = 8;  // a block's warps
constexpr uint32_t kThreads = 32 * kWarps;

// The tiling of job j on caps: vb bytes (v elements) a lane's load, c lanes along the columns.
struct GemvTile {
  uint32_t vb = 16, v = 8, c = 2;
  uint32_t unroll = 8;                             // rows a thread loads before it multiplies
  uint32_t r() const { return 32 / c; }            // lanes along K in a warp
  uint32_t slots() const { return kWarps * r(); }  // rows of K a block loads at once
  uint32_t cols() const { return c * v; }          // the block's strip of columns
};

GemvTile gemv_tile(const GpuCaps& caps, const MatrixJob& j) {
  const int64_t es = dtype_size(j.dtype), row = j.n * es;
  GemvTile t;
  t.vb = uint32_t(std::min<int64_t>(j.dtype == DType::int8 ? 8 : 16, row & -row));
  t.v = t.vb / uint32_t(es);
  t.unroll = j.m <= 2 ? 8 : 4;
  for (uint32_t strip : {128u, 64u, 32u}) {
    t.c = std::min(32u, std::max(1u, strip / t.vb));
    const int64_t blocks = (j.n + t.cols() - 1) / t.cols() * j.batch * j.groups;
    if (4 * blocks >= caps.sms) break;
  }
  return t;
}

// An element of A or B as loaded (Kernel::load_element) in the register the products take: f32,
// or s32 for int8 (as loaded); a bf16 is the upper half of its f32.
std::string value(Kernel& k, DType t, const std::string& raw) {
  if (t == DType::fp32 || t == DType::int8) return raw;
  const std::string f = k.reg("f");
  if (t == DType::fp16)
    k("cvt.f32.f16 {}, {}", f, raw);
  else
    k("mov.b32 {}, {{0, {}}}", f, raw);
  return f;
}

// A thread's v elements of a row of B at [addr], loaded: one vector load of words (fp32: into
// "f" registers), or single elements when the row's alignment allows no word.
std::vector<std::string> load_b(Kernel& k, DType t, const GemvTile& g, const std::string& addr) {
  std::vector<std::string> w;
  if (g.vb < 4) {
    for (uint32_t i = 0; i < g.v; ++i)
      w.push_back(k.load_element(t, fmt::format("{}+{}", addr, i * dtype_size(t))));
    return w;
  }
  w.resize(g.vb / 4);
  for (std::string& r : w) r = k.reg(t == DType::fp32 ? "f" : "r");
  k("ld.global{}.{} {}, [{}]", w.size() == 1 ? "" : fmt::format(".v{}", w.size()),
    t == DType::fp32 ? "f32" : "b32", word_list(w), addr);
  return w;
}

// load_b's registers unpacked into the v elements as value() gives them.
std::vector<std::string> unpack_b(Kernel& k, DType t, const GemvTile& g,
                                  const std::vector<std::string>& w) {
  if (g.vb < 4 || t == DType::fp32) {
    std::vector<std::string> v;
    for (const std::string& r : w) v.push_back(value(k, t, r));
    return v;
  }
  std::vector<std::string> v;
  for (const std::string& word : w) {
    if (t == DType::fp16) {
      const std::string lo = k.reg("rs"), hi = k.reg("rs");
      k("mov.b32 {{{}, {}}}, {}", lo, hi, word);
      for (const std::string& h : {lo, hi}) v.push_back(value(k, t, h));
    } else if (t == DType::bf16) {
      v.push_back(k.reg("f"));
      k("shl.b32 {}, {}, 16", v.back(), word);
      v.push_back(k.reg("f"));
      k("and.b32 {}, {}, -65536", v.back(), word);
    } else {
      for (uint32_t b = 0; b < 4; ++b) {
        v.push_back(k.reg("r"));
        k("bfe.s32 {}, {}, {}, 8", v.back(), word, 8 * b);
      }
    }
  }
  return v;
}

// The loop over K of the small-M kernels: whole groups of `group` rows of K (every load in
// range), then the rest. k_loop_begin: full = K - K % group, k0 = 0, a branch to `tail` when
// there is no whole group, and `loop` placed; k_loop_next: k0 advanced, back to `loop` while
// k0 < full, and `tail` placed. tail_loop and done are the kernels' own, for the rest.
struct KLoop {
  std::string full, k0, loop, tail, tail_loop, done;
  uint32_t group = 0;
};

KLoop k_loop_begin(Kernel& k, const Setup& s, const std::string& p, uint32_t group) {
  KLoop l{k.reg("r"), k.reg("r"), k.label(), k.label(), k.label(), k.label(), group};
  k("rem.u32 {}, {}, {}", l.full, s.kdim, group);
  k("sub.s32 {}, {}, {}", l.full, s.kdim, l.full);
  k("mov.u32 {}, 0", l.k0);
  k("setp.eq.u32 {}, {}, 0", p, l.full);
  k("@{} bra {}", p, l.tail);
  k.place(l.loop);
  return l;
}

void k_loop_next(Kernel& k, const KLoop& l, const std::string& p) {
  k("add.s32 {}, {}, {}", l.k0, l.k0, l.group);
  k("setp.lt.u32 {}, {}, {}", p, l.k0, l.full);
  k("@{} bra {}", p, l.loop);
  k.place(l.tail);
}

std::string gemv_kernel(Emitter& e, const MatrixJob& j, const GemvTile& g) {
  const bool i8 = j.dtype == DType::int8;
  const uint32_t es = uint32_t(dtype_size(j.dtype)), M = uint32_t(j.m), S = g.slots();
  const uint32_t CV = g.cols(), U = g.unroll;
  const std::string vk = i8 ? "r" : "f";
  Kernel k(e.caps.sm, matrix_params(j));
  const Setup s = setup(k, j);
  const std::string part = k.shared("part", uint64_t(kWarps) * M * CV * 4);

  // This thread's slot and columns; a strip's columns past N read the last vector of the row.
  const std::string tid = k.reg("r"), lane = k.reg("r"), c = k.reg("r"), slot = k.reg("r");
  const std::string col = k.reg("r"), last = k.reg("r");
  k("mov.u32 {}, %tid.x", tid);
  k("and.b32 {}, {}, 31", lane, tid);
  k("and.b32 {}, {}, {}", c, lane, g.c - 1);
  k("shr.u32 {}, {}, {}", slot, tid, __builtin_ctz(g.c));  // warp * R + lane / C
  k("mov.u32 {}, %ctaid.x", col);
  k("mul.lo.s32 {}, {}, {}", col, col, CV);
  k("mad.lo.s32 {}, {}, {}, {}", col, c, g.v, col);
  k("sub.s32 {}, {}, {}", last, s.n, g.v);
  k("min.u32 {}, {}, {}", col, col, last);

  // B: row slot + u S of each group of U S rows; A: row m's element slot.
  std::vector<std::string> pb(U), pa(M);
  for (uint32_t u = 0; u < U; ++u) {
    const std::string r = k.reg("r"), off = k.reg("rd");
    pb[u] = k.reg("rd");
    k("add.s32 {}, {}, {}", r, slot, u * S);
    k("mad.lo.s32 {}, {}, {}, {}", r, r, s.n, col);
    k("mul.wide.u32 {}, {}, {}", off, r, es);
    k("add.s64 {}, {}, {}", pb[u], s.b, off);
  }
  for (uint32_t m = 0; m < M; ++m) {
    const std::string r = k.reg("r"), off = k.reg("rd");
    pa[m] = k.reg("rd");
    k("mad.lo.s32 {}, {}, {}, {}", r, s.kdim, m, slot);
    k("mul.wide.u32 {}, {}, {}", off, r, es);
    k("add.s64 {}, {}, {}", pa[m], s.a, off);
  }
  std::vector<std::string> acc(M * g.v);
  for (std::string& r : acc) {
    r = k.reg(vk);
    k(i8 ? "mov.u32 {}, 0" : "mov.f32 {}, 0f00000000", r);
  }
  // acc[m][i] += A[m][row] * B[row][col + i] for rows at [pb + b_off] and [pa + a_off].
  auto multiply = [&](const std::vector<std::string>& b, const std::vector<std::string>& a) {
    for (uint32_t m = 0; m < M; ++m)
      for (uint32_t i = 0; i < g.v; ++i) {
        const std::string& d = acc[m * g.v + i];
        if (i8)
          k("mad.lo.s32 {}, {}, {}, {}", d, a[m], b[i], d);
        else
          k("fma.rn.f32 {}, {}, {}, {}", d, a[m], b[i], d);
      }
  };
  auto load_a = [&](uint32_t u) {
    std::vector<std::string> a(M);
    for (uint32_t m = 0; m < M; ++m)
      a[m] = k.load_element(j.dtype, u ? fmt::format("{}+{}", pa[m], u * S * es) : pa[m]);
    return a;
  };
  auto values = [&](std::vector<std::string> a) {
    for (std::string& r : a) r = value(k, j.dtype, r);
    return a;
  };

  // Whole groups of U S rows: every load in range.
  const std::string p = k.reg("p"), b_step = k.reg("rd");
  k("mul.wide.u32 {}, {}, {}", b_step, s.n, U * S * es);
  const KLoop kl = k_loop_begin(k, s, p, U * S);
  const std::string &k0 = kl.k0, &tail_loop = kl.tail_loop, &done = kl.done;
  {
    std::vector<std::vector<std::string>> b(U), a(U);
    // Every load issued before the first is waited for.
    for (uint32_t u = 0; u < U; ++u) b[u] = load_b(k, j.dtype, g, pb[u]);
    for (uint32_t u = 0; u < U; ++u) a[u] = load_a(u);
    for (uint32_t u = 0; u < U; ++u) multiply(unpack_b(k, j.dtype, g, b[u]), values(a[u]));
  }
  for (const std::string& r : pb) k("add.s64 {}, {}, {}", r, r, b_step);
  for (const std::string& r : pa) k("add.s64 {}, {}, {}", r, r, U * S * es);
  k_loop_next(k, kl, p);
  // The rest, one row of the thread's at a time.
  const std::string row = k.reg("r"), row_step = k.reg("rd");
  k("add.s32 {}, {}, {}", row, k0, slot);
  k("mul.wide.u32 {}, {}, {}", row_step, s.n, S * es);
  k.place(tail_loop);
  k("setp.ge.u32 {}, {}, {}", p, row, s.kdim);
  k("@{} bra {}", p, done);
  {
    const std::vector<std::string> b = load_b(k, j.dtype, g, pb[0]), a = load_a(0);
    multiply(unpack_b(k, j.dtype, g, b), values(a));
  }
  k("add.s64 {}, {}, {}", pb[0], pb[0], row_step);
  for (const std::string& r : pa) k("add.s64 {}, {}, {}", r, r, S * es);
  k("add.s32 {}, {}, {}", row, row, S);
  k("bra.uni {}", tail_loop);
  k.place(done);

  // The R lanes of a column add their sums (xor shuffles over lane / C), then lane c of each warp
  // stores them: part[warp][m][c V + i]; each thread then adds the warps' partials of a group of
  // G columns and stores them.
  for (std::string& d : acc)
    for (uint32_t off = 16; off >= g.c; off /= 2) {
      const std::string o = k.reg(vk), r = k.reg(vk);
      k("shfl.sync.bfly.b32 {}, {}, {}, 31, -1", o, d, off);
      k(i8 ? "add.s32 {}, {}, {}" : "add.rn.f32 {}, {}, {}", r, d, o);
      d = r;
    }
  const uint32_t G = std::min(4u, g.v), groups = M * CV / G;
  const char* wt = i8 ? "b32" : "f32";
  auto vec = [](uint32_t n) { return n == 1 ? std::string() : fmt::format(".v{}", n); };
  const std::string base = k.reg("r"), at = k.reg("r"), warp = k.reg("r"), stores = k.label();
  k("mov.u32 {}, {}", base, part);
  k("shr.u32 {}, {}, 5", warp, tid);
  k("mul.lo.s32 {}, {}, {}", at, warp, M * CV * 4);
  k("mad.lo.s32 {}, {}, {}, {}", at, c, g.v * 4, at);
  k("add.s32 {}, {}, {}", at, at, base);
  k("setp.ge.u32 {}, {}, {}", p, lane, g.c);
  k("@{} bra {}", p, stores);
  for (uint32_t m = 0; m < M; ++m)
    for (uint32_t i = 0; i < g.v; i += G)
      k("st.shared{}.{} [{}+{}], {}", vec(G), wt, at, (m * CV + i) * 4,
        word_list({acc.begin() + m * g.v + i, acc.begin() + m * g.v + i + G}));
  k.place(stores);
  k("bar.sync 0");
  for (uint32_t round = 0; round * kThreads < groups; ++round) {
    const std::string o = k.reg("r"), m = k.reg("r"), cg = k.reg("r"), skip = k.label();
    k("add.s32 {}, {}, {}", o, tid, round * kThreads);
    if ((round + 1) * kThreads > groups) {
      k("setp.ge.u32 {}, {}, {}", p, o, groups);
      k("@{} bra {}", p, skip);
    }
    k("shr.u32 {}, {}, {}", m, o, __builtin_ctz(CV / G));
    k("and.b32 {}, {}, {}", cg, o, CV / G - 1);
    const std::string src = k.reg("r");
    k("mad.lo.s32 {}, {}, {}, {}", src, m, CV * 4, base);
    k("mad.lo.s32 {}, {}, {}, {}", src, cg, G * 4, src);
    std::vector<std::string> sum(G);
    for (uint32_t sl = 0; sl < kWarps; ++sl) {
      std::vector<std::string> v(G);
      for (std::string& r : v) r = k.reg(vk);
      k("ld.shared{}.{} {}, [{}+{}]", vec(G), wt, word_list(v), src, sl * M * CV * 4);
      for (uint32_t x = 0; x < G; ++x) {
        if (sl == 0) {
          sum[x] = v[x];
          continue;
        }
        const std::string r = k.reg(vk);
        k(i8 ? "add.s32 {}, {}, {}" : "add.rn.f32 {}, {}, {}", r, sum[x], v[x]);
        sum[x] = r;
      }
    }
    const std::string c0 = k.reg("r"), idx = k.reg("r");
    k("mov.u32 {}, %ctaid.x", c0);
    k("mul.lo.s32 {}, {}, {}", c0, c0, CV);
    k("mad.lo.s32 {}, {}, {}, {}", c0, cg, G, c0);
    k("mad.lo.s32 {}, {}, {}, {}", idx, m, s.n, c0);
    std::vector<uint32_t> cols(G);
    for (uint32_t x = 0; x < G; ++x) cols[x] = x;
    // A 1x1 convolution's bias is per row (output channel).
    const std::vector<std::string> bias =
        j.bias_rows ? load_biases(k, j, s, m, {0}) : load_biases(k, j, s, c0, cols);
    for (uint32_t x = 0; x < G; ++x) {
      const std::string q = k.reg("p"), cx = k.reg("r"), addr = k.reg("rd");
      k("add.s32 {}, {}, {}", cx, c0, x);
      k("setp.lt.u32 {}, {}, {}", q, cx, s.n);
      k("add.s32 {}, {}, {}", cx, idx, x);
      k("mul.wide.u32 {}, {}, {}", addr, cx, es);
      k("add.s64 {}, {}, {}", addr, s.c, addr);
      store_element(k, j.dtype, j.relu, s.q, q, addr,
                    add_bias(k, sum[x], bias[j.bias_rows ? 0 : x]));
    }
    k.place(skip);
  }
  return e.add(fmt::format("gemv_{}_m{}", dtype_name(j.dtype), M), k);
}

// A thread of a tensor-core form: its index, lane, warp, and the lane's (g, t) = (lane / 4,
// lane % 4) of the mma fragments.
struct TcLane {
  std::string tid, lane, warp, g, t;
};

TcLane tc_lane(Kernel& k) {
  const TcLane l{k.reg("r"), k.reg("r"), k.reg("r"), k.reg("r"), k.reg("r")};
  k("mov.u32 {}, %tid.x", l.tid);
  k("and.b32 {}, {}, 31", l.lane, l.tid);
  k("shr.u32 {}, {}, 5", l.warp, l.tid);
  k("shr.u32 {}, {}, 2", l.g, l.lane);
  k("and.b32 {}, {}, 3", l.t, l.lane);
  return l;
}

// The tensor-core forms' end: each warp's `tiles` mma tiles of 4 accumulators per lane (acc[4 q +
// x]) are added over the 8 warps in shared memory `part` (kWarps * tiles * 512 bytes), then
// thread q * 32 + lane (q < tiles) stores its 4 sums, element x at row 2t + x % 2 of C and column
// col0 + q * q_cols + (x / 2) * x_cols (col0: the lane's column of tile 0, before any clamp), where
// both are inside C, biased, rounded and ReLU'd as the tiled kernels do (load_biases,
// store_element).
void tc_sum_and_store(Kernel& k, const MatrixJob& j, const Setup& s, const TcLane& l,
                      const std::string& part, uint32_t tiles, const std::vector<std::string>& acc,
                      const std::string& col0, uint32_t q_cols, uint32_t x_cols) {
  const uint32_t M = uint32_t(j.m);
  const std::string base = k.reg("r"), at = k.reg("r"), p = k.reg("p"), stores = k.label();
  k("mov.u32 {}, {}", base, part);
  k("mad.lo.s32 {}, {}, {}, {}", at, l.warp, tiles * 32 * 16, base);
  k("mad.lo.s32 {}, {}, 16, {}", at, l.lane, at);
  for (uint32_t q = 0; q < tiles; ++q)
    k("st.shared.v4.f32 [{}+{}], {{{}, {}, {}, {}}}", at, q * 32 * 16, acc[4 * q], acc[4 * q + 1],
      acc[4 * q + 2], acc[4 * q + 3]);
  k("bar.sync 0");
  k("setp.ge.u32 {}, {}, {}", p, l.tid, tiles * 32);
  k("@{} bra {}", p, stores);
  const std::string src = k.reg("r");
  k("mad.lo.s32 {}, {}, 16, {}", src, l.tid, base);  // q * 32 + lane = tid
  std::vector<std::string> sum(4);
  for (uint32_t w = 0; w < kWarps; ++w) {
    std::vector<std::string> v(4);
    for (std::string& r : v) r = k.reg("f");
    k("ld.shared.v4.f32 {}, [{}+{}]", word_list(v), src, w * tiles * 32 * 16);
    for (uint32_t x = 0; x < 4; ++x) {
      if (w == 0) {
        sum[x] = v[x];
        continue;
      }
      const std::string r = k.reg("f");
      k("add.rn.f32 {}, {}, {}", r, sum[x], v[x]);
      sum[x] = r;
    }
  }
  const std::string q = k.reg("r"), c0 = k.reg("r");
  k("shr.u32 {}, {}, 5", q, l.tid);
  k("mad.lo.s32 {}, {}, {}, {}", c0, q, q_cols, col0);
  // The bias of the lane's columns, or (a 1x1 convolution's, per output channel) of its rows.
  std::string first = c0;
  if (j.bias_rows) {
    first = k.reg("r");
    k("shl.b32 {}, {}, 1", first, l.t);
  }
  const std::vector<std::string> bias = load_biases(
      k, j, s, first, j.bias_rows ? std::vector<uint32_t>{0, 1} : std::vector<uint32_t>{0, x_cols});
  for (uint32_t x = 0; x < 4; ++x) {
    const std::string m = k.reg("r"), c = k.reg("r"), ok = k.reg("p"), idx = k.reg("r");
    const std::string addr = k.reg("rd");
    k("mad.lo.s32 {}, {}, 2, {}", m, l.t, x % 2);
    k("add.s32 {}, {}, {}", c, c0, (x / 2) * x_cols);
    k("setp.lt.u32 {}, {}, {}", ok, c, s.n);
    k("setp.lt.and.u32 {}, {}, {}, {}", ok, m, M, ok);
    k("mad.lo.s32 {}, {}, {}, {}", idx, m, s.n, c);
    k("mul.wide.u32 {}, {}, 2", addr, idx);
    k("add.s64 {}, {}, {}", addr, s.c, addr);
    store_element(k, j.dtype, j.relu, s.q, ok, addr,
                  add_bias(k, sum[x], bias[j.bias_rows ? x % 2 : x / 2]));
  }
  k.place(stores);
}

// The tensor-core form (fp16 and bf16 on sm_80 and later, N a multiple of 8, K even): C^T = B^T
// A^T by mma.m16n8k16, B's columns as the rows of the mma's A operand and A's M <= 8 rows as the
// n8 of its B operand (rows past M read row M - 1 and are not stored). A block of 8 warps owns
// 64 columns; lane (g, t) = (lane / 4, lane % 4) loads its 16 bytes, columns 8 g .. 8 g + 7, of
// rows 2t, 2t + 1, 2t + 8 and 2t + 9 of a K step of 16 (a warp load: 4 rows of 128 bytes), and
// prmt pairs the rows' halves into the A fragments of 4 mma, whose row i of tile q is column
// 8 (i % 8) + 2 q + i / 8 of the strip. The warps take K steps w, w + 8, ..., two before they wait;
// their accumulators are added in shared memory and stored as the SIMT form stores them.
constexpr uint32_t kTcCols = 64, kTcUnroll = 2;

bool tc_form(const GpuCaps& caps, const MatrixJob& j) {
  return caps.sm >= 80 && (j.dtype == DType::fp16 || j.dtype == DType::bf16) && j.n % 8 == 0 &&
         j.k % 2 == 0;
}

std::string gemv_tc_kernel(Emitter& e, const MatrixJob& j) {
  const uint32_t M = uint32_t(j.m), U = kTcUnroll;
  Kernel k(e.caps.sm, matrix_params(j));
  const Setup s = setup(k, j);
  const std::string part = k.shared("part", kWarps * 4 * 32 * 16);
  const TcLane l = tc_lane(k);
  const std::string &warp = l.warp, &g = l.g, &t = l.t;
  const std::string strip = k.reg("r"), col = k.reg("r"), last = k.reg("r"), p = k.reg("p");
  // This thread's column 8 g of the block's strip of 64, clamped to the last 8 of N.
  k("mov.u32 {}, %ctaid.x", strip);
  k("shl.b32 {}, {}, 6", strip, strip);
  k("mad.lo.s32 {}, {}, 8, {}", strip, g, strip);
  k("sub.s32 {}, {}, 8", last, s.n);
  k("min.u32 {}, {}, {}", col, strip, last);
  // B: rows r0 + {0, 1, 8, 9} of step u, r0 = (warp + 8 u) * 16 + 2 t; A: row min(g, M - 1) at
  // column r0.
  const std::string r0 = k.reg("r");
  k("mad.lo.s32 {}, {}, 16, {}", r0, warp, t);
  k("add.s32 {}, {}, {}", r0, r0, t);  // + 2t in all
  std::vector<std::vector<std::string>> pb(U, std::vector<std::string>(4));
  for (uint32_t u = 0; u < U; ++u)
    for (uint32_t x = 0; x < 4; ++x) {
      const std::string r = k.reg("r"), off = k.reg("rd");
      pb[u][x] = k.reg("rd");
      k("add.s32 {}, {}, {}", r, r0, u * kWarps * 16 + (x % 2) + 8 * (x / 2));
      k("mad.lo.s32 {}, {}, {}, {}", r, r, s.n, col);
      k("mul.wide.u32 {}, {}, 2", off, r);
      k("add.s64 {}, {}, {}", pb[u][x], s.b, off);
    }
  const std::string pa = k.reg("rd"), am = k.reg("r");
  {
    const std::string off = k.reg("rd");
    k("min.u32 {}, {}, {}", am, g, M - 1);
    k("mad.lo.s32 {}, {}, {}, {}", am, am, s.kdim, r0);
    k("mul.wide.u32 {}, {}, 2", off, am);
    k("add.s64 {}, {}, {}", pa, s.a, off);
  }
  std::vector<std::string> acc(16);
  for (std::string& r : acc) {
    r = k.reg("f");
    k("mov.f32 {}, 0f00000000", r);
  }
  const char* ty = j.dtype == DType::fp16 ? "f16" : "bf16";
  // One K step: rows[x] the 4 words of row x, act the B fragment (A's pairs at k and k + 8).
  auto multiply = [&](const std::vector<std::vector<std::string>>& rows,
                      const std::vector<std::string>& act) {
    for (uint32_t q = 0; q < 4; ++q) {
      std::vector<std::string> a(4);
      for (uint32_t x = 0; x < 4; ++x) {
        a[x] = k.reg("r");
        // a0: rows 2t, 2t+1 low halves; a1: their high halves; a2, a3: rows 2t+8, 2t+9.
        const uint32_t hi = x % 2, r = 2 * (x / 2);
        k("prmt.b32 {}, {}, {}, {}", a[x], rows[r][q], rows[r + 1][q], hi ? "0x7632" : "0x5410");
      }
      std::string* d = &acc[4 * q];
      k("mma.sync.aligned.m16n8k16.row.col.f32.{}.{}.f32 {{{}, {}, {}, {}}}, {{{}, {}, {}, {}}}, "
        "{{{}, {}}}, {{{}, {}, {}, {}}}",
        ty, ty, d[0], d[1], d[2], d[3], a[0], a[1], a[2], a[3], act[0], act[1], d[0], d[1], d[2],
        d[3]);
    }
  };
  auto load_rows = [&](uint32_t u, const std::vector<std::string>& ok) {
    std::vector<std::vector<std::string>> rows(4, std::vector<std::string>(4));
    for (uint32_t x = 0; x < 4; ++x) {
      for (std::string& r : rows[x]) {
        r = k.reg("r");
        if (!ok.empty()) k("mov.u32 {}, 0", r);
      }
      k("{}ld.global.v4.b32 {}, [{}]", ok.empty() ? "" : "@" + ok[x] + " ", word_list(rows[x]),
        pb[u][x]);
    }
    return rows;
  };
  auto load_act = [&](uint32_t u, const std::vector<std::string>& ok) {
    std::vector<std::string> act(2);
    for (uint32_t x = 0; x < 2; ++x) {
      act[x] = k.reg("r");
      if (!ok.empty()) k("mov.u32 {}, 0", act[x]);
      k("{}ld.global.b32 {}, [{}+{}]", ok.empty() ? "" : "@" + ok[2 * x] + " ", act[x], pa,
        (u * kWarps * 16 + 8 * x) * 2);
    }
    return act;
  };
  // Whole groups of U K steps of every warp, then the rest one step at a time.
  const uint32_t group = U * kWarps * 16;
  const std::string b_step = k.reg("rd");
  k("mul.wide.u32 {}, {}, {}", b_step, s.n, group * 2);
  const KLoop kl = k_loop_begin(k, s, p, group);
  const std::string &k0 = kl.k0, &tail_loop = kl.tail_loop, &done = kl.done;
  {
    std::vector<std::vector<std::vector<std::string>>> rows(U);
    std::vector<std::vector<std::string>> act(U);
    for (uint32_t u = 0; u < U; ++u) rows[u] = load_rows(u, {});
    for (uint32_t u = 0; u < U; ++u) act[u] = load_act(u, {});
    for (uint32_t u = 0; u < U; ++u) multiply(rows[u], act[u]);
  }
  for (const auto& ps : pb)
    for (const std::string& r : ps) k("add.s64 {}, {}, {}", r, r, b_step);
  k("add.s64 {}, {}, {}", pa, pa, group * 2);
  k_loop_next(k, kl, p);
  // This warp's steps from k0 on: rows r0 + k0 + {0, 1, 8, 9} while the step starts inside K.
  const std::string row = k.reg("r"), step0 = k.reg("r"), row_step = k.reg("rd");
  k("add.s32 {}, {}, {}", row, k0, r0);
  k("mul.wide.u32 {}, {}, {}", row_step, s.n, kWarps * 16 * 2);
  k.place(tail_loop);
  k("sub.s32 {}, {}, {}", step0, row, t);
  k("sub.s32 {}, {}, {}", step0, step0, t);
  k("setp.ge.u32 {}, {}, {}", p, step0, s.kdim);  // the warp's step starts past K
  k("@{} bra {}", p, done);
  {
    std::vector<std::string> ok(4);
    for (uint32_t x = 0; x < 4; ++x) {
      const std::string r = k.reg("r");
      ok[x] = k.reg("p");
      k("add.s32 {}, {}, {}", r, row, (x % 2) + 8 * (x / 2));
      k("setp.lt.u32 {}, {}, {}", ok[x], r, s.kdim);
    }
    multiply(load_rows(0, ok), load_act(0, ok));
  }
  for (const std::string& r : pb[0]) k("add.s64 {}, {}, {}", r, r, row_step);
  k("add.s64 {}, {}, {}", pa, pa, kWarps * 16 * 2);
  k("add.s32 {}, {}, {}", row, row, kWarps * 16);
  k("bra.uni {}", tail_loop);
  k.place(done);

  // Tile q's row i is column 8 (i % 8) + 2 q + i / 8 of the strip: d0, d1 at column 8 g + 2 q,
  // d2, d3 at 8 g + 2 q + 1.
  tc_sum_and_store(k, j, s, l, part, 4, acc, strip, 2, 1);
  return e.add(fmt::format("gemv_mma_{}_m{}", dtype_name(j.dtype), M), k);
}

// The tensor-core form reading B in the order of its mma fragments (gemv_reads_b_fragments:
// Layout::mma_fragments, N a multiple of 16 and K of 32; the weights are laid out before the run,
// as inference engines pre-arrange theirs): C^T = B^T A^T as above, the mma's A operand B^T's
// tiles of 16 columns x 32 rows of B, so no prmt. A block of 8 warps owns 32 columns, two mma
// tiles of 16; warp w takes the K chunks of 32 rows w, w + 8, ..., four before it waits for the
// first. Per chunk and tile, lane (g, t) loads 16 bytes, k = 8t .. 8t + 7 of columns g and g + 8
// (each a warp load of 512 contiguous bytes), and the same 16 bytes of A's row min(g, M - 1);
// words 2i and 2i + 1 of each are the fragments of the chunk's mma i (i = 0, 1); B's loads are
// .cg (read once, cached in L2 only). An mma sums
// over its k in any order so long as A and B pair the same k, and they do: lane t's fragment
// pairs k = 2t, 2t + 1 and 2t + 8, 2t + 9 hold rows 8t + 4i .. 8t + 4i + 3 of the chunk on both
// sides. A tile past N reads the last tile and is not stored.
constexpr uint32_t kBtTiles = 2, kBtUnroll = 4;

std::string gemv_tc_bt_kernel(Emitter& e, const MatrixJob& j) {
  const uint32_t M = uint32_t(j.m), U = kBtUnroll, chunk = kWarps * 32;
  const uint32_t tile_bytes = 1024, chunk_step = kWarps * tile_bytes;
  Kernel k(e.caps.sm, matrix_params(j));
  const Setup s = setup(k, j);
  const std::string part = k.shared("part", kWarps * kBtTiles * 32 * 16);
  const TcLane l = tc_lane(k);
  const std::string p = k.reg("p");
  // Tile c of the block: 2 ctaid + c, at most N / 16 - 1; its chunk w at
  // b + (tile K / 32 + w) 1024 + 16 lane. A: row min(g, M - 1), k = 32 w + 8t.
  const std::string col0 = k.reg("r"), last = k.reg("r"), t8 = k.reg("r"), kofs = k.reg("r");
  const std::string chunks = k.reg("r"), first = k.reg("r");
  k("mov.u32 {}, %ctaid.x", col0);
  k("shl.b32 {}, {}, 5", col0, col0);
  k("shr.u32 {}, {}, 4", last, s.n);
  k("sub.s32 {}, {}, 1", last, last);
  k("shr.u32 {}, {}, 5", chunks, s.kdim);
  k("shl.b32 {}, {}, 3", t8, l.t);
  k("mad.lo.s32 {}, {}, 32, {}", kofs, l.warp, t8);
  k("shl.b32 {}, {}, 6", first, l.warp);  // 1024 w / 16
  k("add.s32 {}, {}, {}", first, first, l.lane);
  std::vector<std::string> pb(kBtTiles);
  for (uint32_t c = 0; c < kBtTiles; ++c) {
    const std::string r = k.reg("r"), off = k.reg("rd");
    pb[c] = k.reg("rd");
    k("shr.u32 {}, {}, 4", r, col0);
    k("add.s32 {}, {}, {}", r, r, c);
    k("min.u32 {}, {}, {}", r, r, last);
    k("mul.lo.s32 {}, {}, {}", r, r, chunks);
    k("shl.b32 {}, {}, 6", r, r);  // 1024 / 16
    k("add.s32 {}, {}, {}", r, r, first);
    k("mul.wide.u32 {}, {}, 16", off, r);
    k("add.s64 {}, {}, {}", pb[c], s.b, off);
  }
  k("add.s32 {}, {}, {}", col0, col0, l.g);
  const std::string pa = k.reg("rd");
  {
    const std::string am = k.reg("r"), off = k.reg("rd");
    k("min.u32 {}, {}, {}", am, l.g, M - 1);
    k("mad.lo.s32 {}, {}, {}, {}", am, am, s.kdim, kofs);
    k("mul.wide.u32 {}, {}, 2", off, am);
    k("add.s64 {}, {}, {}", pa, s.a, off);
  }
  std::vector<std::string> acc(4 * kBtTiles);
  for (std::string& r : acc) {
    r = k.reg("f");
    k("mov.f32 {}, 0f00000000", r);
  }
  const char* ty = j.dtype == DType::fp16 ? "f16" : "bf16";
  // 16 bytes at [ptr + off] in 4 fresh registers; `stream`: cached in L2 only (.cg), for B, read
  // once, that would only evict A from L1.
  auto load4 = [&](const std::string& ptr, uint32_t off, bool stream) {
    std::vector<std::string> w(4);
    for (std::string& r : w) r = k.reg("r");
    k("ld.global{}.v4.b32 {}, [{}+{}]", stream ? ".cg" : "", word_list(w), ptr, off);
    return w;
  };
  // Chunk u of this pass: the two halves of each tile, then A's words; then the mma.
  auto chunk_loads = [&](uint32_t u) {
    std::vector<std::vector<std::string>> rows;
    for (const std::string& b : pb)
      for (uint32_t h = 0; h < 2; ++h) rows.push_back(load4(b, u * chunk_step + h * 512, true));
    return rows;
  };
  auto multiply = [&](const std::vector<std::vector<std::string>>& rows,
                      const std::vector<std::string>& act) {
    for (uint32_t c = 0; c < kBtTiles; ++c)
      for (uint32_t i = 0; i < 2; ++i) {
        const std::string* d = &acc[4 * c];
        const std::vector<std::string>&r0 = rows[2 * c], &r8 = rows[2 * c + 1];
        k("mma.sync.aligned.m16n8k16.row.col.f32.{}.{}.f32 {{{}, {}, {}, {}}}, {{{}, {}, {}, "
          "{}}}, {{{}, {}}}, {{{}, {}, {}, {}}}",
          ty, ty, d[0], d[1], d[2], d[3], r0[2 * i], r8[2 * i], r0[2 * i + 1], r8[2 * i + 1],
          act[2 * i], act[2 * i + 1], d[0], d[1], d[2], d[3]);
      }
  };
  // Whole groups of U chunks of every warp, then the rest one chunk at a time.
  const uint32_t group = U * chunk;
  const KLoop kl = k_loop_begin(k, s, p, group);
  const std::string &k0 = kl.k0, &tail_loop = kl.tail_loop, &done = kl.done;
  {
    std::vector<std::vector<std::vector<std::string>>> rows(U);
    std::vector<std::vector<std::string>> act(U);
    for (uint32_t u = 0; u < U; ++u) rows[u] = chunk_loads(u);
    for (uint32_t u = 0; u < U; ++u) act[u] = load4(pa, u * chunk * 2, false);
    for (uint32_t u = 0; u < U; ++u) multiply(rows[u], act[u]);
  }
  for (const std::string& r : pb) k("add.s64 {}, {}, {}", r, r, U * chunk_step);
  k("add.s64 {}, {}, {}", pa, pa, group * 2);
  k_loop_next(k, kl, p);
  // This warp's chunks from k0 on while they start inside K (K is whole chunks).
  const std::string row = k.reg("r");
  k("add.s32 {}, {}, {}", row, k0, kofs);
  k("sub.s32 {}, {}, {}", row, row, t8);
  k.place(tail_loop);
  k("setp.ge.u32 {}, {}, {}", p, row, s.kdim);
  k("@{} bra {}", p, done);
  multiply(chunk_loads(0), load4(pa, 0, false));
  for (const std::string& r : pb) k("add.s64 {}, {}, {}", r, r, chunk_step);
  k("add.s64 {}, {}, {}", pa, pa, chunk * 2);
  k("add.s32 {}, {}, {}", row, row, chunk);
  k("bra.uni {}", tail_loop);
  k.place(done);
  // Tile c's row i is column col0 + 16 c + 8 (i / 8): d0, d1 at col0 + 16 c, d2, d3 at + 8.
  tc_sum_and_store(k, j, s, l, part, kBtTiles, acc, col0, 16, 8);
  return e.add(fmt::format("gemv_mma_frag_{}_m{}", dtype_name(j.dtype), M), k);
}

}  // namespace

bool gemv_takes(const GpuCaps& caps, const MatrixJob& j, bool tensor_cores) {
  if (j.conv) return false;
  if (tc_form(caps, j)) return j.m <= 8;
  return j.m <= (tensor_cores ? kMaxTensorRows : kMaxRows);
}

bool gemv_reads_b_fragments(const GpuCaps& caps, const Graph& g, const Node& n) {
  if (n.kind != OpKind::gemm && n.kind != OpKind::matmul) return false;
  const TensorInfo& b = g.tensor(n.inputs[1]);
  if (!b.is_param || b.shape.size() != 2) return false;
  const MatrixJob j = matrix_job(g, n);
  return tc_form(caps, j) && j.m <= 8 && j.n % 16 == 0 && j.k % 32 == 0 && j.batch == 1 && !j.conv;
}

void emit_gemv(Emitter& e, const MatrixJob& j) {
  if (j.b_fragments) {
    e.launch(gemv_tc_bt_kernel(e, j), {uint32_t((j.n + 31) / 32), 1, uint32_t(j.batch * j.groups)},
             {kThreads, 1, 1}, 0, matrix_args(e, j));
    return;
  }
  if (tc_form(e.caps, j)) {
    e.launch(gemv_tc_kernel(e, j),
             {uint32_t((j.n + kTcCols - 1) / kTcCols), 1, uint32_t(j.batch * j.groups)},
             {kThreads, 1, 1}, 0, matrix_args(e, j));
    return;
  }
  const GemvTile g = gemv_tile(e.caps, j);
  const std::string entry = gemv_kernel(e, j, g);
  e.launch(entry, {uint32_t((j.n + g.cols() - 1) / g.cols()), 1, uint32_t(j.batch * j.groups)},
           {kThreads, 1, 1}, 0, matrix_args(e, j));
}

}  // namespace xpusim::compiler::gpu
