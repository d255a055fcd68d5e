#include "compiler/ir/layout.h"

#include <cstring>

#include "compiler/reference/tensor.h"

namespace xpusim::compiler {

namespace {
// Element index in the graph layout of the element at position i of the DRAM layout.
int64_t graph_index(int64_t i, const TensorInfo& info, const Layout& l) {
  const auto& s = info.shape;
  switch (l.kind) {
    case Layout::row_major:
      return i;
    case Layout::nhwc: {  // DRAM order n, h, w, c
      const int64_t C = s[1], H = s[2], W = s[3];
      const int64_t c = i % C, w = (i / C) % W, h = (i / C / W) % H, n = i / C / W / H;
      return ((n * C + c) * H + h) * W + w;
    }
    case Layout::conv_weight: {  // per group: rows (r, s, c), columns k
      const int64_t K = s[0], Cg = s[1], R = s[2], S = s[3], Kg = K / l.groups;
      const int64_t block = R * S * Cg * Kg, grp = i / block, j = i % block;
      const int64_t kk = j % Kg, row = j / Kg, c = row % Cg, rs = row / Cg, ss = rs % S, r = rs / S;
      return ((grp * Kg + kk) * Cg + c) * R * S + r * S + ss;
    }
    case Layout::gemm_b_nhwc: {  // rows in (h, w, c) order instead of (c, h, w)
      const int64_t N = s[1], col = i % N, row = i / N;
      const int64_t c = row % l.c, hw = row / l.c;
      return (c * l.h * l.w + hw) * N + col;
    }
  }
  return i;
}
}  // namespace

std::vector<uint8_t> pack(const Tensor& t, const Layout& l) {
  if (l.kind == Layout::row_major) return t.data;
  TensorInfo info;
  info.shape = t.shape;
  info.dtype = t.dtype;
  const int64_t e = dtype_size(t.dtype);
  std::vector<uint8_t> out(t.data.size());
  for (int64_t i = 0; i < t.elements(); ++i)
    std::memcpy(&out[size_t(i * e)], &t.data[size_t(graph_index(i, info, l) * e)], size_t(e));
  return out;
}

Tensor unpack(const std::vector<uint8_t>& bytes, const TensorInfo& info, const Layout& l) {
  Tensor t(info.shape, info.dtype);
  const int64_t e = dtype_size(info.dtype);
  for (int64_t i = 0; i < t.elements(); ++i)
    std::memcpy(&t.data[size_t(graph_index(i, info, l) * e)], &bytes[size_t(i * e)], size_t(e));
  return t;
}

}  // namespace xpusim::compiler
