// Course labs (docs/labs/): what every kind of lab shares in `xpusim lab check` (reading
// lab.yaml and the answers file with file:line complaints, finding the lab, the grading report
// in English or Chinese) and the registry of lab kinds. A kind registers itself where its
// machinery lives: `layers` (lab 01) in driver/lab_layers.cpp, `rtl` (lab 02) with the
// systolic-array RTL in rtl/systolic/lab_rtl.cpp.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/core/yaml.h"

namespace xpusim::lab {

// ---- YAML reading: every complaint names file:line ----

using yaml::loc_of;
// Reads file with the strict reader (models/core/yaml.h): malformed YAML, keys given twice,
// text that is not UTF-8 and too deep nesting are errors.
YAML::Node load_yaml(const std::string& file);
// Checks that n is a map whose keys are all in `allowed`.
void only_keys(const std::string& file, const YAML::Node& n, const std::string& what,
               const std::vector<std::string>& allowed);
// map[key], which must be present and not null.
YAML::Node need(const std::string& file, const YAML::Node& map, const std::string& key,
                const std::string& what);
std::string scalar(const std::string& file, const YAML::Node& n, const std::string& what);
int64_t positive_int(const std::string& file, const YAML::Node& n, const std::string& what);
double number(const std::string& file, const YAML::Node& n, const std::string& what);

// ---- lab.yaml ----

// The lab's kind: `kind:` in lab.yaml, `layers` when absent (lab 01: layers simulated with a
// preset); it must be a registered kind (`rtl`, lab 02, exists in builds with Verilator).
std::string lab_kind(const std::string& file, const YAML::Node& root);

// The keys every kind has: schema, kind, name, title, title_zh, array.
struct LabHead {
  std::string file;  // lab.yaml
  std::string name, title, title_zh;
  int64_t rows = 0, cols = 0;  // the array
};
// Reads them from root (lab.yaml); `keys` are the kind's own keys, the only others allowed.
LabHead load_lab_head(const std::string& file, const YAML::Node& root,
                      const std::vector<std::string>& keys);

// The lab.yaml to grade against: `lab_arg` (--lab), else the answers file's `lab:` key; either
// may name lab.yaml or its folder. A relative `lab:` is looked up from the current folder, then
// from the answers file's folder.
std::filesystem::path find_lab(const std::string& lab_arg, const std::string& answers_file,
                               const YAML::Node& answers);

// ---- the answers file ----

// The keys every answers file has besides `answers`: lab, lang (en or zh), student.
struct AnswersHead {
  std::string lang = "en", student;
};
// Reads them from root; `keys` are the kind's own keys, the only others allowed.
AnswersHead parse_answers_head(const std::string& file, const YAML::Node& root,
                               const std::vector<std::string>& keys);

// The answers file that --print-expected prints (lang en, student "expected"): begin_expected
// writes its head up to the value of `answers:`, which the caller writes as a map; `note` goes
// into the heading comment after the lab's name. end_expected closes it and prints it.
void begin_expected(YAML::Emitter& e, const LabHead& lab, const std::string& note);
void end_expected(YAML::Emitter& e);

// ---- the grading report ----

// A phrase of the report in both languages of the answers file's `lang:`.
struct Text {
  const char* en;
  const char* zh;
};
extern const Text kOk, kWrong, kUnanswered, kGiven, kResult;

class Report {
 public:
  explicit Report(const std::string& lang) : zh_(lang == "zh") {}
  bool zh() const { return zh_; }
  std::string say(const Text& t) const { return zh_ ? t.zh : t.en; }
  // "lab <name>: <title>" and the student's name when given.
  void title(const LabHead& lab, const std::string& student) const;
  // Prints rows[0] (the header) and the other rows in columns as wide as their widest cell
  // (Chinese characters count twice); align[i] is '<' or '>' for column i.
  void table(const std::vector<std::vector<std::string>>& rows, const std::string& align) const;
  // Prints the score and the wrong answers; returns 0 when every answer is right, else 1.
  int score(int right, int total, const std::vector<std::string>& wrong) const;

 private:
  bool zh_;
};

// ---- the kinds ----

// What `lab check` was asked: the lab and, unless only printing the expected answers, the
// answers file.
struct CheckRequest {
  std::string lab_file;
  YAML::Node lab;  // lab.yaml
  std::string answers_file;
  YAML::Node answers;  // null with print_expected
  bool print_expected = false;
};

// A kind of lab: grades the answers of a lab of its kind, or prints its expected answers;
// returns the exit status.
struct LabKind {
  std::string name;
  std::function<int(const CheckRequest&)> check;
};
bool register_lab_kind(LabKind kind);
const LabKind& find_lab_kind(const std::string& name);

// `xpusim lab check`: loads the answers and the lab they name (or `lab_arg`), then grades them
// with the lab's kind; with print_expected (and no answers file) prints the expected answers.
int check_lab(const std::string& answers_file, const std::string& lab_arg, bool print_expected);

}  // namespace xpusim::lab
