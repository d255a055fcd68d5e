// Helpers of the tests of the kernel labs (lab 03 and lab 04, kind `kernel`): the checker's
// expected answers, answers files edited and graded, the report's rows, the README's commands
// and the statistics of a run.
#pragma once

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support.h"

namespace xpusim::test {

// The answers file the checker prints with --print-expected for the lab in `lab_dir`.
inline std::string expected_answers(const std::string& lab_dir) {
  const Cli r = run_cli({"lab", "check", "--instructor", "--print-expected", "--lab", lab_dir});
  INFO(r.output);
  REQUIRE(r.status == 0);
  return r.output;
}

// Writes `answers` to dir/name and grades it.
inline Cli check(const std::string& dir, const std::string& name, const std::string& answers) {
  return run_cli({"lab", "check", write_text(dir, name, answers)});
}

// Sets the answer to `question` (a line "  question: value") in an answers file.
inline void set_answer(std::string& text, const std::string& question, const std::string& value) {
  const std::string key = "  " + question + ": ";
  const size_t at = text.find(key);
  REQUIRE(at != std::string::npos);
  const size_t end = text.find('\n', at);
  text.replace(at + key.size(), end - at - key.size(), value);
}

// The line of a report's table that starts with `question`; "" when there is none.
inline std::string row(const Cli& r, const std::string& question) {
  std::stringstream s(r.output);
  for (std::string line; std::getline(s, line);)
    if (line.rfind(question + " ", 0) == 0) return line;
  return "";
}

// The ```sh blocks of a README, in order.
inline std::vector<std::string> sh_blocks(const std::string& readme) {
  const std::string text = read_text(readme);
  std::vector<std::string> blocks;
  for (size_t at = text.find("```sh\n"); at != std::string::npos; at = text.find("```sh\n", at)) {
    const size_t stop = text.find("```\n", at + 6);
    blocks.push_back(text.substr(at + 6, stop - at - 6));
    at = stop;
  }
  return blocks;
}

// Runs the README's commands but its grading in dir (with docs/ linked to the source tree's and
// xpusim the built one), as a student runs them; returns what they printed.
inline Cli run_readme(const std::string& readme, const std::string& dir) {
  std::string script = "set -e\n";
  for (const std::string& b : sh_blocks(readme))
    if (b.find("lab check") == std::string::npos) script += b;
  replace_first(script, "x=build/release/cli/xpusim\n", std::string("x=") + XPUSIM_BINARY + "\n");
  std::filesystem::create_directory_symlink(std::filesystem::path(XPUSIM_SOURCE_DIR) / "docs",
                                            std::filesystem::path(dir) / "docs");
  write_text(dir, "readme.sh", script);
  return run_command({"bash", "readme.sh"}, dir);
}

// A fresh folder `name` with a link to the kernels of the lab in lab_dir, for broken copies of
// its lab.yaml.
inline std::string lab_copy_dir(const std::string& name, const std::string& lab_dir) {
  const std::string dir = temp_dir(name);
  std::filesystem::create_directory_symlink(lab_dir + "/kernels", dir + "/kernels");
  return dir;
}

// Writes the lab.yaml of lab_dir with its first `from` replaced by `to` into dir (a
// lab_copy_dir) and has the checker print its expected answers (--custom-lab): what a malformed
// definition gives.
inline Cli print_changed_lab(const std::string& dir, const std::string& lab_dir,
                             const std::string& from, const std::string& to) {
  std::string lab = read_text(lab_dir + "/lab.yaml");
  replace_first(lab, from, to);
  const std::string file = write_text(dir, "lab.yaml", lab);
  return run_cli(
      {"lab", "check", "--custom-lab", "--instructor", "--print-expected", "--lab", file});
}

// Every statistic of a stats.json by path (group.subgroup.name), with cycles and macs.
inline std::map<std::string, double> stats_of(const std::string& file) {
  const nlohmann::json j = nlohmann::json::parse(std::ifstream(file));
  std::map<std::string, double> out = {{"cycles", j.at("total_cycles").get<double>()},
                                       {"macs", j.at("macs").get<double>()}};
  std::vector<std::pair<std::string, const nlohmann::json*>> groups;
  for (const auto& [name, g] : j.at("stats").at("groups").items()) groups.push_back({name, &g});
  while (!groups.empty()) {
    const auto [path, g] = groups.back();
    groups.pop_back();
    if (g->contains("stats"))
      for (const auto& [name, s] : g->at("stats").items())
        if (s.at("value").is_number()) out[path + "." + name] = s.at("value").get<double>();
    if (g->contains("groups"))
      for (const auto& [name, sub] : g->at("groups").items())
        groups.push_back({path + "." + name, &sub});
  }
  return out;
}

}  // namespace xpusim::test
