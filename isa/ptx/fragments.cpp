// Thread-to-element mappings of PTX mma.sync, ldmatrix and wmma, and the warp-wide matrix product
// (fragments.h). The formulas are those of PTX ISA 9.7.14.5.7-10 (groupID = lane >> 2,
// threadID_in_group = lane % 4).
#include "isa/ptx/fragments.h"

#include "isa/ptx/numeric.h"

namespace xpusim::isa::ptx {
namespace {

bool is_int(ElemType t) {
  return t == ElemType::s8 || t == ElemType::u8 || t == ElemType::s32;
}

float to_f32(ElemType t, uint32_t bits) {
  switch (t) {
    case ElemType::f16:
      return f16_to_f32(uint16_t(bits));
    case ElemType::bf16:
      return bf16_to_f32(uint16_t(bits));
    case ElemType::tf32:
      return f32_from(bits & 0xffffe000u);
    default:
      return f32_from(bits);
  }
}

int64_t to_int(ElemType t, uint32_t bits) {
  if (t == ElemType::s8) return int8_t(uint8_t(bits));
  if (t == ElemType::u8) return uint8_t(bits);
  return int32_t(bits);
}

// Gathers a whole matrix (row-major, `cols` wide) from a warp's fragment.
template <typename Map>
void unpack(const WarpFrag& f, FragShape s, int bits, int count, int cols, uint32_t* m, Map map) {
  for (int lane = 0; lane < kWarpSize; ++lane)
    for (int i = 0; i < count; ++i) {
      const RowCol rc = map(lane, i);
      m[rc.row * cols + rc.col] = frag_get(f, s, bits, lane, i);
    }
}
template <typename Map>
void pack(const uint32_t* m, FragShape s, int bits, int count, int cols, WarpFrag& f, Map map) {
  for (int lane = 0; lane < kWarpSize; ++lane)
    for (int i = 0; i < count; ++i) {
      const RowCol rc = map(lane, i);
      frag_set(f, s, bits, lane, i, m[rc.row * cols + rc.col]);
    }
}

}  // namespace

int elem_bits(ElemType t) {
  switch (t) {
    case ElemType::f16:
    case ElemType::bf16:
      return 16;
    case ElemType::s8:
    case ElemType::u8:
      return 8;
    default:
      return 32;
  }
}

MmaDims mma_dims(MmaShape s) {
  switch (s) {
    case MmaShape::m16n8k8:
      return {16, 8, 8};
    case MmaShape::m16n8k16:
      return {16, 8, 16};
    case MmaShape::m16n8k32:
      break;
  }
  return {16, 8, 32};
}

bool mma_supported(MmaShape s, const MmaTypes& t) {
  if (is_int(t.a) || is_int(t.b)) {
    return t.a != ElemType::s32 && t.b != ElemType::s32 && is_int(t.a) && is_int(t.b) &&
           t.c == ElemType::s32 && t.d == ElemType::s32 && s != MmaShape::m16n8k8;
  }
  if (t.a != t.b || s == MmaShape::m16n8k32) return false;
  const bool f16_ok = t.a == ElemType::f16;
  auto acc_ok = [&](ElemType x) { return x == ElemType::f32 || (f16_ok && x == ElemType::f16); };
  if (!acc_ok(t.c) || !acc_ok(t.d)) return false;
  if (t.a == ElemType::tf32) return s == MmaShape::m16n8k8;
  return t.a == ElemType::f16 || t.a == ElemType::bf16;
}

FragShape mma_frag_shape(MmaShape s, FragOperand op, ElemType type) {
  const MmaDims d = mma_dims(s);
  const int count =
      op == FragOperand::a ? d.m * d.k : (op == FragOperand::b ? d.k * d.n : d.m * d.n);
  const int per_reg = 32 / elem_bits(type);
  return {count / kWarpSize / per_reg, per_reg};
}

RowCol mma_frag_elem(MmaShape s, FragOperand op, ElemType type, int lane, int i) {
  const int g = lane >> 2, t = lane & 3;
  if (op == FragOperand::c) return {g + 8 * ((i >> 1) & 1), t * 2 + (i & 1)};
  const bool is8 = type == ElemType::s8 || type == ElemType::u8;
  if (type == ElemType::tf32) {  // m16n8k8 .tf32 (9.7.14.5.7)
    if (op == FragOperand::a) return {g + 8 * (i & 1), t + 4 * (i >> 1)};
    return {t + 4 * i, g};
  }
  if (!is8) {  // .f16/.bf16: m16n8k8 (a0-a3, b0-b1) and m16n8k16 (a0-a7, b0-b3)
    if (op == FragOperand::a) return {g + 8 * ((i >> 1) & 1), t * 2 + (i & 1) + 8 * (i >> 2)};
    return {t * 2 + (i & 1) + 8 * (i >> 1), g};
  }
  if (s == MmaShape::m16n8k16) {  // .s8/.u8 m16n8k16 (9.7.14.5.9)
    if (op == FragOperand::a) return {g + 8 * (i >> 2), t * 4 + (i & 3)};
    return {t * 4 + i, g};
  }
  // .s8/.u8 m16n8k32 (9.7.14.5.10)
  if (op == FragOperand::a) return {g + 8 * ((i >> 2) & 1), t * 4 + (i & 3) + 16 * (i >> 3)};
  return {t * 4 + (i & 3) + 16 * (i >> 2), g};
}

void mma_reference(const MmaTypes& t, int m, int n, int k, const uint32_t* A, const uint32_t* B,
                   const uint32_t* C, uint32_t* D) {
  if (is_int(t.a)) {
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        uint32_t acc = uint32_t(C[i * n + j]);
        for (int x = 0; x < k; ++x)
          acc += uint32_t(to_int(t.a, A[i * k + x]) * to_int(t.b, B[x * n + j]));
        D[i * n + j] = acc;
      }
    return;
  }
  // Each operand converted once (every f16/bf16/tf32 value is exact in f32).
  float a[16 * 32], b[32 * 16];
  for (int i = 0; i < m * k; ++i) a[i] = to_f32(t.a, A[i]);
  for (int i = 0; i < k * n; ++i) b[i] = to_f32(t.b, B[i]);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      float acc = to_f32(t.c, C[i * n + j]);
      for (int x = 0; x < k; ++x) acc = fma_f32(a[i * k + x], b[x * n + j], acc);
      D[i * n + j] = t.d == ElemType::f16 ? f32_to_f16(acc) : f32_bits(acc);
    }
}

void mma_sync(MmaShape s, const MmaTypes& t, const WarpFrag& a, const WarpFrag& b,
              const WarpFrag& c, WarpFrag& d) {
  const MmaDims dm = mma_dims(s);
  uint32_t A[16 * 32], B[32 * 8], C[16 * 8], D[16 * 8];
  const FragShape fa = mma_frag_shape(s, FragOperand::a, t.a),
                  fb = mma_frag_shape(s, FragOperand::b, t.b);
  const FragShape fc = mma_frag_shape(s, FragOperand::c, t.c),
                  fd = mma_frag_shape(s, FragOperand::c, t.d);
  unpack(a, fa, elem_bits(t.a), fa.regs * fa.per_reg, dm.k, A,
         [&](int lane, int i) { return mma_frag_elem(s, FragOperand::a, t.a, lane, i); });
  unpack(b, fb, elem_bits(t.b), fb.regs * fb.per_reg, dm.n, B,
         [&](int lane, int i) { return mma_frag_elem(s, FragOperand::b, t.b, lane, i); });
  auto cmap = [&](int lane, int i) { return mma_frag_elem(s, FragOperand::c, t.c, lane, i); };
  unpack(c, fc, elem_bits(t.c), 4, dm.n, C, cmap);
  mma_reference(t, dm.m, dm.n, dm.k, A, B, C, D);
  pack(D, fd, elem_bits(t.d), 4, dm.n, d, cmap);
}

void ldmatrix_distribute(int num, bool trans, const uint16_t rows[32][8], WarpFrag& d) {
  for (int m = 0; m < num; ++m)
    for (int lane = 0; lane < kWarpSize; ++lane) {
      uint32_t v = 0;
      for (int e = 0; e < 2; ++e) {
        const RowCol rc = ldmatrix_elem(trans, lane, e);
        v |= uint32_t(rows[ldmatrix_row_lane(m, rc.row)][rc.col]) << (16 * e);
      }
      d.r[lane][m] = v;
    }
}

FragShape wmma_frag_shape(FragOperand op, ElemType type) {
  if (op == FragOperand::c) return type == ElemType::f16 ? FragShape{4, 2} : FragShape{8, 1};
  return type == ElemType::f16 ? FragShape{8, 2} : FragShape{4, 2};
}

RowCol wmma_frag_elem(FragOperand op, int lane, int i) {
  const int g = lane >> 2, t = lane & 3;
  i &= 7;  // f16 A/B: elements 8-15 repeat 0-7
  if (op == FragOperand::b) return {t * 2 + (i & 1) + 8 * ((i >> 1) & 1), g + 8 * (i >> 2)};
  return {g + 8 * ((i >> 1) & 1), t * 2 + (i & 1) + 8 * (i >> 2)};  // A, and C/D
}

void wmma_mma_sync(const MmaTypes& t, const WarpFrag& a, const WarpFrag& b, const WarpFrag& c,
                   WarpFrag& d) {
  uint32_t A[256], B[256], C[256], D[256];
  auto map = [](FragOperand op) {
    return [op](int lane, int i) { return wmma_frag_elem(op, lane, i); };
  };
  unpack(a, wmma_frag_shape(FragOperand::a, t.a), elem_bits(t.a), 8, 16, A, map(FragOperand::a));
  unpack(b, wmma_frag_shape(FragOperand::b, t.b), elem_bits(t.b), 8, 16, B, map(FragOperand::b));
  unpack(c, wmma_frag_shape(FragOperand::c, t.c), elem_bits(t.c), 8, 16, C, map(FragOperand::c));
  mma_reference(t, 16, 16, 16, A, B, C, D);
  pack(D, wmma_frag_shape(FragOperand::c, t.d), elem_bits(t.d), 8, 16, d, map(FragOperand::c));
}

}  // namespace xpusim::isa::ptx
