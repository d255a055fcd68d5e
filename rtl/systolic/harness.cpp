// The systolic-array harness: packs tiles into port words, clocks the verilated model one cycle
// at a time and reads the per-tile times off the handshakes and the output flags.
#include "rtl/systolic/harness.h"

#include <algorithm>

#include "models/core/error.h"
#include "rtl/common/verilated_top.h"
#include "rtl/systolic/tile_ports.h"
#include "systolic_shapes.h"  // generated: the verilated shapes' headers and their list

namespace xpusim::rtl {

namespace {

// Port packing: Verilator maps a port to an integer of 8 to 64 bits, or a VlWide above 64 bits.
template <class T>
void put_bytes(T& port, const std::vector<int8_t>& v) {
  uint64_t x = 0;
  for (size_t i = 0; i < v.size(); ++i) x |= uint64_t(uint8_t(v[i])) << (8 * i);
  port = T(x);
}
template <std::size_t N>
void put_bytes(VlWide<N>& port, const std::vector<int8_t>& v) {
  for (size_t w = 0; w < N; ++w) port.at(w) = 0;
  for (size_t i = 0; i < v.size(); ++i) port.at(i / 4) |= uint32_t(uint8_t(v[i])) << (8 * (i % 4));
}
template <class T>
void get_words(const T& port, std::vector<int32_t>& out) {
  for (size_t i = 0; i < out.size(); ++i) out[i] = int32_t(uint32_t(uint64_t(port) >> (32 * i)));
}
template <std::size_t N>
void get_words(const VlWide<N>& port, std::vector<int32_t>& out) {
  for (size_t i = 0; i < out.size(); ++i) out[i] = int32_t(port.at(i));
}

// One verilated shape behind the harness's port view; each model has a context of its own.
template <class V>
class VerilatedArray final : public VerilatedTop<V, SystolicHarness> {
 public:
  VerilatedArray(int rows, int cols) : VerilatedTop<V, SystolicHarness>("systolic", rows, cols) {}

 private:
  using VerilatedTop<V, SystolicHarness>::top_;
  using Inputs = typename SystolicHarness::Inputs;
  using Outputs = typename SystolicHarness::Outputs;

 protected:
  void drive(const Inputs& in) override {
    top_->clk = 0;
    top_->rst = in.rst;
    top_->mode = in.mode;
    top_->w_valid = in.w_valid;
    top_->a_valid = in.a_valid;
    top_->a_first = in.a_first;
    top_->a_last = in.a_last;
    top_->a_keep = in.a_keep;
    top_->a_len = in.a_len;
    put_bytes(top_->w_data, in.w_data);
    put_bytes(top_->a_data, in.a_data);
    top_->eval();
  }
  Outputs sample() override {
    Outputs o;
    o.w_ready = top_->w_ready;
    o.a_ready = top_->a_ready;
    o.out_valid = top_->out_valid;
    o.out_last = top_->out_last;
    o.out_data.resize(size_t(this->cols()));
    get_words(top_->out_data, o.out_data);
    return o;
  }

 private:
};

// A tile whose streamed operand comes later (MatmulTile::kLater) is checked without it.
void check_fits(Dataflow df, int rows, int cols, const MatmulTile& t, size_t index) {
  const bool a_later = t.stream_ready == MatmulTile::kLater && t.a.empty();
  const bool sizes = t.m > 0 && t.k > 0 && t.n > 0 &&
                     (a_later || t.a.size() == size_t(t.m) * size_t(t.k)) &&
                     t.b.size() == size_t(t.k) * size_t(t.n);
  const int over_rows = df == Dataflow::os ? t.m : t.k;
  const int over_cols = df == Dataflow::is ? t.m : t.n;
  const int stream = df == Dataflow::ws ? t.m : df == Dataflow::os ? t.k : t.n;
  if (!sizes || over_rows > rows || over_cols > cols || stream > 0xffff)
    throw Error("systolic harness: tile " + std::to_string(index) + " (" + std::to_string(t.m) +
                "x" + std::to_string(t.k) + "x" + std::to_string(t.n) + ") does not fit a " +
                std::to_string(rows) + "x" + std::to_string(cols) + " array in " +
                dataflow_name(df));
}

}  // namespace

std::vector<std::pair<int, int>> SystolicHarness::shapes() {
  std::vector<std::pair<int, int>> s;
#define XPUSIM_SHAPE(R, C, V) s.emplace_back(R, C);
  XPUSIM_SYSTOLIC_SHAPES(XPUSIM_SHAPE)
#undef XPUSIM_SHAPE
  return s;
}

std::unique_ptr<SystolicHarness> SystolicHarness::create(int rows, int cols) {
#define XPUSIM_SHAPE(R, C, V) \
  if (rows == R && cols == C) return std::make_unique<VerilatedArray<V>>(R, C);
  XPUSIM_SYSTOLIC_SHAPES(XPUSIM_SHAPE)
#undef XPUSIM_SHAPE
  std::string built;
  for (const auto& [r, c] : shapes())
    built += (built.empty() ? "" : ", ") + std::to_string(r) + "x" + std::to_string(c);
  throw Error("no verilated " + std::to_string(rows) + "x" + std::to_string(cols) +
              " systolic array in this build (built: " + built +
              "; the list is in rtl/systolic/CMakeLists.txt)");
}

// The protocol's state between cycles: the tiles not done yet (tile `base` first) and where
// each port is within them.
struct SystolicHarness::State {
  Dataflow df = Dataflow::ws;
  RunOptions opt;
  bool os = false;
  std::deque<MatmulTile> tiles;
  size_t base = 0;                // index of tiles.front()
  size_t count = 0;               // tiles offered
  size_t wt = 0, at = 0, ot = 0;  // tile on the weight port, the operand port, the output
  int wrow = 0, arow = 0, orow = 0;
  std::vector<int32_t> c;  // results of tile ot so far
  bool tracing = false;
  uint64_t close_at = UINT64_MAX;  // the cycle after tile vcd_last is done
  uint64_t last_event = 0, t = 0;

  const MatmulTile& tile(size_t i) const { return tiles[i - base]; }
};

SystolicHarness::SystolicHarness(int rows, int cols) : rows_(rows), cols_(cols) {}
SystolicHarness::~SystolicHarness() = default;

void SystolicHarness::start(Dataflow df, const RunOptions& opt) {
  st_ = std::make_unique<State>();
  st_->df = df;
  st_->opt = opt;
  st_->os = df == Dataflow::os;
  // Reset for two cycles; cycle 0 is the first one after.
  Inputs in;
  in.rst = true;
  in.mode = st_->os;
  in.w_data.assign(size_t(cols_), 0);
  in.a_data.assign(size_t(rows_), 0);
  for (int i = 0; i < 2; ++i) {
    drive(in);
    tick();
  }
  trace_close();
  if (!opt.vcd_path.empty()) trace_open(opt.vcd_path);
}

size_t SystolicHarness::offer(MatmulTile tile) {
  if (!st_) throw Error("internal: systolic harness: offer() before start()");
  check_fits(st_->df, rows_, cols_, tile, st_->count);
  st_->tiles.push_back(std::move(tile));
  return st_->count++;
}

void SystolicHarness::release(size_t index, std::vector<int8_t> a, uint64_t stream_ready) {
  if (!st_ || index < st_->base || index >= st_->count ||
      st_->tile(index).stream_ready != MatmulTile::kLater)
    throw Error("internal: systolic harness: release() of tile " + std::to_string(index) +
                ", not one offered for later");
  if (waiting()) skip_to(stream_ready);
  if (stream_ready < st_->t)
    throw Error("internal: systolic harness: tile " + std::to_string(index) +
                " released for cycle " + std::to_string(stream_ready) + ", already clocked");
  MatmulTile& t = st_->tiles[index - st_->base];
  t.a = std::move(a);
  t.stream_ready = stream_ready;
  check_fits(st_->df, rows_, cols_, t, index);
}

bool SystolicHarness::busy() const {
  return st_ && st_->ot < st_->count;
}

bool SystolicHarness::waiting() const {
  if (!st_) return false;
  const State& s = *st_;
  return !s.os && s.at + 1 == s.count && s.tile(s.at).stream_ready == MatmulTile::kLater &&
         s.ot == s.at && s.arow == 0 && s.wt == s.count && s.wrow == 0;
}

uint64_t SystolicHarness::cycle() const {
  return st_ ? st_->t : 0;
}

void SystolicHarness::skip_to(uint64_t cycle) {
  if (!st_ || (busy() && !waiting()))
    throw Error("internal: systolic harness: skip_to() while busy");
  if (cycle > st_->t) st_->t = st_->last_event = cycle;
}

std::vector<TileEvent> SystolicHarness::step() {
  if (!st_) throw Error("internal: systolic harness: step() before start()");
  State& s = *st_;
  const uint64_t t = s.t;
  const bool os = s.os;
  const RunOptions& opt = s.opt;
  std::vector<TileEvent> ev;
  auto view = [&](size_t i) { return TilePorts{s.df, rows_, cols_, s.tile(i)}; };
  // Tile i may be offered from its ready cycle; without fold overlap also not before the
  // previous tile is done (ot == i then). Its streamed operand (and with os, the weights that
  // go with it) from its stream_ready cycle too.
  auto offered = [&](size_t i) {
    return i < s.count && t >= s.tile(i).ready && (opt.fold_overlap || s.ot >= i);
  };
  auto streams = [&](size_t i) { return offered(i) && t >= s.tile(i).stream_ready; };

  Inputs in;
  in.mode = os;
  in.w_data.assign(size_t(cols_), 0);
  in.a_data.assign(size_t(rows_), 0);
  // A kept tile (ws) loads nothing: the weight port goes on to the next tile.
  while (!os && s.wt < s.count && s.tile(s.wt).keep) ++s.wt;
  if (!os && offered(s.wt)) {
    in.w_valid = true;
    in.w_data = view(s.wt).stationary_row(s.wrow);
  }
  if (streams(s.at)) {
    const TilePorts v = view(s.at);
    in.a_valid = true;
    in.a_first = s.arow == 0;
    in.a_keep = !os && v.t.keep;
    in.a_last = s.arow == v.stream_len() - 1;
    in.a_len = uint16_t(v.stream_len());
    in.a_data = v.left(s.arow);
    if (os) {
      in.w_valid = true;
      in.w_data = v.top(s.arow);
    }
  }
  drive(in);

  // The VCD window opens with the first cycle tile vcd_first is offered on a port.
  if (!opt.vcd_path.empty() && !s.tracing && t <= s.close_at &&
      ((in.w_valid && s.wt >= opt.vcd_first) || (in.a_valid && s.at >= opt.vcd_first)))
    s.tracing = true;
  if (s.tracing) trace_dump(2 * t);

  const Outputs o = sample();
  const bool w_fire = in.w_valid && o.w_ready, a_fire = in.a_valid && o.a_ready;
  if (os && w_fire != a_fire)
    throw Error("systolic harness: os operand and weight ports fired apart");
  if (!os && w_fire) {
    if (s.wrow == 0) ev.push_back({TileEvent::load_start, s.wt, t, {}});
    if (++s.wrow == rows_) {
      s.wrow = 0;
      ++s.wt;
    }
  }
  if (a_fire) {
    if (s.arow == 0) {
      if (os || s.tile(s.at).keep) ev.push_back({TileEvent::load_start, s.at, t, {}});
      ev.push_back({TileEvent::stream_start, s.at, t, {}});
    }
    if (++s.arow == view(s.at).stream_len()) {
      ev.push_back({TileEvent::stream_end, s.at, t + 1, {}});
      s.arow = 0;
      ++s.at;
    }
  }
  if (o.out_valid) {
    if (s.ot >= s.count || s.ot >= s.at + (s.arow > 0 ? 1 : 0))
      throw Error("systolic harness: an output row at cycle " + std::to_string(t) +
                  " belongs to no streamed tile");
    const TilePorts v = view(s.ot);
    if (s.orow == 0) s.c.assign(size_t(v.t.m) * size_t(v.t.n), 0);
    v.store(s.orow, o.out_data, s.c);
    const bool last = ++s.orow == v.out_rows();
    if (o.out_last != last)
      throw Error("systolic harness: tile " + std::to_string(s.ot) + " output row " +
                  std::to_string(s.orow - 1) + " at cycle " + std::to_string(t) +
                  (last ? " is the last but out_last is low" : " has out_last"));
    if (last) {
      ev.push_back({TileEvent::done, s.ot, t + 1, std::move(s.c)});
      s.c.clear();
      if (s.ot == opt.vcd_last) s.close_at = t + 1;
      s.orow = 0;
      ++s.ot;
      // Tiles before the weight port's are no longer needed (the weight port is never behind
      // the output).
      while (s.base < s.ot && (os || s.base < s.wt) && s.base < s.at) {
        s.tiles.pop_front();
        ++s.base;
      }
    }
  }
  if (w_fire || a_fire || o.out_valid) s.last_event = t;

  tick();
  if (s.tracing) trace_dump(2 * t + 1);
  if (s.tracing && t >= s.close_at) {
    trace_close();
    s.tracing = false;
  }

  // A tile whose streamed operand is still to come (kLater) makes no progress before release().
  const uint64_t patience = 4 * uint64_t(rows_ + cols_) + 64;
  const uint64_t waiting = std::max(
      s.last_event,
      s.at < s.count ? std::max(s.tile(s.at).ready, s.tile(s.at).stream_ready) : uint64_t(0));
  if (waiting != MatmulTile::kLater && t > waiting + patience)
    throw Error("systolic harness: no progress for " + std::to_string(patience) +
                " cycles at cycle " + std::to_string(t));
  s.t = t + 1;
  return ev;
}

std::vector<TileResult> SystolicHarness::run(Dataflow df, const std::vector<MatmulTile>& tiles,
                                             const RunOptions& opt) {
  start(df, opt);
  std::vector<TileResult> res(tiles.size());
  for (const MatmulTile& t : tiles) offer(t);
  while (busy())
    for (TileEvent& e : step()) {
      TileResult& r = res[e.tile];
      switch (e.kind) {
        case TileEvent::load_start:
          r.load_start = e.cycle;
          break;
        case TileEvent::stream_start:
          r.stream_start = e.cycle;
          break;
        case TileEvent::stream_end:
          r.stream_end = e.cycle;
          break;
        case TileEvent::done:
          r.done = e.cycle;
          r.c = std::move(e.c);
          break;
      }
    }
  trace_close();
  st_.reset();
  return res;
}

}  // namespace xpusim::rtl
