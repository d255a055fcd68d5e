#include "tests/support.h"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace xpusim::test {

Cli run_cli(const std::string& args) {
  return run_cli_in(".", args);
}

Cli run_cli_in(const std::string& dir, const std::string& args) {
  return run_shell("cd '" + dir + "' && " + XPUSIM_BINARY + " " + args);
}

Cli run_shell(const std::string& command) {
  const std::string cmd = "(" + command + ") 2>&1";
  Cli r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int status = pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("xpusim-test-" + std::to_string(getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

std::string write_text(const std::string& dir, const std::string& name, const std::string& text) {
  fs::path p = fs::path(dir) / name;
  std::ofstream(p) << text;
  return p.string();
}

nlohmann::json run_stats(const std::string& args, const std::string& out_dir) {
  Cli r = run_cli("run " + args + " --out " + out_dir);
  INFO("xpusim run " << args << "\n" << r.output);
  REQUIRE(r.status == 0);
  std::ifstream in(fs::path(out_dir) / "stats.json");
  return nlohmann::json::parse(in);
}

}  // namespace xpusim::test
