#include "models/core/backend.h"

#include <map>

#include "models/core/error.h"

namespace xpusim {
namespace {
std::map<std::string, FamilyInfo>& table() {
  static std::map<std::string, FamilyInfo> t;
  return t;
}
}  // namespace

bool register_family(FamilyInfo info) {
  std::string name = info.name;
  return table().emplace(name, std::move(info)).second;
}

const FamilyInfo& find_family(const std::string& name) {
  auto it = table().find(name);
  if (it != table().end()) return it->second;
  std::string known;
  for (const auto& [n, f] : table()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown architecture family '" + name + "' (known: " + known + ")");
}

std::vector<const FamilyInfo*> families() {
  std::vector<const FamilyInfo*> v;
  for (const auto& [n, f] : table()) v.push_back(&f);
  return v;
}

}  // namespace xpusim
