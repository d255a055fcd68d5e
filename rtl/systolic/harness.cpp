// The systolic-array harness: packs tiles into port words, clocks the verilated model one cycle
// at a time and reads the per-tile times off the handshakes and the output flags.
#include "rtl/systolic/harness.h"

#include <algorithm>
#include <stdexcept>

#include <verilated.h>
#include <verilated_vcd_c.h>

#include "systolic_shapes.h"  // generated: the verilated shapes' headers and their list

namespace xpusim::rtl {

const char* dataflow_name(Dataflow d) {
  switch (d) {
    case Dataflow::ws:
      return "ws";
    case Dataflow::os:
      return "os";
    case Dataflow::is:
      return "is";
  }
  return "?";
}

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
class VerilatedArray final : public SystolicHarness {
 public:
  VerilatedArray(int rows, int cols) : SystolicHarness(rows, cols) {
    ctx_.traceEverOn(true);
    top_ = std::make_unique<V>(&ctx_, "systolic");
  }
  ~VerilatedArray() override {
    trace_close();
    top_->final();
  }

 protected:
  void drive(const Inputs& in) override {
    top_->clk = 0;
    top_->rst = in.rst;
    top_->mode = in.mode;
    top_->w_valid = in.w_valid;
    top_->a_valid = in.a_valid;
    top_->a_first = in.a_first;
    top_->a_last = in.a_last;
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
    o.out_data.resize(size_t(cols()));
    get_words(top_->out_data, o.out_data);
    return o;
  }
  void tick() override {
    top_->clk = 1;
    top_->eval();
  }
  void trace_open(const std::string& path) override {
    trace_close();
    vcd_ = std::make_unique<VerilatedVcdC>();
    top_->trace(vcd_.get(), 99);
    vcd_->open(path.c_str());
  }
  void trace_dump(uint64_t time) override {
    if (vcd_) vcd_->dump(time);
  }
  void trace_close() override {
    if (vcd_) vcd_->close();
    vcd_.reset();
  }

 private:
  VerilatedContext ctx_;
  std::unique_ptr<V> top_;
  std::unique_ptr<VerilatedVcdC> vcd_;
};

// What the ports carry for one tile under a dataflow (rows x cols array).
struct TileView {
  Dataflow df;
  int rows, cols;
  const MatmulTile& t;

  int a(int i, int j) const { return t.a[size_t(i) * size_t(t.k) + size_t(j)]; }
  int b(int i, int j) const { return t.b[size_t(i) * size_t(t.n) + size_t(j)]; }

  int stream_len() const { return df == Dataflow::ws ? t.m : df == Dataflow::os ? t.k : t.n; }
  int out_rows() const { return df == Dataflow::ws ? t.m : df == Dataflow::os ? rows : t.n; }

  // ws/is: row r of the stationary tile (B, or A^T for is), zero-padded to cols.
  std::vector<int8_t> stationary_row(int r) const {
    std::vector<int8_t> w(size_t(cols), 0);
    if (r < t.k) {
      if (df == Dataflow::ws)
        for (int c = 0; c < t.n; ++c) w[size_t(c)] = int8_t(b(r, c));
      else
        for (int c = 0; c < t.m; ++c) w[size_t(c)] = int8_t(a(c, r));
    }
    return w;
  }
  // Operand s of the stream on the left edge: ws row s of A, os column s of A, is column s of B.
  std::vector<int8_t> left(int s) const {
    std::vector<int8_t> v(size_t(rows), 0);
    if (df == Dataflow::ws)
      for (int r = 0; r < t.k; ++r) v[size_t(r)] = int8_t(a(s, r));
    else if (df == Dataflow::os)
      for (int r = 0; r < t.m; ++r) v[size_t(r)] = int8_t(a(r, s));
    else
      for (int r = 0; r < t.k; ++r) v[size_t(r)] = int8_t(b(r, s));
    return v;
  }
  // os: row s of B on the top edge.
  std::vector<int8_t> top(int s) const {
    std::vector<int8_t> w(size_t(cols), 0);
    for (int c = 0; c < t.n; ++c) w[size_t(c)] = int8_t(b(s, c));
    return w;
  }
  // Stores output row `row` of the tile into c (m x n).
  void store(int row, const std::vector<int32_t>& out, std::vector<int32_t>& c) const {
    const size_t n = size_t(t.n);
    if (df == Dataflow::ws)
      std::copy_n(out.begin(), n, c.begin() + std::ptrdiff_t(size_t(row) * n));
    else if (df == Dataflow::os) {
      if (row < t.m) std::copy_n(out.begin(), n, c.begin() + std::ptrdiff_t(size_t(row) * n));
    } else
      for (int i = 0; i < t.m; ++i) c[size_t(i) * n + size_t(row)] = out[size_t(i)];
  }
};

void check_fits(Dataflow df, int rows, int cols, const MatmulTile& t, size_t index) {
  const bool sizes = t.m > 0 && t.k > 0 && t.n > 0 && t.a.size() == size_t(t.m) * size_t(t.k) &&
                     t.b.size() == size_t(t.k) * size_t(t.n);
  const int over_rows = df == Dataflow::os ? t.m : t.k;
  const int over_cols = df == Dataflow::is ? t.m : t.n;
  const int stream = df == Dataflow::ws ? t.m : df == Dataflow::os ? t.k : t.n;
  if (!sizes || over_rows > rows || over_cols > cols || stream > 0xffff)
    throw std::runtime_error("systolic harness: tile " + std::to_string(index) + " (" +
                             std::to_string(t.m) + "x" + std::to_string(t.k) + "x" +
                             std::to_string(t.n) + ") does not fit a " + std::to_string(rows) +
                             "x" + std::to_string(cols) + " array in " + dataflow_name(df));
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
  throw std::invalid_argument("systolic harness: no verilated " + std::to_string(rows) + "x" +
                              std::to_string(cols) + " array (rtl/systolic/CMakeLists.txt)");
}

std::vector<TileResult> SystolicHarness::run(Dataflow df, const std::vector<MatmulTile>& tiles,
                                             const RunOptions& opt) {
  const size_t count = tiles.size();
  std::vector<TileView> views;
  std::vector<TileResult> res(count);
  for (size_t i = 0; i < count; ++i) {
    check_fits(df, rows_, cols_, tiles[i], i);
    views.push_back({df, rows_, cols_, tiles[i]});
    res[i].c.assign(size_t(tiles[i].m) * size_t(tiles[i].n), 0);
  }
  const bool os = df == Dataflow::os;

  // Reset for two cycles; cycle 0 is the first one after.
  Inputs in;
  in.rst = true;
  in.mode = os;
  in.w_data.assign(size_t(cols_), 0);
  in.a_data.assign(size_t(rows_), 0);
  for (int i = 0; i < 2; ++i) {
    drive(in);
    tick();
  }
  if (!opt.vcd_path.empty()) trace_open(opt.vcd_path);

  size_t wt = 0, at = 0, ot = 0;  // tile on the weight port, the operand port, the output
  int wrow = 0, arow = 0, orow = 0;
  bool tracing = false;
  uint64_t close_at = UINT64_MAX;  // the cycle after tile vcd_last is done
  uint64_t last_event = 0;
  const uint64_t patience = 4 * uint64_t(rows_ + cols_) + 64;
  // Tile i may be offered from its ready cycle; without fold overlap also not before the
  // previous tile is done (ot == i then).
  auto offered = [&](size_t i, uint64_t t) {
    return i < count && t >= tiles[i].ready && (opt.fold_overlap || ot >= i);
  };

  for (uint64_t t = 0; ot < count; ++t) {
    in = Inputs{};
    in.mode = os;
    in.w_data.assign(size_t(cols_), 0);
    in.a_data.assign(size_t(rows_), 0);
    if (!os && offered(wt, t)) {
      in.w_valid = true;
      in.w_data = views[wt].stationary_row(wrow);
    }
    if (offered(at, t)) {
      const TileView& v = views[at];
      in.a_valid = true;
      in.a_first = arow == 0;
      in.a_last = arow == v.stream_len() - 1;
      in.a_len = uint16_t(v.stream_len());
      in.a_data = v.left(arow);
      if (os) {
        in.w_valid = true;
        in.w_data = v.top(arow);
      }
    }
    drive(in);

    // The VCD window opens with the first cycle tile vcd_first is offered on a port.
    if (!opt.vcd_path.empty() && !tracing && t <= close_at &&
        ((in.w_valid && wt >= opt.vcd_first) || (in.a_valid && at >= opt.vcd_first)))
      tracing = true;
    if (tracing) trace_dump(2 * t);

    const Outputs o = sample();
    const bool w_fire = in.w_valid && o.w_ready, a_fire = in.a_valid && o.a_ready;
    if (os && w_fire != a_fire)
      throw std::runtime_error("systolic harness: os operand and weight ports fired apart");
    if (!os && w_fire) {
      if (wrow == 0) res[wt].load_start = t;
      if (++wrow == rows_) {
        wrow = 0;
        ++wt;
      }
    }
    if (a_fire) {
      if (arow == 0) res[at].stream_start = t;
      if (os && arow == 0) res[at].load_start = t;
      if (++arow == views[at].stream_len()) {
        res[at].stream_end = t + 1;
        arow = 0;
        ++at;
      }
    }
    if (o.out_valid) {
      if (ot >= count || ot >= at + (arow > 0 ? 1 : 0))
        throw std::runtime_error("systolic harness: an output row at cycle " + std::to_string(t) +
                                 " belongs to no streamed tile");
      views[ot].store(orow, o.out_data, res[ot].c);
      const bool last = ++orow == views[ot].out_rows();
      if (o.out_last != last)
        throw std::runtime_error("systolic harness: tile " + std::to_string(ot) + " output row " +
                                 std::to_string(orow - 1) + " at cycle " + std::to_string(t) +
                                 (last ? " is the last but out_last is low" : " has out_last"));
      if (last) {
        res[ot].done = t + 1;
        if (ot == opt.vcd_last) close_at = t + 1;
        orow = 0;
        ++ot;
      }
    }
    if (w_fire || a_fire || o.out_valid) last_event = t;

    tick();
    if (tracing) trace_dump(2 * t + 1);
    if (tracing && t >= close_at) {
      trace_close();
      tracing = false;
    }

    const uint64_t waiting = std::max(last_event, at < count ? tiles[at].ready : 0);
    if (t > waiting + patience)
      throw std::runtime_error("systolic harness: no progress for " + std::to_string(patience) +
                               " cycles at cycle " + std::to_string(t));
  }
  trace_close();
  return res;
}

}  // namespace xpusim::rtl
