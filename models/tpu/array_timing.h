// Cycle timing of one systolic array: the formula the model uses and the RTL of the array
// (rtl/systolic) must reproduce cycle for cycle. No SystemC here, so tests can drive it alone.
#pragma once

#include <cstdint>

#include "models/tpu/dataflow.h"

namespace xpusim::tpu {

class ArrayTiming {
 public:
  ArrayTiming(int rows, int cols, Dataflow dataflow, bool fold_overlap)
      : rows_(rows), cols_(cols), dataflow_(dataflow), overlap_(fold_overlap) {}

  struct Times {
    uint64_t load_start;    // the stationary operand starts loading (R cycles; none for os)
    uint64_t stream_ready;  // the stream could start here were the operand already loaded
    uint64_t stream_start;  // the first streamed operand enters the array
    uint64_t stream_end;    // the streamed operand has entered: operands are read
    uint64_t done;          // the last result has left the array
  };

  // Cycles of the stationary-operand load, of the stream and of the skew for an m x k x n
  // matmul.
  uint64_t load_cycles() const { return dataflow_ == Dataflow::os ? 0 : uint64_t(rows_); }
  uint64_t stream_cycles(uint64_t m, uint64_t k, uint64_t n) const {
    return dataflow_ == Dataflow::ws ? m : dataflow_ == Dataflow::os ? k : n;
  }
  uint64_t skew_cycles() const { return uint64_t(rows_ + cols_ - 2); }

  // Times of the next matmul, whose operands are ready at cycle `ready`, but for the streamed
  // one (and the results' accumulators), ready at `streamed` when that is later (a weight load
  // does not wait for the rows streamed against it); matmuls are issued in order. With fold
  // overlap the stationary operand is double-buffered: the load may start when the previous
  // stream starts, and the stream when the load is done, the previous stream has ended and
  // `streamed` has come; for os, a stream also ends at least R cycles after the previous one
  // (the R result rows of a tile share the output port). Without fold overlap, each matmul
  // starts when the previous one is done (and streams from `streamed` on). rtl/systolic
  // reproduces these times exactly.
  Times issue(uint64_t ready, uint64_t m, uint64_t k, uint64_t n, uint64_t streamed = 0);
  // The same for a matmul that streams against the stationary operand already in the array
  // (another bf16 part of an fp32 operand): no load. The RTL does not run these.
  Times stream_again(uint64_t ready, uint64_t m, uint64_t k, uint64_t n);

  // The earliest cycle the next matmul can start doing anything.
  uint64_t next_free() const { return shadow_free_; }

 private:
  int rows_, cols_;
  Dataflow dataflow_;
  bool overlap_;
  uint64_t stream_free_ = 0, shadow_free_ = 0;
  uint64_t out_free_ = 0;  // os: the earliest end of the next stream (output port)
};

}  // namespace xpusim::tpu
