// The YAML workload frontend and the GraphIR: both forms, shapes, MAC counts, every kind of
// bad input (file:line and the expected thing in the message), verify() and to_yaml().
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "compiler/ir/frontend.h"
#include "compiler/ir/ir.h"

using namespace xpusim;
using namespace xpusim::compiler;

namespace {

const char* const kFlatExample = R"(name: my-workload
ops:
  - {name: g0, op: gemm, M: 64, N: 64, K: 64, dtype: int8}
  - {name: c1, op: conv2d, N: 1, C: 3, H: 224, W: 224, K: 64, R: 7, S: 7, stride: 2, pad: 3, dtype: int8}
  - {name: s0, op: softmax, shape: [128, 128], dtype: bf16}
  - {name: a0, op: attention, batch: 1, heads: 12, seq_q: 128, seq_kv: 128, head_dim: 64, causal: false, dtype: bf16}
)";

const std::vector<std::string> kExamples = {"quickstart",        "small-cnn", "resnet18-convs",
                                            "transformer-block", "gemm-1000", "mha-block"};

std::string example_path(const std::string& name) {
  return std::string(XPUSIM_SOURCE_DIR) + "/workloads/examples/" + name + ".yaml";
}

const TensorInfo& tensor_named(const Graph& g, const std::string& name) {
  for (const TensorInfo& t : g.tensors)
    if (t.name == name) return t;
  throw std::runtime_error("no tensor " + name);
}

const Node& node_named(const Graph& g, const std::string& name) {
  for (const Node& n : g.nodes)
    if (n.name == name) return n;
  throw std::runtime_error("no node " + name);
}

// The message of the Error that parsing `text` as "bad.yaml" throws.
std::string error_of(const std::string& text) {
  try {
    parse_workload(text, "bad.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A workload whose third line is `op`.
std::string one_op(const std::string& op) {
  return "name: bad\nops:\n  - " + op + "\n";
}

void require_same_graph(const Graph& a, const Graph& b) {
  REQUIRE(a.name == b.name);
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (size_t t = 0; t < a.tensors.size(); ++t) {
    INFO("tensor " << a.tensors[t].name);
    CHECK(a.tensors[t].name == b.tensors[t].name);
    CHECK(a.tensors[t].shape == b.tensors[t].shape);
    CHECK(a.tensors[t].dtype == b.tensors[t].dtype);
    CHECK(a.tensors[t].is_param == b.tensors[t].is_param);
  }
  REQUIRE(a.nodes.size() == b.nodes.size());
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node &x = a.nodes[i], &y = b.nodes[i];
    INFO("node " << x.name);
    CHECK(x.name == y.name);
    CHECK(x.kind == y.kind);
    CHECK(x.inputs == y.inputs);
    CHECK(x.outputs == y.outputs);
    CHECK(x.attrs.kernel_h == y.attrs.kernel_h);
    CHECK(x.attrs.kernel_w == y.attrs.kernel_w);
    CHECK(x.attrs.stride_h == y.attrs.stride_h);
    CHECK(x.attrs.stride_w == y.attrs.stride_w);
    CHECK(x.attrs.pad_h == y.attrs.pad_h);
    CHECK(x.attrs.pad_w == y.attrs.pad_w);
    CHECK(x.attrs.groups == y.attrs.groups);
    CHECK(x.attrs.pool_max == y.attrs.pool_max);
    CHECK(x.attrs.eps == y.attrs.eps);
    CHECK(x.attrs.causal == y.attrs.causal);
    CHECK(x.attrs.scale == y.attrs.scale);
    CHECK(x.attrs.requant_multiplier == y.attrs.requant_multiplier);
    CHECK(x.attrs.requant_shift == y.attrs.requant_shift);
    CHECK(x.attrs.fused_relu == y.attrs.fused_relu);
    CHECK(x.attrs.shape == y.attrs.shape);
    CHECK(x.attrs.perm == y.attrs.perm);
  }
  CHECK(a.inputs == b.inputs);
  CHECK(a.outputs == b.outputs);
}

}  // namespace

TEST_CASE("flat example loads with the right shapes, dtypes and MACs", "[unit]") {
  Graph g = parse_workload(kFlatExample, "flat.yaml");
  CHECK(g.name == "my-workload");
  CHECK(g.file == "flat.yaml");
  REQUIRE(g.nodes.size() == 4);

  const Node& g0 = node_named(g, "g0");
  CHECK(g0.kind == OpKind::gemm);
  CHECK(tensor_named(g, "g0.in0").shape == std::vector<int64_t>{64, 64});
  CHECK(tensor_named(g, "g0.w").shape == std::vector<int64_t>{64, 64});
  CHECK(tensor_named(g, "g0.w").is_param);
  CHECK(tensor_named(g, "g0.out").shape == std::vector<int64_t>{64, 64});
  CHECK(tensor_named(g, "g0.out").dtype == DType::int8);
  CHECK(node_macs(g, g0) == 64 * 64 * 64);
  // Default requant: shift = lround(log2(sqrt(64) * 127^2 / 3 / 32)) = lround(10.39) = 10.
  CHECK(g0.attrs.requant_multiplier == 1);
  CHECK(g0.attrs.requant_shift == 10);

  const Node& c1 = node_named(g, "c1");
  CHECK(tensor_named(g, "c1.in0").shape == std::vector<int64_t>{1, 3, 224, 224});
  CHECK(tensor_named(g, "c1.w").shape == std::vector<int64_t>{64, 3, 7, 7});
  CHECK(tensor_named(g, "c1.out").shape == std::vector<int64_t>{1, 64, 112, 112});
  CHECK(c1.attrs.stride_h == 2);
  CHECK(c1.attrs.pad_w == 3);
  CHECK(node_macs(g, c1) == int64_t(64) * 112 * 112 * 3 * 7 * 7);
  CHECK(c1.attrs.requant_shift == 11);  // Kred = 147: lround(log2(2037.1)) = 11

  const Node& s0 = node_named(g, "s0");
  CHECK(tensor_named(g, "s0.out").shape == std::vector<int64_t>{128, 128});
  CHECK(tensor_named(g, "s0.out").dtype == DType::bf16);
  CHECK(node_macs(g, s0) == 0);

  const Node& a0 = node_named(g, "a0");
  CHECK(tensor_named(g, "a0.in0").shape == std::vector<int64_t>{1, 12, 128, 64});
  CHECK(tensor_named(g, "a0.in1").shape == std::vector<int64_t>{1, 12, 128, 64});
  CHECK(tensor_named(g, "a0.out").shape == std::vector<int64_t>{1, 12, 128, 64});
  CHECK(node_macs(g, a0) == int64_t(12) * 128 * 128 * 64 * 2);
  CHECK_FALSE(a0.attrs.causal);

  CHECK(g.inputs.size() == 6);  // g0.in0, c1.in0, s0.in0, a0.in0..2
  CHECK(g.outputs.size() == 4);
  for (int id : g.outputs) CHECK(g.tensor(id).name.find(".out") != std::string::npos);
  verify(g);
}

TEST_CASE("flat defaults and the other op kinds", "[unit]") {
  Graph g = parse_workload(R"(name: kinds
ops:
  - {name: mm, op: matmul, batch: 2, M: 8, N: 4, K: 16}
  - {name: p, op: pool, C: 4, H: 9, W: 9, kernel: 3, type: avg}
  - {name: dw, op: conv2d, C: 8, H: 8, W: 8, K: 8, R: 3, S: 3, groups: 8, stride_h: 2, pad_w: 1}
  - {name: ln, op: layernorm, shape: [4, 32], eps: 1.0e-6}
  - {name: rn, op: rmsnorm, shape: [4, 32]}
  - {name: ad, op: add, shape: [3, 5]}
  - {name: mu, op: mul, shape: [3, 5]}
  - {name: gq, op: attention, heads: 4, kv_heads: 2, seq_q: 8, seq_kv: 16, head_dim: 16, causal: true, scale: 0.5}
  - {name: g, op: gemm, M: 4, N: 4, K: 4, dtype: int8, requant: {multiplier: 3, shift: 2}, fused_relu: true}
)",
                           "kinds.yaml");
  CHECK(tensor_named(g, "mm.in1").shape == std::vector<int64_t>{2, 16, 4});
  CHECK_FALSE(tensor_named(g, "mm.in1").is_param);
  CHECK(tensor_named(g, "mm.out").shape == std::vector<int64_t>{2, 8, 4});
  CHECK(node_macs(g, node_named(g, "mm")) == 2 * 8 * 4 * 16);

  const Node& p = node_named(g, "p");
  CHECK(tensor_named(g, "p.out").shape == std::vector<int64_t>{1, 4, 3, 3});  // stride = kernel
  CHECK_FALSE(p.attrs.pool_max);
  CHECK(tensor_named(g, "p.out").dtype == DType::int8);

  const Node& dw = node_named(g, "dw");
  CHECK(tensor_named(g, "dw.w").shape == std::vector<int64_t>{8, 1, 3, 3});
  CHECK(tensor_named(g, "dw.out").shape == std::vector<int64_t>{1, 8, 3, 8});
  CHECK(node_macs(g, dw) == 8 * 3 * 8 * 1 * 9);

  CHECK(node_named(g, "ln").attrs.eps == 1e-6);
  CHECK(tensor_named(g, "ln.gamma").shape == std::vector<int64_t>{32});
  CHECK(tensor_named(g, "ln.beta").is_param);
  CHECK(node_named(g, "rn").inputs.size() == 2);
  CHECK(tensor_named(g, "ad.out").dtype == DType::int8);  // add defaults to int8
  CHECK(tensor_named(g, "mu.out").dtype == DType::bf16);  // mul to bf16

  const Node& gq = node_named(g, "gq");
  CHECK(tensor_named(g, "gq.in1").shape == std::vector<int64_t>{1, 2, 16, 16});
  CHECK(gq.attrs.causal);
  CHECK(gq.attrs.scale == 0.5);
  AttentionDims d = attention_dims(g, gq);
  CHECK(d.heads == 4);
  CHECK(d.kv_heads == 2);
  CHECK(node_macs(g, gq) == 4 * 8 * 16 * 16 * 2);

  const Node& gm = node_named(g, "g");
  CHECK(gm.attrs.requant_multiplier == 3);
  CHECK(gm.attrs.requant_shift == 2);
  CHECK(gm.attrs.fused_relu);
}

TEST_CASE("chained form builds a small CNN with inferred shapes", "[unit]") {
  Graph g = parse_workload(R"(name: cnn
inputs:
  - {name: image, shape: [2, 3, 32, 32], dtype: int8}
ops:
  - {name: conv1, op: conv2d, inputs: [image], K: 16, R: 3, S: 3, pad: 1}
  - {name: relu1, op: relu, inputs: [conv1.out], output: act1}
  - {name: pool1, op: pool, inputs: [act1], kernel: 2}
  - {name: conv2, op: conv2d, inputs: [pool1.out], K: 32, R: 3, S: 3, stride: 2}
  - {name: fc, op: gemm, inputs: [conv2.out], N: 10, output: logits}
)",
                           "cnn.yaml");
  CHECK(tensor_named(g, "conv1.w").shape == std::vector<int64_t>{16, 3, 3, 3});
  CHECK(tensor_named(g, "conv1.out").shape == std::vector<int64_t>{2, 16, 32, 32});
  CHECK(tensor_named(g, "act1").shape == std::vector<int64_t>{2, 16, 32, 32});
  CHECK(tensor_named(g, "pool1.out").shape == std::vector<int64_t>{2, 16, 16, 16});
  // (16 - 3) / 2 + 1 = 7
  CHECK(tensor_named(g, "conv2.out").shape == std::vector<int64_t>{2, 32, 7, 7});
  // The gemm flattens (2, 32, 7, 7) to (2, 1568).
  CHECK(tensor_named(g, "fc.w").shape == std::vector<int64_t>{32 * 7 * 7, 10});
  CHECK(tensor_named(g, "logits").shape == std::vector<int64_t>{2, 10});
  MatmulDims d = matmul_dims(g, node_named(g, "fc"));
  CHECK(d.m == 2);
  CHECK(d.k == 1568);
  CHECK(d.n == 10);
  REQUIRE(g.inputs.size() == 1);
  CHECK(g.tensor(g.inputs[0]).name == "image");
  REQUIRE(g.outputs.size() == 1);
  CHECK(g.tensor(g.outputs[0]).name == "logits");
  CHECK(node_named(g, "conv1").loc.str() == "cnn.yaml:5:5");
}

TEST_CASE("chained matmul, norms and attention", "[unit]") {
  Graph g = parse_workload(R"(name: chained
inputs:
  - {name: a, shape: [2, 8, 16], dtype: bf16}
  - {name: b, shape: [2, 16, 4], dtype: bf16}
  - {name: q, shape: [8, 32], dtype: bf16}
ops:
  - {name: mm2, op: matmul, inputs: [a, b]}
  - {name: mm1, op: matmul, inputs: [a], N: 6}
  - {name: ln, op: rmsnorm, inputs: [q], eps: 0.001}
  - {name: att, op: attention, inputs: [ln.out, q, q], causal: true}
  - {name: sm, op: softmax, inputs: [mm2.out]}
)",
                           "chained.yaml");
  CHECK(tensor_named(g, "mm2.out").shape == std::vector<int64_t>{2, 8, 4});
  CHECK(tensor_named(g, "mm1.w").shape == std::vector<int64_t>{2, 16, 6});
  CHECK(tensor_named(g, "mm1.w").is_param);
  CHECK(tensor_named(g, "att.out").shape == std::vector<int64_t>{8, 32});
  AttentionDims d = attention_dims(g, node_named(g, "att"));
  CHECK(d.batch == 1);
  CHECK(d.heads == 1);
  CHECK(d.seq_q == 8);
  CHECK(d.head_dim == 32);
  CHECK(node_macs(g, node_named(g, "att")) == 8 * 8 * 32 * 2);
  // Graph inputs get their ids in the order of first use.
  REQUIRE(g.inputs.size() == 3);
  CHECK(g.tensor(g.inputs[2]).name == "q");
}

TEST_CASE("reshape and transpose, chained and flat", "[unit]") {
  Graph g = parse_workload(R"(name: heads
inputs:
  - {name: x, shape: [6, 32], dtype: fp16}
ops:
  - {name: split, op: reshape, inputs: [x], shape: [2, 3, -1, 8]}
  - {name: bhsd, op: transpose, inputs: [split.out], perm: [0, 2, 1, 3]}
  - {name: t2, op: transpose, shape: [5, 7], perm: [1, 0], dtype: int8}
  - {name: r2, op: reshape, shape: [4, 6], new_shape: [-1], dtype: fp32}
)",
                           "heads.yaml");
  const Node& split = node_named(g, "split");
  CHECK(split.attrs.shape == std::vector<int64_t>{2, 3, 4, 8});  // the -1 inferred
  CHECK(tensor_named(g, "split.out").shape == std::vector<int64_t>{2, 3, 4, 8});
  CHECK(tensor_named(g, "bhsd.out").shape == std::vector<int64_t>{2, 4, 3, 8});
  CHECK(tensor_named(g, "bhsd.out").dtype == DType::fp16);
  // The flat forms generate their input from `shape`.
  CHECK(tensor_named(g, "t2.in0").shape == std::vector<int64_t>{5, 7});
  CHECK(tensor_named(g, "t2.out").shape == std::vector<int64_t>{7, 5});
  CHECK(tensor_named(g, "r2.in0").shape == std::vector<int64_t>{4, 6});
  CHECK(tensor_named(g, "r2.out").shape == std::vector<int64_t>{24});
  CHECK(tensor_named(g, "r2.out").dtype == DType::fp32);
  for (const Node& n : g.nodes) CHECK(node_macs(g, n) == 0);
  // The printed graph names the resolved shape and the perm, and loads back the same.
  const std::string y = to_yaml(g);
  CHECK_THAT(y,
             Catch::Contains("op: reshape, inputs: [x], output: split.out, shape: [2, 3, 4, 8]"));
  CHECK_THAT(y, Catch::Contains(
                    "op: transpose, inputs: [split.out], output: bhsd.out, perm: [0, 2, 1, 3]"));
  require_same_graph(g, parse_workload(y, "printed.yaml"));
}

TEST_CASE("reshape and transpose errors name the place and the rule", "[unit]") {
  const std::string head = "name: bad\ninputs: [{name: x, shape: [4, 6], dtype: bf16}]\nops:\n";
  auto chained = [&](const std::string& op) { return error_of(head + "  - " + op + "\n"); };
  SECTION("element count mismatch") {
    CHECK_THAT(chained("{name: r, op: reshape, inputs: [x], shape: [5, 5]}"),
               Catch::StartsWith("bad.yaml:4:48: op 'r' (reshape, chained): 'shape' [5, 5] cannot "
                                 "hold the 24 elements of the input (it has 25)"));
    CHECK_THAT(chained("{name: r, op: reshape, inputs: [x], shape: [-1, 5]}"),
               Catch::StartsWith("bad.yaml:4:48: op 'r' (reshape, chained): 'shape' [-1, 5] "
                                 "cannot hold the 24 elements") &&
                   Catch::Contains("do not divide them"));
    CHECK_THAT(error_of(one_op("{name: r, op: reshape, shape: [3, 4], new_shape: [5, 2]}")),
               Catch::StartsWith("bad.yaml:3:54: op 'r' (reshape): 'new_shape' [5, 2] cannot hold "
                                 "the 12 elements"));
  }
  SECTION("two dims of -1") {
    CHECK_THAT(
        chained("{name: r, op: reshape, inputs: [x], shape: [-1, 2, -1]}"),
        Catch::StartsWith("bad.yaml:4:56: op 'r' (reshape, chained): 'shape' has two dims of "
                          "-1 (dims 0 and 2); at most one is inferred"));
  }
  SECTION("a dim of 0 or below -1") {
    CHECK_THAT(chained("{name: r, op: reshape, inputs: [x], shape: [24, 0]}"),
               Catch::StartsWith("bad.yaml:4:53: op 'r' (reshape, chained): 'shape' dim 1 is 0"));
    CHECK_THAT(chained("{name: r, op: reshape, inputs: [x], shape: [-2, 12]}"),
               Catch::StartsWith("bad.yaml:4:48:") && Catch::Contains("integers >= -1"));
  }
  SECTION("missing shape") {
    CHECK_THAT(
        chained("{name: r, op: reshape, inputs: [x]}"),
        Catch::StartsWith("bad.yaml:4:5:") && Catch::Contains("missing required key 'shape'"));
  }
  SECTION("bad perm") {
    CHECK_THAT(chained("{name: t, op: transpose, inputs: [x], perm: [0, 0]}"),
               Catch::StartsWith("bad.yaml:4:49: op 't' (transpose, chained): 'perm' [0, 0] must "
                                 "hold each of 0..1 once (the input has rank 2)"));
    CHECK_THAT(chained("{name: t, op: transpose, inputs: [x], perm: [1, 2]}"),
               Catch::StartsWith("bad.yaml:4:49:") && Catch::Contains("each of 0..1 once"));
    CHECK_THAT(chained("{name: t, op: transpose, inputs: [x], perm: [2, 1, 0]}"),
               Catch::StartsWith("bad.yaml:4:49:") && Catch::Contains("(the input has rank 2)"));
    CHECK_THAT(chained("{name: t, op: transpose, inputs: [x], perm: [1, -1]}"),
               Catch::StartsWith("bad.yaml:4:49:") &&
                   Catch::Contains("'perm' must be a non-empty list of non-negative integers"));
  }
  SECTION("the flat keys are not allowed chained") {
    CHECK_THAT(chained("{name: r, op: reshape, inputs: [x], shape: [24], new_shape: [24]}"),
               Catch::StartsWith("bad.yaml:4:") && Catch::Contains("unknown key 'new_shape'"));
  }
  SECTION("verify checks the attributes too") {
    Graph g = parse_workload(head +
                                 "  - {name: t, op: transpose, inputs: [x], perm: [1, 0]}\n"
                                 "  - {name: r, op: reshape, inputs: [t.out], shape: [24]}\n",
                             "v.yaml");
    g.nodes[0].attrs.perm = {1, 1};
    CHECK_THROWS_WITH(verify(g), Catch::Contains("perm [1, 1] must be a permutation of 0..1"));
    g.nodes[0].attrs.perm = {1, 0};
    g.nodes[1].attrs.shape = {5, 5};
    CHECK_THROWS_WITH(verify(g), Catch::Contains("shape [5, 5] has 25 elements"));
  }
}

TEST_CASE("the decoder ops in chained and flat forms and their errors", "[unit]") {
  Graph g = parse_workload(R"(name: dec
inputs:
  - {name: ids, shape: [2, 3], dtype: int32}
  - {name: cache, shape: [1, 2, 5, 8], dtype: bf16}
  - {name: x, shape: [1, 2, 1, 8], dtype: bf16}
ops:
  - {name: e, op: gather, inputs: [ids], vocab: 10, dim: 8}
  - {name: cat, op: concat, inputs: [e.out, e.out], axis: -2}
  - {name: s, op: slice, inputs: [cat.out], axis: 1, start: 1, end: 100, step: 2}
  - {name: r, op: rope, inputs: [x], pos: 5, theta: 500000}
  - {name: kv, op: kv_append, inputs: [cache, r.out]}
  - {name: fc, op: concat, shape: [4, 2], sizes: [3, 1], axis: 0, dtype: int8}
  - {name: fs, op: slice, shape: [7], end: -2}
  - {name: fg, op: gather, shape: [4], vocab: 3, dim: 2, dtype: fp16}
  - {name: fr, op: rope, shape: [3, 4]}
  - {name: fk, op: kv_append, shape: [2, 6, 4], new: 3}
)",
                           "dec.yaml");
  CHECK(tensor_named(g, "ids").dtype == DType::int32);
  CHECK(tensor_named(g, "e.w").shape == std::vector<int64_t>{10, 8});
  CHECK(tensor_named(g, "e.out").shape == std::vector<int64_t>{2, 3, 8});
  CHECK(tensor_named(g, "e.out").dtype == DType::bf16);
  CHECK(tensor_named(g, "cat.out").shape == std::vector<int64_t>{2, 6, 8});
  CHECK(node_named(g, "cat").attrs.axis == 1);
  CHECK(tensor_named(g, "s.out").shape == std::vector<int64_t>{2, 3, 8});  // 1, 3, 5 of 6
  CHECK(node_named(g, "s").attrs.end == 6);
  CHECK(tensor_named(g, "r.cos").shape == std::vector<int64_t>{1, 4});
  CHECK(tensor_named(g, "r.sin").is_param);
  CHECK(node_named(g, "r").attrs.pos == 5);
  CHECK(tensor_named(g, "kv.out").shape == std::vector<int64_t>{1, 2, 6, 8});
  CHECK(tensor_named(g, "fc.out").shape == std::vector<int64_t>{4, 2});
  CHECK(tensor_named(g, "fc.in1").shape == std::vector<int64_t>{1, 2});
  CHECK(tensor_named(g, "fs.out").shape == std::vector<int64_t>{5});
  CHECK(tensor_named(g, "fg.ids").dtype == DType::int32);
  CHECK(tensor_named(g, "fg.out").dtype == DType::fp16);
  CHECK(tensor_named(g, "fk.out").shape == std::vector<int64_t>{2, 9, 4});
  for (const Node& n : g.nodes) CHECK(node_macs(g, n) == 0);
  require_same_graph(g, parse_workload(to_yaml(g), "printed.yaml"));

  const std::string head =
      "name: bad\ninputs:\n  - {name: x, shape: [4, 6], dtype: bf16}\n  - {name: i, shape: [3], "
      "dtype: int32}\nops:\n";
  auto chained = [&](const std::string& op) { return error_of(head + "  - " + op + "\n"); };
  CHECK_THAT(chained("{name: c, op: concat, inputs: [x], axis: 0}"),
             Catch::Contains("bad.yaml:6:") && Catch::Contains("two or more"));
  CHECK_THAT(chained("{name: c, op: concat, inputs: [x, x], axis: 2}"),
             Catch::Contains("bad.yaml:6:") &&
                 Catch::Contains("'axis' 2 is not a dim of the input (rank 2"));
  CHECK_THAT(chained("{name: s, op: slice, inputs: [x], axis: 1, start: 4, end: 2}"),
             Catch::Contains("bad.yaml:6:") &&
                 Catch::Contains("the slice [4, 2) of dim 1 (of size 6) is empty"));
  CHECK_THAT(chained("{name: s, op: slice, inputs: [x], step: 0}"),
             Catch::Contains("bad.yaml:6:") && Catch::Contains("'step' must be"));
  CHECK_THAT(chained("{name: g, op: gather, inputs: [x], vocab: 4, dim: 2}"),
             Catch::Contains("bad.yaml:6:") && Catch::Contains("must be int32"));
  CHECK_THAT(chained("{name: r, op: relu, inputs: [i]}"),
             Catch::Contains("bad.yaml:6:") && Catch::Contains("dtype int32 is not allowed"));
  CHECK_THAT(chained("{name: r, op: rope, inputs: [x], theta: 0}"),
             Catch::Contains("bad.yaml:6:") && Catch::Contains("theta must be > 0"));
  CHECK_THAT(error_of(one_op("{name: r, op: rope, shape: [4, 5]}")),
             Catch::Contains("bad.yaml:3:") && Catch::Contains("d (head_dim) even"));
  // A kv_append's cache: a graph input that no other op reads.
  const std::string only_x =
      "name: bad\ninputs:\n  - {name: x, shape: [4, 6], dtype: bf16}\nops:\n";
  CHECK_THAT(error_of(only_x + "  - {name: k, op: kv_append, inputs: [x, x]}\n"),
             Catch::Contains("must be a graph input that no other op reads"));
  CHECK_THAT(
      error_of(only_x + "  - {name: a, op: relu, inputs: [x]}\n"
                        "  - {name: k, op: kv_append, inputs: [a.out, x]}\n"),
      Catch::Contains("bad.yaml:6:") && Catch::Contains("the cache 'a.out' must be a graph"));
  CHECK_THAT(chained("{name: k, op: kv_append, inputs: [x, i]}"), Catch::Contains("bad.yaml:6:"));
}

TEST_CASE("graph inputs in a repeat", "[unit]") {
  Graph g = parse_workload(R"(name: caches
params: {layers: 3}
inputs:
  - repeat: $layers
    var: l
    inputs:
      - {name: c$l, shape: [2, 4], dtype: bf16}
ops:
  - repeat: $layers
    var: l
    ops:
      - {name: r$l, op: relu, inputs: [c$l]}
)",
                           "caches.yaml");
  CHECK(g.inputs.size() == 3);
  CHECK(tensor_named(g, "c2").shape == std::vector<int64_t>{2, 4});
  CHECK_THAT(error_of("name: bad\ninputs:\n  - {repeat: 2, ops: []}\nops:\n  - {name: r, op: relu, "
                      "shape: [2]}\n"),
             Catch::Contains("bad.yaml:3:") && Catch::Contains("unknown key 'ops'"));
}

TEST_CASE("every example workload loads and verifies", "[unit]") {
  for (const std::string& name : kExamples) {
    INFO(name);
    Graph g = load_workload(example_path(name));
    verify(g);
    CHECK(g.name == name);
  }
  Graph cnn = load_workload(example_path("small-cnn"));
  CHECK(tensor_named(cnn, "logits").shape == std::vector<int64_t>{1, 10});
  Graph tf = load_workload(example_path("transformer-block"));
  CHECK(tensor_named(tf, "y").shape == std::vector<int64_t>{64, 128});
  int64_t macs = 0;
  for (const Node& n : tf.nodes) macs += node_macs(tf, n);
  // 3 projections + output projection + FFN, and attention per head.
  CHECK(macs == 64 * 128 * 128 * 4 + 64 * 128 * 512 * 2 + 4 * 64 * 64 * 32 * 2);
  Graph big = load_workload(example_path("gemm-1000"));
  CHECK(node_macs(big, big.nodes[0]) == int64_t(1000) * 1000 * 1000);
}

TEST_CASE("bad workloads give file:line and what was expected", "[unit]") {
  SECTION("malformed YAML") {
    std::string e = error_of("name: bad\nops:\n  - {name: g0, op: gemm]\n");
    CHECK_THAT(e, Catch::Contains("bad.yaml:3") && Catch::Contains("malformed YAML"));
  }
  SECTION("unknown key lists the allowed keys") {
    std::string e = error_of(one_op("{name: g0, op: gemm, M: 64, N: 64, K: 64, bogus: 1}"));
    CHECK_THAT(e, Catch::Contains("bad.yaml:3:") && Catch::Contains("unknown key 'bogus'") &&
                      Catch::Contains("allowed keys: name, op, dtype, output, M, N, K"));
  }
  SECTION("a chained op rejects the flat size keys") {
    std::string e = error_of(
        "name: bad\ninputs: [{name: x, shape: [4, 4], dtype: int8}]\nops:\n"
        "  - {name: g0, op: gemm, inputs: [x], N: 4, M: 4}\n");
    CHECK_THAT(e, Catch::Contains("bad.yaml:4:") && Catch::Contains("unknown key 'M'") &&
                      Catch::Contains("allowed keys: name, op, dtype, output, inputs, N"));
  }
  SECTION("unknown op lists the known ops") {
    std::string e = error_of(one_op("{name: g0, op: gemmm, M: 64}"));
    CHECK_THAT(e, Catch::Contains("bad.yaml:3:") && Catch::Contains("unknown op 'gemmm'") &&
                      Catch::Contains("known ops: gemm, matmul, conv2d"));
  }
  SECTION("wrong type") {
    std::string e = error_of(one_op("{name: g0, op: gemm, M: abc, N: 64, K: 64}"));
    CHECK_THAT(e, Catch::Contains("bad.yaml:3:") &&
                      Catch::Contains("'M' must be a positive integer") &&
                      Catch::Contains("'abc'"));
    e = error_of(
        one_op("{name: a, op: attention, heads: 1, seq_q: 4, head_dim: 4, causal: maybe}"));
    CHECK_THAT(e,
               Catch::Contains("bad.yaml:3:") && Catch::Contains("'causal' must be true or false"));
    e = error_of(one_op("{name: s, op: softmax, shape: [4, x]}"));
    CHECK_THAT(e, Catch::Contains("bad.yaml:3:") &&
                      Catch::Contains("'shape' must be a non-empty list of positive integers"));
  }
  SECTION("non-positive sizes") {
    CHECK_THAT(error_of(one_op("{name: g0, op: gemm, M: 0, N: 64, K: 64}")),
               Catch::Contains("bad.yaml:3:") && Catch::Contains("'M' must be a positive integer"));
    CHECK_THAT(error_of(one_op("{name: g0, op: gemm, M: 8, N: -2, K: 64}")),
               Catch::Contains("bad.yaml:3:") && Catch::Contains("'N' must be a positive integer"));
    CHECK_THAT(
        error_of(one_op("{name: c, op: conv2d, C: 3, H: 8, W: 8, K: 4, R: 3, S: 3, pad: -1}")),
        Catch::Contains("bad.yaml:3:") && Catch::Contains("'pad' must be a non-negative"));
  }
  SECTION("missing required key") {
    CHECK_THAT(error_of(one_op("{name: g0, op: gemm, M: 8, N: 8}")),
               Catch::Contains("bad.yaml:3:") && Catch::Contains("missing required key 'K'"));
  }
  SECTION("conv output size <= 0") {
    std::string e = error_of(one_op("{name: c, op: conv2d, C: 3, H: 2, W: 8, K: 4, R: 5, S: 5}"));
    CHECK_THAT(e, Catch::Contains("bad.yaml:3:") && Catch::Contains("node 'c' (conv2d)") &&
                      Catch::Contains("output height would be <= 0"));
  }
  SECTION("channels not divisible by groups") {
    std::string e =
        error_of(one_op("{name: c, op: conv2d, C: 3, H: 8, W: 8, K: 4, R: 3, S: 3, groups: 2}"));
    CHECK_THAT(e, Catch::Contains("bad.yaml:3:") &&
                      Catch::Contains("groups 2 must divide the input channels C=3"));
  }
  SECTION("attention heads not divisible by kv_heads") {
    std::string e =
        error_of(one_op("{name: a, op: attention, heads: 3, kv_heads: 2, seq_q: 4, head_dim: 8}"));
    CHECK_THAT(e, Catch::Contains("bad.yaml:3:") &&
                      Catch::Contains("heads 3 must be divisible by kv_heads 2"));
  }
  SECTION("causal attention with more queries than keys") {
    std::string e = error_of(one_op(
        "{name: a, op: attention, heads: 1, seq_q: 8, seq_kv: 4, head_dim: 8, causal: true}"));
    CHECK_THAT(e, Catch::Contains("bad.yaml:3:") && Catch::Contains("seq_q <= seq_kv"));
  }
  SECTION("pool padding as large as the kernel") {
    std::string e = error_of(one_op("{name: p, op: pool, C: 1, H: 8, W: 8, kernel: 2, pad: 2}"));
    CHECK_THAT(e, Catch::Contains("bad.yaml:3:") && Catch::Contains("smaller than the kernel"));
  }
  SECTION("an input name never defined") {
    std::string e = error_of("name: bad\nops:\n  - {name: r, op: relu, inputs: [nope]}\n");
    CHECK_THAT(e, Catch::Contains("bad.yaml:3:") && Catch::Contains("unknown tensor 'nope'") &&
                      Catch::Contains("declared graph input or the output of an earlier op"));
  }
  SECTION("two producers of one tensor") {
    std::string e = error_of(
        "name: bad\nops:\n  - {name: a, op: relu, shape: [4], output: y}\n"
        "  - {name: b, op: relu, shape: [4], output: y}\n");
    CHECK_THAT(e, Catch::Contains("bad.yaml:4:") &&
                      Catch::Contains("tensor 'y' is already defined at bad.yaml:3"));
    e = error_of(
        "name: bad\ninputs: [{name: x, shape: [4], dtype: int8}]\nops:\n"
        "  - {name: a, op: relu, inputs: [x], output: x}\n");
    CHECK_THAT(e,
               Catch::Contains("bad.yaml:4:") && Catch::Contains("tensor 'x' is already defined"));
  }
  SECTION("duplicate op name") {
    std::string e = error_of(
        "name: bad\nops:\n  - {name: a, op: relu, shape: [4]}\n  - {name: a, op: gelu, shape: "
        "[4]}\n");
    CHECK_THAT(e, Catch::Contains("bad.yaml:4:") && Catch::Contains("op name 'a' is already used"));
  }
  SECTION("dtype not allowed for the op") {
    std::string e = error_of(one_op("{name: s, op: softmax, shape: [4, 4], dtype: int8}"));
    CHECK_THAT(e, Catch::Contains("bad.yaml:3:") &&
                      Catch::Contains("dtype int8 is not allowed; softmax takes bf16 or fp16"));
    e = error_of(one_op("{name: g, op: gelu, shape: [4], dtype: fp32}"));
    CHECK_THAT(e, Catch::Contains("bad.yaml:3:") && Catch::Contains("gelu takes bf16 or fp16"));
    e = error_of(one_op("{name: g, op: gemm, M: 4, N: 4, K: 4, dtype: int32}"));
    CHECK_THAT(e, Catch::Contains("bad.yaml:3:") &&
                      Catch::Contains("gemm takes int8, bf16, fp16 or fp32"));
    e = error_of(one_op("{name: g, op: gemm, M: 4, N: 4, K: 4, dtype: int4}"));
    CHECK_THAT(e, Catch::Contains("bad.yaml:3:") && Catch::Contains("unknown dtype 'int4'"));
    e = error_of(
        "name: bad\ninputs:\n  - {name: x, shape: [4], dtype: int32}\nops:\n"
        "  - {name: r, op: relu, inputs: [x]}\n");
    CHECK_THAT(e, Catch::Contains("bad.yaml:5:") &&
                      Catch::Contains("dtype int32 is not allowed; relu takes int8, bf16 or fp16"));
    e = error_of(
        "name: bad\ninputs:\n  - {name: x, shape: [4], dtype: fp32}\nops:\n"
        "  - {name: r, op: relu, inputs: [x]}\n");
    CHECK_THAT(e,
               Catch::Contains("bad.yaml:5:") && Catch::Contains("relu takes int8, bf16 or fp16"));
  }
  SECTION("inputs of different dtypes") {
    std::string e = error_of(
        "name: bad\ninputs:\n  - {name: x, shape: [4], dtype: int8}\n  - {name: y, shape: [4], "
        "dtype: bf16}\nops:\n  - {name: s, op: add, inputs: [x, y]}\n");
    CHECK_THAT(e,
               Catch::Contains("bad.yaml:6:") && Catch::Contains("has dtype bf16, expected int8"));
  }
  SECTION("inconsistent chained shapes") {
    std::string e = error_of(
        "name: bad\ninputs: [{name: x, shape: [4, 4], dtype: int8}, {name: y, shape: [4, 5], "
        "dtype: "
        "int8}]\nops:\n  - {name: s, op: add, inputs: [x, y]}\n");
    CHECK_THAT(e, Catch::Contains("bad.yaml:4:") && Catch::Contains("must have the same shape"));
    e = error_of(
        "name: bad\ninputs: [{name: x, shape: [4, 4], dtype: int8}]\nops:\n"
        "  - {name: c, op: conv2d, inputs: [x], K: 4, R: 1, S: 1}\n");
    CHECK_THAT(e, Catch::Contains("bad.yaml:4:") && Catch::Contains("must be 4-D (N,C,H,W)"));
    e = error_of(
        "name: bad\ninputs: [{name: a, shape: [1, 4, 8], dtype: bf16}, {name: b, shape: [1, 5, 8], "
        "dtype: bf16}]\nops:\n  - {name: m, op: matmul, inputs: [a, b]}\n");
    CHECK_THAT(e,
               Catch::Contains("bad.yaml:4:") && Catch::Contains("K of B (its dim 1) must be 8"));
  }
  SECTION("wrong number of chained inputs") {
    std::string e = error_of(
        "name: bad\ninputs: [{name: x, shape: [4, 4], dtype: int8}]\nops:\n"
        "  - {name: g, op: gemm, inputs: [x, x], N: 4}\n");
    CHECK_THAT(e, Catch::Contains("bad.yaml:4:") && Catch::Contains("use matmul for two"));
    e = error_of(
        "name: bad\ninputs: [{name: a, shape: [1, 4, 8], dtype: bf16}]\nops:\n"
        "  - {name: m, op: matmul, inputs: [a, a], N: 4}\n");
    CHECK_THAT(e,
               Catch::Contains("bad.yaml:4:") && Catch::Contains("N comes from the second input"));
  }
  SECTION("requant only for int8 ops with MACs") {
    std::string e =
        error_of(one_op("{name: g, op: gemm, M: 4, N: 4, K: 4, dtype: bf16, requant: {shift: 3}}"));
    CHECK_THAT(e,
               Catch::Contains("bad.yaml:3:") && Catch::Contains("requant applies only to int8"));
    e = error_of(one_op("{name: g, op: gemm, M: 4, N: 4, K: 4, requant: {shift: 70}}"));
    CHECK_THAT(e, Catch::Contains("bad.yaml:3:") && Catch::Contains("shift must be in [0, 62]"));
  }
  SECTION("window keys given twice") {
    std::string e = error_of(one_op(
        "{name: c, op: conv2d, C: 1, H: 8, W: 8, K: 1, R: 3, S: 3, stride: 1, stride_h: 2}"));
    CHECK_THAT(e, Catch::Contains("bad.yaml:3:") &&
                      Catch::Contains("either 'stride' or 'stride_h'/'stride_w'"));
  }
  SECTION("top level") {
    CHECK_THAT(error_of("name: bad\nops: []\n"),
               Catch::Contains("bad.yaml:2:") && Catch::Contains("'ops' must be a non-empty list"));
    CHECK_THAT(error_of("name: bad\nopz: []\n"),
               Catch::Contains("bad.yaml:2:") && Catch::Contains("unknown key 'opz'") &&
                   Catch::Contains("allowed keys: name, description, source, params, inputs, ops"));
    CHECK_THAT(error_of("ops:\n  - {name: r, op: relu, shape: [4]}\n"),
               Catch::Contains("bad.yaml:1:") && Catch::Contains("missing required key 'name'"));
    CHECK_THAT(error_of("name: bad\nname: again\nops: []\n"),
               Catch::Contains("bad.yaml:2:") && Catch::Contains("key 'name' is given twice"));
    CHECK_THAT(error_of(""), Catch::Contains("bad.yaml") && Catch::Contains("expected a workload"));
    CHECK_THAT(
        error_of("name: bad\ninputs:\n  - {name: x, shape: [4], dtype: int8}\nops:\n"
                 "  - {name: r, op: relu, shape: [4]}\n"),
        Catch::Contains("bad.yaml:3:") && Catch::Contains("input 'x' is declared but no op"));
  }
  SECTION("missing file") {
    try {
      load_workload("/nonexistent/w.yaml");
      FAIL("no error");
    } catch (const Error& e) {
      CHECK_THAT(e.what(),
                 Catch::Contains("/nonexistent/w.yaml") && Catch::Contains("cannot open"));
    }
  }
}

TEST_CASE("to_yaml prints a graph that loads back the same", "[unit]") {
  std::vector<Graph> graphs = {parse_workload(kFlatExample, "flat.yaml")};
  for (const std::string& name : kExamples) graphs.push_back(load_workload(example_path(name)));
  graphs.push_back(parse_workload(R"(name: "odd: names"
ops:
  - {name: "m m", op: matmul, M: 2, N: 3, K: 4, dtype: bf16, fused_relu: true}
  - {name: p, op: pool, C: 2, H: 7, W: 9, kernel_h: 3, kernel_w: 2, stride_w: 1, pad_h: 1, type: avg}
  - {name: c, op: conv2d, C: 4, H: 6, W: 6, K: 2, R: 3, S: 1, groups: 2, pad_h: 1, requant: {multiplier: 5, shift: 9}}
  - {name: a, op: attention, heads: 2, seq_q: 3, seq_kv: 5, head_dim: 4, scale: 0.3}
  - {name: n, op: rmsnorm, shape: [2, 3], eps: 1.0e-7}
)",
                                  "odd.yaml"));
  for (const Graph& g : graphs) {
    INFO(g.name);
    std::string y = to_yaml(g);
    Graph back = parse_workload(y, "printed.yaml");
    require_same_graph(g, back);
    CHECK(to_yaml(back) == y);
  }
}

TEST_CASE("verify rejects inconsistent graphs", "[unit]") {
  Graph g = parse_workload(R"(name: v
inputs: [{name: x, shape: [4, 8], dtype: bf16}]
ops:
  - {name: r, op: relu, inputs: [x]}
  - {name: s, op: softmax, inputs: [r.out]}
)",
                           "v.yaml");
  verify(g);
  SECTION("wrong output shape") {
    g.tensors[size_t(g.nodes[1].outputs[0])].shape = {4, 9};
    CHECK_THROWS_WITH(verify(g), Catch::Contains("v.yaml:5:") && Catch::Contains("node 's'") &&
                                     Catch::Contains("must have shape [4, 8], got [4, 9]"));
  }
  SECTION("nodes out of topological order") {
    std::swap(g.nodes[0], g.nodes[1]);
    CHECK_THROWS_WITH(verify(g), Catch::Contains("topological order"));
  }
  SECTION("a tensor with two producers") {
    g.nodes[1].outputs[0] = g.nodes[0].outputs[0];
    g.nodes[1].inputs[0] = g.inputs[0];
    CHECK_THROWS_WITH(verify(g), Catch::Contains("already") && Catch::Contains("another node"));
  }
  SECTION("an id out of range") {
    g.nodes[0].inputs[0] = 42;
    CHECK_THROWS_WITH(verify(g), Catch::Contains("out of range"));
  }
  SECTION("an unsupported dtype") {
    for (TensorInfo& t : g.tensors) t.dtype = DType::int8;
    CHECK_THROWS_WITH(verify(g), Catch::Contains("node 's' (softmax)") &&
                                     Catch::Contains("dtype int8 not supported; expected bf16"));
  }
  SECTION("wrong outputs list") {
    g.outputs.clear();
    CHECK_THROWS_WITH(verify(g), Catch::Contains("graph outputs"));
  }
  SECTION("fused_relu where it does not belong") {
    g.nodes[1].attrs.fused_relu = true;
    CHECK_THROWS_WITH(verify(g), Catch::Contains("fused_relu is only allowed"));
  }
}

TEST_CASE("dtype and op names round-trip", "[unit]") {
  for (DType t : {DType::int8, DType::int32, DType::bf16, DType::fp32, DType::fp16})
    CHECK(parse_dtype(dtype_name(t), SourceLoc{}) == t);
  CHECK(dtype_size(DType::fp16) == 2);
  CHECK(dtype_size(DType::int8) == 1);
  CHECK(dtype_size(DType::bf16) == 2);
  CHECK(dtype_size(DType::int32) == 4);
  CHECK(dtype_size(DType::fp32) == 4);
  for (int k = 0; k <= int(OpKind::transpose); ++k)
    CHECK(parse_op(op_name(OpKind(k)), SourceLoc{}) == OpKind(k));
  CHECK_THROWS_WITH(parse_dtype("fp8", SourceLoc{"f.yaml", 2, 3}),
                    Catch::StartsWith("f.yaml:2:3: unknown dtype 'fp8'"));
  CHECK(op_supports_dtype(OpKind::mul, DType::int8));
  CHECK_FALSE(op_supports_dtype(OpKind::gelu, DType::int8));
  CHECK_FALSE(op_supports_dtype(OpKind::softmax, DType::fp32));
  CHECK(op_supports_dtype(OpKind::gemm, DType::fp32));
  CHECK(op_dtypes(OpKind::conv2d) == "int8, bf16, fp16 or fp32");
  CHECK(op_dtypes(OpKind::gelu) == "bf16 or fp16");
  CHECK(op_supports_dtype(OpKind::softmax, DType::fp16));
  CHECK(op_dtypes(OpKind::reshape) == "int8, bf16, fp16 or fp32");
  CHECK(op_dtypes(OpKind::transpose) == "int8, bf16, fp16 or fp32");
  TensorInfo t;
  t.shape = {2, 3, 4};
  t.dtype = DType::bf16;
  CHECK(t.elements() == 24);
  CHECK(t.bytes() == 48);
}
