// Statistics tree: a group per component, each statistic with a unit and a one-line
// description; formulas are statistics too, evaluated once when the tree is written.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace xpusim {

class StatGroup {
 public:
  explicit StatGroup(std::string name, std::string description = "");

  // A child group, created on first use (keeps creation order).
  StatGroup& group(const std::string& name, const std::string& description = "");

  // Statistic names are unique within a group (a repeated name is an internal error).
  // A counter registered by reference: the component increments the returned value.
  uint64_t& counter(const std::string& name, const std::string& unit, const std::string& desc);
  // A real-valued statistic set by the component.
  double& scalar(const std::string& name, const std::string& unit, const std::string& desc);
  // A counter that holds a level (a capacity, a high-water mark): accumulate() keeps the
  // larger of the two.
  uint64_t& maximum(const std::string& name, const std::string& unit, const std::string& desc);
  // A formula over other statistics, computed when read.
  void formula(const std::string& name, const std::string& unit, const std::string& desc,
               std::function<double()> f);

  const std::string& name() const { return name_; }

  // Adds the counters and real values of `other` (the statistics of a further run of the same
  // components: a GPU program's next kernel launch) to the same-named ones here, creating the
  // groups and statistics this tree lacks; maximum() statistics keep the larger value. Formulas
  // are not copied: this tree's own must read its statistics, not values captured once.
  void accumulate(const StatGroup& other);
  // Adds scale * (later - earlier) to each counter and real value (rounded for counters): two
  // snapshots of the same components' statistics, whose change over a stretch of a run stands for
  // `scale` more such stretches. maximum() statistics and formulas are left as they are.
  void accumulate_change(const StatGroup& later, const StatGroup& earlier, double scale);

  // {"description":..., "stats": {name: {"value", "unit", "description"}}, "groups": {...}},
  // in creation order.
  nlohmann::ordered_json to_json() const;
  // Value of a statistic by dotted path below this group ("mxu.busy_cycles"); throws if absent.
  double value(const std::string& path) const;

 private:
  struct Stat {
    std::string name, unit, description;
    enum Kind { count, real, form, level } kind;
    uint64_t* count_value = nullptr;
    double* real_value = nullptr;
    std::function<double()> fn;
  };
  const Stat* find_stat(const std::string& name) const;
  void add(Stat s);

  std::string name_, description_;
  std::deque<uint64_t> counts_;  // deques: stable addresses for references handed out
  std::deque<double> reals_;
  std::vector<Stat> stats_;
  std::vector<std::unique_ptr<StatGroup>> children_;
};

}  // namespace xpusim
