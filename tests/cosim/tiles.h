// Random matmul tiles for the systolic-array cross-checks (test_systolic_cosim.cpp drives the C++
// harness, test_systolic_sc.cpp the SystemC testbench): the same tiles in both.
#pragma once

#include <cstdint>

#include "models/core/random.h"
#include "models/tpu/params.h"
#include "rtl/systolic/harness.h"

namespace xpusim::test {

using rtl::Dataflow;
using rtl::MatmulTile;

inline xpusim::tpu::Dataflow model_dataflow(Dataflow d) {
  return d == Dataflow::ws   ? xpusim::tpu::Dataflow::ws
         : d == Dataflow::os ? xpusim::tpu::Dataflow::os
                             : xpusim::tpu::Dataflow::is;
}

// The bounds of a tile on a rows x cols array: the two mapped dimensions and the streamed one.
struct Bounds {
  int m, k, n;
};
inline Bounds array_bounds(Dataflow df, int rows, int cols, int max_stream) {
  if (df == Dataflow::ws) return {max_stream, rows, cols};
  if (df == Dataflow::os) return {rows, max_stream, cols};
  return {cols, rows, max_stream};
}

inline MatmulTile random_tile(SplitMix64& rng, uint64_t ready, int m, int k, int n) {
  MatmulTile t;
  t.ready = ready;
  t.m = m;
  t.k = k;
  t.n = n;
  t.a.resize(size_t(m) * size_t(k));
  t.b.resize(size_t(k) * size_t(n));
  // Mostly full-range int8, with the extremes often (-128 * -128 sums stress the int32 path).
  auto value = [&] {
    const int pick = rng.range(0, 9);
    return int8_t(pick == 0 ? -128 : pick == 1 ? 127 : rng.range(-128, 127));
  };
  for (auto& x : t.a) x = value();
  for (auto& x : t.b) x = value();
  return t;
}

// A tile with every dimension random within the array's bounds (edge = may be smaller than the
// array; otherwise the mapped dimensions are the array's), the streamed one in [min_s, max_s].
inline MatmulTile sized_tile(SplitMix64& rng, Dataflow df, int rows, int cols, uint64_t ready,
                             bool edge, int min_s, int max_s) {
  const Bounds b = array_bounds(df, rows, cols, max_s);
  auto dim = [&](int bound, bool streamed) {
    if (streamed) return rng.range(min_s, max_s);
    return edge ? rng.range(1, bound) : bound;
  };
  const int m = dim(b.m, df == Dataflow::ws);
  const int k = dim(b.k, df == Dataflow::os);
  const int n = dim(b.n, df == Dataflow::is);
  return random_tile(rng, ready, m, k, n);
}

}  // namespace xpusim::test
