// `xpusim lab check`. Lab 01 (systolic dataflows, kind layers): the expected answers it prints
// score full marks, one wrong cycle count fails naming the layer, a malformed answers file is
// an error naming file:line. Lab 02 (one PE, two models, kind rtl): the done cycles it measures
// on the verilated 4x4 array as shipped are the documented formula's, its expected answers score
// full marks, a wrong prediction fails naming the tile, malformed answers and lab files are
// errors naming file:line; a build without Verilator says so.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "tests/support.h"

using namespace xpusim::test;

namespace {

const std::string kLab01 = std::string(XPUSIM_SOURCE_DIR) + "/docs/labs/01-systolic-dataflows";
const std::string kLab02 = std::string(XPUSIM_SOURCE_DIR) + "/docs/labs/02-rtl-pe";

// The answers file the checker prints with --print-expected.
std::string expected_answers(const std::string& lab) {
  const Cli r = run_cli({"lab", "check", "--instructor", "--print-expected", "--lab", lab});
  INFO(r.output);
  REQUIRE(r.status == 0);
  return r.output;
}

// Grades `answers` written to dir/name.
Cli check(const std::string& dir, const std::string& name, const std::string& answers) {
  return run_cli({"lab", "check", write_text(dir, name, answers)});
}

// Grades answers (lang: en) with wrong ones in them, then the same with lang: zh: each report
// fails and has every line of `en`, respectively `zh`.
void check_wrong(std::string answers, const std::string& dir, const std::vector<std::string>& en,
                 const std::vector<std::string>& zh) {
  for (const auto& [lang, lines] : {std::pair{"en", en}, std::pair{"zh", zh}}) {
    replace_first(answers, "lang: en", std::string("lang: ") + lang);
    const Cli r = check(dir, std::string("answers-") + lang + ".yaml", answers);
    INFO(r.output);
    CHECK(r.status == 1);
    for (const std::string& line : lines) CHECK(has(r, line));
  }
}

// The checker refused with an error at `where` (file:line:) saying `message`.
void check_error(const Cli& r, const std::string& where, const std::string& message) {
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(has(r, where));
  CHECK(has(r, message));
}

}  // namespace

TEST_CASE("lab check gives the expected answers full marks", "[unit]") {
  const std::string answers = expected_answers(kLab01);
  CHECK(answers.find("conv3x3:") != std::string::npos);
  CHECK(answers.find("ws: {folds: 36, cycles: 116280, utilization: 0.9709}") != std::string::npos);
  const Cli r = check(temp_dir("lab-right"), "answers.yaml", answers);
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(has(r, "score: 54 / 54"));
}

TEST_CASE("lab check fails one wrong cycle count and names its layer", "[unit]") {
  std::string answers = expected_answers(kLab01);
  replace_first(answers, "cycles: 116280,", "cycles: 116281,");  // conv3x3, weight-stationary
  check_wrong(answers, temp_dir("lab-wrong"),
              {"score: 53 / 54", "wrong answers: conv3x3/ws/cycles\n"},
              {"得分: 53 / 54", "答错的题: conv3x3/ws/cycles\n"});
}

TEST_CASE("lab check reports a malformed answers file with file:line", "[unit]") {
  const std::string dir = temp_dir("lab-malformed");
  const std::string head = "lab: " + kLab01 + "\nanswers:\n  fc:\n";
  const std::string f = dir + "/bad.yaml";
  SECTION("a value that is not a number") {
    check_error(
        check(dir, "bad.yaml", head + "    os: {folds: 32, cycles: lots, utilization: 0.03}\n"),
        f + ":4:", "fc/os/cycles must be a number, got 'lots'");
  }
  SECTION("an unknown layer") {
    check_error(check(dir, "bad.yaml", head + "  fc2:\n    os: {folds: 1}\n"),
                f + ":4:", "unknown key 'fc2'");
  }
  SECTION("broken YAML") {
    check_error(check(dir, "bad.yaml", head + "    os: {folds: 32\n"), f + ":5:", "malformed YAML");
  }
  SECTION("an unknown kind of lab") {
    const std::string lab = write_text(dir, "lab.yaml", "schema: 1\nkind: gates\nname: t\n");
    check_error(
        run_cli({"lab", "check", "--custom-lab", "--instructor", "--print-expected", "--lab", lab}),
        lab + ":2:", "kind 'gates' is not a lab kind of this build");
  }
}

#ifdef XPUSIM_WITH_VERILATOR

namespace {

// A lab.yaml of kind rtl in dir with one question on `array`; returns what the checker prints.
Cli rtl_lab(const std::string& dir, const std::string& array, const std::string& question) {
  const std::string lab = write_text(dir, "lab.yaml",
                                     "schema: 1\nkind: rtl\nname: t\ntitle: t\narray: " + array +
                                         "\nseed: 1\nquestions:\n  - " + question + "\n");
  return run_cli(
      {"lab", "check", "--custom-lab", "--instructor", "--print-expected", "--lab", lab});
}

}  // namespace

TEST_CASE("lab check (rtl): the shipped array's done cycles score full marks", "[unit]") {
  const std::string answers = expected_answers(kLab02);
  // docs/labs/02-rtl-pe/README.md, part 1: done = stream_end + R + C - 2 on 4x4 with folds
  // overlapping (ws short streams wait for their loads, os ones for the output port).
  CHECK(answers.find("  ws_full: [14]\n") != std::string::npos);
  CHECK(answers.find("  os_full: [10]\n") != std::string::npos);
  CHECK(answers.find("  ws_pair: [16, 22]\n") != std::string::npos);
  CHECK(answers.find("  ws_short: [12, 16, 20]\n") != std::string::npos);
  CHECK(answers.find("  os_short: [8, 12]\n") != std::string::npos);
  const Cli r = check(temp_dir("lab-rtl-right"), "answers.yaml", answers);
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(has(r, "score: 15 / 15"));
  CHECK(!has(r, "wrong"));    // every RTL result right
  CHECK(!has(r, "differs"));  // the model agrees everywhere

  const Cli empty = run_cli({"lab", "check", "--lab", kLab02, kLab02 + "/answers-template.yaml"});
  INFO(empty.output);
  CHECK(empty.status == 1);
  CHECK(has(empty, "score: 0 / 15"));  // the template parses; every answer is null
}

TEST_CASE("lab check (rtl): a wrong prediction fails and names its tile", "[unit]") {
  std::string answers = expected_answers(kLab02);
  replace_first(answers, "ws_pair: [16, 22]", "ws_pair: [16, 23]");
  replace_first(answers, "os_short: [8, 12]", "os_short: [8, null]");
  replace_first(answers, "lang: en", "lang: en\npart: 1");
  // 23 is wrong, null is unanswered.
  check_wrong(answers, temp_dir("lab-rtl-wrong"),
              {"part 1\n", "score: 13 / 15", "wrong answers: ws_pair/2\n", "(none)"},
              {"第 1 部分\n", "得分: 13 / 15", "答错的题: ws_pair/2\n", "（未填）"});
}

TEST_CASE("lab check (rtl): malformed answers and lab files name file:line", "[unit]") {
  const std::string dir = temp_dir("lab-rtl-malformed");
  const std::string head = "lab: " + kLab02 + "\nanswers:\n  ws_full: [14]\n";
  const std::string f = dir + "/bad.yaml";
  SECTION("a list with one done cycle too many") {
    check_error(check(dir, "bad.yaml", head + "  ws_pair: [16, 22, 28]\n"),
                f + ":4:", "question 'ws_pair': expected a list of 2 done cycles");
  }
  SECTION("a done cycle that is not a number") {
    check_error(check(dir, "bad.yaml", head + "  ws_pair: [16, soon]\n"),
                f + ":4:", "ws_pair/2 must be a positive integer, got 'soon'");
  }
  SECTION("an unknown question") {
    check_error(check(dir, "bad.yaml", head + "  ws_pairs: [16, 22]\n"),
                f + ":4:", "unknown key 'ws_pairs'");
  }
  SECTION("a tile that does not fit the array") {
    check_error(rtl_lab(dir, "{rows: 4, cols: 4}",
                        "{name: big, dataflow: os, tiles: [{m: 5, k: 2, n: 4}]}"),
                dir + "/lab.yaml:8:",
                "question 'big': systolic harness: tile 0 (5x2x4) does not "
                "fit a 4x4 array in os");
  }
  SECTION("an array shape that is not built") {
    check_error(rtl_lab(dir, "{rows: 3, cols: 3}",
                        "{name: one, dataflow: ws, tiles: [{m: 1, k: 1, n: 1}]}"),
                dir + "/lab.yaml", "array 3x3: no verilated 3x3 systolic array in this build");
  }
}

#else

TEST_CASE("lab check (rtl): without Verilator the lab is a clear error", "[unit]") {
  check_error(run_cli({"lab", "check", "--instructor", "--print-expected", "--lab", kLab02}),
              kLab02 + "/lab.yaml",
              "kind 'rtl' is not a lab kind of this build (kernel, layers; layers is the default). "
              "The rtl kind needs a build with Verilator");
}

#endif
