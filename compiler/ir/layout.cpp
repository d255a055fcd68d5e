#include "compiler/ir/layout.h"

#include <algorithm>
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
    case Layout::padded:   // not an element permutation: pack/unpack copy rows
    case Layout::nc1hwc0:  // nor these: pack/unpack scatter by dram_index
    case Layout::img2col_weight:
    case Layout::gemm_b_nc1hwc0:
    case Layout::depthwise_weight:
      return i;
    case Layout::gemm_b_nhwc: {  // rows in (h, w, c) order instead of (c, h, w)
      const int64_t N = s[1], col = i % N, row = i / N;
      const int64_t c = row % l.c, hw = row / l.c;
      return (c * l.h * l.w + hw) * N + col;
    }
  }
  return i;
}
}  // namespace

const char* layout_name(const Layout& l) {
  switch (l.kind) {
    case Layout::row_major:
      return "row-major";
    case Layout::nhwc:
      return "nhwc";
    case Layout::conv_weight:
      return "conv-weight";
    case Layout::gemm_b_nhwc:
      return "gemm-b-nhwc";
    case Layout::padded:
      return "padded";
    case Layout::nc1hwc0:
      return "nc1hwc0";
    case Layout::img2col_weight:
      return "img2col-weight";
    case Layout::gemm_b_nc1hwc0:
      return "gemm-b-nc1hwc0";
    case Layout::depthwise_weight:
      return "depthwise-weight";
  }
  return "?";
}

namespace {
int64_t pad16(int64_t x) {
  return (x + 15) / 16 * 16;
}
// nc1hwc0 and img2col_weight: elements in device memory (padding included), and the element
// index there of the graph's element i.
bool scattered(const Layout& l) {
  return l.kind == Layout::nc1hwc0 || l.kind == Layout::img2col_weight ||
         l.kind == Layout::gemm_b_nc1hwc0 || l.kind == Layout::depthwise_weight;
}
int64_t dram_elements(const std::vector<int64_t>& s, const Layout& l) {
  if (l.kind == Layout::nc1hwc0)
    return (s[0] + l.n_align - 1) / l.n_align * l.n_align * pad16(s[1]) * pad16(s[2] * s[3]);
  if (l.kind == Layout::gemm_b_nc1hwc0) return pad16(l.c) * pad16(l.h * l.w) * pad16(s[1]);
  if (l.kind == Layout::depthwise_weight) return pad16(s[0]) * pad16(s[2] * s[3]);
  return pad16(s[1]) * s[2] * s[3] * pad16(s[0]);  // img2col_weight
}
int64_t dram_index(int64_t i, const std::vector<int64_t>& s, const Layout& l) {
  if (l.kind == Layout::nc1hwc0) {
    const int64_t C = s[1], H = s[2], W = s[3], HWp = pad16(H * W);
    const int64_t w = i % W, h = i / W % H, c = i / W / H % C, n = i / W / H / C;
    return ((n * (pad16(C) / 16) + c / 16) * HWp + h * W + w) * 16 + c % 16;
  }
  if (l.kind == Layout::depthwise_weight) {  // (K, 1, R, S): channel k, tap t
    const int64_t taps = s[2] * s[3], t = i % taps, k = i / taps;
    return (k / 16 * pad16(taps) + t) * 16 + k % 16;
  }
  if (l.kind == Layout::gemm_b_nc1hwc0) {  // row c H W + p of B: slice c / 16, pixel p
    const int64_t N = s[1], col = i % N, row = i / N, c = row / (l.h * l.w), p = row % (l.h * l.w);
    return ((c / 16 * pad16(l.h * l.w) + p) * 16 + c % 16) * pad16(N) + col;
  }
  const int64_t K = s[0], C = s[1], R = s[2], S = s[3];
  const int64_t ss = i % S, r = i / S % R, c = i / S / R % C, k = i / S / R / C;
  return (((c / 16 * R + r) * S + ss) * 16 + c % 16) * pad16(K) + k;
}
}  // namespace

PaddedView padded_view(const std::vector<int64_t>& shape, const Layout& l) {
  const int64_t rank = int64_t(shape.size());
  auto product = [&](int64_t from, int64_t to) {
    int64_t p = 1;
    for (int64_t i = std::max<int64_t>(0, from); i < to; ++i) p *= shape[size_t(i)];
    return p;
  };
  const int64_t col_from = rank - l.col_dims, row_from = col_from - l.row_dims;
  PaddedView v;
  v.cols = product(col_from, rank);
  v.rows = product(row_from, col_from);
  v.batch = product(0, row_from);
  v.rows_p = (std::max(v.rows, l.min_rows) + l.align - 1) / l.align * l.align;
  v.cols_p = (v.cols + l.align - 1) / l.align * l.align;
  return v;
}

int64_t layout_bytes(const TensorInfo& info, const Layout& l) {
  if (scattered(l)) return dram_elements(info.shape, l) * dtype_size(info.dtype);
  if (l.kind != Layout::padded) return info.bytes();
  const PaddedView v = padded_view(info.shape, l);
  const int64_t bytes = v.batch * v.rows_p * v.cols_p * dtype_size(info.dtype);
  return (bytes + l.tail_bytes - 1) / l.tail_bytes * l.tail_bytes;
}

namespace {
// Copies every row of a padded tensor between the graph's data (g) and the padded bytes (p).
template <class F>
void for_padded_rows(const TensorInfo& info, const Layout& l, F copy_row) {
  const PaddedView v = padded_view(info.shape, l);
  const int64_t e = dtype_size(info.dtype);
  for (int64_t b = 0; b < v.batch; ++b)
    for (int64_t r = 0; r < v.rows; ++r)
      copy_row(size_t(((b * v.rows + r) * v.cols) * e), size_t(((b * v.rows_p + r) * v.cols_p) * e),
               size_t(v.cols * e));
}
}  // namespace

std::vector<uint8_t> pack(const Tensor& t, const Layout& l) {
  if (l.kind == Layout::row_major) return t.data;
  if (l.kind == Layout::padded) {
    TensorInfo info;
    info.shape = t.shape;
    info.dtype = t.dtype;
    std::vector<uint8_t> out(size_t(layout_bytes(info, l)), 0);
    for_padded_rows(info, l,
                    [&](size_t g, size_t p, size_t n) { std::memcpy(&out[p], &t.data[g], n); });
    return out;
  }
  TensorInfo info;
  info.shape = t.shape;
  info.dtype = t.dtype;
  const int64_t e = dtype_size(t.dtype);
  if (scattered(l)) {
    std::vector<uint8_t> out(size_t(layout_bytes(info, l)), 0);
    for (int64_t i = 0; i < t.elements(); ++i)
      std::memcpy(&out[size_t(dram_index(i, t.shape, l) * e)], &t.data[size_t(i * e)], size_t(e));
    return out;
  }
  std::vector<uint8_t> out(t.data.size());
  for (int64_t i = 0; i < t.elements(); ++i)
    std::memcpy(&out[size_t(i * e)], &t.data[size_t(graph_index(i, info, l) * e)], size_t(e));
  return out;
}

Tensor unpack(const std::vector<uint8_t>& bytes, const TensorInfo& info, const Layout& l) {
  Tensor t(info.shape, info.dtype);
  if (l.kind == Layout::padded) {
    for_padded_rows(info, l,
                    [&](size_t g, size_t p, size_t n) { std::memcpy(&t.data[g], &bytes[p], n); });
    return t;
  }
  const int64_t e = dtype_size(info.dtype);
  if (scattered(l)) {
    for (int64_t i = 0; i < t.elements(); ++i)
      std::memcpy(&t.data[size_t(i * e)], &bytes[size_t(dram_index(i, info.shape, l) * e)],
                  size_t(e));
    return t;
  }
  for (int64_t i = 0; i < t.elements(); ++i)
    std::memcpy(&t.data[size_t(graph_index(i, info, l) * e)], &bytes[size_t(i * e)], size_t(e));
  return t;
}

}  // namespace xpusim::compiler
