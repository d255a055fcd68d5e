// Error reporting: every user-facing failure is an xpusim::Error carrying where it came from.
#pragma once

#include <stdexcept>
#include <string>

namespace xpusim {

// A place in a user-written file (YAML, assembly). line/column are 1-based; 0 means unknown.
struct SourceLoc {
  std::string file;
  int line = 0;
  int column = 0;

  // "file:line:column", "file:line" or "file", whichever is known.
  std::string str() const;
};

// The one exception type for bad input and impossible requests. what() is the full message,
// already prefixed with the location when there is one. The CLI prints it and exits nonzero.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
  Error(const SourceLoc& loc, const std::string& message)
      : std::runtime_error(loc.file.empty() ? message : loc.str() + ": " + message) {}
};

}  // namespace xpusim
