// Drives the verilated tensor core (rtl/tensor_core/tensor_core.v) through a sequence of int8 mma
// operations, one clock cycle at a time, and reads each one's times and D off its ports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/gpu/tensor_unit.h"

namespace xpusim::rtl {

// Waveforms: the cycles from the first cycle op `vcd_first` is offered on the port to the cycle
// after op `vcd_last` is done (offer order from 0; empty path: none). Cycle t is dumped at 2t ns
// (inputs applied, clock low) and 2t + 1 ns (after the rising edge).
struct TensorRunOptions {
  std::string vcd_path;
  size_t vcd_first = 0, vcd_last = SIZE_MAX;
};

// What one clock cycle saw happen to an op.
struct TensorEvent {
  enum Kind {
    start,  // the op fired (in_valid and in_ready): `cycle` is that cycle
    read,   // op_read: its last chunk was read; `cycle` is the cycle after, from which its
            // operands may change and the unit takes the next op
    done,   // out_valid: `cycle` is the cycle after, D in `d`
  } kind;
  size_t op;               // index in offer order since start()
  uint64_t cycle;          // as above
  std::vector<int32_t> d;  // done: 16 x 8, row-major
};

class TensorHarness {
 public:
  virtual ~TensorHarness();

  // The (rate R in MAC/cycle, latency L) pairs verilated into this binary
  // (rtl/tensor_core/CMakeLists.txt).
  static std::vector<std::pair<int, int>> variants();
  // A fresh unit of that rate and latency, held in reset; throws Error (naming the variants
  // built) for one not built.
  static std::unique_ptr<TensorHarness> create(int macs_per_cycle, int latency);

  int macs_per_cycle() const { return rate_; }
  int latency() const { return latency_; }

  // start() resets the unit (the next cycle clocked is cycle 0). offer() appends an op (in
  // order; an int8 m16n8k16 or m16n8k32 with its operands) that the harness drives from cycle
  // `ready` on (not before the cycles already clocked), and returns its index; it throws Error
  // for an op the unit does not run. step() clocks one cycle and returns what happened in it;
  // busy() says whether an offered op is not done yet. While not busy, skip_to() moves to a
  // later cycle without clocking (the idle unit holds its state).
  void start(const TensorRunOptions& opt = {});
  size_t offer(const gpu::MmaOp& op, uint64_t ready);
  std::vector<TensorEvent> step();
  bool busy() const;
  uint64_t cycle() const;
  void skip_to(uint64_t cycle);

 protected:
  TensorHarness(int macs_per_cycle, int latency);

  // An op's operands as the port words (32-bit words, low first): a_data, b_data, c_data.
  struct PortWords {
    uint32_t a[128] = {}, b[64] = {}, c[128] = {};
  };
  struct Inputs {
    bool rst = false, in_valid = false, k32 = false, a_signed = false, b_signed = false;
    const PortWords* words = nullptr;  // nullptr: zeros
    size_t op = SIZE_MAX;              // whose words they are: drive() copies them on a change
  };
  struct Outputs {
    bool in_ready = false, op_read = false, out_valid = false;
    std::vector<int32_t> out_data;  // 128 words, with out_valid only
  };
  // Applies the inputs with the clock low and settles the combinational logic.
  virtual void drive(const Inputs& in) = 0;
  virtual Outputs sample() = 0;
  // One rising and falling clock edge.
  virtual void tick() = 0;
  virtual void trace_open(const std::string& path) = 0;
  virtual void trace_dump(uint64_t time) = 0;
  virtual void trace_close() = 0;

 private:
  struct State;
  int rate_, latency_;
  std::unique_ptr<State> st_;
};

}  // namespace xpusim::rtl
