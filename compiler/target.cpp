#include "compiler/target.h"

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

const TargetInfo& find_target(const std::string& family) {
  return table().find(family);
}

}  // namespace xpusim::compiler
