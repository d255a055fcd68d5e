// `xpusim lab check` for labs of kind `rtl` (lab 02): students predict when tile sequences on
// the verilated systolic array are done, then change the array and the model.
//
// lab.yaml names the array and a list of questions, each a dataflow and a sequence of tiles
// (m, k, n) whose operands are all ready at cycle 0, so they run back to back with fold overlap.
// For each question the checker runs the tiles, in this process, on the verilated array built
// into this binary (rtl/systolic, whatever the student made of it) with seeded random int8
// operands, and on the model's timing class (tpu::ArrayTiming, whatever the student made of
// it). Per tile it grades the predicted done cycle against the RTL's and checks that the RTL's
// results equal an int32 reference matmul and that the model gives the RTL's done cycle. Part 2
// grades a changed RTL: the checker refuses it while the array still has the shipped timing.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "driver/lab.h"
#include "models/core/error.h"
#include "models/core/random.h"
#include "models/tpu/array_timing.h"
#include "rtl/systolic/harness.h"

namespace xpusim::lab {
namespace {

struct Tile {
  int m = 0, k = 0, n = 0;
};

struct Question {
  std::string name;
  tpu::Dataflow dataflow = tpu::Dataflow::ws;
  std::vector<Tile> tiles;
  SourceLoc loc;
};

struct RtlLab {
  LabHead head;
  uint64_t seed = 0;  // of the operands (SplitMix64)
  std::vector<Question> questions;
};

RtlLab load_rtl_lab(const LabSource& source, const YAML::Node& root) {
  const std::string& f = source.file;
  RtlLab lab;
  lab.head = load_lab_head(source, root, {"seed", "questions"});
  lab.seed = uint64_t(positive_int(f, need(f, root, "seed", "lab definition"), "seed"));
  const YAML::Node questions = need(f, root, "questions", "lab definition");
  if (!questions.IsSequence() || questions.size() == 0)
    throw Error(loc_of(f, questions), "questions: expected a list of {name, dataflow, tiles}");
  for (const YAML::Node& q : questions) {
    only_keys(f, q, "a question", {"name", "dataflow", "tiles"});
    Question x;
    x.loc = loc_of(f, q);
    const YAML::Node name = need(f, q, "name", "a question");
    x.name = scalar(f, name, "name");
    if (std::any_of(lab.questions.begin(), lab.questions.end(),
                    [&](const Question& o) { return o.name == x.name; }))
      throw Error(loc_of(f, name), "question '" + x.name + "' is defined twice");
    const YAML::Node df = need(f, q, "dataflow", "question " + x.name);
    const std::string d = scalar(f, df, "dataflow");
    if (!tpu::parse_dataflow(d, x.dataflow))
      throw Error(loc_of(f, df), "dataflow '" + d + "': expected os, ws or is");
    const YAML::Node tiles = need(f, q, "tiles", "question " + x.name);
    if (!tiles.IsSequence() || tiles.size() == 0)
      throw Error(loc_of(f, tiles), "tiles: expected a list of {m, k, n}");
    for (const YAML::Node& t : tiles) {
      only_keys(f, t, "a tile", {"m", "k", "n"});
      auto dim = [&](const char* key) {
        return int(positive_int(f, need(f, t, key, "a tile"), fmt::format("{}.{}", x.name, key)));
      };
      x.tiles.push_back(Tile{dim("m"), dim("k"), dim("n")});
    }
    lab.questions.push_back(x);
  }
  return lab;
}

// ---- the answers: a list of predicted done cycles per question, one per tile ----

struct Answers {
  AnswersHead head;
  int64_t part = 0;  // `part:`, 0 when not given
  // given[q][t]: the predicted done cycle of tile t of question q, 0 when unanswered
  std::vector<std::vector<int64_t>> given;
};

Answers parse_answers(const std::string& f, const YAML::Node& root, const RtlLab& lab) {
  const AnswersReader r(f, root);
  Answers a;
  a.head = parse_answers_head(r, root, {"part"});
  if (const YAML::Node p = root["part"]; p && !p.IsNull()) a.part = r.positive_int(p, "part");
  std::vector<std::string> names;
  for (const Question& q : lab.questions) {
    names.push_back(q.name);
    a.given.emplace_back(q.tiles.size());
  }
  const YAML::Node answers = r.need(root, "answers");
  r.only_keys(answers, Text{"answers (one entry per question)", "answers（每道题一项）"}, names);
  for (const auto& kv : answers) {
    const std::string name = kv.first.Scalar();
    if (kv.second.IsNull()) continue;
    const size_t qi = size_t(std::find(names.begin(), names.end(), name) - names.begin());
    const size_t tiles = lab.questions[qi].tiles.size();
    if (!kv.second.IsSequence() || kv.second.size() != tiles)
      r.fail(kv.second,
             fmt::format("answers of question '{}': expected a list of {} done cycle{}, one per "
                         "tile, in [ ]",
                         name, tiles, tiles == 1 ? "" : "s"),
             fmt::format("题目 '{}' 的答案：应为 {} 个完成周期的列表，每个分块一个，写在 [ ] 里",
                         name, tiles));
    for (size_t t = 0; t < tiles; ++t) {
      const YAML::Node v = kv.second[t];
      if (!v.IsNull()) a.given[qi][t] = r.positive_int(v, fmt::format("{}/{}", name, t + 1));
    }
  }
  return a;
}

// ---- running the questions ----

struct Outcome {
  uint64_t rtl_done = 0, model_done = 0;
  uint64_t shipped_done = 0;  // the shipped array's done cycle (shipped_done())
  bool values_ok = false;     // the RTL's results equal the reference matmul
};

// The done cycles of a question's tiles on the array as shipped: the formula of the lab's
// README (all operands ready at 0, fold overlap). Written out here, not taken from
// tpu::ArrayTiming, which students change in part 2: it tells whether the RTL built into this
// binary still has the shipped timing.
std::vector<uint64_t> shipped_done(const Question& q, uint64_t rows, uint64_t cols) {
  const bool os = q.dataflow == tpu::Dataflow::os;
  const uint64_t L = os ? 0 : rows;
  std::vector<uint64_t> done;
  uint64_t prev_start = 0, prev_end = 0;
  for (size_t i = 0; i < q.tiles.size(); ++i) {
    const Tile& t = q.tiles[i];
    const uint64_t S = uint64_t(q.dataflow == tpu::Dataflow::ws ? t.m : os ? t.k : t.n);
    const uint64_t load_start = prev_start;
    uint64_t start = std::max(load_start + L, prev_end);
    if (os && i > 0) start = std::max(start + S, prev_end + rows) - S;  // the output port
    prev_start = start;
    prev_end = start + S;
    done.push_back(prev_end + rows + cols - 2);
  }
  return done;
}

// C = A B in int32, the values the array must produce.
std::vector<int32_t> reference_matmul(const rtl::MatmulTile& t) {
  std::vector<int32_t> c(size_t(t.m) * size_t(t.n), 0);
  for (size_t i = 0; i < size_t(t.m); ++i)
    for (size_t j = 0; j < size_t(t.n); ++j)
      for (size_t x = 0; x < size_t(t.k); ++x)
        c[i * size_t(t.n) + j] +=
            int32_t(t.a[i * size_t(t.k) + x]) * int32_t(t.b[x * size_t(t.n) + j]);
  return c;
}

// Runs every question on the verilated array and on ArrayTiming: outcome[q][t].
std::vector<std::vector<Outcome>> run_questions(const RtlLab& lab) {
  const int rows = int(lab.head.rows), cols = int(lab.head.cols);
  std::unique_ptr<rtl::SystolicHarness> array;
  try {
    array = rtl::SystolicHarness::create(rows, cols);
  } catch (const Error& e) {
    throw Error(SourceLoc{lab.head.file}, fmt::format("array {}x{}: {}", rows, cols, e.what()));
  }

  SplitMix64 rng(lab.seed);
  std::vector<std::vector<Outcome>> out;
  for (const Question& q : lab.questions) {
    std::vector<rtl::MatmulTile> tiles;
    for (const Tile& s : q.tiles) {
      rtl::MatmulTile t;
      t.m = s.m;
      t.k = s.k;
      t.n = s.n;
      t.a.resize(size_t(s.m) * size_t(s.k));
      t.b.resize(size_t(s.k) * size_t(s.n));
      for (int8_t& x : t.a) x = int8_t(rng.range(-128, 127));
      for (int8_t& x : t.b) x = int8_t(rng.range(-128, 127));
      tiles.push_back(std::move(t));
    }
    std::vector<rtl::TileResult> got;
    try {
      got = array->run(q.dataflow, tiles);  // all ready at 0, fold overlap
    } catch (const Error& e) {
      throw Error(q.loc, fmt::format("question '{}': {}", q.name, e.what()));
    }
    tpu::ArrayTiming model(rows, cols, q.dataflow, true);
    const std::vector<uint64_t> shipped = shipped_done(q, uint64_t(rows), uint64_t(cols));
    std::vector<Outcome>& o = out.emplace_back();
    for (size_t i = 0; i < tiles.size(); ++i) {
      const rtl::MatmulTile& t = tiles[i];
      o.push_back({got[i].done, model.issue(0, uint64_t(t.m), uint64_t(t.k), uint64_t(t.n)).done,
                   shipped[i], got[i].c == reference_matmul(t)});
    }
  }
  return out;
}

// ---- reporting ----

std::string item(const Question& q, size_t tile) {
  return fmt::format("{}/{}", q.name, tile + 1);
}

void print_expected(const RtlLab& lab, const std::vector<std::vector<Outcome>>& out) {
  std::vector<std::string> bad;
  for (size_t q = 0; q < lab.questions.size(); ++q)
    for (size_t t = 0; t < out[q].size(); ++t)
      if (!out[q][t].values_ok) bad.push_back(item(lab.questions[q], t));
  if (!bad.empty())
    throw Error(
        fmt::format("the RTL array computes wrong results in {}: fix it before taking "
                    "its cycles as the expected answers (ctest -L cosim)",
                    fmt::join(bad, ", ")));
  YAML::Emitter e;
  begin_expected(e, lab.head,
                 fmt::format(", measured on the verilated {}x{} array of this build", lab.head.rows,
                             lab.head.cols));
  e << YAML::BeginMap;
  for (size_t q = 0; q < lab.questions.size(); ++q) {
    e << YAML::Key << lab.questions[q].name << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const Outcome& o : out[q]) e << o.rtl_done;
    e << YAML::EndSeq;
  }
  e << YAML::EndMap;
  end_expected(e);
}

const Text kQuestion{"question", "题目"}, kDataflow{"dataflow", "数据流"}, kTile{"tile", "分块"},
    kRtlDone{"RTL done", "RTL 完成周期"}, kRtlValues{"RTL values", "RTL 结果"},
    kModelDone{"model done", "模型完成周期"}, kSame{"same as RTL", "与 RTL 一致"},
    kDiffers{"(differs)", "（不一致）"},
    kOneLess{"wrong (one less: done is the cycle after the last result row left)",
             "错（少了一：done 是最后一行结果离开之后的那个周期）"},
    kShipped{"wrong (the shipped array's cycle: what does the register add?)",
             "错（这是原始阵列的完成周期：寄存器增加了什么？）"},
    kBadValues{"the RTL computes wrong results in", "RTL 的计算结果有错："},
    kBadValuesHint{
        "(compare with a reference matmul; ctest -L cosim names the first wrong element)",
        "（与参考矩阵乘比较；ctest -L cosim 会给出第一个错误元素）"},
    kModelOff{"the model's done cycle differs from the RTL's in", "模型的完成周期与 RTL 不一致："},
    kModelOffHint{"(the formula is in models/tpu/array_timing.{h,cpp}; ctest -L cosim)",
                  "（公式在 models/tpu/array_timing.{h,cpp}；ctest -L cosim）"};

// Part 2 grades the student's changed RTL: refuses (an error naming `part:`) while the array
// built into this binary has the shipped timing on every question.
void refuse_unchanged_rtl(const std::string& file, const YAML::Node& answers,
                          const std::vector<std::vector<Outcome>>& out) {
  for (const std::vector<Outcome>& q : out)
    for (const Outcome& o : q)
      if (o.rtl_done != o.shipped_done) return;
  AnswersReader(file, answers)
      .fail(answers["part"],
            "part 2 grades your changed RTL, but the array built into this xpusim has the shipped "
            "timing (every done cycle is the shipped formula's): add the pipeline register to "
            "rtl/systolic/systolic_pe.v, rebuild (cmake --build --preset release) and grade "
            "again",
            "第 2 部分按你修改后的 RTL 评分，但这个 xpusim 里编译进去的阵列仍是原始的时序（每个"
            "完成周期都与原始公式相同）：请先在 rtl/systolic/systolic_pe.v 中加上流水线寄存器，"
            "重新编译（cmake --build --preset release），再来评分");
}

// Prints the table and the score; returns 0 when every prediction is right, every RTL result
// is right and the model agrees with the RTL everywhere.
int grade(const RtlLab& lab, const Answers& a, const std::vector<std::vector<Outcome>>& out,
          bool instructor) {
  const Report report(a.head.lang, instructor);
  report.title(lab.head, a.head.student);
  if (a.part > 0)
    std::cout << (report.zh() ? fmt::format("第 {} 部分\n", a.part)
                              : fmt::format("part {}\n", a.part));
  std::cout << (report.zh()
                    ? fmt::format("在本 xpusim 中的 {}x{} Verilator 阵列上实测（操作数种子 {}）；"
                                  "只显示答对的题的完成周期\n\n",
                                  lab.head.rows, lab.head.cols, lab.seed)
                    : fmt::format("measured on the verilated {}x{} array built into this xpusim "
                                  "(operands: seed {}); done cycles shown for the right answers "
                                  "only\n\n",
                                  lab.head.rows, lab.head.cols, lab.seed));
  std::vector<std::vector<std::string>> rows = {
      {report.say(kQuestion), report.say(kDataflow), report.say(kTile), "m x k x n",
       report.say(kRtlDone), report.say(kRtlValues), report.say(kModelDone), report.say(kGiven),
       report.say(kResult)}};
  int right = 0, total = 0;
  std::vector<std::string> wrong, unanswered, bad_values, model_off;
  for (size_t qi = 0; qi < lab.questions.size(); ++qi) {
    const Question& q = lab.questions[qi];
    for (size_t t = 0; t < q.tiles.size(); ++t) {
      const Outcome& o = out[qi][t];
      const int64_t given = a.given[qi][t];
      const bool ok = given > 0 && uint64_t(given) == o.rtl_done;
      ++total;
      right += ok;
      if (given == 0)
        unanswered.push_back(item(q, t));
      else if (!ok)
        wrong.push_back(item(q, t));
      if (!o.values_ok) bad_values.push_back(item(q, t));
      if (o.model_done != o.rtl_done) model_off.push_back(item(q, t));
      const Text& verdict = ok                                                 ? kOk
                            : given == 0                                       ? kNoAnswer
                            : a.part == 2 && uint64_t(given) == o.shipped_done ? kShipped
                            : uint64_t(given) + 1 == o.rtl_done                ? kOneLess
                                                                               : kWrong;
      const std::string differs = o.model_done == o.rtl_done ? "" : report.say(kDiffers);
      const Tile& s = q.tiles[t];
      rows.push_back(
          {t == 0 ? q.name : "", t == 0 ? tpu::dataflow_name(q.dataflow) : "",
           std::to_string(t + 1), fmt::format("{}x{}x{}", s.m, s.k, s.n),
           report.expected(std::to_string(o.rtl_done), ok), report.say(o.values_ok ? kOk : kWrong),
           ok || report.instructor()
               ? std::to_string(o.model_done) + (differs.empty() ? "" : " " + differs)
               : (differs.empty() ? report.say(kSame) : differs),
           given > 0 ? std::to_string(given) : report.say(kUnanswered), report.say(verdict)});
    }
  }
  report.table(rows, "<<>>>>>><");
  const int status = report.score(right, total, wrong, unanswered);
  const auto problem = [&](const std::vector<std::string>& items, const Text& what,
                           const Text& hint) {
    if (items.empty()) return 0;
    std::cout << fmt::format("{}{}{} {}\n", report.say(what), report.zh() ? "" : " ",
                             fmt::join(items, ", "), report.say(hint));
    return 1;
  };
  return status | problem(bad_values, kBadValues, kBadValuesHint) |
         problem(model_off, kModelOff, kModelOffHint);
}

int check_rtl_lab(const CheckRequest& req) {
  const RtlLab lab = load_rtl_lab(req.lab_source, req.lab);
  if (req.print_expected) {
    print_expected(lab, run_questions(lab));
    return 0;
  }
  const Answers answers = parse_answers(req.answers_file, req.answers, lab);
  const std::vector<std::vector<Outcome>> out = run_questions(lab);
  if (answers.part == 2) refuse_unchanged_rtl(req.answers_file, req.answers, out);
  return grade(lab, answers, out, req.instructor);
}

const bool registered = register_lab_kind(LabKind{"rtl", check_rtl_lab});

}  // namespace

}  // namespace xpusim::lab
