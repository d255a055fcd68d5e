// GraphIR: names, sizes, MAC counts, the op rules (infer_output_shape), the verifier and the
// YAML printer.
#include "compiler/ir/ir.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <unordered_map>

namespace xpusim::compiler {

namespace {

const char* const kOpNames[] = {"gemm", "matmul", "conv2d", "pool", "add", "mul", "relu", "gelu",
                                "silu", "sigmoid", "softmax", "layernorm", "rmsnorm", "attention",
                                "reshape", "transpose", "clip",
                                // the ops of a Llama-style decoder
                                "concat", "slice", "gather", "rope", "kv_append"};
constexpr int kNumOps = int(sizeof(kOpNames) / sizeof(kOpNames[0]));

std::string shape_str(const std::vector<int64_t>& s) {
  return fmt::format("[{}]", fmt::join(s, ", "));
}

int64_t product(std::vector<int64_t>::const_iterator b, std::vector<int64_t>::const_iterator e) {
  return elements_of(b, e);
}

// "node 'c1' (conv2d): " prefixed errors at the node's location.
[[noreturn]] void node_error(const Node& n, const std::string& msg) {
  throw Error(n.loc, fmt::format("node '{}' ({}): {}", n.name, op_name(n.kind), msg));
}

// The checks of infer_output_shape, with the graph and node at hand.
class NodeChecker {
 public:
  NodeChecker(const Graph& g, const Node& n) : g_(g), n_(n) {}

  [[noreturn]] void fail(const std::string& msg) const { node_error(n_, msg); }

  void expect_inputs(size_t count, const char* what) const {
    if (n_.inputs.size() != count)
      fail(fmt::format("expected {} input(s) {}, got {}", count, what, n_.inputs.size()));
  }

  // gemm and conv2d: two inputs, or three with a bias (input 2), a param of `count` values,
  // one per output column or channel, of a float dtype.
  void expect_optional_bias(int64_t count, const char* what) const {
    if (n_.inputs.size() != 2 && n_.inputs.size() != 3)
      fail(fmt::format("expected 2 inputs {} or 3 with a bias, got {}", what, n_.inputs.size()));
    if (n_.inputs.size() == 2) return;
    expect_param(2, "the bias");
    expect_dim("the bias's length (its only dim)", ranked(2, 1, "(one value per output)")[0],
               count);
    if (in(0).dtype == DType::int8)
      fail("an int8 op has no bias (its accumulators are requantised): add one in a float dtype");
  }

  const TensorInfo& in(size_t i) const { return g_.tensor(n_.inputs.at(i)); }

  // Input i must have the given rank; `layout` names the dims in the message.
  const std::vector<int64_t>& ranked(size_t i, size_t rank, const char* layout) const {
    const TensorInfo& t = in(i);
    if (t.shape.size() != rank)
      fail(fmt::format("input {} '{}' must be {}-D {}, got shape {}", i, t.name, rank, layout,
                       shape_str(t.shape)));
    return t.shape;
  }

  void expect_param(size_t i, const char* what) const {
    if (!in(i).is_param)
      fail(fmt::format("input {} '{}' ({}) must be a param", i, in(i).name, what));
  }

  void expect_dim(const char* what, int64_t got, int64_t want) const {
    if (got != want) fail(fmt::format("{} must be {}, got {}", what, want, got));
  }

  void expect_same_shape(size_t i, size_t j) const {
    if (in(i).shape != in(j).shape)
      fail(fmt::format("inputs '{}' {} and '{}' {} must have the same shape", in(i).name,
                       shape_str(in(i).shape), in(j).name, shape_str(in(j).shape)));
  }

  // The last dim of input 0, for the row-wise ops.
  int64_t last_dim() const {
    if (in(0).shape.empty()) fail(fmt::format("input '{}' must have at least one dim", in(0).name));
    return in(0).shape.back();
  }

  // Output size of a conv2d / pool window along one axis.
  int64_t window_out(const char* axis, int64_t size, int64_t kernel, int64_t stride,
                     int64_t pad) const {
    if (kernel < 1 || stride < 1 || pad < 0)
      fail(fmt::format("{}: kernel and stride must be >= 1 and pad >= 0, got {}, {}, {}", axis,
                       kernel, stride, pad));
    int64_t span = size + 2 * pad - kernel;
    if (span < 0)
      fail(fmt::format("output {} would be <= 0: input {} + 2*pad {} < kernel {}", axis, size, pad,
                       kernel));
    return span / stride + 1;
  }

  void check_requant() const {
    const OpAttrs& a = n_.attrs;
    if (in(0).dtype != DType::int8) return;
    if (a.requant_multiplier < 1 || a.requant_shift < 0 || a.requant_shift > 62)
      fail(fmt::format("requant multiplier must be >= 1 and shift in [0, 62], got {} and {}",
                       a.requant_multiplier, a.requant_shift));
  }

 private:
  const Graph& g_;
  const Node& n_;
};

// Dims of an attention input padded to (b, h, s, d).
std::vector<int64_t> as_bhsd(const std::vector<int64_t>& s) {
  std::vector<int64_t> r(4 - std::min<size_t>(s.size(), 4), 1);
  r.insert(r.end(), s.begin(), s.end());
  return r;
}

}  // namespace

RopeTables rope_tables(int64_t rows, int64_t half, const OpAttrs& a) {
  RopeTables t{rows, half, {}, {}};
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < half; ++j) {
      const double angle =
          double(a.pos + i) * std::pow(a.theta, -2.0 * double(j) / double(2 * half));
      t.cos.push_back(std::cos(angle));
      t.sin.push_back(std::sin(angle));
    }
  return t;
}

bool valid_perm(const std::vector<int64_t>& perm, size_t rank) {
  if (perm.size() != rank) return false;
  std::vector<bool> seen(rank, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= int64_t(rank) || seen[size_t(p)]) return false;
    seen[size_t(p)] = true;
  }
  return true;
}

const char* op_name(OpKind k) {
  return kOpNames[int(k)];
}

OpKind parse_op(const std::string& s, const SourceLoc& loc) {
  for (int i = 0; i < kNumOps; ++i)
    if (s == kOpNames[i]) return OpKind(i);
  throw Error(loc, fmt::format("unknown op '{}'; known ops: {}", s,
                               fmt::join(kOpNames, kOpNames + kNumOps, ", ")));
}

bool is_elementwise(OpKind k) {
  return k == OpKind::add || k == OpKind::mul || k == OpKind::relu || k == OpKind::gelu ||
         k == OpKind::silu || k == OpKind::sigmoid || k == OpKind::clip;
}

bool moves_elements(OpKind k) {
  return k == OpKind::reshape || k == OpKind::transpose || k == OpKind::concat ||
         k == OpKind::slice || k == OpKind::gather || k == OpKind::kv_append;
}

bool op_supports_dtype(OpKind k, DType t) {
  if (t == DType::bf16 || t == DType::fp16) return true;
  if (moves_elements(k)) return t == DType::int8 || t == DType::fp32;
  if (t == DType::fp32) return k == OpKind::gemm || k == OpKind::matmul || k == OpKind::conv2d;
  if (t != DType::int8) return false;
  switch (k) {
    case OpKind::gemm:
    case OpKind::matmul:
    case OpKind::conv2d:
    case OpKind::pool:
    case OpKind::add:
    case OpKind::mul:
    case OpKind::relu:
    case OpKind::clip:
      return true;
    default:
      return false;
  }
}

std::string op_dtypes(OpKind k) {
  std::vector<std::string> v;
  for (DType t : {DType::int8, DType::bf16, DType::fp16, DType::fp32})
    if (op_supports_dtype(k, t)) v.push_back(dtype_name(t));
  std::string s = v.back();
  if (v.size() > 1) s = fmt::format("{} or {}", fmt::join(v.begin(), v.end() - 1, ", "), s);
  return s;
}

int64_t elements_of(std::vector<int64_t>::const_iterator b,
                    std::vector<int64_t>::const_iterator e) {
  int64_t p = 1;
  for (; b != e; ++b)
    if (__builtin_mul_overflow(p, *b, &p)) return std::numeric_limits<int64_t>::max();
  return p;
}

int64_t TensorInfo::elements() const {
  return product(shape.begin(), shape.end());
}

MatmulDims matmul_dims(const Graph& g, const Node& n) {
  const auto& a = g.tensor(n.inputs.at(0)).shape;
  const auto& b = g.tensor(n.inputs.at(1)).shape;
  MatmulDims d;
  if (n.kind == OpKind::gemm) {
    d.m = a.at(0);
    d.k = product(a.begin() + 1, a.end());
    d.n = b.at(1);
  } else {
    d.batch = a.at(0);
    d.m = a.at(1);
    d.k = a.at(2);
    d.n = b.at(2);
  }
  return d;
}

AttentionDims attention_dims(const Graph& g, const Node& n) {
  auto q = as_bhsd(g.tensor(n.inputs.at(0)).shape);
  auto k = as_bhsd(g.tensor(n.inputs.at(1)).shape);
  AttentionDims d;
  d.batch = q[0];
  d.heads = q[1];
  d.kv_heads = k[1];
  d.seq_q = q[2];
  d.seq_kv = k[2];
  d.head_dim = q[3];
  return d;
}

std::vector<int64_t> infer_output_shape(const Graph& g, const Node& n) {
  NodeChecker c(g, n);
  for (int id : n.inputs)
    if (id < 0 || id >= int(g.tensors.size()))
      c.fail(fmt::format("input tensor id {} out of range", id));
  if (!n.inputs.empty()) {
    DType t = c.in(0).dtype;
    if (!op_supports_dtype(n.kind, t))
      c.fail(fmt::format("dtype {} not supported; expected {}", dtype_name(t), op_dtypes(n.kind)));
    for (size_t i = 1; i < n.inputs.size(); ++i)
      if (c.in(i).dtype != t && !(n.kind == OpKind::gather && i == 1))
        c.fail(fmt::format("input {} '{}' has dtype {}, expected {} like input 0", i, c.in(i).name,
                           dtype_name(c.in(i).dtype), dtype_name(t)));
  }
  const OpAttrs& a = n.attrs;
  bool has_macs = n.kind == OpKind::gemm || n.kind == OpKind::matmul || n.kind == OpKind::conv2d;
  if (a.fused_relu && !has_macs) c.fail("fused_relu is only allowed on gemm, matmul and conv2d");

  switch (n.kind) {
    case OpKind::gemm: {
      if (n.inputs.size() < 2) c.expect_inputs(2, "(A, B)");
      const auto& sa = c.in(0).shape;
      if (sa.size() < 2)
        c.fail(fmt::format("input 0 '{}' must be (M,K) (or rank > 2, flattened), got shape {}",
                           c.in(0).name, shape_str(sa)));
      const auto& sb = c.ranked(1, 2, "(K,N)");
      c.expect_param(1, "the weight B");
      c.expect_dim("K of B (its dim 0)", sb[0], product(sa.begin() + 1, sa.end()));
      c.expect_optional_bias(sb[1], "(A, B)");
      c.check_requant();
      return {sa[0], sb[1]};
    }
    case OpKind::matmul: {
      c.expect_inputs(2, "(A, B)");
      const auto& sa = c.ranked(0, 3, "(b,M,K)");
      const auto& sb = c.ranked(1, 3, "(b,K,N)");
      c.expect_dim("batch of B", sb[0], sa[0]);
      c.expect_dim("K of B (its dim 1)", sb[1], sa[2]);
      c.check_requant();
      return {sa[0], sa[1], sb[2]};
    }
    case OpKind::conv2d: {
      if (n.inputs.size() < 2) c.expect_inputs(2, "(X, W)");
      const auto& x = c.ranked(0, 4, "(N,C,H,W)");
      const auto& w = c.ranked(1, 4, "(K,C/groups,R,S)");
      c.expect_param(1, "the weights");
      c.expect_optional_bias(w[0], "(X, W)");
      if (a.groups < 1 || x[1] % a.groups != 0 || w[0] % a.groups != 0)
        c.fail(
            fmt::format("groups {} must be >= 1 and divide the input channels C={} and the "
                        "output channels K={}",
                        a.groups, x[1], w[0]));
      c.expect_dim("dim 1 of the weights (C/groups)", w[1], x[1] / a.groups);
      c.expect_dim("kernel_h (weights dim 2, R)", a.kernel_h, w[2]);
      c.expect_dim("kernel_w (weights dim 3, S)", a.kernel_w, w[3]);
      int64_t oh = c.window_out("height", x[2], a.kernel_h, a.stride_h, a.pad_h);
      int64_t ow = c.window_out("width", x[3], a.kernel_w, a.stride_w, a.pad_w);
      c.check_requant();
      return {x[0], w[0], oh, ow};
    }
    case OpKind::pool: {
      c.expect_inputs(1, "(X)");
      const auto& x = c.ranked(0, 4, "(N,C,H,W)");
      // A window made only of padding would have no elements to reduce.
      if (a.pad_h >= a.kernel_h || a.pad_w >= a.kernel_w)
        c.fail(fmt::format("pad ({}, {}) must be smaller than the kernel ({}, {})", a.pad_h,
                           a.pad_w, a.kernel_h, a.kernel_w));
      int64_t oh = c.window_out("height", x[2], a.kernel_h, a.stride_h, a.pad_h);
      int64_t ow = c.window_out("width", x[3], a.kernel_w, a.stride_w, a.pad_w);
      return {x[0], x[1], oh, ow};
    }
    case OpKind::add:
    case OpKind::mul:
      c.expect_inputs(2, "(A, B)");
      c.expect_same_shape(0, 1);
      return c.in(0).shape;
    case OpKind::relu:
    case OpKind::gelu:
    case OpKind::silu:
    case OpKind::sigmoid:
    case OpKind::softmax:
      c.expect_inputs(1, "(X)");
      c.last_dim();
      return c.in(0).shape;
    case OpKind::clip: {
      c.expect_inputs(1, "(X)");
      c.last_dim();
      if (std::isnan(a.clip_min) || std::isnan(a.clip_max) || a.clip_min == INFINITY ||
          a.clip_max == -INFINITY)
        c.fail("min and max must be numbers");
      if (!std::isfinite(a.clip_min) && !std::isfinite(a.clip_max))
        c.fail("needs a bound: min, max or both");
      if (a.clip_min > a.clip_max)
        c.fail(fmt::format("min {} must not exceed max {}", a.clip_min, a.clip_max));
      if (c.in(0).dtype == DType::int8)
        for (double b : {a.clip_min, a.clip_max})
          if (std::isfinite(b) && (b != std::floor(b) || b < -128 || b > 127))
            c.fail(fmt::format("an int8 bound must be an integer in [-128, 127], got {}", b));
      return c.in(0).shape;
    }
    case OpKind::layernorm:
    case OpKind::rmsnorm: {
      bool ln = n.kind == OpKind::layernorm;
      c.expect_inputs(ln ? 3 : 2, ln ? "(X, gamma, beta)" : "(X, gamma)");
      int64_t d = c.last_dim();
      for (size_t i = 1; i < n.inputs.size(); ++i) {
        c.ranked(i, 1, "(D)");
        c.expect_param(i, i == 1 ? "gamma" : "beta");
        c.expect_dim(i == 1 ? "the size of gamma" : "the size of beta", c.in(i).shape[0], d);
      }
      if (!(a.eps > 0)) c.fail(fmt::format("eps must be > 0, got {}", a.eps));
      return c.in(0).shape;
    }
    case OpKind::attention: {
      c.expect_inputs(3, "(Q, K, V)");
      size_t rank = c.in(0).shape.size();
      if (rank < 2 || rank > 4)
        c.fail(fmt::format("Q '{}' must be (b,h,sq,d), (h,sq,d) or (sq,d), got shape {}",
                           c.in(0).name, shape_str(c.in(0).shape)));
      c.ranked(1, rank, "like Q (b,kvh,skv,d)");
      c.expect_same_shape(1, 2);
      AttentionDims d = attention_dims(g, n);
      auto k = as_bhsd(c.in(1).shape);
      c.expect_dim("batch of K", k[0], d.batch);
      c.expect_dim("head_dim of K", k[3], d.head_dim);
      if (d.heads % d.kv_heads != 0)
        c.fail(fmt::format("heads {} must be divisible by kv_heads {}", d.heads, d.kv_heads));
      // With sq > skv the first query rows would have no key left to attend to.
      if (a.causal && d.seq_q > d.seq_kv)
        c.fail(
            fmt::format("causal attention needs seq_q <= seq_kv, got {} > {}", d.seq_q, d.seq_kv));
      if (!(a.scale >= 0))
        c.fail(fmt::format("scale must be >= 0 (0: 1/sqrt(d)), got {}", a.scale));
      return c.in(0).shape;
    }
    case OpKind::reshape: {
      c.expect_inputs(1, "(X)");
      const auto& s = a.shape;
      bool positive = !s.empty();
      for (int64_t d : s) positive = positive && d >= 1;
      if (!positive) c.fail(fmt::format("shape {} must be a list of dims >= 1", shape_str(s)));
      if (product(s.begin(), s.end()) != c.in(0).elements())
        c.fail(fmt::format("shape {} has {} elements, input '{}' {} has {}", shape_str(s),
                           product(s.begin(), s.end()), c.in(0).name, shape_str(c.in(0).shape),
                           c.in(0).elements()));
      return s;
    }
    case OpKind::transpose: {
      c.expect_inputs(1, "(X)");
      const auto& in = c.in(0).shape;
      if (!valid_perm(a.perm, in.size()))
        c.fail(fmt::format("perm {} must be a permutation of 0..{} (input '{}' has rank {})",
                           shape_str(a.perm), int64_t(in.size()) - 1, c.in(0).name, in.size()));
      std::vector<int64_t> out;
      for (int64_t p : a.perm) out.push_back(in[size_t(p)]);
      return out;
    }
    case OpKind::concat: {
      if (n.inputs.size() < 2)
        c.fail(fmt::format("expected 2 or more inputs (X0, X1, ...), got {}", n.inputs.size()));
      std::vector<int64_t> out = c.in(0).shape;
      if (a.axis < 0 || a.axis >= int64_t(out.size()))
        c.fail(fmt::format("axis {} is not a dim of input '{}' {}", a.axis, c.in(0).name,
                           shape_str(out)));
      for (size_t i = 1; i < n.inputs.size(); ++i) {
        const auto& s = c.in(i).shape;
        bool same = s.size() == out.size();
        for (size_t d = 0; same && d < s.size(); ++d) same = int64_t(d) == a.axis || s[d] == out[d];
        if (!same)
          c.fail(fmt::format("input {} '{}' {} must match input 0 '{}' {} in every dim but {}", i,
                             c.in(i).name, shape_str(s), c.in(0).name, shape_str(c.in(0).shape),
                             a.axis));
        out[size_t(a.axis)] += s[size_t(a.axis)];
      }
      return out;
    }
    case OpKind::slice: {
      c.expect_inputs(1, "(X)");
      std::vector<int64_t> out = c.in(0).shape;
      if (a.axis < 0 || a.axis >= int64_t(out.size()))
        c.fail(fmt::format("axis {} is not a dim of input '{}' {}", a.axis, c.in(0).name,
                           shape_str(out)));
      const int64_t dim = out[size_t(a.axis)];
      if (a.step < 1) c.fail(fmt::format("step must be >= 1, got {}", a.step));
      if (a.start < 0 || a.start >= a.end || a.end > dim)
        c.fail(fmt::format("[{}, {}) must be a non-empty range of dim {} (of size {})", a.start,
                           a.end, a.axis, dim));
      out[size_t(a.axis)] = (a.end - a.start + a.step - 1) / a.step;
      return out;
    }
    case OpKind::gather: {
      c.expect_inputs(2, "(table, ids)");
      const auto& t = c.ranked(0, 2, "(V,D)");
      c.expect_param(0, "the table");
      if (c.in(1).dtype != DType::int32)
        c.fail(fmt::format("input 1 '{}' (the ids) must be int32, got {}", c.in(1).name,
                           dtype_name(c.in(1).dtype)));
      std::vector<int64_t> out = c.in(1).shape;
      out.push_back(t[1]);
      return out;
    }
    case OpKind::rope: {
      c.expect_inputs(3, "(X, cos, sin)");
      const auto& x = c.in(0).shape;
      if (x.size() < 2)
        c.fail(fmt::format("input '{}' must be (..., s, d), got shape {}", c.in(0).name,
                           shape_str(x)));
      const int64_t s = x[x.size() - 2], d = x.back();
      if (d % 2) c.fail(fmt::format("the last dim (head_dim) must be even, got {}", d));
      for (size_t i = 1; i < 3; ++i) {
        const auto& tbl = c.ranked(i, 2, "(s, d/2)");
        c.expect_param(i, i == 1 ? "cos" : "sin");
        if (tbl[0] != s || tbl[1] != d / 2)
          c.fail(fmt::format("input {} '{}' must be [{}, {}] (s, d/2), got {}", i, c.in(i).name, s,
                             d / 2, shape_str(tbl)));
      }
      if (!(a.theta > 0)) c.fail(fmt::format("theta must be > 0, got {}", a.theta));
      if (a.pos < 0) c.fail(fmt::format("pos must be >= 0, got {}", a.pos));
      return x;
    }
    case OpKind::kv_append: {
      c.expect_inputs(2, "(cache, new)");
      const auto& k = c.in(0).shape;
      const auto& nw = c.in(1).shape;
      bool same = k.size() >= 2 && nw.size() == k.size();
      for (size_t d = 0; same && d < k.size(); ++d) same = d + 2 == k.size() || k[d] == nw[d];
      if (!same)
        c.fail(
            fmt::format("cache '{}' {} and new '{}' {} must be (..., ctx, d) and (..., t, d), "
                        "equal but for the rows",
                        c.in(0).name, shape_str(k), c.in(1).name, shape_str(nw)));
      std::vector<int64_t> out = k;
      out[k.size() - 2] += nw[k.size() - 2];
      return out;
    }
  }
  c.fail("unknown op kind");
}

int64_t node_macs(const Graph& g, const Node& n) {
  switch (n.kind) {
    case OpKind::gemm:
    case OpKind::matmul: {
      MatmulDims d = matmul_dims(g, n);
      return d.batch * d.m * d.n * d.k;
    }
    case OpKind::conv2d: {
      const auto& x = g.tensor(n.inputs.at(0)).shape;
      const auto& out = g.tensor(n.outputs.at(0)).shape;  // (N,K,OH,OW)
      return out[0] * out[1] * out[2] * out[3] * (x[1] / n.attrs.groups) * n.attrs.kernel_h *
             n.attrs.kernel_w;
    }
    case OpKind::attention: {
      AttentionDims d = attention_dims(g, n);
      return d.batch * d.heads * d.seq_q * d.seq_kv * d.head_dim * 2;  // Q K^T and P V
    }
    default:
      return 0;
  }
}

void verify(const Graph& g) {
  const SourceLoc graph_loc{g.file, 0, 0};
  const int nt = int(g.tensors.size());
  auto in_range = [&](int id) { return id >= 0 && id < nt; };

  std::unordered_map<std::string, int> names;
  for (int t = 0; t < nt; ++t) {
    const TensorInfo& ti = g.tensors[t];
    if (ti.name.empty()) throw Error(ti.loc, fmt::format("tensor {} has no name", t));
    if (!names.emplace(ti.name, t).second)
      throw Error(ti.loc, fmt::format("tensor name '{}' is used twice", ti.name));
    if (ti.shape.empty()) throw Error(ti.loc, fmt::format("tensor '{}' has no shape", ti.name));
    if (!ti.value.empty() && int64_t(ti.value.size()) != ti.elements() * dtype_size(ti.dtype))
      throw Error(ti.loc, fmt::format("tensor '{}': {} bytes of values, its shape {} {} holds {}",
                                      ti.name, ti.value.size(), shape_str(ti.shape),
                                      dtype_name(ti.dtype), ti.elements() * dtype_size(ti.dtype)));
    for (int64_t d : ti.shape)
      if (d < 1)
        throw Error(ti.loc, fmt::format("tensor '{}' has a non-positive dim: {}", ti.name,
                                        shape_str(ti.shape)));
    if (ti.elements() > kMaxTensorElements)
      throw Error(ti.loc, fmt::format("tensor '{}' {} is too large (more than 2^40 elements)",
                                      ti.name, shape_str(ti.shape)));
  }

  // 0: not yet available, 1: available (param, graph input or produced earlier).
  std::vector<int> available(nt, 0);
  std::vector<int> consumers(nt, 0);
  for (int t = 0; t < nt; ++t) available[t] = g.tensors[t].is_param;
  for (int id : g.inputs) {
    if (!in_range(id)) throw Error(graph_loc, fmt::format("graph input id {} out of range", id));
    if (g.tensors[id].is_param)
      throw Error(g.tensors[id].loc,
                  fmt::format("tensor '{}' is both a param and a graph input", g.tensors[id].name));
    available[id] = 1;
  }

  std::unordered_map<std::string, int> node_names;
  for (const Node& n : g.nodes) {
    if (n.name.empty()) throw Error(n.loc, "a node has no name");
    if (!node_names.emplace(n.name, 0).second) node_error(n, "the node name is used twice");
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      int id = n.inputs[i];
      if (!in_range(id))
        node_error(n, fmt::format("input {} has tensor id {} out of range", i, id));
      if (!available[id])
        node_error(n, fmt::format("input '{}' is not a param, a graph input or the output of an "
                                  "earlier node (nodes must be in topological order)",
                                  g.tensors[id].name));
      consumers[id]++;
    }
    if (n.outputs.size() != 1)
      node_error(n, fmt::format("expected 1 output, got {}", n.outputs.size()));
    int out = n.outputs[0];
    if (!in_range(out)) node_error(n, fmt::format("output tensor id {} out of range", out));
    if (available[out])
      node_error(n, fmt::format("output '{}' is already a param, a graph input or the output of "
                                "another node",
                                g.tensors[out].name));
    std::vector<int64_t> want = infer_output_shape(g, n);
    const TensorInfo& o = g.tensors[out];
    if (o.shape != want)
      node_error(n, fmt::format("output '{}' must have shape {}, got {}", o.name, shape_str(want),
                                shape_str(o.shape)));
    if (o.dtype != g.tensors[n.inputs[0]].dtype)
      node_error(n,
                 fmt::format("output '{}' must have the dtype of the inputs ({}), got {}", o.name,
                             dtype_name(g.tensors[n.inputs[0]].dtype), dtype_name(o.dtype)));
    available[out] = 1;
  }

  // A kv_append may write its output over its cache's bytes: the cache is a graph input, and no
  // other node reads it.
  for (const Node& n : g.nodes) {
    if (n.kind != OpKind::kv_append) continue;
    const int cache = n.inputs[0];
    if (std::find(g.inputs.begin(), g.inputs.end(), cache) == g.inputs.end() ||
        consumers[cache] != 1)
      node_error(n, fmt::format("the cache '{}' must be a graph input that no other op reads (the "
                                "output takes its bytes)",
                                g.tensors[cache].name));
  }

  std::vector<int> want_outputs;
  for (int t = 0; t < nt; ++t) {
    if (!available[t])
      throw Error(g.tensors[t].loc,
                  fmt::format("tensor '{}' is never produced", g.tensors[t].name));
    if (consumers[t] == 0 && !g.tensors[t].is_param) want_outputs.push_back(t);
  }
  std::vector<int> outputs = g.outputs;
  std::sort(outputs.begin(), outputs.end());
  if (outputs != want_outputs)
    throw Error(graph_loc, "graph outputs must be exactly the tensors that no node consumes");
}

namespace {

// A name as a YAML scalar: plain when that reads back unchanged, double-quoted otherwise
// (with "$" doubled, as workloads read "$" as a parameter).
std::string yaml_name(const std::string& s) {
  bool plain = !s.empty() && (std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_');
  for (char ch : s)
    plain = plain && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' ||
                      ch == '-' || ch == '/');
  static const char* const kReserved[] = {"true", "false", "yes", "no", "on",
                                          "off",  "null",  "y",   "n"};
  std::string lower = s;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return char(std::tolower(ch)); });
  for (const char* r : kReserved) plain = plain && lower != r;
  if (plain) return s;
  std::string q = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') q += '\\';
    if (ch == '$') q += '$';  // "$$" reads back as "$" (docs/workloads.md, "Parameters")
    q += ch;
  }
  return q + "\"";
}

std::string names_list(const Graph& g, const std::vector<int>& ids) {
  std::vector<std::string> v;
  for (int id : ids) v.push_back(yaml_name(g.tensor(id).name));
  return fmt::format("[{}]", fmt::join(v, ", "));
}

// "{key}: a" or "{key}_h: a, {key}_w: b".
std::string hw_pair(const char* key, int64_t h, int64_t w) {
  if (h == w) return fmt::format(", {}: {}", key, h);
  return fmt::format(", {0}_h: {1}, {0}_w: {2}", key, h, w);
}

}  // namespace

std::string to_yaml(const Graph& g) {
  std::string y = "# xpusim workload, chained form (docs/workloads.md)\n";
  y += fmt::format("name: {}\n", yaml_name(g.name));
  if (!g.inputs.empty()) {
    y += "inputs:\n";
    for (int id : g.inputs) {
      const TensorInfo& t = g.tensor(id);
      y += fmt::format("  - {{name: {}, shape: {}, dtype: {}}}\n", yaml_name(t.name),
                       shape_str(t.shape), dtype_name(t.dtype));
    }
  }
  y += "ops:\n";
  for (const Node& n : g.nodes) {
    const OpAttrs& a = n.attrs;
    std::vector<int> acts;  // params are generated again on load, from the sizes below
    for (int id : n.inputs)
      if (!g.tensor(id).is_param) acts.push_back(id);
    DType dt = g.tensor(n.inputs.at(0)).dtype;
    std::string keys;
    switch (n.kind) {
      case OpKind::gemm:
        keys = fmt::format(", N: {}", g.tensor(n.inputs.at(1)).shape.at(1));
        break;
      case OpKind::matmul:
        if (g.tensor(n.inputs.at(1)).is_param)
          keys = fmt::format(", N: {}", g.tensor(n.inputs.at(1)).shape.at(2));
        break;
      case OpKind::conv2d:
        keys = fmt::format(", K: {}, R: {}, S: {}", g.tensor(n.inputs.at(1)).shape.at(0),
                           a.kernel_h, a.kernel_w);
        keys += hw_pair("stride", a.stride_h, a.stride_w) + hw_pair("pad", a.pad_h, a.pad_w);
        if (a.groups != 1) keys += fmt::format(", groups: {}", a.groups);
        break;
      case OpKind::pool:
        keys = hw_pair("kernel", a.kernel_h, a.kernel_w) +
               hw_pair("stride", a.stride_h, a.stride_w) + hw_pair("pad", a.pad_h, a.pad_w) +
               fmt::format(", type: {}", a.pool_max ? "max" : "avg");
        break;
      case OpKind::layernorm:
      case OpKind::rmsnorm:
        keys = fmt::format(", eps: {}", a.eps);
        break;
      case OpKind::attention:
        keys = fmt::format(", causal: {}", a.causal);
        if (a.scale != 0) keys += fmt::format(", scale: {}", a.scale);
        break;
      case OpKind::reshape:
        keys = fmt::format(", shape: {}", shape_str(a.shape));
        break;
      case OpKind::transpose:
        keys = fmt::format(", perm: {}", shape_str(a.perm));
        break;
      case OpKind::clip:
        if (std::isfinite(a.clip_min)) keys += fmt::format(", min: {}", a.clip_min);
        if (std::isfinite(a.clip_max)) keys += fmt::format(", max: {}", a.clip_max);
        break;
      case OpKind::concat:
        keys = fmt::format(", axis: {}", a.axis);
        break;
      case OpKind::slice:
        keys =
            fmt::format(", axis: {}, start: {}, end: {}, step: {}", a.axis, a.start, a.end, a.step);
        break;
      case OpKind::gather: {
        const auto& t = g.tensor(n.inputs.at(0)).shape;
        keys = fmt::format(", vocab: {}, dim: {}", t.at(0), t.at(1));
        break;
      }
      case OpKind::rope:
        keys = fmt::format(", theta: {}, pos: {}", a.theta, a.pos);
        break;
      default:
        break;
    }
    bool has_macs = n.kind == OpKind::gemm || n.kind == OpKind::matmul || n.kind == OpKind::conv2d;
    if (has_macs && dt == DType::int8)
      keys += fmt::format(", requant: {{multiplier: {}, shift: {}}}", a.requant_multiplier,
                          a.requant_shift);
    if ((n.kind == OpKind::gemm || n.kind == OpKind::conv2d) && n.inputs.size() == 3)
      keys += ", bias: true";
    if (a.fused_relu) keys += ", fused_relu: true";
    y += fmt::format("  - {{name: {}, op: {}, inputs: {}, output: {}{}, dtype: {}}}\n",
                     yaml_name(n.name), op_name(n.kind), names_list(g, acts),
                     yaml_name(g.tensor(n.outputs.at(0)).name), keys, dtype_name(dt));
  }
  return y;
}

}  // namespace xpusim::compiler
