// Labs of kind `kernel` for `xpusim lab check`: kernels launched on a preset, PTX on a GPU
// preset (lab 03) or DaVinci assembly on a DaVinci preset (lab 04); driver/lab.* holds what
// every kind shares, driver/lab_questions.* the questions about runs.
//
// A `kernel` lab folder (docs/labs/<lab>/) holds lab.yaml (the preset, the kernel launches and
// the questions asked about them, with their tolerances), the kernels and answers-template.yaml,
// the file students fill. The expected values come from the simulator, not from formulas written
// again here: every launch is run as `xpusim run --kernel` exactly as the lab's README tells
// students to run it (this same binary, one child process per launch, as lab 01's kind does, so
// they run in parallel), with zero-filled files for its buffers, and the questions read its
// stats.json. A question is one statistic of a launch, that statistic divided by a constant, or
// the ratio of the statistic in two launches; two statistics are answered in words: the limit
// of a GPU launch's occupancy (read from the run's note) and, for a launch that is to fail with
// a race report, the pair of pipes the report finds unordered (read from its message, with the
// bytes of the race).
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "driver/child.h"
#include "driver/lab.h"
#include "driver/lab_questions.h"
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
  std::string path;  // the kernel file (lab.yaml names it relative to its folder)
  std::string entry, grid;
  std::string block;    // threads per block (GPU); "" for families without (DaVinci)
  uint64_t shared = 0;  // dynamic shared memory per block (--shared)
  std::vector<Arg> args;
  // A line to delete from the kernel first, as a lab has students delete one (`drop:`): the
  // kernel's one line that reads this, without the blanks around it; "" for none.
  std::string drop;
  bool race = false;  // the run is to fail with a race report (`expect: race`)
  SourceLoc loc;
};

// The statistics answered in words: what a run names rather than a number it counts.
const char kLimit[] = "occupancy.limit";  // what limits a GPU launch's occupancy
const char kRaceFlags[] = "race.flags";   // the pipes a race report finds unordered

// The occupancy limits, and the words taken for them.
const std::vector<std::string> kLimits = {"blocks", "warps", "threads", "registers",
                                          "shared memory"};
const std::vector<std::pair<std::string, std::string>> kLimitAliases = {
    {"shared", "shared memory"},  {"线程块", "blocks"},
    {"线程束", "warps"},          {"warp", "warps"},
    {"线程", "threads"},          {"寄存器", "registers"},
    {"共享内存", "shared memory"}};

// An answer for kLimit as the run names it; "" when it is none of the limits.
std::string limit_answer(const std::string& text) {
  std::string w = text;
  std::transform(w.begin(), w.end(), w.begin(),
                 [](unsigned char c) { return c < 0x80 ? char(std::tolower(c)) : char(c); });
  for (const auto& [alias, limit] : kLimitAliases)
    if (w == alias) w = limit;
  return std::find(kLimits.begin(), kLimits.end(), w) == kLimits.end() ? "" : w;
}

// An answer for kRaceFlags as "PIPE_A -> PIPE_B"; "" when it is not two pipes. Taken: the pipes
// with or without PIPE_, in any case, separated by "->", "→", "," or spaces.
std::string pipe_pair_answer(const std::string& text) {
  static const std::vector<std::string> pipes = {"S", "V", "M", "MTE1", "MTE2", "MTE3", "FIX"};
  std::string t = text;
  for (const std::string_view sep : {"->", "→", ","})
    for (size_t at = t.find(sep); at != std::string::npos; at = t.find(sep))
      t.replace(at, sep.size(), " ");
  std::istringstream words(t);
  std::vector<std::string> pair;
  for (std::string w; words >> w;) {
    std::transform(w.begin(), w.end(), w.begin(),
                   [](unsigned char c) { return c < 0x80 ? char(std::toupper(c)) : char(c); });
    if (w.rfind("PIPE_", 0) == 0) w = w.substr(5);
    if (std::find(pipes.begin(), pipes.end(), w) == pipes.end()) return "";
    pair.push_back("PIPE_" + w);
  }
  return pair.size() == 2 ? pair[0] + " -> " + pair[1] : "";
}

const std::vector<WordStat> kWordStats = {
    {kLimit,
     limit_answer,
     {"one of blocks, warps, threads, registers, shared memory",
      "blocks, warps, threads, registers, shared memory 之一（或 线程块、线程束、线程、寄存器、"
      "共享内存）"},
     "occupancy limit"},
    {kRaceFlags,
     pipe_pair_answer,
     {"two pipes in the report's order (e.g. PIPE_MTE3 -> PIPE_MTE2)",
      "两个流水线，按报告中的先后（例如 PIPE_MTE3 -> PIPE_MTE2）"},
     "race between two pipes of a core (a launch with `expect: race`)"}};

struct KernelLab {
  LabHead head;
  std::string preset;
  std::vector<Launch> launches;
  std::vector<Question> questions;
};

// The text of a kernel file without its lines that read `drop` (without the blanks around
// them), and how many there were.
std::pair<std::string, size_t> kernel_without(const std::string& file, const std::string& drop) {
  std::ifstream in(file);
  std::string text, line;
  size_t dropped = 0;
  while (std::getline(in, line)) {
    const size_t first = line.find_first_not_of(" \t\r");
    const size_t last = line.find_last_not_of(" \t\r");
    if (first != std::string::npos && line.substr(first, last + 1 - first) == drop)
      ++dropped;
    else
      text += line + "\n";
  }
  return {text, dropped};
}

Launch load_launch(const std::string& f, const YAML::Node& l, const fs::path& dir) {
  only_keys(f, l, "a launch",
            {"name", "kernel", "drop", "entry", "grid", "block", "shared", "args", "expect"});
  Launch x;
  x.loc = loc_of(f, l);
  x.name = scalar(f, need(f, l, "name", "a launch"), "name");
  const std::string what = "launch " + x.name;
  const YAML::Node kernel = need(f, l, "kernel", what);
  x.path = (dir / scalar(f, kernel, "kernel")).string();
  if (!fs::is_regular_file(x.path))
    throw Error(loc_of(f, kernel), fmt::format("{}: no kernel file '{}'", what, x.path));
  if (const YAML::Node d = l["drop"]; d && !d.IsNull()) {
    x.drop = scalar(f, d, "drop");
    const size_t lines = kernel_without(x.path, x.drop).second;
    if (lines != 1)
      throw Error(loc_of(f, d),
                  fmt::format("{}: drop: {} lines of '{}' read '{}'; exactly one must", what, lines,
                              x.path, x.drop));
  }
  x.entry = scalar(f, need(f, l, "entry", what), "entry");
  x.grid = scalar(f, need(f, l, "grid", what), "grid");
  if (const YAML::Node b = l["block"]; b && !b.IsNull()) x.block = scalar(f, b, "block");
  if (const YAML::Node s = l["shared"]; s && !s.IsNull())
    x.shared = uint64_t(positive_int(f, s, what + ": shared"));
  if (const YAML::Node e = l["expect"]; e && !e.IsNull()) {
    if (scalar(f, e, "expect") != "race")
      throw Error(loc_of(f, e), what +
                                    ": expect: the one value is 'race' (the run is to fail "
                                    "with a race report)");
    x.race = true;
  }
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

KernelLab load_lab(const LabSource& source, const YAML::Node& root, const QuestionKind& kind) {
  const std::string& f = source.file;
  const fs::path dir = fs::path(f).parent_path();
  const std::string what = "lab definition";
  KernelLab lab;
  lab.head = load_lab_head(source, root, {"preset", "launches", "questions"}, false);
  lab.preset = scalar(f, need(f, root, "preset", what), "preset");
  if (fs::path(lab.preset).extension() == ".yaml")  // a configuration file beside lab.yaml
    lab.preset = (dir / lab.preset).string();
  const YAML::Node launches = need(f, root, "launches", what);
  if (!launches.IsSequence() || launches.size() == 0)
    throw Error(loc_of(f, launches),
                "launches: expected a list of {name, kernel, drop, entry, grid, block, shared, "
                "args, expect}");
  for (const YAML::Node& l : launches) {
    Launch x = load_launch(f, l, dir);
    if (std::any_of(lab.launches.begin(), lab.launches.end(),
                    [&](const Launch& o) { return o.name == x.name; }))
      throw Error(x.loc, "launch '" + x.name + "' is defined twice");
    lab.launches.push_back(std::move(x));
  }
  std::vector<std::string> names;
  for (const Launch& l : lab.launches) names.push_back(l.name);
  lab.questions = load_questions(f, need(f, root, "questions", what), names, kind);
  return lab;
}

// ---- running the launches ----

// A launch gives its statistics by path ("cycles", "macs", "sm.issued", ...), and those in
// words (kLimit, kRaceFlags) where the run names them.

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

// The race a failed run reports (models/npu_davinci/race.cpp): "race on BUF[LO, HI): ... with no
// set_flag/wait_flag between PIPE_A and PIPE_B ...". Sets race.bytes (HI - LO), race.address
// (LO) and kRaceFlags ("PIPE_A -> PIPE_B", when the two accesses were on two pipes of a core);
// false when the log holds no race.
bool race_of(const std::string& log, Outcome& o) {
  static const std::regex range(R"(race on \w+\[(0x[0-9a-f]+), (0x[0-9a-f]+)\))");
  static const std::regex pipes(R"(no set_flag/wait_flag between (PIPE_\w+) and (PIPE_\w+))");
  std::smatch m;
  if (!std::regex_search(log, m, range)) return false;
  const double lo = double(std::stoull(m[1].str(), nullptr, 16));
  o.stats["race.address"] = lo;
  o.stats["race.bytes"] = double(std::stoull(m[2].str(), nullptr, 16)) - lo;
  if (std::regex_search(log, m, pipes)) o.words[kRaceFlags] = m[1].str() + " -> " + m[2].str();
  return true;
}

// The command line of a launch, as the lab's README gives it to students (buffers: files of
// zeros in `dir`).
std::vector<std::string> command_of(const KernelLab& lab, const Launch& l, const fs::path& dir,
                                    const std::string& out) {
  std::string kernel = l.path;
  if (!l.drop.empty()) {  // the kernel without that line, beside the buffers
    kernel = (dir / (l.name + fs::path(l.path).extension().string())).string();
    std::ofstream f(kernel);
    f << kernel_without(l.path, l.drop).first;
    if (!f) throw Error(fmt::format("cannot write '{}'", kernel));
  }
  std::vector<std::string> argv = {child::self_path(), "run",  "--arch",  lab.preset,
                                   "--kernel",         kernel, "--entry", l.entry,
                                   "--grid",           l.grid};
  if (!l.block.empty()) argv.insert(argv.end(), {"--block", l.block});
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
Outcomes run_launches(const KernelLab& lab) {
  const child::TempDir tmp;
  std::vector<child::Command> runs;
  std::vector<std::string> outs;
  for (size_t i = 0; i < lab.launches.size(); ++i) {
    const std::string out = (tmp.path() / fmt::format("launch{}", i)).string();
    runs.push_back({command_of(lab, lab.launches[i], tmp.path(), out), "", out + ".log"});
    outs.push_back(out);
  }
  Outcomes outcomes;
  child::run_all(runs, child::cpu_count(), [&](size_t i, const child::Result& r) {
    const Launch& l = lab.launches[i];
    Outcome& o = outcomes[l.name];
    if (l.race) {
      if (r.ok())
        throw Error(l.loc, fmt::format("launch '{}' of {} is to fail with a race report, and ran "
                                       "to its end",
                                       l.name, lab.head.file));
      std::ostringstream log;
      log << std::ifstream(runs[i].log).rdbuf();
      if (!race_of(log.str(), o))
        throw Error(l.loc, fmt::format("launch '{}' of {} is to fail with a race report, and {}",
                                       l.name, lab.head.file, child::failure(runs[i], r)));
      return;
    }
    if (!r.ok())
      throw Error(l.loc, fmt::format("running launch '{}' of {} {}", l.name, lab.head.file,
                                     child::failure(runs[i], r)));
    const nlohmann::json stats =
        nlohmann::json::parse(std::ifstream(fs::path(outs[i]) / "stats.json"));
    flatten_stats(stats.at("stats"), "", o.stats);
    o.stats["cycles"] = stats.at("total_cycles").get<double>();
    o.stats["macs"] = stats.at("macs").get<double>();
    if (const std::string limit = limit_of(stats.at("notes")); !limit.empty())
      o.words[kLimit] = limit;
  });
  return outcomes;
}

// ---- grading ----

// The flag of the wait_flag or set_flag line a launch drops, "PIPE_A -> PIPE_B"; else "".
std::string dropped_flag(const Launch& l) {
  for (const std::string op : {"wait_flag ", "set_flag "})
    if (l.drop.rfind(op, 0) == 0) {
      const std::string pipes = l.drop.substr(op.size());
      return pipe_pair_answer(pipes.substr(0, pipes.rfind(',')));
    }
  return "";
}

const Text kLaunch{"launch", "运行"},
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
        "threads、registers、shared memory 顺序中排在前面的那个）"},
    kDroppedFlag{
        "wrong (that is the flag of the line deleted; the report names the two "
        "accesses it left unordered)",
        "错（这是被删掉的那一行的 flag；报告给出的是因此失去顺序的两次访问）"},
    kReversedFlag{"wrong (the other way round: name the pipes in the order the report does)",
                  "错（顺序反了：按报告中的先后写出两个流水线）"};

// The hints of the kernel labs for a wrong answer (beyond a ratio upside down and a percent):
// warps for blocks or blocks for warps, one warp's count for the launch's, the conflict-free
// wavefronts, threads for warps where the two tie, a race's pipes the other way round or those
// of the flag deleted rather than the report's.
const Text& kernel_hint(const KernelLab& lab, const Question& q, const Value& want,
                        const Value& given, const Outcomes& out) {
  if (q.stat == kRaceFlags) {
    const size_t arrow = want.words.find(" -> ");
    const std::string reversed =
        want.words.substr(arrow + 4) + " -> " + want.words.substr(0, arrow);
    if (given.words == reversed) return kReversedFlag;
    const Launch& l = *std::find_if(lab.launches.begin(), lab.launches.end(),
                                    [&](const Launch& x) { return x.name == q.run; });
    return given.words == dropped_flag(l) ? kDroppedFlag : kWrong;
  }
  const auto& stats = out.at(q.run).stats;
  if (q.word) {
    const double threads =
        stats.count("launch.block_x")
            ? stats.at("launch.block_x") * stats.at("launch.block_y") * stats.at("launch.block_z")
            : 0;
    const bool whole_warps = threads > 0 && std::fmod(threads, 32) == 0;
    return want.words == "warps" && given.words == "threads" && whole_warps ? kThreadsTie : kWrong;
  }
  const double g = given.number;
  auto stat = [&](const std::string& s) {
    const auto it = stats.find(s);
    return it == stats.end() ? -1.0 : it->second;
  };
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

// The kind of labs 03 and 04: grades the answers, or prints the expected ones.
int check_kernel_lab(const CheckRequest& req) {
  QuestionKind kind{kWordStats, kLaunch, nullptr};
  const KernelLab lab = load_lab(req.lab_source, req.lab, kind);
  kind.hint = [&lab](const Question& q, const Value& want, const Value& given,
                     const Outcomes& out) -> const Text& {
    return kernel_hint(lab, q, want, given, out);
  };
  if (req.print_expected) {
    print_expected(lab.head, fmt::format(", simulated on {}", lab.preset), lab.questions,
                   expected_values(lab.questions, run_launches(lab), kind));
    return 0;
  }
  const Answers answers =
      parse_answers(req.answers_file, req.answers, lab.questions);  // before the runs
  const Outcomes out = run_launches(lab);
  const Heading heading{
      fmt::format("expected values simulated on {} (xpusim run --kernel, {} launches); shown for "
                  "the right answers only",
                  lab.preset, lab.launches.size()),
      fmt::format(
          "正确答案由仿真得到：在 {} 上用 xpusim run --kernel 运行 {} 个 kernel 启动；只显示"
          "答对的题的正确答案",
          lab.preset, lab.launches.size())};
  return grade(lab.head, heading, lab.questions, answers, expected_values(lab.questions, out, kind),
               out, kind, req.instructor);
}

const bool registered = register_lab_kind(LabKind{"kernel", check_kernel_lab});

}  // namespace
}  // namespace xpusim::lab
