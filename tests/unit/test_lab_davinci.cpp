// `xpusim lab check` for lab 04 (DaVinci pipelines, kind kernel): the expected answers it
// prints score full marks; the README's prediction of the double-buffered add lands within the
// tolerance; wrong answers fail with the hints for the mistakes the lab warns of (a ratio upside
// down, a utilization in percent, a race's pipes in the other order or those of the deleted
// flag), in English and Chinese; a race's pipes are taken in the forms students write them; the
// blank template reports every question unanswered and shows no expected value; malformed
// answers and lab files name file:line, and launches that are to race and do not are errors;
// and the README's commands, run as a student runs them, give exactly the values the checker
// grades and the figures and race reports the READMEs quote. (The kernels' values:
// tests/golden/test_davinci_kernels.cpp.)
#include <yaml-cpp/yaml.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "tests/lab_support.h"

using namespace xpusim::test;
namespace fs = std::filesystem;

namespace {

const std::string kLab04 = std::string(XPUSIM_SOURCE_DIR) + "/docs/labs/04-davinci-pipelines";

const char kAllQuestions[] =
    "busy_mte2, busy_v, busy_mte3, single_cycles, single_wait_v, double_speedup, "
    "double_util_mte2, double_wait_mte2, race_flags, race_bytes, reuse_flags, mm_busy_m, "
    "mm_util_single, mm_util_double, mm_speedup, mm_wait_mte2";

}  // namespace

TEST_CASE("lab check (davinci): the expected answers score full marks", "[unit]") {
  const std::string answers = expected_answers(kLab04);
  // docs/labs/04-davinci-pipelines/instructor.md: busy cycles from the timing rules, the races'
  // pipes and bytes from their reports.
  for (const char* line : {"  busy_mte2: 1216\n", "  busy_v: 257\n", "  busy_mte3: 1024\n",
                           "  mm_busy_m: 512\n", "  race_flags: PIPE_MTE2 -> PIPE_V\n",
                           "  race_bytes: 4096\n", "  reuse_flags: PIPE_V -> PIPE_MTE2\n"}) {
    INFO(line);
    CHECK(answers.find(line) != std::string::npos);
  }
  const Cli r = check(temp_dir("lab-davinci-right"), "answers.yaml", answers);
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(has(r, "expected values simulated on davinci_lab (xpusim run --kernel, 6 launches)"));
  CHECK(has(r, "score: 16 / 16"));
  CHECK(!has(r, "wrong"));
}

TEST_CASE("lab check (davinci): the README's prediction is within the tolerance", "[unit]") {
  std::string answers = expected_answers(kLab04);
  // A tile's MTE2 stretch of vadd_single's timeline (334 cycles) cannot be hidden, the V and
  // MTE3 of the last tile (148) come after it: 7779 / (16 x 334 + 148) (instructor.md).
  set_answer(answers, "double_speedup", "1.416");
  const std::string dir = temp_dir("lab-davinci-model");
  const Cli r = check(dir, "answers.yaml", answers);
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(row(r, "double_speedup").find("±10%") != std::string::npos);

  // Outside: the busy cycles overlapping perfectly, or no gain.
  set_answer(answers, "double_speedup", "3.2");
  set_answer(answers, "mm_speedup", "1");
  const Cli out = check(dir, "answers-out.yaml", answers);
  INFO(out.output);
  CHECK(out.status == 1);
  CHECK(has(out, "score: 14 / 16"));
  CHECK(has(out, "wrong answers: double_speedup, mm_speedup\n"));
}

TEST_CASE("lab check (davinci): wrong answers fail with hints, in English and Chinese", "[unit]") {
  std::string answers = expected_answers(kLab04);
  set_answer(answers, "busy_v", "256");                          // the mask forgotten
  set_answer(answers, "double_speedup", "0.6576");               // upside down
  set_answer(answers, "mm_util_single", "12.94");                // in percent
  set_answer(answers, "race_flags", "PIPE_V -> PIPE_MTE2");      // the other order
  set_answer(answers, "reuse_flags", "PIPE_MTE3 -> PIPE_MTE2");  // the deleted flag
  set_answer(answers, "race_bytes", "8192");                     // x and y
  const std::string dir = temp_dir("lab-davinci-wrong");
  const Cli r = check(dir, "answers.yaml", answers);
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(has(r, "score: 10 / 16"));
  CHECK(has(r,
            "wrong answers: busy_v, double_speedup, race_flags, race_bytes, reuse_flags, "
            "mm_util_single\n"));
  CHECK(row(r, "busy_v").find(" ? ") != std::string::npos);  // hidden
  CHECK(row(r, "busy_v").find("wrong") != std::string::npos);
  CHECK(row(r, "double_speedup").find("inverted") != std::string::npos);
  CHECK(row(r, "mm_util_single").find("that is a percentage") != std::string::npos);
  CHECK(row(r, "race_flags").find("the other way round") != std::string::npos);
  CHECK(row(r, "reuse_flags").find("the flag of the line deleted") != std::string::npos);
  CHECK(row(r, "race_bytes").find("4096") == std::string::npos);
  CHECK(row(r, "busy_mte2").find(" 1216 ") != std::string::npos);  // right: shown

  replace_first(answers, "lang: en", "lang: zh");
  const Cli zh = check(dir, "answers-zh.yaml", answers);
  INFO(zh.output);
  CHECK(zh.status == 1);
  CHECK(has(zh, "得分: 10 / 16"));
  CHECK(has(zh, "错（比值颠倒了：题目要的是第一个运行除以第二个）"));
  CHECK(has(zh, "错（这是百分数；题目要的是小数：25% 应填 0.25）"));
  CHECK(has(zh, "错（顺序反了：按报告中的先后写出两个流水线）"));
  CHECK(has(zh, "错（这是被删掉的那一行的 flag；报告给出的是因此失去顺序的两次访问）"));
  CHECK(
      has(zh, "正确答案由仿真得到：在 davinci_lab 上用 xpusim run --kernel 运行 6 个 kernel 启动"));

  // --instructor shows the expected values of the wrong answers too.
  const Cli all = run_cli({"lab", "check", "--instructor", dir + "/answers-zh.yaml"});
  INFO(all.output);
  CHECK(row(all, "race_flags").find("PIPE_MTE2 -> PIPE_V") != std::string::npos);
}

TEST_CASE("lab check (davinci): a race's pipes in the forms students write them", "[unit]") {
  std::string answers = expected_answers(kLab04);
  set_answer(answers, "race_flags", "mte2->v");
  set_answer(answers, "reuse_flags", "PIPE_V, PIPE_MTE2");
  const std::string dir = temp_dir("lab-davinci-forms");
  const Cli r = check(dir, "answers.yaml", answers);
  INFO(r.output);
  CHECK(r.status == 0);
  set_answer(answers, "race_flags", "MTE2 → V");
  set_answer(answers, "reuse_flags", "'v  ->  Mte2'");
  const Cli again = check(dir, "answers-2.yaml", answers);
  INFO(again.output);
  CHECK(again.status == 0);
}

TEST_CASE("lab check (davinci): the template reports every question unanswered", "[unit]") {
  const Cli r = run_cli({"lab", "check", kLab04 + "/answers-template.yaml"});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(has(r, "score: 0 / 16"));
  CHECK(has(r, std::string("unanswered (16): ") + kAllQuestions + "\n"));
  for (const char* hidden : {"1216", "7779", "PIPE_MTE2 -> PIPE_V", "4096"}) {
    INFO(hidden);
    CHECK(!has(r, hidden));
  }
}

TEST_CASE("lab check (davinci): malformed answers name file:line in the student's language",
          "[unit]") {
  const std::string dir = temp_dir("lab-davinci-malformed");
  const std::string f = dir + "/bad.yaml";
  const std::string head = "lab: 04-davinci-pipelines\nlang: zh\nanswers:\n  busy_v: 257\n";
  SECTION("pipes that are not two pipes") {
    const Cli r = check(dir, "bad.yaml", head + "  race_flags: PIPE_MTE2 -> PIPE_X\n");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, f + ":5:"));
    CHECK(has(r,
              "race_flags 应为 两个流水线，按报告中的先后（例如 PIPE_MTE3 -> PIPE_MTE2），"
              "而不是 'PIPE_MTE2 -> PIPE_X'"));
    std::string en = head + "  reuse_flags: MTE2 -> V -> MTE3\n";
    replace_first(en, "lang: zh", "lang: en");
    const Cli e = check(dir, "bad-en.yaml", en);
    INFO(e.output);
    CHECK(has(e,
              "reuse_flags must be two pipes in the report's order (e.g. PIPE_MTE3 -> "
              "PIPE_MTE2), got 'MTE2 -> V -> MTE3'"));
  }
  SECTION("a utilization that is not a number") {
    const Cli r = check(dir, "bad.yaml", head + "  mm_util_double: 15%\n");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, f + ":5:"));
    CHECK(has(r, "mm_util_double 应为一个数，而不是 '15%'"));
  }
}

TEST_CASE("lab check (davinci): malformed lab definitions name file:line", "[unit]") {
  const std::string dir = lab_copy_dir("lab-davinci-badlab", kLab04);
  auto print = [&](const std::string& from, const std::string& to) {
    return print_changed_lab(dir, kLab04, from, to);
  };
  SECTION("a line to drop that the kernel does not have") {
    const Cli r = print("drop: \"wait_flag PIPE_MTE2, PIPE_V, EVENT_ID1\"",
                        "drop: \"wait_flag PIPE_MTE2, PIPE_V, EVENT_ID2\"");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, dir + "/lab.yaml:"));
    CHECK(has(r, "launch vadd_race: drop: 0 lines of"));
    CHECK(has(r, "read 'wait_flag PIPE_MTE2, PIPE_V, EVENT_ID2'; exactly one must"));
  }
  SECTION("a line to drop that the kernel has twice") {
    const Cli r =
        print("kernels/vadd_double.s, drop: \"wait_flag PIPE_MTE2, PIPE_V, EVENT_ID1\"",
              "kernels/matmul_double.s, drop: \"add x11, x11, x17          # B: the next 64 "
              "rows\"");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, "launch vadd_race: drop: 2 lines of"));
  }
  SECTION("a launch that is to race and does not") {
    const Cli r =
        print("drop: \"wait_flag PIPE_MTE2, PIPE_V, EVENT_ID1\"",
              "drop: \"wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID1  # and the pong buffers'\"");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, "launch 'vadd_race' of " + dir +
                     "/lab.yaml is to fail with a race report, and ran to its end"));
  }
  SECTION("expect takes race only") {
    const Cli r = print("expect: race, entry: vadd, grid: 2,\n     args: {x: {zeros: 131072}",
                        "expect: deadlock, entry: vadd, grid: 2,\n     args: {x: {zeros: 131072}");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, "launch vadd_race: expect: the one value is 'race'"));
  }
  SECTION("a race question about a launch that does not race") {
    const Cli r = print("{name: race_bytes, run: vadd_race, stat: race.bytes",
                        "{name: race_bytes, run: vadd_double, stat: race.flags");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r,
              "question race_bytes: launch 'vadd_double' reported no race between two pipes "
              "of a core (a launch with `expect: race`)"));
  }
  SECTION("a statistic that no run reports") {
    const Cli r = print("stat: core0.PIPE_M.busy_cycles", "stat: core2.PIPE_M.busy_cycles");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r,
              "question mm_busy_m: launch 'matmul_single' has no statistic "
              "'core2.PIPE_M.busy_cycles' (it has "));
    CHECK(has(r, "core0.PIPE_M.busy_cycles"));
  }
}

TEST_CASE("lab 04: the README's commands give the values the checker grades", "[unit]") {
  CHECK(sh_blocks(kLab04 + "/README.md") == sh_blocks(kLab04 + "/README.zh.md"));  // the same
  const std::string dir = temp_dir("lab04-readme");
  const Cli run = run_readme(kLab04 + "/README.md", dir);
  INFO(run.output);
  REQUIRE(run.status == 0);

  // Every question of lab.yaml, from the students' runs (results/lab04/<launch>), against the
  // checker's expected value: statistics from stats.json, races from the reports they saved.
  const YAML::Node expected = YAML::Load(expected_answers(kLab04))["answers"];
  const YAML::Node lab = YAML::LoadFile(kLab04 + "/lab.yaml");
  const std::string results = dir + "/results/lab04/";
  auto stats = [&](const std::string& launch) {
    const std::string file = results + launch + "/stats.json";
    INFO(file);
    REQUIRE(fs::is_regular_file(file));
    return stats_of(file);
  };
  int questions = 0;
  for (const YAML::Node& q : lab["questions"]) {
    const std::string name = q["name"].as<std::string>(), stat = q["stat"].as<std::string>();
    const std::string launch = q["run"].as<std::string>();
    INFO(name);
    ++questions;
    if (stat.rfind("race.", 0) == 0) {
      const std::string report = read_text(results + launch + ".txt");
      const std::string want = expected[name].as<std::string>();
      if (stat == "race.flags")
        CHECK(report.find("between " + want.substr(0, want.find(' ')) + " and " +
                          want.substr(want.rfind(' ') + 1)) != std::string::npos);
      else
        CHECK(report.find("race on ub[0x1000, 0x2000)") != std::string::npos);
      continue;
    }
    double v = stats(launch).at(stat);
    if (q["over"]) v /= stats(q["over"].as<std::string>()).at(stat);
    CHECK(std::fabs(v - expected[name].as<double>()) <= 0.0005);
  }
  CHECK(questions == 16);
  CHECK(expected["race_bytes"].as<int>() == 0x2000 - 0x1000);

  // The figures the READMEs quote are those of these runs, and so are the race reports.
  const std::string readme = read_text(kLab04 + "/README.md"),
                    zh = read_text(kLab04 + "/README.zh.md");
  for (const char* launch : {"vadd_single", "vadd_double", "matmul_single", "matmul_double"}) {
    const std::string cycles = std::to_string(int64_t(stats(launch).at("cycles")));
    INFO(launch << ": " << cycles);
    CHECK(readme.find(cycles) != std::string::npos);
    CHECK(zh.find(cycles) != std::string::npos);
  }
  std::string race = read_text(results + "vadd_race.txt"), flat = readme, flat_zh = zh;
  race = race.substr(0, race.find('\n'));
  std::replace(flat.begin(), flat.end(), '\n', ' ');
  std::replace(flat_zh.begin(), flat_zh.end(), '\n', ' ');
  INFO(race);
  CHECK(race.rfind("xpusim: error: race on ub[0x1000, 0x2000): copy_gm_to_ubuf at ", 0) == 0);
  CHECK(flat.find(race) != std::string::npos);  // the report as part 3 (a) shows it, wrapped
  CHECK(flat_zh.find(race) != std::string::npos);
  CHECK(read_text(results + "vadd_reuse.txt").find("vadd at results/lab04/vadd_reuse.s:39") !=
        std::string::npos);
  // The lines part 3 deletes are where the READMEs say.
  const std::string kernel = read_text(kLab04 + "/kernels/vadd_double.s");
  auto line = [&](int n) {
    size_t at = 0;
    for (int i = 1; i < n; ++i) at = kernel.find('\n', at) + 1;
    return kernel.substr(at, kernel.find('\n', at) - at);
  };
  CHECK(line(35) == "  wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID1");
  CHECK(line(39) == "  wait_flag PIPE_MTE2, PIPE_V, EVENT_ID1");
  CHECK(line(42) == "  wait_flag PIPE_V, PIPE_MTE3, EVENT_ID1");

  // And the students grade the template they copied.
  const Cli grade = run_cli_in(dir, {"lab", "check", "results/lab04/answers.yaml"});
  INFO(grade.output);
  CHECK(has(grade, "score: 0 / 16"));
}
