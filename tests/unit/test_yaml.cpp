// The strict YAML reader (models/core/yaml.h) and its three users: keys given twice, text
// that is not UTF-8 and too deep nesting are refused with file:line in configurations,
// workloads and lab files; a parameter's range is printed as declared.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "compiler/ir/frontend.h"
#include "models/core/yaml.h"
#include "tests/support.h"

using namespace xpusim;
using Catch::Matchers::Contains;

namespace {

// The message of the Error that reading `text` as "t.yaml" throws.
std::string doc_error(const std::string& text) {
  try {
    yaml::Doc doc(text, "t.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string nested_lists(int depth) {
  return std::string(size_t(depth), '[') + std::string(size_t(depth), ']');
}

std::string nested_maps(int depth) {
  std::string s = "1";
  for (int i = 0; i < depth; ++i) s = "{a: " + s + "}";
  return s;
}

const std::string kLab01 = std::string(XPUSIM_SOURCE_DIR) + "/docs/labs/01-systolic-dataflows";

}  // namespace

TEST_CASE("yaml::Doc refuses a key given twice, at any depth, at the second one", "[unit]") {
  CHECK(doc_error("a: 1\nb: 2\n") == "(no error)");
  CHECK(doc_error("a: 1\nb: 2\na: 3\n") == "t.yaml:3:1: key 'a' is given twice (first at line 1)");
  CHECK(doc_error("x:\n  y: {p: 1, q: 2, p: 3}\n") ==
        "t.yaml:2:19: key 'p' is given twice (first at line 2)");
  CHECK(doc_error("- {a: 1}\n- [{b: 1}, {b: 2, b: 3}]\n") ==
        "t.yaml:2:19: key 'b' is given twice (first at line 2)");
  CHECK(doc_error("a: {k: 1}\nb: {k: 1}\n") == "(no error)");  // one key in two mappings
}

TEST_CASE("yaml::Doc refuses text that is not UTF-8, keys and values", "[unit]") {
  CHECK(doc_error("name: \"caf\xc3\xa9 \xe8\x84\x89\xe5\x8a\xa8 \xf0\x9f\x98\x80\"\n") ==
        "(no error)");
  CHECK(doc_error("name: \"\xff\"\n") ==
        "t.yaml:1:7: the text is not valid UTF-8 (byte 0xff at offset 0)");
  CHECK_THAT(doc_error("a:\n  - ok\n  - b\xc3\n"),
             Contains("t.yaml:3:5:") && Contains("byte 0xc3 at offset 1"));  // truncated
  CHECK_THAT(doc_error("k\xc0\xaf: 1\n"), Contains("t.yaml:1:1:") && Contains("not valid UTF-8"));
  CHECK_THAT(doc_error("x: \"\xed\xa0\x80\"\n"), Contains("not valid UTF-8"));      // a surrogate
  CHECK_THAT(doc_error("x: \"\xf4\x90\x80\x80\"\n"), Contains("not valid UTF-8"));  // > U+10FFFF
}

TEST_CASE("yaml::Doc refuses too deep nesting without exhausting the stack", "[unit]") {
  const std::string too_deep = "nesting is too deep (more than 64 levels of mappings and lists)";
  CHECK(doc_error("a: " + nested_lists(yaml::kMaxDepth)) == "(no error)");
  CHECK(doc_error("a: " + nested_lists(yaml::kMaxDepth + 1)) ==
        "t.yaml:1:" + std::to_string(yaml::kMaxDepth + 4) + ": " + too_deep);
  CHECK(doc_error("a: " + nested_maps(yaml::kMaxDepth + 1)) ==
        "t.yaml:1:" + std::to_string(4 * yaml::kMaxDepth + 1) + ": " + too_deep);
  // Deeper than yaml-cpp's parser goes (it stops at 500 levels).
  CHECK_THAT(doc_error("a: " + nested_lists(5000)),
             Contains("t.yaml:1:") && Contains("malformed YAML: " + too_deep));
  CHECK_THAT(doc_error("a: " + nested_maps(5000)),
             Contains("t.yaml:1:") && Contains("malformed YAML: " + too_deep));
}

TEST_CASE("yaml::Doc: parse errors and aliases that expand without end", "[unit]") {
  CHECK_THAT(doc_error("a: [1, 2\nb: 3\n"), Contains("t.yaml:2:") && Contains("malformed YAML"));
  // Each alias level repeats the one before ten times: 10^8 nodes once expanded.
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 8; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    std::string refs = prev;
    for (int j = 1; j < 10; ++j) refs += ", " + prev;
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + refs + "]\n";
  }
  CHECK_THAT(doc_error(bomb), Contains("t.yaml:") && Contains("more than 1000000 nodes"));
}

TEST_CASE("yaml::Map: allowed keys and typed reads name the key, the type and the place",
          "[unit]") {
  const yaml::Doc doc("m: {n: 3, s: x, l: [1, 2], f: yes, r: 0.5, bad: -1}\n", "t.yaml");
  yaml::Map m(doc.file(), doc.root()["m"], "thing");
  CHECK(m.integer("n", 1, 10) == 3);
  CHECK(m.str("s") == "x");
  CHECK(m.integers("l", 1, 2) == std::vector<int64_t>{1, 2});
  CHECK(m.flag_or("f", false));
  CHECK(m.flag_or("g", false) == false);
  CHECK(m.real_or("r", 0) == 0.5);
  auto error = [&](auto f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  CHECK(error([&] { m.integer("bad", 0, 10); }) ==
        "t.yaml:1:49: thing: 'bad' must be a non-negative integer (at most 10), got '-1'");
  CHECK(error([&] { m.integers("l", 2, 9); }) ==
        "t.yaml:1:20: thing: 'l' must be a non-empty list of integers >= 2, got a list");
  CHECK(error([&] { m.value("zz"); }) == "t.yaml:1:4: thing: missing required key 'zz'");
  CHECK_THAT(error([&] {
               m.allow({"n", "s", "l", "f", "r"});
             }),
             Contains("t.yaml:1:44: thing: unknown key 'bad'; allowed keys: n, s, l, f, r"));
  CHECK(error([&] { yaml::Map(doc.file(), doc.root()["m"]["l"], "list"); }) ==
        "t.yaml:1:20: list: expected a mapping of keys to values");
}

TEST_CASE("a configuration with a key given twice is an error", "[unit]") {
  const std::string dir = test::temp_dir("cfgdup");
  test::Cli r = test::run_cli(
      {"describe", test::write_text(dir, "a.yaml",
                                    "schema: 1\nbase: tpu_lab\nclock_mhz: 100\nclock_mhz: 200\n")});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("a.yaml:4:1: key 'clock_mhz' is given twice (first at line 3)"));
  r = test::run_cli(
      {"describe", test::write_text(dir, "b.yaml", "schema: 1\nbase: tpu_lab\nbase: tpu_v1\n")});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("b.yaml:3:1: key 'base' is given twice (first at line 2)"));
  r = test::run_cli({"describe", test::write_text(dir, "c.yaml",
                                                  "schema: 1\nbase: tpu_lab\narray:\n  rows: "
                                                  "8\n  cols: 8\n  rows: 16\n")});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("c.yaml:6:3: key 'rows' is given twice (first at line 4)"));
}

TEST_CASE("a configuration: deep nesting, bad UTF-8 and keys that are not names", "[unit]") {
  const std::string dir = test::temp_dir("cfgbad");
  test::Cli r = test::run_cli({"describe", test::write_text(dir, "deep.yaml",
                                                            "schema: 1\nbase: tpu_lab\narray: " +
                                                                nested_maps(5000) + "\n")});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("deep.yaml:3:") && Contains("nesting is too deep"));
  r = test::run_cli(
      {"describe", test::write_text(dir, "u.yaml", "schema: 1\nbase: tpu_lab\nname: \"\xfe\"\n")});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("u.yaml:3:7: the text is not valid UTF-8"));
  r = test::run_cli(
      {"describe", test::write_text(dir, "k.yaml", "schema: 1\nbase: tpu_lab\n[array]: 1\n")});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("k.yaml:3:1:") && Contains("keys must be plain names"));
  r = test::run_cli({"describe", test::write_text(dir, "s.yaml", "schema: 1\nbase: {a: 1}\n")});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("s.yaml:2:7:") && Contains("'base' must be a non-empty string"));
}

TEST_CASE("a parameter's range is printed as declared", "[unit]") {
  const std::string dir = test::temp_dir("cfgrange");
  // ub.bytes has a minimum and no maximum.
  test::Cli r = test::run_cli({"describe", test::write_text(dir, "a.yaml",
                                                            "schema: 1\nbase: tpu_lab\nub:\n  "
                                                            "bytes: 0\n")});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("a.yaml:4:10: ub.bytes = '0': expected integer >= 1024"));
  CHECK_THAT(r.output, !Contains("-9223372036854775808"));
  r = test::run_cli(
      {"describe", test::write_text(dir, "b.yaml", "schema: 1\nbase: tpu_lab\nclock_mhz: -5\n")});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("clock_mhz = '-5': expected number >= 1"));
}

TEST_CASE("a workload that is not UTF-8 is an error with its place, and no results", "[unit]") {
  const std::string dir = test::temp_dir("wlutf8");
  const std::string wl = test::write_text(dir, "w.yaml",
                                          "name: \"\xff\"\nops:\n  - {name: g, op: gemm, M: 8, "
                                          "N: 8, K: 8}\n");
  const test::Cli r =
      test::run_cli({"run", "--arch", "tpu_lab", "--workload", wl, "--out", dir + "/out"});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("w.yaml:1:7: the text is not valid UTF-8"));
  CHECK_FALSE(std::filesystem::exists(dir + "/out/stats.json"));
}

TEST_CASE("a workload nested too deeply is an error naming the file", "[unit]") {
  const std::string dir = test::temp_dir("wldeep");
  for (const std::string& value : {nested_lists(5000), nested_maps(5000)}) {
    const std::string wl = test::write_text(dir, "w.yaml", "name: w\nops: " + value + "\n");
    const test::Cli r =
        test::run_cli({"run", "--arch", "tpu_lab", "--workload", wl, "--out", dir + "/out"});
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK_THAT(r.output, Contains("w.yaml:2:") && Contains("nesting is too deep"));
  }
  try {
    compiler::parse_workload("name: w\nops: " + nested_lists(100) + "\n", "w.yaml");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Contains("w.yaml:2:") && Contains("nesting is too deep"));
  }
}

TEST_CASE("lab files with a key given twice are errors", "[unit]") {
  const std::string dir = test::temp_dir("labdup");
  const test::Cli r =
      test::run_cli({"lab", "check",
                     test::write_text(dir, "answers.yaml",
                                      "lab: " + kLab01 + "\nlang: en\nlang: zh\nanswers: {}\n")});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("answers.yaml:3:1: key 'lang' is given twice (first at line 2)"));
  const std::string lab =
      test::write_text(dir, "lab.yaml", "schema: 1\nname: t\nname: u\ntitle: t\n");
  const test::Cli l = test::run_cli({"lab", "check", "--print-expected", "--lab", lab});
  CHECK(l.status == 1);
  CHECK_THAT(l.output, Contains("lab.yaml:3:1: key 'name' is given twice (first at line 2)"));
}
