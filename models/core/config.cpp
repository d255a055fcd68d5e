#include "models/core/config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

#include "models/core/machine.h"
#include "models/core/shipped.h"
#include "models/core/yaml.h"

namespace fs = std::filesystem;

namespace xpusim {
namespace {

using yaml::loc_of;

std::vector<std::string> search_dirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("XPUSIM_CONFIG_PATH")) {
    std::stringstream ss(env);
    std::string d;
    while (std::getline(ss, d, ':'))
      if (!d.empty()) dirs.push_back(d);
  }
  dirs.push_back(shipped_dir("configs"));
  return dirs;
}

std::string find_preset(const std::string& name) {
  for (const auto& d : search_dirs()) {
    fs::path p = fs::path(d) / (name + ".yaml");
    if (fs::exists(p)) return p.string();
  }
  std::string known;
  for (const auto& p : list_presets()) known += (known.empty() ? "" : ", ") + p.name;
  throw Error(
      fmt::format("unknown preset '{}' (known presets: {}; or give a .yaml path)", name, known));
}

bool is_path(const std::string& arch) {
  return arch.find('/') != std::string::npos ||
         (arch.size() > 5 && arch.compare(arch.size() - 5, 5, ".yaml") == 0);
}

// The keys allowed directly below `prefix` ("" for the top level), from the declared paths.
std::vector<std::string> allowed_below(const std::vector<ParamSpec>& specs,
                                       const std::string& prefix) {
  std::set<std::string> keys;
  for (const auto& s : specs) {
    if (s.path.compare(0, prefix.size(), prefix) != 0) continue;
    std::string rest = s.path.substr(prefix.size());
    keys.insert(rest.substr(0, rest.find('.')));
  }
  return {keys.begin(), keys.end()};
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

const std::vector<std::string> kMetaKeys = {"schema", "family",      "base",
                                            "name",   "description", "sources"};

void apply_params(const yaml::Map& map, const std::string& prefix, const std::string& file,
                  ArchConfig& cfg) {
  const auto& specs = cfg.values.specs();
  std::vector<std::string> allowed = allowed_below(specs, prefix);
  if (prefix.empty()) allowed.insert(allowed.begin(), kMetaKeys.begin(), kMetaKeys.end());
  map.allow(allowed);
  for (const auto& [key, key_node, v] : map.entries()) {
    if (prefix.empty() && std::find(kMetaKeys.begin(), kMetaKeys.end(), key) != kMetaKeys.end())
      continue;
    const std::string path = prefix + key;
    if (cfg.values.find(path)) {
      if (!v.IsScalar())
        throw Error(loc_of(file, v),
                    fmt::format("{}: expected {}", path, cfg.values.find(path)->type_name()));
      cfg.values.set(path, v.Scalar(), loc_of(file, v));
    } else {
      if (!v.IsMap())
        throw Error(loc_of(file, v), fmt::format("'{}' is a group: expected a map with keys {}",
                                                 path, join(allowed_below(specs, path + "."))));
      apply_params(yaml::Map(file, v, fmt::format("group '{}' of family '{}'", path, cfg.family)),
                   path + ".", file, cfg);
    }
  }
}

ArchConfig load_file(const std::string& path, int depth);

// A configuration read from doc (its file names it in messages, and a relative `base` is
// found beside it); `depth` counts the base presets above it.
ArchConfig load_doc(const yaml::Doc& doc, int depth) {
  const std::string& path = doc.file();
  const YAML::Node& root = doc.root();
  if (!root.IsMap()) throw Error(SourceLoc{path, 1}, "expected a map of configuration keys");
  yaml::Map top(path, root, "configuration");
  if (!top.has("schema"))
    throw Error(SourceLoc{path, 1}, fmt::format("missing 'schema: {}'", kConfigSchema));
  const YAML::Node schema = top.value("schema");
  if (!schema.IsScalar() || schema.Scalar() != std::to_string(kConfigSchema))
    throw Error(loc_of(path, schema),
                fmt::format("schema '{}' is not supported (this build reads "
                            "schema {})",
                            schema.IsScalar() ? schema.Scalar() : "?", kConfigSchema));
  ArchConfig cfg;
  if (top.has("base")) {
    const std::string b = top.str("base");
    std::string bp = is_path(b) ? (fs::path(path).parent_path() / b).string() : find_preset(b);
    cfg = load_file(bp, depth + 1);
    cfg.sources.clear();
  }
  if (top.has("family")) {
    const std::string f = top.str("family");
    const YAML::Node fam = top.value("family");
    if (!cfg.family.empty() && f != cfg.family)
      throw Error(loc_of(path, fam),
                  fmt::format("family '{}' differs from the base's family '{}'", f, cfg.family));
    if (cfg.family.empty()) {
      try {
        cfg.values = ParamValues(&find_family(f).params());
      } catch (const Error& e) {
        throw Error(loc_of(path, fam), e.what());
      }
    }
    cfg.family = f;
  }
  if (cfg.family.empty()) throw Error(SourceLoc{path, 1}, "missing 'family' (or 'base')");
  top.set_what(fmt::format("configuration of family '{}'", cfg.family));
  cfg.name = top.has("name") ? top.str("name") : fs::path(path).stem().string();
  if (top.has("description")) cfg.description = top.str("description");
  if (top.has("sources")) {
    const YAML::Node s = top.value("sources");
    if (!s.IsSequence()) throw Error(loc_of(path, s), "'sources' must be a list of strings");
    for (const auto& x : s) {
      if (!x.IsScalar()) throw Error(loc_of(path, x), "'sources' must be a list of strings");
      cfg.sources.push_back(x.Scalar());
    }
  }
  cfg.origin = path;
  apply_params(top, "", path, cfg);
  return cfg;
}

ArchConfig load_file(const std::string& path, int depth) {
  if (depth > 8) throw Error(SourceLoc{path}, "base presets nest too deeply (a cycle?)");
  if (!fs::exists(path)) throw Error(fmt::format("configuration file '{}' does not exist", path));
  return load_doc(yaml::Doc::load(path), depth);
}

}  // namespace

ArchConfig load_arch(const std::string& arch, const std::vector<std::string>& sets) {
  ArchConfig cfg = load_file(is_path(arch) ? arch : find_preset(arch), 0);
  for (const auto& s : sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error(fmt::format("--set '{}': expected path.to.key=value", s));
    std::string key = s.substr(0, eq);
    if (!cfg.values.find(key))
      throw Error(
          fmt::format("--set '{}': unknown parameter '{}' for family '{}' (see `xpusim "
                      "describe {}`)",
                      s, key, cfg.family, cfg.family));
    cfg.values.set(key, s.substr(eq + 1), SourceLoc{"--set " + s});
  }
  return cfg;
}

ArchConfig load_arch_text(const std::string& text, const std::string& name) {
  return load_doc(yaml::Doc(text, name), 0);
}

std::string resolved_yaml(const ArchConfig& cfg) {
  YAML::Emitter out;
  out << YAML::Comment("xpusim resolved configuration (every parameter, defaults included)");
  out << YAML::BeginMap;
  out << YAML::Key << "schema" << YAML::Value << kConfigSchema;
  out << YAML::Key << "family" << YAML::Value << cfg.family;
  out << YAML::Key << "name" << YAML::Value << cfg.name;
  if (!cfg.description.empty()) out << YAML::Key << "description" << YAML::Value << cfg.description;
  if (!cfg.sources.empty()) {
    out << YAML::Key << "sources" << YAML::Value << YAML::BeginSeq;
    for (const auto& s : cfg.sources) out << s;
    out << YAML::EndSeq;
  }
  // Parameters grouped by their first path component, in declaration order.
  std::vector<std::string> open;  // currently open groups
  for (const auto& spec : cfg.values.specs()) {
    std::vector<std::string> parts;
    std::stringstream ss(spec.path);
    for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
    size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common])
      ++common;
    while (open.size() > common) {
      out << YAML::EndMap;
      open.pop_back();
    }
    for (size_t i = common; i + 1 < parts.size(); ++i) {
      out << YAML::Key << parts[i] << YAML::Value << YAML::BeginMap;
      open.push_back(parts[i]);
    }
    out << YAML::Key << parts.back() << YAML::Value << cfg.values.text(spec.path)
        << YAML::Comment(spec.description + (spec.unit.empty() ? "" : " [" + spec.unit + "]"));
  }
  while (!open.empty()) {
    out << YAML::EndMap;
    open.pop_back();
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::vector<PresetInfo> list_presets() {
  std::vector<PresetInfo> v;
  std::set<std::string> seen;
  for (const auto& d : search_dirs()) {
    if (!fs::is_directory(d)) continue;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(d))
      if (e.path().extension() == ".yaml") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::string name = f.stem().string();
      if (!seen.insert(name).second) continue;
      // A broken preset is listed with its error, so it cannot hide the others.
      try {
        ArchConfig c = load_file(f.string(), 0);
        v.push_back({name, c.family, c.description, f.string()});
      } catch (const Error& e) {
        v.push_back({name, "?", std::string("cannot be loaded: ") + e.what(), f.string()});
      }
    }
  }
  std::stable_sort(v.begin(), v.end(),
                   [](const PresetInfo& a, const PresetInfo& b) { return a.family < b.family; });
  return v;
}

}  // namespace xpusim
