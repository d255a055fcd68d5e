// The one strict YAML reader of the files users write: architecture configurations
// (models/core/config.cpp), workloads (compiler/ir/frontend.cpp), lab definitions and answers
// (driver/lab.cpp). A Doc is checked as a whole when it is read: malformed YAML, a key given
// twice in one mapping, a scalar that is not valid UTF-8 and nesting deeper than kMaxDepth are
// refused with file:line:column. A Map is one mapping with its keys checked against those
// allowed where it appears, and typed reads whose errors name the key, the expected type and
// the place.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "models/core/error.h"

namespace xpusim::yaml {

// The deepest nesting of mappings and lists a document may have (the files xpusim reads need
// a handful of levels; yaml-cpp's parser itself gives up at 500).
constexpr int kMaxDepth = 64;
// The most nodes a document may have, counting each use of an alias (so aliases of aliases
// cannot make a small file take forever to walk).
constexpr uint64_t kMaxNodes = 1'000'000;

// Where n is in file: 1-based line and column, 0 when n has no mark (an empty document).
SourceLoc loc_of(const std::string& file, const YAML::Node& n);

// A YAML document, read and checked.
class Doc {
 public:
  // Parses text; `file` names it in messages.
  Doc(const std::string& text, std::string file);
  // Reads the file at path (Error when it cannot be read) and parses it.
  static Doc load(const std::string& path);

  const YAML::Node& root() const { return root_; }
  const std::string& file() const { return file_; }
  SourceLoc loc(const YAML::Node& n) const { return loc_of(file_, n); }
  [[noreturn]] void fail(const YAML::Node& n, const std::string& msg) const;

 private:
  std::string file_;
  YAML::Node root_;
};

// A mapping of a document in `file`; `what` names it in messages ("op 'g0' (gemm)").
class Map {
 public:
  struct Entry {
    std::string key;
    YAML::Node key_node, value;
  };

  // Throws Error at node when it is not a mapping or a key is not a plain scalar.
  Map(std::string file, const YAML::Node& node, std::string what);

  // Renames the mapping in messages (once more is known about it).
  void set_what(std::string what) { what_ = std::move(what); }
  const std::string& what() const { return what_; }
  const std::vector<Entry>& entries() const { return entries_; }

  // Throws Error at the first key not in `allowed`, listing those allowed.
  void allow(const std::vector<std::string>& allowed) const;

  bool has(const std::string& key) const { return find(key) != nullptr; }
  // The value of key (required).
  YAML::Node value(const std::string& key) const;
  // The key itself (the mapping when absent), for errors about it.
  YAML::Node key_node(const std::string& key) const;

  // A non-empty string.
  std::string str(const std::string& key) const;
  // An integer in [lo, hi].
  int64_t integer(const std::string& key, int64_t lo, int64_t hi) const;
  // A non-empty list of integers in [lo, hi].
  std::vector<int64_t> integers(const std::string& key, int64_t lo, int64_t hi) const;
  bool flag_or(const std::string& key, bool dflt) const;
  // A finite number.
  double real_or(const std::string& key, double dflt) const;

  SourceLoc loc(const YAML::Node& n) const { return loc_of(file_, n); }
  [[noreturn]] void fail(const YAML::Node& n, const std::string& msg) const;
  // A value as the user wrote it, for messages: 'text', a list, a mapping or nothing.
  static std::string shown(const YAML::Node& v);

 private:
  const Entry* find(const std::string& key) const;

  std::string file_;
  YAML::Node node_;
  std::string what_;
  std::vector<Entry> entries_;
};

}  // namespace xpusim::yaml
