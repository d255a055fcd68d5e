// Course labs (docs/labs/): what every kind of lab shares in `xpusim lab check` (reading
// lab.yaml and the answers file with file:line complaints, in the student's language for the
// answers; finding the lab, built in or not; the grading report in English or Chinese, which
// shows an expected value only for an answer that is already right, unless asked by an
// instructor) and the registry of lab kinds. A kind registers itself where its
// machinery lives: `layers` (lab 01) in driver/lab_layers.cpp, `rtl` (lab 02) with the
// systolic-array RTL in rtl/systolic/lab_rtl.cpp, `kernel` (lab 03: PTX kernels on a GPU preset;
// lab 04: DaVinci assembly on a DaVinci preset) in driver/lab_kernel.cpp, `workload` (lab 05:
// workloads on several presets) in driver/lab_workload.cpp. The two kinds that grade the
// statistics of runs, kernel and workload, share their questions (driver/lab_questions.h).
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

// The lab.yaml to grade against and where it came from.
struct LabSource {
  std::string file;     // the lab.yaml used
  bool builtin = true;  // one of the labs shipped with xpusim (docs/labs/*/lab.yaml)
  // The lab.yaml the answers file (or --lab) named when it is not the built-in definition
  // that was used in its place; empty otherwise.
  std::string ignored;
};

// The keys every kind has: schema, kind, name, title, title_zh, array.
struct LabHead {
  LabSource source;
  std::string file;  // lab.yaml, source.file
  std::string name, title, title_zh;
  int64_t rows = 0, cols = 0;  // the array (kinds that simulate one)
};
// Reads them from root (source.file); `keys` are the kind's own keys, the only others allowed.
// `array` (rows, cols) is required when `with_array`, and not allowed otherwise.
LabHead load_lab_head(const LabSource& source, const YAML::Node& root,
                      const std::vector<std::string>& keys, bool with_array = true);

// The folder of the labs shipped with xpusim: docs/labs of the source tree this binary was
// built from.
std::filesystem::path builtin_labs_dir();

// The lab.yaml that `lab_arg` (--lab), else the answers file's `lab:` key, names: lab.yaml, its
// folder, or the name of a built-in lab. A relative path is looked up from the current folder,
// then from the answers file's folder.
std::filesystem::path find_lab(const std::string& lab_arg, const std::string& answers_file,
                               const YAML::Node& answers);

// The definition to grade against. Unless `custom`, the built-in lab of the same `name:` as
// `named`, whatever `named` says otherwise (a copy with looser tolerances changes nothing);
// with `custom`, `named` itself.
LabSource choose_lab(const std::filesystem::path& named, bool custom);

// ---- the answers file ----

// A phrase in both languages of the answers file's `lang:`.
struct Text {
  const char* en;
  const char* zh;
};

// Reads the answers file, with every complaint in the student's language (`lang:`) and
// naming file:line.
class AnswersReader {
 public:
  AnswersReader(std::string file, const YAML::Node& root);
  const std::string& file() const { return file_; }
  bool zh() const { return zh_; }
  // The message in the student's language.
  std::string say(const std::string& en, const std::string& zh) const { return zh_ ? zh : en; }
  [[noreturn]] void fail(const YAML::Node& at, const std::string& en, const std::string& zh) const;
  // Checks that n is a map whose keys are all in `allowed`; `what` names it.
  void only_keys(const YAML::Node& n, const Text& what,
                 const std::vector<std::string>& allowed) const;
  // map[key], which must be present and not null.
  YAML::Node need(const YAML::Node& map, const std::string& key) const;
  // A number, and a positive whole number; `what` names the answer (e.g. fc/os/cycles).
  double number(const YAML::Node& n, const std::string& what) const;
  int64_t positive_int(const YAML::Node& n, const std::string& what) const;

 private:
  std::string file_;
  bool zh_ = false;
};

// The keys every answers file has besides `answers`: lab, lang (en or zh), student.
struct AnswersHead {
  std::string lang = "en", student;
};
// Reads them from the reader's root; `keys` are the kind's own keys, the only others allowed.
AnswersHead parse_answers_head(const AnswersReader& r, const YAML::Node& root,
                               const std::vector<std::string>& keys);

// The answers file that --print-expected prints (lang en, student "expected"): begin_expected
// writes its head up to the value of `answers:`, which the caller writes as a map; `note` goes
// into the heading comment after the lab's name. end_expected closes it and prints it.
void begin_expected(YAML::Emitter& e, const LabHead& lab, const std::string& note);
void end_expected(YAML::Emitter& e);

// ---- the grading report ----

// kUnanswered fills the given column of an unanswered question, kNoAnswer its verdict.
extern const Text kOk, kWrong, kUnanswered, kNoAnswer, kGiven, kResult, kHidden;

class Report {
 public:
  // `instructor`: show every expected value, not only those of the right answers.
  Report(const std::string& lang, bool instructor) : zh_(lang == "zh"), instructor_(instructor) {}
  bool zh() const { return zh_; }
  bool instructor() const { return instructor_; }
  std::string say(const Text& t) const { return zh_ ? t.zh : t.en; }
  // "lab <name>: <title>", the student's name when given, and the definition graded against:
  // the built-in one, or, prominently, another.
  void title(const LabHead& lab, const std::string& student) const;
  // An expected value as the table shows it: itself when the answer is right or for an
  // instructor, else kHidden.
  std::string expected(const std::string& value, bool right) const;
  // Prints rows[0] (the header) and the other rows in columns as wide as their widest cell
  // (Chinese characters count twice); align[i] is '<' or '>' for column i.
  void table(const std::vector<std::vector<std::string>>& rows, const std::string& align) const;
  // Prints the score, the wrong answers and the unanswered questions; returns 0 when every
  // answer is right, else 1.
  int score(int right, int total, const std::vector<std::string>& wrong,
            const std::vector<std::string>& unanswered) const;

 private:
  bool zh_, instructor_;
};

// ---- the kinds ----

// What `lab check` was asked: the lab and, unless only printing the expected answers, the
// answers file.
struct CheckRequest {
  LabSource lab_source;
  YAML::Node lab;  // lab.yaml
  std::string answers_file;
  YAML::Node answers;  // null with print_expected
  bool print_expected = false;
  bool instructor = false;  // show every expected value
};

// A kind of lab: grades the answers of a lab of its kind, or prints its expected answers;
// returns the exit status.
struct LabKind {
  std::string name;
  std::function<int(const CheckRequest&)> check;
};
bool register_lab_kind(LabKind kind);
const LabKind& find_lab_kind(const std::string& name);

// The options of `xpusim lab check`.
struct CheckOptions {
  std::string answers_file;  // empty with print_expected
  std::string lab_arg;       // --lab
  bool print_expected = false;
  bool instructor = false;  // needed by print_expected; shows every expected value
  bool custom_lab = false;  // grade against the named lab.yaml, not the built-in one
};

// `xpusim lab check`: loads the answers and the lab they name (or --lab), then grades them with
// the lab's kind; with print_expected (and no answers file) prints the expected answers.
int check_lab(const CheckOptions& options);

}  // namespace xpusim::lab
