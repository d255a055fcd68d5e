// Reference implementations on small hand-computed examples, tensor element access, the
// random data rule and compare().
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "compiler/ir/frontend.h"
#include "compiler/reference/reference.h"
#include "compiler/reference/tensor.h"
#include "models/core/numeric.h"

using namespace xpusim;
using namespace xpusim::compiler;

namespace {

Tensor make(std::vector<int64_t> shape, DType t, const std::vector<double>& v) {
  Tensor x(std::move(shape), t);
  REQUIRE(int64_t(v.size()) == x.elements());
  for (size_t i = 0; i < v.size(); ++i) x.set(int64_t(i), v[i]);
  return x;
}

std::vector<double> values(const Tensor& t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.elements(); ++i) v.push_back(t.get(i));
  return v;
}

// A one-op flat workload.
Graph one_op(const std::string& op) {
  return parse_workload("name: t\nops:\n  - " + op + "\n", "t.yaml");
}

// Evaluates the only node of g on the given input values.
Tensor eval(const Graph& g, const std::vector<Tensor>& ins) {
  std::vector<const Tensor*> p;
  for (const Tensor& t : ins) p.push_back(&t);
  return reference_eval(g, g.nodes.at(0), p);
}

double bf16(double v) {
  return numeric::bf16_to_float(numeric::float_to_bf16(float(v)));
}

}  // namespace

TEST_CASE("tensor elements by dtype", "[unit]") {
  Tensor i8({6}, DType::int8);
  REQUIRE(i8.data.size() == 6);
  i8.set(0, 2.5);  // ties away from zero
  i8.set(1, -2.5);
  i8.set(2, 300);
  i8.set(3, -300);
  i8.set(4, std::nan(""));
  i8.set(5, 1.4);
  CHECK(values(i8) == std::vector<double>{3, -3, 127, -128, 0, 1});

  Tensor b({3}, DType::bf16);
  REQUIRE(b.data.size() == 6);
  b.set(0, 1.0 + 1.0 / 256);  // a tie: to even, 1.0
  b.set(1, 1.0 + 3.0 / 256);  // a tie: to even, 1 + 2^-6
  b.set(2, -0.1);
  CHECK(b.get(0) == 1.0);
  CHECK(b.get(1) == 1.0 + 1.0 / 64);
  CHECK(b.get(2) == double(numeric::bf16_to_float(numeric::float_to_bf16(-0.1f))));
  CHECK(b.data[0] == 0x80);  // 1.0 = 0x3f80, little-endian
  CHECK(b.data[1] == 0x3f);

  Tensor h({3}, DType::fp16);
  REQUIRE(h.data.size() == 6);
  h.set(0, 1.0 + 1.0 / 2048);  // a tie: to even, 1.0
  h.set(1, 1.0 + 3.0 / 2048);  // a tie: to even, 1 + 2^-9
  h.set(2, 70000.0);           // beyond the largest fp16 (65504): infinity
  CHECK(h.get(0) == 1.0);
  CHECK(h.get(1) == 1.0 + 1.0 / 512);
  CHECK(std::isinf(h.get(2)));
  CHECK(h.data[0] == 0x00);  // 1.0 = 0x3c00, little-endian
  CHECK(h.data[1] == 0x3c);

  Tensor i32({1}, DType::int32);
  i32.set(0, 0x01020304);
  CHECK(i32.data == std::vector<uint8_t>{4, 3, 2, 1});
  CHECK(i32.get(0) == 0x01020304);

  Tensor f({1}, DType::fp32);
  f.set(0, 0.1);
  CHECK(f.get(0) == double(0.1f));
  CHECK_THROWS_AS(f.get(1), Error);
}

TEST_CASE("random tensors are deterministic and in range", "[unit]") {
  Tensor a = random_tensor({64, 64}, DType::int8, 42, 3);
  Tensor b = random_tensor({64, 64}, DType::int8, 42, 3);
  Tensor c = random_tensor({64, 64}, DType::int8, 43, 3);
  CHECK(a.data == b.data);
  CHECK(a.data != c.data);
  std::vector<int> seen(7, 0);
  for (double v : values(a)) {
    REQUIRE(v >= -3);
    REQUIRE(v <= 3);
    seen[size_t(v + 3)]++;
  }
  for (int s : seen) CHECK(s > 400);  // about 585 each

  Tensor f = random_tensor({4096}, DType::bf16, 7);
  double sum = 0;
  for (double v : values(f)) {
    REQUIRE(std::fabs(v) <= 1.0);
    REQUIRE(v == bf16(v));
    sum += v;
  }
  CHECK(std::fabs(sum / 4096) < 0.05);
  for (double v : values(random_tensor({1000}, DType::int8, 1))) REQUIRE(std::fabs(v) <= 127);
}

TEST_CASE("requantize rounds half away from zero and saturates", "[unit]") {
  CHECK(numeric::requantize(5, 1, 1) == 3);    // 2.5
  CHECK(numeric::requantize(-5, 1, 1) == -3);  // -2.5
  CHECK(numeric::requantize(3, 1, 1) == 2);    // 1.5
  CHECK(numeric::requantize(7, 3, 2) == 5);    // 5.25
  CHECK(numeric::requantize(-7, 3, 2) == -5);
  CHECK(numeric::requantize(1000, 1, 2) == 127);
  CHECK(numeric::requantize(-1000, 1, 0) == -128);
  CHECK(numeric::requantize(-129, 1, 0) == -128);
}

TEST_CASE("int8 gemm: int32 accumulation, requantisation, fused ReLU", "[unit]") {
  Graph g = one_op("{name: g, op: gemm, M: 2, N: 2, K: 2, requant: {multiplier: 1, shift: 0}}");
  Tensor a = make({2, 2}, DType::int8, {1, 2, 3, 4});
  Tensor b = make({2, 2}, DType::int8, {5, 6, 7, 8});
  CHECK(values(eval(g, {a, b})) == std::vector<double>{19, 22, 43, 50});

  g.nodes[0].attrs.requant_shift = 1;  // 9.5, 11, 21.5, 25
  CHECK(values(eval(g, {a, b})) == std::vector<double>{10, 11, 22, 25});

  g.nodes[0].attrs.requant_shift = 0;
  Tensor an = make({2, 2}, DType::int8, {-1, 2, 3, -4});  // -> 9, 10, -13, -14
  CHECK(values(eval(g, {an, b})) == std::vector<double>{9, 10, -13, -14});
  g.nodes[0].attrs.fused_relu = true;
  CHECK(values(eval(g, {an, b})) == std::vector<double>{9, 10, 0, 0});

  g.nodes[0].attrs.fused_relu = false;
  Tensor big = make({2, 2}, DType::int8, {100, 100, -100, -100});
  Tensor hundreds = make({2, 2}, DType::int8, {100, 100, 100, 100});  // sums of +-20000
  CHECK(values(eval(g, {big, hundreds})) == std::vector<double>{127, 127, -128, -128});
}

TEST_CASE("bf16 gemm and batched matmul", "[unit]") {
  Graph g = one_op("{name: g, op: gemm, M: 2, N: 2, K: 2, dtype: bf16}");
  Tensor a = make({2, 2}, DType::bf16, {0.5, 1.5, 2, -1});
  Tensor b = make({2, 2}, DType::bf16, {1, 2, 3, 4});
  CHECK(values(eval(g, {a, b})) == std::vector<double>{5, 7, -1, 0});
  g.nodes[0].attrs.fused_relu = true;
  CHECK(values(eval(g, {a, b})) == std::vector<double>{5, 7, 0, 0});

  Graph m = one_op("{name: m, op: matmul, batch: 2, M: 1, N: 2, K: 2, dtype: bf16}");
  Tensor x = make({2, 1, 2}, DType::bf16, {1, 2, 3, 4});
  Tensor y = make({2, 2, 2}, DType::bf16, {1, 0, 0, 1, 1, 1, 1, -1});
  // batch 0: [1 2] * I = [1 2]; batch 1: [3 4] * [[1 1] [1 -1]] = [7 -1]
  CHECK(values(eval(m, {x, y})) == std::vector<double>{1, 2, 7, -1});
}

TEST_CASE("conv2d with padding, stride and groups", "[unit]") {
  Graph g = one_op(
      "{name: c, op: conv2d, C: 1, H: 3, W: 3, K: 1, R: 3, S: 3, pad: 1, requant: {shift: 0}}");
  Tensor x = make({1, 1, 3, 3}, DType::int8, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor w = make({1, 1, 3, 3}, DType::int8, {1, 1, 1, 1, 1, 1, 1, 1, 1});
  // Each output is the sum of the 3x3 neighbourhood inside the image.
  CHECK(values(eval(g, {x, w})) == std::vector<double>{12, 21, 16, 27, 45, 33, 24, 39, 28});

  Graph s = one_op(
      "{name: c, op: conv2d, C: 1, H: 3, W: 3, K: 1, R: 3, S: 3, stride: 2, pad: 1, requant: "
      "{shift: 0}}");
  CHECK(values(eval(s, {x, w})) == std::vector<double>{12, 16, 24, 28});

  // Asymmetric kernel without padding: a 1x2 kernel [1, -1] takes horizontal differences.
  Graph h =
      one_op("{name: c, op: conv2d, C: 1, H: 3, W: 3, K: 1, R: 1, S: 2, requant: {shift: 0}}");
  Tensor d = make({1, 1, 1, 2}, DType::int8, {1, -1});
  CHECK(values(eval(h, {x, d})) == std::vector<double>{-1, -1, -1, -1, -1, -1});

  // Groups: output channels 0,1 read input channel 0; 2,3 read input channel 1.
  Graph gr =
      one_op("{name: c, op: conv2d, C: 2, H: 1, W: 2, K: 4, R: 1, S: 1, groups: 2, dtype: bf16}");
  Tensor xg = make({1, 2, 1, 2}, DType::bf16, {1, 2, -1, 0.5});
  Tensor wg = make({4, 1, 1, 1}, DType::bf16, {1, 2, 3, 4});
  CHECK(values(eval(gr, {xg, wg})) == std::vector<double>{1, 2, 2, 4, -3, 1.5, -4, 2});

  // Depthwise, bf16, 2 input channels of 2x2 and a 2x2 kernel per channel.
  Graph dw =
      one_op("{name: c, op: conv2d, C: 2, H: 2, W: 2, K: 2, R: 2, S: 2, groups: 2, dtype: bf16}");
  Tensor xd = make({1, 2, 2, 2}, DType::bf16, {1, 2, 3, 4, 0.5, 0.5, 0.5, 0.5});
  Tensor wd = make({2, 1, 2, 2}, DType::bf16, {1, 0, 0, 1, 2, 2, 2, 2});
  CHECK(values(eval(dw, {xd, wd})) == std::vector<double>{5, 4});
}

TEST_CASE("pool: max and average, padding excluded", "[unit]") {
  Graph mx = one_op("{name: p, op: pool, C: 1, H: 4, W: 4, kernel: 2, type: max}");
  Tensor x =
      make({1, 1, 4, 4}, DType::int8, {1, 5, 2, 0, -3, 4, 7, 1, 0, 0, -1, -2, 9, -8, -3, -4});
  CHECK(values(eval(mx, {x})) == std::vector<double>{5, 7, 9, -1});

  // With padding, a max over negative values stays negative (padding is not a zero).
  Graph mp = one_op("{name: p, op: pool, C: 1, H: 2, W: 2, kernel: 2, stride: 1, pad: 1}");
  Tensor neg = make({1, 1, 2, 2}, DType::int8, {-5, -6, -7, -8});
  CHECK(values(eval(mp, {neg})) == std::vector<double>{-5, -5, -6, -5, -5, -6, -7, -7, -8});

  Graph avg =
      one_op("{name: p, op: pool, C: 1, H: 2, W: 2, kernel: 2, stride: 1, pad: 1, type: avg}");
  Tensor y = make({1, 1, 2, 2}, DType::int8, {1, 2, 3, 4});
  // Windows hold 1, 2 or 4 elements: 1, 1.5->2, 2, 2->2, 2.5->3, 3, 3, 3.5->4, 4.
  CHECK(values(eval(avg, {y})) == std::vector<double>{1, 2, 2, 2, 3, 3, 3, 4, 4});
  Tensor yn = make({1, 1, 2, 2}, DType::int8, {-1, -2, -3, -4});
  CHECK(values(eval(avg, {yn})) == std::vector<double>{-1, -2, -2, -2, -3, -3, -3, -4, -4});

  Graph avgb = one_op(
      "{name: p, op: pool, C: 1, H: 2, W: 2, kernel: 2, stride: 1, pad: 1, type: avg, dtype: "
      "bf16}");
  Tensor yb = make({1, 1, 2, 2}, DType::bf16, {1, 2, 3, 4});
  CHECK(values(eval(avgb, {yb})) == std::vector<double>{1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4});
}

TEST_CASE("elementwise ops", "[unit]") {
  Tensor a = make({4}, DType::int8, {100, -100, 3, -7});
  Tensor b = make({4}, DType::int8, {100, -100, 4, 2});
  CHECK(values(eval(one_op("{name: o, op: add, shape: [4]}"), {a, b})) ==
        std::vector<double>{127, -128, 7, -5});
  CHECK(values(eval(one_op("{name: o, op: mul, shape: [4], dtype: int8}"), {a, b})) ==
        std::vector<double>{127, 127, 12, -14});
  CHECK(values(eval(one_op("{name: o, op: relu, shape: [4]}"), {a})) ==
        std::vector<double>{100, 0, 3, 0});

  Tensor f = make({4}, DType::bf16, {-2, -0.5, 0.25, 3});
  Tensor g = make({4}, DType::bf16, {1, 1, 1, 1});
  CHECK(values(eval(one_op("{name: o, op: add, shape: [4], dtype: bf16}"), {f, g})) ==
        std::vector<double>{-1, 0.5, 1.25, 4});
  Tensor ge = eval(one_op("{name: o, op: gelu, shape: [4]}"), {f});
  Tensor si = eval(one_op("{name: o, op: silu, shape: [4]}"), {f});
  Tensor sg = eval(one_op("{name: o, op: sigmoid, shape: [4]}"), {f});
  for (int64_t i = 0; i < 4; ++i) {
    CHECK(ge.get(i) == bf16(numeric::gelu(float(f.get(i)))));
    CHECK(si.get(i) == bf16(numeric::silu(float(f.get(i)))));
    CHECK(sg.get(i) == bf16(numeric::sigmoid(float(f.get(i)))));
  }
  CHECK(ge.get(3) == Approx(2.996).epsilon(0.01));
  // 1 / (1 + e^2) = 0.1192, 1 / (1 + e^-3) = 0.9526 (bf16 keeps 8 significant bits)
  CHECK(sg.get(0) == Approx(0.1192).epsilon(0.004));
  CHECK(sg.get(3) == Approx(0.9526).epsilon(0.004));
}

TEST_CASE("softmax, layernorm and rmsnorm over the last axis", "[unit]") {
  Graph sm = one_op("{name: s, op: softmax, shape: [3, 4]}");
  Tensor x = make({3, 4}, DType::bf16, {1, 2, 3, 4, 0, 0, 0, 0, 100, 100, -100, 0});
  Tensor y = eval(sm, {x});
  for (int r = 0; r < 3; ++r) {
    double sum = 0;
    for (int j = 0; j < 4; ++j) sum += y.get(r * 4 + j);
    CHECK(sum == Approx(1.0).epsilon(0.01));
  }
  CHECK(y.get(0) < y.get(1));
  CHECK(y.get(4) == 0.25);  // a uniform row
  CHECK(y.get(8) == 0.5);   // large values do not overflow (the max is subtracted)
  CHECK(y.get(10) == 0.0);
  CHECK(y.get(0) == bf16(std::exp(-3.0) / (1 + std::exp(-1.0) + std::exp(-2.0) + std::exp(-3.0))));

  Graph ln = one_op("{name: n, op: layernorm, shape: [1, 4], eps: 1.0e-5}");
  Tensor row = make({1, 4}, DType::bf16, {1, 2, 3, 4});
  Tensor ones = make({4}, DType::bf16, {1, 1, 1, 1});
  Tensor zeros = make({4}, DType::bf16, {0, 0, 0, 0});
  Tensor twos = make({4}, DType::bf16, {2, 2, 2, 2});
  Tensor out = eval(ln, {row, ones, zeros});
  const double inv = 1 / std::sqrt(1.25 + 1e-5);  // mean 2.5, variance 1.25
  for (int j = 0; j < 4; ++j) CHECK(out.get(j) == bf16((j + 1 - 2.5) * inv));
  out = eval(ln, {row, twos, ones});
  for (int j = 0; j < 4; ++j) CHECK(out.get(j) == bf16((j + 1 - 2.5) * inv * 2 + 1));

  Graph rn = one_op("{name: n, op: rmsnorm, shape: [1, 2], eps: 1.0e-6}");
  Tensor r2 = make({1, 2}, DType::bf16, {3, 4});
  Tensor g2 = make({2}, DType::bf16, {1, 0.5});
  Tensor o2 = eval(rn, {r2, g2});
  const double inv_rms = 1 / std::sqrt(12.5 + 1e-6);
  CHECK(o2.get(0) == bf16(3 * inv_rms));
  CHECK(o2.get(1) == bf16(4 * inv_rms * 0.5));
}

TEST_CASE("attention: causal mask, uniform weights, grouped KV heads", "[unit]") {
  SECTION("causal with sq == skv: the first query sees only the first key") {
    Graph g = one_op("{name: a, op: attention, heads: 2, seq_q: 4, head_dim: 3, causal: true}");
    Tensor q = random_tensor({1, 2, 4, 3}, DType::bf16, 1);
    Tensor k = random_tensor({1, 2, 4, 3}, DType::bf16, 2);
    Tensor v = random_tensor({1, 2, 4, 3}, DType::bf16, 3);
    Tensor o = eval(g, {q, k, v});
    for (int h = 0; h < 2; ++h)
      for (int c = 0; c < 3; ++c) CHECK(o.get(h * 12 + c) == v.get(h * 12 + c));
    // The last query sees every key: not equal to V's last row in general.
    g.nodes[0].attrs.causal = false;
    Tensor full = eval(g, {q, k, v});
    CHECK(values(full) != values(o));
    for (int c = 0; c < 3; ++c) CHECK(full.get(9 + c) == o.get(9 + c));  // row 3 sees all keys
  }
  SECTION("equal scores give the mean of V") {
    Graph g = one_op("{name: a, op: attention, heads: 1, seq_q: 2, seq_kv: 4, head_dim: 2}");
    Tensor q = make({1, 1, 2, 2}, DType::bf16, {0, 0, 0, 0});
    Tensor k = random_tensor({1, 1, 4, 2}, DType::bf16, 5);
    Tensor v = make({1, 1, 4, 2}, DType::bf16, {1, 2, 3, 4, 5, 6, 7, 8});
    CHECK(values(eval(g, {q, k, v})) == std::vector<double>{4, 5, 4, 5});
  }
  SECTION("a hand-computed case, P rounded to bf16") {
    Graph g = one_op("{name: a, op: attention, heads: 1, seq_q: 1, seq_kv: 2, head_dim: 1}");
    Tensor q = make({1, 1, 1, 1}, DType::bf16, {1});
    Tensor k = make({1, 1, 2, 1}, DType::bf16, {0, 2});
    Tensor v = make({1, 1, 2, 1}, DType::bf16, {1, 3});
    // scale 1/sqrt(1): S = [0, 2]; P = [e^-2, 1] / (e^-2 + 1) (max subtracted), each
    // rounded to bf16; O = P0 * 1 + P1 * 3.
    const double em2 = std::exp(-2.0);
    CHECK(eval(g, {q, k, v}).get(0) == bf16(bf16(em2 / (em2 + 1)) + bf16(1 / (em2 + 1)) * 3));
    g.nodes[0].attrs.scale = 0.5;  // S = [0, 1]
    const double em1 = std::exp(-1.0);
    CHECK(eval(g, {q, k, v}).get(0) == bf16(bf16(em1 / (em1 + 1)) + bf16(1 / (em1 + 1)) * 3));
  }
  SECTION("causal with sq < skv: query i sees keys up to i + skv - sq") {
    Graph g = one_op(
        "{name: a, op: attention, heads: 1, seq_q: 1, seq_kv: 3, head_dim: 1, causal: true}");
    Tensor q = make({1, 1, 1, 1}, DType::bf16, {0});
    Tensor k = make({1, 1, 3, 1}, DType::bf16, {0, 0, 0});
    Tensor v = make({1, 1, 3, 1}, DType::bf16, {3, 6, 9});
    CHECK(eval(g, {q, k, v}).get(0) == 6.0);  // the single query sees all 3 keys
  }
  SECTION("grouped KV heads: both query heads read the one KV head") {
    Graph g = one_op(
        "{name: a, op: attention, heads: 2, kv_heads: 1, seq_q: 3, head_dim: 4, causal: true}");
    Tensor q1 = random_tensor({1, 1, 3, 4}, DType::bf16, 9);
    Tensor q = Tensor({1, 2, 3, 4}, DType::bf16);
    q.data = q1.data;
    q.data.insert(q.data.end(), q1.data.begin(), q1.data.end());
    Tensor k = random_tensor({1, 1, 3, 4}, DType::bf16, 10);
    Tensor v = random_tensor({1, 1, 3, 4}, DType::bf16, 11);
    std::vector<double> o = values(eval(g, {q, k, v}));
    CHECK(std::vector<double>(o.begin(), o.begin() + 12) ==
          std::vector<double>(o.begin() + 12, o.end()));
  }
}

TEST_CASE("reshape keeps the row-major order, transpose moves elements by perm", "[unit]") {
  // (2, 3) -> (3, 2): the same six values in order.
  Graph r = one_op("{name: r, op: reshape, shape: [2, 3], new_shape: [3, -1], dtype: fp32}");
  Tensor x = make({2, 3}, DType::fp32, {1.5, -2, 3, 4, 5.25, -6});
  Tensor y = eval(r, {x});
  CHECK(y.shape == std::vector<int64_t>{3, 2});
  CHECK(values(y) == values(x));

  // 2-D: out[j][i] = x[i][j].
  Graph t = one_op("{name: t, op: transpose, shape: [2, 3], perm: [1, 0], dtype: int8}");
  Tensor a = make({2, 3}, DType::int8, {1, 2, 3, 4, 5, 6});
  Tensor at = eval(t, {a});
  CHECK(at.shape == std::vector<int64_t>{3, 2});
  CHECK(values(at) == std::vector<double>{1, 4, 2, 5, 3, 6});

  // The attention pattern (b, s, h, d) -> (b, h, s, d): element (b, s, h, d) holds the code
  // 1000 b + 100 s + 10 h + d.
  Graph t4 =
      one_op("{name: t, op: transpose, shape: [2, 3, 2, 2], perm: [0, 2, 1, 3], dtype: fp32}");
  std::vector<double> codes;
  for (int b = 0; b < 2; ++b)
    for (int s = 0; s < 3; ++s)
      for (int h = 0; h < 2; ++h)
        for (int d = 0; d < 2; ++d) codes.push_back(1000 * b + 100 * s + 10 * h + d);
  Tensor q = make({2, 3, 2, 2}, DType::fp32, codes);
  Tensor qt = eval(t4, {q});
  REQUIRE(qt.shape == std::vector<int64_t>{2, 2, 3, 2});
  std::vector<double> want;
  for (int b = 0; b < 2; ++b)
    for (int h = 0; h < 2; ++h)
      for (int s = 0; s < 3; ++s)
        for (int d = 0; d < 2; ++d) want.push_back(1000 * b + 100 * s + 10 * h + d);
  CHECK(values(qt) == want);

  // A rank-3 rotation (a, b, c) -> (c, a, b): out[k][i][j] = x[i][j][k].
  Graph t3 = one_op("{name: t, op: transpose, shape: [2, 2, 3], perm: [2, 0, 1], dtype: bf16}");
  Tensor z = make({2, 2, 3}, DType::bf16, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  Tensor zt = eval(t3, {z});
  REQUIRE(zt.shape == std::vector<int64_t>{3, 2, 2});
  CHECK(values(zt) == std::vector<double>{0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11});
  CHECK(zt.data.size() == z.data.size());
}

TEST_CASE("concat slice gather and kv_append move elements and rope rotates the halves", "[unit]") {
  // concat along dim 1 of (2, 1, 2) and (2, 2, 2): each row block in turn.
  Graph c = one_op("{name: c, op: concat, shape: [2, 1, 2], sizes: [1, 2], axis: 1, dtype: fp32}");
  Tensor c0 = make({2, 1, 2}, DType::fp32, {1, 2, 3, 4});
  Tensor c1 = make({2, 2, 2}, DType::fp32, {5, 6, 7, 8, 9, 10, 11, 12});
  Tensor cy = eval(c, {c0, c1});
  REQUIRE(cy.shape == std::vector<int64_t>{2, 3, 2});
  CHECK(values(cy) == std::vector<double>{1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12});

  // slice of the last dim, python-like: [-4:] of 6 with step 2 takes elements 2 and 4.
  Graph sl = one_op("{name: s, op: slice, shape: [2, 6], axis: -1, start: -4, step: 2}");
  CHECK(sl.nodes[0].attrs.start == 2);
  CHECK(sl.nodes[0].attrs.end == 6);
  Tensor sx = make({2, 6}, DType::bf16, {0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15});
  CHECK(values(eval(sl, {sx})) == std::vector<double>{2, 4, 12, 14});

  // gather: row ids[i] of the table; an id outside the table is refused.
  Graph g = one_op("{name: e, op: gather, shape: [3], vocab: 4, dim: 2}");
  Tensor table = make({4, 2}, DType::bf16, {0, 1, 10, 11, 20, 21, 30, 31});
  Tensor ids = make({3}, DType::int32, {2, 0, 2});
  CHECK(values(eval(g, {table, ids})) == std::vector<double>{20, 21, 0, 1, 20, 21});
  Tensor bad = make({3}, DType::int32, {1, 4, 0});
  CHECK_THROWS_WITH(eval(g, {table, bad}),
                    Catch::Contains("id 4 (element 1 of 'e.ids') is outside the table's 4 rows"));

  // kv_append: each head's cached rows, then its new one.
  Graph kv = one_op("{name: k, op: kv_append, shape: [2, 2, 1], new: 1, dtype: fp32}");
  Tensor cache = make({2, 2, 1}, DType::fp32, {1, 2, 3, 4});
  Tensor fresh = make({2, 1, 1}, DType::fp32, {9, 8});
  CHECK(values(eval(kv, {cache, fresh})) == std::vector<double>{1, 2, 9, 3, 4, 8});

  // rope: row i at position pos + i; (x1, x2) by the angle pos + i (theta^0 = 1 for j = 0).
  Graph r = one_op("{name: r, op: rope, shape: [2, 2], pos: 3, dtype: bf16}");
  const RopeTables tab = rope_tables(2, 1, r.nodes[0].attrs);
  CHECK(tab.cos[1] == Approx(std::cos(4.0)));
  CHECK(tab.sin[0] == Approx(std::sin(3.0)));
  const std::vector<Tensor> init = initial_values(r, 7);
  const Tensor& cs = init.at(size_t(r.nodes[0].inputs[1]));
  const Tensor& sn = init.at(size_t(r.nodes[0].inputs[2]));
  CHECK(cs.get(1) == bf16(std::cos(4.0)));  // the tables, rounded to the op's dtype
  Tensor rx = make({2, 2}, DType::bf16, {1, 0, 0.5, 0.25});
  Tensor ry = eval(r, {rx, cs, sn});
  CHECK(ry.get(0) == bf16(cs.get(0)));  // x1 cos - x2 sin with x2 = 0
  CHECK(ry.get(1) == bf16(sn.get(0)));  // x2 cos + x1 sin
  CHECK(ry.get(2) == bf16(0.5 * cs.get(1) - 0.25 * sn.get(1)));
  CHECK(ry.get(3) == bf16(0.25 * cs.get(1) + 0.5 * sn.get(1)));
}

TEST_CASE("a gather's generated ids lie in its table", "[unit]") {
  Graph g = one_op("{name: e, op: gather, shape: [64], vocab: 5, dim: 3}");
  const std::vector<Tensor> init = initial_values(g, 1);
  const Tensor& ids = init.at(size_t(g.nodes[0].inputs[1]));
  REQUIRE(ids.dtype == DType::int32);
  std::vector<bool> seen(5, false);
  for (int64_t i = 0; i < ids.elements(); ++i) {
    REQUIRE(ids.get(i) >= 0);
    REQUIRE(ids.get(i) < 5);
    seen[size_t(ids.get(i))] = true;
  }
  CHECK(seen == std::vector<bool>(5, true));
}

TEST_CASE("reference_eval rejects what it cannot compute", "[unit]") {
  // A graph built by hand (the frontend would refuse it): softmax on int8.
  Graph g;
  g.name = "hand";
  g.tensors.resize(2);
  g.tensors[0].name = "x";
  g.tensors[0].shape = {2, 2};
  g.tensors[1].name = "y";
  g.tensors[1].shape = {2, 2};
  Node n;
  n.name = "sm";
  n.kind = OpKind::softmax;
  n.inputs = {0};
  n.outputs = {1};
  g.nodes.push_back(n);
  Tensor x({2, 2}, DType::int8);
  CHECK_THROWS_WITH(reference_eval(g, g.nodes[0], {&x}),
                    Catch::Contains("node 'sm' (softmax)") && Catch::Contains("no int8 softmax"));

  Graph r = one_op("{name: r, op: relu, shape: [4]}");
  Tensor wrong({5}, DType::int8);
  CHECK_THROWS_WITH(reference_eval(r, r.nodes[0], {&wrong}),
                    Catch::Contains("t.yaml:3") && Catch::Contains("node 'r' (relu)") &&
                        Catch::Contains("does not match tensor 'r.in0'"));
  CHECK_THROWS_WITH(reference_eval(r, r.nodes[0], {}), Catch::Contains("expected 1"));
}

TEST_CASE("reference_run: seeded inputs and params, norm params near 1 and 0", "[unit]") {
  Graph g = parse_workload(R"(name: run
inputs: [{name: x, shape: [8, 16], dtype: bf16}]
ops:
  - {name: ln, op: layernorm, inputs: [x]}
  - {name: fc, op: gemm, inputs: [ln.out], N: 4}
)",
                           "run.yaml");
  std::vector<Tensor> init = initial_values(g, 7);
  std::vector<Tensor> run = reference_run(g, 7);
  REQUIRE(init.size() == g.tensors.size());
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    const TensorInfo& info = g.tensors[t];
    INFO(info.name);
    CHECK(run[t].shape == info.shape);
    CHECK(run[t].dtype == info.dtype);
    bool generated = info.is_param || info.name == "x";
    CHECK(init[t].data.empty() == !generated);
    if (generated) CHECK(init[t].data == run[t].data);
  }
  const int x = g.inputs.at(0);
  CHECK(init[size_t(x)].data == random_tensor({8, 16}, DType::bf16, 7 * 1000003ull + x).data);
  int gamma = g.nodes[0].inputs[1], beta = g.nodes[0].inputs[2];
  for (double v : values(init[size_t(gamma)])) {
    CHECK(v >= 0.75);
    CHECK(v <= 1.25);
  }
  for (double v : values(init[size_t(beta)])) CHECK(std::fabs(v) <= 0.25);

  std::vector<Tensor> again = reference_run(g, 7), other = reference_run(g, 8);
  int out = g.outputs.at(0);
  CHECK(again[size_t(out)].data == run[size_t(out)].data);
  CHECK(other[size_t(out)].data != run[size_t(out)].data);
}

TEST_CASE("the small example workloads run through the reference", "[unit]") {
  for (const char* name : {"quickstart", "small-cnn", "transformer-block"}) {
    INFO(name);
    Graph g =
        load_workload(std::string(XPUSIM_SOURCE_DIR) + "/workloads/examples/" + name + ".yaml");
    std::vector<Tensor> v = reference_run(g, 1);
    for (int id : g.outputs) {
      std::vector<double> out = values(v[size_t(id)]);
      double lo = out[0], hi = out[0];
      for (double e : out) {
        REQUIRE(std::isfinite(e));
        lo = std::min(lo, e);
        hi = std::max(hi, e);
      }
      CHECK(lo < hi);  // not degenerate (all saturated or all zero)
    }
  }
}

TEST_CASE("compare: exact integers, bf16 within tolerance", "[unit]") {
  Tensor a = make({4}, DType::int8, {1, 2, 3, 4});
  Tensor b = make({4}, DType::int8, {1, 2, 5, 4});
  CHECK(compare(a, a).ok);
  CompareResult r = compare(b, a);
  CHECK_FALSE(r.ok);
  CHECK(r.mismatches == 1);
  CHECK(r.first_bad == 2);
  CHECK(r.max_abs_err == 2);
  CHECK_THAT(r.message, Catch::Contains("1 of 4 elements differ") &&
                            Catch::Contains("index 2: got 5, want 3"));

  // bf16: atol = 2^-6 * max(1, max|want|) = 2^-6 * 4, rtol = 2^-6.
  Tensor want = make({3}, DType::bf16, {4, -2, 0});
  Tensor near = make({3}, DType::bf16, {4.0625, -2.03125, 0.0625});
  CHECK(compare(near, want).ok);
  Tensor far = make({3}, DType::bf16, {4, -2, 0.25});
  CompareResult rf = compare(far, want);
  CHECK_FALSE(rf.ok);
  CHECK(rf.first_bad == 2);
  CHECK(rf.max_abs_err == 0.25);
  CHECK_THAT(rf.message, Catch::Contains("tolerance"));

  Tensor nan = make({3}, DType::bf16, {4, -2, std::nan("")});
  CHECK_FALSE(compare(nan, want).ok);
  CHECK(compare(nan, nan).ok);

  CompareResult rs = compare(make({2, 2}, DType::int8, {1, 2, 3, 4}), a);
  CHECK_FALSE(rs.ok);
  CHECK_THAT(rs.message, Catch::Contains("[2, 2]") && Catch::Contains("[4]"));
  CHECK_FALSE(compare(make({4}, DType::bf16, {1, 2, 3, 4}), a).ok);
}
