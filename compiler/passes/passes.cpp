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

// gemm/matmul/conv2d followed by a ReLU that is the only reader of its output: the ReLU runs
// in the producer's output stage (activation pipeline), saving a pass over memory.
void fuse_relu(Graph& g) {
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

void run_graph_passes(Graph& g, const Dump& dump) {
  verify(g);
  dump.print("frontend", "IR", to_yaml(g));
  for (const auto& p : graph_passes()) {
    p.run(g);
    verify(g);
    dump.print(p.name, "IR", to_yaml(g));
  }
}

}  // namespace xpusim::compiler
