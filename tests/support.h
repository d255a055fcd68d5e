// Helpers shared by the tests that drive the xpusim binary (one simulation per process, as
// SystemC requires).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace xpusim::test {

struct Cli {
  int status = 0;
  std::string output;  // stdout and stderr together
};

// Runs the built xpusim binary with `args` (shell-quoted by the caller), in the current folder
// or in `dir`.
Cli run_cli(const std::string& args);
Cli run_cli_in(const std::string& dir, const std::string& args);
// Runs a shell command line; XPUSIM_BINARY in it is the built xpusim.
Cli run_shell(const std::string& command);

// A fresh empty folder under the build's temporary area.
std::string temp_dir(const std::string& name);

// Writes text to dir/name and returns the path.
std::string write_text(const std::string& dir, const std::string& name, const std::string& text);

// Runs `xpusim run` and returns the parsed stats.json; fails the test if the run fails.
nlohmann::json run_stats(const std::string& args, const std::string& out_dir);

}  // namespace xpusim::test
