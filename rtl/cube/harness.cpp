// The cube harness: packs each mad's operands into fractals in L0A's zZ, L0B's zN and L0C's NZ
// order, answers the unit's memory reads with them one cycle later (synchronous memories), takes
// its C fractal writes into the mad's own L0C image, and reads the times off the handshakes,
// op_read and c_last.
#include "rtl/cube/harness.h"

#include <algorithm>
#include <cstddef>
#include <deque>
#include <utility>

#include "cube_variants.h"  // generated: the verilated variants' headers and their list
#include "models/core/error.h"
#include "rtl/common/verilated_top.h"

namespace xpusim::rtl {

namespace {

using isa::davinci::Ty;

// One verilated variant behind the harness's port view; each model has a context of its own.
template <class V>
class VerilatedCube final : public VerilatedTop<V, CubeHarness> {
 public:
  VerilatedCube(int rows, int k0, int latency)
      : VerilatedTop<V, CubeHarness>("cube", rows, k0, latency),
        ab_words_(size_t(rows * k0 / 4)),
        c_words_(size_t(rows * rows)) {}

 private:
  using VerilatedTop<V, CubeHarness>::top_;
  using Inputs = typename CubeHarness::Inputs;
  using Outputs = typename CubeHarness::Outputs;

  template <class Port>
  static void put(Port& port, const uint32_t* w, size_t n) {
    for (size_t i = 0; i < n; ++i) port[i] = w ? w[i] : 0;
  }

 protected:
  void drive(const Inputs& in) override {
    top_->clk = 0;
    top_->rst = in.rst;
    top_->in_valid = in.in_valid;
    top_->init = in.init;
    top_->m_frac = in.m;
    top_->k_frac = in.k;
    top_->n_frac = in.n;
    put(top_->a_rdata, in.a, ab_words_);
    put(top_->b_rdata, in.b, ab_words_);
    put(top_->c_rdata, in.c, c_words_);
    top_->eval();
  }
  Outputs sample() override {
    Outputs o;
    o.in_ready = top_->in_ready;
    o.a_ren = top_->a_ren;
    o.a_raddr = top_->a_raddr;
    o.b_ren = top_->b_ren;
    o.b_raddr = top_->b_raddr;
    o.op_read = top_->op_read;
    o.c_ren = top_->c_ren;
    o.c_raddr = top_->c_raddr;
    o.c_we = top_->c_we;
    o.c_waddr = top_->c_waddr;
    o.c_last = top_->c_last;
    if (o.c_we) {
      o.c_wdata.resize(c_words_);
      for (size_t i = 0; i < c_words_; ++i) o.c_wdata[i] = top_->c_wdata[i];
    }
    return o;
  }

 private:
  size_t ab_words_, c_words_;
};

}  // namespace

std::vector<CubeVariant> CubeHarness::variants() {
  std::vector<CubeVariant> v;
#define XPUSIM_VARIANT(F, K0, L, V) v.push_back({F, K0, L});
  XPUSIM_CUBE_VARIANTS(XPUSIM_VARIANT)
#undef XPUSIM_VARIANT
  return v;
}

std::unique_ptr<CubeHarness> CubeHarness::create(int rows, int k0, int latency) {
#define XPUSIM_VARIANT(F, K0, L, V) \
  if (rows == F && k0 == K0 && latency == L) return std::make_unique<VerilatedCube<V>>(F, K0, L);
  XPUSIM_CUBE_VARIANTS(XPUSIM_VARIANT)
#undef XPUSIM_VARIANT
  std::string built;
  for (const CubeVariant& v : variants())
    built += (built.empty() ? "" : ", ") + std::to_string(v.rows) + "x" + std::to_string(v.k0) +
             " fractals with latency " + std::to_string(v.latency);
  throw Error("no verilated cube of " + std::to_string(rows) + "x" + std::to_string(k0) +
              " fractals with latency " + std::to_string(latency) + " in this build (built: " +
              built + "; the list is XPUSIM_CUBE_VARIANTS in rtl/cube/CMakeLists.txt)");
}

// The protocol's state between cycles: the mads not fired yet (`waiting`, in order), the fired
// ones not done yet (`in_flight`, in order: they write their C fractals in that order), the one
// whose steps are under way (`reading`, the newest in flight), and the memories' read data for
// the next cycle.
struct CubeHarness::State {
  struct Op {
    size_t index;
    uint64_t ready;
    int m, k, n;
    bool init;
    std::vector<uint32_t> a, b;  // fractals in zZ / zN order, rows k0 / 4 words each
    std::vector<uint32_t> c;     // L0C: fractals in NZ order, rows^2 words each (init: zeros)
    std::vector<bool> written;   // per C fractal
    size_t writes = 0;
  };
  CubeRunOptions opt;
  std::deque<std::unique_ptr<Op>> waiting, in_flight;
  Op* reading = nullptr;                         // fired, its last step not taken yet
  std::vector<uint32_t> a_data, b_data, c_data;  // the read ports' data (held between reads)
  size_t count = 0;                              // mads offered
  bool tracing = false;
  uint64_t close_at = UINT64_MAX;  // the cycle after mad vcd_last is done
  uint64_t last_activity = 0, t = 0;
};

CubeHarness::CubeHarness(int rows, int k0, int latency) : rows_(rows), k0_(k0), latency_(latency) {}
CubeHarness::~CubeHarness() = default;

void CubeHarness::start(const CubeRunOptions& opt) {
  st_ = std::make_unique<State>();
  st_->opt = opt;
  st_->a_data.assign(size_t(rows_ * k0_ / 4), 0);
  st_->b_data.assign(size_t(rows_ * k0_ / 4), 0);
  st_->c_data.assign(size_t(rows_ * rows_), 0);
  // Reset for two cycles; cycle 0 is the first one after.
  Inputs in;
  in.rst = true;
  for (int i = 0; i < 2; ++i) {
    drive(in);
    tick();
  }
  trace_close();
  if (!opt.vcd_path.empty()) trace_open(opt.vcd_path);
}

size_t CubeHarness::offer(const davinci::CubeOp& op, uint64_t ready) {
  if (!st_) throw Error("internal: cube harness: offer() before start()");
  const std::string what = "cube harness: mad " + std::to_string(st_->count);
  if (op.ty != Ty::s8)
    throw Error(what + ": the RTL cube multiplies s8, not " + isa::davinci::ty_name(op.ty));
  davinci::check_cube_op(op, true, rows_, k0_, what);
  const size_t F = size_t(rows_), K0 = size_t(k0_);
  const size_t m = size_t(op.m), k = size_t(op.k), n = size_t(op.n);
  const davinci::CubeDims d = davinci::cube_dims(op, rows_, k0_);
  auto o = std::make_unique<State::Op>();
  o->index = st_->count;
  o->ready = std::max(ready, st_->t);
  o->m = op.m;
  o->k = op.k;
  o->n = op.n;
  o->init = op.init;
  const size_t ab = F * K0 / 4;  // words of an A or B fractal
  o->a.assign(m * k * ab, 0);
  o->b.assign(k * n * ab, 0);
  auto put = [](uint32_t* words, size_t byte, uint8_t v) {
    words[byte / 4] |= uint32_t(v) << (8 * (byte % 4));
  };
  // A fractal (mi, ki), byte r K0 + c: A(F mi + r, K0 ki + c).
  for (size_t row = 0; row < d.M; ++row)
    for (size_t col = 0; col < d.K; ++col)
      put(&o->a[((row / F) * k + col / K0) * ab], (row % F) * K0 + col % K0, op.a[row * d.K + col]);
  // B fractal (ki, ni), byte j K0 + r: B(K0 ki + r, F ni + j).
  for (size_t row = 0; row < d.K; ++row)
    for (size_t col = 0; col < d.N; ++col)
      put(&o->b[((row / K0) * n + col / F) * ab], (col % F) * K0 + row % K0, op.b[row * d.N + col]);
  // C fractal (mi, ni) at ni m + mi, word i F + j: C(F mi + i, F ni + j).
  o->c.assign(d.M * d.N, 0);
  if (!op.init)
    for (size_t row = 0; row < d.M; ++row)
      for (size_t col = 0; col < d.N; ++col)
        o->c[((col / F) * m + row / F) * F * F + (row % F) * F + col % F] = op.c[row * d.N + col];
  o->written.assign(m * n, false);
  st_->waiting.push_back(std::move(o));
  return st_->count++;
}

bool CubeHarness::busy() const {
  return st_ && (!st_->waiting.empty() || !st_->in_flight.empty());
}

uint64_t CubeHarness::cycle() const {
  return st_ ? st_->t : 0;
}

void CubeHarness::skip_to(uint64_t cycle) {
  if (!st_ || busy()) throw Error("internal: cube harness: skip_to() while busy");
  if (cycle > st_->t) st_->t = st_->last_activity = cycle;
}

std::vector<CubeEvent> CubeHarness::step() {
  if (!st_) throw Error("internal: cube harness: step() before start()");
  State& s = *st_;
  const uint64_t t = s.t;
  const CubeRunOptions& opt = s.opt;
  const size_t F = size_t(rows_), ab = size_t(rows_ * k0_ / 4), cw = F * F;
  std::vector<CubeEvent> ev;
  auto fail = [&](const std::string& what) {
    throw Error("cube harness: " + what + " at cycle " + std::to_string(t));
  };

  // The port holds the mad whose steps are under way; otherwise it offers the next one from its
  // ready cycle. The memories answer last cycle's reads.
  Inputs in;
  const State::Op* on_port = s.reading;
  if (!on_port && !s.waiting.empty() && s.waiting.front()->ready <= t) {
    on_port = s.waiting.front().get();
    in.in_valid = true;
  }
  if (on_port) {
    in.m = uint8_t(on_port->m);
    in.k = uint8_t(on_port->k);
    in.n = uint8_t(on_port->n);
    in.init = on_port->init;
  }
  in.a = s.a_data.data();
  in.b = s.b_data.data();
  in.c = s.c_data.data();
  drive(in);

  if (!opt.vcd_path.empty() && !s.tracing && t <= s.close_at && in.in_valid &&
      s.waiting.front()->index >= opt.vcd_first)
    s.tracing = true;
  if (s.tracing) trace_dump(2 * t);

  Outputs o = sample();
  if (s.reading && o.in_ready)
    fail("in_ready while mad " + std::to_string(s.reading->index) + " is still being read");
  if (in.in_valid && o.in_ready) {
    s.in_flight.push_back(std::move(s.waiting.front()));
    s.waiting.pop_front();
    s.reading = s.in_flight.back().get();
    ev.push_back({CubeEvent::start, s.reading->index, t, {}});
  }
  // The step's A and B fractals, for the next cycle.
  if (o.a_ren || o.b_ren) {
    if (!s.reading) fail("an A or B read with no mad being read");
    State::Op& r = *s.reading;
    if (!o.a_ren || !o.b_ren) fail("an A read without a B read, or back");
    if (o.a_raddr >= size_t(r.m * r.k) || o.b_raddr >= size_t(r.k * r.n))
      fail("mad " + std::to_string(r.index) + " reads A fractal " + std::to_string(o.a_raddr) +
           " and B fractal " + std::to_string(o.b_raddr) + ", past its " +
           std::to_string(r.m * r.k) + " and " + std::to_string(r.k * r.n));
    std::copy_n(&r.a[o.a_raddr * ab], ab, s.a_data.begin());
    std::copy_n(&r.b[o.b_raddr * ab], ab, s.b_data.begin());
    s.last_activity = t;
  }
  if (o.op_read) {
    if (!s.reading) fail("op_read with no mad being read");
    ev.push_back({CubeEvent::read, s.reading->index, t + 1, {}});
  }
  // A C fractal written, into the oldest mad in flight; then a C read for the next write.
  if (o.c_we) {
    if (s.in_flight.empty()) fail("a C write with no mad in flight");
    State::Op& w = *s.in_flight.front();
    const size_t fractals = size_t(w.m * w.n);
    if (o.c_waddr >= fractals || w.written[o.c_waddr])
      fail("mad " + std::to_string(w.index) + " writes C fractal " + std::to_string(o.c_waddr) +
           (o.c_waddr >= fractals ? " of " + std::to_string(fractals) : " twice"));
    w.written[o.c_waddr] = true;
    std::copy(o.c_wdata.begin(), o.c_wdata.end(), w.c.begin() + std::ptrdiff_t(o.c_waddr * cw));
    ++w.writes;
    if (o.c_last != (w.writes == fractals))
      fail("mad " + std::to_string(w.index) + ": c_last " + (o.c_last ? "high" : "low") +
           " with its C fractal " + std::to_string(w.writes) + " of " + std::to_string(fractals));
    s.last_activity = t;
  } else if (o.c_last) {
    fail("c_last without c_we");
  }
  if (o.c_last) {
    std::unique_ptr<State::Op> w = std::move(s.in_flight.front());
    s.in_flight.pop_front();
    if (w.get() == s.reading) fail("mad " + std::to_string(w->index) + " done before it was read");
    // NZ fractals to row-major M x N.
    const size_t M = F * size_t(w->m), N = F * size_t(w->n), m = size_t(w->m);
    std::vector<uint32_t> c(M * N);
    for (size_t row = 0; row < M; ++row)
      for (size_t col = 0; col < N; ++col)
        c[row * N + col] = w->c[((col / F) * m + row / F) * cw + (row % F) * F + col % F];
    ev.push_back({CubeEvent::done, w->index, t + 1, std::move(c)});
    if (w->index == opt.vcd_last) s.close_at = t + 1;
  }
  if (o.c_ren) {
    if (s.in_flight.empty()) fail("a C read with no mad in flight");
    const State::Op& r = *s.in_flight.front();
    if (r.init) fail("mad " + std::to_string(r.index) + " reads C with init");
    if (o.c_raddr >= size_t(r.m * r.n) || r.written[o.c_raddr])
      fail("mad " + std::to_string(r.index) + " reads C fractal " + std::to_string(o.c_raddr) +
           " out of range or after writing it");
    std::copy_n(&r.c[o.c_raddr * cw], cw, s.c_data.begin());
  }
  if (!ev.empty()) s.last_activity = t;

  tick();
  if (o.op_read) s.reading = nullptr;
  if (s.tracing) trace_dump(2 * t + 1);
  if (s.tracing && t >= s.close_at) {
    trace_close();
    s.tracing = false;
  }

  const uint64_t patience = uint64_t(latency_) + 64;
  const uint64_t waiting =
      std::max(s.last_activity, s.waiting.empty() ? 0 : s.waiting.front()->ready);
  if (busy() && t > waiting + patience)
    fail("no progress for " + std::to_string(patience) + " cycles");
  s.t = t + 1;
  return ev;
}

}  // namespace xpusim::rtl
