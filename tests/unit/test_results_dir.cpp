// Results that cannot mislead, names that cannot escape, one set of exit codes, and
// hand-written programs that can be given inputs and show their outputs.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/support.h"

using namespace xpusim::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

const std::string kWorkload = std::string(XPUSIM_SOURCE_DIR) + "/workloads/smoke/tpu-int8.yaml";

// Copies 64 bytes from DRAM 0x1000 to DRAM 0x2000 through the unified buffer.
const std::string kCopy = R"(
  rdhost ub=0x0, dram=0x1000, rows=4, bytes=16
  wrhost dram=0x2000, ub=0x0, rows=4, bytes=16
  halt
)";

}  // namespace

TEST_CASE("runs with overrides get a results folder of their own", "[unit]") {
  const std::string dir = temp_dir("folders");
  REQUIRE(run_cli_in(dir, {"run", "--arch", "tpu_lab", "--workload", kWorkload}).status == 0);
  Cli r = run_cli_in(dir, {"run", "--arch", "tpu_lab", "--workload", kWorkload, "--set",
                           "array.dataflow=os", "--trace"});
  REQUIRE(r.status == 0);
  CHECK(fs::exists(dir + "/results/tpu-int8-tpu_lab/stats.json"));
  CHECK_FALSE(fs::exists(dir + "/results/tpu-int8-tpu_lab/trace.json"));
  int folders = 0;
  for (const auto& e : fs::directory_iterator(dir + "/results")) {
    ++folders;
    INFO(e.path());
    CHECK(fs::exists(e.path() / "stats.json"));
  }
  CHECK(folders == 2);
}

TEST_CASE("a reused results folder keeps no file of the earlier run", "[unit]") {
  const std::string out = temp_dir("stale") + "/out";
  REQUIRE(run_cli({"run", "--arch", "tpu_lab", "--workload", kWorkload, "--trace", "--out", out})
              .status == 0);
  REQUIRE(fs::exists(out + "/trace.json"));
  REQUIRE(run_cli({"run", "--arch", "tpu_lab", "--workload", kWorkload, "--out", out}).status == 0);
  CHECK_FALSE(fs::exists(out + "/trace.json"));
  CHECK(fs::exists(out + "/stats.json"));
}

TEST_CASE("a failed run leaves no results that look valid", "[unit]") {
  const std::string dir = temp_dir("failed");
  const std::string out = dir + "/out";
  REQUIRE(run_cli({"run", "--arch", "tpu_lab", "--workload", kWorkload, "--out", out}).status == 0);
  const std::string bad = write_text(dir, "bad.s", "  rdhost ub=0x0, dram=0x0, rows=1, bytes=16\n");
  Cli r = run_cli({"run", "--arch", "tpu_lab", "--program", bad, "--out", out});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("without halt"));
  CHECK_FALSE(fs::exists(out + "/stats.json"));
  CHECK_FALSE(fs::exists(out + "/report.md"));
}

TEST_CASE("names from files cannot leave the results folder", "[unit]") {
  const std::string dir = temp_dir("escape");
  fs::create_directories(dir + "/work");
  for (const std::string name : {"../../../escaped", "a/b", "..", "tab\\there"}) {
    INFO(name);
    const std::string arch =
        write_text(dir, "arch.yaml", "schema: 1\nbase: tpu_lab\nname: \"" + name + "\"\n");
    Cli r = run_cli_in(dir + "/work", {"run", "--arch", arch, "--workload", kWorkload});
    CHECK(r.status == 1);
    CHECK_THAT(r.output, Contains("architecture name"));
    CHECK_THAT(r.output, Contains("cannot name a file"));
  }
  CHECK_FALSE(fs::exists(dir + "/escaped"));
  CHECK_FALSE(fs::exists(dir + "/work/results"));
}

TEST_CASE("usage errors and unusable folders exit 1 with a message", "[unit]") {
  Cli r = run_cli({"run", "--arch", "tpu_lab", "--no-such-option"});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("--no-such-option"));
  CHECK(run_cli({"frobnicate"}).status == 1);
  CHECK(run_cli({"--help"}).status == 0);
  const std::string file = write_text(temp_dir("out-file"), "plain", "text\n");
  r = run_cli({"run", "--arch", "tpu_lab", "--workload", kWorkload, "--out", file + "/sub"});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("cannot create the folder"));
  const std::string folder = temp_dir("arch-folder");
  r = run_cli({"run", "--arch", folder, "--workload", kWorkload, "--out", folder + "/o"});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains(folder + ": is a folder: expected a YAML file"));
}

TEST_CASE("a program runs from its binary form too", "[unit]") {
  const std::string dir = temp_dir("binary");
  const std::string src = write_text(dir, "copy.s", kCopy);
  REQUIRE(run_cli({"asm", src}).status == 0);
  Cli r =
      run_cli({"run", "--arch", "tpu_lab", "--program", dir + "/copy.bin", "--out", dir + "/out"});
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(read_text(dir + "/out/stats.json").find("\"workload\": \"copy\"") != std::string::npos);
}

TEST_CASE("a program's memory is loaded from files and saved to files", "[unit]") {
  const std::string dir = temp_dir("load-save");
  std::string input;
  for (int i = 0; i < 64; ++i) input += char(i * 7 + 3);
  const std::string in = write_text(dir, "in.bin", input);
  const std::string src = write_text(dir, "copy.s", kCopy);
  Cli r = run_cli({"run", "--arch", "tpu_lab", "--program", src, "--load", "0x1000=" + in, "--save",
                   "0x2000:64=out.bin", "--save", "0x3000:8=zeros.bin", "--out", dir + "/out"});
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(read_text(dir + "/out/out.bin") == input);
  CHECK(read_text(dir + "/out/zeros.bin") == std::string(8, '\0'));
  // Bad regions are errors naming the option.
  CHECK_THAT(run_cli({"run", "--arch", "tpu_lab", "--program", src, "--save", "0x2000:64=../x.bin",
                      "--out", dir + "/o2"})
                 .output,
             Contains("cannot name a file"));
  CHECK_THAT(run_cli({"run", "--arch", "tpu_lab", "--program", src, "--load", "0x1000", "--out",
                      dir + "/o3"})
                 .output,
             Contains("expected ADDR=FILE"));
  CHECK_THAT(run_cli({"run", "--arch", "tpu_lab", "--workload", kWorkload, "--load", "0x0=" + in,
                      "--out", dir + "/o4"})
                 .output,
             Contains("for --program runs"));
}

TEST_CASE("validate's default folder is never a run's", "[unit]") {
  // A CSV of measured times named like the workload: `run` and `validate` would otherwise
  // share results/tpu-int8-tpu_lab, and validate would remove the run's files.
  const std::string dir = temp_dir("validate-folder");
  const std::string csv = write_text(dir, "tpu-int8.csv", "M,N,K,fusion_us_avg\n64,64,64,1.0\n");
  REQUIRE(run_cli_in(dir, {"run", "--arch", "tpu_lab", "--workload", kWorkload}).status == 0);
  const Cli r = run_cli_in(
      dir, {"validate", "--arch", "tpu_lab", "--measured", csv, "--dtype", "int8", "--quiet"});
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(fs::exists(dir + "/results/tpu-int8-tpu_lab/stats.json"));
  CHECK(fs::exists(dir + "/results/validate-tpu-int8-tpu_lab/validation.csv"));
}
