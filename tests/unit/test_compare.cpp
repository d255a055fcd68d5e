// `xpusim compare` (driver/compare.h): the per-architecture entry of results.json computed from a
// stats.json by hand, units taken together, the HTML page's inlining, and the command's errors.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "driver/compare.h"
#include "models/core/error.h"
#include "tests/support.h"

namespace fs = std::filesystem;
using namespace xpusim;
using namespace xpusim::test;
using Catch::Matchers::Contains;
using ojson = nlohmann::ordered_json;

namespace {

ojson metric(double v) {
  return {{"value", v}};
}

ojson unit(double busy, double utilization) {
  return {{"stats", {{"busy_cycles", metric(busy)}, {"utilization", metric(utilization)}}}};
}

// A stats.json as `xpusim run` writes it, cut to what compare reads: 1000 MHz, 1000 cycles
// (1 us), a matrix peak of 100 bf16 MACs per cycle (0.2 Tops/s), a vector peak of 10 fp32
// elements per cycle, 10 GB/s off-chip.
ojson stats() {
  ojson s;
  s["arch"] = "toy";
  s["family"] = "tpu";
  s["clock_mhz"] = 1000.0;
  s["total_cycles"] = 1000;
  s["seconds"] = 1e-6;
  s["functional_check"] = "passed";
  s["macs"] = 50000;
  s["derived"] = {{"achieved_tops", metric(0.1)},
                  {"peak_tops", metric(0.2)},
                  {"utilization", metric(0.5)},
                  {"dram_bandwidth", metric(4.0)},
                  {"peak_dram_bandwidth", metric(10.0)}};
  s["ops"] = {{{"class", "mac"},
               {"dtype", "bf16"},
               {"count", 50000},
               {"peak_per_cycle", 100.0},
               {"utilization", 0.5}},
              {{"class", "vector"},
               {"dtype", "fp32"},
               {"count", 0},
               {"peak_per_cycle", 10.0},
               {"utilization", 0.0}}};
  s["traffic"] = {
      {"offchip_read_bytes", 3000}, {"offchip_written_bytes", 1000}, {"onchip_bytes", 9}};
  // A GEMM of 50000 MACs over 600 of its 1000 cycles, 500 cycles of span, 2000 DRAM bytes;
  // a softmax of 1000 elements, 400 cycles, no DRAM traffic.
  s["layers"] = {{{"name", "fc"},
                  {"op", "gemm"},
                  {"dtype", "bf16"},
                  {"cycles", 600},
                  {"span_cycles", 500},
                  {"macs", 50000},
                  {"ops", 100000},
                  {"dram_bytes", 2000}},
                 {{"name", "sm"},
                  {"op", "softmax"},
                  {"dtype", "bf16"},
                  {"cycles", 400},
                  {"span_cycles", 400},
                  {"macs", 0},
                  {"ops", 1000},
                  {"dram_bytes", 0}}};
  s["notes"] = {"a note"};
  s["stats"] = {{"groups",
                 {{"core0", {{"groups", {{"mxu0", unit(10, 0.1)}, {"mxu1", unit(30, 0.3)}}}}},
                  {"core1", {{"groups", {{"mxu0", unit(50, 0.5)}}}}},
                  {"dram", unit(40, 0.4)}}}};
  return s;
}

}  // namespace

TEST_CASE("compare: units of the same kind are taken together", "[unit]") {
  const ojson u = compare::unit_groups(stats()["stats"]);
  REQUIRE(u.size() == 2);
  CHECK(u[0]["unit"] == "core*.mxu*");
  CHECK(u[0]["instances"] == 3);
  CHECK(u[0]["busy_cycles"].get<double>() == Approx(30));
  CHECK(u[0]["utilization"].get<double>() == Approx(0.3));
  CHECK(u[1]["unit"] == "dram");
  CHECK(u[1]["instances"] == 1);
}

TEST_CASE("compare: named units keep their digits, only instances are taken together", "[unit]") {
  ojson tree = {
      {"groups",
       {{"core0", {{"groups", {{"PIPE_MTE1", unit(10, 0.1)}, {"PIPE_MTE2", unit(20, 0.2)}}}}},
        {"core12", {{"groups", {{"PIPE_MTE1", unit(30, 0.3)}}}}}}}};
  const ojson u = compare::unit_groups(tree);
  REQUIRE(u.size() == 2);
  CHECK(u[0]["unit"] == "core*.PIPE_MTE1");
  CHECK(u[0]["instances"] == 2);
  CHECK(u[0]["utilization"].get<double>() == Approx(0.2));
  CHECK(u[1]["unit"] == "core*.PIPE_MTE2");
  CHECK(u[1]["instances"] == 1);
}

TEST_CASE("compare: an architecture's entry, computed by hand", "[unit]") {
  const ojson a = compare::arch_entry(stats(), "a toy chip", "runs/toy");
  CHECK(a["arch"] == "toy");
  CHECK(a["description"] == "a toy chip");
  CHECK(a["results_dir"] == "runs/toy");
  CHECK(a["offchip"]["peak_gbps"].get<double>() == Approx(10));
  // Peaks in tera-operations per second: 2 per MAC (100 x 1e9 x 2), 1 per element.
  REQUIRE(a["peaks"].size() == 2);
  CHECK(a["peaks"][0]["tops"].get<double>() == Approx(0.2));
  CHECK(a["peaks"][1]["tops"].get<double>() == Approx(0.01));
  // Only what was performed has a throughput row: 50000 MACs in 1 us, 0.05 tera-MACs/s.
  REQUIRE(a["throughput"].size() == 1);
  CHECK(a["throughput"][0]["achieved_tera_per_s"].get<double>() == Approx(0.05));
  CHECK(a["throughput"][0]["peak_tera_per_s"].get<double>() == Approx(0.1));
  CHECK(a["units"].size() == 2);

  const ojson& fc = a["layers"][0];
  CHECK(fc["seconds"].get<double>() == Approx(0.6e-6));
  CHECK(fc["share"].get<double>() == Approx(0.6));
  // 100000 ops over 2000 bytes: 50 ops/byte; at 10 GB/s the memory roof is 0.5 Tops/s, above
  // the 0.2 compute ceiling. 100000 ops in the 0.5 us span: 0.2 Tops/s, all of the roofline.
  CHECK(fc["intensity"].get<double>() == Approx(50));
  CHECK(fc["ceiling_tops"].get<double>() == Approx(0.2));
  CHECK(fc["achieved_tops"].get<double>() == Approx(0.2));
  CHECK(fc["fraction_of_roofline"].get<double>() == Approx(1.0));

  // No DRAM traffic: no intensity and no place on the roofline; the ceiling is the fp32 vector
  // peak (no bf16 vector peak): 10 elements per cycle, 0.01 Tops/s.
  const ojson& sm = a["layers"][1];
  CHECK(sm["intensity"].is_null());
  CHECK(sm["fraction_of_roofline"].is_null());
  CHECK(sm["ceiling_tops"].get<double>() == Approx(0.01));
  CHECK(sm["achieved_tops"].get<double>() == Approx(1000 / 0.4e-6 / 1e12));
}

TEST_CASE("compare: the Markdown report lists every architecture and layer", "[unit]") {
  ojson results;
  results["workload"] = {{"name", "w"}, {"file", "w.yaml"}};
  results["functional"] = true;
  ojson b = stats();
  b["arch"] = "other";
  results["architectures"] = {compare::arch_entry(stats(), "a toy chip", "runs/toy"),
                              compare::arch_entry(b, "another", "runs/other")};
  const std::string md = compare::report_md(results);
  CHECK_THAT(md, Contains("| layer | op | dtype | toy | other |"));
  CHECK_THAT(md, Contains("| fc | gemm | bf16 | 0.6 | 0.6 |"));
  CHECK_THAT(md, Contains("| sm | softmax | bf16 | 0.4 | 0.4 |"));
  CHECK_THAT(md, Contains("## other"));
  CHECK_THAT(md, Contains("| core*.mxu* | 3 | 30.0 % |"));
}

TEST_CASE("compare: the page inlines its script, the results and the libraries", "[unit]") {
  const fs::path dir(temp_dir("compare-assets"));
  std::ofstream(dir / "compare.html")
      << "<title>{{title}}</title><script src=\"{{vega}}\"></script>"
         "<script src=\"{{vega-lite}}\"></script><script src=\"{{vega-embed}}\"></script>"
         "<script type=\"application/json\">{{results}}</script><script>{{report.js}}</script>";
  std::ofstream(dir / "report.js") << "const end = '</script>';";
  for (const char* lib : {"vega", "vega-lite", "vega-embed"}) {
    fs::create_directories(dir / "node_modules" / lib / "build");
    std::ofstream(dir / "node_modules" / lib / "build" / (std::string(lib) + ".min.js")) << "Man";
  }
  ojson results;
  results["workload"] = {{"name", "a<b"}, {"file", "w.yaml"}};
  results["note"] = "</script> {{report.js}} {{title}}";
  const std::string page = compare::report_html(results, dir.string());
  CHECK_THAT(page, Contains("<title>xpusim compare: a&lt;b</title>"));
  CHECK_THAT(page, Contains("src=\"data:text/javascript;base64,TWFu\""));  // "Man"
  CHECK_THAT(page, Contains("const end = '<\\/script>';"));
  // Filled text is never searched for markers: a user's "{{...}}" stays as written.
  CHECK_THAT(page, Contains("\"note\":\"\\u003c/script> {{report.js}} {{title}}\""));
  CHECK(page.find("{{vega") == std::string::npos);

  fs::remove(dir / "node_modules" / "vega-lite" / "build" / "vega-lite.min.js");
  CHECK_THROWS_WITH(compare::report_html(results, dir.string()),
                    Contains("vega-lite.min.js") && Contains("scripts/install-deps.sh"));
}

TEST_CASE("compare: refused before any simulation: an architecture given twice, no workload",
          "[unit]") {
  const std::string w = std::string(XPUSIM_SOURCE_DIR) + "/workloads/examples/gemm-1000.yaml";
  const Cli twice = run_cli({"compare", "--arch", "tpu_lab,tpu_lab", "--workload", w});
  CHECK(twice.status == 1);
  CHECK_THAT(twice.output, Contains("given twice"));
  const Cli missing = run_cli({"compare", "--arch", "tpu_lab", "--workload", "no-such.yaml"});
  CHECK(missing.status == 1);
  CHECK_THAT(missing.output, Contains("no-such.yaml"));
}

TEST_CASE("compare: an ONNX model's dtype and test data reach every architecture's run", "[unit]") {
  const std::string node = "/usr/share/libonnx-testdata/data/node/test_matmul_2d";
  const std::string out = temp_dir("compare-onnx") + "/r";
  const Cli r = run_cli({"compare", "--arch", "tpu_lab,gpu_lab", "--workload", node + "/model.onnx",
                         "--dtype", "fp32", "--onnx-test-data", node + "/test_data_set_0", "--jobs",
                         "1", "--out", out});
  INFO(r.output);
  REQUIRE(r.status == 0);
  const ojson results = ojson::parse(std::ifstream(out + "/results.json"));
  REQUIRE(results["architectures"].size() == 2);
  for (const auto& a : results["architectures"]) {
    INFO(a["arch"]);
    CHECK(a["functional_check"] == "passed");
    bool matched = false;
    for (const auto& n : a["notes"])
      matched = matched || n.get<std::string>().find("output_N.pb") != std::string::npos;
    CHECK(matched);
    // fp32 operands (the default is bf16).
    bool fp32 = false;
    for (const auto& l : a["layers"]) fp32 = fp32 || l["dtype"] == "fp32";
    CHECK(fp32);
  }
  // Refused before any simulation: --dtype for a YAML workload, test data without values.
  const std::string w = std::string(XPUSIM_SOURCE_DIR) + "/workloads/examples/gemm-1000.yaml";
  const Cli yaml = run_cli({"compare", "--arch", "tpu_lab", "--workload", w, "--dtype", "fp32"});
  CHECK(yaml.status == 1);
  CHECK_THAT(yaml.output, Contains("are for ONNX models"));
  const Cli timing = run_cli({"compare", "--arch", "tpu_lab", "--workload", node + "/model.onnx",
                              "--onnx-test-data", node + "/test_data_set_0", "--no-functional"});
  CHECK(timing.status == 1);
  CHECK_THAT(timing.output, Contains("drop --no-functional"));
}

TEST_CASE("compare --set: a parameter reaches the architectures that have it", "[unit]") {
  const std::string w =
      std::string(XPUSIM_SOURCE_DIR) + "/workloads/examples/transformer-block.yaml";
  const std::string out = temp_dir("compare-set") + "/r";
  const Cli r = run_cli({"compare", "--arch", "tpu_lab,gpu_lab", "--workload", w, "--no-functional",
                         "--set", "sampling.launches=1", "--jobs", "1", "--out", out});
  INFO(r.output);
  REQUIRE(r.status == 0);
  const nlohmann::json gpu = nlohmann::json::parse(std::ifstream(out + "/runs/gpu_lab/stats.json"));
  CHECK(gpu["stats"]["groups"].contains("launch_sampling"));
  // Refused before any simulation: a parameter no architecture has, a value the parameter
  // does not take, a word without '='.
  for (const char* set : {"no.such=1", "sampling.launches=many", "sampling.launches"}) {
    INFO(set);
    const Cli bad = run_cli(
        {"compare", "--arch", "tpu_lab,gpu_lab", "--workload", w, "--no-functional", "--set", set});
    CHECK(bad.status == 1);
    CHECK_THAT(bad.output, Contains(std::string(set)));
  }
}

TEST_CASE("run --progress-lines: a line per layer, in order, on each family", "[unit]") {
  const std::string w =
      std::string(XPUSIM_SOURCE_DIR) + "/workloads/examples/transformer-block.yaml";
  for (const char* arch : {"tpu_lab", "davinci_lab"}) {
    INFO(arch);
    const std::string out = temp_dir(std::string("progress-") + arch) + "/r";
    const Cli r = run_cli({"run", "--arch", arch, "--workload", w, "--no-functional",
                           "--progress-lines", "--out", out});
    INFO(r.output);
    REQUIRE(r.status == 0);
    const nlohmann::json stats = nlohmann::json::parse(std::ifstream(out + "/stats.json"));
    const size_t layers = stats["layers"].size();
    size_t seen = 0;
    std::istringstream lines(r.output);
    for (std::string line; std::getline(lines, line);)
      if (line.rfind("xpusim-progress: layer ", 0) == 0) {
        ++seen;
        CHECK_THAT(line, Contains(fmt::format("layer {}/{} ", seen, layers)));
      }
    CHECK(seen == layers);
  }
}
