// `xpusim lab check` for lab 05 (the roofline, prefill against decode; kind workload): the
// expected answers of the lab as shipped agree with the README's models (ridge points from the
// presets' parameters, bounds from the textbook intensity, decode's intensity from its weights
// and KV cache, the batch at the ridge point from the bytes each chip moves) within the
// tolerances; the expected answers score full marks; wrong answers fail with the hints for the
// mistakes the lab warns of, in English and Chinese; bounds are taken in the forms students
// write them; malformed answers and lab files name file:line; the README's commands, run as a
// student runs them, give exactly the values the checker grades; and the blank template reports
// every question unanswered and shows no expected value. To take seconds, the first test leaves
// out the prefill runs (no model predicts them) and the others run a copy of the lab whose
// decoder layer is smaller (hidden 512, 4 heads, feed-forward 1376, context 128); lab.yaml is
// the shipped one. (The workloads' values: tests/golden/test_lab05_workloads.cpp.)
#include <yaml-cpp/yaml.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "tests/lab_support.h"

using namespace xpusim::test;
namespace fs = std::filesystem;

namespace {

const std::string kLab05 = std::string(XPUSIM_SOURCE_DIR) + "/docs/labs/05-roofline-prefill-decode";

// A copy of lab 05 in dir/docs/labs/05-roofline-prefill-decode (where the README's commands
// look for it, dir being the students' folder), its decoder layer made smaller by the defaults
// of its params; the GEMM and the template as shipped, and lab.yaml too, but for part 3's
// projections, 1024 x 1024 instead of 4096 x 4096 (their batch at the ridge point stays inside
// the sweep) unless `as_readme` (the README's commands run them as shipped). Returns the
// copy's folder.
std::string small_lab(const std::string& dir, bool as_readme = false) {
  const fs::path lab = fs::path(dir) / "docs/labs/05-roofline-prefill-decode";
  fs::create_directories(lab / "workloads");
  for (const char* f : {"answers-template.yaml", "workloads/gemm.yaml"})
    fs::copy_file(kLab05 + "/" + f, lab / f);
  std::string definition = read_text(kLab05 + "/lab.yaml");
  if (!as_readme)
    while (definition.find("params: {n: 4096,") != std::string::npos)
      replace_first(definition, "params: {n: 4096,", "params: {n: 1024,");
  write_text(lab.string(), "lab.yaml", definition);
  for (const char* f :
       {"workloads/llama-layer-prefill.yaml", "workloads/llama-layer-decode.yaml"}) {
    std::string text = read_text(kLab05 + "/" + f);
    replace_first(text, "hidden: {default: 4096,", "hidden: {default: 512,");
    replace_first(text, "heads: {default: 32,", "heads: {default: 4,");
    replace_first(text, "ffn: {default: 11008,", "ffn: {default: 1376,");
    if (text.find("context: {default: 512,") != std::string::npos)
      replace_first(text, "context: {default: 512,", "context: {default: 128,");
    write_text(lab.string(), f, text);
  }
  return lab.string();
}

// The expected answers of the lab in lab_dir (a copy: --custom-lab).
std::string expected_of(const std::string& lab_dir) {
  const Cli r = run_cli(
      {"lab", "check", "--custom-lab", "--instructor", "--print-expected", "--lab", lab_dir});
  INFO(r.output);
  REQUIRE(r.status == 0);
  return r.output;
}

// Writes `answers` to dir/name and grades it against its lab (a copy: --custom-lab).
Cli check_custom(const std::string& dir, const std::string& name, const std::string& answers) {
  return run_cli({"lab", "check", "--custom-lab", write_text(dir, name, answers)});
}

double answer(const YAML::Node& answers, const std::string& q) {
  INFO(q);
  REQUIRE(answers[q]);
  return answers[q].as<double>();
}

}  // namespace

TEST_CASE("lab 05: the expected answers agree with the README's models", "[unit][slow]") {
  // The shipped lab without its prefill runs, which no model predicts (they take half the time).
  const std::string dir = temp_dir("lab05-models");
  fs::create_directory_symlink(kLab05 + "/workloads", dir + "/workloads");
  const YAML::Node shipped = YAML::LoadFile(kLab05 + "/lab.yaml");
  YAML::Node lab = YAML::Clone(shipped), runs(YAML::NodeType::Sequence),
             questions(YAML::NodeType::Sequence);
  for (const YAML::Node& r : shipped["runs"])
    if (r["name"].as<std::string>().rfind("prefill", 0) != 0) runs.push_back(r);
  for (const YAML::Node& q : shipped["questions"])
    if (q["name"].as<std::string>().rfind("prefill", 0) != 0) questions.push_back(q);
  lab["runs"] = runs;
  lab["questions"] = questions;
  YAML::Emitter e;
  e << lab;
  write_text(dir, "lab.yaml", e.c_str());
  const YAML::Node a = YAML::Load(expected_of(dir))["answers"];
  CHECK(a.size() == 34);
  // Ridge points from the presets' parameters (xpusim describe): peak TOPS x 1000 / GB/s.
  const std::map<std::string, double> ridge = {
      {"tpu_v4", 2.0 * 4 * 128 * 128 * 2 * 1050e6 / 1200e9},
      {"ascend910b", 24.0 * 4096 * 2 * 1800e6 / 1600e9},
      {"tpu_v1", 256.0 * 256 * 2 * 700e6 / 34e9},
      {"ascend910", 32.0 * 4096 * 2 * 1000e6 / 1200e9}};
  for (const auto& [chip, r] : ridge) {
    INFO(chip << ": " << r);
    CHECK(answer(a, "ridge_" + chip) == Approx(r).epsilon(1e-5));
  }
  // Bounds of part 1 (b): the textbook intensity, n / 3 (bf16, fp16) or 2n / 3 (int8).
  auto bound = [](double intensity, double r) { return intensity >= r ? "compute" : "memory"; };
  for (const std::string chip : {"tpu_v4", "ascend910b"})
    for (const int n : {256, 1024}) {
      INFO(chip << " " << n);
      CHECK(a["bound" + std::to_string(n) + "_" + chip].as<std::string>() ==
            bound(n / 3.0, ridge.at(chip)));
    }
  CHECK(a["bound1024_tpu_v1"].as<std::string>() == bound(2 * 1024 / 3.0, ridge.at("tpu_v1")));
  CHECK(a["bound1024_ascend910"].as<std::string>() == bound(1024 / 3.0, ridge.at("ascend910")));
  // The roofline at the measured intensity: min(peak, intensity x bandwidth).
  CHECK(answer(a, "roof256_tpu_v4") ==
        Approx(std::min(275.2512, answer(a, "intensity256_tpu_v4") * 1.2)));
  CHECK(answer(a, "roof256_ascend910b") ==
        Approx(std::min(353.8944, answer(a, "intensity256_ascend910b") * 1.6)));
  // Decode's intensity (part 2 (a)): 2 ops per MAC, the weights once and each sequence's KV
  // cache, within the 15 % the lab grants.
  const double weights = 4.0 * 4096 * 4096 + 3.0 * 4096 * 11008;  // MACs per token, bytes / 2
  const double attention = 2.0 * 32 * 512 * 128;                  // MACs per token
  const double kv = 2.0 * 32 * 512 * 128 * 2;                     // bytes per sequence
  for (const std::string chip : {"tpu_v4", "ascend910b"})
    for (const int b : {1, 8, 32}) {
      const double predicted = 2 * b * (weights + attention) / (2 * weights + b * kv);
      INFO(chip << " batch " << b << ": " << predicted);
      CHECK(std::fabs(predicted / answer(a, "decode" + std::to_string(b) + "_intensity_" + chip) -
                      1) <= 0.15);
    }
  // The batch at the ridge point (part 3): the TPU v4's two cores each read all of B (once M is
  // split by rows), the 910B's L2 keeps C: I(B) = B / (2 + 2B / 4096) and B / (1 + B / 4096).
  const double tpu = 2 * ridge.at("tpu_v4") / (1 - ridge.at("tpu_v4") / 2048);
  const double davinci = ridge.at("ascend910b") / (1 - ridge.at("ascend910b") / 4096);
  INFO(tpu << " " << davinci);
  CHECK(std::fabs(tpu / answer(a, "crossover_tpu_v4") - 1) <= 0.1);
  CHECK(std::fabs(davinci / answer(a, "crossover_ascend910b") - 1) <= 0.1);
  // The textbook count alone (I about B) misses the TPU's: the lesson of part 1 (d).
  CHECK(std::fabs(ridge.at("tpu_v4") / answer(a, "crossover_tpu_v4") - 1) > 0.1);
}

TEST_CASE("lab check (workload): the expected answers score full marks, wrong ones fail with hints",
          "[unit][slow]") {
  const std::string dir = temp_dir("lab-roofline-grade");
  const std::string lab = small_lab(dir);
  std::string answers = expected_of(lab);
  for (const char* line : {"  bound256_tpu_v4: memory\n", "  bound1024_tpu_v4: compute\n",
                           "  ridge_tpu_v4: 229.376\n", "  intensity256_tpu_v4: 64.000\n"}) {
    INFO(line);
    CHECK(answers.find(line) != std::string::npos);
  }
  const Cli right = check_custom(dir, "right.yaml", answers);
  INFO(right.output);
  CHECK(right.status == 0);
  CHECK(has(right,
            "expected values simulated with xpusim run (24 runs of the lab's workloads on tpu_v4, "
            "ascend910b, tpu_v1, ascend910)"));
  CHECK(has(right, "score: 40 / 40"));
  CHECK(!has(right, "wrong"));
  CHECK(row(right, "crossover_tpu_v4").find("proj64_tpu_v4 .. proj1024_tpu_v4") !=
        std::string::npos);

  // Wrong, in English and in Chinese.
  const YAML::Node a = YAML::Load(answers)["answers"];
  auto value = [&](const std::string& q, double times) {
    return std::to_string(a[q].as<double>() * times);
  };
  set_answer(answers, "ridge_tpu_v4", value("ridge_tpu_v4", 0.5));            // MACs per byte
  set_answer(answers, "ridge_ascend910b", value("ridge_ascend910b", 0.001));  // units
  set_answer(answers, "roof256_tpu_v4", value("roof256_tpu_v4", 1000));       // units
  set_answer(answers, "util1024_tpu_v4", value("util1024_tpu_v4", 100));      // percent
  set_answer(answers, "decode32_attn_share_tpu_v4", value("decode32_attn_share_tpu_v4", 100));
  set_answer(answers, "crossover_tpu_v4", value("ridge_tpu_v4", 1));  // the ridge point
  set_answer(answers, "bound256_ascend910b", "compute");
  set_answer(answers, "decode8_us_ascend910b", value("decode8_us_ascend910b", 8));  // the step's
  // Right, in the forms students write them.
  set_answer(answers, "bound256_tpu_v4", "Memory-bound");
  set_answer(answers, "bound1024_tpu_v4", "计算受限");
  set_answer(answers, "bound1024_tpu_v1", "访存受限");
  set_answer(answers, "bound1024_ascend910", "'compute bound'");
  const Cli r = check_custom(dir, "answers.yaml", answers);
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(has(r, "score: 32 / 40"));
  CHECK(has(r,
            "wrong answers: ridge_tpu_v4, ridge_ascend910b, bound256_ascend910b, roof256_tpu_v4, "
            "util1024_tpu_v4, decode32_attn_share_tpu_v4, decode8_us_ascend910b, "
            "crossover_tpu_v4\n"));
  CHECK(row(r, "ridge_tpu_v4").find("that is MACs per byte") != std::string::npos);
  CHECK(row(r, "ridge_tpu_v4").find(" ? ") != std::string::npos);  // hidden
  CHECK(row(r, "ridge_ascend910b").find("a factor of 1000 off") != std::string::npos);
  CHECK(row(r, "roof256_tpu_v4").find("a factor of 1000 off") != std::string::npos);
  CHECK(row(r, "util1024_tpu_v4").find("that is a percentage") != std::string::npos);
  CHECK(row(r, "decode32_attn_share_tpu_v4").find("that is a percentage") != std::string::npos);
  CHECK(row(r, "crossover_tpu_v4").find("that is the ridge point itself") != std::string::npos);
  CHECK(row(r, "bound256_ascend910b").find(" wrong") != std::string::npos);
  CHECK(row(r, "bound256_ascend910b").find(" memory ") == std::string::npos);
  CHECK(row(r, "bound1024_tpu_v4").find(" compute ") != std::string::npos);  // right: shown
  CHECK(row(r, "bound1024_tpu_v4").find(" ok") != std::string::npos);

  replace_first(answers, "lang: en", "lang: zh");
  const Cli zh = check_custom(dir, "answers-zh.yaml", answers);
  INFO(zh.output);
  CHECK(zh.status == 1);
  CHECK(has(zh, "得分: 32 / 40"));
  CHECK(has(zh, "错（这是每字节的 MAC 数：屋顶线模型中一次 MAC 算两次运算）"));
  CHECK(has(zh, "错（差了 1000 倍：TOPS 是每秒 10^12 次运算，GB/s 是每秒 10^9 字节）"));
  CHECK(has(zh, "错（这是百分数；题目要的是小数：25% 应填 0.25）"));
  CHECK(has(zh, "错（这是屋脊点本身：按运行实际搬运的字节数，批大小为多少时算术强度才达到它？）"));
  CHECK(has(zh,
            "正确答案由仿真得到：用 xpusim run 在 tpu_v4, ascend910b, tpu_v1, ascend910 上运行"
            "实验的工作负载，共 24 次"));
}

TEST_CASE("lab check (workload): malformed answers name file:line in the student's language",
          "[unit]") {
  // The answers are read before any run: the lab as shipped, no simulation.
  const std::string dir = temp_dir("lab-roofline-malformed");
  const std::string f = dir + "/bad.yaml";
  const std::string head =
      "lab: 05-roofline-prefill-decode\nlang: zh\nanswers:\n  ridge_tpu_v4: 229\n";
  SECTION("a bound that is neither") {
    const Cli r = check(dir, "bad.yaml", head + "  bound256_tpu_v4: latency\n");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, f + ":5:"));
    CHECK(has(r,
              "bound256_tpu_v4 应为 compute 或 memory（也可写 compute-bound、memory-bound、"
              "计算受限、访存受限），而不是 'latency'"));
    std::string en = head + "  bound256_tpu_v4: fast\n";
    replace_first(en, "lang: zh", "lang: en");
    const Cli e = check(dir, "bad-en.yaml", en);
    INFO(e.output);
    CHECK(has(e,
              "bound256_tpu_v4 must be compute or memory (compute-bound, memory-bound), got "
              "'fast'"));
  }
  SECTION("a time that is not a number") {
    const Cli r = check(dir, "bad.yaml", head + "  decode1_us_tpu_v4: 377us\n");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, f + ":5:"));
    CHECK(has(r, "decode1_us_tpu_v4 应为一个数，而不是 '377us'"));
  }
  SECTION("a question the lab does not ask") {
    const Cli r = check(dir, "bad.yaml", head + "  ridge_h100: 590\n");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, f + ":5:"));
    CHECK(has(r, "未知的键 'ridge_h100'"));
  }
}

TEST_CASE("lab check (workload): malformed lab definitions name file:line", "[unit]") {
  const std::string dir = temp_dir("lab-roofline-badlab");
  const std::string lab = small_lab(dir);
  const std::string shipped = read_text(lab + "/lab.yaml");
  auto print = [&](const std::string& from, const std::string& to) {
    std::string text = shipped;
    replace_first(text, from, to);
    write_text(lab, "lab.yaml", text);
    return run_cli(
        {"lab", "check", "--custom-lab", "--instructor", "--print-expected", "--lab", lab});
  };
  const std::string file = lab + "/lab.yaml:";
  SECTION("a param the workload does not have") {
    const Cli r = print("params: {n: 256}", "params: {size: 256}");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, "'size'"));
    CHECK(has(r, "gemm.yaml"));
  }
  SECTION("a workload file that is not there") {
    const Cli r = print("workload: workloads/gemm.yaml", "workload: workloads/gemm2.yaml");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, file));
    CHECK(has(r, "run gemm256_tpu_v4: no workload file"));
  }
  SECTION("a sweep of a run that is not defined") {
    const Cli r = print("sweep: [proj64_tpu_v4,", "sweep: [proj32_tpu_v4,");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, file));
    CHECK(has(r, "question crossover_tpu_v4: sweep: no run named 'proj32_tpu_v4'"));
  }
  SECTION("reaches without a sweep") {
    const Cli r = print("stat: derived.ridge_point, match: relative,\n     tolerance: 0.01",
                        "stat: derived.ridge_point, reaches: cycles, match: relative,\n"
                        "     tolerance: 0.01");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, file));
    CHECK(has(r, "question ridge_tpu_v4: reaches and at go with a sweep of runs"));
  }
  SECTION("a bound with a tolerance") {
    const Cli r = print("stat: roofline.bound, match: exact,",
                        "stat: roofline.bound, match: "
                        "relative, tolerance: 0.1,");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, file));
    CHECK(has(r, "roofline.bound is answered in words: match: exact, no over, per or sweep"));
  }
  SECTION("functional takes true or false") {
    const Cli r = print("functional: false", "functional: no");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, file));
    CHECK(has(r, "functional: expected true or false, got 'no'"));
  }
  SECTION("a sweep that starts above the statistic it is to reach") {
    const Cli r = print("sweep: [proj64_ascend910b, proj128_ascend910b,\n     proj256_ascend910b, ",
                        "sweep: [");
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK(has(r, file));
    CHECK(has(r,
              "question crossover_ascend910b: derived.arithmetic_intensity reaches "
              "derived.ridge_point already at the sweep's first run 'proj512_ascend910b'"));
  }
}

TEST_CASE("lab 05: the README's commands give the values the checker grades", "[unit][slow]") {
  CHECK(sh_blocks(kLab05 + "/README.md") == sh_blocks(kLab05 + "/README.zh.md"));  // the same
  const std::string dir = temp_dir("lab05-readme");
  const std::string lab = small_lab(dir, true);
  std::string script = "set -e\n";
  for (const std::string& b : sh_blocks(kLab05 + "/README.md"))
    if (b.find("lab check") == std::string::npos) script += b;
  replace_first(script, "x=build/release/cli/xpusim\n", std::string("x=") + XPUSIM_BINARY + "\n");
  write_text(dir, "readme.sh", script);
  const Cli commands = run_command({"bash", "readme.sh"}, dir);
  INFO(commands.output);
  REQUIRE(commands.status == 0);

  // Every question of lab.yaml, from the students' runs (results/lab05/<run>), against the
  // checker's expected value.
  const YAML::Node expected = YAML::Load(expected_of(lab))["answers"];
  const YAML::Node questions = YAML::LoadFile(lab + "/lab.yaml")["questions"];
  auto stats = [&](const std::string& run) {
    const std::string file = dir + "/results/lab05/" + run + "/stats.json";
    INFO(file);
    REQUIRE(fs::is_regular_file(file));
    return nlohmann::json::parse(std::ifstream(file));
  };
  // A statistic as the questions name it: stats.json's top level, derived.NAME, layers.L.share.
  auto stat = [&](const std::string& run, const std::string& name) {
    const nlohmann::json s = stats(run);
    if (name.rfind("derived.", 0) == 0) return s["derived"][name.substr(8)]["value"].get<double>();
    if (name == "layers.attn.share")
      for (const auto& l : s["layers"])
        if (l["name"] == "attn") return l["cycles"].get<double>() / s["total_cycles"].get<double>();
    REQUIRE(name == "seconds");
    return s["seconds"].get<double>();
  };
  int checked = 0;
  for (const YAML::Node& q : questions) {
    const std::string name = q["name"].as<std::string>(), what = q["stat"].as<std::string>();
    INFO(name);
    ++checked;
    if (q["sweep"]) {  // interpolated where the intensity passes the ridge point
      double b0 = 0, gap0 = 0, want = 0;
      for (const YAML::Node& r : q["sweep"]) {
        const std::string run = r.as<std::string>();
        const double b = std::stod(run.substr(4, run.find('_') - 4));
        const double gap =
            stat(run, "derived.arithmetic_intensity") - stat(run, "derived.ridge_point");
        if (gap >= 0) {
          want = b0 + (b - b0) * -gap0 / (gap - gap0);
          break;
        }
        b0 = b;
        gap0 = gap;
      }
      CHECK(want == Approx(expected[name].as<double>()).epsilon(1e-4));
      continue;
    }
    const std::string run = q["run"].as<std::string>();
    if (what == "roofline.bound") {
      const bool compute =
          stat(run, "derived.arithmetic_intensity") >= stat(run, "derived.ridge_point");
      CHECK(expected[name].as<std::string>() == (compute ? "compute" : "memory"));
      continue;
    }
    const double v = stat(run, what) / (q["per"] ? q["per"].as<double>() : 1.0);
    CHECK(v == Approx(expected[name].as<double>()).epsilon(1e-3).margin(5e-4));
  }
  CHECK(checked == 40);

  // The students grade the template they copied (here against the smaller copy): every question
  // unanswered, no expected value shown.
  std::string blank = read_text(dir + "/results/lab05/answers.yaml");
  CHECK(blank == read_text(kLab05 + "/answers-template.yaml"));
  replace_first(blank, "lab: 05-roofline-prefill-decode", "lab: " + lab);
  const Cli r = check_custom(dir, "blank.yaml", blank);
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(has(r, "score: 0 / 40"));
  CHECK(has(r, "unanswered (40): ridge_tpu_v4, ridge_ascend910b, "));
  for (const char* hidden : {"229.376", " memory ", " compute "}) {
    INFO(hidden);
    CHECK(!has(r, hidden));
  }
}
