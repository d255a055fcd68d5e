// Parameters: declared once (type, unit, default, range, one-line description), validated
// strictly from YAML, printed by `xpusim describe`.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "models/core/error.h"

namespace xpusim {

enum class ParamType { integer, real, boolean, choice, text };

struct ParamSpec {
  std::string path;  // dotted key in the config, e.g. "array.rows"
  ParamType type = ParamType::integer;
  std::string unit;           // "cycles", "bytes", "MHz", "bytes/cycle", "ns", "" (none)
  std::string default_value;  // text as written in YAML
  std::string description;    // one line
  double min = std::numeric_limits<double>::lowest();
  double max = std::numeric_limits<double>::max();
  std::vector<std::string> choices;  // ParamType::choice

  std::string type_name() const;  // "integer", "number", "boolean", "one of os|ws|is", "text"
};

// Convenience constructors, so declarations read as a table.
ParamSpec int_param(std::string path, std::string unit, int64_t def, std::string desc,
                    int64_t min = 0, int64_t max = std::numeric_limits<int64_t>::max());
ParamSpec real_param(std::string path, std::string unit, double def, std::string desc,
                     double min = 0.0, double max = std::numeric_limits<double>::max());
ParamSpec bool_param(std::string path, bool def, std::string desc);
ParamSpec choice_param(std::string path, std::string def, std::vector<std::string> choices,
                       std::string desc);
// Free text (a file name); the default is empty.
ParamSpec text_param(std::string path, std::string desc);

// Resolved values of a set of declared parameters. Values are validated on set().
class ParamValues {
 public:
  explicit ParamValues(const std::vector<ParamSpec>* specs = nullptr);

  // Validates text against the spec of path and stores it; errors name `where` and the
  // allowed values or range.
  void set(const std::string& path, const std::string& text, const SourceLoc& where);

  int64_t integer(const std::string& path) const;
  double real(const std::string& path) const;
  bool boolean(const std::string& path) const;
  const std::string& choice(const std::string& path) const;
  const std::string& text(const std::string& path) const;

  const std::vector<ParamSpec>& specs() const { return *specs_; }
  const ParamSpec* find(const std::string& path) const;

 private:
  const std::vector<ParamSpec>* specs_;
  std::map<std::string, std::string> values_;
};

}  // namespace xpusim
