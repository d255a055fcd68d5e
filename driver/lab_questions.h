// The questions of the labs that grade the statistics of runs: kind `kernel` (labs 03 and 04,
// kernels launched on a preset; driver/lab_kernel.cpp) and kind `workload` (lab 05, workloads
// run on several presets; driver/lab_workload.cpp). A kind runs its lab's runs and hands over
// what each gave (an Outcome); everything about the questions is here: lab.yaml's `questions:`,
// the expected values, the answers file, the grading report and --print-expected.
//
// A question is one statistic of a run, that statistic divided by a constant (`per`), the ratio
// of the statistic in two runs (`over`), or the value of a statistic `at` where, along a sweep of
// runs, the statistic reaches another one (`reaches`, interpolated between the two runs on
// either side). A kind may answer some statistics in words (WordStat).
#pragma once

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "driver/lab.h"

namespace xpusim::lab {

// What a run gave: its statistics by path ("cycles", "core0.PIPE_V.busy_cycles", ...), and
// those a kind answers in words.
struct Outcome {
  std::map<std::string, double> stats;
  std::map<std::string, std::string> words;
};
using Outcomes = std::map<std::string, Outcome>;  // by run name

// Adds every numeric statistic of `group`, a group of stats.json's statistics tree, and of its
// subgroups to `out` under its path: prefix + "subgroup.name".
void flatten_stats(const nlohmann::json& group, const std::string& prefix,
                   std::map<std::string, double>& out);

// A statistic answered in words, and how an answer to it is read.
struct WordStat {
  const char* stat;
  std::string (*answer)(const std::string&);  // the canonical answer, "" when not one
  Text forms;                                 // the answers taken, for the complaint about another
  const char* missing;                        // what a run that gives none lacks
};

enum class Match { exact, absolute, relative };

struct Question {
  std::string name;
  std::string run, over;  // the run, and the one whose statistic divides it (or "")
  // A crossing: the runs of a sweep, in order, and the statistic `stat` reaches (else "")
  // and the one whose value there is the answer.
  std::vector<std::string> sweep;
  std::string reaches, at;
  std::string stat;  // a statistic of the runs' Outcome, or a word statistic
  double per = 1;    // the statistic is divided by this
  Match match = Match::exact;
  double tolerance = 0;       // absolute: largest |given - expected|; relative: of |expected|
  std::string what, what_zh;  // the quantity in words
  SourceLoc loc;
  const WordStat* word = nullptr;  // when answered in words
  bool crossing() const { return !sweep.empty(); }
};

struct Value {
  double number = 0;
  std::string words;  // the answers in words
};

// What a kind adds to the questions of its labs.
struct QuestionKind {
  std::vector<WordStat> words;  // its statistics answered in words
  Text run;                     // what the report's table calls a run ("launch", "run")
  // The verdict on a wrong answer that the shared hints (a ratio upside down, a percent for a
  // fraction) do not explain: a hint for a mistake the lab warns of, else kWrong.
  std::function<const Text&(const Question&, const Value& want, const Value& given,
                            const Outcomes&)>
      hint;
};

// Reads lab.yaml's `questions` (file: lab.yaml), about the runs named `runs`.
std::vector<Question> load_questions(const std::string& file, const YAML::Node& questions,
                                     const std::vector<std::string>& runs,
                                     const QuestionKind& kind);

// Every question's expected value from the runs' outcomes; Error naming the question for a
// statistic a run does not have, a ratio over 0 or a sweep whose statistic does not cross.
std::map<std::string, Value> expected_values(const std::vector<Question>& questions,
                                             const Outcomes& outcomes, const QuestionKind& kind);

// Prints a filled answers file (lang en) that scores full marks; `note` follows the lab's name
// in its heading.
void print_expected(const LabHead& lab, const std::string& note,
                    const std::vector<Question>& questions,
                    const std::map<std::string, Value>& expected);

struct Given {
  std::string text;  // as written
  Value value;
};

struct Answers {
  AnswersHead head;
  std::map<std::string, Given> given;  // unanswered questions are absent
};

// Reads the answers file (one entry per question), with complaints in the student's language.
Answers parse_answers(const std::string& file, const YAML::Node& root,
                      const std::vector<Question>& questions);

// The line under the report's title, in both languages.
struct Heading {
  std::string en, zh;
};

// Prints the table of every question and the score; returns 0 when every answer is right.
int grade(const LabHead& lab, const Heading& heading, const std::vector<Question>& questions,
          const Answers& answers, const std::map<std::string, Value>& expected,
          const Outcomes& outcomes, const QuestionKind& kind, bool instructor);

}  // namespace xpusim::lab
