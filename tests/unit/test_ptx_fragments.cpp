// Warp-level matrix fragments (isa/ptx/fragments.h): the mma.sync/ldmatrix/wmma mappings cover
// every element once and agree with the PTX ISA formulas; gathering random matrices into a
// simulated warp's registers, running the warp's mma/wmma and scattering the result reproduces
// D = A*B + C computed here on whole matrices.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "isa/ptx/fragments.h"
#include "isa/ptx/numeric.h"

using namespace xpusim::isa::ptx;

namespace {

struct Case {
  MmaShape shape;
  MmaTypes types;
};

const Case kCases[] = {
    {MmaShape::m16n8k8, {ElemType::f16, ElemType::f16, ElemType::f32, ElemType::f32}},
    {MmaShape::m16n8k8, {ElemType::f16, ElemType::f16, ElemType::f16, ElemType::f16}},
    {MmaShape::m16n8k8, {ElemType::bf16, ElemType::bf16, ElemType::f32, ElemType::f32}},
    {MmaShape::m16n8k8, {ElemType::tf32, ElemType::tf32, ElemType::f32, ElemType::f32}},
    {MmaShape::m16n8k16, {ElemType::f16, ElemType::f16, ElemType::f32, ElemType::f32}},
    {MmaShape::m16n8k16, {ElemType::f16, ElemType::f16, ElemType::f16, ElemType::f32}},
    {MmaShape::m16n8k16, {ElemType::f16, ElemType::f16, ElemType::f32, ElemType::f16}},
    {MmaShape::m16n8k16, {ElemType::bf16, ElemType::bf16, ElemType::f32, ElemType::f32}},
    {MmaShape::m16n8k16, {ElemType::s8, ElemType::s8, ElemType::s32, ElemType::s32}},
    {MmaShape::m16n8k16, {ElemType::u8, ElemType::s8, ElemType::s32, ElemType::s32}},
    {MmaShape::m16n8k32, {ElemType::s8, ElemType::u8, ElemType::s32, ElemType::s32}},
    {MmaShape::m16n8k32, {ElemType::u8, ElemType::u8, ElemType::s32, ElemType::s32}},
};

// Checks that a lane/element mapping covers a rows x cols matrix exactly once.
template <typename Map>
void require_covers_once(int rows, int cols, int count, Map map) {
  std::vector<int> seen(size_t(rows * cols), 0);
  for (int lane = 0; lane < kWarpSize; ++lane)
    for (int i = 0; i < count; ++i) {
      const RowCol rc = map(lane, i);
      REQUIRE(rc.row >= 0);
      REQUIRE(rc.row < rows);
      REQUIRE(rc.col >= 0);
      REQUIRE(rc.col < cols);
      ++seen[size_t(rc.row * cols + rc.col)];
    }
  for (int v : seen) REQUIRE(v == 1);
}

// A random element of type t as bits; floats are kept small so that sums do not overflow.
uint32_t random_elem(ElemType t, std::mt19937_64& rng) {
  const float f = float(int(rng() % 2001) - 1000) / 64.0f * (rng() % 8 == 0 ? 1e-3f : 1.0f);
  switch (t) {
    case ElemType::f16:
      return f32_to_f16(f);
    case ElemType::bf16:
      return f32_to_bf16(f);
    case ElemType::tf32:  // with low bits that the multiply must ignore
      return f32_bits(f) | uint32_t(rng() & 0x1fff);
    case ElemType::s8:
    case ElemType::u8:
      return uint32_t(rng() & 0xff);
    case ElemType::s32:
      return uint32_t(rng());
    default:
      return f32_bits(f * 100.0f);
  }
}

float value(ElemType t, uint32_t bits) {
  if (t == ElemType::f16) return f16_to_f32(uint16_t(bits));
  if (t == ElemType::bf16) return bf16_to_f32(uint16_t(bits));
  if (t == ElemType::tf32) return f32_from(bits & 0xffffe000u);
  return f32_from(bits);
}

// D = A*B + C computed here: floats accumulate exact products in f32 in k order (one rounding
// per step), integers wrap at 32 bits.
std::vector<uint32_t> expected(const MmaTypes& t, int m, int n, int k,
                               const std::vector<uint32_t>& A, const std::vector<uint32_t>& B,
                               const std::vector<uint32_t>& C) {
  std::vector<uint32_t> D(size_t(m * n));
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      if (t.c == ElemType::s32) {
        int64_t acc = int32_t(C[size_t(i * n + j)]);
        for (int x = 0; x < k; ++x) {
          const uint32_t a = A[size_t(i * k + x)], b = B[size_t(x * n + j)];
          const int64_t va = t.a == ElemType::s8 ? int8_t(a) : int64_t(a);
          const int64_t vb = t.b == ElemType::s8 ? int8_t(b) : int64_t(b);
          acc += va * vb;
        }
        D[size_t(i * n + j)] = uint32_t(uint64_t(acc));
        continue;
      }
      float acc = value(t.c, C[size_t(i * n + j)]);
      for (int x = 0; x < k; ++x)
        acc = std::fma(value(t.a, A[size_t(i * k + x)]), value(t.b, B[size_t(x * n + j)]), acc);
      D[size_t(i * n + j)] = t.d == ElemType::f16 ? f32_to_f16(acc) : f32_bits(acc);
    }
  return D;
}

}  // namespace

TEST_CASE("ptx fragments: mma fragment shapes and full coverage of every operand", "[ptx]") {
  for (const Case& c : kCases) {
    REQUIRE(mma_supported(c.shape, c.types));
    const MmaDims d = mma_dims(c.shape);
    const FragShape fa = mma_frag_shape(c.shape, FragOperand::a, c.types.a);
    const FragShape fb = mma_frag_shape(c.shape, FragOperand::b, c.types.b);
    const FragShape fc = mma_frag_shape(c.shape, FragOperand::c, c.types.c);
    REQUIRE(fa.regs * fa.per_reg * kWarpSize == d.m * d.k);
    REQUIRE(fb.regs * fb.per_reg * kWarpSize == d.k * d.n);
    REQUIRE(fc.regs * fc.per_reg * kWarpSize == d.m * d.n);
    require_covers_once(d.m, d.k, fa.regs * fa.per_reg, [&](int lane, int i) {
      return mma_frag_elem(c.shape, FragOperand::a, c.types.a, lane, i);
    });
    require_covers_once(d.k, d.n, fb.regs * fb.per_reg, [&](int lane, int i) {
      return mma_frag_elem(c.shape, FragOperand::b, c.types.b, lane, i);
    });
    require_covers_once(d.m, d.n, 4, [&](int lane, int i) {
      return mma_frag_elem(c.shape, FragOperand::c, c.types.c, lane, i);
    });
  }
  // Register counts as the PTX ISA lists them.
  REQUIRE(mma_frag_shape(MmaShape::m16n8k16, FragOperand::a, ElemType::f16).regs == 4);
  REQUIRE(mma_frag_shape(MmaShape::m16n8k16, FragOperand::b, ElemType::bf16).regs == 2);
  REQUIRE(mma_frag_shape(MmaShape::m16n8k16, FragOperand::c, ElemType::f16).regs == 2);
  REQUIRE(mma_frag_shape(MmaShape::m16n8k16, FragOperand::c, ElemType::f32).regs == 4);
  REQUIRE(mma_frag_shape(MmaShape::m16n8k8, FragOperand::a, ElemType::f16).regs == 2);
  REQUIRE(mma_frag_shape(MmaShape::m16n8k8, FragOperand::b, ElemType::f16).regs == 1);
  REQUIRE(mma_frag_shape(MmaShape::m16n8k8, FragOperand::a, ElemType::tf32).regs == 4);
  REQUIRE(mma_frag_shape(MmaShape::m16n8k8, FragOperand::b, ElemType::tf32).regs == 2);
  REQUIRE(mma_frag_shape(MmaShape::m16n8k16, FragOperand::a, ElemType::s8).regs == 2);
  REQUIRE(mma_frag_shape(MmaShape::m16n8k16, FragOperand::b, ElemType::u8).regs == 1);
  REQUIRE(mma_frag_shape(MmaShape::m16n8k32, FragOperand::a, ElemType::s8).regs == 4);
  REQUIRE(mma_frag_shape(MmaShape::m16n8k32, FragOperand::b, ElemType::s8).regs == 2);
  REQUIRE(mma_frag_shape(MmaShape::m16n8k32, FragOperand::c, ElemType::s32).regs == 4);
  // Combinations PTX does not have.
  REQUIRE(!mma_supported(MmaShape::m16n8k32,
                         {ElemType::f16, ElemType::f16, ElemType::f32, ElemType::f32}));
  REQUIRE(!mma_supported(MmaShape::m16n8k16,
                         {ElemType::tf32, ElemType::tf32, ElemType::f32, ElemType::f32}));
  REQUIRE(!mma_supported(MmaShape::m16n8k16,
                         {ElemType::bf16, ElemType::bf16, ElemType::f16, ElemType::f16}));
  REQUIRE(!mma_supported(MmaShape::m16n8k8,
                         {ElemType::s8, ElemType::s8, ElemType::s32, ElemType::s32}));
  REQUIRE(!mma_supported(MmaShape::m16n8k16,
                         {ElemType::f16, ElemType::bf16, ElemType::f32, ElemType::f32}));
}

TEST_CASE("ptx fragments: mma mappings match the PTX ISA formulas at sample lanes", "[ptx]") {
  // Lane 13: groupID 3, threadID_in_group 1.
  auto a16 = [](int i) {
    return mma_frag_elem(MmaShape::m16n8k16, FragOperand::a, ElemType::f16, 13, i);
  };
  REQUIRE(a16(0).row == 3);
  REQUIRE(a16(0).col == 2);
  REQUIRE(a16(1).col == 3);
  REQUIRE(a16(2).row == 11);
  REQUIRE(a16(5).row == 3);
  REQUIRE(a16(5).col == 11);
  REQUIRE(a16(7).row == 11);
  REQUIRE(a16(7).col == 11);
  const RowCol b3 = mma_frag_elem(MmaShape::m16n8k16, FragOperand::b, ElemType::bf16, 13, 3);
  REQUIRE(b3.row == 11);
  REQUIRE(b3.col == 3);
  const RowCol c2 = mma_frag_elem(MmaShape::m16n8k16, FragOperand::c, ElemType::f32, 13, 2);
  REQUIRE(c2.row == 11);
  REQUIRE(c2.col == 2);
  const RowCol t1 = mma_frag_elem(MmaShape::m16n8k8, FragOperand::a, ElemType::tf32, 13, 1);
  REQUIRE(t1.row == 11);
  REQUIRE(t1.col == 1);
  const RowCol t2 = mma_frag_elem(MmaShape::m16n8k8, FragOperand::a, ElemType::tf32, 13, 2);
  REQUIRE(t2.row == 3);
  REQUIRE(t2.col == 5);
  const RowCol tb = mma_frag_elem(MmaShape::m16n8k8, FragOperand::b, ElemType::tf32, 13, 1);
  REQUIRE(tb.row == 5);
  REQUIRE(tb.col == 3);
  const RowCol i8a = mma_frag_elem(MmaShape::m16n8k16, FragOperand::a, ElemType::s8, 13, 6);
  REQUIRE(i8a.row == 11);
  REQUIRE(i8a.col == 6);
  const RowCol k32a = mma_frag_elem(MmaShape::m16n8k32, FragOperand::a, ElemType::u8, 13, 9);
  REQUIRE(k32a.row == 3);
  REQUIRE(k32a.col == 21);
  const RowCol k32a2 = mma_frag_elem(MmaShape::m16n8k32, FragOperand::a, ElemType::u8, 13, 14);
  REQUIRE(k32a2.row == 11);
  REQUIRE(k32a2.col == 22);
  const RowCol k32b = mma_frag_elem(MmaShape::m16n8k32, FragOperand::b, ElemType::s8, 13, 5);
  REQUIRE(k32b.row == 21);
  REQUIRE(k32b.col == 3);
}

TEST_CASE("ptx fragments: ldmatrix x4 and x2.trans deliver the mma.m16n8k16 fragments", "[ptx]") {
  // A 16 x 16 row-major A and a 16 x 8 row-major B with distinct elements.
  uint16_t A[16][16], B[16][8];
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) A[r][c] = uint16_t(r * 16 + c);
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 8; ++c) B[r][c] = uint16_t(1000 + r * 8 + c);
  // x4 on A: matrices (rows 0-7, cols 0-7), (rows 8-15, cols 0-7), (0-7, 8-15), (8-15, 8-15).
  uint16_t rows[32][8];
  for (int lane = 0; lane < 32; ++lane) {
    const int m = lane / 8, r = lane % 8;
    REQUIRE(ldmatrix_row_lane(m, r) == lane);
    for (int c = 0; c < 8; ++c) rows[lane][c] = A[r + 8 * (m & 1)][c + 8 * (m >> 1)];
  }
  WarpFrag fa;
  ldmatrix_distribute(4, false, rows, fa);
  const FragShape sa = mma_frag_shape(MmaShape::m16n8k16, FragOperand::a, ElemType::f16);
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 8; ++i) {
      const RowCol rc = mma_frag_elem(MmaShape::m16n8k16, FragOperand::a, ElemType::f16, lane, i);
      REQUIRE(frag_get(fa, sa, 16, lane, i) == A[rc.row][rc.col]);
    }
  // x2.trans on B: matrix 0 is rows k 0-7, matrix 1 rows k 8-15 (memory rows of B).
  for (int lane = 0; lane < 16; ++lane)
    for (int c = 0; c < 8; ++c) rows[lane][c] = B[lane][c];
  WarpFrag fb;
  ldmatrix_distribute(2, true, rows, fb);
  const FragShape sb = mma_frag_shape(MmaShape::m16n8k16, FragOperand::b, ElemType::f16);
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i) {
      const RowCol rc = mma_frag_elem(MmaShape::m16n8k16, FragOperand::b, ElemType::f16, lane, i);
      REQUIRE(frag_get(fb, sb, 16, lane, i) == B[rc.row][rc.col]);
    }
  // x1 without .trans: lane l holds row l/4, columns 2(l%4) and 2(l%4)+1 (Figure 104).
  WarpFrag f1;
  ldmatrix_distribute(1, false, rows, f1);
  REQUIRE(f1.r[6][0] == (uint32_t(B[1][5]) << 16 | B[1][4]));
  REQUIRE(f1.r[6][1] == 0u);
  REQUIRE(ldmatrix_elem(true, 6, 1).row == 5);
  REQUIRE(ldmatrix_elem(true, 6, 1).col == 1);
}

TEST_CASE("ptx fragments: gather, mma.sync on the warp, scatter equals D = A*B + C", "[ptx]") {
  std::mt19937_64 rng(21);
  for (const Case& c : kCases) {
    const MmaDims d = mma_dims(c.shape);
    for (int trial = 0; trial < 4; ++trial) {
      std::vector<uint32_t> A(size_t(d.m * d.k)), B(size_t(d.k * d.n)), C(size_t(d.m * d.n));
      for (auto& x : A) x = random_elem(c.types.a, rng);
      for (auto& x : B) x = random_elem(c.types.b, rng);
      for (auto& x : C) x = random_elem(c.types.c, rng);
      if (c.types.c == ElemType::s32 && trial == 0)
        for (auto& x : C) x = 0x7ffffff0u;  // the sum wraps past INT32_MAX
      // Gather each operand into the warp's registers with the mapping.
      WarpFrag fa, fb, fc, fd;
      const FragShape sa = mma_frag_shape(c.shape, FragOperand::a, c.types.a);
      const FragShape sb = mma_frag_shape(c.shape, FragOperand::b, c.types.b);
      const FragShape sc = mma_frag_shape(c.shape, FragOperand::c, c.types.c);
      const FragShape sd = mma_frag_shape(c.shape, FragOperand::c, c.types.d);
      for (int lane = 0; lane < kWarpSize; ++lane) {
        for (int i = 0; i < sa.regs * sa.per_reg; ++i) {
          const RowCol rc = mma_frag_elem(c.shape, FragOperand::a, c.types.a, lane, i);
          frag_set(fa, sa, elem_bits(c.types.a), lane, i, A[size_t(rc.row * d.k + rc.col)]);
        }
        for (int i = 0; i < sb.regs * sb.per_reg; ++i) {
          const RowCol rc = mma_frag_elem(c.shape, FragOperand::b, c.types.b, lane, i);
          frag_set(fb, sb, elem_bits(c.types.b), lane, i, B[size_t(rc.row * d.n + rc.col)]);
        }
        for (int i = 0; i < 4; ++i) {
          const RowCol rc = mma_frag_elem(c.shape, FragOperand::c, c.types.c, lane, i);
          frag_set(fc, sc, elem_bits(c.types.c), lane, i, C[size_t(rc.row * d.n + rc.col)]);
        }
      }
      mma_sync(c.shape, c.types, fa, fb, fc, fd);
      const std::vector<uint32_t> want = expected(c.types, d.m, d.n, d.k, A, B, C);
      for (int lane = 0; lane < kWarpSize; ++lane)
        for (int i = 0; i < 4; ++i) {
          const RowCol rc = mma_frag_elem(c.shape, FragOperand::c, c.types.d, lane, i);
          INFO("shape " << int(c.shape) << " a " << int(c.types.a) << " lane " << lane << " i "
                        << i);
          REQUIRE(frag_get(fd, sd, elem_bits(c.types.d), lane, i) ==
                  want[size_t(rc.row * d.n + rc.col)]);
        }
      // The accumulator registers above the fragment stay untouched.
      for (int lane = 0; lane < kWarpSize; ++lane) REQUIRE(fd.r[lane][sd.regs] == 0u);
    }
  }
}

TEST_CASE("ptx fragments: mma_reference accumulates exact products in f32, in k order", "[ptx]") {
  // 1 + 2^-24 (exact products, rounded at each step): C = 1, A row = {2^-24, 2^-24}, B = 1.
  const MmaTypes t{ElemType::f16, ElemType::f16, ElemType::f32, ElemType::f32};
  const uint32_t A[2] = {f32_to_f16(0x1p-24f), f32_to_f16(0x1p-24f)};
  const uint32_t B[2] = {0x3c00, 0x3c00};
  const uint32_t C[1] = {f32_bits(1.0f)};
  uint32_t D[1];
  mma_reference(t, 1, 1, 2, A, B, C, D);
  REQUIRE(f32_from(D[0]) == 1.0f);  // each step rounds 1 + 2^-24 back to 1
  const uint32_t C2[1] = {f32_bits(0.0f)};
  mma_reference(t, 1, 1, 2, A, B, C2, D);
  REQUIRE(f32_from(D[0]) == 0x1p-23f);
  // Integer: s8 * u8 with wraparound.
  const MmaTypes ti{ElemType::s8, ElemType::u8, ElemType::s32, ElemType::s32};
  const uint32_t Ai[2] = {0x80, 0x7f}, Bi[2] = {0xff, 0xff}, Ci[1] = {0x7fffffffu};
  mma_reference(ti, 1, 1, 2, Ai, Bi, Ci, D);
  REQUIRE(D[0] == uint32_t(0x7fffffffu + uint32_t(-128 * 255 + 127 * 255)));
}

TEST_CASE("ptx fragments: wmma fragments cover the matrices; f16 A/B repeat elements 0-7",
          "[ptx]") {
  for (FragOperand op : {FragOperand::a, FragOperand::b, FragOperand::c})
    require_covers_once(16, 16, 8, [&](int lane, int i) { return wmma_frag_elem(op, lane, i); });
  for (int lane = 0; lane < kWarpSize; ++lane)
    for (int i = 0; i < 8; ++i) {
      REQUIRE(wmma_frag_elem(FragOperand::a, lane, i + 8).row ==
              wmma_frag_elem(FragOperand::a, lane, i).row);
      REQUIRE(wmma_frag_elem(FragOperand::b, lane, i + 8).col ==
              wmma_frag_elem(FragOperand::b, lane, i).col);
      // A and the first half of C/B are the mma.m16n8k16 fragments.
      const RowCol a = wmma_frag_elem(FragOperand::a, lane, i);
      const RowCol ma = mma_frag_elem(MmaShape::m16n8k16, FragOperand::a, ElemType::f16, lane, i);
      REQUIRE(a.row == ma.row);
      REQUIRE(a.col == ma.col);
      if (i < 4) {
        const RowCol b = wmma_frag_elem(FragOperand::b, lane, i);
        const RowCol mb = mma_frag_elem(MmaShape::m16n8k16, FragOperand::b, ElemType::f16, lane, i);
        REQUIRE(b.row == mb.row);
        REQUIRE(b.col == mb.col);
        const RowCol c = wmma_frag_elem(FragOperand::c, lane, i);
        const RowCol mc = mma_frag_elem(MmaShape::m16n8k16, FragOperand::c, ElemType::f32, lane, i);
        REQUIRE(c.row == mc.row);
        REQUIRE(c.col == mc.col);
      }
    }
  REQUIRE(wmma_frag_shape(FragOperand::a, ElemType::f16).regs == 8);
  REQUIRE(wmma_frag_shape(FragOperand::a, ElemType::bf16).regs == 4);
  REQUIRE(wmma_frag_shape(FragOperand::c, ElemType::f32).regs == 8);
  REQUIRE(wmma_frag_shape(FragOperand::c, ElemType::f16).regs == 4);
}

TEST_CASE("ptx fragments: wmma.load, wmma.mma, wmma.store with row/col layouts and a stride",
          "[ptx]") {
  std::mt19937_64 rng(22);
  const MmaTypes kTypes[] = {
      {ElemType::f16, ElemType::f16, ElemType::f32, ElemType::f32},
      {ElemType::f16, ElemType::f16, ElemType::f16, ElemType::f16},
      {ElemType::f16, ElemType::f16, ElemType::f32, ElemType::f16},
      {ElemType::bf16, ElemType::bf16, ElemType::f32, ElemType::f32},
  };
  for (const MmaTypes& t : kTypes)
    for (int combo = 0; combo < 8; ++combo) {
      const WmmaLayout la = (combo & 1) ? WmmaLayout::col : WmmaLayout::row;
      const WmmaLayout lb = (combo & 2) ? WmmaLayout::col : WmmaLayout::row;
      const WmmaLayout lc = (combo & 4) ? WmmaLayout::col : WmmaLayout::row;
      const uint32_t stride = 16 + 8 * uint32_t(combo % 3);  // 16, 24 or 32 elements
      // Memory: each matrix stored with its layout and stride inside a padded buffer.
      const uint32_t pad = 0xffffffffu;  // no f16 or small f32 value has these bits
      std::vector<uint32_t> ma(16 * stride, pad), mb(16 * stride, pad), mc(16 * stride, pad),
          md(16 * stride, pad);
      std::vector<uint32_t> A(256), B(256), C(256);
      for (int r = 0; r < 16; ++r)
        for (int col = 0; col < 16; ++col) {
          A[size_t(r * 16 + col)] = random_elem(t.a, rng);
          B[size_t(r * 16 + col)] = random_elem(t.b, rng);
          C[size_t(r * 16 + col)] = random_elem(t.c, rng);
          ma[wmma_offset(la, stride, r, col)] = A[size_t(r * 16 + col)];
          mb[wmma_offset(lb, stride, r, col)] = B[size_t(r * 16 + col)];
          mc[wmma_offset(lc, stride, r, col)] = C[size_t(r * 16 + col)];
        }
      // wmma.load: every element of every lane's fragment from its address.
      WarpFrag fa, fb, fc, fd;
      auto load = [&](FragOperand op, ElemType et, WmmaLayout l, const std::vector<uint32_t>& mem,
                      WarpFrag& f) {
        const FragShape s = wmma_frag_shape(op, et);
        for (int lane = 0; lane < kWarpSize; ++lane)
          for (int i = 0; i < s.regs * s.per_reg; ++i) {
            const RowCol rc = wmma_frag_elem(op, lane, i);
            frag_set(f, s, elem_bits(et), lane, i, mem[wmma_offset(l, stride, rc.row, rc.col)]);
          }
      };
      load(FragOperand::a, t.a, la, ma, fa);
      load(FragOperand::b, t.b, lb, mb, fb);
      load(FragOperand::c, t.c, lc, mc, fc);
      wmma_mma_sync(t, fa, fb, fc, fd);
      // wmma.store of D with C's layout.
      const FragShape sd = wmma_frag_shape(FragOperand::c, t.d);
      for (int lane = 0; lane < kWarpSize; ++lane)
        for (int i = 0; i < sd.regs * sd.per_reg; ++i) {
          const RowCol rc = wmma_frag_elem(FragOperand::c, lane, i);
          md[wmma_offset(lc, stride, rc.row, rc.col)] = frag_get(fd, sd, elem_bits(t.d), lane, i);
        }
      const std::vector<uint32_t> want = expected(t, 16, 16, 16, A, B, C);
      size_t untouched = 0;
      for (int r = 0; r < 16; ++r)
        for (int col = 0; col < 16; ++col) {
          INFO("types " << int(t.a) << "/" << int(t.d) << " combo " << combo << " at " << r << ","
                        << col);
          REQUIRE(md[wmma_offset(lc, stride, r, col)] == want[size_t(r * 16 + col)]);
        }
      for (uint32_t v : md) untouched += v == pad;
      REQUIRE(untouched == 16 * (stride - 16));  // the store wrote only the matrix
    }
}
