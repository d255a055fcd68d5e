// What every kind of course lab shares in `xpusim lab check` (cli/lab.cpp): reading lab.yaml
// and the answers file with file:line complaints, finding the lab, and the grading report in
// English or Chinese.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "models/core/error.h"
#include "models/core/yaml.h"

namespace xpusim::cli::lab {

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
// preset) or `rtl` (lab 02: tile sequences run on the verilated systolic array).
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

// Grades the answers of a lab of kind rtl (cli/lab_rtl.cpp), or prints its expected answers;
// returns the exit status.
int check_rtl_lab(const CheckRequest& req);

}  // namespace xpusim::cli::lab
