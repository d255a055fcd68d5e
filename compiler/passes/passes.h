// Graph-level passes: each is named, each is followed by verify(), and the IR after any of
// them can be printed with `xpusim run --dump-after=<pass>`.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "compiler/ir/ir.h"

namespace xpusim::compiler {

struct Pass {
  std::string name;
  std::string description;
  std::function<void(Graph&)> run;
};

// Which passes' output to print (`--dump-after`), and where.
struct Dump {
  std::vector<std::string> after;
  std::ostream* out = nullptr;

  bool wants(const std::string& pass) const;
  // Prints "# <what> after pass '<pass>'" and text when the pass is wanted.
  void print(const std::string& pass, const std::string& what, const std::string& text) const;
  // Every name in `after` must be in `known` (else an Error listing them).
  void check_names(const std::vector<std::string>& known) const;
};

// The graph passes every target runs, in order.
const std::vector<Pass>& graph_passes();

// Runs the passes (verifying the graph before the first and after each one) and prints the
// graph after each pass the dump wants ("frontend" prints the graph as loaded).
void run_graph_passes(Graph& g, const Dump& dump);

}  // namespace xpusim::compiler
