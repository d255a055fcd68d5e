// Labs of kind `gpu` (lab 03) for `xpusim lab check`; driver/lab.* holds what every kind
// shares.
//
// A `gpu` lab folder (docs/labs/<lab>/) holds lab.yaml (the GPU preset, the kernel launches
// and the questions asked about them, with their tolerances), the kernels (CUDA sources and
// the PTX nvcc made of them) and answers-template.yaml, the file students fill. The expected
// values come from the simulator, not from formulas written again here: every launch is run as
// `xpusim run --kernel` exactly as the lab's README tells students to run it (this same binary,
// one child process per launch, as lab 01's kind does, so they run in parallel), with
// zero-filled files for its buffers, and the questions read its stats.json. A question is one
// statistic of a launch (the occupancy's limit, read from the run's note, is the one answer in
// words), that statistic divided by a constant, or the ratio of the statistic in two launches.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "driver/child.h"
#include "driver/lab.h"
#include "models/core/error.h"

namespace fs = std::filesystem;

namespace xpusim::lab {
namespace {

// ---- the lab definition ----

// A kernel argument: a value as `--arg name=value` takes it, or a zero-filled buffer.
struct Arg {
  std::string name;
  std::string value;   // when not a buffer
  uint64_t zeros = 0;  // a buffer of this many bytes, when > 0
};

// A kernel launch: what `xpusim run --kernel` is given.
struct Launch {
  std::string name;
  std::string path;  // the PTX file (lab.yaml names it relative to its folder)
  std::string entry, grid, block;
  uint64_t shared = 0;  // dynamic shared memory per block (--shared)
  std::vector<Arg> args;
  SourceLoc loc;
};

enum class Match { exact, absolute, relative };

// The statistic whose answer is a word: what limits the occupancy.
const char kLimit[] = "occupancy.limit";
// Its answers, and the Chinese words taken for them.
const std::vector<std::string> kLimits = {"blocks", "warps", "threads", "registers",
                                          "shared memory"};
const std::vector<std::pair<std::string, std::string>> kLimitAliases = {
    {"shared", "shared memory"},  {"线程块", "blocks"},
    {"线程束", "warps"},          {"warp", "warps"},
    {"线程", "threads"},          {"寄存器", "registers"},
    {"共享内存", "shared memory"}};

struct Question {
  std::string name;
  std::string run, over;  // the launch, and the one whose statistic divides it (or "")
  std::string stat;       // cycles, macs, occupancy.limit or a path in stats.json's tree
  double per = 1;         // the statistic is divided by this
  Match match = Match::exact;
  double tolerance = 0;       // absolute: largest |given - expected|; relative: of |expected|
  std::string what, what_zh;  // the quantity in words
  SourceLoc loc;
  bool words() const { return stat == kLimit; }
};

struct GpuLab {
  LabHead head;
  std::string preset;
  std::vector<Launch> launches;
  std::vector<Question> questions;
};

Launch load_launch(const std::string& f, const YAML::Node& l, const fs::path& dir) {
  only_keys(f, l, "a launch", {"name", "ptx", "entry", "grid", "block", "shared", "args"});
  Launch x;
  x.loc = loc_of(f, l);
  x.name = scalar(f, need(f, l, "name", "a launch"), "name");
  const std::string what = "launch " + x.name;
  const YAML::Node ptx = need(f, l, "ptx", what);
  x.path = (dir / scalar(f, ptx, "ptx")).string();
  if (!fs::is_regular_file(x.path))
    throw Error(loc_of(f, ptx), fmt::format("{}: no PTX file '{}'", what, x.path));
  x.entry = scalar(f, need(f, l, "entry", what), "entry");
  x.grid = scalar(f, need(f, l, "grid", what), "grid");
  x.block = scalar(f, need(f, l, "block", what), "block");
  if (const YAML::Node s = l["shared"]; s && !s.IsNull())
    x.shared = uint64_t(positive_int(f, s, what + ": shared"));
  const YAML::Node args = need(f, l, "args", what);
  if (!args.IsMap())
    throw Error(loc_of(f, args),
                what + ": args: expected a map from parameter name to a value or {zeros: BYTES}");
  for (const auto& kv : args) {
    Arg a;
    a.name = kv.first.Scalar();
    if (kv.second.IsMap()) {
      only_keys(f, kv.second, what + ": argument " + a.name, {"zeros"});
      a.zeros = uint64_t(positive_int(f, need(f, kv.second, "zeros", "argument " + a.name),
                                      "argument " + a.name + ": zeros"));
    } else {
      a.value = scalar(f, kv.second, what + ": argument " + a.name);
    }
    x.args.push_back(a);
  }
  return x;
}

Question load_question(const std::string& f, const YAML::Node& q,
                       const std::vector<Launch>& launches) {
  only_keys(f, q, "a question",
            {"name", "run", "over", "stat", "per", "match", "tolerance", "what", "what_zh"});
  Question x;
  x.loc = loc_of(f, q);
  x.name = scalar(f, need(f, q, "name", "a question"), "name");
  const std::string what = "question " + x.name;
  auto launch = [&](const char* key) {
    const YAML::Node n = need(f, q, key, what);
    const std::string name = scalar(f, n, key);
    if (std::none_of(launches.begin(), launches.end(),
                     [&](const Launch& l) { return l.name == name; }))
      throw Error(loc_of(f, n), fmt::format("{}: {}: no launch named '{}'", what, key, name));
    return name;
  };
  x.run = launch("run");
  if (q["over"]) x.over = launch("over");
  x.stat = scalar(f, need(f, q, "stat", what), "stat");
  if (const YAML::Node p = q["per"]) {
    x.per = number(f, p, what + ": per");
    if (x.per <= 0) throw Error(loc_of(f, p), what + ": per must be positive");
  }
  const YAML::Node match = need(f, q, "match", what);
  const std::string m = scalar(f, match, "match");
  if (m == "absolute" || m == "relative") {
    x.match = m == "absolute" ? Match::absolute : Match::relative;
    const YAML::Node tol = need(f, q, "tolerance", what + " (match: " + m + ")");
    x.tolerance = number(f, tol, "tolerance");
    if (x.tolerance < 0) throw Error(loc_of(f, tol), "tolerance must not be negative");
  } else if (m != "exact" || q["tolerance"]) {
    throw Error(loc_of(f, match),
                "match: expected 'exact', 'absolute' or 'relative' (the last two with a "
                "tolerance)");
  }
  if (x.words() && (x.match != Match::exact || !x.over.empty() || q["per"]))
    throw Error(x.loc, fmt::format("{}: {} is answered in words: match: exact, no over or per",
                                   what, kLimit));
  x.what = q["what"] ? scalar(f, q["what"], "what") : x.stat;
  x.what_zh = q["what_zh"] ? scalar(f, q["what_zh"], "what_zh") : x.what;
  return x;
}

GpuLab load_lab(const LabSource& source, const YAML::Node& root) {
  const std::string& f = source.file;
  const fs::path dir = fs::path(f).parent_path();
  const std::string what = "lab definition";
  GpuLab lab;
  lab.head = load_lab_head(source, root, {"preset", "launches", "questions"}, false);
  lab.preset = scalar(f, need(f, root, "preset", what), "preset");
  if (fs::path(lab.preset).extension() == ".yaml")  // a configuration file beside lab.yaml
    lab.preset = (dir / lab.preset).string();
  const YAML::Node launches = need(f, root, "launches", what);
  if (!launches.IsSequence() || launches.size() == 0)
    throw Error(loc_of(f, launches),
                "launches: expected a list of {name, ptx, entry, grid, block, shared, args}");
  for (const YAML::Node& l : launches) {
    Launch x = load_launch(f, l, dir);
    if (std::any_of(lab.launches.begin(), lab.launches.end(),
                    [&](const Launch& o) { return o.name == x.name; }))
      throw Error(x.loc, "launch '" + x.name + "' is defined twice");
    lab.launches.push_back(std::move(x));
  }
  const YAML::Node questions = need(f, root, "questions", what);
  if (!questions.IsSequence() || questions.size() == 0)
    throw Error(loc_of(f, questions),
                "questions: expected a list of {name, run, over, stat, per, match, tolerance}");
  for (const YAML::Node& q : questions) {
    Question x = load_question(f, q, lab.launches);
    if (std::any_of(lab.questions.begin(), lab.questions.end(),
                    [&](const Question& o) { return o.name == x.name; }))
      throw Error(x.loc, "question '" + x.name + "' is defined twice");
    lab.questions.push_back(std::move(x));
  }
  return lab;
}

// ---- running the launches ----

// What a launch gave: its statistics by path ("cycles", "macs", "sm.issued", ...) and the
// occupancy's limit.
struct Outcome {
  std::map<std::string, double> stats;
  std::string limit;
};

void flatten(const nlohmann::json& group, const std::string& prefix,
             std::map<std::string, double>& out) {
  if (group.contains("stats"))
    for (const auto& [name, s] : group.at("stats").items())
      if (s.contains("value") && s.at("value").is_number())
        out[prefix + name] = s.at("value").get<double>();
  if (group.contains("groups"))
    for (const auto& [name, g] : group.at("groups").items()) flatten(g, prefix + name + ".", out);
}

// The limit named by the occupancy note: "occupancy: ... limited by LIMIT; ...".
std::string limit_of(const nlohmann::json& notes) {
  const std::string key = "limited by ";
  for (const nlohmann::json& n : notes) {
    const std::string s = n.get<std::string>();
    const size_t at = s.find(key);
    if (s.rfind("occupancy:", 0) == 0 && at != std::string::npos)
      return s.substr(at + key.size(), s.find(';', at) - at - key.size());
  }
  return "";
}

// The command line of a launch, as the lab's README gives it to students (buffers: files of
// zeros in `dir`).
std::vector<std::string> command_of(const GpuLab& lab, const Launch& l, const fs::path& dir,
                                    const std::string& out) {
  std::vector<std::string> argv = {child::self_path(), "run",  "--arch",  lab.preset,
                                   "--kernel",         l.path, "--entry", l.entry,
                                   "--grid",           l.grid, "--block", l.block};
  if (l.shared) argv.insert(argv.end(), {"--shared", std::to_string(l.shared)});
  for (const Arg& a : l.args) {
    std::string value = a.value;
    if (a.zeros) {
      value = (dir / fmt::format("zeros-{}.bin", a.zeros)).string();
      if (!fs::exists(value)) {
        std::ofstream f(value, std::ios::binary);
        const std::vector<char> zeros(size_t(std::min<uint64_t>(a.zeros, 1 << 20)), 0);
        for (uint64_t left = a.zeros; left > 0;) {
          const uint64_t n = std::min<uint64_t>(left, zeros.size());
          f.write(zeros.data(), std::streamsize(n));
          left -= n;
        }
        if (!f) throw Error(fmt::format("cannot write '{}'", value));
      }
    }
    argv.push_back("--arg");
    argv.push_back(a.name + "=" + value);
  }
  argv.insert(argv.end(), {"--out", out});
  return argv;
}

// Runs every launch of the lab, as many at once as there are CPUs.
std::map<std::string, Outcome> run_launches(const GpuLab& lab) {
  const child::TempDir tmp;
  std::vector<child::Command> runs;
  std::vector<std::string> outs;
  for (size_t i = 0; i < lab.launches.size(); ++i) {
    const std::string out = (tmp.path() / fmt::format("launch{}", i)).string();
    runs.push_back({command_of(lab, lab.launches[i], tmp.path(), out), "", out + ".log"});
    outs.push_back(out);
  }
  std::map<std::string, Outcome> outcomes;
  child::run_all(runs, child::cpu_count(), [&](size_t i, const child::Result& r) {
    const Launch& l = lab.launches[i];
    if (!r.ok())
      throw Error(l.loc, fmt::format("running launch '{}' of {} {}", l.name, lab.head.file,
                                     child::failure(runs[i], r)));
    const nlohmann::json stats =
        nlohmann::json::parse(std::ifstream(fs::path(outs[i]) / "stats.json"));
    Outcome& o = outcomes[l.name];
    flatten(stats.at("stats"), "", o.stats);
    o.stats["cycles"] = stats.at("total_cycles").get<double>();
    o.stats["macs"] = stats.at("macs").get<double>();
    o.limit = limit_of(stats.at("notes"));
  });
  return outcomes;
}

// ---- expected values ----

struct Value {
  double number = 0;
  std::string words;  // the answers in words (kLimit)
};

double stat_of(const Question& q, const std::map<std::string, Outcome>& out,
               const std::string& launch) {
  const auto& stats = out.at(launch).stats;
  const auto it = stats.find(q.stat);
  if (it == stats.end()) {
    std::string known;
    for (const auto& s : stats) known += (known.empty() ? "" : ", ") + s.first;
    throw Error(q.loc, fmt::format("question {}: launch '{}' has no statistic '{}' (it has {}, {})",
                                   q.name, launch, q.stat, known, kLimit));
  }
  return it->second;
}

std::map<std::string, Value> expected_values(const GpuLab& lab,
                                             const std::map<std::string, Outcome>& out) {
  std::map<std::string, Value> expected;
  for (const Question& q : lab.questions) {
    Value v;
    if (q.words()) {
      v.words = out.at(q.run).limit;
      if (v.words.empty())
        throw Error(q.loc, fmt::format("question {}: launch '{}' reported no occupancy limit",
                                       q.name, q.run));
    } else {
      v.number = stat_of(q, out, q.run) / q.per;
      if (!q.over.empty()) {
        const double d = stat_of(q, out, q.over) / q.per;
        if (d == 0)
          throw Error(q.loc,
                      fmt::format("question {}: {} of launch '{}' is 0", q.name, q.stat, q.over));
        v.number /= d;
      }
    }
    expected[q.name] = v;
  }
  return expected;
}

std::string show(const Question& q, const Value& v) {
  if (q.words()) return v.words;
  if (q.match == Match::exact && v.number == std::floor(v.number) && std::fabs(v.number) < 1e15)
    return fmt::format("{}", int64_t(v.number));
  return q.match == Match::relative ? fmt::format("{:.3f}", v.number)
                                    : fmt::format("{:.4g}", v.number);
}

// Prints a filled answers file (lang en) that scores full marks.
void print_expected(const GpuLab& lab, const std::map<std::string, Value>& expected) {
  YAML::Emitter e;
  begin_expected(e, lab.head, fmt::format(", simulated on {}", lab.preset));
  e << YAML::BeginMap;
  for (const Question& q : lab.questions)
    e << YAML::Key << q.name << YAML::Value << show(q, expected.at(q.name));
  e << YAML::EndMap;
  end_expected(e);
}

// ---- answers ----

struct Given {
  std::string text;  // as written
  Value value;
};

struct Answers {
  AnswersHead head;
  std::map<std::string, Given> given;  // unanswered questions are absent
};

Answers parse_answers(const std::string& f, const YAML::Node& root, const GpuLab& lab) {
  const AnswersReader r(f, root);
  Answers a;
  a.head = parse_answers_head(r, root, {});
  std::vector<std::string> names;
  for (const Question& q : lab.questions) names.push_back(q.name);
  const YAML::Node answers = r.need(root, "answers");
  r.only_keys(answers, Text{"answers (one entry per question)", "answers（每道题一项）"}, names);
  for (const auto& kv : answers) {
    const std::string name = kv.first.Scalar();
    if (kv.second.IsNull()) continue;
    const Question& q = *std::find_if(lab.questions.begin(), lab.questions.end(),
                                      [&](const Question& x) { return x.name == name; });
    Given g;
    g.text = kv.second.IsScalar() ? kv.second.Scalar() : "";
    if (q.words()) {
      std::string w = g.text;
      std::transform(w.begin(), w.end(), w.begin(),
                     [](unsigned char c) { return c < 0x80 ? char(std::tolower(c)) : char(c); });
      for (const auto& [alias, limit] : kLimitAliases)
        if (w == alias) w = limit;
      const std::string allowed = "blocks, warps, threads, registers, shared memory";
      if (std::find(kLimits.begin(), kLimits.end(), w) == kLimits.end())
        r.fail(kv.second, fmt::format("{} must be one of {}, got '{}'", name, allowed, g.text),
               fmt::format("{} 应为 {} 之一（或 线程块、线程束、线程、寄存器、共享内存），而不是 "
                           "'{}'",
                           name, allowed, g.text));
      g.value.words = w;
    } else {
      g.value.number = r.number(kv.second, name);
    }
    a.given[name] = g;
  }
  return a;
}

// ---- grading ----

bool right(const Question& q, const Value& want, const Value& given) {
  if (q.words()) return given.words == want.words;
  const double d = std::fabs(given.number - want.number);
  switch (q.match) {
    case Match::exact:
      return d == 0;
    case Match::absolute:
      return d <= q.tolerance;
    case Match::relative:
      return d <= q.tolerance * std::fabs(want.number);
  }
  return false;
}

const Text kQuestion{"question", "题目"}, kLaunch{"launch", "运行"}, kQuantity{"quantity", "指标"},
    kExpected{"expected", "正确答案"}, kMatch{"match", "评分"}, kExact{"exact", "精确"},
    kInverted{"wrong (inverted: the ratio asked is the first launch over the second)",
              "错（比值颠倒了：题目要的是第一个运行除以第二个）"},
    kWarpsNotBlocks{"wrong (that is warps per SM; the question asks for blocks)",
                    "错（这是每个 SM 的 warp 数；题目问的是线程块数）"},
    kBlocksNotWarps{"wrong (that is blocks per SM; the question asks for warps)",
                    "错（这是每个 SM 的线程块数；题目问的是 warp 数）"},
    kPerWarp{"wrong (that is one warp's share; the question asks for the whole launch)",
             "错（这是一个 warp 的量；题目问的是整个 launch 的总数）"},
    kConflictFree{"wrong (that is the count without bank conflicts: which accesses conflict?)",
                  "错（这是没有 bank 冲突时的数目：哪些访问有冲突？）"},
    kThreadsTie{
        "wrong (threads give as many blocks here; of limits that tie, the run names the "
        "first in the order blocks, warps, threads, registers, shared memory)",
        "错（这里 threads 给出的线程块数相同；几个限制相同时，运行结果取 blocks、warps、"
        "threads、registers、shared memory 顺序中排在前面的那个）"};

// The verdict on a wrong answer, with a hint where it matches a mistake the lab warns of: an
// inverted ratio, warps for blocks or blocks for warps, one warp's count for the launch's, the
// conflict-free wavefronts, threads for warps where the two tie.
const Text& wrong_verdict(const Question& q, const Value& want, const Value& given,
                          const std::map<std::string, Outcome>& out) {
  if (q.words()) {
    const auto& stats = out.at(q.run).stats;
    const double threads =
        stats.count("launch.block_x")
            ? stats.at("launch.block_x") * stats.at("launch.block_y") * stats.at("launch.block_z")
            : 0;
    const bool whole_warps = threads > 0 && std::fmod(threads, 32) == 0;
    return want.words == "warps" && given.words == "threads" && whole_warps ? kThreadsTie : kWrong;
  }
  const double g = given.number;
  const auto& stats = out.at(q.run).stats;
  auto stat = [&](const std::string& s) {
    const auto it = stats.find(s);
    return it == stats.end() ? -1.0 : it->second;
  };
  if (!q.over.empty()) {
    Value inverted;
    inverted.number = 1 / want.number;
    if (g != 0 && want.number != 1 && right(q, inverted, given)) return kInverted;
    return kWrong;
  }
  if (q.stat == "occupancy.blocks_per_sm" && g == stat("occupancy.warps_per_sm"))
    return kWarpsNotBlocks;
  if (q.stat == "occupancy.warps_per_sm" && g == stat("occupancy.blocks_per_sm"))
    return kBlocksNotWarps;
  if (q.stat == "shared.wavefronts" && g == stat("shared.ideal_wavefronts") / q.per)
    return kConflictFree;
  const double warps = stat("launch.warps");
  if (q.stat.rfind("occupancy.", 0) != 0 && warps > 1 && g * warps == want.number) return kPerWarp;
  return kWrong;
}

// Prints the table of every question and the score; returns 0 when every answer is right.
int grade(const GpuLab& lab, const Answers& a, const std::map<std::string, Value>& expected,
          const std::map<std::string, Outcome>& out, bool instructor) {
  const Report report(a.head.lang, instructor);
  report.title(lab.head, a.head.student);
  std::cout << (report.zh()
                    ? fmt::format("正确答案由仿真得到：在 {} 上用 xpusim run --kernel 运行 {} 个 "
                                  "kernel 启动；只显示答对的题的正确答案\n\n",
                                  lab.preset, lab.launches.size())
                    : fmt::format("expected values simulated on {} (xpusim run --kernel, {} "
                                  "launches); shown for the right answers only\n\n",
                                  lab.preset, lab.launches.size()));
  std::vector<std::vector<std::string>> rows = {
      {report.say(kQuestion), report.say(kLaunch), report.say(kQuantity), report.say(kExpected),
       report.say(kMatch), report.say(kGiven), report.say(kResult)}};
  int ok_count = 0, total = 0;
  std::vector<std::string> wrong, unanswered;
  for (const Question& q : lab.questions) {
    const Value& want = expected.at(q.name);
    const auto given = a.given.find(q.name);
    const bool answered = given != a.given.end();
    const bool ok = answered && right(q, want, given->second.value);
    ++total;
    ok_count += ok;
    if (!answered)
      unanswered.push_back(q.name);
    else if (!ok)
      wrong.push_back(q.name);
    const Text& verdict = ok         ? kOk
                          : answered ? wrong_verdict(q, want, given->second.value, out)
                                     : kNoAnswer;
    const std::string match = q.match == Match::exact ? report.say(kExact)
                              : q.match == Match::relative
                                  ? fmt::format("±{:g}%", q.tolerance * 100)
                                  : fmt::format("±{:g}", q.tolerance);
    rows.push_back({q.name, q.over.empty() ? q.run : q.run + " / " + q.over,
                    report.zh() ? q.what_zh : q.what, report.expected(show(q, want), ok), match,
                    answered ? given->second.text : report.say(kUnanswered), report.say(verdict)});
  }
  report.table(rows, "<<<><><");
  return report.score(ok_count, total, wrong, unanswered);
}

// Lab 03's kind: grades the answers, or prints the expected ones.
int check_gpu_lab(const CheckRequest& req) {
  const GpuLab lab = load_lab(req.lab_source, req.lab);
  if (req.print_expected) {
    print_expected(lab, expected_values(lab, run_launches(lab)));
    return 0;
  }
  const Answers answers = parse_answers(req.answers_file, req.answers, lab);  // before the runs
  const std::map<std::string, Outcome> out = run_launches(lab);
  return grade(lab, answers, expected_values(lab, out), out, req.instructor);
}

const bool registered = register_lab_kind(LabKind{"gpu", check_gpu_lab});

}  // namespace
}  // namespace xpusim::lab
