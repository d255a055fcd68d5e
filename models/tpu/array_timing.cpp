#include "models/tpu/array_timing.h"

#include <algorithm>

namespace xpusim::tpu {

ArrayTiming::Times ArrayTiming::issue(uint64_t ready, uint64_t m, uint64_t k, uint64_t n,
                                      uint64_t streamed) {
  const uint64_t L = load_cycles(), S = stream_cycles(m, k, n);
  Times t;
  if (overlap_) {
    t.load_start = std::max(ready, shadow_free_);
    t.stream_ready = std::max({ready, streamed, stream_free_});
    t.stream_start = std::max(t.load_start + L, t.stream_ready);
    // os: a tile's R result rows leave through the C-wide output port one row per cycle, so
    // the last operands of consecutive tiles are at least R cycles apart (a stream shorter
    // than R waits). ws and is emit one result row per streamed row: no such limit.
    if (dataflow_ == Dataflow::os && out_free_ > t.stream_start + S) t.stream_start = out_free_ - S;
    t.stream_end = t.stream_start + S;
    t.done = t.stream_end + skew_cycles();
    shadow_free_ = t.stream_start;
    stream_free_ = t.stream_end;
    out_free_ = t.stream_end + uint64_t(rows_);
  } else {
    t.load_start = t.stream_ready = std::max(ready, stream_free_);
    t.stream_start = std::max(t.load_start + L, streamed);
    t.stream_end = t.stream_start + S;
    t.done = t.stream_end + skew_cycles();
    shadow_free_ = stream_free_ = t.done;
  }
  return t;
}

ArrayTiming::Times ArrayTiming::stream_again(uint64_t ready, uint64_t m, uint64_t k, uint64_t n) {
  const uint64_t S = stream_cycles(m, k, n);
  Times t;
  // The previous stream's end with overlap, else the previous matmul's done: stream_free_.
  t.load_start = t.stream_ready = t.stream_start = std::max(ready, stream_free_);
  if (overlap_ && dataflow_ == Dataflow::os && out_free_ > t.stream_start + S)
    t.stream_start = out_free_ - S;
  t.stream_end = t.stream_start + S;
  t.done = t.stream_end + skew_cycles();
  if (overlap_) {
    stream_free_ = t.stream_end;
    out_free_ = t.stream_end + uint64_t(rows_);
  } else {
    shadow_free_ = stream_free_ = t.done;
  }
  return t;
}

}  // namespace xpusim::tpu
