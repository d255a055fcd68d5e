// How a tensor's values are laid out in device memory, and the packing of tensor values into
// that layout and back. Shared by every target: a target's layout pass chooses a layout per
// tensor, the driver packs inputs and params into the memory image and unpacks results.
#pragma once

#include <cstdint>
#include <vector>

#include "compiler/ir/ir.h"

namespace xpusim::compiler {

struct Layout {
  enum Kind {
    row_major,       // as in the graph
    nhwc,            // 4-D activation (N,C,H,W) stored as N,H,W,C (conv2d/pool neighbourhood)
    conv_weight,     // (K, C/g, R, S) stored per block of `group_block` groups (the last block
                     // may have fewer) as a (R*S*b*C/g) x (b*K/g) row-major matrix for b groups:
                     // rows (r, s, input channel of the block), columns the block's output
                     // channels; zero where the two channels are of different groups (a
                     // block-diagonal matrix per tap); one group per block: no zeros
    gemm_b_nhwc,     // gemm B (C*H*W, N) whose A is NHWC: rows reordered to (H*W*C) order
    padded,          // row-major matrices with rows and columns padded with zeros (padded_view)
    nc1hwc0,         // 4-D activation (N,C,H,W) as N, C1 = C/16 slices, H*W pixels padded to a
                     // multiple of 16, C0 = 16 channels: each slice is the NZ column block of an
                     // (H*W) x C matrix (the DaVinci cube's feature-map layout); padding zero.
                     // Of rank 3 or more, (N, C, d2, d3, ...): the pixels are the dims after C,
                     // row-major (map_pixels()), so that a reshape of those dims moves nothing
    img2col_weight,  // conv weight (K, C/g, R, S) as the B of an img2col GEMM: rows
                     // (C1, r, s, C0) with C padded to 16, columns K padded to 16; row-major.
                     // Grouped (groups > 1): a matrix per block of `group_block` groups (the
                     // last may have fewer), one after another, each over the block's input
                     // channels (rows) and output channels (columns), each padded to 16;
                     // zero where the two channels are of different groups
    gemm_b_nc1hwc0,  // gemm B (C*H*W, N) whose A is nc1hwc0: rows in (C1, pixel, C0) order,
                     // each slice's pixels padded to 16 and C to 16, columns N padded to 16
    mma_fragments,   // gemm B (K, N), N a multiple of 16 and K of 32, stored transposed in the
                     // order a warp's lanes load mma.m16n8k16 A fragments (the GPU's small-M
                     // kernel): tiles of 16 columns x 32 rows of B, tile (n / 16, k / 32) at
                     // element ((n / 16) (K / 32) + k / 32) 512; in a tile, column 8h + g
                     // (h = 0, 1) and row 8t + e at 256 h + 8 (4 g + t) + e: each half is 32
                     // pieces of 16 bytes, the one lane 4g + t loads
  } kind = row_major;
  // conv_weight, img2col_weight: groups, and groups per block; gemm_b_*: A's C, H, W.
  int64_t groups = 1, c = 0, h = 0, w = 0;
  int64_t group_block = 1;
  int64_t n_align = 1;  // nc1hwc0: images padded (zeros) to a multiple of this (a gemm's rows)
  // padded: the tensor is read as (batch, rows, cols): cols the product of its last col_dims
  // dims, rows the product of the row_dims dims before them (1 when there are none), batch
  // the rest. Each matrix's rows and cols are padded to multiples of `align`, and the whole to a
  // multiple of `tail_bytes`; padding holds zeros.
  int64_t col_dims = 1, row_dims = 1, align = 16, tail_bytes = 256;
  // nc1hwc0, img2col_weight, gemm_b_nc1hwc0: channels per slice (C0; the
  // weights' columns are padded to it too): 16, or 32 for 1-byte elements (a slice's pixel is 32
  // bytes either way).
  int64_t c0 = 16;
  // padded, img2col_weight, gemm_b_nc1hwc0: each matrix stored transposed (its columns as rows
  // of its padded row count), as the DaVinci cube reads an s8 B without a transposing load.
  bool transposed = false;
  // padded, img2col_weight, gemm_b_nc1hwc0: each matrix (its transpose when transposed) stored
  // in NZ order, the cube's L1 order (Ascend's FRACTAL_NZ, as its offline model converter lays
  // weights out): column blocks of 32 bytes (16 2-byte or 32 1-byte elements) one after another,
  // each all of the matrix's padded rows, 32 bytes a row. The columns are padded to whole blocks
  // (align or C0 is 32 bytes of elements).
  bool nz = false;
  // padded: each matrix has room for at least this many rows (a KV cache's room for the rows a
  // kv_append writes after it, in place); the rows past the tensor's own are zeros.
  int64_t min_rows = 0;
};

// "row-major", "nhwc", "conv-weight", "gemm-b-nhwc", "padded", "nc1hwc0", "img2col-weight",
// "gemm-b-nc1hwc0", "mma-fragments".
const char* layout_name(const Layout& l);

// The padded view of a tensor of `shape` in layout l (kind padded).
struct PaddedView {
  int64_t batch, rows, cols;  // the graph's sizes
  int64_t rows_p, cols_p;     // padded to l.align
};
PaddedView padded_view(const std::vector<int64_t>& shape, const Layout& l);

// The pixels of a tensor in nc1hwc0 (N, C, d2, d3, ...): the product of the dims after C.
int64_t map_pixels(const std::vector<int64_t>& shape);

// Rows per C1 slice of a gemm_b_nc1hwc0 layout: A's H*W pixels padded to 16, or 1 when A has
// one pixel (a globally pooled map, whose gemm reads only the real pixel of each slice).
int64_t gemm_b_pixels(const Layout& l);

// Bytes a tensor takes in device memory in layout l (more than its elements' bytes when padded).
int64_t layout_bytes(const TensorInfo& info, const Layout& l);

// Where a tensor lives in device memory and in which layout.
struct Placement {
  uint64_t addr = 0;
  Layout layout;
};

struct Tensor;
// Bytes of t in layout l, and back.
std::vector<uint8_t> pack(const Tensor& t, const Layout& l);
Tensor unpack(const std::vector<uint8_t>& bytes, const TensorInfo& info, const Layout& l);

}  // namespace xpusim::compiler
