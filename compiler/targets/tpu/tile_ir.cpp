// The tile IR's text form and its verifier (run after the tiling pass).
#include "compiler/targets/tpu/tile_ir.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <tuple>

#include "compiler/targets/tpu/passes.h"
#include "isa/tpu/operands.h"
#include "isa/tpu/semantics.h"

namespace xpusim::compiler::tpu {
namespace {

using isa::tpu::DType;
using isa::tpu::VecFunc;
using isa::tpu::detail::Kind;
using isa::tpu::detail::kind_names;

const char* name_of(Kind k, unsigned v) {
  return kind_names(k)[v];
}

std::string rect(const DramTile& t) {
  return fmt::format("{}[{}:{}, {}:{}]", t.operand, t.r0, t.r0 + t.rows, t.c0, t.c0 + t.cols);
}

// How the DMA moves the tile.
std::string dma(const DramTile& t) {
  if (t.run) return fmt::format("one run of {} B at {:#x}", t.rows * t.cols * t.elem, t.addr);
  return fmt::format("{} row{} of {} B, stride {}, at {:#x}", t.rows, t.rows == 1 ? "" : "s",
                     t.cols * t.elem, t.stride, t.addr);
}

struct Text {
  std::string operator()(const Load& o) const {
    return fmt::format("load         {} -> {}  ({})", rect(o.src), to_text(o.dst), dma(o.src));
  }
  std::string operator()(const Gather& o) const {
    return fmt::format("gather       {}[{}:{}, {}:{}] -> {}  (im2col of the image at {:#x}{})",
                       o.operand, o.m0, o.m0 + o.rows, o.k0, o.k0 + o.cols, to_text(o.dst), o.image,
                       o.pad_lowest ? ", padded with the lowest value" : "");
  }
  std::string operator()(const Im2col& o) const {
    return fmt::format("im2col       {}[{}:{}, {}:{}] -> {}  (from image rows {} to {} at {})",
                       o.operand, o.m0, o.m0 + o.rows, o.k0, o.k0 + o.cols, to_text(o.dst), o.h0,
                       o.h0 + o.band_rows, to_text(o.band));
  }
  std::string operator()(const LoadWeights& o) const {
    return fmt::format("load_weights {} -> {}  ({}{})", rect(o.src), to_text(o.dst), dma(o.src),
                       o.transposed ? ", stored transposed" : "");
  }
  std::string operator()(const StagedWeights& o) const {
    return fmt::format("ld_weights   {}[{}:{}, {}:{}] {} -> {}  (staged in the UB)", o.operand,
                       o.k0, o.k0 + o.k, o.n0, o.n0 + o.n, to_text(o.src), to_text(o.dst));
  }
  std::string operator()(const Sync&) const { return "sync"; }
  std::string operator()(const Barrier&) const { return "barrier"; }
  std::string operator()(const Matmul& o) const {
    return fmt::format("matmul       {} x {}{} -> {} ({}) {}x{}x{} {}", to_text(o.a),
                       to_text(o.weights), o.keep ? " (kept)" : "", to_text(o.acc),
                       o.accumulate ? "acc" : "set", o.m, o.k, o.n, dtype_name(o.dtype));
  }
  std::string operator()(const Drain& o) const {
    std::string how = name_of(Kind::act_func, unsigned(o.func));
    if (o.dtype == DType::int8) how += fmt::format(", requant {}/2^{}", o.mult, o.shift);
    if (o.sum > 1) how += fmt::format(", sum of {} slots", o.sum);
    if (o.bias) how += ", bias " + to_text(*o.bias);
    return fmt::format("drain        {} -> {} {}x{} {} ({})", to_text(o.acc), to_text(o.dst),
                       o.rows, o.cols, dtype_name(o.dtype), how);
  }
  std::string operator()(const Vector& o) const {
    std::string src = to_text(o.src);
    if (o.src2) src += ", " + to_text(*o.src2);
    std::string how;
    if (o.groups) how += fmt::format(" (window of {})", o.groups);
    if (o.func == VecFunc::softmax)
      how += fmt::format(" (scale {}{}{})", o.imm,
                         o.causal ? fmt::format(", causal offset {}", o.offset) : "",
                         o.fp32_src ? ", fp32 source" : "");
    if (o.func == VecFunc::layernorm || o.func == VecFunc::rmsnorm)
      how += fmt::format(" (eps {})", o.imm);
    if (o.func == VecFunc::maxs || o.func == VecFunc::mins) how += fmt::format(" ({})", o.imm);
    return fmt::format("vector       {} {} -> {} {}x{} {}{}",
                       name_of(Kind::vec_func, unsigned(o.func)), src, to_text(o.dst), o.rows,
                       o.cols, dtype_name(o.dtype), how);
  }
  std::string operator()(const Lookup& o) const {
    return fmt::format(
        "lookup       {}[ids {} : {} rows of {} B] -> {}  (table of {} rows at {:#x})", o.operand,
        to_text(o.ids), o.rows, o.cols * o.elem, to_text(o.dst), o.table_rows, o.table);
  }
  std::string operator()(const Store& o) const {
    return fmt::format("store        {} -> {}  ({})", to_text(o.src), rect(o.dst), dma(o.dst));
  }
};

// ---- the verifier ----

struct Shape {
  uint64_t rows = 0, cols = 0;
  bool operator!=(const Shape& o) const { return rows != o.rows || cols != o.cols; }
};

class TileVerifier {
 public:
  TileVerifier(const TileProgram& t, const TpuParams& p) : t_(t), p_(p) {}

  void run() {
    if (2 * (t_.a_bytes + t_.o_bytes) + t_.params_bytes > p_.ub_bytes)
      fail(
          fmt::format("the regions A0, A1 of {} B, O0, O1 of {} B and P of {} B exceed the "
                      "unified buffer ({} B)",
                      t_.a_bytes, t_.o_bytes, t_.params_bytes, p_.ub_bytes));
    for (const TileLayer& l : t_.layers) {
      layer_ = &l;
      for (size_t i = 0; i < l.nests.size(); ++i) {
        nest_ = &l.nests[i];
        nest_index_ = i;
        op_ = nullptr;
        nest();
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    std::string where;
    if (layer_)
      where = fmt::format("layer {} '{}', nest {}", layer_->layer, layer_->name, nest_index_);
    if (op_) where += fmt::format(", tile op {} ({})", op_index_, to_text(*op_));
    throw Error("internal: pass 'tiling' verifier: " + (where.empty() ? "" : where + ": ") + what);
  }
  void nest() {
    written_.clear();
    fifo_.assign(size_t(p_.count), {});
    held_.assign(size_t(p_.count), std::nullopt);
    if (nest_->acc_slots)
      if (!(nest_->acc_slot_bytes > 0 && nest_->acc_slots * nest_->acc_slot_bytes <= p_.acc_bytes))
        fail(fmt::format("an accumulator ring of {} x {} B exceeds the accumulators ({} B)",
                         nest_->acc_slots, nest_->acc_slot_bytes, p_.acc_bytes));
    for (size_t i = 0; i < nest_->ops.size(); ++i) {
      op_ = &nest_->ops[i];
      op_index_ = i;
      std::visit([this](const auto& o) { check(o); }, *op_);
    }
    op_ = nullptr;
    for (size_t m = 0; m < fifo_.size(); ++m)
      if (!(fifo_[m].empty()))
        fail(
            fmt::format("{} weight tile(s) left in mxu{}.fifo at the end of the "
                        "nest",
                        fifo_[m].size(), m));
  }

  // The region's capacity; the place must be in one of `kinds`.
  uint64_t capacity(const Place& pl, std::initializer_list<Region> kinds) const {
    bool ok = false;
    for (Region r : kinds) ok = ok || pl.region == r;
    if (!(ok)) fail(to_text(pl) + " is the wrong kind of region for this operand");
    switch (pl.region) {
      case Region::A:
      case Region::O:
        if (!(pl.index < 2)) fail(to_text(pl) + ": there are two regions of this kind");
        return pl.region == Region::A ? t_.a_bytes : t_.o_bytes;
      case Region::P:
        if (!(pl.index == 0)) fail(to_text(pl) + ": there is one P region");
        return t_.params_bytes;
      case Region::acc:
        if (!(pl.index < nest_->acc_slots))
          fail(fmt::format("{}: the nest's ring has {} slots", to_text(pl), nest_->acc_slots));
        return nest_->acc_slot_bytes;
      case Region::fifo:
        if (!(pl.index < uint32_t(p_.count)))
          fail(fmt::format("{}: the core has {} array(s)", to_text(pl), p_.count));
        return p_.fifo_tile_bytes;
    }
    return 0;
  }
  void fits(const Place& pl, uint64_t bytes, std::initializer_list<Region> kinds) const {
    const uint64_t cap = capacity(pl, kinds);
    if (!(pl.offset <= cap && bytes <= cap - pl.offset))
      fail(fmt::format("a tile of {} B at {} does not fit the region ({} B)", bytes, to_text(pl),
                       cap));
  }
  void positive(uint64_t a, uint64_t b, uint64_t c = 1) const {
    if (!(a > 0 && b > 0 && c > 0)) fail("a tile dimension is zero");
  }

  // A load may read one row again and again (stride 0: a table repeated); a store's rows must
  // not overlap.
  void dram(const DramTile& d, bool load) const {
    positive(d.rows, d.cols, d.elem);
    const uint64_t row = d.cols * d.elem;
    if (!(d.run ? d.stride == row : d.stride >= row || (load && d.stride == 0)))
      fail(fmt::format("rows of {} B with a stride of {} B{}", row, d.stride,
                       d.run ? " cannot move as one run" : " overlap"));
    const uint64_t hi = d.addr + (d.rows - 1) * d.stride + row;
    if (!(hi <= p_.dram_bytes))
      fail(fmt::format("DRAM range [{:#x}, {:#x}) is outside DRAM ({} B)", d.addr, hi,
                       p_.dram_bytes));
  }

  using Key = std::tuple<Region, uint32_t, uint64_t>;
  static Key key(const Place& p) { return {p.region, p.index, p.offset}; }
  // An op writes `bytes` at p: what earlier ops wrote at the offsets it covers is gone.
  void write(const Place& p, Shape s, uint64_t bytes) {
    written_.erase(written_.lower_bound(key(p)),
                   written_.lower_bound(Key{p.region, p.index, p.offset + bytes}));
    written_[key(p)] = s;
  }
  void read(const Place& p, Shape s, const char* what) const {
    auto it = written_.find(key(p));
    if (!(it != written_.end()))
      fail(fmt::format("reads {} ({}), which no earlier op of the nest wrote", to_text(p), what));
    if (!(!(it->second != s)))
      fail(fmt::format("reads {} ({}) as {}x{}, written as {}x{}", to_text(p), what, s.rows, s.cols,
                       it->second.rows, it->second.cols));
  }
  // Reads rows [r, r + s.rows) of tiles written at lower offsets of the same buffer: a row
  // block of one at base + r * (its row bytes), the whole tile, or rows of several of the same
  // columns written one after the other (a batch's images, each by its own op).
  void read_rows(const Place& p, Shape s, uint64_t elem, const char* what) const {
    Place at = p;
    for (uint64_t left = s.rows; left > 0;) {
      auto it = written_.upper_bound(key(at));
      if (it == written_.begin()) return read(p, s, what);
      --it;
      const auto& [region, index, base] = it->first;
      const uint64_t row = it->second.cols * elem;
      if (!(region == at.region && index == at.index && it->second.cols == s.cols && row > 0 &&
            (at.offset - base) % row == 0 && (at.offset - base) / row < it->second.rows))
        return read(p, s, what);
      const uint64_t rows = std::min(left, it->second.rows - (at.offset - base) / row);
      left -= rows;
      at.offset += rows * row;
    }
  }
  // Reads `cols` elements of `elem` bytes inside the one row that an earlier op wrote at a lower
  // or the same offset of the buffer (a bias row's columns n0 .. n0 + cols at n0 * elem).
  void read_in_row(const Place& p, uint64_t cols, uint64_t elem, const char* what) const {
    auto it = written_.upper_bound(key(p));
    if (it != written_.begin()) {
      --it;
      const auto& [region, index, base] = it->first;
      if (region == p.region && index == p.index && it->second.rows == 1 && p.offset >= base &&
          p.offset + cols * elem <= base + it->second.cols * elem)
        return;
    }
    fail(
        fmt::format("reads {} ({}), {} elements inside a row that no earlier op of the nest "
                    "wrote",
                    to_text(p), what, cols));
  }
  void read_cols(const Place& p, uint64_t cols, const char* what) const {
    auto it = written_.find(key(p));
    if (!(it != written_.end() && it->second.cols == cols))
      fail(fmt::format("reads {} ({}) with {} columns, which no earlier op of the nest wrote",
                       to_text(p), what, cols));
  }

  void check(const Load& o) {
    dram(o.src, true);
    fits(o.dst, o.src.rows * o.src.cols * o.src.elem, {Region::A, Region::O, Region::P});
    write(o.dst, {o.src.rows, o.src.cols}, o.src.rows * o.src.cols * o.src.elem);
  }
  // The im2col rows and columns a Gather or an Im2col op forms, into A.
  void windows(const isa::tpu::ConvGeom& g, uint64_t m0, uint64_t rows, uint64_t k0, uint64_t cols,
               isa::tpu::DType dtype, const Place& dst) {
    positive(rows, cols);
    if (!(k0 + cols <= uint64_t(g.r) * g.s * g.cg))
      fail(fmt::format("im2col columns [{}, {}) beyond r*s*cg = {}", k0, k0 + cols,
                       g.r * g.s * g.cg));
    if (!(m0 + rows <= uint64_t(g.out_h()) * g.out_w()))
      fail(fmt::format("output pixels [{}, {}) beyond {}x{}", m0, m0 + rows, g.out_h(), g.out_w()));
    fits(dst, rows * cols * uint64_t(isa::tpu::elem_bytes(dtype)), {Region::A});
    write(dst, {rows, cols}, rows * cols * uint64_t(isa::tpu::elem_bytes(dtype)));
  }
  void check(const Gather& o) { windows(o.geom, o.m0, o.rows, o.k0, o.cols, o.dtype, o.dst); }
  // The band is what Loads wrote (its pixels x channels, whole or in pieces of whole image rows
  // one after the other), holds every row the op reads (none when the tile's windows lie in the
  // padding), and lies apart from the destination.
  void check(const Im2col& o) {
    const isa::tpu::ConvGeom& g = o.geom;
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(o.dtype));
    const uint64_t band = o.band_rows * g.w * g.c * e, out = o.rows * o.cols * e;
    fits(o.band, band, {Region::A});
    read_rows(o.band, {o.band_rows * g.w, g.c}, e, "the image rows");
    const isa::tpu::ImageRows r = isa::tpu::conv_rows_read(g, o.m0, o.rows, o.k0, o.cols);
    if (r.lo < r.hi && !(o.h0 <= r.lo && r.hi <= o.h0 + o.band_rows))
      fail(fmt::format("reads image rows [{}, {}), the band holds [{}, {})", r.lo, r.hi, o.h0,
                       o.h0 + o.band_rows));
    if (o.band.index == o.dst.index &&
        !(o.band.offset + band <= o.dst.offset || o.dst.offset + out <= o.band.offset))
      fail(fmt::format("the band at {} overlaps the destination {}", to_text(o.band),
                       to_text(o.dst)));
    windows(g, o.m0, o.rows, o.k0, o.cols, o.dtype, o.dst);
  }
  void check(const LoadWeights& o) {
    dram(o.transposed ? DramTile{o.src.operand, o.src.c0, o.src.cols, o.src.r0, o.src.rows,
                                 o.src.elem, o.src.addr, o.src.stride, false}
                      : o.src,
         false);
    fits(o.dst, o.src.rows * o.src.cols * o.src.elem, {Region::fifo});
    push_weights(o.dst, {o.src.rows, o.src.cols});
  }
  void push_weights(const Place& fifo, Shape s) {
    fifo_[fifo.index].push_back(s);
    if (!(fifo_[fifo.index].size() <= size_t(p_.fifo_depth)))
      fail(fmt::format("more than the {} weight tiles {} holds", p_.fifo_depth, to_text(fifo)));
  }
  void check(const StagedWeights& o) {
    positive(o.k, o.n);
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(o.dtype));
    fits(o.src, o.k * o.n * e, {Region::A});
    read(o.src, {o.k, o.n}, "the staged weights");
    fits(o.dst, o.k * o.n * e, {Region::fifo});
    push_weights(o.dst, {o.k, o.n});
  }
  void check(const Sync&) {}
  void check(const Barrier&) {}
  void check(const Matmul& o) {
    positive(o.m, o.k, o.n);
    const uint64_t R = uint64_t(p_.rows), C = uint64_t(p_.cols);
    switch (p_.dataflow) {
      case xpusim::tpu::Dataflow::ws:
        if (!(o.k <= R && o.n <= C))
          fail(fmt::format("weight-stationary needs k <= {} and n <= {}", R, C));
        break;
      case xpusim::tpu::Dataflow::os:
        if (!(o.m <= R && o.n <= C))
          fail(fmt::format("output-stationary needs m <= {} and n <= {}", R, C));
        break;
      case xpusim::tpu::Dataflow::is:
        if (!(o.k <= R && o.m <= C))
          fail(fmt::format("input-stationary needs k <= {} and m <= {}", R, C));
        break;
    }
    fits(o.a, o.m * o.k * uint64_t(isa::tpu::elem_bytes(o.dtype)), {Region::A});
    read_rows(o.a, {o.m, o.k}, uint64_t(isa::tpu::elem_bytes(o.dtype)), "the A tile");
    capacity(o.weights, {Region::fifo});
    auto& q = fifo_[o.weights.index];
    auto& held = held_[o.weights.index];
    if (o.keep) {
      if (!held)
        fail(fmt::format("keeps the tile of {}, which holds none yet", to_text(o.weights)));
      if (*held != Shape{o.k, o.n})
        fail(fmt::format("keeps the {}x{} tile of {} for a {}x{} matmul", held->rows, held->cols,
                         to_text(o.weights), o.k, o.n));
    } else {
      if (!(!q.empty())) fail(fmt::format("{} is empty", to_text(o.weights)));
      if (!(!(q.front() != Shape{o.k, o.n})))
        fail(fmt::format("the head of {} is a {}x{} tile, not {}x{}", to_text(o.weights),
                         q.front().rows, q.front().cols, o.k, o.n));
      held = q.front();
      q.pop_front();
    }
    fits(o.acc, o.m * o.n * 4, {Region::acc});
    if (o.accumulate) read(o.acc, {o.m, o.n}, "accumulating");
    write(o.acc, {o.m, o.n}, o.m * o.n * 4);
  }
  void check(const Drain& o) {
    positive(o.rows, o.cols);
    for (uint32_t i = 0; i < o.sum; ++i) {
      const Place slot{Region::acc, o.acc.index + i, o.acc.offset};
      fits(slot, o.rows * o.cols * 4, {Region::acc});
      read(slot, {o.rows, o.cols}, "the accumulators");
    }
    fits(o.dst, o.rows * o.cols * uint64_t(isa::tpu::elem_bytes(o.dtype)), {Region::O});
    if (o.bias) {
      if (o.dtype == DType::int8) fail("a bias on an int8 drain (its result is requantised)");
      const uint64_t e = uint64_t(isa::tpu::elem_bytes(o.dtype));
      fits(*o.bias, o.cols * e, {Region::P});
      read_in_row(*o.bias, o.cols, e, "the bias");
    }
    write(o.dst, {o.rows, o.cols}, o.rows * o.cols * uint64_t(isa::tpu::elem_bytes(o.dtype)));
  }
  void check(const Vector& o) {
    positive(o.rows, o.cols);
    const uint64_t e = uint64_t(isa::tpu::elem_bytes(o.dtype)), se = o.fp32_src ? 4 : e;
    const uint64_t groups = o.groups ? o.groups : 1;
    // The bounds of a clip apply one after the other, the second in place in O.
    // An elementwise pass may read what an earlier one of the tile wrote in O (a clip's second
    // bound, rope's sums, the ReLU after the add of two cores' partial sums).
    const bool bound = o.func == VecFunc::maxs || o.func == VecFunc::mins ||
                       o.func == VecFunc::add || o.func == VecFunc::mul ||
                       o.func == VecFunc::scale || o.func == VecFunc::relu;
    const uint64_t src_bytes = o.rows * o.cols * groups * se;
    if (bound)
      fits(o.src, src_bytes, {Region::A, Region::O});
    else
      fits(o.src, src_bytes, {Region::A});
    // (Rows that several ops wrote one after the other: a GEMM's partial sums, drained in cuts.)
    read_rows(o.src, {o.rows, o.cols * groups}, se, "the source");
    const bool two = o.func == VecFunc::add || o.func == VecFunc::mul;
    const bool norm = o.func == VecFunc::layernorm || o.func == VecFunc::rmsnorm;
    if (!(bool(o.src2) == (two || norm)))
      fail(
          "a second operand where the function takes none, or "
          "none where it takes one");
    if (two) {
      fits(*o.src2, o.rows * o.cols * se, {Region::A, Region::O});
      read_rows(*o.src2, {o.rows, o.cols}, se, "the second operand");
    } else if (norm) {
      fits(*o.src2, (o.func == VecFunc::layernorm ? 2 : 1) * o.cols * e, {Region::P});
      read_cols(*o.src2, o.cols, "the norm weights");
    }
    fits(o.dst, o.rows * o.cols * e, {Region::O});
    write(o.dst, {o.rows, o.cols}, o.rows * o.cols * e);
  }
  void check(const Lookup& o) {
    positive(o.rows, o.cols * o.elem, o.table_rows);
    fits(o.ids, o.rows * 4, {Region::A});
    read(o.ids, {o.rows, 1}, "the ids");
    const uint64_t hi = o.table + o.table_rows * o.cols * o.elem;
    if (!(hi <= p_.dram_bytes))
      fail(fmt::format("the table [{:#x}, {:#x}) is outside DRAM ({} B)", o.table, hi,
                       p_.dram_bytes));
    fits(o.dst, o.rows * o.cols * o.elem, {Region::O});
    write(o.dst, {o.rows, o.cols}, o.rows * o.cols * o.elem);
  }
  void check(const Store& o) {
    dram(o.dst, false);
    fits(o.src, o.dst.rows * o.dst.cols * o.dst.elem, {Region::O});
    read_rows(o.src, {o.dst.rows, o.dst.cols}, o.dst.elem, "the output tile");
  }

  const TileProgram& t_;
  const TpuParams& p_;
  const TileLayer* layer_ = nullptr;
  const Nest* nest_ = nullptr;
  const TileOp* op_ = nullptr;
  size_t nest_index_ = 0, op_index_ = 0;
  std::map<Key, Shape> written_;            // the shape of the last tile written at a place
  std::vector<std::deque<Shape>> fifo_;     // per array, the weight tiles pushed and not consumed
  std::vector<std::optional<Shape>> held_;  // per array, the tile it holds (for keep)
};

}  // namespace

std::string to_text(const Place& p) {
  std::string s;
  switch (p.region) {
    case Region::A:
      s = fmt::format("ub.A{}", p.index);
      break;
    case Region::O:
      s = fmt::format("ub.O{}", p.index);
      break;
    case Region::P:
      s = "ub.P";
      break;
    case Region::acc:
      s = fmt::format("acc.{}", p.index);
      break;
    case Region::fifo:
      s = fmt::format("mxu{}.fifo", p.index);
      break;
  }
  if (p.offset) s += fmt::format("+{:#x}", p.offset);
  return s;
}

std::string to_text(const TileOp& op) {
  return std::visit(Text{}, op);
}

std::string to_text(const TileProgram& p) {
  std::string s =
      fmt::format("regions: ub.A0 ub.A1 of {} B each, ub.O0 ub.O1 of {} B each, ub.P of {} B\n",
                  p.a_bytes, p.o_bytes, p.params_bytes);
  if (p.cores > 1)
    s += fmt::format(
        "chip of {} cores, each with these regions: a core runs the nests marked with its number, "
        "layer by layer, with a barrier after each layer\n",
        p.cores);
  for (const TileLayer& l : p.layers) {
    s += fmt::format("layer {} '{}'\n", l.layer, l.name);
    for (const Nest& n : l.nests) {
      s += "  " + n.title;
      if (n.acc_slots) s += fmt::format("; acc ring {} x {} B", n.acc_slots, n.acc_slot_bytes);
      s += "\n";
      for (const TileOp& op : n.ops) s += "    " + to_text(op) + "\n";
    }
  }
  return s;
}

void verify_tiling(const TileProgram& tiles, const TpuParams& p) {
  if (tiles.cores != p.cores)
    throw Error(fmt::format("internal: pass 'tiling' verifier: tiled for {} cores, the chip has {}",
                            tiles.cores, p.cores));
  for (const TileLayer& l : tiles.layers) {
    std::vector<size_t> barriers(size_t(std::max(p.cores, 1)), 0);
    for (const Nest& n : l.nests) {
      if (n.core < 0 || n.core >= p.cores)
        throw Error(
            fmt::format("internal: pass 'tiling' verifier: layer {} '{}', nest '{}': core "
                        "{} of a chip of {}",
                        l.layer, l.name, n.title, n.core, p.cores));
      barriers[size_t(n.core)] +=
          size_t(std::count_if(n.ops.begin(), n.ops.end(),
                               [](const TileOp& o) { return std::holds_alternative<Barrier>(o); }));
    }
    // A core that missed a barrier the others wait at would hold the chip for ever.
    if (std::adjacent_find(barriers.begin(), barriers.end(), std::not_equal_to<>()) !=
        barriers.end())
      throw Error(fmt::format(
          "internal: pass 'tiling' verifier: layer {} '{}': the cores' nests hold {} barriers",
          l.layer, l.name, fmt::join(barriers, ", ")));
  }
  TileVerifier(tiles, p).run();
}

}  // namespace xpusim::compiler::tpu
