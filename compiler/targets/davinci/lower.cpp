// The DaVinci family's compiler target: a workload graph to one kernel of the DaVinci assembly
// (isa/davinci) that every AI core runs as one block, splitting each op's work by its block
// index, with a sync_all between ops. Kernels follow copy-in, compute, copy-out with two stages
// of buffers synchronised by flags (docs/models/davinci.md, "The compiler target", says how each op
// is lowered).
//
// Passes: "layout" (every tensor in global memory as zero-padded row-major matrices, so that the
// cube's 16x16 fractals need no edge handling: Layout::padded; feature maps of convolutions and
// pooling as NC1HWC0 and their weights in the orders img2col and the vector unit read; weights
// that only the cube reads in NZ order, Layout::nz), "lower" (the kernel's text, assembled by the
// ISA's own assembler).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "compiler/target.h"
#include "isa/davinci/instr.h"
#include "isa/davinci/program.h"
#include "models/npu_davinci/params.h"

namespace xpusim::compiler::davinci {
namespace {

using xpusim::davinci::DavinciParams;

constexpr uint64_t kAlign = 512;  // tensors in global memory start on this boundary
constexpr int64_t kFractal = 16;  // rows and columns of a 2-byte fractal
// Every lane of the vector mask: the kernel's start, and after each partial iteration.
constexpr const char* kFullMask = "set_vector_mask 0xffffffffffffffff, 0xffffffffffffffff";

int64_t pad16(int64_t x) {
  return (x + kFractal - 1) / kFractal * kFractal;
}

// The ISA's name of a dtype the target runs (the cube's operand types).
const char* ty_name(DType t) {
  return t == DType::bf16 ? "bf16" : t == DType::int8 ? "s8" : "f16";
}

// K elements of a cube fractal (k0) for an operand of es bytes: 16, or 32 for s8; and its log2.
int64_t k0_of(int64_t es) {
  return 32 / es;
}
int k0_shift(int64_t es) {
  return es == 1 ? 5 : 4;
}

// How a reshape of a feature map (N, C, pixel dims...) stays one in NC1HWC0: `view` when it
// keeps N and C (it regroups the pixel dims only: the same bytes); `split` when it keeps N and
// moves factors of C in front of the pixel dims, (N, C, d...) -> (N, C', a1, ..., am, d'...)
// with C = C' a1 ... am, so that out[c', j, p] = in[c' S + j, p] with S = a1 ... am and j the
// index over a1 ... am (the pixels of the output: j, then the input's); `none` otherwise.
enum class MapReshape { none, view, split };
MapReshape map_reshape(const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
  if (in.size() < 3 || out.size() < 3 || in[0] != out[0]) return MapReshape::none;
  if (in[1] == out[1]) return MapReshape::view;
  if (in[1] % out[1] != 0) return MapReshape::none;
  int64_t a = 1;
  for (size_t d = 2; d < out.size() && a < in[1] / out[1]; ++d) a *= out[d];
  return a == in[1] / out[1] ? MapReshape::split : MapReshape::none;
}

// Elements from one index of each dim to the next in the padded layout l (its columns real,
// its rows padded to cols_p, its matrices to rows_p x cols_p).
std::vector<int64_t> padded_strides(const std::vector<int64_t>& shape, const Layout& l) {
  const int64_t rank = int64_t(shape.size());
  const int64_t col_from = std::max<int64_t>(0, rank - l.col_dims);
  const int64_t row_from = std::max<int64_t>(0, col_from - l.row_dims);
  const PaddedView v = padded_view(shape, l);
  std::vector<int64_t> st(static_cast<size_t>(rank), 0);
  int64_t s = 1;
  for (int64_t d = rank; d-- > 0;) {
    if (d == col_from - 1) s = v.cols_p;
    if (d == row_from - 1) s = v.rows_p * v.cols_p;
    st[size_t(d)] = s;
    s *= shape[size_t(d)];
  }
  return st;
}

// Whether two padded views, or two feature maps in NC1HWC0, lay the same elements on the same
// bytes (maps: the same images, channels and pixels, the pixel dims grouped alike or not).
bool same_bytes(const std::vector<int64_t>& a, const Layout& la, const std::vector<int64_t>& b,
                const Layout& lb) {
  if (la.kind == Layout::nc1hwc0 && lb.kind == Layout::nc1hwc0)
    return map_reshape(a, b) == MapReshape::view && la.c0 == lb.c0 && la.n_align == lb.n_align;
  const PaddedView u = padded_view(a, la), v = padded_view(b, lb);
  return la.kind == Layout::padded && lb.kind == Layout::padded && u.batch == v.batch &&
         u.rows == v.rows && u.cols == v.cols && la.align == lb.align &&
         la.tail_bytes == lb.tail_bytes;
}

// A padded layout of `shape` on the same bytes as `a` in la (col_dims and row_dims chosen),
// or none.
bool matching_layout(const std::vector<int64_t>& shape, const std::vector<int64_t>& a,
                     const Layout& la, Layout& out) {
  const int64_t rank = int64_t(shape.size());
  for (int64_t c = 1; c <= rank; ++c)
    for (int64_t r = 1; r <= std::max<int64_t>(1, rank - c); ++r) {
      Layout l;
      l.kind = Layout::padded;
      l.col_dims = c;
      l.row_dims = r;
      if (same_bytes(shape, l, a, la)) {
        out = l;
        return true;
      }
    }
  return false;
}

// Padded matrices of one real column (the layout's column dims all of size 1: each element at
// the start of its own padded row) as the rows that a swap of their last two dims makes: the
// shape (batch, 1, rows); empty when `shape` in l is not such a stack.
std::vector<int64_t> column_as_rows(const std::vector<int64_t>& shape, const Layout& l) {
  if (l.kind != Layout::padded || l.transposed || l.nz) return {};
  const PaddedView v = padded_view(shape, l);
  if (v.cols != 1 || v.rows == 1) return {};
  return {v.batch, 1, v.rows};
}

// The dims that both shapes are products of (consecutive dims of each), outermost first, each
// with the dim of a and of b it lies in and the product of the refined dims after it in that
// dim; empty when the shapes share no such refinement (a reshape that mixes rows).
struct RefinedDim {
  int64_t ext, a_dim, a_inner, b_dim, b_inner;
};
std::vector<RefinedDim> refine(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  auto suffixes = [](const std::vector<int64_t>& s) {
    std::vector<int64_t> v(s.size() + 1, 1);
    for (size_t i = s.size(); i-- > 0;) v[i] = v[i + 1] * s[i];
    return v;
  };
  const std::vector<int64_t> sa = suffixes(a), sb = suffixes(b);
  std::vector<int64_t> u(sa);
  u.insert(u.end(), sb.begin(), sb.end());
  std::sort(u.begin(), u.end(), std::greater<int64_t>());
  u.erase(std::unique(u.begin(), u.end()), u.end());
  std::vector<RefinedDim> out;
  for (size_t k = 0; k + 1 < u.size(); ++k) {
    if (u[k] % u[k + 1]) return {};
    RefinedDim r{u[k] / u[k + 1], 0, 1, 0, 1};
    // The dim whose suffix range holds this one: suffix(i + 1) <= u[k + 1] < u[k] <= suffix(i).
    for (size_t i = 0; i < a.size(); ++i)
      if (sa[i + 1] <= u[k + 1] && u[k] <= sa[i])
        r.a_dim = int64_t(i), r.a_inner = u[k + 1] / sa[i + 1];
    for (size_t i = 0; i < b.size(); ++i)
      if (sb[i + 1] <= u[k + 1] && u[k] <= sb[i])
        r.b_dim = int64_t(i), r.b_inner = u[k + 1] / sb[i + 1];
    out.push_back(r);
  }
  return out;
}

// Whether node r reads tensor t as a feature map in NC1HWC0 as it lies: a convolution's input,
// a pool, an elementwise op, a concat, a reshape, and a transpose that keeps C in place or makes
// it the last dim.
bool takes_map(const Node& r, int t) {
  switch (r.kind) {
    case OpKind::conv2d:
      return r.inputs[0] == t && r.inputs[1] != t;
    case OpKind::pool:
    case OpKind::concat:
    case OpKind::reshape:
      return true;
    case OpKind::transpose:
      return r.attrs.perm.size() >= 3 && (r.attrs.perm[1] == 1 || r.attrs.perm.back() == 1);
    default:
      return is_elementwise(r.kind);
  }
}

// Assembly text with the source line of each node's first instruction.
class Emitter {
 public:
  template <class... A>
  void operator()(fmt::format_string<A...> f, A&&... a) {
    text_ += "  " + fmt::format(f, std::forward<A>(a)...) + "\n";
    ++line_;
  }
  void label(const std::string& l) {
    text_ += l + ":\n";
    ++line_;
  }
  void comment(const std::string& c) {
    text_ += "  # " + c + "\n";
    ++line_;
  }
  int line() const { return line_ + 1; }  // the next line's number
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  int line_ = 0;
};

// Output tiles (tm x tn) and K step (tk) of a GEMM with operands of es bytes: the largest reuse
// (MACs per operand byte loaded) whose buffers fit: two stages of A and B in L1 and in L0A/L0B,
// the f32 (s32) tile in L0C, and (the vector path) the f32 tile and its converted copy in the
// UB. tk is a multiple of k0 (32 bytes of K), tn of 32 bytes of output row.
struct GemmTiles {
  int64_t tm, tn, tk;
};

// A convolution (conv) takes its K steps from `tks` too, and a_l1(tm, tk) gives the bytes of
// one stage of A in L1 (a GEMM's tile; a convolution's band of its feature map), which its
// reuse is measured by. Reuse counts in proportion to the AI cores the tiles keep busy
// (`batch` matrices of tiles dealt to p.cores). A bias takes a tile's columns in the UB twice
// more: as they come (es bytes each) and in f32.
template <class F>
GemmTiles choose_tiles(const DavinciParams& p, int64_t mp, int64_t np, int64_t kp, int64_t batch,
                       int64_t es, bool conv, bool bias, const std::vector<int64_t>& tks, F a_l1) {
  GemmTiles best{0, 0, 0};
  double best_score = -1;
  std::vector<int64_t> ks = {256, 128, 64, 32, 16};
  if (conv) ks.insert(ks.end(), tks.begin(), tks.end());
  for (int64_t tm : {256, 128, 64, 32, 16})
    for (int64_t tn : {256, 128, 64, 32, 16})
      for (int64_t tk : ks) {
        if (tm > std::max(kFractal, mp) || tn > std::max(kFractal, np) ||
            tk > std::max(kFractal, kp) || tk % k0_of(es) != 0 || tn % k0_of(es) != 0)
          continue;
        const bool fits = 2 * tm * tk * es <= p.l0a_bytes && 2 * tk * tn * es <= p.l0b_bytes &&
                          tm * tn * 4 <= p.l0c_bytes &&
                          2 * (a_l1(tm, tk) + tk * tn * es) <= p.l1_bytes &&
                          tm * tn * 6 + (bias ? tn * (es + 4) : 0) <= p.ub_bytes;
        if (!fits) continue;
        // MACs per byte loaded times the share of cores busy, then the larger tile (fewer
        // steps), then the larger K step.
        const double reuse = conv ? double(tm * tn * tk) / double(a_l1(tm, tk) + tk * tn * es)
                                  : double(tm * tn) / double(tm + tn);
        const int64_t tiles = batch * ((mp + tm - 1) / tm) * ((np + tn - 1) / tn);
        const double busy = double(std::min<int64_t>(tiles, p.cores)) / double(p.cores);
        const double score = reuse * busy * 1e6 + double(tm * tn) + double(tk) * 1e-3;
        if (score > best_score) best_score = score, best = {tm, tn, tk};
      }
  return best;
}

class DavinciTarget final : public Target {
 public:
  explicit DavinciTarget(const ArchConfig& cfg) : name_(cfg.name), p_(cfg.values) {}

  std::vector<std::string> pass_names() const override { return {"layout", "lower"}; }

  Lowered lower(const Graph& g, const Dump& dump) const override {
    for (const Node& n : g.nodes) check_node(g, n);
    Lowered out;
    out.tensors = layout(g);
    // Global memory past the tensors: attention's scores (S, then P), one node at a time.
    uint64_t scratch = 0, scratch_bytes = 0;
    for (size_t t = 0; t < g.tensors.size(); ++t)
      scratch = std::max(scratch, out.tensors[t].addr +
                                      uint64_t(layout_bytes(g.tensors[t], out.tensors[t].layout)));
    scratch = (scratch + kAlign - 1) / kAlign * kAlign;
    for (const Node& n : g.nodes)
      if (n.kind == OpKind::attention) {
        const AttentionDims d = attention_dims(g, n);
        scratch_bytes = std::max(
            scratch_bytes, uint64_t(d.batch * d.heads * pad16(d.seq_q) * pad16(d.seq_kv) * 6));
      } else if (n.kind == OpKind::transpose) {  // a transpose that moves the last dim
        const std::vector<uint64_t> t = transpose_scratch(g, n);
        scratch_bytes = std::max(scratch_bytes, t[0] + t[1] + t[2]);
      } else if (n.kind == OpKind::reshape) {  // TransData
        const std::vector<uint64_t> t = trans_data_scratch(g, n, out.tensors);
        scratch_bytes = std::max(scratch_bytes, t[0] + t[1]);
      }
    for (const Node& n : g.nodes)
      scratch_bytes = std::max(
          {scratch_bytes, map_scratch(g, n, out.tensors), select_scratch(g, n, out.tensors)});
    if (scratch + scratch_bytes > uint64_t(p_.memory_bytes))
      throw Error(
          fmt::format("{}: the workload's tensors and attention scores take {} bytes of "
                      "global memory, the preset {} has {}",
                      g.file, scratch + scratch_bytes, name_, p_.memory_bytes));
    if (dump.wants("layout"))
      dump.print("layout", "DaVinci global-memory layout", layout_text(g, out.tensors));

    Emitter e;
    std::string name;
    for (char c : g.name) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) name = "k_" + name;
    std::string head = ".kernel " + name + "\n";
    e.comment(fmt::format("{} on {}: one block per AI core; x1 = block index, x2 = blocks", g.name,
                          name_));
    e("get_block_idx x1");
    e("get_block_num x2");
    e(kFullMask);
    zero_padding_images(g, out.tensors, e);
    std::vector<int> first_line;  // per node
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      first_line.push_back(e.line());
      const Node& n = g.nodes[i];
      e.comment(fmt::format("---- node {} '{}' ({}) ----", i, n.name, op_name(n.kind)));
      bool moved = true;  // false: the node's output is its input's bytes (a reshape)
      if (n.kind == OpKind::gemm || n.kind == OpKind::matmul)
        gemm(g, n, int(i), out.tensors, e);
      else if (n.kind == OpKind::pool)
        window(g, n, int(i), out.tensors, e);
      else if (n.kind == OpKind::conv2d)
        conv(g, n, int(i), out.tensors, e);
      else if (n.kind == OpKind::softmax || n.kind == OpKind::layernorm ||
               n.kind == OpKind::rmsnorm || padded_sigmoid(g, n, out.tensors))
        rows(g, n, int(i), out.tensors, e);
      else if (n.kind == OpKind::attention)
        attention(g, n, int(i), out.tensors, scratch, e);
      else if (n.kind == OpKind::reshape || n.kind == OpKind::transpose)
        moved = copy(g, n, int(i), out.tensors, scratch, e);
      else if (n.kind == OpKind::concat &&
               out.tensors[size_t(n.outputs[0])].layout.kind == Layout::nc1hwc0)
        map_concat(g, n, int(i), out.tensors, scratch, e);
      else if (n.kind == OpKind::concat || n.kind == OpKind::slice || n.kind == OpKind::kv_append)
        concat_slice_append(g, n, int(i), out.tensors, e);
      else if (n.kind == OpKind::gather)
        gather(g, n, int(i), out.tensors, e);
      else if (n.kind == OpKind::rope)
        rope(g, n, int(i), out.tensors, e);
      else
        elementwise(g, n, int(i), out.tensors, e);
      if (moved && i + 1 < g.nodes.size()) e("sync_all");
    }
    first_line.push_back(e.line());
    e("end");

    // The header lines come before the emitter's: shift by one (".kernel").
    isa::davinci::Kernel k = isa::davinci::assemble(head + e.text(), g.name + " (lowered)");
    for (auto& in : k.code)
      for (size_t i = 0; i + 1 < first_line.size(); ++i)
        if (in.line - 1 >= first_line[i] && in.line - 1 < first_line[i + 1]) in.layer = int(i);
    // The dump is the emitted text, comments included (it assembles to the same kernel).
    if (dump.wants("lower")) dump.print("lower", "DaVinci kernel", head + e.text());
    out.program = std::make_unique<isa::davinci::Program>(std::move(k));
    return out;
  }

 private:
  // The groups of a conv2d on the cube that one GEMM takes (Layout::img2col_weight's
  // group_block): the fewest whose input channels and output channels both fill whole slices of
  // C0 (so that each block reads its own slices of the map and writes its own slices of the
  // output), or all of them when there are fewer. Its weights are block-diagonal: the MACs and
  // the weight bytes grow with the block (a depthwise block of C0 channels: C0 times the useful
  // MACs), so the smallest is best; the input is read once whatever the block.
  static int64_t group_block(const Graph& g, const Node& n) {
    const int64_t G = n.attrs.groups;
    const int64_t c0 = k0_of(dtype_size(g.tensor(n.outputs[0]).dtype));
    const int64_t cg = g.tensor(n.inputs[0]).shape[1] / G, kg = g.tensor(n.inputs[1]).shape[0] / G;
    return std::min(G, std::lcm(c0 / std::gcd(cg, c0), c0 / std::gcd(kg, c0)));
  }

  // ---- int8 ------------------------------------------------------------------------------
  // int8 runs on the cube as s8 (k0 = 32: fractals of 16 x 32 in L0A and L0B), accumulating in
  // s32 in L0C and requantised on the way out by the FIX pipe or copy_matrix_cc_to_ubuf (conv
  // req8, with the op's multiplier and shift and its fused ReLU). Its padded matrices pad rows
  // and columns to 32 (32-byte rows of s8), and a gemm's or matmul's B is stored transposed
  // (N rows of K: zN's fractals without a transposing load, which the ISA has for 2-byte
  // elements only), as Ascend's offline weight formats do.

  static bool int8_lowered(OpKind k) {
    return k == OpKind::gemm || k == OpKind::matmul || k == OpKind::conv2d || k == OpKind::pool ||
           k == OpKind::add || k == OpKind::mul || k == OpKind::relu || k == OpKind::clip ||
           k == OpKind::reshape || k == OpKind::transpose || k == OpKind::concat ||
           k == OpKind::slice || k == OpKind::gather || k == OpKind::kv_append;
  }

  void check_int8(const Node& n) const {
    if (!int8_lowered(n.kind))
      unsupported(n, name_,
                  "int8 gemm, matmul, conv2d, pool, add, mul, relu, clip, reshape, transpose, "
                  "concat, slice, gather and kv_append are lowered so far, not this op");
  }

  // The conversion keys of the paths out of L0C for an int8 output: requantised with the op's
  // scale, and its fused ReLU.
  static std::string req8_keys(int64_t mul, int64_t shift, bool relu) {
    return fmt::format("conv=req8, mul={}, shift={}{}", mul, shift, relu ? ", relu=1" : "");
  }

  // An int8 tensor's layout: padded matrices of 32-byte rows (and 32 rows).
  // Feature maps and the weight layouts take slices of 32 channels (C0 = 32: a pixel is still 32
  // bytes), a gemm's images pad to 32 rows, and the weights, a B, are stored transposed.
  static void int8_layout(Layout& l) {
    if (l.kind == Layout::padded) l.align = 32;
    if (l.kind == Layout::nc1hwc0 || l.kind == Layout::img2col_weight ||
        l.kind == Layout::gemm_b_nc1hwc0)
      l.c0 = 32;
    if (l.kind == Layout::nc1hwc0 && l.n_align > 1) l.n_align = 32;
    if (l.kind == Layout::img2col_weight || l.kind == Layout::gemm_b_nc1hwc0) l.transposed = true;
  }

  // The layout of a gemm's or matmul's B: padded matrices; for int8 stored transposed, which
  // only the driver's packing can give (a graph input or a param).
  Layout b_layout(const Graph& g, const Node& n, bool packed_by_driver) const {
    Layout l;
    l.kind = Layout::padded;
    if (g.tensor(n.outputs[0]).dtype != DType::int8) return l;
    if (!packed_by_driver)
      unsupported(n, name_,
                  fmt::format("an int8 B ('{}') that an op makes: the cube reads an s8 B "
                              "stored transposed, which only a graph input or a param can be "
                              "(a 1-byte transposing load is not modelled)",
                              g.tensor(n.inputs[1]).name));
    l.transposed = true;
    return l;
  }

  void check_node(const Graph& g, const Node& n) const {
    const DType t = g.tensor(n.outputs[0]).dtype;
    if (n.kind == OpKind::clip && !(n.attrs.clip_min <= 0 && n.attrs.clip_max >= 0))
      unsupported(n, name_,
                  "a clip whose range leaves out 0 would write the layouts' padding, which must "
                  "stay zero");
    if (t == DType::int8) check_int8(n);
    if (t != DType::fp16 && t != DType::bf16 && t != DType::int8)
      unsupported(n, name_,
                  fmt::format("the DaVinci target lowers fp16, bf16 and int8 ops so far, not {}",
                              dtype_name(t)));
    if (t == DType::bf16 &&
        (n.kind == OpKind::gemm || n.kind == OpKind::matmul || n.kind == OpKind::conv2d ||
         n.kind == OpKind::attention) &&
        !p_.bf16)
      unsupported(n, name_, "this preset's cube has no bf16 (core.bf16 is false)");
  }

  // Whether n is a sigmoid whose output's layout has padding: sigmoid(0) = 0.5 would write the
  // padding, which must stay zero, so it goes over the real rows and columns only, as a row op
  // (padded matrices; a feature map's slices as matrices of its pixels).
  static bool padded_sigmoid(const Graph& g, const Node& n, const std::vector<Placement>& place) {
    if (n.kind != OpKind::sigmoid) return false;
    const TensorInfo& out = g.tensor(n.outputs[0]);
    return layout_bytes(out, place[size_t(n.outputs[0])].layout) != out.bytes();
  }

  // Block 0 writes zeros over the padding images of the feature maps a gemm reads as rows (the
  // ops that make them write the real images only), from a zeroed run of the UB, before any op;
  // graph inputs and params come packed with theirs.
  void zero_padding_images(const Graph& g, const std::vector<Placement>& place, Emitter& e) const {
    std::vector<std::pair<uint64_t, uint64_t>> runs;  // GM address, bytes
    std::vector<bool> given(g.tensors.size(), false);
    for (int t : g.inputs) given[size_t(t)] = true;
    for (size_t t = 0; t < g.tensors.size(); ++t) {
      const Layout& l = place[t].layout;
      if (l.kind != Layout::nc1hwc0 || l.n_align == 1 || given[t] || g.tensors[t].is_param)
        continue;
      const std::vector<int64_t>& s = g.tensors[t].shape;
      const int64_t image = (s[1] + l.c0 - 1) / l.c0 * pad16(map_pixels(s)) * 32;
      const int64_t real = s[0] * image, all = layout_bytes(g.tensors[t], l);
      if (all > real) runs.emplace_back(place[t].addr + uint64_t(real), uint64_t(all - real));
    }
    if (runs.empty()) return;
    const int64_t zero = 255 * 256;  // bytes of zeros in the UB
    e.comment("zeros over the padding images of the feature maps a gemm reads as rows");
    e("bne x1, 0, zero_done");
    e("vector_dup.f32 ub[0], 0, repeat=255");
    e("set_flag PIPE_V, PIPE_MTE3, EVENT_ID0");
    e("wait_flag PIPE_V, PIPE_MTE3, EVENT_ID0");
    for (const auto& [at, bytes] : runs)
      for (int64_t off = 0; off < int64_t(bytes); off += zero)
        e("copy_ubuf_to_gm gm[{}], ub[0], nburst=1, burst={}", at + uint64_t(off),
          std::min<int64_t>(zero, int64_t(bytes) - off) / 32);
    e("pipe_barrier PIPE_ALL");
    e.label("zero_done");
  }

  // The tensor whose bytes tensor t is (t the output of a reshape whose input lies on the
  // same bytes, followed back through such reshapes), or -1.
  static int alias(const Graph& g, const std::vector<Placement>& place, int t) {
    for (const Node& n : g.nodes) {
      if (n.outputs[0] == t && n.kind == OpKind::kv_append) return n.inputs[0];
      if (n.outputs[0] == t && n.kind == OpKind::reshape) {
        const int in = n.inputs[0];
        if (!same_bytes(g.tensor(in).shape, place[size_t(in)].layout, g.tensor(t).shape,
                        place[size_t(t)].layout))
          return -1;
        const int up = alias(g, place, in);
        return up >= 0 ? up : in;
      }
    }
    return -1;
  }

  // Every tensor padded row-major (a gemm's A of rank > 2 read as (dim0, the rest), and the
  // elementwise ops that produce it take the same view), but the feature maps of conv2d and pool
  // (NC1HWC0, and the elementwise ops between them) and conv2d's weights (img2col-weight).
  std::vector<Placement> layout(const Graph& g) const {
    std::vector<Placement> place(g.tensors.size());
    std::vector<bool> set(g.tensors.size(), false);
    auto want = [&](int t, Layout l, const Node& n) {
      const Layout& had = place[size_t(t)].layout;
      if (set[size_t(t)] && had.kind == Layout::nc1hwc0 && l.kind == Layout::nc1hwc0)
        l.n_align = std::max(l.n_align, had.n_align);  // a gemm reads it as rows too
      if (set[size_t(t)] && had.kind != l.kind)
        unsupported(n, name_,
                    fmt::format("tensor '{}' is wanted in two layouts, {} and {} (a conversion "
                                "between them is not lowered yet)",
                                g.tensor(t).name, layout_name(had), layout_name(l)));
      if (set[size_t(t)] && had.kind == Layout::padded && had.row_dims != l.row_dims &&
          had.col_dims == l.col_dims)
        unsupported(n, name_,
                    fmt::format("tensor '{}' is read as two different groupings of its dims into "
                                "matrices (a reshape on its bytes and another reader)",
                                g.tensor(t).name));
      if (set[size_t(t)] && had.transposed != l.transposed)
        unsupported(n, name_,
                    fmt::format("tensor '{}' is read both as an int8 B of the cube (stored "
                                "transposed) and as it is",
                                g.tensor(t).name));
      if (set[size_t(t)] && had.col_dims != l.col_dims)
        unsupported(n, name_,
                    fmt::format("tensor '{}' is read both as a matrix of its last dim and "
                                "flattened after its first",
                                g.tensor(t).name));
      place[size_t(t)].layout = l;
      set[size_t(t)] = true;
    };
    auto padded = [](int64_t col_dims) {
      Layout l;
      l.kind = Layout::padded;
      l.col_dims = col_dims;
      return l;
    };
    auto of_kind = [](Layout::Kind k) {
      Layout l;
      l.kind = k;
      return l;
    };
    // Feature maps: what conv2d and pool make, elementwise ops make of them, a concat makes of
    // them, and a reshape or transpose of one that keeps it one (map_reshape(), a transpose that
    // keeps C in place) when every reader takes a map as it lies (takes_map()).
    std::vector<std::vector<const Node*>> readers(g.tensors.size());
    for (const Node& n : g.nodes)
      for (int t : n.inputs) readers[size_t(t)].push_back(&n);
    auto read_as_map = [&](int t) {
      for (const Node* r : readers[size_t(t)])
        if (!takes_map(*r, t)) return false;
      return true;
    };
    std::vector<bool> fmap(g.tensors.size(), false);
    for (const Node& n : g.nodes) {
      const int out = n.outputs[0];
      bool any = n.kind == OpKind::conv2d || n.kind == OpKind::pool;
      if (is_elementwise(n.kind))
        for (int t : n.inputs) any = any || fmap[size_t(t)];
      if (n.kind == OpKind::concat) {
        any = true;
        for (int t : n.inputs) any = any && fmap[size_t(t)];
      }
      if (n.kind == OpKind::reshape && fmap[size_t(n.inputs[0])])
        any = map_reshape(g.tensor(n.inputs[0]).shape, g.tensor(out).shape) != MapReshape::none &&
              read_as_map(out);
      if (n.kind == OpKind::transpose && fmap[size_t(n.inputs[0])])
        any = n.attrs.perm[1] == 1 && read_as_map(out);
      fmap[size_t(out)] = any;
    }
    // Who makes each tensor: a reshape or a transpose writes any padded layout, and so does the
    // driver for a graph input or a param; other ops make their own.
    std::vector<const Node*> producer(g.tensors.size(), nullptr);
    for (const Node& n : g.nodes) producer[size_t(n.outputs[0])] = &n;
    auto flexible = [&](int t) {
      const Node* p = producer[size_t(t)];
      return !p || p->kind == OpKind::reshape || p->kind == OpKind::transpose;
    };
    for (size_t i = g.nodes.size(); i-- > 0;) {
      const Node& n = g.nodes[i];
      const int out = n.outputs[0];
      if (n.kind == OpKind::reshape || n.kind == OpKind::transpose) {
        // Padded matrices on both sides; a reshape on the same bytes where a grouping of the
        // dims allows (then it moves nothing): the output, unless its readers chose, in one that
        // matches the input's; the input, unless chosen, in one that matches the output's when
        // whoever makes the input can write it so.
        // A feature map in NC1HWC0 on both sides (fmap: a view on the same bytes, a split of C,
        // a transpose of the pixel dims) is copied or multiplied as a map (map_copy()); with a
        // map on one side only, a reshape converts between NC1HWC0 and padded matrices
        // (trans_data()), and a transpose that makes C the last dim, or the last dim C, copies
        // pixels (map_transpose()); the other side is padded.
        const int in = n.inputs[0];
        const bool map_out = set[size_t(out)] && place[size_t(out)].layout.kind != Layout::padded;
        if (fmap[size_t(out)]) {
          want(out, of_kind(Layout::nc1hwc0), n);
          continue;
        }
        const std::vector<int64_t>& perm = n.attrs.perm;
        if (fmap[size_t(in)]) {  // its maker writes NC1HWC0
          if (n.kind == OpKind::transpose && perm.back() != 1)
            unsupported(n, name_,
                        "a transpose of a feature map in NC1HWC0 other than one that keeps C in "
                        "place (its output read as a map) or makes C the last dim");
          if (map_out)
            unsupported(n, name_,
                        "a reshape from a feature map in NC1HWC0 to another that changes N, or "
                        "C other than by moving factors of it in front of the pixel dims");
          if (!set[size_t(out)]) want(out, padded(1), n);
          continue;
        }
        if (n.kind == OpKind::transpose && map_out) {  // padded matrices to a map
          if (perm.size() < 3 || perm[1] != int64_t(perm.size()) - 1)
            unsupported(n, name_,
                        "a transpose into a feature map in NC1HWC0 other than one that makes the "
                        "last dim C");
          if (!set[size_t(in)]) want(in, padded(1), n);
          continue;
        }
        if (n.kind == OpKind::transpose) {
          if (!set[size_t(out)]) want(out, padded(1), n);
          continue;
        }
        const std::vector<int64_t>&xs = g.tensor(in).shape, &ys = g.tensor(out).shape;
        if (!set[size_t(out)]) {
          // On the input's bytes as they are (or as its maker writes them by default); else,
          // when the input is a column of elements and the output's last dim is not 1 (its rows
          // gather elements of different input rows: copy()), on the bytes of the rows that the
          // swap of the input's last two dims makes, so that the swap writes the output.
          const Layout lx = set[size_t(in)] ? place[size_t(in)].layout : padded(1);
          const std::vector<int64_t> rows = column_as_rows(xs, lx);
          Layout l;
          if (!matching_layout(ys, xs, lx, l) &&
              (ys.back() == 1 || rows.empty() || !matching_layout(ys, rows, padded(1), l)))
            l = padded(1);
          want(out, l, n);
        }
        if (!set[size_t(in)]) {
          Layout l;
          if (!flexible(in) || !matching_layout(xs, ys, place[size_t(out)].layout, l))
            l = padded(1);
          want(in, l, n);
        }
        continue;
      }
      if (n.kind == OpKind::concat && fmap[size_t(out)]) {  // of maps: map_concat()
        want(out, of_kind(Layout::nc1hwc0), n);
        for (int t : n.inputs) want(t, of_kind(Layout::nc1hwc0), n);
        continue;
      }
      if (n.kind == OpKind::gather || n.kind == OpKind::kv_append || n.kind == OpKind::concat ||
          n.kind == OpKind::slice || n.kind == OpKind::rope) {
        for (int t : n.inputs)
          if (fmap[size_t(t)])
            unsupported(n, name_,
                        n.kind == OpKind::concat
                            ? "a concat of a feature map in NC1HWC0 with a tensor that is not one"
                            : "a feature map in NC1HWC0 as an input (TransData is not lowered)");
        if (!set[size_t(out)]) want(out, padded(1), n);
        if (place[size_t(out)].layout.kind != Layout::padded ||
            place[size_t(out)].layout.col_dims != 1)
          unsupported(n, name_, "an output that a gemm reads flattened (rank > 2 as A)");
        if (n.kind == OpKind::gather) {  // the table's rows; the ids as one row of int32
          want(n.inputs[0], padded(1), n);
          want(n.inputs[1], padded(int64_t(g.tensor(n.inputs[1]).shape.size())), n);
        } else if (n.kind == OpKind::kv_append) {
          // The output lies on the cache's bytes, which have room for the new rows.
          Layout l = padded(1);
          l.min_rows = g.tensor(out).shape[g.tensor(out).shape.size() - 2];
          want(n.inputs[0], l, n);
          want(n.inputs[1], padded(1), n);
        } else {
          for (int t : n.inputs) want(t, padded(1), n);
        }
        continue;
      }
      if (n.kind == OpKind::gemm && fmap[size_t(n.inputs[0])]) {
        // A feature map flattened: its images are the rows (padded to 16 with zero images), B's
        // rows follow its (C1, pixel, C0) order.
        const std::vector<int64_t>& a = g.tensor(n.inputs[0]).shape;
        if (a.size() != 4) unsupported(n, name_, "a gemm over a feature map of rank other than 4");
        Layout l = of_kind(Layout::nc1hwc0);
        l.n_align = kFractal;
        want(n.inputs[0], l, n);
        Layout b = of_kind(Layout::gemm_b_nc1hwc0);
        b.c = a[1], b.h = a[2], b.w = a[3];
        want(n.inputs[1], b, n);
        if (!set[size_t(out)]) want(out, padded(1), n);
        continue;
      }
      if (n.kind == OpKind::pool) {
        want(out, of_kind(Layout::nc1hwc0), n);
        want(n.inputs[0], of_kind(Layout::nc1hwc0), n);
        continue;
      }
      if (n.kind == OpKind::conv2d) {
        want(out, of_kind(Layout::nc1hwc0), n);
        want(n.inputs[0], of_kind(Layout::nc1hwc0), n);
        Layout wl = of_kind(Layout::img2col_weight);
        wl.groups = n.attrs.groups;
        wl.group_block = group_block(g, n);
        want(n.inputs[1], wl, n);
        continue;
      }
      // An output no node reads: a feature map stays in NC1HWC0 (like a conv2d's or a pool's).
      if (!set[size_t(out)]) want(out, fmap[size_t(out)] ? of_kind(Layout::nc1hwc0) : padded(1), n);
      if (n.kind == OpKind::gemm) {
        const int64_t rank = int64_t(g.tensor(n.inputs[0]).shape.size());
        want(n.inputs[0], padded(rank > 2 ? rank - 1 : 1), n);
        want(n.inputs[1], b_layout(g, n, !producer[size_t(n.inputs[1])]), n);
      } else if (n.kind == OpKind::matmul) {
        want(n.inputs[0], padded(1), n);
        want(n.inputs[1], b_layout(g, n, !producer[size_t(n.inputs[1])]), n);
      } else {
        for (int t : n.inputs) want(t, place[size_t(out)].layout, n);
      }
    }
    // A weight (a param) that only gemms and matmuls read, as their B, or convolutions, as
    // their weights, is stored NZ, the order of their copies to L1 (whole column blocks, their
    // rows contiguous), as Ascend's offline model converter stores weights.
    for (size_t t = 0; t < g.tensors.size(); ++t) {
      Layout& l = place[t].layout;
      bool b_only = g.tensors[t].is_param && !readers[t].empty() &&
                    (l.kind == Layout::padded || l.kind == Layout::img2col_weight ||
                     l.kind == Layout::gemm_b_nc1hwc0);
      for (const Node* r : readers[t]) {
        b_only = b_only && (r->kind == OpKind::gemm || r->kind == OpKind::matmul ||
                            r->kind == OpKind::conv2d);
        for (size_t i = 0; i < r->inputs.size(); ++i)
          b_only = b_only && (r->inputs[i] == int(t)) == (i == 1);
      }
      l.nz = b_only;
    }
    uint64_t next = kAlign;
    for (size_t t = 0; t < g.tensors.size(); ++t) {
      if (!set[t]) {  // a tensor no node reads or writes
        place[t].layout.kind = Layout::padded;
        set[t] = true;
      }
      if (g.tensors[t].dtype == DType::int8) int8_layout(place[t].layout);
      if (alias(g, place, int(t)) >= 0) continue;  // placed below, on its input's bytes
      place[t].addr = next;
      next +=
          (uint64_t(layout_bytes(g.tensors[t], place[t].layout)) + kAlign - 1) / kAlign * kAlign;
    }
    for (size_t t = 0; t < g.tensors.size(); ++t)
      if (alias(g, place, int(t)) >= 0) place[t].addr = place[size_t(alias(g, place, int(t)))].addr;
    if (next > uint64_t(p_.memory_bytes))
      throw Error(
          fmt::format("{}: the workload's tensors take {} bytes of global memory, the "
                      "preset {} has {}",
                      g.file, next, name_, p_.memory_bytes));
    return place;
  }

  std::string layout_text(const Graph& g, const std::vector<Placement>& place) const {
    std::string s;
    for (size_t t = 0; t < g.tensors.size(); ++t) {
      const Layout& l = place[t].layout;
      const PaddedView v = padded_view(g.tensors[t].shape, l);
      const std::string groups =
          l.groups > 1 ? fmt::format(" (groups {}, {} per block)", l.groups, l.group_block) : "";
      const std::string order =
          std::string(l.transposed ? " transposed" : "") + (l.nz ? " NZ" : "");
      s += fmt::format("{:<20} gm[{:#x}] {}{}{} {} x {} x {} (padded {} x {}), {} bytes\n",
                       g.tensors[t].name, place[t].addr, layout_name(l), groups, order, v.batch,
                       v.rows, v.cols, v.rows_p, v.cols_p, layout_bytes(g.tensors[t], l));
    }
    return s;
  }

  // One GEMM of the target: C = A x B (+ ReLU) over `batch` output batches, every matrix padded
  // row-major in GM.
  struct GemmSpec {
    const Node* node;  // for errors
    std::string label;
    uint64_t A, B, C;
    int64_t mp, kp, np, batch;
    int64_t stride_a, stride_b, stride_c;  // bytes from one batch to the next (0: shared)
    // B's batch for output batch x: x, or with heads > 0 (attention's grouped heads)
    // (x / heads) * kv_heads + (x % heads) / (heads / kv_heads).
    int64_t heads = 0, kv_heads = 1;
    bool b_trans = false;  // B is given as its transpose: N rows of K (attention's K, int8)
    bool relu = false;
    DType dtype;         // of A and B, and of C unless c_f32 (int8: s8, requantised to C)
    bool c_f32 = false;  // C in f32, as the cube accumulates it (attention's scores)
    // A convolution: A is the img2col matrix of the NC1HWC0 map at A (an image per batch),
    // made by img2col_cbuf_to_ca from bands of its rows in L1; C is stored NZ (its column
    // blocks are NC1HWC0 slices).
    bool conv = false;
    bool c_nz = false;          // C stored NZ, its column blocks NC1HWC0 slices (a convolution's C)
    int64_t c_slice_bytes = 0;  // NZ: bytes from one slice of C to the next (0: mp rows of 32)
    int64_t H = 0, W = 0, KH = 1, KW = 1, SH = 1, SW = 1, PT = 0, PL = 0, OW = 1;
    // Where A's 32-byte K blocks lie in GM (not a convolution): a_block_bytes from one block of
    // a row to the next, a_row_bytes from one row to the next (0: kp elements, packed rows).
    int64_t a_block_bytes = 32, a_row_bytes = 0;
    // Likewise for B: b_block_bytes from one 32-byte column block (given transposed: K block) of
    // a row to the next, b_row_bytes from one row to the next (0: np elements, or kp given
    // transposed: packed rows). A feature map in NC1HWC0 is a B given transposed of its pixels'
    // rows: a slice apart, 32 bytes apart; a weight stored NZ (Layout::nz) a B of whole blocks
    // one after another, 32 bytes a row (nz_b()). Rows 32 bytes apart: one copy a K step.
    int64_t b_block_bytes = 32, b_row_bytes = 0;
    int64_t req_mul = 1, req_shift = 0;  // int8: the requantisation of the accumulators
    // A grouped convolution: `blocks` GEMMs per image, one per block of groups (batch = images
    // x blocks, the image's blocks consecutive); block j's A, B and C start j block_a, block_b
    // and block_c bytes after block 0's.
    int64_t blocks = 1, block_a = 0, block_b = 0, block_c = 0;
    // A bias (gemm, conv2d): at GM address `bias` (0: none) one value per column of C (block
    // j's from block_bias j bytes further), added to the real rows (m_real of each batch's mp).
    uint64_t bias = 0;
    int64_t block_bias = 0, m_real = 0;
  };

  // B stored NZ (Layout::nz): its column blocks (given transposed: its K blocks) one after
  // another, each all its rows (kp, or np given transposed) of 32 bytes.
  static void nz_b(GemmSpec& sp) {
    sp.b_block_bytes = (sp.b_trans ? sp.np : sp.kp) * 32;
    sp.b_row_bytes = 32;
  }

  void gemm(const Graph& g, const Node& n, int idx, const std::vector<Placement>& place,
            Emitter& e) const {
    const PaddedView va =
        padded_view(g.tensor(n.inputs[0]).shape, place[size_t(n.inputs[0])].layout);
    const PaddedView vb =
        padded_view(g.tensor(n.inputs[1]).shape, place[size_t(n.inputs[1])].layout);
    const PaddedView vc =
        padded_view(g.tensor(n.outputs[0]).shape, place[size_t(n.outputs[0])].layout);
    int64_t mp = va.rows_p, kp = va.cols_p, np = vb.cols_p;
    const Layout& la = place[size_t(n.inputs[0])].layout;
    const bool fmap = la.kind == Layout::nc1hwc0;
    const std::vector<int64_t>& a = g.tensor(n.inputs[0]).shape;
    auto up = [](int64_t v, int64_t to) { return (v + to - 1) / to * to; };
    if (fmap) {  // a flattened feature map: images of C1 slices
      mp = up(a[0], la.n_align);
      kp = up(a[1], la.c0) * gemm_b_pixels(place[size_t(n.inputs[1])].layout);
      np = up(g.tensor(n.inputs[1]).shape[1], la.c0);
    }
    const DType dt = g.tensor(n.outputs[0]).dtype;
    const int64_t es = dtype_size(dt);
    GemmSpec sp{&n,
                fmt::format("n{}_", idx),
                place[size_t(n.inputs[0])].addr,
                place[size_t(n.inputs[1])].addr,
                place[size_t(n.outputs[0])].addr,
                mp,
                kp,
                np,
                vc.batch,
                va.batch > 1 ? mp * kp * es : 0,
                vb.batch > 1 ? kp * np * es : 0,
                mp * np * es,
                0,
                1,
                place[size_t(n.inputs[1])].layout.transposed,
                n.attrs.fused_relu,
                dt};
    sp.req_mul = n.attrs.requant_multiplier, sp.req_shift = n.attrs.requant_shift;
    if (n.inputs.size() == 3) sp.bias = place[size_t(n.inputs[2])].addr, sp.m_real = vc.rows;
    if (place[size_t(n.inputs[1])].layout.nz) nz_b(sp);
    if (fmap && a[2] * a[3] == 1) {
      // One real pixel per slice (a globally pooled map): K is the channels, a 32-byte block at
      // the start of each slice of 16 pixels, the padding pixels not read.
      sp.a_block_bytes = 16 * 32;
      sp.a_row_bytes = up(a[1], la.c0) / la.c0 * sp.a_block_bytes;
    }
    gemm(sp, e);
  }

  // C = A x B (+ ReLU) on the cube: output tiles dealt to the blocks in turn; per tile, K in
  // steps through two stages of L1 and L0A/L0B buffers (MTE2: GM rows to L1 as NZ column blocks;
  // MTE1: L1 to L0A as zZ and, transposing each fractal, to L0B as zN (B given transposed: its
  // NZ fractals are already zN's, in zN's order); cube: mad into L0C), then the tile out:
  // through the FIX pipe where there is one (and no ReLU or bias), else L0C to the UB (vector
  // pipe), bias (add_bias()), ReLU and conversion there, and MTE3 to GM. Sizes follow the operands'
  // element bytes es (k0 = 32 / es K elements per fractal column); int8 goes out requantised
  // (int8_out).
  void gemm(const GemmSpec& sp, Emitter& e) const {
    const Node& n = *sp.node;
    const int64_t mp = sp.mp, kp = sp.kp, np = sp.np, batch = sp.batch;
    const bool int8 = sp.dtype == DType::int8;
    const int64_t es = dtype_size(sp.dtype), k0 = k0_of(es);
    if (kp / kFractal > 65536 || np / kFractal > 65536)
      unsupported(n, name_, "K or N beyond 1,048,576 (a copy's gap field)");
    // A convolution's A stage in L1 is the band of input rows a tile's pixels reach, in every
    // C1 slice the K step's fractal columns (KH KW per slice) touch; 512-byte aligned, so that
    // B's fractals after it stay aligned.
    const int64_t taps = sp.KH * sp.KW;
    auto a_l1_bytes = [&](int64_t tm, int64_t tk) {
      if (!sp.conv) return tm * tk * es;
      const int64_t band = std::min(sp.H, ((tm - 1) / sp.OW + 1) * sp.SH + sp.KH);
      const int64_t slices = (tk / k0 + taps - 2) / taps + 1;
      return (slices * band * sp.W * 32 + 511) / 512 * 512;
    };
    std::vector<int64_t> whole;  // K steps of whole slices: no band loaded twice
    for (int64_t c : {16, 8, 4, 2, 1})
      if (c * taps <= 255) whole.push_back(c * taps * k0);
    const GemmTiles t =
        choose_tiles(p_, mp, np, kp, batch, es, sp.conv, sp.bias != 0, whole, a_l1_bytes);
    if (t.tm == 0) unsupported(n, name_, "no 16 x 16 x 16 tile fits this preset's buffers");
    const int64_t tiles_m = (mp + t.tm - 1) / t.tm, tiles_n = (np + t.tn - 1) / t.tn;
    const int64_t tiles = batch * tiles_m * tiles_n;
    const int64_t stride_a = sp.stride_a, stride_b = sp.stride_b, stride_c = sp.stride_c;
    const uint64_t A = sp.A, B = sp.B, C = sp.C;
    const bool relu = sp.relu;
    if (sp.bias && int8) unsupported(n, name_, "an int8 op with a bias");
    // The FIX pipe's ReLU: requantised values; the model's FIX pipe adds no bias.
    const bool fix = p_.fix && (!relu || int8) && !sp.bias;
    const char* ty = ty_name(sp.dtype);
    const std::string L = sp.label;
    // Buffers: stage s of A and B in L1, L0A and L0B; the f32 tile and its converted copy in
    // the UB (vector path).
    const int64_t a_tile = t.tm * t.tk * es, b_tile = t.tk * t.tn * es;
    const int64_t a_l1 = a_l1_bytes(t.tm, t.tk);
    const int64_t ub_out = t.tm * t.tn * 4;
    // The bias: the tile's columns as they come from GM, then in f32.
    const int64_t ub_bias = ub_out + t.tm * t.tn * es, ub_bias_f32 = ub_bias + t.tn * es;
    e.comment(
        fmt::format("C {}x{} = A {}x{} x B {}x{}{} (padded), {} batch(es); tiles {}x{}, K "
                    "step {}; {} tiles over the blocks; out through {}",
                    mp, np, mp, kp, kp, np, sp.b_trans ? " (given transposed)" : "", batch, t.tm,
                    t.tn, t.tk, tiles, fix ? "the FIX pipe" : "the UB (vector pipe) and MTE3"));
    const char* out_pipe = fix ? "PIPE_FIX" : "PIPE_V";
    e("set_flag {}, PIPE_M, EVENT_ID2", out_pipe);            // L0C starts free
    if (!fix) e("set_flag PIPE_MTE3, PIPE_V, EVENT_ID3");     // the UB tile starts free
    if (sp.bias) e("set_flag PIPE_V, PIPE_MTE2, EVENT_ID4");  // the UB's bias starts free
    e("mov x3, x1");
    e.label(L + "tile");
    e("bge x3, {}, {}done", tiles, L);
    e("div x5, x3, {}", tiles_m * tiles_n);
    e("rem x24, x3, {}", tiles_m * tiles_n);
    e("div x6, x24, {}", tiles_n);
    e("rem x7, x24, {}", tiles_n);
    e("mul x8, x6, {}", t.tm);  // first row
    e("mul x9, x7, {}", t.tn);  // first column
    e("mov x24, {}", mp);
    e("sub x24, x24, x8");
    e("min x10, x24, {}", t.tm);  // rows of this tile
    e("mov x24, {}", np);
    e("sub x24, x24, x9");
    e("min x11, x24, {}", t.tn);  // columns of this tile
    e("shr x25, x10, 4");
    e("shr x26, x11, 4");
    if (sp.blocks > 1) {
      e("rem x15, x5, {}", sp.blocks);  // the block of groups
      e("div x5, x5, {}", sp.blocks);   // the image
    }
    // A block's offset in an operand (after the image's): x15 times `bytes` added to reg.
    auto block_offset = [&](const char* reg, int64_t bytes) {
      if (sp.blocks == 1) return;
      e("mul x24, x15, {}", bytes);
      e("add {}, {}, x24", reg, reg);
    };
    e("mul x12, x5, {}", stride_a);
    block_offset("x12", sp.block_a);
    const int64_t a_row_bytes = sp.a_row_bytes ? sp.a_row_bytes : kp * es;
    if (a_row_bytes / 32 > 65536) unsupported(n, name_, "rows of A beyond a copy's gap field");
    if (!sp.conv) {
      e("mul x24, x8, {}", a_row_bytes);
      e("add x12, x12, x24");
    }
    e("add x12, x12, {}", A);  // A's tile rows (a convolution: its image)
    if (sp.heads > 0) {        // B's batch: (x5 / heads) * kv_heads + (x5 % heads) / group
      e("div x24, x5, {}", sp.heads);
      e("mul x24, x24, {}", sp.kv_heads);
      e("rem x13, x5, {}", sp.heads);
      e("div x13, x13, {}", sp.heads / sp.kv_heads);
      e("add x13, x13, x24");
      e("mul x13, x13, {}", stride_b);
    } else {
      e("mul x13, x5, {}", stride_b);
      block_offset("x13", sp.block_b);
    }
    const int64_t b_row_bytes = sp.b_row_bytes ? sp.b_row_bytes : (sp.b_trans ? kp : np) * es;
    if (sp.b_trans)  // B's tile rows (of its transpose)
      e("mul x24, x9, {}", b_row_bytes);
    else if (sp.b_block_bytes == 32)  // B's tile columns
      e("shl x24, x9, 1");
    else  // the tile's first column block
      e("mul x24, x9, {}", sp.b_block_bytes / kFractal);
    e("add x13, x13, x24");
    e("add x13, x13, {}", B);
    const int64_t ce = sp.c_f32 ? 4 : es;  // C's element bytes
    e("mul x14, x5, {}", stride_c);
    block_offset("x14", sp.block_c);
    e("mul x24, x8, {}", sp.c_nz ? 32 : np * ce);  // NZ: rows of 32 bytes in a column block
    e("add x14, x14, x24");
    const int64_t c_slice = sp.c_slice_bytes ? sp.c_slice_bytes : mp * 32;  // NZ
    e("mul x24, x9, {}", sp.c_nz ? c_slice / k0 : ce);  // NZ: a slice per k0 channels
    e("add x14, x14, x24");
    e("add x14, x14, {}", C);  // C's tile
    if (sp.bias) {             // x4: the tile's columns of the bias
      e("mul x4, x9, {}", es);
      if (sp.blocks > 1) {
        e("mul x24, x15, {}", sp.block_bias);
        e("add x4, x4, x24");
      }
      e("add x4, x4, {}", sp.bias);
    }
    if (sp.conv) {
      // The band of input rows the tile's pixels (x8 .. x8 + x10 - 1) reach: from row x28
      // (clipped to the map), x29 rows; x30 the padding above it for img2col, x31 the first
      // pixel's column in its output row.
      e("div x24, x8, {}", sp.OW);  // first output row
      e("mul x31, x24, {}", sp.OW);
      e("sub x31, x8, x31");
      e("mul x30, x24, {}", sp.SH);
      e("sub x30, x30, {}", sp.PT);  // its first input row, maybe above the map
      if ((mp - 1) / sp.OW * sp.SH - sp.PT > sp.H - 1) {
        // Padding of at least the kernel: a tile whose first output row's windows lie wholly
        // below the map reads only padding. Its band is the map's last row (set_fmatrix takes no
        // padding below it), and img2col is told its pixels start an output row later, so that
        // every tap falls below the band: zeros.
        e("blt x30, {}, {}inmap", sp.H, L);
        e("add x31, x31, {}", sp.OW);
        e.label(L + "inmap");
      }
      e("max x28, x30, 0");
      e("min x28, x28, {}", sp.H - 1);
      e("sub x30, x28, x30");
      e("max x30, x30, 0");
      e("add x29, x8, x10");
      e("sub x29, x29, 1");
      e("div x29, x29, {}", sp.OW);  // last output row
      e("mul x29, x29, {}", sp.SH);
      e("add x29, x29, {}", sp.KH - 1 - sp.PT);
      e("max x29, x29, x28");
      e("min x29, x29, {}", sp.H - 1);
      e("sub x29, x29, x28");
      e("add x29, x29, 1");
      e("mul x28, x28, {}", sp.W * 32);  // the band's byte offset in a slice
    }
    for (int s = 0; s < 2; ++s) {
      e("set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID{}", s);  // both stages start free
      e("set_flag PIPE_M, PIPE_MTE1, EVENT_ID{}", s);
    }
    e("wait_flag {}, PIPE_M, EVENT_ID2", out_pipe);
    e("mov x15, 0");  // k0
    e("mov x16, 0");  // K step
    e("mov x18, x12");
    e("mov x19, x13");
    e.label(L + "k");
    for (int s = 0; s < 2; ++s) {
      const int64_t l1a = s * (a_l1 + b_tile), l1b = l1a + a_l1;
      const int64_t l0a = s * a_tile, l0b = s * b_tile;
      const std::string S = fmt::format("{}s{}", L, s);
      e.comment(fmt::format("K step, stage {}", s));
      e("wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID{}", s);
      e("mov x24, {}", kp);
      e("sub x24, x24, x15");
      e("min x17, x24, {}", t.tk);  // this step's K
      e("shr x27, x17, {}", k0_shift(es));
      if (sp.conv) {
        // A: the band of every slice this step's x27 fractal columns (from x15 / 16) touch,
        // one after another in L1; x18 the first column's place in the first slice.
        e("shr x20, x15, {}", k0_shift(es));
        e("div x21, x20, {}", taps);
        e("mul x18, x21, {}", taps);
        e("sub x18, x20, x18");
        e("add x20, x20, x27");
        e("sub x20, x20, 1");
        e("div x20, x20, {}", taps);
        e("sub x20, x20, x21");
        e("add x20, x20, 1");  // slices
        e("mul x21, x21, {}", pad16(sp.H * sp.W) * 32);
        e("add x22, x12, x21");
        e("add x22, x22, x28");
        e("mul x23, x29, {}", sp.W);
        e("mov x24, {}", pad16(sp.H * sp.W));
        e("sub x24, x24, x23");
        e("copy_gm_to_cbuf l1[{}], gm[x22], nburst=x20, burst=x23, src_gap=x24", l1a);
      } else {
        // A: x27 column blocks of x10 rows, each 32 bytes, to L1 as NZ.
        e("mov x20, 0");
        e("mov x21, {}", l1a);
        e("mov x22, x18");
        e("shl x23, x10, 5");
        e.label(S + "a");
        e("copy_gm_to_cbuf l1[x21], gm[x22], nburst=x10, burst=1, src_gap={}",
          a_row_bytes / 32 - 1);
        e("add x21, x21, x23");
        e("add x22, x22, {}", sp.a_block_bytes);
        e("add x20, x20, 1");
        e("blt x20, x27, {}a", S);
      }
      // B: x26 column blocks of x17 rows (given transposed: x27 column blocks of x11 rows); with
      // rows 32 bytes apart and blocks apart by at least a tile's rows, one copy of a burst per
      // block.
      const char* b_rows = sp.b_trans ? "x11" : "x17";
      const char* b_blocks = sp.b_trans ? "x27" : "x26";
      const int64_t b_tile_rows = sp.b_trans ? t.tn : t.tk;
      if (b_row_bytes == 32 && sp.b_block_bytes >= b_tile_rows * 32 &&
          sp.b_block_bytes / 32 <= 65535) {
        e("mov x24, {}", sp.b_block_bytes / 32);
        e("sub x24, x24, {}", b_rows);
        e("copy_gm_to_cbuf l1[{}], gm[x19], nburst={}, burst={}, src_gap=x24", l1b, b_blocks,
          b_rows);
      } else {
        e("mov x20, 0");
        e("mov x21, {}", l1b);
        e("mov x22, x19");
        e("shl x23, {}, 5", b_rows);
        e.label(S + "b");
        e("copy_gm_to_cbuf l1[x21], gm[x22], nburst={}, burst=1, src_gap={}", b_rows,
          b_row_bytes / 32 - 1);
        e("add x21, x21, x23");
        e("add x22, x22, {}", sp.b_block_bytes);
        e("add x20, x20, 1");
        e("blt x20, {}, {}b", b_blocks, S);
      }
      e("set_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID{}", s);
      e("wait_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID{}", s);
      e("wait_flag PIPE_M, PIPE_MTE1, EVENT_ID{}", s);
      if (sp.conv) {
        // L0A (zZ): per row block, its x27 fractals made by img2col from the band.
        e("set_fmatrix h=x29, w={}, pad_t=x30, pad_l={}", sp.W, sp.PL);
        e("mov x20, 0");
        e("mov x21, {}", l0a);
        e("mov x22, x31");
        e("shl x23, x27, 9");
        e.label(S + "la");
        e("img2col_cbuf_to_ca l0a[x21], l1[{}], kh={}, kw={}, stride_h={}, stride_w={}, ow={}, "
          "m=x22, k=x18, repeat=x27",
          l1a, sp.KH, sp.KW, sp.SH, sp.SW, sp.OW);
        e("add x21, x21, x23");
        e("add x22, x22, 16");
        e("add x20, x20, 1");
        e("blt x20, x25, {}la", S);
      } else {
        // L0A (zZ): per row block, its x27 fractals, x25 apart in L1.
        e("mov x20, 0");
        e("mov x21, {}", l0a);
        e("mov x22, {}", l1a);
        e("shl x23, x27, 9");
        e.label(S + "la");
        e("load_cbuf_to_ca l0a[x21], l1[x22], repeat=x27, src_stride=x25");
        e("add x21, x21, x23");
        e("add x22, x22, 512");
        e("add x20, x20, 1");
        e("blt x20, x25, {}la", S);
      }
      // L0B (zN): per K block, its x26 fractals, x27 apart in L1, each transposed (given
      // transposed: x26 consecutive fractals, as they are).
      e("mov x20, 0");
      e("mov x21, {}", l0b);
      e("mov x22, {}", l1b);
      e("shl x23, x26, 9");
      e.label(S + "lb");
      if (sp.b_trans)
        e("load_cbuf_to_cb l0b[x21], l1[x22], repeat=x26");
      else
        e("load_cbuf_to_cb l0b[x21], l1[x22], repeat=x26, src_stride=x27, transpose=1");
      e("add x21, x21, x23");
      e("add x22, x22, {}", sp.b_trans ? "x23" : "512");
      e("add x20, x20, 1");
      e("blt x20, x27, {}lb", S);
      e("set_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID{}", s);
      e("set_flag PIPE_MTE1, PIPE_M, EVENT_ID{}", s);
      e("wait_flag PIPE_MTE1, PIPE_M, EVENT_ID{}", s);
      e("bne x16, 0, {}acc", S);
      e("mad.{} l0c[0], l0a[{}], l0b[{}], m=x10, k=x17, n=x11", ty, l0a, l0b);
      e("jmp {}next", S);
      e.label(S + "acc");
      e("mad.{} l0c[0], l0a[{}], l0b[{}], m=x10, k=x17, n=x11, init=0", ty, l0a, l0b);
      e.label(S + "next");
      e("set_flag PIPE_M, PIPE_MTE1, EVENT_ID{}", s);
      e("add x16, x16, 1");
      e("add x15, x15, {}", t.tk);
      e("add x18, x18, {}", sp.conv ? t.tk * es : t.tk / k0 * sp.a_block_bytes);
      e("add x19, x19, {}", sp.b_trans ? t.tk / k0 * sp.b_block_bytes : t.tk * b_row_bytes);
      if (s == 0)
        e("bge x15, {}, {}kdone", kp, L);
      else
        e("blt x15, {}, {}k", kp, L);
    }
    e.label(L + "kdone");
    if (sp.bias) {  // MTE2 brings the tile's x11 bias values after its last K step
      e("wait_flag PIPE_V, PIPE_MTE2, EVENT_ID4");
      e("mul x24, x11, {}", es);
      e("shr x24, x24, 5");
      e("copy_gm_to_ubuf ub[{}], gm[x4], nburst=1, burst=x24", ub_bias);
      e("set_flag PIPE_MTE2, PIPE_V, EVENT_ID4");
    }
    for (int s = 0; s < 2; ++s) {  // take back the stages' free flags
      e("wait_flag PIPE_MTE1, PIPE_MTE2, EVENT_ID{}", s);
      e("wait_flag PIPE_M, PIPE_MTE1, EVENT_ID{}", s);
    }
    if (int8) {
      int8_out(sp, fix, e);
    } else if (fix && sp.c_nz) {  // NZ out: per column block, x10 rows of 32 bytes, one slice apart
      e("set_flag PIPE_M, PIPE_FIX, EVENT_ID0");
      e("wait_flag PIPE_M, PIPE_FIX, EVENT_ID0");
      e("mov x20, 0");
      e("mov x21, x14");
      e("mov x22, 0");
      e("shl x23, x10, 6");
      e.label(L + "fx");
      e("fixpipe gm[x21], l0c[x22], m=x10, n=16, dst_stride=32, conv=f322{}", ty);
      e("add x21, x21, {}", c_slice);
      e("add x22, x22, x23");
      e("add x20, x20, 1");
      e("blt x20, x26, {}fx", L);
      e("set_flag PIPE_FIX, PIPE_M, EVENT_ID2");
    } else if (fix) {
      e("set_flag PIPE_M, PIPE_FIX, EVENT_ID0");
      e("wait_flag PIPE_M, PIPE_FIX, EVENT_ID0");
      e("fixpipe gm[x14], l0c[0], m=x10, n=x11, dst_stride={}{}", np * ce,
        sp.c_f32 ? "" : fmt::format(", conv=f322{}", ty));
      e("set_flag PIPE_FIX, PIPE_M, EVENT_ID2");
    } else {
      e("set_flag PIPE_M, PIPE_V, EVENT_ID0");
      e("wait_flag PIPE_M, PIPE_V, EVENT_ID0");
      e("wait_flag PIPE_MTE3, PIPE_V, EVENT_ID3");
      e("mul x24, x25, x26");  // fractals
      e("copy_matrix_cc_to_ubuf ub[0], l0c[0], nburst=1, burst=x24");
      e("set_flag PIPE_V, PIPE_M, EVENT_ID2");
      e("pipe_barrier PIPE_V");
      if (sp.bias) add_bias(sp, ub_bias, ub_bias_f32, e);
      if (!sp.c_f32) {
        // f32 -> the output type (with ReLU first), 64 elements per iteration, 255 at most at
        // once.
        e("shl x20, x24, 2");
        e("mov x21, 0");
        e("mov x22, {}", ub_out);
        e.label(L + "cv");
        e("min x23, x20, 255");
        if (relu) {
          e("vrelu.f32 ub[x21], ub[x21], repeat=x23");
          e("pipe_barrier PIPE_V");
        }
        e("vconv.{}.f32 ub[x22], ub[x21], repeat=x23, dst_rep=4", ty);
        e("sub x20, x20, x23");
        e("shl x23, x23, 7");
        e("add x22, x22, x23");
        e("shl x23, x23, 1");
        e("add x21, x21, x23");
        e("bgt x20, 0, {}cv", L);
      }
      e("set_flag PIPE_V, PIPE_MTE3, EVENT_ID0");
      e("wait_flag PIPE_V, PIPE_MTE3, EVENT_ID0");
      // The NZ tile to row-major rows: per column block, x10 rows of 16 elements.
      e("mov x20, 0");
      e("mov x21, x14");
      e("mov x22, {}", sp.c_f32 ? 0 : ub_out);
      e("mul x23, x10, {}", 16 * ce);
      e.label(L + "st");
      if (sp.c_nz)  // NZ out: the column block's x10 rows at once, one slice apart
        e("copy_ubuf_to_gm gm[x21], ub[x22], nburst=1, burst=x10");
      else
        e("copy_ubuf_to_gm gm[x21], ub[x22], nburst=x10, burst={}, dst_gap={}", ce / 2,
          np * ce / 32 - ce / 2);
      e("add x21, x21, {}", sp.c_nz ? c_slice : 16 * ce);
      e("add x22, x22, x23");
      e("add x20, x20, 1");
      e("blt x20, x26, {}st", L);
      e("set_flag PIPE_MTE3, PIPE_V, EVENT_ID3");
    }
    e("add x3, x3, x2");
    e("jmp {}tile", L);
    e.label(L + "done");
    e("wait_flag {}, PIPE_M, EVENT_ID2", out_pipe);
    if (!fix) e("wait_flag PIPE_MTE3, PIPE_V, EVENT_ID3");
    if (sp.bias) e("wait_flag PIPE_V, PIPE_MTE2, EVENT_ID4");
  }

  // The bias added to the f32 tile at ub[0] (x10 rows, x11 columns: x26 column blocks of x10
  // rows of 16 values, NZ), before the ReLU and the conversion. The tile's x11 values at
  // `raw` (MTE2's, EVENT_ID4) go to f32 at `f32`, 16 an iteration (under a mask of 16); then
  // per column block, the real rows (of m_real in the batch: from row x8) in groups of 8 take
  // two vadds, an iteration each 8 rows: the first 8 values of each row (every other block)
  // with the column block's first bias block (block and repeat stride 0), then the last 8 with
  // the second; the rows after the last group of 8, under a mask of 16, an iteration a row
  // with the column block's 16 values. Padding rows stay zero. Registers x20, x21 and x27 to
  // x31 (free after the K loop; x24, the tile's fractals, is kept).
  void add_bias(const GemmSpec& sp, int64_t raw, int64_t f32, Emitter& e) const {
    const std::string L = sp.label;
    const char* ty = ty_name(sp.dtype);
    e("wait_flag PIPE_MTE2, PIPE_V, EVENT_ID4");
    e("set_vector_mask 0, 0xffff");
    e("shr x27, x11, 4");
    e("vconv.f32.{} ub[{}], ub[{}], repeat=x27, dst_rep=2, src0_rep=1", ty, f32, raw);
    e("set_flag PIPE_V, PIPE_MTE2, EVENT_ID4");  // after the conversion: the raw values free
    e("mov x21, {}", sp.m_real);                 // the tile's real rows: x30 groups of 8, then x31
    e("sub x21, x21, x8");
    e("min x21, x21, x10");
    e("shr x30, x21, 3");
    e("and x31, x21, 7");
    e("shl x29, x10, 6");  // bytes from one column block to the next
    e("beq x31, 0, {}bfull", L);
    e("shl x28, x30, 9");  // the first row after the groups
    e("mov x27, {}", f32);
    e("mov x20, 0");
    e.label(L + "brow");
    e("vadd.f32 ub[x28], ub[x28], ub[x27], repeat=x31, dst_rep=2, src0_rep=2, src1_rep=0");
    e("add x28, x28, x29");
    e("add x27, x27, 64");
    e("add x20, x20, 1");
    e("blt x20, x26, {}brow", L);
    e.label(L + "bfull");
    e(kFullMask);
    e("beq x30, 0, {}bdone", L);
    e("mov x28, 0");
    e("mov x27, {}", f32);
    e("mov x20, 0");
    e.label(L + "bcol");
    for (int half : {0, 32})
      e("vadd.f32 {}, {}, {}, repeat=x30, dst_blk=2, src0_blk=2, src1_blk=0, dst_rep=16, "
        "src0_rep=16, src1_rep=0",
        (Ub{28} + half).str(), (Ub{28} + half).str(), (Ub{27} + half).str());
    e("add x28, x28, x29");
    e("add x27, x27, 64");
    e("add x20, x20, 1");
    e("blt x20, x26, {}bcol", L);
    e.label(L + "bdone");
    e("pipe_barrier PIPE_V");
  }

  // The int8 tile out of L0C, requantised with the op's scale and ReLU (x10 rows and x11
  // columns: x25 row blocks, x26 column blocks of 16; C's tile at x14). Through the FIX pipe:
  // row-major rows (a convolution: per column block, its half of a slice of 32 channels). Else
  // copy_matrix_cc_to_ubuf requantises the even column blocks, and at 16 bytes further the odd
  // ones, into 16 x 32 fractals of the UB (a column pair's x10 rows of 32 bytes together), and
  // MTE3 stores each pair: x10 rows of 32 bytes (a convolution: one slice). The flags are
  // gemm()'s: L0C free (EVENT_ID2 to PIPE_M), the UB tile free (PIPE_MTE3 to PIPE_V, EVENT_ID3).
  void int8_out(const GemmSpec& sp, bool fix, Emitter& e) const {
    const std::string L = sp.label, q = req8_keys(sp.req_mul, sp.req_shift, sp.relu);
    const int64_t slice = sp.c_slice_bytes ? sp.c_slice_bytes : sp.mp * 32;  // an NZ C's slice
    if (fix) {
      e("set_flag PIPE_M, PIPE_FIX, EVENT_ID0");
      e("wait_flag PIPE_M, PIPE_FIX, EVENT_ID0");
      if (sp.c_nz) {
        e("mov x20, 0");
        e("mov x21, x14");
        e("mov x22, 0");
        e("shl x23, x10, 6");
        e.label(L + "fx");
        e("fixpipe gm[x21], l0c[x22], m=x10, n=16, dst_stride=32, {}", q);
        e("add x21, x21, 16");  // the odd half; after it, the next slice
        e("and x24, x20, 1");
        e("beq x24, 0, {}fxe", L);
        e("add x21, x21, {}", slice - 32);
        e.label(L + "fxe");
        e("add x22, x22, x23");
        e("add x20, x20, 1");
        e("blt x20, x26, {}fx", L);
      } else {
        e("fixpipe gm[x14], l0c[0], m=x10, n=x11, dst_stride={}, {}", sp.np, q);
      }
      e("set_flag PIPE_FIX, PIPE_M, EVENT_ID2");
      return;
    }
    e("set_flag PIPE_M, PIPE_V, EVENT_ID0");
    e("wait_flag PIPE_M, PIPE_V, EVENT_ID0");
    e("wait_flag PIPE_MTE3, PIPE_V, EVENT_ID3");
    e("shr x24, x26, 1");  // column pairs
    e("copy_matrix_cc_to_ubuf ub[0], l0c[0], nburst=x24, burst=x25, src_gap=x25, {}", q);
    e("shl x23, x25, 10");  // the odd column blocks
    e("copy_matrix_cc_to_ubuf ub[16], l0c[x23], nburst=x24, burst=x25, src_gap=x25, {}", q);
    e("set_flag PIPE_V, PIPE_M, EVENT_ID2");
    e("set_flag PIPE_V, PIPE_MTE3, EVENT_ID0");
    e("wait_flag PIPE_V, PIPE_MTE3, EVENT_ID0");
    e("mov x20, 0");
    e("mov x21, x14");
    e("mov x22, 0");
    e("shl x23, x10, 5");
    e.label(L + "st");
    if (sp.c_nz)
      e("copy_ubuf_to_gm gm[x21], ub[x22], nburst=1, burst=x10");
    else
      e("copy_ubuf_to_gm gm[x21], ub[x22], nburst=x10, burst=1, dst_gap={}", sp.np / 32 - 1);
    e("add x21, x21, {}", sp.c_nz ? slice : 32);
    e("add x22, x22, x23");
    e("add x20, x20, 1");
    e("blt x20, x24, {}st", L);
    e("set_flag PIPE_MTE3, PIPE_V, EVENT_ID3");
  }

  // A UB address: a register (or none) plus a byte offset, as the assembler reads it.
  struct Ub {
    int reg = -1;
    int64_t off = 0;
    Ub operator+(int64_t d) const { return {reg, off + d}; }
    std::string str() const {
      if (reg < 0) return fmt::format("ub[{}]", off);
      return off == 0 ? fmt::format("ub[x{}]", reg) : fmt::format("ub[x{}{:+}]", reg, off);
    }
  };

  // f32 vector work over `count` elements from `at`: whole iterations of 64 (255 at most per
  // instruction), then the rest under a mask of its low bits. `op(repeat, i)` emits one
  // instruction over iterations i, i + 1, ... (byte offset 256 i); the mask is full before and
  // after.
  template <class F>
  static void over_f32(Emitter& e, int64_t count, F op) {
    over(e, count, 64, op);
  }
  // Likewise with `per` (64 or 128) elements per iteration.
  template <class F>
  static void over(Emitter& e, int64_t count, int64_t per, F op) {
    const int64_t full = count / per, tail = count % per;
    for (int64_t i = 0; i < full; i += 255) op(std::min<int64_t>(255, full - i), i);
    if (tail == 0) return;
    auto bits = [](int64_t n) { return n >= 64 ? ~uint64_t(0) : (uint64_t(1) << n) - 1; };
    if (tail > 64)
      e("set_vector_mask {:#x}, {:#x}", bits(tail - 64), bits(tail));
    else
      e("set_vector_mask 0, {:#x}", bits(tail));
    op(1, full);
    e(kFullMask);
  }

  // softmax, layernorm, rmsnorm over the last axis (D elements; rows padded to Dp), computed in
  // f32. The rows are cut into chunks of R consecutive rows (R divides the padded row count, so
  // that a chunk is one contiguous run of GM), dealt to the blocks in turn; per block, chunks
  // through two stages of UB buffers, the next chunk's MTE2 load issued before this one's
  // vector work. Per chunk: conversion to f32; per row (the scalar unit loops over the chunk's
  // real rows, x5 of them: padding rows stay the zeros they are), the row folded to 64 values
  // (vmax / vadd of its halves, in a tree), then one vcmax / vcadd over all the rows gives a
  // value per row, vbrcb broadcasts each to a 32-byte block, and the row's elementwise ops read
  // its block with block and repeat strides of 0; conversion back, MTE3 out. Only the real D
  // columns are touched (the last partial iteration under a mask), so padding columns stay
  // zero. A sigmoid over padded matrices (padded_sigmoid) goes the same way, without a reduction:
  // per real row, composite_f32 over its D columns.
  // conv2d as a GEMM per image: C (output pixels x K) = img2col(X) x W, X and C NC1HWC0 (C's NZ
  // column blocks are its slices), W as img2col's B (Layout::img2col_weight). Grouped (a
  // depthwise one too): a GEMM per image and block of groups (group_block()), over the block's
  // input slices, with its block-diagonal weights, into its output slices; the blocks of one
  // size go as one batch, a last smaller block (fewer slices) as a GEMM of its own.
  void conv(const Graph& g, const Node& n, int idx, const std::vector<Placement>& place,
            Emitter& e) const {
    const std::vector<int64_t>& x = g.tensor(n.inputs[0]).shape;
    const std::vector<int64_t>& w = g.tensor(n.inputs[1]).shape;
    const std::vector<int64_t>& y = g.tensor(n.outputs[0]).shape;
    const OpAttrs& a = n.attrs;
    if (a.pad_h > 255 || a.pad_w > 255 || a.stride_h > 63 || a.stride_w > 63)
      unsupported(n, name_, "padding beyond 255 or a stride beyond 63 (img2col's fields)");
    if (w[2] * w[3] > 255) unsupported(n, name_, "a kernel of more than 255 taps");
    const DType dt = g.tensor(n.outputs[0]).dtype;
    const int64_t es = dtype_size(dt), c0 = k0_of(es);  // channels per slice: k0
    auto slices = [c0](int64_t v) { return (v + c0 - 1) / c0; };
    const int64_t mp = pad16(y[2] * y[3]), hw_in = pad16(x[2] * x[3]), taps = w[2] * w[3];
    const int64_t G = a.groups, gb = place[size_t(n.inputs[1])].layout.group_block;
    const int64_t cg = w[1], kg = w[0] / G;
    // The GEMM of `count` blocks of `in_groups` groups each, from block `first` on.
    auto blocks = [&](const std::string& label, int64_t first, int64_t count, int64_t in_groups) {
      const int64_t kp = slices(in_groups * cg) * taps * c0, np = slices(in_groups * kg) * c0;
      const int64_t ba = slices(gb * cg) * hw_in * 32,
                    bb = slices(gb * cg) * taps * c0 * slices(gb * kg) * c0 * es,
                    bc = slices(gb * kg) * mp * 32;
      GemmSpec sp{&n,
                  label,
                  place[size_t(n.inputs[0])].addr + uint64_t(first * ba),
                  place[size_t(n.inputs[1])].addr + uint64_t(first * bb),
                  place[size_t(n.outputs[0])].addr + uint64_t(first * bc),
                  mp,
                  kp,
                  np,
                  y[0] * count,
                  slices(x[1]) * hw_in * 32,
                  0,
                  slices(y[1]) * mp * 32,
                  0,
                  1,
                  place[size_t(n.inputs[1])].layout.transposed,
                  a.fused_relu,
                  dt};
      sp.req_mul = a.requant_multiplier, sp.req_shift = a.requant_shift;
      sp.conv = sp.c_nz = true;
      sp.H = x[2], sp.W = x[3], sp.KH = w[2], sp.KW = w[3], sp.SH = a.stride_h;
      sp.SW = a.stride_w, sp.PT = a.pad_h, sp.PL = a.pad_w, sp.OW = y[3];
      sp.blocks = count, sp.block_a = ba, sp.block_b = bb, sp.block_c = bc;
      if (n.inputs.size() == 3) {  // block j's channels from j slices(gb kg) c0 on
        sp.block_bias = slices(gb * kg) * c0 * es;
        sp.bias = place[size_t(n.inputs[2])].addr + uint64_t(first * sp.block_bias);
        sp.m_real = y[2] * y[3];
      }
      if (place[size_t(n.inputs[1])].layout.nz) nz_b(sp);
      gemm(sp, e);
    };
    const std::string L = fmt::format("n{}_", idx);
    int64_t full = G / gb, rest = G % gb;
    if (rest && slices(rest * cg) == slices(gb * cg) && slices(rest * kg) == slices(gb * kg))
      ++full, rest = 0;  // the last block pads to the others' slices: one batch
    if (G > 1)
      e.comment(
          fmt::format("{} groups in blocks of {}: {} block(s) of {} input and {} output "
                      "slices{}",
                      G, gb, full, slices(gb * cg), slices(gb * kg),
                      rest ? fmt::format(", then {} group(s)", rest) : ""));
    blocks(L, 0, full, gb);
    if (rest) blocks(L + "r_", full, 1, rest);
  }

  // attention, unfused, in three steps with a sync_all between them: S = Q K^T for every batch
  // and head (a gemm whose B is given transposed, each head reading its kv head), in f32 into
  // global memory past the tensors; P = softmax(scale S) row by row, with the causal mask,
  // rounded to the op's type next to it; O = P V (a gemm).
  void attention(const Graph& g, const Node& n, int idx, const std::vector<Placement>& place,
                 uint64_t scratch, Emitter& e) const {
    const AttentionDims d = attention_dims(g, n);
    const int64_t sq = pad16(d.seq_q), skv = pad16(d.seq_kv), hd = pad16(d.head_dim);
    const int64_t batch = d.batch * d.heads;
    const uint64_t Q = place[size_t(n.inputs[0])].addr, K = place[size_t(n.inputs[1])].addr,
                   V = place[size_t(n.inputs[2])].addr, O = place[size_t(n.outputs[0])].addr;
    const DType t = g.tensor(n.outputs[0]).dtype;
    const std::string L = fmt::format("n{}_", idx);
    e.comment(fmt::format("S = Q K^T: {} heads of {} x {} scores, at gm[{:#x}]", batch, d.seq_q,
                          d.seq_kv, scratch));
    const uint64_t P = scratch + uint64_t(batch * sq * skv * 4);
    gemm(GemmSpec{&n, L + "qk_", Q, K, scratch, sq, hd, skv, batch, sq * hd * 2, skv * hd * 2,
                  sq * skv * 4, d.heads, d.kv_heads, true, false, t, true},
         e);
    e("sync_all");
    RowSpec rs{&n, L + "sm_", OpKind::softmax, scratch, P};
    rs.batch = batch, rs.rows = d.seq_q, rs.rows_p = sq, rs.D = d.seq_kv, rs.Dp = skv, rs.dtype = t;
    rs.scale = n.attrs.scale != 0 ? n.attrs.scale : 1.0 / std::sqrt(double(d.head_dim));
    rs.causal_seq = n.attrs.causal ? d.seq_q : 0;
    rs.src_f32 = true;
    e.comment(fmt::format("P = softmax(scale S) at gm[{:#x}]", P));
    rows(rs, e);
    e("sync_all");
    e.comment("O = P V");
    gemm(GemmSpec{&n, L + "pv_", P, V, O, sq, skv, hd, batch, sq * skv * 2, skv * hd * 2,
                  sq * hd * 2, d.heads, d.kv_heads, false, false, t},
         e);
  }

  // One row op of the target: `kind` over rows of D elements (padded to Dp), `rows` real rows
  // of rows_p in each of `batch` batches, contiguous in GM from src to dst.
  struct RowSpec {
    const Node* node;  // for errors, eps
    std::string label;
    OpKind kind;  // softmax, layernorm, rmsnorm; sigmoid over padded matrices (padded_sigmoid)
    uint64_t src, dst, gamma = 0, beta = 0;
    int64_t batch = 1, rows = 0, rows_p = 0, D = 0, Dp = 0;
    DType dtype = DType::bf16;
    // softmax only: the scale of its input (exp(scale (x - max))), and, when causal_seq > 0,
    // the causal mask of attention: row i of a batch sees its first
    // min(D, i + 1 + D - causal_seq) elements (causal_seq: the queries per batch).
    double scale = 1.0;
    int64_t causal_seq = 0;
    bool src_f32 = false;  // the input is f32 (attention's scores), the output the 2-byte dtype
  };

  void rows(const Graph& g, const Node& n, int idx, const std::vector<Placement>& place,
            Emitter& e) const {
    const TensorInfo& out = g.tensor(n.outputs[0]);
    const Layout& lay = place[size_t(n.outputs[0])].layout;
    if (lay.kind == Layout::nc1hwc0 && n.kind == OpKind::sigmoid) {
      // A sigmoid over a map with padding: each slice a matrix of its pixels (rows, the padding
      // ones left as they are) by its C0 channels (columns, the real ones computed), the images
      // padded for a gemm left as they are; the last slice of each image by itself when it has
      // padding channels.
      const std::vector<int64_t>& s = out.shape;
      const int64_t c0 = lay.c0, C1 = (s[1] + c0 - 1) / c0, last = s[1] - (C1 - 1) * c0;
      const int64_t P = map_pixels(s), slice = pad16(P) * c0 * 2;
      auto slices = [&](const std::string& l, int64_t at, int64_t count, int64_t D) {
        RowSpec sp{&n, l, n.kind, place[size_t(n.inputs[0])].addr + uint64_t(at),
                   place[size_t(n.outputs[0])].addr + uint64_t(at)};
        sp.batch = count, sp.rows = P, sp.rows_p = pad16(P), sp.D = D, sp.Dp = c0;
        sp.dtype = out.dtype;
        rows(sp, e);
      };
      const std::string L = fmt::format("n{}_", idx);
      if (last == c0 || C1 == 1) {
        slices(L, 0, s[0] * C1, last);
        return;
      }
      for (int64_t i = 0; i < s[0]; ++i) {
        slices(fmt::format("{}i{}_", L, i), i * C1 * slice, C1 - 1, c0);
        slices(fmt::format("{}i{}l_", L, i), (i * C1 + C1 - 1) * slice, 1, last);
      }
      return;
    }
    if (lay.kind != Layout::padded)
      unsupported(n, name_, "a row op over a feature map (nc1hwc0) is not lowered yet");
    if (lay.col_dims != 1)
      unsupported(n, name_, "a row op whose output a gemm reads flattened (rank > 2 as A)");
    const PaddedView v = padded_view(out.shape, lay);
    RowSpec sp{&n, fmt::format("n{}_", idx), n.kind, place[size_t(n.inputs[0])].addr,
               place[size_t(n.outputs[0])].addr};
    if (n.inputs.size() > 1) sp.gamma = place[size_t(n.inputs[1])].addr;
    if (n.inputs.size() > 2) sp.beta = place[size_t(n.inputs[2])].addr;
    sp.batch = v.batch, sp.rows = v.rows, sp.rows_p = v.rows_p, sp.D = v.cols, sp.Dp = v.cols_p;
    sp.dtype = out.dtype;
    rows(sp, e);
  }

  void rows(const RowSpec& sp, Emitter& e) const {
    const Node& n = *sp.node;
    const int64_t D = sp.D, Dp = sp.Dp, rows_p = sp.rows_p, batch = sp.batch;
    if (D > 255 * 64) unsupported(n, name_, "rows of more than 16,320 elements");
    const bool ln = sp.kind == OpKind::layernorm, norm = ln || sp.kind == OpKind::rmsnorm;
    auto up = [](int64_t x, int64_t a) { return (x + a - 1) / a * a; };
    const int64_t row32 = Dp * 4, wide32 = up(Dp, 64) * 4;  // a row in f32; in whole iterations
    // UB, for R rows: two stages of the 2-byte chunk, the f32 chunk, a scratch row, each row's
    // 64 folded values, one value per row (whole iterations of 64), their broadcast blocks, and
    // gamma and beta in f32.
    // An f32 input (sp.src_f32) is worked on in its stage buffer; the 2-byte output then has
    // a buffer per stage.
    auto need = [&](int64_t R) {
      return 2 * R * Dp * (sp.src_f32 ? 4 + 2 : 2) + (sp.src_f32 ? 0 : R * row32) + wide32 +
             R * 256 + up(R, 64) * 4 + up(R, 8) * 32 + (norm ? (ln ? 2 : 1) * row32 : 0);
    };
    const int64_t total = batch * rows_p;
    int64_t R = 64;
    while (R > 1 && (rows_p % R != 0 || need(R) > p_.ub_bytes || R * Dp * 4 / 32 > 65535 ||
                     R * p_.cores > total))
      R /= 2;
    if (need(R) > p_.ub_bytes)
      unsupported(n, name_,
                  fmt::format("a row of {} elements needs {} bytes of the unified buffer, the "
                              "preset has {}",
                              D, need(1), p_.ub_bytes));
    const int64_t chunks = total / R, per_batch = rows_p / R, chunk_bytes = R * Dp * 2;
    const int64_t in_bytes = sp.src_f32 ? 2 * chunk_bytes : chunk_bytes;  // a chunk of input
    const int64_t in[2] = {0, in_bytes};
    const int64_t out0 = sp.src_f32 ? 2 * in_bytes : 0;  // the 2-byte chunk of each stage
    const int64_t outb[2] = {out0, out0 + (sp.src_f32 ? chunk_bytes : in_bytes)};
    const int64_t X0 = sp.src_f32 ? out0 + 2 * chunk_bytes : 2 * chunk_bytes;
    int64_t X = X0;  // the f32 chunk (an f32 input: the stage's own buffer)
    const int64_t T = X0 + (sp.src_f32 ? 0 : R * row32), A = T + wide32, V = A + R * 256,
                  B = V + up(R, 64) * 4, G = B + up(R, 8) * 32, Be = G + row32;
    const uint64_t src = sp.src, dst = sp.dst;
    const char* ty = ty_name(sp.dtype);
    const std::string L = sp.label;
    const std::string inv_d = fmt::format("{}", 1.0f / float(D));
    const int64_t full = D / 64, tail = D % 64, vrep = up(R, 64) / 64;
    const std::string tail_mask =
        fmt::format("set_vector_mask 0, {:#x}", (uint64_t(1) << tail) - 1);
    auto bar = [&] { e("pipe_barrier PIPE_V"); };
    e.comment(fmt::format("{} rows of {} ({} padded) in {} chunks of {} rows, computed in f32",
                          batch * sp.rows, D, Dp, chunks, R));
    // f32 <-> the 2-byte type over a chunk (R Dp elements).
    auto convert = [&](bool to_f32, int64_t s) {
      over_f32(e, R * Dp, [&](int64_t rep, int64_t i) {
        if (to_f32)
          e("vconv.f32.{} {}, {}, repeat={}, src0_rep=4", ty, Ub{-1, X + 256 * i}.str(),
            Ub{-1, in[s] + 128 * i}.str(), rep);
        else
          e("vconv.{}.f32 {}, {}, repeat={}, dst_rep=4", ty, Ub{-1, outb[s] + 128 * i}.str(),
            Ub{-1, X + 256 * i}.str(), rep);
      });
    };
    // A loop over the chunk's real rows: x8 the row in f32, x9 its 64 folded values, x10 its
    // broadcast block.
    int loops = 0;
    auto per_row = [&](auto body) {
      const std::string l = fmt::format("{}r{}", L, loops++);
      e("mov x7, 0");
      e("mov x8, {}", X);
      e("mov x9, {}", A);
      e("mov x10, {}", B);
      e.label(l);
      e("bge x7, x5, {}end", l);
      body();
      e("add x7, x7, 1");
      e("add x8, x8, {}", row32);
      e("add x9, x9, 256");
      e("add x10, x10, 32");
      e("jmp {}", l);
      e.label(l + "end");
    };
    const Ub row{8, 0}, fold{9, 0}, blk{10, 0}, tmp{-1, T};
    // Row op over the D columns: d = a op b, b another row or the row's block (stride 0).
    auto rowwise = [&](const char* op, Ub d, Ub a, Ub b, bool broadcast) {
      over_f32(e, D, [&](int64_t rep, int64_t i) {
        e("{}.f32 {}, {}, {}, repeat={}{}", op, (d + 256 * i).str(), (a + 256 * i).str(),
          broadcast ? b.str() : (b + 256 * i).str(), rep,
          broadcast ? ", src1_blk=0, src1_rep=0" : "");
      });
    };
    auto copy64 = [&](Ub d, Ub a) { e("vmuls.f32 {}, {}, 1.0, repeat=1", d.str(), a.str()); };
    // One value per real row into V: each row at r (its D values; `prep` first makes them) folded
    // by `op` (vmax, vadd) into its 64 at x9, then `reduce` (vcmax, vcadd) over all the rows.
    auto reduce_rows = [&](const char* op, const char* reduce, Ub r, auto prep) {
      per_row([&] {
        prep();
        if (full == 0) {  // one partial iteration
          e(tail_mask);
          copy64(fold, r);
          e(kFullMask);
          return;
        }
        Ub cur = r;
        for (int64_t count = full; count > 1;) {  // halves, into the scratch row
          const int64_t h = count / 2;
          for (int64_t i = 0; i < h; i += 255)
            e("{}.f32 {}, {}, {}, repeat={}", op, (tmp + 256 * i).str(), (cur + 256 * i).str(),
              (cur + 256 * (count - h + i)).str(), std::min<int64_t>(255, h - i));
          if (count % 2 && cur.reg != tmp.reg) copy64(tmp + 256 * h, cur + 256 * h);  // the middle
          bar();
          cur = tmp, count -= h;
        }
        copy64(fold, cur);
        if (tail) {
          bar();
          e(tail_mask);
          e("{}.f32 {}, {}, {}, repeat=1", op, fold.str(), fold.str(), (r + 256 * full).str());
          e(kFullMask);
        }
        bar();
      });
      bar();
      if (full == 0) e(tail_mask);
      e("{}.f32 ub[{}], ub[{}], repeat=x5", reduce, V, A);
      if (full == 0) e(kFullMask);
      bar();
    };
    auto broadcast = [&] {
      e("vbrcb.f32 ub[{}], ub[{}], repeat={}", B, V, up(R, 8) / 8);
      bar();
    };
    // The values start defined (vbrcb reads whole blocks of them).
    e("vector_dup.f32 ub[{}], 0, repeat={}", V, vrep);
    if (norm) {  // gamma (and beta) once per block, through stage 0's buffer, in f32
      for (int k = 0; k < (ln ? 2 : 1); ++k) {
        const uint64_t at = k == 0 ? sp.gamma : sp.beta;
        const int64_t to = k == 0 ? G : Be;
        e("copy_gm_to_ubuf ub[{}], gm[{}], nburst=1, burst={}", in[0], at, Dp * 2 / 32);
        e("set_flag PIPE_MTE2, PIPE_V, EVENT_ID0");
        e("wait_flag PIPE_MTE2, PIPE_V, EVENT_ID0");
        over_f32(e, Dp, [&](int64_t rep, int64_t i) {
          e("vconv.f32.{} ub[{}], ub[{}], repeat={}, src0_rep=4", ty, to + 256 * i, in[0] + 128 * i,
            rep);
        });
        e("set_flag PIPE_V, PIPE_MTE2, EVENT_ID0");
        e("wait_flag PIPE_V, PIPE_MTE2, EVENT_ID0");
      }
    }
    staged(
        e, L, chunks,
        [&](int reg, int s) {  // chunk x<reg> into stage s
          e("mul x12, x{}, {}", reg, in_bytes);
          e("add x12, x12, {}", src);
          e("copy_gm_to_ubuf ub[{}], gm[x12], nburst=1, burst={}", in[s], in_bytes / 32);
        },
        [&](int s, const std::string& S) {
          // Real rows of this chunk: x5 = min(R, rows - its first row); none: stored as loaded.
          e("rem x5, x3, {}", per_batch);
          e("mul x5, x5, {}", -R);
          e("add x5, x5, {}", sp.rows);
          e("min x5, x5, {}", R);
          e("ble x5, 0, {}{}", S, sp.src_f32 ? "cv" : "out");  // no real row
          X = sp.src_f32 ? in[s] : X0;
          if (!sp.src_f32) convert(true, s);
          bar();
          if (sp.kind == OpKind::softmax) {
            if (sp.causal_seq > 0) causal_mask(e, sp, S + "cm", R, X, row32);
            reduce_rows("vmax", "vcmax", row, [] {});
            broadcast();
            per_row([&] {
              rowwise("vsub", row, row, blk, true);
              bar();
              if (sp.scale != 1.0) {
                over_f32(e, D, [&](int64_t rep, int64_t i) {
                  e("vmuls.f32 {}, {}, {}, repeat={}", (row + 256 * i).str(), (row + 256 * i).str(),
                    float(sp.scale), rep);
                });
                bar();
              }
              over_f32(e, D, [&](int64_t rep, int64_t i) {
                e("vexp.f32 {}, {}, repeat={}", (row + 256 * i).str(), (row + 256 * i).str(), rep);
              });
            });
            bar();
            reduce_rows("vadd", "vcadd", row, [] {});
            e("vrec.f32 ub[{}], ub[{}], repeat={}", V, V, vrep);
            bar();
            broadcast();
            per_row([&] { rowwise("vmul", row, row, blk, true); });
          } else if (sp.kind == OpKind::sigmoid) {
            per_row([&] {
              over_f32(e, D, [&](int64_t rep, int64_t i) {
                const std::string r = (row + 256 * i).str();
                composite_f32(OpKind::sigmoid, e, r, r, std::to_string(rep));
              });
            });
          } else {
            if (ln) {  // x - mean
              reduce_rows("vadd", "vcadd", row, [] {});
              e("vmuls.f32 ub[{}], ub[{}], {}, repeat={}", V, V, inv_d, vrep);
              bar();
              broadcast();
              per_row([&] { rowwise("vsub", row, row, blk, true); });
              bar();
            }
            // The mean of the squares (layernorm: the variance), each row squared into the scratch
            // row and folded there; then 1 / sqrt(mean + eps), times gamma (plus beta).
            reduce_rows("vadd", "vcadd", tmp, [&] {
              rowwise("vmul", tmp, row, row, false);
              bar();
            });
            e("vmuls.f32 ub[{}], ub[{}], {}, repeat={}", V, V, inv_d, vrep);
            bar();
            e("vadds.f32 ub[{}], ub[{}], {}, repeat={}", V, V, float(n.attrs.eps), vrep);
            bar();
            e("vrsqrt.f32 ub[{}], ub[{}], repeat={}", V, V, vrep);
            bar();
            broadcast();
            per_row([&] {
              rowwise("vmul", row, row, blk, true);
              bar();
              rowwise("vmul", row, row, Ub{-1, G}, false);
              if (ln) {
                bar();
                rowwise("vadd", row, row, Ub{-1, Be}, false);
              }
            });
          }
          bar();
          e.label(S + "cv");
          convert(false, s);
          e.label(S + "out");
        },
        [&](int s) {
          e("mul x12, x3, {}", chunk_bytes);
          e("add x12, x12, {}", dst);
          e("copy_ubuf_to_gm gm[x12], ub[{}], nburst=1, burst={}", outb[s], chunk_bytes / 32);
        });
  }

  // pool (max, or average over the taps inside the map) on NC1HWC0, computed in f32: one unit
  // per (image, slice, output row), dealt to the blocks. Per unit, MTE2 brings the input rows
  // its windows reach (clipped to the map); per kernel row inside the map, the row converted to
  // f32, then per kernel column one vmax / vadd over the output pixels whose window column is
  // inside the map (a range known when compiling), each pixel's 16 channels as two blocks of 8
  // floats: two instructions, block stride 2 x stride_w. Average divides by a count of the taps
  // made by the same instructions (vadds 1). The last output row also stores the slice's padding
  // pixels, as zeros. An int8 pool works on slices of 32 channels, four blocks of 8 floats per
  // pixel, reached through f16 (s8 -> f16 -> f32), and leaves as s32 rounded half away from zero
  // (as the IR's average), f16, s8: exact.
  void window(const Graph& g, const Node& n, int idx, const std::vector<Placement>& place,
              Emitter& e) const {
    const std::vector<int64_t>& xs = g.tensor(n.inputs[0]).shape;
    const std::vector<int64_t>& ys = g.tensor(n.outputs[0]).shape;
    const OpAttrs& a = n.attrs;
    const int64_t H = xs[2], W = xs[3], OH = ys[2], OW = ys[3];
    const int64_t KH = a.kernel_h, KW = a.kernel_w;
    const int64_t SH = a.stride_h, SW = a.stride_w, PH = a.pad_h, PW = a.pad_w;
    const bool int8 = g.tensor(n.outputs[0]).dtype == DType::int8;
    const int64_t c0 = place[size_t(n.inputs[0])].layout.c0, pb = c0 / 8;  // f32 blocks a pixel
    if (8 * pb * SW > 255)
      unsupported(n, name_,
                  fmt::format("a horizontal stride beyond {} (a repeat stride of {} x it)",
                              255 / (8 * pb), 8 * pb));
    const int64_t slices = ys[0] * ((ys[1] + c0 - 1) / c0), units = slices * OH;
    const int64_t hw_in = pad16(H * W), hw_out = pad16(OH * OW), pad_px = hw_out - OH * OW;
    const bool avg = !a.pool_max;
    // UB: two stages of KH input rows (2-byte), the rows in f32, the output row in f32 (and the
    // count), two stages of the 2-byte output row and the slice's padding pixels.
    // int8: and a row in f16 (T16), on the way in and out.
    const int64_t in_b = KH * W * 32, f_b = KH * W * pb * 32;
    const int64_t o_b = (OW * pb * 32 + 255) / 256 * 256, out_b = (OW + pad_px) * 32;
    const int64_t in[2] = {0, in_b}, F = 2 * in_b, O = F + f_b, Cnt = O + o_b;
    const int64_t outb[2] = {Cnt + (avg ? o_b : 0), Cnt + (avg ? o_b : 0) + out_b};
    const int64_t T16 = outb[1] + out_b;
    const int64_t end = T16 + (int8 ? (std::max(W, OW) * 64 + 255) / 256 * 256 : 0);
    if (end > p_.ub_bytes)
      unsupported(n, name_,
                  fmt::format("a row of windows ({} input rows of {} pixels) needs {} bytes of "
                              "the unified buffer, the preset has {}",
                              KH, W, end, p_.ub_bytes));
    const uint64_t X = place[size_t(n.inputs[0])].addr, Y = place[size_t(n.outputs[0])].addr;
    const char* ty = ty_name(g.tensor(n.outputs[0]).dtype);
    const std::string L = fmt::format("n{}_", idx);
    auto bar = [&] { e("pipe_barrier PIPE_V"); };
    e.comment(fmt::format("{} {}x{} stride {}x{} pad {}x{}: {} units of one output row",
                          avg ? "average pool" : "max pool", KH, KW, SH, SW, PH, PW, units));
    // The padding pixels after each stage's output row stay zero.
    for (int s = 0; s < 2 && pad_px > 0; ++s)
      over_f32(e, pad_px * 8, [&](int64_t rep, int64_t i) {
        e("vector_dup.f32 ub[{}], 0, repeat={}", outb[s] + OW * 32 + 256 * i, rep);
      });
    // x13 the unit's slice, x14 its first input row (may be outside the map), x15 the first row
    // loaded: the first inside the map (a pool's padding is smaller than its kernel: every
    // window reaches into the map).
    auto unit_rows = [&](int reg) {
      e("div x13, x{}, {}", reg, OH);
      e("rem x14, x{}, {}", reg, OH);
      e("mul x14, x14, {}", SH);
      e("sub x14, x14, {}", PH);
      e("max x15, x14, 0");
    };
    staged(
        e, L, units,
        [&](int reg, int s) {
          unit_rows(reg);
          e("add x16, x14, {}", KH - 1);
          e("min x16, x16, {}", H - 1);
          e("sub x16, x16, x15");
          e("add x16, x16, 1");  // rows loaded
          e("mul x12, x13, {}", hw_in * 32);
          e("add x12, x12, {}", X);
          e("mul x17, x15, {}", W * 32);
          e("add x12, x12, x17");
          e("mul x17, x16, {}", W);
          e("copy_gm_to_ubuf ub[{}], gm[x12], nburst=1, burst=x17", in[s]);
        },
        [&](int s, const std::string& S) {
          unit_rows(3);
          over_f32(e, OW * c0, [&](int64_t rep, int64_t i) {
            e("vector_dup.f32 ub[{}], {}, repeat={}", O + 256 * i, a.pool_max ? "-3e38" : "0", rep);
            if (avg) e("vector_dup.f32 ub[{}], 0, repeat={}", Cnt + 256 * i, rep);
          });
          bar();
          for (int64_t kh = 0; kh < KH; ++kh) {
            const std::string skip = fmt::format("{}kh{}", S, kh);
            e("add x16, x14, {}", kh);  // the input row
            e("blt x16, 0, {}", skip);
            e("bge x16, {}, {}", H, skip);
            e("sub x17, x16, x15");
            e("mul x17, x17, {}", W * 32);
            e("add x17, x17, {}", in[s]);
            const int64_t Fk = F + kh * W * pb * 32;
            if (int8) {  // s8 -> f16 -> f32
              over(e, W * c0, 128, [&](int64_t rep, int64_t i) {
                e("vconv.f16.s8 ub[{}], ub[x17+{}], repeat={}, src0_rep=4", T16 + 256 * i, 128 * i,
                  rep);
              });
              bar();
              over_f32(e, W * c0, [&](int64_t rep, int64_t i) {
                e("vconv.f32.f16 ub[{}], ub[{}], repeat={}, src0_rep=4", Fk + 256 * i,
                  T16 + 128 * i, rep);
              });
            } else {
              over_f32(e, W * 16, [&](int64_t rep, int64_t i) {
                e("vconv.f32.{} ub[{}], ub[x17+{}], repeat={}, src0_rep=4", ty, Fk + 256 * i,
                  128 * i, rep);
              });
            }
            bar();
            for (int64_t kw = 0; kw < KW; ++kw) {
              // Output columns whose window column kw is inside the map.
              const int64_t lo = std::max<int64_t>(0, (PW - kw + SW - 1) / SW);
              const int64_t hi = std::min<int64_t>(OW - 1, (W - 1 + PW - kw) / SW);
              if (hi < lo) continue;
              const int64_t count = hi - lo + 1;
              for (int64_t part = 0; part < 2; ++part) {  // an 8-iteration run, then the rest
                const int64_t first = part == 0 ? 0 : count / 8 * 8;
                const int64_t pixels = part == 0 ? count / 8 * 8 : count % 8;
                if (pixels == 0) continue;
                if (part == 1) e("set_vector_mask 0, {:#x}", (uint64_t(1) << (pixels * 8)) - 1);
                const int64_t rep = (pixels + 7) / 8;
                // Per block of each pixel (pb of them): block stride pb (the input's pb SW),
                // 8 pixels an iteration.
                for (int64_t half = 0; half < pb; ++half) {
                  const int64_t ow = lo + first;
                  const int64_t d = O + (ow * pb + half) * 32;
                  const int64_t src = Fk + ((ow * SW - PW + kw) * pb + half) * 32;
                  e("{}.f32 ub[{}], ub[{}], ub[{}], repeat={}, dst_blk={}, src0_blk={}, "
                    "src1_blk={}, dst_rep={}, src0_rep={}, src1_rep={}",
                    a.pool_max ? "vmax" : "vadd", d, d, src, rep, pb, pb, pb * SW, 8 * pb, 8 * pb,
                    8 * pb * SW);
                  if (avg)
                    e("vadds.f32 ub[{}], ub[{}], 1.0, repeat={}, dst_blk={}, src0_blk={}, "
                      "dst_rep={}, src0_rep={}",
                      Cnt + (ow * pb + half) * 32, Cnt + (ow * pb + half) * 32, rep, pb, pb, 8 * pb,
                      8 * pb);
                }
                if (part == 1) e(kFullMask);
              }
              bar();
            }
            e.label(skip);
          }
          if (avg) {
            over_f32(e, OW * c0, [&](int64_t rep, int64_t i) {
              e("vdiv.f32 ub[{}], ub[{}], ub[{}], repeat={}", O + 256 * i, O + 256 * i,
                Cnt + 256 * i, rep);
            });
            bar();
          }
          if (int8) {  // f32 -> s32 (half away from zero) -> f16 -> s8
            over_f32(e, OW * c0, [&](int64_t rep, int64_t i) {
              e("vconv.s32.f32 ub[{}], ub[{}], repeat={}, round=a", O + 256 * i, O + 256 * i, rep);
            });
            bar();
            over_f32(e, OW * c0, [&](int64_t rep, int64_t i) {
              e("vconv.f16.s32 ub[{}], ub[{}], repeat={}, dst_rep=4", T16 + 128 * i, O + 256 * i,
                rep);
            });
            bar();
            over(e, OW * c0, 128, [&](int64_t rep, int64_t i) {
              e("vconv.s8.f16 ub[{}], ub[{}], repeat={}, dst_rep=4", outb[s] + 128 * i,
                T16 + 256 * i, rep);
            });
          } else {
            over_f32(e, OW * 16, [&](int64_t rep, int64_t i) {
              e("vconv.{}.f32 ub[{}], ub[{}], repeat={}, dst_rep=4", ty, outb[s] + 128 * i,
                O + 256 * i, rep);
            });
          }
        },
        [&](int s) {
          e("div x13, x3, {}", OH);
          e("rem x14, x3, {}", OH);
          e("mul x12, x13, {}", hw_out * 32);
          e("mul x17, x14, {}", OW * 32);
          e("add x12, x12, x17");
          e("add x12, x12, {}", Y);
          e("mov x17, {}", OW);  // the last row: and the padding pixels
          e("bne x14, {}, {}s{}st", OH - 1, L, s);
          e("mov x17, {}", OW + pad_px);
          e.label(fmt::format("{}s{}st", L, s));
          e("copy_ubuf_to_gm gm[x12], ub[{}], nburst=1, burst=x17", outb[s]);
        });
  }

  // The two-stage loop of the ops that work unit by unit on the vector pipe: units x1, x1 + x2,
  // ... below `units`, the unit in x3. Per unit, in stage s: MTE2 first loads the next unit (x4)
  // into the other stage, then `work(s, label)` (on PIPE_V, after the wait for its own load:
  // the unit's result into the stage's output buffer), then MTE3 stores it. load(reg, s) and
  // store(s) emit the copies (x12 is theirs); flags per stage: MTE2 -> V (loaded), V -> MTE3
  // (computed), MTE3 -> MTE2 (the stage's buffers free again).
  template <class Load, class Work, class Store>
  static void staged(Emitter& e, const std::string& L, int64_t units, Load load, Work work,
                     Store store) {
    for (int s = 0; s < 2; ++s) e("set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID{}", s);  // free
    auto load_into = [&](int reg, int s) {
      e("wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID{}", s);
      load(reg, s);
      e("set_flag PIPE_MTE2, PIPE_V, EVENT_ID{}", s);
    };
    e("mov x3, x1");
    e("bge x3, {}, {}done", units, L);
    load_into(3, 0);
    e.label(L + "unit");
    for (int s = 0; s < 2; ++s) {
      const std::string S = fmt::format("{}s{}", L, s);
      e.comment(
          fmt::format("unit x3 in stage {}; the next one (x4) loads into stage {}", s, 1 - s));
      e("add x4, x3, x2");
      e("bge x4, {}, {}work", units, S);
      load_into(4, 1 - s);
      e.label(S + "work");
      e("wait_flag PIPE_MTE2, PIPE_V, EVENT_ID{}", s);
      work(s, S);
      e("set_flag PIPE_V, PIPE_MTE3, EVENT_ID{}", s);
      e("wait_flag PIPE_V, PIPE_MTE3, EVENT_ID{}", s);
      store(s);
      e("set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID{}", s);
      e("mov x3, x4");
      if (s == 0)
        e("bge x3, {}, {}done", units, L);
      else
        e("blt x3, {}, {}unit", units, L);
    }
    e.label(L + "done");
    for (int s = 0; s < 2; ++s) e("wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID{}", s);
  }

  // Attention's causal mask on the f32 chunk at X (rows of row32 bytes, x5 real rows of chunk
  // x3): elements [c, D) of query row i, c = i + 1 + D - causal_seq, become -3e38 (exp gives 0),
  // under masks computed by the scalar unit: the partial iteration holding c, the whole ones
  // after it, the row's last partial iteration.
  void causal_mask(Emitter& e, const RowSpec& sp, const std::string& l, int64_t R, int64_t X,
                   int64_t row32) const {
    const int64_t D = sp.D, full = D / 64, tail = D % 64;
    const uint64_t tail_bits = (uint64_t(1) << tail) - 1;
    e("mov x7, 0");
    e("mov x8, {}", X);
    e.label(l);
    e("bge x7, x5, {}end", l);
    e("rem x13, x3, {}", sp.rows_p / R);
    e("mul x13, x13, {}", R);
    e("add x13, x13, x7");                         // the query
    e("add x13, x13, {}", 1 + D - sp.causal_seq);  // c: the keys it sees
    e("bge x13, {}, {}next", D, l);
    e("shr x14, x13, 6");  // c's iteration
    e("and x15, x13, 63");
    e("mov x16, -1");
    e("shl x16, x16, x15");  // its elements from c on
    if (tail) {
      e("bne x14, {}, {}m", full, l);
      e("and x16, x16, {:#x}", tail_bits);  // and below D
      e.label(l + "m");
    }
    e("shl x17, x14, 8");
    e("add x17, x17, x8");
    e("set_vector_mask 0, x16");
    e("vector_dup.f32 ub[x17], -3e38, repeat=1");
    e(kFullMask);
    e("add x14, x14, 1");
    e("mov x18, {}", full);
    e("sub x18, x18, x14");  // whole iterations after c's
    e("ble x18, 0, {}t", l);
    e("add x17, x17, 256");
    e("vector_dup.f32 ub[x17], -3e38, repeat=x18");
    e.label(l + "t");
    if (tail) {
      e("bgt x14, {}, {}next", full, l);  // c was in the last iteration
      e("set_vector_mask 0, {:#x}", tail_bits);
      e("vector_dup.f32 ub[x8+{}], -3e38, repeat=1", full * 256);
      e(kFullMask);
    }
    e.label(l + "next");
    e("add x7, x7, 1");
    e("add x8, x8, {}", row32);
    e("jmp {}", l);
    e.label(l + "end");
    e("pipe_barrier PIPE_V");
  }

  // gelu (tanh form), silu and sigmoid of the f32 values at x into t, x12 iterations (`rep`), as
  // a sigmoid:
  //   sigmoid(x) = 1 / (1 + exp(-x))
  //   silu(x) = x / (1 + exp(-x))
  //   gelu(x) = 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)),  u = sqrt(2/pi) (x + 0.044715 x^3)
  static void composite_f32(OpKind kind, Emitter& e, const std::string& x, const std::string& t,
                            const std::string& rep = "x12") {
    const double k = 0.7978845608028654;  // sqrt(2/pi)
    auto bar = [&] { e("pipe_barrier PIPE_V"); };
    if (kind == OpKind::silu || kind == OpKind::sigmoid) {
      e("vmuls.f32 {}, {}, -1.0, repeat={}", t, x, rep);
    } else {  // t = -2u = x (-2k - 2k 0.044715 x^2)
      e("vmul.f32 {}, {}, {}, repeat={}", t, x, x, rep);
      bar();
      e("vmuls.f32 {}, {}, {}, repeat={}", t, t, float(-2 * k * 0.044715), rep);
      bar();
      e("vadds.f32 {}, {}, {}, repeat={}", t, t, float(-2 * k), rep);
      bar();
      e("vmul.f32 {}, {}, {}, repeat={}", t, t, x, rep);
    }
    bar();
    e("vexp.f32 {}, {}, repeat={}", t, t, rep);
    bar();
    e("vadds.f32 {}, {}, 1.0, repeat={}", t, t, rep);
    bar();
    if (kind == OpKind::sigmoid)
      e("vrec.f32 {}, {}, repeat={}", t, t, rep);
    else
      e("vdiv.f32 {}, {}, {}, repeat={}", t, x, t, rep);
    bar();
  }

  // A tensor as a copy sees it: shape, padded layout, address in global memory.
  struct Side {
    std::vector<int64_t> shape;
    Layout layout;
    uint64_t addr;
    int64_t es = 2;  // element bytes
  };

  // A swap of the last two dims (the others in order) of x, padded matrices of one dim of rows,
  // into y, on the cube: per matrix, Y (N x M) = I (N x N) X^T, X given as the B of a GEMM
  // stored transposed (attention's K path), exact (each output is one product by 1). Block 0
  // first writes the identity into global memory at `ident` (zeros, then a 16 x 16 identity (32 x
  // 32 for s8) fractal made in the UB under vector masks on each diagonal block), then every block
  // runs the GEMM.
  void swap_on_cube(const Node& n, const std::string& L, const Side& x, const Side& y,
                    uint64_t ident, DType dt, Emitter& e) const {
    if (dt == DType::bf16 && !p_.bf16)
      unsupported(n, name_,
                  "a bf16 transpose of the last dim (on the cube) where the cube has no bf16");
    const PaddedView vi = padded_view(x.shape, x.layout);
    const int64_t mp = vi.rows_p, np = vi.cols_p, es = x.es;
    identity(L, ident, np, dt, e);
    e("sync_all");
    gemm(GemmSpec{&n, L + "t_", ident, x.addr, y.addr, np, np, mp, vi.batch, 0, mp * np * es,
                  np * mp * es, 0, 1, true, false, dt},
         e);
  }

  // Block 0 writes the np x np identity of dt (np a multiple of 32 bytes of elements) into
  // global memory at `ident` (select_matrix()); a sync_all after it lets the other blocks read it.
  void identity(const std::string& L, uint64_t ident, int64_t np, DType dt, Emitter& e) const {
    std::vector<std::pair<int64_t, int64_t>> ones;
    for (int64_t i = 0; i < np; ++i) ones.emplace_back(i, i);
    select_matrix(L, ident, np, np, ones, dt, "identity", e);
  }

  // Block 0 writes a rows x cols matrix of dt (cols a multiple of 32 bytes of elements), row-major,
  // into global memory at `at`: zeros, then a one at each (row, column) of `ones` (in row order).
  // The ones come from the rows of a k0 x k0 identity fractal (row j: 32 bytes with a one at
  // element j; 16 x 16 of 2-byte elements, 32 x 32 of s8) that it makes in the UB under vector
  // masks: a run of consecutive rows whose ones lie in one 32-byte block of their rows, at a fixed
  // step, is one MTE3 copy of fractal rows (src_gap: the step) to rows (dst_gap: a row). The other
  // blocks skip it; a sync_all after it lets them read it.
  void select_matrix(const std::string& L, uint64_t at, int64_t rows, int64_t cols,
                     const std::vector<std::pair<int64_t, int64_t>>& ones, DType dt,
                     const char* what, Emitter& e) const {
    const int64_t es = dtype_size(dt);
    const int64_t bk = k0_of(es), fb = bk * 32;  // the identity's diagonal block: bk rows of 32 B
    const int64_t zero = std::min<int64_t>((255 - fb / 256) * 256, (p_.ub_bytes - fb) / 256 * 256);
    const int64_t frac = zero;  // the identity's diagonal block, after the zeros
    const int64_t row_blocks = cols * es / 32;
    e.comment(fmt::format("block 0: the {} x {} {} at gm[{:#x}]", rows, cols, what, at));
    e("bne x1, 0, {}ident_done", L);
    e("vector_dup.f32 ub[0], 0, repeat={}", (zero + fb) / 256);
    e("pipe_barrier PIPE_V");
    if (es == 1) {
      // The diagonal of a 32 x 32 block of s8: byte 33 i, in s32 element 33 i / 4 at byte
      // i % 4; rows 0 to 7 in the first 256 bytes, and so on.
      for (int q = 0; q < 4; ++q)
        for (int lane = 0; lane < 4; ++lane) {
          uint64_t mask = 0;
          for (int i = q * 8 + lane; i < q * 8 + 8; i += 4)
            mask |= uint64_t(1) << (33 * i / 4 - 64 * q);
          e("set_vector_mask 0x0, {:#x}", mask);
          e("vector_dup.s32 ub[{}], {}, repeat=1", frac + 256 * q, int64_t(1) << (8 * lane));
        }
    } else {
      const int64_t one = dt == DType::bf16 ? 0x3F80 : 0x3C00;  // 1.0
      // The diagonal of a 16 x 16 fractal of 2-byte elements: element 17 i, in s32 element
      // 17 i / 2 (the upper half for odd i); rows 0 to 7 in the first 256 bytes, 8 to 15 after.
      for (int half = 0; half < 2; ++half)
        for (int odd = 0; odd < 2; ++odd) {
          uint64_t mask = 0;
          for (int i = half * 8 + odd; i < half * 8 + 8; i += 2)
            mask |= uint64_t(1) << (17 * i / 2 - 64 * half);
          e("set_vector_mask 0x0, {:#x}", mask);
          e("vector_dup.s32 ub[{}], {}, repeat=1", frac + 256 * half, odd ? one << 16 : one);
        }
    }
    e(kFullMask);
    e("set_flag PIPE_V, PIPE_MTE3, EVENT_ID0");
    e("wait_flag PIPE_V, PIPE_MTE3, EVENT_ID0");
    for (int64_t off = 0; off < rows * cols * es; off += zero)
      e("copy_ubuf_to_gm gm[{}], ub[0], nburst=1, burst={}", at + uint64_t(off),
        std::min(zero, rows * cols * es - off) / 32);
    e("pipe_barrier PIPE_MTE3");
    for (size_t i = 0; i < ones.size();) {
      const auto [r, c] = ones[i];
      size_t len = 1;
      int64_t step = 0;
      while (i + len < ones.size() && len < 4095) {
        const auto [r2, c2] = ones[i + len];
        const auto [r1, c1] = ones[i + len - 1];
        if (r2 != r1 + 1 || c2 / bk != c / bk || c2 <= c1 || (len > 1 && c2 - c1 != step)) break;
        step = c2 - c1;
        ++len;
      }
      e("copy_ubuf_to_gm gm[{}], ub[{}], nburst={}, burst=1{}, dst_gap={}",
        at + uint64_t(r * row_blocks * 32 + c / bk * 32), frac + c % bk * 32, len,
        step > 1 ? fmt::format(", src_gap={}", step - 1) : "", row_blocks - 1);
      i += len;
    }
    e("pipe_barrier PIPE_ALL");
    e.label(L + "ident_done");
  }

  // A dim of a copy: its size, its strides (elements) in the source and the destination, and
  // whether it is one of the destination's columns.
  struct Dim {
    int64_t ext, src, dst;
    bool col;
  };

  // The double-buffered loop of the copy routines: this block's share of `units` units (x5 to
  // x6, the blocks splitting them evenly), two stages of UB buffers. Per unit, x8 and x9 are its
  // addresses in X and Y (its index in each of `dims`, innermost last, times the dim's strides
  // times `bytes`); `innermost(st)` adds what the innermost dim needs (x10 its index); `in(st)`
  // copies it into stage st's buffer, `out(st)` out of it, between MTE2 / MTE3 flags.
  void staged_copies(const std::string& L, const char* unit, int64_t units,
                     const std::vector<Dim>& dims, int64_t bytes, uint64_t X, uint64_t Y,
                     const std::function<void(int)>& innermost, const std::function<void(int)>& in,
                     const std::function<void(int)>& out, Emitter& e) const {
    e("mul x5, x1, {}", units);
    e("div x5, x5, x2");  // this block's first unit
    e("add x6, x1, 1");
    e("mul x6, x6, {}", units);
    e("div x6, x6, x2");  // and its end
    for (int st = 0; st < 2; ++st) e("set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID{}", st);
    e("bge x5, x6, {}done", L);
    e.label(L + "loop");
    for (int st = 0; st < 2; ++st) {
      e.comment(fmt::format("stage {}: {} x5", st, unit));
      e("mov x7, x5");
      e("mov x8, {}", X);
      e("mov x9, {}", Y);
      for (size_t k = dims.size(); k-- > 0;) {  // the unit's index in each dim, innermost first
        if (k > 0) {
          e("rem x10, x7, {}", dims[k].ext);
          e("div x7, x7, {}", dims[k].ext);
        } else {
          e("mov x10, x7");
        }
        e("mul x11, x10, {}", dims[k].src * bytes);
        e("add x8, x8, x11");
        e("mul x11, x10, {}", dims[k].dst * bytes);
        e("add x9, x9, x11");
        if (k + 1 == dims.size()) innermost(st);
      }
      e("wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID{}", st);
      in(st);
      e("set_flag PIPE_MTE2, PIPE_MTE3, EVENT_ID{}", st);
      e("wait_flag PIPE_MTE2, PIPE_MTE3, EVENT_ID{}", st);
      out(st);
      e("set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID{}", st);
      e("add x5, x5, 1");
      if (st == 0)
        e("bge x5, x6, {}done", L);
      else
        e("blt x5, x6, {}loop", L);
    }
    e.label(L + "done");
    for (int st = 0; st < 2; ++st) e("wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID{}", st);
  }

  // The dims of a transpose of x into y (out[k] = in[perm[k]]), in y's order.
  static std::vector<Dim> perm_walk(const Side& x, const Side& y,
                                    const std::vector<int64_t>& perm) {
    const std::vector<int64_t> si = padded_strides(x.shape, x.layout),
                               so = padded_strides(y.shape, y.layout);
    const int64_t col_from =
        int64_t(y.shape.size()) - std::min<int64_t>(y.layout.col_dims, y.shape.size());
    std::vector<Dim> w;
    for (size_t k = 0; k < y.shape.size(); ++k)
      w.push_back(Dim{y.shape[k], si[size_t(perm[k])], so[k], int64_t(k) >= col_from});
    return w;
  }

  // Sizes of the global-memory scratch of a transpose that moves the last dim: the identity, then
  // its input and output as the swap of the last two dims sees them (bytes, 512-aligned each).
  static std::vector<uint64_t> transpose_scratch(const Graph& g, const Node& n) {
    const std::vector<int64_t>& xs = g.tensor(n.inputs[0]).shape;
    const int64_t es = dtype_size(g.tensor(n.outputs[0]).dtype), al = k0_of(es);  // 32 bytes
    auto pad = [al](int64_t v) { return (v + al - 1) / al * al; };
    const int64_t np = pad(xs.back());
    int64_t matrices = 1;
    for (size_t k = 0; k + 1 < xs.size(); ++k) matrices *= xs[k];
    const int64_t rows = xs.size() >= 2 ? xs[size_t(n.attrs.perm.back())] : 1;
    matrices /= rows;
    auto up = [](int64_t b) {
      return uint64_t((b + int64_t(kAlign) - 1) / int64_t(kAlign) * int64_t(kAlign));
    };
    const uint64_t side = up(matrices * pad(rows) * np * es);
    return {up(np * np * es), side, side};
  }

  // The dims of a reshape of x into y, both padded, in y's order.
  std::vector<Dim> reshape_walk(const Node& n, const Side& x, const Side& y) const {
    const std::vector<Dim> w = reshape_dims(x, y);
    if (w.empty())
      unsupported(n, name_, "a reshape whose output rows mix rows of the input's padded matrices");
    return w;
  }
  // Likewise; none when the shapes share no refinement (refine()).
  static std::vector<Dim> reshape_dims(const Side& x, const Side& y) {
    const std::vector<RefinedDim> rd = refine(x.shape, y.shape);
    const std::vector<int64_t> si = padded_strides(x.shape, x.layout),
                               so = padded_strides(y.shape, y.layout);
    const int64_t col_from =
        int64_t(y.shape.size()) - std::min<int64_t>(y.layout.col_dims, y.shape.size());
    std::vector<Dim> w;
    for (const RefinedDim& r : rd)
      w.push_back(Dim{r.ext, si[size_t(r.a_dim)] * r.a_inner, so[size_t(r.b_dim)] * r.b_inner,
                      r.b_dim >= col_from});
    return w;
  }

  // Elements from one index of each dim of a feature map (N, C, pixel dims...) in NC1HWC0 to the
  // next: an image, 0 for C (split into slices of C0 channels, pad16(pixels) C0 elements apart,
  // and its channels, 1 apart), and the pixel dims row-major, C0 elements per pixel.
  static std::vector<int64_t> map_strides(const std::vector<int64_t>& s, const Layout& l) {
    std::vector<int64_t> st(s.size(), 0);
    int64_t px = l.c0;
    for (size_t d = s.size(); d-- > 2;) st[d] = px, px *= s[d];
    st[0] = (s[1] + l.c0 - 1) / l.c0 * pad16(map_pixels(s)) * l.c0;
    return st;
  }

  // The global-memory scratch of a reshape with a feature map in NC1HWC0 on one side (bytes,
  // 512-aligned each): the identity of trans_data()'s GEMM, then the (C x H*W) matrices per
  // image; zeros when it has none.
  static std::vector<uint64_t> trans_data_scratch(const Graph& g, const Node& n,
                                                  const std::vector<Placement>& place) {
    const int in = n.inputs[0], out = n.outputs[0];
    const bool from = place[size_t(in)].layout.kind == Layout::nc1hwc0,
               to = place[size_t(out)].layout.kind == Layout::nc1hwc0;
    if (n.kind != OpKind::reshape || from == to) return {0, 0};
    const std::vector<int64_t>& s = g.tensor(from ? in : out).shape;
    if (s.size() < 3) return {0, 0};
    return trans_data_sizes(s[0], s[1], map_pixels(s), dtype_size(g.tensor(out).dtype), from);
  }
  static std::vector<uint64_t> trans_data_sizes(int64_t N, int64_t C, int64_t P, int64_t es,
                                                bool from) {
    const int64_t k0 = k0_of(es);
    auto pad = [](int64_t v, int64_t to) { return (v + to - 1) / to * to; };
    const int64_t cp = pad(C, k0), pp = pad(P, k0);
    auto up = [](int64_t b) {
      return uint64_t((b + int64_t(kAlign) - 1) / int64_t(kAlign) * int64_t(kAlign));
    };
    const int64_t q = trans_data_identity(cp, pp, es, from);
    return {up(q * q * es), up(N * cp * pp * es)};
  }
  // The size of trans_data()'s identity: C padded (cp) from a map, 16 to a map of 16-bit
  // elements (a GEMM per 16 pixels), else the pixels padded (pp).
  static int64_t trans_data_identity(int64_t cp, int64_t pp, int64_t es, bool from) {
    return from ? cp : es == 2 ? 16 : pp;
  }

  // A reshape with a feature map in NC1HWC0 on one side and padded matrices on the other
  // (Ascend's TransData). Through a matrix per image of its C channels (rows, padded to C0) by
  // its H*W pixels (columns, padded to 32 bytes): per image, that matrix is I x X with X the
  // map's image as the cube's B given transposed (pixel rows of channels: a slice is a column
  // block of them, zN's fractals as they are), and the image is I x Y with Y that matrix as the
  // B given transposed and C stored NZ (its column blocks are the slices). The GEMMs' identity
  // is block 0's (identity()), and the matrices are in scratch past the tensors unless the
  // padded side lies on their bytes; a copy by lines moves them to or from the padded side
  // (reshape_walk()). Exact for finite values (each output one product by 1 summed with
  // zeros); the padding channels and pixels come out zero. A map with one pixel, or whose
  // channels are the output's last dim, goes by lines instead: each output row gathered from
  // the slices' 32-byte pixels by one MTE2 copy (the last slice's padding channels land in the
  // row's padding).
  void trans_data(const Node& n, const std::string& L, const Side& x, const Side& y,
                  uint64_t scratch, DType dt, Emitter& e) const {
    const bool from = x.layout.kind == Layout::nc1hwc0;
    const Side& f = from ? x : y;
    const int64_t N = f.shape[0], C = f.shape[1], P = map_pixels(f.shape);
    const int64_t es = x.es, c0 = f.layout.c0, C1 = (C + c0 - 1) / c0, P16 = pad16(P);
    const int64_t image = C1 * P16 * c0;  // elements
    if (from) {
      // By lines: the walk of y's dims with the map's strides, C a dim of its own split into
      // slices and channels; its padding channels must fall in y's padding columns.
      const std::vector<RefinedDim> rd = refine(x.shape, y.shape);
      const std::vector<int64_t> so = padded_strides(y.shape, y.layout);
      const int64_t col_from =
          int64_t(y.shape.size()) - std::min<int64_t>(y.layout.col_dims, y.shape.size());
      const std::vector<int64_t> map_stride = map_strides(f.shape, f.layout);
      std::vector<Dim> w;
      bool by_lines = !rd.empty();
      for (size_t k = 0; k < rd.size() && by_lines; ++k) {
        const RefinedDim& r = rd[k];
        const int64_t dst = so[size_t(r.b_dim)] * r.b_inner;
        const bool col = r.b_dim >= col_from;
        if (r.a_dim != 1) {
          w.push_back(Dim{r.ext, map_stride[r.a_dim] * r.a_inner, dst, col});
          continue;
        }
        by_lines =
            r.ext == C && col && dst == 1 &&
            (C % c0 == 0 || (k + 1 == rd.size() && padded_view(y.shape, y.layout).cols == C));
        w.push_back(Dim{C1, P16 * c0, c0 * dst, col});
        w.push_back(Dim{c0, 1, dst, col});
      }
      if (by_lines && lines(n, L, w, x, y, e)) return;
    }
    if (dt == DType::bf16 && !p_.bf16)
      unsupported(n, name_, "a bf16 TransData (on the cube) where the cube has no bf16");
    if (es == 1 && from && P16 % 32 != 0)
      unsupported(n, name_,
                  fmt::format("an int8 feature map of {} pixels to padded matrices: the cube's s8 "
                              "output needs a multiple of 32 pixels after padding to 16",
                              P));
    Layout ml;  // the matrices per image
    ml.kind = Layout::padded;
    if (es == 1) int8_layout(ml);
    const std::vector<uint64_t> sizes = trans_data_sizes(N, C, P, es, from);
    const PaddedView vm = padded_view({N, C, P}, ml);
    const Side& p = from ? y : x;
    const bool direct = same_bytes({N, C, P}, ml, p.shape, p.layout);
    const Side m{{N, C, P}, ml, direct ? p.addr : scratch + sizes[0], es};
    const int64_t cp = vm.rows_p, pp = vm.cols_p;  // C padded to C0, H*W to 32 bytes
    const int64_t q = trans_data_identity(cp, pp, es, from);
    identity(L, scratch, q, dt, e);
    if (!from && !direct) {
      e.comment("the padded input to a (C x H*W) matrix per image");
      if (!lines(n, L + "m_", reshape_walk(n, x, m), x, m, e))
        unsupported(n, name_, "a TransData whose rows gather elements of different input rows");
    }
    e("sync_all");
    GemmSpec sp{&n, L + "t_", scratch, 0, 0, 0, 0, 0, N, 0, 0, 0, 0, 1, true, false, dt};
    sp.a_row_bytes = q * es;  // rows of the identity
    if (from) {               // (C x P16) = I (C x C) x the image's pixel rows of channels
      e.comment("per image, its slices to a (C x H*W) matrix on the cube");
      sp.B = x.addr, sp.C = m.addr, sp.mp = cp, sp.kp = cp, sp.np = P16;
      sp.stride_b = image * es, sp.stride_c = cp * pp * es;
      sp.b_block_bytes = P16 * 32, sp.b_row_bytes = 32;
    } else if (q == 16) {  // per 16 pixels p: (16 x C) = I16 x the matrix's columns p, NZ
      e.comment(
          "per image and 16 pixels, its (C x H*W) matrix's columns to slice rows on the cube");
      sp.B = m.addr, sp.C = y.addr, sp.mp = 16, sp.kp = 16, sp.np = cp, sp.batch = N * P16 / 16;
      sp.stride_b = cp * pp * es, sp.stride_c = image * es, sp.b_row_bytes = pp * es;
      sp.blocks = P16 / 16, sp.block_b = 16 * es, sp.block_c = 16 * 32;
      sp.c_nz = true, sp.c_slice_bytes = P16 * 32;
    } else {  // (P16 x C) = I (P16 x P) x the matrix's channel rows of pixels, NZ
      e.comment("per image, its (C x H*W) matrix to slices on the cube");
      sp.B = m.addr, sp.C = y.addr, sp.mp = P16, sp.kp = pp, sp.np = cp;
      sp.stride_b = cp * pp * es, sp.stride_c = image * es;
      sp.c_nz = true;
    }
    gemm(sp, e);
    if (from && !direct) {
      e("sync_all");
      e.comment("the (C x H*W) matrices to the padded output");
      if (!lines(n, L + "m_", reshape_walk(n, m, y), m, y, e))
        unsupported(n, name_, "a TransData whose rows gather elements of different input rows");
    }
  }

  // A reshape or transpose; false when it moves nothing (the output lies on the input's bytes).
  // A reshape, and a transpose that keeps the last dim, is a copy by lines (lines()); a
  // transpose that moves it is a swap of the last two dims on the cube, with copies by lines
  // before (the last dim and the one to come last moved to the end, into scratch) and after (the
  // rest into place) where the swap alone does not do it.
  bool copy(const Graph& g, const Node& n, int idx, const std::vector<Placement>& place,
            uint64_t scratch, Emitter& e) const {
    const int in = n.inputs[0], out = n.outputs[0];
    if (alias(g, place, out) >= 0) {
      e.comment(fmt::format("nothing to move: '{}' is the bytes of '{}'", g.tensor(out).name,
                            g.tensor(alias(g, place, out)).name));
      return false;
    }
    const DType dt = g.tensor(out).dtype;
    const int64_t es = dtype_size(dt);
    const Side x{g.tensor(in).shape, place[size_t(in)].layout, place[size_t(in)].addr, es};
    const Side y{g.tensor(out).shape, place[size_t(out)].layout, place[size_t(out)].addr, es};
    const std::string L = fmt::format("n{}_", idx);
    const bool map_in = x.layout.kind == Layout::nc1hwc0,
               map_out = y.layout.kind == Layout::nc1hwc0;
    if ((map_in && map_out) || ((map_in || map_out) && n.kind == OpKind::transpose)) {
      map_copy(n, L, x, y, scratch, dt, e);
      return true;
    }
    if (map_in || map_out) {
      trans_data(n, L, x, y, scratch, dt, e);
      return true;
    }
    if (n.kind == OpKind::reshape) {
      const std::vector<Dim> w = reshape_walk(n, x, y);
      if (line_dims(w).cols.back().src == 1) {
        lines_or_select(n, L, w, x, y, scratch, dt, e);
        return true;
      }
      const ColumnSwap c = column_swap(x, y, scratch);
      if (c.a.shape.empty())
        unsupported(n, name_,
                    "a reshape whose output rows gather elements of different rows of the "
                    "input's padded matrices, from an input that is not one column of them");
      e.comment("the input's column of elements swapped into rows on the cube");
      swap_on_cube(n, L, c.a, c.t, scratch, dt, e);
      if (!c.direct) {
        e("sync_all");
        e.comment("the rows into the output");
        lines_or_select(n, L + "b_", reshape_walk(n, c.t, y), c.t, y, scratch + c.bytes, dt, e);
      }
      return true;
    }
    const std::vector<int64_t>& perm = n.attrs.perm;
    if (lines_or_select(n, L, perm_walk(x, y, perm), x, y, scratch, dt, e)) return true;
    // The last dim moves: out = q2(swap(t1(x))), t1 and q2 keeping the last dim.
    const size_t r = x.shape.size();
    const int64_t j = perm[r - 1], last = int64_t(r) - 1;
    std::vector<int64_t> t1;
    for (size_t k = 0; k + 1 < r; ++k)
      if (perm[k] != last) t1.push_back(perm[k]);
    std::vector<int64_t> t2 = t1;
    t1.push_back(j), t1.push_back(last);
    t2.push_back(last), t2.push_back(j);
    std::vector<int64_t> q2;
    for (int64_t p : perm) q2.push_back(int64_t(std::find(t2.begin(), t2.end(), p) - t2.begin()));
    auto identity = [](const std::vector<int64_t>& v) {
      for (size_t k = 0; k < v.size(); ++k)
        if (v[k] != int64_t(k)) return false;
      return true;
    };
    auto matrices = [](const Layout& l) { return l.col_dims == 1 && l.row_dims == 1; };
    const std::vector<uint64_t> sizes = transpose_scratch(g, n);
    Layout plain;
    plain.kind = Layout::padded;
    if (es == 1) int8_layout(plain);
    auto shape_of = [&](const std::vector<int64_t>& order) {
      std::vector<int64_t> v;
      for (int64_t d : order) v.push_back(x.shape[size_t(d)]);
      return v;
    };
    Side a = x;
    if (!identity(t1) || !matrices(x.layout)) {
      a = Side{shape_of(t1), plain, scratch + sizes[0], es};
      e.comment("the last dim, and the one to come last, moved to the end");
      lines(n, L + "a_", perm_walk(x, a, t1), x, a, e);
      e("sync_all");
    }
    const bool direct = identity(q2) && matrices(y.layout);
    const Side b = direct ? y : Side{shape_of(t2), plain, scratch + sizes[0] + sizes[1], es};
    e.comment("the last two dims swapped on the cube");
    swap_on_cube(n, L, a, b, scratch, dt, e);
    if (!direct) {
      e("sync_all");
      e.comment("the other dims into place");
      lines(n, L + "b_", perm_walk(b, y, q2), b, y, e);
    }
    return true;
  }

  // The dims of a copy by lines (lines()): the column dims merged by their source strides into a
  // run (stride 1) and at most one dim of runs; the other dims, merged where both strides allow,
  // number the lines (the output's rows).
  struct LineDims {
    std::vector<Dim> cols, lines;
    int64_t run() const { return cols.back().ext; }
    int64_t segs() const { return cols.size() == 2 ? cols[0].ext : 1; }
    int64_t gap() const { return cols.size() == 2 ? cols[0].src : run(); }
  };
  static LineDims line_dims(const std::vector<Dim>& walk) {
    LineDims ld;
    for (const Dim& d : walk) {
      if (d.ext == 1) continue;
      std::vector<Dim>& v = d.col ? ld.cols : ld.lines;
      if (!v.empty() && v.back().src == d.src * d.ext && (d.col || v.back().dst == d.dst * d.ext)) {
        v.back().ext *= d.ext;
        v.back().src = d.src;
        v.back().dst = d.dst;
      } else {
        v.push_back(d);
      }
    }
    if (ld.cols.empty()) ld.cols.push_back(Dim{1, 1, 1, true});  // rows of one element
    return ld;
  }
  // Whether 32-byte copies move them: runs that start and end on 32-byte blocks, or whole rows of
  // x and of y (their padding comes along).
  static bool by_copies(const LineDims& ld, const PaddedView& vi, const PaddedView& vo,
                        int64_t bk) {
    bool aligned = ld.run() % bk == 0 && ld.gap() % bk == 0;
    for (const Dim& d : ld.lines) aligned = aligned && d.src % bk == 0;
    return aligned || (ld.segs() == 1 && ld.run() == vi.cols && ld.run() == vo.cols);
  }

  // A copy by lines whose runs do not start and end on 32-byte blocks, as GEMMs on the cube: per
  // output matrix, Y = A S with A a view of the input's rows (mp = the output's padded rows, each
  // kp elements from where its line starts: a row's runs in one frame of contiguous 32-byte
  // blocks, or one block per run, `gap` apart) and S a selection matrix (a one at each output
  // column's place in A). The output matrices are numbered by at most two dims: an outer one
  // whose lines start on 32-byte blocks (A's `images`, a stride apart) and an inner one whose do
  // not (J of them, each with its own S: its columns' offset in the frame).
  struct Select {
    std::string why;  // empty when it applies
    int64_t images = 1, J = 1, mp = 0, kp = 0, np = 0;
    int64_t stride_a = 0, stride_c = 0, block_c = 0, a_block_bytes = 32, a_row_bytes = 0;
    std::vector<std::pair<int64_t, int64_t>> ones;  // (j np + output column, column of A)
  };
  static Select select_plan(const LineDims& ld, const PaddedView& vi, const PaddedView& vo,
                            int64_t es) {
    const int64_t bk = k0_of(es);
    Select s;
    auto fail = [&](const char* why) {
      s.why = why;
      return s;
    };
    if (ld.cols.size() > 2)
      return fail("an output row gathered from runs at more than one distance");
    if (ld.lines.empty() || ld.lines.back().dst != vo.cols_p || ld.lines.back().ext != vo.rows)
      return fail("output lines that are not whole matrices' rows");
    const Dim row = ld.lines.back();
    if (row.src % bk != 0) return fail("input rows that do not start on 32-byte blocks");
    const Dim *image = nullptr, *jd = nullptr;
    for (size_t k = 0; k + 1 < ld.lines.size(); ++k) {
      const Dim& m = ld.lines[k];
      if (m.dst % (vo.rows_p * vo.cols_p) != 0) return fail("lines that are not whole matrices");
      if (m.src % bk == 0 && !image && !jd)
        image = &m;
      else if (m.src % bk != 0 && !jd)
        jd = &m;
      else
        return fail("output matrices numbered by more than two dims");
    }
    const int64_t run = ld.run(), segs = ld.segs(), gap = ld.gap();
    s.images = image ? image->ext : 1;
    s.J = jd ? jd->ext : 1;
    s.mp = vo.rows_p, s.np = vo.cols_p;
    s.a_row_bytes = row.src * es;
    if (segs == 1) {  // a frame of contiguous blocks holding every j's run
      const int64_t step = jd ? jd->src : 0;
      s.kp = ((s.J - 1) * step + run + bk - 1) / bk * bk;
      for (int64_t j = 0; j < s.J; ++j)
        for (int64_t c = 0; c < run; ++c) s.ones.emplace_back(j * s.np + c, j * step + c);
    } else {  // a block per run
      if (jd || run > bk || gap % bk != 0)
        return fail("runs apart that do not each lie in one 32-byte block from its start");
      s.kp = segs * bk, s.a_block_bytes = gap * es;
      for (int64_t g = 0; g < segs; ++g)
        for (int64_t c = 0; c < run; ++c) s.ones.emplace_back(g * ld.cols[0].dst + c, g * bk + c);
    }
    s.stride_a = image ? image->src * es : 0, s.stride_c = image ? image->dst * es : 0;
    s.block_c = jd ? jd->dst * es : 0;
    const int64_t reach = (s.images - 1) * (image ? image->src : 0) + (s.mp - 1) * row.src +
                          (segs == 1 ? s.kp : (segs - 1) * gap + bk);
    if (reach > vi.batch * vi.rows_p * vi.cols_p)
      return fail("the cube's padded rows would read past the input");
    return s;
  }

  // The scratch of lines_or_select() for node n, a reshape or transpose between padded matrices
  // (bytes; 0 when it copies by lines or goes otherwise), with that of a reshape's swap first
  // (column_swap()).
  static uint64_t select_scratch(const Graph& g, const Node& n,
                                 const std::vector<Placement>& place) {
    if (n.kind != OpKind::reshape && n.kind != OpKind::transpose) return 0;
    const int in = n.inputs[0], out = n.outputs[0];
    const int64_t es = dtype_size(g.tensor(out).dtype);
    const Side x{g.tensor(in).shape, place[size_t(in)].layout, place[size_t(in)].addr, es};
    const Side y{g.tensor(out).shape, place[size_t(out)].layout, place[size_t(out)].addr, es};
    if (x.layout.kind != Layout::padded || y.layout.kind != Layout::padded) return 0;
    if (n.kind == OpKind::transpose) return select_bytes(x, y, perm_walk(x, y, n.attrs.perm));
    const std::vector<Dim> w = reshape_dims(x, y);
    if (w.empty() || line_dims(w).cols.back().src == 1) return select_bytes(x, y, w);
    const ColumnSwap c = column_swap(x, y, 0);
    if (c.a.shape.empty()) return 0;
    return c.bytes + (c.direct ? 0 : select_bytes(c.t, y, reshape_dims(c.t, y)));
  }
  static uint64_t select_bytes(const Side& x, const Side& y, const std::vector<Dim>& w) {
    if (w.empty()) return 0;
    const PaddedView vi = padded_view(x.shape, x.layout), vo = padded_view(y.shape, y.layout);
    const LineDims ld = line_dims(w);
    if (ld.cols.back().src != 1 || by_copies(ld, vi, vo, k0_of(x.es))) return 0;
    const Select s = select_plan(ld, vi, vo, x.es);
    if (!s.why.empty()) return 0;
    return uint64_t((s.J * s.np * s.kp * x.es + int64_t(kAlign) - 1) / int64_t(kAlign) *
                    int64_t(kAlign));
  }

  // A reshape whose output rows gather elements of different rows of the input (the last dim of
  // the output is not contiguous in it): the input is a column of elements (column_as_rows()),
  // its padded matrices (batch, rows, 1) (a), and the swap of their last two dims on the cube
  // (swap_on_cube()) makes the rows (batch, 1, rows) (t): straight into the output where it lies
  // on their bytes (the layout pass's choice where the output's layout is free), else into
  // scratch after the swap's identity, from which a copy by lines or a selection
  // (lines_or_select()) takes them into the output. `bytes`: the identity's scratch, and the
  // rows' unless direct; a.shape is empty when the input is not such a column.
  struct ColumnSwap {
    Side a, t;
    bool direct = false;
    uint64_t bytes = 0;
  };
  static ColumnSwap column_swap(const Side& x, const Side& y, uint64_t scratch) {
    const std::vector<int64_t> rows = column_as_rows(x.shape, x.layout);
    ColumnSwap c;
    if (rows.empty()) return c;
    Layout plain;
    plain.kind = Layout::padded;
    if (x.es == 1) int8_layout(plain);
    const Side a{{rows[0], rows[2], 1}, plain, x.addr, x.es};
    if (!same_bytes(a.shape, a.layout, x.shape, x.layout)) return c;
    auto up = [](int64_t b) {
      return uint64_t((b + int64_t(kAlign) - 1) / int64_t(kAlign) * int64_t(kAlign));
    };
    const int64_t np = padded_view(a.shape, plain).cols_p;
    const uint64_t ident = up(np * np * x.es);
    const PaddedView vt = padded_view(rows, plain);
    c.a = a;
    c.direct = same_bytes(rows, plain, y.shape, y.layout);
    c.t = Side{rows, plain, c.direct ? y.addr : scratch + ident, x.es};
    c.bytes = ident + (c.direct ? 0 : up(vt.batch * vt.rows_p * vt.cols_p * x.es));
    return c;
  }

  // A copy by lines (lines()), or, when its runs do not start and end on 32-byte blocks, GEMMs of
  // the input's rows by selection matrices (select_plan()) that block 0 writes into scratch first
  // (select_matrix()); exact (each output one product by 1 summed with zeros), the output's
  // padding rows zeroed after. False as lines() is.
  bool lines_or_select(const Node& n, const std::string& L, const std::vector<Dim>& walk,
                       const Side& x, const Side& y, uint64_t scratch, DType dt, Emitter& e) const {
    const PaddedView vi = padded_view(x.shape, x.layout), vo = padded_view(y.shape, y.layout);
    const LineDims ld = line_dims(walk);
    if (ld.cols.back().src != 1 || by_copies(ld, vi, vo, k0_of(x.es)))
      return lines(n, L, walk, x, y, e);
    const Select s = select_plan(ld, vi, vo, x.es);
    if (!s.why.empty())
      unsupported(n, name_,
                  fmt::format("runs of {} elements that do not start and end on 32-byte blocks, "
                              "and {} (the cube's selection of columns)",
                              ld.run(), s.why));
    if (dt == DType::bf16 && !p_.bf16)
      unsupported(n, name_,
                  "a bf16 copy of runs that do not start and end on 32-byte blocks (on the cube) "
                  "where the cube has no bf16");
    select_matrix(L, scratch, s.J * s.np, s.kp, s.ones, dt, "column selection matrices", e);
    e("sync_all");
    e.comment(
        fmt::format("{} x {} output matrices: the input's rows times a selection", s.images, s.J));
    GemmSpec sp{&n,   L + "t_", x.addr,         scratch,    y.addr, s.mp,
                s.kp, s.np,     s.images * s.J, s.stride_a, 0,      s.stride_c,
                0,    1,        true,           false,      dt};
    sp.a_block_bytes = s.a_block_bytes, sp.a_row_bytes = s.a_row_bytes;
    sp.blocks = s.J, sp.block_b = s.np * s.kp * x.es, sp.block_c = s.block_c;
    gemm(sp, e);
    if (vo.rows_p > vo.rows) {
      e("sync_all");
      zero_pad_rows(n, L, vo, vo.cols_p * x.es, y.addr, 0, e);
    }
    return true;
  }

  // A copy by lines of walk w from x into y: each real row of y's padded matrices (a line) is
  // gathered by one MTE2 copy from runs of x (one run, or runs at a fixed distance) into the UB
  // and stored whole by MTE3; the lines are dealt to the blocks, two stages of UB buffers. The
  // runs must start on 32-byte blocks and be whole blocks, or be a whole row of x and of y (their
  // padding then comes along). The walk starts x_off bytes into x and y_off into y; a line
  // narrower than y's rows (a concat along the last dim) writes only its own columns. Block 0
  // zeroes y's padding rows unless zero_pad is false (they are zeros already). False, with
  // nothing emitted, when the last dim of y is not contiguous in x (a transpose that moves the
  // last dim).
  bool lines(const Node& n, const std::string& L, const std::vector<Dim>& walk, const Side& x,
             const Side& y, Emitter& e, uint64_t x_off = 0, uint64_t y_off = 0,
             bool zero_pad = true) const {
    const PaddedView vi = padded_view(x.shape, x.layout), vo = padded_view(y.shape, y.layout);
    const int64_t es = x.es, bk = k0_of(es);  // elements of a 32-byte block
    auto pad_bk = [bk](int64_t v) { return (v + bk - 1) / bk * bk; };
    LineDims ld = line_dims(walk);
    std::vector<Dim>&cols = ld.cols, &lines = ld.lines;
    if (cols.back().src != 1) return false;
    if (cols.size() > 2)
      unsupported(n, name_, "an output row gathered from runs at more than one distance");
    const int64_t run = ld.run(), segs = ld.segs(), gap = ld.gap();
    if (!by_copies(ld, vi, vo, bk))
      unsupported(n, name_,
                  fmt::format("runs of {} elements that do not start and end on 32-byte blocks "
                              "(the vector unit's shifts are not lowered yet)",
                              run));
    const int64_t burst = pad_bk(run) / bk, src_gap = segs > 1 ? gap / bk - burst : 0;
    if (src_gap > 65535 || segs > 4095)
      unsupported(n, name_, "runs too far apart for one copy (a gap above 65535 blocks)");
    const int64_t line_bytes = vo.cols_p * es, store = segs * burst * 32;
    if (store > line_bytes || (store < line_bytes && y_off % 32 != 0))
      unsupported(n, name_, "a line that does not fit its place in the output's rows");
    // Consecutive rows of the output's matrices (the innermost line dim) go in one copy each
    // way, a group per stage, when each is one run of the input with room for its padding.
    int64_t group = 1, inner = 1;
    if (segs == 1 && store == line_bytes && !lines.empty() && lines.back().dst == vo.cols_p &&
        lines.back().src >= pad_bk(run) && lines.back().src % bk == 0) {
      inner = lines.back().ext;
      group = std::min<int64_t>({inner, p_.ub_bytes / 4 / line_bytes, 4095});
      group = std::max<int64_t>(group, 1);
    }
    const bool pad_rows = zero_pad && vo.rows_p > vo.rows;
    if (line_bytes * 2 > p_.ub_bytes)
      unsupported(n, name_, "the unified buffer is too small for two rows of the output");
    const int64_t line_gap = group > 1 ? lines.back().src / bk - burst : 0;
    if (group > 1) {  // the innermost line dim counts groups
      const int64_t chunks = (inner + group - 1) / group;
      lines.back() = Dim{chunks, lines.back().src * group, lines.back().dst * group, false};
    }
    int64_t nlines = 1;  // lines, or groups of lines
    for (const Dim& d : lines) nlines *= d.ext;
    const uint64_t X = x.addr + x_off, Y = y.addr + y_off;
    const int64_t buf[2] = {0, group * line_bytes};
    e.comment(fmt::format("{} {} of {} run(s) of {} elements ({} apart), {} B each", nlines,
                          group > 1 ? fmt::format("groups of up to {} lines", group) : "lines",
                          segs, run, group > 1 ? lines.back().src / group : gap, line_bytes));
    staged_copies(
        L, "line", nlines, lines, es, X, Y,
        [&](int) {
          if (group <= 1) return;
          e("mul x13, x10, {}", group);  // this group's lines: x12
          e("mov x12, {}", inner);
          e("sub x12, x12, x13");
          e("min x12, x12, {}", group);
          e("mul x13, x12, {}", line_bytes / 32);
        },
        [&](int st) {
          if (group > 1)
            e("copy_gm_to_ubuf ub[{}], gm[x8], nburst=x12, burst={}, src_gap={}", buf[st], burst,
              line_gap);
          else
            e("copy_gm_to_ubuf ub[{}], gm[x8], nburst={}, burst={}, src_gap={}", buf[st], segs,
              burst, src_gap);
        },
        [&](int st) {
          if (group > 1)
            e("copy_ubuf_to_gm gm[x9], ub[{}], nburst=1, burst=x13", buf[st]);
          else
            e("copy_ubuf_to_gm gm[x9], ub[{}], nburst=1, burst={}", buf[st], store / 32);
        },
        e);
    if (pad_rows) zero_pad_rows(n, L, vo, line_bytes, y.addr, 2 * group * line_bytes, e);
    return true;
  }

  // A copy of 32-byte blocks (a feature map's pixels; 32 bytes of a padded row) by walk w, its
  // strides counted in blocks, from X to Y. The dims are merged where both strides allow; the
  // run is the longest dim contiguous on one side (stride 1; else the innermost): per unit (an
  // index of the other dims, and a piece of the run that fits a quarter of the UB), MTE2 brings
  // the run's blocks into the UB in one copy (one burst when they are contiguous, else a burst
  // per block, src_gap apart) and MTE3 stores them in one (likewise, dst_gap). The units are
  // dealt to the blocks, through two stages of UB buffers handed over by MTE2/MTE3 flags.
  // Returns the UB bytes it used.
  int64_t block_copy(const Node& n, const std::string& L, const std::vector<Dim>& walk, uint64_t X,
                     uint64_t Y, Emitter& e) const {
    std::vector<Dim> dims;
    for (const Dim& d : walk) {
      if (d.ext == 1) continue;
      if (!dims.empty() && dims.back().src == d.src * d.ext && dims.back().dst == d.dst * d.ext) {
        dims.back() = Dim{dims.back().ext * d.ext, d.src, d.dst, false};
      } else {
        dims.push_back(d);
      }
    }
    if (dims.empty()) dims.push_back(Dim{1, 1, 1, false});
    auto contiguous = [](const Dim& d) {
      return (d.src == 1 || d.dst == 1) && d.src > 0 && d.dst > 0;  // not a repeat (stride 0)
    };
    if (dims.back().src == 0 || dims.back().dst == 0) dims.push_back(Dim{1, 1, 1, false});
    size_t r = dims.size() - 1;
    for (size_t k = 0; k < dims.size(); ++k)
      if (contiguous(dims[k]) && (!contiguous(dims[r]) || dims[k].ext > dims[r].ext)) r = k;
    const Dim run = dims[r];
    dims.erase(dims.begin() + long(r));
    if (run.src < 1 || run.dst < 1 || run.src > 65536 || run.dst > 65536)
      unsupported(n, name_, "blocks too far apart for one copy (a gap above 65535 blocks)");
    const bool strided = run.src > 1 || run.dst > 1;
    const int64_t piece = std::min<int64_t>({run.ext, strided ? 4095 : 65535, p_.ub_bytes / 128});
    const int64_t pieces = (run.ext + piece - 1) / piece;
    if (pieces > 1) dims.push_back(Dim{pieces, run.src * piece, run.dst * piece, false});
    int64_t units = 1;
    for (const Dim& d : dims) units *= d.ext;
    const int64_t buf[2] = {0, piece * 32};
    e.comment(fmt::format("{} runs of {} blocks of 32 bytes ({} and {} blocks apart)", units,
                          std::min(piece, run.ext), run.src, run.dst));
    const std::string count = pieces > 1 ? "x12" : fmt::format("{}", run.ext);
    staged_copies(
        L, "unit", units, dims, 32, X, Y,
        [&](int) {
          if (pieces <= 1) return;
          e("mul x12, x10, {}", -piece);  // this piece's blocks: x12
          e("add x12, x12, {}", run.ext);
          e("min x12, x12, {}", piece);
        },
        [&](int st) {
          if (run.src == 1)
            e("copy_gm_to_ubuf ub[{}], gm[x8], nburst=1, burst={}", buf[st], count);
          else
            e("copy_gm_to_ubuf ub[{}], gm[x8], nburst={}, burst=1, src_gap={}", buf[st], count,
              run.src - 1);
        },
        [&](int st) {
          if (run.dst == 1)
            e("copy_ubuf_to_gm gm[x9], ub[{}], nburst=1, burst={}", buf[st], count);
          else
            e("copy_ubuf_to_gm gm[x9], ub[{}], nburst={}, burst=1, dst_gap={}", buf[st], count,
              run.dst - 1);
        },
        e);
    return 2 * piece * 32;
  }

  // A tensor's dims as block_copy() walks them (strides in 32-byte blocks): a feature map in
  // NC1HWC0 (N, C, pixel dims...) or padded matrices whose last dim is alone in their columns.
  // C, the map's dim 1 or the padded side's last, counts slices of C0 channels (32 bytes of a
  // pixel; of a row).
  struct BlockDims {
    std::vector<int64_t> stride;  // per dim, C's: from one slice to the next
    int64_t c_dim = 1, slices = 1;
  };
  BlockDims block_dims(const Node& n, const Side& s) const {
    const int64_t bk = k0_of(s.es);
    BlockDims b;
    if (s.layout.kind == Layout::nc1hwc0) {
      b.stride = map_strides(s.shape, s.layout);
      b.stride[1] = pad16(map_pixels(s.shape)) * s.layout.c0;
    } else {
      if (s.layout.kind != Layout::padded || s.layout.col_dims != 1 || s.layout.transposed)
        unsupported(n, name_,
                    "padded matrices on the other side of a feature map whose last dim is not "
                    "alone in their columns");
      b.stride = padded_strides(s.shape, s.layout);
      b.c_dim = int64_t(s.shape.size()) - 1;
      b.stride.back() = bk;
    }
    for (int64_t& v : b.stride) v /= bk;
    b.slices = (s.shape[size_t(b.c_dim)] + bk - 1) / bk;
    return b;
  }

  // Block 0's zeros over the padding the copies of block_copy() left in y: a map's padding
  // pixels (a slice is a matrix of its pixels as rows of 32 bytes), padded matrices' padding
  // rows. `at`: the UB from which it may use.
  void zero_padding(const Node& n, const std::string& L, const Side& y, int64_t at,
                    Emitter& e) const {
    if (y.layout.kind == Layout::nc1hwc0) {
      const int64_t P = map_pixels(y.shape);
      if (P % 16 == 0) return;
      const int64_t slices = y.shape[0] * ((y.shape[1] + y.layout.c0 - 1) / y.layout.c0);
      zero_pad_rows(n, L, PaddedView{slices, P, y.layout.c0, pad16(P), y.layout.c0}, 32, y.addr, at,
                    e);
      return;
    }
    const PaddedView vo = padded_view(y.shape, y.layout);
    if (vo.rows_p > vo.rows) zero_pad_rows(n, L, vo, vo.cols_p * y.es, y.addr, at, e);
  }

  // A reshape or transpose with a feature map in NC1HWC0 on either side, but a reshape between a
  // map and padded matrices (trans_data()):
  // - a transpose is a copy of 32-byte blocks (block_copy()) in the output's order: of pixels
  //   when it keeps C in place (a transpose of the pixel dims); a map to matrices whose last dim
  //   is C, a pixel's 32 bytes per slice to 32 bytes of its row; matrices whose last dim becomes
  //   C, 32 bytes of a row to a pixel of a slice;
  // - a reshape from a map to one on other bytes (the images padded differently) copies the
  //   images;
  // - a reshape that moves factors of C in front of the pixel dims, (N, C, P) -> (N, C', S, P),
  //   out[c', j, p] = in[c' S + j, p]: per image and j, a GEMM on the cube of the map's pixel
  //   rows (M = P pixels, K = C) by a selection matrix (K x C': a one at (c' S + j, c')) into the
  //   pixels j P .. (j + 1) P - 1 of the output's slices (NZ, a slice pad16(S P) pixels), the S
  //   matrices one batch of blocks; block 0 writes them first (select_matrix()). Exact (each
  //   output one product by 1 summed with zeros). P must be a multiple of 16 (the cube's rows).
  void map_copy(const Node& n, const std::string& L, const Side& x, const Side& y, uint64_t scratch,
                DType dt, Emitter& e) const {
    const int64_t bk = k0_of(x.es);
    if (n.kind == OpKind::transpose) {
      const BlockDims bx = block_dims(n, x), by = block_dims(n, y);
      if (n.attrs.perm[size_t(by.c_dim)] != bx.c_dim)
        unsupported(n, name_, "a transpose that moves a feature map's C other than to its place");
      std::vector<Dim> w;
      for (size_t k = 0; k < y.shape.size(); ++k) {
        const size_t i = size_t(n.attrs.perm[k]);
        if (int64_t(k) == by.c_dim)
          w.push_back(Dim{by.slices, bx.stride[i], by.stride[k], false});
        else
          w.push_back(Dim{y.shape[k], bx.stride[i], by.stride[k], false});
      }
      zero_padding(n, L, y, block_copy(n, L, w, x.addr, y.addr, e), e);
      return;
    }
    const BlockDims bx = block_dims(n, x), by = block_dims(n, y);
    const int64_t px = pad16(map_pixels(x.shape)), py = pad16(map_pixels(y.shape));
    if (map_reshape(x.shape, y.shape) == MapReshape::view) {
      e.comment("a map to the same map on other bytes: its images");
      block_copy(
          n, L,
          {Dim{x.shape[0], bx.stride[0], by.stride[0], false}, Dim{bx.slices * px, 1, 1, false}},
          x.addr, y.addr, e);
      return;
    }
    const int64_t P = map_pixels(x.shape), S = x.shape[1] / y.shape[1], es = x.es;
    if (P % 16 != 0)
      unsupported(n, name_,
                  fmt::format("a split of C in front of the pixel dims of a map of {} pixels (the "
                              "cube's rows: a multiple of 16)",
                              P));
    if (dt == DType::bf16 && !p_.bf16)
      unsupported(n, name_, "a bf16 split of C (on the cube) where the cube has no bf16");
    const int64_t np = by.slices * bk, kp = bx.slices * bk;
    std::vector<std::pair<int64_t, int64_t>> ones;
    for (int64_t j = 0; j < S; ++j)
      for (int64_t c = 0; c < y.shape[1]; ++c) ones.emplace_back(j * np + c, c * S + j);
    select_matrix(L, scratch, S * np, kp, ones, dt, "selection matrices (one per pixel block)", e);
    e("sync_all");
    e.comment(fmt::format("per image and block j of {} pixels: pixel rows times selection j", P));
    GemmSpec sp{&n,
                L + "t_",
                x.addr,
                scratch,
                y.addr,
                P,
                kp,
                np,
                x.shape[0] * S,
                bx.stride[0] * 32,
                0,
                by.stride[0] * 32,
                0,
                1,
                true,
                false,
                dt};
    sp.c_nz = true;
    sp.c_slice_bytes = py * 32;
    sp.a_block_bytes = px * 32, sp.a_row_bytes = 32;
    sp.blocks = S, sp.block_b = np * kp * es, sp.block_c = P * 32;
    gemm(sp, e);
  }

  // The scratch of a node on feature maps in NC1HWC0 (bytes): a split of C's selection matrices,
  // a concat's repacking selection matrix and stack of its inputs' slices (map_concat()).
  static uint64_t map_scratch(const Graph& g, const Node& n, const std::vector<Placement>& place) {
    auto up = [](int64_t b) {
      return (b + int64_t(kAlign) - 1) / int64_t(kAlign) * int64_t(kAlign);
    };
    const Layout& ly = place[size_t(n.outputs[0])].layout;
    if (ly.kind != Layout::nc1hwc0) return 0;
    const std::vector<int64_t>& y = g.tensor(n.outputs[0]).shape;
    const int64_t es = dtype_size(g.tensor(n.outputs[0]).dtype), bk = k0_of(es);
    auto slices = [bk](int64_t c) { return (c + bk - 1) / bk; };
    if (n.kind == OpKind::reshape && place[size_t(n.inputs[0])].layout.kind == Layout::nc1hwc0 &&
        map_reshape(g.tensor(n.inputs[0]).shape, y) == MapReshape::split) {
      const int64_t C = g.tensor(n.inputs[0]).shape[1];
      return uint64_t(up(C / y[1] * slices(y[1]) * bk * slices(C) * bk * es));
    }
    if (n.kind != OpKind::concat || n.attrs.axis != 1 || !repacks(g, n)) return 0;
    int64_t stack = 0;
    for (int t : n.inputs) stack += slices(g.tensor(t).shape[1]);
    return uint64_t(up(slices(y[1]) * bk * stack * bk * es) +
                    up(y[0] * stack * pad16(map_pixels(y)) * 32));
  }

  // Whether a concat of maps along C must repack channels: an input before the last has C not a
  // multiple of C0 (the next one's channels do not start a slice).
  static bool repacks(const Graph& g, const Node& n) {
    const int64_t bk = k0_of(dtype_size(g.tensor(n.outputs[0]).dtype));
    for (size_t i = 0; i + 1 < n.inputs.size(); ++i)
      if (g.tensor(n.inputs[i]).shape[1] % bk != 0) return true;
    return false;
  }

  // concat of feature maps in NC1HWC0 (block_copy()): along N or a pixel dim, each input's
  // pixels into their place (the inputs that are one tensor repeated, as nearest upsampling has
  // them, in one walk; the output's padding pixels zeroed by block 0); along C, each input's
  // whole slices, padding pixels too, after the slices before it, when every input but the last
  // has a whole number of slices (the last one's padding channels are the output's). Otherwise
  // the channels are repacked on the cube: the inputs' slices copied into a stack in scratch, and
  // per image a GEMM of the stack's pixel rows (M = pixels, K = the stack's channels) by a
  // selection matrix (a one at each output channel's place in the stack) into the output's slices
  // (NZ), block 0 writing the matrix first (select_matrix()). Exact (each output one product by 1
  // summed with zeros).
  void map_concat(const Graph& g, const Node& n, int idx, const std::vector<Placement>& place,
                  uint64_t scratch, Emitter& e) const {
    const int out = n.outputs[0];
    const DType dt = g.tensor(out).dtype;
    const int64_t es = dtype_size(dt), bk = k0_of(es), ax = n.attrs.axis;
    auto side = [&](int t) {
      return Side{g.tensor(t).shape, place[size_t(t)].layout, place[size_t(t)].addr, es};
    };
    const Side y = side(out);
    const BlockDims by = block_dims(n, y);
    const int64_t pp = pad16(map_pixels(y.shape));
    const std::string L = fmt::format("n{}_", idx);
    if (ax != 1) {
      bool same = true;
      for (int t : n.inputs) same = same && t == n.inputs[0];
      const size_t copies = same ? 1 : n.inputs.size();
      int64_t used = 0, offset = 0;
      for (size_t i = 0; i < copies; ++i) {
        const Side x = side(n.inputs[i]);
        const BlockDims bx = block_dims(n, x);
        std::vector<Dim> w;
        if (same)  // the repeats: one after another along the axis
          w.push_back(
              Dim{int64_t(n.inputs.size()), 0, x.shape[size_t(ax)] * by.stride[size_t(ax)], false});
        w.push_back(Dim{x.shape[0], bx.stride[0], by.stride[0], false});
        if (ax == 0) {  // whole images, padding pixels too
          w.push_back(Dim{bx.slices * pp, 1, 1, false});
        } else {
          w.push_back(Dim{bx.slices, bx.stride[1], by.stride[1], false});
          for (size_t d = 2; d < x.shape.size(); ++d)
            w.push_back(Dim{x.shape[d], bx.stride[d], by.stride[d], false});
        }
        used =
            std::max(used, block_copy(n, fmt::format("{}c{}_", L, i), w, x.addr,
                                      y.addr + uint64_t(offset * by.stride[size_t(ax)] * 32), e));
        offset += x.shape[size_t(ax)];
      }
      if (ax > 1) zero_padding(n, L, y, used, e);
      return;
    }
    const bool repack = repacks(g, n);
    if (repack && dt == DType::bf16 && !p_.bf16)
      unsupported(n, name_,
                  "a bf16 concat that repacks channels (on the cube) where the cube has no bf16");
    int64_t stack = 0;  // slices
    for (int t : n.inputs) stack += block_dims(n, side(t)).slices;
    const int64_t np = by.slices * bk, kp = stack * bk;
    const uint64_t sel = scratch, st = scratch + uint64_t((np * kp * es + int64_t(kAlign) - 1) /
                                                          int64_t(kAlign) * int64_t(kAlign));
    if (repack) {
      std::vector<std::pair<int64_t, int64_t>> ones;
      int64_t c_off = 0, s_off = 0;
      for (int t : n.inputs) {
        const int64_t C = g.tensor(t).shape[1];
        for (int64_t c = 0; c < C; ++c) ones.emplace_back(c_off + c, s_off * bk + c);
        c_off += C, s_off += (C + bk - 1) / bk;
      }
      select_matrix(L, sel, np, kp, ones, dt, "selection matrix", e);
      e.comment(fmt::format("the inputs' slices stacked at gm[{:#x}]", st));
    }
    int64_t at = 0;  // slices before this input's, in the output (or the stack)
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const Side x = side(n.inputs[i]);
      const BlockDims bx = block_dims(n, x);
      const int64_t image = repack ? stack * pp : by.stride[0];
      block_copy(n, fmt::format("{}c{}_", L, i),
                 {Dim{x.shape[0], bx.stride[0], image, false}, Dim{bx.slices * pp, 1, 1, false}},
                 x.addr, (repack ? st : y.addr) + uint64_t(at * pp * 32), e);
      at += bx.slices;
    }
    if (!repack) return;
    e("sync_all");
    e.comment("per image, the stack's pixel rows times the selection matrix");
    GemmSpec sp{&n, L + "t_",          st, sel, y.addr, pp,    kp, np, y.shape[0], stack * pp * 32,
                0,  by.stride[0] * 32, 0,  1,   true,   false, dt};
    sp.c_nz = true;
    sp.a_block_bytes = pp * 32, sp.a_row_bytes = 32;
    gemm(sp, e);
  }

  // gather: the tokens (the ids in order) in chunks of up to C, dealt to the blocks, through two
  // stages of UB buffers (staged()): per chunk, MTE2 brings its int32 ids (from the 32-byte block
  // that holds the first), the scalar unit reads each (ld_ub, after a flag from MTE2) and has MTE2
  // copy that row of the table into the stage's rows; MTE3 stores each row in its place in the
  // output. Block 0 zeroes the output's padding rows. An id is not checked against the table's
  // rows (a DMA of the hardware does not check it either).
  void gather(const Graph& g, const Node& n, int idx, const std::vector<Placement>& place,
              Emitter& e) const {
    const int tab = n.inputs[0], ids = n.inputs[1], out = n.outputs[0];
    const PaddedView vt = padded_view(g.tensor(tab).shape, place[size_t(tab)].layout);
    const PaddedView vo = padded_view(g.tensor(out).shape, place[size_t(out)].layout);
    const int64_t row = vt.cols_p * dtype_size(g.tensor(out).dtype);
    const int64_t tokens = g.tensor(ids).elements();
    const int64_t id_bytes = (std::min<int64_t>(tokens, 64) + 8) * 4;
    const int64_t ib = (id_bytes + 31) / 32 * 32;
    const int64_t C = std::min<int64_t>({tokens, 64, (p_.ub_bytes - 2 * ib - 256) / (2 * row)});
    if (C < 1) unsupported(n, name_, "two rows of the table do not fit the unified buffer");
    const int64_t chunks = (tokens + C - 1) / C, rows_at[2] = {2 * ib, 2 * ib + C * row};
    const uint64_t T = place[size_t(tab)].addr, I = place[size_t(ids)].addr,
                   Y = place[size_t(out)].addr;
    const std::string L = fmt::format("n{}_", idx);
    e.comment(fmt::format("{} tokens in {} chunks of up to {}: rows of {} B from the table of {}",
                          tokens, chunks, C, row, vt.rows));
    auto chunk_tokens = [&](int reg) {  // x13: the chunk's first token, x14: its tokens
      e("mul x13, x{}, {}", reg, C);
      e("mov x14, {}", tokens);
      e("sub x14, x14, x13");
      e("min x14, x14, {}", C);
    };
    int loads = 0;  // staged() emits a stage's load more than once: a label each
    staged(
        e, L, chunks,
        [&](int reg, int s) {
          const std::string l = fmt::format("{}ld{}", L, loads++);
          chunk_tokens(reg);
          e("shr x15, x13, 3");
          e("shl x15, x15, 5");
          e("add x15, x15, {}", I);  // the 32-byte block of the first id
          e("and x16, x13, 7");
          e("add x17, x16, x14");
          e("add x17, x17, 7");
          e("shr x17, x17, 3");
          e("copy_gm_to_ubuf ub[{}], gm[x15], nburst=1, burst=x17", s * ib);
          e("set_flag PIPE_MTE2, PIPE_S, EVENT_ID0");
          e("wait_flag PIPE_MTE2, PIPE_S, EVENT_ID0");
          e("shl x16, x16, 2");
          e("add x16, x16, {}", s * ib);  // the first id in the UB
          e("mov x18, {}", rows_at[s]);
          e("mov x19, 0");
          e.label(l);
          e("ld_ub x20, ub[x16]");
          e("mul x20, x20, {}", row);
          e("add x20, x20, {}", T);
          e("copy_gm_to_ubuf ub[x18], gm[x20], nburst=1, burst={}", row / 32);
          e("add x16, x16, 4");
          e("add x18, x18, {}", row);
          e("add x19, x19, 1");
          e("blt x19, x14, {}", l);
        },
        [](int, const std::string&) {},
        [&](int s) {
          const std::string l = fmt::format("{}st{}", L, s);
          chunk_tokens(3);
          e("mov x18, {}", rows_at[s]);
          e("mov x19, 0");
          e.label(l);
          e("add x20, x13, x19");  // the token: row x20 % rows of matrix x20 / rows
          e("div x21, x20, {}", vo.rows);
          e("rem x22, x20, {}", vo.rows);
          e("mul x21, x21, {}", vo.rows_p);
          e("add x21, x21, x22");
          e("mul x21, x21, {}", row);
          e("add x21, x21, {}", Y);
          e("copy_ubuf_to_gm gm[x21], ub[x18], nburst=1, burst={}", row / 32);
          e("add x18, x18, {}", row);
          e("add x19, x19, 1");
          e("blt x19, x14, {}", l);
        });
    if (vo.rows_p > vo.rows) zero_pad_rows(n, L, vo, row, Y, rows_at[1] + C * row, e);
  }

  // rope in f32: the rows of X (padded matrices) in chunks of R consecutive rows of one matrix,
  // dealt to the blocks, through two stages of UB buffers (staged()): per chunk, MTE2 brings its
  // rows and the tables' same rows; converted to f32; per 64-column iteration of a half (the last
  // one under a mask), over the chunk's R rows at once (repeat strides of a row): x1 cos, x2 sin,
  // x2 cos, x1 sin, then y1 = x1 cos - x2 sin and y2 = x2 cos + x1 sin; rounded once to the
  // 2-byte type and stored. Padding rows are zeros in X and in the tables: they stay zeros.
  void rope(const Graph& g, const Node& n, int idx, const std::vector<Placement>& place,
            Emitter& e) const {
    const int x = n.inputs[0], out = n.outputs[0];
    const PaddedView vx = padded_view(g.tensor(x).shape, place[size_t(x)].layout);
    const int64_t D = vx.cols, H = D / 2, rows_p = vx.rows_p, batch = vx.batch;
    if (H % 16 != 0)
      unsupported(n, name_,
                  fmt::format("a head_dim of {} (the halves must be whole 32-byte "
                              "blocks: head_dim a multiple of 32)",
                              D));
    // UB: per stage X, the tables and Y (2-byte); X, the tables, four products and Y in f32.
    auto need = [&](int64_t R) { return R * (16 * D + 32 * H); };
    const int64_t total = batch * rows_p;
    int64_t R = 64;
    while (R > 1 && (rows_p % R != 0 || need(R) > p_.ub_bytes || R * p_.cores > total)) R /= 2;
    if (need(R) > p_.ub_bytes)
      unsupported(n, name_,
                  fmt::format("a row of {} needs {} bytes of the unified buffer, the "
                              "preset has {}",
                              D, need(1), p_.ub_bytes));
    const int64_t xb = R * D * 2, tb = R * H * 2;  // a chunk of X (and of Y), of a table
    const int64_t stage = 2 * xb + 2 * tb;
    const int64_t xin[2] = {0, stage}, cin[2] = {xb, stage + xb},
                  sin[2] = {xb + tb, stage + xb + tb}, yout[2] = {xb + 2 * tb, stage + xb + 2 * tb};
    const int64_t X32 = 2 * stage, C32 = X32 + 2 * xb, S32 = C32 + 2 * tb, T = S32 + 2 * tb,
                  Y32 = T + 8 * tb;
    const uint64_t Xa = place[size_t(x)].addr, Ca = place[size_t(n.inputs[1])].addr,
                   Sa = place[size_t(n.inputs[2])].addr, Ya = place[size_t(out)].addr;
    const char* ty = ty_name(g.tensor(out).dtype);
    const std::string L = fmt::format("n{}_", idx);
    const int64_t chunks = total / R, per_batch = rows_p / R;
    auto bar = [&] { e("pipe_barrier PIPE_V"); };
    e.comment(fmt::format("rope: {} rows of {} in {} chunks of {} rows, computed in f32",
                          batch * vx.rows, D, chunks, R));
    auto to_f32 = [&](int64_t dst, int64_t src, int64_t count) {
      over_f32(e, count, [&](int64_t rep, int64_t i) {
        e("vconv.f32.{} ub[{}], ub[{}], repeat={}, src0_rep=4", ty, dst + 256 * i, src + 128 * i,
          rep);
      });
    };
    staged(
        e, L, chunks,
        [&](int reg, int s) {
          e("mul x12, x{}, {}", reg, xb);
          e("add x12, x12, {}", Xa);
          e("copy_gm_to_ubuf ub[{}], gm[x12], nburst=1, burst={}", xin[s], xb / 32);
          e("rem x13, x{}, {}", reg, per_batch);
          e("mul x13, x13, {}", tb);  // the chunk's rows of the tables
          e("add x12, x13, {}", Ca);
          e("copy_gm_to_ubuf ub[{}], gm[x12], nburst=1, burst={}", cin[s], tb / 32);
          e("add x12, x13, {}", Sa);
          e("copy_gm_to_ubuf ub[{}], gm[x12], nburst=1, burst={}", sin[s], tb / 32);
        },
        [&](int s, const std::string&) {
          to_f32(X32, xin[s], R * D);
          to_f32(C32, cin[s], R * H);
          to_f32(S32, sin[s], R * H);
          bar();
          const std::string reps =
              fmt::format("dst_rep={}, src0_rep={}, src1_rep={}", H / 8, D / 8, H / 8);
          for (int64_t j = 0; j * 64 < H; ++j) {
            const int64_t cnt = std::min<int64_t>(64, H - 64 * j), o = 256 * j;
            if (cnt < 64) e("set_vector_mask 0, {:#x}", (uint64_t(1) << cnt) - 1);
            const int64_t x1 = X32 + o, x2 = X32 + H * 4 + o, c = C32 + o, sn = S32 + o;
            const int64_t t[4] = {T + o, T + 2 * tb + o, T + 4 * tb + o, T + 6 * tb + o};
            e("vmul.f32 ub[{}], ub[{}], ub[{}], repeat={}, {}", t[0], x1, c, R, reps);
            e("vmul.f32 ub[{}], ub[{}], ub[{}], repeat={}, {}", t[1], x2, sn, R, reps);
            e("vmul.f32 ub[{}], ub[{}], ub[{}], repeat={}, {}", t[2], x2, c, R, reps);
            e("vmul.f32 ub[{}], ub[{}], ub[{}], repeat={}, {}", t[3], x1, sn, R, reps);
            bar();
            const std::string sums =
                fmt::format("dst_rep={}, src0_rep={}, src1_rep={}", D / 8, H / 8, H / 8);
            e("vsub.f32 ub[{}], ub[{}], ub[{}], repeat={}, {}", Y32 + o, t[0], t[1], R, sums);
            e("vadd.f32 ub[{}], ub[{}], ub[{}], repeat={}, {}", Y32 + H * 4 + o, t[2], t[3], R,
              sums);
            if (cnt < 64) e(kFullMask);
            bar();
          }
          over_f32(e, R * D, [&](int64_t rep, int64_t i) {
            e("vconv.{}.f32 ub[{}], ub[{}], repeat={}, dst_rep=4", ty, yout[s] + 128 * i,
              Y32 + 256 * i, rep);
          });
        },
        [&](int s) {
          e("mul x12, x3, {}", xb);
          e("add x12, x12, {}", Ya);
          e("copy_ubuf_to_gm gm[x12], ub[{}], nburst=1, burst={}", yout[s], xb / 32);
        });
  }

  // Block 0 writes zeros over the padding rows (line_bytes each) of the padded matrices vo of the
  // tensor at y, from a run of zeros it makes in the UB from `at` on.
  void zero_pad_rows(const Node& n, const std::string& L, const PaddedView& vo, int64_t line_bytes,
                     uint64_t y, int64_t at, Emitter& e) const {
    const int64_t pad_bytes = (vo.rows_p - vo.rows) * line_bytes;
    const int64_t zero = std::min<int64_t>(255 * 256, (p_.ub_bytes - at) / 256 * 256);
    if (zero < 256) unsupported(n, name_, "no room in the unified buffer for a run of zeros");
    e.comment("block 0: zeros over the padding rows of the output's matrices");
    e("bne x1, 0, {}zdone", L);
    e("vector_dup.f32 ub[{}], 0, repeat={}", at, zero / 256);
    e("set_flag PIPE_V, PIPE_MTE3, EVENT_ID0");
    e("wait_flag PIPE_V, PIPE_MTE3, EVENT_ID0");
    e("mov x14, 0");  // the matrix
    e.label(L + "zloop");
    e("mul x15, x14, {}", vo.rows_p * line_bytes);
    e("add x15, x15, {}", y + uint64_t(vo.rows * line_bytes));
    for (int64_t off = 0; off < pad_bytes; off += zero) {
      if (off) e("add x15, x15, {}", zero);
      e("copy_ubuf_to_gm gm[x15], ub[{}], nburst=1, burst={}", at,
        std::min(zero, pad_bytes - off) / 32);
    }
    e("add x14, x14, 1");
    e("blt x14, {}, {}zloop", vo.batch, L);
    e("set_flag PIPE_MTE3, PIPE_V, EVENT_ID0");
    e("wait_flag PIPE_MTE3, PIPE_V, EVENT_ID0");
    e.label(L + "zdone");
  }

  // concat: each input copied by lines into its block of the output (the padding rows zeroed
  // once, after the last); slice: the elements taken, by lines (a slice of the last dim starts on
  // a 32-byte block and steps by 1); kv_append: the new rows by lines after the cache's, in
  // place: the output is the cache's bytes, whose matrices have room for them (the layout pass),
  // and their padding rows are zeros already.
  void concat_slice_append(const Graph& g, const Node& n, int idx,
                           const std::vector<Placement>& place, Emitter& e) const {
    const int out = n.outputs[0];
    const int64_t es = dtype_size(g.tensor(out).dtype);
    const Side y{g.tensor(out).shape, place[size_t(out)].layout, place[size_t(out)].addr, es};
    const std::vector<int64_t> so = padded_strides(y.shape, y.layout);
    const int64_t col_from = int64_t(y.shape.size()) - 1;
    auto side = [&](int t) {
      return Side{g.tensor(t).shape, place[size_t(t)].layout, place[size_t(t)].addr, es};
    };
    auto walk = [&](const Side& x, int64_t axis, int64_t step) {  // x's elements, or y's (slice)
      const std::vector<int64_t> si = padded_strides(x.shape, x.layout);
      const std::vector<int64_t>& over = n.kind == OpKind::slice ? y.shape : x.shape;
      std::vector<Dim> w;
      for (size_t k = 0; k < over.size(); ++k)
        w.push_back(
            Dim{over[k], si[k] * (int64_t(k) == axis ? step : 1), so[k], int64_t(k) >= col_from});
      return w;
    };
    const std::string L = fmt::format("n{}_", idx);
    auto copy_lines = [&](const std::string& l, const Side& x, int64_t axis, int64_t step,
                          uint64_t x_off, uint64_t y_off, bool zero) {
      if (!lines(n, l, walk(x, axis, step), x, y, e, x_off, y_off, zero))
        unsupported(n, name_, "a slice of the last dim with a step other than 1");
    };
    if (n.kind == OpKind::slice) {
      const Side x = side(n.inputs[0]);
      const int64_t ax = n.attrs.axis;
      const uint64_t x_off =
          uint64_t(n.attrs.start * padded_strides(x.shape, x.layout)[size_t(ax)] * es);
      if (x_off % 32 != 0)
        unsupported(n, name_, "a slice of the last dim that starts inside a 32-byte block");
      copy_lines(L, x, ax, n.attrs.step, x_off, 0, true);
      return;
    }
    const int64_t ax = n.kind == OpKind::concat ? n.attrs.axis : int64_t(y.shape.size()) - 2;
    int64_t offset = 0;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const Side x = side(n.inputs[i]);
      if (n.kind == OpKind::concat || i == 1)
        copy_lines(fmt::format("{}c{}_", L, i), x, ax, 1, 0, uint64_t(offset * so[size_t(ax)] * es),
                   n.kind == OpKind::concat && i + 1 == n.inputs.size());
      offset += x.shape[size_t(ax)];
    }
  }

  // add, mul, relu, gelu, silu, sigmoid, clip over the padded bytes (the padding's zeros stay
  // zeros: each op maps 0 to 0; check_node refuses a clip that would not, and a sigmoid over
  // padding goes as a row op, padded_sigmoid), split over the blocks in whole 256-byte
  // iterations; per block, chunks through two stages of UB buffers (MTE2 in, vector ops, MTE3
  // out). bf16, gelu, silu and sigmoid are computed in f32 (the vector unit has no bf16
  // arithmetic): converted, operated on, rounded once back. int8 is computed in f16 (nor has it s8
  // arithmetic): exact for every int8 sum, bound and ReLU, and for a product up to 2048 in
  // magnitude (a larger one saturates anyway), then converted back saturating: add and mul as the
  // IR saturates them.
  void elementwise(const Graph& g, const Node& n, int idx, const std::vector<Placement>& place,
                   Emitter& e) const {
    const TensorInfo& out = g.tensor(n.outputs[0]);
    const int64_t bytes = layout_bytes(out, place[size_t(n.outputs[0])].layout);
    const int64_t iters = bytes / 256;  // of 256 bytes
    const bool binary = n.kind == OpKind::add || n.kind == OpKind::mul;
    const bool composite =
        n.kind == OpKind::gelu || n.kind == OpKind::silu || n.kind == OpKind::sigmoid;
    // Computed in a wider type: f32, or f16 for int8; wty names it.
    const bool f32 = out.dtype == DType::bf16 || composite || out.dtype == DType::int8;
    const char* wty = out.dtype == DType::int8 ? "f16" : "f32";
    // UB per stage: the inputs and the output in the op's type; in the wider type, one or two
    // scratch buffers shared by the stages (an iteration of the op's 256 bytes is 512 there).
    const int64_t per_chunk = (binary ? 3 : 2) * 2 + (f32 ? (binary || composite ? 4 : 2) : 0);
    // The second source's buffers sit half the banks' span away from the first's, so that an
    // iteration's two sources never share a bank (buffer.ub_banks).
    const int64_t span = int64_t(p_.ub_banks) * 32;
    const int64_t chunk =
        std::min<int64_t>(f32 ? 127 : 255, (p_.ub_bytes - 2 * span) / (per_chunk * 256));
    if (chunk < 1) unsupported(n, name_, "the unified buffer is too small for one iteration");
    const int64_t cb = chunk * 256;
    auto apart = [span](int64_t from, int64_t at) {  // at, moved to half a span from `from`
      return at + ((from + span / 2 - at) % span + span) % span;
    };
    const int64_t xb[2] = {0, cb};
    const int64_t y0 = apart(0, 2 * cb);
    const int64_t yb[2] = {y0, y0 + cb};
    const int64_t z0 = binary ? y0 + 2 * cb : 2 * cb;
    const int64_t zb[2] = {z0, z0 + cb};
    const int64_t x32 = z0 + 2 * cb, y32 = apart(x32, x32 + 2 * cb);
    const uint64_t X = place[size_t(n.inputs[0])].addr,
                   Y = binary ? place[size_t(n.inputs[1])].addr : 0,
                   Z = place[size_t(n.outputs[0])].addr;
    const char* ty = ty_name(out.dtype);
    const std::string op = n.kind == OpKind::add   ? "vadd"
                           : n.kind == OpKind::mul ? "vmul"
                                                   : "vrelu";
    // A clip: vmaxs for the lower bound, vmins for the upper, the second in place.
    auto clip = [&](const char* t, int64_t dst, int64_t src, const char* rep) {
      bool first = true;
      for (auto [mn, bound] : {std::pair{"vmaxs", n.attrs.clip_min}, {"vmins", n.attrs.clip_max}}) {
        if (!std::isfinite(bound)) continue;
        if (!first) e("pipe_barrier PIPE_V");
        e("{}.{} ub[{}], ub[{}], {}, repeat={}", mn, t, dst, first ? src : dst, bound, rep);
        first = false;
      }
    };
    const std::string L = fmt::format("n{}_", idx);
    e.comment(fmt::format("{} iterations of 256 bytes, chunks of {} per stage{}", iters, chunk,
                          f32 ? fmt::format(", computed in {}", wty) : ""));
    e("mul x5, x1, {}", iters);
    e("div x5, x5, x2");  // this block's first iteration
    e("add x6, x1, 1");
    e("mul x6, x6, {}", iters);
    e("div x6, x6, x2");  // and its end
    for (int s = 0; s < 2; ++s) {
      e("set_flag PIPE_V, PIPE_MTE2, EVENT_ID{}", s);  // input buffers free
      e("set_flag PIPE_MTE3, PIPE_V, EVENT_ID{}", s);  // output buffers free
    }
    e("bge x5, x6, {}done", L);
    e.label(L + "loop");
    for (int s = 0; s < 2; ++s) {
      e.comment(fmt::format("stage {}", s));
      e("sub x8, x6, x5");
      e("min x7, x8, {}", chunk);  // iterations of this chunk
      e("shl x9, x7, 3");          // its 32-byte blocks
      e("shl x10, x5, 8");         // its byte offset
      e("wait_flag PIPE_V, PIPE_MTE2, EVENT_ID{}", s);
      e("add x11, x10, {}", X);
      e("copy_gm_to_ubuf ub[{}], gm[x11], nburst=1, burst=x9", xb[s]);
      if (binary) {
        e("add x11, x10, {}", Y);
        e("copy_gm_to_ubuf ub[{}], gm[x11], nburst=1, burst=x9", yb[s]);
      }
      e("set_flag PIPE_MTE2, PIPE_V, EVENT_ID{}", s);
      e("wait_flag PIPE_MTE2, PIPE_V, EVENT_ID{}", s);
      e("wait_flag PIPE_MTE3, PIPE_V, EVENT_ID{}", s);
      if (!f32) {
        if (n.kind == OpKind::clip)
          clip(ty, zb[s], xb[s], "x7");
        else if (binary)
          e("{}.{} ub[{}], ub[{}], ub[{}], repeat=x7", op, ty, zb[s], xb[s], yb[s]);
        else
          e("{}.{} ub[{}], ub[{}], repeat=x7", op, ty, zb[s], xb[s]);
      } else {
        e("shl x12, x7, 1");  // iterations in the wider type
        e("vconv.{}.{} ub[{}], ub[{}], repeat=x12, src0_rep=4", wty, ty, x32, xb[s]);
        if (binary) e("vconv.{}.{} ub[{}], ub[{}], repeat=x12, src0_rep=4", wty, ty, y32, yb[s]);
        e("pipe_barrier PIPE_V");
        if (composite) {
          composite_f32(n.kind, e, fmt::format("ub[{}]", x32), fmt::format("ub[{}]", y32));
        } else if (n.kind == OpKind::clip) {
          clip(wty, x32, x32, "x12");
          e("pipe_barrier PIPE_V");
        } else {
          if (binary)
            e("{}.{} ub[{}], ub[{}], ub[{}], repeat=x12", op, wty, x32, x32, y32);
          else
            e("{}.{} ub[{}], ub[{}], repeat=x12", op, wty, x32, x32);
          e("pipe_barrier PIPE_V");
        }
        e("vconv.{}.{} ub[{}], ub[{}], repeat=x12, dst_rep=4", ty, wty, zb[s],
          composite ? y32 : x32);
      }
      e("set_flag PIPE_V, PIPE_MTE2, EVENT_ID{}", s);
      e("set_flag PIPE_V, PIPE_MTE3, EVENT_ID{}", s);
      e("wait_flag PIPE_V, PIPE_MTE3, EVENT_ID{}", s);
      e("add x11, x10, {}", Z);
      e("copy_ubuf_to_gm gm[x11], ub[{}], nburst=1, burst=x9", zb[s]);
      e("set_flag PIPE_MTE3, PIPE_V, EVENT_ID{}", s);
      e("add x5, x5, x7");
      if (s == 0)
        e("bge x5, x6, {}done", L);
      else
        e("blt x5, x6, {}loop", L);
    }
    e.label(L + "done");
    for (int s = 0; s < 2; ++s) {
      e("wait_flag PIPE_V, PIPE_MTE2, EVENT_ID{}", s);
      e("wait_flag PIPE_MTE3, PIPE_V, EVENT_ID{}", s);
    }
  }

  std::string name_;
  DavinciParams p_;
};

const bool registered =
    register_target(TargetInfo{"davinci", [](const ArchConfig& cfg) -> std::unique_ptr<Target> {
                                 return std::make_unique<DavinciTarget>(cfg);
                               }});

}  // namespace
}  // namespace xpusim::compiler::davinci
