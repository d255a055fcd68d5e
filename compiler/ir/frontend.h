// YAML workload frontend: reads a workload file into a Graph, infers shapes, verifies.
#pragma once

#include <string>

#include "compiler/ir/ir.h"

namespace xpusim::compiler {

// Loads a workload YAML file (both forms documented in docs/workloads.md: the flat form
// where each op gives its sizes and gets generated inputs, and the chained form with named
// tensors). Throws Error with file:line:column for malformed YAML, unknown keys (naming the
// keys allowed), unknown ops, wrong types, non-positive or inconsistent shapes.
Graph load_workload(const std::string& path);

// Same, from text; `name` is used as the file name in messages.
Graph parse_workload(const std::string& text, const std::string& name);

}  // namespace xpusim::compiler
