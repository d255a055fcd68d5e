// Architecture configurations: strict YAML presets and files, --set overrides, and the fully
// resolved configuration written beside the results.
//
// A config file:
//   schema: 1                 # required, the config schema version this build reads
//   family: tpu               # required unless `base` gives it
//   base: tpu_v1              # optional: start from this preset, then apply this file's keys
//   name: my-chip             # optional, defaults to the file's stem
//   description: "..."        # optional
//   sources: ["..."]          # optional: where the figures come from
//   array: {rows: 128, ...}   # the family's parameters, nested by their dotted paths
#pragma once

#include <string>
#include <vector>

#include "models/core/params.h"

namespace xpusim {

constexpr int kConfigSchema = 1;

struct ArchConfig {
  std::string name;
  std::string family;
  std::string description;
  std::vector<std::string> sources;
  std::string origin;  // file the configuration was read from
  ParamValues values;
};

// `arch` is a path to a YAML file (contains '/' or ends in .yaml) or a preset name, searched
// in $XPUSIM_CONFIG_PATH (colon-separated folders) then the built-in configs folder. `sets`
// are "path.to.key=value" overrides, applied last. Throws Error with file:line for unknown
// keys (listing those allowed), wrong types and out-of-range values.
ArchConfig load_arch(const std::string& arch, const std::vector<std::string>& sets = {});

// Same, from the text of a configuration file; `name` is used as its file name (in messages,
// as the default name, and to find a relative `base`).
ArchConfig load_arch_text(const std::string& text, const std::string& name);

// The configuration with every parameter resolved (defaults included), as re-loadable YAML.
std::string resolved_yaml(const ArchConfig& cfg);

struct PresetInfo {
  std::string name, family, description, file;
};
// Every preset found on the search path, sorted by family then name.
std::vector<PresetInfo> list_presets();

}  // namespace xpusim
