// The GPU target's attention: one fused kernel, flash-attention style: a block per (batch, head,
// tile of query rows) walks the keys in tiles staged through shared memory, keeping each row's
// running maximum and sum (online softmax) and its output in registers, so that S and P never
// leave the SM. S is kept in f32 (exponentials in base 2, the scale folded with log2 e);
// P V accumulates in f32 and the output is rounded once.
//
// - SIMT (every preset, any head_dim up to 128): 4 warps of 4 query rows each, key tiles of
//   32 in shared memory as f32; a lane takes a key for S = q k (vector loads of the q row, a
//   broadcast, and of its key's row) and a pair of output columns for P V (each p handed round
//   the warp with a shuffle). P stays in f32.
// - Tensor cores (sm_80 and later, head_dim a multiple of 8 up to 128): see lower_mma below.
#include <algorithm>
#include <array>
#include <cmath>

#include "compiler/targets/gpu/kernel.h"

namespace xpusim::compiler::gpu {
namespace {

const char* const kNegInf = "0fFF800000";
constexpr double kLog2e = 1.4426950408889634;

// The shapes of one attention node and the addressing of its heads.
struct Shape {
  AttentionDims d;
  DType dtype = DType::bf16;
  double scale = 0;  // of S, times log2 e
  bool causal = false;
};

Shape shape_of(const Emitter& e, const Node& n) {
  Shape s;
  s.d = attention_dims(e.g, n);
  s.dtype = e.g.tensor(n.inputs[0]).dtype;
  const double scale = n.attrs.scale != 0 ? n.attrs.scale : 1.0 / std::sqrt(double(s.d.head_dim));
  s.scale = scale * kLog2e;
  s.causal = n.attrs.causal;
  return s;
}

// Registers common to both kernels: the global pointers and the block's head and query tile.
struct Head {
  std::string q, k, v, out;  // "rd": Q's and the output's first row of the tile, K's and V's
                             // first row of the head
  std::string q0;            // "r": the tile's first query row
};

// Sets up the block's pointers: grid (query tiles, heads, batch), `rows` query rows a tile.
Head head_pointers(Kernel& k, const Shape& s, uint32_t rows) {
  Head h;
  const int64_t es = dtype_size(s.dtype), D = s.d.head_dim;
  const std::string tile = k.reg("r"), head = k.reg("r"), b = k.reg("r"), qh = k.reg("r"),
                    kvh = k.reg("r");
  k("mov.u32 {}, %ctaid.x", tile);
  k("mov.u32 {}, %ctaid.y", head);
  k("mov.u32 {}, %ctaid.z", b);
  h.q0 = k.reg("r");
  k("mul.lo.s32 {}, {}, {}", h.q0, tile, rows);
  // Q row (b * heads + head) * sq + q0; K row (b * kv_heads + head / group) * skv.
  k("mad.lo.s32 {}, {}, {}, {}", qh, b, s.d.heads, head);
  k("mad.lo.s32 {}, {}, {}, {}", qh, qh, s.d.seq_q, h.q0);
  k("div.u32 {}, {}, {}", kvh, head, s.d.heads / s.d.kv_heads);
  k("mad.lo.s32 {}, {}, {}, {}", kvh, b, s.d.kv_heads, kvh);
  k("mul.lo.s32 {}, {}, {}", kvh, kvh, s.d.seq_kv);
  std::string* ptr[4] = {&h.q, &h.k, &h.v, &h.out};
  const char* names[4] = {"q", "k", "v", "out"};
  for (int i = 0; i < 4; ++i) {
    const std::string g = k.reg("rd");
    k("cvta.to.global.u64 {}, {}", g, k.param(names[i]));
    *ptr[i] = k.address(g, i == 0 || i == 3 ? qh : kvh, uint32_t(D * es));
  }
  return h;
}

// The number of key tiles of `cols` keys the block's query rows [q0, q0 + rows) see: all of
// them, or (causal) up to the last row's last visible key.
std::string key_tiles(Kernel& k, const Shape& s, const Head& h, uint32_t rows, uint32_t cols) {
  const int64_t all = (s.d.seq_kv + cols - 1) / cols;
  const std::string n = k.reg("r");
  if (!s.causal) {
    k("mov.u32 {}, {}", n, all);
    return n;
  }
  // last key = min(q0 + rows - 1, sq - 1) + skv - sq; tiles = last / cols + 1
  k("add.s32 {}, {}, {}", n, h.q0, rows - 1);
  k("min.u32 {}, {}, {}", n, n, s.d.seq_q - 1);
  k("add.s32 {}, {}, {}", n, n, s.d.seq_kv - s.d.seq_q);
  k("div.u32 {}, {}, {}", n, n, cols);
  k("add.s32 {}, {}, 1", n, n);
  return n;
}

// The elements per vector access of a row of d elements: 8, 4 or 2 (whole words), or 1.
uint32_t row_vector(int64_t d, DType t) {
  uint32_t vec = uint32_t(16 / dtype_size(t));
  while (vec > 1 && d % vec != 0) vec /= 2;
  return vec * dtype_size(t) < 4 ? 1 : vec;
}

// A tile of `rows` rows of d elements copied from global memory (row-major) into shared memory
// as f32 in two steps, so that the loads of several tiles are in flight together: issue_tile
// loads (the block's threads take consecutive vectors), store_tile converts and stores.
struct TileChunk {
  std::string row, col;          // its row and vector within the row
  std::string in;                // predicate: the row is one to read (else its values are zero)
  std::string store;             // predicate: the chunk is part of the tile
  std::vector<std::string> raw;  // as loaded
};

// Loads the tile at global `src`; rows at and past `valid` (a register) read the tile's first
// vector instead and are zero.
std::vector<TileChunk> issue_tile(Kernel& k, const Shape& s, uint32_t threads,
                                  const std::string& tid, const std::string& src,
                                  const std::string& valid, uint32_t rows) {
  const int64_t D = s.d.head_dim;
  const uint32_t vec = row_vector(D, s.dtype), per_row = uint32_t(D / vec);
  const uint32_t total = rows * per_row, es = uint32_t(dtype_size(s.dtype));
  std::vector<TileChunk> chunks;
  for (uint32_t first = 0; first < total; first += threads) {
    TileChunk ch{k.reg("r"), k.reg("r"), k.reg("p"), "", {}};
    const std::string c = k.reg("r");
    k("add.s32 {}, {}, {}", c, tid, first);
    k("div.u32 {}, {}, {}", ch.row, c, per_row);
    k("mad.lo.s32 {}, {}, {}, {}", ch.col, ch.row, -int64_t(per_row), c);
    k("setp.lt.u32 {}, {}, {}", ch.in, ch.row, valid);
    if (first + threads > total) {
      ch.store = k.reg("p");
      k("setp.lt.u32 {}, {}, {}", ch.store, c, total);
      k("and.pred {}, {}, {}", ch.in, ch.in, ch.store);
    }
    const std::string at = k.address(src, c, vec * es);
    k("selp.b64 {}, {}, {}, {}", at, at, src, ch.in);
    ch.raw = vec == 1 ? std::vector<std::string>{k.load_element(s.dtype, at)}
                      : load_words(k, at, vec * es / 4);
    chunks.push_back(std::move(ch));
  }
  return chunks;
}

// Stores the tile issue_tile loaded at shared `dst` (a "r" register), rows `stride` floats
// apart, each value times `mul` (empty: 1).
void store_tile(Kernel& k, const Shape& s, const std::vector<TileChunk>& chunks,
                const std::string& dst, uint32_t stride, const std::string& mul) {
  const uint32_t vec = row_vector(s.d.head_dim, s.dtype);
  for (const TileChunk& ch : chunks) {
    std::vector<std::string> v = vec == 1 ? std::vector<std::string>{k.to_f32(s.dtype, ch.raw[0])}
                                          : unpack_words(k, s.dtype, ch.raw);
    for (std::string& x : v) {
      if (!mul.empty()) k("mul.rn.f32 {}, {}, {}", x, x, mul);
      k("selp.f32 {}, {}, 0f00000000, {}", x, x, ch.in);
    }
    const std::string off = k.reg("r");  // dst + 4 (row * stride + col * vec)
    k("mul.lo.s32 {}, {}, {}", off, ch.row, stride);
    k("mad.lo.s32 {}, {}, {}, {}", off, ch.col, vec, off);
    k("mad.lo.s32 {}, {}, 4, {}", off, off, dst);
    const std::string guard = ch.store.empty() ? "" : "@" + ch.store + " ";
    for (uint32_t i = 0; i < vec; i += std::min<uint32_t>(vec, 4)) {
      const uint32_t n = std::min<uint32_t>(vec, 4);
      const std::string list = word_list({v.begin() + i, v.begin() + i + n});
      k("{}st.shared{}.f32 [{}+{}], {}", guard, n == 1 ? "" : fmt::format(".v{}", n), off, 4 * i,
        list);
    }
  }
}

// Launches an attention kernel: a block per `rows` query rows of each head and batch.
void launch(Emitter& e, const Node& n, const Shape& s, const std::string& entry, uint32_t rows,
            uint32_t threads) {
  e.launch(entry,
           {uint32_t((s.d.seq_q + rows - 1) / rows), uint32_t(s.d.heads), uint32_t(s.d.batch)},
           {threads, 1, 1}, 0,
           {e.addr(n.inputs[0]), e.addr(n.inputs[1]), e.addr(n.inputs[2]), e.addr(n.outputs[0])});
}

constexpr uint32_t kSimtWarps = 4, kSimtRows = 4, kSimtKeys = 32;

void lower_simt(Emitter& e, const Node& n, const Shape& s) {
  const int64_t D = s.d.head_dim;
  const uint32_t threads = 32 * kSimtWarps, rows = kSimtWarps * kSimtRows;
  const uint32_t d4 = uint32_t((D + 3) / 4 * 4);
  const uint32_t ks = d4 + 4;                        // K rows, floats apart
  const uint32_t vs = uint32_t((D + 63) / 64 * 64);  // V rows: a column pair per lane
  const uint32_t pairs = vs / 64;                    // column pairs per lane
  Kernel k(e.caps.sm, {{"u64", "q"}, {"u64", "k"}, {"u64", "v"}, {"u64", "out"}});
  const Head h = head_pointers(k, s, rows);
  const std::string qs_name = k.shared("q_tile", 4 * rows * d4);
  const std::string ks_name = k.shared("k_tile", 4 * kSimtKeys * ks);
  const std::string vs_name = k.shared("v_tile", 4 * kSimtKeys * vs);
  const std::string tid = k.reg("r"), lane = k.reg("r"), warp = k.reg("r");
  k("mov.u32 {}, %tid.x", tid);
  k("and.b32 {}, {}, 31", lane, tid);
  k("shr.u32 {}, {}, 5", warp, tid);
  const std::string qs = k.reg("r"), kss = k.reg("r"), vss = k.reg("r");
  k("mov.u32 {}, {}", qs, qs_name);
  k("mov.u32 {}, {}", kss, ks_name);
  k("mov.u32 {}, {}", vss, vs_name);
  // The padding columns of Q and K between D and the next multiple of 4 are read as zeros.
  if (d4 != D) {
    const std::string p = k.reg("p"), at = k.reg("r"), skip = k.label();
    k("setp.ge.u32 {}, {}, {}", p, tid, kSimtKeys);
    k("@{} bra.uni {}", p, skip);
    k("mad.lo.s32 {}, {}, {}, {}", at, tid, 4 * ks, kss);
    for (int64_t c = D; c < d4; ++c) k("st.shared.f32 [{}+{}], 0f00000000", at, 4 * c);
    k("setp.ge.u32 {}, {}, {}", p, tid, rows);
    k("@{} bra {}", p, skip);
    k("mad.lo.s32 {}, {}, {}, {}", at, tid, 4 * d4, qs);
    for (int64_t c = D; c < d4; ++c) k("st.shared.f32 [{}+{}], 0f00000000", at, 4 * c);
    k.place(skip);
  }
  const std::string qvalid = k.reg("r");
  k("sub.s32 {}, {}, {}", qvalid, s.d.seq_q, h.q0);
  store_tile(k, s, issue_tile(k, s, threads, tid, h.q, qvalid, rows), qs, d4,
             f32_literal(float(s.scale)));
  // Per row of the warp: running max m, this lane's part of the sum l, output columns o.
  std::vector<std::string> m(kSimtRows), l(kSimtRows), limit(kSimtRows);
  std::vector<std::vector<std::string>> o(kSimtRows);
  for (uint32_t r = 0; r < kSimtRows; ++r) {
    m[r] = k.reg("f");
    l[r] = k.reg("f");
    k("mov.f32 {}, {}", m[r], kNegInf);
    k("mov.f32 {}, 0f00000000", l[r]);
    for (uint32_t c = 0; c < 2 * pairs; ++c) {
      o[r].push_back(k.reg("f"));
      k("mov.f32 {}, 0f00000000", o[r].back());
    }
    // The last key row r sees: i + skv - sq (causal), at most skv - 1.
    limit[r] = k.reg("r");
    if (s.causal) {
      k("mad.lo.s32 {}, {}, {}, {}", limit[r], warp, kSimtRows, h.q0);
      k("add.s32 {}, {}, {}", limit[r], limit[r], int64_t(r) + s.d.seq_kv - s.d.seq_q);
      k("min.u32 {}, {}, {}", limit[r], limit[r], s.d.seq_kv - 1);
    } else {
      k("mov.u32 {}, {}", limit[r], s.d.seq_kv - 1);
    }
  }
  const std::string tiles = key_tiles(k, s, h, rows, kSimtKeys);
  const std::string t = k.reg("r"), key0 = k.reg("r"), kvalid = k.reg("r"), loop = k.label();
  const std::string kt = k.reg("rd"), vt = k.reg("rd");
  k("mov.u32 {}, 0", t);
  k.place(loop);
  k("mul.lo.s32 {}, {}, {}", key0, t, kSimtKeys);
  k("sub.s32 {}, {}, {}", kvalid, s.d.seq_kv, key0);
  {
    const std::string off = k.reg("rd");
    k("mul.wide.u32 {}, {}, {}", off, key0, uint32_t(D * dtype_size(s.dtype)));
    k("add.s64 {}, {}, {}", kt, h.k, off);
    k("add.s64 {}, {}, {}", vt, h.v, off);
  }
  k("bar.sync 0");  // the last tile's readers are done
  {
    const std::vector<TileChunk> kc = issue_tile(k, s, threads, tid, kt, kvalid, kSimtKeys);
    const std::vector<TileChunk> vc = issue_tile(k, s, threads, tid, vt, kvalid, kSimtKeys);
    store_tile(k, s, kc, kss, ks, "");
    store_tile(k, s, vc, vss, vs, "");
  }
  k("bar.sync 0");
  const std::string key = k.reg("r"), krow = k.reg("r"), vcol = k.reg("r");
  k("add.s32 {}, {}, {}", key, key0, lane);
  k("mad.lo.s32 {}, {}, {}, {}", krow, lane, 4 * ks, kss);
  k("mad.lo.s32 {}, {}, 8, {}", vcol, lane, vss);
  for (uint32_t r = 0; r < kSimtRows; ++r) {
    // s = q . k for this lane's key (q pre-scaled), -inf where the key is hidden
    const std::string qrow = k.reg("r");
    k("mad.lo.s32 {}, {}, {}, {}", qrow, warp, 4 * kSimtRows * d4, qs);
    std::string acc;
    for (uint32_t c = 0; c < d4; c += 4) {
      std::string a[4], b[4];
      for (int i = 0; i < 4; ++i) a[i] = k.reg("f"), b[i] = k.reg("f");
      k("ld.shared.v4.f32 {{{}, {}, {}, {}}}, [{}+{}]", a[0], a[1], a[2], a[3], qrow,
        4 * (r * d4 + c));
      k("ld.shared.v4.f32 {{{}, {}, {}, {}}}, [{}+{}]", b[0], b[1], b[2], b[3], krow, 4 * c);
      for (int i = 0; i < 4; ++i) {
        const std::string x = k.reg("f");
        if (acc.empty())
          k("mul.rn.f32 {}, {}, {}", x, a[i], b[i]);
        else
          k("fma.rn.f32 {}, {}, {}, {}", x, a[i], b[i], acc);
        acc = x;
      }
    }
    const std::string hide = k.reg("p");
    k("setp.gt.u32 {}, {}, {}", hide, key, limit[r]);
    k("selp.f32 {}, {}, {}, {}", acc, kNegInf, acc, hide);
    const std::string mt = butterfly(k, "max.f32", acc, 32);
    const std::string mn = k.reg("f"), corr = k.reg("f"), p = k.reg("f");
    k("max.f32 {}, {}, {}", mn, m[r], mt);
    k("sub.rn.f32 {}, {}, {}", corr, m[r], mn);
    k("ex2.approx.ftz.f32 {}, {}", corr, corr);
    k("sub.rn.f32 {}, {}, {}", p, acc, mn);
    k("ex2.approx.ftz.f32 {}, {}", p, p);
    k("mov.f32 {}, {}", m[r], mn);
    k("fma.rn.f32 {}, {}, {}, {}", l[r], l[r], corr, p);
    for (std::string& x : o[r]) k("mul.rn.f32 {}, {}, {}", x, x, corr);
    for (uint32_t j = 0; j < kSimtKeys; ++j) {
      const std::string pj = k.reg("f");
      k("shfl.sync.idx.b32 {}, {}, {}, 31, -1", pj, p, j);
      for (uint32_t q = 0; q < pairs; ++q) {
        const std::string v0 = k.reg("f"), v1 = k.reg("f");
        k("ld.shared.v2.f32 {{{}, {}}}, [{}+{}]", v0, v1, vcol, 4 * (j * vs + 64 * q));
        k("fma.rn.f32 {}, {}, {}, {}", o[r][2 * q], pj, v0, o[r][2 * q]);
        k("fma.rn.f32 {}, {}, {}, {}", o[r][2 * q + 1], pj, v1, o[r][2 * q + 1]);
      }
    }
  }
  const std::string more = k.reg("p");
  k("add.s32 {}, {}, 1", t, t);
  k("setp.lt.u32 {}, {}, {}", more, t, tiles);
  k("@{} bra.uni {}", more, loop);
  // out = o / l (l summed over the lanes), rows below sq, columns below D
  const std::string done = k.label();
  for (uint32_t r = 0; r < kSimtRows; ++r) {
    const std::string sum = butterfly(k, "add.rn.f32", l[r], 32);
    const std::string inv = k.reg("f"), row = k.reg("r"), p = k.reg("p");
    k("rcp.rn.f32 {}, {}", inv, sum);
    k("mad.lo.s32 {}, {}, {}, {}", row, warp, kSimtRows, r);
    const std::string grow = k.reg("r");
    k("add.s32 {}, {}, {}", grow, row, h.q0);
    k("setp.ge.u32 {}, {}, {}", p, grow, s.d.seq_q);
    k("@{} bra.uni {}", p, done);  // rows go up with r
    for (uint32_t q = 0; q < pairs; ++q)
      for (uint32_t c = 0; c < 2; ++c) {
        const std::string col = k.reg("r"), hide = k.reg("p"), skip = k.label();
        k("mad.lo.s32 {}, {}, 2, {}", col, lane, 64 * q + c);
        k("setp.ge.u32 {}, {}, {}", hide, col, D);
        k("@{} bra {}", hide, skip);
        const std::string idx = k.reg("r"), y = k.reg("f");
        k("mad.lo.s32 {}, {}, {}, {}", idx, row, D, col);
        k("mul.rn.f32 {}, {}, {}", y, o[r][2 * q + c], inv);
        k.store_f32(s.dtype, k.address(h.out, idx, uint32_t(dtype_size(s.dtype))), y);
        k.place(skip);
      }
  }
  k.place(done);
  launch(e, n, s, e.add(fmt::format("attention_simt_{}", dtype_name(s.dtype)), k), rows, threads);
}

// Tensor cores (sm_80 and later; fp16 or bf16, head_dim a multiple of 8 up to 128), as
// FlashAttention-2 does: 4 warps of 16 query rows each (a tile of 64 rows), Q's fragments held in
// registers (head_dim padded to a multiple of 16 with zeros), K and V tiles of `keys` rows
// (64, or 32 when head_dim is above 64) copied with cp.async into two stages of shared memory (the
// next tile's copy overlaps this one's work), rows padded by 16 bytes so that ldmatrix reads
// without bank conflicts. Per tile a warp computes S = Q K^T with mma.sync.m16n8k16 (K's
// fragments by ldmatrix), scales and (where the tile needs it) masks S, updates its rows' max
// and sum, rounds P to the op's dtype (the C fragments of S are the A fragments of P V: no
// shared memory) and adds P V (V's fragments by ldmatrix.trans).
void lower_mma(Emitter& e, const Node& n, const Shape& s) {
  const int64_t D = s.d.head_dim;
  const uint32_t threads = 128, rows = 64;
  const uint32_t keys = D > 64 ? 32 : 64;
  const uint32_t dp = uint32_t((D + 15) / 16 * 16);                     // padded head_dim
  const uint32_t rs = 2 * dp + 16;                                      // shared row stride, bytes
  const uint32_t tile_bytes = keys * rs, stage_bytes = 2 * tile_bytes;  // K then V
  const char* ty = s.dtype == DType::fp16 ? "f16" : "bf16";
  const uint32_t ntiles = keys / 8, dtiles = dp / 8;  // n-tiles of S, of O
  Kernel k(e.caps.sm, {{"u64", "q"}, {"u64", "k"}, {"u64", "v"}, {"u64", "out"}});
  const Head h = head_pointers(k, s, rows);
  const std::string smem_name = k.shared("kv_tiles", 2 * stage_bytes, 128);
  const std::string tid = k.reg("r"), lane = k.reg("r"), warp = k.reg("r"), g = k.reg("r"),
                    t4 = k.reg("r"), smem = k.reg("r");
  k("mov.u32 {}, %tid.x", tid);
  k("and.b32 {}, {}, 31", lane, tid);
  k("shr.u32 {}, {}, 5", warp, tid);
  k("shr.u32 {}, {}, 2", g, lane);
  k("and.b32 {}, {}, 3", t4, lane);
  k("mov.u32 {}, {}", smem, smem_name);
  // Zero the padding columns of every K and V row (never copied into).
  if (dp != D) {
    const std::string z = k.reg("r");
    k("mov.b32 {}, 0", z);
    for (uint32_t first = 0; first < 4 * keys; first += threads) {  // a thread per row
      const std::string at = k.reg("r");
      k("add.s32 {}, {}, {}", at, tid, first);
      k("mad.lo.s32 {}, {}, {}, {}", at, at, rs, smem);
      for (int64_t c = D; c < dp; c += 8)
        k("st.shared.v4.b32 [{}+{}], {{{}, {}, {}, {}}}", at, 2 * c, z, z, z, z);
    }
  }
  // Q's A fragments: rows r0 = q0 + 16 warp + g and r0 + 8, columns 16 kk + 2 t4 (+ 8).
  const uint32_t ksteps = dp / 16;
  std::vector<std::array<std::string, 4>> qa(ksteps);
  {
    const std::string r0 = k.reg("r"), base = k.reg("r");
    k("shl.b32 {}, {}, 4", r0, warp);
    k("add.s32 {}, {}, {}", r0, r0, g);  // row within the tile
    k("mul.lo.s32 {}, {}, {}", base, r0, D);
    k("mad.lo.s32 {}, {}, 2, {}", base, t4, base);  // element of (r0, 2 t4)
    const std::string in0 = k.reg("p"), in1 = k.reg("p"), grow = k.reg("r");
    k("add.s32 {}, {}, {}", grow, r0, h.q0);
    k("setp.lt.u32 {}, {}, {}", in0, grow, s.d.seq_q);
    k("add.s32 {}, {}, 8", grow, grow);
    k("setp.lt.u32 {}, {}, {}", in1, grow, s.d.seq_q);
    const std::string a0 = k.address(h.q, base, 2);
    for (uint32_t kk = 0; kk < ksteps; ++kk)
      for (int i = 0; i < 4; ++i) {
        const int64_t col = 16 * kk + 8 * (i / 2);  // + 2 t4
        const int64_t roff = 8 * (i % 2);
        std::string& r = qa[kk][size_t(i)];
        r = k.reg("r");
        k("mov.b32 {}, 0", r);
        if (col >= D) continue;
        k("@{} ld.global.b32 {}, [{}+{}]", i % 2 ? in1 : in0, r, a0, 2 * (roff * D + col));
      }
  }
  // The copy of key tile `t` (a "r" register) into stage `stage` (a "r" byte offset).
  const uint32_t chunks_row = uint32_t(D / 8), chunks = keys * chunks_row;
  const auto copy_tile = [&](const std::string& t, const std::string& stage) {
    const std::string key0 = k.reg("r");
    k("mul.lo.s32 {}, {}, {}", key0, t, keys);
    for (uint32_t first = 0; first < chunks; first += threads) {
      const std::string c = k.reg("r"), row = k.reg("r"), col = k.reg("r"), key = k.reg("r"),
                        size = k.reg("r"), dst = k.reg("r"), p = k.reg("p"), skip = k.label();
      k("add.s32 {}, {}, {}", c, tid, first);
      if (first + threads > chunks) {
        k("setp.ge.u32 {}, {}, {}", p, c, chunks);
        k("@{} bra {}", p, skip);
      }
      k("div.u32 {}, {}, {}", row, c, chunks_row);
      k("mad.lo.s32 {}, {}, {}, {}", col, row, -int64_t(chunks_row), c);
      k("add.s32 {}, {}, {}", key, key0, row);
      // A key past the end copies nothing (the 16 bytes are zero-filled) from the head's start.
      k("setp.lt.u32 {}, {}, {}", p, key, s.d.seq_kv);
      k("selp.b32 {}, 16, 0, {}", size, p);
      k("selp.b32 {}, {}, 0, {}", key, key, p);
      k("mad.lo.s32 {}, {}, {}, {}", dst, row, rs, stage);
      k("mad.lo.s32 {}, {}, 16, {}", dst, col, dst);
      const std::string idx = k.reg("r");
      k("mad.lo.s32 {}, {}, {}, {}", idx, key, chunks_row, col);
      for (int i = 0; i < 2; ++i)
        k("cp.async.cg.shared.global [{}+{}], [{}], 16, {}", dst, i * tile_bytes,
          k.address(i == 0 ? h.k : h.v, idx, 16), size);
      k.place(skip);
    }
    k("cp.async.commit_group");
  };
  const std::string tiles = key_tiles(k, s, h, rows, keys);
  const std::string t = k.reg("r"), stage = k.reg("r"), zero = k.reg("r");
  k("mov.u32 {}, 0", t);
  k("mov.u32 {}, 0", zero);
  copy_tile(zero, smem);
  // Per thread: its two rows' max and partial sum, their limits, O's C fragments.
  std::string m[2], l[2], limit[2];
  for (int r = 0; r < 2; ++r) {
    m[r] = k.reg("f");
    l[r] = k.reg("f");
    limit[r] = k.reg("r");
    k("mov.f32 {}, {}", m[r], kNegInf);
    k("mov.f32 {}, 0f00000000", l[r]);
    if (s.causal) {  // min(i + skv - sq, skv - 1), i = q0 + 16 warp + g + 8 r
      k("mad.lo.s32 {}, {}, 16, {}", limit[r], warp, g);
      k("add.s32 {}, {}, {}", limit[r], limit[r], h.q0);
      k("add.s32 {}, {}, {}", limit[r], limit[r], 8 * r + s.d.seq_kv - s.d.seq_q);
      k("min.s32 {}, {}, {}", limit[r], limit[r], s.d.seq_kv - 1);
    } else {
      k("mov.u32 {}, {}", limit[r], s.d.seq_kv - 1);
    }
  }
  std::vector<std::array<std::string, 4>> o(dtiles);
  for (auto& f : o)
    for (std::string& x : f) {
      x = k.reg("f");
      k("mov.f32 {}, 0f00000000", x);
    }
  // ldmatrix row addresses of this lane within a tile: K (non-transposed) and V (transposed).
  const std::string mi = k.reg("r"), ri = k.reg("r"), koff = k.reg("r"), voff = k.reg("r"),
                    x = k.reg("r");
  k("shr.u32 {}, {}, 3", mi, lane);  // matrix
  k("and.b32 {}, {}, 7", ri, lane);  // its row
  // K: key 8 (m / 2) + r, column 8 (m % 2)
  k("shr.u32 {}, {}, 1", x, mi);
  k("mad.lo.s32 {}, {}, 8, {}", koff, x, ri);
  k("mul.lo.s32 {}, {}, {}", koff, koff, rs);
  k("and.b32 {}, {}, 1", x, mi);
  k("mad.lo.s32 {}, {}, 16, {}", koff, x, koff);
  // V: key 8 (m % 2) + r, column 8 (m / 2)
  k("mad.lo.s32 {}, {}, 8, {}", voff, x, ri);
  k("mul.lo.s32 {}, {}, {}", voff, voff, rs);
  k("shr.u32 {}, {}, 1", x, mi);
  k("mad.lo.s32 {}, {}, 16, {}", voff, x, voff);
  k("add.s32 {}, {}, {}", voff, voff, tile_bytes);
  const std::string loop = k.label();
  k.place(loop);
  {  // the next tile's copy into the other stage (an empty group after the last)
    const std::string next = k.reg("r"), p = k.reg("p"), other = k.reg("r"), skip = k.label();
    k("add.s32 {}, {}, 1", next, t);
    k("setp.ge.u32 {}, {}, {}", p, next, tiles);
    k("@{} bra.uni {}", p, skip);
    k("and.b32 {}, {}, 1", other, next);
    k("mad.lo.s32 {}, {}, {}, {}", other, other, stage_bytes, smem);
    copy_tile(next, other);
    k.place(skip);
    const std::string empty = k.label();
    k("@!{} bra.uni {}", p, empty);
    k("cp.async.commit_group");
    k.place(empty);
  }
  k("cp.async.wait_group 1");
  k("bar.sync 0");
  k("and.b32 {}, {}, 1", stage, t);
  k("mad.lo.s32 {}, {}, {}, {}", stage, stage, stage_bytes, smem);
  const std::string ka = k.reg("r"), va = k.reg("r");
  k("add.s32 {}, {}, {}", ka, stage, koff);
  k("add.s32 {}, {}, {}", va, stage, voff);
  // S = Q K^T: n-tiles of 8 keys, two per ldmatrix.x4
  std::vector<std::array<std::string, 4>> sf(ntiles);
  for (auto& f : sf)
    for (std::string& y : f) {
      y = k.reg("f");
      k("mov.f32 {}, 0f00000000", y);
    }
  const std::string mma = fmt::format("mma.sync.aligned.m16n8k16.row.col.f32.{}.{}.f32", ty, ty);
  const auto frag = [](const std::array<std::string, 4>& f) {
    return fmt::format("{{{}, {}, {}, {}}}", f[0], f[1], f[2], f[3]);
  };
  // acc[0] += a B0 and acc[1] += a B1, B0 and B1 the two n-tiles of 8 of one ldmatrix.x4 `ld`
  // (".trans" or "") at shared [base+off].
  const auto mma_pair = [&](const char* ld, const std::string& base, uint32_t off,
                            const std::array<std::string, 4>& a, std::array<std::string, 4>* acc) {
    std::array<std::string, 4> b;
    for (std::string& y : b) y = k.reg("r");
    k("ldmatrix.sync.aligned.m8n8.x4{}.shared.b16 {}, [{}+{}]", ld, frag(b), base, off);
    for (uint32_t j = 0; j < 2; ++j)
      k("{} {}, {}, {{{}, {}}}, {}", mma, frag(acc[j]), frag(a), b[2 * j], b[2 * j + 1],
        frag(acc[j]));
  };
  for (uint32_t jp = 0; jp < ntiles / 2; ++jp)
    for (uint32_t kk = 0; kk < ksteps; ++kk)
      mma_pair("", ka, 16 * jp * rs + 32 * kk, qa[kk], &sf[2 * jp]);
  for (auto& f : sf)
    for (std::string& y : f) k("mul.rn.f32 {}, {}, {}", y, y, f32_literal(float(s.scale)));
  {  // mask the keys past a row's last visible one, in tiles that hold some
    const std::string key0 = k.reg("r"), last = k.reg("r"), p = k.reg("p"), skip = k.label();
    k("mul.lo.s32 {}, {}, {}", key0, t, keys);
    k("add.s32 {}, {}, {}", last, key0, keys - 1);
    k("setp.le.s32 {}, {}, {}", p, last, limit[0]);  // limit[0] is the least of the block's
    k("@{} bra {}", p, skip);                        // ... of the thread's two rows
    const std::string kb = k.reg("r");
    k("mad.lo.s32 {}, {}, 2, {}", kb, t4, key0);
    for (uint32_t j = 0; j < ntiles; ++j)
      for (int i = 0; i < 4; ++i) {
        const std::string key = k.reg("r"), hide = k.reg("p");
        k("add.s32 {}, {}, {}", key, kb, 8 * j + uint32_t(i % 2));
        k("setp.gt.s32 {}, {}, {}", hide, key, limit[i / 2]);
        k("selp.f32 {}, {}, {}, {}", sf[j][size_t(i)], kNegInf, sf[j][size_t(i)], hide);
      }
    k.place(skip);
  }
  // online softmax per row (r = 0: row g, elements 0 and 1; r = 1: row g + 8, elements 2, 3)
  std::vector<std::array<std::string, 4>> pa(keys / 16);
  for (int r = 0; r < 2; ++r) {
    std::string mx = sf[0][size_t(2 * r)];
    for (uint32_t j = 0; j < ntiles; ++j)
      for (int i = 0; i < 2; ++i) {
        if (j == 0 && i == 0) continue;
        const std::string y = k.reg("f");
        k("max.f32 {}, {}, {}", y, mx, sf[j][size_t(2 * r + i)]);
        mx = y;
      }
    mx = butterfly(k, "max.f32", mx, 4, true);
    const std::string mn = k.reg("f"), corr = k.reg("f");
    k("max.f32 {}, {}, {}", mn, m[r], mx);
    k("sub.rn.f32 {}, {}, {}", corr, m[r], mn);
    k("ex2.approx.ftz.f32 {}, {}", corr, corr);
    k("mov.f32 {}, {}", m[r], mn);
    k("mul.rn.f32 {}, {}, {}", l[r], l[r], corr);
    for (uint32_t j = 0; j < ntiles; ++j)
      for (int i = 0; i < 2; ++i) {
        std::string& y = sf[j][size_t(2 * r + i)];
        k("sub.rn.f32 {}, {}, {}", y, y, mn);
        k("ex2.approx.ftz.f32 {}, {}", y, y);
        k("add.rn.f32 {}, {}, {}", l[r], l[r], y);
      }
    for (auto& f : o)
      for (int i = 0; i < 2; ++i)
        k("mul.rn.f32 {}, {}, {}", f[size_t(2 * r + i)], f[size_t(2 * r + i)], corr);
  }
  // P's A fragments for keys 16 kk .. 16 kk + 15: S n-tiles 2 kk and 2 kk + 1
  for (uint32_t kk = 0; kk < keys / 16; ++kk)
    for (int i = 0; i < 4; ++i) {
      const std::array<std::string, 4>& f = sf[2 * kk + uint32_t(i / 2)];
      std::string& y = pa[kk][size_t(i)];
      y = k.reg("r");
      const size_t e0 = size_t(2 * (i % 2));
      k("cvt.rn.{}x2.f32 {}, {}, {}", ty, y, f[e0 + 1], f[e0]);
    }
  // O += P V: two n-tiles of 8 columns per ldmatrix.x4.trans
  for (uint32_t kk = 0; kk < keys / 16; ++kk)
    for (uint32_t np = 0; np < dtiles / 2; ++np)
      mma_pair(".trans", va, 16 * kk * rs + 32 * np, pa[kk], &o[2 * np]);
  k("bar.sync 0");  // the stage is free for the copy after next
  {
    const std::string p = k.reg("p");
    k("add.s32 {}, {}, 1", t, t);
    k("setp.lt.u32 {}, {}, {}", p, t, tiles);
    k("@{} bra.uni {}", p, loop);
  }
  // out = O / l, l summed over the row's four lanes; rows below sq, columns below D
  const std::string done = k.label();
  for (int r = 0; r < 2; ++r) {
    const std::string sum = butterfly(k, "add.rn.f32", l[r], 4, true);
    l[r] = k.reg("f");
    k("rcp.rn.f32 {}, {}", l[r], sum);
  }
  const std::string row = k.reg("r"), grow = k.reg("r"), idx = k.reg("r");
  k("mad.lo.s32 {}, {}, 16, {}", row, warp, g);
  k("mul.lo.s32 {}, {}, {}", idx, row, D);
  k("mad.lo.s32 {}, {}, 2, {}", idx, t4, idx);
  const std::string at = k.address(h.out, idx, 2);
  for (int r = 0; r < 2; ++r) {
    const std::string p = k.reg("p");
    k("add.s32 {}, {}, {}", grow, row, h.q0);
    if (r == 1) k("add.s32 {}, {}, 8", grow, grow);
    k("setp.ge.u32 {}, {}, {}", p, grow, s.d.seq_q);
    k("@{} bra {}", p, done);  // row g + 8 is past the end too
    for (uint32_t j = 0; j < uint32_t(D / 8); ++j) {
      const std::string y0 = k.reg("f"), y1 = k.reg("f"), w = k.reg("r");
      k("mul.rn.f32 {}, {}, {}", y0, o[j][size_t(2 * r)], l[r]);
      k("mul.rn.f32 {}, {}, {}", y1, o[j][size_t(2 * r + 1)], l[r]);
      k("cvt.rn.{}x2.f32 {}, {}, {}", ty, w, y1, y0);
      k("st.global.b32 [{}+{}], {}", at, 2 * (8 * r * D + 8 * j), w);
    }
  }
  k.place(done);
  launch(e, n, s, e.add(fmt::format("attention_mma_{}", dtype_name(s.dtype)), k), rows, threads);
}

// Decode (one query row, head_dim 32, 64 or 128, fp16 or bf16; every preset): the keys split
// over blocks as flash-decoding does, so that a step's few heads still keep every SM streaming
// K and V. Kernel 1, a block of 4 warps per (split of 128 keys, head, batch), warp w taking keys
// 128 s + 32 w .. + 31:
// - S: per load, L = D / 8 lanes take a key, 16 bytes each (a warp load: 32 / L whole rows of
//   K), multiply by q (f32, pre-scaled by the scale times log2 e, in registers) and add across
//   the L lanes by shuffles; the scores go through shared memory to one key a lane; keys past
//   the end (the last split) read the last key and score -inf;
// - the warp's max m and sum l of p = 2^(s - m) by shuffles;
// - O += p V, a lane per D / 32 columns (a warp load: one row of V), each p broadcast by
//   shfl.idx; every load of K and V is issued before the first is used.
// The 4 warps' (m, l, O) are merged in shared memory and written, O unnormalised, to scratch
// memory (D + 4 floats a split). Kernel 2, a warp per (head, batch), merges the splits
// (rescaling each by 2^(m_s - m)), divides by the sum and rounds once. P stays f32.
constexpr uint32_t kDecodeWarps = 4, kDecodeKeys = 32 * kDecodeWarps;

bool decode_form(const Shape& s) {
  const int64_t D = s.d.head_dim;
  return s.d.seq_q == 1 && (D == 32 || D == 64 || D == 128) &&
         (s.dtype == DType::fp16 || s.dtype == DType::bf16);
}

// The C = D / 32 elements of a lane's columns at [addr]: loaded (as words, or one element), and
// converted to f32.
std::vector<std::string> load_columns(Kernel& k, const Shape& s, const std::string& addr) {
  const uint32_t bytes = uint32_t(s.d.head_dim / 32 * dtype_size(s.dtype));
  if (bytes < 4) return {k.load_element(s.dtype, addr)};
  return load_words(k, addr, bytes / 4);
}
std::vector<std::string> columns_f32(Kernel& k, const Shape& s,
                                     const std::vector<std::string>& raw) {
  if (s.d.head_dim / 32 * dtype_size(s.dtype) < 4) return {k.to_f32(s.dtype, raw[0])};
  return unpack_words(k, s.dtype, raw);
}

void lower_decode(Emitter& e, const Node& n, const Shape& s) {
  const uint32_t D = uint32_t(s.d.head_dim), es = uint32_t(dtype_size(s.dtype));
  const uint32_t L = D / 8, KP = 32 / L, steps = 32 / KP, C = D / 32, row = D * es;
  const uint32_t splits = uint32_t((s.d.seq_kv + kDecodeKeys - 1) / kDecodeKeys);
  const uint32_t rec = (D + 4) * 4;  // a split's record: O, m, l (bytes)
  const std::string scratch = e.scratch(uint64_t(s.d.batch * s.d.heads) * splits * rec);
  {
    Kernel k(e.caps.sm, {{"u64", "q"}, {"u64", "k"}, {"u64", "v"}, {"u64", "part"}});
    const std::string split = k.reg("r"), head = k.reg("r"), b = k.reg("r"), qh = k.reg("r"),
                      kvh = k.reg("r");
    k("mov.u32 {}, %ctaid.x", split);
    k("mov.u32 {}, %ctaid.y", head);
    k("mov.u32 {}, %ctaid.z", b);
    k("mad.lo.s32 {}, {}, {}, {}", qh, b, s.d.heads, head);
    k("div.u32 {}, {}, {}", kvh, head, s.d.heads / s.d.kv_heads);
    k("mad.lo.s32 {}, {}, {}, {}", kvh, b, s.d.kv_heads, kvh);
    k("mul.lo.s32 {}, {}, {}", kvh, kvh, s.d.seq_kv);
    std::string ptr[4];
    const char* names[4] = {"q", "k", "v", "part"};
    for (int i = 0; i < 4; ++i) {
      ptr[i] = k.reg("rd");
      k("cvta.to.global.u64 {}, {}", ptr[i], k.param(names[i]));
    }
    const std::string tid = k.reg("r"), lane = k.reg("r"), warp = k.reg("r"), j = k.reg("r"),
                      piece = k.reg("r"), key0 = k.reg("r");
    k("mov.u32 {}, %tid.x", tid);
    k("and.b32 {}, {}, 31", lane, tid);
    k("shr.u32 {}, {}, 5", warp, tid);
    k("shr.u32 {}, {}, {}", j, lane, __builtin_ctz(L));
    k("and.b32 {}, {}, {}", piece, lane, L - 1);
    k("mad.lo.s32 {}, {}, {}, {}", key0, split, kDecodeKeys, kvh);
    k("mad.lo.s32 {}, {}, 32, {}", key0, warp, key0);  // the warp's first key, a row of K
    // q: this lane's 8 elements, times the scale.
    const std::string qrow = k.address(ptr[0], qh, row);
    std::vector<std::string> q =
        unpack_words(k, s.dtype, load_words(k, k.address(qrow, piece, 16), 4));
    for (std::string& x : q) k("mul.rn.f32 {}, {}, {}", x, x, f32_literal(float(s.scale)));
    const std::string scores_name = k.shared("scores", 4 * 32 * kDecodeWarps);
    const std::string at = k.reg("r"), mine = k.reg("r"), first_piece = k.reg("p");
    k("mov.u32 {}, {}", at, scores_name);
    k("mad.lo.s32 {}, {}, 32, {}", mine, warp, lane);
    k("mad.lo.s32 {}, {}, 4, {}", mine, mine, at);
    k("mad.lo.s32 {}, {}, 32, {}", at, warp, j);
    k("mul.lo.s32 {}, {}, 4", at, at);
    {
      const std::string base = k.reg("r");
      k("mov.u32 {}, {}", base, scores_name);
      k("add.s32 {}, {}, {}", at, at, base);
    }
    k("setp.eq.u32 {}, {}, 0", first_piece, piece);
    const std::string m = k.reg("f"), l = k.reg("f");
    std::vector<std::string> o(C);
    for (std::string& r : o) r = k.reg("f");
    const std::string last_key = k.reg("r");
    k("add.s32 {}, {}, {}", last_key, kvh, s.d.seq_kv - 1);
    // The warp's keys: `clamp` (the last split, when the keys end inside it) reads keys past the
    // end as the last key and scores them -inf.
    auto body = [&](bool clamp) {
      std::vector<std::vector<std::string>> kw(steps), vw(32);
      std::vector<std::string> valid(steps);
      const std::string kj = k.reg("r");
      k("add.s32 {}, {}, {}", kj, key0, j);
      const std::string kbase = clamp ? "" : k.address(k.address(ptr[1], kj, row), piece, 16);
      for (uint32_t i = 0; i < steps; ++i) {
        if (!clamp) {
          kw[i] = load_words(k, fmt::format("{}+{}", kbase, i * KP * row), 4);
          continue;
        }
        const std::string key = k.reg("r");
        valid[i] = k.reg("p");
        k("add.s32 {}, {}, {}", key, kj, i * KP);
        k("setp.le.u32 {}, {}, {}", valid[i], key, last_key);
        k("min.u32 {}, {}, {}", key, key, last_key);
        kw[i] = load_words(k, k.address(k.address(ptr[1], key, row), piece, 16), 4);
      }
      const std::string vbase = clamp ? "" : k.address(k.address(ptr[2], key0, row), lane, C * es);
      for (uint32_t i = 0; i < 32; ++i) {
        if (!clamp) {
          vw[i] = load_columns(k, s, fmt::format("{}+{}", vbase, i * row));
          continue;
        }
        const std::string key = k.reg("r");
        k("add.s32 {}, {}, {}", key, key0, i);
        k("min.u32 {}, {}, {}", key, key, last_key);
        vw[i] = load_columns(k, s, k.address(k.address(ptr[2], key, row), lane, C * es));
      }
      for (uint32_t i = 0; i < steps; ++i) {
        const std::vector<std::string> kv = unpack_words(k, s.dtype, kw[i]);
        std::string dot = k.reg("f");
        k("mul.rn.f32 {}, {}, {}", dot, q[0], kv[0]);
        for (uint32_t x = 1; x < 8; ++x) k("fma.rn.f32 {}, {}, {}, {}", dot, q[x], kv[x], dot);
        dot = butterfly(k, "add.rn.f32", dot, L);
        if (clamp) k("selp.f32 {}, {}, {}, {}", dot, dot, kNegInf, valid[i]);
        k("@{} st.shared.f32 [{}+{}], {}", first_piece, at, 4 * i * KP, dot);
      }
      k("bar.sync 0");
      const std::string sc = k.reg("f"), mu = k.reg("f"), p = k.reg("f"), none = k.reg("p");
      k("ld.shared.f32 {}, [{}]", sc, mine);
      k("mov.f32 {}, {}", m, butterfly(k, "max.f32", sc, 32));
      // A warp with no key (past the end) has m = -inf: its p are 2^(-inf - 0) = 0.
      k("setp.eq.f32 {}, {}, {}", none, m, kNegInf);
      k("selp.f32 {}, 0f00000000, {}, {}", mu, m, none);
      k("sub.rn.f32 {}, {}, {}", p, sc, mu);
      k("ex2.approx.f32 {}, {}", p, p);
      k("mov.f32 {}, {}", l, butterfly(k, "add.rn.f32", p, 32));
      for (const std::string& r : o) k("mov.f32 {}, 0f00000000", r);
      for (uint32_t i = 0; i < 32; ++i) {
        const std::string pi = k.reg("f");
        k("shfl.sync.idx.b32 {}, {}, {}, 31, -1", pi, p, i);
        const std::vector<std::string> v = columns_f32(k, s, vw[i]);
        for (uint32_t c = 0; c < C; ++c) k("fma.rn.f32 {}, {}, {}, {}", o[c], pi, v[c], o[c]);
      }
    };
    if (s.d.seq_kv % kDecodeKeys == 0) {
      body(false);
    } else {
      const std::string p = k.reg("p"), tail = k.label(), merge = k.label();
      k("setp.eq.u32 {}, {}, {}", p, split, splits - 1);
      k("@{} bra.uni {}", p, tail);
      body(false);
      k("bra.uni {}", merge);
      k.place(tail);
      body(true);
      k.place(merge);
    }
    // The warps' (m, l, O) merged by thread c < D (column c; thread 0 also m and l).
    const std::string wm_name = k.shared("warp_m", 4 * kDecodeWarps),
                      wl_name = k.shared("warp_l", 4 * kDecodeWarps),
                      wo_name = k.shared("warp_o", 4 * kDecodeWarps * D);
    const std::string wm = k.reg("r"), wl = k.reg("r"), wo = k.reg("r"), p = k.reg("p");
    const std::string done = k.label();
    k("mov.u32 {}, {}", wm, wm_name);
    k("mov.u32 {}, {}", wl, wl_name);
    k("mov.u32 {}, {}", wo, wo_name);
    {
      const std::string a = k.reg("r"), skip = k.label();
      k("mad.lo.s32 {}, {}, {}, {}", a, warp, 4 * D, wo);
      k("mad.lo.s32 {}, {}, {}, {}", a, lane, 4 * C, a);
      k("st.shared{}.f32 [{}], {}", C == 1 ? "" : fmt::format(".v{}", C), a, word_list(o));
      k("setp.ne.u32 {}, {}, 0", p, lane);
      k("@{} bra {}", p, skip);
      k("mad.lo.s32 {}, {}, 4, {}", a, warp, wm);
      k("st.shared.f32 [{}], {}", a, m);
      k("mad.lo.s32 {}, {}, 4, {}", a, warp, wl);
      k("st.shared.f32 [{}], {}", a, l);
      k.place(skip);
    }
    k("bar.sync 0");
    k("setp.ge.u32 {}, {}, {}", p, tid, D);
    k("@{} bra {}", p, done);
    std::vector<std::string> mw(kDecodeWarps), f(kDecodeWarps);
    std::string big;
    for (uint32_t w = 0; w < kDecodeWarps; ++w) {
      mw[w] = k.reg("f");
      k("ld.shared.f32 {}, [{}+{}]", mw[w], wm, 4 * w);
      if (w == 0) {
        big = mw[0];
        continue;
      }
      const std::string r = k.reg("f");
      k("max.f32 {}, {}, {}", r, big, mw[w]);
      big = r;
    }
    const std::string sum = k.reg("f"), out = k.reg("f"), col = k.reg("r");
    k("mov.f32 {}, 0f00000000", sum);
    k("mov.f32 {}, 0f00000000", out);
    k("mad.lo.s32 {}, {}, 4, {}", col, tid, wo);
    for (uint32_t w = 0; w < kDecodeWarps; ++w) {
      // Warp 0 always has a key, so the max is finite and a warp without one weighs 2^-inf = 0.
      f[w] = k.reg("f");
      k("sub.rn.f32 {}, {}, {}", f[w], mw[w], big);
      k("ex2.approx.f32 {}, {}", f[w], f[w]);
      const std::string lw = k.reg("f"), ow = k.reg("f");
      k("ld.shared.f32 {}, [{}+{}]", lw, wl, 4 * w);
      k("fma.rn.f32 {}, {}, {}, {}", sum, f[w], lw, sum);
      k("ld.shared.f32 {}, [{}+{}]", ow, col, 4 * w * D);
      k("fma.rn.f32 {}, {}, {}, {}", out, f[w], ow, out);
    }
    const std::string recno = k.reg("r");
    k("mad.lo.s32 {}, {}, {}, {}", recno, qh, splits, split);
    const std::string r = k.address(ptr[3], recno, rec);
    const std::string c_at = k.address(r, tid, 4);
    k("st.global.f32 [{}], {}", c_at, out);
    k("setp.ne.u32 {}, {}, 0", p, tid);
    k("@{} bra {}", p, done);
    k("st.global.v2.f32 [{}+{}], {{{}, {}}}", r, 4 * D, big, sum);
    k.place(done);
    e.launch(e.add(fmt::format("attention_decode_{}", dtype_name(s.dtype)), k),
             {splits, uint32_t(s.d.heads), uint32_t(s.d.batch)}, {32 * kDecodeWarps, 1, 1}, 0,
             {e.addr(n.inputs[0]), e.addr(n.inputs[1]), e.addr(n.inputs[2]), scratch});
  }
  // Kernel 2: lane's columns C lane .. C lane + C - 1 over the splits, online.
  Kernel k(e.caps.sm, {{"u64", "part"}, {"u64", "out"}});
  const std::string head = k.reg("r"), b = k.reg("r"), qh = k.reg("r"), lane = k.reg("r");
  k("mov.u32 {}, %ctaid.x", head);
  k("mov.u32 {}, %ctaid.y", b);
  k("mad.lo.s32 {}, {}, {}, {}", qh, b, s.d.heads, head);
  k("mov.u32 {}, %tid.x", lane);
  std::string part = k.reg("rd"), out = k.reg("rd");
  k("cvta.to.global.u64 {}, {}", part, k.param("part"));
  k("cvta.to.global.u64 {}, {}", out, k.param("out"));
  const std::string first = k.reg("r");
  k("mul.lo.s32 {}, {}, {}", first, qh, splits);
  const std::string at = k.address(part, first, rec);
  const std::string cols = k.address(at, lane, 4 * C);
  const std::string big = k.reg("f"), sum = k.reg("f"), i = k.reg("r"), p = k.reg("p");
  std::vector<std::string> o(C);
  for (std::string& r : o) {
    r = k.reg("f");
    k("mov.f32 {}, 0f00000000", r);
  }
  k("mov.f32 {}, {}", big, kNegInf);
  k("mov.f32 {}, 0f00000000", sum);
  k("mov.u32 {}, 0", i);
  const std::string loop = k.label();
  k.place(loop);
  {
    const std::string ms = k.reg("f"), ls = k.reg("f"), nb = k.reg("f"), a = k.reg("f"),
                      w = k.reg("f");
    std::vector<std::string> os(C);
    for (std::string& r : os) r = k.reg("f");
    k("ld.global.v2.f32 {{{}, {}}}, [{}+{}]", ms, ls, at, 4 * D);
    k("ld.global{}.f32 {}, [{}]", C == 1 ? "" : fmt::format(".v{}", C), word_list(os), cols);
    k("max.f32 {}, {}, {}", nb, big, ms);
    k("sub.rn.f32 {}, {}, {}", a, big, nb);  // 2^(-inf) = 0 on the first split
    k("ex2.approx.f32 {}, {}", a, a);
    k("sub.rn.f32 {}, {}, {}", w, ms, nb);
    k("ex2.approx.f32 {}, {}", w, w);
    k("mul.rn.f32 {}, {}, {}", sum, sum, a);
    k("fma.rn.f32 {}, {}, {}, {}", sum, ls, w, sum);
    for (uint32_t c = 0; c < C; ++c) {
      k("mul.rn.f32 {}, {}, {}", o[c], o[c], a);
      k("fma.rn.f32 {}, {}, {}, {}", o[c], os[c], w, o[c]);
    }
    k("mov.f32 {}, {}", big, nb);
  }
  k("add.s64 {}, {}, {}", at, at, rec);
  k("add.s64 {}, {}, {}", cols, cols, rec);
  k("add.s32 {}, {}, 1", i, i);
  k("setp.lt.u32 {}, {}, {}", p, i, splits);
  k("@{} bra {}", p, loop);
  for (std::string& r : o) k("div.rn.f32 {}, {}, {}", r, r, sum);
  const std::string dst = k.address(k.address(out, qh, row), lane, C * es);
  if (C * es < 4)
    k.store_f32(s.dtype, dst, o[0]);
  else
    store_vector(k, s.dtype, dst, o, C * es / 4);
  e.launch(e.add(fmt::format("attention_decode_merge_{}", dtype_name(s.dtype)), k),
           {uint32_t(s.d.heads), uint32_t(s.d.batch), 1}, {32, 1, 1}, 0,
           {scratch, e.addr(n.outputs[0])});
}

void lower_attention(Emitter& e, const Node& n) {
  const Shape s = shape_of(e, n);
  if (s.d.head_dim > 128) e.unsupported(n, "head_dim above 128");
  if (s.d.batch * s.d.heads * s.d.seq_q * s.d.head_dim > INT32_MAX ||
      s.d.batch * s.d.kv_heads * s.d.seq_kv * s.d.head_dim > INT32_MAX)
    e.unsupported(n, "more than 2^31 elements in Q, K or V");
  if (decode_form(s))
    lower_decode(e, n, s);
  else if (e.caps.sm >= 80 && s.d.head_dim % 8 == 0)
    lower_mma(e, n, s);
  else
    lower_simt(e, n, s);
}

const bool registered = register_lowering(OpKind::attention, lower_attention);

}  // namespace
}  // namespace xpusim::compiler::gpu
