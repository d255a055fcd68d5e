// The results contract: what a run reports, for every family. On disk: stats.json (stable keys,
// machine-readable), report.md (for people) and config.resolved.yaml, and the derived metrics,
// computed here once for every family.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "models/core/config.h"
#include "models/core/stats.h"

namespace xpusim {

struct LayerResult {
  std::string name, op;
  std::string dtype;         // the dtype it computes in (its first input's)
  uint64_t cycles = 0;       // from the end of the previous layer to its end (they add up)
  uint64_t span_cycles = 0;  // from its first instruction's start to its last one's end
  uint64_t macs = 0;         // multiply-accumulates of the layer
  // Operations for the roofline: 2 per MAC, or one per output element for a layer without MACs
  // (elementwise, row and pooling ops: a lower bound, the same for every architecture).
  uint64_t ops = 0;
  uint64_t dram_bytes = 0;  // DRAM bytes moved by the layer's instructions
  double utilization = 0;   // macs / (span_cycles * peak MACs per cycle of its dtype)
};

// Operations of one class and dtype (models/core/machine.h lists the classes): performed, and
// the machine's peak rate (0 when it has none for them).
struct OpResult {
  std::string op_class, dtype;
  uint64_t count = 0;
  double peak_per_cycle = 0;
};

// The results of one run, the same for every family.
struct RunResult {
  std::string workload;  // the workload's name, or the program file's stem
  uint64_t total_cycles = 0;
  double clock_mhz = 0;
  double peak_macs_per_cycle = 0;  // the "mac" peak of the dtype that did most MACs
  double peak_offchip_gbps = 0;    // the machine's off-chip bandwidth
  uint64_t macs = 0;               // every "mac" operation, all dtypes
  uint64_t dram_bytes = 0;         // off-chip bytes, read and written
  std::vector<OpResult> ops;       // by class and dtype: every peak, and every count
  uint64_t offchip_read_bytes = 0, offchip_written_bytes = 0, onchip_bytes = 0;
  std::string functional_check = "skipped";  // "passed", "failed" or "skipped"
  std::string check_detail;                  // why, when not passed
  std::vector<LayerResult> layers;
  std::unique_ptr<StatGroup> stats;  // the component tree's statistics
  std::vector<std::string> notes;    // modelling notes worth printing with results
  // Further files of the run for the results folder (name -> bytes), e.g. memory regions a
  // --program run dumps.
  std::vector<std::pair<std::string, std::string>> files;
};

// A unit of the stats tree: a group with a `utilization` statistic.
struct UnitRow {
  std::string unit;  // its path, e.g. "core0.PIPE_M"
  double busy, utilization;
  double flag_wait;  // cycles waiting on flags (units of families that have them), else -1
};
// The units of a stats tree (stats.json's "stats"), depth first in creation order.
std::vector<UnitRow> unit_rows(const nlohmann::ordered_json& stats_tree);

// Simulated seconds of the run at its clock.
double seconds_of(const RunResult& r);

// Utilization, achieved TOPS, DRAM bandwidth and arithmetic intensity, each as
// {"value", "unit", "description"}.
nlohmann::ordered_json derived_metrics(const RunResult& r);

// The whole stats.json document.
nlohmann::ordered_json results_json(const ArchConfig& cfg, const std::string& workload,
                                    const RunResult& r);

// Prepares `dir` for results: creates it, or reuses it when it holds earlier xpusim results
// (marked by a .xpusim-results file, which lists the files each run wrote). Reusing it removes
// the earlier run's files first, so a run that fails leaves no results that look valid and no
// file of an earlier run stays beside this run's. A non-empty folder without the mark is
// refused unless `force`, so nothing a user wrote is overwritten.
void prepare_results_dir(const std::string& dir, bool force);

// Writes one result file into dir (recorded in the mark; written to a temporary name and
// renamed, so it is whole or absent).
void write_result_file(const std::string& dir, const std::string& name, const std::string& bytes);
// The path of a result file that another component writes itself (a trace), recorded in the
// mark.
std::string result_file_path(const std::string& dir, const std::string& name);

// Writes r.files, config.resolved.yaml, report.md and, last, stats.json into dir.
void write_results(const std::string& dir, const ArchConfig& cfg, const std::string& workload,
                   const RunResult& r);

}  // namespace xpusim
