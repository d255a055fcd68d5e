// Every preset loads, describes itself and runs a small workload on its family's model: a
// registry that silently lost a family or a preset with a stale key fails here.
#include <catch2/catch.hpp>

#include <sstream>

#include "tests/support.h"

using namespace xpusim::test;
using Catch::Matchers::Contains;

TEST_CASE("every preset runs the quick-start GEMM", "[unit]") {
  Cli list = run_cli("presets");
  REQUIRE(list.status == 0);
  std::stringstream ss(list.output);
  int presets = 0;
  const std::string dir = temp_dir("presets");
  const std::string wl = write_text(
      dir, "w.yaml", "name: g\nops:\n  - {name: g0, op: gemm, M: 64, N: 64, K: 64, dtype: int8}\n");
  for (std::string line; std::getline(ss, line);) {
    const std::string name = line.substr(0, line.find(' '));
    INFO(name);
    Cli d = run_cli("describe " + name);
    CHECK(d.status == 0);
    CHECK_THAT(d.output, Contains("array.rows"));
    auto s = run_stats("--arch " + name + " --workload " + wl, dir + "/" + name);
    CHECK(s["functional_check"] == "passed");
    CHECK(s["total_cycles"].get<long>() > 0);
    ++presets;
  }
  CHECK(presets >= 4);
}

TEST_CASE("describe prints every parameter with unit and description", "[unit]") {
  Cli d = run_cli("describe tpu");
  REQUIRE(d.status == 0);
  for (const char* key : {"clock_mhz", "array.rows", "array.dataflow", "ub.bytes", "acc.bytes",
                          "weight_fifo.depth", "dram.bandwidth_gbps", "timing.stall_free"})
    CHECK_THAT(d.output, Contains(key));
  CHECK_THAT(d.output, Contains("[GB/s]"));
}
