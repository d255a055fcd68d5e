#include "models/core/stats.h"

#include <algorithm>
#include <cmath>

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
  add({name, unit, desc, Stat::count, &counts_.back(), nullptr, {}});
  return counts_.back();
}

uint64_t& StatGroup::maximum(const std::string& name, const std::string& unit,
                             const std::string& desc) {
  counts_.push_back(0);
  add({name, unit, desc, Stat::level, &counts_.back(), nullptr, {}});
  return counts_.back();
}

double& StatGroup::scalar(const std::string& name, const std::string& unit,
                          const std::string& desc) {
  reals_.push_back(0.0);
  add({name, unit, desc, Stat::real, nullptr, &reals_.back(), {}});
  return reals_.back();
}

void StatGroup::formula(const std::string& name, const std::string& unit, const std::string& desc,
                        std::function<double()> f) {
  add({name, unit, desc, Stat::form, nullptr, nullptr, std::move(f)});
}

void StatGroup::add(Stat s) {
  if (find_stat(s.name))
    throw Error("internal: statistic '" + s.name + "' registered twice in group '" + name_ + "'");
  stats_.push_back(std::move(s));
}

void StatGroup::accumulate(const StatGroup& other) {
  for (const Stat& o : other.stats_) {
    const Stat* mine = find_stat(o.name);
    if (o.kind == Stat::form) continue;  // its function reads `other`'s statistics
    if (!mine) {
      if (o.kind == Stat::real)
        scalar(o.name, o.unit, o.description);
      else if (o.kind == Stat::level)
        maximum(o.name, o.unit, o.description);
      else
        counter(o.name, o.unit, o.description);
      mine = &stats_.back();
    }
    if (mine->kind != o.kind)
      throw Error("internal: statistic '" + o.name + "' of group '" + name_ +
                  "' accumulated from a statistic of another kind");
    if (o.kind == Stat::real)
      *mine->real_value += *o.real_value;
    else if (o.kind == Stat::level)
      *mine->count_value = std::max(*mine->count_value, *o.count_value);
    else
      *mine->count_value += *o.count_value;
  }
  for (const auto& c : other.children_) group(c->name_, c->description_).accumulate(*c);
}

void StatGroup::accumulate_change(const StatGroup& later, const StatGroup& earlier, double scale) {
  for (const Stat& b : later.stats_) {
    if (b.kind != Stat::count && b.kind != Stat::real) continue;
    const Stat* a = earlier.find_stat(b.name);
    const Stat* mine = find_stat(b.name);
    if (!mine || mine->kind != b.kind) continue;
    if (b.kind == Stat::real) {
      *mine->real_value += scale * (*b.real_value - (a ? *a->real_value : 0.0));
    } else {
      const uint64_t before = a ? *a->count_value : 0;
      const double change = *b.count_value > before ? double(*b.count_value - before) : 0.0;
      *mine->count_value += uint64_t(std::llround(scale * change));
    }
  }
  for (const auto& c : later.children_) {
    const StatGroup* a = nullptr;
    for (const auto& e : earlier.children_)
      if (e->name_ == c->name_) a = e.get();
    StatGroup empty(c->name_);
    group(c->name_).accumulate_change(*c, a ? *a : empty, scale);
  }
}

const StatGroup::Stat* StatGroup::find_stat(const std::string& name) const {
  for (const auto& s : stats_)
    if (s.name == name) return &s;
  return nullptr;
}

nlohmann::ordered_json StatGroup::to_json() const {
  nlohmann::ordered_json j;
  if (!description_.empty()) j["description"] = description_;
  auto& stats = j["stats"] = nlohmann::ordered_json::object();
  for (const auto& s : stats_) {
    nlohmann::ordered_json e;
    if (s.kind == Stat::count || s.kind == Stat::level)
      e["value"] = *s.count_value;
    else
      e["value"] = s.kind == Stat::real ? *s.real_value : s.fn();
    e["unit"] = s.unit;
    e["description"] = s.description;
    stats[s.name] = e;
  }
  if (!children_.empty()) {
    auto& g = j["groups"] = nlohmann::ordered_json::object();
    for (const auto& c : children_) g[c->name_] = c->to_json();
  }
  return j;
}

double StatGroup::value(const std::string& path) const {
  auto dot = path.find('.');
  if (dot == std::string::npos) {
    const Stat* s = find_stat(path);
    if (!s) throw Error("no statistic '" + path + "' in group '" + name_ + "'");
    if (s->kind == Stat::count || s->kind == Stat::level) return double(*s->count_value);
    return s->kind == Stat::real ? *s->real_value : s->fn();
  }
  std::string head = path.substr(0, dot);
  for (const auto& c : children_)
    if (c->name_ == head) return c->value(path.substr(dot + 1));
  throw Error("no statistics group '" + head + "' in group '" + name_ + "'");
}

}  // namespace xpusim
