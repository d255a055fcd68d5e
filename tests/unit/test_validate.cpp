// `xpusim validate` (driver/validate.h): the accuracy statistics against values computed by hand,
// and the command on tests/data/tpu-v4-matmul-3.csv, three rows of the TPU v4 GEMM latencies
// measured on a real chip (M, N, K and times in microseconds: 128^3, 512x256x1024, 1024^3).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "driver/validate.h"
#include "models/core/error.h"
#include "tests/support.h"

namespace fs = std::filesystem;
using namespace xpusim;
using namespace xpusim::test;
using Catch::Matchers::Contains;

namespace {

const std::string kCsv = std::string(XPUSIM_SOURCE_DIR) + "/tests/data/tpu-v4-matmul-3.csv";

}  // namespace

TEST_CASE("validate: MAPE, Pearson r and the ratio, computed by hand", "[unit]") {
  // predicted 2, 4, 9 against measured 1, 5, 10: relative errors 1, 0.2, 0.1; ratios 2, 0.8,
  // 0.9. Deviations from the means (5 and 16/3): -3, -1, 4 and -13/3, -1/3, 14/3, so
  // covariance sum 32, sums of squares 26 and 122/3: r = 32 / sqrt(26 * 122 / 3).
  const validate::Accuracy a = validate::accuracy({2, 4, 9}, {1, 5, 10});
  CHECK(a.rows == 3);
  CHECK(a.mape_percent == Approx(130.0 / 3));
  CHECK(a.pearson_r == Approx(32 / std::sqrt(26.0 * 122 / 3)));
  CHECK(a.pearson_r == Approx(0.98411).epsilon(1e-5));
  CHECK(a.ratio_mean == Approx(3.7 / 3));
  CHECK(a.ratio_min == Approx(0.8));
  CHECK(a.ratio_max == Approx(2));
  // A perfect prediction, and one that is off by a constant factor: r is 1 for both.
  const validate::Accuracy same = validate::accuracy({1, 2, 3}, {1, 2, 3});
  CHECK(same.mape_percent == 0);
  CHECK(same.pearson_r == Approx(1));
  const validate::Accuracy twice = validate::accuracy({2, 4, 6}, {1, 2, 3});
  CHECK(twice.mape_percent == Approx(100));
  CHECK(twice.pearson_r == Approx(1));
  CHECK(twice.ratio_min == twice.ratio_max);
  // r is undefined when one series is constant.
  CHECK(std::isnan(validate::accuracy({1, 1}, {1, 2}).pearson_r));
  CHECK(std::isnan(validate::accuracy({3}, {2}).pearson_r));
}

TEST_CASE("validate: predicted against measured for a CSV of GEMMs", "[unit]") {
  const std::string dir = temp_dir("validate");
  const Cli r = run_cli({"validate", "--arch", "tpu_v4", "--measured", kCsv, "--jobs", "2", "--out",
                         dir + "/out", "--quiet"});
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.output, Contains("MAPE: ") && Contains("Pearson r: ") &&
                           Contains("predicted / measured: mean "));
  const nlohmann::json s = nlohmann::json::parse(read_text(dir + "/out/summary.json"));
  CHECK(s["arch"] == "tpu_v4");
  CHECK(s["file"] == kCsv);
  CHECK(s["column"] == "fusion_us_avg");
  CHECK(s["dtype"] == "bf16");
  CHECK(s["sets"] == nlohmann::json::array());
  CHECK(s["rows"] == 3);
  CHECK(s["mape_percent"].get<double>() > 0);
  CHECK(std::fabs(s["pearson_r"].get<double>()) <= 1);
  const nlohmann::json& ratio = s["predicted_over_measured"];
  CHECK(ratio["min"] <= ratio["mean"]);
  CHECK(ratio["mean"] <= ratio["max"]);

  // Each row's prediction is what `xpusim run` gives for that GEMM alone.
  const std::string csv = read_text(dir + "/out/validation.csv");
  CHECK(csv.rfind("line,M,N,K,measured_us,predicted_us,ratio,error_percent\n", 0) == 0);
  const std::string last = csv.substr(csv.rfind("\n4,") + 1);
  const std::string wl = write_text(
      dir, "g.yaml",
      "name: g\nops:\n  - {name: g, op: gemm, M: 1024, N: 1024, K: 1024, dtype: bf16}\n");
  const double seconds =
      run_stats({"--arch", "tpu_v4", "--no-functional", "--workload", wl}, dir + "/one")["seconds"];
  std::stringstream fields(last);
  std::string field;
  for (int i = 0; i < 6; ++i) std::getline(fields, field, ',');
  CHECK(std::stod(field) == Approx(seconds * 1e6));

  // Another column, a --set, and the same folder again (it holds xpusim's results).
  const Cli min = run_cli({"validate", "--arch", "tpu_v4", "--measured", kCsv, "--column",
                           "fusion_us_min", "--set", "clock_mhz=940", "--out", dir + "/out"});
  INFO(min.output);
  REQUIRE(min.status == 0);
  const nlohmann::json m = nlohmann::json::parse(read_text(dir + "/out/summary.json"));
  CHECK(m["column"] == "fusion_us_min");
  CHECK(m["sets"] == nlohmann::json::array({"clock_mhz=940"}));

  // A progress line on a terminal, unless --quiet (and never elsewhere: above).
  const Args again = {"validate", "--arch", "tpu_v4", "--measured", kCsv, "--out", dir + "/out"};
  const std::optional<Cli> shown = run_cli_on_terminal(again);
  if (!shown) return;  // no way to run on a terminal
  CHECK_THAT(shown->output, Contains("simulated 3/3 rows"));
  CHECK_THAT(r.output + min.output, !Contains("simulated 1/3"));
  Args quiet = again;
  quiet.push_back("--quiet");
  CHECK_THAT(run_cli_on_terminal(quiet)->output, !Contains("simulated 1/3"));
}

TEST_CASE("validate: a malformed CSV is an error naming file and line", "[unit]") {
  const std::string dir = temp_dir("validate-errors");
  auto check_error = [&](const std::string& name, const std::string& text,
                         const std::string& message) {
    const std::string csv = write_text(dir, name, text);
    const Cli r = run_cli(
        {"validate", "--arch", "tpu_v4", "--measured", csv, "--out", dir + "/" + name + ".out"});
    INFO(r.output);
    CHECK(r.status == 1);
    CHECK_THAT(r.output, Contains(csv + message));
  };
  check_error("no-header.csv", "128,128,128,1.5\n",
              ":1: expected a header row naming the columns M, N, K and fusion_us_avg");
  check_error("size.csv", "M,N,K,fusion_us_avg\n128,128,128,1.5\n128,x,128,1.5\n",
              ":3: N: expected a positive whole number, found 'x'");
  check_error("time.csv", "M,N,K,fusion_us_avg\r\n128,128,128,-1\r\n",
              ":2: fusion_us_avg: expected a positive time in microseconds, found '-1'");
  check_error("fields.csv", "M,N,K,fusion_us_avg\n\n128,128,128\n",
              ":3: expected 4 fields, as the header has, found 3");
  check_error("empty.csv", "M,N,K,fusion_us_avg\n", ": no measured rows after the header");
  check_error("twice.csv", "M,N,K,M,fusion_us_avg\n", ":1: column 'M' is named twice");

  // A folder of the user's is not overwritten.
  const std::string mine = dir + "/mine";
  fs::create_directory(mine);
  write_text(mine, "notes.txt", "mine\n");
  const Cli r = run_cli({"validate", "--arch", "tpu_v4", "--measured", kCsv, "--out", mine});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("refusing to write into it"));
  CHECK(read_text(mine + "/notes.txt") == "mine\n");
}
