// Workload params, `$` substitution and repeats (compiler/ir/params.h, the frontend), the model
// zoo's files, and the command line that names them (--workload NAME, --param, xpusim zoo).
#include <catch2/catch.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "compiler/ir/frontend.h"
#include "compiler/ir/params.h"
#include "models/core/error.h"
#include "tests/support.h"

using namespace xpusim;
using namespace xpusim::compiler;
using namespace xpusim::test;
using Catch::Matchers::Contains;

namespace {

// The message of the Error that parsing `text` as "w.yaml" throws.
std::string workload_error(const std::string& text, const WorkloadParams& params = {}) {
  return error_of([&] { parse_workload(text, "w.yaml", params); });
}

const TensorInfo& tensor_named(const Graph& g, const std::string& name) {
  for (const TensorInfo& t : g.tensors)
    if (t.name == name) return t;
  throw std::runtime_error("no tensor " + name);
}

const char* const kStack = R"(name: stack-$layers
params:
  layers: 3
  hidden: {default: 16, doc: the width}
  ffn: $(4 * hidden)
  dtype: bf16
inputs:
  - {name: h0, shape: [8, $hidden], dtype: $dtype}
ops:
  - repeat: $layers
    ops:
      - {name: l$i.up, op: gemm, inputs: [h$i], N: $ffn}
      - {name: l$i.act, op: gelu, inputs: [l$i.up.out]}
      - {name: l$i.down, op: gemm, inputs: [l$i.act.out], N: $hidden, output: h$(i + 1)}
  - {name: head, op: softmax, inputs: [h$layers]}
)";

}  // namespace

TEST_CASE("params: defaults, values given, defaults that use earlier params", "[unit]") {
  const Graph g = parse_workload(kStack, "w.yaml");
  CHECK(g.name == "stack-3");
  REQUIRE(g.params.size() == 4);
  CHECK(g.params[2].name == "ffn");
  CHECK(g.params[2].value == "64");
  CHECK(!g.params[2].shown);  // no doc, no value given
  CHECK(g.params[1].shown);   // documented
  CHECK(g.nodes.size() == 10);
  CHECK(tensor_named(g, "l2.up.out").shape == std::vector<int64_t>{8, 64});
  CHECK(tensor_named(g, "h3").shape == std::vector<int64_t>{8, 16});
  CHECK(g.nodes.back().name == "head");

  const Graph h = parse_workload(kStack, "w.yaml", {{"layers", "5"}, {"hidden", "32"}});
  CHECK(h.nodes.size() == 16);
  // ffn's default follows hidden; a value given is taken as written.
  CHECK(tensor_named(h, "l4.up.out").shape == std::vector<int64_t>{8, 128});
  CHECK(tensor_named(h, "h0").dtype == DType::bf16);
  const Graph f = parse_workload(kStack, "w.yaml", {{"dtype", "fp16"}, {"ffn", "24"}});
  CHECK(tensor_named(f, "h0").dtype == DType::fp16);
  CHECK(tensor_named(f, "l0.up.out").shape == std::vector<int64_t>{8, 24});
}

TEST_CASE("params: nested repeats, expressions and '$$'", "[unit]") {
  const Graph g = parse_workload(R"(name: nest
ops:
  - repeat: 2
    var: a
    ops:
      - repeat: 3
        var: b
        ops:
          - {name: "r$a.$b.$$", op: relu, shape: [$(a * 3 + b + 1), $((7 - 1) / 2 % 4)]}
)",
                                 "w.yaml");
  REQUIRE(g.nodes.size() == 6);
  CHECK(g.nodes[4].name == "r1.1.$");
  CHECK(tensor_named(g, "r1.2.$.out").shape == std::vector<int64_t>{6, 3});
  // The printed form doubles the '$' and loads back the same.
  const Graph back = parse_workload(to_yaml(g), "printed.yaml");
  CHECK(back.nodes[4].name == "r1.1.$");
  CHECK(to_yaml(back) == to_yaml(g));
}

TEST_CASE("params: every mistake is an error at its place", "[unit]") {
  auto relu = [](const std::string& shape) {
    return "name: w\nparams: {n: 4, t: bf16}\nops:\n  - {name: r, op: relu, shape: [" + shape +
           "]}\n";
  };
  CHECK_THAT(workload_error(relu("$m")),
             Contains("w.yaml:4:") && Contains("unknown name 'm'") && Contains("known: n, t"));
  CHECK_THAT(workload_error(relu("$(t + 1)")), Contains("'t' is 'bf16', not an integer"));
  CHECK_THAT(workload_error(relu("$(n / 3)")), Contains("4 / 3 is not a whole number"));
  CHECK_THAT(workload_error(relu("$(n % 0)")), Contains("division by zero"));
  CHECK_THAT(workload_error(relu("$(n * 9223372036854775807)")), Contains("overflows"));
  CHECK_THAT(workload_error(relu("$(n + )")), Contains("a number, a name or '('"));
  CHECK_THAT(workload_error(relu("$(n")), Contains("no matching ')'"));
  CHECK_THAT(workload_error(relu("$ n")), Contains("a '$' must be followed by"));
  CHECK_THAT(workload_error(relu("$(" + std::string(100, '(') + "1" + std::string(100, ')') + ")")),
             Contains("nested parentheses"));
  // A size that substitutes to nonsense is refused by the op's own check, at the same place.
  CHECK_THAT(workload_error(relu("$(n - 4)")), Contains("w.yaml:4:") && Contains("'shape'"));

  CHECK_THAT(workload_error(relu("4"), {{"m", "1"}}),
             Contains("--param m") && Contains("has no param 'm'") && Contains("its params: n, t"));
  CHECK_THAT(workload_error("name: w\nparams: {2x: 1}\nops: [{name: r, op: relu, shape: [4]}]\n"),
             Contains("w.yaml:2:") && Contains("'2x' is not a name"));
  CHECK_THAT(
      workload_error("name: w\nparams: {n: {doc: x}}\nops: [{name: r, op: relu, shape: [4]}]\n"),
      Contains("missing required key 'default'"));
  CHECK_THAT(workload_error("name: w\nparams: {n: $m}\nops: [{name: r, op: relu, shape: [4]}]\n"),
             Contains("w.yaml:2:") && Contains("param 'n'") && Contains("unknown name 'm'"));

  const std::string loop = "name: w\nparams: {n: 2}\nops:\n  - repeat: ";
  CHECK_THAT(workload_error(loop + "-1\n    ops: [{name: r, op: relu, shape: [4]}]\n"),
             Contains("w.yaml:4:") && Contains("'repeat'"));
  CHECK_THAT(workload_error(loop + "2\n    var: n\n    ops: [{name: r$n, op: relu, shape: [4]}]\n"),
             Contains("w.yaml:5:") && Contains("'n' is already a name here"));
  CHECK_THAT(workload_error(loop + "2\n    ops: []\n"), Contains("'ops' must be a non-empty list"));
  CHECK_THAT(workload_error(loop + "2\n    opz: [{name: r, op: relu, shape: [4]}]\n"),
             Contains("unknown key 'opz'") && Contains("allowed keys: repeat, var, ops"));
  // Names are still checked once expanded: the same name in every iteration.
  CHECK_THAT(workload_error(loop + "2\n    ops: [{name: r, op: relu, shape: [4]}]\n"),
             Contains("op name 'r' is already used"));
  CHECK_THAT(workload_error(loop + "0\n    ops: [{name: r, op: relu, shape: [4]}]\n"),
             Contains("its repeats leave no op"));
  CHECK_THAT(workload_error(loop + "1000000\n    ops: [{name: r$i, op: relu, shape: [4]}]\n"),
             Contains("more than 100000 ops"));
}

TEST_CASE("params: --param options", "[unit]") {
  const WorkloadParams p = parse_param_options({"batch=8", "dtype=int8"});
  CHECK(p.at("batch") == "8");
  CHECK(p.at("dtype") == "int8");
  CHECK_THROWS_WITH(parse_param_options({"batch"}), Contains("NAME=VALUE"));
  CHECK_THROWS_WITH(parse_param_options({"batch="}), Contains("NAME=VALUE"));
  CHECK_THROWS_WITH(parse_param_options({"=2"}), Contains("NAME=VALUE"));
  CHECK_THROWS_WITH(parse_param_options({"a b=2"}), Contains("NAME=VALUE"));
  // Any name without blanks (an ONNX model's named dims); a workload checks its own names.
  CHECK(parse_param_options({"p2o.Dim.0=2"}).at("p2o.Dim.0") == "2");
  CHECK_THROWS_WITH(parse_param_options({"b=1", "b=2"}), Contains("--param b is given twice"));
}

TEST_CASE("zoo: every model loads with its defaults and says what it is", "[unit]") {
  const std::filesystem::path zoo = std::string(XPUSIM_SOURCE_DIR) + "/workloads/zoo";
  size_t models = 0;
  for (const auto& e : std::filesystem::directory_iterator(zoo)) {
    if (e.path().extension() != ".yaml") continue;
    INFO(e.path().string());
    ++models;
    const WorkloadInfo info = workload_info(e.path().string());
    CHECK(info.name == e.path().stem().string());
    CHECK(!info.description.empty());
    CHECK(!info.source.empty());
    const Graph g = load_workload(e.path().string());
    CHECK(g.params.size() == info.params.size());
  }
  CHECK(models >= 1);
}

namespace {

struct Size {
  int64_t macs = 0, weights = 0, convs = 0;
};

Size size_of(const Graph& g) {
  Size s;
  for (const Node& n : g.nodes) {
    s.macs += node_macs(g, n);
    s.convs += n.kind == OpKind::conv2d;
  }
  std::vector<bool> table(g.tensors.size(), false);  // a rope's cos and sin: not weights
  for (const Node& n : g.nodes)
    if (n.kind == OpKind::rope) table[size_t(n.inputs[1])] = table[size_t(n.inputs[2])] = true;
  for (size_t t = 0; t < g.tensors.size(); ++t)
    if (g.tensors[t].is_param && !table[t]) s.weights += g.tensors[t].elements();
  return s;
}

std::string zoo_file(const std::string& model) {
  return std::string(XPUSIM_SOURCE_DIR) + "/workloads/zoo/" + model + ".yaml";
}

}  // namespace

TEST_CASE("zoo: ResNet-50 has the published size", "[unit]") {
  const std::string file = zoo_file("resnet-50");
  const Size s = size_of(load_workload(file));
  // 53 convolutions (49 + 4 projections) and the classifier; torchvision documents 4.09 G
  // multiply-adds and 25.6 M parameters (with batch-norm and bias terms, which are folded here).
  CHECK(s.convs == 53);
  CHECK(s.macs > 4.05e9);
  CHECK(s.macs < 4.12e9);
  CHECK(s.weights > 25.4e6);
  CHECK(s.weights < 25.6e6);
  // A batch of 8 multiplies the work by 8; a 64x64 image keeps the weights.
  const Graph b8 = load_workload(file, {{"batch", "8"}, {"image", "64"}});
  CHECK(tensor_named(b8, "logits").shape == std::vector<int64_t>{8, 1000});
  CHECK(size_of(b8).weights == s.weights);
  CHECK_THAT(error_of([&] {
               load_workload(file, {{"image", "100"}});
             }),
             Contains("100 / 32 is not a whole number"));
}

TEST_CASE("zoo: ViT-B/16 has the published size", "[unit]") {
  // 86.33 M weights: the patch projection (768 x 768), 12 layers of 4 x 768^2 + 2 x 768 x 3072,
  // the classifier (768 x 1000) and the 25 layer norms' gamma and beta; torchvision's vit_b_16
  // has 86,567,656 parameters, adding biases (84,712), the class token and the position
  // embeddings (152,064; inputs here). 17.56 G MACs per image,
  // as torchvision documents: 196 patches, 197 tokens, attention's 2 x 197 x 768 per token.
  const Size s = size_of(load_workload(zoo_file("vit-b-16")));
  const double layer = 4.0 * 768 * 768 + 2.0 * 768 * 3072;
  CHECK(double(s.macs) ==
        Approx(196.0 * 768 * 768 + 12 * 197 * (layer + 2.0 * 197 * 768) + 768.0 * 1000));
  CHECK(double(s.macs) == Approx(17.56e9).epsilon(0.001));
  CHECK(s.weights == 86567656 - 84712 - 152064);
}

TEST_CASE("zoo: MobileNetV2 has the published size", "[unit]") {
  const std::string file = zoo_file("mobilenet-v2");
  const Size s = size_of(load_workload(file));
  // 52 convolutions (the stem, 17 bottlenecks of 2 or 3, the 1x1 head) and the classifier. The
  // paper's Table 4 gives 300 M multiply-adds; torchvision's mobilenet_v2 has 3,504,872
  // parameters, of which 34,112 are batch-norm terms and 1,000 the classifier's bias (folded or
  // absent here).
  CHECK(s.convs == 52);
  CHECK(double(s.macs) == Approx(300e6).epsilon(0.005));
  CHECK(s.weights == 3504872 - 34112 - 1000);
  const Graph small = load_workload(file, {{"image", "32"}, {"classes", "10"}});
  CHECK(tensor_named(small, "logits").shape == std::vector<int64_t>{1, 10});
}

TEST_CASE("zoo: BERT-base and GPT-2 small have the published sizes", "[unit]") {
  // BERT-base: 85 M weights in the encoder (110 M with the 23.8 M embeddings and the pooler,
  // which are not here); per token and layer 4 x 768^2 + 2 x 768 x 3072 MACs, plus attention's
  // 2 x seq x 768.
  const Size bert = size_of(load_workload(zoo_file("bert-base")));
  CHECK(bert.weights > 84.9e6);
  CHECK(bert.weights < 85.1e6);
  const double per_token = 4.0 * 768 * 768 + 2.0 * 768 * 3072;
  CHECK(double(bert.macs) == Approx(12 * 128 * (per_token + 2.0 * 128 * 768)));
  // GPT-2 small: 124 M weights with the tied LM head (85 M in the blocks, 38.6 M in the head).
  const Size gpt = size_of(load_workload(zoo_file("gpt2-small"), {{"seq", "64"}}));
  CHECK(gpt.weights > 123.5e6);
  CHECK(gpt.weights < 124.5e6);
  CHECK(double(gpt.macs) == Approx(64 * (12 * (per_token + 2.0 * 64 * 768) + 768.0 * 50257)));
  // Two layers and a smaller vocabulary for a quick run; BERT-large by its params.
  CHECK(
      size_of(load_workload(zoo_file("gpt2-small"), {{"layers", "2"}, {"vocab", "1000"}})).weights <
      15e6);
  const Size large = size_of(load_workload(
      zoo_file("bert-base"), {{"layers", "24"}, {"hidden", "1024"}, {"heads", "16"}}));
  CHECK(large.weights > 302e6);  // BERT-large's 340 M less its 31.8 M embeddings
  CHECK(large.weights < 303e6);
}

TEST_CASE("zoo: Llama 2 7B has the published size", "[unit]") {
  // 6.74 B weights (Touvron et al. 2023, Table 1: 7B): the embedding table and the untied head,
  // 32000 x 4096 each, per layer 4 x 4096^2 (attention) + 3 x 4096 x 11008 (SwiGLU) and two
  // norms, and the final norm. The rope tables are params of the rope ops, not weights.
  const double layer = 4.0 * 4096 * 4096 + 3.0 * 4096 * 11008;
  const double weights = 2.0 * 32000 * 4096 + 32 * (layer + 2 * 4096) + 4096;
  CHECK(weights > 6.73e9);
  CHECK(weights < 6.75e9);
  const Size prefill = size_of(load_workload(zoo_file("llama-2-7b-prefill"), {{"seq", "64"}}));
  CHECK(double(prefill.weights) == weights);
  // Per token: the layers' gemms, attention's 2 x seq x 4096 per layer, the head.
  CHECK(double(prefill.macs) ==
        Approx(64 * (32 * (layer + 2.0 * 64 * 4096) + 4096.0 * 32000)).epsilon(1e-12));
  // A decode step: the same weights for each of `batch` tokens; attention over ctx + 1 keys.
  const Size decode =
      size_of(load_workload(zoo_file("llama-2-7b-decode"), {{"ctx", "100"}, {"batch", "8"}}));
  CHECK(double(decode.weights) == weights);
  CHECK(double(decode.macs) ==
        Approx(8 * (32 * (layer + 2.0 * 101 * 4096) + 4096.0 * 32000)).epsilon(1e-12));
  // 70B-like grouped-query attention: 8 KV heads shrink k and v to a quarter.
  const Size gqa = size_of(load_workload(zoo_file("llama-2-7b-prefill"), {{"kv_heads", "8"}}));
  CHECK(double(gqa.weights) == weights - 32 * 2 * 4096.0 * (4096 - 1024));
}

TEST_CASE("zoo: run by name with params, and xpusim zoo lists the models", "[unit]") {
  const std::string out = temp_dir("zoo-run") + "/r";
  const Cli r = run_cli({"run", "--arch", "tpu_lab", "--workload", "resnet-50", "--param",
                         "image=32", "--param", "dtype=int8", "--no-functional", "--out", out});
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Contains("resnet-50 (batch=1, image=32, dtype=int8) on tpu_lab"));
  const Cli bad = run_cli({"run", "--arch", "tpu_lab", "--workload", "resnet-50", "--param",
                           "batchsize=2", "--out", out + "2"});
  CHECK(bad.status == 1);
  CHECK_THAT(bad.output, Contains("has no param 'batchsize'") && Contains("its params: batch"));
  const Cli none = run_cli({"run", "--arch", "tpu_lab", "--workload", "resnet-5000"});
  CHECK(none.status == 1);
  CHECK_THAT(none.output, Contains("no model of that name in the zoo"));
  const Cli zoo = run_cli({"zoo"});
  CHECK(zoo.status == 0);
  CHECK_THAT(zoo.output,
             Contains("resnet-50") && Contains("--param batch=1") && Contains("source: He et al."));
}
