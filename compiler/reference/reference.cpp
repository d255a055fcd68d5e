// Reference implementations of every op: plain loops, the ground truth the models' functional
// results are checked against. Numeric choices, which a model must follow to match:
//
// - int8 gemm / matmul / conv2d: products summed in an int32 accumulator (wrapping on
//   overflow like the hardware's; it cannot happen below a reduction length of 131072),
//   then numeric::requantize(acc, multiplier, shift), then ReLU when attrs.fused_relu.
// - bf16 gemm / matmul / conv2d: products (exact in fp32) summed in double, from the bias
//   (gemm's per column, conv2d's per output channel) where there is one, ReLU when fused,
//   converted to fp32 and rounded to bf16 once at the output.
// - pool: max over the window, padding excluded; avg divides by the number of elements inside
//   the input (padding excluded from the count); int8 avg rounds half away from zero.
// - add / mul on int8 saturate (no requantisation); relu on int8 is exact.
// - fp16 ops are computed as the bf16 ones and rounded to fp16 (nearest even) instead.
// - bf16 elementwise and row ops (gelu, silu, sigmoid via numeric::, softmax, layernorm,
//   rmsnorm) compute in fp32/double and round to bf16 once. softmax subtracts the row maximum;
//   layernorm uses the population variance: (x - mean) / sqrt(var + eps) * gamma + beta;
//   rmsnorm: x / sqrt(mean(x^2) + eps) * gamma.
// - attention, per batch and head (head h reads kv head h / (heads / kv_heads)):
//   S = Q K^T * scale (scale 0 means 1/sqrt(d)) kept in fp32, not rounded to bf16;
//   the causal mask hides key j > i + (skv - sq); P = softmax(S) rounded to bf16 (fp16 for
//   an fp16 op), since hardware with 2-byte matmul operands must round P before P V; O = P V
//   accumulated in fp32 (double here) and rounded to bf16.
// - reshape copies the bytes (the same elements in row-major order); transpose moves each
//   element unchanged: out[j] = x[i] with i[perm[k]] = j[k]. Both exact for every dtype, and
//   so are concat, slice, gather (row ids[i] of the table) and kv_append (the cache's rows, then
//   the new ones). gather refuses an id outside [0, V).
// - rope: per row of X (row i of its (s, d) matrix: table row i) and column j < d/2,
//   x1 = x[j], x2 = x[j + d/2]: out[j] = x1 cos - x2 sin, out[j + d/2] = x2 cos + x1 sin, with
//   cos and sin the values of its params (tables rounded to the op's dtype, as a model that
//   casts its tables to the activations' dtype has them), in double, rounded once.
// - Generated data (initial_values): graph inputs and weights without given values (an ONNX
//   model's initializers and bound inputs are given) by random_tensor with seed
//   seed * 1000003 + tensor id (a gather's int32 ids instead uniform in [0, V), V the smallest
//   table that reads them; a rope's cos and sin params are its tables, rope_tables()); layernorm /
//   rmsnorm gamma = 1 + 0.25 u and beta = 0.25 u, u uniform in [-1, 1], so normalised values keep
//   their scale; the float weights of gemm, matmul and conv2d are u * sqrt(3 / Kred) (variance 1 /
//   Kred, Kred the reduction length), so a layer keeps its input's scale and a deep network's
//   values neither overflow nor vanish.
#include "compiler/reference/reference.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <type_traits>
#include <utility>

#include "models/core/numeric.h"
#include "models/core/random.h"

namespace xpusim::compiler {

namespace {

[[noreturn]] void node_error(const Node& n, const std::string& msg) {
  throw Error(n.loc, fmt::format("node '{}' ({}): {}", n.name, op_name(n.kind), msg));
}

// Integer elements as uint32_t: sums of their products modulo 2^32 are what an int32
// accumulator holds (wrap_int32), and unsigned arithmetic wraps without undefined behaviour
// (and vectorises).
std::vector<uint32_t> wrapped_values(const Tensor& t) {
  std::vector<uint32_t> v(size_t(t.elements()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = uint32_t(int64_t(t.get(int64_t(i))));
  return v;
}

std::vector<double> real_values(const Tensor& t) {
  std::vector<double> v(size_t(t.elements()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = t.get(int64_t(i));
  return v;
}

// The value an int32 accumulator holds after summing acc (two's complement wrap-around).
int32_t wrap_int32(int64_t acc) {
  return int32_t(uint32_t(uint64_t(acc)));
}

// Writes accumulators to the output: requantise (int8) or round (bf16), with the fused ReLU.
template <typename Acc>
void store_acc(Tensor& out, int64_t i, Acc acc, const OpAttrs& a) {
  if (out.dtype == DType::int8) {
    int8_t q = numeric::requantize(wrap_int32(int64_t(acc)), a.requant_multiplier, a.requant_shift);
    out.set(i, a.fused_relu ? std::max<int8_t>(q, 0) : q);
  } else {
    double v = double(acc);
    out.set(i, a.fused_relu ? std::max(v, 0.0) : v);
  }
}

// The accumulators' first values: the bias (one per output column or channel), or zeros.
template <typename T>
std::vector<T> acc_start(const Tensor* bias, int64_t count) {
  std::vector<T> v(size_t(count), T(0));
  if constexpr (!std::is_same_v<T, uint32_t>)
    if (bias) v = real_values(*bias);
  return v;
}

// C[batch] = A[batch] (m x k) * B[batch] (k x n) (+ bias per column), accumulated in Acc, row by
// row.
template <typename T>
void eval_matmul(const MatmulDims& d, const Tensor& ta, const Tensor& tb, const Tensor* bias,
                 const OpAttrs& attrs, Tensor& out) {
  std::vector<T> a, b;
  if constexpr (std::is_same_v<T, uint32_t>) {
    a = wrapped_values(ta);
    b = wrapped_values(tb);
  } else {
    a = real_values(ta);
    b = real_values(tb);
  }
  const std::vector<T> start = acc_start<T>(bias, d.n);
  std::vector<T> acc(size_t(d.n));
  for (int64_t p = 0; p < d.batch; ++p) {
    const T* pa = a.data() + p * d.m * d.k;
    const T* pb = b.data() + p * d.k * d.n;
    for (int64_t i = 0; i < d.m; ++i) {
      acc = start;
      for (int64_t k = 0; k < d.k; ++k) {
        const T aik = pa[i * d.k + k];
        const T* brow = pb + k * d.n;
        for (int64_t j = 0; j < d.n; ++j) acc[j] += aik * brow[j];
      }
      for (int64_t j = 0; j < d.n; ++j) store_acc(out, (p * d.m + i) * d.n + j, acc[j], attrs);
    }
  }
}

// The output positions o in [lo, hi) whose input index o * stride - pad + offset is inside
// [0, size).
std::pair<int64_t, int64_t> valid_range(int64_t out_size, int64_t size, int64_t stride, int64_t pad,
                                        int64_t offset) {
  int64_t lo = 0, hi = out_size;
  while (lo < hi && lo * stride - pad + offset < 0) ++lo;
  while (hi > lo && (hi - 1) * stride - pad + offset >= size) --hi;
  return {lo, hi};
}

template <typename T>
void eval_conv2d(const Tensor& tx, const Tensor& tw, const Tensor* bias, const OpAttrs& a,
                 Tensor& out) {
  std::vector<T> x, w;
  if constexpr (std::is_same_v<T, uint32_t>) {
    x = wrapped_values(tx);
    w = wrapped_values(tw);
  } else {
    x = real_values(tx);
    w = real_values(tw);
  }
  const int64_t N = tx.shape[0], C = tx.shape[1], H = tx.shape[2], W = tx.shape[3];
  const int64_t K = tw.shape[0], Cg = tw.shape[1], R = tw.shape[2], S = tw.shape[3];
  const int64_t OH = out.shape[2], OW = out.shape[3];
  const int64_t k_per_group = K / a.groups;
  const std::vector<T> start = acc_start<T>(bias, K);
  std::vector<T> acc(size_t(OH * OW));
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t k = 0; k < K; ++k) {
      std::fill(acc.begin(), acc.end(), start[size_t(k)]);
      const int64_t c0 = (k / k_per_group) * Cg;  // first input channel of k's group
      for (int64_t c = 0; c < Cg; ++c) {
        const T* plane = x.data() + (n * C + c0 + c) * H * W;
        for (int64_t r = 0; r < R; ++r) {
          auto [oh_lo, oh_hi] = valid_range(OH, H, a.stride_h, a.pad_h, r);
          for (int64_t s = 0; s < S; ++s) {
            const T wv = w[size_t(((k * Cg + c) * R + r) * S + s)];
            auto [ow_lo, ow_hi] = valid_range(OW, W, a.stride_w, a.pad_w, s);
            for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
              const T* row = plane + (oh * a.stride_h - a.pad_h + r) * W - a.pad_w + s;
              T* arow = acc.data() + oh * OW;
              for (int64_t ow = ow_lo; ow < ow_hi; ++ow) arow[ow] += wv * row[ow * a.stride_w];
            }
          }
        }
      }
      for (int64_t i = 0; i < OH * OW; ++i) store_acc(out, (n * K + k) * OH * OW + i, acc[i], a);
    }
  }
}

void eval_pool(const Tensor& x, const OpAttrs& a, Tensor& out) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t OH = out.shape[2], OW = out.shape[3];
  const bool int8 = x.dtype == DType::int8;
  for (int64_t p = 0; p < N * C; ++p) {
    for (int64_t oh = 0; oh < OH; ++oh) {
      for (int64_t ow = 0; ow < OW; ++ow) {
        double best = -std::numeric_limits<double>::infinity(), sum = 0;
        int64_t count = 0;
        for (int64_t r = 0; r < a.kernel_h; ++r) {
          const int64_t ih = oh * a.stride_h - a.pad_h + r;
          if (ih < 0 || ih >= H) continue;
          for (int64_t s = 0; s < a.kernel_w; ++s) {
            const int64_t iw = ow * a.stride_w - a.pad_w + s;
            if (iw < 0 || iw >= W) continue;
            double v = x.get((p * H + ih) * W + iw);
            best = std::max(best, v);
            sum += v;
            count++;
          }
        }
        const int64_t o = (p * OH + oh) * OW + ow;
        if (a.pool_max) {
          out.set(o, best);
        } else if (int8) {
          // Integer division rounding half away from zero (sum is exact in a double).
          int64_t s = int64_t(sum), q = (2 * std::abs(s) + count) / (2 * count);
          out.set(o, double(s < 0 ? -q : q));
        } else {
          out.set(o, sum / double(count));
        }
      }
    }
  }
}

// Row-wise ops over the last axis: f(row in, row out).
template <typename F>
void for_rows(const Tensor& x, Tensor& out, F f) {
  const int64_t d = x.shape.back(), rows = x.elements() / d;
  std::vector<double> in(static_cast<size_t>(d)), res(static_cast<size_t>(d));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < d; ++j) in[j] = x.get(r * d + j);
    f(in, res);
    for (int64_t j = 0; j < d; ++j) out.set(r * d + j, res[j]);
  }
}

void softmax_row(const std::vector<double>& in, std::vector<double>& res) {
  double m = *std::max_element(in.begin(), in.end()), sum = 0;
  for (size_t j = 0; j < in.size(); ++j) sum += res[j] = std::exp(in[j] - m);
  for (double& v : res) v /= sum;
}

// out[j] = x[i] with i[perm[k]] = j[k]: the output walked in order, the input index kept as
// an offset that each output dim advances by its input dim's stride.
void eval_transpose(const Tensor& x, const std::vector<int64_t>& perm, Tensor& out) {
  const size_t rank = x.shape.size();
  const int64_t e = int64_t(dtype_size(x.dtype));
  std::vector<int64_t> in_stride(rank, 1), stride(rank), j(rank, 0);
  for (size_t d = rank - 1; d > 0; --d) in_stride[d - 1] = in_stride[d] * x.shape[d];
  for (size_t k = 0; k < rank; ++k) stride[k] = in_stride[size_t(perm[k])];
  int64_t src = 0;
  for (int64_t o = 0; o < out.elements(); ++o) {
    std::copy_n(x.data.begin() + src * e, e, out.data.begin() + o * e);
    for (size_t k = rank; k-- > 0;) {  // the next output index, odometer style
      src += stride[k];
      if (++j[k] < out.shape[k]) break;
      src -= stride[k] * out.shape[k];
      j[k] = 0;
    }
  }
}

// Copies the elements of x into out, x's index j to out's index j along `axis` shifted by
// `offset` and strided by `step` (concat: out is wider; slice: x is, read from `offset`).
// `into_out` true: x's elements into out at offset + j * step; false: out's elements from x's.
void copy_along(const Tensor& x, Tensor& out, size_t axis, int64_t offset, int64_t step,
                bool into_out) {
  const Tensor& walk = into_out ? x : out;  // the tensor whose elements are walked
  const Tensor& other = into_out ? out : x;
  const int64_t e = int64_t(dtype_size(x.dtype));
  int64_t outer = 1, inner = 1;
  for (size_t d = 0; d < axis; ++d) outer *= walk.shape[d];
  for (size_t d = axis + 1; d < walk.shape.size(); ++d) inner *= walk.shape[d];
  const int64_t n = walk.shape[axis], m = other.shape[axis];
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < n; ++j) {
      const int64_t a = (o * n + j) * inner, b = (o * m + offset + j * step) * inner;
      const auto from = into_out ? x.data.begin() + a * e : x.data.begin() + b * e;
      auto to = into_out ? out.data.begin() + b * e : out.data.begin() + a * e;
      std::copy_n(from, inner * e, to);
    }
}

void eval_attention(const Graph& g, const Node& n, const Tensor& tq, const Tensor& tk,
                    const Tensor& tv, Tensor& out) {
  const AttentionDims d = attention_dims(g, n);
  const std::vector<double> q = real_values(tq), k = real_values(tk), v = real_values(tv);
  const double scale = n.attrs.scale != 0 ? n.attrs.scale : 1.0 / std::sqrt(double(d.head_dim));
  const int64_t group = d.heads / d.kv_heads, D = d.head_dim;
  // P rounded to the op's type (the matmul operand type of P V).
  const auto p_rounded = [dt = out.dtype](double x) {
    return dt == DType::fp16 ? double(numeric::f16_to_float(numeric::float_to_f16(float(x))))
                             : double(numeric::bf16_to_float(numeric::float_to_bf16(float(x))));
  };
  std::vector<double> p(static_cast<size_t>(d.seq_kv)), o(static_cast<size_t>(D));
  for (int64_t b = 0; b < d.batch; ++b) {
    for (int64_t h = 0; h < d.heads; ++h) {
      const double* qh = q.data() + (b * d.heads + h) * d.seq_q * D;
      const int64_t kv_off = (b * d.kv_heads + h / group) * d.seq_kv * D;
      const double* kh = k.data() + kv_off;
      const double* vh = v.data() + kv_off;
      for (int64_t i = 0; i < d.seq_q; ++i) {
        // Keys 0..last are visible to query i.
        const int64_t last =
            n.attrs.causal ? std::min(d.seq_kv - 1, i + d.seq_kv - d.seq_q) : d.seq_kv - 1;
        double m = -std::numeric_limits<double>::infinity(), sum = 0;
        for (int64_t j = 0; j <= last; ++j) {
          double dot = 0;
          for (int64_t c = 0; c < D; ++c) dot += qh[i * D + c] * kh[j * D + c];
          p[j] = double(float(dot * scale));  // S in fp32
          m = std::max(m, p[j]);
        }
        for (int64_t j = 0; j <= last; ++j) sum += p[j] = std::exp(p[j] - m);
        std::fill(o.begin(), o.end(), 0.0);
        for (int64_t j = 0; j <= last; ++j) {
          const double pj = p_rounded(p[j] / sum);
          for (int64_t c = 0; c < D; ++c) o[c] += pj * vh[j * D + c];
        }
        for (int64_t c = 0; c < D; ++c) out.set(((b * d.heads + h) * d.seq_q + i) * D + c, o[c]);
      }
    }
  }
}

}  // namespace

Tensor reference_eval(const Graph& g, const Node& n, const std::vector<const Tensor*>& inputs) {
  if (inputs.size() != n.inputs.size())
    node_error(n, fmt::format("reference given {} input values, expected {}", inputs.size(),
                              n.inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorInfo& info = g.tensor(n.inputs[i]);
    if (!inputs[i] || inputs[i]->shape != info.shape || inputs[i]->dtype != info.dtype ||
        int64_t(inputs[i]->data.size()) != info.bytes())
      node_error(n, fmt::format("reference input {} does not match tensor '{}' ({} {})", i,
                                info.name, fmt::join(info.shape, "x"), dtype_name(info.dtype)));
  }
  const DType dt = inputs.empty() ? DType::int8 : inputs[0]->dtype;
  if (inputs.empty() || !op_supports_dtype(n.kind, dt))
    node_error(n, fmt::format("the reference has no {} {}", dtype_name(dt), op_name(n.kind)));
  const TensorInfo& oinfo = g.tensor(n.outputs.at(0));
  Tensor out(oinfo.shape, oinfo.dtype);
  const Tensor& x = *inputs[0];
  const OpAttrs& a = n.attrs;
  const bool int8 = dt == DType::int8;
  const int64_t count = x.elements();
  const Tensor* bias = (n.kind == OpKind::gemm || n.kind == OpKind::conv2d) && inputs.size() == 3
                           ? inputs[2]
                           : nullptr;

  switch (n.kind) {
    case OpKind::gemm:
    case OpKind::matmul:
      if (int8)
        eval_matmul<uint32_t>(matmul_dims(g, n), x, *inputs[1], nullptr, a, out);
      else
        eval_matmul<double>(matmul_dims(g, n), x, *inputs[1], bias, a, out);
      break;
    case OpKind::conv2d:
      if (int8)
        eval_conv2d<uint32_t>(x, *inputs[1], nullptr, a, out);
      else
        eval_conv2d<double>(x, *inputs[1], bias, a, out);
      break;
    case OpKind::pool:
      eval_pool(x, a, out);
      break;
    case OpKind::add:
    case OpKind::mul: {
      const Tensor& y = *inputs[1];
      for (int64_t i = 0; i < count; ++i) {
        double u = x.get(i), w = y.get(i);
        out.set(i, n.kind == OpKind::add ? u + w : u * w);  // exact; set() saturates or rounds
      }
      break;
    }
    case OpKind::relu:
      for (int64_t i = 0; i < count; ++i) out.set(i, std::max(x.get(i), 0.0));
      break;
    case OpKind::clip:
      for (int64_t i = 0; i < count; ++i)
        out.set(i, std::min(std::max(x.get(i), a.clip_min), a.clip_max));
      break;
    case OpKind::gelu:
      for (int64_t i = 0; i < count; ++i) out.set(i, numeric::gelu(float(x.get(i))));
      break;
    case OpKind::silu:
      for (int64_t i = 0; i < count; ++i) out.set(i, numeric::silu(float(x.get(i))));
      break;
    case OpKind::sigmoid:
      for (int64_t i = 0; i < count; ++i) out.set(i, numeric::sigmoid(float(x.get(i))));
      break;
    case OpKind::softmax:
      for_rows(x, out, softmax_row);
      break;
    case OpKind::layernorm:
    case OpKind::rmsnorm: {
      const std::vector<double> gamma = real_values(*inputs[1]);
      const std::vector<double> beta =
          n.kind == OpKind::layernorm ? real_values(*inputs[2]) : std::vector<double>(gamma.size());
      const bool ln = n.kind == OpKind::layernorm;
      for_rows(x, out, [&](const std::vector<double>& in, std::vector<double>& res) {
        const double dn = double(in.size());
        double mean = 0, var = 0;
        if (ln) {
          for (double v : in) mean += v;
          mean /= dn;
        }
        for (double v : in) var += (v - mean) * (v - mean);  // rmsnorm: mean(x^2)
        const double inv = 1.0 / std::sqrt(var / dn + a.eps);
        for (size_t j = 0; j < in.size(); ++j) res[j] = (in[j] - mean) * inv * gamma[j] + beta[j];
      });
      break;
    }
    case OpKind::attention:
      eval_attention(g, n, x, *inputs[1], *inputs[2], out);
      break;
    case OpKind::reshape:
      out.data = x.data;
      break;
    case OpKind::transpose:
      eval_transpose(x, a.perm, out);
      break;
    case OpKind::concat: {
      int64_t offset = 0;
      for (const Tensor* in : inputs) {
        copy_along(*in, out, size_t(a.axis), offset, 1, true);
        offset += in->shape[size_t(a.axis)];
      }
      break;
    }
    case OpKind::slice:
      copy_along(x, out, size_t(a.axis), a.start, a.step, false);
      break;
    case OpKind::kv_append: {
      const size_t rows = x.shape.size() - 2;
      copy_along(x, out, rows, 0, 1, true);
      copy_along(*inputs[1], out, rows, x.shape[rows], 1, true);
      break;
    }
    case OpKind::gather: {
      const Tensor& ids = *inputs[1];
      const int64_t V = x.shape[0], D = x.shape[1], e = int64_t(dtype_size(x.dtype));
      for (int64_t i = 0; i < ids.elements(); ++i) {
        const int64_t id = int64_t(ids.get(i));
        if (id < 0 || id >= V)
          node_error(n, fmt::format("id {} (element {} of '{}') is outside the table's {} rows", id,
                                    i, g.tensor(n.inputs[1]).name, V));
        std::copy_n(x.data.begin() + id * D * e, D * e, out.data.begin() + i * D * e);
      }
      break;
    }
    case OpKind::rope: {
      const int64_t d = x.shape.back(), half = d / 2, s = x.shape[x.shape.size() - 2];
      const Tensor &c = *inputs[1], &sn = *inputs[2];
      for (int64_t r = 0; r < count / d; ++r) {
        const int64_t t = (r % s) * half;  // the row's table row
        for (int64_t j = 0; j < half; ++j) {
          const double x1 = x.get(r * d + j), x2 = x.get(r * d + half + j);
          const double cv = c.get(t + j), sv = sn.get(t + j);
          out.set(r * d + j, x1 * cv - x2 * sv);
          out.set(r * d + half + j, x2 * cv + x1 * sv);
        }
      }
      break;
    }
  }
  return out;
}

std::vector<Tensor> initial_values(const Graph& g, uint64_t seed) {
  std::vector<Tensor> values(g.tensors.size());
  std::vector<bool> generated(g.tensors.size(), false), rescaled(g.tensors.size(), false);
  for (int id : g.inputs) generated.at(size_t(id)) = true;
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    const TensorInfo& info = g.tensors[t];
    if (!info.value.empty()) {
      values[t] = Tensor(info.shape, info.dtype);
      values[t].data = info.value;
      rescaled[t] = true;  // given values are used as they are
    } else if (info.is_param || generated[t]) {
      values[t] = random_tensor(info.shape, info.dtype, seed * 1000003u + t);
    }
  }
  // A gather's ids: uniform in [0, V), V the smallest table that reads them.
  std::vector<int64_t> vocab(g.tensors.size(), 0);
  for (const Node& n : g.nodes)
    if (n.kind == OpKind::gather) {
      int64_t& v = vocab.at(size_t(n.inputs[1]));
      const int64_t rows = g.tensor(n.inputs[0]).shape[0];
      v = v ? std::min(v, rows) : rows;
    }
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    if (!vocab[t] || !generated[t] || !g.tensors[t].value.empty()) continue;
    SplitMix64 rng(seed * 1000003u + t);
    Tensor& ids = values[t];
    for (int64_t e = 0; e < ids.elements(); ++e)
      ids.set(e, std::floor(rng.unit() * double(vocab[t])));
  }
  // A rope's cos and sin params: its tables.
  for (const Node& n : g.nodes) {
    if (n.kind != OpKind::rope) continue;
    const std::vector<int64_t>& s = g.tensor(n.inputs[1]).shape;
    const RopeTables tab = rope_tables(s[0], s[1], n.attrs);
    for (int64_t e = 0; e < s[0] * s[1]; ++e) {
      values.at(size_t(n.inputs[1])).set(e, tab.cos[size_t(e)]);
      values.at(size_t(n.inputs[2])).set(e, tab.sin[size_t(e)]);
    }
  }
  // Norm parameters: gamma near 1 and beta near 0, float weights scaled by their reduction
  // length (see the comment at the top), each rescaled once even if several nodes share it.
  for (const Node& n : g.nodes) {
    const bool weighted =
        n.kind == OpKind::gemm || n.kind == OpKind::matmul || n.kind == OpKind::conv2d;
    if (weighted && n.inputs.size() > 1) {
      const size_t id = size_t(n.inputs[1]);
      const TensorInfo& w = g.tensors[id];
      if (!w.is_param || rescaled[id] || w.dtype == DType::int8) continue;
      rescaled[id] = true;
      // The reduction length: gemm's K of (K,N), matmul's K of (b,K,N), conv2d's C/groups*R*S
      // of (K,C/groups,R,S).
      const int64_t kred = n.kind == OpKind::gemm ? w.shape.at(0)
                           : n.kind == OpKind::matmul
                               ? w.shape.at(1)
                               : w.shape.at(1) * w.shape.at(2) * w.shape.at(3);
      const double scale = std::sqrt(3.0 / double(kred));
      Tensor& p = values.at(id);
      for (int64_t e = 0; e < p.elements(); ++e) p.set(e, scale * p.get(e));
      continue;
    }
    if (n.kind != OpKind::layernorm && n.kind != OpKind::rmsnorm) continue;
    for (size_t i = 1; i < n.inputs.size(); ++i) {
      const size_t id = size_t(n.inputs[i]);
      Tensor& p = values.at(id);
      if (!generated[id] && !g.tensors[id].is_param) continue;  // computed by a node
      if (rescaled[id]) continue;
      rescaled[id] = true;
      const double offset = i == 1 ? 1.0 : 0.0;
      for (int64_t e = 0; e < p.elements(); ++e) p.set(e, offset + 0.25 * p.get(e));
    }
  }
  return values;
}

std::vector<Tensor> reference_run(const Graph& g, uint64_t seed) {
  std::vector<Tensor> values = initial_values(g, seed);
  for (const Node& n : g.nodes) {
    std::vector<const Tensor*> ins;
    for (int id : n.inputs) ins.push_back(&values.at(size_t(id)));
    values.at(size_t(n.outputs.at(0))) = reference_eval(g, n, ins);
  }
  return values;
}

}  // namespace xpusim::compiler
