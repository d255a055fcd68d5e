#include "tests/support.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "driver/child.h"
#include "models/core/error.h"

namespace fs = std::filesystem;

namespace xpusim::test {
namespace {

// The process's folder under the temporary area; temp_dir() makes its folders in it.
fs::path temp_root() {
  return fs::temp_directory_path() / ("xpusim-test-" + std::to_string(getpid()));
}

// Removes the process's temporary folders when its test cases pass, and keeps them, saying
// where, for a look at what a failing one wrote.
struct TempCleanup : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testRunEnded(const Catch::TestRunStats& stats) override {
    std::error_code ignored;
    if (!fs::exists(temp_root(), ignored)) return;
    if (stats.totals.testCases.failed == 0) {
      fs::remove_all(temp_root(), ignored);
    } else {
      Catch::cout() << "temporary files kept in " << temp_root().string() << "\n";
    }
  }
};
CATCH_REGISTER_LISTENER(TempCleanup)

Args xpusim_args(const Args& args) {
  Args argv = {XPUSIM_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

}  // namespace

Cli run_cli(const Args& args) {
  return run_command(xpusim_args(args));
}

Cli run_cli_in(const std::string& dir, const Args& args) {
  return run_command(xpusim_args(args), dir);
}

std::optional<Cli> run_cli_on_terminal(const Args& args) {
  try {
    run_command({"script", "--version"});
  } catch (const Error&) {
    return std::nullopt;  // not installed
  }
  // script runs a shell command line: each word is quoted.
  std::string command;
  for (const std::string& a : xpusim_args(args)) {
    std::string quoted;
    for (char c : a) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    command += " '" + quoted + "'";
  }
  return run_command({"script", "-qec", command, "/dev/null"});
}

Cli run_command(const Args& argv, const std::string& dir) {
  const child::Result r = child::run({argv, dir, ""});
  return Cli{r.signal ? -1 : r.code, r.output};
}

std::string temp_dir(const std::string& name) {
  fs::path d = temp_root() / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

bool has(const Cli& r, const std::string& text) {
  return r.output.find(text) != std::string::npos;
}

std::string read_text(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void replace_first(std::string& text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
}

std::string write_text(const std::string& dir, const std::string& name, const std::string& text) {
  fs::path p = fs::path(dir) / name;
  std::ofstream(p) << text;
  return p.string();
}

void check_values(const std::string& arch, const std::string& workload, const Args& params,
                  const std::string& out) {
  Args args = {"run", "--arch", arch, "--workload", workload, "--out", out};
  for (const std::string& p : params) args.insert(args.end(), {"--param", p});
  const Cli r = run_cli(args);
  INFO(arch << " " << workload << "\n" << r.output);
  CHECK(r.status == 0);
  CHECK(has(r, "functional check: passed"));
}

nlohmann::json run_stats(const Args& args, const std::string& out_dir) {
  Args run = {"run", "--out", out_dir};
  run.insert(run.end(), args.begin(), args.end());
  Cli r = run_cli(run);
  INFO(fmt::format("xpusim {}\n{}", fmt::join(run, " "), r.output));
  REQUIRE(r.status == 0);
  std::ifstream in(fs::path(out_dir) / "stats.json");
  return nlohmann::json::parse(in);
}

std::pair<nlohmann::json, nlohmann::json> rtl_same_as_formula(const Args& args,
                                                              const std::string& dir) {
  const nlohmann::json formula = run_stats(args, dir + "/formula");
  Args with_rtl = args;
  with_rtl.push_back("--rtl");
  const nlohmann::json rtl = run_stats(with_rtl, dir + "/rtl");
  for (const auto& [key, value] : formula.items()) {
    if (key == "notes") continue;
    INFO(key);
    CHECK(rtl.value(key, nlohmann::json()) == value);
  }
  CHECK(rtl.size() == formula.size());
  return {formula, rtl};
}

}  // namespace xpusim::test
