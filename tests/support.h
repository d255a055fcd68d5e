// Helpers shared by the tests that drive the xpusim binary (one simulation per process, as
// SystemC requires).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/core/error.h"

namespace xpusim::test {

struct Cli {
  int status = 0;
  std::string output;  // stdout and stderr together
};

// A command line's arguments, one word each (no shell: nothing is quoted).
using Args = std::vector<std::string>;

// Runs the built xpusim binary with `args`, in the current folder or in `dir`.
Cli run_cli(const Args& args);
Cli run_cli_in(const std::string& dir, const Args& args);
// Runs the built xpusim binary with `args` on a terminal (through util-linux's script), as a
// user at a terminal would; nothing when script is not installed.
std::optional<Cli> run_cli_on_terminal(const Args& args);
// Runs a program (argv[0]: a path, or a name looked up on PATH), in the current folder or in
// `dir`.
Cli run_command(const Args& argv, const std::string& dir = "");

// A fresh empty folder under the build's temporary area.
std::string temp_dir(const std::string& name);

// Whether the command's output contains text.
bool has(const Cli& r, const std::string& text);
// A file's whole contents ("" when it cannot be read).
std::string read_text(const std::string& file);
// Replaces the first `from` in text, which must be there (the test fails otherwise).
void replace_first(std::string& text, const std::string& from, const std::string& to);

// Writes text to dir/name and returns the path.
std::string write_text(const std::string& dir, const std::string& name, const std::string& text);

// Runs `xpusim run --arch arch --workload workload --param P ... --out out` and checks that it
// succeeds with its values checked against the reference ("functional check: passed").
void check_values(const std::string& arch, const std::string& workload, const Args& params,
                  const std::string& out);

// Runs `xpusim run` and returns the parsed stats.json; fails the test if the run fails.
nlohmann::json run_stats(const Args& args, const std::string& out_dir);

// RTL in the loop: runs `xpusim run` with args into dir/formula, then with --rtl into dir/rtl,
// and checks that the two stats.json are the same but for their notes (which say how each ran):
// cycles, layers, operations, traffic, derived metrics, the statistics tree. Returns both, the
// formula's first.
std::pair<nlohmann::json, nlohmann::json> rtl_same_as_formula(const Args& args,
                                                              const std::string& dir);

// The message of the Error that `f` throws, or "" when it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace xpusim::test
