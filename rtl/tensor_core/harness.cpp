// The tensor-core harness: packs each op into port words, holds them on the operand port from the
// cycle the op is offered until the unit has read its last chunk, and reads the times and D off
// the handshakes and out_valid.
#include "rtl/tensor_core/harness.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "models/core/error.h"
#include "rtl/common/verilated_top.h"
#include "tensor_variants.h"  // generated: the verilated variants' headers and their list

namespace xpusim::rtl {

namespace {

using isa::ptx::ElemType;
using isa::ptx::MmaShape;

// One verilated variant behind the harness's port view; each model has a context of its own.
template <class V>
class VerilatedTensor final : public VerilatedTop<V, TensorHarness> {
 public:
  VerilatedTensor(int rate, int latency)
      : VerilatedTop<V, TensorHarness>("tensor", rate, latency) {}

 private:
  using VerilatedTop<V, TensorHarness>::top_;
  using Inputs = typename TensorHarness::Inputs;
  using Outputs = typename TensorHarness::Outputs;
  using PortWords = typename TensorHarness::PortWords;

 protected:
  void drive(const Inputs& in) override {
    top_->clk = 0;
    top_->rst = in.rst;
    top_->in_valid = in.in_valid;
    top_->k32 = in.k32;
    top_->a_signed = in.a_signed;
    top_->b_signed = in.b_signed;
    // The port words change only when another op comes onto the port.
    if (!driven_ || in.op != op_) {
      static const PortWords zeros;
      const PortWords& w = in.words ? *in.words : zeros;
      for (size_t i = 0; i < 128; ++i) top_->a_data[i] = w.a[i];
      for (size_t i = 0; i < 64; ++i) top_->b_data[i] = w.b[i];
      for (size_t i = 0; i < 128; ++i) top_->c_data[i] = w.c[i];
      driven_ = true;
      op_ = in.op;
    }
    top_->eval();
  }
  Outputs sample() override {
    Outputs o;
    o.in_ready = top_->in_ready;
    o.op_read = top_->op_read;
    o.out_valid = top_->out_valid;
    if (o.out_valid) {
      o.out_data.resize(128);
      for (size_t i = 0; i < 128; ++i) o.out_data[i] = int32_t(top_->out_data[i]);
    }
    return o;
  }

 private:
  bool driven_ = false;
  size_t op_ = SIZE_MAX;  // the op whose words are on the port
};

bool is_int8(ElemType t) {
  return t == ElemType::s8 || t == ElemType::u8;
}

}  // namespace

std::vector<std::pair<int, int>> TensorHarness::variants() {
  std::vector<std::pair<int, int>> v;
#define XPUSIM_VARIANT(R, L, V) v.emplace_back(R, L);
  XPUSIM_TENSOR_VARIANTS(XPUSIM_VARIANT)
#undef XPUSIM_VARIANT
  return v;
}

std::unique_ptr<TensorHarness> TensorHarness::create(int macs_per_cycle, int latency) {
#define XPUSIM_VARIANT(R, L, V) \
  if (macs_per_cycle == R && latency == L) return std::make_unique<VerilatedTensor<V>>(R, L);
  XPUSIM_TENSOR_VARIANTS(XPUSIM_VARIANT)
#undef XPUSIM_VARIANT
  std::string built;
  for (const auto& [r, l] : variants())
    built += (built.empty() ? "" : ", ") + std::to_string(r) + " MAC/cycle with latency " +
             std::to_string(l);
  throw Error("no verilated tensor core of " + std::to_string(macs_per_cycle) +
              " MAC/cycle with latency " + std::to_string(latency) + " in this build (built: " +
              built + "; the list is XPUSIM_TENSOR_VARIANTS in rtl/tensor_core/CMakeLists.txt)");
}

// The protocol's state between cycles: the ops not yet fired (`waiting`, in order), the op on the
// port being read, and the fired ops not done yet (in order: done comes out in fire order).
struct TensorHarness::State {
  struct Op {
    size_t index;
    uint64_t ready;
    bool k32, a_signed, b_signed;
    PortWords words;
  };
  TensorRunOptions opt;
  std::deque<std::unique_ptr<Op>> waiting;
  std::unique_ptr<Op> reading;  // fired, its last chunk not read yet
  std::deque<size_t> in_flight;
  size_t count = 0;  // ops offered
  bool tracing = false;
  uint64_t close_at = UINT64_MAX;  // the cycle after op vcd_last is done
  uint64_t last_event = 0, t = 0;
};

TensorHarness::TensorHarness(int macs_per_cycle, int latency)
    : rate_(macs_per_cycle), latency_(latency) {}
TensorHarness::~TensorHarness() = default;

void TensorHarness::start(const TensorRunOptions& opt) {
  st_ = std::make_unique<State>();
  st_->opt = opt;
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

size_t TensorHarness::offer(const gpu::MmaOp& op, uint64_t ready) {
  if (!st_) throw Error("internal: tensor harness: offer() before start()");
  const size_t k = size_t(op.k());
  if (!is_int8(op.a) || !is_int8(op.b) ||
      (op.shape != MmaShape::m16n8k16 && op.shape != MmaShape::m16n8k32) ||
      op.a_bytes.size() != 16 * k || op.b_bytes.size() != k * 8 || op.c.size() != 128)
    throw Error("tensor harness: op " + std::to_string(st_->count) +
                " is not an int8 m16n8k16/m16n8k32 mma with 16 x K A, K x 8 B and 16 x 8 C");
  auto o = std::make_unique<State::Op>(State::Op{st_->count,
                                                 std::max(ready, st_->t),
                                                 op.shape == MmaShape::m16n8k32,
                                                 op.a == ElemType::s8,
                                                 op.b == ElemType::s8,
                                                 {}});
  // a_data byte 32 i + k = A[i][k]; b_data byte 32 j + k = B[k][j]; c_data word 8 i + j.
  auto put = [](uint32_t* words, size_t byte, uint8_t v) {
    words[byte / 4] |= uint32_t(v) << (8 * (byte % 4));
  };
  for (size_t i = 0; i < 16; ++i)
    for (size_t x = 0; x < k; ++x) put(o->words.a, 32 * i + x, op.a_bytes[i * k + x]);
  for (size_t x = 0; x < k; ++x)
    for (size_t j = 0; j < 8; ++j) put(o->words.b, 32 * j + x, op.b_bytes[x * 8 + j]);
  for (size_t i = 0; i < 128; ++i) o->words.c[i] = uint32_t(op.c[i]);
  st_->waiting.push_back(std::move(o));
  return st_->count++;
}

bool TensorHarness::busy() const {
  return st_ && (!st_->waiting.empty() || st_->reading || !st_->in_flight.empty());
}

uint64_t TensorHarness::cycle() const {
  return st_ ? st_->t : 0;
}

void TensorHarness::skip_to(uint64_t cycle) {
  if (!st_ || busy()) throw Error("internal: tensor harness: skip_to() while busy");
  if (cycle > st_->t) st_->t = st_->last_event = cycle;
}

std::vector<TensorEvent> TensorHarness::step() {
  if (!st_) throw Error("internal: tensor harness: step() before start()");
  State& s = *st_;
  const uint64_t t = s.t;
  const TensorRunOptions& opt = s.opt;
  std::vector<TensorEvent> ev;
  auto fail = [&](const std::string& what) {
    throw Error("tensor harness: " + what + " at cycle " + std::to_string(t));
  };

  // The port holds the op being read; otherwise it offers the next one from its ready cycle.
  Inputs in;
  const State::Op* on_port = s.reading.get();
  if (!on_port && !s.waiting.empty() && s.waiting.front()->ready <= t) {
    on_port = s.waiting.front().get();
    in.in_valid = true;
  }
  if (on_port) {
    in.k32 = on_port->k32;
    in.a_signed = on_port->a_signed;
    in.b_signed = on_port->b_signed;
    in.words = &on_port->words;
    in.op = on_port->index;
  }
  drive(in);

  if (!opt.vcd_path.empty() && !s.tracing && t <= s.close_at && in.in_valid &&
      s.waiting.front()->index >= opt.vcd_first)
    s.tracing = true;
  if (s.tracing) trace_dump(2 * t);

  Outputs o = sample();
  if (s.reading && o.in_ready)
    fail("in_ready while op " + std::to_string(s.reading->index) + " is still being read");
  if (in.in_valid && o.in_ready) {
    s.reading = std::move(s.waiting.front());
    s.waiting.pop_front();
    s.in_flight.push_back(s.reading->index);
    ev.push_back({TensorEvent::start, s.reading->index, t, {}});
  }
  if (o.op_read) {
    if (!s.reading) fail("op_read with no op on the port");
    ev.push_back({TensorEvent::read, s.reading->index, t + 1, {}});
  }
  if (o.out_valid) {
    if (s.in_flight.empty()) fail("out_valid with no op in flight");
    const size_t op = s.in_flight.front();
    s.in_flight.pop_front();
    ev.push_back({TensorEvent::done, op, t + 1, std::move(o.out_data)});
    if (op == opt.vcd_last) s.close_at = t + 1;
  }
  if (!ev.empty()) s.last_event = t;

  tick();
  if (o.op_read) s.reading.reset();
  if (s.tracing) trace_dump(2 * t + 1);
  if (s.tracing && t >= s.close_at) {
    trace_close();
    s.tracing = false;
  }

  const uint64_t patience = uint64_t(latency_) + 4096 / uint64_t(rate_) + 64;
  const uint64_t waiting = std::max(s.last_event, s.waiting.empty() ? 0 : s.waiting.front()->ready);
  if (busy() && t > waiting + patience)
    fail("no progress for " + std::to_string(patience) + " cycles");
  s.t = t + 1;
  return ev;
}

}  // namespace xpusim::rtl
