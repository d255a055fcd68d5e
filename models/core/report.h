// Results on disk: stats.json (stable keys, machine-readable), report.md (for people) and
// config.resolved.yaml, and the derived metrics, computed here once for every family.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "models/core/backend.h"

namespace xpusim {

// Utilization, achieved TOPS, DRAM bandwidth and arithmetic intensity, each as
// {"value", "unit", "description"}.
nlohmann::ordered_json derived_metrics(const RunResult& r);

// The whole stats.json document.
nlohmann::ordered_json results_json(const ArchConfig& cfg, const std::string& workload,
                                    const RunResult& r);

// Prepares `dir` for results: creates it, or reuses it when it holds earlier xpusim results
// (marked by a .xpusim-results file). A non-empty folder without the mark is refused unless
// `force`, so nothing a user wrote is overwritten.
void prepare_results_dir(const std::string& dir, bool force);

// Writes stats.json, report.md and config.resolved.yaml into dir.
void write_results(const std::string& dir, const ArchConfig& cfg, const std::string& workload,
                   const RunResult& r);

}  // namespace xpusim
