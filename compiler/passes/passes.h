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

// The graph passes every target runs, in order.
const std::vector<Pass>& graph_passes();

// Runs the passes (verifying the graph before the first and after each one) and prints the
// graph after each pass named in dump_after ("frontend" prints the graph as loaded). An
// unknown pass name is an error listing the known ones.
void run_graph_passes(Graph& g, const std::vector<std::string>& dump_after, std::ostream* dump);

}  // namespace xpusim::compiler
