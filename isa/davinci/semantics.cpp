// The functional semantics of the DaVinci instructions that a pipe executes
// (isa/davinci/semantics.h): the operand rules that need values, the byte ranges each
// instruction touches, its data effect and its work.
//
// Numeric choices (the ISA text leaves them open; tests/unit/test_davinci_semantics.cpp pins
// them):
// - mad f16/bf16: every output element is computed as acc = C (0 with init), then
//   acc = acc + float(a) * float(b) for k = 0, 1, ..., K-1, in fp32. A product of two f16 or
//   bf16 values is exact in fp32, so each step rounds once (the addition, to nearest even), and
//   a mad split along K into several mads (init only on the first) gives the same bits as one.
//   s8: exact int32 products and sums, wrapping at 2^32.
// - Vector f16 arithmetic converts to fp32, computes there (one fp32 rounding) and rounds once
//   to f16 (nearest even). For + - * / and sqrt this equals the correctly rounded f16 result
//   (fp32's 24 significant bits are at least 2 * 11 + 2). vexp and vln use the host's expf and
//   logf; vrsqrt is 1 / sqrt(x) in fp32 (two fp32 roundings); vrec is 1 / x. f32 ops compute
//   natively; s32 vadd / vsub / vadds / vmuls wrap at 2^32.
// - vmax/vmin (and vmaxs, vmins, vcmax, vcmin): a NaN operand gives NaN; max(-0, +0) = +0,
//   min(-0, +0) = -0.
// - vcadd sums the selected elements in element order in fp32 (one rounding per addition,
//   starting from the first selected element), then rounds once to the type.
// - The req8 conversion out of L0C (copy_matrix_cc_to_ubuf, fixpipe) is the workload IR's
//   numeric::requantize (round half away from zero, saturate to s8), then ReLU when relu=1.
// - vconv round=a is round to nearest with ties away from zero (the CCE's `a` conversions,
//   Ascend C's CAST_ROUND); float -> s32 and f16 -> s8 saturate and NaN gives 0; conversions to a
//   float format overflow as IEEE 754 does per rounding mode (nearest and away-from-the-value modes
//   to infinity, the others to the largest finite value).
// - A vector op runs its iterations in order; an iteration reads its sources before it writes
//   (so with overlapping operands a later iteration sees an earlier one's results). When the
//   destination's bytes are apart from the sources' (or it is a source, in place, with no byte
//   in two iterations), every iteration is read, computed and written at once: the same effect.
#include "isa/davinci/semantics.h"

#include <fmt/format.h>

#include <algorithm>
#include <bitset>
#include <cmath>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <limits>
#include <utility>

#include "models/core/numeric.h"

namespace xpusim::isa::davinci {
namespace {

using numeric::Rounding;

constexpr uint64_t kBlock = 32;       // a vector block, the unit of copies' bursts and gaps
constexpr uint64_t kFractal = 512;    // an L0A / L0B fractal
constexpr uint64_t kCFractal = 1024;  // an L0C fractal: 16 x 16 f32 / s32
constexpr int64_t kMaxAddr = int64_t(1) << 48;
constexpr uint64_t kVecBytes = 256;  // one iteration of a vector op: 8 blocks

// ---- op classes ---------------------------------------------------------------------------

bool is_binary(Op op) {
  return op >= Op::vadd && op <= Op::vmin;
}
bool is_unary(Op op) {
  return op >= Op::vexp && op <= Op::vrelu;
}
bool is_vs(Op op) {
  return op >= Op::vadds && op <= Op::vmins;
}
bool is_reduce(Op op) {
  return op >= Op::vcadd && op <= Op::vcmin;
}
// The ops that run `repeat` iterations over 32-byte blocks of the UB.
bool is_vector(Op op) {
  return (op >= Op::vadd && op <= Op::vconv) || op == Op::vbrcb;
}
// The vector ops whose source is not an operand of blocks and strides: one value (reductions'
// destination) or 8 elements (vbrcb's source) per iteration, back to back.
bool packed_operand(Op op, int i) {
  return (is_reduce(op) && i == 0) || (op == Op::vbrcb && i == 1);
}
// How many of dst, src0, src1 a vector op uses.
int vector_operands(Op op) {
  if (is_binary(op)) return 3;
  if (op == Op::vector_dup) return 1;
  return 2;
}

uint64_t u(const Val& v) {
  return uint64_t(v.imm);
}

// Element bytes and elements per iteration of each operand of a vector op.
struct VecShape {
  int es[3];
  uint32_t elems;
};
VecShape vec_shape(const Instr& in) {
  if (in.op == Op::vconv) {
    const int d = ty_bytes(in.ty), s = ty_bytes(in.ty2);
    return {{d, s, s}, d == 4 || s == 4 ? 64u : 128u};
  }
  const int e = ty_bytes(in.ty);
  return {{e, e, e}, uint32_t(kVecBytes / e)};
}

// Bytes of an element converted by a path out of L0C.
uint64_t fix_out_bytes(Conv c) {
  return c == Conv::none ? 4 : c == Conv::req8 ? 1 : 2;
}
// Bytes a fractal of L0C takes in the UB after copy_matrix_cc_to_ubuf (req8: its 16 rows of 16
// bytes 32 bytes apart).
uint64_t cc_ub_fractal(Conv c) {
  return c == Conv::none ? kCFractal : kCFractal / 2;
}

Rounding rounding(Round r) {
  switch (r) {
    case Round::rn:
      return Rounding::nearest_even;
    case Round::a:
      return Rounding::nearest_away;
    case Round::f:
      return Rounding::down;
    case Round::c:
      return Rounding::up;
    case Round::z:
      return Rounding::toward_zero;
  }
  return Rounding::nearest_even;
}

// ---- check ----------------------------------------------------------------------------------

class Checker {
 public:
  Checker(const Instr& in, const std::function<std::string()>& who) : in_(in), who_(who) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(fmt::format("{}: {}", who_(), what));
  }

  void count(const char* name, const Val& v, int64_t lo, int64_t hi) const {
    if (v.imm < lo || v.imm > hi)
      fail(fmt::format("{} must be in [{}, {}] (got {})", name, lo, hi, v.imm));
  }

  void multiple(const char* name, const Val& v, int64_t of, const char* why = "") const {
    if (v.imm % of != 0)
      fail(fmt::format("{} must be a multiple of {}{} (got {})", name, of, why, v.imm));
  }

  // A memory operand: in `buf`, its address in [0, 2^48) and a multiple of align.
  void addr(const char* role, const Addr& a, Buf buf, int64_t align) const {
    if (a.buf != buf)
      fail(fmt::format("the {} must be in {}, not {}", role, buf_name(buf), buf_name(a.buf)));
    if (a.at.imm < 0 || a.at.imm >= kMaxAddr)
      fail(fmt::format("the {} address must be in [0, 2^48) (got {}[{}])", role, buf_name(a.buf),
                       a.at.imm));
    if (a.at.imm % align != 0)
      fail(fmt::format("the {} address must be {}-byte aligned (got {}[{}])", role, align,
                       buf_name(a.buf), a.at.imm));
  }

  // in.ty among `tys` (listed in `names` for the message).
  void type(std::initializer_list<Ty> tys, const char* names) const {
    if (std::find(tys.begin(), tys.end(), in_.ty) == tys.end())
      fail(fmt::format("{} takes {} elements, not {}", op_name(in_.op), names, ty_name(in_.ty)));
  }

 private:
  const Instr& in_;
  const std::function<std::string()>& who_;
};

void check_vector(const Instr& in, const Checker& c) {
  const Op op = in.op;
  if (op == Op::vconv) {
    static const std::pair<Ty, Ty> pairs[] = {
        {Ty::f16, Ty::f32}, {Ty::f32, Ty::f16}, {Ty::bf16, Ty::f32}, {Ty::f32, Ty::bf16},
        {Ty::s32, Ty::f32}, {Ty::f32, Ty::s32}, {Ty::s32, Ty::f16},  {Ty::f16, Ty::s32},
        {Ty::s8, Ty::f16},  {Ty::f16, Ty::s8}};
    if (std::find(std::begin(pairs), std::end(pairs), std::pair(in.ty, in.ty2)) == std::end(pairs))
      c.fail(fmt::format(
          "vconv has no conversion {} -> {} (it converts f32->f16, f16->f32, f32->bf16, "
          "bf16->f32, f32->s32, s32->f32, f16->s32, s32->f16, f16->s8, s8->f16)",
          ty_name(in.ty2), ty_name(in.ty)));
  } else if (op == Op::vmul || op == Op::vdiv || is_unary(op) || is_reduce(op)) {
    c.type({Ty::f16, Ty::f32}, "f16 or f32");
  } else if (op == Op::vbrcb) {
    c.type({Ty::f32, Ty::s32}, "f32 or s32");
  } else {
    c.type({Ty::f16, Ty::f32, Ty::s32}, "f16, f32 or s32");
  }
  if (is_vs(op) || op == Op::vector_dup) {
    if (in.ty == Ty::s32)
      c.count("the scalar (s32)", in.b, std::numeric_limits<int32_t>::min(),
              std::numeric_limits<int32_t>::max());
    else
      c.count("the scalar (fp32 bits)", in.b, std::numeric_limits<int32_t>::min(),
              std::numeric_limits<uint32_t>::max());
  }
  c.count("repeat", in.n0, 1, 255);
  static const char* const roles[] = {"destination", "source", "second source"};
  static const char* const blk_names[] = {"dst_blk", "src0_blk", "src1_blk"};
  static const char* const rep_names[] = {"dst_rep", "src0_rep", "src1_rep"};
  const Addr* addrs[] = {&in.dst, &in.src0, &in.src1};
  for (int i = 0; i < vector_operands(op); ++i) {
    c.addr(roles[i], *addrs[i], Buf::ub, kBlock);
    if (packed_operand(op, i)) continue;  // no strides
    c.count(blk_names[i], in.blk[i], 0, 255);
    c.count(rep_names[i], in.rep[i], 0, 255);
  }
}

// The conversion keys of the paths out of L0C: req8's scale in range; ReLU on a converted value.
void check_out_conv(const Instr& in, const Checker& c) {
  if (in.flag && in.conv == Conv::none)
    c.fail("relu=1 needs a conversion (f322f16, f322bf16 or req8), not conv=none");
  if (in.conv != Conv::req8) return;
  c.count("mul", in.blk[0], std::numeric_limits<int32_t>::min(),
          std::numeric_limits<int32_t>::max());
  c.count("shift", in.b, 0, 62);
}

// ---- accesses ---------------------------------------------------------------------------------

// `rows` rows of `bytes` bytes, row i at base + i * stride: one range when they touch or
// overlap.
void add_rows(std::vector<Range>& out, Buf b, bool write, uint64_t base, uint64_t rows,
              uint64_t stride, uint64_t bytes) {
  if (rows == 0 || bytes == 0) return;
  if (stride <= bytes) {
    out.push_back({b, base, base + (rows - 1) * stride + bytes, write});
    return;
  }
  for (uint64_t i = 0; i < rows; ++i)
    out.push_back({b, base + i * stride, base + i * stride + bytes, write});
}

// The blocks of one vector operand: `nb` blocks per iteration, block j of iteration r at
// base + (r * rep + j * blk) * 32.
void add_blocks(std::vector<Range>& out, bool write, uint64_t base, uint64_t repeat, uint64_t nb,
                uint64_t blk, uint64_t rep) {
  if (blk == 1) return add_rows(out, Buf::ub, write, base, repeat, rep * kBlock, nb * kBlock);
  if (blk == 0) return add_rows(out, Buf::ub, write, base, repeat, rep * kBlock, kBlock);
  if (rep == 0) return add_rows(out, Buf::ub, write, base, nb, blk * kBlock, kBlock);
  // Iterations one after another (each past the previous one's last block), or interleaved:
  // either way every block, merged later.
  for (uint64_t r = 0; r < repeat; ++r)
    add_rows(out, Buf::ub, write, base + r * rep * kBlock, nb, blk * kBlock, kBlock);
}

// ---- data movement ------------------------------------------------------------------------

// `count` rows of `bytes` bytes, row i at base + i * stride.
struct Rows {
  uint64_t base, count, stride, bytes;
  uint64_t total() const { return count * bytes; }
  bool contiguous() const { return count == 1 || stride == bytes; }
};

// Reads the rows, back to back, into buf.
void read_rows(const ByteStore& s, const Rows& r, uint8_t* buf, const std::string& who) {
  if (r.contiguous()) return s.read(r.base, buf, r.total(), who);
  for (uint64_t i = 0; i < r.count; ++i)
    s.read(r.base + i * r.stride, buf + i * r.bytes, r.bytes, who);
}

// Writes buf's rows (back to back there) in order.
void write_rows(ByteStore& s, const Rows& r, const uint8_t* buf, const std::string& who) {
  s.check_rows(r.base, r.count, r.stride, r.bytes, who, "destination");
  if (r.contiguous()) return s.write(r.base, buf, r.total());
  for (uint64_t i = 0; i < r.count; ++i) s.write(r.base + i * r.stride, buf + i * r.bytes, r.bytes);
}

// Scratch memory kept from one instruction to the next (slot i of this thread), so that the hot
// path neither allocates nor faults pages in once warm. Bytes past what an instruction fills
// hold an earlier instruction's data: computed on, never written out.
uint8_t* scratch(int i, uint64_t n) {
  thread_local std::vector<uint8_t> slots[4];
  if (slots[i].size() < n) slots[i].resize(n);
  return slots[i].data();
}

template <class T>
T ld(const uint8_t* p, size_t i) {
  T v;
  std::memcpy(&v, p + i * sizeof(T), sizeof(T));
  return v;
}
template <class T>
void st(uint8_t* p, size_t i, T v) {
  std::memcpy(p + i * sizeof(T), &v, sizeof(T));
}

void exec_copy(const Instr& in, const Memories& m, const std::string& who) {
  const uint64_t n = u(in.n0), len = u(in.n1) * kBlock;
  const Rows src{u(in.src0.at), n, len + u(in.n2) * kBlock, len};
  const Rows dst{u(in.dst.at), n, len + u(in.n3) * kBlock, len};
  const ByteStore& s = m[in.src0.buf];
  s.check_rows(src.base, src.count, src.stride, src.bytes, who, "source");
  uint8_t* buf = scratch(0, src.total());
  read_rows(s, src, buf, who);
  write_rows(m[in.dst.buf], dst, buf, who);
}

void exec_load(const Instr& in, const Memories& m, const std::string& who) {
  const uint64_t n = u(in.n0);
  const Rows src{u(in.src0.at), n, u(in.n1) * kFractal, kFractal};
  const Rows dst{u(in.dst.at), n, (1 + u(in.n2)) * kFractal, kFractal};
  const ByteStore& s = m[in.src0.buf];
  s.check_rows(src.base, src.count, src.stride, src.bytes, who, "source");
  uint8_t* buf = scratch(0, src.total());
  read_rows(s, src, buf, who);
  if (in.flag) {  // element (r, c) of each 16 x 16 fractal of 2-byte elements to (c, r)
    uint16_t t[256], f[256];
    for (uint64_t i = 0; i < n; ++i) {
      std::memcpy(f, &buf[i * kFractal], kFractal);
      for (int r = 0; r < 16; ++r)
        for (int c = 0; c < 16; ++c) t[c * 16 + r] = f[r * 16 + c];
      std::memcpy(&buf[i * kFractal], t, kFractal);
    }
  }
  write_rows(m[in.dst.buf], dst, buf, who);
}

// ---- img2col ------------------------------------------------------------------------------

// One img2col_cbuf_to_ca's geometry: its K fractals' (slice, kernel row, kernel column) and its
// output pixels' first input row and column.
struct Img2col {
  uint64_t repeat, ow, m, k, kh, kw, sh, sw;
  explicit Img2col(const Instr& in)
      : repeat(u(in.n0)),
        ow(u(in.n1)),
        m(u(in.n2)),
        k(u(in.n3)),
        kh(u(in.blk[0])),
        kw(u(in.blk[1])),
        sh(u(in.blk[2])),
        sw(u(in.rep[0])) {}
  uint64_t slice(uint64_t i) const { return (k + i) / (kh * kw); }
  uint64_t tap_h(uint64_t i) const { return (k + i) / kw % kh; }
  uint64_t tap_w(uint64_t i) const { return (k + i) % kw; }
  // Input row / column of output pixel m + r at kernel tap 0 (may be negative).
  int64_t row0(uint64_t r, const Fmatrix& fm) const {
    return int64_t((m + r) / ow * sh) - fm.pad_t;
  }
  int64_t col0(uint64_t r, const Fmatrix& fm) const {
    return int64_t((m + r) % ow * sw) - fm.pad_l;
  }
};

void exec_img2col(const Instr& in, const Memories& mem, const std::string& who, const Fmatrix& fm) {
  if (fm.h == 0)
    throw Error(fmt::format(
        "{}: reads a feature map, and no set_fmatrix came before it in PIPE_MTE1", who));
  const Img2col g(in);
  const ByteStore& l1 = mem[Buf::l1];
  const uint64_t s = u(in.src0.at);
  std::vector<uint8_t> out(g.repeat * kFractal, 0);
  for (uint64_t i = 0; i < g.repeat; ++i)
    for (uint64_t r = 0; r < 16; ++r) {
      const int64_t ih = g.row0(r, fm) + int64_t(g.tap_h(i));
      const int64_t iw = g.col0(r, fm) + int64_t(g.tap_w(i));
      if (ih < 0 || ih >= fm.h || iw < 0 || iw >= fm.w) continue;  // padding: zeros
      const uint64_t at =
          s +
          ((g.slice(i) * uint64_t(fm.h) + uint64_t(ih)) * uint64_t(fm.w) + uint64_t(iw)) * kBlock;
      l1.read(at, &out[i * kFractal + r * kBlock], kBlock, who);
    }
  mem[Buf::l0a].write(u(in.dst.at), out.data(), out.size());
}

// ---- mad ---------------------------------------------------------------------------------------

// The elements of A (M x K, zZ) and B (K x N, zN) as row-major matrices of T, converted by
// `get` from the raw element at an index.
template <class T, class Get>
void unpack_operands(uint64_t M, uint64_t K, uint64_t N, uint64_t k0, Get get, const uint8_t* a_raw,
                     const uint8_t* b_raw, std::vector<T>& a, std::vector<T>& b) {
  a.resize(M * K);
  b.resize(K * N);
  const uint64_t kf = K / k0, nf = N / 16;
  for (uint64_t i = 0; i < M / 16; ++i)
    for (uint64_t j = 0; j < kf; ++j) {
      const uint64_t base = (i * kf + j) * 16 * k0;
      for (uint64_t r = 0; r < 16; ++r)
        for (uint64_t c = 0; c < k0; ++c)
          a[(i * 16 + r) * K + j * k0 + c] = get(a_raw, base + r * k0 + c);
    }
  for (uint64_t i = 0; i < kf; ++i)
    for (uint64_t j = 0; j < nf; ++j) {
      const uint64_t base = (i * nf + j) * k0 * 16;
      for (uint64_t c = 0; c < 16; ++c)
        for (uint64_t r = 0; r < k0; ++r)
          b[(i * k0 + r) * N + j * 16 + c] = get(b_raw, base + c * k0 + r);
    }
}

// The index, in the NZ layout of an M x N matrix, of element (row, col) given as fractal
// (i, j) and position (r, c) in it.
inline uint64_t nz_index(uint64_t M, uint64_t i, uint64_t j, uint64_t r, uint64_t c) {
  return (j * (M / 16) + i) * 256 + r * 16 + c;
}

// An M x N matrix of 4-byte elements: NZ <-> row-major.
void nz_to_rows(uint64_t M, uint64_t N, const uint8_t* nz, uint8_t* rows) {
  for (uint64_t i = 0; i < M / 16; ++i)
    for (uint64_t j = 0; j < N / 16; ++j)
      for (uint64_t r = 0; r < 16; ++r)
        std::memcpy(rows + ((i * 16 + r) * N + j * 16) * 4, nz + nz_index(M, i, j, r, 0) * 4, 64);
}
void rows_to_nz(uint64_t M, uint64_t N, const uint8_t* rows, uint8_t* nz) {
  for (uint64_t i = 0; i < M / 16; ++i)
    for (uint64_t j = 0; j < N / 16; ++j)
      for (uint64_t r = 0; r < 16; ++r)
        std::memcpy(nz + nz_index(M, i, j, r, 0) * 4, rows + ((i * 16 + r) * N + j * 16) * 4, 64);
}

// acc (M x N, row-major) += A x B, each element's products added in k order. The loop runs
// over n innermost, so each element still sees k = 0, 1, ... in order.
template <class T>
void multiply(uint64_t M, uint64_t K, uint64_t N, const std::vector<T>& a, const std::vector<T>& b,
              T* acc) {
  for (uint64_t i = 0; i < M; ++i) {
    T* row = acc + i * N;
    for (uint64_t k = 0; k < K; ++k) {
      const T x = a[i * K + k];
      const T* brow = &b[k * N];
      for (uint64_t j = 0; j < N; ++j) row[j] += x * brow[j];
    }
  }
}

void exec_mad(const Instr& in, const Memories& m, const std::string& who) {
  const uint64_t M = u(in.n0), K = u(in.n1), N = u(in.n2);
  const uint64_t es = uint64_t(ty_bytes(in.ty)), k0 = kBlock / es;
  std::vector<uint8_t> a_raw(M * K * es), b_raw(K * N * es), c_raw(M * N * 4);
  m[Buf::l0a].read(u(in.src0.at), a_raw.data(), a_raw.size(), who);
  m[Buf::l0b].read(u(in.src1.at), b_raw.data(), b_raw.size(), who);
  ByteStore& l0c = m[Buf::l0c];
  l0c.check_range(u(in.dst.at), c_raw.size(), who, "destination");
  if (!in.flag) l0c.read(u(in.dst.at), c_raw.data(), c_raw.size(), who);
  if (in.ty == Ty::s8) {
    // uint32 arithmetic: the int32 sums wrap instead of overflowing.
    std::vector<uint32_t> a, b, acc(M * N, 0);
    unpack_operands<uint32_t>(
        M, K, N, k0, [](const uint8_t* p, uint64_t i) { return uint32_t(int32_t(int8_t(p[i]))); },
        a_raw.data(), b_raw.data(), a, b);
    if (!in.flag) nz_to_rows(M, N, c_raw.data(), reinterpret_cast<uint8_t*>(acc.data()));
    multiply(M, K, N, a, b, acc.data());
    rows_to_nz(M, N, reinterpret_cast<const uint8_t*>(acc.data()), c_raw.data());
  } else {
    std::vector<float> a, b, acc(M * N, 0.0f);
    if (in.ty == Ty::f16)
      unpack_operands<float>(
          M, K, N, k0,
          [](const uint8_t* p, uint64_t i) { return numeric::f16_to_float(ld<uint16_t>(p, i)); },
          a_raw.data(), b_raw.data(), a, b);
    else
      unpack_operands<float>(
          M, K, N, k0,
          [](const uint8_t* p, uint64_t i) { return numeric::bf16_to_float(ld<uint16_t>(p, i)); },
          a_raw.data(), b_raw.data(), a, b);
    if (!in.flag) nz_to_rows(M, N, c_raw.data(), reinterpret_cast<uint8_t*>(acc.data()));
    multiply(M, K, N, a, b, acc.data());
    rows_to_nz(M, N, reinterpret_cast<const uint8_t*>(acc.data()), c_raw.data());
  }
  l0c.write(u(in.dst.at), c_raw.data(), c_raw.size());
}

// ---- vector ops ----------------------------------------------------------------------------

float max_of(float x, float y) {
  if (std::isnan(x) || std::isnan(y)) return std::isnan(x) ? x : y;
  if (x == y) return std::signbit(x) ? y : x;
  return x > y ? x : y;
}
float min_of(float x, float y) {
  if (std::isnan(x) || std::isnan(y)) return std::isnan(x) ? x : y;
  if (x == y) return std::signbit(x) ? x : y;
  return x < y ? x : y;
}

float bits_float(uint64_t bits) {
  const uint32_t b = uint32_t(bits);
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// One vector operand: where each selected element of an iteration lies, as runs (segments) of
// elements contiguous in memory, the same for every iteration.
struct Seg {
  uint32_t elem;   // the first element
  uint32_t bytes;  // the run's length
  uint64_t off;    // its byte offset from the iteration's base
};
struct VecOperand {
  uint64_t addr = 0, blk_bytes = 0, rep_bytes = 0;
  uint64_t es = 0, elems = 0;  // element bytes, elements per iteration
  std::vector<Seg> segs;
  bool contiguous = false;  // every element, iterations back to back: one run over all of them
  uint64_t lo = 0, hi = 0;  // the bytes of selected elements lie in [lo, hi)
  uint64_t span = 0;        // of one iteration's selected bytes (0 when none)

  uint64_t iter_bytes() const { return elems * es; }
};

VecOperand vec_operand(uint64_t addr, uint64_t blk, uint64_t rep, uint64_t es, uint64_t elems,
                       uint64_t repeat, const Mask& mask) {
  VecOperand o;
  o.addr = addr, o.blk_bytes = blk * kBlock, o.rep_bytes = rep * kBlock, o.es = es, o.elems = elems;
  const uint64_t per_block = kBlock / es;
  for (uint64_t e = 0; e < elems; ++e) {
    if (!((mask[e / 64] >> (e % 64)) & 1)) continue;
    const uint64_t off = (e / per_block) * o.blk_bytes + (e % per_block) * es;
    if (!o.segs.empty()) {
      Seg& s = o.segs.back();
      if (s.elem + s.bytes / es == e && s.off + s.bytes == off) {
        s.bytes += uint32_t(es);
        continue;
      }
    }
    o.segs.push_back({uint32_t(e), uint32_t(es), off});
  }
  o.contiguous = o.segs.size() == 1 && o.segs[0].off == 0 && o.segs[0].bytes == o.iter_bytes() &&
                 (repeat == 1 || o.rep_bytes == o.iter_bytes());
  if (!o.segs.empty()) {
    uint64_t first = ~uint64_t(0), last = 0;
    for (const Seg& s : o.segs)
      first = std::min(first, s.off), last = std::max(last, s.off + s.bytes);
    o.lo = addr + first;
    o.hi = addr + (repeat - 1) * o.rep_bytes + last;
    o.span = last - first;
  }
  return o;
}

void read_iter(const ByteStore& ub, const VecOperand& o, uint64_t r, uint8_t* buf,
               const std::string& who) {
  const uint64_t base = o.addr + r * o.rep_bytes;
  for (const Seg& s : o.segs) ub.read(base + s.off, buf + s.elem * o.es, s.bytes, who);
}
void write_iter(ByteStore& ub, const VecOperand& o, uint64_t r, const uint8_t* buf) {
  const uint64_t base = o.addr + r * o.rep_bytes;
  for (const Seg& s : o.segs) ub.write(base + s.off, buf + s.elem * o.es, s.bytes);
}
// All iterations, back to back in buf.
void read_all(const ByteStore& ub, const VecOperand& o, uint64_t repeat, uint8_t* buf,
              const std::string& who) {
  if (o.contiguous) return ub.read(o.addr, buf, repeat * o.iter_bytes(), who);
  for (uint64_t r = 0; r < repeat; ++r) read_iter(ub, o, r, buf + r * o.iter_bytes(), who);
}
void write_all(ByteStore& ub, const VecOperand& o, uint64_t repeat, const uint8_t* buf) {
  if (o.contiguous) return ub.write(o.addr, buf, repeat * o.iter_bytes());
  for (uint64_t r = 0; r < repeat; ++r) write_iter(ub, o, r, buf + r * o.iter_bytes());
}

// Whether reading every iteration of s before writing any of d has the effect of running the
// iterations in order: d's bytes do not meet s's, or d and s are the same operand and no byte
// is in two iterations (in place, element for element).
bool independent(const VecOperand& d, const VecOperand& s, uint64_t repeat) {
  if (d.hi <= s.lo || s.hi <= d.lo) return true;
  return d.addr == s.addr && d.es == s.es && d.blk_bytes == s.blk_bytes &&
         d.rep_bytes == s.rep_bytes && (repeat == 1 || d.rep_bytes >= d.span);
}

// The elementwise computation of n elements: d from a (and b).
using ElemFn = void (*)(const Instr& in, uint8_t* d, const uint8_t* a, const uint8_t* b, size_t n);

template <class F>
void map_float(Ty t, uint8_t* d, const uint8_t* a, const uint8_t* b, size_t n, F f) {
  if (t == Ty::f32) {
    for (size_t i = 0; i < n; ++i) st<float>(d, i, f(ld<float>(a, i), b ? ld<float>(b, i) : 0.0f));
  } else {
    for (size_t i = 0; i < n; ++i) {
      const float x = numeric::f16_to_float(ld<uint16_t>(a, i));
      const float y = b ? numeric::f16_to_float(ld<uint16_t>(b, i)) : 0.0f;
      st<uint16_t>(d, i, numeric::float_to_f16(f(x, y)));
    }
  }
}
// s32, in uint32 arithmetic (wrapping).
template <class F>
void map_int(uint8_t* d, const uint8_t* a, const uint8_t* b, size_t n, F f) {
  for (size_t i = 0; i < n; ++i)
    st<uint32_t>(d, i, f(ld<uint32_t>(a, i), b ? ld<uint32_t>(b, i) : 0));
}

void k_binary(const Instr& in, uint8_t* d, const uint8_t* a, const uint8_t* b, size_t n) {
  if (in.ty == Ty::s32) {
    switch (in.op) {
      case Op::vadd:
        return map_int(d, a, b, n, [](uint32_t x, uint32_t y) { return x + y; });
      case Op::vsub:
        return map_int(d, a, b, n, [](uint32_t x, uint32_t y) { return x - y; });
      case Op::vmax:
        return map_int(d, a, b, n,
                       [](uint32_t x, uint32_t y) { return int32_t(x) > int32_t(y) ? x : y; });
      default:
        return map_int(d, a, b, n,
                       [](uint32_t x, uint32_t y) { return int32_t(x) < int32_t(y) ? x : y; });
    }
  }
  switch (in.op) {
    case Op::vadd:
      return map_float(in.ty, d, a, b, n, [](float x, float y) { return x + y; });
    case Op::vsub:
      return map_float(in.ty, d, a, b, n, [](float x, float y) { return x - y; });
    case Op::vmul:
      return map_float(in.ty, d, a, b, n, [](float x, float y) { return x * y; });
    case Op::vdiv:
      return map_float(in.ty, d, a, b, n, [](float x, float y) { return x / y; });
    case Op::vmax:
      return map_float(in.ty, d, a, b, n, max_of);
    default:
      return map_float(in.ty, d, a, b, n, min_of);
  }
}

void k_unary(const Instr& in, uint8_t* d, const uint8_t* a, const uint8_t*, size_t n) {
  switch (in.op) {
    case Op::vexp:
      return map_float(in.ty, d, a, nullptr, n, [](float x, float) { return std::exp(x); });
    case Op::vln:
      return map_float(in.ty, d, a, nullptr, n, [](float x, float) { return std::log(x); });
    case Op::vabs:
      return map_float(in.ty, d, a, nullptr, n, [](float x, float) { return std::fabs(x); });
    case Op::vrec:
      return map_float(in.ty, d, a, nullptr, n, [](float x, float) { return 1.0f / x; });
    case Op::vsqrt:
      return map_float(in.ty, d, a, nullptr, n, [](float x, float) { return std::sqrt(x); });
    case Op::vrsqrt:
      return map_float(in.ty, d, a, nullptr, n, [](float x, float) { return 1.0f / std::sqrt(x); });
    default:  // vrelu: NaN stays NaN, -0 and negatives become +0
      return map_float(in.ty, d, a, nullptr, n,
                       [](float x, float) { return x > 0.0f || std::isnan(x) ? x : 0.0f; });
  }
}

// The scalar of a vector-scalar op or vector_dup: an s32, or fp32 bits rounded to the type.
float scalar_float(const Instr& in) {
  const float f = bits_float(u(in.b));
  return in.ty == Ty::f16 ? numeric::f16_to_float(numeric::float_to_f16(f)) : f;
}

void k_vs(const Instr& in, uint8_t* d, const uint8_t* a, const uint8_t*, size_t n) {
  if (in.ty == Ty::s32) {
    const uint32_t s = uint32_t(u(in.b));
    switch (in.op) {
      case Op::vadds:
        return map_int(d, a, nullptr, n, [s](uint32_t x, uint32_t) { return x + s; });
      case Op::vmuls:
        return map_int(d, a, nullptr, n, [s](uint32_t x, uint32_t) { return x * s; });
      case Op::vmaxs:
        return map_int(d, a, nullptr, n,
                       [s](uint32_t x, uint32_t) { return int32_t(x) > int32_t(s) ? x : s; });
      default:
        return map_int(d, a, nullptr, n,
                       [s](uint32_t x, uint32_t) { return int32_t(x) < int32_t(s) ? x : s; });
    }
  }
  const float s = scalar_float(in);
  switch (in.op) {
    case Op::vadds:
      return map_float(in.ty, d, a, nullptr, n, [s](float x, float) { return x + s; });
    case Op::vmuls:
      return map_float(in.ty, d, a, nullptr, n, [s](float x, float) { return x * s; });
    case Op::vmaxs:
      return map_float(in.ty, d, a, nullptr, n, [s](float x, float) { return max_of(x, s); });
    default:
      return map_float(in.ty, d, a, nullptr, n, [s](float x, float) { return min_of(x, s); });
  }
}

void k_dup(const Instr& in, uint8_t* d, const uint8_t*, const uint8_t*, size_t n) {
  uint32_t v = uint32_t(u(in.b));  // s32, or fp32 bits
  if (in.ty == Ty::f16) {
    const uint16_t h = numeric::float_to_f16(bits_float(v));
    for (size_t i = 0; i < n; ++i) st<uint16_t>(d, i, h);
    return;
  }
  for (size_t i = 0; i < n; ++i) st<uint32_t>(d, i, v);
}

// float -> an integer in [min, max] with rounding r: saturating, NaN -> 0.
int64_t float_to_int(float x, Rounding r, double min, double max) {
  if (std::isnan(x)) return 0;
  double v = x;  // exact; so are the roundings below
  switch (r) {
    case Rounding::nearest_even: {
      const double fl = std::floor(v), frac = v - fl;
      v = frac > 0.5 || (frac == 0.5 && std::fmod(fl, 2.0) != 0.0) ? fl + 1 : fl;
      break;
    }
    case Rounding::nearest_away:
      v = std::round(v);
      break;
    case Rounding::down:
      v = std::floor(v);
      break;
    case Rounding::up:
      v = std::ceil(v);
      break;
    case Rounding::toward_zero:
      v = std::trunc(v);
      break;
  }
  return int64_t(std::min(std::max(v, min), max));
}
uint32_t float_to_s32(float x, Rounding r) {
  return uint32_t(int32_t(float_to_int(x, r, -2147483648.0, 2147483647.0)));
}

// s32 -> the float format (exp_bits, man_bits), rounded once.
uint32_t s32_to_binary(uint32_t bits, int exp_bits, int man_bits, Rounding r) {
  const int64_t v = int32_t(bits);
  return numeric::round_to_binary(v < 0, uint64_t(v < 0 ? -v : v), 0, exp_bits, man_bits, r);
}

void k_conv(const Instr& in, uint8_t* d, const uint8_t* a, const uint8_t*, size_t n) {
  const Rounding r = rounding(in.round);
  const Ty to = in.ty, from = in.ty2;
  for (size_t i = 0; i < n; ++i) {
    if (to == Ty::s8) {  // from f16
      d[i] = uint8_t(int8_t(float_to_int(numeric::f16_to_float(ld<uint16_t>(a, i)), r, -128, 127)));
      continue;
    }
    if (from == Ty::s8) {  // to f16, exact
      st<uint16_t>(d, i, numeric::float_to_f16(float(int8_t(a[i]))));
      continue;
    }
    if (from == Ty::s32) {
      const uint32_t x = ld<uint32_t>(a, i);
      if (to == Ty::f32)
        st<uint32_t>(d, i, s32_to_binary(x, 8, 23, r));
      else
        st<uint16_t>(d, i, uint16_t(s32_to_binary(x, 5, 10, r)));
      continue;
    }
    const float x = from == Ty::f32   ? ld<float>(a, i)
                    : from == Ty::f16 ? numeric::f16_to_float(ld<uint16_t>(a, i))
                                      : numeric::bf16_to_float(ld<uint16_t>(a, i));
    switch (to) {
      case Ty::f32:
        st<float>(d, i, x);
        break;
      case Ty::f16:
        st<uint16_t>(d, i, numeric::float_to_f16(x, r));
        break;
      case Ty::bf16:
        st<uint16_t>(d, i, numeric::float_to_bf16(x, r));
        break;
      default:
        st<uint32_t>(d, i, float_to_s32(x, r));
        break;
    }
  }
}

ElemFn kernel_of(Op op) {
  if (is_binary(op)) return k_binary;
  if (is_unary(op)) return k_unary;
  if (is_vs(op)) return k_vs;
  if (op == Op::vector_dup) return k_dup;
  return k_conv;
}

// The elementwise vector ops (everything but the reductions).
void exec_elementwise(const Instr& in, const Mask& mask, ByteStore& ub, const std::string& who) {
  const uint64_t repeat = u(in.n0);
  const VecShape sh = vec_shape(in);
  const Addr* addrs[] = {&in.dst, &in.src0, &in.src1};
  const int nops = vector_operands(in.op);
  VecOperand o[3];
  for (int i = 0; i < nops; ++i)
    o[i] = vec_operand(u(addrs[i]->at), u(in.blk[i]), u(in.rep[i]), uint64_t(sh.es[i]), sh.elems,
                       repeat, mask);
  if (o[0].segs.empty()) return;  // no element selected
  ub.check_range(o[0].lo, o[0].hi - o[0].lo, who, "destination");
  const ElemFn k = kernel_of(in.op);
  bool bulk = true;
  for (int i = 1; i < nops; ++i) bulk = bulk && independent(o[0], o[i], repeat);
  const uint64_t iters = bulk ? repeat : 1;
  uint8_t* buf[3] = {};
  for (int i = 0; i < nops; ++i) buf[i] = scratch(i, iters * o[i].iter_bytes());
  const uint8_t* b1 = nops > 2 ? buf[2] : nullptr;
  if (bulk) {
    for (int i = 1; i < nops; ++i) read_all(ub, o[i], repeat, buf[i], who);
    k(in, buf[0], buf[1], b1, repeat * sh.elems);
    write_all(ub, o[0], repeat, buf[0]);
    return;
  }
  for (uint64_t r = 0; r < repeat; ++r) {
    for (int i = 1; i < nops; ++i) read_iter(ub, o[i], r, buf[i], who);
    k(in, buf[0], buf[1], b1, sh.elems);
    write_iter(ub, o[0], r, buf[0]);
  }
}

// vcadd, vcmax, vcmin of the selected elements `sel` of one iteration at p.
template <class Get, class Put>
void reduce_iter(Op op, const uint8_t* p, const std::vector<uint32_t>& sel, uint8_t* out, Get get,
                 Put put) {
  float acc = get(p, sel[0]);
  for (size_t i = 1; i < sel.size(); ++i) {
    const float x = get(p, sel[i]);
    acc = op == Op::vcadd ? acc + x : op == Op::vcmax ? max_of(acc, x) : min_of(acc, x);
  }
  put(out, acc);
}

void exec_reduce(const Instr& in, const Mask& mask, ByteStore& ub, const std::string& who) {
  const uint64_t repeat = u(in.n0), es = uint64_t(ty_bytes(in.ty)), elems = kVecBytes / es;
  const VecOperand s =
      vec_operand(u(in.src0.at), u(in.blk[1]), u(in.rep[1]), es, elems, repeat, mask);
  if (s.segs.empty()) return;  // no element selected: nothing written
  std::vector<uint32_t> sel;
  for (uint32_t e = 0; e < elems; ++e)
    if ((mask[e / 64] >> (e % 64)) & 1) sel.push_back(e);
  const uint64_t d = u(in.dst.at);
  ub.check_range(d, repeat * es, who, "destination");
  const bool bulk = d + repeat * es <= s.lo || s.hi <= d;
  uint8_t* src = scratch(1, (bulk ? repeat : 1) * s.iter_bytes());
  uint8_t* out = scratch(0, repeat * es);
  auto one = [&](const uint8_t* p, uint8_t* o) {
    if (in.ty == Ty::f32)
      reduce_iter(
          in.op, p, sel, o, [](const uint8_t* q, uint32_t e) { return ld<float>(q, e); },
          [](uint8_t* q, float v) { st<float>(q, 0, v); });
    else
      reduce_iter(
          in.op, p, sel, o,
          [](const uint8_t* q, uint32_t e) { return numeric::f16_to_float(ld<uint16_t>(q, e)); },
          [](uint8_t* q, float v) { st<uint16_t>(q, 0, numeric::float_to_f16(v)); });
  };
  if (bulk) {
    read_all(ub, s, repeat, src, who);
    for (uint64_t r = 0; r < repeat; ++r) one(src + r * s.iter_bytes(), out + r * es);
    ub.write(d, out, repeat * es);
    return;
  }
  for (uint64_t r = 0; r < repeat; ++r) {
    read_iter(ub, s, r, src, who);
    one(src, out);
    ub.write(d + r * es, out, es);
  }
}

// vbrcb: per iteration, its 8 source elements (4 bytes each) to the 8 blocks of its destination,
// read before the iteration writes.
void exec_brcb(const Instr& in, ByteStore& ub, const std::string& who) {
  const uint64_t repeat = u(in.n0), blk = u(in.blk[0]) * kBlock, rep = u(in.rep[0]) * kBlock;
  const uint64_t d = u(in.dst.at), s = u(in.src0.at);
  ub.check_range(s, repeat * kBlock, who, "source");
  ub.check_range(d, (repeat - 1) * rep + 7 * blk + kBlock, who, "destination");
  uint32_t src[8], block[8];
  for (uint64_t r = 0; r < repeat; ++r) {
    ub.read(s + r * kBlock, reinterpret_cast<uint8_t*>(src), kBlock, who);
    for (uint64_t i = 0; i < 8; ++i) {
      std::fill(std::begin(block), std::end(block), src[i]);
      ub.write(d + r * rep + i * blk, reinterpret_cast<const uint8_t*>(block), kBlock);
    }
  }
}

// ---- L0C out -------------------------------------------------------------------------------

// The converted value of each of `count` 4-byte L0C elements at acc, into out (elements of
// fix_out_bytes(in.conv)), with ReLU when in.flag.
void convert_out(const Instr& in, const uint8_t* acc, uint64_t count, uint8_t* out) {
  switch (in.conv) {
    case Conv::none:
      std::memmove(out, acc, count * 4);
      return;
    case Conv::req8: {
      const int32_t mul = int32_t(in.blk[0].imm), shift = int32_t(in.b.imm);
      for (uint64_t i = 0; i < count; ++i) {
        const int8_t q = numeric::requantize(ld<int32_t>(acc, i), mul, shift);
        out[i] = uint8_t(in.flag && q < 0 ? 0 : q);
      }
      return;
    }
    default:  // f32 to a 2-byte float, in place from the front (element i's 2 bytes below its 4)
      for (uint64_t i = 0; i < count; ++i) {
        float x = ld<float>(acc, i);
        if (in.flag && !(x > 0.0f) && !std::isnan(x)) x = 0.0f;  // as vrelu
        st<uint16_t>(
            out, i,
            in.conv == Conv::f322f16 ? numeric::float_to_f16(x) : numeric::float_to_bf16(x));
      }
      return;
  }
}

void exec_cc_to_ub(const Instr& in, const Memories& m, const std::string& who) {
  const uint64_t n = u(in.n0), len = u(in.n1);
  const uint64_t out = cc_ub_fractal(in.conv);
  const Rows src{u(in.src0.at), n, (len + u(in.n2)) * kCFractal, len * kCFractal};
  const Rows dst{u(in.dst.at), n, (len + u(in.n3)) * out, len * out};
  const ByteStore& l0c = m[Buf::l0c];
  l0c.check_rows(src.base, src.count, src.stride, src.bytes, who, "source");
  uint8_t* buf = scratch(0, src.total());
  read_rows(l0c, src, buf, who);
  convert_out(in, buf, src.total() / 4, buf);
  if (in.conv != Conv::req8) return write_rows(m[Buf::ub], dst, buf, who);
  // Each fractal's 16 rows of 16 s8, 32 bytes apart.
  ByteStore& ub = m[Buf::ub];
  for (uint64_t i = 0; i < n; ++i) {
    const Rows rows{dst.base + i * dst.stride, len * 16, kBlock, 16};
    write_rows(ub, rows, buf + i * len * 256, who);
  }
}

void exec_fixpipe(const Instr& in, const Memories& m, const std::string& who) {
  const uint64_t M = u(in.n0), N = u(in.n1), ob = fix_out_bytes(in.conv);
  std::vector<uint8_t> nz(M * N * 4), rows(M * N * 4);
  m[Buf::l0c].read(u(in.src0.at), nz.data(), nz.size(), who);
  nz_to_rows(M, N, nz.data(), rows.data());
  convert_out(in, rows.data(), M * N, rows.data());
  write_rows(m[in.dst.buf], Rows{u(in.dst.at), M, u(in.n2), N * ob}, rows.data(), who);
}

}  // namespace

Instr resolve(const Instr& in, const int64_t* regs) {
  Instr out = in;
  auto fix = [regs](Val& v) {
    if (v.reg >= 0) v = {-1, int64_t(uint64_t(regs[v.reg]) + uint64_t(v.imm))};
  };
  for (Val* v : {&out.a, &out.b, &out.dst.at, &out.src0.at, &out.src1.at, &out.n0, &out.n1, &out.n2,
                 &out.n3})
    fix(*v);
  for (int i = 0; i < 3; ++i) fix(out.blk[i]), fix(out.rep[i]);
  return out;
}

void check(const Instr& in, const std::string& who) {
  check(in, std::function<std::string()>([&who] { return who; }));
}

void check(const Instr& in, const std::function<std::string()>& who) {
  const Checker c(in, who);
  for (const Val* v :
       {&in.a, &in.b, &in.dst.at, &in.src0.at, &in.src1.at, &in.n0, &in.n1, &in.n2, &in.n3,
        &in.blk[0], &in.blk[1], &in.blk[2], &in.rep[0], &in.rep[1], &in.rep[2]})
    if (v->reg >= 0) c.fail(fmt::format("x{} was not resolved (a register operand)", v->reg));
  switch (in.op) {
    case Op::copy_gm_to_cbuf:
    case Op::copy_gm_to_ubuf:
    case Op::copy_cbuf_to_ubuf:
    case Op::copy_ubuf_to_gm: {
      const Buf src = in.op == Op::copy_cbuf_to_ubuf ? Buf::l1
                      : in.op == Op::copy_ubuf_to_gm ? Buf::ub
                                                     : Buf::gm;
      const Buf dst = in.op == Op::copy_gm_to_cbuf   ? Buf::l1
                      : in.op == Op::copy_ubuf_to_gm ? Buf::gm
                                                     : Buf::ub;
      c.addr("destination", in.dst, dst, dst == Buf::gm ? 1 : kBlock);
      c.addr("source", in.src0, src, src == Buf::gm ? 1 : kBlock);
      c.count("nburst", in.n0, 1, 4095);
      c.count("burst", in.n1, 1, 65535);
      c.count("src_gap", in.n2, 0, 65535);
      c.count("dst_gap", in.n3, 0, 65535);
      return;
    }
    case Op::load_cbuf_to_ca:
    case Op::load_cbuf_to_cb:
      c.type({Ty::f16, Ty::bf16, Ty::s8}, "f16, bf16 or s8");
      if (in.flag && ty_bytes(in.ty) != 2)
        c.fail(
            fmt::format("transpose needs 2-byte elements (f16 or bf16), not {}", ty_name(in.ty)));
      c.addr("destination", in.dst, in.op == Op::load_cbuf_to_ca ? Buf::l0a : Buf::l0b, kFractal);
      c.addr("source", in.src0, Buf::l1, kFractal);
      c.count("repeat", in.n0, 1, 255);
      c.count("src_stride", in.n1, 0, 65535);
      c.count("dst_gap", in.n2, 0, 65535);
      return;
    case Op::mad: {
      c.type({Ty::f16, Ty::bf16, Ty::s8}, "f16, bf16 or s8");
      c.addr("C", in.dst, Buf::l0c, kCFractal);
      c.addr("A", in.src0, Buf::l0a, kFractal);
      c.addr("B", in.src1, Buf::l0b, kFractal);
      c.count("m", in.n0, 1, 4095);
      c.count("k", in.n1, 1, 4095);
      c.count("n", in.n2, 1, 4095);
      c.multiple("m", in.n0, 16);
      const int64_t k0 = int64_t(kBlock) / ty_bytes(in.ty);
      c.multiple("k", in.n1, k0, in.ty == Ty::s8 ? " for s8" : " for 2-byte elements");
      c.multiple("n", in.n2, 16);
      return;
    }
    case Op::set_fmatrix:
      c.count("h", in.n0, 1, 65535);
      c.count("w", in.n1, 1, 65535);
      c.count("pad_t", in.n2, 0, 255);
      c.count("pad_l", in.n3, 0, 255);
      return;
    case Op::ld_ub:
      c.addr("source", in.src0, Buf::ub, 4);
      return;
    case Op::img2col_cbuf_to_ca:
      c.addr("destination", in.dst, Buf::l0a, kFractal);
      c.addr("source", in.src0, Buf::l1, kBlock);
      c.count("repeat", in.n0, 1, 255);
      c.count("ow", in.n1, 1, 65535);
      c.count("m", in.n2, 0, std::numeric_limits<uint32_t>::max());
      c.count("k", in.n3, 0, 65535);
      c.count("kh", in.blk[0], 1, 255);
      c.count("kw", in.blk[1], 1, 255);
      c.count("stride_h", in.blk[2], 1, 63);
      c.count("stride_w", in.rep[0], 1, 63);
      return;
    case Op::copy_matrix_cc_to_ubuf:
      if (in.conv == Conv::f322bf16)
        c.fail("copy_matrix_cc_to_ubuf converts with conv none, f322f16 or req8, not f322bf16");
      check_out_conv(in, c);
      c.addr("destination", in.dst, Buf::ub, in.conv == Conv::req8 ? kBlock / 2 : kBlock);
      c.addr("source", in.src0, Buf::l0c, kCFractal);
      c.count("nburst", in.n0, 1, 4095);
      c.count("burst", in.n1, 1, 65535);
      c.count("src_gap", in.n2, 0, 65535);
      c.count("dst_gap", in.n3, 0, 65535);
      return;
    case Op::fixpipe:
      check_out_conv(in, c);
      c.addr("destination", in.dst, Buf::gm, 1);
      c.addr("source", in.src0, Buf::l0c, kCFractal);
      c.count("m", in.n0, 1, 4095);
      c.count("n", in.n1, 1, 4095);
      c.count("dst_stride", in.n2, 0, std::numeric_limits<uint32_t>::max());
      c.multiple("m", in.n0, 16);
      c.multiple("n", in.n1, 16);
      return;
    default:
      if (is_vector(in.op)) check_vector(in, c);
      return;  // scalar, synchronisation, set_vector_mask: nothing that needs values here
  }
}

std::vector<VectorOperand> vector_geometry(const Instr& in) {
  std::vector<VectorOperand> v;
  if (!is_vector(in.op)) return v;
  const VecShape sh = vec_shape(in);
  const Addr* addrs[] = {&in.dst, &in.src0, &in.src1};
  for (int i = 0; i < vector_operands(in.op); ++i) {
    if (in.op == Op::vbrcb && i == 1)  // one block per iteration, back to back
      v.push_back({false, u(in.src0.at), 1, 1, 1});
    else if (!packed_operand(in.op, i))
      v.push_back({i == 0, u(addrs[i]->at), u(in.blk[i]), u(in.rep[i]),
                   uint32_t(sh.elems * uint64_t(sh.es[i]) / kBlock)});
  }
  return v;
}

void accesses(const Instr& in, std::vector<Range>& out, const Mask& mask, const Fmatrix& fm) {
  const size_t start = out.size();
  switch (in.op) {
    case Op::copy_gm_to_cbuf:
    case Op::copy_gm_to_ubuf:
    case Op::copy_cbuf_to_ubuf:
    case Op::copy_ubuf_to_gm: {
      const uint64_t n = u(in.n0), len = u(in.n1) * kBlock;
      add_rows(out, in.src0.buf, false, u(in.src0.at), n, len + u(in.n2) * kBlock, len);
      add_rows(out, in.dst.buf, true, u(in.dst.at), n, len + u(in.n3) * kBlock, len);
      break;
    }
    case Op::load_cbuf_to_ca:
    case Op::load_cbuf_to_cb:
      add_rows(out, in.src0.buf, false, u(in.src0.at), u(in.n0), u(in.n1) * kFractal, kFractal);
      add_rows(out, in.dst.buf, true, u(in.dst.at), u(in.n0), (1 + u(in.n2)) * kFractal, kFractal);
      break;
    case Op::img2col_cbuf_to_ca: {
      // The rows of each slice its pixels can read (taps and padding included), and L0A.
      const Img2col g(in);
      if (fm.h > 0) {
        const int64_t first = std::max<int64_t>(0, g.row0(0, fm));
        const int64_t last = std::min<int64_t>(fm.h - 1, g.row0(15, fm) + int64_t(g.kh) - 1);
        const uint64_t slice_bytes = uint64_t(fm.h * fm.w) * kBlock;
        for (uint64_t c = g.slice(0); first <= last && c <= g.slice(g.repeat - 1); ++c)
          add_rows(out, Buf::l1, false,
                   u(in.src0.at) + c * slice_bytes + uint64_t(first * fm.w) * kBlock, 1, 0,
                   uint64_t((last - first + 1) * fm.w) * kBlock);
      }
      add_rows(out, Buf::l0a, true, u(in.dst.at), 1, 0, g.repeat * kFractal);
      break;
    }
    case Op::mad: {
      const uint64_t M = u(in.n0), K = u(in.n1), N = u(in.n2), es = uint64_t(ty_bytes(in.ty));
      add_rows(out, Buf::l0a, false, u(in.src0.at), 1, 0, M * K * es);
      add_rows(out, Buf::l0b, false, u(in.src1.at), 1, 0, K * N * es);
      if (!in.flag) add_rows(out, Buf::l0c, false, u(in.dst.at), 1, 0, M * N * 4);
      add_rows(out, Buf::l0c, true, u(in.dst.at), 1, 0, M * N * 4);
      break;
    }
    case Op::copy_matrix_cc_to_ubuf: {
      const uint64_t n = u(in.n0), len = u(in.n1);
      const uint64_t f = cc_ub_fractal(in.conv);
      add_rows(out, Buf::l0c, false, u(in.src0.at), n, (len + u(in.n2)) * kCFractal,
               len * kCFractal);
      if (in.conv == Conv::req8)  // rows of 16 bytes, 32 apart
        for (uint64_t i = 0; i < n; ++i)
          add_rows(out, Buf::ub, true, u(in.dst.at) + i * (len + u(in.n3)) * f, len * 16, kBlock,
                   16);
      else
        add_rows(out, Buf::ub, true, u(in.dst.at), n, (len + u(in.n3)) * f, len * f);
      break;
    }
    case Op::fixpipe: {
      const uint64_t M = u(in.n0), N = u(in.n1);
      add_rows(out, Buf::l0c, false, u(in.src0.at), 1, 0, M * N * 4);
      add_rows(out, in.dst.buf, true, u(in.dst.at), M, u(in.n2), N * fix_out_bytes(in.conv));
      break;
    }
    default: {
      if (!is_vector(in.op)) return;
      const uint64_t repeat = u(in.n0);
      const VecShape sh = vec_shape(in);
      const Addr* addrs[] = {&in.dst, &in.src0, &in.src1};
      for (int i = 0; i < vector_operands(in.op); ++i) {
        if (packed_operand(in.op, i)) {  // reductions: one value; vbrcb: 8 elements
          const uint64_t per = in.op == Op::vbrcb ? 8 : 1;
          add_rows(out, Buf::ub, i == 0, u(addrs[i]->at), 1, 0, repeat * per * uint64_t(sh.es[i]));
          continue;
        }
        // The blocks of an iteration that hold a selected element: a prefix in one go, else
        // block by block.
        const uint64_t nb = sh.elems * uint64_t(sh.es[i]) / kBlock, per = sh.elems / nb;
        uint32_t used = 0;
        for (uint64_t j = 0; j < nb; ++j)
          for (uint64_t k = j * per; k < (j + 1) * per; ++k)
            if ((mask[k / 64] >> (k % 64)) & 1) {
              used |= 1u << j;
              break;
            }
        const uint64_t base = u(addrs[i]->at), blk = u(in.blk[i]), rep = u(in.rep[i]);
        if ((used & (used + 1)) == 0) {  // blocks 0 .. k-1
          add_blocks(out, i == 0, base, repeat, uint64_t(std::bitset<8>(used).count()), blk, rep);
          continue;
        }
        for (uint64_t j = 0; j < nb; ++j)
          if ((used >> j) & 1)
            add_blocks(out, i == 0, base + j * blk * kBlock, repeat, 1, blk, rep);
      }
      break;
    }
  }
  // One memory and direction together, in address order, touching runs merged.
  const auto mine = out.begin() + std::ptrdiff_t(start);
  const auto before = [](const Range& x, const Range& y) {
    if (x.buf != y.buf) return x.buf < y.buf;
    if (x.write != y.write) return x.write < y.write;
    return x.lo < y.lo;
  };
  if (!std::is_sorted(mine, out.end(), before)) std::sort(mine, out.end(), before);
  size_t w = start;
  for (size_t i = start; i < out.size(); ++i) {
    if (w > start && out[w - 1].buf == out[i].buf && out[w - 1].write == out[i].write &&
        out[i].lo <= out[w - 1].hi) {
      out[w - 1].hi = std::max(out[w - 1].hi, out[i].hi);
      continue;
    }
    out[w++] = out[i];
  }
  out.resize(w);
}

void execute(const Instr& in, const Mask& mask, const Memories& m, const std::string& who,
             const Fmatrix& fm) {
  switch (in.op) {
    case Op::copy_gm_to_cbuf:
    case Op::copy_gm_to_ubuf:
    case Op::copy_cbuf_to_ubuf:
    case Op::copy_ubuf_to_gm:
      return exec_copy(in, m, who);
    case Op::load_cbuf_to_ca:
    case Op::load_cbuf_to_cb:
      return exec_load(in, m, who);
    case Op::img2col_cbuf_to_ca:
      return exec_img2col(in, m, who, fm);
    case Op::mad:
      return exec_mad(in, m, who);
    case Op::copy_matrix_cc_to_ubuf:
      return exec_cc_to_ub(in, m, who);
    case Op::fixpipe:
      return exec_fixpipe(in, m, who);
    default:
      if (is_reduce(in.op)) return exec_reduce(in, mask, m[Buf::ub], who);
      if (in.op == Op::vbrcb) return exec_brcb(in, m[Buf::ub], who);
      if (is_vector(in.op)) return exec_elementwise(in, mask, m[Buf::ub], who);
      return;  // the scalar unit's and the pipes' own instructions; set_vector_mask
  }
}

uint64_t work(const Instr& in) {
  auto n = [](const Val& v) { return v.imm > 0 ? uint64_t(v.imm) : 0; };
  switch (in.op) {
    case Op::copy_gm_to_cbuf:
    case Op::copy_gm_to_ubuf:
    case Op::copy_cbuf_to_ubuf:
    case Op::copy_ubuf_to_gm:
      return n(in.n0) * n(in.n1) * kBlock;
    case Op::load_cbuf_to_ca:
    case Op::load_cbuf_to_cb:
    case Op::img2col_cbuf_to_ca:
      return n(in.n0) * kFractal;
    case Op::mad:
      return (n(in.n0) / 16) * (n(in.n2) / 16) * (n(in.n1) / (kBlock / uint64_t(ty_bytes(in.ty))));
    case Op::copy_matrix_cc_to_ubuf:
      return n(in.n0) * n(in.n1);
    case Op::fixpipe:
      return (n(in.n0) / 16) * (n(in.n1) / 16);
    default:
      return is_vector(in.op) ? n(in.n0) : 0;
  }
}

}  // namespace xpusim::isa::davinci
