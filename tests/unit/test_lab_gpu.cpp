// `xpusim lab check` for lab 03 (inside an SM, kind kernel): the expected answers it prints score
// full marks; the simple model the README teaches (latency over busy cycles, pipe and data-path
// bounds) lands within the tolerances; wrong answers fail with the hints for the mistakes the
// lab warns of, in English and Chinese; the blank template reports every question unanswered
// and shows no expected value; malformed answers and lab files name file:line; the lab's PTX
// loads; and the README's commands, run as a student runs them, give exactly the values the
// checker grades and the figures the README quotes.
#include <yaml-cpp/yaml.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/lab_support.h"

using namespace xpusim::test;
namespace fs = std::filesystem;

namespace {

const std::string kLab03 = std::string(XPUSIM_SOURCE_DIR) + "/docs/labs/03-gpu-sm";

// x with three decimals.
std::string fmt_fixed3(double x) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(3);
  s << x;
  return s.str();
}

}  // namespace

TEST_CASE("lab check (gpu): the expected answers score full marks", "[unit]") {
  const std::string answers = expected_answers(kLab03);
  // docs/labs/03-gpu-sm/instructor.md: occupancy from the documented limits, wavefronts from
  // the banks, instruction counts from M N K.
  for (const char* line :
       {"  occ_chain_blocks: 8\n", "  occ_chain_limit: warps\n", "  occ_b32_warps: 16\n",
        "  occ_b32_limit: blocks\n", "  occ_smem_limit: shared memory\n",
        "  occ_hgemm_limit: registers\n", "  banks_unpadded: 4224\n", "  banks_pad1: 256\n",
        "  banks_pad2: 384\n", "  gemm_ffma: 1048576\n", "  gemm_mma: 16384\n",
        "  gemm_hgemm_wavefronts: 24576\n"}) {
    INFO(line);
    CHECK(answers.find(line) != std::string::npos);
  }
  const Cli r = check(temp_dir("lab-gpu-right"), "answers.yaml", answers);
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(has(r, "expected values simulated on gpu_lab (xpusim run --kernel, 13 launches)"));
  CHECK(has(r, "score: 23 / 23"));
  CHECK(!has(r, "wrong"));
}

TEST_CASE("lab check (gpu): the README's model predictions are within the tolerances",
          "[unit][slow]") {
  std::string answers = expected_answers(kLab03);
  // Latency 4 over 2 busy cycles: two warps per sub-partition fill the FP32 pipe, more queue;
  // four chains run at the pipe's pace. GEMM: 262144 FP32-pipe cycles for sgemm against
  // 30720 data-path cycles per SM for hgemm (instructor.md).
  const std::vector<std::pair<std::string, std::string>> model = {
      {"hide_w2", "1"},  {"hide_w4", "2"}, {"hide_w8", "4"},
      {"ilp_w1", "0.5"}, {"ilp_w8", "1"},  {"gemm_speedup", "8.53"}};
  for (const auto& [q, v] : model) set_answer(answers, q, v);
  const std::string dir = temp_dir("lab-gpu-model");
  const Cli r = check(dir, "answers.yaml", answers);
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(has(r, "score: 23 / 23"));
  CHECK(row(r, "ilp_w1").find("±10%") != std::string::npos);
  CHECK(row(r, "gemm_speedup").find("±15%") != std::string::npos);

  // Outside: the peak ratio for the GEMM, time proportional to the warps.
  set_answer(answers, "gemm_speedup", "16");
  set_answer(answers, "hide_w2", "2");
  const Cli out = check(dir, "answers-out.yaml", answers);
  INFO(out.output);
  CHECK(out.status == 1);
  CHECK(has(out, "score: 21 / 23"));
  CHECK(has(out, "wrong answers: hide_w2, gemm_speedup\n"));
}

TEST_CASE("lab check (gpu): wrong answers fail with hints, in English and Chinese",
          "[unit][slow]") {
  std::string answers = expected_answers(kLab03);
  set_answer(answers, "occ_chain_blocks", "32");  // the warps
  set_answer(answers, "occ_chain_limit", "threads");
  set_answer(answers, "occ_b32_warps", "17");
  set_answer(answers, "banks_unpadded", "256");  // conflict-free
  set_answer(answers, "gemm_ffma", "8192");      // one warp's
  set_answer(answers, "gemm_speedup", "0.127");  // upside down
  const std::string dir = temp_dir("lab-gpu-wrong");
  const Cli r = check(dir, "answers.yaml", answers);
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(has(r, "score: 17 / 23"));
  CHECK(has(r,
            "wrong answers: occ_chain_blocks, occ_chain_limit, occ_b32_warps, banks_unpadded, "
            "gemm_ffma, gemm_speedup\n"));
  CHECK(row(r, "occ_chain_blocks").find("that is warps per SM") != std::string::npos);
  CHECK(row(r, "occ_chain_limit").find("threads give as many blocks here") != std::string::npos);
  CHECK(row(r, "occ_b32_warps").find(" ? ") != std::string::npos);  // hidden
  CHECK(row(r, "occ_b32_warps").find("wrong") != std::string::npos);
  CHECK(row(r, "banks_unpadded").find("without bank conflicts") != std::string::npos);
  CHECK(row(r, "banks_unpadded").find("4224") == std::string::npos);
  CHECK(row(r, "gemm_ffma").find("one warp's share") != std::string::npos);
  CHECK(row(r, "gemm_speedup").find("inverted") != std::string::npos);
  CHECK(row(r, "banks_pad1").find(" 256 ") != std::string::npos);  // right: shown

  replace_first(answers, "lang: en", "lang: zh");
  const Cli zh = check(dir, "answers-zh.yaml", answers);
  INFO(zh.output);
  CHECK(zh.status == 1);
  CHECK(has(zh, "得分: 17 / 23"));
  CHECK(has(zh, "答错的题: occ_chain_blocks, occ_chain_limit, occ_b32_warps,"));
  CHECK(has(zh, "错（这是每个 SM 的 warp 数；题目问的是线程块数）"));
  CHECK(has(zh, "错（这里 threads 给出的线程块数相同"));
  CHECK(has(zh, "错（这是没有 bank 冲突时的数目：哪些访问有冲突？）"));
  CHECK(has(zh, "错（这是一个 warp 的量；题目问的是整个 launch 的总数）"));
  CHECK(has(zh, "错（比值颠倒了：题目要的是第一个运行除以第二个）"));
  CHECK(has(zh, "正确答案由仿真得到：在 gpu_lab 上用 xpusim run --kernel 运行 13 个 kernel 启动"));

  // --instructor shows the expected values of the wrong answers too.
  const Cli all = run_cli({"lab", "check", "--instructor", dir + "/answers-zh.yaml"});
  INFO(all.output);
  CHECK(row(all, "banks_unpadded").find("4224") != std::string::npos);
}

TEST_CASE("lab check (gpu): the template reports every question unanswered", "[unit]") {
  const Cli r = run_cli({"lab", "check", kLab03 + "/answers-template.yaml"});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(has(r, "score: 0 / 23"));
  CHECK(has(r,
            "unanswered (23): occ_chain_blocks, occ_chain_limit, occ_b32_blocks, occ_b32_warps, "
            "occ_b32_limit, occ_smem_blocks, occ_smem_limit, occ_sgemm_blocks, occ_sgemm_limit, "
            "occ_hgemm_warps, occ_hgemm_limit, hide_w2, hide_w4, hide_w8, ilp_w1, ilp_w8, "
            "banks_unpadded, banks_pad1, banks_pad2, gemm_ffma, gemm_mma, gemm_hgemm_wavefronts, "
            "gemm_speedup\n"));
  for (const char* hidden : {"4224", "registers", "16384", "1048576"}) {
    INFO(hidden);
    CHECK(!has(r, hidden));
  }
}

TEST_CASE("lab check (gpu): malformed answers name file:line in the student's language", "[unit]") {
  const std::string dir = temp_dir("lab-gpu-malformed");
  const std::string f = dir + "/bad.yaml";
  const std::string head = "lab: 03-gpu-sm\nlang: zh\nanswers:\n  occ_chain_blocks: 8\n";
  SECTION("an unknown question") {
    const Cli r = check(dir, "bad.yaml", head + "  occ_chain_block: 8\n");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, f + ":5:"));
    CHECK(has(r, "answers（每道题一项）：未知的键 'occ_chain_block'"));
  }
  SECTION("a ratio that is not a number") {
    const Cli r = check(dir, "bad.yaml", head + "  hide_w2: about 1\n");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, f + ":5:"));
    CHECK(has(r, "hide_w2 应为一个数，而不是 'about 1'"));
  }
  SECTION("a limit that is none of the five") {
    const Cli r = check(dir, "bad.yaml", head + "  occ_hgemm_limit: memory\n");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, f + ":5:"));
    CHECK(has(r, "occ_hgemm_limit 应为 blocks, warps, threads, registers, shared memory 之一"));
    std::string en = head + "  occ_hgemm_limit: memory\n";
    replace_first(en, "lang: zh", "lang: en");
    const Cli e = check(dir, "bad-en.yaml", en);
    INFO(e.output);
    CHECK(has(e,
              "occ_hgemm_limit must be one of blocks, warps, threads, registers, shared "
              "memory, got 'memory'"));
  }
  SECTION("a limit in Chinese is taken") {
    const Cli r =
        check(dir, "zh.yaml", head + "  occ_hgemm_limit: 寄存器\n  occ_smem_limit: 共享内存\n");
    INFO(r.output);
    CHECK(r.status == 1);  // most questions are unanswered
    CHECK(has(r, "得分: 3 / 23"));
  }
}

TEST_CASE("lab check (gpu): malformed lab definitions name file:line", "[unit]") {
  const std::string dir = lab_copy_dir("lab-gpu-badlab", kLab03);
  auto print = [&](const std::string& from, const std::string& to) {
    return print_changed_lab(dir, kLab03, from, to);
  };
  SECTION("a question about a launch that does not exist") {
    const Cli r = print("run: chain_w8, stat: occupancy.blocks_per_sm",
                        "run: chain_w9, stat: occupancy.blocks_per_sm");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, dir + "/lab.yaml:"));
    CHECK(has(r, "question occ_chain_blocks: run: no launch named 'chain_w9'"));
  }
  SECTION("a statistic that no run reports") {
    const Cli r =
        print("stat: shared.wavefronts, match: exact", "stat: shared.wavefront, match: exact");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(
        has(r, "question banks_unpadded: launch 'transpose' has no statistic 'shared.wavefront'"));
  }
  SECTION("a missing kernel file") {
    const Cli r = print("kernel: kernels/hgemm.ptx", "kernel: kernels/hgemm2.ptx");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, "launch hgemm: no kernel file"));
  }
  SECTION("a ratio without a tolerance") {
    const Cli r =
        print("stat: cycles, match: relative, tolerance: 0.1,", "stat: cycles, match: relative,");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, "missing 'tolerance'"));
  }
  SECTION("a launch that fails names the launch and the command") {
    const Cli r = print("grid: \"2,2\", block: 128", "grid: \"2,2\", block: 2048");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, "running launch 'hgemm'"));
    CHECK(has(r, "--block 2048"));
  }
}

TEST_CASE("lab 03's PTX files all load", "[unit]") {
  int files = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(kLab03 + "/kernels")) {
    if (e.path().extension() != ".ptx") continue;
    ++files;
    const Cli r = run_cli({"ptx-check", e.path().string()});
    INFO(e.path().string() << "\n" << r.output);
    CHECK(r.status == 0);
    CHECK(has(r, "1 kernel, "));
    CHECK(has(r, " 0 unsupported"));
    // Each PTX is nvcc's output for the source build.sh names.
    const std::string stem = e.path().stem().string();
    const std::string source = stem == "transpose_pad2" ? "transpose_padded" : stem;
    CHECK(fs::is_regular_file(kLab03 + "/kernels/" + source + ".cu"));
    CHECK(read_text(kLab03 + "/kernels/build.sh").find(stem + ".ptx") != std::string::npos);
  }
  CHECK(files == 7);
}

TEST_CASE("lab 03: the README's commands give the values the checker grades", "[unit][slow]") {
  CHECK(sh_blocks(kLab03 + "/README.md") == sh_blocks(kLab03 + "/README.zh.md"));  // the same
  const std::string dir = temp_dir("lab03-readme");
  const Cli run = run_readme(kLab03 + "/README.md", dir);
  INFO(run.output);
  REQUIRE(run.status == 0);

  // Every question of lab.yaml, from the students' runs (results/lab03/<launch>), against the
  // checker's expected value.
  const YAML::Node expected = YAML::Load(expected_answers(kLab03))["answers"];
  const YAML::Node lab = YAML::LoadFile(kLab03 + "/lab.yaml");
  auto stats = [&](const std::string& launch) {
    const std::string file = dir + "/results/lab03/" + launch + "/stats.json";
    INFO(file);
    REQUIRE(fs::is_regular_file(file));
    return stats_of(file);
  };
  int questions = 0;
  for (const YAML::Node& q : lab["questions"]) {
    const std::string name = q["name"].as<std::string>(), stat = q["stat"].as<std::string>();
    INFO(name);
    ++questions;
    if (stat == "occupancy.limit") {
      const std::string launch = q["run"].as<std::string>();
      const std::string note = read_text(dir + "/results/lab03/" + launch + "/stats.json");
      CHECK(note.find("limited by " + expected[name].as<std::string>() + ";") != std::string::npos);
      continue;
    }
    double v = stats(q["run"].as<std::string>()).at(stat) / (q["per"] ? q["per"].as<double>() : 1);
    if (q["over"])
      v /= stats(q["over"].as<std::string>()).at(stat) / (q["per"] ? q["per"].as<double>() : 1);
    CHECK(std::fabs(v - expected[name].as<double>()) <= 0.0005);
  }
  CHECK(questions == 23);

  // The cycles the README quotes are those of its runs.
  const std::string readme = read_text(kLab03 + "/README.md"),
                    zh = read_text(kLab03 + "/README.zh.md");
  for (const char* launch : {"chain_w1", "transpose", "transpose_pad1", "transpose_pad2",
                             "transpose_256", "transpose_pad1_256", "sgemm", "hgemm"}) {
    const std::string cycles = std::to_string(int64_t(stats(launch).at("cycles")));
    INFO(launch << ": " << cycles);
    CHECK(readme.find(cycles) != std::string::npos);
    CHECK(zh.find(cycles) != std::string::npos);
  }
  const nlohmann::json hgemm =
      nlohmann::json::parse(std::ifstream(dir + "/results/lab03/hgemm/stats.json"));
  const std::string f16 = fmt_fixed3(hgemm.at("ops").at(0).at("utilization").get<double>());
  CHECK(hgemm.at("ops").at(0).at("dtype") == "fp16");
  CHECK(readme.find("f16 peak it reaches: " + f16 + ")") != std::string::npos);
  CHECK(zh.find("f16 峰值的比例：" + f16 + "）") != std::string::npos);
  CHECK(has(run, "occupancy: 5 blocks (30 warps) per SM, limited by warps; 16 registers"));
  for (const auto& [launch, registers] : std::vector<std::pair<std::string, int>>{
           {"chain_w1", 16}, {"transpose", 16}, {"sgemm", 48}, {"hgemm", 208}}) {
    INFO(launch);
    CHECK(stats(launch).at("occupancy.registers_per_thread") == registers);
  }

  // And the students grade the template they copied.
  const Cli grade = run_cli_in(dir, {"lab", "check", "results/lab03/answers.yaml"});
  INFO(grade.output);
  CHECK(has(grade, "score: 0 / 23"));
}
