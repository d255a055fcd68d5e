#include "models/core/stats.h"

#include <nlohmann/json.hpp>

#include "models/core/error.h"

namespace xpusim {

StatGroup::StatGroup(std::string name, std::string description)
    : name_(std::move(name)), description_(std::move(description)) {}

StatGroup& StatGroup::group(const std::string& name, const std::string& description) {
  for (auto& c : children_)
    if (c->name_ == name) return *c;
  children_.push_back(std::make_unique<StatGroup>(name, description));
  return *children_.back();
}

uint64_t& StatGroup::counter(const std::string& name, const std::string& unit,
                             const std::string& desc) {
  counts_.push_back(0);
  stats_.push_back({name, unit, desc, Stat::count, &counts_.back(), nullptr, {}});
  return counts_.back();
}

double& StatGroup::scalar(const std::string& name, const std::string& unit,
                          const std::string& desc) {
  reals_.push_back(0.0);
  stats_.push_back({name, unit, desc, Stat::real, nullptr, &reals_.back(), {}});
  return reals_.back();
}

void StatGroup::formula(const std::string& name, const std::string& unit, const std::string& desc,
                        std::function<double()> f) {
  stats_.push_back({name, unit, desc, Stat::form, nullptr, nullptr, std::move(f)});
}

const StatGroup::Stat* StatGroup::find_stat(const std::string& name) const {
  for (const auto& s : stats_)
    if (s.name == name) return &s;
  return nullptr;
}

nlohmann::json StatGroup::to_json() const {
  nlohmann::json j;
  if (!description_.empty()) j["description"] = description_;
  auto& stats = j["stats"] = nlohmann::json::object();
  for (const auto& s : stats_) {
    nlohmann::json e;
    if (s.kind == Stat::count)
      e["value"] = *s.count_value;
    else
      e["value"] = s.kind == Stat::real ? *s.real_value : s.fn();
    e["unit"] = s.unit;
    e["description"] = s.description;
    stats[s.name] = e;
  }
  if (!children_.empty()) {
    auto& g = j["groups"] = nlohmann::json::object();
    for (const auto& c : children_) g[c->name_] = c->to_json();
  }
  return j;
}

double StatGroup::value(const std::string& path) const {
  auto dot = path.find('.');
  if (dot == std::string::npos) {
    const Stat* s = find_stat(path);
    if (!s) throw Error("no statistic '" + path + "' in group '" + name_ + "'");
    if (s->kind == Stat::count) return double(*s->count_value);
    return s->kind == Stat::real ? *s->real_value : s->fn();
  }
  std::string head = path.substr(0, dot);
  for (const auto& c : children_)
    if (c->name_ == head) return c->value(path.substr(dot + 1));
  throw Error("no statistics group '" + head + "' in group '" + name_ + "'");
}

}  // namespace xpusim
