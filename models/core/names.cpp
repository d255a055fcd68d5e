#include "models/core/names.h"

#include <fmt/format.h>

namespace xpusim {

const std::string& safe_file_name(const std::string& name, const std::string& what,
                                  const SourceLoc& where) {
  auto refuse = [&](const std::string& why) {
    throw Error(where, fmt::format("{} '{}' cannot name a file: {}", what, name, why));
  };
  if (name.empty() || name == "." || name == "..") refuse("it is empty, '.' or '..'");
  if (name.size() > kMaxFileNameBytes)
    refuse(fmt::format("it is longer than {} bytes", kMaxFileNameBytes));
  for (unsigned char c : name) {
    if (c == '/' || c == '\\') refuse("it contains a path separator");
    if (c < 0x20 || c == 0x7f) refuse("it contains a control character");
  }
  return name;
}

}  // namespace xpusim
