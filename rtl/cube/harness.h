// Drives the verilated cube unit (rtl/cube/cube_unit.v) through a sequence of s8 mads, one clock
// cycle at a time: plays L0A, L0B and L0C behind its memory ports (each mad's own operands,
// held from its offer) and reads each mad's times and C off the ports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/npu_davinci/cube_unit.h"

namespace xpusim::rtl {

// Waveforms: the cycles from the first cycle mad `vcd_first` is offered on the port to the cycle
// after mad `vcd_last` is done (offer order from 0; empty path: none). Cycle t is dumped at 2t ns
// (inputs applied, clock low) and 2t + 1 ns (after the rising edge).
struct CubeRunOptions {
  std::string vcd_path;
  size_t vcd_first = 0, vcd_last = SIZE_MAX;
};

// What one clock cycle saw happen to a mad.
struct CubeEvent {
  enum Kind {
    start,  // the mad fired (in_valid and in_ready): `cycle` is that cycle
    read,   // op_read: its last step read its last A and B fractals; `cycle` is the cycle after,
            // from which L0A and L0B may change and the unit takes the next mad
    done,   // c_last: its last C fractal was written; `cycle` is the cycle after, C in `c`
  } kind;
  size_t op;                // index in offer order since start()
  uint64_t cycle;           // as above
  std::vector<uint32_t> c;  // done: M x N, row-major
};

// A verilated variant: the fractal (rows x k0 for A) and the latency L.
struct CubeVariant {
  int rows, k0, latency;
};

class CubeHarness {
 public:
  virtual ~CubeHarness();

  // The variants verilated into this binary (rtl/cube/CMakeLists.txt).
  static std::vector<CubeVariant> variants();
  // A fresh unit of that fractal and latency, held in reset; throws Error (naming the variants
  // built) for one not built.
  static std::unique_ptr<CubeHarness> create(int rows, int k0, int latency);

  int rows() const { return rows_; }
  int k0() const { return k0_; }
  int latency() const { return latency_; }

  // start() resets the unit (the next cycle clocked is cycle 0). offer() appends a mad (in
  // order; s8, with its operands for this fractal) that the harness drives from cycle `ready`
  // on (not before the cycles already clocked), and returns its index; it throws Error for a mad
  // the unit does not run. step() clocks one cycle and returns what happened in it; busy() says
  // whether an offered mad is not done yet. While not busy, skip_to() moves to a later cycle
  // without clocking (the idle unit holds its state).
  void start(const CubeRunOptions& opt = {});
  size_t offer(const davinci::CubeOp& op, uint64_t ready);
  std::vector<CubeEvent> step();
  bool busy() const;
  uint64_t cycle() const;
  void skip_to(uint64_t cycle);

 protected:
  CubeHarness(int rows, int k0, int latency);

  // The inputs of one cycle. The data words (32-bit, low first) point into fractals the harness
  // holds; nullptr: zeros.
  struct Inputs {
    bool rst = false, in_valid = false, init = false;
    uint8_t m = 0, k = 0, n = 0;
    const uint32_t* a = nullptr;  // rows k0 / 4 words
    const uint32_t* b = nullptr;  // rows k0 / 4 words
    const uint32_t* c = nullptr;  // rows rows words
  };
  struct Outputs {
    bool in_ready = false, a_ren = false, b_ren = false, op_read = false, c_ren = false,
         c_we = false, c_last = false;
    uint32_t a_raddr = 0, b_raddr = 0, c_raddr = 0, c_waddr = 0;
    std::vector<uint32_t> c_wdata;  // rows rows words, with c_we only
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
  int rows_, k0_, latency_;
  std::unique_ptr<State> st_;
};

}  // namespace xpusim::rtl
