// `xpusim lab check`: grades a student's answers file for a course lab.
//
// A lab folder (docs/labs/<lab>/) holds lab.yaml (preset, array, layers file, dataflows and
// the graded quantities with their tolerances), the layers (a flat workload of gemm and
// conv2d ops) and answers-template.yaml, the file students fill. The expected values come
// from the simulator, not from formulas written again here: SystemC elaborates only once per
// process, so every (layer, dataflow) is simulated by running this same binary as a child
// process on a one-layer workload, and cycles and utilization are read from its stats.json.
// Folds are the one quantity the checker computes itself (see folds()).
#include "cli/lab.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <tuple>

#include "compiler/ir/frontend.h"
#include "compiler/ir/ir.h"
#include "models/core/error.h"

extern char** environ;

namespace fs = std::filesystem;

namespace xpusim::cli {
namespace {

struct Args {
  std::string answers, lab;
  bool print_expected = false;
} args;

// ---- YAML reading: every complaint names file:line ----

SourceLoc loc_of(const std::string& file, const YAML::Node& n) {
  return SourceLoc{file, n.Mark().line + 1, n.Mark().column + 1};
}

YAML::Node load_yaml(const std::string& file) {
  if (!fs::is_regular_file(file)) throw Error(fmt::format("'{}' does not exist", file));
  try {
    return YAML::LoadFile(file);
  } catch (const YAML::Exception& e) {
    throw Error(SourceLoc{file, e.mark.line + 1, e.mark.column + 1}, "malformed YAML: " + e.msg);
  }
}

// Checks that n is a map whose keys are all in `allowed`.
void only_keys(const std::string& file, const YAML::Node& n, const std::string& what,
               const std::vector<std::string>& allowed) {
  if (!n.IsMap())
    throw Error(loc_of(file, n),
                fmt::format("{}: expected a map with keys {}", what, fmt::join(allowed, ", ")));
  for (const auto& kv : n) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      throw Error(loc_of(file, kv.first), fmt::format("{}: unknown key '{}'; allowed keys: {}",
                                                      what, key, fmt::join(allowed, ", ")));
  }
}

YAML::Node need(const std::string& file, const YAML::Node& map, const std::string& key,
                const std::string& what) {
  YAML::Node v = map[key];
  if (!v || v.IsNull()) throw Error(loc_of(file, map), fmt::format("{}: missing '{}'", what, key));
  return v;
}

std::string scalar(const std::string& file, const YAML::Node& n, const std::string& what) {
  if (!n.IsScalar()) throw Error(loc_of(file, n), what + " must be a single value");
  return n.Scalar();
}

int64_t positive_int(const std::string& file, const YAML::Node& n, const std::string& what) {
  const std::string s = scalar(file, n, what);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0 || v <= 0)
    throw Error(loc_of(file, n), fmt::format("{} must be a positive integer, got '{}'", what, s));
  return v;
}

double number(const std::string& file, const YAML::Node& n, const std::string& what) {
  const std::string s = scalar(file, n, what);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v))
    throw Error(loc_of(file, n), fmt::format("{} must be a number, got '{}'", what, s));
  return v;
}

// ---- the lab definition ----

struct Quantity {
  const char* name;
  bool integer;
  const char* zh;  // its name in the Chinese table
};
const Quantity kQuantities[] = {
    {"folds", true, "折叠数"}, {"cycles", true, "周期数"}, {"utilization", false, "利用率"}};

struct Graded {
  const Quantity* quantity = nullptr;
  double tolerance = 0;  // largest accepted |given - expected|; 0 for an exact match
};

// One lab layer: a single GEMM (a gemm, or a conv2d of one image and one group).
struct Layer {
  std::string name;
  YAML::Node op;                // its entry in the layers file, simulated alone
  int64_t M = 0, N = 0, K = 0;  // the GEMM view: (M x K) times (K x N)
};

struct Lab {
  std::string file;  // lab.yaml
  std::string name, title, title_zh, preset;
  int64_t rows = 0, cols = 0;
  std::vector<Layer> layers;
  std::vector<std::string> dataflows;
  std::vector<Graded> graded;
};

std::vector<Layer> load_layers(const std::string& file) {
  const compiler::Graph g = compiler::load_workload(file);  // checks the workload, file:line
  std::vector<Layer> layers;
  for (const YAML::Node& op : load_yaml(file)["ops"]) {
    Layer l;
    l.name = op["name"].Scalar();
    l.op = op;
    const auto n = std::find_if(g.nodes.begin(), g.nodes.end(),
                                [&](const compiler::Node& x) { return x.name == l.name; });
    const bool gemm = n->kind == compiler::OpKind::gemm;
    if (op["inputs"] || (!gemm && n->kind != compiler::OpKind::conv2d))
      throw Error(loc_of(file, op),
                  fmt::format("lab layer '{}': a lab layer must be a gemm or "
                              "conv2d op in the flat form (it is simulated alone)",
                              l.name));
    if (gemm) {
      const compiler::MatmulDims d = compiler::matmul_dims(g, *n);
      l.M = d.m;
      l.N = d.n;
      l.K = d.k;
    } else {
      const auto& x = g.tensor(n->inputs[0]).shape;   // N, C, H, W
      const auto& w = g.tensor(n->inputs[1]).shape;   // K, C/groups, R, S
      const auto& y = g.tensor(n->outputs[0]).shape;  // N, K, OH, OW
      if (x[0] != 1 || n->attrs.groups != 1)
        throw Error(loc_of(file, op), fmt::format("lab layer '{}': a conv2d layer must have N: 1 "
                                                  "and groups: 1 (one GEMM)",
                                                  l.name));
      l.M = y[2] * y[3];
      l.N = w[0];
      l.K = w[1] * w[2] * w[3];
    }
    layers.push_back(l);
  }
  return layers;
}

Lab load_lab(const fs::path& path) {
  const std::string f = path.string();
  const YAML::Node root = load_yaml(f);
  const std::string what = "lab definition";
  only_keys(
      f, root, what,
      {"schema", "name", "title", "title_zh", "preset", "array", "layers", "dataflows", "graded"});
  const YAML::Node schema = need(f, root, "schema", what);
  if (scalar(f, schema, "schema") != "1")
    throw Error(loc_of(f, schema),
                "schema '" + schema.Scalar() + "' is not supported (expected 1)");
  Lab lab;
  lab.file = f;
  lab.name = scalar(f, need(f, root, "name", what), "name");
  lab.title = scalar(f, need(f, root, "title", what), "title");
  lab.title_zh = root["title_zh"] ? scalar(f, root["title_zh"], "title_zh") : lab.title;
  lab.preset = scalar(f, need(f, root, "preset", what), "preset");
  if (fs::path(lab.preset).extension() == ".yaml")  // a configuration file beside lab.yaml
    lab.preset = (path.parent_path() / lab.preset).string();
  const YAML::Node array = need(f, root, "array", what);
  only_keys(f, array, "array", {"rows", "cols"});
  lab.rows = positive_int(f, need(f, array, "rows", "array"), "array.rows");
  lab.cols = positive_int(f, need(f, array, "cols", "array"), "array.cols");
  lab.layers = load_layers(
      (path.parent_path() / scalar(f, need(f, root, "layers", what), "layers")).string());
  const YAML::Node dataflows = need(f, root, "dataflows", what);
  if (!dataflows.IsSequence())
    throw Error(loc_of(f, dataflows), "dataflows: expected a list of os, ws, is");
  for (const YAML::Node& d : dataflows) {
    const std::string df = scalar(f, d, "a dataflow");
    if ((df != "os" && df != "ws" && df != "is") ||
        std::count(lab.dataflows.begin(), lab.dataflows.end(), df))
      throw Error(loc_of(f, d), "dataflow '" + df + "': expected os, ws or is, each once");
    lab.dataflows.push_back(df);
  }
  const YAML::Node graded = need(f, root, "graded", what);
  if (!graded.IsSequence())
    throw Error(loc_of(f, graded), "graded: expected a list of {quantity, match, tolerance}");
  for (const YAML::Node& g : graded) {
    only_keys(f, g, "graded", {"quantity", "match", "tolerance"});
    Graded q;
    const YAML::Node name = need(f, g, "quantity", "graded");
    const std::string n = scalar(f, name, "quantity");
    for (const Quantity& k : kQuantities)
      if (n == k.name) q.quantity = &k;
    if (!q.quantity || std::any_of(lab.graded.begin(), lab.graded.end(),
                                   [&](const Graded& o) { return o.quantity == q.quantity; }))
      throw Error(loc_of(f, name),
                  "quantity '" + n + "': expected folds, cycles or utilization, each once");
    const YAML::Node match = need(f, g, "match", "graded");
    const std::string m = scalar(f, match, "match");
    if (m == "absolute") {
      const YAML::Node tol = need(f, g, "tolerance", "graded (match: absolute)");
      q.tolerance = number(f, tol, "tolerance");
      if (q.tolerance < 0) throw Error(loc_of(f, tol), "tolerance must not be negative");
    } else if (m != "exact" || g["tolerance"]) {
      throw Error(loc_of(f, match), "match: expected 'exact' or 'absolute' (with a tolerance)");
    }
    lab.graded.push_back(q);
  }
  return lab;
}

// The lab.yaml to grade against: --lab, else the answers file's `lab:` key; either may name
// lab.yaml or its folder. A relative `lab:` is looked up from the current folder, then from
// the answers file's folder.
fs::path find_lab(const YAML::Node& answers) {
  auto file_of = [](const fs::path& p) { return fs::is_directory(p) ? p / "lab.yaml" : p; };
  if (!args.lab.empty()) {
    const fs::path p = file_of(args.lab);
    if (!fs::is_regular_file(p)) throw Error(fmt::format("--lab: '{}' does not exist", p.string()));
    return p;
  }
  if (args.answers.empty()) throw Error("lab check --print-expected: name the lab with --lab DIR");
  const YAML::Node key = answers["lab"];
  if (!key || key.IsNull())
    throw Error(SourceLoc{args.answers, 1},
                "no 'lab:' key naming the lab (its lab.yaml or folder); add one or pass --lab DIR");
  const fs::path p = scalar(args.answers, key, "lab");
  std::vector<fs::path> tried = {p};
  const fs::path beside = fs::path(args.answers).parent_path() / p;
  if (p.is_relative() && beside != p) tried.push_back(beside);
  for (const fs::path& t : tried)
    if (fs::is_regular_file(file_of(t))) return file_of(t);
  std::vector<std::string> names;
  for (const fs::path& t : tried) names.push_back(file_of(t).string());
  throw Error(loc_of(args.answers, key), fmt::format("lab '{}' not found (looked for {})",
                                                     p.string(), fmt::join(names, ", ")));
}

// ---- answers and expected values ----

using Question = std::tuple<std::string, std::string, std::string>;  // layer, dataflow, quantity

struct Given {
  std::string text;  // as written
  double value = 0;
};

struct Answers {
  std::string lang = "en", student;
  std::map<Question, Given> given;  // unanswered questions are absent
};

Answers parse_answers(const std::string& f, const YAML::Node& root, const Lab& lab) {
  only_keys(f, root, "answers file", {"lab", "lang", "student", "answers"});
  Answers a;
  if (const YAML::Node lang = root["lang"]; lang && !lang.IsNull()) {
    a.lang = scalar(f, lang, "lang");
    if (a.lang != "en" && a.lang != "zh")
      throw Error(loc_of(f, lang), "lang: expected en or zh, got '" + a.lang + "'");
  }
  if (const YAML::Node s = root["student"]; s && !s.IsNull()) a.student = scalar(f, s, "student");
  std::vector<std::string> layer_names, quantities;
  for (const Layer& l : lab.layers) layer_names.push_back(l.name);
  for (const Graded& g : lab.graded) quantities.push_back(g.quantity->name);
  const YAML::Node answers = need(f, root, "answers", "answers file");
  only_keys(f, answers, "answers (one entry per layer)", layer_names);
  for (const auto& layer : answers) {
    const std::string l = layer.first.Scalar();
    if (layer.second.IsNull()) continue;
    only_keys(f, layer.second, "answers of layer '" + l + "' (one entry per dataflow)",
              lab.dataflows);
    for (const auto& df : layer.second) {
      const std::string d = df.first.Scalar();
      if (df.second.IsNull()) continue;
      only_keys(f, df.second, fmt::format("answers of layer '{}', dataflow {}", l, d), quantities);
      for (const auto& q : df.second) {
        const std::string name = q.first.Scalar();
        if (q.second.IsNull()) continue;
        const std::string what = fmt::format("{}/{}/{}", l, d, name);
        const double v = number(f, q.second, what);
        const Graded& g = *std::find_if(lab.graded.begin(), lab.graded.end(),
                                        [&](const Graded& x) { return name == x.quantity->name; });
        if (g.quantity->integer && v != std::floor(v))
          throw Error(loc_of(f, q.second),
                      what + " must be a whole number, got " + q.second.Scalar());
        a.given[{l, d, name}] = Given{q.second.Scalar(), v};
      }
    }
  }
  return a;
}

// Folds of the mapping table (the lab's README): os spreads M over the array rows and N over
// its columns, ws spreads K and N, is spreads K and M. This is a definition, not a timing
// model, and xpusim reports no fold count, so the checker computes it here.
int64_t folds(const Layer& l, const std::string& dataflow, int64_t rows, int64_t cols) {
  const int64_t over_rows = dataflow == "os" ? l.M : l.K;
  const int64_t over_cols = dataflow == "is" ? l.M : l.N;
  return (over_rows + rows - 1) / rows * ((over_cols + cols - 1) / cols);
}

// A fresh private folder, removed with everything in it when this goes out of scope.
class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "xpusim-lab-XXXXXX").string();
    if (!mkdtemp(t.data()))
      throw Error("cannot create a temporary folder: " + std::string(std::strerror(errno)));
    path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Runs argv (argv[0] a path) with stdout and stderr going to `log`; returns the wait status.
int spawn(const std::vector<std::string>& argv, const fs::path& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> av;
  for (const std::string& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, av[0], &fa, nullptr, av.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw Error(fmt::format("cannot run '{}': {}", argv[0], std::strerror(rc)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      throw Error(fmt::format("waiting for '{}': {}", argv[0], std::strerror(errno)));
  return status;
}

// Simulates every (layer, dataflow) of the lab and returns every quantity of each.
std::map<Question, double> expected_values(const Lab& lab) {
  const TempDir tmp;
  const std::string exe = fs::read_symlink("/proc/self/exe").string();
  const std::string rows = fmt::format("array.rows={}", lab.rows);
  const std::string cols = fmt::format("array.cols={}", lab.cols);
  std::map<Question, double> expected;
  for (size_t i = 0; i < lab.layers.size(); ++i) {
    const Layer& l = lab.layers[i];
    YAML::Emitter e;
    e << YAML::BeginMap << YAML::Key << "name" << YAML::Value << l.name << YAML::Key << "ops"
      << YAML::Value << YAML::BeginSeq << l.op << YAML::EndSeq << YAML::EndMap;
    const fs::path workload = tmp.path() / fmt::format("layer{}.yaml", i);
    std::ofstream(workload) << e.c_str() << "\n";
    for (const std::string& df : lab.dataflows) {
      const std::string out = (tmp.path() / fmt::format("layer{}-{}", i, df)).string();
      const std::vector<std::string> argv = {
          exe,  "run",   "--arch", lab.preset, "--workload",           workload.string(), "--set",
          rows, "--set", cols,     "--set",    "array.dataflow=" + df, "--no-functional", "--out",
          out};
      const fs::path log = out + ".log";
      const int status = spawn(argv, log);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::stringstream text;
        text << std::ifstream(log).rdbuf();
        throw Error(fmt::format("{}: simulating layer '{}' with dataflow {} failed:\n  {}\n{}",
                                lab.file, l.name, df, fmt::join(argv, " "), text.str()));
      }
      const nlohmann::json stats =
          nlohmann::json::parse(std::ifstream(fs::path(out) / "stats.json"));
      const nlohmann::json& layer = stats.at("layers").at(0);
      expected[{l.name, df, "folds"}] = double(folds(l, df, lab.rows, lab.cols));
      expected[{l.name, df, "cycles"}] = layer.at("cycles").get<double>();
      expected[{l.name, df, "utilization"}] = layer.at("utilization").get<double>();
    }
  }
  return expected;
}

std::string show(const Quantity& q, double v) {
  return q.integer ? fmt::format("{}", int64_t(v)) : fmt::format("{:.4f}", v);
}

// Prints a filled answers file (lang en) that scores full marks.
void print_expected(const Lab& lab, const std::map<Question, double>& expected) {
  YAML::Emitter e;
  e << YAML::Comment(
           fmt::format("Expected answers of lab {} (xpusim lab check --print-expected)", lab.name))
    << YAML::BeginMap << YAML::Key << "lab" << YAML::Value << lab.file << YAML::Key << "lang"
    << YAML::Value << "en" << YAML::Key << "student" << YAML::Value << "expected" << YAML::Key
    << "answers" << YAML::Value << YAML::BeginMap;
  for (const Layer& l : lab.layers) {
    e << YAML::Key << l.name << YAML::Value << YAML::BeginMap;
    for (const std::string& df : lab.dataflows) {
      e << YAML::Key << df << YAML::Value << YAML::Flow << YAML::BeginMap;
      for (const Graded& g : lab.graded)
        e << YAML::Key << g.quantity->name << YAML::Value
          << show(*g.quantity, expected.at({l.name, df, g.quantity->name}));
      e << YAML::EndMap;
    }
    e << YAML::EndMap;
  }
  e << YAML::EndMap << YAML::EndMap;
  std::cout << e.c_str() << "\n";
}

// A phrase of the grading report in both languages of the answers file's `lang:`.
struct Text {
  const char* en;
  const char* zh;
};
const Text kStudent{"student", "学生"}, kLayer{"layer", "层"}, kDataflow{"dataflow", "数据流"},
    kQuantity{"quantity", "指标"}, kExpected{"expected", "正确答案"}, kGiven{"given", "你的答案"},
    kResult{"result", "结果"}, kOk{"ok", "对"}, kWrong{"wrong", "错"},
    kUnanswered{"(none)", "（未填）"},
    kPercent{"wrong (write a fraction, not a percent)", "错（请填小数，不要填百分数）"},
    kScore{"score", "得分"}, kWrongList{"wrong answers", "答错的题"};

// Prints the table of every question and the score; returns 0 when every answer is right.
int grade(const Lab& lab, const Answers& a, const std::map<Question, double>& expected) {
  const bool zh = a.lang == "zh";
  auto say = [zh](const Text& t) { return std::string(zh ? t.zh : t.en); };
  std::cout << (zh ? fmt::format("实验 {}：{}\n", lab.name, lab.title_zh)
                   : fmt::format("lab {}: {}\n", lab.name, lab.title));
  if (!a.student.empty()) std::cout << fmt::format("{}: {}\n", say(kStudent), a.student);
  std::cout << (zh ? fmt::format("正确答案由仿真得到：配置 {}，{}x{} 阵列\n\n", lab.preset,
                                 lab.rows, lab.cols)
                   : fmt::format("expected values simulated on {} with a {}x{} array\n\n",
                                 lab.preset, lab.rows, lab.cols));
  size_t lw = say(kLayer).size();
  for (const Layer& l : lab.layers) lw = std::max(lw, l.name.size());
  const auto row = [&](const std::string& c1, const std::string& c2, const std::string& c3,
                       const std::string& c4, const std::string& c5, const std::string& c6) {
    std::cout << fmt::format("{:<{}}  {:<8}  {:<11}  {:>10}  {:>10}  {}\n", c1, lw, c2, c3, c4, c5,
                             c6);
  };
  row(say(kLayer), say(kDataflow), say(kQuantity), say(kExpected), say(kGiven), say(kResult));
  int right = 0, total = 0;
  std::vector<std::string> wrong;
  for (const Layer& l : lab.layers)
    for (const std::string& df : lab.dataflows)
      for (const Graded& g : lab.graded) {
        const Question q{l.name, df, g.quantity->name};
        const double want = expected.at(q);
        const auto given = a.given.find(q);
        const bool answered = given != a.given.end();
        const bool ok = answered && std::fabs(given->second.value - want) <= g.tolerance;
        const bool percent = answered && !ok && !g.quantity->integer &&
                             std::fabs(given->second.value / 100 - want) <= g.tolerance;
        const Text& verdict = ok ? kOk : percent ? kPercent : kWrong;
        ++total;
        right += ok;
        if (answered && !ok) wrong.push_back(fmt::format("{}/{}/{}", l.name, df, g.quantity->name));
        row(l.name, df, zh ? g.quantity->zh : g.quantity->name, show(*g.quantity, want),
            answered ? given->second.text : say(kUnanswered), say(verdict));
      }
  std::cout << fmt::format("\n{}: {} / {}\n", say(kScore), right, total);
  if (!wrong.empty()) std::cout << fmt::format("{}: {}\n", say(kWrongList), fmt::join(wrong, ", "));
  return right == total ? 0 : 1;
}

}  // namespace

CLI::App* add_lab_command(CLI::App& app) {
  CLI::App* lab = app.add_subcommand("lab", "course labs (docs/labs): grade a student's answers");
  lab->require_subcommand(1);
  CLI::App* check = lab->add_subcommand(
      "check", "grade an answers file against values simulated for the lab's layers");
  check->add_option("answers", args.answers, "the filled answers file (answers-template.yaml)");
  check->add_option("--lab", args.lab,
                    "the lab's folder or lab.yaml (default: the answers file's 'lab:' key)");
  check->add_flag("--print-expected", args.print_expected,
                  "print a filled answers file with the expected values instead of grading");
  return lab;
}

int run_lab_command() {
  if (args.answers.empty() && !args.print_expected)
    throw Error("lab check: give the answers file (or --print-expected with --lab DIR)");
  YAML::Node root;
  if (!args.answers.empty()) {
    root = load_yaml(args.answers);
    if (!root.IsMap())
      throw Error(SourceLoc{args.answers, 1},
                  "expected a map with keys lab, lang, student, answers (see the lab's "
                  "answers-template.yaml)");
  }
  const Lab lab = load_lab(find_lab(root));
  if (args.print_expected) {
    print_expected(lab, expected_values(lab));
    return 0;
  }
  const Answers answers = parse_answers(args.answers, root, lab);  // before the slow part
  return grade(lab, answers, expected_values(lab));
}

}  // namespace xpusim::cli
