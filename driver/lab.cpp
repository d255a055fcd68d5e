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
#include "models/core/shipped.h"

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

int check_lab(const CheckOptions& o) {
  if (o.answers_file.empty() && !o.print_expected)
    throw Error("lab check: give the answers file (or --print-expected with --lab DIR)");
  CheckRequest req;
  req.answers_file = o.answers_file;
  req.print_expected = o.print_expected;
  req.instructor = o.instructor;
  if (!o.answers_file.empty()) {
    req.answers = load_yaml(o.answers_file);
    if (!req.answers.IsMap())
      throw Error(SourceLoc{o.answers_file, 1},
                  "expected a map with keys lab, lang, student, answers (see the lab's "
                  "answers-template.yaml) / 应为包含 lab、lang、student、answers 的映射（见实验的 "
                  "answers-template.yaml）");
  }
  req.lab_source = choose_lab(find_lab(o.lab_arg, o.answers_file, req.answers), o.custom_lab);
  req.lab = load_yaml(req.lab_source.file);
  if (o.print_expected && !o.instructor)
    throw Error(
        "lab check --print-expected prints every expected answer: it is for instructors "
        "and needs --instructor");
  return find_lab_kind(lab_kind(req.lab_source.file, req.lab)).check(req);
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

LabHead load_lab_head(const LabSource& source, const YAML::Node& root,
                      const std::vector<std::string>& keys, bool with_array) {
  const std::string& file = source.file;
  const std::string what = "lab definition";
  std::vector<std::string> allowed = {"schema", "kind", "name", "title", "title_zh"};
  if (with_array) allowed.push_back("array");
  allowed.insert(allowed.end(), keys.begin(), keys.end());
  only_keys(file, root, what, allowed);
  const YAML::Node schema = need(file, root, "schema", what);
  if (scalar(file, schema, "schema") != "1")
    throw Error(loc_of(file, schema),
                "schema '" + schema.Scalar() + "' is not supported (expected 1)");
  LabHead lab;
  lab.source = source;
  lab.file = file;
  lab.name = scalar(file, need(file, root, "name", what), "name");
  lab.title = scalar(file, need(file, root, "title", what), "title");
  lab.title_zh = root["title_zh"] ? scalar(file, root["title_zh"], "title_zh") : lab.title;
  if (!with_array) return lab;
  const YAML::Node array = need(file, root, "array", what);
  only_keys(file, array, "array", {"rows", "cols"});
  lab.rows = positive_int(file, need(file, array, "rows", "array"), "array.rows");
  lab.cols = positive_int(file, need(file, array, "cols", "array"), "array.cols");
  return lab;
}

fs::path builtin_labs_dir() {
  return shipped_dir("labs");
}

namespace {

// The name: of a lab.yaml, or "" when it has none.
std::string lab_name(const fs::path& file) {
  const YAML::Node root = load_yaml(file.string());
  const YAML::Node name = root.IsMap() ? root["name"] : YAML::Node();
  return name && name.IsScalar() ? name.Scalar() : "";
}

// The built-in labs: name and lab.yaml.
std::vector<std::pair<std::string, fs::path>> builtin_labs() {
  const fs::path dir = builtin_labs_dir();
  if (!fs::is_directory(dir))
    throw Error(fmt::format("the labs shipped with xpusim are not in '{}'", dir.string()));
  std::vector<std::pair<std::string, fs::path>> labs;
  for (const fs::directory_entry& d : fs::directory_iterator(dir))
    if (fs::is_regular_file(d.path() / "lab.yaml"))
      labs.emplace_back(lab_name(d.path() / "lab.yaml"), d.path() / "lab.yaml");
  std::sort(labs.begin(), labs.end());
  return labs;
}

std::string builtin_names() {
  std::vector<std::string> names;
  for (const auto& l : builtin_labs()) names.push_back(l.first);
  return fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

fs::path find_lab(const std::string& lab_arg, const std::string& answers_file,
                  const YAML::Node& answers) {
  auto file_of = [](const fs::path& p) { return fs::is_directory(p) ? p / "lab.yaml" : p; };
  auto builtin = [](const std::string& name) {
    for (const auto& l : builtin_labs())
      if (l.first == name) return l.second;
    return fs::path();
  };
  if (!lab_arg.empty()) {
    const fs::path p = file_of(lab_arg);
    if (fs::is_regular_file(p)) return p;
    if (const fs::path b = builtin(lab_arg); !b.empty()) return b;
    throw Error(
        fmt::format("--lab: '{}' is neither a lab.yaml, its folder, nor a built-in lab ({})",
                    lab_arg, builtin_names()));
  }
  if (answers_file.empty()) throw Error("lab check --print-expected: name the lab with --lab");
  const YAML::Node key = answers["lab"];
  if (!key || key.IsNull())
    throw Error(SourceLoc{answers_file, 1},
                "no 'lab:' key naming the lab; add one (e.g. lab: 01-systolic-dataflows) or pass "
                "--lab / 缺少指明实验的 'lab:'：请加上一行（例如 lab: 01-systolic-dataflows），"
                "或使用 --lab");
  const fs::path p = scalar(answers_file, key, "lab");
  std::vector<fs::path> tried = {p};
  const fs::path beside = fs::path(answers_file).parent_path() / p;
  if (p.is_relative() && beside != p) tried.push_back(beside);
  for (const fs::path& t : tried)
    if (fs::is_regular_file(file_of(t))) return file_of(t);
  if (const fs::path b = builtin(p.string()); !b.empty()) return b;
  std::vector<std::string> names;
  for (const fs::path& t : tried) names.push_back(file_of(t).string());
  throw Error(
      loc_of(answers_file, key),
      fmt::format("lab '{}' not found (looked for {} and the built-in labs {}) / 找不到实验 "
                  "'{}'",
                  p.string(), fmt::join(names, ", "), builtin_names(), p.string()));
}

LabSource choose_lab(const fs::path& named, bool custom) {
  LabSource s;
  if (custom) {
    s.file = named.string();
    s.builtin = false;
    return s;
  }
  const std::string name = lab_name(named);
  for (const auto& [n, file] : builtin_labs())
    if (n == name) {
      s.file = file.string();
      if (!fs::equivalent(file, named)) s.ignored = named.string();
      return s;
    }
  throw Error(SourceLoc{named.string()},
              fmt::format("lab '{}' is not one of the labs shipped with xpusim ({}); to grade "
                          "against this definition, add --custom-lab",
                          name, builtin_names()));
}

AnswersReader::AnswersReader(std::string file, const YAML::Node& root) : file_(std::move(file)) {
  const YAML::Node lang = root["lang"];
  if (lang && !lang.IsNull() &&
      (!lang.IsScalar() || (lang.Scalar() != "en" && lang.Scalar() != "zh")))
    throw Error(loc_of(file_, lang), fmt::format("lang: expected en or zh, got '{}' / lang 应为 en "
                                                 "或 zh",
                                                 lang.IsScalar() ? lang.Scalar() : "..."));
  zh_ = lang && lang.IsScalar() && lang.Scalar() == "zh";
}

void AnswersReader::fail(const YAML::Node& at, const std::string& en, const std::string& zh) const {
  throw Error(loc_of(file_, at), say(en, zh));
}

void AnswersReader::only_keys(const YAML::Node& n, const Text& what,
                              const std::vector<std::string>& allowed) const {
  const std::string keys = fmt::format("{}", fmt::join(allowed, ", "));
  if (!n.IsMap())
    fail(n, fmt::format("{}: expected a map with keys {}", what.en, keys),
         fmt::format("{}：应为映射，键为 {}", what.zh, keys));
  for (const auto& kv : n)
    if (std::find(allowed.begin(), allowed.end(), kv.first.Scalar()) == allowed.end())
      fail(kv.first,
           fmt::format("{}: unknown key '{}'; allowed keys: {}", what.en, kv.first.Scalar(), keys),
           fmt::format("{}：未知的键 '{}'；允许的键：{}", what.zh, kv.first.Scalar(), keys));
}

YAML::Node AnswersReader::need(const YAML::Node& map, const std::string& key) const {
  YAML::Node v = map[key];
  if (!v || v.IsNull())
    fail(map, fmt::format("answers file: missing '{}' (see the lab's answers-template.yaml)", key),
         fmt::format("答案文件：缺少 '{}'（见实验的 answers-template.yaml）", key));
  return v;
}

double AnswersReader::number(const YAML::Node& n, const std::string& what) const {
  const std::string s = n.IsScalar() ? n.Scalar() : "";
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v))
    fail(n, fmt::format("{} must be a number, got '{}'", what, s),
         fmt::format("{} 应为一个数，而不是 '{}'", what, s));
  return v;
}

int64_t AnswersReader::positive_int(const YAML::Node& n, const std::string& what) const {
  const std::string s = n.IsScalar() ? n.Scalar() : "";
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0 || v <= 0)
    fail(n, fmt::format("{} must be a positive integer, got '{}'", what, s),
         fmt::format("{} 应为正整数，而不是 '{}'", what, s));
  return v;
}

AnswersHead parse_answers_head(const AnswersReader& r, const YAML::Node& root,
                               const std::vector<std::string>& keys) {
  std::vector<std::string> allowed = {"lab", "lang", "student", "answers"};
  allowed.insert(allowed.end(), keys.begin(), keys.end());
  r.only_keys(root, Text{"answers file", "答案文件"}, allowed);
  AnswersHead a;
  a.lang = r.zh() ? "zh" : "en";
  if (const YAML::Node s = root["student"]; s && !s.IsNull()) {
    if (!s.IsScalar()) r.fail(s, "student must be a single value", "student 应为单个值");
    a.student = s.Scalar();
  }
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
    kNoAnswer{"unanswered", "未作答"}, kGiven{"given", "你的答案"}, kResult{"result", "结果"},
    kHidden{"?", "?"};
namespace {
const Text kStudent{"student", "学生"}, kScore{"score", "得分"},
    kWrongList{"wrong answers", "答错的题"}, kUnansweredList{"unanswered", "未作答的题"};

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
  const LabSource& s = lab.source;
  if (!s.builtin) {
    const std::string line(72, '!');
    std::cout << line << "\n"
              << (zh_ ? fmt::format("按 {} 评分，不是 xpusim 自带的实验定义\n", s.file)
                      : fmt::format("graded against {}, not the built-in lab\n", s.file))
              << line << "\n";
    return;
  }
  std::cout << (zh_ ? fmt::format("实验定义：{}（xpusim 自带）\n", s.file)
                    : fmt::format("lab definition: {} (built in)\n", s.file));
  if (!s.ignored.empty())
    std::cout << (zh_ ? fmt::format("注意：答案文件指定的 {} 不是自带的定义，已改用自带的定义"
                                    "评分\n",
                                    s.ignored)
                      : fmt::format("note: {}, named by the answers, is not the built-in "
                                    "definition; graded against the built-in one\n",
                                    s.ignored));
}

std::string Report::expected(const std::string& value, bool right) const {
  return right || instructor_ ? value : say(kHidden);
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

int Report::score(int right, int total, const std::vector<std::string>& wrong,
                  const std::vector<std::string>& unanswered) const {
  std::cout << fmt::format("\n{}: {} / {}\n", say(kScore), right, total);
  if (!wrong.empty()) std::cout << fmt::format("{}: {}\n", say(kWrongList), fmt::join(wrong, ", "));
  if (!unanswered.empty())
    std::cout << fmt::format("{} ({}): {}\n", say(kUnansweredList), unanswered.size(),
                             fmt::join(unanswered, ", "));
  return right == total ? 0 : 1;
}

}  // namespace xpusim::lab
