// YAML workload frontend: reads a workload file into a Graph, infers shapes, verifies.
#pragma once

#include <string>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/params.h"

namespace xpusim::compiler {

// Loads a workload YAML file (both forms documented in docs/workloads.md: the flat form
// where each op gives its sizes and gets generated inputs, and the chained form with named
// tensors), its params set from `params` (the others keep their defaults) and its repeats
// expanded. Throws Error with file:line:column for malformed YAML, unknown keys (naming the
// keys allowed), unknown ops, wrong types, non-positive or inconsistent shapes; Error naming
// the workload's params for a value given to a param it does not have.
Graph load_workload(const std::string& path, const WorkloadParams& params = {});

// Same, from text; `name` is used as the file name in messages.
Graph parse_workload(const std::string& text, const std::string& name,
                     const WorkloadParams& params = {});

// What a workload file says of itself, without building it (`xpusim zoo`).
struct WorkloadInfo {
  struct Param {
    std::string name, default_value, doc;
  };
  std::string name, description, source;
  std::vector<Param> params;
};
WorkloadInfo workload_info(const std::string& path);

}  // namespace xpusim::compiler
