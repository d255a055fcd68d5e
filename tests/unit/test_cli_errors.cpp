// Bad input through the command line: every case gives a clear message (file:line where
// there is one, what was expected) and a nonzero exit, never a crash.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "tests/support.h"

using namespace xpusim::test;
using Catch::Matchers::Contains;

namespace {

const std::string kProgram = R"(# 16x16x16 int8 GEMM on a 16x16 array
  rdhost ub=0x0, dram=0x0, rows=16, bytes=16
  rdweight dram=0x1000, k=16, n=16, dtype=int8
  matmul ub=0x0, acc=0x0, m=16, k=16, n=16, dtype=int8
  activate acc=0x0, ub=0x400, rows=16, cols=16, dtype=int8, func=relu, mult=1, shift=4
  wrhost dram=0x2000, ub=0x400, rows=16, bytes=16
  halt
)";

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto p = s.find(from);
  REQUIRE(p != std::string::npos);
  return s.replace(p, from.size(), to);
}

// Runs a program variant on tpu_lab and returns the CLI result.
Cli run_program(const std::string& name, const std::string& text) {
  const std::string dir = temp_dir(name);
  const std::string path = write_text(dir, name + ".s", text);
  return run_cli({"run", "--arch", "tpu_lab", "--program", path, "--out", dir + "/out"});
}

std::string workload(const std::string& ops) {
  return "name: w\nops:\n" + ops;
}

}  // namespace

TEST_CASE("a well-formed program runs", "[unit]") {
  Cli r = run_program("good", kProgram);
  INFO(r.output);
  CHECK(r.status == 0);
}

TEST_CASE("a program that reads a buffer never written is an error", "[unit]") {
  Cli r = run_program("unwritten", replace(kProgram, "matmul ub=0x0", "matmul ub=0x800"));
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("unwritten.s:4: matmul") && Contains("never written"));
}

TEST_CASE("a program that overflows a buffer is an error", "[unit]") {
  Cli r = run_program("overflow", replace(kProgram, "rdhost ub=0x0", "rdhost ub=0x3fff0"));
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("overflow.s:2: rdhost") && Contains("outside ub"));
}

TEST_CASE("a matmul without a weight tile is an error", "[unit]") {
  Cli r = run_program("nofifo",
                      replace(kProgram, "  rdweight dram=0x1000, k=16, n=16, dtype=int8\n", ""));
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("nofifo.s:3: matmul") && Contains("weight FIFO"));
}

TEST_CASE("a matmul that breaks the dataflow's mapping is an error", "[unit]") {
  Cli r = run_program("mapping", replace(replace(kProgram, "k=16, n=16, dtype=int8\n  matmul",
                                                 "k=32, n=16, dtype=int8\n  matmul"),
                                         "m=16, k=16", "m=16, k=32"));
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("weight-stationary needs k <= 16"));
}

TEST_CASE("a program without halt is an error", "[unit]") {
  Cli r = run_program("nohalt", replace(kProgram, "  halt\n", ""));
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("without halt"));
}

TEST_CASE("an assembly syntax error names the line", "[unit]") {
  Cli r = run_program("syntax", replace(kProgram, "matmul ub=0x0,", "matmul ub=,"));
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("syntax.s:4"));
}

TEST_CASE("an unknown configuration key names file, line and the keys allowed", "[unit]") {
  const std::string dir = temp_dir("cfgkey");
  const std::string cfg =
      write_text(dir, "chip.yaml", "schema: 1\nbase: tpu_lab\narray:\n  rows: 8\n  colz: 8\n");
  Cli r = run_cli({"describe", cfg});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("chip.yaml:5:3") && Contains("unknown key 'colz'") &&
                           Contains("cols") && Contains("dataflow"));
}

TEST_CASE("a wrong type or range in a configuration is an error", "[unit]") {
  const std::string dir = temp_dir("cfgtype");
  const std::string a = write_text(dir, "a.yaml", "schema: 1\nbase: tpu_lab\nclock_mhz: fast\n");
  Cli r = run_cli({"describe", a});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("a.yaml:3:12") && Contains("expected number"));
  const std::string b = write_text(dir, "b.yaml", "schema: 1\nbase: tpu_lab\narray: {rows: 0}\n");
  r = run_cli({"describe", b});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("b.yaml:3") && Contains("array.rows") && Contains("[1, 4096]"));
  const std::string c =
      write_text(dir, "c.yaml", "schema: 1\nbase: tpu_lab\narray: {dataflow: rs}\n");
  r = run_cli({"describe", c});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("c.yaml:3") && Contains("one of ws|os|is"));
}

TEST_CASE("a configuration without a schema, or with another one, is an error", "[unit]") {
  const std::string dir = temp_dir("cfgschema");
  Cli r = run_cli({"describe", write_text(dir, "a.yaml", "family: tpu\n")});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("a.yaml:1") && Contains("missing 'schema: 1'"));
  r = run_cli({"describe", write_text(dir, "b.yaml", "schema: 7\nfamily: tpu\n")});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("b.yaml:1") && Contains("schema '7' is not supported"));
  r = run_cli({"describe", write_text(dir, "c.yaml", "schema: 1\nfamily: [tpu\n")});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("c.yaml:") && Contains("malformed YAML"));
}

TEST_CASE("overrides with --set are validated", "[unit]") {
  const std::string wl = std::string(XPUSIM_SOURCE_DIR) + "/workloads/examples/quickstart.yaml";
  const std::string out = temp_dir("set") + "/out";
  Cli r =
      run_cli({"run", "--arch", "tpu_lab", "--workload", wl, "--out", out, "--set", "array.row=8"});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("unknown parameter 'array.row'"));
  r = run_cli(
      {"run", "--arch", "tpu_lab", "--workload", wl, "--out", out, "--set", "array.rows=-2"});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("--set array.rows=-2") && Contains("[1, 4096]"));
  r = run_cli({"run", "--arch", "no_such_chip", "--workload", wl, "--out", out});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("unknown preset 'no_such_chip'") && Contains("tpu_v1"));
}

TEST_CASE("an op the target cannot run names the op and the target", "[unit]") {
  const std::string dir = temp_dir("unsupported");
  const std::string wl = write_text(
      dir, "w.yaml", workload("  - {name: s0, op: softmax, shape: [8, 8], dtype: bf16}\n"));
  Cli r = run_cli({"run", "--arch", "tpu_v1", "--workload", wl, "--out", dir + "/out"});
  CHECK(r.status == 1);
  CHECK_THAT(r.output,
             Contains("w.yaml:3") && Contains("op 'softmax'") && Contains("target 'tpu_v1'"));
  const std::string wl2 = write_text(
      dir, "w2.yaml", workload("  - {name: g, op: gemm, M: 8, N: 8, K: 8, dtype: bf16}\n"));
  r = run_cli({"run", "--arch", "tpu_v1", "--workload", wl2, "--out", dir + "/out"});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("op 'gemm'") && Contains("do not multiply bf16"));
}

TEST_CASE("a workload error reaches the command line with its location", "[unit]") {
  const std::string dir = temp_dir("badwl");
  const std::string wl =
      write_text(dir, "w.yaml", workload("  - {name: g, op: gemm, M: -4, N: 8, K: 8}\n"));
  Cli r = run_cli({"run", "--arch", "tpu_lab", "--workload", wl, "--out", dir + "/out"});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("w.yaml:3"));
}

TEST_CASE("results never overwrite a folder the user wrote", "[unit]") {
  const std::string dir = temp_dir("keep");
  const std::string mine = write_text(dir, "notes.txt", "my notes\n");
  const std::string wl = std::string(XPUSIM_SOURCE_DIR) + "/workloads/examples/quickstart.yaml";
  Cli r = run_cli({"run", "--arch", "tpu_lab", "--workload", wl, "--out", dir});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("refusing"));
  std::ifstream in(mine);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  CHECK(text == "my notes\n");
  CHECK_FALSE(std::filesystem::exists(dir + "/stats.json"));
  // A folder of earlier results is reused.
  const std::string out = temp_dir("reuse") + "/out";
  CHECK(run_cli({"run", "--arch", "tpu_lab", "--workload", wl, "--out", out}).status == 0);
  CHECK(run_cli({"run", "--arch", "tpu_lab", "--workload", wl, "--out", out}).status == 0);
}

TEST_CASE("asm never overwrites an existing file without --force", "[unit]") {
  const std::string dir = temp_dir("asm");
  const std::string src = write_text(dir, "p.s", kProgram);
  const std::string bin = write_text(dir, "p.bin", "precious");
  Cli r = run_cli({"asm", src, "-o", bin});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("refusing to overwrite"));
  CHECK(run_cli({"asm", src, "-o", bin, "--force"}).status == 0);
  Cli d = run_cli({"disasm", bin});
  CHECK(d.status == 0);
  CHECK_THAT(d.output, Contains("matmul ub=0x0, acc=0x0, m=16, k=16, n=16"));
}
