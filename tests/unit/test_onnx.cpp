// The ONNX frontend (compiler/onnx): the mapping of small models built here with the ONNX
// protobuf API, its errors, and the CLI's --dtype / --onnx-test-data.
#include <onnx/onnx_pb.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "compiler/onnx/onnx.h"
#include "compiler/reference/reference.h"
#include "tests/support.h"

using namespace xpusim;
using namespace xpusim::compiler;
using namespace xpusim::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

// A one-graph ONNX model, written to a file.
class Model {
 public:
  explicit Model(int opset = 17) {
    m_.set_ir_version(8);
    auto* o = m_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    m_.mutable_graph()->set_name("test");
  }
  void input(const std::string& name, const std::vector<int64_t>& shape) {
    type(m_.mutable_graph()->add_input(), name, &shape);
  }
  // A graph input of int64 elements (token ids, an attention mask).
  void int_input(const std::string& name, const std::vector<int64_t>& shape) {
    onnx::ValueInfoProto* vi = m_.mutable_graph()->add_input();
    type(vi, name, &shape);
    vi->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::INT64);
  }
  void bool_initializer(const std::string& name, const std::vector<int64_t>& shape,
                        const std::vector<bool>& values) {
    onnx::TensorProto* t = m_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::BOOL);
    for (int64_t d : shape) t->add_dims(d);
    for (bool v : values) t->add_int32_data(v);
  }
  // A graph input or output whose dims are named (dim_param) where `names` has a name.
  void input(const std::string& name, const std::vector<int64_t>& shape,
             const std::vector<std::string>& names) {
    name_dims(m_.mutable_graph()->add_input(), name, shape, names);
  }
  void output(const std::string& name, const std::vector<int64_t>& shape,
              const std::vector<std::string>& names) {
    name_dims(m_.mutable_graph()->add_output(), name, shape, names);
  }
  void int_initializer(const std::string& name, const std::vector<int64_t>& values) {
    onnx::TensorProto* t = m_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(int64_t(values.size()));
    for (int64_t v : values) t->add_int64_data(v);
  }
  void output(const std::string& name, const std::vector<int64_t>& shape) {
    type(m_.mutable_graph()->add_output(), name, &shape);
  }
  void initializer(const std::string& name, const std::vector<int64_t>& shape,
                   const std::vector<float>& values) {
    onnx::TensorProto* t = m_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : shape) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
  }
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& in,
                        const std::vector<std::string>& out, const std::string& name = "") {
    onnx::NodeProto* n = m_.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : in) n->add_input(i);
    for (const auto& o : out) n->add_output(o);
    return n;
  }
  static void attr(onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void attr(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t i : v) a->add_ints(i);
  }
  std::string save(const std::string& name) const {
    const std::string path = temp_dir("onnx-" + name) + "/" + name + ".onnx";
    std::ofstream out(path, std::ios::binary);
    REQUIRE(m_.SerializeToOstream(&out));
    return path;
  }

 private:
  static void type(onnx::ValueInfoProto* vi, const std::string& name,
                   const std::vector<int64_t>* shape) {
    vi->set_name(name);
    auto* t = vi->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    auto* s = t->mutable_shape();
    for (int64_t d : *shape) s->add_dim()->set_dim_value(d);
  }
  static void name_dims(onnx::ValueInfoProto* vi, const std::string& name,
                        const std::vector<int64_t>& shape, const std::vector<std::string>& names) {
    type(vi, name, &shape);
    auto* dims = vi->mutable_type()->mutable_tensor_type()->mutable_shape();
    for (size_t d = 0; d < names.size(); ++d)
      if (!names[d].empty()) dims->mutable_dim(int(d))->set_dim_param(names[d]);
  }
  onnx::ModelProto m_;
};

// n deterministic values in [-scale, scale) from a linear congruential generator's state.
std::vector<float> lcg_values(uint32_t& state, size_t n, float scale) {
  std::vector<float> v(n);
  for (float& x : v) {
    state = state * 1664525u + 1013904223u;
    x = scale * (float(state >> 8) / float(1 << 24) * 2 - 1);
  }
  return v;
}

std::vector<std::string> kinds(const Graph& g) {
  std::vector<std::string> v;
  for (const Node& n : g.nodes) v.push_back(op_name(n.kind));
  return v;
}

const TensorInfo& named(const Graph& g, const std::string& name) {
  for (const TensorInfo& t : g.tensors)
    if (t.name == name) return t;
  FAIL("no tensor " << name);
  return g.tensors.at(0);
}

}  // namespace

TEST_CASE("ONNX: one error lists every op type without a mapping, with its count", "[unit]") {
  Model m;
  m.input("x", {1, 4});
  m.node("Sin", {"x"}, {"a"});
  m.node("Cos", {"a"}, {"b"});
  m.node("Sin", {"b"}, {"c"});
  m.node("Acos", {"c"}, {"d"});
  m.node("Relu", {"d"}, {"y"});
  m.output("y", {1, 4});
  const std::string path = m.save("unsupported");
  CHECK(error_of([&] { import_onnx(path, {}); }) ==
        path +
            ": 4 unsupported ops: Sin x2, Acos x1, Cos x1 (docs/onnx.md lists the ops "
            "xpusim maps)");
}

TEST_CASE(
    "ONNX: Gemm with transB, alpha, beta and a vector bias: a gemm of folded weights with the "
    "bias",
    "[unit]") {
  Model m;
  m.input("x", {2, 3});
  const std::vector<float> w = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};  // (N=4, K=3)
  m.initializer("w", {4, 3}, w);
  m.initializer("c", {4}, {0.5f, -1, 2, 0});
  auto* n = m.node("Gemm", {"x", "w", "c"}, {"y"}, "fc");
  Model::attr(n, "transB", int64_t(1));
  Model::attr(n, "alpha", 0.25f);
  Model::attr(n, "beta", 2.0f);
  m.output("y", {2, 4});
  const OnnxModel om = import_onnx(m.save("gemm"), {});
  const Graph& g = om.graph;
  CHECK(kinds(g) == std::vector<std::string>{"gemm"});
  CHECK(g.nodes.back().name == "fc");
  // The bias: beta * c, one value per column.
  REQUIRE(g.nodes[0].inputs.size() == 3);
  const TensorInfo& bias = g.tensor(g.nodes[0].inputs[2]);
  CHECK((bias.is_param && bias.shape == std::vector<int64_t>{4}));
  Tensor biasv(bias.shape, bias.dtype);
  biasv.data = bias.value;
  CHECK(biasv.get(1) == -2);
  CHECK(biasv.get(2) == 4);
  CHECK(named(g, "y").shape == std::vector<int64_t>{2, 4});
  REQUIRE(g.inputs.size() == 1);
  CHECK(g.tensor(g.inputs[0]).name == "x");
  REQUIRE(om.outputs.size() == 1);
  CHECK(g.tensor(om.outputs[0].second).name == "y");
  // The weights as the gemm reads them: alpha * W^T, (K, N), in bf16.
  const TensorInfo& b = g.tensor(g.nodes[0].inputs[1]);
  CHECK((b.is_param && b.shape == std::vector<int64_t>{3, 4} && b.dtype == DType::bf16));
  Tensor bv(b.shape, b.dtype);
  bv.data = b.value;
  CHECK(bv.get(0 * 4 + 1) == 0.25 * 4);   // W[1][0]
  CHECK(bv.get(2 * 4 + 3) == 0.25 * 12);  // W[3][2]
  // Values: y = alpha x W^T + beta c, within bf16's rounding of each op.
  const std::vector<Tensor> v = reference_run(g, 1);
  const Tensor& x = v[size_t(g.inputs[0])];
  const Tensor& y = v[size_t(om.outputs[0].second)];
  const float c[4] = {0.5f, -1, 2, 0};
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) {
      double want = 2.0 * c[j];
      for (int k = 0; k < 3; ++k) want += 0.25 * x.get(i * 3 + k) * w[size_t(j * 3 + k)];
      CHECK(std::fabs(y.get(i * 4 + j) - want) <= 0x1.0p-6 * std::max(1.0, std::fabs(want)));
    }
}

TEST_CASE("ONNX: x * Sigmoid(x) is one silu, and a Sigmoid read elsewhere a sigmoid", "[unit]") {
  Model m;
  m.input("x", {2, 8});
  m.node("Sigmoid", {"x"}, {"s"});
  m.node("Mul", {"s", "x"}, {"y"});
  m.output("y", {2, 8});
  const OnnxModel om = import_onnx(m.save("silu"), {});
  CHECK(kinds(om.graph) == std::vector<std::string>{"silu"});

  Model twice;
  twice.input("x", {2, 8});
  twice.node("Sigmoid", {"x"}, {"s"});
  twice.node("Mul", {"s", "x"}, {"y"});
  twice.output("y", {2, 8});
  twice.output("s", {2, 8});
  CHECK(kinds(import_onnx(twice.save("sigmoid"), {}).graph) ==
        std::vector<std::string>{"sigmoid", "mul"});
}

TEST_CASE("ONNX: Softmax on axis 0 and LayerNormalization over two axes keep their meaning",
          "[unit]") {
  Model m;
  m.input("x", {2, 3, 4});
  Model::attr(m.node("Softmax", {"x"}, {"s"}, "sm"), "axis", int64_t(0));
  std::vector<float> ones(12, 1.0f);
  m.initializer("gamma", {3, 4}, ones);
  Model::attr(m.node("LayerNormalization", {"s", "gamma"}, {"y"}, "ln"), "axis", int64_t(1));
  m.output("y", {2, 3, 4});
  const OnnxModel om = import_onnx(m.save("axes"), {});
  const Graph& g = om.graph;
  // Softmax: to the last axis and back; LayerNormalization: over (3*4) rows of (2, 12).
  CHECK(kinds(g) == std::vector<std::string>{"transpose", "softmax", "transpose", "reshape",
                                             "layernorm", "reshape"});
  CHECK(g.nodes[0].attrs.perm == std::vector<int64_t>{2, 1, 0});
  CHECK(g.tensor(g.nodes[4].inputs[0]).shape == std::vector<int64_t>{2, 12});
  CHECK(g.tensor(g.nodes[4].inputs[1]).shape == std::vector<int64_t>{12});
  CHECK(named(g, "y").shape == std::vector<int64_t>{2, 3, 4});
}

TEST_CASE("ONNX: what cannot be mapped is an error naming the node", "[unit]") {
  SECTION("a select whose condition the graph computes") {
    Model m;
    m.input("a", {2, 3});
    m.initializer("zero", {}, {0});
    m.node("Greater", {"a", "zero"}, {"c"}, "positive");
    m.node("Where", {"c", "a", "zero"}, {"y"}, "pick");
    m.output("y", {2, 3});
    CHECK_THAT(error_of([&] { import_onnx(m.save("where"), {}); }),
               Contains("node 'positive' (Greater): Greater of a tensor of the graph: computed at "
                        "import when every input is a constant (the IR has no comparisons)"));
  }
  SECTION("a square root of a tensor of the graph") {
    Model m;
    m.input("a", {2, 3});
    m.node("Sqrt", {"a"}, {"y"}, "root");
    m.output("y", {2, 3});
    CHECK_THAT(
        error_of([&] { import_onnx(m.save("sqrt"), {}); }),
        Contains("node 'root' (Sqrt): Sqrt of a tensor of the graph: the IR has no such op"));
  }
  SECTION("indices that the graph computes, an integer input read as a float") {
    Model m;
    m.int_input("ids", {4});
    m.initializer("table", {3, 2}, {1, 2, 3, 4, 5, 6});
    m.initializer("x", {4}, {1, 2, 3, 4});
    m.node("Gather", {"table", "ids"}, {"rows"}, "lookup");
    m.node("Add", {"ids", "x"}, {"y"}, "sum");
    m.output("rows", {4, 2});
    m.output("y", {4});
    CHECK_THAT(error_of([&] { import_onnx(m.save("ints"), {}); }),
               Contains("node 'sum' (Add): input 'ids' is an integer tensor"));
  }
  SECTION("asymmetric padding") {
    Model m;
    m.input("x", {1, 1, 5, 5});
    m.initializer("w", {1, 1, 3, 3}, std::vector<float>(9, 1.0f));
    Model::attr(m.node("Conv", {"x", "w"}, {"y"}, "c1"), "pads", std::vector<int64_t>{1, 1, 0, 0});
    m.output("y", {1, 1, 4, 4});
    CHECK_THAT(error_of([&] { import_onnx(m.save("pads"), {}); }),
               Contains("node 'c1' (Conv): padding (top 1, bottom 0, left 1, right 0) is not "
                        "symmetric"));
  }
  SECTION("a dtype an op does not take") {
    Model m;
    m.input("x", {4});
    m.node("Relu", {"x"}, {"y"}, "r");
    m.output("y", {4});
    OnnxOptions o;
    o.dtype = DType::fp32;
    CHECK_THAT(error_of([&] { import_onnx(m.save("fp32"), o); }),
               Contains("node 'r/relu' (relu): dtype fp32 not supported"));
  }
  SECTION("a model the ONNX checker rejects") {
    Model m;
    m.input("x", {4});
    m.node("Relu", {"x", "x"}, {"y"}, "r");
    m.output("y", {4});
    CHECK_THAT(error_of([&] { import_onnx(m.save("bad"), {}); }),
               Contains("the ONNX checker rejects the model"));
  }
  SECTION("a file that is not an ONNX model") {
    const std::string path = write_text(temp_dir("onnx-text"), "x.onnx", "name: not onnx\n");
    CHECK(error_of([&] { import_onnx(path, {}); }) ==
          path + ": not an ONNX model (the file does not parse as an ONNX ModelProto)");
  }
}

// What the fuzzer (tests/fuzz, fuzz_onnx) and a review of the import found: each an error that
// names what is wrong, where a crash or another exception was.
TEST_CASE("ONNX: malformed models the checker accepts are errors, not crashes", "[unit]") {
  SECTION("a graph output that nothing defines") {
    Model m;
    m.input("x", {4});
    m.node("Relu", {"x"}, {"y"}, "r");
    m.output("z", {4});
    CHECK_THAT(error_of([&] { import_onnx(m.save("undefined-output"), {}); }),
               Contains("graph output 'z' is no node's output, graph input or initializer"));
  }
  SECTION("a graph output declared in another rank than it has (Gemm-6 inference)") {
    Model m(6);
    m.input("a", {2, 3});
    m.input("b", {3, 4});
    m.initializer("c", {4}, std::vector<float>(4, 1.0f));
    Model::attr(m.node("Gemm", {"a", "b", "c"}, {"y"}, "g"), "broadcast", int64_t(1));
    m.output("y", {2, 4});
    m.output("b", {2});
    CHECK_THAT(error_of([&] { import_onnx(m.save("declared-rank"), {}); }),
               Contains("graph output 'b' is declared [2]; the model computes it as [3, 4]"));
  }
  SECTION("strides of 0") {
    Model m;
    m.input("x", {1, 1, 4, 4});
    auto* pool = m.node("MaxPool", {"x"}, {"y"}, "p");
    Model::attr(pool, "kernel_shape", std::vector<int64_t>{2, 2});
    Model::attr(pool, "strides", std::vector<int64_t>{0, 0});
    Model::attr(pool, "ceil_mode", int64_t(1));
    m.output("y", {1, 1, 3, 3});
    CHECK_THAT(error_of([&] { import_onnx(m.save("stride0"), {}); }),
               Contains("node 'p' (MaxPool): strides [0, 0] must be >= 1"));
  }
  SECTION("an Unsqueeze axis listed twice") {
    Model m(11);
    m.input("x", {3});
    Model::attr(m.node("Unsqueeze", {"x"}, {"y"}, "u"), "axes", std::vector<int64_t>{0, 0});
    m.output("y", {1, 1, 3});
    CHECK_THAT(error_of([&] { import_onnx(m.save("axis-twice"), {}); }),
               Contains("node 'u' (Unsqueeze): axes lists axis 0 twice"));
  }
  SECTION("a graph input whose element count overflows, and one with a dim below 1") {
    Model m;
    m.input("x", {int64_t(1) << 40, int64_t(1) << 40});
    m.node("Relu", {"x"}, {"y"}, "r");
    m.output("y", {int64_t(1) << 40, int64_t(1) << 40});
    CHECK_THAT(error_of([&] { import_onnx(m.save("huge"), {}); }),
               Contains("tensor 'x' [1099511627776, 1099511627776] is too large (more than 2^40 "
                        "elements)"));
    Model n;
    n.input("x", {-5, 3});
    n.node("Relu", {"x"}, {"y"}, "r");
    n.output("y", {-5, 3});
    CHECK_THAT(error_of([&] { import_onnx(n.save("negative"), {}); }),
               Contains("graph input 'x': dim -5 (a dim is >= 1"));
  }
  SECTION("a constant broadcast to more values than the import stores") {
    Model m;
    m.input("x", {int64_t(1) << 20, int64_t(1) << 19});
    m.initializer("c", {1}, {1.0f});
    m.node("Add", {"x", "c"}, {"y"}, "a");
    m.output("y", {int64_t(1) << 20, int64_t(1) << 19});
    CHECK_THAT(error_of([&] { import_onnx(m.save("broadcast"), {}); }),
               Contains("node 'a' (Add): a constant [1] broadcast to [1048576, 524288] would hold "
                        "more than 2^24 values"));
  }
}

TEST_CASE("run --onnx-test-data: outputs that differ from output_N.pb fail the functional check",
          "[unit]") {
  const std::string node = "/usr/share/libonnx-testdata/data/node/test_relu";
  INFO("the node tests of Debian's libonnx-testdata (scripts/install-deps.sh --tests)");
  REQUIRE(fs::is_directory(node));
  const std::string dir = temp_dir("onnx-wrong");
  fs::copy_file(node + "/test_data_set_0/input_0.pb", dir + "/input_0.pb");
  onnx::TensorProto t;
  {
    std::ifstream in(node + "/test_data_set_0/output_0.pb", std::ios::binary);
    REQUIRE(t.ParseFromIstream(&in));
  }
  // The first element of the expected output, off by 1.
  std::string raw = t.raw_data();
  float f;
  std::memcpy(&f, raw.data(), 4);
  f += 1;
  std::memcpy(raw.data(), &f, 4);
  t.set_raw_data(raw);
  {
    std::ofstream out(dir + "/output_0.pb", std::ios::binary);
    REQUIRE(t.SerializeToOstream(&out));
  }
  const Cli r = run_cli({"run", "--arch", "tpu_v4", "--workload", node + "/model.onnx",
                         "--onnx-test-data", dir, "--out", dir + "/out"});
  INFO(r.output);
  CHECK(r.status == 3);
  CHECK(has(r, "functional check: failed"));
  CHECK(has(r, "ONNX output 'y' against " + dir + "/output_0.pb: 1 of 60 elements differ"));

  const Cli ok = run_cli({"run", "--arch", "tpu_v4", "--workload", node + "/model.onnx",
                          "--onnx-test-data", node + "/test_data_set_0", "--out", dir + "/ok"});
  CHECK(ok.status == 0);
  CHECK(has(ok, "functional check: passed"));

  const Cli yaml = run_cli({"run", "--arch", "tpu_v4", "--workload", "resnet-50", "--dtype", "fp16",
                            "--out", dir + "/yaml"});
  CHECK(yaml.status == 1);
  CHECK(has(yaml, "--dtype and --onnx-test-data are for ONNX models (.onnx)"));
}

TEST_CASE(
    "ONNX: a small CNN (Conv with bias, BatchNormalization, Relu, MaxPool, Flatten, Gemm, "
    "Softmax) runs with values on tpu_v4 and ascend910b",
    "[unit]") {
  Model m(13);
  m.input("image", {1, 3, 8, 8});
  uint32_t state = 1;
  const auto values = [&](size_t n, float scale) { return lcg_values(state, n, scale); };
  m.initializer("conv.w", {8, 3, 3, 3}, values(8 * 27, 0.3f));
  m.initializer("conv.b", {8}, values(8, 0.1f));
  Model::attr(m.node("Conv", {"image", "conv.w", "conv.b"}, {"c"}, "conv"), "pads",
              std::vector<int64_t>{1, 1, 1, 1});
  m.initializer("bn.scale", {8}, values(8, 1.0f));
  m.initializer("bn.b", {8}, values(8, 0.1f));
  m.initializer("bn.mean", {8}, values(8, 0.1f));
  std::vector<float> var = values(8, 0.5f);
  for (float& v : var) v += 1.0f;
  m.initializer("bn.var", {8}, var);
  m.node("BatchNormalization", {"c", "bn.scale", "bn.b", "bn.mean", "bn.var"}, {"n"}, "bn");
  m.node("Relu", {"n"}, {"r"}, "relu");
  auto* pool = m.node("MaxPool", {"r"}, {"p"}, "pool");
  Model::attr(pool, "kernel_shape", std::vector<int64_t>{2, 2});
  Model::attr(pool, "strides", std::vector<int64_t>{2, 2});
  m.node("Flatten", {"p"}, {"f"}, "flatten");
  m.initializer("fc.w", {10, 128}, values(10 * 128, 0.1f));
  m.initializer("fc.b", {10}, values(10, 0.1f));
  Model::attr(m.node("Gemm", {"f", "fc.w", "fc.b"}, {"logits"}, "fc"), "transB", int64_t(1));
  m.node("Softmax", {"logits"}, {"probs"}, "softmax");
  m.output("probs", {1, 10});
  const std::string path = m.save("cnn");

  // The gemm reads the pooled feature map itself (it flattens its A as Flatten does).
  const Graph g = import_onnx(path, {}).graph;
  CHECK(kinds(g) ==
        std::vector<std::string>{"conv2d", "mul", "add", "relu", "pool", "gemm", "softmax"});
  // The graph tpu_v4 lowers keeps the biases in the conv2d and the gemm (its activation
  // pipeline adds them).
  const Cli dumped = run_cli({"run", "--arch", "tpu_v4", "--workload", path, "--no-functional",
                              "--dump-after", "fuse", "--out", temp_dir("onnx-cnn-dump")});
  INFO(dumped.output);
  CHECK(dumped.status == 0);
  CHECK_THAT(dumped.output,
             Contains("op: conv2d, inputs: [image]") && Contains("bias: true") &&
                 Contains("op: gemm, inputs: [p], output: logits, N: 10, bias: true"));
  for (const char* arch : {"tpu_v4", "ascend910b"}) {
    const Cli r = run_cli({"run", "--arch", arch, "--workload", path, "--out",
                           temp_dir(std::string("onnx-cnn-") + arch)});
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(has(r, "functional check: passed"));
  }
}

// The DaVinci target adds a gemm's or conv2d's bias in the op's output stage (the f32 tile in
// the UB, before the ReLU and the rounding): a chain of convolutions with biases (3x3 with a
// ReLU, a grouped strided 1x1 of two blocks of groups, a depthwise 3x3 with a ReLU; 81 and 25
// output pixels: real rows past the last group of 8, then padding rows) into a gemm of M = 1
// and N = 300 (two N tiles) over the flattened map; and a gemm of M = 37 rows with a ReLU.
// Values checked in bf16 on ascend910b (a FIX pipe) and davinci_lab, in fp16 on ascend910 and
// ascend910b; the graph the target lowers keeps the biases in the ops, with the ReLUs fused.
TEST_CASE("ONNX: davinci adds conv2d and gemm biases in the output stage and the values check",
          "[unit]") {
  uint32_t state = 7;
  const auto values = [&](size_t n, float scale) { return lcg_values(state, n, scale); };
  Model cnn(13);
  cnn.input("image", {1, 16, 9, 9});
  const auto conv = [&](const std::string& name, const std::string& in, std::vector<int64_t> w,
                        int64_t group, int64_t stride, int64_t pad) {
    cnn.initializer(name + ".w", w, values(size_t(w[0] * w[1] * w[2] * w[3]), 0.3f));
    cnn.initializer(name + ".b", {w[0]}, values(size_t(w[0]), 1.0f));
    onnx::NodeProto* n = cnn.node("Conv", {in, name + ".w", name + ".b"}, {name}, name);
    Model::attr(n, "group", group);
    Model::attr(n, "strides", std::vector<int64_t>{stride, stride});
    Model::attr(n, "pads", std::vector<int64_t>{pad, pad, pad, pad});
  };
  conv("c1", "image", {32, 16, 3, 3}, 1, 1, 1);
  cnn.node("Relu", {"c1"}, {"r1"}, "relu1");
  conv("c2", "r1", {32, 16, 1, 1}, 2, 2, 0);
  conv("c3", "c2", {32, 1, 3, 3}, 32, 1, 1);
  cnn.node("Relu", {"c3"}, {"r3"}, "relu3");
  cnn.node("Flatten", {"r3"}, {"f"}, "flatten");
  cnn.initializer("fc.w", {300, 800}, values(300 * 800, 0.05f));
  cnn.initializer("fc.b", {300}, values(300, 1.0f));
  Model::attr(cnn.node("Gemm", {"f", "fc.w", "fc.b"}, {"logits"}, "fc"), "transB", int64_t(1));
  cnn.output("logits", {1, 300});
  Model rows(13);
  rows.input("x", {37, 64});
  rows.initializer("w", {300, 64}, values(300 * 64, 0.2f));
  rows.initializer("b", {300}, values(300, 1.0f));
  Model::attr(rows.node("Gemm", {"x", "w", "b"}, {"g"}, "gemm"), "transB", int64_t(1));
  rows.node("Relu", {"g"}, {"y"}, "relu");
  rows.output("y", {37, 300});

  for (const std::string& path : {cnn.save("dv-bias-cnn"), rows.save("dv-bias-rows")}) {
    const Cli dumped =
        run_cli({"run", "--arch", "ascend910b", "--workload", path, "--no-functional",
                 "--dump-after", "fuse", "--out", temp_dir("dv-bias-dump")});
    INFO(dumped.output);
    CHECK(dumped.status == 0);
    CHECK_THAT(dumped.output, Contains("bias: true") && !Contains("op: add") &&
                                  Contains("bias: true, fused_relu: true"));
    for (const char* run :
         {"ascend910b bf16", "davinci_lab bf16", "ascend910 fp16", "ascend910b fp16"}) {
      const std::string arch = std::string(run).substr(0, std::string(run).find(' '));
      const std::string dtype = std::string(run).substr(arch.size() + 1);
      const Cli r = run_cli({"run", "--arch", arch, "--workload", path, "--dtype", dtype, "--out",
                             temp_dir("dv-bias-" + arch + "-" + dtype)});
      INFO(run << "\n" << r.output);
      CHECK(r.status == 0);
      CHECK(has(r, "functional check: passed"));
    }
  }
}

// The GPU target adds a Gemm's C and a Conv's B in the kernels' epilogues: every
// form of gemm (M = 1 on the small-M kernels, with B in mma fragments or not; M = 3 with N odd;
// M = 37 over several N tiles) and of conv2d (3x3 strided over two row tiles of output channels,
// 1x1, grouped, depthwise), with and without a fused ReLU, checked against the reference on
// every GPU preset in bf16 and fp16; 1x1 convolutions with few output channels take the small-M
// kernels; the graph lowered keeps each bias in its op.
TEST_CASE("ONNX: biases of Gemm and Conv, added in the GPU kernels' epilogues, on every GPU preset",
          "[unit]") {
  Model m(13);
  uint32_t state = 3;
  const auto values = [&](size_t n, float scale) { return lcg_values(state, n, scale); };
  m.input("x1", {1, 64});
  m.input("x37", {37, 70});
  m.input("x3", {3, 40});
  m.input("img", {2, 8, 9, 9});
  m.input("img4", {1, 8, 4, 4});
  m.input("pooled", {1, 8, 1, 1});
  // Gemm(x (rows, k), w (n, k) transposed, bias (n)), then a Relu when relu.
  const auto gemm = [&](const std::string& name, const std::string& x, int64_t rows, int64_t k,
                        int64_t n, bool relu) {
    m.initializer(name + ".w", {n, k}, values(size_t(n * k), 0.2f));
    m.initializer(name + ".b", {n}, values(size_t(n), 1.0f));
    const std::string y = relu ? name + ".y" : name;
    Model::attr(m.node("Gemm", {x, name + ".w", name + ".b"}, {y}, name), "transB", int64_t(1));
    if (relu) m.node("Relu", {y}, {name}, name + ".relu");
    m.output(name, {rows, n});
  };
  gemm("g1", "x1", 1, 64, 136, true);   // small-M tensor-core form, 3 strips of 64 columns
  gemm("g1f", "x1", 1, 64, 96, false);  // B in mma fragments (N a multiple of 16, K of 32)
  gemm("g3", "x3", 3, 40, 45, true);    // small-M SIMT form (N odd)
  gemm("g37", "x37", 37, 70, 136, false);
  gemm("g37r", "x37", 37, 70, 136, true);
  // Conv(img, w (k, 8 / groups, r, r), bias (k)), then a Relu when relu; out: the output's side.
  const auto conv = [&](const std::string& name, int64_t k, int64_t r, int64_t groups,
                        int64_t stride, int64_t pad, int64_t out, bool relu,
                        const std::string& x = "img", int64_t images = 2) {
    m.initializer(name + ".w", {k, 8 / groups, r, r}, values(size_t(k * 8 / groups * r * r), 0.3f));
    m.initializer(name + ".b", {k}, values(size_t(k), 1.0f));
    const std::string y = relu ? name + ".y" : name;
    auto* c = m.node("Conv", {x, name + ".w", name + ".b"}, {y}, name);
    Model::attr(c, "group", groups);
    Model::attr(c, "strides", std::vector<int64_t>{stride, stride});
    Model::attr(c, "pads", std::vector<int64_t>{pad, pad, pad, pad});
    if (relu) m.node("Relu", {y}, {name}, name + ".relu");
    m.output(name, {images, k, out, out});
  };
  conv("c3", 72, 3, 1, 2, 1, 5, true);  // 72 output channels: two row tiles of the SIMT kernel
  conv("c1", 10, 1, 1, 1, 0, 9, false);
  conv("cg", 6, 3, 2, 1, 0, 7, true);  // each group's bias at its first output channel
  conv("dw", 8, 3, 8, 1, 1, 9, true);
  conv("dwp", 8, 3, 8, 2, 0, 4, false);
  // 1x1 with few output channels: the small-M kernels, the bias per row (tensor-core form where
  // the plane is a multiple of 8; SIMT for a squeeze-excitation's pooled input).
  conv("c1m", 4, 1, 1, 1, 0, 4, true, "img4", 1);
  conv("se", 2, 1, 1, 1, 0, 1, true, "pooled", 1);
  const std::string path = m.save("gpu-bias");

  const Cli dumped = run_cli({"run", "--arch", "a100", "--workload", path, "--no-functional",
                              "--dump-after", "fuse", "--out", temp_dir("onnx-gpu-bias-dump")});
  INFO(dumped.output);
  REQUIRE(dumped.status == 0);
  CHECK_THAT(dumped.output,
             Contains("op: gemm, inputs: [x1], output: g1, N: 136, bias: true, fused_relu: true") &&
                 Contains("op: conv2d, inputs: [img], output: cg, K: 6, R: 3, S: 3, stride: 1, "
                          "pad: 0, groups: 2, bias: true, fused_relu: true"));
  CHECK_FALSE(has(dumped, "op: add"));
  CHECK_FALSE(has(dumped, "op: relu"));
  for (const char* arch : {"v100", "a100", "h100", "gpu_lab"})
    for (const char* dtype : {"bf16", "fp16"}) {
      const Cli r = run_cli({"run", "--arch", arch, "--workload", path, "--dtype", dtype, "--out",
                             temp_dir(std::string("onnx-gpu-bias-") + arch + "-" + dtype)});
      INFO(arch << " " << dtype << "\n" << r.output);
      CHECK(r.status == 0);
      CHECK(has(r, "functional check: passed"));
    }
}

// The ops of PaddlePaddle's exports (paddle2onnx) of MobileNetV3-style networks: HardSwish as
// Add, Clip, Mul and Div; squeeze-excitation blocks (HardSigmoid, a Mul of a (N, C, 1, 1) scale
// by the feature map); the classifier's Reshape to a shape computed by Shape, Slice, Cast and
// Concat; and inputs whose dims are named, sized by --param.
namespace {

std::string se_block_model() {
  Model m(9);
  m.input("x", {1, 8, 4, 6}, {"batch"});
  m.initializer("three", {1}, {3});
  m.initializer("six", {1}, {6});
  m.node("Add", {"x", "three"}, {"x3"}, "add3");
  auto* clip = m.node("Clip", {"x3"}, {"c"}, "relu6");  // opset 9: bounds as attributes
  Model::attr(clip, "min", 0.0f);
  Model::attr(clip, "max", 6.0f);
  m.node("Mul", {"x", "c"}, {"xc"}, "mul");
  m.node("Div", {"xc", "six"}, {"hs"}, "hardswish");
  m.node("GlobalAveragePool", {"hs"}, {"g"}, "squeeze");
  uint32_t state = 7;
  const std::vector<float> w = lcg_values(state, 8 * 8, 0.5f);
  m.initializer("se.w", {8, 8, 1, 1}, w);
  m.node("Conv", {"g", "se.w"}, {"e"}, "excite");
  auto* hsig = m.node("HardSigmoid", {"e"}, {"s"}, "gate");
  Model::attr(hsig, "alpha", 0.2f);
  Model::attr(hsig, "beta", 0.5f);
  m.node("Mul", {"hs", "s"}, {"scaled"}, "scale");  // (N, 8, 4, 6) by (N, 8, 1, 1)
  m.node("GlobalAveragePool", {"scaled"}, {"p"}, "pool");
  // Reshape to [N, -1], N from the tensor's shape.
  m.node("Shape", {"p"}, {"shape"}, "shape");
  auto* slice = m.node("Slice", {"shape"}, {"n"}, "batch_dim");
  Model::attr(slice, "axes", std::vector<int64_t>{0});
  Model::attr(slice, "starts", std::vector<int64_t>{0});
  Model::attr(slice, "ends", std::vector<int64_t>{1});
  m.int_initializer("minus_one", {-1});
  Model::attr(m.node("Cast", {"n"}, {"n64"}, "cast"), "to", int64_t(onnx::TensorProto::INT64));
  Model::attr(m.node("Concat", {"n64", "minus_one"}, {"dims"}, "dims"), "axis", int64_t(0));
  m.node("Reshape", {"p", "dims"}, {"flat"}, "flatten");
  m.initializer("fc.w", {8, 2}, std::vector<float>(w.begin(), w.begin() + 16));
  m.node("MatMul", {"flat", "fc.w"}, {"logits"}, "fc");
  m.output("logits", {1, 2}, {"batch"});
  return m.save("se-block");
}

}  // namespace

TEST_CASE("ONNX: a squeeze-excitation block with HardSwish, and a reshape to a computed shape",
          "[unit]") {
  const std::string path = se_block_model();
  OnnxOptions o;
  o.dims["batch"] = 2;
  const Graph g = import_onnx(path, o).graph;
  // HardSwish as add, clip, mul, mul (the division by a constant); HardSigmoid as mul, add, clip;
  // the gate broadcast by a gemm with a row of ones; Shape, Slice, Cast and Concat folded.
  CHECK(kinds(g) == std::vector<std::string>{"add", "clip", "mul", "mul", "pool", "conv2d", "mul",
                                             "add", "clip", "reshape", "gemm", "reshape", "mul",
                                             "pool", "gemm"});
  CHECK(named(g, "x").shape == std::vector<int64_t>{2, 8, 4, 6});
  CHECK(named(g, "logits").shape == std::vector<int64_t>{2, 2});
  for (const char* arch : {"tpu_v4", "gpu_lab"}) {
    const Cli r = run_cli({"run", "--arch", arch, "--workload", path, "--param", "batch=2", "--out",
                           temp_dir(std::string("onnx-se-") + arch)});
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(has(r, "functional check: passed"));
  }
}

TEST_CASE("ONNX: named dims need a size, and --param names only those", "[unit]") {
  const std::string path = se_block_model();
  CHECK_THAT(error_of([&] { import_onnx(path, {}); }),
             Contains("graph input 'x': dim 0 is 'batch', not a fixed size; give its size "
                      "(--param batch=SIZE), the values (--onnx-test-data)"));
  OnnxOptions o;
  o.dims["batch"] = 1;
  o.dims["seq"] = 4;
  CHECK_THAT(error_of([&] { import_onnx(path, o); }),
             Contains("--param seq: the graph inputs have no dim of that name (theirs: batch)"));
  const Cli r = run_cli({"run", "--arch", "tpu_v4", "--workload", path, "--param", "batch=0",
                         "--out", temp_dir("onnx-dims")});
  CHECK(r.status == 1);
  CHECK(has(r,
            "--param batch=0: an ONNX model's params are the sizes of its inputs' named "
            "dims, numbers >= 1"));
}

TEST_CASE("ONNX: Clip, HardSigmoid, Shape, Cast, Slice and Concat fold on constants", "[unit]") {
  Model m(13);
  m.input("x", {2, 4});
  m.initializer("k", {2, 4}, {-3, -1, 0, 1, 2, 4, 7, 9});
  m.initializer("lo", {}, {0});
  m.initializer("hi", {}, {6});
  m.node("Clip", {"k", "lo", "hi"}, {"kc"}, "clip");                           // 0 0 0 1 2 4 6 6
  Model::attr(m.node("HardSigmoid", {"kc"}, {"kh"}, "hsig"), "alpha", 0.25f);  // .5 .5 .5 .75 1 1..
  m.int_initializer("starts", {1});
  m.int_initializer("ends", {INT64_MAX});
  m.int_initializer("axes", {1});
  m.int_initializer("steps", {2});
  m.node("Slice", {"kh", "starts", "ends", "axes", "steps"}, {"ks"}, "slice");  // cols 1, 3
  Model::attr(m.node("Concat", {"ks", "ks"}, {"kk"}, "concat"), "axis", int64_t(1));
  m.node("Add", {"x", "kk"}, {"y"}, "add");
  m.output("y", {2, 4});
  const Graph g = import_onnx(m.save("fold"), {}).graph;
  CHECK(kinds(g) == std::vector<std::string>{"add"});
  const TensorInfo& c = g.tensor(g.nodes[0].inputs[1]);
  REQUIRE(c.is_param);
  Tensor v(c.shape, c.dtype);
  v.data = c.value;
  const std::vector<double> want = {0.5, 0.75, 0.5, 0.75, 1, 1, 1, 1};
  for (size_t i = 0; i < want.size(); ++i) CHECK(v.get(int64_t(i)) == want[i]);
}

TEST_CASE("ONNX: Slice and Concat of tensors of the graph are the IR's slice and concat",
          "[unit]") {
  Model m(13);
  m.input("x", {4, 6});
  m.int_initializer("starts", {-3, 1});
  m.int_initializer("ends", {INT64_MAX, 5});
  m.int_initializer("axes", {1, 0});
  m.node("Slice", {"x", "starts", "ends", "axes"}, {"s"}, "cut");  // rows 1..4, cols 3..5
  Model::attr(m.node("Concat", {"s", "s"}, {"y"}, "twice"), "axis", int64_t(0));
  m.output("y", {6, 3});
  const std::string path = m.save("slice");
  const Graph g = import_onnx(path, {}).graph;
  CHECK(kinds(g) == std::vector<std::string>{"slice", "slice", "concat"});
  CHECK(named(g, "y").shape == std::vector<int64_t>{6, 3});
  const Cli r =
      run_cli({"run", "--arch", "tpu_v4", "--workload", path, "--out", temp_dir("onnx-slice-run")});
  INFO(r.output);
  CHECK(has(r, "functional check: passed"));
}

namespace {

// LayerNorm over the last axis as exporters write it out (ReduceMean, Sub, Pow, ReduceMean, Add,
// Sqrt, Div, then * gamma + beta), then PaddlePaddle's swish, x * Sigmoid(x * 1).
std::string written_out_model(int64_t power, int64_t mean_axis) {
  Model m(13);
  m.input("x", {2, 5, 8});
  m.initializer("two", {}, {float(power)});
  m.initializer("eps", {}, {1e-5f});
  m.initializer("one", {1}, {1});
  m.initializer("gamma", {8}, {1, 2, 3, 4, 5, 6, 7, 8});
  m.initializer("beta", {8}, {0, 0, 0, 0, 1, 1, 1, 1});
  Model::attr(m.node("ReduceMean", {"x"}, {"mean"}, "mean"), "axes",
              std::vector<int64_t>{mean_axis});
  m.node("Sub", {"x", "mean"}, {"d"}, "center");
  m.node("Pow", {"d", "two"}, {"d2"}, "square");
  Model::attr(m.node("ReduceMean", {"d2"}, {"var"}, "variance"), "axes", std::vector<int64_t>{-1});
  m.node("Add", {"var", "eps"}, {"ve"}, "plus_eps");
  m.node("Sqrt", {"ve"}, {"sd"}, "sd");
  m.node("Div", {"d", "sd"}, {"n"}, "normalise");
  m.node("Mul", {"n", "gamma"}, {"ng"}, "scale");
  m.node("Add", {"ng", "beta"}, {"y"}, "shift");
  m.node("Mul", {"y", "one"}, {"y1"}, "times_one");
  m.node("Sigmoid", {"y1"}, {"s"}, "gate");
  m.node("Mul", {"y", "s"}, {"z"}, "swish");
  m.output("z", {2, 5, 8});
  return m.save("written-out-" + std::to_string(power) + "-" + std::to_string(mean_axis));
}

}  // namespace

TEST_CASE("ONNX: a LayerNorm and a swish written out as ONNX ops map to layernorm and silu",
          "[unit]") {
  const Graph g = import_onnx(written_out_model(2, -1), {}).graph;
  CHECK(kinds(g) == std::vector<std::string>{"reshape", "layernorm", "reshape", "silu"});
  const Node& ln = g.nodes[1];
  CHECK(ln.name == "shift/layernorm");
  CHECK(g.nodes[2].name == "shift");
  CHECK(ln.attrs.eps == double(1e-5f));
  Tensor gamma(g.tensor(ln.inputs[1]).shape, g.tensor(ln.inputs[1]).dtype);
  gamma.data = g.tensor(ln.inputs[1]).value;
  CHECK(gamma.get(7) == 8);
  CHECK(g.nodes[3].name == "swish");
  // Not the pattern (a cube, a mean over another axis): no mapping, or an error naming it.
  CHECK_THAT(error_of([&] { import_onnx(written_out_model(3, -1), {}); }),
             Contains("node 'sd' (Sqrt): Sqrt of a tensor of the graph"));
  CHECK_THAT(error_of([&] { import_onnx(written_out_model(2, 1), {}); }),
             Contains("node 'shift' (Add): a LayerNorm written out whose ReduceMean 'mean' is not "
                      "over the last axis alone"));
}

TEST_CASE("ONNX: ConvTranspose with stride = kernel is a 1x1 conv whose channels fill the blocks",
          "[unit]") {
  Model m(11);
  m.input("x", {1, 2, 3, 4});
  std::vector<float> w(2 * 3 * 2 * 2);  // (C = 2, K = 3, 2, 2)
  for (size_t i = 0; i < w.size(); ++i) w[i] = float(int(i % 7) - 3) / 4;
  m.initializer("w", {2, 3, 2, 2}, w);
  m.initializer("b", {3}, {0.5f, -1, 0.25f});
  auto* n = m.node("ConvTranspose", {"x", "w", "b"}, {"y"}, "up");
  Model::attr(n, "kernel_shape", std::vector<int64_t>{2, 2});
  Model::attr(n, "strides", std::vector<int64_t>{2, 2});
  m.output("y", {1, 3, 6, 8});
  const std::string path = m.save("convtranspose");
  const OnnxModel om = import_onnx(path, {});
  const Graph& g = om.graph;
  CHECK(kinds(g) == std::vector<std::string>{"conv2d", "reshape", "transpose", "reshape", "add"});
  // y[k][2i + a][2j + b] = sum over c of x[c][i][j] w[c][k][a][b], plus b[k].
  const std::vector<Tensor> v = reference_run(g, 1);
  const Tensor& x = v[size_t(g.inputs[0])];
  const Tensor& y = v[size_t(om.outputs[0].second)];
  const float bias[3] = {0.5f, -1, 0.25f};
  for (int k = 0; k < 3; ++k)
    for (int r = 0; r < 6; ++r)
      for (int q = 0; q < 8; ++q) {
        double want = bias[k];
        for (int c = 0; c < 2; ++c)
          want +=
              x.get((c * 3 + r / 2) * 4 + q / 2) * w[size_t(((c * 3 + k) * 2 + r % 2) * 2 + q % 2)];
        CHECK(std::fabs(y.get((k * 6 + r) * 8 + q) - want) <=
              0x1.0p-6 * std::max(1.0, std::fabs(want)));
      }
  for (const char* arch : {"tpu_v4", "gpu_lab"}) {
    const Cli r = run_cli({"run", "--arch", arch, "--workload", path, "--out",
                           temp_dir(std::string("onnx-up-") + arch)});
    INFO(r.output);
    CHECK(has(r, "functional check: passed"));
  }
}

TEST_CASE("ONNX: a tensor of the graph broadcast over leading and middle dims", "[unit]") {
  // An attention mask's (N, 1, 1, S) added to scores (N, H, S, S), and a (3) row added to (2, 3).
  Model m;
  m.input("scores", {2, 3, 4, 5});
  m.input("mask", {2, 1, 1, 5});
  m.input("a", {2, 3});
  m.input("b", {3});
  m.node("Add", {"scores", "mask"}, {"y"}, "masked");
  m.node("Add", {"a", "b"}, {"z"}, "sum");
  m.output("y", {2, 3, 4, 5});
  m.output("z", {2, 3});
  const OnnxModel om = import_onnx(m.save("bcast"), {});
  const Graph& g = om.graph;
  const std::vector<std::string> k = kinds(g);
  CHECK(std::count(k.begin(), k.end(), "matmul") == 2);
  const std::vector<Tensor> v = reference_run(g, 3);
  const auto input = [&](const char* name) -> const Tensor& {
    for (int id : g.inputs)
      if (g.tensor(id).name == name) return v[size_t(id)];
    FAIL("no input " << name);
    return v[0];
  };
  const Tensor &s = input("scores"), &mask = input("mask"), &a = input("a"), &b = input("b");
  const Tensor &y = v[size_t(om.outputs[0].second)], &z = v[size_t(om.outputs[1].second)];
  for (int64_t i = 0; i < y.elements(); ++i) {
    const int64_t n = i / 60, col = i % 5;
    const double want = s.get(i) + mask.get(n * 5 + col);
    CHECK(std::fabs(y.get(i) - want) <= 0x1.0p-7 * std::max(1.0, std::fabs(want)));
  }
  for (int64_t i = 0; i < 6; ++i) {
    const double want = a.get(i) + b.get(i % 3);
    CHECK(std::fabs(z.get(i) - want) <= 0x1.0p-7 * std::max(1.0, std::fabs(want)));
  }
}

TEST_CASE("ONNX: token ids are a gather's int32 ids, an integer mask cast to float an input",
          "[unit]") {
  Model m;
  m.int_input("ids", {2, 3});
  m.int_input("mask", {2, 3});
  m.initializer("table", {5, 2}, {0, 1, 10, 11, 20, 21, 30, 31, 40, 41});
  m.int_initializer("axes", {1});
  m.node("Gather", {"table", "ids"}, {"emb"}, "lookup");  // (2, 3, 2)
  m.node("Unsqueeze", {"mask", "axes"}, {"m3"}, "to3");   // (2, 1, 3)
  Model::attr(m.node("Cast", {"m3"}, {"mf"}, "cast"), "to", int64_t(onnx::TensorProto::FLOAT));
  m.output("emb", {2, 3, 2});
  m.output("mf", {2, 1, 3});
  const OnnxModel om = import_onnx(m.save("ids"), {});
  const Graph& g = om.graph;
  const TensorInfo& ids = named(g, "ids");
  CHECK((ids.dtype == DType::int32 && !ids.is_param));
  CHECK(named(g, "mask/float").dtype == DType::bf16);
  CHECK(kinds(g)[0] == "gather");
  const std::vector<Tensor> v = reference_run(g, 5);
  const Tensor& id = v[size_t(g.inputs[0])];
  const Tensor& emb = v[size_t(om.outputs[0].second)];
  for (int64_t i = 0; i < 6; ++i) {
    CHECK((id.get(i) >= 0 && id.get(i) < 5));
    CHECK(emb.get(i * 2 + 1) == 10 * id.get(i) + 1);
  }
}

TEST_CASE("ONNX: shape arithmetic of exports folds: Range, Gather, Expand, Where, Split, Sqrt",
          "[unit]") {
  Model m(13);
  m.input("x", {2, 4});
  m.initializer("start", {}, {1});
  m.initializer("limit", {}, {5});
  m.initializer("delta", {}, {1});
  m.node("Range", {"start", "limit", "delta"}, {"r"}, "range");  // 1 2 3 4
  m.int_initializer("idx", {3, 0});
  m.node("Gather", {"r", "idx"}, {"g"}, "pick");  // 4 1
  m.int_initializer("shape", {2, 2});
  m.node("Expand", {"g", "shape"}, {"e"}, "expand");  // (2, 2): 4 1 / 4 1
  m.bool_initializer("c", {2, 2}, {true, false, false, true});
  m.initializer("other", {}, {9});
  m.node("Where", {"c", "e", "other"}, {"w"}, "where");  // 4 9 / 9 1
  m.node("Sqrt", {"w"}, {"q"}, "root");                  // 2 3 / 3 1
  m.int_initializer("halves", {1, 1});
  auto* split = m.node("Split", {"q", "halves"}, {"q0", "q1"}, "split");  // (2, 1) each
  Model::attr(split, "axis", int64_t(1));
  Model::attr(m.node("Concat", {"q1", "q0", "q1", "q0"}, {"k"}, "concat"), "axis", int64_t(1));
  m.node("Add", {"x", "k"}, {"y"}, "add");  // k: 3 2 3 2 / 1 3 1 3
  m.output("y", {2, 4});
  const Graph g = import_onnx(m.save("fold-export"), {}).graph;
  CHECK(kinds(g) == std::vector<std::string>{"add"});
  const TensorInfo& c = g.tensor(g.nodes[0].inputs[1]);
  Tensor v(c.shape, c.dtype);
  v.data = c.value;
  const std::vector<double> want = {3, 2, 3, 2, 1, 3, 1, 3};
  for (size_t i = 0; i < want.size(); ++i) CHECK(v.get(int64_t(i)) == want[i]);
}

TEST_CASE(
    "ONNX: ops of a tensor of the graph from exports: Where by a constant mask, Split,"
    " Gather of a constant index, Tanh, Pow, Neg, Min",
    "[unit]") {
  Model m(13);
  m.input("x", {2, 4});
  m.bool_initializer("keep", {2, 4}, {true, false, false, false, true, true, false, false});
  m.initializer("low", {}, {-3.0e38f});
  m.node("Where", {"keep", "x", "low"}, {"w"}, "causal");
  m.int_initializer("parts", {1, 3});
  Model::attr(m.node("Split", {"x", "parts"}, {"s0", "s1"}, "split"), "axis", int64_t(1));
  m.int_initializer("one", {1});
  Model::attr(m.node("Gather", {"x", "one"}, {"g"}, "col"), "axis", int64_t(1));  // (2, 1)
  m.node("Tanh", {"x"}, {"t"}, "tanh");
  m.initializer("two", {}, {2});
  m.node("Pow", {"x", "two"}, {"p"}, "square");
  m.node("Neg", {"p"}, {"n"}, "neg");
  m.initializer("cap", {}, {0.5f});
  m.node("Min", {"n", "cap"}, {"mn"}, "cap");
  for (const char* o : {"w", "s1", "g", "t", "mn"})
    m.output(o, std::string(o) == "s1"  ? std::vector<int64_t>{2, 3}
                : std::string(o) == "g" ? std::vector<int64_t>{2, 1}
                                        : std::vector<int64_t>{2, 4});
  const OnnxModel om = import_onnx(m.save("graph-export-ops"), {});
  const Graph& g = om.graph;
  const std::vector<Tensor> v = reference_run(g, 11);
  const Tensor& x = v[size_t(g.inputs[0])];
  const auto out = [&](size_t i) -> const Tensor& { return v[size_t(om.outputs[i].second)]; };
  const double bf16_top = 0x1.FEp127;  // -3e38 saturates to bf16's lowest finite value
  const bool keep[8] = {true, false, false, false, true, true, false, false};
  for (int64_t i = 0; i < 8; ++i) {
    const double xi = x.get(i), tol = 0x1.0p-6 * std::max(1.0, std::fabs(xi));
    if (keep[i])
      CHECK(out(0).get(i) == xi);
    else
      CHECK((out(0).get(i) < -0.5 * bf16_top && std::isfinite(out(0).get(i))));
    CHECK(std::fabs(out(3).get(i) - std::tanh(xi)) <= 0x1.0p-6);
    CHECK(std::fabs(out(4).get(i) - std::min(-xi * xi, 0.5)) <= tol * std::max(1.0, xi * xi));
  }
  for (int64_t r = 0; r < 2; ++r) {
    for (int64_t c = 0; c < 3; ++c) CHECK(out(1).get(r * 3 + c) == x.get(r * 4 + 1 + c));
    CHECK(out(2).get(r) == x.get(r * 4 + 1));
  }
}

// GELU as exporters write it, with Erf (BERT) or with Tanh and Pow (GPT-2's gelu_new); `half` is
// the factor the pattern needs (0.5), another value leaves the ops unmatched.
std::string gelu_model(bool erf, float half) {
  Model m;
  m.input("x", {2, 8});
  m.initializer("half", {}, {half});
  m.initializer("one", {}, {1});
  if (erf) {
    m.initializer("root2", {}, {float(std::sqrt(2.0))});
    m.node("Div", {"x", "root2"}, {"d"});
    m.node("Erf", {"d"}, {"e"});
    m.node("Add", {"e", "one"}, {"a"});
    m.node("Mul", {"x", "a"}, {"xa"});
    m.node("Mul", {"xa", "half"}, {"y"}, "gelu");
  } else {
    m.initializer("three", {}, {3});
    m.initializer("c", {}, {0.044715f});
    m.initializer("k", {}, {float(std::sqrt(2 / M_PI))});
    m.node("Mul", {"half", "x"}, {"h"});
    m.node("Pow", {"x", "three"}, {"p"});
    m.node("Mul", {"c", "p"}, {"q"});
    m.node("Add", {"x", "q"}, {"r"});
    m.node("Mul", {"k", "r"}, {"s"});
    m.node("Tanh", {"s"}, {"t"});
    m.node("Add", {"one", "t"}, {"u"});
    m.node("Mul", {"h", "u"}, {"y"}, "gelu");
  }
  m.output("y", {2, 8});
  return m.save(std::string("gelu-") + (erf ? "erf" : "tanh") + (half == 0.5f ? "" : "-not"));
}

TEST_CASE("ONNX: GELU written out with Erf or with Tanh maps to gelu", "[unit]") {
  for (bool erf : {true, false}) {
    const Graph g = import_onnx(gelu_model(erf, 0.5f), {}).graph;
    CHECK(kinds(g) == std::vector<std::string>{"gelu"});
    CHECK(g.nodes[0].name == "gelu");
  }
  // Not the pattern: the Erf form's ops one by one (an error at the Erf), the Tanh form's as
  // products, a cube and the tanh's sigmoid.
  CHECK_THAT(error_of([&] { import_onnx(gelu_model(true, 0.25f), {}); }),
             Contains("(Erf): Erf of a tensor of the graph"));
  const Graph g = import_onnx(gelu_model(false, 0.25f), {}).graph;
  const std::vector<std::string> k = kinds(g);
  CHECK(std::count(k.begin(), k.end(), "gelu") == 0);
  CHECK(std::count(k.begin(), k.end(), "sigmoid") == 1);
}

TEST_CASE("ONNX: ReduceMean and ReduceSum of a tensor of the graph are a gemm by a column",
          "[unit]") {
  Model m(13);
  m.input("x", {2, 3, 4});
  auto* mean = m.node("ReduceMean", {"x"}, {"mean"}, "mean");
  Model::attr(mean, "axes", std::vector<int64_t>{1});
  Model::attr(mean, "keepdims", int64_t(0));  // (2, 4)
  m.int_initializer("axes", {0, -1});
  m.node("ReduceSum", {"x", "axes"}, {"sum"}, "sum");  // (1, 3, 1)
  m.output("mean", {2, 4});
  m.output("sum", {1, 3, 1});
  const OnnxModel om = import_onnx(m.save("reduce"), {});
  const Graph& g = om.graph;
  const std::vector<std::string> k = kinds(g);
  CHECK(std::count(k.begin(), k.end(), "gemm") == 2);
  const std::vector<Tensor> v = reference_run(g, 4);
  const Tensor &x = v[size_t(g.inputs[0])], &mv = v[size_t(om.outputs[0].second)],
               &sv = v[size_t(om.outputs[1].second)];
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 4; ++c) {
      double want = 0;
      for (int r = 0; r < 3; ++r) want += x.get(n * 12 + r * 4 + c) / 3;
      CHECK(std::fabs(mv.get(n * 4 + c) - want) <= 0x1.0p-6 * std::max(1.0, std::fabs(want)));
    }
  for (int r = 0; r < 3; ++r) {
    double want = 0;
    for (int n = 0; n < 2; ++n)
      for (int c = 0; c < 4; ++c) want += x.get(n * 12 + r * 4 + c);
    CHECK(std::fabs(sv.get(r) - want) <= 0x1.0p-5 * std::max(1.0, std::fabs(want)));
  }
}
