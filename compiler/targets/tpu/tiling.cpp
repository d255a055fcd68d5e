// The tiling pass: every node becomes loop nests of tile ops (tile_ir.h) in named on-chip
// regions, with tile sizes chosen from the dataflow and the buffer capacities; and its verifier.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "compiler/targets/tpu/passes.h"
#include "isa/tpu/operands.h"
#include "isa/tpu/semantics.h"

namespace xpusim::compiler::tpu {
namespace {

using isa::tpu::ActFunc;
using isa::tpu::DType;
using isa::tpu::VecFunc;
using xpusim::tpu::Dataflow;

const char* dtype_text(DType d) {
  return dtype_name(d);
}

// A GEMM C (M x N) = A (M x K) * B (K x N) with its operands' places in DRAM.
struct GemmSpec {
  int64_t M = 0, N = 0, K = 0;
  DType dt = DType::int8;
  std::string a_name, b_name, c_name;  // what A, B and C are, for the nest's title
  bool conv = false;                   // a convolution (never run in one step)
  bool a_conv = false;                 // A is the im2col view of an NHWC image at a_addr
  isa::tpu::ConvGeom geom{};           // when a_conv
  // When a_conv: A's rows are those of `images` images (a batch), M / images pixels each, the
  // images `image_bytes` apart from a_addr on.
  uint64_t images = 1, image_bytes = 0;
  uint64_t a_addr = 0, lda = 0;  // lda: bytes between rows of A
  uint64_t b_addr = 0, ldb = 0;  // ldb: bytes between rows of B as stored
  bool b_trans = false;          // B stored as N x K
  uint64_t c_addr = 0, ldc = 0;
  bool c_fp32 = false;  // store the accumulators unrounded (fp32) instead of dt
  int32_t mult = 1, shift = 0;
  bool relu = false;
  std::optional<uint64_t> bias_addr;  // C's bias: N elements of C's dtype in DRAM
  // The first or last GEMM of its core's part of an op (always, but between the heads of an
  // attention): its fill or drain has no neighbour of the op to overlap (cut streams).
  bool edge = true;
  // A part of a GEMM whose K steps the first two cores share (gemm_ksplit): the K columns of A
  // and rows of B from k0 on; never in one step. With `keep`, its fp32 sums stay in ub.O0, row
  // after row, for the other part's to be added, and nothing is stored.
  bool part = false, keep = false;
  uint64_t k0 = 0;
};

// The rows [h0, h0 + rows) of image `img` that a convolution's row block reads, in the UB at
// `at`.
struct Band {
  Place at;
  uint64_t img = 0, h0 = 0, rows = 0;
};

// A run of the rows [m0, m0 + mt) of a batched im2col A within one image: `rows` rows from its
// pixel p0 on, row r of the run's rows.
struct ImagePiece {
  uint64_t img, p0, rows, r;
};
std::vector<ImagePiece> pieces_of(const GemmSpec& s, uint64_t m0, uint64_t mt) {
  const uint64_t pixels = uint64_t(s.M) / s.images;
  std::vector<ImagePiece> v;
  for (uint64_t m = m0; m < m0 + mt;) {
    const uint64_t img = m / pixels, p0 = m % pixels, rows = std::min(pixels - p0, m0 + mt - m);
    v.push_back({img, p0, rows, m - m0});
    m += rows;
  }
  return v;
}

Place ub(Region r, uint64_t index, uint64_t offset = 0) {
  return Place{r, uint32_t(index), offset};
}

class Tiler {
 public:
  Tiler(const Graph& g, const LayoutPlan& plan, const TpuParams& c, const std::string& target)
      : g_(g), plan_(plan), c_(c), target_(target) {
    const uint64_t ub = c.ub_bytes;
    // UB: [A0 | A1 | O0 | O1 | P], P for the norm weights (the widest norm's gamma and beta)
    // and a GEMM's or convolution's bias (the longest).
    for (const auto& n : g.nodes)
      if (n.kind == OpKind::layernorm || n.kind == OpKind::rmsnorm)
        params_bytes_ =
            std::max<uint64_t>(params_bytes_, 2 * uint64_t(g.tensor(n.inputs[0]).shape.back()) * 2);
      else if ((n.kind == OpKind::gemm || n.kind == OpKind::conv2d) && n.inputs.size() == 3)
        params_bytes_ = std::max<uint64_t>(
            params_bytes_,
            (uint64_t(g.tensor(n.inputs[2]).bytes()) + kAlign - 1) / kAlign * kAlign);
    if (params_bytes_ * 2 > ub) params_bytes_ = 0;  // reported when a norm or bias is lowered
    // Accumulators: two regions per array, so an array fills one while the activation
    // pipeline drains the other.
    acc_part_ = c.acc_bytes / (2 * uint64_t(c.count)) / kAlign * kAlign;
    // An output region need not hold more than an accumulator share (a GEMM's output tile is
    // at most that many bytes of fp32, fewer once rounded): up to a quarter of the UB, the
    // rest to the operand regions, so that a row block of A kept across N is as large as can be.
    const uint64_t half = (ub - params_bytes_) / 2;
    o_bytes_ = std::min(half / 2, acc_part_) / kAlign * kAlign;
    a_bytes_ = (half - o_bytes_) / kAlign * kAlign;
    cores_ = c.cores;
  }

  TileProgram run() {
    out_.cores = cores_;
    out_.a_bytes = a_bytes_;
    out_.o_bytes = o_bytes_;
    out_.params_bytes = params_bytes_;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      out_.layers.push_back(TileLayer{int(i), g_.nodes[i].name, {}});
      lower(g_.nodes[i]);
    }
    return std::move(out_);
  }

 private:
  [[noreturn]] void unsupported(const Node& n, const std::string& why) const {
    compiler::unsupported(n, target_, why);
  }

  // A new nest of the current layer, run by `core`; ops go to the last nest made.
  Nest& nest(std::string title, int core = 0) {
    out_.layers.back().nests.push_back(Nest{std::move(title), 0, 0, {}, core});
    return out_.layers.back().nests.back();
  }
  void op(TileOp o) { out_.layers.back().nests.back().ops.push_back(std::move(o)); }
  // " (core c)" on a chip of several cores, for a nest's title.
  std::string on_core(int core) const {
    return cores_ > 1 ? fmt::format(" (core {} of {})", core, cores_) : std::string();
  }

  DType dtype_of(const Node& n, DType t) const {
    if (t == DType::int8) return DType::int8;
    if (t == DType::bf16) return DType::bf16;
    unsupported(n, fmt::format("dtype {} is not a TPU operand type (the TPU target runs int8 "
                               "and bf16, and fp32 GEMM operands)",
                               dtype_name(t)));
  }

  // A GEMM's operand type: also fp32, which the arrays multiply in bf16 passes.
  DType gemm_dtype_of(const Node& n, DType t) const {
    return t == DType::fp32 ? DType::fp32 : dtype_of(n, t);
  }

  void need_array_dtype(const Node& n, DType d) const {
    if (d == DType::int8 ? !c_.int8 : !c_.bf16)
      unsupported(n, fmt::format("the arrays do not multiply {}{}", dtype_text(d),
                                 d == DType::fp32 ? " (fp32 operands need bf16 arrays)" : ""));
  }

  void need_vpu(const Node& n) const {
    if (!c_.vpu) unsupported(n, "the target has no vector unit (vpu.enabled: false)");
  }

  uint64_t addr(int t) const { return plan_.tensors[size_t(t)].addr; }
  const std::string& name(int t) const { return g_.tensor(t).name; }

  void lower(const Node& n) {
    switch (n.kind) {
      case OpKind::gemm:
        return lower_gemm(n);
      case OpKind::matmul:
        return lower_matmul(n);
      case OpKind::conv2d:
        return lower_conv(n);
      case OpKind::pool:
        return lower_pool(n);
      case OpKind::attention:
        return lower_attention(n);
      case OpKind::add:
        return lower_vector(n, VecFunc::add);
      case OpKind::mul:
        return lower_vector(n, VecFunc::mul);
      case OpKind::relu:
        return lower_vector(n, VecFunc::relu);
      case OpKind::gelu:
        return lower_vector(n, VecFunc::gelu);
      case OpKind::silu:
        return lower_vector(n, VecFunc::silu);
      case OpKind::sigmoid:
        return lower_vector(n, VecFunc::sigmoid);
      case OpKind::softmax:
        return lower_vector(n, VecFunc::softmax);
      case OpKind::layernorm:
        return lower_vector(n, VecFunc::layernorm);
      case OpKind::rmsnorm:
        return lower_vector(n, VecFunc::rmsnorm);
      case OpKind::clip:
        return lower_vector(n, VecFunc::maxs);
      case OpKind::reshape:
      case OpKind::transpose:
        return lower_copy(n);
      case OpKind::concat:
      case OpKind::slice:
      case OpKind::kv_append:
        return lower_concat_slice_append(n);
      case OpKind::gather:
        return lower_gather(n);
      case OpKind::rope:
        return lower_rope(n);
    }
  }

  // ---- reshape and transpose: DMA copies, none where the output is the input's bytes ----
  // The most DMA pieces one copy may take (two instructions each).
  static constexpr uint64_t kMaxPieces = uint64_t(1) << 22;

  void lower_copy(const Node& n) {
    const int in = n.inputs[0], out = n.outputs[0];
    if (plan_.alias[size_t(out)] >= 0) return;  // no byte moves (the layout pass aliased it)
    const Layout& li = plan_.tensors[size_t(in)].layout;
    const Layout& lo = plan_.tensors[size_t(out)].layout;
    const TensorInfo& x = g_.tensor(in);
    const TensorInfo& y = g_.tensor(out);
    if (n.kind == OpKind::transpose) {
      copy(n, addr(in), addr(out), transpose_walk(g_, n, li, lo), -1);
    } else if (li.kind != Layout::row_major && lo.kind != Layout::row_major) {
      // Both sides NHWC: through a row-major copy, all on core 0 (the second copy reads what
      // the first wrote).
      const uint64_t mid = plan_.find(out_.layers.back().layer, "R").addr;
      copy(n, addr(in), mid, into_row_major(x, li), 0);
      copy(n, mid, addr(out), from_row_major(y, lo), 0);
    } else if (li.kind != Layout::row_major) {
      copy(n, addr(in), addr(out), into_row_major(x, li), -1);
    } else {
      copy(n, addr(in), addr(out), from_row_major(y, lo), -1);
    }
  }

  // The copy w from DRAM at src to DRAM at dst (contiguous unless w gives dst strides), through
  // the UB: pieces of a 2-D DMA each (rows of a run of elements contiguous on both sides, or of
  // one element when the innermost dim is strided on either), each loaded into a slot of the O
  // regions and stored; the slots form a ring over both regions, so that many small pieces are
  // in flight at once; pieces round robin over the cores (or all on core `only`).
  void copy(const Node& n, uint64_t src, uint64_t dst, const CopyWalk& walk, int only) {
    const uint64_t e = uint64_t(dtype_size(g_.tensor(n.outputs[0]).dtype));
    const CopyWalk w = merged(walk);
    const size_t r = w.ext.size();
    // A piece: `rows` rows of `run` elements, `stride` elements apart from src + off, `dstride`
    // apart to dst + doff.
    struct Piece {
      uint64_t off, doff, rows, run, stride, dstride;
    };
    const bool contiguous = w.stride[r - 1] == 1 && w.dst[r - 1] == 1;
    const uint64_t run = contiguous ? w.ext[r - 1] : 1;
    // The rows of a piece step along the innermost dim but the run's; the dims before that are
    // looped over.
    const size_t inner = contiguous ? r - 1 : r;
    const size_t outer = inner > 0 ? inner - 1 : 0;
    const uint64_t rows = inner > 0 ? w.ext[inner - 1] : 1;
    const uint64_t stride = inner > 0 ? w.stride[inner - 1] : run;
    const uint64_t dstride = inner > 0 ? w.dst[inner - 1] : run;
    // At most an O region per piece: rows cut to fit it, a run longer than it cut in parts.
    const uint64_t cap = o_bytes_ / e;
    const uint64_t part = std::min(run, cap);
    const uint64_t rows_per = run > cap ? 1 : std::min(rows, cap / run);
    if (!part) unsupported(n, "one element does not fit the unified buffer");
    if (std::max(stride, dstride) * e >= (uint64_t(1) << 32) ||
        rows_per * part * e >= (uint64_t(1) << 32))
      unsupported(n, "a DMA stride or transfer of 4 GiB or more");
    uint64_t count = ((rows + rows_per - 1) / rows_per) * ((run + part - 1) / part);
    for (size_t d = 0; d < outer; ++d) count *= w.ext[d];
    if (count > kMaxPieces)
      unsupported(n, fmt::format("a copy of {} DMA pieces (at most {}: the innermost dims move "
                                 "too few elements at a time)",
                                 count, kMaxPieces));
    std::vector<Piece> pieces;
    std::vector<uint64_t> idx(outer, 0);
    for (bool more = true; more;) {
      uint64_t off = 0, doff = 0;
      for (size_t d = 0; d < outer; ++d) off += idx[d] * w.stride[d], doff += idx[d] * w.dst[d];
      for (uint64_t r0 = 0; r0 < rows; r0 += rows_per)
        for (uint64_t c0 = 0; c0 < run; c0 += part)
          pieces.push_back(Piece{off + r0 * stride + c0, doff + r0 * dstride + c0,
                                 std::min(rows_per, rows - r0), std::min(part, run - c0), stride,
                                 dstride});
      more = false;
      for (size_t d = outer; d-- > 0;) {
        if (++idx[d] < w.ext[d]) {
          more = true;
          break;
        }
        idx[d] = 0;
      }
    }
    const uint64_t slot = (rows_per * part * e + kAlign - 1) / kAlign * kAlign;
    const uint64_t per_region = o_bytes_ / slot;
    const int cores = only >= 0 ? 1 : cores_;
    const std::string how =
        contiguous ? fmt::format("runs of {} elements", run) : "single elements";
    const std::string from =
        src == addr(n.inputs[0]) ? name(n.inputs[0]) : fmt::format("{} [{:#x}]", n.name, src);
    for (int c = 0; c < cores && uint64_t(c) < pieces.size(); ++c) {
      const int core = only >= 0 ? only : c;
      nest(fmt::format("copy {} ({}): X = {} [{}] as dims [{}] strides [{}] -> Y [{:#x}] "
                       "strides [{}], {} pieces of {}, a ring of {} slots{}",
                       op_name(n.kind), dtype_name(g_.tensor(n.outputs[0]).dtype), from,
                       fmt::join(walk.ext, "x"), fmt::join(w.ext, ", "), fmt::join(w.stride, ", "),
                       dst, fmt::join(w.dst, ", "), pieces.size(), how, 2 * per_region,
                       on_core(core)),
           core);
      uint64_t t = 0;
      for (size_t i = 0; i < pieces.size(); ++i) {
        const Piece& p = pieces[i];
        if (i % size_t(cores) != size_t(c)) continue;
        const uint64_t j = t++ % (2 * per_region);
        const Place o = ub(Region::O, j / per_region, j % per_region * slot);
        op(Load{DramTile{fmt::format("X(piece {})", i), 0, p.rows, 0, p.run, e, src + p.off * e,
                         p.stride * e, p.stride == p.run},
                o});
        op(Store{o, DramTile{fmt::format("Y(piece {})", i), 0, p.rows, 0, p.run, e,
                             dst + p.doff * e, p.dstride * e, p.dstride == p.run}});
      }
    }
  }

  // concat: each input copied into its block of the output; slice: the elements taken, copied
  // out; kv_append: the new rows copied after the cache's, in place (the output is the cache's
  // bytes, with room for them: the layout pass), so that only they move.
  void lower_concat_slice_append(const Node& n) {
    const auto layout = [&](int t) { return plan_.tensors[size_t(t)].layout; };
    if (n.kind != OpKind::concat)
      for (int t : n.inputs)
        if (layout(t).kind == Layout::nhwc)
          unsupported(n, "an input in NHWC layout (it meets a conv2d or pool)");
    const int out = n.outputs[0];
    const std::vector<int64_t>& ys = g_.tensor(out).shape;
    // concat: in each tensor's layout (row-major or NHWC); the others row-major.
    const std::vector<uint64_t> ystride = layout_strides(ys, layout(out));
    const uint64_t e = uint64_t(dtype_size(g_.tensor(out).dtype));
    auto ext = [](const std::vector<int64_t>& s) {
      return std::vector<uint64_t>(s.begin(), s.end());
    };
    if (n.kind == OpKind::slice) {
      const std::vector<int64_t>& xs = g_.tensor(n.inputs[0]).shape;
      std::vector<uint64_t> st = layout_strides(xs, Layout{});
      const size_t ax = size_t(n.attrs.axis);
      const uint64_t from = addr(n.inputs[0]) + uint64_t(n.attrs.start) * st[ax] * e;
      st[ax] *= uint64_t(n.attrs.step);
      copy(n, from, addr(out), CopyWalk{ext(ys), st, {}}, -1);
      return;
    }
    // concat's inputs one after another along the axis; kv_append's new rows after the cache's.
    const size_t ax = n.kind == OpKind::concat ? size_t(n.attrs.axis) : ys.size() - 2;
    uint64_t offset = 0;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const std::vector<int64_t>& xs = g_.tensor(n.inputs[i]).shape;
      if (n.kind == OpKind::concat || i == 1)
        copy(n, addr(n.inputs[i]), addr(out) + offset * ystride[ax] * e,
             CopyWalk{ext(xs), layout_strides(xs, layout(n.inputs[i])), ystride}, -1);
      offset += uint64_t(xs[ax]);
    }
  }

  // gather: per tile of ids, the ids (int32) loaded into A, then one rdrows DMA that reads table
  // row ids[i] for each (the DMA engine takes each row's address from the UB) into O, stored as
  // consecutive rows of the output. Tiles round robin over the cores.
  void lower_gather(const Node& n) {
    const TensorInfo& tab = g_.tensor(n.inputs[0]);
    const uint64_t V = uint64_t(tab.shape[0]), D = uint64_t(tab.shape[1]);
    const uint64_t e = uint64_t(dtype_size(tab.dtype)), row = D * e;
    const uint64_t count = uint64_t(g_.tensor(n.inputs[1]).elements());
    const uint64_t rt = std::min({count, a_bytes_ / 4, o_bytes_ / row});
    if (!rt) unsupported(n, "one row of the table does not fit a region of the unified buffer");
    if (V > std::numeric_limits<uint32_t>::max() || row >= (uint64_t(1) << 32))
      unsupported(n, "a table of 2^32 rows or more, or a row of 4 GiB");
    const uint64_t ids = addr(n.inputs[1]), table = addr(n.inputs[0]), y = addr(n.outputs[0]);
    for (int core = 0; core < cores_ && rt * uint64_t(core) < count; ++core) {
      nest(fmt::format("gather {}: ids = {} ({} int32), table = {} ({} x {}), Y = {}; tiles of {} "
                       "rows{}",
                       dtype_name(tab.dtype), name(n.inputs[1]), count, tab.name, V, D,
                       name(n.outputs[0]), rt, on_core(core)),
           core);
      for (uint64_t i0 = rt * uint64_t(core), t = 0; i0 < count; i0 += rt * uint64_t(cores_), ++t) {
        const uint64_t r = std::min(rt, count - i0);
        const Place a = ub(Region::A, t % 2), o = ub(Region::O, t % 2);
        op(Load{DramTile{"ids", i0, r, 0, 1, 4, ids + i0 * 4, 4, true}, a});
        op(Lookup{"table", table, D, e, V, a, r, o});
        op(Store{o, DramTile{"Y", i0, r, 0, D, e, y + i0 * row, row, true}});
      }
    }
  }

  // rope on the vector unit, a tile of rows of the two halves at a time: x1 and x2 (rows of d/2,
  // d apart in DRAM) and the tables' rows into A; u = x1 cos, t = x2 sin, t = -t, y1 = u + t,
  // v = x2 cos, w = x1 sin, y2 = v + w in O, each pass rounded to bf16; y1 and y2 stored as the
  // halves of the output's rows. A tile holds rows of one (s, d) matrix (their table rows are
  // consecutive), or with s = 1 (decode) rows of many, the tables' one row repeated by a DMA of
  // stride 0. Tiles round robin over the cores.
  void lower_rope(const Node& n) {
    need_vpu(n);
    const TensorInfo& x = g_.tensor(n.inputs[0]);
    const DType dt = dtype_of(n, x.dtype);
    if (dt != DType::bf16) unsupported(n, "rope runs on bf16 only");
    const uint64_t e = 2, d = uint64_t(x.shape.back()), half = d / 2;
    const uint64_t s = uint64_t(x.shape[x.shape.size() - 2]), rows = uint64_t(x.elements()) / d;
    const uint64_t blk = half * e;  // bytes of a half row
    const uint64_t fit = std::min(a_bytes_ / (4 * blk), o_bytes_ / (3 * blk));
    if (!fit) unsupported(n, "a row does not fit the unified buffer");
    // The tiles: [first row, rows).
    std::vector<std::pair<uint64_t, uint64_t>> tiles;
    if (s == 1) {
      for (uint64_t r0 = 0; r0 < rows; r0 += fit) tiles.push_back({r0, std::min(fit, rows - r0)});
    } else {
      for (uint64_t m0 = 0; m0 < rows; m0 += s)
        for (uint64_t q0 = 0; q0 < s; q0 += fit) tiles.push_back({m0 + q0, std::min(fit, s - q0)});
    }
    const uint64_t X = addr(n.inputs[0]), C = addr(n.inputs[1]), S = addr(n.inputs[2]),
                   Y = addr(n.outputs[0]);
    for (int core = 0; core < cores_ && size_t(core) < tiles.size(); ++core) {
      nest(fmt::format("rope bf16 (theta {}, pos {}): X = {}, tables {} and {}, Y = {}, {} rows of "
                       "{} in halves; {} tiles of up to {} rows{}",
                       n.attrs.theta, n.attrs.pos, x.name, name(n.inputs[1]), name(n.inputs[2]),
                       name(n.outputs[0]), rows, d, tiles.size(), s == 1 ? fit : std::min(fit, s),
                       on_core(core)),
           core);
      for (size_t i = size_t(core), t = 0; i < tiles.size(); i += size_t(cores_), ++t) {
        const uint64_t r0 = tiles[i].first, r = tiles[i].second;
        const uint64_t b = r * blk, q0 = s == 1 ? 0 : r0 % s;
        const uint32_t k = uint32_t(t % 2);
        auto A = [&](uint64_t j) { return ub(Region::A, k, j * b); };
        auto O = [&](uint64_t j) { return ub(Region::O, k, j * b); };
        for (uint64_t h = 0; h < 2; ++h)
          op(Load{DramTile{h ? "X2" : "X1", r0, r, h * half, half, e, X + r0 * d * e + h * blk,
                           d * e, false},
                  A(h)});
        for (uint64_t h = 0; h < 2; ++h)  // s = 1: the one row, r times (stride 0)
          op(Load{DramTile{h ? "sin" : "cos", q0, r, 0, half, e, (h ? S : C) + q0 * blk,
                           s == 1 ? 0 : blk, s != 1},
                  A(2 + h)});
        auto vec = [&](VecFunc f, Place a, std::optional<Place> a2, Place dst, float imm = 0) {
          op(Vector{f, dt, a, a2, dst, r, half, 0, imm, false, false, 0});
        };
        vec(VecFunc::mul, A(0), A(2), O(0));  // x1 cos
        vec(VecFunc::mul, A(1), A(3), O(1));  // x2 sin
        vec(VecFunc::scale, O(1), std::nullopt, O(1), -1.0f);
        vec(VecFunc::add, O(0), O(1), O(0));  // y1
        vec(VecFunc::mul, A(1), A(2), O(1));  // x2 cos
        vec(VecFunc::mul, A(0), A(3), O(2));  // x1 sin
        vec(VecFunc::add, O(1), O(2), O(1));  // y2
        for (uint64_t h = 0; h < 2; ++h)
          op(Store{O(h), DramTile{h ? "Y2" : "Y1", r0, r, h * half, half, e,
                                  Y + r0 * d * e + h * blk, d * e, false}});
      }
    }
  }

  // ---- GEMM: tiles chosen from the dataflow and the buffer capacities ----
  // The chip's DRAM bytes per cycle.
  double dram_bytes_per_cycle() const { return c_.dram_gbps * 1e3 / c_.clock_mhz; }

  // A GEMM's tiles (docs/models/tpu.md, "The tiling rule") and what they leave of the A regions.
  struct Tiles {
    uint64_t Mt = 0, Nt = 0, Kt = 0;  // all 0: no tile fits the buffers
    bool span = false;      // a row block of A kept in both A regions (K tiles in A0, then A1)
    bool onchip = false;    // A formed on chip from bands of the image's rows (im2col)
    uint64_t band_cap = 0;  // bytes of each A region's tail for the bands (onchip)
    uint64_t w_room = 0;    // bytes of each A region's tail that hold kept weights
    uint64_t w_slot = 0;    // a kept weight tile's bytes, aligned
  };

  // The tiles of GEMM `s` whose output tiles `shares` cores share.
  Tiles tiles_of(const GemmSpec& s, uint64_t shares) const {
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(s.dt));
    const uint64_t R = uint64_t(c_.rows), C = uint64_t(c_.cols);
    const uint64_t M = uint64_t(s.M), N = uint64_t(s.N), K = uint64_t(s.K);
    const uint64_t fifo = c_.fifo_tile_bytes;
    const uint64_t eo = s.c_fp32 ? 4 : e;  // output element bytes
    uint64_t Mt = 0, Nt = 0, Kt = 0;
    bool span = false;
    auto lim = [](uint64_t a, uint64_t b) { return b == 0 ? 0 : a / b; };
    uint64_t w_room = 0;  // bytes of each A region's tail that hold kept weights (below)
    const double bw = dram_bytes_per_cycle();
    // The tiles when `a_cap` bytes of each A region take tiles of A; `onchip`: A is formed on
    // chip from a band of the image (moved once whatever the row blocks).
    auto choose = [&](uint64_t a_cap, bool onchip) {
      switch (c_.dataflow) {
        case Dataflow::ws:  // K over rows, N over columns, M streamed
          Kt = std::min(K, R);
          Nt = std::min({N, C, lim(fifo, Kt * e)});
          Mt = std::min({M, lim(acc_part_, Nt * 4), lim(a_cap, Kt * e), lim(o_bytes_, Nt * eo)});
          break;
        case Dataflow::os:  // M over rows, N over columns, K streamed
          Mt = std::min(M, R);
          Nt = std::min(N, C);
          Kt = std::min({K, lim(fifo, Nt * e), lim(a_cap, Mt * e)});
          if (Mt * Nt * 4 > acc_part_ || Mt * Nt * eo > o_bytes_) Mt = 0;
          break;
        case Dataflow::is:  // K over rows, M over columns, N streamed
          Kt = std::min(K, R);
          Mt = std::min(M, C);
          Nt = std::min({N, lim(fifo, Kt * e), lim(acc_part_, Mt * 4), lim(o_bytes_, Mt * eo)});
          if (Mt * Kt * e > a_cap) Mt = 0;
          break;
      }
      span = false;
      if (!Mt || !Nt || !Kt) return;
      // A row block of A that does not fit the UB is loaded again for every group of N tiles.
      // Smaller row blocks that fit (each still streaming at least R rows per weight tile) read
      // A once and B once per block instead: taken when that is faster, the larger of the bytes
      // moved at the DRAM's bandwidth (none where transfers take no time) and the arrays'
      // streams (a weight tile each block, max(R, the block's rows, the weight FIFO's pace)
      // cycles), never when A is formed on chip (its image moves once anyway). A row block may
      // also be kept in both A regions (`span`; its K tiles fill ub.A0, then ub.A1), each block
      // in the same place: the next block's tile then loads once the last matmul that reads the
      // tile it replaces is done, which still overlaps the loads with the products of the
      // tiles' later K steps; taken when its larger blocks move fewer bytes still and the DRAM
      // binds (else the smaller, double-buffered blocks overlap their loads better).
      if (c_.dataflow == Dataflow::ws && !onchip && Mt * K * e > a_cap) {
        const uint64_t groups = (N + Nt * uint64_t(c_.count) - 1) / (Nt * uint64_t(c_.count));
        const uint64_t fit = a_cap / (K * e) / 8 * 8;
        const uint64_t halves = ((K + Kt - 1) / Kt + 1) / 2;  // K tiles in ub.A0
        const uint64_t fit2 = std::min(Mt, a_cap / (halves * Kt * e) / 8 * 8);
        auto blocks = [&](uint64_t rows) { return (M + rows - 1) / rows; };
        const double pace = feed_of(double(Kt * Nt * e), double(shares), false).pace;
        const double tiles = double((K + Kt - 1) / Kt) * double((N + Nt - 1) / Nt) /
                             double(uint64_t(c_.count) * shares);
        auto time = [&](uint64_t moved, uint64_t rows) {
          return std::max(c_.stall_free ? 0.0 : double(moved) / bw,
                          tiles * double(blocks(rows)) * std::max(double(std::max(R, rows)), pace));
        };
        uint64_t bytes = groups * M * K * e + blocks(Mt) * K * N * e;
        if (fit >= R && time(M * K * e + blocks(fit) * K * N * e, fit) < time(bytes, Mt)) {
          bytes = M * K * e + blocks(fit) * K * N * e;
          Mt = fit;
        }
        const double arrays = double((K + R - 1) / R) * double((N + C - 1) / C) * double(M) /
                              double(uint64_t(c_.count) * shares);
        if (fit2 >= R && double(bytes) / bw > arrays &&
            M * K * e + blocks(fit2) * K * N * e < bytes) {
          Mt = fit2;
          span = true;
        }
      }
      // Row blocks of equal size, in a multiple of the cores on a chip of several, so that each
      // core gets the same share and no block is a short remainder (49 rows in blocks of 48
      // would stream 1 row against every weight tile again), while each still streams at
      // least as many rows as loading a weight tile takes (else, on a chip, the cores share
      // the N tiles of fewer blocks).
      if (c_.dataflow == Dataflow::ws) {
        const uint64_t blocks = ((M + Mt - 1) / Mt + shares - 1) / shares * shares;
        const uint64_t rows = std::min(part_rows(M, blocks), Mt);
        if (rows >= R) Mt = rows;
      }
      // A 1x1 convolution whose image is loaded as A and kept, or one gathered from DRAM whose
      // windows do not overlap (a strided 1x1: each element of the image read once at most, as
      // when it is loaded as A): its row blocks by the same estimate (not where transfers take
      // no time: there more blocks only add folds).
      const bool disjoint =
          !s.a_conv || uint64_t(s.geom.r) * s.geom.s <= uint64_t(s.geom.stride_h) * s.geom.stride_w;
      const bool kept_conv = s.conv && disjoint && !span && Mt * K * e <= a_cap && !c_.stall_free;
      if (c_.dataflow == Dataflow::ws && (onchip || kept_conv))
        Mt = pipelined_rows(s, Mt, Nt, shares, onchip, w_room, a_cap);
    };
    // On-chip im2col (lowering.onchip_im2col), for a convolution whose windows overlap (its
    // im2col matrix is larger than the image): each row block's band of image rows is loaded
    // once into the tail of its A region, and the A tiles are formed from it in the UB. The
    // band's room (the largest band of a row block) comes out of the A regions; the tiles are
    // chosen again until the bands of their row blocks fit it.
    const isa::tpu::ConvGeom& g = s.geom;
    const bool overlapping =
        s.a_conv && c_.onchip_im2col && uint64_t(g.r) * g.s > uint64_t(g.stride_h) * g.stride_w;
    bool onchip = false;
    uint64_t band_cap = 0;
    const uint64_t band_row = band_row_bytes(s);
    // The tiles, and the band's room, in the A regions less the kept weights' room.
    auto tile_up = [&] {
      const uint64_t room = a_bytes_ - w_room;
      onchip = overlapping;
      band_cap = 0;
      for (int tries = 0; onchip; ++tries) {
        choose(room - band_cap, true);
        uint64_t need = 0;
        bool empty = false;
        const std::vector<uint64_t> starts =
            Mt ? block_starts(M, Mt, shares) : std::vector<uint64_t>{0};
        for (size_t i = 0; i + 1 < starts.size(); ++i)
          for (const Band& b : bands_of(s, starts[i], starts[i + 1] - starts[i], Place{})) {
            empty = empty || b.rows == 0;
            need = std::max(need, b.at.offset + b.rows * band_row);
          }
        need = (need + kAlign - 1) / kAlign * kAlign;
        if (Mt && !empty && need <= band_cap) break;
        // Else try with room for these bands, or gather from DRAM when none is found.
        if (!Mt || empty || need >= room || tries == 8) onchip = false;
        band_cap = need;
      }
      if (!onchip) choose(room, false);
    };
    tile_up();
    // Weights kept in the UB (lowering.keep_weights; a TPU v4's MXUs take their weights from
    // VMEM): where a core runs several row blocks of a convolution whose A is formed on chip
    // against the same tiles of B, its tiles go in the tail of the A regions (every other one
    // in each), each loaded from DRAM when a block first needs it and fed to the arrays from
    // there (ldweight) by every block, instead of read from DRAM by each. Taken when they fit
    // in half an A region; the tiles are then chosen again with that much less room for A
    // (kept only while A is still formed on chip and a core still runs several blocks). Not
    // where A comes from DRAM: there the weights' loads would queue behind A's on the same DMA,
    // and the 1x1 convolutions of ResNet-50 ran slower so (bench/README.md, "Roofline").
    const uint64_t w_slot = (Kt * Nt * e + kAlign - 1) / kAlign * kAlign;
    auto w_room_of = [&]() -> uint64_t {
      const uint64_t mblocks = (M + Mt - 1) / Mt, ntiles = (N + Nt - 1) / Nt;
      const bool by_rows = mblocks >= shares;
      if ((by_rows ? (mblocks + shares - 1) / shares : mblocks) < 2) return 0;
      const uint64_t tiles =
          (K + Kt - 1) / Kt * (by_rows ? ntiles : (ntiles + shares - 1) / shares);
      return (tiles + 1) / 2 * w_slot;
    };
    if (c_.keep_weights && c_.dataflow == Dataflow::ws && onchip && !s.b_trans) {
      const uint64_t room = w_room_of();
      if (room && room <= a_bytes_ / 2) {
        w_room = room;
        tile_up();
        if (!onchip || w_room_of() == 0 || w_room_of() > room) {
          w_room = 0;
          tile_up();
        }
      }
    }
    return Tiles{Mt, Nt, Kt, span, onchip, band_cap, w_room, w_slot};
  }

  // Bytes of an image row in a band: its group's channels.
  static uint64_t band_row_bytes(const GemmSpec& s) {
    return uint64_t(s.geom.w) * s.geom.cg * uint64_t(isa::tpu::elem_bytes(s.dt));
  }

  // The bands of GEMM `s`'s rows [m0, m0 + mt): one for each image they are in (a batch's), side
  // by side from `at` on.
  static std::vector<Band> bands_of(const GemmSpec& s, uint64_t m0, uint64_t mt, Place at) {
    std::vector<Band> v;
    for (const ImagePiece& p : pieces_of(s, m0, mt)) {
      const isa::tpu::ImageRows r =
          isa::tpu::conv_rows_read(s.geom, p.p0, p.rows, s.k0, uint64_t(s.K));
      v.push_back(Band{at, p.img, r.lo, uint64_t(r.hi - r.lo)});
      at.offset += (v.back().rows * band_row_bytes(s) + kAlign - 1) / kAlign * kAlign;
    }
    return v;
  }

  // On every core of the chip, or all of it on core `only` (>= 0).
  void gemm(const Node& n, const GemmSpec& s, int only = -1) {
    need_array_dtype(n, s.dt);
    if (c_.single_step && !s.part && in_steps(s, only)) return;
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(s.dt));
    const uint64_t M = uint64_t(s.M), N = uint64_t(s.N), K = uint64_t(s.K);
    const uint64_t fifo = c_.fifo_tile_bytes;
    const uint64_t shares = only >= 0 ? 1 : uint64_t(cores_);
    const Tiles tiles = tiles_of(s, shares);
    const uint64_t Mt = tiles.Mt, Nt = tiles.Nt, Kt = tiles.Kt;
    const uint64_t w_room = tiles.w_room, w_slot = tiles.w_slot;
    const bool span = tiles.span, onchip = tiles.onchip;
    const isa::tpu::ConvGeom& g = s.geom;
    const uint64_t a_cap = a_bytes_ - w_room - (onchip ? tiles.band_cap : 0);
    if (!Mt || !Nt || !Kt)
      unsupported(n, fmt::format("no {}x{}x{} GEMM tile fits the buffers (unified buffer operand "
                                 "region {} B, output region {} B, accumulator region {} B, "
                                 "weight tile {} B)",
                                 M, N, K, a_bytes_, o_bytes_, acc_part_, fifo));
    // Keep a whole row block of A (Mt x K) in the UB across the N tiles when it fits (in one
    // A region, or in both: span).
    const bool reuse = span || Mt * K * e <= a_cap;
    // On a chip of several cores each core takes a share of the output tiles: whole row
    // blocks of C when there are enough of them (each core then reads its own A and all of B),
    // else the N tiles of each row block (each core reads all of A and its own part of B).
    const uint64_t mblocks = (M + Mt - 1) / Mt, ntiles = (N + Nt - 1) / Nt;
    const bool split_m = mblocks >= shares;
    const std::vector<uint64_t> starts = block_starts(M, Mt, shares);
    // Accumulator slots form a ring (at least two per array, so an array fills one while the
    // activation pipeline drains another; up to four per array when tiles are small, so a
    // short stream does not wait for the drain of the tile before last). A slot holds a row
    // block's rows of an N tile, or, where the block's jobs go to the arrays as packed parts
    // (split_of()), a part's: smaller slots, so that every piece has one.
    const Feed supply = feed_of(double(Kt * Nt * e), double(shares), w_room != 0);
    const uint64_t slot_rows = slot_rows_of(
        s, tiles, split_m ? ntiles : (ntiles + shares - 1) / shares,
        (split_m ? (mblocks + shares - 1) / shares : mblocks) > 1, shares, reuse, supply);
    const uint64_t acc_bytes = acc_slot_bytes(slot_rows, Nt),
                   acc_slots = acc_slots_of(slot_rows, Nt);
    // N tiles that do not divide among the cores, shared by rows (shared_rows()).
    const uint64_t shared_h =
        only < 0 && !split_m && mblocks == 1
            ? shared_rows(M, ntiles, shares, (K + Kt - 1) / Kt, reuse, supply, slot_rows, acc_slots)
            : 0;
    const uint64_t whole_tiles = shared_h ? ntiles - ntiles % shares : ntiles;
    // One row block of one N tile, which one core would take alone: the first two cores may
    // share its K steps instead (gemm_ksplit).
    if (only < 0 && shares >= 2 && !split_m && ntiles == 1 && c_.dataflow == Dataflow::ws &&
        c_.vpu && s.dt == DType::bf16 && !s.c_fp32 && !s.part && !s.bias_addr &&
        M * Nt * 4 <= o_bytes_ && gemm_ksplit(n, s, Kt, Nt, reuse, acc_slots_of(M, Nt)))
      return;
    // The A row blocks kept (or the A tiles of the K steps) go round a ring of slots, a run of
    // them in each A region: a block's loads wait only for the matmuls of the block that last
    // used its slot, so with short blocks several are in flight and cover the DRAM latency.
    const uint64_t a_slot = ((reuse ? Mt * K : Mt * Kt) * e + kAlign - 1) / kAlign * kAlign;
    const uint64_t a_run = span ? 1 : std::clamp<uint64_t>(a_cap / a_slot, 1, kARing / 2);
    // Streams against the weights an array holds (matmul keep=1): weight-stationary arrays
    // whose loads overlap their streams (SCALE-Sim's serial folds have no such stream).
    const bool keep_ok = c_.cut_streams && c_.dataflow == Dataflow::ws && c_.fold_overlap;
    auto a_ring = [&](uint64_t i, uint64_t offset = 0) {
      return ub(Region::A, i % 2, (i / 2) % a_run * a_slot + offset);
    };
    for (uint64_t share = 0; share < shares; ++share) {
      if (!split_m && share >= ntiles) break;  // fewer tiles than cores
      const int core = only >= 0 ? only : int(share);
      std::string taken = on_core(core);
      if (shares > 1)
        taken = fmt::format("; core {} of {} takes every {}th {}", core, shares, shares,
                            split_m ? "row block" : "N tile");
      if (shared_h)
        taken += fmt::format(" of the first {} and rows {} to {} of the others", whole_tiles,
                             std::min(M, share * shared_h), std::min(M, (share + 1) * shared_h));
      Nest& ns = nest(
          fmt::format("gemm C = A x B, M x N x K = {}x{}x{} {}: A = {}, B = {}{}, C = {}{}; tiles "
                      "{}x{}x{} ({}){}{}{}{}",
                      M, N, K, dtype_text(s.dt), s.a_name, s.b_name,
                      s.b_trans ? " (stored transposed)" : "", s.c_name, s.c_fp32 ? " (fp32)" : "",
                      Mt, Nt, Kt, xpusim::tpu::dataflow_name(c_.dataflow),
                      span    ? ", A row block kept across N in both A regions"
                      : reuse ? ", A row block kept across N"
                              : "",
                      onchip ? ", A formed on chip from the image's rows" : "",
                      w_room ? ", B's tiles kept in the UB across row blocks" : "", taken),
          core);
      ns.acc_slot_bytes = acc_bytes;
      ns.acc_slots = uint32_t(acc_slots);
      // The ping-pong counters are the core's own: a core alternates between its own tiles.
      uint64_t a_load = 0, mi = 0;
      bool band_ahead = false;  // the block before loaded this block's band ahead
      RingPos pos;
      uint64_t o_at[2] = {0, 0};  // where the next drain goes in each O half
      // A K x N tile of B into an array's FIFO: from DRAM, or with kept weights from the UB
      // (loaded there the first time).
      std::map<std::pair<uint64_t, uint64_t>, Place> kept;
      auto weights = [&](uint64_t k0, uint64_t kt, uint64_t n0, uint64_t nt, Place to) {
        const uint64_t k = s.k0 + k0;  // B's row
        const uint64_t b =
            s.b_trans ? s.b_addr + n0 * s.ldb + k * e : s.b_addr + k * s.ldb + n0 * e;
        const DramTile src{"B", k, kt, n0, nt, e, b, s.ldb, false};
        if (!w_room) return op(LoadWeights{src, s.dt, s.b_trans, to});
        const uint64_t i = kept.size();
        const auto [at, first] =
            kept.try_emplace({k0, n0}, ub(Region::A, i % 2, a_bytes_ - w_room + i / 2 * w_slot));
        if (first) op(Load{src, at->second});
        op(StagedWeights{"B", k, n0, kt, nt, s.dt, at->second, to});
      };
      const uint64_t core_blocks = split_m ? (mblocks - share + shares - 1) / shares : mblocks;
      // A core's only block (split_of()'s tail): its stores and reads at the core's share of
      // the DRAM.
      auto tail_of = [&](uint64_t njobs) {
        const double bw = dram_bytes_per_cycle() / double(shares);
        const double eo = s.c_fp32 ? 4.0 : double(e);
        const double latency = c_.dram_latency_ns * c_.clock_mhz / 1e3;
        const double a = double(Mt * K * e), b = double(njobs * K * Nt * e);
        const double once = c_.cmem_bytes ? 1.0 : double(shares);
        const double chip =
            (split_m ? a * double(shares) + b * once : a * once + b * double(shares)) /
            dram_bytes_per_cycle();
        return Tail{double(Mt * Nt) * eo / bw, (a + b) / bw + latency, chip + latency};
      };
      for (size_t block = 0; block + 1 < starts.size(); ++block) {
        if (split_m && block % shares != share) continue;
        const uint64_t m0 = starts[block], mt = starts[block + 1] - m0;
        auto a_tile = [&](uint64_t k0) {
          if (!span) return a_ring(mi, mt * k0 * e);
          const uint64_t i = k0 / Kt, per = a_cap / (mt * Kt * e);
          return ub(Region::A, i / per, i % per * mt * Kt * e);
        };
        // On chip: the image rows the block reads (only its group's channels), once; the i-th
        // block's in its A region's tail.
        auto bands_at = [&](size_t b, uint64_t i) {
          return onchip ? bands_of(s, starts[b], starts[b + 1] - starts[b],
                                   ub(Region::A, i % 2, a_cap))
                        : std::vector<Band>{};
        };
        // Where the weights come from DRAM for every block, a later block's band is loaded
        // ahead, while the block before multiplies (below), in pieces of whole image rows, one
        // after each weight load of that block: whole it would hold the DRAM channel, once it
        // has it, while that block's weight loads wait and its weight FIFO runs dry (as a long
        // store would, drains()). A piece is what the DRAM moves while a matmul of the block
        // streams, less a weight tile's bytes, but no less than a weight tile's bytes, in whole
        // image rows (at least one), so that the weight loads take turns with it. A band that
        // takes the DRAM less time than a matmul streams loads whole at its block's start
        // (ahead, it held up the block before's first weights: up to 2 % slower on `tpu_v4`).
        const uint64_t band_row = band_row_bytes(s);
        const double w_tile = double(std::min(K, Kt) * std::min(N, Nt) * e);
        const uint64_t band_piece =
            w_room || !onchip ? 0
                              : uint64_t(std::clamp(
                                    std::max(w_tile, double(Mt) * dram_bytes_per_cycle() - w_tile) /
                                        double(band_row),
                                    1.0, 1e12));
        // The loads of bands `v`, in pieces of `piece` image rows (0: whole) where a band
        // would hold the DRAM channel longer than a matmul of the block streams.
        auto band_loads = [&](const std::vector<Band>& v, uint64_t pieces) {
          std::vector<Load> loads;
          for (const Band& b : v) {
            const uint64_t piece =
                double(b.rows * band_row) / dram_bytes_per_cycle() > double(Mt) ? pieces : 0;
            for (uint64_t h = 0; h < b.rows; h += piece ? piece : b.rows) {
              Place at = b.at;
              at.offset += h * band_row;
              loads.push_back(
                  Load{DramTile{"image", (b.img * g.h + b.h0 + h) * g.w,
                                std::min(piece ? piece : b.rows, b.rows - h) * g.w, 0, g.cg, e,
                                s.a_addr + b.img * s.image_bytes + (b.h0 + h) * g.w * g.c * e,
                                g.c * e, g.cg == g.c},
                       at});
            }
          }
          return loads;
        };
        const std::vector<Band> bands = bands_at(block, mi);
        // The block's A tiles are loaded (and its band) as the K steps first need them, each
        // after the weight load of the first matmul that reads it: the weights reach their
        // array, and shift in, while A arrives, and the kept tiles of later K steps do not
        // hold up the earlier steps' weights in the DRAM queue. Kept weights come through the
        // same DMA as A. On one core the band goes first there, as every array of the first
        // round needs it and each only its own tile; on a chip whose cores share the layer the
        // first round's tiles go first (else they would wait at the DRAM for every core's band).
        // A later block's band was loaded ahead (below): at the block's start its load would
        // wait for the dispatch of the setup unit's im2col work before it, which waits for the
        // band before. With kept weights, after the last round's weights of the block before;
        // else, where it goes in pieces (above), after its first weights.
        bool band_loaded = std::exchange(band_ahead, false);
        auto load_band = [&] {
          if (band_loaded) return;
          for (const Load& l : band_loads(bands, 0)) op(l);
          band_loaded = true;
        };
        if (w_room && shares == 1) load_band();
        std::vector<bool> a_loaded((K + Kt - 1) / Kt, false);
        // Rows [r0, r0 + rows) of the block's A tile of a K step, at dst.
        auto load_a_rows = [&](Place dst, uint64_t step, uint64_t r0, uint64_t rows) {
          load_band();
          load_a(s, dst, m0 + r0, rows, step * Kt, std::min(Kt, K - step * Kt), bands);
        };
        // With cuts, each cut's rows of a K step's A tile load on their own, before its first
        // matmul: (K step, or the round's tile without reuse; first row) of those loaded.
        std::set<std::pair<uint64_t, uint64_t>> cut_loaded;
        // The arrays work on a group of jobs at once (one each): for every K step, each loads
        // its weights and multiplies rows of the same A tile, so the in-order weight DMA feeds
        // them in turn and an A tile loaded per K step serves the whole group (the rows its
        // jobs read). A job is an N tile; where the N tiles do not fill the arrays' groups,
        // the arrays share each tile's rows (each streaming at least R rows per weight tile;
        // the jobs of the first rows first, so a group reads few rows of A) or, when A's row
        // block is kept, its K steps: in one group, each job's among q arrays, or the jobs'
        // (job, K step) pairs packed on the arrays (each array into its own accumulator slots,
        // the drain adding a job's), whichever split_of() says is faster for a whole row block:
        // every block of the GEMM, a short last one too, takes the same, so that the cores read
        // B in the same order and the CMEM serves one core's reads as the other's fills arrive
        // (1394 x 1146 x 804 on `tpu_v4`, pipelined: core 0's 704 rows packed, core 1's 690 in
        // groups of row parts, 13,363 cycles; both packed 12,717).
        // With shared tiles, the core's rows of them, where its whole tiles' cuts start again.
        const std::pair<uint64_t, uint64_t> seam{std::min(mt, share * shared_h),
                                                 std::min(mt, (share + 1) * shared_h)};
        std::vector<Job> jobs;
        for (uint64_t n0 = 0, ni = 0; n0 < N; n0 += Nt, ++ni)
          if (split_m || (ni < whole_tiles && ni % shares == share))
            jobs.push_back({n0, 0, mt, seam});
          else if (ni >= whole_tiles && seam.first < seam.second)
            jobs.push_back({n0, seam.first, seam.second - seam.first});
        const uint64_t ksteps = (K + Kt - 1) / Kt;
        const Split sp =
            shared_h ? Split{1, 1, 0, 0, 1, true, true}
            : c_.dataflow == Dataflow::ws && !jobs.empty()
                ? split_of(jobs.size(), Mt, ksteps, reuse, core_blocks > 1, supply,
                           ring_of(slot_rows, acc_slots),
                           core_blocks > 1 || !reuse ? Tail{0, 0, 0} : tail_of(jobs.size()))
                : Split{};
        if (sp.parts > 1) {
          const uint64_t rows = part_rows(mt, sp.parts);
          std::vector<Job> split;
          for (uint64_t r0 = 0; r0 < mt; r0 += rows)
            for (const Job& j : jobs) split.push_back({j.n0, r0, std::min(rows, mt - r0)});
          jobs = std::move(split);
        }
        // The block's rounds: each array's K steps of its jobs, and when each job drains.
        const std::vector<Round> rounds =
            rounds_of(s, tiles, jobs, sp, shares, acc_slots, core_blocks, mi, pos);
        // Cuts only in a core's first and last blocks (the blocks between overlap the fill and
        // the drain with their neighbours anyway).
        const bool cut = keep_ok && (mi == 0 || mi + 1 == core_blocks) &&
                         cuts_pay(s, jobs, rounds, mt, Nt, shares, split_m, onchip, w_room != 0);
        const std::vector<double> last = last_starts(rounds, jobs, supply.each);
        const auto ring_tile = [&](uint64_t i) { return a_ring(i); };
        BlockFeed feed{a_tile, ring_tile, load_a_rows, weights, a_load, a_loaded, cut_loaded, {}};
        const size_t next = block + (split_m ? shares : 1);  // the core's next block
        std::vector<Load> ahead;  // the next block's band's loads still to come
        if (next + 1 < starts.size() && (w_room || band_piece)) {
          const std::vector<Band> v = bands_at(next, mi + 1);
          ahead = band_loads(v, band_piece);
          if (!w_room && ahead.size() == v.size()) ahead.clear();  // no piece: at its block
          band_ahead = !ahead.empty();
        }
        for (const Round& rd : rounds) {
          const bool last_round = &rd == &rounds.back();
          feed.after_weights = [&](bool last_pair) {
            if (ahead.empty() || (w_room && !(last_round && last_pair))) return;
            load_band();  // this block's own first
            const size_t count = last_round && last_pair ? ahead.size() : 1;
            for (size_t i = 0; i < count; ++i) op(ahead[i]);
            ahead.erase(ahead.begin(), ahead.begin() + ptrdiff_t(count));
          };
          matmuls(s, Kt, Nt, jobs, rd, reuse, cut, mt, feed);
          drains(s, Nt, jobs, rd.done, last, cut, m0, o_at);
        }
        ++mi;
      }
    }
  }

  // A GEMM of one row block and one N tile (M x N, N <= the arrays' columns) on a chip: one core
  // would take it alone while the others wait. Instead the first two cores may share its K
  // steps, core 1 the first K1 of them, core 0 the rest, each a pipelined GEMM of its own (a
  // part, `GemmSpec::part`): core 1 stores its fp32 sums in DRAM (the layout pass's scratch
  // "K1"), core 0 keeps its own in ub.O0; both wait at a barrier; core 0 then loads core 1's
  // sums, adds them to its own on the vector unit (src_fp32: the sum rounded once, to C's type),
  // applies the ReLU and stores C. Taken when the estimate (each part's arrays and drain as
  // split_of() counts them; core 1's store, core 0's load of the sums and the add after) beats
  // one core's, with K1 the steps that minimise it: core 1 takes fewer, as its sums still
  // cross DRAM twice after its products. Returns false when not taken.
  bool gemm_ksplit(const Node& n, const GemmSpec& s, uint64_t Kt, uint64_t Nt, bool reuse,
                   uint64_t slots) {
    const int node = out_.layers.back().layer;
    const auto sc = std::find_if(plan_.scratch.begin(), plan_.scratch.end(), [&](const Scratch& x) {
      return x.node == node && x.name == "K1";
    });
    const uint64_t M = uint64_t(s.M), N = uint64_t(s.N), K = uint64_t(s.K);
    if (sc == plan_.scratch.end() || sc->bytes < M * N * 4 || N > Nt) return false;
    const uint64_t ksteps = (K + Kt - 1) / Kt;
    if (ksteps < 2) return false;
    const double e = isa::tpu::elem_bytes(s.dt);
    const double bw = dram_bytes_per_cycle(), lat = c_.dram_latency_ns * c_.clock_mhz / 1e3;
    const Feed feed = feed_of(double(Kt * Nt) * e, 2, false);  // the cores read their own tiles
    auto core = [&](uint64_t steps) {
      const Split sp = split_of(1, M, steps, reuse, false, feed, [&](uint64_t) { return slots; });
      return sp.arrays + sp.drain;
    };
    const double partial = double(M * N * 4) / bw;  // the sums' transfer
    const double add = double(M) * double(N) / double(c_.vpu_lanes) * (s.relu ? 2 : 1);
    // The DRAM moves B once either way, and A (the image, when formed on chip) once, or for
    // each core without a CMEM to hold it for the second: a floor under both.
    const isa::tpu::ConvGeom& g = s.geom;
    const double a = s.a_conv ? double(s.images) * g.h * g.w * g.cg * e : double(M * K) * e;
    auto dram = [&](double cores) {
      return (double(K * N) * e + a * (c_.cmem_bytes ? 1 : cores)) / bw;
    };
    // Of equal estimates (where the DRAM binds) the split whose cores finish closest together.
    std::pair<double, double> best{std::max(core(ksteps), dram(1)), core(ksteps)};  // one core
    uint64_t k1 = 0;
    for (uint64_t k = 1; k < ksteps; ++k) {
      const double cores = std::max(core(ksteps - k), core(k) + partial + lat);
      const std::pair t{std::max(cores, dram(2)) + lat + partial + add, cores};
      if (t < best) best = t, k1 = k;
    }
    if (k1 == 0) return false;
    GemmSpec one = s;  // core 1: K steps [0, k1), its fp32 sums to the scratch
    one.part = true;
    one.K = int64_t(k1 * Kt);
    one.c_fp32 = true;
    one.relu = false;
    one.c_addr = sc->addr;
    one.ldc = N * 4;
    one.c_name =
        fmt::format("{}.K1 (core 1's fp32 sums, K steps 0 to {})", name(n.outputs[0]), k1 - 1);
    gemm(n, one, 1);
    op(Barrier{});
    GemmSpec zero = s;  // core 0: the rest, its sums kept in ub.O0
    zero.part = zero.keep = true;
    zero.k0 = k1 * Kt;
    zero.K = int64_t(K - k1 * Kt);
    zero.c_fp32 = true;
    zero.relu = false;
    zero.c_name = fmt::format("ub.O0 (core 0's fp32 sums, K steps {} to {})", k1, ksteps - 1);
    gemm(n, zero, 0);
    op(Barrier{});
    op(Load{DramTile{"K1", 0, M, 0, N, 4, sc->addr, N * 4, true}, ub(Region::O, 1)});
    Vector sum{VecFunc::add, s.dt, ub(Region::O, 0), ub(Region::O, 1), ub(Region::O, 0), M, N};
    sum.fp32_src = true;
    op(sum);
    if (s.relu)
      op(Vector{VecFunc::relu, s.dt, ub(Region::O, 0), std::nullopt, ub(Region::O, 0), M, N});
    op(Store{ub(Region::O, 0), DramTile{"C", 0, M, 0, N, uint64_t(isa::tpu::elem_bytes(s.dt)),
                                        s.c_addr, s.ldc, false}});
    return true;
  }

  // A job's rows in the cuts that stream against one weight load: at most kCuts runs of at
  // least a quarter of the array's rows (a multiple of 8).
  struct Cut {
    uint64_t r0, rows;
  };
  std::vector<Cut> cuts_of(uint64_t rows) const {
    const uint64_t n =
        std::clamp<uint64_t>(rows / std::max(uint64_t(c_.rows) / 4, uint64_t(8)), 1, kCuts);
    const uint64_t each = part_rows(rows, n);
    std::vector<Cut> v;
    for (uint64_t r0 = 0; r0 < rows; r0 += each) v.push_back({r0, std::min(each, rows - r0)});
    return v;
  }

  // The cycles from a weight-stationary block's first A request to its first result in the
  // UB: the DRAM latency, a weight load (R), the skew through the array and the activation.
  double fill_cycles() const {
    return c_.dram_latency_ns * c_.clock_mhz / 1e3 + 2.0 * c_.rows + c_.cols - 2 + c_.act_latency;
  }

  // How the arrays share a row block's `jobs` N tiles of `rows` rows and `ksteps` K steps (ws):
  // each job's rows in `parts` of at least R rows (each part loads the tile's weights again),
  // and, when the items fit one group, each part's K steps among `ksplit` arrays (partial sums
  // in slots side by side, which the drain adds; without a kept row block, each round then
  // loads the A tiles of as many K steps, each once as with one array a job). The
  // pair minimises the arrays' time (`arrays`: a weight tile takes max(R, rows of a part)
  // cycles) plus the drain's (`drain`: a pass of the activation pipeline per slot). Parts
  // that fill more groups than one (6 jobs on 4 arrays take 2 groups, the second half idle; in
  // 2 parts, 3 full groups of half the rows) are taken only while the weight DMA (`feed`)
  // keeps up with the arrays. A weight tile takes at least the FIFO's pace too (Feed).
  // K steps that do not divide among q arrays leave the first items of a group one step
  // more; when every group fills the arrays and the core has more than one group (several
  // groups in the block, or `several_blocks`), the arrays take turns at those (turned()), so
  // an array's steps average ksteps / q per group. Or, when `pack_ok` (A's row block is kept: a
  // K step's pairs may fall in several rounds, each of which would load its A again) and the
  // pieces fit the slots of the accumulator ring (for whole jobs, reusing slots as their jobs
  // drain: packed_slots()), the parts' (job, K step) pairs packed on the
  // arrays (runs_of(): 3 jobs on 4 arrays take three quarters of the K steps' time, not all of
  // it; 5 jobs, ten eighths, not two groups), each array's pieces in slots of their own: taken
  // when faster, with its parts' weight tiles at least their source's time where there are
  // parts. `slots_for(r)`: the ring's slots for pieces of r rows (0: they do not fit a slot,
  // and no split of such parts is taken). With a `tail` (a core's only row block), whole jobs
  // in several groups with their K steps among q arrays, or, with as many jobs as arrays, each
  // job's first K steps on an array of its own and only its last g steps among g arrays (`spread`,
  // runs_of()), where their stores end sooner.
  struct Split {
    uint64_t parts = 1, ksplit = 1;
    double arrays = 0, drain = 0;
    uint64_t groups = 1;  // groups of (job, K share) items the arrays take in turn
    bool packed = false;  // the jobs' (job, K step) pairs packed on the arrays (runs_of())
    bool shared = false;  // packed, with a core's rows of N tiles the cores share (shared_rows())
    uint64_t spread = 0;  // packed, each job's last `spread` K steps among as many arrays
  };
  // A core's only row block, whose stores nothing after it overlaps: the cycles the core's share
  // of the DRAM takes to store one job's results (`store`; 0: not counted) and to read the
  // block's operands (`reads`), and when the chip's DRAM has moved the operands of every core's
  // such block, the tiles that all cores read crossing it once where a CMEM serves the others
  // (`arrive`; both from the first request).
  struct Tail {
    double store, reads, arrive;
  };
  // How a core's arrays get their weight tiles of `tile_bytes`: `each`, their source's cycles
  // for one (the DRAM's at the chip's bandwidth, shared by the cores, or where the weights are
  // kept in the UB its read path's); `pace`, the fewest cycles between two through an array's
  // FIFO. A tile holds its FIFO slot from its request (`fetch` cycles before it arrives: from
  // DRAM, its transfer and the latency; kept in the UB, the UB port's) to the end of its
  // R-cycle load into the array, so the FIFO's depth of slots passes at most one every
  // (fetch + R) / depth cycles, however few rows the array streams against it.
  struct Feed {
    double each, pace;
  };
  Feed feed_of(double tile_bytes, double shares, bool staged) const {
    const double each = staged ? tile_bytes / double(c_.ub_port_bytes)
                               : tile_bytes * shares / dram_bytes_per_cycle();
    const double fetch = staged ? each : each + c_.dram_latency_ns * c_.clock_mhz / 1e3;
    return {each, (fetch + double(c_.rows)) / double(c_.fifo_depth)};
  }
  Split split_of(uint64_t jobs, uint64_t rows, uint64_t ksteps, bool pack_ok, bool several_blocks,
                 const Feed& feed, const std::function<uint64_t(uint64_t)>& slots_for,
                 const Tail& tail = Tail{0, 0, 0}) const {
    const uint64_t count = uint64_t(c_.count), R = uint64_t(c_.rows);
    // With a tail: when the results of the groups' jobs are stored, each group's drained
    // after its last round and stored after its drain, the drains one after another and the
    // stores too (a group's drain and stores overlap the next group's products); the packed
    // pieces' jobs all end together, but for a spread's groups, each a round after the one
    // before (its last g rounds of ksteps).
    auto stored = [&](const Split& t) {
      const double groups = t.spread ? double(t.spread) : t.packed ? 1.0 : double(t.groups);
      const double first = t.spread ? double(ksteps) - groups : 0.0;
      double drained = 0, end = 0;
      for (double g = 1; g <= groups; ++g) {
        drained = std::max(drained, t.arrays * (first + g) / (first + groups)) + t.drain / groups;
        end = std::max(end, drained) + tail.store * double(jobs) / groups;
      }
      return end;
    };
    auto split = [&](uint64_t p, uint64_t q) {
      const uint64_t items = jobs * p * q, groups = (items + count - 1) / count;
      const double steps = turned(items, q, ksteps, several_blocks || groups > 1)
                               ? double(ksteps) / double(q)
                               : double((ksteps + q - 1) / q);
      return Split{
          p, q,
          double(groups) * steps * std::max(double(std::max(R, part_rows(rows, p))), feed.pace),
          double(jobs * q) * std::ceil(double(rows) / double(c_.act_rows)), groups};
    };
    Split best = split(1, 1);
    if (!slots_for(part_rows(rows, 1))) best.arrays = std::numeric_limits<double>::infinity();
    const uint64_t avail = count / std::max<uint64_t>(jobs, 1);
    for (uint64_t p = 1; p <= std::max<uint64_t>(1, std::min(count, rows / R)); ++p) {
      const uint64_t slots = slots_for(part_rows(rows, p));
      for (uint64_t q = 1; slots && (q == 1 || (p * q <= avail && q <= ksteps)); ++q) {
        const Split t = split(p, q);
        if (p > avail && double(jobs * p * ksteps) * feed.each > t.arrays) continue;
        if (t.arrays + t.drain < best.arrays + best.drain) best = t;
      }
      // Packed: each array the same number of (job, K step) pairs to within one. Parts only
      // where each piece has a slot of its own: packed beyond the ring, parts (each reading its
      // weights again) took plans whose weight reads the DRAM did not keep up with
      // (1423 x 340 x 879 on `tpu_v4`: 5,238 -> 6,229 cycles).
      const uint64_t n = jobs * p;
      const std::vector<PackedPiece> plan = packed_plan(std::vector<uint64_t>(n, 1), ksteps);
      const uint64_t pieces = plan.size();
      if (!pack_ok || !slots || (p > 1 ? pieces > slots : !packed_slots(plan, n, slots))) continue;
      // (Where parts load more weight tiles than the groups of whole jobs, at least their source's
      // time for them.)
      const double each = std::max(double(std::max(R, part_rows(rows, p))), feed.pace);
      const Split t{
          p,
          1,
          std::max(double((n * ksteps + count - 1) / count) * each,
                   p > 1 ? double(n * ksteps) * feed.each : 0.0),
          double(pieces) * std::ceil(double(std::min(rows, part_rows(rows, p))) / c_.act_rows),
          (n + count - 1) / count,
          true};
      if (t.arrays + t.drain < best.arrays + best.drain) best = t;
    }
    // With a tail, several groups of whole jobs, each job's K steps among q arrays, so that the
    // first groups' results are stored while the later ones multiply, where that ends sooner:
    // only where the block's operands arrive before the first group could end (its K steps
    // need the A of every step at once; where they arrive later, its arrays wait for them).
    for (uint64_t q = 2;
         tail.store > 0 && slots_for(part_rows(rows, 1)) && q <= std::min(ksteps, count); ++q) {
      const Split t = split(1, q);
      if (count % q || t.groups < 2 || q <= avail) continue;
      if (tail.reads > fill_cycles() + t.arrays / double(t.groups)) continue;
      if (t.arrays <= best.arrays && stored(t) < stored(best)) best = t;
    }
    // Or, with a tail and as many jobs as arrays, each job's first K steps on an array of its
    // own, as with one array a job, and its last g steps among g arrays (runs_of()): g groups of
    // jobs end a round apart, the first g - 1 rounds sooner than all would. Only where the block's
    // operands arrive before the first group ends (it needs the A of its last g steps then).
    const uint64_t slots = tail.store > 0 && pack_ok ? slots_for(part_rows(rows, 1)) : 0;
    for (uint64_t g = 2; slots && jobs == count && g <= count && g < ksteps; ++g) {
      if (count % g) continue;
      const std::vector<PackedPiece> plan = packed_plan(std::vector<uint64_t>(jobs, 1), ksteps, g);
      Split t = split(1, 1);  // an array a job: the same arrays' time
      t.drain = double(plan.size()) * std::ceil(double(rows) / double(c_.act_rows));
      t.packed = true;
      t.spread = g;
      if (plan.size() > slots ||
          tail.arrive > fill_cycles() + t.arrays * double(ksteps - g + 1) / double(ksteps))
        continue;
      if (t.arrays <= best.arrays && stored(t) < stored(best)) best = t;
    }
    return best;
  }
  // The rows of the accumulator ring's slots for GEMM `s` in `tiles`, whose row blocks have
  // `jobs` each on a core (`several` of them): a row block's, or, where split_of() would share
  // a whole block's jobs out as packed parts once each part's pieces have slots of their own,
  // a part's. Not where the parts' weight reads (each part reads its tiles again) and the
  // block's A would take the DRAM longer than the arrays take the parts (1423 x 340 x 879 on
  // `tpu_v4`: 5,238 cycles in parts of 360 rows, 6,178 in smaller slots, parts of 240).
  uint64_t slot_rows_of(const GemmSpec& s, const Tiles& t, uint64_t jobs, bool several,
                        uint64_t shares, bool reuse, const Feed& feed) const {
    if (c_.dataflow != Dataflow::ws || !jobs || several || !c_.cmem_bytes) return t.Mt;
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(s.dt)), K = uint64_t(s.K);
    const uint64_t ksteps = (K + t.Kt - 1) / t.Kt;
    const Split sp = split_of(jobs, t.Mt, ksteps, reuse, false, feed,
                              [&](uint64_t rows) { return acc_slots_of(rows, t.Nt); });
    const Split whole =
        split_of(jobs, t.Mt, ksteps, reuse, false, feed, ring_of(t.Mt, acc_slots_of(t.Mt, t.Nt)));
    const double reads = double(jobs * sp.parts * ksteps) * feed.each +
                         double(t.Mt * K * e * shares) / dram_bytes_per_cycle();
    if (!sp.packed || sp.parts == 1 || reads > sp.arrays || sp.arrays >= whole.arrays) return t.Mt;
    return part_rows(t.Mt, sp.parts);
  }
  // Packed work on the arrays: the jobs' (job, K step) pairs in job-major order, `ksteps` a job,
  // P of them. Array a takes the pairs [a P / count, (a + 1) P / count), so that every array has
  // as many as any other to within one, however few or odd the jobs (3 N tiles on 4 arrays: the
  // fourth takes the last quarter of each one's K steps). Where the jobs after the first w cost
  // less (`cost`, a pair's cycles: after a core's whole N tiles, its rows of those the cores
  // share, shared_rows()), the first w jobs' pairs go so, and the others' then one by one to the
  // array whose pairs take the least time so far, in runs in the arrays' reverse order (the
  // array of a whole tile's first K steps takes a shared one's last, so that the K steps whose A
  // arrives last spread over the arrays). An array's pairs of one job are a piece, summed in a
  // slot of its own; the drain adds a job's pieces. Returns each array's runs of pairs.
  // With a `spread` g (split_of(); as many jobs as arrays, of equal cost), array a takes job a's
  // first ksteps - g steps, and the jobs' last g steps go in g groups of count / g jobs, one
  // group a round: job i count / g + j of group i takes its step ksteps - g + x on array j g + x,
  // so that group i's jobs end g - 1 - i rounds before the last (4 jobs of 4 K steps, g = 2: jobs
  // 0 and 1 end a round before 2 and 3, whose products their stores then overlap).
  using Runs = std::vector<std::vector<std::pair<uint64_t, uint64_t>>>;
  Runs runs_of(const std::vector<uint64_t>& cost, uint64_t ksteps, uint64_t spread = 0) const {
    const uint64_t count = uint64_t(c_.count), pairs = cost.size() * ksteps;
    Runs runs(count);
    if (spread) {
      const uint64_t first = ksteps - spread, per = count / spread;
      for (uint64_t a = 0; a < count; ++a) runs[a].push_back({a * ksteps, a * ksteps + first});
      for (uint64_t i = 0; i < spread; ++i)
        for (uint64_t j = 0; j < per; ++j)
          for (uint64_t x = 0; x < spread; ++x) {
            const uint64_t p = (i * per + j) * ksteps + first + x;
            auto& v = runs[j * spread + x];
            if (v.back().second == p)
              ++v.back().second;
            else
              v.push_back({p, p + 1});
          }
      return runs;
    }
    const uint64_t whole =
        uint64_t(std::find_if(cost.begin(), cost.end(), [&](uint64_t c) { return c != cost[0]; }) -
                 cost.begin()) *
        ksteps;
    std::vector<uint64_t> load(count), extra(count);
    for (uint64_t a = 0; a < count; ++a) {
      const uint64_t lo = a * whole / count, hi = (a + 1) * whole / count;
      if (lo < hi) runs[a].push_back({lo, hi});
      load[a] = (hi - lo) * cost[0];
    }
    for (uint64_t p = whole; p < pairs; ++p) {
      const uint64_t c = cost[p / ksteps];
      const uint64_t a = uint64_t(std::min_element(load.begin(), load.end()) - load.begin());
      ++extra[a];
      load[a] += c;
    }
    for (uint64_t a = count, p = whole; a-- > 0; p += extra[a])
      if (extra[a]) runs[a].push_back({p, p + extra[a]});
    return runs;
  }
  // The packed pieces, in the order they take the accumulator ring's slots: by job, so that a
  // job's pieces are side by side, each job's in the arrays' order. Each array streams its
  // pieces in the order of their first K step (whole jobs and first steps first, a job's last
  // steps after), one pair a round, so that in the first rounds the arrays multiply the same K
  // steps, whose A tiles arrive one after another, as in groups.
  struct PackedPiece {
    size_t job;
    uint64_t lo, hi;  // its K steps
    uint32_t array;
    // Its first pair's place among its array's pairs (its round where pairs cost the same),
    // and when that pair is estimated to start (the costs of the array's pairs before it).
    uint64_t place, start;
  };
  std::vector<PackedPiece> packed_plan(const std::vector<uint64_t>& cost, uint64_t ksteps,
                                       uint64_t spread = 0) const {
    std::vector<PackedPiece> plan;
    const Runs runs = runs_of(cost, ksteps, spread);
    for (uint64_t a = 0; a < uint64_t(c_.count); ++a) {
      const size_t first = plan.size();
      for (const auto& [lo, hi] : runs[a])
        for (uint64_t p0 = lo, p1; p0 < hi; p0 = p1) {
          const uint64_t j = p0 / ksteps;
          p1 = std::min(hi, (j + 1) * ksteps);
          plan.push_back({size_t(j), p0 - j * ksteps, p1 - j * ksteps, uint32_t(a), 0, 0});
        }
      std::vector<size_t> order(plan.size() - first);
      std::iota(order.begin(), order.end(), first);
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t x, size_t y) { return plan[x].lo < plan[y].lo; });
      uint64_t r = 0, t = 0;
      for (const size_t i : order) {
        plan[i].place = r;
        plan[i].start = t;
        r += plan[i].hi - plan[i].lo;
        t += (plan[i].hi - plan[i].lo) * cost[plan[i].job];
      }
    }
    std::stable_sort(plan.begin(), plan.end(),
                     [](const PackedPiece& x, const PackedPiece& y) { return x.job < y.job; });
    return plan;
  }
  // The accumulator slot of each job's first piece (its pieces side by side from there: the
  // drain adds them), counted from where the block's run starts in the ring, or none when
  // `slots` do not hold the pieces. One slot a piece, in turn, where they fit. Where they do
  // not (whole jobs: split_of()), a job holds its slots from its first pair's round to its
  // drain (after its last pair's round), and the jobs, in the order they start, take the run of
  // slots free by then whose last drain came earliest: a slot again only after the drain of the
  // job that held it, which comes before in the program (the dependences make the new piece's
  // first matmul wait for it). 1477 x 1049 x 1418 on `tpu_v4`, pipelined: 12 pieces a core on
  // 11 slots, packed 21,517 cycles, in groups of jobs cut in three parts (each part loading the
  // weights again) 24,998.
  struct PackedSlots {
    std::vector<uint64_t> at;  // each job's first slot
    uint64_t used;             // the slots of the run
  };
  std::optional<PackedSlots> packed_slots(const std::vector<PackedPiece>& plan, uint64_t n,
                                          uint64_t slots) const {
    std::vector<uint64_t> at(n, plan.size()), start(n, UINT64_MAX), end(n, 0), width(n, 0);
    for (size_t i = 0; i < plan.size(); ++i) {
      const PackedPiece& pc = plan[i];
      at[pc.job] = std::min<uint64_t>(at[pc.job], i);
      start[pc.job] = std::min(start[pc.job], pc.place);
      end[pc.job] = std::max(end[pc.job], pc.place + pc.hi - pc.lo - 1);
      ++width[pc.job];
    }
    if (plan.size() <= slots) return PackedSlots{at, plan.size()};
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t x, size_t y) { return start[x] < start[y]; });
    std::vector<int64_t> held(slots, -1);  // the round of the drain that frees each slot
    uint64_t used = 0;
    for (const size_t j : order) {
      // The run of free slots whose last drain came earliest.
      uint64_t s0 = slots;
      int64_t freed = 0;
      for (uint64_t s = 0; s + width[j] <= slots; ++s) {
        const int64_t r =
            *std::max_element(held.begin() + int64_t(s), held.begin() + int64_t(s + width[j]));
        if (r < int64_t(start[j]) && (s0 == slots || r < freed)) s0 = s, freed = r;
      }
      if (s0 == slots) return std::nullopt;
      at[j] = s0;
      used = std::max(used, s0 + width[j]);
      std::fill(held.begin() + int64_t(s0), held.begin() + int64_t(s0 + width[j]), int64_t(end[j]));
    }
    return PackedSlots{at, used};
  }
  // The accumulator slots for a row block of `rows` x `nt` partial sums (fp32): a ring of at
  // most four an array.
  // A part's rows when `rows` are cut in `parts`: a multiple of 8.
  static uint64_t part_rows(uint64_t rows, uint64_t parts) {
    return ((rows + parts - 1) / parts + 7) / 8 * 8;
  }
  // Where the row blocks of at most Mt rows of an M-row GEMM start, and M after the last. Where
  // `shares` cores take every shares-th block and the blocks divide among them, the blocks are
  // as even as multiples of 8 rows allow (the first ones 8 rows more), so that each core's rows
  // are within 8 of every other's: 784 rows in four blocks of at most 200 are 200, 200, 192 and
  // 192, 392 rows a core, where blocks of 200 would leave 400 and 384 and the chip would wait
  // for the first core. Else blocks of Mt rows, the last one short.
  static std::vector<uint64_t> block_starts(uint64_t M, uint64_t Mt, uint64_t shares) {
    const uint64_t blocks = (M + Mt - 1) / Mt, units = (M + 7) / 8;
    const bool even = shares > 1 && blocks >= shares && blocks % shares == 0 && units >= blocks;
    std::vector<uint64_t> starts{0};
    for (uint64_t b = 0; b < blocks; ++b)
      starts.push_back(std::min(
          M, starts.back() + (even ? (units / blocks + (b < units % blocks ? 1 : 0)) * 8 : Mt)));
    return starts;
  }
  // The ring's slots as split_of() asks for them: `slots` for pieces of up to `slot_rows` rows
  // (a part's rows counted as part_rows() counts them), none for larger ones.
  static std::function<uint64_t(uint64_t)> ring_of(uint64_t slot_rows, uint64_t slots) {
    return [=](uint64_t rows) { return rows <= part_rows(slot_rows, 1) ? slots : 0; };
  }
  uint64_t acc_slot_bytes(uint64_t rows, uint64_t nt) const {
    return (rows * nt * 4 + kAlign - 1) / kAlign * kAlign;
  }
  uint64_t acc_slots_of(uint64_t rows, uint64_t nt) const {
    return std::min<uint64_t>(4 * uint64_t(c_.count), c_.acc_bytes / acc_slot_bytes(rows, nt));
  }
  // Whether the arrays take turns at a group's extra K steps: q > 1 arrays share K steps that
  // do not divide among them, every group fills the arrays, and there is more than one group
  // (`several`) to turn over.
  bool turned(uint64_t items, uint64_t q, uint64_t ksteps, bool several) const {
    return several && q > 1 && ksteps % q != 0 && items % uint64_t(c_.count) == 0;
  }
  // A row block's work: a job is rows [r0, r0 + rows) of the block times the N tile at n0.
  // `seam`: where the cores share an N tile's rows (shared_rows()), the rows [lo, hi) of the
  // block that this core takes of it; its whole N tiles' cuts start again at lo and hi, so that
  // they load A's rows in the runs that the shared tile's cuts load.
  struct Job {
    uint64_t n0, r0, rows;
    std::pair<uint64_t, uint64_t> seam{0, 0};
  };
  // The cycles of each job's pairs on an array (runs_of()): its rows' stream, or the R-cycle
  // weight load each pair takes, whichever is longer.
  std::vector<uint64_t> costs_of(const std::vector<Job>& jobs) const {
    std::vector<uint64_t> v;
    for (const Job& j : jobs) v.push_back(std::max(uint64_t(c_.rows), part_rows(j.rows, 1)));
    return v;
  }
  // Where the chip's `shares` cores split the N tiles of a GEMM's one row block (`mt` rows) and
  // the tiles do not divide among them (3 on 2 cores: core 0 takes 2, and core 1's arrays idle
  // half the time), the last ntiles % shares tiles may be shared by rows instead: core c takes
  // its whole tiles and rows [c h, (c + 1) h) of each shared one, the pairs of all packed on its
  // arrays (runs_of(): a pair costs its rows' stream or the weight load, whichever is longer).
  // Both cores read the shared tiles' weights, the second through the CMEM. Returns h, or 0
  // where that does not shorten the busiest core's arrays and drain below its whole tiles' (as
  // split_of() shares them out), or where its pieces do not fit the `slots` of `slot_rows`.
  uint64_t shared_rows(uint64_t mt, uint64_t ntiles, uint64_t shares, uint64_t ksteps, bool reuse,
                       const Feed& feed, uint64_t slot_rows, uint64_t slots) const {
    if (!reuse || !c_.cmem_bytes || c_.dataflow != Dataflow::ws || shares < 2 || ntiles <= shares ||
        ntiles % shares == 0 || ksteps < 2 || !ring_of(slot_rows, slots)(mt))
      return 0;
    const uint64_t h = part_rows(mt, shares);
    std::vector<Job> jobs(ntiles / shares, Job{0, 0, mt});
    jobs.resize(jobs.size() + ntiles % shares, Job{0, 0, h});
    const std::vector<uint64_t> cost = costs_of(jobs);
    const std::vector<PackedPiece> plan = packed_plan(cost, ksteps);
    if (!packed_slots(plan, jobs.size(), slots)) return 0;
    double drain = 0;
    std::vector<double> busy(size_t(c_.count));
    for (const PackedPiece& pc : plan) {
      drain += std::ceil(double(jobs[pc.job].rows) / double(c_.act_rows));
      busy[pc.array] += double(pc.hi - pc.lo) * std::max(double(cost[pc.job]), feed.pace);
    }
    const double arrays = *std::max_element(busy.begin(), busy.end());
    const Split whole = split_of((ntiles + shares - 1) / shares, mt, ksteps, reuse, false, feed,
                                 ring_of(slot_rows, slots));
    return arrays + drain < whole.arrays + whole.drain ? h : 0;
  }
  // The block's rounds: in each, one K step of a job on each array that has one (its
  // weights, then its matmuls), and after it the drains of the jobs whose last step it was.
  struct Pair {
    size_t job;
    uint64_t step;
    uint32_t fifo, slot;
    bool accumulate;
  };
  struct Finish {
    size_t job;
    uint32_t slot, sum, out;  // the first of `sum` slots side by side; the O half
  };
  struct Round {
    std::vector<Pair> pairs;
    std::vector<Finish> done;
  };
  // Where a core's accumulator ring stands, across its row blocks: the next slot, and the
  // arrays' turn at a group's extra K steps (turned()).
  struct RingPos {
    uint64_t tile = 0, turn = 0;
  };
  // The rounds of the `mi`-th of a core's `core_blocks` row blocks of GEMM `s`: its `jobs` as
  // split_of() shares them (`sp`), packed (packed_plan(), packed_slots()) or in groups of one
  // work item an array, their partial sums in the `acc_slots` of the ring from `pos` on.
  std::vector<Round> rounds_of(const GemmSpec& s, const Tiles& t, const std::vector<Job>& jobs,
                               const Split& sp, uint64_t shares, uint64_t acc_slots,
                               uint64_t core_blocks, uint64_t mi, RingPos& pos) const {
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(s.dt)), eo = s.c_fp32 ? 4 : e;
    const uint64_t R = uint64_t(c_.rows), N = uint64_t(s.N), K = uint64_t(s.K);
    const uint64_t Nt = t.Nt, Kt = t.Kt, ksteps = (K + Kt - 1) / Kt;
    const double bw = dram_bytes_per_cycle();
    std::vector<Round> rounds;
    const uint64_t count = uint64_t(c_.count), q = sp.ksplit;
    // A run of `len` slots side by side (a drain adds them) starts the ring again where it
    // would wrap round it.
    auto run_of = [&](uint64_t len) {
      if (pos.tile % acc_slots + len > acc_slots) pos.tile = (pos.tile / acc_slots + 1) * acc_slots;
    };
    auto slot_of = [&](uint64_t i) { return uint32_t(i % acc_slots); };
    const std::vector<uint64_t> cost =
        sp.shared ? costs_of(jobs) : std::vector<uint64_t>(jobs.size(), 1);
    const std::vector<PackedPiece> plan =
        sp.packed ? packed_plan(cost, ksteps, sp.spread) : std::vector<PackedPiece>{};
    const auto ring = sp.packed ? packed_slots(plan, jobs.size(), acc_slots) : std::nullopt;
    if (ring) {
      // Packed (packed_plan(), packed_slots()); a job drains after the round of its last
      // pair. The program takes the pairs in the order they are estimated to start, each
      // array's back to back, one an array a round, so that the weight DMA serves the arrays
      // in the order they need their tiles (of equal costs, round i holds each array's i-th).
      run_of(ring->used);
      std::vector<Finish> fin(jobs.size());
      std::vector<uint32_t> slots(plan.size());
      // Each pair: its estimated start, its array, its piece, its K step.
      std::vector<std::tuple<uint64_t, uint32_t, size_t, uint64_t>> pairs;
      for (size_t k = 0; k < plan.size(); ++k) {
        const PackedPiece& pc = plan[k];
        slots[k] = slot_of(pos.tile + ring->at[pc.job] + fin[pc.job].sum);
        if (fin[pc.job].sum++ == 0)
          fin[pc.job] = {pc.job, slots[k], 1, uint32_t((pos.tile + pc.job) % 2)};
        for (uint64_t step = pc.lo; step < pc.hi; ++step)
          pairs.emplace_back(pc.start + (step - pc.lo) * cost[pc.job], pc.array, k, step);
      }
      std::sort(pairs.begin(), pairs.end());
      std::vector<size_t> last(jobs.size(), 0);
      std::set<uint32_t> taken;
      for (const auto& [at, a, k, step] : pairs) {
        if (rounds.empty() || !taken.insert(a).second) taken = {a}, rounds.emplace_back();
        const PackedPiece& pc = plan[k];
        rounds.back().pairs.push_back({pc.job, step, a, slots[k], step != pc.lo});
        last[pc.job] = rounds.size() - 1;
      }
      for (size_t j = 0; j < jobs.size(); ++j) rounds[last[j]].done.push_back(fin[j]);
      pos.tile += ring->used;
    } else {
      // In groups of `count` work items, one an array; item w of the work is job w / q,
      // taking its K steps i, i + q, ... (i = w mod q) into slot w of the group's run.
      const size_t work = jobs.size() * q;
      // The last two groups take their K steps together, each array its item of one, then
      // of the other, where the last N tile is narrower than the others and a whole tile's
      // weights take longer to arrive than its rows to stream: the narrow tile's stream
      // then hides part of the next whole tile's read. Not where what that saves is less
      // than what the core's last block loses: the whole tiles' output, stored while the
      // narrow tile streamed, then waits for the end of the block.
      const double stream = double(std::max(R, jobs.front().rows));
      const double fetch = feed_of(double(Kt * Nt * e), double(shares), false).each;
      const double saved = double(ksteps) * std::min(double(jobs.back().rows), fetch - stream);
      const double lost =
          mi + 1 == core_blocks ? double(count * jobs.front().rows * Nt * eo * shares) / bw : 0;
      const bool together = q == 1 && work > count && N - jobs.back().n0 < Nt && !t.w_room &&
                            acc_slots >= 2 * count && fetch > stream && saved > lost;
      const size_t merged = together ? (work - 1) / count * count - count : work;
      for (size_t g0 = 0; g0 < work;) {
        const size_t g1 = g0 == merged ? work : std::min(work, g0 + size_t(count));
        if (q > 1) run_of(g1 - g0);
        // The arrays take turns at the items of more K steps.
        const uint64_t rot =
            turned(work, q, ksteps, core_blocks > 1 || work > count) ? pos.turn++ : 0;
        for (uint64_t round = 0; round * q < ksteps; ++round) {
          Round rd;
          for (size_t w = g0; w < g1; ++w)
            if (const uint64_t step = round * q + w % q; step < ksteps)
              rd.pairs.push_back({w / q, step, uint32_t((w - g0 + rot) % count),
                                  slot_of(pos.tile + w - g0), round != 0});
          rounds.push_back(std::move(rd));
        }
        for (size_t w = g0; w < g1; w += q)
          rounds.back().done.push_back({w / q, slot_of(pos.tile + w - g0), uint32_t(q),
                                        uint32_t((pos.tile + (w - g0) / q) % 2)});
        pos.tile += g1 - g0;
        g0 = g1;
      }
    }
    return rounds;
  }

  // A job's output rows: its cuts (cuts_of()), or all of them at once.
  std::vector<Cut> outputs_of(const Job& job, bool cut) const {
    if (!cut) return {{0, job.rows}};
    const auto [lo, hi] = job.seam;
    if (hi == 0) return cuts_of(job.rows);
    std::vector<Cut> v;
    for (const auto& [a, b] :
         {std::pair{uint64_t(0), lo}, std::pair{lo, hi}, std::pair{hi, job.rows}})
      if (a < b)
        for (const Cut& c : cuts_of(b - a)) v.push_back({a + c.r0, c.rows});
    return v;
  }
  // A round's drains (`done`) of the row block at row m0 of GEMM `s` (N tiles of Nt columns),
  // each job's output rows (outputs_of()) into its O half's ring at `o_at` (the core's cursor in
  // each half, kept across its rounds and row blocks, back to the half's start where a drain
  // would not fit), and their stores. With cuts, in the order their results are estimated to
  // be ready (`last`, its last pair's start, then the cut's rows), as the activation pipeline
  // takes them in program order. Where the jobs' arrays end together, the first cut of every
  // job is ready before the second of any.
  void drains(const GemmSpec& s, uint64_t Nt, const std::vector<Job>& jobs,
              const std::vector<Finish>& done, const std::vector<double>& last, bool cut,
              uint64_t m0, uint64_t (&o_at)[2]) {
    const uint64_t eo = s.c_fp32 ? 4 : uint64_t(isa::tpu::elem_bytes(s.dt));
    const uint64_t R = uint64_t(c_.rows), N = uint64_t(s.N);
    const double bw = dram_bytes_per_cycle();
    struct Out {
      double ready;
      const Finish* f;
      Cut c;
    };
    std::vector<Out> outs;
    for (const Finish& f : done)
      for (const Cut& c : outputs_of(jobs[f.job], cut))
        outs.push_back({last[f.job] + double(c.r0 + c.rows), &f, c});
    if (cut)
      std::stable_sort(outs.begin(), outs.end(),
                       [](const Out& x, const Out& y) { return x.ready < y.ready; });
    for (const auto& [ready, f, c] : outs) {
      const Job& job = jobs[f->job];
      const uint64_t nt = std::min(Nt, N - job.n0);
      const uint64_t m = m0 + job.r0 + c.r0;
      const Place acc{Region::acc, f->slot, c.r0 * nt * 4};
      const uint64_t bytes = c.rows * nt * eo;
      uint64_t& at = o_at[f->out];
      if (at + bytes > o_bytes_) at = 0;
      Place o = ub(Region::O, f->out, at);
      at += (bytes + kAlign - 1) / kAlign * kAlign;
      if (s.keep) o = ub(Region::O, 0, m * nt * eo);  // the rows of C in order
      op(Drain{acc, o, s.c_fp32 ? DType::fp32 : s.dt, c.rows, nt,
               s.relu ? ActFunc::relu : ActFunc::none, s.mult, s.shift, f->sum,
               bias_at(s, job.n0)});
      if (s.keep) continue;
      // An output tile whose store would hold the DRAM channel longer than a matmul of
      // the tile streams goes in pieces of a weight tile's bytes: a store holds the channel
      // to its end once it has it, so the whole store would hold up the weight loads that
      // come meanwhile until the weight FIFO runs dry; pieces let them take turns.
      const uint64_t piece = double(bytes) / bw > double(std::max(R, c.rows))
                                 ? std::max<uint64_t>(1, c_.fifo_tile_bytes / (nt * eo))
                                 : c.rows;
      for (uint64_t r = 0; r < c.rows; r += piece) {
        Place src = o;
        src.offset += r * nt * eo;
        op(Store{src, DramTile{"C", m + r, std::min(piece, c.rows - r), job.n0, nt, eo,
                               s.c_addr + (m + r) * s.ldc + job.n0 * eo, s.ldc, false}});
      }
    }
  }

  // Whether a core's first or last row block of GEMM `s` (its `jobs` of `mt` rows, N tiles of
  // Nt columns, in these `rounds`) streams each job's rows in several matmuls against one weight
  // load (keep=1; cuts_of): when each array has few matmuls in the block, or, however many, when
  // the block's arrays take longer than the DRAM takes to move what the chip moves for it: the
  // first rows' products start once their A has arrived, and the first rows' results drain
  // while the last rows stream, so less of the DRAM latency, the skew and the drain and store of
  // the last group stands outside the pipeline. (Where the DRAM binds, the cuts' own A loads
  // only reorder its queue: `tpu_v1`'s long GEMMs ran up to 2 % slower.) So do the GEMMs between
  // the first and last of an op (the heads of an attention, `s.edge` false) whose arrays stream
  // for longer than that fill takes. The chip's `shares` cores split its row blocks (`split_m`)
  // or its N tiles; `onchip`: A is formed on chip; `kept_weights`: B's tiles come from the UB.
  bool cuts_pay(const GemmSpec& s, const std::vector<Job>& jobs, const std::vector<Round>& rounds,
                uint64_t mt, uint64_t Nt, uint64_t shares, bool split_m, bool onchip,
                bool kept_weights) const {
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(s.dt)), eo = s.c_fp32 ? 4 : e;
    const uint64_t R = uint64_t(c_.rows), K = uint64_t(s.K);
    const double bw = dram_bytes_per_cycle();
    // Whether the block's arrays, streaming for `streams` cycles, take longer than the DRAM
    // takes to move the chip's bytes for it: its A (unless formed on chip), its weights
    // (unless kept in the UB; through a CMEM once for all cores) and its output.
    auto bound_by_arrays = [&](uint64_t streams) {
      const uint64_t nts =
          uint64_t(std::count_if(jobs.begin(), jobs.end(), [](const Job& j) { return j.r0 == 0; }));
      const double each_core = double(shares), once = c_.cmem_bytes ? 1.0 : each_core;
      const double a = onchip ? 0.0 : double(mt * K * e) * (split_m ? each_core : once);
      const double b = kept_weights ? 0.0 : double(nts * K * Nt * e) * (split_m ? once : each_core);
      return double(streams) >= (a + b + double(mt * nts * Nt * eo) * each_core) / bw;
    };
    uint64_t per_array = 0;  // the most pairs of any array
    std::map<uint32_t, uint64_t> pairs;
    for (const Round& rd : rounds)
      for (const Pair& pr : rd.pairs) per_array = std::max(per_array, ++pairs[pr.fifo]);
    const uint64_t streams = per_array * std::max(R, jobs.front().rows);
    const double tail = fill_cycles() + double(std::min<uint64_t>(jobs.size(), c_.count) *
                                               jobs.front().rows * Nt * eo * shares) /
                                            bw;
    return (per_array <= kCutMatmuls ||
            (bound_by_arrays(streams) && double(streams) <= kCutMatmuls * tail)) &&
           (s.edge || double(per_array * jobs.front().rows) < fill_cycles());
  }
  // When each job's pairs start streaming, estimated for the order of the drains (drains()):
  // each array streams its pairs back to back, a pair max(R, its job's rows) cycles, array a
  // from `stagger` cycles (a weight tile's feed) after array a - 1, as the weight DMA serves
  // them in turn. Returns, for each job, the start of its last pair on any array.
  std::vector<double> last_starts(const std::vector<Round>& rounds, const std::vector<Job>& jobs,
                                  double stagger) const {
    const uint64_t R = uint64_t(c_.rows);
    std::vector<double> clock(size_t(c_.count)), last(jobs.size(), 0.0);
    for (size_t a = 0; a < clock.size(); ++a) clock[a] = double(a) * stagger;
    for (const Round& rd : rounds)
      for (const Pair& pr : rd.pairs) {
        last[pr.job] = std::max(last[pr.job], clock[pr.fifo]);
        clock[pr.fifo] += double(std::max(R, jobs[pr.job].rows));
      }
    return last;
  }
  // How a row block's operands reach its matmuls (Tiler::gemm()): the kept block's A tile of
  // K column k0 (`a_tile`, with reuse), the i-th A tile a core loads without reuse (`a_ring`),
  // the load of rows [r0, r0 + rows) of a K step's A tile at a place (`load_a_rows`), and a
  // K x N tile of B into an array's FIFO (`weights`: k0, kt, n0, nt, the FIFO). What was loaded
  // so far: the core's A tiles without reuse (`a_load`), the K steps whose A tile is in
  // (`a_loaded`, with reuse), and with cuts the (K step, or the round's tile without reuse;
  // first row) of the cuts' rows loaded (`cut_loaded`). `after_weights`, where set, is called
  // once each pair's weights are requested (true for the round's last pair): the next block's
  // band, loaded ahead.
  struct BlockFeed {
    std::function<Place(uint64_t)> a_tile, a_ring;
    std::function<void(Place, uint64_t, uint64_t, uint64_t)> load_a_rows;
    std::function<void(uint64_t, uint64_t, uint64_t, uint64_t, Place)> weights;
    uint64_t& a_load;
    std::vector<bool>& a_loaded;
    std::set<std::pair<uint64_t, uint64_t>>& cut_loaded;
    std::function<void(bool)> after_weights;
  };
  // A round's weights and matmuls of the `mt`-row block whose `jobs` GEMM `s` runs in tiles of
  // Kt x Nt: A kept across its N tiles (`reuse`) or loaded per K step, each job's rows in one
  // matmul a pair or in its cuts (`cut`, outputs_of()).
  void matmuls(const GemmSpec& s, uint64_t Kt, uint64_t Nt, const std::vector<Job>& jobs,
               const Round& rd, bool reuse, bool cut, uint64_t mt, BlockFeed& f) {
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(s.dt));
    const uint64_t K = uint64_t(s.K), N = uint64_t(s.N);
    // Without a kept row block, the A tile of each K step of the round (one, or q where
    // the arrays share a job's K steps), from the ring in the order the pairs need them:
    // (its number, its place).
    std::map<uint64_t, std::pair<uint64_t, Place>> a_steps;
    if (!reuse)
      for (const Pair& pr : rd.pairs)
        if (a_steps.try_emplace(pr.step, f.a_load, f.a_ring(f.a_load)).second) ++f.a_load;
    // Each pair's weights, then its matmuls; with cuts, the pairs' matmuls of cut 0, then
    // of cut 1, ..., each cut's A rows loaded just before its first matmul, so that the
    // arrays start together and take the rows in the order they arrive.
    struct Item {
      Pair pr;
      uint64_t kt, nt;
      Place a_at;
      std::vector<Cut> cuts;
    };
    std::vector<Item> items;
    std::set<uint64_t> a_loaded_round;  // without reuse: the K steps whose A is loaded
    auto multiply = [&](const Item& it, size_t i) {
      const Job& job = jobs[it.pr.job];
      const Cut& c = it.cuts[i];
      Place rows = it.a_at;
      rows.offset += (job.r0 + c.r0) * it.kt * e;
      if (cut &&
          f.cut_loaded.insert({reuse ? it.pr.step : a_steps.at(it.pr.step).first, job.r0 + c.r0})
              .second)
        f.load_a_rows(rows, it.pr.step, job.r0 + c.r0, c.rows);
      Place acc{Region::acc, it.pr.slot, c.r0 * it.nt * 4};
      op(Matmul{s.dt, rows, Place{Region::fifo, it.pr.fifo, 0}, acc, it.pr.accumulate, c.rows,
                it.kt, it.nt, i > 0});
    };
    for (const Pair& pr : rd.pairs) {
      const Job& job = jobs[pr.job];
      const uint64_t k0 = pr.step * Kt, kt = std::min(Kt, K - k0);
      const uint64_t nt = std::min(Nt, N - job.n0);
      f.weights(k0, kt, job.n0, nt, Place{Region::fifo, pr.fifo, 0});
      if (f.after_weights) f.after_weights(&pr == &rd.pairs.back());
      const Item it{pr, kt, nt, reuse ? f.a_tile(k0) : a_steps.at(pr.step).second,
                    outputs_of(job, cut)};
      if (cut) {
        items.push_back(it);
        continue;
      }
      if (reuse && !f.a_loaded[pr.step]) {
        f.load_a_rows(it.a_at, pr.step, 0, mt);
        f.a_loaded[pr.step] = true;
      } else if (!reuse && a_loaded_round.insert(pr.step).second) {
        // The rows the round's jobs of this K step read (a run of parts: the jobs of the
        // first rows first).
        uint64_t r0 = mt, r1 = 0;
        for (const Pair& o : rd.pairs)
          if (o.step == pr.step) {
            r0 = std::min(r0, jobs[o.job].r0);
            r1 = std::max(r1, jobs[o.job].r0 + jobs[o.job].rows);
          }
        Place at = it.a_at;
        at.offset += r0 * kt * e;
        f.load_a_rows(at, pr.step, r0, r1 - r0);
      }
      multiply(it, 0);
    }
    // Cut by cut across the items, an array's second item (the groups taken together)
    // after all the cuts of its first.
    std::vector<size_t> layer(items.size());
    std::map<uint32_t, size_t> seen;
    size_t layers = 0;
    for (size_t j = 0; j < items.size(); ++j)
      layers = std::max(layers, (layer[j] = seen[items[j].pr.fifo]++) + 1);
    for (size_t l = 0; l < layers; ++l)
      for (size_t i = 0, more = 1; more; ++i) {
        more = 0;
        for (size_t j = 0; j < items.size(); ++j)
          if (layer[j] == l && i < items[j].cuts.size()) {
            multiply(items[j], i);
            more = 1;
          }
      }
  }

  // The rows of a convolution's row block when its A is formed on chip (ws), at most Mt: its
  // stages (the DRAM moving the image, the weights once per block, or once per core where
  // `w_room` bytes of each A region keep them, and the output; the weight DMA feeding kept
  // weights from the UB; the setup unit forming A; the arrays; the drain) overlap from one block to
  // the next, and within a block from one group of the arrays' jobs to the next (a group's drain
  // and store overlap the next group's products), so with nb blocks of g groups a core takes about
  // the slowest stage's total plus 1/(nb g) of the others' (the first group's fill and the last
  // one's drain). More blocks shorten that fill but read the weights again for each; each block
  // streams at least R rows (a weight load), and the blocks come in a multiple of the cores
  // that share them. A block's rows of A are kept across its N tiles where they fit `a_cap`
  // bytes of an A region (what the kept weights and the band leave), as gemm() keeps them.
  // Returns the rows for the nb that minimises that time.
  uint64_t pipelined_rows(const GemmSpec& s, uint64_t Mt, uint64_t Nt, uint64_t shares, bool onchip,
                          uint64_t w_room, uint64_t a_cap) const {
    const double e = isa::tpu::elem_bytes(s.dt), eo = s.c_fp32 ? 4 : e;
    const double M = double(s.M), N = double(s.N), K = double(s.K), R = c_.rows;
    const double per_core = M / double(shares);
    const double bw = dram_bytes_per_cycle();
    const isa::tpu::ConvGeom& g = s.geom;
    // The images (a batch's) once, and a band's halo again for every block.
    const double image = onchip ? double(s.images) * g.h * g.w * g.cg * e : M * K * e;
    const double halo = onchip ? double(g.r) * g.w * g.cg * e : 0;
    const double ksteps = std::ceil(K / R), ntiles = std::ceil(N / double(Nt));
    auto rows_of = [&](uint64_t nb) { return part_rows(uint64_t(s.M), nb); };
    const Feed supply = feed_of(std::min(K, R) * double(Nt) * e, double(shares), w_room != 0);
    // The arrays and the drain of a core's blocks, each split among the arrays as gemm() will.
    auto kept = [&](double rows) { return rows * K * e <= double(a_cap); };
    // A pipeline of `pieces` alike whose stages take these totals: the slowest, plus the
    // others' share of one piece.
    auto flow = [](std::initializer_list<double> stages, double pieces) {
      const double slowest = std::max(stages);
      return slowest + (std::accumulate(stages.begin(), stages.end(), 0.0) - slowest) / pieces;
    };
    // Bytes read `times`: the DRAM's cycles and the CMEM port's, which serves the reads after
    // the first where the chip has a CMEM that holds them (else the DRAM serves them all).
    const double cmem_bw = c_.cmem_gbps * 1e3 / c_.clock_mhz;
    auto reread = [&](double bytes, double times) {
      const bool cmem = double(c_.cmem_bytes) >= bytes;
      return std::pair{(cmem ? 1 : times) * bytes / bw, cmem ? (times - 1) * bytes / cmem_bw : 0};
    };
    // The setup unit's cycles to form `rows` rows of A: the rows written through the UB's
    // write path, while it reads each K step's band, at most as many bytes, through the read
    // path (docs/models/tpu.md).
    auto formed = [&](double rows) { return rows * K * e / double(c_.ub_port_bytes); };
    // The estimate for nb blocks: the flow above over the pieces (a core's blocks times each
    // block's groups of jobs), which overlaps the stages only from one piece to the next, so
    // one block of one group sums them; or, with `chain`, the lesser of that (plus the fixed
    // latencies: fill_cycles() and the last store's DRAM latency) and a chain, the longest of
    // three paths through the same schedule. The arrays': within a block the weights, the
    // setup unit, the arrays and the drain overlap K step by K step (as its matmuls do), with
    // only the first block's band (before its first products) and the last cut's drain and
    // stores (after its last products) outside; or all the reads, then the last K step's last
    // cut (its weights loaded meanwhile). The drain's and the channel's: the results from the
    // first block's first ones (after its band, its K steps but the last and its last K step's
    // first cut: a core's first and last blocks stream in cuts where each array takes at most
    // kCutMatmuls pairs, cuts_pay()), idle until the second block's first; the channel reads
    // meanwhile, or, where longer, before. With the chain, a 3x3 convolution on `tpu_v1` takes
    // one block where two read its weights twice (ResNet-50 layer2.1.conv2: 11,273 -> 9,261
    // cycles), and a 1x1 convolution on `tpu_v4` two blocks a core where one stored all its
    // output after its last products (layer3.0.conv1: 2,106 -> 1,989). Where every block's
    // weights cross the DRAM beside its band, the chain keeps an earlier form (below;
    // docs/models/tpu.md).
    auto time = [&](uint64_t nb, bool chain) {
      const double blocks = double(nb);
      const auto moved = reread(K * N * e, w_room ? double(shares) : blocks);
      const double weights = moved.first, port = moved.second;
      const double feed =
          w_room ? K * N * e / double(c_.ub_port_bytes) * blocks / double(shares) : 0;
      const double dram = (image + halo * blocks + M * N * eo) / bw + weights;
      const double setup = onchip ? formed(per_core) : 0;
      const uint64_t rows = rows_of(nb);
      const Split sp =
          split_of(uint64_t(ntiles), rows, uint64_t(ksteps), kept(double(rows)), blocks > shares,
                   supply, [&](uint64_t) { return acc_slots_of(rows, Nt); });
      const double arrays = sp.arrays * blocks / double(shares);
      const double drain = sp.drain * blocks / double(shares);
      // A block's A (its band, on chip) goes round the A ring's S slots, each held from its
      // load's request, a DRAM latency L before the data, to the end of the block's products,
      // about L + T / nb for nb blocks a core in T cycles: S T >= nb (L + T / nb), so T >= nb L
      // / (S - 1). Many short blocks of a band (two slots) wait on their loads' latency.
      const double slots = onchip
                               ? 2
                               : 2 * std::clamp(std::floor(double(a_cap) / (double(rows) * K * e)),
                                                1.0, double(kARing / 2));
      const double ring =
          blocks / double(shares) * c_.dram_latency_ns * c_.clock_mhz / 1e3 / (slots - 1);
      const double pieces = blocks / double(shares) * double(sp.groups);
      const double flowed = flow({dram, port, feed, setup, arrays, drain}, pieces);
      if (!chain) return std::max(ring, flowed);
      const double band = onchip ? (image + halo * blocks) / blocks * double(shares) / bw : 0;
      const double streamed = weights + (onchip ? 0 : image / bw);
      const double last_out = M * N * eo / (blocks * double(sp.groups)) * double(shares) / bw;
      const double writes = M * N * eo / bw, reads = dram - writes;
      const double latency = c_.dram_latency_ns * c_.clock_mhz / 1e3, fill = fill_cycles();
      // A piece's products.
      const double piece = (std::max(setup, arrays) + std::min(setup, arrays) / ksteps) / pieces;
      // The arrays' path, the last piece in `cuts`; `loaded`: the cycles of the last weight
      // load that the reads' path need not wait for.
      auto arrays_path = [&](double cuts, double loaded) {
        return std::max(
                   band + std::max({streamed, port, feed, setup, arrays, drain}) + last_out / cuts,
                   reads + arrays / (pieces * ksteps * cuts) + writes / (pieces * cuts) - loaded) +
               drain / (pieces * cuts) + fill + latency;
      };
      if (onchip && !w_room && double(c_.cmem_bytes) < K * N * e) {
        // Every block's weights cross the DRAM beside its band, their loads queued behind the
        // bands, which the paths below do not count (with them, a 3x3 convolution on `tpu_lab`
        // took 24-row blocks and ran 38 % slower): the earlier chain, of whole pieces, and
        // every store after the first piece's products and drain.
        const double chained = std::max(
            arrays_path(1, 0), std::max(reads, piece) + writes + drain / pieces + fill + latency);
        return std::max(ring, std::min(flowed, chained));
      }
      const double pairs = std::ceil(ntiles * double(sp.parts) * ksteps / double(c_.count));
      const double cuts = c_.cut_streams && c_.fold_overlap && pairs <= double(kCutMatmuls)
                              ? double(cuts_of(rows / sp.parts).size())
                              : 1;
      // When the first results of `products` come.
      auto first_results = [&](double products) {
        return products * (ksteps - 1 + 1 / cuts) / ksteps;
      };
      // The results go through the drain, then the channel, each from the first block's first
      // results on, idle until the second block's first where the first's take less time: a
      // middle block is not cut, so its results come at its end, its products after the first
      // block's and after its operands' reads.
      const double core_blocks = blocks / double(shares), block = piece * double(sp.groups);
      const double start = fill + band + first_results(piece);
      const double second = core_blocks >= 3
                                ? fill + block + std::max(block, 2 * reads / core_blocks - R)
                            : core_blocks >= 2 ? fill + block + first_results(block)
                                               : 0;
      auto idle = [&](double busy) { return std::max(0.0, second - start - busy / core_blocks); };
      const double drained = start + idle(drain) + drain + writes / (pieces * cuts) + latency;
      const double channel = std::max(reads, start + idle(writes)) + writes + latency;
      return std::max(ring, std::min(flowed + fill + latency,
                                     std::max({arrays_path(cuts, R), drained, channel})));
    };
    const uint64_t first = ((uint64_t(s.M) + Mt - 1) / Mt + shares - 1) / shares * shares;
    if (double(rows_of(first)) < R) {
      // Too few rows for a block of R per core: a block per core all the same (each core
      // forms only its rows, every core reads all of B), or, when faster, one block whose N
      // tiles the cores share (each forms all of A and reads its part of B; Mt unchanged).
      // What every core reads comes through the CMEM after the first, where there is one.
      const uint64_t n = uint64_t(std::ceil(ntiles / double(shares)));
      const Split sp = split_of(n, uint64_t(s.M), uint64_t(ksteps), kept(M), false, supply,
                                [&](uint64_t) { return acc_slots_of(uint64_t(s.M), Nt); });
      const auto [images, port] = reread(image, double(shares));
      const double dram = (K * N * e + M * N * eo) / bw + images;
      const double setup = onchip ? formed(M) : 0;
      const double shared = flow({dram, port, setup, sp.arrays, sp.drain}, double(sp.groups));
      // (The flow alone here: with the chain, ResNet-50's layer4 convolutions on `tpu_v4` took
      // a block per core and ran slower, layer4.0.conv2 5,394 -> 5,785 cycles.)
      return shared < time(first, false) ? Mt : std::min(Mt, rows_of(first));
    }
    // The weights a core reads again per block come through the CMEM after the first, where
    // there is one.
    uint64_t best = first;
    double best_time = time(first, true);
    for (uint64_t nb = first + shares; nb <= 64 * shares && double(rows_of(nb)) >= R; nb += shares)
      if (const double t = time(nb, true); t < best_time) best = nb, best_time = t;
    return std::min(Mt, rows_of(best));
  }

  // The rows [m0, m1) and columns [n0, n1) of C (n0 a multiple of the N tile).
  struct Window {
    uint64_t m0, m1, n0, n1;
  };
  // A GEMM in one step (single_step()), or an fp32 one too large for that in steps, one after
  // another, as the measured kernels (float16 dots XLA computes in fp32 passes) take the sum of
  // their transfers and products at every size measured (docs/validation/tpu.md, "Beyond the
  // data"): single_step() takes K a region's worth of columns at a time where C fits the
  // accumulators; where it does not, blocks of C's rows and columns each run so. The blocks
  // are about square (A is read once per column block, B once per row block), as large as the
  // accumulators hold. False (nothing emitted) where not even a block of 8 rows and one N tile
  // fits, or a GEMM of another dtype does not fit one step: the pipelined tiling runs it.
  bool in_steps(const GemmSpec& s, int only) {
    const uint64_t M = uint64_t(s.M), N = uint64_t(s.N);
    const bool steps = s.dt == DType::fp32;
    if (single_step(s, only, Window{0, M, 0, N}, steps, false)) return true;
    if (c_.dataflow != Dataflow::ws || s.conv || s.b_trans || !steps) return false;
    const uint64_t Nt = step_tiles(s).second;
    if (!Nt) return false;
    const uint64_t shares = only >= 0 ? 1 : uint64_t(cores_), sums = c_.acc_bytes / 4;
    uint64_t nb = std::clamp<uint64_t>(uint64_t(std::sqrt(double(sums))) / Nt * Nt, Nt, N);
    uint64_t mb = std::min(M, std::max<uint64_t>(8, sums / nb / 8 * 8) * shares);
    while (!single_step(s, only, Window{0, mb, 0, nb}, steps, true)) {
      if (mb > 8 * shares)
        mb = (mb / 2 + 7) / 8 * 8;
      else if (nb > Nt)
        nb = (nb / 2 + Nt - 1) / Nt * Nt;
      else
        return false;
    }
    for (uint64_t m0 = 0; m0 < M; m0 += mb)
      for (uint64_t n0 = 0; n0 < N; n0 += nb)
        if (!single_step(s, only, Window{m0, std::min(M, m0 + mb), n0, std::min(N, n0 + nb)}, steps,
                         false))
          throw Error(
              fmt::format("internal: pass 'tiling': a {}x{} step of a {}x{}x{} GEMM does "
                          "not fit where a {}x{} one does",
                          std::min(mb, M - m0), std::min(nb, N - n0), M, N, s.K, mb, nb));
    return true;
  }

  // A step's K and N tiles: up to R rows of B, as many columns as the arrays have and a weight
  // FIFO tile holds (0: none).
  std::pair<uint64_t, uint64_t> step_tiles(const GemmSpec& s) const {
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(s.dt));
    const uint64_t Kt = std::min(uint64_t(s.K), uint64_t(c_.rows));
    return {Kt, std::min({uint64_t(s.N), uint64_t(c_.cols), c_.fifo_tile_bytes / (Kt * e)})};
  }
  // The window's part of a GEMM in one step, as XLA runs a dot whose operands fit on chip
  // (lowering.single_step): each core stages its part of A (in ub.A0) and of B (in ub.A1, tile
  // after tile), then multiplies, keeping every tile of its C in the accumulators, then drains
  // and stores C; a sync between the phases, so none overlaps another. With `steps`, operands
  // that do not fit are staged and multiplied K a region's worth of columns at a time. On a
  // chip the cores split the rows of C (each reads all of B) or its N tiles (each reads all of
  // A), whichever the estimate below says is faster. False (nothing emitted) when that does
  // not fit, or with `dry` (only whether it fits).
  bool single_step(const GemmSpec& s, int only, const Window& win, bool steps, bool dry) {
    if (c_.dataflow != Dataflow::ws || s.conv || s.b_trans) return false;
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(s.dt)), eo = s.c_fp32 ? 4 : e;
    const uint64_t R = uint64_t(c_.rows), M = win.m1 - win.m0, N = win.n1 - win.n0,
                   K = uint64_t(s.K);
    const uint64_t Kt = step_tiles(s).first, Nt = step_tiles(s).second;
    if (!Nt) return false;
    const uint64_t shares = only >= 0 ? 1 : uint64_t(cores_);
    const uint64_t ntiles = (N + Nt - 1) / Nt;
    // A core's share: rows [m0, m0 + mt) and N tiles [t0, t1).
    struct Share {
      uint64_t m0, mt, t0, t1;
    };
    const uint64_t rows = part_rows(M, shares);
    const uint64_t tiles = (ntiles + shares - 1) / shares;
    const uint64_t ksteps = (K + Kt - 1) / Kt, count = uint64_t(c_.count);
    const uint64_t passes = s.dt == DType::fp32 ? uint64_t(c_.fp32_passes) : 1;
    // A core's plan: its rows of each N tile in `parts` jobs, each job's K steps shared by
    // `ksplit` arrays (partial sums in slots side by side, which the drain adds), the pair that
    // minimises the estimate of the products' time: groups of `count` (job, K share) pairs
    // (the arrays take them in turn) times a share's K steps times a job's stream (at least a
    // weight load of R cycles), times the fp32 passes; plus the drain, a pass through the
    // activation pipeline per slot. The estimate of the step adds the operands' transfer at the
    // chip's DRAM bandwidth: every core's part, or, through a CMEM, A and B once.
    struct Plan {
      bool by_rows = true, fits = false;
      uint64_t parts = 1, ksplit = 1, part_rows = 0, slot = 0, kc = 0;
      double time = 0;
    };
    auto plan_of = [&](bool by_rows) {
      Plan pl;
      pl.by_rows = by_rows;
      const uint64_t mt_max = by_rows ? rows : M, nt_max = by_rows ? N : std::min(N, tiles * Nt);
      const uint64_t t_max = by_rows ? ntiles : tiles;
      auto rows_of = [&](uint64_t p) { return part_rows(mt_max, p); };
      auto slot_of = [&](uint64_t p) {
        return (rows_of(p) * Nt * 4 + kAlign - 1) / kAlign * kAlign;
      };
      double best = -1;
      for (uint64_t p = 1; p <= count; ++p)
        for (uint64_t q = 1; q <= std::min(count, ksteps); ++q) {
          if (t_max * p * q * slot_of(p) > c_.acc_bytes) continue;
          const double t = double((t_max * p * q + count - 1) / count) *
                               double((ksteps + q - 1) / q) * double(std::max(R, rows_of(p))) *
                               double(passes) +
                           double(t_max * mt_max * q) / double(c_.act_rows);
          if (best < 0 || t < best) {
            best = t;
            pl.parts = p;
            pl.ksplit = q;
          }
        }
      if (best < 0) return pl;
      pl.part_rows = rows_of(pl.parts);
      pl.slot = slot_of(pl.parts);
      // The K steps staged at once: all, or as many as a region holds of both A and B.
      const uint64_t held = a_bytes_ / (std::max(mt_max, nt_max) * e);
      pl.kc = held >= K ? K : steps ? held / Kt * Kt : 0;
      pl.fits = pl.kc > 0 && pl.part_rows * Nt * eo <= o_bytes_;
      // The operands from DRAM at the chip's bandwidth: through a CMEM each element once.
      const double per_core = double(by_rows ? rows * K + K * N : M * K + K * nt_max) * double(e);
      const double in =
          c_.cmem_bytes ? double(M * K + K * N) * double(e) : per_core * double(shares);
      pl.time = best + in / dram_bytes_per_cycle();
      return pl;
    };
    Plan pl = plan_of(true);
    if (shares > 1) {
      const Plan n = plan_of(false);
      if (n.fits && (!pl.fits || n.time < pl.time)) pl = n;
    }
    if (!pl.fits || dry) return pl.fits;
    const bool by_rows = pl.by_rows;
    const uint64_t part_rows = pl.part_rows, ksplit = pl.ksplit, slot = pl.slot, kc = pl.kc;
    std::vector<Share> parts_of_chip;
    for (uint64_t c = 0; c < shares; ++c) {
      if (by_rows && c * rows < M)
        parts_of_chip.push_back({win.m0 + c * rows, std::min(rows, M - c * rows), 0, ntiles});
      if (!by_rows && c * tiles < ntiles)
        parts_of_chip.push_back({win.m0, M, c * tiles, std::min(ntiles, (c + 1) * tiles)});
    }
    for (size_t share = 0; share < parts_of_chip.size(); ++share) {
      const int core = only >= 0 ? only : int(share);
      const Share& sh = parts_of_chip[share];
      const uint64_t m0 = sh.m0, mt = sh.mt, n_lo = win.n0 + sh.t0 * Nt,
                     n_hi = std::min(win.n1, win.n0 + sh.t1 * Nt);
      std::vector<Job> jobs;
      for (uint64_t n0 = n_lo; n0 < n_hi; n0 += Nt)
        for (uint64_t r0 = 0; r0 < mt; r0 += part_rows)
          jobs.push_back({n0, r0, std::min(part_rows, mt - r0)});
      const std::string how =
          kc == K ? std::string("in one step")
                  : fmt::format("in {} steps of {} K columns", (K + kc - 1) / kc, kc);
      Nest& ns = nest(fmt::format("gemm C = A x B, M x N x K = {}x{}x{} {}: A = {}, B = {}, C = "
                                  "{}{}; {}: rows {} to {} of A and columns {} to {} of B staged "
                                  "in the UB, then the products ({}x{}x{} tiles), then C{}",
                                  s.M, s.N, K, dtype_text(s.dt), s.a_name, s.b_name, s.c_name,
                                  s.c_fp32 ? " (fp32)" : "", how, m0, m0 + mt, n_lo, n_hi,
                                  part_rows, Nt, Kt, on_core(core)),
                      core);
      ns.acc_slot_bytes = slot;
      ns.acc_slots = uint32_t(jobs.size() * ksplit);
      bias_at(s, 0);  // a bias is staged with A and B, before the products
      // K columns [c0, c0 + kc) at a time: their A tiles in ub.A0, the core's tiles of B one
      // after another in ub.A1, in (k, n) order; the sums stay in the accumulators throughout,
      // each slot set by its first matmul (in the first step that has a K step for it).
      const size_t work = jobs.size() * ksplit;
      std::vector<bool> set(work, false);
      for (uint64_t c0 = 0; c0 < K; c0 += kc) {
        const uint64_t c1 = std::min(K, c0 + kc), csteps = (c1 - c0 + Kt - 1) / Kt;
        for (uint64_t k0 = c0; k0 < c1; k0 += Kt)
          load_a(s, ub(Region::A, 0, mt * (k0 - c0) * e), m0, mt, k0, std::min(Kt, K - k0));
        auto b_tile = [&](uint64_t k0, uint64_t n0) {
          return ub(Region::A, 1,
                    ((k0 - c0) * (n_hi - n_lo) + std::min(Kt, K - k0) * (n0 - n_lo)) * e);
        };
        for (uint64_t k0 = c0; k0 < c1; k0 += Kt)
          for (uint64_t n0 = n_lo; n0 < n_hi; n0 += Nt) {
            const uint64_t kt = std::min(Kt, K - k0), nt = std::min(Nt, win.n1 - n0);
            op(Load{DramTile{"B", k0, kt, n0, nt, e, s.b_addr + k0 * s.ldb + n0 * e, s.ldb, false},
                    b_tile(k0, n0)});
          }
        op(Sync{});
        // The arrays take the (job, K share) pairs in turn, every K step of a group before the
        // next group; K share i of a job takes the K steps i, i + ksplit, ... (of all of K) into
        // slot job * ksplit + i.
        const uint64_t s0 = c0 / Kt, s1 = s0 + csteps;
        for (size_t g0 = 0; g0 < work; g0 += size_t(c_.count)) {
          const size_t g1 = std::min(work, g0 + size_t(c_.count));
          for (uint64_t round = 0; round * ksplit < csteps + ksplit; ++round)
            for (size_t w = g0; w < g1; ++w) {
              const Job& job = jobs[w / ksplit];
              const uint64_t step =
                  s0 + (w % ksplit + ksplit - s0 % ksplit) % ksplit + round * ksplit;
              if (step >= s1) continue;
              const uint64_t k0 = step * Kt, kt = std::min(Kt, K - k0);
              const uint64_t nt = std::min(Nt, win.n1 - job.n0);
              const Place fifo{Region::fifo, uint32_t(w - g0), 0};
              op(StagedWeights{"B", k0, job.n0, kt, nt, s.dt, b_tile(k0, job.n0), fifo});
              op(Matmul{s.dt, ub(Region::A, 0, (mt * (k0 - c0) + job.r0 * kt) * e), fifo,
                        Place{Region::acc, uint32_t(w), 0}, set[w], job.rows, kt, nt});
              set[w] = true;
            }
        }
        op(Sync{});
      }
      for (size_t j = 0; j < jobs.size(); ++j) {
        const Job& job = jobs[j];
        const uint64_t nt = std::min(Nt, win.n1 - job.n0), m = m0 + job.r0;
        const Place o = ub(Region::O, j % 2);
        op(Drain{Place{Region::acc, uint32_t(j * ksplit), 0}, o, s.c_fp32 ? DType::fp32 : s.dt,
                 job.rows, nt, s.relu ? ActFunc::relu : ActFunc::none, s.mult, s.shift,
                 uint32_t(ksplit), bias_at(s, job.n0)});
        op(Store{o, DramTile{"C", m, job.rows, job.n0, nt, eo, s.c_addr + m * s.ldc + job.n0 * eo,
                             s.ldc, false}});
      }
    }
    return true;
  }

  // Rows [m0, m0 + mt) and columns [k0, k0 + kt) of A into dst: from DRAM, or formed from the
  // band of the image in the UB when there is one.
  void load_a(const GemmSpec& s, Place dst, uint64_t m0, uint64_t mt, uint64_t k0, uint64_t kt,
              const std::vector<Band>& bands = {}) {
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(s.dt));
    k0 += s.k0;  // A's column
    if (!s.a_conv) {
      op(Load{DramTile{"A", m0, mt, k0, kt, e, s.a_addr + m0 * s.lda + k0 * e, s.lda, false}, dst});
      return;
    }
    // Each image's rows from its band, or gathered from its place in DRAM.
    for (const ImagePiece& p : pieces_of(s, m0, mt)) {
      Place to = dst;
      to.offset += p.r * kt * e;
      const auto band =
          std::find_if(bands.begin(), bands.end(), [&](const Band& b) { return b.img == p.img; });
      if (band != bands.end()) {
        isa::tpu::ConvGeom g = s.geom;
        g.c = g.cg;  // the band holds only the gathered channels
        op(Im2col{"A", s.dt, band->at, band->h0, band->rows, g, p.p0, p.rows, k0, kt, to});
      } else {
        op(Gather{"A", s.dt, s.a_addr + p.img * s.image_bytes, s.geom, p.p0, p.rows, k0, kt, false,
                  to});
      }
    }
  }

  void set_out(const Node& n, GemmSpec& s) const {
    s.mult = n.attrs.requant_multiplier;
    s.shift = n.attrs.requant_shift;
    s.relu = n.attrs.fused_relu;
    if (n.inputs.size() == 3) {
      if (!params_bytes_) unsupported(n, "the bias does not fit the unified buffer");
      s.bias_addr = addr(n.inputs[2]);
    }
  }
  // The bias of a drain of columns n0 on, for a GEMM with one: the GEMM's N values go into P
  // at the nest's first call (in a pipelined GEMM just before its first drain, so the load is
  // not queued before the first operands'), and each drain reads from the column of its tile on.
  std::optional<Place> bias_at(const GemmSpec& s, uint64_t n0) {
    if (!s.bias_addr) return std::nullopt;
    const uint64_t e = s.c_fp32 ? 4 : uint64_t(isa::tpu::elem_bytes(s.dt));
    const std::pair<size_t, size_t> nest{out_.layers.size(), out_.layers.back().nests.size()};
    if (bias_nest_ != nest) {
      op(Load{DramTile{"bias", 0, 1, 0, uint64_t(s.N), e, *s.bias_addr, uint64_t(s.N) * e, true},
              ub(Region::P, 0)});
      bias_nest_ = nest;
    }
    return ub(Region::P, 0, n0 * e);
  }

  void lower_gemm(const Node& n) {
    const auto& a = g_.tensor(n.inputs[0]);
    const auto& b = g_.tensor(n.inputs[1]);
    GemmSpec s;
    s.dt = gemm_dtype_of(n, a.dtype);
    s.c_fp32 = s.dt == DType::fp32;
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(s.dt));
    s.K = b.shape[0];
    s.N = b.shape[1];
    s.M = a.elements() / s.K;
    s.a_name = a.name, s.b_name = b.name, s.c_name = name(n.outputs[0]);
    s.a_addr = addr(n.inputs[0]);
    s.lda = uint64_t(s.K) * e;
    s.b_addr = addr(n.inputs[1]);
    s.ldb = uint64_t(s.N) * e;
    s.c_addr = addr(n.outputs[0]);
    s.ldc = uint64_t(s.N) * e;
    set_out(n, s);
    gemm(n, s);
  }

  void lower_matmul(const Node& n) {
    const auto& a = g_.tensor(n.inputs[0]);
    const auto& b = g_.tensor(n.inputs[1]);
    const int64_t batch = a.shape[0];
    GemmSpec s;
    s.dt = gemm_dtype_of(n, a.dtype);
    s.c_fp32 = s.dt == DType::fp32;
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(s.dt));
    s.M = a.shape[1];
    s.K = a.shape[2];
    s.N = b.shape[2];
    s.lda = uint64_t(s.K) * e;
    s.ldb = s.ldc = uint64_t(s.N) * e;
    set_out(n, s);
    for (int64_t i = 0; i < batch; ++i) {
      s.a_name = fmt::format("{}[{}]", a.name, i);
      s.b_name = fmt::format("{}[{}]", b.name, i);
      s.c_name = fmt::format("{}[{}]", name(n.outputs[0]), i);
      s.a_addr = addr(n.inputs[0]) + uint64_t(i * s.M * s.K) * e;
      s.b_addr = addr(n.inputs[1]) + uint64_t(i * s.K * s.N) * e;
      s.c_addr = addr(n.outputs[0]) + uint64_t(i * s.M * s.N) * e;
      gemm(n, s);
    }
  }

  void lower_conv(const Node& n) {
    const auto& x = g_.tensor(n.inputs[0]).shape;   // N, C, H, W
    const auto& w = g_.tensor(n.inputs[1]).shape;   // K, C/g, R, S
    const auto& y = g_.tensor(n.outputs[0]).shape;  // N, K, OH, OW
    const OpAttrs& at = n.attrs;
    if (at.kernel_h > 255 || w[2] > 255 || w[3] > 255 || at.stride_h > 255 || at.stride_w > 255 ||
        at.pad_h > 255 || at.pad_w > 255 || x[2] > 65535 || x[3] > 65535)
      unsupported(n, "window, stride or padding above 255, or an image side above 65535");
    GemmSpec s;
    s.dt = gemm_dtype_of(n, g_.tensor(n.inputs[0]).dtype);
    s.c_fp32 = s.dt == DType::fp32;
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(s.dt));
    // A GEMM per block of `gb` groups (the layout pass chose gb), over the whole batch: its
    // rows are the pixels of every image, one image after the other, so that each weight tile
    // serves the batch; its im2col columns are the block's input channels (rdconv's cg), its
    // weights the block-diagonal matrix of Layout::conv_weight, its columns the block's output
    // channels. Channels of different groups meet only in the zeros of the weights, which add
    // nothing.
    const int64_t groups = at.groups, cg = x[1] / groups, kg = w[0] / groups;
    const int64_t gb = plan_.tensors[size_t(n.inputs[1])].layout.group_block;
    s.conv = true;
    set_out(n, s);
    const int64_t images = x[0], pixels = y[2] * y[3];
    // A GEMM of too few rows to give each core R of them runs whole on one core, the GEMMs
    // round robin over the cores (when there are enough of them).
    const int64_t gemms = (groups + gb - 1) / gb;
    const bool whole = cores_ > 1 && gemms >= cores_ && images * pixels < cores_ * int64_t(c_.rows);
    // A 1x1 window of stride 1 without padding: the im2col matrix is the NHWC images
    // themselves (rows of the block's channels, all C channels apart, the images one after
    // the other), loaded as any matrix (through the CMEM, where there is one) rather than
    // gathered.
    s.a_conv = !(w[2] == 1 && w[3] == 1 && at.stride_h == 1 && at.stride_w == 1 && at.pad_h == 0 &&
                 at.pad_w == 0);
    s.images = s.a_conv ? uint64_t(images) : 1;
    s.image_bytes = uint64_t(x[1] * x[2] * x[3]) * e;
    s.lda = uint64_t(x[1]) * e;
    s.M = images * pixels;
    const std::string batch = images == 1 ? "[0]" : fmt::format("[0..{}]", images - 1);
    int64_t count = 0;
    for (int64_t g0 = 0; g0 < groups; g0 += gb, ++count) {
      const int64_t b = std::min(gb, groups - g0);  // groups in this block
      const std::string group = groups == 1 ? ""
                                : b == 1    ? fmt::format(" group {}", g0)
                                            : fmt::format(" groups {} to {}", g0, g0 + b - 1);
      s.geom = {uint32_t(x[1]),     uint32_t(b * cg),  uint32_t(x[2]),        uint32_t(x[3]),
                uint32_t(w[2]),     uint32_t(w[3]),    uint32_t(at.stride_h), uint32_t(at.stride_w),
                uint32_t(at.pad_h), uint32_t(at.pad_w)};
      s.K = b * cg * w[2] * w[3];
      s.N = b * kg;
      s.ldb = uint64_t(s.N) * e;
      s.ldc = uint64_t(w[0]) * e;
      s.a_name = s.a_conv ? fmt::format("im2col({}{}){} ({}x{} window, stride {}x{}, pad {}x{})",
                                        name(n.inputs[0]), batch, group, w[2], w[3], at.stride_h,
                                        at.stride_w, at.pad_h, at.pad_w)
                          : fmt::format("{}{}{} (pixels x channels: a 1x1 window)",
                                        name(n.inputs[0]), batch, group);
      s.b_name = name(n.inputs[1]) + group + (b > 1 ? " (block-diagonal)" : "");
      s.c_name = fmt::format("{}{}{} (pixels x channels)", name(n.outputs[0]), batch, group);
      s.a_addr = addr(n.inputs[0]) + uint64_t(g0 * cg) * e;
      // The blocks before this one are whole: gb^2 cg kg weights per tap each.
      s.b_addr = addr(n.inputs[1]) + uint64_t(g0 * gb * cg * kg * w[2] * w[3]) * e;
      s.c_addr = addr(n.outputs[0]) + uint64_t(g0 * kg) * e;
      if (n.inputs.size() == 3) s.bias_addr = addr(n.inputs[2]) + uint64_t(g0 * kg) * e;
      gemm(n, s, whole ? int(count % cores_) : -1);
    }
  }

  void lower_pool(const Node& n) {
    need_vpu(n);
    const auto& x = g_.tensor(n.inputs[0]).shape;
    const auto& y = g_.tensor(n.outputs[0]).shape;
    const OpAttrs& at = n.attrs;
    if (!at.pool_max && (at.pad_h || at.pad_w))
      unsupported(n, "average pooling with padding (the divisor varies per pixel)");
    const DType dt = dtype_of(n, g_.tensor(n.inputs[0]).dtype);
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(dt));
    const uint64_t win = uint64_t(at.kernel_h * at.kernel_w), C = uint64_t(x[1]);
    const uint64_t pixels = uint64_t(y[2] * y[3]);
    const uint64_t pt = std::min({pixels, a_bytes_ / (win * C * e), o_bytes_ / (C * e)});
    if (!pt) unsupported(n, "one pixel's window does not fit a region of the unified buffer");
    isa::tpu::ConvGeom geom{uint32_t(C),           uint32_t(C),           uint32_t(x[2]),
                            uint32_t(x[3]),        uint32_t(at.kernel_h), uint32_t(at.kernel_w),
                            uint32_t(at.stride_h), uint32_t(at.stride_w), uint32_t(at.pad_h),
                            uint32_t(at.pad_w)};
    const VecFunc f = at.pool_max ? VecFunc::rowmax : VecFunc::rowavg;
    for (int core = 0; core < cores_; ++core) {
      uint64_t t = 0;  // the core's own tiles: ping-pong parity
      for (int64_t img = 0; img < x[0]; ++img) {
        if (cores_ > 1 && pixels <= pt * uint64_t(core)) break;  // fewer tiles than cores
        nest(fmt::format("{} pool {}x{} (stride {}x{}, pad {}x{}) {}: X = the windows of {}[{}] "
                         "(pixels x {}*{} channels), Y = {}[{}] (pixels x channels); tiles of {} "
                         "pixels{}",
                         at.pool_max ? "max" : "average", at.kernel_h, at.kernel_w, at.stride_h,
                         at.stride_w, at.pad_h, at.pad_w, dtype_text(dt), name(n.inputs[0]), img,
                         win, C, name(n.outputs[0]), img, pt, on_core(core)),
             core);
        for (uint64_t p0 = pt * uint64_t(core); p0 < pixels; p0 += pt * uint64_t(cores_), ++t) {
          const uint64_t rows = std::min(pt, pixels - p0);
          const Place a = ub(Region::A, t % 2), o = ub(Region::O, t % 2);
          op(Gather{"X", dt, addr(n.inputs[0]) + uint64_t(img * x[1] * x[2] * x[3]) * e, geom, p0,
                    rows, 0, win * C, at.pool_max, a});
          op(Vector{f, dt, a, std::nullopt, o, rows, C, win, 0, false, false, 0});
          op(Store{o, DramTile{"Y", p0, rows, 0, C, e,
                               addr(n.outputs[0]) + (uint64_t(img) * pixels + p0) * C * e, C * e,
                               true}});
        }
      }
    }
  }

  // Row-wise and elementwise ops on the vector unit, a tile of rows at a time. A clip (f is
  // maxs) takes a pass per bound: maxs into O, then mins in place.
  void lower_vector(const Node& n, VecFunc f) {
    need_vpu(n);
    const auto& x = g_.tensor(n.inputs[0]);
    const DType dt = dtype_of(n, x.dtype);
    if (dt == DType::int8 && !isa::tpu::vec_func_takes_int8(f))
      unsupported(n, "the vector unit computes this function on bf16 only");
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(dt));
    const bool two = f == VecFunc::add || f == VecFunc::mul;
    const bool norm = f == VecFunc::layernorm || f == VecFunc::rmsnorm;
    const uint64_t cols = uint64_t(x.shape.back());
    uint64_t rows = uint64_t(x.elements()) / cols;
    uint64_t width = cols;
    if (f != VecFunc::softmax && !norm) {  // elementwise: any row shape will do
      width = std::min<uint64_t>(uint64_t(x.elements()), 4096);
      while (uint64_t(x.elements()) % width) --width;
      rows = uint64_t(x.elements()) / width;
    }
    const uint64_t row_bytes = width * e;
    const uint64_t rt =
        std::min({rows, a_bytes_ / (two ? 2 * row_bytes : row_bytes), o_bytes_ / row_bytes});
    if (!rt) unsupported(n, "one row does not fit the unified buffer");
    std::vector<std::pair<VecFunc, float>> bounds;  // a clip's passes
    if (n.kind == OpKind::clip) {
      if (std::isfinite(n.attrs.clip_min)) bounds.push_back({VecFunc::maxs, n.attrs.clip_min});
      if (std::isfinite(n.attrs.clip_max)) bounds.push_back({VecFunc::mins, n.attrs.clip_max});
      f = bounds.front().first;
    }
    const char* fname =
        n.kind == OpKind::clip
            ? "clip"
            : isa::tpu::detail::kind_names(isa::tpu::detail::Kind::vec_func)[size_t(f)];
    float imm = 0;
    if (norm) imm = float(n.attrs.eps);
    if (f == VecFunc::softmax) imm = 1.0f;
    if (norm && !params_bytes_) unsupported(n, "the norm weights do not fit the unified buffer");
    const Place params = ub(Region::P, 0);
    for (int core = 0; core < cores_ && rt * uint64_t(core) < rows; ++core) {
      nest(fmt::format("vector {} {}: X = {}{}{}, Y = {}, viewed as {} x {}; tiles of {} rows{}",
                       fname, dtype_text(dt), x.name, two ? ", X2 = " + name(n.inputs[1]) : "",
                       norm ? ", gamma = " + name(n.inputs[1]) +
                                  (f == VecFunc::layernorm ? ", beta = " + name(n.inputs[2]) : "")
                            : "",
                       name(n.outputs[0]), rows, width, rt, on_core(core)),
           core);
      if (norm) {
        op(Load{DramTile{"gamma", 0, 1, 0, width, e, addr(n.inputs[1]), row_bytes, true}, params});
        if (f == VecFunc::layernorm)
          op(Load{DramTile{"beta", 0, 1, 0, width, e, addr(n.inputs[2]), row_bytes, true},
                  ub(Region::P, 0, row_bytes)});
      }
      // Row tiles round robin over the cores; the ping-pong parity counts the core's own.
      for (uint64_t r0 = rt * uint64_t(core), t = 0; r0 < rows; r0 += rt * uint64_t(cores_), ++t) {
        const uint64_t r = std::min(rt, rows - r0);
        const Place a = ub(Region::A, t % 2), o = ub(Region::O, t % 2);
        const Place a2 = ub(Region::A, t % 2, r * row_bytes);
        op(Load{
            DramTile{"X", r0, r, 0, width, e, addr(n.inputs[0]) + r0 * row_bytes, row_bytes, true},
            a});
        if (two)
          op(Load{DramTile{"X2", r0, r, 0, width, e, addr(n.inputs[1]) + r0 * row_bytes, row_bytes,
                           true},
                  a2});
        std::optional<Place> src2;
        if (two) src2 = a2;
        if (norm) src2 = params;
        if (bounds.empty()) op(Vector{f, dt, a, src2, o, r, width, 0, imm, false, false, 0});
        for (size_t i = 0; i < bounds.size(); ++i)
          op(Vector{bounds[i].first, dt, i ? o : a, std::nullopt, o, r, width, 0, bounds[i].second,
                    false, false, 0});
        op(Store{o, DramTile{"Y", r0, r, 0, width, e, addr(n.outputs[0]) + r0 * row_bytes,
                             row_bytes, true}});
      }
    }
  }

  // Attention per (batch, head): S = Q K^T on the array, kept in fp32; softmax (scale, causal
  // mask) on the vector unit, rounding P to bf16; O = P V on the array. S and P pass through
  // DRAM (no on-chip fusion), in the scratch buffers the layout pass placed.
  void lower_attention(const Node& n) {
    need_vpu(n);
    const AttentionDims ad = attention_dims(g_, n);
    const DType dt = dtype_of(n, g_.tensor(n.inputs[0]).dtype);
    if (dt != DType::bf16) unsupported(n, "attention runs on bf16 only");
    const uint64_t e = 2, B = uint64_t(ad.batch), H = uint64_t(ad.heads), SQ = uint64_t(ad.seq_q),
                   D = uint64_t(ad.head_dim), KVH = uint64_t(ad.kv_heads),
                   SKV = uint64_t(ad.seq_kv);
    const double scale = n.attrs.scale > 0 ? n.attrs.scale : 1.0 / std::sqrt(double(D));
    const int node = out_.layers.back().layer;
    const std::string scratch = n.name + ".";
    // Heads round robin over the cores of the chip, each core with its own scratch buffers.
    for (uint64_t b = 0; b < B; ++b)
      for (uint64_t h = 0; h < H; ++h) {
        const int core = int((b * H + h) % uint64_t(cores_));
        const uint64_t s_buf = plan_.find(node, scratch_name("S", core)).addr,
                       p_buf = plan_.find(node, scratch_name("P", core)).addr;
        const uint64_t kvh = h / (H / KVH);
        const std::string bh = fmt::format("[{},{}]", b, h), bkv = fmt::format("[{},{}]", b, kvh);
        GemmSpec s;
        s.dt = dt;
        s.M = int64_t(SQ), s.N = int64_t(SKV), s.K = int64_t(D);
        s.a_name = name(n.inputs[0]) + bh;
        s.b_name = name(n.inputs[1]) + bkv + "^T";
        s.c_name = scratch + "S";
        s.a_addr = addr(n.inputs[0]) + ((b * H + h) * SQ * D) * e;
        s.lda = D * e;
        s.b_addr = addr(n.inputs[1]) + ((b * KVH + kvh) * SKV * D) * e;
        s.ldb = D * e;
        s.b_trans = true;
        s.c_addr = s_buf;
        s.c_fp32 = true;
        s.ldc = SKV * 4;
        s.edge = b * H + h < uint64_t(cores_);  // the core's first head
        gemm(n, s, core);
        softmax_rows(s_buf, p_buf, SQ, SKV, float(scale), n.attrs.causal, SKV - SQ, scratch, core);
        GemmSpec o;
        o.dt = dt;
        o.M = int64_t(SQ), o.N = int64_t(D), o.K = int64_t(SKV);
        o.a_name = scratch + "P";
        o.b_name = name(n.inputs[2]) + bkv;
        o.c_name = name(n.outputs[0]) + bh;
        o.a_addr = p_buf;
        o.lda = SKV * e;
        o.b_addr = addr(n.inputs[2]) + ((b * KVH + kvh) * SKV * D) * e;
        o.ldb = D * e;
        o.c_addr = addr(n.outputs[0]) + ((b * H + h) * SQ * D) * e;
        o.ldc = D * e;
        o.edge = b * H + h + uint64_t(cores_) >= B * H;  // the core's last head
        gemm(n, o, core);
      }
  }

  void softmax_rows(uint64_t src, uint64_t dst, uint64_t rows, uint64_t cols, float scale,
                    bool causal, uint64_t offset, const std::string& scratch, int core) {
    const uint64_t in_bytes = cols * 4, row_bytes = cols * 2;  // fp32 scores, bf16 result
    const uint64_t rt = std::min({rows, a_bytes_ / in_bytes, o_bytes_ / row_bytes});
    if (!rt)
      throw Error(
          fmt::format("attention: a row of {} fp32 scores does not fit a region of "
                      "the unified buffer of '{}'",
                      cols, target_));
    nest(fmt::format("vector softmax (scale {}{}) of the scores X = {}S (fp32) into Y = {}P "
                     "(bf16), {} x {}; tiles of {} rows{}",
                     scale, causal ? ", causal" : "", scratch, scratch, rows, cols, rt,
                     on_core(core)),
         core);
    for (uint64_t r0 = 0, t = 0; r0 < rows; r0 += rt, ++t) {
      const uint64_t r = std::min(rt, rows - r0);
      const Place a = ub(Region::A, t % 2), o = ub(Region::O, t % 2);
      op(Load{DramTile{"X", r0, r, 0, cols, 4, src + r0 * in_bytes, in_bytes, true}, a});
      op(Vector{VecFunc::softmax, DType::bf16, a, std::nullopt, o, r, cols, 0, scale, causal, true,
                int32_t(offset + r0)});
      op(Store{o, DramTile{"Y", r0, r, 0, cols, 2, dst + r0 * row_bytes, row_bytes, true}});
    }
  }

  const Graph& g_;
  const LayoutPlan& plan_;
  const TpuParams& c_;
  const std::string& target_;
  TileProgram out_;
  uint64_t a_bytes_ = 0, o_bytes_ = 0, acc_part_ = 0, params_bytes_ = 0;
  std::pair<size_t, size_t> bias_nest_{0, 0};  // (layers, nests) when the last bias was loaded
  int cores_ = 1;
};

}  // namespace

TileProgram tiling(const Graph& g, const LayoutPlan& plan, const TpuParams& p,
                   const std::string& target) {
  return Tiler(g, plan, p, target).run();
}

}  // namespace xpusim::compiler::tpu
