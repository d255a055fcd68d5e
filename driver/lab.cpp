// What the kinds of course lab share: YAML reading, lab.yaml's common keys, the answers file's
// head, finding the lab, the report.
#include "driver/lab.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iostream>

#include "models/core/registry.h"

namespace fs = std::filesystem;

namespace xpusim::lab {

namespace {
Registry<LabKind>& kinds() {
  static Registry<LabKind> r("lab kind");
  return r;
}
}  // namespace

bool register_lab_kind(LabKind kind) {
  const std::string name = kind.name;
  return kinds().add(name, std::move(kind));
}

const LabKind& find_lab_kind(const std::string& name) {
  return kinds().find(name);
}

int check_lab(const std::string& answers_file, const std::string& lab_arg, bool print_expected) {
  if (answers_file.empty() && !print_expected)
    throw Error("lab check: give the answers file (or --print-expected with --lab DIR)");
  CheckRequest req;
  req.answers_file = answers_file;
  req.print_expected = print_expected;
  if (!answers_file.empty()) {
    req.answers = load_yaml(answers_file);
    if (!req.answers.IsMap())
      throw Error(SourceLoc{answers_file, 1},
                  "expected a map with keys lab, lang, student, answers (see the lab's "
                  "answers-template.yaml)");
  }
  req.lab_file = find_lab(lab_arg, answers_file, req.answers).string();
  req.lab = load_yaml(req.lab_file);
  return find_lab_kind(lab_kind(req.lab_file, req.lab)).check(req);
}

YAML::Node load_yaml(const std::string& file) {
  if (!fs::is_regular_file(file)) throw Error(fmt::format("'{}' does not exist", file));
  return yaml::Doc::load(file).root();
}

void only_keys(const std::string& file, const YAML::Node& n, const std::string& what,
               const std::vector<std::string>& allowed) {
  if (!n.IsMap())
    throw Error(loc_of(file, n),
                fmt::format("{}: expected a map with keys {}", what, fmt::join(allowed, ", ")));
  yaml::Map(file, n, what).allow(allowed);
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

std::string lab_kind(const std::string& file, const YAML::Node& root) {
  if (!root.IsMap()) throw Error(SourceLoc{file, 1}, "lab definition: expected a map");
  const YAML::Node kind = root["kind"];
  if (!kind) return "layers";
  const std::string k = scalar(file, kind, "kind");
  if (!kinds().try_find(k))
    throw Error(loc_of(file, kind), "kind '" + k + "' is not a lab kind of this build (" +
                                        kinds().known() +
                                        "; layers is the default). The rtl kind needs a build "
                                        "with Verilator (docs/rtl.md)");
  return k;
}

LabHead load_lab_head(const std::string& file, const YAML::Node& root,
                      const std::vector<std::string>& keys) {
  const std::string what = "lab definition";
  std::vector<std::string> allowed = {"schema", "kind", "name", "title", "title_zh", "array"};
  allowed.insert(allowed.end(), keys.begin(), keys.end());
  only_keys(file, root, what, allowed);
  const YAML::Node schema = need(file, root, "schema", what);
  if (scalar(file, schema, "schema") != "1")
    throw Error(loc_of(file, schema),
                "schema '" + schema.Scalar() + "' is not supported (expected 1)");
  LabHead lab;
  lab.file = file;
  lab.name = scalar(file, need(file, root, "name", what), "name");
  lab.title = scalar(file, need(file, root, "title", what), "title");
  lab.title_zh = root["title_zh"] ? scalar(file, root["title_zh"], "title_zh") : lab.title;
  const YAML::Node array = need(file, root, "array", what);
  only_keys(file, array, "array", {"rows", "cols"});
  lab.rows = positive_int(file, need(file, array, "rows", "array"), "array.rows");
  lab.cols = positive_int(file, need(file, array, "cols", "array"), "array.cols");
  return lab;
}

fs::path find_lab(const std::string& lab_arg, const std::string& answers_file,
                  const YAML::Node& answers) {
  auto file_of = [](const fs::path& p) { return fs::is_directory(p) ? p / "lab.yaml" : p; };
  if (!lab_arg.empty()) {
    const fs::path p = file_of(lab_arg);
    if (!fs::is_regular_file(p)) throw Error(fmt::format("--lab: '{}' does not exist", p.string()));
    return p;
  }
  if (answers_file.empty()) throw Error("lab check --print-expected: name the lab with --lab DIR");
  const YAML::Node key = answers["lab"];
  if (!key || key.IsNull())
    throw Error(SourceLoc{answers_file, 1},
                "no 'lab:' key naming the lab (its lab.yaml or folder); add one or pass --lab DIR");
  const fs::path p = scalar(answers_file, key, "lab");
  std::vector<fs::path> tried = {p};
  const fs::path beside = fs::path(answers_file).parent_path() / p;
  if (p.is_relative() && beside != p) tried.push_back(beside);
  for (const fs::path& t : tried)
    if (fs::is_regular_file(file_of(t))) return file_of(t);
  std::vector<std::string> names;
  for (const fs::path& t : tried) names.push_back(file_of(t).string());
  throw Error(loc_of(answers_file, key), fmt::format("lab '{}' not found (looked for {})",
                                                     p.string(), fmt::join(names, ", ")));
}

AnswersHead parse_answers_head(const std::string& file, const YAML::Node& root,
                               const std::vector<std::string>& keys) {
  std::vector<std::string> allowed = {"lab", "lang", "student", "answers"};
  allowed.insert(allowed.end(), keys.begin(), keys.end());
  only_keys(file, root, "answers file", allowed);
  AnswersHead a;
  if (const YAML::Node lang = root["lang"]; lang && !lang.IsNull()) {
    a.lang = scalar(file, lang, "lang");
    if (a.lang != "en" && a.lang != "zh")
      throw Error(loc_of(file, lang), "lang: expected en or zh, got '" + a.lang + "'");
  }
  if (const YAML::Node s = root["student"]; s && !s.IsNull())
    a.student = scalar(file, s, "student");
  return a;
}

void begin_expected(YAML::Emitter& e, const LabHead& lab, const std::string& note) {
  e << YAML::Comment(fmt::format("Expected answers of lab {}{} (xpusim lab check --print-expected)",
                                 lab.name, note))
    << YAML::BeginMap << YAML::Key << "lab" << YAML::Value << lab.file << YAML::Key << "lang"
    << YAML::Value << "en" << YAML::Key << "student" << YAML::Value << "expected" << YAML::Key
    << "answers" << YAML::Value;
}

void end_expected(YAML::Emitter& e) {
  e << YAML::EndMap;
  std::cout << e.c_str() << "\n";
}

const Text kOk{"ok", "对"}, kWrong{"wrong", "错"}, kUnanswered{"(none)", "（未填）"},
    kGiven{"given", "你的答案"}, kResult{"result", "结果"};
namespace {
const Text kStudent{"student", "学生"}, kScore{"score", "得分"},
    kWrongList{"wrong answers", "答错的题"};

// Columns a UTF-8 string takes in a terminal: East Asian wide characters (CJK, full-width
// forms) take two.
size_t display_width(const std::string& s) {
  size_t w = 0;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    uint32_t cp = len == 1 ? c : c & (0xff >> (len + 1));
    for (size_t j = 1; j < len && i + j < s.size(); ++j)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + j]) & 0x3f);
    const bool wide = (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
                      (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
                      (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
                      (cp >= 0xffe0 && cp <= 0xffe6);
    w += wide ? 2 : 1;
    i += len;
  }
  return w;
}
}  // namespace

void Report::title(const LabHead& lab, const std::string& student) const {
  std::cout << (zh_ ? fmt::format("实验 {}：{}\n", lab.name, lab.title_zh)
                    : fmt::format("lab {}: {}\n", lab.name, lab.title));
  if (!student.empty()) std::cout << fmt::format("{}: {}\n", say(kStudent), student);
}

void Report::table(const std::vector<std::vector<std::string>>& rows,
                   const std::string& align) const {
  std::vector<size_t> width(align.size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], display_width(r[i]));
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      const std::string pad(width[i] - display_width(r[i]), ' ');
      const bool last = i + 1 == r.size();
      line += align[i] == '>' ? pad + r[i] : r[i] + (last ? "" : pad);
      if (!last) line += "  ";
    }
    std::cout << line << "\n";
  }
}

int Report::score(int right, int total, const std::vector<std::string>& wrong) const {
  std::cout << fmt::format("\n{}: {} / {}\n", say(kScore), right, total);
  if (!wrong.empty()) std::cout << fmt::format("{}: {}\n", say(kWrongList), fmt::join(wrong, ", "));
  return right == total ? 0 : 1;
}

}  // namespace xpusim::lab
