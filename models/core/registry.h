// A registry of named plug-ins (architecture families, ISAs, compiler targets, lab kinds),
// filled by static initialisers in OBJECT libraries, so that adding one touches no list kept
// by hand. Lookups of an unknown name are errors that list the known ones.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "models/core/error.h"

namespace xpusim {

template <class T>
class Registry {
 public:
  // `what` names an entry in messages ("architecture family", "lab kind").
  explicit Registry(std::string what) : what_(std::move(what)) {}

  // Registers item under name; a second registration of a name is an error (two plug-ins
  // claiming one name would make the choice between them depend on link order).
  bool add(const std::string& name, T item) {
    if (!items_.emplace(name, std::move(item)).second)
      throw Error(what_ + " '" + name + "' is registered twice");
    return true;
  }
  const T* try_find(const std::string& name) const {
    auto it = items_.find(name);
    return it == items_.end() ? nullptr : &it->second;
  }
  const T& find(const std::string& name) const {
    if (const T* t = try_find(name)) return *t;
    throw Error("unknown " + what_ + " '" + name + "' (known: " + known() + ")");
  }
  // Every entry, sorted by name.
  std::vector<const T*> all() const {
    std::vector<const T*> v;
    for (const auto& [n, t] : items_) v.push_back(&t);
    return v;
  }
  std::string known() const {
    std::string s;
    for (const auto& [n, t] : items_) s += (s.empty() ? "" : ", ") + n;
    return s.empty() ? "none in this build" : s;
  }

 private:
  std::string what_;
  std::map<std::string, T> items_;
};

}  // namespace xpusim
