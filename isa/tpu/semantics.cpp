#include "isa/tpu/semantics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "models/core/numeric.h"
#include "models/core/range.h"

namespace xpusim::isa::tpu {
namespace {

using numeric::bf16_to_float;
using numeric::float_to_bf16;

// Loads n elements of type t at addr as floats (int8 exactly).
std::vector<float> load(const ByteStore& m, uint64_t addr, uint64_t n, DType t,
                        const std::string& who) {
  std::vector<float> v(n);
  if (t == DType::fp32) {
    m.read(addr, v.data(), n * 4, who);
  } else if (t == DType::int8) {
    std::vector<int8_t> raw(n);
    m.read(addr, raw.data(), n, who);
    for (uint64_t i = 0; i < n; ++i) v[i] = raw[i];
  } else {
    std::vector<uint16_t> raw(n);
    m.read(addr, raw.data(), n * 2, who);
    for (uint64_t i = 0; i < n; ++i) v[i] = bf16_to_float(raw[i]);
  }
  return v;
}

// Stores floats as type t (int8: round half away from zero and saturate; bf16: RNE).
void store(ByteStore& m, uint64_t addr, const std::vector<float>& v, DType t) {
  if (t == DType::int8) {
    std::vector<int8_t> raw(v.size());
    for (size_t i = 0; i < v.size(); ++i) raw[i] = numeric::saturate_int8(std::llround(v[i]));
    m.write(addr, raw.data(), raw.size());
  } else {
    std::vector<uint16_t> raw(v.size());
    for (size_t i = 0; i < v.size(); ++i) raw[i] = float_to_bf16(v[i]);
    m.write(addr, raw.data(), raw.size() * 2);
  }
}

}  // namespace

int elem_bytes(DType t) {
  return dtype_size(t);
}

DType vector_src_dtype(const Instr& in) {
  return in.flags & 2 ? DType::fp32 : in.dtype;
}

void exec_rdhost(const Instr& in, const ByteStore& dram, ByteStore& ub, const std::string& who) {
  copy2d(dram, in.dram, in.stride, ub, in.ub, in.cols, in.rows, in.cols, who);
}

void exec_wrhost(const Instr& in, const ByteStore& ub, ByteStore& dram, const std::string& who) {
  copy2d(ub, in.ub, in.cols, dram, in.dram, in.stride, in.rows, in.cols, who);
}

void exec_rdrows(const Instr& in, const ByteStore& dram, ByteStore& ub, const std::string& who) {
  std::vector<int32_t> ids(in.rows);
  ub.read(in.src, ids.data(), uint64_t(in.rows) * 4, who);
  std::vector<uint8_t> row(in.cols);
  for (uint32_t i = 0; i < in.rows; ++i) {
    if (ids[i] < 0 || uint32_t(ids[i]) >= in.k)
      throw Error(
          fmt::format("{}: id {} (row {}) is outside the table's {} rows", who, ids[i], i, in.k));
    dram.read(in.dram + uint64_t(ids[i]) * in.stride, row.data(), in.cols, who);
    ub.write(in.ub + uint64_t(i) * in.cols, row.data(), in.cols);
  }
}

ConvGeom conv_geom(const Instr& in) {
  ConvGeom g;
  g.c = in.src2;
  g.h = in.stride >> 16;
  g.w = in.stride & 0xffff;
  g.r = uint32_t(in.imm) >> 24;
  g.s = (uint32_t(in.imm) >> 16) & 0xff;
  g.stride_h = (uint32_t(in.imm) >> 8) & 0xff;
  g.stride_w = uint32_t(in.imm) & 0xff;
  g.pad_h = (uint32_t(in.shift) >> 8) & 0xff;
  g.pad_w = uint32_t(in.shift) & 0xff;
  g.cg = uint32_t(in.shift) >> 16;
  if (g.cg == 0) g.cg = g.c;
  return g;
}

void set_conv_geom(Instr& in, const ConvGeom& g) {
  in.src2 = g.c;
  in.stride = g.h << 16 | g.w;
  in.imm = int32_t(g.r << 24 | g.s << 16 | g.stride_h << 8 | g.stride_w);
  in.shift = int32_t((g.cg == g.c ? 0 : g.cg) << 16 | g.pad_h << 8 | g.pad_w);
}

uint32_t conv_m0(const Instr& in) {
  return in.op == Opcode::im2col ? uint32_t(in.dram) : in.src;
}

uint32_t conv_h0(const Instr& in) {
  return in.op == Opcode::im2col ? uint32_t(in.dram >> 32) : 0;
}

ImageRows conv_rows_read(const ConvGeom& g, uint64_t m0, uint64_t rows, uint64_t k0,
                         uint64_t cols) {
  const uint64_t ow = g.out_w(), tap_row = uint64_t(g.s) * g.cg;
  // Output rows [oh_lo, oh_hi] and window rows [r_lo, r_hi]: the image rows between.
  const int64_t oh_lo = int64_t(m0 / ow), oh_hi = int64_t((m0 + rows - 1) / ow);
  const int64_t r_lo = int64_t(k0 / tap_row), r_hi = int64_t((k0 + cols - 1) / tap_row);
  const int64_t lo = std::max<int64_t>(0, oh_lo * g.stride_h + r_lo - g.pad_h);
  const int64_t hi = std::min<int64_t>(g.h, oh_hi * g.stride_h + r_hi - g.pad_h + 1);
  if (lo >= hi) return {};
  return {uint32_t(lo), uint32_t(hi)};
}

ImageRows conv_rows_read(const Instr& in) {
  return conv_rows_read(conv_geom(in), conv_m0(in), in.rows, in.k, in.cols);
}

namespace {

// rdconv and im2col: the im2col rows of the image whose row h0 starts at `base` in `image`.
void gather_windows(const Instr& in, const ByteStore& image, uint64_t base, ByteStore& ub,
                    const std::string& who) {
  const ConvGeom g = conv_geom(in);
  const uint64_t e = uint64_t(elem_bytes(in.dtype));
  const uint32_t ow = g.out_w(), m0 = conv_m0(in), h0 = conv_h0(in);
  // Padding value: zero, or the lowest value of the dtype (max pooling).
  std::vector<uint8_t> pad(e, 0);
  if (in.flags & 1) {  // int8 -128; bf16 and fp32 -inf (0xff80, 0xff800000; little-endian)
    pad[e == 1 ? 0 : e - 2] = 0x80;
    if (e > 1) pad[e - 1] = 0xff;
  }
  std::vector<uint8_t> row(uint64_t(in.cols) * e);
  const uint64_t pixel = uint64_t(g.c) * e;
  // rdconv's image is all in DRAM; im2col's band must hold the rows it reads.
  const ImageRows read = in.op == Opcode::rdconv ? ImageRows{0, g.h} : conv_rows_read(in);
  if (read.lo < read.hi) {
    if (read.lo < h0)
      throw Error(fmt::format("{}: reads image row {}, before the band's first row h0 = {}", who,
                              read.lo, h0));
    image.check_rows(base + uint64_t(read.lo - h0) * g.w * pixel, uint64_t(read.hi - read.lo) * g.w,
                     pixel, pixel, who, "image");
  }
  ub.check_rows(in.ub, in.rows, row.size(), row.size(), who, "destination");
  for (uint32_t p = 0; p < in.rows; ++p) {
    const uint32_t pix = m0 + p, oh = pix / ow, owi = pix % ow;
    // Walk the im2col columns [k0, k0 + kt) in runs of channels.
    uint32_t k = in.k;
    while (k < in.k + in.cols) {
      const uint32_t c = k % g.cg, rs = k / g.cg, r = rs / g.s, s = rs % g.s;
      const uint32_t run = std::min(g.cg - c, in.k + in.cols - k);
      const int64_t ih = int64_t(oh) * g.stride_h + r - g.pad_h;
      const int64_t iw = int64_t(owi) * g.stride_w + s - g.pad_w;
      uint8_t* dst = &row[uint64_t(k - in.k) * e];
      if (ih < 0 || iw < 0 || ih >= g.h || iw >= g.w) {
        for (uint32_t i = 0; i < run; ++i) std::memcpy(dst + i * e, pad.data(), e);
      } else {
        image.read(base + ((uint64_t(ih - h0) * g.w + uint64_t(iw)) * g.c + c) * e, dst, run * e,
                   who);
      }
      k += run;
    }
    ub.write(in.ub + uint64_t(p) * row.size(), row.data(), row.size());
  }
}

}  // namespace

void exec_rdconv(const Instr& in, const ByteStore& dram, ByteStore& ub, const std::string& who) {
  gather_windows(in, dram, in.dram, ub, who);
}

void exec_im2col(const Instr& in, ByteStore& ub, const std::string& who) {
  gather_windows(in, ub, in.src, ub, who);
}

WeightTile exec_load_weights(const Instr& in, const ByteStore& src, const std::string& who) {
  WeightTile t;
  t.k = in.rows;
  t.n = in.cols;
  t.dtype = in.dtype;
  const uint64_t base = in.op == Opcode::ldweight ? uint64_t(in.ub) : in.dram;
  const uint32_t e = uint32_t(elem_bytes(in.dtype));
  const uint64_t row_bytes = uint64_t(in.cols) * e;
  if (in.flags & 1)  // transposed: row n of the source holds column n of the tile
    src.check_rows(base, in.cols, in.stride, uint64_t(in.rows) * e, who, "weights");
  else
    src.check_rows(base, in.rows, in.stride, row_bytes, who, "weights");
  t.data.resize(uint64_t(in.rows) * row_bytes);
  if (!(in.flags & 1)) {
    for (uint32_t r = 0; r < in.rows; ++r)
      src.read(base + uint64_t(r) * in.stride, &t.data[uint64_t(r) * row_bytes], row_bytes, who);
    return t;
  }
  std::vector<uint8_t> col(uint64_t(in.rows) * e);
  for (uint32_t n = 0; n < in.cols; ++n) {
    src.read(base + uint64_t(n) * in.stride, col.data(), col.size(), who);
    for (uint32_t k = 0; k < in.rows; ++k)
      std::memcpy(&t.data[uint64_t(k) * row_bytes + uint64_t(n) * e], &col[uint64_t(k) * e], e);
  }
  return t;
}

Bf16Parts bf16_parts(float x) {
  Bf16Parts s;
  float rest = x;
  for (float& p : s.p) {
    p = bf16_to_float(float_to_bf16(rest));
    rest -= p;  // exact: p holds the leading bits of rest
  }
  return s;
}

std::vector<PartProduct> fp32_products(int passes) {
  switch (passes) {
    case 1:
      return {{0, 0}};
    case 3:
      return {{0, 1}, {1, 0}, {0, 0}};
    default:
      return {{0, 2}, {1, 1}, {0, 1}, {2, 0}, {1, 0}, {0, 0}};
  }
}

int fp32_weight_parts(int passes) {
  int parts = 0;
  for (const PartProduct& p : fp32_products(passes)) parts = std::max(parts, p.b + 1);
  return parts;
}

void exec_matmul(const Instr& in, const ByteStore& ub, const WeightTile& w, ByteStore& acc,
                 int fp32_passes, const std::string& who) {
  if (w.k != in.k || w.n != in.cols || w.dtype != in.dtype)
    throw Error(
        fmt::format("{}: the weight FIFO head is a {}x{} {} tile, the matmul expects "
                    "{}x{} {}",
                    who, w.k, w.n, dtype_name(w.dtype), in.k, in.cols, dtype_name(in.dtype)));
  const uint64_t M = in.rows, K = in.k, N = in.cols;
  const bool accumulate = AccMode(in.flags & 1) == AccMode::acc;
  if (in.dtype == DType::int8) {
    std::vector<int8_t> a(M * K);
    ub.read(in.ub, a.data(), M * K, who);
    const int8_t* b = reinterpret_cast<const int8_t*>(w.data.data());
    // The int32 accumulators wrap on overflow like the hardware's: unsigned arithmetic.
    std::vector<uint32_t> c(M * N, 0);
    if (accumulate) acc.read(in.src, c.data(), M * N * 4, who);
    for (uint64_t m = 0; m < M; ++m)
      for (uint64_t k = 0; k < K; ++k) {
        const uint32_t x = uint32_t(int32_t(a[m * K + k]));
        if (!x) continue;
        const int8_t* brow = b + k * N;
        uint32_t* crow = &c[m * N];
        for (uint64_t n = 0; n < N; ++n) crow[n] += x * uint32_t(int32_t(brow[n]));
      }
    acc.write(in.src, c.data(), M * N * 4);
  } else {
    // bf16 operands make one pass; fp32 ones a pass per product of their bf16 parts.
    const bool fp32 = in.dtype == DType::fp32;
    std::vector<float> a = load(ub, in.ub, M * K, in.dtype, who);
    std::vector<float> b(K * N);
    if (fp32) {
      std::memcpy(b.data(), w.data.data(), K * N * 4);
    } else {
      for (uint64_t i = 0; i < K * N; ++i) {
        uint16_t h;
        std::memcpy(&h, &w.data[2 * i], 2);
        b[i] = bf16_to_float(h);
      }
    }
    const std::vector<PartProduct> passes =
        fp32 ? fp32_products(fp32_passes) : std::vector<PartProduct>{{0, 0}};
    std::vector<Bf16Parts> ap(fp32 ? M * K : 0), bp(fp32 ? K * N : 0);
    for (uint64_t i = 0; i < ap.size(); ++i) ap[i] = bf16_parts(a[i]);
    for (uint64_t i = 0; i < bp.size(); ++i) bp[i] = bf16_parts(b[i]);
    std::vector<float> bpass(K * N);
    std::vector<float> c(M * N, 0.0f);
    if (accumulate) acc.read(in.src, c.data(), M * N * 4, who);
    // Each pass accumulates in fp32 in K order, as the array's column of adders does; the
    // product of two bf16 values is exact in fp32.
    for (const PartProduct& pp : passes) {
      for (uint64_t i = 0; i < K * N; ++i) bpass[i] = fp32 ? bp[i].p[pp.b] : b[i];
      for (uint64_t m = 0; m < M; ++m)
        for (uint64_t k = 0; k < K; ++k) {
          const float x = fp32 ? ap[m * K + k].p[pp.a] : a[m * K + k];
          const float* brow = &bpass[k * N];
          float* crow = &c[m * N];
          for (uint64_t n = 0; n < N; ++n) crow[n] += x * brow[n];
        }
    }
    acc.write(in.src, c.data(), M * N * 4);
  }
}

uint64_t activate_tiles(const Instr& in) {
  return in.k ? in.k : 1;
}

uint64_t activate_acc_end(const Instr& in) {
  return in.src + (activate_tiles(in) - 1) * in.stride + uint64_t(in.rows) * in.cols * 4;
}

uint64_t activate_bias_bytes(const Instr& in) {
  return in.flags & 1 ? uint64_t(in.cols) * elem_bytes(in.dtype) : 0;
}

void exec_activate(const Instr& in, const ByteStore& acc, ByteStore& ub, const std::string& who) {
  const uint64_t n = uint64_t(in.rows) * in.cols;
  const bool relu = ActFunc(in.func) == ActFunc::relu;
  // The bias row (bf16 or fp32 elements), added to every row's accumulators in fp32.
  std::vector<float> bias;
  if (in.flags & 1) {
    bias.resize(in.cols);
    if (in.dtype == DType::fp32) {
      ub.read(in.src2, bias.data(), uint64_t(in.cols) * 4, who);
    } else {
      std::vector<uint16_t> b(in.cols);
      ub.read(in.src2, b.data(), uint64_t(in.cols) * 2, who);
      for (uint32_t j = 0; j < in.cols; ++j) bias[j] = bf16_to_float(b[j]);
    }
  }
  const auto add_bias = [&](std::vector<float>& c) {
    if (!bias.empty())
      for (uint64_t i = 0; i < n; ++i) c[i] += bias[i % in.cols];
  };
  // The sum of the tiles: int32 wrapping like the accumulators, or fp32 in tile order.
  auto read_sum = [&](auto* c) {
    acc.read(in.src, c, n * 4, who);
    std::vector<std::remove_pointer_t<decltype(c)>> more(n);
    for (uint64_t t = 1; t < activate_tiles(in); ++t) {
      acc.read(in.src + t * in.stride, more.data(), n * 4, who);
      for (uint64_t i = 0; i < n; ++i) {
        if constexpr (std::is_same_v<decltype(more[0] + 0), int>)
          c[i] = int32_t(uint32_t(c[i]) + uint32_t(more[i]));
        else
          c[i] += more[i];
      }
    }
  };
  if (in.dtype == DType::int8) {
    std::vector<int32_t> c(n);
    read_sum(c.data());
    std::vector<int8_t> o(n);
    for (uint64_t i = 0; i < n; ++i) {
      int8_t q = numeric::requantize(c[i], in.imm, in.shift);
      o[i] = relu && q < 0 ? 0 : q;
    }
    ub.write(in.ub, o.data(), n);
  } else if (in.dtype == DType::fp32) {
    std::vector<float> c(n);
    read_sum(c.data());
    add_bias(c);
    if (relu)
      for (auto& v : c) v = std::max(v, 0.0f);
    ub.write(in.ub, c.data(), n * 4);
  } else {
    std::vector<float> c(n);
    read_sum(c.data());
    add_bias(c);
    std::vector<uint16_t> o(n);
    for (uint64_t i = 0; i < n; ++i) o[i] = float_to_bf16(relu && c[i] < 0 ? 0.0f : c[i]);
    ub.write(in.ub, o.data(), n * 2);
  }
}

uint64_t vector_src_bytes(const Instr& in) {
  const VecFunc f = VecFunc(in.func);
  const uint64_t groups =
      f == VecFunc::rowmax || f == VecFunc::rowavg ? std::max<uint32_t>(1, in.k) : 1;
  return saturating_mul(saturating_mul(uint64_t(in.rows) * in.cols, groups),
                        uint64_t(elem_bytes(vector_src_dtype(in))));
}

uint64_t vector_src2_bytes(const Instr& in) {
  const uint64_t row = uint64_t(in.cols) * elem_bytes(in.dtype);
  switch (VecFunc(in.func)) {
    case VecFunc::add:
    case VecFunc::mul:  // of the sources' type, as src
      return saturating_mul(uint64_t(in.cols) * elem_bytes(vector_src_dtype(in)), in.rows);
    case VecFunc::layernorm:
      return 2 * row;
    case VecFunc::rmsnorm:
      return row;
    default:
      return 0;
  }
}

uint64_t vector_dst_bytes(const Instr& in) {
  return saturating_mul(uint64_t(in.rows) * in.cols, uint64_t(elem_bytes(in.dtype)));
}

int vector_passes(VecFunc f) {
  switch (f) {
    case VecFunc::gelu:
    case VecFunc::silu:
    case VecFunc::sigmoid:
    case VecFunc::rmsnorm:
      return 2;
    case VecFunc::softmax:
    case VecFunc::layernorm:
      return 3;
    default:
      return 1;
  }
}

void exec_vector(const Instr& in, ByteStore& ub, const std::string& who) {
  const VecFunc f = VecFunc(in.func);
  const uint64_t R = in.rows, C = in.cols;
  if (in.dtype == DType::int8 && !vec_func_takes_int8(f))
    throw Error(who + ": this vector function takes bf16 operands only");
  if (in.dtype == DType::fp32 || ((in.flags & 2) && f != VecFunc::softmax && f != VecFunc::add))
    throw Error(who + ": vector results are int8 or bf16; only softmax and add read fp32 (flag 2)");
  if ((in.flags & 2) && in.dtype == DType::int8)
    throw Error(who + ": fp32 sources (flag 2) give a bf16 result, not int8");
  const DType src_t = vector_src_dtype(in);
  std::vector<float> x = load(ub, in.src, vector_src_bytes(in) / elem_bytes(src_t), src_t, who);
  std::vector<float> y;
  const float imm = imm_float(in);
  switch (f) {
    case VecFunc::add:
    case VecFunc::mul: {
      std::vector<float> z = load(ub, in.src2, R * C, src_t, who);
      y.resize(R * C);
      for (uint64_t i = 0; i < R * C; ++i) y[i] = f == VecFunc::add ? x[i] + z[i] : x[i] * z[i];
      break;
    }
    case VecFunc::relu:
      y = x;
      for (auto& v : y) v = std::max(v, 0.0f);
      break;
    case VecFunc::gelu:
      y = x;
      for (auto& v : y) v = numeric::gelu(v);
      break;
    case VecFunc::silu:
      y = x;
      for (auto& v : y) v = numeric::silu(v);
      break;
    case VecFunc::sigmoid:
      y = x;
      for (auto& v : y) v = numeric::sigmoid(v);
      break;
    case VecFunc::scale:
      y = x;
      for (auto& v : y) v *= imm;
      break;
    case VecFunc::maxs:
      y = x;
      for (auto& v : y) v = std::max(v, imm);
      break;
    case VecFunc::mins:
      y = x;
      for (auto& v : y) v = std::min(v, imm);
      break;
    case VecFunc::softmax: {
      y.resize(R * C);
      const bool causal = in.flags & 1;
      for (uint64_t r = 0; r < R; ++r) {
        // Causal: columns j <= r + offset are visible (none when that is negative).
        const int64_t last = int64_t(r) + in.shift;
        const uint64_t valid = causal ? uint64_t(std::clamp<int64_t>(last + 1, 0, int64_t(C))) : C;
        float mx = -std::numeric_limits<float>::infinity();
        for (uint64_t c = 0; c < valid; ++c) mx = std::max(mx, x[r * C + c] * imm);
        double sum = 0;
        for (uint64_t c = 0; c < valid; ++c) sum += std::exp(double(x[r * C + c] * imm - mx));
        // A fully masked row has no keys: its probabilities are all zero.
        for (uint64_t c = 0; c < C; ++c)
          y[r * C + c] = c < valid ? float(std::exp(double(x[r * C + c] * imm - mx)) / sum) : 0.0f;
      }
      break;
    }
    case VecFunc::layernorm:
    case VecFunc::rmsnorm: {
      std::vector<float> g = load(ub, in.src2, f == VecFunc::layernorm ? 2 * C : C, in.dtype, who);
      y.resize(R * C);
      for (uint64_t r = 0; r < R; ++r) {
        double mean = 0, sq = 0;
        for (uint64_t c = 0; c < C; ++c) mean += x[r * C + c];
        mean /= double(C);
        if (f == VecFunc::rmsnorm) mean = 0;
        for (uint64_t c = 0; c < C; ++c) sq += (x[r * C + c] - mean) * (x[r * C + c] - mean);
        const double inv = 1.0 / std::sqrt(sq / double(C) + double(imm));
        for (uint64_t c = 0; c < C; ++c) {
          double v = (x[r * C + c] - mean) * inv * g[c];
          if (f == VecFunc::layernorm) v += g[C + c];
          y[r * C + c] = float(v);
        }
      }
      break;
    }
    case VecFunc::rowmax:
    case VecFunc::rowavg: {
      const uint64_t G = std::max<uint32_t>(1, in.k);
      const double count = imm > 0 ? double(imm) : double(G);
      y.resize(R * C);
      for (uint64_t r = 0; r < R; ++r)
        for (uint64_t c = 0; c < C; ++c) {
          double acc = f == VecFunc::rowmax ? -std::numeric_limits<double>::infinity() : 0.0;
          for (uint64_t g = 0; g < G; ++g) {
            const double v = x[(r * G + g) * C + c];
            acc = f == VecFunc::rowmax ? std::max(acc, v) : acc + v;
          }
          y[r * C + c] = float(f == VecFunc::rowmax ? acc : acc / count);
        }
      break;
    }
  }
  store(ub, in.ub, y, in.dtype);
}

}  // namespace xpusim::isa::tpu
