// Thread-to-element mappings of PTX warp-level matrix instructions (mma.sync, ldmatrix, wmma) and
// the warp-wide D = A*B + C they compute (docs/isa/ptx-numerics.md, "Matrix fragments").
#pragma once

#include <cstdint>

namespace xpusim::isa::ptx {

constexpr int kWarpSize = 32;

enum class MmaShape : uint8_t { m16n8k8, m16n8k16, m16n8k32 };
// Element types of the operands: f16/bf16 (16-bit patterns), tf32 (an f32 pattern whose low 13
// bits the multiply ignores), s8/u8 (bytes), f32 and s32 (accumulators).
enum class ElemType : uint8_t { f16, bf16, tf32, s8, u8, f32, s32 };
// The multiplicands A (M x K) and B (K x N), and the accumulator C / result D (M x N).
enum class FragOperand : uint8_t { a, b, c };

struct RowCol {
  int row;
  int col;
};
// A fragment: 32-bit registers per lane, elements per register (element i of a lane's fragment
// is in register i / per_reg, in bits starting at (i % per_reg) * element width, low first).
struct FragShape {
  int regs;
  int per_reg;
};
struct MmaDims {
  int m, n, k;
};
// The types of one mma.sync / wmma.mma: A, B, C and D.
struct MmaTypes {
  ElemType a, b, c, d;
};

// Registers of a warp for one fragment: r[lane][register].
struct WarpFrag {
  uint32_t r[kWarpSize][8] = {};
};

int elem_bits(ElemType t);

// ---- mma.sync.aligned.{m16n8k8, m16n8k16, m16n8k32}.row.col (PTX ISA 9.7.14.5.7-10) -----------
// Supported: m16n8k8 with f16/bf16/tf32, m16n8k16 with f16/bf16/s8/u8, m16n8k32 with s8/u8;
// C/D f32 (all floating), f16 (f16 A/B only), s32 (integer). A and B may differ only in
// signedness (s8 with u8).
MmaDims mma_dims(MmaShape s);
bool mma_supported(MmaShape s, const MmaTypes& t);
// Shape of one operand's fragment; type is that operand's element type.
FragShape mma_frag_shape(MmaShape s, FragOperand op, ElemType type);
// (row, col) in the operand's matrix of element i of lane's fragment; for FragOperand::a and ::b,
// type is the multiplicand type (the mapping of C/D does not depend on its type).
RowCol mma_frag_elem(MmaShape s, FragOperand op, ElemType type, int lane, int i);
// The whole warp's mma.sync: reads the A, B and C fragments, writes D's.
void mma_sync(MmaShape s, const MmaTypes& t, const WarpFrag& a, const WarpFrag& b,
              const WarpFrag& c, WarpFrag& d);

// D = A*B + C on whole row-major matrices (elements as bit patterns in uint32_t): A is m x k,
// B k x n, C and D m x n. Floating point: every product is exact, the sum is accumulated in f32
// in k order with one round-to-nearest per step starting from C (f16 C converted exactly), and
// an f16 D is rounded to nearest once at the end. Integer: products summed into C in 32-bit
// two's complement (wrapping).
void mma_reference(const MmaTypes& t, int m, int n, int k, const uint32_t* A, const uint32_t* B,
                   const uint32_t* C, uint32_t* D);

// ---- ldmatrix.sync.aligned.m8n8.{x1,x2,x4}{.trans}.b16 (9.7.14.5.15) -------------------------
// The lane whose address is row `row` of matrix `matrix` (matrices 0..num-1, rows 0..7).
inline int ldmatrix_row_lane(int matrix, int row) {
  return matrix * 8 + row;
}
// Destination register `matrix` of `lane` holds two elements of that matrix; element e (0: low
// half) is at (row, col) of the matrix as stored, row being the addressed row. With .trans the
// lane receives the transposed position.
inline RowCol ldmatrix_elem(bool trans, int lane, int e) {
  const int r = lane >> 2, c = (lane & 3) * 2 + e;
  return trans ? RowCol{c, r} : RowCol{r, c};
}
// rows[8 * m + r]: the eight 16-bit elements read at the address of row r of matrix m. Fills
// registers 0..num-1 of every lane.
void ldmatrix_distribute(int num, bool trans, const uint16_t rows[32][8], WarpFrag& d);

// ---- wmma.m16n16k16 with f16/bf16 A/B, f16/f32 C/D (9.7.14.4) ---------------------------------
// The PTX ISA leaves these fragments unspecified. Ours is the layout sm_80 uses: A is the
// mma.m16n8k16 A fragment, B the two m16n8k16 B fragments for columns 0-7 (elements 0-3) and
// 8-15 (4-7), C/D the two m16n8k16 C fragments likewise. f16 A/B fragments have 8 registers
// (16 elements): elements 8-15 repeat 0-7. The memory layout (.row/.col) only changes where
// wmma.load/store find an element (wmma_offset), never which lane holds it.
enum class WmmaLayout : uint8_t { row, col };
FragShape wmma_frag_shape(FragOperand op, ElemType type);
RowCol wmma_frag_elem(FragOperand op, int lane, int i);
// Element offset of (row, col) in memory for a layout and stride (leading dimension, elements).
inline uint64_t wmma_offset(WmmaLayout l, uint32_t stride, int row, int col) {
  return l == WmmaLayout::row ? uint64_t(row) * stride + uint64_t(col)
                              : uint64_t(col) * stride + uint64_t(row);
}
void wmma_mma_sync(const MmaTypes& t, const WarpFrag& a, const WarpFrag& b, const WarpFrag& c,
                   WarpFrag& d);

// Element i of a lane's fragment of the given shape: read and write its bits.
inline uint32_t frag_get(const WarpFrag& f, FragShape s, int bits, int lane, int i) {
  const uint32_t reg = f.r[lane][i / s.per_reg];
  return bits == 32 ? reg : (reg >> ((i % s.per_reg) * bits)) & ((1u << bits) - 1);
}
inline void frag_set(WarpFrag& f, FragShape s, int bits, int lane, int i, uint32_t v) {
  uint32_t& reg = f.r[lane][i / s.per_reg];
  if (bits == 32) {
    reg = v;
    return;
  }
  const int sh = (i % s.per_reg) * bits;
  const uint32_t m = ((1u << bits) - 1) << sh;
  reg = (reg & ~m) | ((v << sh) & m);
}

}  // namespace xpusim::isa::ptx
