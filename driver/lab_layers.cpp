// Labs of kind `layers` (lab 01) for `xpusim lab check`; driver/lab.* holds what every kind
// shares.
//
// A `layers` lab folder (docs/labs/<lab>/) holds lab.yaml (preset, array, layers file, dataflows
// and the graded quantities with their tolerances), the layers (a flat workload of gemm and conv2d
// ops) and answers-template.yaml, the file students fill. The expected values come from the
// simulator, not from formulas written again here: SystemC elaborates only once per process, so
// every (layer, dataflow) is simulated by running this same binary as a child process on a
// one-layer workload, and cycles and utilization are read from its stats.json. Folds are the one
// quantity the checker computes itself (see folds()).
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <tuple>

#include "compiler/ir/frontend.h"
#include "compiler/ir/ir.h"
#include "driver/child.h"
#include "driver/lab.h"
#include "models/core/error.h"

namespace fs = std::filesystem;

namespace xpusim::lab {
namespace {

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
  LabHead head;
  std::string preset;
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

Lab load_lab(const LabSource& source, const YAML::Node& root) {
  const std::string& f = source.file;
  const fs::path path = f;
  const std::string what = "lab definition";
  Lab lab;
  lab.head = load_lab_head(source, root, {"preset", "layers", "dataflows", "graded"});
  lab.preset = scalar(f, need(f, root, "preset", what), "preset");
  if (fs::path(lab.preset).extension() == ".yaml")  // a configuration file beside lab.yaml
    lab.preset = (path.parent_path() / lab.preset).string();
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

// ---- answers and expected values ----

using Question = std::tuple<std::string, std::string, std::string>;  // layer, dataflow, quantity

struct Given {
  std::string text;  // as written
  double value = 0;
};

struct Answers {
  AnswersHead head;
  std::map<Question, Given> given;  // unanswered questions are absent
};

Answers parse_answers(const std::string& f, const YAML::Node& root, const Lab& lab) {
  const AnswersReader r(f, root);
  Answers a;
  a.head = parse_answers_head(r, root, {});
  std::vector<std::string> layer_names, quantities;
  for (const Layer& l : lab.layers) layer_names.push_back(l.name);
  for (const Graded& g : lab.graded) quantities.push_back(g.quantity->name);
  const YAML::Node answers = r.need(root, "answers");
  r.only_keys(answers, Text{"answers (one entry per layer)", "answers（每个层一项）"}, layer_names);
  for (const auto& layer : answers) {
    const std::string l = layer.first.Scalar();
    if (layer.second.IsNull()) continue;
    r.only_keys(
        layer.second,
        Text{"answers of a layer (one entry per dataflow)", "一个层的答案（每种数据流一项）"},
        lab.dataflows);
    for (const auto& df : layer.second) {
      const std::string d = df.first.Scalar();
      if (df.second.IsNull()) continue;
      r.only_keys(df.second, Text{"answers of a layer and dataflow", "一个层、一种数据流的答案"},
                  quantities);
      for (const auto& q : df.second) {
        const std::string name = q.first.Scalar();
        if (q.second.IsNull()) continue;
        const std::string what = fmt::format("{}/{}/{}", l, d, name);
        const double v = r.number(q.second, what);
        const Graded& g = *std::find_if(lab.graded.begin(), lab.graded.end(),
                                        [&](const Graded& x) { return name == x.quantity->name; });
        if (g.quantity->integer && v != std::floor(v))
          r.fail(q.second,
                 fmt::format("{} must be a whole number, got {}", what, q.second.Scalar()),
                 fmt::format("{} 应为整数，而不是 {}", what, q.second.Scalar()));
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

// Simulates every (layer, dataflow) of the lab, as many at once as there are CPUs, and returns
// every quantity of each.
std::map<Question, double> expected_values(const Lab& lab) {
  const child::TempDir tmp;
  const std::string exe = child::self_path();
  const std::string rows = fmt::format("array.rows={}", lab.head.rows);
  const std::string cols = fmt::format("array.cols={}", lab.head.cols);
  std::vector<child::Command> runs;
  struct Simulated {
    const Layer* layer;
    std::string dataflow, out;
  };
  std::vector<Simulated> simulated;  // of each run
  for (size_t i = 0; i < lab.layers.size(); ++i) {
    const Layer& l = lab.layers[i];
    YAML::Emitter e;
    e << YAML::BeginMap << YAML::Key << "name" << YAML::Value << l.name << YAML::Key << "ops"
      << YAML::Value << YAML::BeginSeq << l.op << YAML::EndSeq << YAML::EndMap;
    const fs::path workload = tmp.path() / fmt::format("layer{}.yaml", i);
    std::ofstream(workload) << e.c_str() << "\n";
    for (const std::string& df : lab.dataflows) {
      const std::string out = (tmp.path() / fmt::format("layer{}-{}", i, df)).string();
      runs.push_back(
          {{exe, "run", "--arch", lab.preset, "--workload", workload.string(), "--set", rows,
            "--set", cols, "--set", "array.dataflow=" + df, "--no-functional", "--out", out},
           "",
           out + ".log"});
      simulated.push_back({&l, df, out});
    }
  }
  std::map<Question, double> expected;
  child::run_all(runs, child::cpu_count(), [&](size_t i, const child::Result& r) {
    const auto& [l, df, out] = simulated[i];
    if (!r.ok())
      throw Error(fmt::format("{}: simulating layer '{}' with dataflow {} {}", lab.head.file,
                              l->name, df, child::failure(runs[i], r)));
    const nlohmann::json stats = nlohmann::json::parse(std::ifstream(fs::path(out) / "stats.json"));
    const nlohmann::json& layer = stats.at("layers").at(0);
    expected[{l->name, df, "folds"}] = double(folds(*l, df, lab.head.rows, lab.head.cols));
    expected[{l->name, df, "cycles"}] = layer.at("cycles").get<double>();
    expected[{l->name, df, "utilization"}] = layer.at("utilization").get<double>();
  });
  return expected;
}

std::string show(const Quantity& q, double v) {
  return q.integer ? fmt::format("{}", int64_t(v)) : fmt::format("{:.4f}", v);
}

// Prints a filled answers file (lang en) that scores full marks.
void print_expected(const Lab& lab, const std::map<Question, double>& expected) {
  YAML::Emitter e;
  begin_expected(e, lab.head, "");
  e << YAML::BeginMap;
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
  e << YAML::EndMap;
  end_expected(e);
}

const Text kLayer{"layer", "层"}, kDataflow{"dataflow", "数据流"}, kQuantity{"quantity", "指标"},
    kExpected{"expected", "正确答案"},
    kPercent{"wrong (write a fraction, not a percent)", "错（请填小数，不要填百分数）"},
    kScaleSim{"wrong (one less: SCALE-Sim prints the index of the last cycle; count the cycles)",
              "错（少了一：SCALE-Sim 打印的是最后一个周期的编号，请数周期的个数）"},
    kNoLoad{"wrong (the load of the stationary operand, R cycles per fold, is missing)",
            "错（漏了装入固定操作数的时间：每次折叠 R 个周期）"};

// The verdict on a wrong answer, with a hint where it matches a mistake the lab warns of:
// SCALE-Sim's printed count (cycles - 1), the formula without the stationary load (ws and is:
// folds * R cycles less, and the utilization of those cycles), a percent for a fraction.
const Text& wrong_verdict(const Lab& lab, const Question& q, const Graded& g, double given,
                          const std::map<Question, double>& expected) {
  const auto& [layer, df, quantity] = q;
  const double cycles = expected.at({layer, df, "cycles"});
  const double load = df == "os" ? 0 : expected.at({layer, df, "folds"}) * double(lab.head.rows);
  const double want = expected.at(q);
  if (quantity == std::string("cycles")) {
    if (given == cycles - 1) return kScaleSim;
    if (load > 0 && given == cycles - load) return kNoLoad;
  } else if (quantity == std::string("utilization")) {
    if (std::fabs(given / 100 - want) <= g.tolerance) return kPercent;
    if (load > 0 && load < cycles &&
        std::fabs(given - want * cycles / (cycles - load)) <= g.tolerance)
      return kNoLoad;
  }
  return kWrong;
}

// Prints the table of every question and the score; returns 0 when every answer is right.
int grade(const Lab& lab, const Answers& a, const std::map<Question, double>& expected,
          bool instructor) {
  const Report report(a.head.lang, instructor);
  report.title(lab.head, a.head.student);
  std::cout << (report.zh()
                    ? fmt::format("正确答案由仿真得到：配置 {}，{}x{} 阵列；只显示答对的题的"
                                  "正确答案\n\n",
                                  lab.preset, lab.head.rows, lab.head.cols)
                    : fmt::format("expected values simulated on {} with a {}x{} array; "
                                  "shown for the right answers only\n\n",
                                  lab.preset, lab.head.rows, lab.head.cols));
  std::vector<std::vector<std::string>> rows = {{report.say(kLayer), report.say(kDataflow),
                                                 report.say(kQuantity), report.say(kExpected),
                                                 report.say(kGiven), report.say(kResult)}};
  int right = 0, total = 0;
  std::vector<std::string> wrong, unanswered;
  for (const Layer& l : lab.layers)
    for (const std::string& df : lab.dataflows)
      for (const Graded& g : lab.graded) {
        const Question q{l.name, df, g.quantity->name};
        const std::string item = fmt::format("{}/{}/{}", l.name, df, g.quantity->name);
        const double want = expected.at(q);
        const auto given = a.given.find(q);
        const bool answered = given != a.given.end();
        const bool ok = answered && std::fabs(given->second.value - want) <= g.tolerance;
        ++total;
        right += ok;
        if (!answered)
          unanswered.push_back(item);
        else if (!ok)
          wrong.push_back(item);
        const Text& verdict = ok         ? kOk
                              : answered ? wrong_verdict(lab, q, g, given->second.value, expected)
                                         : kNoAnswer;
        rows.push_back({l.name, df, report.zh() ? g.quantity->zh : g.quantity->name,
                        report.expected(show(*g.quantity, want), ok),
                        answered ? given->second.text : report.say(kUnanswered),
                        report.say(verdict)});
      }
  report.table(rows, "<<<>><");
  return report.score(right, total, wrong, unanswered);
}

// Lab 01's kind: grades the answers, or prints the expected ones.
int check_layers_lab(const CheckRequest& req) {
  const Lab lab = load_lab(req.lab_source, req.lab);
  if (req.print_expected) {
    print_expected(lab, expected_values(lab));
    return 0;
  }
  const Answers answers =
      parse_answers(req.answers_file, req.answers, lab);  // before the slow part
  return grade(lab, answers, expected_values(lab), req.instructor);
}

const bool registered = register_lab_kind(LabKind{"layers", check_layers_lab});

}  // namespace
}  // namespace xpusim::lab
