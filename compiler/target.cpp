#include "compiler/target.h"

#include <fmt/format.h>

#include "models/core/registry.h"

namespace xpusim::compiler {
namespace {
Registry<TargetInfo>& table() {
  static Registry<TargetInfo> r("compiler target");
  return r;
}
}  // namespace

bool register_target(TargetInfo info) {
  const std::string name = info.family;
  return table().add(name, std::move(info));
}

void unsupported(const Node& n, const std::string& target, const std::string& why) {
  throw Error(n.loc, fmt::format("op '{}' (node '{}') cannot be lowered to target '{}': {}",
                                 op_name(n.kind), n.name, target, why));
}

const TargetInfo& find_target(const std::string& family) {
  return table().find(family);
}

}  // namespace xpusim::compiler
