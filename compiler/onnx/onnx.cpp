// ONNX frontend: protobuf model -> checker -> shape inference -> Graph. The mapping of each op
// type is one function below; docs/onnx.md has the table and the rules.
//
// Values: every ONNX value is either a constant (an initializer, a Constant node, an integer
// shape tensor, or what folding such constants gave), known here as doubles, or a tensor of the
// graph (an activation, or a param made from a constant when a node reads it). A constant
// becomes a param only where a node reads it, in the shape that node needs (a bias broadcast
// to the output's shape is stored broadcast), rounded to the options' dtype.
#include "compiler/onnx/onnx.h"

#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <set>

#include "models/core/numeric.h"

namespace xpusim::compiler {

namespace {

namespace fs = std::filesystem;
using Shape = std::vector<int64_t>;
constexpr int64_t kMaxBroadcast = int64_t(1) << 24;  // values of a constant broadcast at import
using onnx::TensorProto;

std::string shape_str(const Shape& s) {
  return fmt::format("[{}]", fmt::join(s, ", "));
}

int64_t numel(Shape::const_iterator b, Shape::const_iterator e) {
  return elements_of(b, e);  // INT64_MAX when it overflows
}
int64_t numel(const Shape& s) {
  return numel(s.begin(), s.end());
}

bool is_float_type(int t) {
  return t == TensorProto::FLOAT || t == TensorProto::FLOAT16 || t == TensorProto::DOUBLE ||
         t == TensorProto::BFLOAT16;
}

std::string type_name(int t) {
  return onnx::TensorProto_DataType_IsValid(t)
             ? onnx::TensorProto_DataType_Name(onnx::TensorProto_DataType(t))
             : fmt::format("type {}", t);
}

// Little-endian integer of `bytes` bytes at p.
uint64_t load_le(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | uint8_t(p[i]);
  return v;
}

// A TensorProto's values as doubles (int64 shapes and indices are exact below 2^53). `what`
// names the tensor in errors.
std::vector<double> tensor_values(const TensorProto& t, const std::string& what) {
  if (t.data_location() == TensorProto::EXTERNAL)
    throw Error(what + ": values in an external file are not supported");
  const int type = t.data_type();
  int size = 0;  // bytes per element in raw_data
  switch (type) {
    case TensorProto::DOUBLE:
    case TensorProto::INT64:
    case TensorProto::UINT64:
      size = 8;
      break;
    case TensorProto::FLOAT:
    case TensorProto::INT32:
    case TensorProto::UINT32:
      size = 4;
      break;
    case TensorProto::FLOAT16:
    case TensorProto::BFLOAT16:
    case TensorProto::INT16:
    case TensorProto::UINT16:
      size = 2;
      break;
    case TensorProto::INT8:
    case TensorProto::UINT8:
    case TensorProto::BOOL:
      size = 1;
      break;
    default:
      throw Error(fmt::format("{}: element type {} is not supported", what, type_name(type)));
  }
  // Bits of one element (raw_data, or the typed field's entry) to its value.
  const auto decode = [type](uint64_t bits) -> double {
    switch (type) {
      case TensorProto::DOUBLE: {
        double d;
        std::memcpy(&d, &bits, 8);
        return d;
      }
      case TensorProto::FLOAT: {
        const uint32_t u = uint32_t(bits);
        float f;
        std::memcpy(&f, &u, 4);
        return f;
      }
      case TensorProto::FLOAT16:
        return numeric::f16_to_float(uint16_t(bits));
      case TensorProto::BFLOAT16:
        return numeric::bf16_to_float(uint16_t(bits));
      case TensorProto::INT64:
        return double(int64_t(bits));
      case TensorProto::INT32:
        return double(int32_t(uint32_t(bits)));
      case TensorProto::INT16:
        return double(int16_t(uint16_t(bits)));
      case TensorProto::INT8:
        return double(int8_t(uint8_t(bits)));
      default:  // unsigned types and bool
        return double(bits);
    }
  };
  std::vector<double> v;
  if (t.has_raw_data()) {
    const std::string& raw = t.raw_data();
    if (raw.size() % size_t(size) != 0)
      throw Error(fmt::format("{}: raw_data of {} bytes is not a whole number of {}-byte elements",
                              what, raw.size(), size));
    for (size_t i = 0; i < raw.size(); i += size_t(size))
      v.push_back(decode(load_le(raw.data() + i, size)));
  } else if (type == TensorProto::FLOAT) {
    for (float f : t.float_data()) v.push_back(f);
  } else if (type == TensorProto::DOUBLE) {
    for (double d : t.double_data()) v.push_back(d);
  } else if (type == TensorProto::INT64) {
    for (int64_t i : t.int64_data()) v.push_back(double(i));
  } else if (type == TensorProto::UINT64 || type == TensorProto::UINT32) {
    for (uint64_t i : t.uint64_data()) v.push_back(double(i));
  } else {  // int32_data holds the narrower types, fp16 and bf16 as their bits
    for (int32_t i : t.int32_data())
      v.push_back(type == TensorProto::INT32 ? double(i) : decode(uint32_t(i) & 0xffff));
  }
  Shape dims(t.dims().begin(), t.dims().end());
  if (int64_t(v.size()) != numel(dims))
    throw Error(fmt::format("{}: {} values for shape {}", what, v.size(), shape_str(dims)));
  return v;
}

// A TensorProto file (input_N.pb / output_N.pb of ONNX test data).
TensorProto read_tensor_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TensorProto t;
  if (!in || !t.ParseFromIstream(&in))
    throw Error(path + ": cannot be read as an ONNX TensorProto");
  return t;
}

// numpy broadcasting of two shapes; empty optional when they do not broadcast.
bool broadcast_shape(const Shape& a, const Shape& b, Shape& out) {
  out.assign(std::max(a.size(), b.size()), 1);
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    const int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (da != db && da != 1 && db != 1) return false;
    out[out.size() - 1 - i] = std::max(da, db);
  }
  return true;
}

// Values of shape `from` broadcast (numpy rules) to shape `to`.
std::vector<double> expand(const std::vector<double>& data, const Shape& from, const Shape& to) {
  const size_t rank = to.size(), off = rank - from.size();
  Shape stride(rank, 0);  // the source stride of each output dim (0 where broadcast)
  int64_t s = 1;
  for (size_t i = from.size(); i-- > 0;) {
    stride[off + i] = from[i] == 1 ? 0 : s;
    s *= from[i];
  }
  std::vector<double> out(size_t(numel(to)));
  Shape idx(rank, 0);
  int64_t src = 0;
  for (size_t o = 0; o < out.size(); ++o) {
    out[o] = data[size_t(src)];
    for (size_t k = rank; k-- > 0;) {  // odometer
      src += stride[k];
      if (++idx[k] < to[k]) break;
      src -= stride[k] * to[k];
      idx[k] = 0;
    }
  }
  return out;
}

// out[j] = x[i] with i[perm[k]] = j[k], on constants.
// The elements of a row-major tensor of shape s taken from index first[d] by step[d], out[d] of
// them, per dim d.
std::vector<double> slice_values(const std::vector<double>& x, const Shape& s, const Shape& first,
                                 const Shape& step, const Shape& out) {
  Shape in_stride(s.size(), 1);
  for (size_t d = s.size(); d-- > 1;) in_stride[d - 1] = in_stride[d] * s[d];
  std::vector<double> r(size_t(numel(out)));
  Shape j(s.size(), 0);
  for (size_t o = 0; o < r.size(); ++o) {
    int64_t src = 0;
    for (size_t d = 0; d < s.size(); ++d) src += (first[d] + j[d] * step[d]) * in_stride[d];
    r[o] = x[size_t(src)];
    for (size_t d = s.size(); d-- > 0;) {
      if (++j[d] < out[d]) break;
      j[d] = 0;
    }
  }
  return r;
}

std::vector<double> permute(const std::vector<double>& x, const Shape& shape, const Shape& perm) {
  const size_t rank = shape.size();
  Shape in_stride(rank, 1), out_shape(rank);
  for (size_t d = rank; d-- > 1;) in_stride[d - 1] = in_stride[d] * shape[d];
  for (size_t k = 0; k < rank; ++k) out_shape[k] = shape[size_t(perm[k])];
  std::vector<double> out(x.size());
  Shape j(rank, 0);
  for (size_t o = 0; o < out.size(); ++o) {
    int64_t src = 0;
    for (size_t k = 0; k < rank; ++k) src += j[k] * in_stride[size_t(perm[k])];
    out[o] = x[size_t(src)];
    for (size_t k = rank; k-- > 0;) {
      if (++j[k] < out_shape[k]) break;
      j[k] = 0;
    }
  }
  return out;
}

// The op types with a mapping.
const std::set<std::string>& mapped_ops() {
  static const std::set<std::string> ops = {"Add",
                                            "Sub",
                                            "Mul",
                                            "Div",
                                            "Relu",
                                            "Softmax",
                                            "LayerNormalization",
                                            "Gemm",
                                            "MatMul",
                                            "Conv",
                                            "MaxPool",
                                            "AveragePool",
                                            "GlobalAveragePool",
                                            "GlobalMaxPool",
                                            "Reshape",
                                            "Flatten",
                                            "Squeeze",
                                            "Unsqueeze",
                                            "Transpose",
                                            "Identity",
                                            "Dropout",
                                            "Constant",
                                            "BatchNormalization",
                                            "Sigmoid",
                                            "Clip",
                                            "HardSigmoid",
                                            "HardSwish",
                                            "Shape",
                                            "Cast",
                                            "Slice",
                                            "Concat",
                                            "Resize",
                                            "ConvTranspose",
                                            "Gather",
                                            "Expand",
                                            "Where",
                                            "Split",
                                            "Range",
                                            "ConstantOfShape",
                                            "Neg",
                                            "Abs",
                                            "Floor",
                                            "Ceil",
                                            "Not",
                                            "Sqrt",
                                            "Reciprocal",
                                            "Exp",
                                            "Log",
                                            "Erf",
                                            "Tanh",
                                            "Equal",
                                            "Less",
                                            "Greater",
                                            "LessOrEqual",
                                            "GreaterOrEqual",
                                            "And",
                                            "Or",
                                            "Pow",
                                            "Min",
                                            "Max",
                                            "ReduceMean",
                                            "ReduceSum",
                                            "LeakyRelu",
                                            "PRelu",
                                            "Trilu",
                                            "InstanceNormalization"};
  return ops;
}

// One ONNX value: a constant (data known here) or a tensor of the graph.
struct Value {
  Shape shape;
  bool is_int = false;       // an integer tensor: shape data, never a tensor of the graph
  bool known = false;        // data holds the values (a constant, or a bound graph input)
  bool graph_input = false;  // a graph input (a tensor of the graph once a node reads it)
  std::vector<double> data;  // when known
  int tensor = -1;           // the graph's tensor, once there is one
  std::string source;        // an integer graph input's reshaped view: the input's name
};

class Importer {
 public:
  Importer(const std::string& bytes, const std::string& path, const OnnxOptions& opt)
      : bytes_(bytes), file_(path), opt_(opt), loc_{path, 0, 0} {}

  OnnxModel run() {
    onnx::ModelProto model = load();
    const onnx::GraphProto& graph = model.graph();
    for (const auto& op : model.opset_import())
      if (op.domain().empty() || op.domain() == "ai.onnx") opset_ = op.version();
    g_.name = graph.name().empty() ? fs::path(file_).stem().string() : graph.name();
    g_.file = file_;
    scan(graph);
    declare_values(graph);
    for (int i = 0; i < graph.node_size(); ++i) map_node(graph.node(i), i);
    check_shapes(model);
    return finish(graph);
  }

 private:
  const std::string& bytes_;  // the model file's contents
  const std::string file_;
  const OnnxOptions opt_;
  const SourceLoc loc_;
  int64_t opset_ = 1;
  Graph g_;
  std::map<std::string, Value> values_;
  std::map<std::string, Shape> inferred_;  // static shapes from shape inference
  std::map<std::string, int> consumers_;   // how many nodes read each value
  std::set<std::string> graph_outputs_;
  std::set<std::string> reserved_;  // every ONNX value name
  std::set<std::string> tensor_names_, node_names_;
  std::vector<std::string> mapped_names_;               // each ONNX node's name in errors, by index
  std::map<const onnx::NodeProto*, std::string> silu_;  // Mul of x * Sigmoid(x) -> x
  std::map<const onnx::NodeProto*, std::string> gelus_;          // a GELU's last node -> x (scan)
  std::map<const onnx::NodeProto*, std::string> softmax_shift_;  // Softmax of x - max -> x
  std::map<const onnx::NodeProto*, const onnx::NodeProto*> linears_;  // Add -> its MatMul
  // LayerNorm written out as ONNX ops (scan): its last node -> the pattern.
  struct LayerNormPattern {
    std::string x, eps, gamma, beta;         // value names; gamma and beta empty when absent
    const onnx::NodeProto *mean, *variance;  // the two ReduceMeans (an RMSNorm: variance only)
    bool rms = false;                        // an RMSNorm: no mean, no beta
  };
  std::map<const onnx::NodeProto*, LayerNormPattern> layernorms_;
  // The nodes of a pattern mapped by its last node (silu's Sigmoid, layernorm's ReduceMeans...).
  std::set<const onnx::NodeProto*> absorbed_;
  std::map<std::pair<std::string, Shape>, int> params_;      // constants made params, by shape
  std::map<std::pair<std::string, DType>, int> int_inputs_;  // integer graph inputs (int_input)
  std::vector<TensorProto> test_inputs_, test_outputs_;
  // The node being mapped.
  const onnx::NodeProto* node_ = nullptr;
  std::string node_name_;
  size_t first_node_ = 0;  // its first node in g_.nodes

  [[noreturn]] void fail(const std::string& msg) const {
    throw Error(loc_, fmt::format("node '{}' ({}): {}", node_name_, node_->op_type(), msg));
  }

  onnx::ModelProto load() {
    onnx::ModelProto model;
    if (!model.ParseFromString(bytes_) || !model.has_graph())
      throw Error(loc_, "not an ONNX model (the file does not parse as an ONNX ModelProto)");
    try {
      onnx::checker::check_model(model);
    } catch (const std::exception& e) {
      throw Error(loc_, fmt::format("the ONNX checker rejects the model: {}", e.what()));
    }
    return model;
  }

  // Every mapped node's outputs against ONNX's shape inference (a mismatch is a mapping error,
  // never the model's). It runs after the mapping, on a model whose nodes the mapping accepted
  // (their inputs' ranks, attributes and constants checked): libonnx 1.12's inference
  // functions of older op versions index input dims without checking the rank (Gemm-6 reads
  // dim 1 of a 1-D B) and crash on a model that the checker accepts.
  void check_shapes(const onnx::ModelProto& model) {
    for (const auto& vi : model.graph().output()) check_declared(vi, "graph output");
    for (const auto& vi : model.graph().value_info()) check_declared(vi, "value_info");
    onnx::ModelProto inferred = model;
    try {
      onnx::shape_inference::InferShapes(inferred);
    } catch (const std::exception& e) {
      throw Error(loc_, fmt::format("ONNX shape inference rejects the model: {}", e.what()));
    }
    for (const auto& vi : inferred.graph().value_info()) record_inferred(vi);
    for (const auto& vi : inferred.graph().output()) record_inferred(vi);
    const onnx::GraphProto& graph = model.graph();
    for (int n = 0; n < graph.node_size(); ++n) {
      node_ = &graph.node(n);
      node_name_ = mapped_names_[size_t(n)];
      for (int i = 0; i < node_->output_size(); ++i) {
        const auto v = values_.find(node_->output(i));
        const auto s = inferred_.find(node_->output(i));
        if (v == values_.end() || s == inferred_.end() || v->second.shape == s->second) continue;
        fail(fmt::format("output '{}' maps to shape {}, ONNX shape inference gives {}",
                         node_->output(i), shape_str(v->second.shape), shape_str(s->second)));
      }
    }
  }

  // A shape the model declares for a value (a graph output, a value_info) against the mapped
  // one. Inference takes the declared types as they are (a graph output's type even replaces
  // the graph input's of that name) and its older op versions trust their ranks.
  void check_declared(const onnx::ValueInfoProto& vi, const char* what) const {
    const auto v = values_.find(vi.name());
    if (v == values_.end() || !vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape())
      return;
    const auto& dims = vi.type().tensor_type().shape().dim();
    bool fits = dims.size() == int(v->second.shape.size());
    for (int d = 0; fits && d < dims.size(); ++d)
      fits = !dims[d].has_dim_value() || dims[d].dim_value() == v->second.shape[size_t(d)];
    if (fits) return;
    std::vector<std::string> declared;
    for (const auto& d : dims)
      declared.push_back(d.has_dim_value() ? std::to_string(d.dim_value()) : "?");
    throw Error(
        loc_, fmt::format("{} '{}' is declared [{}]; the model computes it as {}", what, vi.name(),
                          fmt::join(declared, ", "), shape_str(v->second.shape)));
  }

  void record_inferred(const onnx::ValueInfoProto& vi) {
    if (!vi.type().has_tensor_type() || !vi.type().tensor_type().has_shape()) return;
    Shape s;
    for (const auto& d : vi.type().tensor_type().shape().dim()) {
      if (!d.has_dim_value()) return;
      s.push_back(d.dim_value());
    }
    inferred_[vi.name()] = s;
  }

  // RMSNorm over the last axis written out (Llama's, T5's): v = ReduceMean(Pow(x, 2)) (or of
  // x * x), then x / Sqrt(v + eps), x * Reciprocal(Sqrt(v + eps)) or x * (1 / Sqrt(v + eps)),
  // then optionally * gamma (a constant): the pattern from the ReduceMean `n`.
  template <class MadeBy, class OnlyReader>
  void scan_rmsnorm(const onnx::NodeProto& n, const MadeBy& made_by, const OnlyReader& only_reader,
                    const std::map<std::string, double>& scalars,
                    const std::set<std::string>& constants) {
    const auto is_scalar = [&](const std::string& v, double want) {
      const auto it = scalars.find(v);
      return it != scalars.end() && (std::isnan(want) || it->second == want);
    };
    const auto reader = [&](const onnx::NodeProto* of, const char* type) {
      const onnx::NodeProto* r = of ? only_reader(of->output(0)) : nullptr;
      return r && r->op_type() == type && r->domain().empty() ? r : nullptr;
    };
    const auto other = [](const onnx::NodeProto* b, const std::string& v) {
      return b->input(0) == v ? b->input(1) : b->input(0);
    };
    if (absorbed_.count(&n)) return;  // the variance of a LayerNorm pattern
    std::string x;
    const onnx::NodeProto* sq = made_by(n.input(0), "Pow", 1);
    if (sq && sq->input_size() == 2 && is_scalar(sq->input(1), 2)) {
      x = sq->input(0);
    } else if ((sq = made_by(n.input(0), "Mul", 1)) && sq->input_size() == 2 &&
               sq->input(0) == sq->input(1)) {
      x = sq->input(0);
    } else {
      return;
    }
    const onnx::NodeProto* add = reader(&n, "Add");
    if (!add || add->input_size() != 2 || !is_scalar(other(add, n.output(0)), NAN)) return;
    const onnx::NodeProto* root = reader(add, "Sqrt");
    if (!root) return;
    std::vector<const onnx::NodeProto*> nodes{sq, &n, add, root};
    const onnx::NodeProto* y = nullptr;
    if (const onnx::NodeProto* d = reader(root, "Div")) {  // x / s, or 1 / s then * x
      if (d->input(1) == root->output(0) && d->input(0) == x) {
        y = d;
      } else if (d->input(1) == root->output(0) && is_scalar(d->input(0), 1)) {
        nodes.push_back(d);
        y = reader(d, "Mul");
      }
    } else if (const onnx::NodeProto* r = reader(root, "Reciprocal")) {
      nodes.push_back(r);
      y = reader(r, "Mul");
    }
    if (!y || y->input_size() != 2 ||
        (y->op_type() == "Mul" && other(y, nodes.back()->output(0)) != x))
      return;
    LayerNormPattern p{x, other(add, n.output(0)), "", "", nullptr, &n, true};
    const onnx::NodeProto* last = y;
    if (const onnx::NodeProto* g = reader(y, "Mul"); g && g->input_size() == 2) {
      const std::string& c = other(g, y->output(0));
      if (constants.count(c)) {
        p.gamma = c;
        nodes.push_back(y);
        last = g;
      }
    }
    absorbed_.insert(nodes.begin(), nodes.end());
    layernorms_[last] = p;
  }

  // Consumers, the ops without a mapping (one error listing them all), the silu patterns.
  void scan(const onnx::GraphProto& graph) {
    for (const auto& o : graph.output()) graph_outputs_.insert(o.name());
    for (const auto& vi : graph.input()) reserved_.insert(vi.name());
    for (const auto& t : graph.initializer()) reserved_.insert(t.name());
    std::map<std::string, const onnx::NodeProto*> producer;
    for (const auto& n : graph.node()) {
      for (const auto& i : n.input()) consumers_[i]++;
      for (const auto& o : n.output()) {
        reserved_.insert(o);
        producer[o] = &n;
      }
    }
    // Scalar constants (initializers and Constant nodes of one value), for the patterns.
    std::set<std::string> constants;
    std::map<std::string, double> scalars;
    for (const auto& t : graph.initializer()) {
      constants.insert(t.name());
      if (is_float_type(t.data_type()) && numel(Shape(t.dims().begin(), t.dims().end())) == 1)
        scalars[t.name()] =
            tensor_values(t, fmt::format("{}: initializer '{}'", file_, t.name()))[0];
    }
    for (const auto& n : graph.node())
      if (n.op_type() == "Constant" && n.output_size() == 1 && n.attribute_size() == 1) {
        constants.insert(n.output(0));
        const auto& a = n.attribute(0);
        if (a.name() == "value" && is_float_type(a.t().data_type()) &&
            numel(Shape(a.t().dims().begin(), a.t().dims().end())) == 1)
          scalars[n.output(0)] =
              tensor_values(a.t(), fmt::format("{}: Constant '{}'", file_, n.output(0)))[0];
        else if (a.name() == "value_float")
          scalars[n.output(0)] = a.f();
      }
    // An Identity of a constant is that constant (PyTorch's exporter names one initializer
    // through Identity nodes where several parameters hold the same values).
    for (const auto& n : graph.node())
      if (n.op_type() == "Identity" && n.input_size() == 1 && n.output_size() == 1 &&
          constants.count(n.input(0))) {
        constants.insert(n.output(0));
        if (const auto it = scalars.find(n.input(0)); it != scalars.end())
          scalars[n.output(0)] = it->second;
      }
    // The node of op `type` that makes value v, read by `reads` nodes only (and not a graph
    // output); null otherwise.
    const auto made_by = [&](const std::string& v, const char* type,
                             int reads) -> const onnx::NodeProto* {
      const auto it = producer.find(v);
      if (it == producer.end() || it->second->op_type() != type || !it->second->domain().empty() ||
          consumers_[v] != reads || graph_outputs_.count(v))
        return nullptr;
      return it->second;
    };
    const auto scalar_is = [&](const std::string& v, double want) {
      const auto it = scalars.find(v);
      return it != scalars.end() && it->second == want;
    };
    const auto only_reader = [&](const std::string& v) -> const onnx::NodeProto* {
      if (consumers_[v] != 1 || graph_outputs_.count(v)) return nullptr;
      for (const auto& n : graph.node())
        for (const auto& i : n.input())
          if (i == v) return &n;
      return nullptr;
    };
    for (const auto& n : graph.node()) {
      if (!n.domain().empty() || n.input_size() != 2) continue;
      // x * Sigmoid(x) or x * Sigmoid(x * 1) (PaddlePaddle's swish), the Sigmoid's output (and
      // the product) read by that Mul only: silu(x).
      if (n.op_type() == "Mul")
        for (int k = 0; k < 2; ++k) {
          const std::string& x = n.input(1 - k);
          const onnx::NodeProto* s = made_by(n.input(k), "Sigmoid", 1);
          if (!s) continue;
          const onnx::NodeProto* one = made_by(s->input(0), "Mul", 1);
          if (one && one->input_size() == 2 &&
              !((one->input(0) == x && scalar_is(one->input(1), 1)) ||
                (one->input(1) == x && scalar_is(one->input(0), 1))))
            one = nullptr;
          if (s->input(0) != x && !one) continue;
          silu_[&n] = x;
          absorbed_.insert(s);
          if (one) absorbed_.insert(one);
          break;
        }
      // LayerNorm over the last axis written out: d = x - ReduceMean(x); d / Sqrt(ReduceMean(
      // Pow(d, 2)) + eps), then optionally * gamma and + beta (constants).
      if (n.op_type() == "Div") {
        const onnx::NodeProto* sub = made_by(n.input(0), "Sub", 2);
        const onnx::NodeProto* sqrt = made_by(n.input(1), "Sqrt", 1);
        if (!sub || !sqrt) continue;
        const onnx::NodeProto* mean = made_by(sub->input(1), "ReduceMean", 1);
        const onnx::NodeProto* add = made_by(sqrt->input(0), "Add", 1);
        if (!mean || mean->input(0) != sub->input(0) || !add || add->input_size() != 2) continue;
        const int e = scalars.count(add->input(1)) ? 1 : scalars.count(add->input(0)) ? 0 : -1;
        if (e < 0) continue;
        const onnx::NodeProto* variance = made_by(add->input(1 - e), "ReduceMean", 1);
        if (!variance) continue;
        const onnx::NodeProto* pow = made_by(variance->input(0), "Pow", 1);
        if (!pow || pow->input(0) != n.input(0) || !scalar_is(pow->input(1), 2)) continue;
        LayerNormPattern p{sub->input(0), add->input(e), "", "", mean, variance};
        const onnx::NodeProto* last = &n;
        const auto affine = [&](const char* type, std::string& into) {
          const onnx::NodeProto* r = only_reader(last->output(0));
          if (!r || r->op_type() != type || !r->domain().empty() || r->input_size() != 2) return;
          const int c = r->input(0) == last->output(0) ? 1 : 0;
          if (!constants.count(r->input(c))) return;
          into = r->input(c);
          absorbed_.insert(last);
          last = r;
        };
        affine("Mul", p.gamma);
        if (!p.gamma.empty()) affine("Add", p.beta);
        for (const onnx::NodeProto* q : {mean, sub, pow, variance, add, sqrt}) absorbed_.insert(q);
        layernorms_[last] = p;
      }
    }
    // GELU written out: x * 0.5 * (1 + Erf(x / sqrt(2))) (x / sqrt(2) also as x * (1 / sqrt(2)))
    // and the tanh form x * 0.5 * (1 + Tanh(sqrt(2 / pi) * (x + 0.044715 * Pow(x, 3)))), the
    // products in any order (0.5 * x as a node of its own too): gelu(x), whose reference is the
    // tanh form (docs/onnx.md says how far it is from the Erf one).
    const auto near = [&](const std::string& v, double want) {
      const auto it = scalars.find(v);
      return it != scalars.end() && std::abs(it->second - want) <= 1e-5 * std::abs(want);
    };
    // The last of a chain of Muls from `from` that multiplies its output by x and by 0.5, each
    // reading the one before only; the chain's nodes but the last go to `nodes`.
    const auto times_half_x = [&](const onnx::NodeProto* from, const std::string& x,
                                  std::vector<const onnx::NodeProto*>& nodes) {
      bool have_x = false, have_half = false;
      const onnx::NodeProto* last = from;
      while (!(have_x && have_half)) {
        const onnx::NodeProto* m = only_reader(last->output(0));
        if (!m || m->op_type() != "Mul" || !m->domain().empty() || m->input_size() != 2)
          return static_cast<const onnx::NodeProto*>(nullptr);
        const std::string& f = m->input(0) == last->output(0) ? m->input(1) : m->input(0);
        const onnx::NodeProto* h = made_by(f, "Mul", 1);
        if (f == x && !have_x) {
          have_x = true;
        } else if (near(f, 0.5) && !have_half) {
          have_half = true;
        } else if (h && !have_x && !have_half && h->input_size() == 2 &&
                   ((h->input(0) == x && near(h->input(1), 0.5)) ||
                    (h->input(1) == x && near(h->input(0), 0.5)))) {
          have_x = have_half = true;
          nodes.push_back(h);
        } else {
          return static_cast<const onnx::NodeProto*>(nullptr);
        }
        nodes.push_back(last);
        last = m;
      }
      return last;
    };
    // The input of a two-input node other than the constant near `want`; empty when neither is.
    const auto times = [&](const onnx::NodeProto* n, double want) {
      if (!n || n->input_size() != 2) return std::string();
      return near(n->input(1), want)   ? n->input(0)
             : near(n->input(0), want) ? n->input(1)
                                       : std::string();
    };
    for (const auto& n : graph.node()) {
      if (!n.domain().empty() || n.input_size() != 1) continue;
      std::vector<const onnx::NodeProto*> nodes{&n};
      std::string x;
      if (n.op_type() == "ReduceMean") {
        scan_rmsnorm(n, made_by, only_reader, scalars, constants);
        continue;
      }
      if (n.op_type() == "Erf") {
        const onnx::NodeProto* d = made_by(n.input(0), "Div", 1);
        if (d && d->input_size() == 2 && near(d->input(1), std::sqrt(2.0))) {
          x = d->input(0);
        } else {
          d = made_by(n.input(0), "Mul", 1);
          x = times(d, std::sqrt(0.5));
        }
        nodes.push_back(d);
      } else if (n.op_type() == "Tanh") {
        const onnx::NodeProto* s = made_by(n.input(0), "Mul", 1);
        const std::string sum = times(s, std::sqrt(2 / M_PI));
        const onnx::NodeProto* r = sum.empty() ? nullptr : made_by(sum, "Add", 1);
        for (int k = 0; r && r->input_size() == 2 && k < 2 && x.empty(); ++k) {
          const onnx::NodeProto* q = made_by(r->input(1 - k), "Mul", 1);
          const std::string cube = times(q, 0.044715);
          const onnx::NodeProto* p = cube.empty() ? nullptr : made_by(cube, "Pow", 1);
          if (!p || p->input_size() != 2 || p->input(0) != r->input(k) ||
              !scalar_is(p->input(1), 3))
            continue;
          x = r->input(k);
          nodes.insert(nodes.end(), {s, r, q, p});
        }
      }
      if (x.empty()) continue;
      const onnx::NodeProto* a = only_reader(n.output(0));
      if (!a || a->op_type() != "Add" || !a->domain().empty() || times(a, 1).empty()) continue;
      const onnx::NodeProto* last = times_half_x(a, x, nodes);
      if (!last) continue;
      absorbed_.insert(nodes.begin(), nodes.end());
      gelus_[last] = x;
    }
    // Softmax(x - ReduceMax(x)) over one axis (an export's own shift for stability, torchaudio's
    // attention): softmax(x), the same values (the IR's softmax shifts by the row's maximum).
    const auto ints = [](const onnx::NodeProto& n, const char* name, std::vector<int64_t> def) {
      for (const auto& a : n.attribute())
        if (a.name() == name) return std::vector<int64_t>(a.ints().begin(), a.ints().end());
      return def;
    };
    const auto int_attr = [](const onnx::NodeProto& n, const char* name, int64_t def) {
      for (const auto& a : n.attribute())
        if (a.name() == name) return a.i();
      return def;
    };
    for (const auto& n : graph.node()) {
      if (n.op_type() != "Softmax" || !n.domain().empty() || n.input_size() != 1) continue;
      const onnx::NodeProto* sub = made_by(n.input(0), "Sub", 1);
      if (!sub || sub->input_size() != 2) continue;
      const onnx::NodeProto* max = made_by(sub->input(1), "ReduceMax", 1);
      if (!max || max->input_size() != 1 || max->input(0) != sub->input(0) ||
          int_attr(*max, "keepdims", 1) != 1 ||
          ints(*max, "axes", {}) !=
              std::vector<int64_t>{int_attr(n, "axis", opset_ >= 13 ? -1 : 1)})
        continue;
      absorbed_.insert({sub, max});
      softmax_shift_[&n] = sub->input(0);
    }
    // MatMul(x, W) + b, b a constant (a Linear layer): mapped at the Add, as one gemm with the
    // bias where the shapes allow (map_linear).
    for (const auto& n : graph.node()) {
      if (n.op_type() != "Add" || !n.domain().empty() || n.input_size() != 2 || absorbed_.count(&n))
        continue;
      for (int k = 0; k < 2; ++k) {
        const onnx::NodeProto* mm = made_by(n.input(k), "MatMul", 1);
        if (!mm || absorbed_.count(mm) || !constants.count(n.input(1 - k))) continue;
        linears_[&n] = mm;
        absorbed_.insert(mm);
        break;
      }
    }
    std::map<std::string, int> missing;
    int total = 0;
    for (const auto& n : graph.node()) {
      const bool standard = n.domain().empty() || n.domain() == "ai.onnx";
      const std::string type = standard ? n.op_type() : n.domain() + "." + n.op_type();
      if ((standard && mapped_ops().count(n.op_type())) || absorbed_.count(&n)) continue;
      missing[type]++;
      total++;
    }
    if (missing.empty()) return;
    std::vector<std::pair<std::string, int>> list(missing.begin(), missing.end());
    std::stable_sort(list.begin(), list.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    std::vector<std::string> items;
    for (const auto& [type, count] : list) items.push_back(fmt::format("{} x{}", type, count));
    throw Error(
        loc_, fmt::format("{} unsupported op{}: {} (docs/onnx.md lists the ops xpusim maps)", total,
                          total == 1 ? "" : "s", fmt::join(items, ", ")));
  }

  // Initializers (constants), graph inputs (with the test data's values when given).
  void declare_values(const onnx::GraphProto& graph) {
    for (const auto& t : graph.initializer()) {
      Value v;
      v.shape.assign(t.dims().begin(), t.dims().end());
      v.is_int = !is_float_type(t.data_type());
      v.known = true;
      v.data = tensor_values(t, fmt::format("{}: initializer '{}'", file_, t.name()));
      values_[t.name()] = std::move(v);
    }
    std::vector<const onnx::ValueInfoProto*> inputs;
    for (const auto& vi : graph.input())
      if (!values_.count(vi.name())) inputs.push_back(&vi);
    if (!opt_.test_data.empty()) read_test_data(inputs.size(), size_t(graph.output_size()));
    std::set<std::string> named_dims;  // the inputs' dim_params
    for (size_t i = 0; i < inputs.size(); ++i) {
      const onnx::ValueInfoProto& vi = *inputs[i];
      const std::string what = fmt::format("graph input '{}'", vi.name());
      if (!vi.type().has_tensor_type())
        throw Error(loc_, what + ": only tensor inputs are supported");
      const auto& tt = vi.type().tensor_type();
      if (!tt.has_shape() && test_inputs_.empty())
        throw Error(loc_, what + " has no shape; give its values (--onnx-test-data)");
      Value v;
      v.graph_input = true;
      v.is_int = !is_float_type(tt.elem_type());
      const TensorProto* bound = test_inputs_.empty() ? nullptr : &test_inputs_[i];
      for (const auto& d : tt.shape().dim()) {
        if (d.has_dim_value() && d.dim_value() < 1)
          throw Error(loc_, fmt::format("{}: dim {}{} (a dim is >= 1, or a name when unknown)",
                                        what, d.dim_value(),
                                        d.dim_value() == 0 ? " would make an empty tensor" : ""));
        int64_t size = d.has_dim_value() ? d.dim_value() : -1;
        if (!d.has_dim_value() && !d.dim_param().empty()) {
          named_dims.insert(d.dim_param());
          const auto given = opt_.dims.find(d.dim_param());
          if (given != opt_.dims.end()) size = given->second;
        }
        v.shape.push_back(size);
      }
      if (bound) {
        const std::string file =
            (fs::path(opt_.test_data) / fmt::format("input_{}.pb", i)).string();
        const Shape dims(bound->dims().begin(), bound->dims().end());
        bool fits = dims.size() == v.shape.size();
        for (size_t d = 0; fits && d < dims.size(); ++d)
          fits = v.shape[d] == -1 || v.shape[d] == dims[d];
        if (!fits || bound->data_type() != tt.elem_type())
          throw Error(fmt::format("{}: {} {} does not fit {} of {} ({} {})", file,
                                  type_name(bound->data_type()), shape_str(dims), what, file_,
                                  type_name(tt.elem_type()), shape_str(v.shape)));
        v.shape = dims;
        v.known = true;
        v.data = tensor_values(*bound, file);
      }
      for (size_t d = 0; d < v.shape.size(); ++d)
        if (v.shape[d] == 0)
          throw Error(loc_, fmt::format("{}: dim {} is 0 (an empty tensor); the graph's tensors "
                                        "have dims >= 1",
                                        what, d));
        else if (v.shape[d] < 1) {
          const std::string& name = tt.shape().dim(int(d)).dim_param();
          throw Error(
              loc_,
              fmt::format("{}: dim {} is '{}', not a fixed size; give {}the values "
                          "(--onnx-test-data) or export the model with fixed "
                          "sizes",
                          what, d, name,
                          name.empty() ? "" : fmt::format("its size (--param {}=SIZE), ", name)));
        }
      values_[vi.name()] = std::move(v);
    }
    for (const auto& [name, size] : opt_.dims) {
      if (!named_dims.count(name))
        throw Error(loc_,
                    fmt::format("--param {}: the graph inputs have no dim of that name "
                                "({})",
                                name,
                                named_dims.empty()
                                    ? "they have no named dims"
                                    : "theirs: " + fmt::format("{}", fmt::join(named_dims, ", "))));
      if (size < 1)
        throw Error(loc_, fmt::format("--param {}={}: a dim's size is >= 1", name, size));
    }
  }

  void read_test_data(size_t inputs, size_t outputs) {
    std::error_code ec;
    if (!fs::is_directory(opt_.test_data, ec))
      throw Error("--onnx-test-data " + opt_.test_data + ": no such folder");
    const auto read_all = [&](const char* kind, size_t want, std::vector<TensorProto>& into) {
      for (size_t i = 0;; ++i) {
        const fs::path p = fs::path(opt_.test_data) / fmt::format("{}_{}.pb", kind, i);
        if (!fs::exists(p, ec)) break;
        into.push_back(read_tensor_file(p.string()));
      }
      if (into.size() != want)
        throw Error(fmt::format("--onnx-test-data {}: {} {}_N.pb files, the model {} has {} {}{}",
                                opt_.test_data, into.size(), kind, file_, want, kind,
                                std::string(kind) == "input" ? "s (not initializers)" : "s"));
    };
    read_all("input", inputs, test_inputs_);
    read_all("output", outputs, test_outputs_);
  }

  // ---- names and tensors ----

  std::string unique(std::set<std::string>& used, const std::string& base, bool reserve) {
    std::string name = base;
    for (int i = 1; used.count(name) || (reserve && reserved_.count(name)); ++i)
      name = fmt::format("{}.{}", base, i);
    used.insert(name);
    return name;
  }

  int new_tensor(const std::string& name, const Shape& shape, bool is_param,
                 const std::vector<double>* data) {
    return new_tensor(name, shape, is_param, data, opt_.dtype);
  }
  int new_tensor(const std::string& name, const Shape& shape, bool is_param,
                 const std::vector<double>* data, DType dtype) {
    TensorInfo t;
    t.name = name;
    t.shape = shape;
    t.dtype = dtype;
    t.is_param = is_param;
    t.loc = loc_;
    if (data) {
      Tensor v(shape, dtype);
      for (size_t i = 0; i < data->size(); ++i) v.set(int64_t(i), (*data)[i]);
      t.value = std::move(v.data);
    }
    g_.tensors.push_back(std::move(t));
    return int(g_.tensors.size()) - 1;
  }

  Value& value(const std::string& name) {
    const auto it = values_.find(name);
    if (it == values_.end()) fail(fmt::format("input '{}' has no value", name));
    return it->second;
  }
  bool has_input(int i) const { return node_->input_size() > i && !node_->input(i).empty(); }
  Value& in(int i) {
    if (!has_input(i)) fail(fmt::format("input {} is missing", i));
    return value(node_->input(i));
  }
  const std::string& in_name(int i) const { return node_->input(i); }

  // The values of input i, which must be known here (a constant, or a graph input bound by
  // the test data).
  const std::vector<double>& known(int i, const char* what) {
    Value& v = in(i);
    if (!v.known)
      fail(fmt::format(
          "{} '{}' must be a constant (an initializer or a Constant node){}", what, in_name(i),
          v.graph_input ? "; a graph input takes its value from --onnx-test-data" : ""));
    return v.data;
  }
  std::vector<int64_t> known_ints(int i, const char* what) {
    std::vector<int64_t> r;
    for (double d : known(i, what))  // INT64_MAX (an open end) reads as 2^63 from a double
      r.push_back(d >= 0x1p63 ? INT64_MAX : d <= -0x1p63 ? INT64_MIN : int64_t(d));
    return r;
  }

  // Constant values as a param of `shape` (broadcast from `from`, or the same count of elements
  // in another shape), made once per value and shape when `name` is a value's name.
  int constant_param(const std::string& name, const std::vector<double>& data, const Shape& from,
                     const Shape& shape, bool cache) {
    if (cache) {
      const auto it = params_.find({name, shape});
      if (it != params_.end()) return it->second;
    }
    // The same count of elements: the same row-major order (a reshape); else a broadcast.
    Shape b;
    const bool same_count = numel(from) == numel(shape);
    if (!same_count && (!broadcast_shape(from, shape, b) || b != shape))
      fail(fmt::format("'{}' {} cannot be broadcast to {}", name, shape_str(from),
                       shape_str(shape)));
    std::vector<double> v = same_count ? data : broadcast(data, from, shape);
    // A finite constant beyond the dtype's range saturates to its largest finite value: a mask
    // of fp32's lowest value (-3.4e38) stays a finite mask in bf16 and fp16, as a model exported
    // in that dtype writes its own lowest value.
    const double top = opt_.dtype == DType::fp16   ? 65504.0
                       : opt_.dtype == DType::bf16 ? 0x1.FEp127
                                                   : double(std::numeric_limits<float>::max());
    for (double& e : v)
      if (std::isfinite(e)) e = std::clamp(e, -top, top);
    // A constant read as it is keeps its ONNX name; a broadcast or folded one gets a suffix.
    const bool own = cache && from == shape;
    const int id = new_tensor(unique(tensor_names_,
                                     own     ? name
                                     : cache ? name + "/broadcast"
                                             : name,
                                     !own),
                              shape, true, &v);
    if (cache) params_[{name, shape}] = id;
    return id;
  }
  // A constant's values broadcast to `to`, which the import stores in full: at most
  // kMaxBroadcast elements (a bias broadcast over a large activation is the usual case).
  std::vector<double> broadcast(const std::vector<double>& data, const Shape& from,
                                const Shape& to) const {
    if (numel(to) > kMaxBroadcast)
      fail(
          fmt::format("a constant {} broadcast to {} would hold more than 2^24 values, which "
                      "the import stores in full",
                      shape_str(from), shape_str(to)));
    return expand(data, from, to);
  }

  // A constant filled with x, of `shape`.
  int fill(double x, const Shape& shape, const std::string& what) {
    const std::vector<double> one{x};
    return constant_param(node_name_ + "/" + what, one, {1}, shape, false);
  }

  // The graph tensor of a graph input (made on first use).
  int input_tensor(Value& v, const std::string& name) {
    if (v.tensor < 0) {
      v.tensor = new_tensor(unique(tensor_names_, name, false), v.shape, false,
                            v.known ? &v.data : nullptr);
      g_.inputs.push_back(v.tensor);
    }
    return v.tensor;
  }

  // An integer graph input read by the graph: as a gather's ids (int32) or cast to float (the
  // run's dtype). Input i is the graph input or a reshaped view of it (map_shape_op); the tensor
  // has the graph input's shape, made once per input and dtype (an input read both ways is two
  // tensors of the graph: generated data gives them different values, test data the same).
  int int_input(int i, DType dtype) {
    const std::string src = in(i).source.empty() ? in_name(i) : in(i).source;
    Value& v = value(src);
    const auto [it, made] = int_inputs_.try_emplace({src, dtype}, -1);
    if (made) {
      it->second = new_tensor(unique(tensor_names_, dtype == DType::int32 ? src : src + "/float",
                                     dtype != DType::int32),
                              v.shape, false, v.known ? &v.data : nullptr, dtype);
      g_.inputs.push_back(it->second);
    }
    return it->second;
  }

  // Input i as a tensor of the graph in its own shape: an activation, or a constant as a param.
  int act(int i) { return act(in_name(i)); }
  // The same for the value of that name.
  int act(const std::string& name) {
    Value& v = value(name);
    if (v.is_int)
      fail(
          fmt::format("input '{}' is an integer tensor; xpusim computes float tensors only", name));
    if (v.shape.empty())
      fail(
          fmt::format("input '{}' is a scalar (rank 0); the graph's tensors have rank >= 1", name));
    if (v.graph_input) return input_tensor(v, name);
    if (v.tensor >= 0) return materialize(v, name);
    return constant_param(name, v.data, v.shape, v.shape, true);
  }

  // A reshape of src to `shape`, appended outside of a node's mapping, named after a value.
  int reshape_node(int src, const Shape& shape, const std::string& name) {
    Node n;
    n.name = unique(node_names_, name, false);
    n.kind = OpKind::reshape;
    n.attrs.shape = shape;
    n.inputs = {src};
    n.loc = loc_;
    n.outputs = {new_tensor(unique(tensor_names_, name, false), shape, false, nullptr)};
    g_.nodes.push_back(std::move(n));
    return g_.nodes.back().outputs[0];
  }

  // The tensor of value v (named `name`): a flattened view (map_shape_op) is reshaped here,
  // once, for a reader other than a gemm.
  int materialize(Value& v, const std::string& name) {
    if (g_.tensors[size_t(v.tensor)].shape != v.shape)
      v.tensor = reshape_node(v.tensor, v.shape, name);
    return v.tensor;
  }

  // Input i as a tensor of `shape`: itself when it has that shape, a constant broadcast to it.
  int operand(int i, const Shape& shape) {
    Value& v = in(i);
    if (v.shape == shape) return act(i);
    if (!v.known && !v.is_int) return broadcast_activation(i, shape);
    if (!v.known || v.is_int)
      fail(
          fmt::format("input '{}' {} would be broadcast to {}: xpusim broadcasts constants only "
                      "(initializers, Constant nodes{})",
                      in_name(i), shape_str(v.shape), shape_str(shape),
                      v.graph_input ? ", graph inputs bound by --onnx-test-data" : ""));
    return constant_param(in_name(i), v.data, v.shape, shape, true);
  }

  // Input i, a tensor of the graph, broadcast to `shape`. The IR has no broadcast: a shape whose
  // broadcast dims all trail the others (an SE block's (N, C, 1, 1) scale of (N, C, H, W)) is its
  // (rows, 1) reshape times a (1, cols) row of ones, a gemm of K = 1; any other (an attention
  // mask's (N, 1, 1, S) added to (N, H, S, S)) takes, per run of broadcast dims, a matmul of
  // K = 1: (pre, run, 1) ones times the tensor as (pre, 1, post), pre and post the sizes of the
  // dims before and after the run. Reshaped to `shape` at the end. A real compiler fuses the
  // broadcast into its reader: the model times products it would not run.
  int broadcast_activation(int i, const Shape& shape) { return broadcast_to(act(i), shape); }
  int broadcast_to(int t, const Shape& shape) {
    const Shape& from = g_.tensors[size_t(t)].shape;
    Shape cur(shape.size() - std::min(shape.size(), from.size()), 1);
    cur.insert(cur.end(), from.begin(), from.end());
    Shape b;
    if (cur.size() != shape.size() || !broadcast_shape(cur, shape, b) || b != shape)
      fail(fmt::format("{} cannot be broadcast to {}", shape_str(from), shape_str(shape)));
    size_t k = 0;
    while (k < shape.size() && cur[k] == shape[k]) ++k;
    bool trailing = true;
    for (size_t d = k; trailing && d < cur.size(); ++d) trailing = cur[d] == 1;
    if (trailing) {
      const int64_t rows = numel(shape.begin(), shape.begin() + long(k)),
                    cols = numel(shape.begin() + long(k), shape.end());
      const int a = reshape(t, {rows, 1}, "broadcast_rows");
      const int g = emit(OpKind::gemm, {a, fill(1, {1, cols}, "ones")}, OpAttrs{}, "broadcast");
      return reshape(g, shape, "broadcast");
    }
    for (size_t d = 0; d < cur.size();) {
      if (cur[d] == shape[d]) {
        ++d;
        continue;
      }
      size_t e = d;
      while (e < cur.size() && cur[e] != shape[e]) cur[e] = shape[e], ++e;
      const int64_t pre = numel(cur.begin(), cur.begin() + long(d)),
                    run = numel(cur.begin() + long(d), cur.begin() + long(e)),
                    post = numel(cur.begin() + long(e), cur.end());
      const int x = reshape(t, {pre, 1, post}, "broadcast_rows");
      t = emit(OpKind::matmul, {fill(1, {pre, run, 1}, "ones"), x}, OpAttrs{}, "broadcast");
      d = e;
    }
    return reshape(t, shape, "broadcast");
  }

  // Input i in a weight's role (a param of the op: conv2d's W, gemm's B, a norm's gamma), of
  // `shape`: a constant, or a graph input, which becomes a param with its bound or generated
  // values; a tensor computed by a node cannot be one.
  int weight(int i, const Shape& shape, const char* what) {
    Value& v = in(i);
    if (v.known && !v.graph_input) return constant_param(in_name(i), v.data, v.shape, shape, true);
    if (!v.graph_input || v.is_int || numel(v.shape) != numel(shape))
      fail(
          fmt::format("{} '{}' {} must be a constant or a graph input of {} elements; the IR "
                      "takes it as a param",
                      what, in_name(i), shape_str(v.shape), numel(shape)));
    if (v.tensor < 0) {
      v.tensor = new_tensor(unique(tensor_names_, in_name(i), false), shape, true,
                            v.known ? &v.data : nullptr);
    }
    TensorInfo& t = g_.tensors[size_t(v.tensor)];
    if (t.shape != shape)
      fail(fmt::format("{} '{}' is read as {} here and as {} by another node", what, in_name(i),
                       shape_str(shape), shape_str(t.shape)));
    if (!t.is_param) {  // read as an activation before: a param from now on
      t.is_param = true;
      g_.inputs.erase(std::find(g_.inputs.begin(), g_.inputs.end(), v.tensor));
    }
    return v.tensor;
  }

  // Appends a node; `what` names a helper node ("<node>/<what>"); the node's last one is renamed
  // after the ONNX node and its output by set_output.
  int emit(OpKind kind, std::vector<int> inputs, const OpAttrs& attrs, const std::string& what) {
    Node n;
    n.name = unique(node_names_, node_name_ + "/" + what, false);
    n.kind = kind;
    n.inputs = std::move(inputs);
    n.attrs = attrs;
    n.loc = loc_;
    const Shape shape = infer_output_shape(g_, n);
    n.outputs.push_back(new_tensor(
        unique(tensor_names_,
               (node_->output(0).empty() ? node_name_ : node_->output(0)) + "/" + what, true),
        shape, false, nullptr));
    g_.nodes.push_back(std::move(n));
    return g_.nodes.back().outputs[0];
  }
  int reshape(int t, const Shape& shape, const std::string& what) {
    if (g_.tensors[size_t(t)].shape == shape) return t;
    OpAttrs a;
    a.shape = shape;
    return emit(OpKind::reshape, {t}, a, what);
  }
  int transpose(int t, const Shape& perm, const std::string& what) {
    bool identity = true;
    for (size_t k = 0; k < perm.size(); ++k) identity = identity && perm[k] == int64_t(k);
    if (identity) return t;
    OpAttrs a;
    a.perm = perm;
    return emit(OpKind::transpose, {t}, a, what);
  }
  int unary(OpKind kind, int t) { return emit(kind, {t}, OpAttrs{}, op_name(kind)); }
  int binary(OpKind kind, int a, int b) { return emit(kind, {a, b}, OpAttrs{}, op_name(kind)); }

  // Output i of the node is tensor t; a tensor the node made takes the output's name.
  void set_output(int i, int t) {
    const std::string& name = node_->output(i);
    Value v;
    v.shape = g_.tensors[size_t(t)].shape;
    v.tensor = t;
    if (!g_.nodes.empty() && g_.nodes.size() > first_node_ && g_.nodes.back().outputs[0] == t) {
      Node& last = g_.nodes.back();
      node_names_.erase(last.name);
      last.name = unique(node_names_, node_name_, false);
      TensorInfo& info = g_.tensors[size_t(t)];
      tensor_names_.erase(info.name);
      info.name = unique(tensor_names_, name, false);
    }
    values_[name] = std::move(v);
  }
  void set_constant(int i, const Shape& shape, std::vector<double> data, bool is_int) {
    Value v;
    v.shape = shape;
    v.known = true;
    v.is_int = is_int;
    v.data = std::move(data);
    values_[node_->output(i)] = std::move(v);
  }
  // Whether output i exists and something reads it.
  bool output_used(int i) const {
    if (node_->output_size() <= i || node_->output(i).empty()) return false;
    const std::string& o = node_->output(i);
    const auto it = consumers_.find(o);
    return graph_outputs_.count(o) || (it != consumers_.end() && it->second > 0);
  }
  void only_first_output() {
    for (int i = 1; i < node_->output_size(); ++i)
      if (output_used(i))
        fail(fmt::format("its output {} '{}' is used; xpusim maps output 0 only", i,
                         node_->output(i)));
  }

  // ---- attributes ----

  const onnx::AttributeProto* attr(const char* name) const {
    for (const auto& a : node_->attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  int64_t attr_int(const char* name, int64_t def) const {
    const auto* a = attr(name);
    return a ? a->i() : def;
  }
  double attr_float(const char* name, double def) const {
    const auto* a = attr(name);
    return a ? a->f() : def;
  }
  std::string attr_string(const char* name, const std::string& def) const {
    const auto* a = attr(name);
    return a ? a->s() : def;
  }
  std::vector<int64_t> attr_ints(const char* name) const {
    const auto* a = attr(name);
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
  }
  // An ints attribute that must have n values when given.
  std::vector<int64_t> attr_ints(const char* name, size_t n) const {
    std::vector<int64_t> v = attr_ints(name);
    if (!v.empty() && v.size() != n)
      fail(fmt::format("attribute '{}' has {} values, expected {}", name, v.size(), n));
    return v;
  }
  // An axis attribute or input normalised to [0, rank).
  int64_t axis(int64_t a, size_t rank) const {
    const int64_t r = int64_t(rank);
    if (a < -r || a >= r) fail(fmt::format("axis {} is out of range for rank {}", a, r));
    return a < 0 ? a + r : a;
  }

  // ---- the mapping, one function per op type ----

  void map_node(const onnx::NodeProto& n, int index) {
    node_ = &n;
    node_name_ = unique(
        node_names_, n.name().empty() ? fmt::format("{}_{}", n.op_type(), index) : n.name(), false);
    node_names_.erase(node_name_);  // taken by the node's last graph node (set_output)
    mapped_names_.push_back(node_name_);
    first_node_ = g_.nodes.size();
    const std::string& op = n.op_type();
    if (absorbed_.count(&n)) return;  // in a pattern that its last node maps (scan)
    if (linears_.count(&n)) {
      map_linear(*linears_.at(&n));
      return;
    }
    if (layernorms_.count(&n)) {
      map_layernorm_pattern(layernorms_.at(&n));
      return;
    }
    if (gelus_.count(&n)) {
      set_output(0, unary(OpKind::gelu, act(gelus_.at(&n))));
      return;
    }
    if (op == "Identity" || op == "Dropout") {
      map_identity();
    } else if (op == "Constant") {
      map_constant();
    } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
      map_binary(op);
    } else if (op == "Relu" || op == "Sigmoid") {
      map_activation(op == "Relu" ? OpKind::relu : OpKind::sigmoid);
    } else if (op == "Clip") {
      map_clip();
    } else if (op == "HardSigmoid" || op == "HardSwish") {
      map_hard(op == "HardSwish");
    } else if (op == "Shape") {
      map_shape();
    } else if (op == "Cast") {
      map_cast();
    } else if (op == "Slice") {
      map_slice();
    } else if (op == "Concat") {
      map_concat();
    } else if (op == "Resize") {
      map_resize();
    } else if (op == "ConvTranspose") {
      map_conv_transpose();
    } else if (op == "Gather") {
      map_gather();
    } else if (op == "Expand") {
      map_expand();
    } else if (op == "Where") {
      map_where();
    } else if (op == "Split") {
      map_split();
    } else if (op == "Range") {
      map_range();
    } else if (op == "ReduceMean" || op == "ReduceSum") {
      map_reduce(op);
    } else if (op == "LeakyRelu" || op == "PRelu") {
      map_leaky_relu(op == "PRelu");
    } else if (op == "ConstantOfShape") {
      map_constant_of_shape();
    } else if (op == "Trilu") {
      map_trilu();
    } else if (op == "Neg" || op == "Abs" || op == "Floor" || op == "Ceil" || op == "Not" ||
               op == "Sqrt" || op == "Reciprocal" || op == "Exp" || op == "Log" || op == "Erf" ||
               op == "Tanh") {
      map_unary(op);
    } else if (op == "Equal" || op == "Less" || op == "Greater" || op == "LessOrEqual" ||
               op == "GreaterOrEqual" || op == "And" || op == "Or" || op == "Pow" || op == "Min" ||
               op == "Max") {
      map_elementwise(op);
    } else if (op == "Softmax") {
      map_softmax();
    } else if (op == "LayerNormalization") {
      map_layernorm();
    } else if (op == "BatchNormalization") {
      map_batchnorm();
    } else if (op == "InstanceNormalization") {
      map_instance_norm();
    } else if (op == "Gemm") {
      map_gemm();
    } else if (op == "MatMul") {
      map_matmul();
    } else if (op == "Conv") {
      map_conv();
    } else if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool" ||
               op == "GlobalMaxPool") {
      map_pool(op);
    } else {
      map_shape_op(op);
    }
  }

  void map_identity() {
    if (node_->op_type() == "Dropout") {
      only_first_output();
      if (has_input(2) && (!in(2).known || in(2).data.size() != 1 || in(2).data[0] != 0))
        fail("training_mode must be a constant false (inference: Dropout passes its input)");
    }
    if (in(0).graph_input)
      set_output(0, act(0));
    else
      values_[node_->output(0)] = in(0);
  }

  void map_constant() {
    if (node_->attribute_size() != 1)
      fail(fmt::format("{} attributes, expected one (the value)", node_->attribute_size()));
    const onnx::AttributeProto& a = node_->attribute(0);
    const std::string& name = a.name();
    if (name == "value") {
      const Shape dims(a.t().dims().begin(), a.t().dims().end());
      set_constant(0, dims, tensor_values(a.t(), fmt::format("{}: node '{}'", file_, node_name_)),
                   !is_float_type(a.t().data_type()));
    } else if (name == "value_float") {
      set_constant(0, {}, {a.f()}, false);
    } else if (name == "value_floats") {
      set_constant(0, {a.floats_size()}, {a.floats().begin(), a.floats().end()}, false);
    } else if (name == "value_int") {
      set_constant(0, {}, {double(a.i())}, true);
    } else if (name == "value_ints") {
      std::vector<double> d;
      for (int64_t i : a.ints()) d.push_back(double(i));
      set_constant(0, {a.ints_size()}, d, true);
    } else {
      fail(fmt::format("attribute '{}' is not supported (value, value_float(s), value_int(s))",
                       name));
    }
  }

  void map_binary(const std::string& op) {
    if (op == "Mul" && silu_.count(node_)) {  // the Sigmoid's output has no value
      set_output(0, unary(OpKind::silu, act(silu_[node_] == in_name(0) ? 0 : 1)));
      return;
    }
    Value &a = in(0), &b = in(1);
    Shape out;
    if (!broadcast_shape(a.shape, b.shape, out))
      fail(
          fmt::format("inputs {} and {} do not broadcast", shape_str(a.shape), shape_str(b.shape)));
    if (a.known && b.known && !a.graph_input && !b.graph_input) {  // fold
      const std::vector<double> x = broadcast(a.data, a.shape, out),
                                y = broadcast(b.data, b.shape, out);
      std::vector<double> r(x.size());
      for (size_t i = 0; i < r.size(); ++i)
        r[i] = op == "Add"   ? x[i] + y[i]
               : op == "Sub" ? x[i] - y[i]
               : op == "Mul" ? x[i] * y[i]
               : a.is_int    ? std::trunc(x[i] / y[i])
                             : x[i] / y[i];
      set_constant(0, out, r, a.is_int);
      return;
    }
    const int x = operand(0, out);
    if (op == "Add" || op == "Mul") {
      set_output(0, binary(op == "Add" ? OpKind::add : OpKind::mul, x, operand(1, out)));
      return;
    }
    if (b.known && (op == "Div" || !b.graph_input)) {  // a - c = a + (-c), a / c = a * (1 / c)
      std::vector<double> c = b.data;
      for (double& e : c) {
        if (op == "Div" && e == 0) fail(fmt::format("divisor '{}' holds a 0", in_name(1)));
        e = op == "Sub" ? -e : 1.0 / e;
      }
      const int y = constant_param(in_name(1) + (op == "Sub" ? "/neg" : "/reciprocal"), c, b.shape,
                                   out, false);
      set_output(0, binary(op == "Sub" ? OpKind::add : OpKind::mul, x, y));
      return;
    }
    if (op == "Div")
      fail(fmt::format("the divisor '{}' is not a constant; the IR has no division", in_name(1)));
    // a - b = a + b * (-1): exact, as the product by -1 is.
    const int neg = binary(OpKind::mul, operand(1, out), fill(-1, out, "minus_one"));
    set_output(0, binary(OpKind::add, x, neg));
  }

  // Relu, Sigmoid (not inside x * Sigmoid(x): silu, scan).
  void map_activation(OpKind kind) {
    Value& x = in(0);
    if (x.known && !x.graph_input) {
      std::vector<double> r = x.data;
      for (double& e : r) e = kind == OpKind::relu ? std::max(e, 0.0) : 1 / (1 + std::exp(-e));
      set_constant(0, x.shape, r, kind == OpKind::relu && x.is_int);
      return;
    }
    set_output(0, unary(kind, act(0)));
  }

  // Clip: bounds from the attributes (opset < 11) or the constant inputs 1 and 2; ONNX gives max
  // when min > max.
  void map_clip() {
    double lo = -INFINITY, hi = INFINITY;
    const auto bound = [&](int i, const char* what, double& b) {
      if (!has_input(i)) return;
      const std::vector<double>& v = known(i, what);
      if (v.size() != 1)
        fail(fmt::format("{} '{}' holds {} values, expected one", what, in_name(i), v.size()));
      b = v[0];
    };
    if (opset_ < 11) {
      lo = attr_float("min", lo);
      hi = attr_float("max", hi);
    } else {
      bound(1, "min", lo);
      bound(2, "max", hi);
    }
    if (std::isnan(lo) || std::isnan(hi)) fail("a bound is NaN");
    lo = std::min(lo, hi);
    Value& x = in(0);
    if (x.known && !x.graph_input) {
      std::vector<double> r = x.data;
      for (double& e : r) e = std::min(std::max(e, lo), hi);
      set_constant(0, x.shape, r, x.is_int);
      return;
    }
    if (lo == -INFINITY && hi == INFINITY) {
      set_output(0, act(0));
    } else if (lo == 0 && hi == INFINITY) {
      set_output(0, unary(OpKind::relu, act(0)));
    } else {
      set_output(0, clip(act(0), lo, hi));
    }
  }
  int clip(int t, double lo, double hi) {
    OpAttrs a;
    a.clip_min = lo;
    a.clip_max = hi;
    return emit(OpKind::clip, {t}, a, "clip");
  }

  // HardSigmoid: clip(alpha x + beta, 0, 1); HardSwish: x HardSigmoid(x) with alpha 1/6, beta
  // 1/2. As a mul and an add by constants and a clip (the IR has no op of its own for them).
  void map_hard(bool swish) {
    const double alpha = swish ? 1.0 / 6 : attr_float("alpha", 0.2),
                 beta = swish ? 0.5 : attr_float("beta", 0.5);
    Value& x = in(0);
    if (x.known && !x.graph_input) {
      std::vector<double> r = x.data;
      for (double& e : r) e = (swish ? e : 1.0) * std::min(std::max(alpha * e + beta, 0.0), 1.0);
      set_constant(0, x.shape, r, false);
      return;
    }
    const int t = act(0);
    const Shape s = g_.tensors[size_t(t)].shape;
    const int scaled = binary(OpKind::mul, t, fill(alpha, s, "alpha"));
    const int h = clip(binary(OpKind::add, scaled, fill(beta, s, "beta")), 0, 1);
    set_output(0, swish ? binary(OpKind::mul, t, h) : h);
  }

  // Shape: the dims (from `start` to `end`, opset >= 15) as a constant: every shape is static.
  void map_shape() {
    const Shape& s = in(0).shape;
    const int64_t r = int64_t(s.size());
    const auto clamp = [&](int64_t a) { return std::clamp(a < 0 ? a + r : a, int64_t(0), r); };
    const int64_t b = clamp(attr_int("start", 0)), e = clamp(attr_int("end", r));
    std::vector<double> d;
    for (int64_t i = b; i < e; ++i) d.push_back(double(s[size_t(i)]));
    set_constant(0, {int64_t(d.size())}, d, true);
  }

  // Cast: folded on constants (to an integer type: toward zero, to bool: != 0); on a tensor of
  // the graph only from float to float, which changes nothing (the model is computed in one
  // dtype, --dtype).
  void map_cast() {
    const int to = int(attr_int("to", 0));
    if (!onnx::TensorProto_DataType_IsValid(to) || to == TensorProto::UNDEFINED)
      fail(fmt::format("'to' is {}, not a tensor type", to));
    const bool to_float = is_float_type(to);
    Value& x = in(0);
    if (x.known && !x.graph_input) {
      std::vector<double> r = x.data;
      if (to == TensorProto::BOOL)
        for (double& e : r) e = e != 0;
      else if (!to_float)
        for (double& e : r) e = std::trunc(e);
      set_constant(0, x.shape, r, !to_float);
      return;
    }
    if (x.is_int && x.graph_input && to_float) {  // an attention mask given as integers
      set_output(0, reshape(int_input(0, opt_.dtype), x.shape, "view"));
      return;
    }
    if (x.is_int || !to_float)
      fail(
          fmt::format("casts a tensor of the graph to {}; xpusim computes float tensors only "
                      "(a cast of a constant is folded, an integer graph input may be cast to "
                      "float)",
                      type_name(to)));
    set_output(0, act(0));
  }

  // Slice: folded on constants; on a tensor of the graph one slice per axis cut (steps >= 1).
  void map_slice() {
    Value& x = in(0);
    const Shape s = x.shape;
    std::vector<int64_t> starts, ends, axes, steps;
    if (opset_ < 10) {
      starts = attr_ints("starts");
      ends = attr_ints("ends");
      axes = attr_ints("axes");
    } else {
      starts = known_ints(1, "starts");
      ends = known_ints(2, "ends");
      if (has_input(3)) axes = known_ints(3, "axes");
      if (has_input(4)) steps = known_ints(4, "steps");
    }
    const size_t n = starts.size();
    if (axes.empty())
      for (size_t i = 0; i < n; ++i) axes.push_back(int64_t(i));
    if (steps.empty()) steps.assign(n, 1);
    if (ends.size() != n || axes.size() != n || steps.size() != n)
      fail(fmt::format("starts, ends, axes and steps hold {}, {}, {} and {} values", n, ends.size(),
                       axes.size(), steps.size()));
    // Per dim: the first element, the step and the count taken (python-style clamping).
    Shape first(s.size(), 0), step(s.size(), 1), out = s;
    std::vector<bool> cut(s.size(), false);
    for (size_t i = 0; i < n; ++i) {
      const size_t ax = size_t(axis(axes[i], s.size()));
      if (cut[ax]) fail(fmt::format("axes lists axis {} twice", ax));
      cut[ax] = true;
      const int64_t dim = s[ax], st = steps[i];
      if (st == 0) fail("a step is 0");
      const auto resolve = [&](int64_t v, int64_t lo, int64_t hi) {
        if (v < 0) v = v < -dim ? -dim - 1 : v + dim;  // INT64_MIN stays below the range
        return std::clamp(v, lo, hi);
      };
      const int64_t b = st > 0 ? resolve(starts[i], 0, dim) : resolve(starts[i], 0, dim - 1);
      const int64_t e = st > 0 ? resolve(ends[i], 0, dim) : resolve(ends[i], -1, dim - 1);
      const int64_t span = st > 0 ? e - b : b - e, a = st > 0            ? st
                                                       : st == INT64_MIN ? INT64_MAX
                                                                         : -st;
      const int64_t count = span > 0 ? (span + a - 1) / a : 0;
      if (count == 0) fail(fmt::format("axis {} keeps no element (an empty tensor)", ax));
      first[ax] = b;
      step[ax] = st;
      out[ax] = count;
    }
    if (x.known && !x.graph_input) {
      set_constant(0, out, slice_values(x.data, s, first, step, out), x.is_int);
      return;
    }
    int t = act(0);
    for (size_t d = 0; d < s.size(); ++d) {
      if (out[d] == s[d]) continue;  // the whole dim
      if (step[d] < 0) fail(fmt::format("a negative step (axis {}) on a tensor of the graph", d));
      OpAttrs a;
      a.axis = int64_t(d);
      a.start = first[d];
      a.step = step[d];
      a.end = first[d] + (out[d] - 1) * step[d] + 1;
      t = emit(OpKind::slice, {t}, a, "slice");
    }
    set_output(0, t);
  }

  // Concat: folded when every input is a constant, else the IR's concat.
  void map_concat() {
    if (!attr("axis")) fail("attribute 'axis' is missing");
    const Shape s0 = in(0).shape;
    if (s0.empty()) fail("input 0 is a scalar (rank 0)");
    const int64_t ax = axis(attr_int("axis", 0), s0.size());
    bool all_known = true;
    Shape out = s0;
    out[size_t(ax)] = 0;
    for (int i = 0; i < node_->input_size(); ++i) {
      const Value& v = in(i);
      Shape a = v.shape, b = s0;
      if (a.size() != b.size())
        fail(fmt::format("input {} {} and input 0 {} differ in rank", i, shape_str(a),
                         shape_str(s0)));
      a[size_t(ax)] = b[size_t(ax)] = 0;
      if (a != b)
        fail(fmt::format("input {} {} and input 0 {} differ beyond axis {}", i, shape_str(v.shape),
                         shape_str(s0), ax));
      out[size_t(ax)] += v.shape[size_t(ax)];
      all_known = all_known && v.known && !v.graph_input;
    }
    if (all_known) {
      const int64_t outer = numel(s0.begin(), s0.begin() + ax);
      std::vector<double> r;
      for (int64_t o = 0; o < outer; ++o)
        for (int i = 0; i < node_->input_size(); ++i) {
          const Value& v = in(i);
          const int64_t block = numel(v.shape.begin() + ax, v.shape.end());
          r.insert(r.end(), v.data.begin() + o * block, v.data.begin() + (o + 1) * block);
        }
      set_constant(0, out, r, in(0).is_int);
      return;
    }
    std::vector<int> inputs;
    for (int i = 0; i < node_->input_size(); ++i) inputs.push_back(act(i));
    OpAttrs a;
    a.axis = ax;
    set_output(0, emit(OpKind::concat, inputs, a, "concat"));
  }

  // Softmax over the last axis; another axis through a transpose (opset >= 13) or a flatten of
  // the axes from `axis` on (opset < 13, where Softmax is over those axes together).
  void map_softmax() {
    const auto shift = softmax_shift_.find(node_);
    const int x = shift != softmax_shift_.end() ? act(shift->second) : act(0);
    const Shape s = g_.tensors[size_t(x)].shape;
    const int64_t ax = axis(attr_int("axis", opset_ >= 13 ? -1 : 1), s.size());
    const int64_t last = int64_t(s.size()) - 1;
    if (ax == last) {
      set_output(0, unary(OpKind::softmax, x));
    } else if (opset_ < 13) {
      const int flat =
          reshape(x, {numel(s.begin(), s.begin() + ax), numel(s.begin() + ax, s.end())}, "flatten");
      set_output(0, reshape(unary(OpKind::softmax, flat), s, "unflatten"));
    } else {
      Shape perm(s.size());
      for (size_t k = 0; k < perm.size(); ++k) perm[k] = int64_t(k);
      std::swap(perm[size_t(ax)], perm[size_t(last)]);
      const int y = unary(OpKind::softmax, transpose(x, perm, "to_last"));
      set_output(0, transpose(y, perm, "from_last"));
    }
  }

  // LayerNormalization over the axes from `axis` on: over the last axis of X flattened to
  // (rows, D), Scale and B flattened to (D).
  void map_layernorm() {
    only_first_output();
    const int x = act(0);
    const Shape s = g_.tensors[size_t(x)].shape;
    const int64_t ax = axis(attr_int("axis", -1), s.size());
    const int64_t d = numel(s.begin() + ax, s.end());
    const Shape norm(s.begin() + ax, s.end());
    const auto param = [&](int i, const char* what) {
      Value& v = in(i);
      if (v.known && v.shape != norm) {  // broadcast to the normalised axes, then flattened
        Shape b;
        if (!broadcast_shape(v.shape, norm, b) || b != norm)
          fail(fmt::format("{} '{}' {} does not broadcast to {}", what, in_name(i),
                           shape_str(v.shape), shape_str(norm)));
        return constant_param(in_name(i), broadcast(v.data, v.shape, norm), norm, {d}, false);
      }
      return weight(i, {d}, what);
    };
    OpAttrs a;
    a.eps = attr_float("epsilon", 1e-5);
    const int gamma = param(1, "Scale");
    const int beta = has_input(2) ? param(2, "B") : fill(0, {d}, "zero_bias");
    const int flat = reshape(x, {numel(s.begin(), s.begin() + ax), d}, "flatten");
    const int y = emit(OpKind::layernorm, {flat, gamma, beta}, a, "layernorm");
    set_output(0, reshape(y, s, "unflatten"));
  }

  // A LayerNorm that the model writes out (scan): layernorm over the last axis.
  void map_layernorm_pattern(const LayerNormPattern& p) {
    const int x = act(p.x);
    const Shape s = g_.tensors[size_t(x)].shape;
    for (const onnx::NodeProto* r : {p.mean, p.variance}) {
      if (!r) continue;
      std::vector<int64_t> axes;
      int64_t keepdims = 1;
      for (const auto& a : r->attribute()) {
        if (a.name() == "axes") axes.assign(a.ints().begin(), a.ints().end());
        if (a.name() == "keepdims") keepdims = a.i();
      }
      if (r->input_size() > 1 || axes.size() != 1 ||
          axis(axes[0], s.size()) != int64_t(s.size()) - 1 || !keepdims)
        fail(
            fmt::format("{} written out whose ReduceMean '{}' is not over the last axis "
                        "alone, with keepdims",
                        p.rms ? "an RMSNorm" : "a LayerNorm", r->output(0)));
    }
    const int64_t d = s.back();
    const auto param = [&](const std::string& name, double absent, const char* what) {
      if (name.empty()) return fill(absent, {d}, what);
      const Value& v = value(name);
      Shape b;
      if (!v.known || v.is_int || !broadcast_shape(v.shape, {d}, b) || b != Shape{d})
        fail(fmt::format("the {} '{}' {} of a LayerNorm over {} values", what, name,
                         shape_str(v.shape), d));
      return constant_param(name, broadcast(v.data, v.shape, {d}), {d}, {d}, false);
    };
    OpAttrs a;
    a.eps = value(p.eps).data.at(0);
    const int gamma = param(p.gamma, 1, "scale");
    const int flat = reshape(x, {numel(s) / d, d}, "flatten");
    const int y =
        p.rms ? emit(OpKind::rmsnorm, {flat, gamma}, a, "rmsnorm")
              : emit(OpKind::layernorm, {flat, gamma, param(p.beta, 0, "bias")}, a, "layernorm");
    set_output(0, reshape(y, s, "unflatten"));
  }

  // BatchNormalization in inference: y = x * s + t per channel (dim 1), s = scale /
  // sqrt(var + epsilon) and t = B - mean * s computed here from the constants, each broadcast
  // over X's shape: a mul and an add.
  void map_batchnorm() {
    only_first_output();
    if (attr_int("training_mode", 0)) fail("training_mode=1 (the batch's statistics)");
    const int x = act(0);
    const Shape shape = g_.tensors[size_t(x)].shape;
    if (shape.size() < 2) fail(fmt::format("input {} has no channel dim", shape_str(shape)));
    const int64_t c = shape[1];
    const double eps = attr_float("epsilon", 1e-5);
    const std::vector<double>&scale = known(1, "scale"), &bias = known(2, "B"),
          &mean = known(3, "input_mean"), &var = known(4, "input_var");
    for (int i = 1; i <= 4; ++i)
      if (in(i).shape != Shape{c})
        fail(fmt::format("'{}' is {}, expected [{}] (one value per channel)", in_name(i),
                         shape_str(in(i).shape), c));
    std::vector<double> mul(static_cast<size_t>(c)), add(static_cast<size_t>(c));
    for (size_t k = 0; k < size_t(c); ++k) {
      mul[k] = scale[k] / std::sqrt(var[k] + eps);
      add[k] = bias[k] - mean[k] * mul[k];
    }
    Shape per_channel(shape.size(), 1);
    per_channel[1] = c;
    const int y = binary(OpKind::mul, x,
                         constant_param(node_name_ + "/scale", mul, per_channel, shape, false));
    set_output(0, binary(OpKind::add, y,
                         constant_param(node_name_ + "/shift", add, per_channel, shape, false)));
  }

  // InstanceNormalization: each (sample, channel) normalised over the other dims, a layernorm
  // over the last axis of X flattened to (N C, D...) with a unit scale and no bias, then the
  // per-channel scale and B (a mul and an add broadcast over X, left out where 1 and 0).
  void map_instance_norm() {
    const int x = act(0);
    const Shape shape = g_.tensors[size_t(x)].shape;
    if (shape.size() < 3)
      fail(fmt::format("input {} has no dims beyond the channel", shape_str(shape)));
    const int64_t c = shape[1], rows = shape[0] * c, d = numel(shape) / rows;
    const std::vector<double>&scale = known(1, "scale"), &bias = known(2, "B");
    for (int i = 1; i <= 2; ++i)
      if (in(i).shape != Shape{c})
        fail(fmt::format("'{}' is {}, expected [{}] (one value per channel)", in_name(i),
                         shape_str(in(i).shape), c));
    OpAttrs a;
    a.eps = attr_float("epsilon", 1e-5);
    const int flat = reshape(x, {rows, d}, "flatten");
    int y =
        reshape(emit(OpKind::layernorm,
                     {flat, fill(1, {d}, "unit_scale"), fill(0, {d}, "zero_bias")}, a, "layernorm"),
                shape, "unflatten");
    Shape per_channel(shape.size(), 1);
    per_channel[1] = c;
    const auto all = [](const std::vector<double>& v, double want) {
      return std::all_of(v.begin(), v.end(), [&](double e) { return e == want; });
    };
    if (!all(scale, 1))
      y = binary(OpKind::mul, y,
                 constant_param(node_name_ + "/scale", scale, per_channel, shape, false));
    if (!all(bias, 0))
      y = binary(OpKind::add, y,
                 constant_param(node_name_ + "/shift", bias, per_channel, shape, false));
    set_output(0, y);
  }

  // Y = alpha A' B' + beta C. With B a constant: a gemm with B' alpha folded into its weights;
  // otherwise a matmul of batch 1.
  void map_gemm() {
    const double alpha = attr_float("alpha", 1), beta = attr_float("beta", 1);
    const bool trans_b = attr_int("transB", 0) != 0;
    // A flattened view (map_shape_op) as it is: the gemm flattens it the same way.
    Value& va = in(0);
    const bool view = !attr_int("transA", 0) && va.tensor >= 0 && !va.graph_input &&
                      g_.tensors[size_t(va.tensor)].shape != va.shape;
    int a = view ? va.tensor : act(0);
    if (attr_int("transA", 0)) a = transpose(a, {1, 0}, "transpose_a");
    const Shape sa = view ? va.shape : g_.tensors[size_t(a)].shape;
    Value& vb = in(1);
    if (sa.size() != 2 || vb.shape.size() != 2)
      fail(fmt::format("A {} and B {} must be 2-D", shape_str(sa), shape_str(vb.shape)));
    const Shape sb = trans_b ? Shape{vb.shape[1], vb.shape[0]} : vb.shape;
    const Shape out{sa[0], sb[1]};
    // A constant C of one value per column (a Linear layer's bias): the gemm's bias (beta
    // folded), where the gemm's output is the result (alpha folded into B, or 1).
    const bool c_bias = has_input(2) && beta != 0 && in(2).known && !in(2).graph_input &&
                        numel(in(2).shape) == sb[1] && in(2).shape.back() == sb[1];
    const auto gemm = [&](int b) {
      if (!c_bias) return binary(OpKind::gemm, a, b);
      std::vector<double> v = in(2).data;
      for (double& e : v) e *= beta;
      const int bias = constant_param(in_name(2) + (beta == 1 ? "" : "/scaled"), v, in(2).shape,
                                      {sb[1]}, beta == 1);
      return emit(OpKind::gemm, {a, b, bias}, OpAttrs{}, "gemm");
    };
    int y;
    bool scaled = false, biased = false;
    if (vb.known && !vb.graph_input) {
      std::vector<double> w = trans_b ? permute(vb.data, vb.shape, {1, 0}) : vb.data;
      for (double& e : w) e *= alpha;
      const bool as_is = !trans_b && alpha == 1;
      const int b =
          as_is ? weight(1, sb, "B") : constant_param(in_name(1) + "/folded", w, sb, sb, false);
      y = gemm(b);
      scaled = true;
      biased = c_bias;
    } else if (vb.graph_input && !trans_b && alpha == 1) {
      y = gemm(weight(1, sb, "B"));
      biased = c_bias;
    } else if (vb.graph_input && !trans_b) {
      y = binary(OpKind::gemm, a, weight(1, sb, "B"));
    } else {
      int b = act(1);
      if (trans_b) b = transpose(b, {1, 0}, "transpose_b");
      const int m = binary(OpKind::matmul, reshape(a, {1, sa[0], sa[1]}, "a3"),
                           reshape(b, {1, sb[0], sb[1]}, "b3"));
      y = reshape(m, out, "y2");
    }
    if (!scaled && alpha != 1) y = binary(OpKind::mul, y, fill(alpha, out, "alpha"));
    if (has_input(2) && beta != 0 && !biased) {
      Value& c = in(2);
      int cb;
      if (c.known && !c.graph_input) {
        std::vector<double> v = c.data;
        for (double& e : v) e *= beta;
        cb = beta == 1 ? operand(2, out)
                       : constant_param(in_name(2) + "/scaled", v, c.shape, out, false);
      } else {
        cb = operand(2, out);
        if (beta != 1) cb = binary(OpKind::mul, cb, fill(beta, out, "beta"));
      }
      y = binary(OpKind::add, y, cb);
    }
    set_output(0, y);
  }

  // MatMul then an Add of a constant of one value per column (a Linear layer written as
  // MatMul and Add; scan): a gemm with that bias where the MatMul maps to a gemm, the two mapped
  // one by one otherwise.
  void map_linear(const onnx::NodeProto& matmul) {
    const onnx::NodeProto* add = node_;
    const std::string& c = add->input(add->input(0) == matmul.output(0) ? 1 : 0);
    const Value& bias = value(c);
    node_ = &matmul;
    const Shape sb = in(1).shape;
    if (sb.size() == 2 && (in(1).known || in(1).graph_input) && bias.known && !bias.graph_input &&
        !bias.is_int && !bias.shape.empty() && bias.shape.back() == sb[1] &&
        numel(bias.shape) == sb[1]) {
      const std::pair<std::string, const Value*> b{c, &bias};
      map_matmul(&b, add);
      return;
    }
    map_matmul();
    node_ = add;
    map_binary("Add");
  }

  // MatMul: with a 2-D constant B, a gemm of A's rows (with `bias`, a constant of one value
  // per column, its output is `to`'s); otherwise a matmul over the batch dims (which must
  // agree, or belong to a constant that is broadcast).
  void map_matmul(const std::pair<std::string, const Value*>* bias = nullptr,
                  const onnx::NodeProto* to = nullptr) {
    Value &va = in(0), &vb = in(1);
    if (va.shape.size() < 2 || vb.shape.size() < 2)
      fail(fmt::format("inputs {} and {} must have rank >= 2", shape_str(va.shape),
                       shape_str(vb.shape)));
    const Shape sa = va.shape, sb = vb.shape;
    const int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
    if (sb[sb.size() - 2] != k)
      fail(fmt::format("inner dims differ: A {} and B {}", shape_str(sa), shape_str(sb)));
    Shape batch;
    if (!broadcast_shape(Shape(sa.begin(), sa.end() - 2), Shape(sb.begin(), sb.end() - 2), batch))
      fail(fmt::format("batch dims of {} and {} do not broadcast", shape_str(sa), shape_str(sb)));
    Shape out = batch;
    out.push_back(m);
    out.push_back(n);
    if (sb.size() == 2 && (vb.known || vb.graph_input)) {  // B a weight: a gemm
      // A 2-D flattened view (map_shape_op) as it is: the gemm flattens it the same way.
      const bool view = sa.size() == 2 && va.tensor >= 0 && !va.graph_input &&
                        g_.tensors[size_t(va.tensor)].shape != sa;
      const int rows = view ? va.tensor : reshape(act(0), {numel(sa) / k, k}, "rows");
      std::vector<int> ins{rows, weight(1, sb, "B")};
      if (bias)
        ins.push_back(
            constant_param(bias->first, bias->second->data, bias->second->shape, {n}, true));
      const int y = reshape(emit(OpKind::gemm, ins, OpAttrs{}, "gemm"), out, "unflatten");
      if (to) node_ = to;  // the Add's output, named after it
      set_output(0, y);
      return;
    }
    const int64_t b = numel(batch);
    Shape full_a = batch, full_b = batch;
    full_a.insert(full_a.end(), {m, k});
    full_b.insert(full_b.end(), {k, n});
    const int ta = reshape(operand(0, full_a), {b, m, k}, "a3");
    const int tb = reshape(operand(1, full_b), {b, k, n}, "b3");
    set_output(0, reshape(binary(OpKind::matmul, ta, tb), out, "unflatten"));
  }

  // The begin and end padding of one spatial axis from pads / auto_pad.
  std::pair<int64_t, int64_t> padding(size_t axis_i, int64_t size, int64_t kernel, int64_t stride,
                                      const std::vector<int64_t>& pads) const {
    const std::string mode = attr_string("auto_pad", "NOTSET");
    if (mode == "VALID") return {0, 0};
    if (mode == "SAME_UPPER" || mode == "SAME_LOWER") {
      const int64_t out = (size + stride - 1) / stride;
      const int64_t total = std::max<int64_t>(0, (out - 1) * stride + kernel - size);
      const int64_t small = total / 2, big = total - small;
      return mode == "SAME_UPPER" ? std::pair{small, big} : std::pair{big, small};
    }
    if (pads.empty()) return {0, 0};
    return {pads[axis_i], pads[axis_i + 2]};
  }

  // The window attributes of Conv and the pools on a (N,C,H,W) input: kernel, strides, pads
  // (symmetric), dilations (1). A 1-D window (`spatial` 1, over (N,C,L) seen as (N,C,1,L)) has
  // one stride and two pads, for W.
  OpAttrs window(const Shape& x, int64_t kh, int64_t kw, size_t spatial = 2) const {
    for (int64_t d : attr_ints("dilations", spatial))
      if (d != 1) fail("dilations other than 1 are not supported");
    std::vector<int64_t> strides = attr_ints("strides", spatial),
                         pads = attr_ints("pads", 2 * spatial);
    if (spatial == 1 && !strides.empty()) strides.insert(strides.begin(), 1);
    if (spatial == 1 && !pads.empty()) pads = {0, pads[0], 0, pads[1]};
    if (strides.empty()) strides = {1, 1};
    if (kh < 1 || kw < 1)
      fail(fmt::format("kernel {}x{}: the window's sides must be >= 1", kh, kw));
    for (int64_t st : strides)
      if (st < 1) fail(fmt::format("strides {} must be >= 1", shape_str(strides)));
    for (int64_t p : pads)
      if (p < 0) fail(fmt::format("pads {} must be >= 0", shape_str(pads)));
    OpAttrs a;
    a.kernel_h = kh;
    a.kernel_w = kw;
    a.stride_h = strides.at(0);
    a.stride_w = strides.at(1);
    const auto [top, bottom] = padding(0, x[2], kh, a.stride_h, pads);
    const auto [left, right] = padding(1, x[3], kw, a.stride_w, pads);
    if (top != bottom || left != right)
      fail(
          fmt::format("padding (top {}, bottom {}, left {}, right {}) is not symmetric; the "
                      "IR pads each side of an axis alike",
                      top, bottom, left, right));
    a.pad_h = top;
    a.pad_w = left;
    return a;
  }

  const Shape& spatial_input(int i) {
    const Value& v = in(i);
    if (v.shape.size() != 4)
      fail(fmt::format("input '{}' is {}: only 2-D windows over (N,C,H,W) are supported",
                       in_name(i), shape_str(v.shape)));
    return v.shape;
  }

  // Conv over (N,C,H,W); a 1-D Conv over (N,C,L) as one over (N,C,1,L) with (1,k) kernels.
  void map_conv() {
    const bool one_d = in(0).shape.size() == 3;
    const Shape x =
        one_d ? Shape{in(0).shape[0], in(0).shape[1], 1, in(0).shape[2]} : spatial_input(0);
    Shape ws = in(1).shape;
    if (ws.size() != (one_d ? 3 : 4))
      fail(fmt::format("weights {} must be {}-D", shape_str(ws), one_d ? 3 : 4));
    const std::vector<int64_t> ks = attr_ints("kernel_shape", one_d ? 1 : 2);
    if (!ks.empty() && ks != Shape(ws.begin() + 2, ws.end()))
      fail(
          fmt::format("kernel_shape {} differs from the weights {}", shape_str(ks), shape_str(ws)));
    if (one_d) ws.insert(ws.begin() + 2, 1);
    OpAttrs a = window(x, ws[2], ws[3], one_d ? 1 : 2);
    a.groups = attr_int("group", 1);
    const int xt = one_d ? reshape(act(0), x, "as_2d") : act(0), w = weight(1, ws, "W");
    std::vector<int> ins{xt, w};
    if (has_input(2)) {
      if (!in(2).known || numel(in(2).shape) != ws[0])
        fail(fmt::format("bias '{}' {} must be a constant of {} values (one per output channel)",
                         in_name(2), shape_str(in(2).shape), ws[0]));
      ins.push_back(constant_param(in_name(2), in(2).data, in(2).shape, {ws[0]}, true));
    }
    int y = emit(OpKind::conv2d, ins, a, "conv");
    if (one_d) {
      const Shape out = g_.tensors[size_t(y)].shape;
      y = reshape(y, {out[0], out[1], out[3]}, "as_1d");
    }
    set_output(0, y);
  }

  // ConvTranspose whose kernel equals its stride (no overlap: each input pixel makes its own
  // kh x kw block of output pixels, as the upsampling heads of detectors have it): a 1x1 conv to
  // K * kh * kw channels, then those channels moved into the blocks (reshape, transpose,
  // reshape), then the bias.
  void map_conv_transpose() {
    const Shape x = spatial_input(0);
    const Shape ws = in(1).shape;  // (C, K/group, kh, kw)
    if (ws.size() != 4 || ws[0] != x[1])
      fail(fmt::format("weights {} do not fit input {}", shape_str(ws), shape_str(x)));
    const int64_t C = ws[0], K = ws[1], kh = ws[2], kw = ws[3];
    const std::vector<int64_t> ks = attr_ints("kernel_shape", 2), st = attr_ints("strides", 2);
    if (!ks.empty() && ks != Shape{kh, kw})
      fail(
          fmt::format("kernel_shape {} differs from the weights {}", shape_str(ks), shape_str(ws)));
    for (const char* name : {"pads", "output_padding"})
      for (int64_t v : attr_ints(name))
        if (v) fail(fmt::format("'{}' other than 0 is not supported", name));
    for (int64_t v : attr_ints("dilations"))
      if (v != 1) fail("dilations other than 1 are not supported");
    if (attr_int("group", 1) != 1) fail("groups other than 1 are not supported");
    if (attr_string("auto_pad", "NOTSET") != "NOTSET" && attr_string("auto_pad", "") != "VALID")
      fail("auto_pad other than NOTSET or VALID is not supported");
    if (st != Shape{kh, kw})
      fail(
          fmt::format("strides {} differ from the kernel {}x{}: only kernels that do not "
                      "overlap (stride = kernel) are supported",
                      shape_str(st.empty() ? Shape{1, 1} : st), kh, kw));
    const Shape out{x[0], K, x[2] * kh, x[3] * kw};
    if (attr("output_shape") && attr_ints("output_shape") != Shape{out[2], out[3]})
      fail(fmt::format("output_shape {} differs from {}", shape_str(attr_ints("output_shape")),
                       shape_str(Shape{out[2], out[3]})));
    // The 1x1 conv's weights: output channel (k, a, b) from W[c][k][a][b].
    const std::vector<double>& w = known(1, "W");
    std::vector<double> w1(w.size());
    for (int64_t c = 0; c < C; ++c)
      for (int64_t k = 0; k < K * kh * kw; ++k)
        w1[size_t(k * C + c)] = w[size_t(c * K * kh * kw + k)];
    const Shape ws1{K * kh * kw, C, 1, 1};
    OpAttrs a;
    const int z =
        emit(OpKind::conv2d, {act(0), constant_param(in_name(1) + "/as_conv", w1, ws1, ws1, false)},
             a, "conv");
    const int blocks = reshape(z, {x[0], K, kh, kw, x[2], x[3]}, "blocks");
    const int placed = transpose(blocks, {0, 1, 4, 2, 5, 3}, "place");
    int y = reshape(placed, out, "merge");
    if (has_input(2)) {
      if (!in(2).known)
        fail(fmt::format("bias '{}' must be a constant (it is broadcast over the output)",
                         in_name(2)));
      y = binary(OpKind::add, y, constant_param(in_name(2), in(2).data, {1, K, 1, 1}, out, true));
    }
    set_output(0, y);
  }

  // Resize in mode nearest to a whole multiple of each dim, when ONNX's coordinate rule picks
  // source element i / s for output element i (each element repeated s times, as upsampling
  // layers have it): per dim, s copies of the input concatenated after a new dim, reshaped.
  void map_resize() {
    const Shape x = in(0).shape;
    if (attr_string("mode", "nearest") != "nearest")
      fail(fmt::format("mode '{}': only nearest is supported", attr_string("mode", "")));
    Shape out;
    const int scales_at = opset_ >= 11 ? 2 : 1;
    if (has_input(scales_at) && !known(scales_at, "scales").empty()) {
      const std::vector<double>& sc = known(scales_at, "scales");
      if (sc.size() != x.size()) fail(fmt::format("{} scales for {} dims", sc.size(), x.size()));
      for (size_t d = 0; d < x.size(); ++d)
        out.push_back(int64_t(std::floor(double(x[d]) * sc[d])));
    } else if (has_input(3)) {
      out = known_ints(3, "sizes");
      if (out.size() != x.size()) fail(fmt::format("{} sizes for {} dims", out.size(), x.size()));
    } else {
      fail("neither scales nor sizes is given");
    }
    const std::string coord = attr_string("coordinate_transformation_mode", "half_pixel"),
                      rounding = attr_string("nearest_mode", "round_prefer_floor");
    int t = -1;
    for (size_t d = x.size(); d-- > 0;) {
      if (out[d] == x[d]) continue;
      if (out[d] < x[d] || out[d] % x[d])
        fail(fmt::format("dim {}: {} to {}; only upsampling by a whole factor is supported", d,
                         x[d], out[d]));
      const int64_t f = out[d] / x[d];
      for (int64_t i = 0; i < out[d]; ++i)  // ONNX's rule, element by element
        if (nearest_source(i, x[d], out[d], coord, rounding) != i / f)
          fail(
              fmt::format("coordinate_transformation_mode '{}' with nearest_mode '{}' does not "
                          "repeat each element {} times along dim {}",
                          coord, rounding, f, d));
      if (t < 0) t = act(0);
      Shape s = g_.tensors[size_t(t)].shape, wide = s;
      s.insert(s.begin() + long(d) + 1, 1);
      wide[d] *= f;
      const int one = reshape(t, s, "unsqueeze");
      OpAttrs a;
      a.axis = int64_t(d) + 1;
      t = reshape(emit(OpKind::concat, std::vector<int>(size_t(f), one), a, "repeat"), wide,
                  "merge");
    }
    set_output(0, t < 0 ? act(0) : t);
  }
  // The input element ONNX's Resize takes for output element i of `out` (nearest, one dim).
  int64_t nearest_source(int64_t i, int64_t in, int64_t out, const std::string& coord,
                         const std::string& rounding) const {
    const double scale = double(out) / double(in);
    double xo;
    if (coord == "asymmetric")
      xo = double(i) / scale;
    else if (coord == "half_pixel" || coord == "pytorch_half_pixel")
      xo = out > 1 || coord == "half_pixel" ? (double(i) + 0.5) / scale - 0.5 : 0;
    else if (coord == "align_corners")
      xo = out > 1 ? double(i) * double(in - 1) / double(out - 1) : 0;
    else if (coord == "tf_half_pixel_for_nn")
      xo = (double(i) + 0.5) / scale;
    else
      fail(fmt::format("coordinate_transformation_mode '{}' is not supported", coord));
    double r;
    if (rounding == "floor")
      r = std::floor(xo);
    else if (rounding == "ceil")
      r = std::ceil(xo);
    else if (rounding == "round_prefer_floor")
      r = xo - std::floor(xo) == 0.5 ? std::floor(xo) : std::round(xo);
    else if (rounding == "round_prefer_ceil")
      r = xo - std::floor(xo) == 0.5 ? std::ceil(xo) : std::round(xo);
    else
      fail(fmt::format("nearest_mode '{}' is not supported", rounding));
    return std::clamp(int64_t(r), int64_t(0), in - 1);
  }

  void map_pool(const std::string& op) {
    only_first_output();
    const Shape& x = spatial_input(0);
    const bool global = op.rfind("Global", 0) == 0;
    OpAttrs a;
    if (global) {
      a.kernel_h = x[2];
      a.kernel_w = x[3];
    } else {
      const std::vector<int64_t> ks = attr_ints("kernel_shape", 2);
      if (ks.empty()) fail("attribute 'kernel_shape' is missing");
      a = window(x, ks[0], ks[1]);
      if (attr_int("ceil_mode", 0)) {  // the IR's windows round down: the same when exact
        const auto ceil_out = [](int64_t size, int64_t k, int64_t s, int64_t p) {
          return (size + 2 * p - k + s - 1) / s + 1;
        };
        const auto floor_out = [](int64_t size, int64_t k, int64_t s, int64_t p) {
          return (size + 2 * p - k) / s + 1;
        };
        if (ceil_out(x[2], a.kernel_h, a.stride_h, a.pad_h) !=
                floor_out(x[2], a.kernel_h, a.stride_h, a.pad_h) ||
            ceil_out(x[3], a.kernel_w, a.stride_w, a.pad_w) !=
                floor_out(x[3], a.kernel_w, a.stride_w, a.pad_w))
          fail(
              "ceil_mode=1 adds a partial window here; the IR's windows round the output size "
              "down");
      }
      if (attr_int("count_include_pad", 0) && (a.pad_h || a.pad_w))
        fail("count_include_pad=1 with padding: the IR's average excludes the padding");
    }
    a.pool_max = op.find("Max") != std::string::npos;
    set_output(0, emit(OpKind::pool, {act(0)}, a, "pool"));
  }

  // ---- ops of transformer exports: embedding lookups, masks, shape arithmetic ----

  // Gather: folded when data and indices are constants; constant indices into a tensor of the
  // graph are slices (one per run of consecutive indices) concatenated along the axis; indices
  // that are an integer graph input (token ids) index axis 0 of a table, a constant or a graph
  // input: the IR's gather.
  void map_gather() {
    Value &data = in(0), &idx = in(1);
    const Shape ds = data.shape, is = idx.shape;
    if (ds.empty()) fail(fmt::format("data '{}' is a scalar (rank 0)", in_name(0)));
    if (!idx.is_int) fail(fmt::format("indices '{}' are not integers", in_name(1)));
    const int64_t ax = axis(attr_int("axis", 0), ds.size()), n = ds[size_t(ax)];
    Shape out(ds.begin(), ds.begin() + ax);
    out.insert(out.end(), is.begin(), is.end());
    out.insert(out.end(), ds.begin() + ax + 1, ds.end());
    if (idx.known) {
      std::vector<int64_t> ids = known_ints(1, "indices");
      for (int64_t& i : ids) {
        if (i < -n || i >= n)
          fail(fmt::format("index {} is out of range for axis {} of size {}", i, ax, n));
        if (i < 0 && idx.graph_input)
          fail(fmt::format("index {} of graph input '{}': a graph input's ids are in [0, {})", i,
                           in_name(1), n));
        if (i < 0) i += n;
      }
      if (!idx.graph_input) {
        if (data.known && !data.graph_input) {
          const int64_t outer = numel(ds.begin(), ds.begin() + ax),
                        inner = numel(ds.begin() + ax + 1, ds.end());
          std::vector<double> r;
          r.reserve(size_t(numel(out)));
          for (int64_t o = 0; o < outer; ++o)
            for (int64_t i : ids) {
              const auto from = data.data.begin() + (o * n + i) * inner;
              r.insert(r.end(), from, from + inner);
            }
          set_constant(0, out, r, data.is_int);
          return;
        }
        gather_slices(ax, ids, out);
        return;
      }
    }
    if (!idx.graph_input)
      fail(
          fmt::format("indices '{}' are computed by the graph; xpusim gathers with constant "
                      "indices or with ids that are a graph input",
                      in_name(1)));
    if (ax != 0 || (!data.graph_input && !data.known))
      fail(
          fmt::format("ids from graph input '{}' index axis 0 of a table that is a constant or "
                      "a graph input (an embedding lookup); here axis {} of {}",
                      in_name(1), ax, data.graph_input || data.known ? "a table" : "a tensor"));
    const int table = weight(0, {n, numel(ds.begin() + 1, ds.end())}, "table");
    const int g = emit(OpKind::gather, {table, int_input(1, DType::int32)}, OpAttrs{}, "gather");
    set_output(0, reshape(g, out, "unflatten"));
  }
  // Gather of constant indices from a tensor of the graph.
  void gather_slices(int64_t ax, const std::vector<int64_t>& ids, const Shape& out) {
    if (out.empty()) fail("the result is a scalar (rank 0); the graph's tensors have rank >= 1");
    const int x = act(0);
    const int64_t n = g_.tensors[size_t(x)].shape[size_t(ax)];
    std::vector<std::pair<int64_t, int64_t>> runs;  // [first, end) of consecutive indices
    for (size_t k = 0; k < ids.size();) {
      size_t e = k + 1;
      while (e < ids.size() && ids[e] == ids[e - 1] + 1) ++e;
      runs.emplace_back(ids[k], ids[e - 1] + 1);
      k = e;
    }
    if (runs.size() > 64)
      fail(
          fmt::format("the indices make {} runs of consecutive indices; xpusim takes at most 64 "
                      "(one slice each)",
                      runs.size()));
    std::vector<int> parts;
    for (const auto& [first, end] : runs) {
      OpAttrs a;
      a.axis = ax;
      a.start = first;
      a.end = end;
      parts.push_back(first == 0 && end == n ? x : emit(OpKind::slice, {x}, a, "slice"));
    }
    int t = parts[0];
    if (parts.size() > 1) {
      OpAttrs a;
      a.axis = ax;
      t = emit(OpKind::concat, parts, a, "concat");
    }
    set_output(0, reshape(t, out, "gather"));
  }

  // Expand: a constant broadcast at import; a tensor of the graph as broadcast_to does.
  void map_expand() {
    Value& x = in(0);
    const std::vector<int64_t> to = known_ints(1, "shape");
    Shape out;
    if (!broadcast_shape(x.shape, Shape(to.begin(), to.end()), out))
      fail(fmt::format("input {} does not broadcast to {}", shape_str(x.shape), shape_str(to)));
    for (int64_t d : out)
      if (d < 1) fail(fmt::format("shape {} has a dim below 1", shape_str(out)));
    if (x.known && !x.graph_input) {
      set_constant(0, out, broadcast(x.data, x.shape, out), x.is_int);
      return;
    }
    set_output(0, x.shape == out ? act(0) : broadcast_activation(0, out));
  }

  // Where with a constant condition (a causal mask): x where it holds, y elsewhere, as
  // x * c + y * (1 - c) with c the condition as 1 and 0; a constant side is one add of its
  // values where it is chosen (0 elsewhere), so that a -inf or a float's lowest value in y
  // never meets a product by 0.
  void map_where() {
    Value &c = in(0), &x = in(1), &y = in(2);
    Shape xy, out;
    if (!broadcast_shape(x.shape, y.shape, xy) || !broadcast_shape(c.shape, xy, out))
      fail(fmt::format("inputs {}, {} and {} do not broadcast", shape_str(c.shape),
                       shape_str(x.shape), shape_str(y.shape)));
    if (!c.known || c.graph_input)
      fail(
          fmt::format("the condition '{}' is not a constant; xpusim takes a constant one (a "
                      "causal mask), as the IR has no select",
                      in_name(0)));
    const std::vector<double> cond = broadcast(c.data, c.shape, out);
    const bool x_known = x.known && !x.graph_input, y_known = y.known && !y.graph_input;
    if (x_known && y_known) {
      const std::vector<double> a = broadcast(x.data, x.shape, out),
                                b = broadcast(y.data, y.shape, out);
      std::vector<double> r(cond.size());
      for (size_t e = 0; e < r.size(); ++e) r[e] = cond[e] != 0 ? a[e] : b[e];
      set_constant(0, out, r, x.is_int);
      return;
    }
    if (x.is_int || y.is_int) fail("selects between integer tensors of the graph");
    const auto all = [&](bool v) {
      return std::all_of(cond.begin(), cond.end(), [&](double e) { return (e != 0) == v; });
    };
    if (all(true) || all(false)) {
      const int i = all(true) ? 1 : 2;
      set_output(0, operand(i, out));
      return;
    }
    std::vector<double> addend(cond.size(), 0.0);
    bool has_addend = false;
    int sum = -1;
    for (int i = 1; i <= 2; ++i) {
      const bool pick = i == 1;  // x where the condition holds, y where it does not
      Value& v = in(i);
      if (v.known && !v.graph_input) {
        const std::vector<double> d = broadcast(v.data, v.shape, out);
        for (size_t e = 0; e < d.size(); ++e)
          if ((cond[e] != 0) == pick) addend[e] = d[e];
        has_addend = true;
        continue;
      }
      std::vector<double> mask(cond.size());
      for (size_t e = 0; e < mask.size(); ++e) mask[e] = (cond[e] != 0) == pick;
      const int m = constant_param(node_name_ + (pick ? "/where_true" : "/where_false"), mask, out,
                                   out, false);
      const int term = binary(OpKind::mul, operand(i, out), m);
      sum = sum < 0 ? term : binary(OpKind::add, sum, term);
    }
    if (has_addend)
      sum = binary(OpKind::add, sum,
                   constant_param(node_name_ + "/where_constant", addend, out, out, false));
    set_output(0, sum);
  }

  // Split along an axis into the outputs: folded on constants, slices of a tensor of the graph.
  void map_split() {
    Value& x = in(0);
    const Shape s = x.shape;
    if (s.empty()) fail("input 0 is a scalar (rank 0)");
    const int64_t ax = axis(attr_int("axis", 0), s.size()), dim = s[size_t(ax)];
    const int outs = node_->output_size();
    std::vector<int64_t> sizes =
        opset_ >= 13 ? (has_input(1) ? known_ints(1, "split") : std::vector<int64_t>{})
                     : attr_ints("split");
    if (sizes.empty()) {  // equal parts (opset 18: num_outputs, the last one smaller)
      const int64_t parts = attr_int("num_outputs", outs), chunk = (dim + parts - 1) / parts;
      for (int64_t i = 0; i < parts; ++i) sizes.push_back(std::min(chunk, dim - i * chunk));
    }
    int64_t total = 0;
    for (int64_t z : sizes) {
      if (z < 1) fail(fmt::format("a part of {} elements (an empty tensor)", z));
      if (z > dim) fail(fmt::format("a part of {} elements of axis {} of size {}", z, ax, dim));
      total += z;
    }
    if (int64_t(sizes.size()) != outs || total != dim)
      fail(fmt::format("{} parts of {} elements in all for {} outputs and axis {} of size {}",
                       sizes.size(), total, outs, ax, dim));
    int64_t start = 0;
    for (int i = 0; i < outs; ++i) {
      Shape first(s.size(), 0), step(s.size(), 1), out = s;
      first[size_t(ax)] = start;
      out[size_t(ax)] = sizes[size_t(i)];
      if (x.known && !x.graph_input) {
        set_constant(i, out, slice_values(x.data, s, first, step, out), x.is_int);
      } else {
        OpAttrs a;
        a.axis = ax;
        a.start = start;
        a.end = start + sizes[size_t(i)];
        set_output(i, out == s ? act(0) : emit(OpKind::slice, {act(0)}, a, "slice"));
      }
      start += sizes[size_t(i)];
    }
  }

  // ReduceMean, ReduceSum: folded on constants; on a tensor of the graph the reduced axes are
  // moved last (a transpose when they are not already) and the (rows, D) matrix multiplied by a
  // (D, 1) column of 1 / D (mean) or 1 (sum), a gemm, reshaped to the output (the IR has no
  // reduction: a real compiler reduces on its vector unit).
  void map_reduce(const std::string& op) {
    Value& x = in(0);
    const Shape s = x.shape;
    std::vector<int64_t> axes = has_input(1) ? known_ints(1, "axes") : attr_ints("axes");
    if (axes.empty() && attr_int("noop_with_empty_axes", 0) != 0) {
      map_identity();
      return;
    }
    if (axes.empty())
      for (size_t d = 0; d < s.size(); ++d) axes.push_back(int64_t(d));
    std::vector<bool> reduced(s.size(), false);
    for (int64_t a : axes) {
      const size_t d = size_t(axis(a, s.size()));
      if (reduced[d]) fail(fmt::format("axes lists axis {} twice", d));
      reduced[d] = true;
    }
    const bool keep = attr_int("keepdims", 1) != 0;
    Shape out, perm, kept;
    int64_t d_size = 1;
    for (size_t d = 0; d < s.size(); ++d) {
      if (!reduced[d]) {
        perm.push_back(int64_t(d));
        kept.push_back(s[d]);
      } else {
        d_size *= s[d];
      }
      if (!reduced[d] || keep) out.push_back(reduced[d] ? 1 : s[d]);
    }
    for (size_t d = 0; d < s.size(); ++d)
      if (reduced[d]) perm.push_back(int64_t(d));
    const double scale = op == "ReduceMean" ? 1.0 / double(d_size) : 1.0;
    if (x.known && !x.graph_input) {
      const std::vector<double> t = permute(x.data, s, perm);
      std::vector<double> r(size_t(numel(kept)), 0.0);
      for (size_t i = 0; i < t.size(); ++i) r[i / size_t(d_size)] += t[i] * scale;
      set_constant(0, out, r, x.is_int);
      return;
    }
    if (out.empty()) fail("the result is a scalar (rank 0); the graph's tensors have rank >= 1");
    const int t = transpose(act(0), perm, "to_last");
    const int rows = reshape(t, {numel(kept), d_size}, "rows");
    const int g = binary(OpKind::gemm, rows, fill(scale, {d_size, 1}, "weights"));
    set_output(0, reshape(g, out, "reduced"));
  }

  // LeakyRelu (slope `alpha`) and PRelu (a constant slope, broadcast): a x + (1 - a) relu(x),
  // which is x where x >= 0 and a x below, as a mul, a relu, a mul by 1 - a and an add (the IR
  // has no leaky relu).
  void map_leaky_relu(bool prelu) {
    Value& x = in(0);
    const Shape s = x.shape;
    std::vector<double> slope = {attr_float("alpha", 0.01)};
    Shape from = {1};
    if (prelu) {
      slope = known(1, "slope");
      from = in(1).shape;
    }
    if (x.known && !x.graph_input) {
      const std::vector<double> a = broadcast(slope, from, s);
      std::vector<double> r = x.data;
      for (size_t i = 0; i < r.size(); ++i) r[i] = r[i] >= 0 ? r[i] : a[i] * r[i];
      set_constant(0, s, r, false);
      return;
    }
    std::vector<double> rest = slope;
    for (double& e : rest) e = 1 - e;
    const int t = act(0);
    const int scaled =
        binary(OpKind::mul, t, constant_param(node_name_ + "/slope", slope, from, s, false));
    const int kept = binary(OpKind::mul, unary(OpKind::relu, t),
                            constant_param(node_name_ + "/one_minus_slope", rest, from, s, false));
    set_output(0, binary(OpKind::add, scaled, kept));
  }

  // Range and ConstantOfShape: constants of the import.
  void map_range() {
    const auto scalar = [&](int i, const char* what) {
      const std::vector<double>& v = known(i, what);
      if (v.size() != 1) fail(fmt::format("{} holds {} values, expected one", what, v.size()));
      return v[0];
    };
    const double start = scalar(0, "start"), limit = scalar(1, "limit"), delta = scalar(2, "delta");
    if (delta == 0) fail("delta is 0");
    const double count = std::ceil((limit - start) / delta);
    if (!(count >= 1) || count > double(kMaxBroadcast))
      fail(fmt::format("{} elements; a range holds 1 to 2^24", count));
    std::vector<double> r(static_cast<size_t>(count));
    for (size_t i = 0; i < r.size(); ++i) r[i] = start + double(i) * delta;
    set_constant(0, {int64_t(r.size())}, r, in(0).is_int);
  }
  void map_constant_of_shape() {
    const std::vector<int64_t> shape = known_ints(0, "shape");
    double value = 0;
    bool is_int = false;
    if (const auto* a = attr("value")) {
      const std::vector<double> v = tensor_values(a->t(), fmt::format("node '{}'", node_name_));
      if (v.size() != 1) fail(fmt::format("'value' holds {} values, expected one", v.size()));
      value = v[0];
      is_int = !is_float_type(a->t().data_type());
    }
    Shape out(shape.begin(), shape.end());
    for (int64_t d : out)
      if (d < 1) fail(fmt::format("shape {} has a dim below 1", shape_str(out)));
    if (numel(out) > kMaxBroadcast)
      fail(fmt::format("shape {} holds more than 2^24 values", shape_str(out)));
    set_constant(0, out, std::vector<double>(size_t(numel(out)), value), is_int);
  }

  // Elementwise ops of one input: folded on constants; on a tensor of the graph, Neg is a mul by
  // -1, Abs relu(x) + relu(-x) and Tanh 2 sigmoid(2 x) - 1 (the IR has no tanh); the others
  // (Sqrt, Exp, Erf, ...) only fold.
  // Trilu: computed at import on a constant (the causal masks of exports); a named error on a
  // tensor of the graph.
  void map_trilu() {
    const Value& x = in(0);
    if (!x.known || x.graph_input)
      fail(
          "Trilu of a tensor of the graph: the IR has no such op (it is computed at import on "
          "constants only)");
    if (x.shape.size() < 2) fail(fmt::format("input {} has fewer than 2 dims", shape_str(x.shape)));
    int64_t k = 0;
    if (has_input(1)) {
      const std::vector<double>& v = known(1, "k");
      if (v.size() != 1) fail(fmt::format("k holds {} values, expected one", v.size()));
      k = int64_t(v[0]);
    }
    const bool upper = attr_int("upper", 1) != 0;
    const int64_t rows = x.shape[x.shape.size() - 2], cols = x.shape.back();
    std::vector<double> r = x.data;
    for (size_t e = 0; e < r.size(); ++e) {
      const int64_t i = int64_t(e) / cols % rows, j = int64_t(e) % cols;
      if (upper ? j - i < k : j - i > k) r[e] = 0;
    }
    set_constant(0, x.shape, r, x.is_int);
  }

  void map_unary(const std::string& op) {
    Value& x = in(0);
    if (x.known && !x.graph_input) {
      std::vector<double> r = x.data;
      for (double& e : r)
        e = op == "Neg"          ? -e
            : op == "Abs"        ? std::abs(e)
            : op == "Floor"      ? std::floor(e)
            : op == "Ceil"       ? std::ceil(e)
            : op == "Not"        ? double(e == 0)
            : op == "Sqrt"       ? std::sqrt(e)
            : op == "Reciprocal" ? 1 / e
            : op == "Exp"        ? std::exp(e)
            : op == "Log"        ? std::log(e)
            : op == "Erf"        ? std::erf(e)
                                 : std::tanh(e);
      set_constant(0, x.shape, r, x.is_int);
      return;
    }
    const int t = act(0);
    const Shape s = g_.tensors[size_t(t)].shape;
    if (op == "Neg") {
      set_output(0, binary(OpKind::mul, t, fill(-1, s, "minus_one")));
    } else if (op == "Abs") {  // relu(x) + relu(-x)
      const int neg = unary(OpKind::relu, binary(OpKind::mul, t, fill(-1, s, "minus_one")));
      set_output(0, binary(OpKind::add, unary(OpKind::relu, t), neg));
    } else if (op == "Tanh") {
      const int sig = unary(OpKind::sigmoid, binary(OpKind::mul, t, fill(2, s, "two")));
      set_output(0, binary(OpKind::add, binary(OpKind::mul, sig, fill(2, s, "two")),
                           fill(-1, s, "minus_one")));
    } else {
      fail(
          fmt::format("{} of a tensor of the graph: the IR has no such op (it is computed at "
                      "import on constants only)",
                      op));
    }
  }

  // Comparisons, logic, Pow, Min and Max: folded on constants. On tensors of the graph: Pow by a
  // constant 1, 2 or 3 (products), Min and Max with a constant scalar (a clip), or of tensors
  // through relu (m + relu(b - m)).
  void map_elementwise(const std::string& op) {
    if (node_->input_size() < 1) fail("no inputs");
    bool all_known = true;
    Shape out = in(0).shape;
    for (int i = 0; i < node_->input_size(); ++i) {
      Value& v = in(i);
      all_known = all_known && v.known && !v.graph_input;
      if (!broadcast_shape(Shape(out), v.shape, out))
        fail(fmt::format("input {} {} does not broadcast with the others", i, shape_str(v.shape)));
    }
    const bool logical = op != "Pow" && op != "Min" && op != "Max";
    if (all_known) {
      std::vector<double> r = broadcast(in(0).data, in(0).shape, out);
      for (int i = 1; i < node_->input_size(); ++i) {
        const std::vector<double> y = broadcast(in(i).data, in(i).shape, out);
        for (size_t e = 0; e < r.size(); ++e) {
          const double a = r[e], b = y[e];
          r[e] = op == "Equal"            ? a == b
                 : op == "Less"           ? a < b
                 : op == "Greater"        ? a > b
                 : op == "LessOrEqual"    ? a <= b
                 : op == "GreaterOrEqual" ? a >= b
                 : op == "And"            ? (a != 0 && b != 0)
                 : op == "Or"             ? (a != 0 || b != 0)
                 : op == "Pow"            ? std::pow(a, b)
                 : op == "Min"            ? std::min(a, b)
                                          : std::max(a, b);
        }
      }
      set_constant(0, out, r, logical || in(0).is_int);
      return;
    }
    // A constant scalar (or a graph input's, bound by --onnx-test-data, as a divisor's is).
    const auto scalar_input = [&](int i) {
      return node_->input_size() == 2 && in(i).known && in(i).data.size() == 1 &&
             in(1 - i).shape == out;
    };
    if (op == "Pow" && scalar_input(1)) {
      const double e = in(1).data[0];
      if (e == 1 || e == 2 || e == 3) {
        int t = act(0);
        const int x = t;
        for (int k = 1; k < int(e); ++k) t = binary(OpKind::mul, t, x);
        set_output(0, t);
        return;
      }
    }
    if (op == "Min" || op == "Max") {
      for (int i = 0; i < 2; ++i)
        if (scalar_input(i)) {
          const double c = in(i).data[0];
          set_output(0,
                     op == "Min" ? clip(act(1 - i), -INFINITY, c) : clip(act(1 - i), c, INFINITY));
          return;
        }
      // max(m, b) = m + relu(b - m), min(m, b) = m - relu(m - b), input by input.
      int m = operand(0, out);
      for (int i = 1; i < node_->input_size(); ++i) {
        const int b = operand(i, out);
        const int minus_one = fill(-1, out, "minus_one");
        const int d = op == "Max" ? binary(OpKind::add, b, binary(OpKind::mul, m, minus_one))
                                  : binary(OpKind::add, m, binary(OpKind::mul, b, minus_one));
        const int r = unary(OpKind::relu, d);
        m = binary(OpKind::add, m, op == "Max" ? r : binary(OpKind::mul, r, minus_one));
      }
      set_output(0, m);
      return;
    }
    fail(fmt::format(
        "{} of a tensor of the graph: computed at import when every input is a "
        "constant{}",
        op,
        op == "Pow" ? "; on a tensor, exponents 1, 2 and 3 only" : " (the IR has no comparisons)"));
  }

  // Reshape, Flatten, Squeeze, Unsqueeze, Transpose: folded on constants, reshape or transpose
  // on tensors.
  void map_shape_op(const std::string& op) {
    Value& x = in(0);
    const Shape s = x.shape;
    Shape out;
    if (op == "Transpose") {
      Shape perm = attr_ints("perm");
      if (perm.empty())
        for (size_t k = s.size(); k-- > 0;) perm.push_back(int64_t(k));
      if (!valid_perm(perm, s.size()))
        fail(fmt::format("perm {} is not a permutation of the {} dims", shape_str(perm), s.size()));
      if (x.known && !x.graph_input) {
        Shape ps;
        for (int64_t p : perm) ps.push_back(s.at(size_t(p)));
        set_constant(0, ps, permute(x.data, s, perm), x.is_int);
      } else {
        set_output(0, transpose(act(0), perm, "transpose"));
      }
      return;
    }
    if (op == "Reshape") {
      const std::vector<int64_t> shape = opset_ >= 5 ? known_ints(1, "shape") : attr_ints("shape");
      const bool allow_zero = attr_int("allowzero", 0) != 0;
      int64_t infer = -1, known_count = 1;
      for (size_t i = 0; i < shape.size(); ++i) {
        int64_t d = shape[i];
        if (d == 0 && !allow_zero) {
          if (i >= s.size()) fail(fmt::format("shape dim {} copies a dim the input lacks", i));
          d = s[i];
        }
        if (d < -1) fail(fmt::format("shape dim {} is {}", i, d));
        if (d == -1) {
          if (infer >= 0) fail("shape has two dims of -1");
          infer = int64_t(i);
        } else {
          if (d == 0) fail("a dim of 0 (allowzero) would make an empty tensor");
          if (__builtin_mul_overflow(known_count, d, &known_count))
            fail(fmt::format("shape {} holds more than 2^63 elements", shape_str(shape)));
        }
        out.push_back(d);
      }
      if (infer >= 0) out[size_t(infer)] = numel(s) / known_count;
    } else if (op == "Flatten") {
      // axis in [-rank, rank]: rank itself gives (product, 1).
      const int64_t r = int64_t(s.size()), given = attr_int("axis", 1);
      if (given < -r || given > r)
        fail(fmt::format("axis {} is out of range for rank {}", given, r));
      const int64_t ax = given < 0 ? given + r : given;
      out = {numel(s.begin(), s.begin() + ax), numel(s.begin() + ax, s.end())};
    } else {  // Squeeze, Unsqueeze: axes from the attribute (opset < 13) or input 1
      std::vector<int64_t> axes =
          opset_ >= 13 ? (has_input(1) ? known_ints(1, "axes") : std::vector<int64_t>{})
                       : attr_ints("axes");
      const size_t rank = op == "Squeeze" ? s.size() : s.size() + axes.size();
      for (int64_t& a : axes) a = axis(a, rank);
      for (size_t i = 0; i < axes.size(); ++i)
        if (std::count(axes.begin(), axes.begin() + long(i), axes[i]))
          fail(fmt::format("axes lists axis {} twice", axes[i]));
      if (op == "Squeeze") {
        for (size_t i = 0; i < s.size(); ++i) {
          const bool listed = std::count(axes.begin(), axes.end(), int64_t(i)) > 0;
          if (listed && s[i] != 1) fail(fmt::format("axis {} has size {}, not 1", i, s[i]));
          if (!(listed || (axes.empty() && s[i] == 1))) out.push_back(s[i]);
        }
      } else {
        for (size_t i = 0, j = 0; i < rank; ++i)
          out.push_back(std::count(axes.begin(), axes.end(), int64_t(i)) ? 1 : s.at(j++));
      }
    }
    if (x.known && !x.graph_input) {
      set_constant(0, out, x.data, x.is_int);
      return;
    }
    if (x.is_int && x.graph_input) {  // a view of an integer graph input (int_input reads it)
      Value v = x;
      v.shape = out;
      if (v.source.empty()) v.source = in_name(0);
      values_[node_->output(0)] = std::move(v);
      return;
    }
    if (numel(out) != numel(s))
      fail(fmt::format("shape {} does not hold the {} elements of {}", shape_str(out), numel(s),
                       shape_str(s)));
    // (d0, the rest) of a tensor of rank > 2: a view, which a gemm reads as it is (the IR's gemm
    // flattens its A so) and act() reshapes for any other reader.
    const int t = act(0);
    const Shape& ts = g_.tensors[size_t(t)].shape;
    if (ts.size() > 2 && out.size() == 2 && out[0] == ts[0]) {
      Value v;
      v.shape = out;
      v.tensor = t;
      values_[node_->output(0)] = std::move(v);
      return;
    }
    set_output(0, reshape(t, out, op == "Reshape" ? "reshape" : "flatten"));
  }

  OnnxModel finish(const onnx::GraphProto& graph) {
    OnnxModel m;
    for (int i = 0; i < graph.output_size(); ++i) {
      const std::string& name = graph.output(i).name();
      const auto found = values_.find(name);
      if (found == values_.end())
        throw Error(loc_, fmt::format("graph output '{}' is no node's output, graph input or "
                                      "initializer",
                                      name));
      Value& v = found->second;
      if (v.is_int)
        throw Error(loc_, fmt::format("graph output '{}' is an integer tensor; xpusim computes "
                                      "float tensors only",
                                      name));
      if (v.tensor >= 0) materialize(v, name);
      // An output no node of the graph computes (a constant, a graph input passed through): a
      // copy, so that the run writes it.
      bool computed = false;
      for (const Node& n : g_.nodes) computed = computed || n.outputs[0] == v.tensor;
      if (!computed) {
        if (v.shape.empty())
          throw Error(loc_, fmt::format("graph output '{}' is a scalar (rank 0); the graph's "
                                        "tensors have rank >= 1",
                                        name));
        node_name_ = "output '" + name + "'";
        const int src = v.tensor >= 0   ? v.tensor
                        : v.graph_input ? input_tensor(v, name)
                                        : constant_param(name, v.data, v.shape, v.shape, true);
        v.tensor = reshape_node(src, v.shape, name + "/copy");
      }
      m.outputs.emplace_back(name, v.tensor);
      if (!test_outputs_.empty()) {
        const TensorProto& t = test_outputs_[size_t(i)];
        const std::string file =
            (fs::path(opt_.test_data) / fmt::format("output_{}.pb", i)).string();
        Tensor e(Shape(t.dims().begin(), t.dims().end()), DType::fp32);
        const std::vector<double> d = tensor_values(t, file);
        for (size_t k = 0; k < d.size(); ++k) e.set(int64_t(k), d[k]);
        if (e.shape.empty()) e.shape = {1};
        m.expected.push_back(std::move(e));
      }
    }
    std::vector<int> consumers(g_.tensors.size(), 0);
    for (const Node& n : g_.nodes)
      for (int id : n.inputs) consumers[size_t(id)]++;
    for (size_t t = 0; t < g_.tensors.size(); ++t)
      if (!consumers[t] && !g_.tensors[t].is_param) g_.outputs.push_back(int(t));
    verify(g_);
    m.graph = std::move(g_);
    return m;
  }
};

}  // namespace

bool is_onnx_path(const std::string& path) {
  return fs::path(path).extension() == ".onnx";
}

OnnxModel import_onnx(const std::string& path, const OnnxOptions& opt) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(SourceLoc{path, 0, 0}, "cannot read the file");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return import_onnx_bytes(bytes, path, opt);
}

OnnxModel import_onnx_bytes(const std::string& bytes, const std::string& path,
                            const OnnxOptions& opt) {
  if (opt.dtype != DType::bf16 && opt.dtype != DType::fp16 && opt.dtype != DType::fp32)
    throw Error(
        fmt::format("{}: an ONNX model's float tensors are computed in bf16, fp16 or "
                    "fp32, not {}",
                    path, dtype_name(opt.dtype)));
  return Importer(bytes, path, opt).run();
}

double onnx_tolerance(DType t) {
  switch (t) {
    case DType::fp16:
      return 0x1.0p-7;
    case DType::fp32:
      return 0x1.0p-6;  // a TPU multiplies fp32 in bf16 passes (1 by default)
    default:
      return 0x1.0p-5;
  }
}

}  // namespace xpusim::compiler
