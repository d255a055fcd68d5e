#include "compiler/ir/layout.h"

#include <algorithm>
#include <cstring>
#include <utility>

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
    case Layout::padded:   // not an element permutation: pack/unpack copy rows
    case Layout::nc1hwc0:  // nor these: pack/unpack scatter by dram_index
    case Layout::conv_weight:
    case Layout::img2col_weight:
    case Layout::gemm_b_nc1hwc0:
    case Layout::mma_fragments:
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
    case Layout::mma_fragments:
      return "mma-fragments";
  }
  return "?";
}

namespace {
int64_t pad16(int64_t x) {
  return (x + 15) / 16 * 16;
}
int64_t pad_to(int64_t x, int64_t a) {
  return (x + a - 1) / a * a;
}
// Layouts with padding or zeros (nc1hwc0, the weight layouts, the padded transposed or NZ ones):
// the element index in device memory (those included) of the graph's element i; elements there
// (not for padded, whose bytes layout_bytes gives).
bool scattered(const Layout& l) {
  return l.kind == Layout::nc1hwc0 || l.kind == Layout::img2col_weight ||
         l.kind == Layout::gemm_b_nc1hwc0 || l.kind == Layout::conv_weight ||
         l.kind == Layout::mma_fragments || (l.kind == Layout::padded && (l.transposed || l.nz));
}
// conv_weight: the elements of the blocks before group block `b` (each block of gb groups a
// (taps gb Cg) x (gb Kg) matrix), `taps` = R*S.
int64_t conv_blocks_elements(int64_t b, int64_t taps, int64_t Cg, int64_t Kg, const Layout& l) {
  const int64_t full = std::min(b, l.groups / l.group_block), gb = l.group_block;
  const int64_t rest = std::min(l.groups - full * gb, (b - full) * gb);
  return (full * gb * gb + rest * rest) * taps * Cg * Kg;
}
// A matrix element (row, col) of a rows_p x cols_p matrix, stored row-major or transposed, and
// with l.nz in column blocks of 32 bytes (`es` bytes an element) of the matrix as stored.
int64_t matrix_index(int64_t row, int64_t col, int64_t rows_p, int64_t cols_p, const Layout& l,
                     int64_t es) {
  if (l.transposed) std::swap(row, col), std::swap(rows_p, cols_p);
  if (!l.nz) return row * cols_p + col;
  const int64_t block = 32 / es;
  return (col / block * rows_p + row) * block + col % block;
}
// img2col_weight of (K, Cg, R, S): the rows and columns of the matrix of a block of gb groups
// (its input channels padded to C0 per r, s; its output channels padded to C0).
struct Img2colBlock {
  int64_t rows, cols;
};
Img2colBlock img2col_block(const std::vector<int64_t>& s, const Layout& l, int64_t gb) {
  const int64_t Kg = s[0] / l.groups;
  return {pad_to(gb * s[1], l.c0) * s[2] * s[3], pad_to(gb * Kg, l.c0)};
}
// img2col_weight: the elements of the blocks before block b (all but the last have group_block
// groups).
int64_t img2col_blocks_elements(int64_t b, const std::vector<int64_t>& s, const Layout& l) {
  const int64_t full = std::min(b, l.groups / l.group_block);
  const Img2colBlock f = img2col_block(s, l, l.group_block);
  const Img2colBlock last = img2col_block(s, l, l.groups % l.group_block);
  return full * f.rows * f.cols + (b > full ? last.rows * last.cols : 0);
}
int64_t dram_elements(const std::vector<int64_t>& s, const Layout& l) {
  const int64_t c0 = l.c0;
  if (l.kind == Layout::conv_weight)
    return conv_blocks_elements((l.groups + l.group_block - 1) / l.group_block, s[2] * s[3], s[1],
                                s[0] / l.groups, l);
  if (l.kind == Layout::nc1hwc0)
    return (s[0] + l.n_align - 1) / l.n_align * l.n_align * pad_to(s[1], c0) * pad16(map_pixels(s));
  if (l.kind == Layout::gemm_b_nc1hwc0)
    return pad_to(l.c, c0) * gemm_b_pixels(l) * pad_to(s[1], c0);
  if (l.kind == Layout::mma_fragments) return s[0] * s[1];
  return img2col_blocks_elements((l.groups + l.group_block - 1) / l.group_block, s, l);
}
// `es`: bytes an element.
int64_t dram_index(int64_t i, const std::vector<int64_t>& s, const Layout& l, int64_t es) {
  const int64_t c0 = l.c0;
  if (l.kind == Layout::padded) {  // transposed or NZ
    const PaddedView v = padded_view(s, l);
    const int64_t col = i % v.cols, row = i / v.cols % v.rows, b = i / v.cols / v.rows;
    return b * v.rows_p * v.cols_p + matrix_index(row, col, v.rows_p, v.cols_p, l, es);
  }
  if (l.kind == Layout::mma_fragments) {  // B (K, N): row k, column n
    const int64_t N = s[1], n = i % N, k = i / N, tile = n / 16 * (s[0] / 32) + k / 32;
    const int64_t h = n % 16 / 8, g = n % 8, t = k % 32 / 8;
    return tile * 512 + h * 256 + (4 * g + t) * 8 + k % 8;
  }
  if (l.kind == Layout::nc1hwc0) {
    const int64_t C = s[1], P = map_pixels(s), Pp = pad16(P);
    const int64_t p = i % P, c = i / P % C, n = i / P / C;
    return ((n * (pad_to(C, c0) / c0) + c / c0) * Pp + p) * c0 + c % c0;
  }
  if (l.kind == Layout::conv_weight) {  // (K, Cg, R, S): output channel k, input c of its group
    const int64_t Cg = s[1], R = s[2], S = s[3], Kg = s[0] / l.groups;
    const int64_t ss = i % S, r = i / S % R, c = i / S / R % Cg, k = i / S / R / Cg;
    const int64_t g = k / Kg, b = g / l.group_block, gi = g % l.group_block;
    const int64_t gb = std::min(l.group_block, l.groups - b * l.group_block);  // groups in block b
    const int64_t row = (r * S + ss) * gb * Cg + gi * Cg + c, col = gi * Kg + k % Kg;
    return conv_blocks_elements(b, R * S, Cg, Kg, l) + row * gb * Kg + col;
  }
  if (l.kind == Layout::gemm_b_nc1hwc0) {  // row c H W + p of B: slice c / c0, pixel p
    const int64_t N = s[1], col = i % N, row = i / N, c = row / (l.h * l.w), p = row % (l.h * l.w);
    return matrix_index((c / c0 * gemm_b_pixels(l) + p) * c0 + c % c0, col,
                        pad_to(l.c, c0) * gemm_b_pixels(l), pad_to(N, c0), l, es);
  }
  // img2col_weight: output channel k of group g = k / Kg, in block g / group_block; its input
  // channel c (of the group) is channel (g % group_block) Cg + c of the block.
  const int64_t Cg = s[1], R = s[2], S = s[3], Kg = s[0] / l.groups;
  const int64_t ss = i % S, r = i / S % R, c = i / S / R % Cg, k = i / S / R / Cg;
  const int64_t g = k / Kg, b = g / l.group_block, gi = g % l.group_block;
  const int64_t ci = gi * Cg + c, ki = gi * Kg + k % Kg;
  const Img2colBlock m = img2col_block(s, l, std::min(l.group_block, l.groups - b * l.group_block));
  return img2col_blocks_elements(b, s, l) +
         matrix_index(((ci / c0 * R + r) * S + ss) * c0 + ci % c0, ki, m.rows, m.cols, l, es);
}
}  // namespace

int64_t map_pixels(const std::vector<int64_t>& shape) {
  int64_t p = 1;
  for (size_t d = 2; d < shape.size(); ++d) p *= shape[d];
  return p;
}

int64_t gemm_b_pixels(const Layout& l) {
  return l.h * l.w == 1 ? 1 : pad16(l.h * l.w);
}

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
  if (scattered(l) && l.kind != Layout::padded)
    return dram_elements(info.shape, l) * dtype_size(info.dtype);
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
  if (l.kind == Layout::padded && !l.transposed && !l.nz) {
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
      std::memcpy(&out[size_t(dram_index(i, t.shape, l, e) * e)], &t.data[size_t(i * e)],
                  size_t(e));
    return out;
  }
  std::vector<uint8_t> out(t.data.size());
  for (int64_t i = 0; i < t.elements(); ++i)
    std::memcpy(&out[size_t(i * e)], &t.data[size_t(graph_index(i, info, l) * e)], size_t(e));
  return out;
}

Tensor unpack(const std::vector<uint8_t>& bytes, const TensorInfo& info, const Layout& l) {
  Tensor t(info.shape, info.dtype);
  if (l.kind == Layout::padded && !l.transposed && !l.nz) {
    for_padded_rows(info, l,
                    [&](size_t g, size_t p, size_t n) { std::memcpy(&t.data[g], &bytes[p], n); });
    return t;
  }
  const int64_t e = dtype_size(info.dtype);
  if (scattered(l)) {
    for (int64_t i = 0; i < t.elements(); ++i)
      std::memcpy(&t.data[size_t(i * e)], &bytes[size_t(dram_index(i, info.shape, l, e) * e)],
                  size_t(e));
    return t;
  }
  for (int64_t i = 0; i < t.elements(); ++i)
    std::memcpy(&t.data[size_t(graph_index(i, info, l) * e)], &bytes[size_t(i * e)], size_t(e));
  return t;
}

}  // namespace xpusim::compiler
