#include "driver/results.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <tuple>
#include <vector>

#include "models/core/clock.h"

namespace fs = std::filesystem;

namespace xpusim {
namespace {

nlohmann::ordered_json metric(double value, const std::string& unit, const std::string& label,
                              const std::string& desc) {
  return {{"value", value}, {"unit", unit}, {"label", label}, {"description", desc}};
}

double op_utilization(const RunResult& r, const OpResult& o) {
  const double peak = o.peak_per_cycle * double(r.total_cycles);
  return peak > 0 ? double(o.count) / peak : 0;
}

// Every group of the stats tree that has a `utilization` statistic, as (dotted path, busy
// cycles, utilization), depth first in creation order.
void unit_rows(const nlohmann::ordered_json& g, const std::string& path,
               std::vector<std::tuple<std::string, double, double>>& rows) {
  if (g.contains("stats") && g["stats"].contains("utilization"))
    rows.emplace_back(
        path,
        g["stats"].contains("busy_cycles") ? g["stats"]["busy_cycles"]["value"].get<double>() : 0.0,
        g["stats"]["utilization"]["value"].get<double>());
  if (g.contains("groups"))
    for (const auto& [name, child] : g["groups"].items())
      unit_rows(child, path.empty() ? name : path + "." + name, rows);
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  if (!out || !(out << text)) throw Error("cannot write '" + p.string() + "'");
}

}  // namespace

double seconds_of(const RunResult& r) {
  return ClockDomain(r.clock_mhz).seconds(r.total_cycles);
}

nlohmann::ordered_json derived_metrics(const RunResult& r) {
  double secs = seconds_of(r);
  double peak = r.peak_macs_per_cycle * double(r.total_cycles);
  nlohmann::ordered_json d;
  d["utilization"] = metric(peak > 0 ? double(r.macs) / peak : 0, "fraction", "MAC utilization",
                            "MACs performed / (total cycles x peak MACs per cycle)");
  d["achieved_tops"] =
      metric(secs > 0 ? 2.0 * double(r.macs) / secs / 1e12 : 0, "TOPS", "achieved matrix TOPS",
             "2 x MACs / simulated seconds / 1e12 (an int8 or bf16 op each)");
  d["peak_tops"] = metric(2.0 * r.peak_macs_per_cycle * r.clock_mhz * 1e6 / 1e12, "TOPS",
                          "peak matrix TOPS", "2 x peak MACs per cycle x clock / 1e12");
  d["dram_bandwidth"] = metric(secs > 0 ? double(r.dram_bytes) / secs / 1e9 : 0, "GB/s",
                               "off-chip bandwidth", "DRAM bytes moved / simulated seconds / 1e9");
  d["arithmetic_intensity"] =
      metric(r.dram_bytes ? 2.0 * double(r.macs) / double(r.dram_bytes) : 0, "ops/byte",
             "arithmetic intensity", "2 x MACs / DRAM bytes moved");
  return d;
}

nlohmann::ordered_json results_json(const ArchConfig& cfg, const std::string& workload,
                                    const RunResult& r) {
  nlohmann::ordered_json j;
  j["schema"] = 1;
  j["arch"] = cfg.name;
  j["family"] = cfg.family;
  j["workload"] = workload;
  j["total_cycles"] = r.total_cycles;
  j["clock_mhz"] = r.clock_mhz;
  j["seconds"] = seconds_of(r);
  j["macs"] = r.macs;
  j["dram_bytes"] = r.dram_bytes;
  j["functional_check"] = r.functional_check;
  if (!r.check_detail.empty()) j["functional_check_detail"] = r.check_detail;
  j["layers"] = nlohmann::ordered_json::array();
  for (const auto& l : r.layers)
    j["layers"].push_back({{"name", l.name},
                           {"op", l.op},
                           {"cycles", l.cycles},
                           {"span_cycles", l.span_cycles},
                           {"macs", l.macs},
                           {"utilization", l.utilization},
                           {"dram_bytes", l.dram_bytes}});
  j["ops"] = nlohmann::ordered_json::array();
  for (const OpResult& o : r.ops)
    j["ops"].push_back({{"class", o.op_class},
                        {"dtype", o.dtype},
                        {"count", o.count},
                        {"peak_per_cycle", o.peak_per_cycle},
                        {"utilization", op_utilization(r, o)}});
  j["traffic"] = {{"offchip_read_bytes", r.offchip_read_bytes},
                  {"offchip_written_bytes", r.offchip_written_bytes},
                  {"onchip_bytes", r.onchip_bytes}};
  j["derived"] = derived_metrics(r);
  j["notes"] = r.notes;
  if (r.stats) j["stats"] = r.stats->to_json();
  return j;
}

void prepare_results_dir(const std::string& dir, bool force) {
  fs::path d(dir);
  if (fs::exists(d)) {
    if (!fs::is_directory(d)) throw Error("--out '" + dir + "' exists and is not a folder");
    bool empty = fs::directory_iterator(d) == fs::directory_iterator();
    if (!empty && !fs::exists(d / ".xpusim-results") && !force)
      throw Error("--out '" + dir +
                  "' is a non-empty folder that does not hold xpusim results; refusing to write "
                  "into it (choose another folder or pass --force)");
  }
  fs::create_directories(d);
  write_file(d / ".xpusim-results",
             "This folder holds xpusim results; xpusim may overwrite them.\n");
}

void write_results(const std::string& dir, const ArchConfig& cfg, const std::string& workload,
                   const RunResult& r) {
  fs::path d(dir);
  nlohmann::ordered_json j = results_json(cfg, workload, r);
  write_file(d / "stats.json", j.dump(2) + "\n");
  write_file(d / "config.resolved.yaml", resolved_yaml(cfg));

  std::string md = fmt::format("# xpusim report: {} on {}\n\n", workload, cfg.name);
  md += fmt::format("Architecture `{}` (family `{}`){}\n\n", cfg.name, cfg.family,
                    cfg.description.empty() ? "" : ": " + cfg.description);
  md += "| metric | value | unit |\n|---|---|---|\n";
  md += fmt::format("| total cycles | {} | cycles |\n", r.total_cycles);
  md += fmt::format("| time at {:g} MHz | {:.6g} | s |\n", r.clock_mhz, seconds_of(r));
  md += fmt::format("| MACs | {} | MAC |\n", r.macs);
  md += fmt::format("| off-chip traffic (read + written) | {} | bytes |\n", r.dram_bytes);
  md += fmt::format("| on-chip buffer traffic | {} | bytes |\n", r.onchip_bytes);
  for (const auto& [k, v] : j["derived"].items()) {
    const bool fraction = v["unit"] == "fraction";
    md += fmt::format("| {} | {:.4g} | {} |\n", v["label"].get<std::string>(),
                      v["value"].get<double>() * (fraction ? 100 : 1),
                      fraction ? "%" : v["unit"].get<std::string>());
  }
  md += fmt::format("| functional check | {} | |\n\n", r.functional_check);
  if (!r.check_detail.empty()) md += "Functional check: " + r.check_detail + "\n\n";
  md += "## Operations\n\n| class | dtype | performed | peak per cycle | utilization |\n";
  md += "|---|---|---|---|---|\n";
  for (const OpResult& o : r.ops)
    md += fmt::format("| {} | {} | {} | {:g} | {:.1f} % |\n", o.op_class, o.dtype, o.count,
                      o.peak_per_cycle, 100.0 * op_utilization(r, o));
  md += "\nutilization: performed / (total cycles x peak per cycle).\n\n";
  if (j.contains("stats")) {
    std::vector<std::tuple<std::string, double, double>> units;
    unit_rows(j["stats"], "", units);
    if (!units.empty()) {
      md += "## Units\n\n| unit | busy cycles | utilization |\n|---|---|---|\n";
      for (const auto& [unit, busy, u] : units)
        md += fmt::format("| {} | {:.0f} | {:.1f} % |\n", unit, busy, 100.0 * u);
      md += "\nutilization: busy cycles / total cycles.\n\n";
    }
  }
  md += "## Layers\n\n| layer | op | cycles | share | span | MACs | utilization | DRAM bytes |\n";
  md += "|---|---|---|---|---|---|---|---|\n";
  for (const auto& l : r.layers)
    md += fmt::format("| {} | {} | {} | {:.1f} % | {} | {} | {:.1f} % | {} |\n", l.name, l.op,
                      l.cycles,
                      r.total_cycles ? 100.0 * double(l.cycles) / double(r.total_cycles) : 0.0,
                      l.span_cycles, l.macs, 100.0 * l.utilization, l.dram_bytes);
  md +=
      "\ncycles: from the end of the previous layer to the end of this one (they add up to the "
      "total); span: from the layer's first instruction to its last (neighbours' spans "
      "overlap); utilization: MACs / (span x peak MACs per cycle).\n";
  if (!r.notes.empty()) {
    md += "\n## Notes\n\n";
    for (const auto& n : r.notes) md += "- " + n + "\n";
  }
  md +=
      "\nMetric definitions: docs/metrics.md. Every statistic, with its unit and description, "
      "is in stats.json.\n";
  write_file(d / "report.md", md);
}

}  // namespace xpusim
