// What the systolic array's ports carry for one matmul tile under a dataflow (the port list at
// the top of systolic_array.v): the stationary rows, the streamed operands, and where each
// output row goes. Input-stationary is the ws datapath with the operands' roles swapped:
// stationary A^T, streamed B^T, results C^T. Plain C++ (no Verilator), so that a driver of
// either verilated form, the C++ harness or a SystemC testbench, packs ports the same way.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "rtl/systolic/harness.h"

namespace xpusim::rtl {

struct TilePorts {
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

}  // namespace xpusim::rtl
