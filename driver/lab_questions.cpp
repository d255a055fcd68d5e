// The questions of the labs that grade the statistics of runs (kinds kernel and workload):
// lab.yaml's questions, expected values, answers, the grading report.
#include "driver/lab_questions.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "models/core/error.h"

namespace xpusim::lab {

void flatten_stats(const nlohmann::json& group, const std::string& prefix,
                   std::map<std::string, double>& out) {
  if (group.contains("stats"))
    for (const auto& [name, s] : group.at("stats").items())
      if (s.contains("value") && s.at("value").is_number())
        out[prefix + name] = s.at("value").get<double>();
  if (group.contains("groups"))
    for (const auto& [name, g] : group.at("groups").items())
      flatten_stats(g, prefix + name + ".", out);
}

namespace {

const WordStat* word_stat(const QuestionKind& kind, const std::string& stat) {
  for (const WordStat& w : kind.words)
    if (stat == w.stat) return &w;
  return nullptr;
}

Question load_question(const std::string& f, const YAML::Node& q,
                       const std::vector<std::string>& runs, const QuestionKind& kind) {
  only_keys(f, q, "a question",
            {"name", "run", "over", "sweep", "reaches", "at", "stat", "per", "match", "tolerance",
             "what", "what_zh"});
  Question x;
  x.loc = loc_of(f, q);
  x.name = scalar(f, need(f, q, "name", "a question"), "name");
  const std::string what = "question " + x.name;
  auto run_named = [&](const YAML::Node& n, const char* key) {
    const std::string name = scalar(f, n, key);
    if (std::find(runs.begin(), runs.end(), name) == runs.end())
      throw Error(loc_of(f, n),
                  fmt::format("{}: {}: no {} named '{}'", what, key, kind.run.en, name));
    return name;
  };
  if (const YAML::Node sweep = q["sweep"]) {
    if (q["run"] || q["over"] || q["per"])
      throw Error(x.loc, what + ": a question with a sweep has no run, over or per");
    if (!sweep.IsSequence() || sweep.size() < 2)
      throw Error(loc_of(f, sweep), what + ": sweep: expected a list of two runs or more");
    for (const YAML::Node& r : sweep) x.sweep.push_back(run_named(r, "sweep"));
    x.reaches = scalar(f, need(f, q, "reaches", what + " (with a sweep)"), "reaches");
    x.at = scalar(f, need(f, q, "at", what + " (with a sweep)"), "at");
  } else {
    if (q["reaches"] || q["at"])
      throw Error(x.loc, what + ": reaches and at go with a sweep of runs");
    x.run = run_named(need(f, q, "run", what), "run");
    if (q["over"]) x.over = run_named(q["over"], "over");
  }
  x.stat = scalar(f, need(f, q, "stat", what), "stat");
  x.word = word_stat(kind, x.stat);
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
  if (x.word && (x.match != Match::exact || !x.over.empty() || q["per"] || x.crossing()))
    throw Error(x.loc, fmt::format("{}: {} is answered in words: match: exact, no over, per or "
                                   "sweep",
                                   what, x.stat));
  x.what = q["what"] ? scalar(f, q["what"], "what") : x.stat;
  x.what_zh = q["what_zh"] ? scalar(f, q["what_zh"], "what_zh") : x.what;
  return x;
}

double stat_of(const Question& q, const Outcomes& out, const QuestionKind& kind,
               const std::string& run, const std::string& stat) {
  const auto& stats = out.at(run).stats;
  const auto it = stats.find(stat);
  if (it == stats.end()) {
    std::string known;
    for (const auto& s : stats) known += (known.empty() ? "" : ", ") + s.first;
    for (const auto& w : out.at(run).words) known += (known.empty() ? "" : ", ") + w.first;
    throw Error(q.loc, fmt::format("question {}: {} '{}' has no statistic '{}' (it has {})", q.name,
                                   kind.run.en, run, stat, known));
  }
  return it->second;
}

// Where `stat` reaches `reaches` along the sweep: the value of `at` there, interpolated linearly
// between the last run below and the first at or above it.
double crossing_value(const Question& q, const Outcomes& out, const QuestionKind& kind) {
  auto stat = [&](const std::string& run, const std::string& s) {
    return stat_of(q, out, kind, run, s);
  };
  std::vector<std::string> seen;
  for (size_t i = 0; i < q.sweep.size(); ++i) {
    const std::string& r = q.sweep[i];
    const double gap = stat(r, q.stat) - stat(r, q.reaches);
    seen.push_back(fmt::format("{} {:.4g} against {:.4g} at {} {:.4g}", q.stat, stat(r, q.stat),
                               stat(r, q.reaches), q.at, stat(r, q.at)));
    if (gap < 0) continue;
    if (i == 0)
      throw Error(q.loc, fmt::format("question {}: {} reaches {} already at the sweep's first run "
                                     "'{}'; start the sweep below it",
                                     q.name, q.stat, q.reaches, r));
    const std::string& before = q.sweep[i - 1];
    const double x0 = stat(before, q.at), x1 = stat(r, q.at);
    const double gap0 = stat(before, q.stat) - stat(before, q.reaches);
    return x0 + (x1 - x0) * (0 - gap0) / (gap - gap0);
  }
  throw Error(q.loc, fmt::format("question {}: {} never reaches {} along the sweep ({}); extend "
                                 "the sweep",
                                 q.name, q.stat, q.reaches, fmt::join(seen, "; ")));
}

std::string show(const Question& q, const Value& v) {
  if (q.word) return v.words;
  if (q.match == Match::exact && v.number == std::floor(v.number) && std::fabs(v.number) < 1e15)
    return fmt::format("{}", int64_t(v.number));
  return q.match == Match::relative ? fmt::format("{:.3f}", v.number)
                                    : fmt::format("{:.4g}", v.number);
}

bool right(const Question& q, const Value& want, const Value& given) {
  if (q.word) return given.words == want.words;
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

// A statistic that is a fraction: a utilization, a share of the cycles, a fraction of the
// roofline.
bool is_fraction(const std::string& stat) {
  const std::string last = stat.substr(stat.rfind('.') + 1);
  return last == "utilization" || last == "share" || last == "fraction_of_roofline";
}

const Text kQuestion{"question", "题目"}, kQuantity{"quantity", "指标"},
    kExpected{"expected", "正确答案"}, kMatch{"match", "评分"}, kExact{"exact", "精确"},
    kInverted{"wrong (inverted: the ratio asked is the first over the second)",
              "错（比值颠倒了：题目要的是第一个运行除以第二个）"},
    kPercent{"wrong (that is a percentage; the question asks for a fraction: 0.25 for 25 %)",
             "错（这是百分数；题目要的是小数：25% 应填 0.25）"};

// The verdict on a wrong answer: a ratio upside down, a fraction in percent, else the kind's.
const Text& wrong_verdict(const Question& q, const Value& want, const Value& given,
                          const Outcomes& out, const QuestionKind& kind) {
  if (!q.word && !q.over.empty()) {
    Value inverted;
    inverted.number = 1 / want.number;
    if (given.number != 0 && want.number != 1 && right(q, inverted, given)) return kInverted;
    return kWrong;
  }
  if (!q.word && is_fraction(q.stat)) {
    Value as_fraction;
    as_fraction.number = given.number / 100;
    if (given.number != 0 && right(q, want, as_fraction)) return kPercent;
  }
  return kind.hint(q, want, given, out);
}

}  // namespace

std::vector<Question> load_questions(const std::string& f, const YAML::Node& questions,
                                     const std::vector<std::string>& runs,
                                     const QuestionKind& kind) {
  if (!questions.IsSequence() || questions.size() == 0)
    throw Error(loc_of(f, questions),
                "questions: expected a list of {name, run, over, stat, per, match, tolerance} "
                "(or {name, sweep, stat, reaches, at, match, tolerance})");
  std::vector<Question> v;
  for (const YAML::Node& q : questions) {
    Question x = load_question(f, q, runs, kind);
    if (std::any_of(v.begin(), v.end(), [&](const Question& o) { return o.name == x.name; }))
      throw Error(x.loc, "question '" + x.name + "' is defined twice");
    v.push_back(std::move(x));
  }
  return v;
}

std::map<std::string, Value> expected_values(const std::vector<Question>& questions,
                                             const Outcomes& out, const QuestionKind& kind) {
  std::map<std::string, Value> expected;
  for (const Question& q : questions) {
    Value v;
    if (q.word) {
      const auto& words = out.at(q.run).words;
      const auto it = words.find(q.stat);
      if (it == words.end())
        throw Error(q.loc, fmt::format("question {}: {} '{}' reported no {}", q.name, kind.run.en,
                                       q.run, q.word->missing));
      v.words = it->second;
    } else if (q.crossing()) {
      v.number = crossing_value(q, out, kind);
    } else {
      v.number = stat_of(q, out, kind, q.run, q.stat) / q.per;
      if (!q.over.empty()) {
        const double d = stat_of(q, out, kind, q.over, q.stat) / q.per;
        if (d == 0)
          throw Error(q.loc, fmt::format("question {}: {} of {} '{}' is 0", q.name, q.stat,
                                         kind.run.en, q.over));
        v.number /= d;
      }
    }
    expected[q.name] = v;
  }
  return expected;
}

void print_expected(const LabHead& lab, const std::string& note,
                    const std::vector<Question>& questions,
                    const std::map<std::string, Value>& expected) {
  YAML::Emitter e;
  begin_expected(e, lab, note);
  e << YAML::BeginMap;
  for (const Question& q : questions)
    e << YAML::Key << q.name << YAML::Value << show(q, expected.at(q.name));
  e << YAML::EndMap;
  end_expected(e);
}

Answers parse_answers(const std::string& f, const YAML::Node& root,
                      const std::vector<Question>& questions) {
  const AnswersReader r(f, root);
  Answers a;
  a.head = parse_answers_head(r, root, {});
  std::vector<std::string> names;
  for (const Question& q : questions) names.push_back(q.name);
  const YAML::Node answers = r.need(root, "answers");
  r.only_keys(answers, Text{"answers (one entry per question)", "answers（每道题一项）"}, names);
  for (const auto& kv : answers) {
    const std::string name = kv.first.Scalar();
    if (kv.second.IsNull()) continue;
    const Question& q = *std::find_if(questions.begin(), questions.end(),
                                      [&](const Question& x) { return x.name == name; });
    Given g;
    g.text = kv.second.IsScalar() ? kv.second.Scalar() : "";
    if (q.word) {
      g.value.words = q.word->answer(g.text);
      if (g.value.words.empty())
        r.fail(kv.second, fmt::format("{} must be {}, got '{}'", name, q.word->forms.en, g.text),
               fmt::format("{} 应为 {}，而不是 '{}'", name, q.word->forms.zh, g.text));
    } else {
      g.value.number = r.number(kv.second, name);
    }
    a.given[name] = g;
  }
  return a;
}

int grade(const LabHead& lab, const Heading& heading, const std::vector<Question>& questions,
          const Answers& a, const std::map<std::string, Value>& expected, const Outcomes& out,
          const QuestionKind& kind, bool instructor) {
  const Report report(a.head.lang, instructor);
  report.title(lab, a.head.student);
  std::cout << (report.zh() ? heading.zh : heading.en) << "\n\n";
  std::vector<std::vector<std::string>> rows = {
      {report.say(kQuestion), report.say(kind.run), report.say(kQuantity), report.say(kExpected),
       report.say(kMatch), report.say(kGiven), report.say(kResult)}};
  int ok_count = 0, total = 0;
  std::vector<std::string> wrong, unanswered;
  for (const Question& q : questions) {
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
                          : answered ? wrong_verdict(q, want, given->second.value, out, kind)
                                     : kNoAnswer;
    const std::string match = q.match == Match::exact ? report.say(kExact)
                              : q.match == Match::relative
                                  ? fmt::format("±{:g}%", q.tolerance * 100)
                                  : fmt::format("±{:g}", q.tolerance);
    const std::string runs = q.crossing()     ? q.sweep.front() + " .. " + q.sweep.back()
                             : q.over.empty() ? q.run
                                              : q.run + " / " + q.over;
    rows.push_back({q.name, runs, report.zh() ? q.what_zh : q.what,
                    report.expected(show(q, want), ok), match,
                    answered ? given->second.text : report.say(kUnanswered), report.say(verdict)});
  }
  report.table(rows, "<<<><><");
  return report.score(ok_count, total, wrong, unanswered);
}

}  // namespace xpusim::lab
