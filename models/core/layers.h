// Per-layer accounting shared by every family: a machine notes each instruction's time span
// and traffic under the layer (graph node) the compiler tagged it with; the driver turns the
// spans into the per-layer results.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace xpusim {

struct LayerSpan {
  uint64_t start = ~uint64_t(0);  // the first of its instructions started (cycle)
  uint64_t done = 0;              // the last of its instructions completed (cycle)
  uint64_t dram_bytes = 0;        // off-chip bytes its instructions moved
};

class LayerTracker {
 public:
  // An instruction of `layer` (negative: none, as in a hand-written program) occupied
  // [start, done) and moved dram_bytes off-chip bytes.
  void note(int layer, uint64_t start, uint64_t done, uint64_t dram_bytes) {
    if (layer < 0) return;
    if (spans_.size() <= size_t(layer)) spans_.resize(size_t(layer) + 1);
    LayerSpan& l = spans_[size_t(layer)];
    l.start = std::min(l.start, start);
    l.done = std::max(l.done, done);
    l.dram_bytes += dram_bytes;
  }
  // Index = layer; layers without instructions are absent at the end or empty ({~0, 0, 0}).
  const std::vector<LayerSpan>& spans() const { return spans_; }

 private:
  std::vector<LayerSpan> spans_;
};

}  // namespace xpusim
