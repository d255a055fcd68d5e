// `xpusim lab check` on lab 01 (systolic dataflows): the expected answers it prints score full
// marks, one wrong cycle count fails naming the layer, a malformed answers file is an error
// naming file:line.
#include <catch2/catch.hpp>

#include <string>

#include "tests/support.h"

using namespace xpusim::test;

namespace {

const std::string kLab = std::string(XPUSIM_SOURCE_DIR) + "/docs/labs/01-systolic-dataflows";

// The answers file the checker prints with --print-expected.
std::string expected_answers() {
  const Cli r = run_cli("lab check --print-expected --lab " + kLab);
  INFO(r.output);
  REQUIRE(r.status == 0);
  return r.output;
}

}  // namespace

TEST_CASE("lab check gives the expected answers full marks", "[unit]") {
  const std::string answers = expected_answers();
  CHECK(answers.find("conv3x3:") != std::string::npos);
  CHECK(answers.find("ws: {folds: 36, cycles: 116280, utilization: 0.9709}") != std::string::npos);
  const std::string file = write_text(temp_dir("lab-right"), "answers.yaml", answers);
  const Cli r = run_cli("lab check " + file);
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(r.output.find("score: 54 / 54") != std::string::npos);
}

TEST_CASE("lab check fails one wrong cycle count and names its layer", "[unit]") {
  std::string answers = expected_answers();
  const std::string right = "cycles: 116280,";  // conv3x3, weight-stationary
  const size_t at = answers.find(right);
  REQUIRE(at != std::string::npos);
  answers.replace(at, right.size(), "cycles: 116281,");
  const std::string dir = temp_dir("lab-wrong");
  const Cli r = run_cli("lab check " + write_text(dir, "answers.yaml", answers));
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("score: 53 / 54") != std::string::npos);
  CHECK(r.output.find("wrong answers: conv3x3/ws/cycles\n") != std::string::npos);

  SECTION("in Chinese with lang: zh") {
    answers.replace(answers.find("lang: en"), 8, "lang: zh");
    const Cli zh = run_cli("lab check " + write_text(dir, "answers-zh.yaml", answers));
    INFO(zh.output);
    CHECK(zh.status == 1);
    CHECK(zh.output.find("得分: 53 / 54") != std::string::npos);
    CHECK(zh.output.find("答错的题: conv3x3/ws/cycles") != std::string::npos);
  }
}

TEST_CASE("lab check reports a malformed answers file with file:line", "[unit]") {
  const std::string dir = temp_dir("lab-malformed");
  const std::string head = "lab: " + kLab + "\nanswers:\n  fc:\n";
  SECTION("a value that is not a number") {
    const std::string f = write_text(
        dir, "bad.yaml", head + "    os: {folds: 32, cycles: lots, utilization: 0.03}\n");
    const Cli r = run_cli("lab check " + f);
    CHECK(r.status == 1);
    CHECK(r.output.find(f + ":4:") != std::string::npos);
    CHECK(r.output.find("fc/os/cycles must be a number, got 'lots'") != std::string::npos);
  }
  SECTION("an unknown layer") {
    const std::string f = write_text(dir, "bad.yaml", head + "  fc2:\n    os: {folds: 1}\n");
    const Cli r = run_cli("lab check " + f);
    CHECK(r.status == 1);
    CHECK(r.output.find(f + ":4:") != std::string::npos);
    CHECK(r.output.find("unknown key 'fc2'") != std::string::npos);
  }
  SECTION("broken YAML") {
    const std::string f = write_text(dir, "bad.yaml", head + "    os: {folds: 32\n");
    const Cli r = run_cli("lab check " + f);
    CHECK(r.status == 1);
    CHECK(r.output.find(f + ":5:") != std::string::npos);
    CHECK(r.output.find("malformed YAML") != std::string::npos);
  }
}
