// SCALE-Sim v2 compatibility: on the tpu-scalesim preset, xpusim's cycle count for a GEMM
// equals SCALE-Sim's printed "Total Cycles" + 1 (it prints the index of the last cycle), for
// every row of its sample (arrays 8x8, 16x64, 32x32, 128x128; dataflows os, ws, is).
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "tests/support.h"

using namespace xpusim::test;

TEST_CASE("tpu-scalesim reproduces SCALE-Sim v2 stall-free cycles", "[golden]") {
  std::ifstream csv(std::string(XPUSIM_SOURCE_DIR) + "/tests/golden/data/scalesim-v2-sample.csv");
  REQUIRE(csv);
  std::string line;
  std::getline(csv, line);  // header
  const std::string dir = temp_dir("scalesim");
  int rows = 0;
  while (std::getline(csv, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    REQUIRE(f.size() == 11);
    const std::string M = f[4], N = f[5], K = f[6];
    const long expected = std::stol(f[7]) + 1;
    const std::string wl = write_text(
        dir, "w.yaml",
        fmt::format("name: {}\nops:\n  - {{name: g, op: gemm, M: {}, N: {}, K: {}, dtype: int8}}\n",
                    f[3], M, N, K));
    // Functional on: the edge folds of every dataflow are checked for values too.
    nlohmann::json s =
        run_stats({"--arch", "tpu-scalesim", "--workload", wl, "--set", "array.rows=" + f[0],
                   "--set", "array.cols=" + f[1], "--set", "array.dataflow=" + f[2]},
                  dir + "/out");
    INFO(line);
    CHECK(s["total_cycles"].get<long>() == expected);
    CHECK(s["functional_check"] == "passed");
    ++rows;
  }
  CHECK(rows == 36);
}

TEST_CASE("tpu-scalesim streams every ws fold's M rows whole, however large A", "[golden]") {
  // SCALE-Sim's weight-stationary folds each stream all M rows: a fold takes 2R + M + C - 2
  // cycles, back to back (the rule the sample's ws rows follow). An A of 300,000 x 40,000 bytes
  // does not fit the preset's unified buffer; splitting M into row blocks that do would add a
  // fold's fixed cycles for each block (timing only: A alone is 12 GB).
  const std::string dir = temp_dir("scalesim-large");
  const std::string wl =
      write_text(dir, "w.yaml",
                 "name: large\nops:\n  - {name: g, op: gemm, M: 300000, N: 64, K: 40000, dtype: "
                 "int8}\n");
  nlohmann::json s =
      run_stats({"--arch", "tpu-scalesim", "--workload", wl, "--no-functional"}, dir + "/out");
  const long R = 32, C = 32, folds = (40000 / R) * (64 / C);
  CHECK(s["total_cycles"].get<long>() == folds * (2 * R + 300000 + C - 2));
}
