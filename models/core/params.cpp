#include "models/core/params.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace xpusim {

std::string ParamSpec::type_name() const {
  switch (type) {
    case ParamType::integer:
      return "integer";
    case ParamType::real:
      return "number";
    case ParamType::boolean:
      return "boolean (true|false)";
    case ParamType::choice: {
      std::string s = "one of ";
      for (size_t i = 0; i < choices.size(); ++i) s += (i ? "|" : "") + choices[i];
      return s;
    }
    case ParamType::text:
      return "text";
  }
  return "";
}

ParamSpec int_param(std::string path, std::string unit, int64_t def, std::string desc, int64_t min,
                    int64_t max) {
  return {std::move(path), ParamType::integer, std::move(unit), std::to_string(def),
          std::move(desc), double(min),        double(max),     {}};
}

ParamSpec real_param(std::string path, std::string unit, double def, std::string desc, double min,
                     double max) {
  return {std::move(path),
          ParamType::real,
          std::move(unit),
          fmt::format("{}", def),
          std::move(desc),
          min,
          max,
          {}};
}

ParamSpec bool_param(std::string path, bool def, std::string desc) {
  return {
      std::move(path), ParamType::boolean, "", def ? "true" : "false", std::move(desc), 0, 1, {}};
}

ParamSpec choice_param(std::string path, std::string def, std::vector<std::string> choices,
                       std::string desc) {
  return {std::move(path),   ParamType::choice, "", std::move(def), std::move(desc), 0, 0,
          std::move(choices)};
}

ParamSpec text_param(std::string path, std::string desc) {
  return {std::move(path), ParamType::text, "", "", std::move(desc), 0, 0, {}};
}

ParamValues::ParamValues(const std::vector<ParamSpec>* specs) : specs_(specs) {
  if (!specs_) return;
  for (const auto& s : *specs_) set(s.path, s.default_value, SourceLoc{"default of " + s.path});
}

const ParamSpec* ParamValues::find(const std::string& path) const {
  for (const auto& s : *specs_)
    if (s.path == path) return &s;
  return nullptr;
}

namespace {

bool parse_int(const std::string& t, int64_t& out) {
  if (t.empty()) return false;
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(t.c_str(), &end, 0);
  if (errno || *end != '\0') return false;
  out = v;
  return true;
}

bool parse_real(const std::string& t, double& out) {
  if (t.empty()) return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (errno || *end != '\0' || !std::isfinite(v)) return false;
  out = v;
  return true;
}

// " in [min, max]", " >= min" or " <= max": the declared range of s, without the bound that
// is only the type's limit.
std::string range_text(const ParamSpec& s) {
  const bool integer = s.type == ParamType::integer;
  // The limits of int64_t as doubles (int_param stores them so), or of double.
  const double lowest = integer ? -0x1p63 : std::numeric_limits<double>::lowest();
  const double highest = integer ? 0x1p63 : std::numeric_limits<double>::max();
  auto num = [&](double v) { return integer ? std::to_string(int64_t(v)) : fmt::format("{}", v); };
  if (s.min > lowest && s.max < highest) return " in [" + num(s.min) + ", " + num(s.max) + "]";
  if (s.min > lowest) return " >= " + num(s.min);
  return " <= " + num(s.max);
}

}  // namespace

void ParamValues::set(const std::string& path, const std::string& text, const SourceLoc& where) {
  const ParamSpec* s = find(path);
  if (!s) throw Error(where, fmt::format("unknown parameter '{}'", path));
  auto bad = [&](const std::string& why) {
    throw Error(where, fmt::format("{} = '{}': expected {}{}", path, text, s->type_name(), why));
  };
  switch (s->type) {
    case ParamType::integer: {
      int64_t v;
      if (!parse_int(text, v)) bad("");
      if (double(v) < s->min || double(v) > s->max) bad(range_text(*s));
      values_[path] = std::to_string(v);
      return;
    }
    case ParamType::real: {
      double v;
      if (!parse_real(text, v)) bad("");
      if (v < s->min || v > s->max) bad(range_text(*s));
      values_[path] = text;
      return;
    }
    case ParamType::boolean:
      if (text != "true" && text != "false") bad("");
      values_[path] = text;
      return;
    case ParamType::choice:
      for (const auto& c : s->choices)
        if (c == text) {
          values_[path] = text;
          return;
        }
      bad("");
      return;
    case ParamType::text:
      values_[path] = text;
      return;
  }
}

const std::string& ParamValues::text(const std::string& path) const {
  auto it = values_.find(path);
  if (it == values_.end()) throw Error(fmt::format("internal: parameter '{}' not declared", path));
  return it->second;
}

int64_t ParamValues::integer(const std::string& path) const {
  return std::strtoll(text(path).c_str(), nullptr, 0);
}
double ParamValues::real(const std::string& path) const {
  return std::strtod(text(path).c_str(), nullptr);
}
bool ParamValues::boolean(const std::string& path) const {
  return text(path) == "true";
}
const std::string& ParamValues::choice(const std::string& path) const {
  return text(path);
}

}  // namespace xpusim
