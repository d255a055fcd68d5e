#include "isa/program.h"

#include "models/core/registry.h"

namespace xpusim::isa {
namespace {
Registry<IsaTools>& table() {
  static Registry<IsaTools> r("instruction set");
  return r;
}
}  // namespace

bool register_isa(IsaTools tools) {
  const std::string name = tools.family;
  return table().add(name, std::move(tools));
}

const IsaTools& find_isa(const std::string& family) {
  return table().find(family);
}

std::vector<const IsaTools*> isas() {
  return table().all();
}

}  // namespace xpusim::isa
