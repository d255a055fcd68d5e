#include "models/core/yaml.h"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace xpusim::yaml {
namespace {

SourceLoc mark_loc(const std::string& file, const YAML::Mark& m) {
  if (m.is_null()) return {file, 0, 0};
  return {file, m.line + 1, m.column + 1};
}

std::string too_deep() {
  return fmt::format("nesting is too deep (more than {} levels of mappings and lists)", kMaxDepth);
}

// The offset of the first byte of s that is not part of valid UTF-8 (no overlong forms, no
// surrogates, nothing above U+10FFFF), or npos.
size_t invalid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 1;
    unsigned char lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;  // overlong
      if (c == 0xed) hi = 0x9f;  // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;  // overlong
      if (c == 0xf4) hi = 0x8f;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (size_t j = 1; j < len; ++j) {
      const auto b = static_cast<unsigned char>(s[i + j]);
      if (b < (j == 1 ? lo : 0x80) || b > (j == 1 ? hi : 0xbf)) return i;
    }
    i += len;
  }
  return std::string::npos;
}

// Checks n and everything below it: depth, node count, UTF-8 scalars, keys given twice.
class Checker {
 public:
  explicit Checker(const std::string& file) : file_(file) {}

  void check(const YAML::Node& n, int depth) {
    if (depth > kMaxDepth) throw Error(loc_of(file_, n), too_deep());
    if (++nodes_ > kMaxNodes)
      throw Error(loc_of(file_, n),
                  fmt::format("more than {} nodes (counting each use of an alias)", kMaxNodes));
    if (n.IsScalar()) {
      const size_t bad = invalid_utf8(n.Scalar());
      if (bad != std::string::npos)
        throw Error(loc_of(file_, n),
                    fmt::format("the text is not valid UTF-8 (byte {:#04x} at offset {})",
                                static_cast<unsigned char>(n.Scalar()[bad]), bad));
    } else if (n.IsSequence()) {
      for (const YAML::Node& x : n) check(x, depth + 1);
    } else if (n.IsMap()) {
      std::unordered_map<std::string, YAML::Mark> seen;
      for (const auto& kv : n) {
        check(kv.first, depth + 1);
        if (kv.first.IsScalar()) {
          const auto [first, fresh] = seen.emplace(kv.first.Scalar(), kv.first.Mark());
          if (!fresh)
            throw Error(loc_of(file_, kv.first),
                        fmt::format("key '{}' is given twice (first at line {})", kv.first.Scalar(),
                                    first->second.line + 1));
        }
        check(kv.second, depth + 1);
      }
    }
  }

 private:
  const std::string& file_;
  uint64_t nodes_ = 0;
};

}  // namespace

SourceLoc loc_of(const std::string& file, const YAML::Node& n) {
  return mark_loc(file, n.Mark());
}

Doc::Doc(const std::string& text, std::string file) : file_(std::move(file)) {
  try {
    root_ = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    throw Error(mark_loc(file_, e.mark), "malformed YAML: " + too_deep());
  } catch (const YAML::Exception& e) {
    throw Error(mark_loc(file_, e.mark), "malformed YAML: " + e.msg);
  }
  Checker(file_).check(root_, 0);
}

Doc Doc::load(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error(SourceLoc{path}, "is a folder: expected a YAML file");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in) throw Error(SourceLoc{path}, "cannot read the file");
  return Doc(text.str(), path);
}

void Doc::fail(const YAML::Node& n, const std::string& msg) const {
  throw Error(loc(n), msg);
}

Map::Map(std::string file, const YAML::Node& node, std::string what)
    : file_(std::move(file)), node_(node), what_(std::move(what)) {
  if (!node.IsMap()) fail(node, fmt::format("{}: expected a mapping of keys to values", what_));
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) fail(kv.first, fmt::format("{}: keys must be plain names", what_));
    entries_.push_back({kv.first.Scalar(), kv.first, kv.second});
  }
}

void Map::fail(const YAML::Node& n, const std::string& msg) const {
  throw Error(loc(n), msg);
}

const Map::Entry* Map::find(const std::string& key) const {
  for (const Entry& e : entries_)
    if (e.key == key) return &e;
  return nullptr;
}

void Map::allow(const std::vector<std::string>& allowed) const {
  for (const Entry& e : entries_)
    if (std::find(allowed.begin(), allowed.end(), e.key) == allowed.end())
      fail(e.key_node, fmt::format("{}: unknown key '{}'; allowed keys: {}", what_, e.key,
                                   fmt::join(allowed, ", ")));
}

YAML::Node Map::value(const std::string& key) const {
  const Entry* e = find(key);
  if (!e) fail(node_, fmt::format("{}: missing required key '{}'", what_, key));
  return e->value;
}

YAML::Node Map::key_node(const std::string& key) const {
  const Entry* e = find(key);
  return e ? e->key_node : node_;
}

std::string Map::str(const std::string& key) const {
  YAML::Node v = value(key);
  if (!v.IsScalar() || v.Scalar().empty())
    fail(v, fmt::format("{}: '{}' must be a non-empty string", what_, key));
  return v.Scalar();
}

namespace {

// "positive integer", "non-negative integer" or "integer >= lo" (plural with an s).
std::string integer_kind(int64_t lo, bool plural) {
  const std::string s = plural ? "s" : "";
  if (lo == 1) return "positive integer" + s;
  if (lo == 0) return "non-negative integer" + s;
  return fmt::format("integer{} >= {}", s, lo);
}

bool read_integer(const YAML::Node& v, int64_t lo, int64_t hi, int64_t& out) {
  if (!v.IsScalar()) return false;
  try {
    out = v.as<int64_t>();
  } catch (const YAML::BadConversion&) {
    return false;
  }
  return out >= lo && out <= hi;
}

}  // namespace

int64_t Map::integer(const std::string& key, int64_t lo, int64_t hi) const {
  YAML::Node v = value(key);
  int64_t x = 0;
  if (!read_integer(v, lo, hi, x))
    fail(v, fmt::format("{}: '{}' must be a {} (at most {}), got {}", what_, key,
                        integer_kind(lo, false), hi, shown(v)));
  return x;
}

std::vector<int64_t> Map::integers(const std::string& key, int64_t lo, int64_t hi) const {
  YAML::Node v = value(key);
  std::vector<int64_t> out;
  bool ok = v.IsSequence() && v.size() > 0;
  for (size_t i = 0; ok && i < v.size(); ++i) {
    out.push_back(0);
    ok = read_integer(v[i], lo, hi, out.back());
  }
  if (!ok)
    fail(v, fmt::format("{}: '{}' must be a non-empty list of {}, got {}", what_, key,
                        integer_kind(lo, true), shown(v)));
  return out;
}

bool Map::flag_or(const std::string& key, bool dflt) const {
  if (!has(key)) return dflt;
  YAML::Node v = value(key);
  try {
    if (v.IsScalar()) return v.as<bool>();
  } catch (const YAML::BadConversion&) {
  }
  fail(v, fmt::format("{}: '{}' must be true or false, got {}", what_, key, shown(v)));
}

double Map::real_or(const std::string& key, double dflt) const {
  if (!has(key)) return dflt;
  YAML::Node v = value(key);
  try {
    if (v.IsScalar()) {
      const double x = v.as<double>();
      if (std::isfinite(x)) return x;
    }
  } catch (const YAML::BadConversion&) {
  }
  fail(v, fmt::format("{}: '{}' must be a finite number, got {}", what_, key, shown(v)));
}

std::string Map::shown(const YAML::Node& v) {
  if (v.IsScalar()) return "'" + v.Scalar() + "'";
  if (v.IsSequence()) return "a list";
  if (v.IsMap()) return "a mapping";
  return "nothing";
}

}  // namespace xpusim::yaml
