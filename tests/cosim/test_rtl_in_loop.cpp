// RTL in the loop: `xpusim run --rtl` (array.model rtl) runs every matmul on the verilated
// systolic array and must give the same values, cycles and statistics as the model's formula
// path (ArrayTiming): the whole stats.json is compared, only the notes differ.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/support.h"

using xpusim::test::Args;
using xpusim::test::rtl_same_as_formula;
using xpusim::test::run_cli;
using xpusim::test::temp_dir;
using xpusim::test::write_text;

namespace {

const std::string kSrc = XPUSIM_SOURCE_DIR;
const std::string kCnn = kSrc + "/workloads/examples/small-cnn.yaml";

void same_as_model(const Args& args, const std::string& name) {
  const auto [want, got] = rtl_same_as_formula(args, temp_dir(name));
  CHECK(got["functional_check"] == "passed");
  CHECK(want["functional_check"] == "passed");
}

const char* kGemm = R"(name: rtl-gemm
ops:
  - {name: g0, op: gemm, M: 40, N: 36, K: 50, dtype: int8}
  - {name: g1, op: gemm, M: 40, N: 20, K: 36, dtype: int8}
)";

}  // namespace

TEST_CASE("rtl in the loop: small-cnn on tpu_lab matches the model", "[cosim]") {
  same_as_model({"--arch", "tpu_lab", "--workload", kCnn}, "rtl-cnn");
}

// Output-stationary with DRAM contention: the DMAs that wait for a tile's operands to be read
// wake in a later delta cycle under --rtl, so this case needs the channel's arbitration to be
// independent of delta order (docs/models/tpu.md, DRAM channel).
TEST_CASE("rtl in the loop: small-cnn in os matches the model", "[cosim]") {
  same_as_model({"--arch", "tpu_lab", "--set", "array.dataflow=os", "--workload", kCnn},
                "rtl-cnn-os");
}

TEST_CASE("rtl in the loop: two arrays sharing the DRAM channel match the model", "[cosim]") {
  same_as_model({"--arch", "tpu_lab", "--set", "array.count=2", "--set", "array.dataflow=os",
                 "--workload", kCnn},
                "rtl-cnn-2");
}

TEST_CASE("rtl in the loop: a chip of two cores matches the model", "[cosim]") {
  same_as_model({"--arch", "tpu_lab", "--set", "chip.cores=2", "--workload", kCnn}, "rtl-chip");
}

TEST_CASE("rtl in the loop: an int8 GEMM in is matches the model", "[cosim]") {
  const std::string w = write_text(temp_dir("rtl-gemm-is"), "gemm.yaml", kGemm);
  same_as_model({"--arch", "tpu_lab", "--set", "array.dataflow=is", "--workload", w}, "rtl-is");
}

TEST_CASE("rtl in the loop: bf16 matmuls and unbuilt shapes are errors", "[cosim]") {
  const std::string dir = temp_dir("rtl-errors");
  auto bf16 = run_cli({"run", "--arch", "tpu_lab", "--rtl", "--out", dir + "/a", "--workload",
                       kSrc + "/workloads/examples/quickstart.yaml"});
  CHECK(bf16.status == 1);
  CHECK(bf16.output.find("the RTL array multiplies int8") != std::string::npos);
  const std::string w = write_text(dir, "gemm.yaml", kGemm);
  auto shape = run_cli({"run", "--arch", "tpu_lab", "--rtl", "--set", "array.rows=32", "--out",
                        dir + "/b", "--workload", w});
  CHECK(shape.status == 1);
  CHECK(shape.output.find("no verilated 32x16") != std::string::npos);
  CHECK(shape.output.find("16x16") != std::string::npos);
}

TEST_CASE("rtl in the loop: --vcd writes the array's waveforms", "[cosim]") {
  const std::string dir = temp_dir("rtl-vcd");
  const std::string w = write_text(dir, "gemm.yaml", kGemm);
  auto r = run_cli({"run", "--arch", "tpu_lab", "--rtl", "--vcd", dir + "/mxu.vcd", "--vcd-range",
                    "1:2", "--out", dir + "/out", "--workload", w});
  REQUIRE(r.status == 0);
  std::ifstream f(dir + "/mxu.vcd");
  std::stringstream text;
  text << f.rdbuf();
  CHECK(text.str().find("$enddefinitions") != std::string::npos);
}
