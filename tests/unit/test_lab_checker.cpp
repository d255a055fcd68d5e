// `xpusim lab check` as a course uses it: what lab 01 (b) tells students to compare is what the
// checker grades; expected values appear only for right answers (all of them only with
// --instructor); the built-in lab definition is used unless --custom-lab says otherwise, and the
// report names the definition; hints for the mistakes the lab warns of; errors about the
// answers in the student's language; unanswered questions listed; lab 02 part 2 refuses an
// unchanged RTL; instructor material lives apart from the students' READMEs.
#include <yaml-cpp/yaml.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support.h"

using namespace xpusim::test;
namespace fs = std::filesystem;

namespace {

const std::string kLab01 = std::string(XPUSIM_SOURCE_DIR) + "/docs/labs/01-systolic-dataflows";
const std::string kLab02 = std::string(XPUSIM_SOURCE_DIR) + "/docs/labs/02-rtl-pe";
const std::string kLab03 = std::string(XPUSIM_SOURCE_DIR) + "/docs/labs/03-gpu-sm";
const std::string kLab04 = std::string(XPUSIM_SOURCE_DIR) + "/docs/labs/04-davinci-pipelines";
const std::string kLab05 = std::string(XPUSIM_SOURCE_DIR) + "/docs/labs/05-roofline-prefill-decode";

std::string expected_answers(const std::string& lab) {
  const Cli r = run_cli({"lab", "check", "--instructor", "--print-expected", "--lab", lab});
  INFO(r.output);
  REQUIRE(r.status == 0);
  return r.output;
}

Cli check(const std::string& dir, const std::string& name, const std::string& answers,
          const Args& options = {}) {
  Args args = {"lab", "check", write_text(dir, name, answers)};
  args.insert(args.end(), options.begin(), options.end());
  return run_cli(args);
}

// The line of a report's table whose first cells are `cells`; "" when there is none.
std::string row(const Cli& r, const std::vector<std::string>& cells) {
  std::stringstream s(r.output);
  for (std::string line; std::getline(s, line);) {
    std::stringstream words(line);
    std::vector<std::string> first;
    for (std::string w; first.size() < cells.size() && words >> w;) first.push_back(w);
    if (first == cells) return line;
  }
  return "";
}

#ifdef XPUSIM_WITH_VERILATOR
// The lines of a report that hold `text` (the rtl lab's tests).
std::vector<std::string> lines_with(const Cli& r, const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream s(r.output);
  for (std::string line; std::getline(s, line);)
    if (line.find(text) != std::string::npos) lines.push_back(line);
  return lines;
}
#endif

// The shell commands of a README's section `heading` (up to the next "### "): its ```sh blocks.
std::string section_commands(const std::string& readme, const std::string& heading) {
  const std::string text = read_text(readme);
  const size_t begin = text.find(heading);
  REQUIRE(begin != std::string::npos);
  const size_t end = text.find("\n### ", begin + heading.size());
  const std::string section = text.substr(begin, end - begin);
  std::string commands;
  for (size_t at = section.find("```sh\n"); at != std::string::npos;
       at = section.find("```sh\n", at)) {
    const size_t stop = section.find("```\n", at + 6);
    commands += section.substr(at + 6, stop - at - 6);
    at = stop;
  }
  return commands;
}

}  // namespace

TEST_CASE("lab 01 (b): the runs the lab compares against give the graded values", "[unit]") {
  const std::string en = section_commands(kLab01 + "/README.md", "### (b)");
  CHECK(en == section_commands(kLab01 + "/README.zh.md", "### (b)"));  // both languages
  const std::string dir = temp_dir("lab01-b");
  fs::create_directory_symlink(fs::path(XPUSIM_SOURCE_DIR) / "docs", fs::path(dir) / "docs");
  write_text(dir, "b.sh", std::string("set -e\nx=") + XPUSIM_BINARY + "\n" + en);
  const Cli b = run_command({"bash", "b.sh"}, dir);
  INFO(b.output);
  REQUIRE(b.status == 0);

  const YAML::Node expected = YAML::Load(expected_answers(kLab01))["answers"];
  std::set<std::string> seen;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir + "/results")) {
    if (e.path().filename() != "stats.json") continue;
    const std::string df =
        YAML::LoadFile(
            (e.path().parent_path() / "config.resolved.yaml").string())["array"]["dataflow"]
            .as<std::string>();
    const nlohmann::json stats = nlohmann::json::parse(std::ifstream(e.path()));
    for (const nlohmann::json& layer : stats.at("layers")) {
      const std::string name = layer.at("name");
      INFO(e.path().string() << ": " << name << " " << df);
      const YAML::Node want = expected[name][df];
      REQUIRE(want);
      CHECK(layer.at("cycles").get<double>() == want["cycles"].as<double>());
      CHECK(std::fabs(layer.at("utilization").get<double>() - want["utilization"].as<double>()) <=
            0.00005);
      seen.insert(name + "/" + df);
    }
  }
  CHECK(seen.size() == 18);  // every layer with every dataflow
}

TEST_CASE("lab check shows no expected value of a wrong or unanswered question", "[unit]") {
  const std::string dir = temp_dir("lab-hidden");
  std::string answers = read_text(kLab01 + "/answers-template.yaml");
  replace_first(answers,
                "  conv3x3:\n    os: {folds: null, cycles: null, utilization: null}\n    ws: "
                "{folds: null, cycles: null",
                "  conv3x3:\n    os: {folds: null, cycles: null, utilization: null}\n    ws: "
                "{folds: 36, cycles: 116000");
  const Cli r = check(dir, "answers.yaml", answers);
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(has(r, "score: 1 / 54"));
  CHECK(!has(r, "116280"));  // the expected cycles of the wrong answer
  CHECK(!has(r, "0.9709"));  // nor of the unanswered utilization
  CHECK(row(r, {"conv3x3", "ws", "folds"}).find(" 36 ") != std::string::npos);  // the right one
  CHECK(has(r, "wrong answers: conv3x3/ws/cycles\n"));
  CHECK(has(r, "unanswered (52): stem/os/folds, stem/os/cycles, stem/os/utilization,"));

  const Cli all = check(dir, "answers.yaml", answers, {"--instructor"});
  INFO(all.output);
  CHECK(has(all, "116280"));
  CHECK(has(all, "0.9709"));
}

TEST_CASE("lab check --print-expected needs --instructor", "[unit]") {
  const Cli r = run_cli({"lab", "check", "--print-expected", "--lab", kLab01});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(has(r, "it is for instructors and needs --instructor"));
  CHECK(!has(r, "cycles:"));
}

TEST_CASE("lab check grades against the built-in lab, not a copy the answers name", "[unit]") {
  const std::string dir = temp_dir("lab-copy");
  fs::create_directory(dir + "/lab");
  fs::copy_file(kLab01 + "/layers.yaml", dir + "/lab/layers.yaml");
  std::string lab = read_text(kLab01 + "/lab.yaml");
  replace_first(lab, "tolerance: 0.005", "tolerance: 1.0");
  write_text(dir + "/lab", "lab.yaml", lab);
  std::string answers = expected_answers(kLab01);
  replace_first(answers, "utilization: 0.9709", "utilization: 0.4709");
  replace_first(answers, "lab: " + kLab01 + "/lab.yaml", "lab: " + dir + "/lab");

  const Cli r = check(dir, "answers.yaml", answers);
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(has(r, "lab definition: " + kLab01 + "/lab.yaml (built in)"));
  CHECK(has(r, "note: " + dir + "/lab/lab.yaml, named by the answers, is not the built-in"));
  CHECK(has(r, "wrong answers: conv3x3/ws/utilization\n"));

  const Cli custom = check(dir, "answers.yaml", answers, {"--custom-lab"});
  INFO(custom.output);
  CHECK(custom.status == 0);
  CHECK(has(custom, "graded against " + dir + "/lab/lab.yaml, not the built-in lab"));

  const Cli unknown =
      run_cli({"lab", "check", "--instructor", "--print-expected", "--lab", dir + "/nolab"});
  CHECK(unknown.status == 1);
  replace_first(lab, "name: 01-systolic-dataflows", "name: my-lab");
  write_text(dir + "/lab", "lab.yaml", lab);
  const Cli other = check(dir, "answers.yaml", answers);
  INFO(other.output);
  CHECK(other.status == 1);
  CHECK(has(other, "lab 'my-lab' is not one of the labs shipped with xpusim"));
}

TEST_CASE("lab check hints at the mistakes lab 01 warns of", "[unit]") {
  std::string answers = expected_answers(kLab01);
  // conv3x3 ws: 36 folds of 3136 + 64 + 32 - 2 = 3230 cycles; SCALE-Sim prints 116279, the
  // formula without the load gives 36 * 3198 = 115128 and a utilization of 0.9806.
  replace_first(answers, "cycles: 116280, utilization: 0.9709",
                "cycles: 116279, utilization: 0.9806");
  replace_first(answers, "utilization: 0.2589", "utilization: 25.89");  // odd, os
  const std::string dir = temp_dir("lab-hints");
  const Cli r = check(dir, "answers.yaml", answers);
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(row(r, {"conv3x3", "ws", "cycles"}).find("SCALE-Sim prints the index of the last cycle") !=
        std::string::npos);
  CHECK(row(r, {"conv3x3", "ws", "utilization"}).find("the load of the stationary operand") !=
        std::string::npos);
  CHECK(has(r, "wrong (write a fraction, not a percent)"));
  replace_first(answers, "cycles: 116279,", "cycles: 115128,");
  replace_first(answers, "lang: en", "lang: zh");
  const Cli zh = check(dir, "answers-zh.yaml", answers);
  INFO(zh.output);
  CHECK(has(zh, "错（漏了装入固定操作数的时间：每次折叠 R 个周期）"));
}

TEST_CASE("lab check complains about the answers in the student's language", "[unit]") {
  const std::string dir = temp_dir("lab-zh-errors");
  const std::string head = "lab: 01-systolic-dataflows\nlang: zh\n";
  const std::string f = dir + "/bad.yaml";
  SECTION("an unknown key") {
    const Cli r = check(dir, "bad.yaml", head + "answers:\n  fc2:\n    os: {folds: 1}\n");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, f + ":4:"));
    CHECK(has(r, "answers（每个层一项）：未知的键 'fc2'"));
  }
  SECTION("a wrong type") {
    const Cli r = check(dir, "bad.yaml", head + "answers:\n  fc:\n    os: {cycles: lots}\n");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, f + ":5:"));
    CHECK(has(r, "fc/os/cycles 应为一个数，而不是 'lots'"));
  }
  SECTION("no answers") {
    const Cli r = check(dir, "bad.yaml", head + "student: Li\n");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, "答案文件：缺少 'answers'"));
  }
}

TEST_CASE("the students' READMEs hold no instructor material", "[unit]") {
  for (const std::string& lab : {kLab01, kLab02, kLab03, kLab04, kLab05}) {
    CHECK(fs::is_regular_file(lab + "/instructor.md"));
    CHECK(fs::is_regular_file(lab + "/instructor.zh.md"));
    for (const char* name : {"README.md", "README.zh.md", "lab.yaml", "answers-template.yaml"}) {
      const std::string text = read_text(lab + "/" + name);
      INFO(lab << "/" << name);
      CHECK(text.find("--print-expected") == std::string::npos);
      CHECK(text.find("--instructor") == std::string::npos);
      CHECK(text.find("instructor.") == std::string::npos);
      CHECK(text.find("For teachers") == std::string::npos);
      CHECK(text.find("教师说明") == std::string::npos);
      CHECK(text.find("prod_q <= prod;") == std::string::npos);  // lab 02's solution
      CHECK(text.find("12, 16, 20") == std::string::npos);       // lab 02's answers
      CHECK(text.find("30720") == std::string::npos);  // lab 03's data-path bound of hgemm
      CHECK(text.find("5492") == std::string::npos);   // lab 04's prediction of vadd_double
    }
  }
}

#ifdef XPUSIM_WITH_VERILATOR

TEST_CASE("lab check (rtl): part 2 refuses the unchanged RTL", "[unit]") {
  std::string answers = expected_answers(kLab02);
  replace_first(answers, "lang: en", "lang: en\npart: 2");
  const std::string dir = temp_dir("lab-rtl-part2");
  const Cli r = check(dir, "answers.yaml", answers);
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(has(r, dir + "/answers.yaml:4:"));
  CHECK(has(r,
            "part 2 grades your changed RTL, but the array built into this xpusim has the "
            "shipped timing"));
  CHECK(!has(r, "score"));
  replace_first(answers, "lang: en", "lang: zh");
  const Cli zh = check(dir, "answers-zh.yaml", answers);
  INFO(zh.output);
  CHECK(zh.status == 1);
  CHECK(has(zh, "第 2 部分按你修改后的 RTL 评分，但这个 xpusim 里编译进去的阵列仍是原始的时序"));
}

TEST_CASE("lab check (rtl): done cycles shown for right predictions only", "[unit]") {
  std::string answers = expected_answers(kLab02);
  replace_first(answers, "ws_short: [12, 16, 20]", "ws_short: [12, 15, null]");
  const std::string dir = temp_dir("lab-rtl-hidden");
  const Cli r = check(dir, "answers.yaml", answers);
  INFO(r.output);
  CHECK(r.status == 1);
  const std::vector<std::string> tiles = lines_with(r, "2x4x4");  // ws_short's three tiles
  REQUIRE(tiles.size() == 3);
  CHECK(tiles[0].find(" 12 ") != std::string::npos);  // right: shown
  CHECK(tiles[1].find("16") == std::string::npos);    // wrong: hidden
  CHECK(tiles[2].find("20") == std::string::npos);    // unanswered: hidden
  CHECK(has(r, "wrong (one less: done is the cycle after the last result row left)"));
  CHECK(has(r, "wrong answers: ws_short/2\nunanswered (1): ws_short/3\n"));
}

#endif
