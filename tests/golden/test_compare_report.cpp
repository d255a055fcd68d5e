// `xpusim compare` end to end: a workload on a TPU and a DaVinci-style preset, with values
// checked, then the HTML report opened in headless Chromium (tests/browser/
// check_compare_report.mjs, playwright-core from report/node_modules): every architecture and
// layer shown, every plot drawn, no console error, no network request.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support.h"

using namespace xpusim::test;
using Catch::Matchers::Contains;

TEST_CASE("compare: a TPU and a DaVinci preset, the report checked in headless Chromium",
          "[golden]") {
  const std::string src = XPUSIM_SOURCE_DIR;
  const std::string out = temp_dir("compare-report") + "/cmp";
  const Cli c = run_cli({"compare", "--arch", "tpu_lab,davinci_lab", "--workload",
                         src + "/workloads/examples/transformer-block.yaml", "--out", out});
  INFO(c.output);
  REQUIRE(c.status == 0);
  CHECK_THAT(c.output, Contains("tpu_lab:") && Contains("davinci_lab:"));
  // A line per architecture and layer, as each layer starts.
  CHECK_THAT(c.output, Contains("  tpu_lab: layer 1/") && Contains("  davinci_lab: layer 1/"));

  const nlohmann::json r = nlohmann::json::parse(std::ifstream(out + "/results.json"));
  REQUIRE(r["architectures"].size() == 2);
  for (const auto& a : r["architectures"]) {
    CHECK(a["functional_check"] == "passed");
    CHECK(a["layers"].size() == r["architectures"][0]["layers"].size());
    CHECK(a["total_cycles"].get<uint64_t>() > 0);
  }

  const Cli page = run_command({"node", src + "/tests/browser/check_compare_report.mjs", out});
  INFO(page.output);
  CHECK(page.status == 0);
}
