// The layouts with padding or reordering that the DaVinci and GPU targets use
// (compiler/ir/layout.h): where pack puts each element, zeros in the padding, the sizes, and
// unpack(pack(t)) == t.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

#include "compiler/ir/layout.h"
#include "compiler/reference/tensor.h"
#include "tests/layout_support.h"

using namespace xpusim;
using namespace xpusim::compiler;
using namespace xpusim::test;

namespace {

Layout of_kind(Layout::Kind k) {
  Layout l;
  l.kind = k;
  return l;
}

}  // namespace

TEST_CASE("layout nc1hwc0: slices of H*W pixels padded to 16, 16 channels each", "[unit]") {
  // (N, C, H, W) = (2, 20, 3, 5): C1 = 2 slices, 15 pixels padded to 16.
  const Tensor t = counting({2, 20, 3, 5});
  const Layout l = of_kind(Layout::nc1hwc0);
  TensorInfo info;
  info.shape = t.shape;
  info.dtype = t.dtype;
  CHECK(layout_bytes(info, l) == 2 * 2 * 16 * 16 * 2);
  const std::vector<uint8_t> p = pack(t, l);
  REQUIRE(int64_t(p.size()) == layout_bytes(info, l));
  int64_t nonzero = 0;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 32; ++c)
      for (int64_t px = 0; px < 16; ++px) {
        const int64_t dram = ((n * 2 + c / 16) * 16 + px) * 16 + c % 16;
        const bool real = c < 20 && px < 15;
        const int64_t h = px / 5, w = px % 5;
        CHECK(at(p, dram) == (real ? uint16_t(((n * 20 + c) * 3 + h) * 5 + w + 1) : 0));
        nonzero += real;
      }
  CHECK(nonzero == t.elements());
  CHECK(unpack(p, info, l).data == t.data);
  CHECK(std::string(layout_name(l)) == "nc1hwc0");
}

TEST_CASE("layout nc1hwc0 of rank 5: the dims after C are the pixels, row-major", "[unit]") {
  // (2, 20, 3, 5) as (2, 20, 3, 1, 5) and (2, 20, 15): the same bytes as the rank-4 map.
  const Tensor t = counting({2, 20, 3, 5});
  const Layout l = of_kind(Layout::nc1hwc0);
  TensorInfo info;
  info.shape = t.shape;
  info.dtype = t.dtype;
  const std::vector<uint8_t> p = pack(t, l);
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{2, 20, 3, 1, 5}, std::vector<int64_t>{2, 20, 15}}) {
    CHECK(map_pixels(shape) == 15);
    Tensor v = t;
    v.shape = shape;
    TensorInfo vi = info;
    vi.shape = shape;
    CHECK(layout_bytes(vi, l) == layout_bytes(info, l));
    CHECK(pack(v, l) == p);
    CHECK(unpack(p, vi, l).data == t.data);
  }
}

TEST_CASE("layout img2col-weight: rows (C1, r, s, C0), columns K padded to 16", "[unit]") {
  // (K, C, R, S) = (20, 18, 3, 2): rows 2 * 3 * 2 * 16 = 192, columns 32.
  const Tensor t = counting({20, 18, 3, 2});
  const Layout l = of_kind(Layout::img2col_weight);
  TensorInfo info;
  info.shape = t.shape;
  info.dtype = t.dtype;
  CHECK(layout_bytes(info, l) == 192 * 32 * 2);
  const std::vector<uint8_t> p = pack(t, l);
  for (int64_t row = 0; row < 192; ++row)
    for (int64_t k = 0; k < 32; ++k) {
      const int64_t c0 = row % 16, s = row / 16 % 2, r = row / 32 % 3, c1 = row / 96;
      const int64_t c = c1 * 16 + c0;
      const bool real = c < 18 && k < 20;
      CHECK(at(p, row * 32 + k) == (real ? uint16_t(((k * 18 + c) * 3 + r) * 2 + s + 1) : 0));
    }
  CHECK(unpack(p, info, l).data == t.data);
  CHECK(std::string(layout_name(l)) == "img2col-weight");
}

TEST_CASE("layout img2col-weight grouped: a block-diagonal matrix per block of groups", "[unit]") {
  // (K, C/g, R, S) = (20, 3, 1, 2), 4 groups (C = 12, 5 output channels each) in blocks of 3: block
  // 0 has 9 input channels (rows 16 x 1 x 2 = 32) and 15 output channels (16 columns); block 1,
  // one group, 3 input channels (32 rows) and 5 output channels (16 columns).
  const Tensor t = counting({20, 3, 1, 2});
  Layout l = of_kind(Layout::img2col_weight);
  l.groups = 4, l.group_block = 3;
  TensorInfo info;
  info.shape = t.shape;
  info.dtype = t.dtype;
  CHECK(layout_bytes(info, l) == 2 * 32 * 16 * 2);
  const std::vector<uint8_t> p = pack(t, l);
  int64_t nonzero = 0;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t row = 0; row < 32; ++row)
      for (int64_t col = 0; col < 16; ++col) {
        const int64_t ci = row % 16, s = row / 16;  // the block's input channel, tap
        const int64_t g = b * 3 + ci / 3, c = ci % 3, k = b * 15 + col;  // ci's group
        const bool real = g < 4 && (b == 0 ? ci < 9 && col < 15 : ci < 3 && col < 5) &&
                          k / 5 == g;  // input and output channel of the same group
        CHECK(at(p, b * 512 + row * 16 + col) == (real ? uint16_t((k * 3 + c) * 2 + s + 1) : 0));
        nonzero += real;
      }
  CHECK(nonzero == t.elements());
  CHECK(unpack(p, info, l).data == t.data);
  // Stored transposed (an s8 B): each block's columns as rows.
  l.transposed = true;
  const std::vector<uint8_t> q = pack(t, l);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t row = 0; row < 32; ++row)
      for (int64_t col = 0; col < 16; ++col)
        CHECK(at(q, b * 512 + col * 32 + row) == at(p, b * 512 + row * 16 + col));
  CHECK(unpack(q, info, l).data == t.data);
}

TEST_CASE("layout nc1hwc0 with images padded, and gemm-b-nc1hwc0 in its order", "[unit]") {
  // A flattened feature map (3, 18, 2, 3) as gemm rows: 16 images (13 of zeros), each C1 = 2
  // slices of 16 pixels; B (18 * 6, 5) with rows in (C1, pixel, C0) order.
  Layout a;
  a.kind = Layout::nc1hwc0;
  a.n_align = 16;
  const Tensor x = counting({3, 18, 2, 3});
  TensorInfo xi;
  xi.shape = x.shape;
  xi.dtype = x.dtype;
  CHECK(layout_bytes(xi, a) == 16 * 2 * 16 * 16 * 2);
  const std::vector<uint8_t> px = pack(x, a);
  for (int64_t i = 3 * 2 * 16 * 16; i < 16 * 2 * 16 * 16; ++i) CHECK(at(px, i) == 0);
  CHECK(unpack(px, xi, a).data == x.data);
  Layout b;
  b.kind = Layout::gemm_b_nc1hwc0;
  b.c = 18, b.h = 2, b.w = 3;
  const Tensor w = counting({18 * 6, 5});
  TensorInfo wi;
  wi.shape = w.shape;
  wi.dtype = w.dtype;
  CHECK(layout_bytes(wi, b) == 2 * 16 * 16 * 16 * 2);
  const std::vector<uint8_t> pw = pack(w, b);
  for (int64_t row = 0; row < 512; ++row)
    for (int64_t col = 0; col < 16; ++col) {
      const int64_t c = row / 256 * 16 + row % 16, p = row / 16 % 16;
      const bool real = c < 18 && p < 6 && col < 5;
      CHECK(at(pw, row * 16 + col) == (real ? uint16_t((c * 6 + p) * 5 + col + 1) : 0));
    }
  CHECK(unpack(pw, wi, b).data == w.data);
  CHECK(std::string(layout_name(b)) == "gemm-b-nc1hwc0");

  // A globally pooled map (one pixel): B has a row per channel, no padding pixels.
  Layout pooled;
  pooled.kind = Layout::gemm_b_nc1hwc0;
  pooled.c = 18, pooled.h = 1, pooled.w = 1;
  CHECK(gemm_b_pixels(pooled) == 1);
  CHECK(gemm_b_pixels(b) == 16);
  const Tensor v = counting({18, 5});
  TensorInfo vi;
  vi.shape = v.shape;
  vi.dtype = v.dtype;
  CHECK(layout_bytes(vi, pooled) == 32 * 16 * 2);
  const std::vector<uint8_t> pv = pack(v, pooled);
  for (int64_t row = 0; row < 32; ++row)
    for (int64_t col = 0; col < 16; ++col)
      CHECK(at(pv, row * 16 + col) == (row < 18 && col < 5 ? uint16_t(row * 5 + col + 1) : 0));
  CHECK(unpack(pv, vi, pooled).data == v.data);
}

TEST_CASE("layout img2col-weight depthwise: a diagonal C0 x C0 matrix per tap and block",
          "[unit]") {
  // (K, 1, R, S) = (20, 1, 3, 3), 20 groups of one channel in blocks of 16 (C0): block 0 has 16
  // channels, block 1 four (padded to 16); each block 9 taps x 16 rows by 16 columns, nonzero
  // only on each tap's diagonal (16 times the weights' bytes, per block).
  const Tensor t = counting({20, 1, 3, 3});
  Layout l = of_kind(Layout::img2col_weight);
  l.groups = 20, l.group_block = 16;
  TensorInfo info;
  info.shape = t.shape;
  info.dtype = t.dtype;
  CHECK(layout_bytes(info, l) == 2 * 144 * 16 * 2);
  const std::vector<uint8_t> p = pack(t, l);
  int64_t nonzero = 0;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t row = 0; row < 144; ++row)
      for (int64_t col = 0; col < 16; ++col) {
        const int64_t tap = row / 16, k = b * 16 + col;
        const bool real = row % 16 == col && k < 20;
        CHECK(at(p, b * 144 * 16 + row * 16 + col) == (real ? uint16_t(k * 9 + tap + 1) : 0));
        nonzero += real;
      }
  CHECK(nonzero == t.elements());
  CHECK(unpack(p, info, l).data == t.data);
}

TEST_CASE("layout padded, transposed: each matrix's columns as rows (an s8 B of the cube)",
          "[unit]") {
  // (2, 5, 3): two 5 x 3 matrices, padded to 32 x 32, stored as 32 rows (columns) of 32.
  const Tensor t = counting({2, 5, 3});
  Layout l = of_kind(Layout::padded);
  l.align = 32, l.transposed = true;
  TensorInfo info;
  info.shape = t.shape;
  info.dtype = t.dtype;
  CHECK(layout_bytes(info, l) == 2 * 32 * 32 * 2);
  const std::vector<uint8_t> p = pack(t, l);
  REQUIRE(int64_t(p.size()) == layout_bytes(info, l));
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t c = 0; c < 32; ++c)
      for (int64_t r = 0; r < 32; ++r) {
        const bool real = r < 5 && c < 3;
        CHECK(at(p, (b * 32 + c) * 32 + r) == (real ? uint16_t((b * 5 + r) * 3 + c + 1) : 0));
      }
  CHECK(unpack(p, info, l).data == t.data);
}

TEST_CASE("layout nc1hwc0 and img2col-weight with C0 = 32 (s8), the weights transposed", "[unit]") {
  // A map (1, 40, 2, 3): C1 = 2 slices of 32 channels, 6 pixels padded to 16.
  Tensor x({1, 40, 2, 3}, DType::int8);
  for (int64_t i = 0; i < x.elements(); ++i) x.data[size_t(i)] = uint8_t(i % 251 + 1);
  Layout l = of_kind(Layout::nc1hwc0);
  l.c0 = 32;
  TensorInfo xi;
  xi.shape = x.shape;
  xi.dtype = x.dtype;
  CHECK(layout_bytes(xi, l) == 2 * 16 * 32);
  const std::vector<uint8_t> p = pack(x, l);
  for (int64_t c = 0; c < 40; ++c)
    for (int64_t px = 0; px < 6; ++px)
      CHECK(p[size_t(((c / 32) * 16 + px) * 32 + c % 32)] == x.data[size_t(c * 6 + px)]);
  CHECK(unpack(p, xi, l).data == x.data);
  // Weights (K, C, R, S) = (3, 40, 1, 2): rows K (padded to 32) of (C1, r, s, C0) = 128.
  Tensor w({3, 40, 1, 2}, DType::int8);
  for (int64_t i = 0; i < w.elements(); ++i) w.data[size_t(i)] = uint8_t(i % 251 + 1);
  Layout lw = of_kind(Layout::img2col_weight);
  lw.c0 = 32, lw.transposed = true;
  TensorInfo wi;
  wi.shape = w.shape;
  wi.dtype = w.dtype;
  CHECK(layout_bytes(wi, lw) == 32 * 128);
  const std::vector<uint8_t> q = pack(w, lw);
  for (int64_t k = 0; k < 3; ++k)
    for (int64_t c = 0; c < 40; ++c)
      for (int64_t s = 0; s < 2; ++s)
        CHECK(q[size_t(k * 128 + ((c / 32) * 2 + s) * 32 + c % 32)] ==
              w.data[size_t((k * 40 + c) * 2 + s)]);
  CHECK(unpack(q, wi, lw).data == w.data);
}

TEST_CASE("layout mma-fragments: B's tiles of 16 columns x 32 rows in the lanes' load order",
          "[unit]") {
  // B (K, N) = (64, 32): 2 x 2 tiles, tile (n / 16, k / 32) at (n / 16) 2 + k / 32; in a tile,
  // column 8h + g and row 8t + e at 256 h + 8 (4g + t) + e.
  const Tensor b = counting({64, 32});
  const Layout l = of_kind(Layout::mma_fragments);
  TensorInfo info;
  info.shape = b.shape;
  info.dtype = b.dtype;
  CHECK(layout_bytes(info, l) == 64 * 32 * 2);
  const std::vector<uint8_t> p = pack(b, l);
  REQUIRE(int64_t(p.size()) == layout_bytes(info, l));
  // Lane 4g + t's 16 bytes of half h of tile (1, 0): column 16 + 8h + g, rows 8t .. 8t + 7.
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t lane = 0; lane < 32; ++lane)
      for (int64_t e = 0; e < 8; ++e) {
        const int64_t n = 16 + 8 * h + lane / 4, k = 8 * (lane % 4) + e;
        CHECK(at(p, 2 * 512 + 256 * h + 8 * lane + e) == uint16_t(k * 32 + n + 1));
      }
  // The last element of B is the last of tile (1, 1).
  CHECK(at(p, 64 * 32 - 1) == uint16_t(64 * 32));
  CHECK(unpack(p, info, l).data == b.data);
}

TEST_CASE("layout padded, NZ: column blocks of 32 bytes one after another, each all the rows",
          "[unit]") {
  // fp16 (2, 20, 40): two 20 x 40 matrices padded to 32 x 48, each stored as 3 column blocks of
  // 16 columns, each block its 32 rows of 16 elements.
  const Tensor t = counting({2, 20, 40});
  Layout l = of_kind(Layout::padded);
  l.nz = true;
  TensorInfo info;
  info.shape = t.shape;
  info.dtype = t.dtype;
  CHECK(layout_bytes(info, l) == 2 * 32 * 48 * 2);
  const std::vector<uint8_t> p = pack(t, l);
  REQUIRE(int64_t(p.size()) == layout_bytes(info, l));
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t c = 0; c < 48; ++c)
      for (int64_t r = 0; r < 32; ++r) {
        const bool real = r < 20 && c < 40;
        CHECK(at(p, b * 32 * 48 + (c / 16 * 32 + r) * 16 + c % 16) ==
              (real ? uint16_t((b * 20 + r) * 40 + c + 1) : 0));
      }
  CHECK(unpack(p, info, l).data == t.data);

  // s8 B (K, N) = (40, 3), padded to 64 x 32 and stored transposed (32 rows of N, 64 of K):
  // 2 column blocks of 32 K elements, each the 32 rows of N.
  Tensor s({40, 3}, DType::int8);
  for (int64_t i = 0; i < s.elements(); ++i) s.data[size_t(i)] = uint8_t(i + 1);
  Layout ls = of_kind(Layout::padded);
  ls.align = 32, ls.transposed = true, ls.nz = true;
  TensorInfo si;
  si.shape = s.shape;
  si.dtype = s.dtype;
  CHECK(layout_bytes(si, ls) == 64 * 32);
  const std::vector<uint8_t> q = pack(s, ls);
  REQUIRE(int64_t(q.size()) == layout_bytes(si, ls));
  for (int64_t k = 0; k < 64; ++k)
    for (int64_t n = 0; n < 32; ++n)
      CHECK(q[size_t((k / 32 * 32 + n) * 32 + k % 32)] ==
            (k < 40 && n < 3 ? s.data[size_t(k * 3 + n)] : 0));
  CHECK(unpack(q, si, ls).data == s.data);
}

TEST_CASE("layout img2col-weight, NZ: the matrix's column blocks one after another", "[unit]") {
  // (K, C, R, S) = (20, 3, 1, 2): rows (C1, s, C0) = 32, columns K padded to 32; two column
  // blocks of 16 output channels, each 32 rows of 16.
  const Tensor w = counting({20, 3, 1, 2});
  Layout l = of_kind(Layout::img2col_weight);
  l.nz = true;
  TensorInfo info;
  info.shape = w.shape;
  info.dtype = w.dtype;
  CHECK(layout_bytes(info, l) == 32 * 32 * 2);
  const std::vector<uint8_t> p = pack(w, l);
  int64_t nonzero = 0;
  for (int64_t k = 0; k < 32; ++k)
    for (int64_t row = 0; row < 32; ++row) {
      const int64_t s = row / 16, c = row % 16;
      const bool real = k < 20 && c < 3;
      const uint16_t v = at(p, (k / 16 * 32 + row) * 16 + k % 16);
      CHECK(v == (real ? uint16_t((k * 3 + c) * 2 + s + 1) : 0));
      nonzero += v != 0;
    }
  CHECK(nonzero == w.elements());
  CHECK(unpack(p, info, l).data == w.data);
}
