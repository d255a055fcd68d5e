#include "compiler/passes/passes.h"

#include <algorithm>
#include <ostream>

namespace xpusim::compiler {
namespace {

// How many nodes read tensor t.
int consumers(const Graph& g, int t) {
  int n = 0;
  for (const auto& node : g.nodes) n += int(std::count(node.inputs.begin(), node.inputs.end(), t));
  return n;
}

// Removes tensor t, which nothing references any more, renumbering the ids above it.
void remove_tensor(Graph& g, int t) {
  g.tensors.erase(g.tensors.begin() + t);
  auto fix = [t](std::vector<int>& ids) {
    for (int& id : ids)
      if (id > t) --id;
  };
  for (auto& n : g.nodes) {
    fix(n.inputs);
    fix(n.outputs);
  }
  fix(g.inputs);
  fix(g.outputs);
}

// A gemm or conv2d with a bias, for a target that does not add it in the op's output stage:
// the op without it, then an add of the bias stored broadcast over the output (a param of the
// output's shape, its values those of the bias per column or output channel where the bias has
// values; generated from the seed otherwise). The add takes the op's name and output.
void split_biases(Graph& g, const PassOptions& options) {
  if (options.target_adds_bias) return;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if ((g.nodes[i].kind != OpKind::gemm && g.nodes[i].kind != OpKind::conv2d) ||
        g.nodes[i].inputs.size() != 3)
      continue;
    const int bias = g.nodes[i].inputs[2], out = g.nodes[i].outputs[0];
    g.nodes[i].inputs.pop_back();
    TensorInfo raw = g.tensors[size_t(out)];
    raw.name += "/no_bias";
    TensorInfo full = g.tensors[size_t(out)];
    full.name = g.tensors[size_t(bias)].name + "/broadcast";
    full.is_param = true;
    full.value.clear();
    const TensorInfo& b = g.tensors[size_t(bias)];
    if (!b.value.empty()) {  // element e of the output: bias[(e / inner) % count]
      const int64_t count = b.elements(), es = dtype_size(b.dtype);
      const int64_t inner =
          g.nodes[i].kind == OpKind::conv2d ? full.shape.at(2) * full.shape.at(3) : 1;
      full.value.resize(size_t(full.elements() * es));
      for (int64_t e = 0; e < full.elements(); ++e)
        std::copy_n(b.value.begin() + (e / inner % count) * es, es, full.value.begin() + e * es);
    }
    const int raw_id = int(g.tensors.size()), full_id = raw_id + 1;
    g.tensors.push_back(std::move(raw));
    g.tensors.push_back(std::move(full));
    Node add;
    add.name = g.nodes[i].name;
    add.kind = OpKind::add;
    add.inputs = {raw_id, full_id};
    add.outputs = {out};
    add.loc = g.nodes[i].loc;
    g.nodes[i].outputs[0] = raw_id;
    g.nodes[i].name += "/no_bias";
    g.nodes.insert(g.nodes.begin() + std::ptrdiff_t(i) + 1, std::move(add));
    if (consumers(g, bias) == 0) remove_tensor(g, bias);
  }
}

// gemm/matmul/conv2d followed by a ReLU that is the only reader of its output: the ReLU runs
// in the producer's output stage (activation pipeline), saving a pass over memory.
void fuse_relu(Graph& g, const PassOptions&) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& p = g.nodes[i];
    if (p.kind != OpKind::gemm && p.kind != OpKind::matmul && p.kind != OpKind::conv2d) continue;
    if (p.attrs.fused_relu) continue;
    const int out = p.outputs[0];
    if (consumers(g, out) != 1) continue;
    auto r = std::find_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) {
      return n.kind == OpKind::relu && n.inputs.size() == 1 && n.inputs[0] == out;
    });
    if (r == g.nodes.end() || std::count(g.outputs.begin(), g.outputs.end(), out)) continue;
    p.attrs.fused_relu = true;
    p.outputs[0] = r->outputs[0];
    p.name += "+" + r->name;
    g.nodes.erase(r);
    remove_tensor(g, out);
  }
}

}  // namespace

const std::vector<Pass>& graph_passes() {
  static const std::vector<Pass> passes = {
      {"bias",
       "split a gemm's or conv2d's bias into an add, for a target that does not add it in the "
       "op's output stage",
       split_biases},
      {"fuse", "fuse a ReLU into the gemm/matmul/conv2d that produces its only input", fuse_relu},
  };
  return passes;
}

bool Dump::wants(const std::string& pass) const {
  return out && std::count(after.begin(), after.end(), pass);
}

void Dump::print(const std::string& pass, const std::string& what, const std::string& text) const {
  if (wants(pass)) *out << "# " << what << " after pass '" << pass << "'\n" << text << "\n";
}

void Dump::check_names(const std::vector<std::string>& known) const {
  for (const auto& name : after)
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw Error("--dump-after=" + name + ": unknown pass (known: " + list + ")");
    }
}

void run_graph_passes(Graph& g, const Dump& dump, const PassOptions& options) {
  verify(g);
  dump.print("frontend", "IR", to_yaml(g));
  for (const auto& p : graph_passes()) {
    p.run(g, options);
    verify(g);
    dump.print(p.name, "IR", to_yaml(g));
  }
}

}  // namespace xpusim::compiler
