#include "models/core/machine.h"

#include "models/core/registry.h"

namespace xpusim {
namespace {
Registry<FamilyInfo>& table() {
  static Registry<FamilyInfo> r("architecture family");
  return r;
}
}  // namespace

bool register_family(FamilyInfo info) {
  const std::string name = info.name;
  return table().add(name, std::move(info));
}

const FamilyInfo& find_family(const std::string& name) {
  return table().find(name);
}

MachineRun Machine::run_kernel(const KernelLaunch& launch, const MachineOptions&) {
  throw Error("run --kernel " + launch.file +
              ": this architecture's family runs programs and workloads, not kernels");
}

std::vector<const FamilyInfo*> families() {
  return table().all();
}

}  // namespace xpusim
