// `xpusim compare`: one workload on several architectures of any families, side by side. Each
// architecture is simulated by `xpusim run` in a process of its own (SystemC elaborates once per
// process), several at once; their stats.json files become one results.json, a report.md and a
// self-contained report.html (Vega-Lite plots inlined: it opens offline). docs/compare.md
// describes every field.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xpusim::compare {

struct Options {
  std::vector<std::string> archs;   // preset names or configuration files, at least one
  std::string workload;             // workload YAML file, ONNX model or zoo model name
  std::vector<std::string> params;  // the workload's params, NAME=VALUE (--param)
  // Architecture parameters, NAME=VALUE (--set), each given to every architecture that has it.
  std::vector<std::string> sets;
  std::string dtype;           // ONNX models: the dtype of float tensors (--dtype)
  std::string onnx_test_data;  // ONNX models: input_N.pb / output_N.pb folder
  std::string out;             // results folder; empty: results/compare-<workload>
  bool functional = true;      // compute and check values (false: timing only)
  uint64_t seed = 1;           // seed of the generated inputs and weights
  unsigned jobs = 0;           // simulations at once; 0: one per CPU
  bool force = false;          // write into a non-empty folder xpusim did not make
};

// One architecture's entry of results.json, from its run's stats.json (driver/results.h);
// `description` is its preset's, `results_dir` its run folder relative to the report.
nlohmann::ordered_json arch_entry(const nlohmann::json& stats, const std::string& description,
                                  const std::string& results_dir);

// The units of a stats tree (every group with a `utilization` statistic), instances of the same
// unit taken together: a path's numbers become '*' ("core3.mxu1" -> "core*.mxu*"), and the
// instances' busy cycles and utilizations are averaged.
nlohmann::ordered_json unit_groups(const nlohmann::json& stats_tree);

// The Markdown report of a results.json document.
std::string report_md(const nlohmann::ordered_json& results);

// The HTML report: the page template of `report_dir` (report/compare.html) filled with the
// results, its script and the plotting libraries, each inlined. Error naming the missing file
// when the libraries are not installed (scripts/install-deps.sh installs them).
std::string report_html(const nlohmann::ordered_json& results, const std::string& report_dir);

// Checks every input, runs the simulations and writes results.json, report.md, report.html and
// runs/<arch>/ (each run's own results) into the results folder; prints a line per architecture
// as it ends. Returns false when a functional check failed (the reports say which). Error when an
// architecture's family does not compile workloads, or a simulation fails (its output included).
bool run(const Options& o);

}  // namespace xpusim::compare
