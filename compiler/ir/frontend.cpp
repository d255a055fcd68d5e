// YAML workload frontend: the flat form (each op names its sizes and gets generated inputs)
// and the chained form (ops connected by tensor names), mixed op by op. docs/workloads.md
// is the user's description of both; keep the two in step.
#include "compiler/ir/frontend.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include "models/core/yaml.h"

namespace xpusim::compiler {

namespace {

constexpr int64_t kMaxSize = std::numeric_limits<int32_t>::max();  // any one size or dim
constexpr int64_t kMaxElements = kMaxTensorElements;               // any one tensor
constexpr size_t kMaxOps = 100'000;  // ops of a workload, repeats expanded

const std::vector<std::string> kTopKeys = {"name",   "description", "source",
                                           "params", "inputs",      "ops"};

using yaml::Doc;

// A mapping of the workload: the checks of yaml::Map, and the sizes and names of workloads.
class Map : public yaml::Map {
 public:
  Map(const Doc& doc, const YAML::Node& node, std::string what)
      : yaml::Map(doc.file(), node, std::move(what)) {}

  // An integer in [lo, kMaxSize].
  int64_t integer(const std::string& key, int64_t lo) const {
    return yaml::Map::integer(key, lo, kMaxSize);
  }
  int64_t size(const std::string& key) const { return integer(key, 1); }
  int64_t size_or(const std::string& key, int64_t dflt) const {
    return has(key) ? size(key) : dflt;
  }
  int64_t nonneg_or(const std::string& key, int64_t dflt) const {
    return has(key) ? integer(key, 0) : dflt;
  }
  std::vector<int64_t> shape(const std::string& key) const { return integers(key, 1, kMaxSize); }

  // A list of names (the chained form's inputs).
  std::vector<YAML::Node> names(const std::string& key) const {
    YAML::Node v = value(key);
    std::vector<YAML::Node> out;
    bool ok = v.IsSequence();
    for (size_t i = 0; ok && i < v.size(); ++i) {
      ok = v[i].IsScalar() && !v[i].Scalar().empty();
      out.push_back(v[i]);
    }
    if (!ok) fail(v, fmt::format("{}: '{}' must be a list of tensor names", what(), key));
    return out;
  }
};

// Keys of a conv2d / pool window.
const std::vector<std::string> kWindowKeys = {"stride", "stride_h", "stride_w",
                                              "pad",    "pad_h",    "pad_w"};

std::vector<std::string> allowed_keys(OpKind k, bool chained) {
  std::vector<std::string> keys = {"name", "op", "dtype", "output"};
  if (chained) keys.push_back("inputs");
  auto add = [&](std::initializer_list<const char*> more) {
    keys.insert(keys.end(), more.begin(), more.end());
  };
  switch (k) {
    case OpKind::gemm:
      if (chained)
        add({"N"});
      else
        add({"M", "N", "K"});
      add({"requant", "fused_relu"});
      break;
    case OpKind::matmul:
      if (chained)
        add({"N"});
      else
        add({"batch", "M", "N", "K"});
      add({"requant", "fused_relu"});
      break;
    case OpKind::conv2d:
      if (!chained) add({"N", "C", "H", "W"});
      add({"K", "R", "S", "groups", "requant", "fused_relu"});
      keys.insert(keys.end(), kWindowKeys.begin(), kWindowKeys.end());
      break;
    case OpKind::pool:
      if (!chained) add({"N", "C", "H", "W"});
      add({"kernel", "kernel_h", "kernel_w", "type"});
      keys.insert(keys.end(), kWindowKeys.begin(), kWindowKeys.end());
      break;
    case OpKind::add:
    case OpKind::mul:
    case OpKind::relu:
    case OpKind::gelu:
    case OpKind::silu:
    case OpKind::sigmoid:
    case OpKind::softmax:
      if (!chained) add({"shape"});
      break;
    case OpKind::layernorm:
    case OpKind::rmsnorm:
      if (!chained) add({"shape"});
      add({"eps"});
      break;
    case OpKind::attention:
      if (!chained) add({"batch", "heads", "kv_heads", "seq_q", "seq_kv", "head_dim"});
      add({"causal", "scale"});
      break;
    case OpKind::reshape:  // chained: shape is the output's; flat: the input's, then new_shape
      add({"shape"});
      if (!chained) add({"new_shape"});
      break;
    case OpKind::transpose:
      if (!chained) add({"shape"});
      add({"perm"});
      break;
    case OpKind::clip:
      if (!chained) add({"shape"});
      add({"min", "max"});
      break;
    case OpKind::concat:  // flat: the inputs' shape (its dim `axis` aside) and their sizes there
      if (!chained) add({"shape", "sizes"});
      add({"axis"});
      break;
    case OpKind::slice:
      if (!chained) add({"shape"});
      add({"axis", "start", "end", "step"});
      break;
    case OpKind::gather:  // flat: `shape` is the ids'
      if (!chained) add({"shape"});
      add({"vocab", "dim"});
      break;
    case OpKind::rope:
      if (!chained) add({"shape"});
      add({"theta", "pos"});
      break;
    case OpKind::kv_append:  // flat: `shape` is the cache's, `new` the rows appended (1)
      if (!chained) add({"shape", "new"});
      break;
  }
  return keys;
}

// The dtype a flat op gets when it names none.
// int8 where the op takes it, except mul (an int8 product saturates at once) and the ops of a
// decoder (whose activations are floats).
DType default_dtype(OpKind k) {
  const bool decoder =
      k == OpKind::concat || k == OpKind::slice || k == OpKind::gather || k == OpKind::kv_append;
  return k != OpKind::mul && !decoder && op_supports_dtype(k, DType::int8) ? DType::int8
                                                                           : DType::bf16;
}

// The requant shift chosen when an int8 op gives none: with int8 operands uniform in
// [-127, 127] (variance 127^2/3 each), the int32 accumulator of a length-kred reduction has a
// standard deviation of about sqrt(kred) * 127^2 / 3; the shift brings that to about 32, so
// outputs use the int8 range without saturating much.
int32_t default_shift(int64_t kred) {
  double s = std::lround(std::log2(std::sqrt(double(kred)) * 127.0 * 127.0 / 3.0 / 32.0));
  return int32_t(std::max(0.0, s));
}

// Error at `where` unless `name` (of `what`) is a name a `$` can refer to.
void check_name(const Doc& doc, const YAML::Node& where, const char* what,
                const std::string& name) {
  if (!is_identifier(name))
    doc.fail(where, fmt::format("{} '{}' is not a name (a letter or '_', then letters, digits and "
                                "'_')",
                                what, name));
}

// One entry of a workload's `params`: `name: default` or `name: {default: .., doc: ..}`.
struct ParamDecl {
  std::string name, default_value, doc;
  YAML::Node where;  // the default's node, for messages
};

std::vector<ParamDecl> param_decls(const Doc& doc, const Map& top) {
  std::vector<ParamDecl> decls;
  if (!top.has("params")) return decls;
  const YAML::Node params = top.value("params");
  if (!params.IsMap())
    doc.fail(params, "workload: 'params' must be a mapping of names to default values");
  const Map m(doc, params, "params");
  for (const auto& e : m.entries()) {
    check_name(doc, e.key_node, "params", e.key);
    ParamDecl d{e.key, "", "", e.value};
    if (e.value.IsMap()) {
      Map p(doc, e.value, fmt::format("param '{}'", e.key));
      p.allow({"default", "doc"});
      d.where = p.value("default");
      d.default_value = p.str("default");
      if (p.has("doc")) d.doc = p.str("doc");
    } else if (e.value.IsScalar() && !e.value.Scalar().empty()) {
      d.default_value = e.value.Scalar();
    } else {
      doc.fail(e.value,
               fmt::format("param '{}': expected a default value or {{default, doc}}", e.key));
    }
    decls.push_back(std::move(d));
  }
  return decls;
}

class Builder {
 public:
  Builder(const Doc& doc, const WorkloadParams& given) : doc_(doc), given_(given) {}

  Graph build(const YAML::Node& root);

 private:
  // A top-level input; it gets its tensor id when an op first uses it, so ids follow the
  // order of use and a graph printed by to_yaml loads back with the same ids.
  struct Declared {
    TensorInfo info;
    bool used = false;
  };

  void declare_input(const YAML::Node& y);
  void add_op(const YAML::Node& y);
  // A reshape's target shape from `key` for an input of `elements`, one dim of -1 inferred.
  std::vector<int64_t> reshape_to(const Map& m, const std::string& key, int64_t elements) const;
  // A transpose's perm from `key` for an input of `rank` dims.
  std::vector<int64_t> perm_of(const Map& m, size_t rank) const;
  // `axis` (default dflt) of an input of `rank` dims, a negative one counted from the end.
  int64_t axis_of(const Map& m, size_t rank, int64_t dflt) const;

  // Params and repeats (docs/workloads.md, "Parameters and repeats").
  // The params' values: given ones, else the defaults (which may use earlier params).
  void read_params(const Map& top);
  // Remembers the text of every scalar under n that holds a '$', before any is replaced.
  void remember_templates(const YAML::Node& n);
  // Replaces, in every scalar under n, the `$` forms of its remembered text with their values in
  // the current scope.
  void fill(const YAML::Node& n);
  // Adds a list of ops and repeats.
  void add_ops(const YAML::Node& ops);
  // Declares a list of graph inputs and repeats of them (`inputs` instead of `ops`).
  void add_inputs(const YAML::Node& ins);
  void add_repeat(const YAML::Node& y, bool inputs = false);

  int add_tensor(TensorInfo t, bool declared_input = false);
  // The id of the tensor called name, allocating a declared input on first use.
  int use(const YAML::Node& name_node);
  // A generated graph input or param of the node being built: "<node>.<suffix>".
  int generate(const std::string& suffix, std::vector<int64_t> shape, bool param,
               std::optional<DType> dtype = std::nullopt);

  const Doc& doc_;
  const WorkloadParams& given_;
  Scope scope_;
  // The scalars' own text, by their byte offset in the file.
  std::unordered_map<size_t, std::string> templates_;
  Graph g_;
  std::unordered_map<std::string, int> ids_;
  std::unordered_map<std::string, Declared> declared_;
  std::vector<std::string> declared_order_;
  std::unordered_map<std::string, SourceLoc> node_locs_;
  // The node being built: its name, dtype and location.
  std::string cur_name_;
  DType cur_dtype_ = DType::int8;
  SourceLoc cur_loc_;
};

int Builder::add_tensor(TensorInfo t, bool declared_input) {
  auto it = ids_.find(t.name);
  if (it != ids_.end())
    throw Error(t.loc,
                fmt::format("tensor '{}' is already defined at {} (a tensor has one producer)",
                            t.name, g_.tensors[it->second].loc.str()));
  auto d = declared_.find(t.name);
  if (!declared_input && d != declared_.end())
    throw Error(t.loc,
                fmt::format("tensor '{}' is already defined at {} as a graph input (a tensor "
                            "has one producer)",
                            t.name, d->second.info.loc.str()));
  int64_t n = 1;
  for (int64_t dim : t.shape) {
    if (dim > kMaxElements / n)
      throw Error(t.loc, fmt::format("tensor '{}' is too large (more than 2^40 elements)", t.name));
    n *= dim;
  }
  int id = int(g_.tensors.size());
  ids_[t.name] = id;
  g_.tensors.push_back(std::move(t));
  return id;
}

int Builder::use(const YAML::Node& name_node) {
  std::string name = name_node.Scalar();
  auto it = ids_.find(name);
  if (it != ids_.end()) return it->second;
  auto d = declared_.find(name);
  if (d == declared_.end())
    doc_.fail(name_node, fmt::format("op '{}': unknown tensor '{}'; an input must be a declared "
                                     "graph input or the output of an earlier op",
                                     cur_name_, name));
  d->second.used = true;
  int id = add_tensor(d->second.info, true);
  g_.inputs.push_back(id);
  return id;
}

int Builder::generate(const std::string& suffix, std::vector<int64_t> shape, bool param,
                      std::optional<DType> dtype) {
  TensorInfo t;
  t.name = cur_name_ + "." + suffix;
  t.shape = std::move(shape);
  t.dtype = dtype.value_or(cur_dtype_);
  t.is_param = param;
  t.loc = cur_loc_;
  int id = add_tensor(std::move(t));
  if (!param) g_.inputs.push_back(id);
  return id;
}

void Builder::declare_input(const YAML::Node& y) {
  Map m(doc_, y, "input");
  m.allow({"name", "shape", "dtype"});
  TensorInfo t;
  t.name = m.str("name");
  m.set_what(fmt::format("input '{}'", t.name));
  t.shape = m.shape("shape");
  YAML::Node dt = m.value("dtype");
  t.dtype = parse_dtype(m.str("dtype"), doc_.loc(dt));
  t.loc = doc_.loc(y);
  if (declared_.count(t.name))
    doc_.fail(m.value("name"), fmt::format("input '{}' is declared twice", t.name));
  declared_order_.push_back(t.name);
  const std::string name = t.name;
  declared_.emplace(name, Declared{std::move(t), false});
}

std::vector<int64_t> Builder::reshape_to(const Map& m, const std::string& key,
                                         int64_t elements) const {
  const YAML::Node v = m.value(key);
  std::vector<int64_t> s = m.integers(key, -1, kMaxSize);
  int64_t known = 1;
  size_t inferred = s.size();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == 0)
      doc_.fail(v[i], fmt::format("{}: '{}' dim {} is 0; a dim is >= 1, or -1 to infer it",
                                  m.what(), key, i));
    if (s[i] > 0) {
      known = known > kMaxElements / s[i] ? kMaxElements + 1 : known * s[i];
    } else if (inferred < s.size()) {
      doc_.fail(v[i], fmt::format("{}: '{}' has two dims of -1 (dims {} and {}); at most one "
                                  "is inferred",
                                  m.what(), key, inferred, i));
    } else {
      inferred = i;
    }
  }
  const bool fits = inferred < s.size() ? elements % known == 0 : known == elements;
  if (!fits)
    doc_.fail(v, fmt::format("{}: '{}' [{}] cannot hold the {} elements of the input{}", m.what(),
                             key, fmt::join(s, ", "), elements,
                             inferred < s.size() ? " (the known dims do not divide them)"
                                                 : fmt::format(" (it has {})", known)));
  if (inferred < s.size()) {
    s[inferred] = elements / known;
    if (s[inferred] > kMaxSize)
      doc_.fail(v[inferred], fmt::format("{}: '{}' dim {} would be {}, above {}", m.what(), key,
                                         inferred, s[inferred], kMaxSize));
  }
  return s;
}

std::vector<int64_t> Builder::perm_of(const Map& m, size_t rank) const {
  std::vector<int64_t> p = m.integers("perm", 0, kMaxSize);
  if (!valid_perm(p, rank))
    doc_.fail(m.value("perm"),
              fmt::format("{}: 'perm' [{}] must hold each of 0..{} once (the input has rank {})",
                          m.what(), fmt::join(p, ", "), int64_t(rank) - 1, rank));
  return p;
}

int64_t Builder::axis_of(const Map& m, size_t rank, int64_t dflt) const {
  if (!m.has("axis")) return dflt;
  const int64_t r = int64_t(rank), a = m.yaml::Map::integer("axis", -kMaxSize, kMaxSize);
  if (a < -r || a >= r)
    doc_.fail(m.value("axis"), fmt::format("{}: 'axis' {} is not a dim of the input (rank {}: "
                                           "0..{}, or -{}..-1 from the end)",
                                           m.what(), a, r, r - 1, r));
  return a < 0 ? a + r : a;
}

void Builder::add_op(const YAML::Node& y) {
  Map m(doc_, y, "op");
  cur_name_ = m.str("name");
  m.set_what(fmt::format("op '{}'", cur_name_));
  YAML::Node op_value = m.value("op");
  OpKind kind = parse_op(m.str("op"), doc_.loc(op_value));
  const bool chained = m.has("inputs");
  m.set_what(fmt::format("op '{}' ({}{})", cur_name_, op_name(kind), chained ? ", chained" : ""));
  m.allow(allowed_keys(kind, chained));
  cur_loc_ = doc_.loc(y);
  auto prev = node_locs_.find(cur_name_);
  if (prev != node_locs_.end())
    doc_.fail(m.value("name"),
              fmt::format("op name '{}' is already used at {}", cur_name_, prev->second.str()));
  node_locs_[cur_name_] = cur_loc_;

  Node n;
  n.name = cur_name_;
  n.kind = kind;
  n.loc = cur_loc_;
  OpAttrs& a = n.attrs;

  // Inputs: named tensors (chained) or none yet (flat: generated below from the sizes).
  std::vector<int> ins;
  if (chained) {
    for (const YAML::Node& name : m.names("inputs")) ins.push_back(use(name));
  }
  auto expect_inputs = [&](std::initializer_list<size_t> counts, const char* what) {
    for (size_t c : counts)
      if (ins.size() == c) return;
    doc_.fail(m.value("inputs"),
              fmt::format("{}: expected inputs {}, got {} name(s)", m.what(), what, ins.size()));
  };
  auto in_shape = [&](size_t i) -> const std::vector<int64_t>& { return g_.tensors[ins[i]].shape; };
  auto expect_rank = [&](size_t i, size_t rank, const char* layout) {
    if (in_shape(i).size() != rank)
      doc_.fail(m.value("inputs"),
                fmt::format("{}: input '{}' must be {}-D {}, got [{}]", m.what(),
                            g_.tensors[ins[i]].name, rank, layout, fmt::join(in_shape(i), ", ")));
  };

  // DType: a flat op's own (or its default); a chained op's comes from its inputs.
  if (chained) {
    if (ins.empty())
      doc_.fail(m.value("inputs"), fmt::format("{}: inputs must not be empty", m.what()));
    cur_dtype_ = g_.tensors[ins[0]].dtype;
    if (kind == OpKind::gather) {  // the ids are int32; the table's dtype is the op's
      if (cur_dtype_ != DType::int32)
        doc_.fail(m.value("inputs"),
                  fmt::format("{}: the ids '{}' must be int32 (declare them with dtype: int32), "
                              "got {}",
                              m.what(), g_.tensors[ins[0]].name, dtype_name(cur_dtype_)));
      cur_dtype_ =
          m.has("dtype") ? parse_dtype(m.str("dtype"), doc_.loc(m.value("dtype"))) : DType::bf16;
    } else if (m.has("dtype")) {
      DType t = parse_dtype(m.str("dtype"), doc_.loc(m.value("dtype")));
      if (t != cur_dtype_)
        doc_.fail(m.value("dtype"),
                  fmt::format("{}: dtype {} differs from the dtype of input '{}' ({})", m.what(),
                              dtype_name(t), g_.tensors[ins[0]].name, dtype_name(cur_dtype_)));
    }
  } else {
    cur_dtype_ = m.has("dtype") ? parse_dtype(m.str("dtype"), doc_.loc(m.value("dtype")))
                                : default_dtype(kind);
  }
  if (!op_supports_dtype(kind, cur_dtype_)) {
    YAML::Node where = m.has("dtype") ? m.value("dtype") : chained ? m.value("inputs") : y;
    doc_.fail(where, fmt::format("{}: dtype {} is not allowed; {} takes {}", m.what(),
                                 dtype_name(cur_dtype_), op_name(kind), op_dtypes(kind)));
  }

  // A window pair: `key` for both axes, or `key_h` / `key_w`.
  auto window = [&](const std::string& key, int64_t dflt_h, int64_t dflt_w, int64_t lo) {
    if (m.has(key) && (m.has(key + "_h") || m.has(key + "_w")))
      doc_.fail(m.key_node(key), fmt::format("{}: give either '{}' or '{}_h'/'{}_w', not both",
                                             m.what(), key, key, key));
    auto read = [&](const std::string& k, int64_t d) { return m.has(k) ? m.integer(k, lo) : d; };
    int64_t h = read(key, dflt_h), w = read(key, dflt_w);
    return std::pair<int64_t, int64_t>{read(key + "_h", h), read(key + "_w", w)};
  };

  int64_t kred = 0;  // reduction length, for the default requant shift
  switch (kind) {
    case OpKind::gemm: {
      if (chained) {
        expect_inputs({1},
                      "[A] (the weight (K,N) is generated from N; use matmul for two "
                      "activations)");
        if (in_shape(0).size() < 2)
          doc_.fail(m.value("inputs"), fmt::format("{}: input '{}' must have at least 2 dims (M,K)",
                                                   m.what(), g_.tensors[ins[0]].name));
      } else {
        ins.push_back(generate("in0", {m.size("M"), m.size("K")}, false));
      }
      const auto& sa = in_shape(0);
      kred = 1;
      for (size_t i = 1; i < sa.size(); ++i) kred *= sa[i];  // rank > 2 is flattened
      ins.push_back(generate("w", {kred, m.size("N")}, true));
      break;
    }
    case OpKind::matmul: {
      if (chained) {
        expect_inputs({1, 2}, "[A, B] or [A] with N (B is then a generated weight)");
        expect_rank(0, 3, "(b,M,K)");
        if (ins.size() == 2 && m.has("N"))
          doc_.fail(m.key_node("N"),
                    fmt::format("{}: N comes from the second input; give N only with one input",
                                m.what()));
        if (ins.size() == 1)
          ins.push_back(generate("w", {in_shape(0)[0], in_shape(0)[2], m.size("N")}, true));
      } else {
        int64_t b = m.size_or("batch", 1), k = m.size("K");
        ins.push_back(generate("in0", {b, m.size("M"), k}, false));
        ins.push_back(generate("in1", {b, k, m.size("N")}, false));
      }
      kred = in_shape(0)[2];
      break;
    }
    case OpKind::conv2d: {
      if (chained) {
        expect_inputs({1}, "[X] (the weights are generated from K, R, S)");
        expect_rank(0, 4, "(N,C,H,W)");
      } else {
        ins.push_back(
            generate("in0", {m.size_or("N", 1), m.size("C"), m.size("H"), m.size("W")}, false));
      }
      int64_t c = in_shape(0)[1], k = m.size("K");
      a.groups = m.size_or("groups", 1);
      if (c % a.groups != 0 || k % a.groups != 0)
        doc_.fail(m.value("groups"),
                  fmt::format("{}: groups {} must divide the input channels C={} and the output "
                              "channels K={}",
                              m.what(), a.groups, c, k));
      a.kernel_h = m.size("R");
      a.kernel_w = m.size("S");
      std::tie(a.stride_h, a.stride_w) = window("stride", 1, 1, 1);
      std::tie(a.pad_h, a.pad_w) = window("pad", 0, 0, 0);
      ins.push_back(generate("w", {k, c / a.groups, a.kernel_h, a.kernel_w}, true));
      kred = c / a.groups * a.kernel_h * a.kernel_w;
      break;
    }
    case OpKind::pool: {
      if (chained) {
        expect_inputs({1}, "[X]");
        expect_rank(0, 4, "(N,C,H,W)");
      } else {
        ins.push_back(
            generate("in0", {m.size_or("N", 1), m.size("C"), m.size("H"), m.size("W")}, false));
      }
      if (!m.has("kernel") && !(m.has("kernel_h") && m.has("kernel_w")))
        doc_.fail(y, fmt::format("{}: missing required key 'kernel' (or 'kernel_h' and 'kernel_w')",
                                 m.what()));
      std::tie(a.kernel_h, a.kernel_w) = window("kernel", 1, 1, 1);
      std::tie(a.stride_h, a.stride_w) = window("stride", a.kernel_h, a.kernel_w, 1);
      std::tie(a.pad_h, a.pad_w) = window("pad", 0, 0, 0);
      if (m.has("type")) {
        std::string t = m.str("type");
        if (t != "max" && t != "avg")
          doc_.fail(m.value("type"),
                    fmt::format("{}: type must be max or avg, got '{}'", m.what(), t));
        a.pool_max = t == "max";
      }
      break;
    }
    case OpKind::add:
    case OpKind::mul:
      if (chained) {
        expect_inputs({2}, "[A, B] of the same shape");
      } else {
        std::vector<int64_t> s = m.shape("shape");
        ins.push_back(generate("in0", s, false));
        ins.push_back(generate("in1", s, false));
      }
      break;
    case OpKind::relu:
    case OpKind::gelu:
    case OpKind::silu:
    case OpKind::sigmoid:
    case OpKind::softmax:
      if (chained)
        expect_inputs({1}, "[X]");
      else
        ins.push_back(generate("in0", m.shape("shape"), false));
      break;
    case OpKind::layernorm:
    case OpKind::rmsnorm: {
      if (chained)
        expect_inputs({1}, "[X] (gamma and beta are generated)");
      else
        ins.push_back(generate("in0", m.shape("shape"), false));
      int64_t d = in_shape(0).back();
      ins.push_back(generate("gamma", {d}, true));
      if (kind == OpKind::layernorm) ins.push_back(generate("beta", {d}, true));
      a.eps = m.real_or("eps", a.eps);
      if (!(a.eps > 0)) doc_.fail(m.value("eps"), fmt::format("{}: eps must be > 0", m.what()));
      break;
    }
    case OpKind::attention: {
      if (chained) {
        expect_inputs({3}, "[Q, K, V]");
      } else {
        int64_t b = m.size_or("batch", 1), h = m.size("heads"), kvh = m.size_or("kv_heads", h);
        int64_t sq = m.size("seq_q"), skv = m.size_or("seq_kv", sq), d = m.size("head_dim");
        if (h % kvh != 0)
          doc_.fail(m.value("kv_heads"),
                    fmt::format("{}: heads {} must be divisible by kv_heads {}", m.what(), h, kvh));
        ins.push_back(generate("in0", {b, h, sq, d}, false));
        ins.push_back(generate("in1", {b, kvh, skv, d}, false));
        ins.push_back(generate("in2", {b, kvh, skv, d}, false));
      }
      a.causal = m.flag_or("causal", false);
      a.scale = m.real_or("scale", 0.0);
      if (a.scale < 0)
        doc_.fail(m.value("scale"),
                  fmt::format("{}: scale must be >= 0 (0 means 1/sqrt(head_dim))", m.what()));
      break;
    }
    case OpKind::reshape:
      if (chained)
        expect_inputs({1}, "[X]");
      else
        ins.push_back(generate("in0", m.shape("shape"), false));
      a.shape = reshape_to(m, chained ? "shape" : "new_shape", g_.tensors[ins[0]].elements());
      break;
    case OpKind::transpose:
      if (chained)
        expect_inputs({1}, "[X]");
      else
        ins.push_back(generate("in0", m.shape("shape"), false));
      a.perm = perm_of(m, in_shape(0).size());
      break;
    case OpKind::clip:
      if (chained)
        expect_inputs({1}, "[X]");
      else
        ins.push_back(generate("in0", m.shape("shape"), false));
      if (!m.has("min") && !m.has("max"))
        doc_.fail(y, fmt::format("{}: clip needs 'min', 'max' or both", m.what()));
      a.clip_min = m.real_or("min", a.clip_min);
      a.clip_max = m.real_or("max", a.clip_max);
      break;
    case OpKind::concat: {
      if (chained) {
        if (ins.size() < 2)
          doc_.fail(m.value("inputs"), fmt::format("{}: expected inputs [X0, X1, ...] (two or "
                                                   "more), got {} name(s)",
                                                   m.what(), ins.size()));
        a.axis = axis_of(m, in_shape(0).size(), 0);
      } else {
        std::vector<int64_t> s = m.shape("shape");
        a.axis = axis_of(m, s.size(), 0);
        const std::vector<int64_t> sizes = m.shape("sizes");
        if (sizes.size() < 2)
          doc_.fail(m.value("sizes"),
                    fmt::format("{}: 'sizes' must give two or more inputs' sizes along the axis",
                                m.what()));
        for (size_t i = 0; i < sizes.size(); ++i) {
          s[size_t(a.axis)] = sizes[i];
          ins.push_back(generate(fmt::format("in{}", i), s, false));
        }
      }
      for (size_t i = 1; i < ins.size(); ++i) {
        bool same = in_shape(i).size() == in_shape(0).size();
        for (size_t d = 0; same && d < in_shape(0).size(); ++d)
          same = int64_t(d) == a.axis || in_shape(i)[d] == in_shape(0)[d];
        if (!same)
          doc_.fail(m.value("inputs"),
                    fmt::format("{}: input '{}' [{}] must match '{}' [{}] in every dim but {}",
                                m.what(), g_.tensors[ins[i]].name, fmt::join(in_shape(i), ", "),
                                g_.tensors[ins[0]].name, fmt::join(in_shape(0), ", "), a.axis));
      }
      break;
    }
    case OpKind::slice: {
      if (chained)
        expect_inputs({1}, "[X]");
      else
        ins.push_back(generate("in0", m.shape("shape"), false));
      a.axis = axis_of(m, in_shape(0).size(), 0);
      const int64_t dim = in_shape(0)[size_t(a.axis)];
      a.step = m.size_or("step", 1);
      // Python's: a negative index counts from the end, then both are clamped to [0, dim].
      auto index = [&](const char* key, int64_t dflt) {
        if (!m.has(key)) return dflt;
        const int64_t v = m.yaml::Map::integer(key, -kMaxSize, kMaxSize);
        return std::clamp<int64_t>(v < 0 ? v + dim : v, 0, dim);
      };
      a.start = index("start", 0);
      a.end = index("end", dim);
      if (a.start >= a.end)
        doc_.fail(m.has("end")     ? m.value("end")
                  : m.has("start") ? m.value("start")
                                   : y,
                  fmt::format("{}: the slice [{}, {}) of dim {} (of size {}) is empty", m.what(),
                              a.start, a.end, a.axis, dim));
      break;
    }
    case OpKind::gather: {
      if (chained)
        expect_inputs({1}, "[ids] (the table (vocab, dim) is generated)");
      else
        ins.push_back(generate("ids", m.shape("shape"), false, DType::int32));
      ins.insert(ins.begin(), generate("w", {m.size("vocab"), m.size("dim")}, true));
      break;
    }
    case OpKind::rope: {
      if (chained)
        expect_inputs({1}, "[X] (the cos and sin tables are generated)");
      else
        ins.push_back(generate("in0", m.shape("shape"), false));
      const auto& x = in_shape(0);
      if (x.size() < 2 || x.back() % 2)
        doc_.fail(chained ? m.value("inputs") : m.value("shape"),
                  fmt::format("{}: the input must be (..., s, d) with d (head_dim) even, got [{}]",
                              m.what(), fmt::join(x, ", ")));
      const int64_t rows = x[x.size() - 2], half = x.back() / 2;
      ins.push_back(generate("cos", {rows, half}, true));
      ins.push_back(generate("sin", {rows, half}, true));
      a.theta = m.real_or("theta", a.theta);
      if (!(a.theta > 0))
        doc_.fail(m.value("theta"), fmt::format("{}: theta must be > 0", m.what()));
      a.pos = m.has("pos") ? m.integer("pos", 0) : 0;
      break;
    }
    case OpKind::kv_append: {
      if (chained) {
        expect_inputs({2}, "[cache, new]");
      } else {
        std::vector<int64_t> s = m.shape("shape");
        if (s.size() < 2)
          doc_.fail(m.value("shape"), fmt::format("{}: the cache must be (..., ctx, d), got [{}]",
                                                  m.what(), fmt::join(s, ", ")));
        ins.push_back(generate("cache", s, false));
        s[s.size() - 2] = m.size_or("new", 1);
        ins.push_back(generate("new", s, false));
      }
      break;
    }
  }

  // int8 requantisation of gemm / matmul / conv2d (kred > 0 only for those).
  if (m.has("requant") && (kred == 0 || cur_dtype_ != DType::int8))
    doc_.fail(m.key_node("requant"),
              fmt::format("{}: requant applies only to int8 gemm, matmul and conv2d", m.what()));
  if (kred > 0 && cur_dtype_ == DType::int8) {
    a.requant_multiplier = 1;
    a.requant_shift = default_shift(kred);
    if (m.has("requant")) {
      Map r(doc_, m.value("requant"), m.what() + " requant");
      r.allow({"multiplier", "shift"});
      a.requant_multiplier = int32_t(r.size_or("multiplier", 1));
      if (r.has("shift")) {
        a.requant_shift = int32_t(r.integer("shift", 0));
        if (a.requant_shift > 62)
          doc_.fail(r.value("shift"), fmt::format("{}: shift must be in [0, 62]", r.what()));
      }
    }
  }
  a.fused_relu = m.flag_or("fused_relu", false);

  n.inputs = ins;
  // Shape rules shared with verify(); they report at the op's line.
  TensorInfo out;
  out.name = m.has("output") ? m.str("output") : cur_name_ + ".out";
  out.shape = infer_output_shape(g_, n);
  out.dtype = cur_dtype_;
  out.loc = m.has("output") ? doc_.loc(m.value("output")) : cur_loc_;
  n.outputs.push_back(add_tensor(std::move(out)));
  g_.nodes.push_back(std::move(n));
}

void Builder::read_params(const Map& top) {
  const std::vector<ParamDecl> decls = param_decls(doc_, top);
  for (const auto& [name, value] : given_) {
    bool known = false;
    for (const ParamDecl& d : decls) known = known || d.name == name;
    if (known) continue;
    std::vector<std::string> names;
    for (const ParamDecl& d : decls) names.push_back(d.name);
    throw Error(fmt::format("--param {}: workload '{}' ({}) has no param '{}'; {}", name, g_.name,
                            doc_.file(), name,
                            names.empty() ? std::string("it has no params")
                                          : fmt::format("its params: {}", fmt::join(names, ", "))));
  }
  for (const ParamDecl& d : decls) {
    auto it = given_.find(d.name);
    std::string value;
    if (it != given_.end()) {
      value = it->second;
    } else {
      try {
        value = substitute(d.default_value, scope_);
      } catch (const Error& e) {
        doc_.fail(d.where, fmt::format("param '{}': {}", d.name, e.what()));
      }
    }
    scope_[d.name] = value;
    g_.params.push_back({d.name, value, !d.doc.empty() || it != given_.end()});
  }
}

void Builder::remember_templates(const YAML::Node& n) {
  if (n.IsScalar()) {
    if (n.Scalar().find('$') != std::string::npos) templates_[n.Mark().pos] = n.Scalar();
  } else if (n.IsSequence()) {
    for (const YAML::Node& c : n) remember_templates(c);
  } else if (n.IsMap()) {
    for (const auto& kv : n) remember_templates(kv.second);
  }
}

void Builder::fill(const YAML::Node& n) {
  if (n.IsScalar()) {
    auto it = templates_.find(n.Mark().pos);
    if (it == templates_.end()) return;
    std::string value;
    try {
      value = substitute(it->second, scope_);
    } catch (const Error& e) {
      doc_.fail(n, fmt::format("'{}': {}", it->second, e.what()));
    }
    YAML::Node target = n;  // a handle to the same node: its text changes, its place stays
    target = value;
  } else if (n.IsSequence()) {
    for (const YAML::Node& c : n) fill(c);
  } else if (n.IsMap()) {
    for (const auto& kv : n) fill(kv.second);
  }
}

void Builder::add_ops(const YAML::Node& ops) {
  for (const YAML::Node& y : ops) {
    if (g_.nodes.size() >= kMaxOps)
      doc_.fail(y, fmt::format("the workload has more than {} ops (repeats expanded)", kMaxOps));
    if (y.IsMap() && y["repeat"]) {
      add_repeat(y);
    } else {
      fill(y);
      add_op(y);
    }
  }
}

void Builder::add_inputs(const YAML::Node& ins) {
  for (const YAML::Node& i : ins) {
    if (i.IsMap() && i["repeat"]) {
      add_repeat(i, true);
    } else {
      fill(i);
      declare_input(i);
    }
  }
}

void Builder::add_repeat(const YAML::Node& y, bool inputs) {
  const char* list = inputs ? "inputs" : "ops";
  Map m(doc_, y, "repeat");
  m.allow({"repeat", "var", list});
  fill(m.value("repeat"));
  const int64_t count = m.integer("repeat", 0);
  std::string var = "i";
  if (m.has("var")) {
    fill(m.value("var"));
    var = m.str("var");
    check_name(doc_, m.value("var"), "repeat: var", var);
  }
  if (scope_.count(var))
    doc_.fail(
        m.has("var") ? m.value("var") : y,
        fmt::format("repeat: '{}' is already a name here (a param or the variable of a repeat "
                    "around this one); give this repeat another `var`",
                    var));
  const YAML::Node body = m.value(list);
  if (!body.IsSequence() || body.size() == 0)
    doc_.fail(body, fmt::format("repeat: '{}' must be a non-empty list of {}", list,
                                inputs ? "inputs" : "ops"));
  for (int64_t k = 0; k < count; ++k) {
    scope_[var] = std::to_string(k);
    if (inputs)
      add_inputs(body);
    else
      add_ops(body);
  }
  scope_.erase(var);
}

Graph Builder::build(const YAML::Node& root) {
  Map top(doc_, root, "workload");
  top.allow(kTopKeys);
  remember_templates(root);
  g_.file = doc_.file();
  g_.name = top.str("name");
  read_params(top);
  fill(top.value("name"));
  g_.name = top.str("name");
  for (const char* text : {"description", "source"})
    if (top.has(text)) {
      fill(top.value(text));
      top.str(text);
    }
  if (top.has("inputs")) {
    YAML::Node ins = top.value("inputs");
    if (!ins.IsSequence())
      doc_.fail(ins, "workload: 'inputs' must be a list of {name, shape, dtype}");
    add_inputs(ins);
  }
  YAML::Node ops = top.value("ops");
  if (!ops.IsSequence() || ops.size() == 0)
    doc_.fail(ops, "workload: 'ops' must be a non-empty list of ops");
  add_ops(ops);
  if (g_.nodes.empty()) doc_.fail(ops, "workload: its repeats leave no op");

  for (const std::string& name : declared_order_)
    if (!declared_.at(name).used)
      throw Error(declared_.at(name).info.loc,
                  fmt::format("input '{}' is declared but no op uses it", name));
  std::vector<int> consumers(g_.tensors.size(), 0);
  for (const Node& n : g_.nodes)
    for (int id : n.inputs) consumers[id]++;
  for (int t = 0; t < int(g_.tensors.size()); ++t)
    if (consumers[t] == 0 && !g_.tensors[t].is_param) g_.outputs.push_back(t);
  verify(g_);
  return std::move(g_);
}

}  // namespace

Graph parse_workload(const std::string& text, const std::string& name,
                     const WorkloadParams& params) {
  const Doc doc(text, name);
  if (!doc.root().IsMap())
    throw Error(SourceLoc{name, 0, 0},
                "expected a workload: a mapping with keys name, ops (and optionally description, "
                "inputs)");
  return Builder(doc, params).build(doc.root());
}

Graph load_workload(const std::string& path, const WorkloadParams& params) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(SourceLoc{path, 0, 0}, "cannot open the workload file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_workload(text.str(), path, params);
}

WorkloadInfo workload_info(const std::string& path) {
  const Doc doc = Doc::load(path);
  const Map top(doc, doc.root(), "workload");
  top.allow(kTopKeys);
  WorkloadInfo info;
  info.name = top.str("name");
  if (top.has("description")) info.description = top.str("description");
  if (top.has("source")) info.source = top.str("source");
  for (const ParamDecl& d : param_decls(doc, top))
    info.params.push_back({d.name, d.default_value, d.doc});
  return info;
}

}  // namespace xpusim::compiler
