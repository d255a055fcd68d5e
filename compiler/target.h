// A compiler target: the lowering of a graph (after the graph passes) to a program of one
// family's ISA, with the place of every tensor in device memory. Each family's target lives in
// compiler/targets/<family>/ and registers itself under the family's name; it reads its
// capabilities (buffer sizes, array shape, dtypes) from the family's parameters.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/layout.h"
#include "compiler/passes/passes.h"
#include "isa/program.h"
#include "models/core/config.h"

namespace xpusim::compiler {

struct Lowered {
  std::unique_ptr<isa::Program> program;
  std::vector<Placement> tensors;  // per tensor id: address and layout in device memory
};

class Target {
 public:
  virtual ~Target() = default;
  // The target's own passes, in order (the names `--dump-after` accepts besides the graph's).
  virtual std::vector<std::string> pass_names() const = 0;
  // Lowers g, which the graph passes have verified. An op the target cannot run is an Error
  // naming the op, the node and the target; so is a workload that does not fit memory.
  virtual Lowered lower(const Graph& g, const Dump& dump) const = 0;
};

struct TargetInfo {
  std::string family;
  std::function<std::unique_ptr<Target>(const ArchConfig&)> make;
};

// The Error for what the target cannot lower: it names the op, the node and the target (the
// preset's name).
[[noreturn]] void unsupported(const Node& n, const std::string& target, const std::string& why);

bool register_target(TargetInfo info);
// Throws Error listing the families that have a target when family has none.
const TargetInfo& find_target(const std::string& family);

}  // namespace xpusim::compiler
