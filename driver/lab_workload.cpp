// Labs of kind `workload` for `xpusim lab check`: workloads (YAML graphs) run on several presets
// (lab 05: the roofline, prefill against decode); driver/lab.* holds what every kind shares,
// driver/lab_questions.* the questions about runs.
//
// A `workload` lab folder (docs/labs/<lab>/) holds lab.yaml (the runs: a preset, a workload and
// its params, parameters set, and the questions asked about them with their tolerances), the
// workloads and answers-template.yaml, the file students fill. The expected values come from the
// simulator, not from formulas written again here: every run is `xpusim run --workload` exactly
// as the lab's README tells students to run it (this same binary, one child process per run, as
// many at once as there are CPUs), and the questions read its stats.json: `cycles`, `seconds`,
// `macs`, `dram_bytes`, the derived metrics (`derived.arithmetic_intensity`, ...), the
// statistics tree (`dram.busy_cycles`, ...), each layer's figures as `xpusim compare` gives
// them (`layers.attn.share`, ...; docs/compare.md) and the params given (`params.batch`). One
// statistic is answered in words: `roofline.bound`, compute or memory, whether the run's
// arithmetic intensity reaches its ridge point.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "compiler/ir/frontend.h"
#include "driver/child.h"
#include "driver/compare.h"
#include "driver/lab.h"
#include "driver/lab_questions.h"
#include "models/core/error.h"

namespace fs = std::filesystem;

namespace xpusim::lab {
namespace {

// ---- the lab definition ----

// A run: what `xpusim run` is given.
struct Run {
  std::string name;
  std::string arch;      // a preset, or a configuration file (lab.yaml names it beside itself)
  std::string workload;  // the workload file (lab.yaml names it relative to its folder)
  std::vector<std::pair<std::string, std::string>> params, sets;  // --param, --set
  SourceLoc loc;
};

struct WorkloadLab {
  LabHead head;
  bool functional = true;  // false: every run timing only (--no-functional)
  std::vector<Run> runs;
  std::vector<Question> questions;
};

// The statistic answered in words: whether the run is compute- or memory-bound by the roofline.
const char kBound[] = "roofline.bound";

// An answer for kBound: "compute" or "memory"; "" when it is neither.
std::string bound_answer(const std::string& text) {
  static const std::vector<std::pair<std::string, std::string>> forms = {
      {"compute", "compute"},  {"compute-bound", "compute"},  {"compute bound", "compute"},
      {"计算", "compute"},     {"计算受限", "compute"},       {"算力受限", "compute"},
      {"memory", "memory"},    {"memory-bound", "memory"},    {"memory bound", "memory"},
      {"bandwidth", "memory"}, {"bandwidth-bound", "memory"}, {"访存", "memory"},
      {"访存受限", "memory"},  {"带宽受限", "memory"},        {"内存受限", "memory"}};
  std::string w = text;
  std::transform(w.begin(), w.end(), w.begin(),
                 [](unsigned char c) { return c < 0x80 ? char(std::tolower(c)) : char(c); });
  for (const auto& [form, answer] : forms)
    if (w == form) return answer;
  return "";
}

const std::vector<WordStat> kWordStats = {
    {kBound,
     bound_answer,
     {"compute or memory (compute-bound, memory-bound)",
      "compute 或 memory（也可写 compute-bound、memory-bound、计算受限、访存受限）"},
     "ridge point (its preset has no off-chip bandwidth)"}};

// A map of lab.yaml (params, set) as NAME=VALUE pairs, in the file's order.
std::vector<std::pair<std::string, std::string>> pairs(const std::string& f, const YAML::Node& n,
                                                       const std::string& what) {
  if (!n.IsMap()) throw Error(loc_of(f, n), what + ": expected a map from name to value");
  std::vector<std::pair<std::string, std::string>> v;
  for (const auto& kv : n)
    v.emplace_back(kv.first.Scalar(), scalar(f, kv.second, what + ": " + kv.first.Scalar()));
  return v;
}

Run load_run(const std::string& f, const YAML::Node& r, const fs::path& dir) {
  only_keys(f, r, "a run", {"name", "arch", "workload", "params", "set"});
  Run x;
  x.loc = loc_of(f, r);
  x.name = scalar(f, need(f, r, "name", "a run"), "name");
  const std::string what = "run " + x.name;
  x.arch = scalar(f, need(f, r, "arch", what), "arch");
  if (fs::path(x.arch).extension() == ".yaml")  // a configuration file beside lab.yaml
    x.arch = (dir / x.arch).string();
  const YAML::Node workload = need(f, r, "workload", what);
  x.workload = (dir / scalar(f, workload, "workload")).string();
  if (!fs::is_regular_file(x.workload))
    throw Error(loc_of(f, workload), fmt::format("{}: no workload file '{}'", what, x.workload));
  if (const YAML::Node p = r["params"]; p && !p.IsNull()) x.params = pairs(f, p, what + ": params");
  if (const YAML::Node s = r["set"]; s && !s.IsNull()) x.sets = pairs(f, s, what + ": set");
  // The workload with these params: its errors (file:line:col, unknown params) before any run.
  compiler::load_workload(x.workload, compiler::WorkloadParams(x.params.begin(), x.params.end()));
  return x;
}

WorkloadLab load_lab(const LabSource& source, const YAML::Node& root, const QuestionKind& kind) {
  const std::string& f = source.file;
  const fs::path dir = fs::path(f).parent_path();
  const std::string what = "lab definition";
  WorkloadLab lab;
  lab.head = load_lab_head(source, root, {"functional", "runs", "questions"}, false);
  if (const YAML::Node fn = root["functional"]; fn && !fn.IsNull()) {
    const std::string v = scalar(f, fn, "functional");
    if (v != "true" && v != "false")
      throw Error(loc_of(f, fn), "functional: expected true or false, got '" + v + "'");
    lab.functional = v == "true";
  }
  const YAML::Node runs = need(f, root, "runs", what);
  if (!runs.IsSequence() || runs.size() == 0)
    throw Error(loc_of(f, runs), "runs: expected a list of {name, arch, workload, params, set}");
  std::vector<std::string> names;
  for (const YAML::Node& r : runs) {
    Run x = load_run(f, r, dir);
    if (std::count(names.begin(), names.end(), x.name))
      throw Error(x.loc, "run '" + x.name + "' is defined twice");
    names.push_back(x.name);
    lab.runs.push_back(std::move(x));
  }
  lab.questions = load_questions(f, need(f, root, "questions", what), names, kind);
  return lab;
}

// ---- running ----

// The command line of a run, as the lab's README gives it to students.
std::vector<std::string> command_of(const WorkloadLab& lab, const Run& r, const std::string& out) {
  std::vector<std::string> argv = {child::self_path(), "run",     "--arch", r.arch,
                                   "--workload",       r.workload};
  for (const auto& [name, value] : r.params)
    argv.insert(argv.end(), {"--param", name + "=" + value});
  for (const auto& [path, value] : r.sets) argv.insert(argv.end(), {"--set", path + "=" + value});
  if (!lab.functional) argv.push_back("--no-functional");
  argv.insert(argv.end(), {"--quiet", "--out", out});
  return argv;
}

// What a run gave: stats.json's figures, each layer's as compare gives them, the params given.
Outcome outcome_of(const Run& r, const nlohmann::json& stats) {
  Outcome o;
  flatten_stats(stats.at("stats"), "", o.stats);
  o.stats["cycles"] = stats.at("total_cycles").get<double>();
  o.stats["seconds"] = stats.at("seconds").get<double>();
  o.stats["macs"] = stats.at("macs").get<double>();
  o.stats["dram_bytes"] = stats.at("dram_bytes").get<double>();
  for (const auto& [name, d] : stats.at("derived").items())
    o.stats["derived." + name] = d.at("value").get<double>();
  const nlohmann::ordered_json entry = compare::arch_entry(stats, "", "");
  for (const auto& layer : entry.at("layers"))
    for (const auto& [field, v] : layer.items())
      if (v.is_number())
        o.stats["layers." + layer.at("name").get<std::string>() + "." + field] = v.get<double>();
  for (const auto& [name, value] : r.params) {
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (!value.empty() && *end == '\0') o.stats["params." + name] = v;
  }
  const double ridge = o.stats.at("derived.ridge_point");
  if (ridge > 0)
    o.words[kBound] = o.stats.at("derived.arithmetic_intensity") >= ridge ? "compute" : "memory";
  return o;
}

// Runs every run of the lab, as many at once as there are CPUs.
Outcomes run_all(const WorkloadLab& lab) {
  const child::TempDir tmp;
  std::vector<child::Command> commands;
  std::vector<std::string> outs;
  for (size_t i = 0; i < lab.runs.size(); ++i) {
    const std::string out = (tmp.path() / fmt::format("run{}", i)).string();
    commands.push_back({command_of(lab, lab.runs[i], out), "", out + ".log"});
    outs.push_back(out);
  }
  Outcomes outcomes;
  child::run_all(commands, child::cpu_count(), [&](size_t i, const child::Result& res) {
    const Run& r = lab.runs[i];
    if (!res.ok())
      throw Error(r.loc, fmt::format("running '{}' of {} {}", r.name, lab.head.file,
                                     child::failure(commands[i], res)));
    outcomes[r.name] =
        outcome_of(r, nlohmann::json::parse(std::ifstream(fs::path(outs[i]) / "stats.json")));
  });
  return outcomes;
}

// ---- grading ----

const Text kRun{"run", "运行"},
    kMacsPerByte{"wrong (that is MACs per byte: the roofline counts two operations per MAC)",
                 "错（这是每字节的 MAC 数：屋顶线模型中一次 MAC 算两次运算）"},
    kThousand{
        "wrong (a factor of 1000 off: TOPS are 10^12 operations per second, GB/s 10^9 "
        "bytes per second)",
        "错（差了 1000 倍：TOPS 是每秒 10^12 次运算，GB/s 是每秒 10^9 字节）"},
    kRidgeNotCrossing{
        "wrong (that is the ridge point itself: at which batch does the run's intensity, with "
        "the bytes it really moves, reach it?)",
        "错（这是屋脊点本身：按运行实际搬运的字节数，批大小为多少时算术强度才达到它？）"};

// The hints of the workload labs for a wrong answer (beyond a ratio upside down and a percent):
// MACs for operations, a factor of 1000 in the units, the ridge point for the batch that reaches
// it.
const Text& workload_hint(const Question& q, const Value& want, const Value& given,
                          const Outcomes& out) {
  if (q.word) return kWrong;
  const double g = given.number;
  auto near = [&](double v) {
    return std::fabs(g - v) <= std::max(q.tolerance, 1e-3) * std::fabs(v);
  };
  const std::string last = q.stat.substr(q.stat.rfind('.') + 1);
  const bool per_byte =
      last == "ridge_point" || last == "arithmetic_intensity" || last == "intensity";
  if (per_byte && near(want.number / 2)) return kMacsPerByte;
  if ((per_byte || last == "roofline_tops" || last == "achieved_tops") &&
      (near(want.number * 1000) || near(want.number / 1000)))
    return kThousand;
  if (q.crossing())
    for (const std::string& r : q.sweep)
      if (near(out.at(r).stats.at(q.reaches))) return kRidgeNotCrossing;
  return kWrong;
}

// The presets of the lab's runs, in order of first use.
std::string presets_of(const WorkloadLab& lab) {
  std::vector<std::string> v;
  for (const Run& r : lab.runs)
    if (!std::count(v.begin(), v.end(), r.arch)) v.push_back(r.arch);
  return fmt::format("{}", fmt::join(v, ", "));
}

// The kind of lab 05: grades the answers, or prints the expected ones.
int check_workload_lab(const CheckRequest& req) {
  const QuestionKind kind{kWordStats, kRun, workload_hint};
  const WorkloadLab lab = load_lab(req.lab_source, req.lab, kind);
  if (req.print_expected) {
    print_expected(lab.head, fmt::format(", simulated in {} runs", lab.runs.size()), lab.questions,
                   expected_values(lab.questions, run_all(lab), kind));
    return 0;
  }
  const Answers answers =
      parse_answers(req.answers_file, req.answers, lab.questions);  // before the runs
  const Outcomes out = run_all(lab);
  const Heading heading{
      fmt::format("expected values simulated with xpusim run ({} runs of the lab's workloads on "
                  "{}); shown for the right answers only",
                  lab.runs.size(), presets_of(lab)),
      fmt::format("正确答案由仿真得到：用 xpusim run 在 {} 上运行实验的工作负载，共 {} 次；只显示"
                  "答对的题的正确答案",
                  presets_of(lab), lab.runs.size())};
  return grade(lab.head, heading, lab.questions, answers, expected_values(lab.questions, out, kind),
               out, kind, req.instructor);
}

const bool registered = register_lab_kind(LabKind{"workload", check_workload_lab});

}  // namespace
}  // namespace xpusim::lab
