// Drives the verilated systolic array (rtl/systolic) through a sequence of matmul tiles and
// measures, from its ports, the same per-tile times as xpusim::tpu::ArrayTiming.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/tpu/dataflow.h"

namespace xpusim::rtl {

// The model's dataflow type: the array implements the same three.
using tpu::Dataflow;
using tpu::dataflow_name;

// One matmul tile: C (m x n, int32) = A (m x k) * B (k x n). Per dataflow the array bounds:
// ws k <= rows, n <= cols; os m <= rows, n <= cols; is k <= rows, m <= cols.
struct MatmulTile {
  uint64_t ready = 0;  // cycle its operands are ready: the harness does not start it earlier
  // Cycle its streamed operand is ready, when later than `ready` (the weights may load before
  // it): the harness streams no row of it earlier. kLater: not known yet, and `a` not given
  // (ws: the weights load meanwhile); release() gives both.
  uint64_t stream_ready = 0;
  static constexpr uint64_t kLater = UINT64_MAX;
  int m = 0, k = 0, n = 0;
  std::vector<int8_t> a;  // m x k, row-major
  std::vector<int8_t> b;  // k x n, row-major
  // ws: streams against the weights the array holds from the tile before (b must be those
  // weights): no load (matmul keep=1).
  bool keep = false;
};

// Times measured on the array's ports, in cycles after reset (cycle t ends with edge t).
struct TileResult {
  uint64_t load_start = 0;    // first stationary row fired (os, no load: = stream_start)
  uint64_t stream_start = 0;  // first streamed operand fired
  uint64_t stream_end = 0;    // the cycle after the last streamed operand fired
  uint64_t done = 0;          // the cycle after the tile's last result row was valid
  std::vector<int32_t> c;     // m x n, row-major
};

struct RunOptions {
  // With fold overlap the next tile is offered as soon as its operands are ready (the array's
  // ready signals decide); without, only once the previous tile is done.
  bool fold_overlap = true;
  // A VCD of the cycles from the first cycle tile `vcd_first` is offered to the cycle after tile
  // `vcd_last` is done (empty path: none). Cycle t is dumped at 2t ns (inputs applied, clock low)
  // and 2t + 1 ns (after the rising edge).
  std::string vcd_path;
  size_t vcd_first = 0, vcd_last = 0;
};

// What one clock cycle of the incremental API (SystolicHarness::step) saw happen to a tile.
struct TileEvent {
  enum Kind { load_start, stream_start, stream_end, done } kind;
  size_t tile;             // index in offer order since start()
  uint64_t cycle;          // the time, as in TileResult (stream_end and done: the cycle after)
  std::vector<int32_t> c;  // done: the tile's m x n results
};

class SystolicHarness {
 public:
  virtual ~SystolicHarness();

  // The shapes (rows, cols) built into this binary (rtl/systolic/CMakeLists.txt).
  static std::vector<std::pair<int, int>> shapes();
  // A fresh array of that shape, held in reset; throws Error (naming the shapes built) for a
  // shape not built.
  static std::unique_ptr<SystolicHarness> create(int rows, int cols);

  int rows() const { return rows_; }
  int cols() const { return cols_; }

  // Resets the array and runs the tiles in order; throws Error on a tile that does
  // not fit the array or a protocol error (no progress, an output row that matches no tile).
  std::vector<TileResult> run(Dataflow df, const std::vector<MatmulTile>& tiles,
                              const RunOptions& opt = {});

  // The incremental form of run(), for a simulator that produces tiles as it goes: start()
  // resets the array (the next cycle clocked is cycle 0); offer() appends a tile (in order, its
  // `ready` not before the cycles already clocked) and returns its index, throwing
  // Error when it does not fit; step() clocks one cycle and returns what happened
  // in it; busy() says whether an offered tile is not done yet. While not busy, skip_to() moves
  // to a later cycle without clocking (the idle array holds its state). A done tile's operands
  // are dropped. The VCD window of `opt` counts tiles in offer order.
  void start(Dataflow df, const RunOptions& opt = {});
  size_t offer(MatmulTile tile);
  // Gives tile `index`, offered with stream_ready kLater, its streamed operand and the cycle it is
  // ready (not before the cycles already clocked, but for those skipped while waiting()); throws
  // Error when `a` does not fit the tile.
  void release(size_t index, std::vector<int8_t> a, uint64_t stream_ready);
  std::vector<TileEvent> step();
  bool busy() const;
  // Whether the array only waits for release() of the tile it would stream next: every tile
  // before it done, its weights loaded, none after it offered. Nothing changes in the array
  // until then, so the owner need not clock it: skip_to() is allowed, and release() skips to
  // the cycle it gives.
  bool waiting() const;
  uint64_t cycle() const;
  void skip_to(uint64_t cycle);

 protected:
  SystolicHarness(int rows, int cols);

  // The port-level view of one verilated model (one implementation per shape).
  struct Inputs {
    bool rst = false, mode = false;
    bool w_valid = false;
    bool a_valid = false, a_first = false, a_last = false, a_keep = false;
    uint16_t a_len = 0;
    std::vector<int8_t> w_data;  // cols
    std::vector<int8_t> a_data;  // rows
  };
  struct Outputs {
    bool w_ready = false, a_ready = false, out_valid = false, out_last = false;
    std::vector<int32_t> out_data;  // cols
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
  int rows_, cols_;
  std::unique_ptr<State> st_;
};

}  // namespace xpusim::rtl
