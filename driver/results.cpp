#include "driver/results.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
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

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  if (!out || !(out << text)) throw Error("cannot write '" + p.string() + "'");
}

// Every group of the stats tree that has a `utilization` statistic, depth first in creation
// order.
void collect_units(const nlohmann::ordered_json& g, const std::string& path,
                   std::vector<UnitRow>& rows) {
  if (g.contains("stats") && g["stats"].contains("utilization")) {
    const auto& s = g["stats"];
    rows.push_back(
        {path, s.contains("busy_cycles") ? s["busy_cycles"]["value"].get<double>() : 0.0,
         s["utilization"]["value"].get<double>(),
         s.contains("flag_wait_cycles") ? s["flag_wait_cycles"]["value"].get<double>() : -1.0});
  }
  if (g.contains("groups"))
    for (const auto& [name, child] : g["groups"].items())
      collect_units(child, path.empty() ? name : path + "." + name, rows);
}

}  // namespace

double seconds_of(const RunResult& r) {
  return ClockDomain(r.clock_mhz).seconds(r.total_cycles);
}

std::vector<UnitRow> unit_rows(const nlohmann::ordered_json& stats_tree) {
  std::vector<UnitRow> rows;
  collect_units(stats_tree, "", rows);
  return rows;
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
  d["peak_dram_bandwidth"] = metric(r.peak_offchip_gbps, "GB/s", "peak off-chip bandwidth",
                                    "the preset's DRAM/HBM bandwidth, whole machine");
  const double intensity = r.dram_bytes ? 2.0 * double(r.macs) / double(r.dram_bytes) : 0;
  d["arithmetic_intensity"] =
      metric(intensity, "ops/byte", "arithmetic intensity", "2 x MACs / DRAM bytes moved");
  // The roofline: min(peak, intensity x bandwidth); its two roofs meet at the ridge point.
  const double peak_tops = d["peak_tops"]["value"].get<double>();
  d["ridge_point"] = metric(r.peak_offchip_gbps > 0 ? peak_tops * 1e3 / r.peak_offchip_gbps : 0,
                            "ops/byte", "ridge point",
                            "peak TOPS x 1e12 / (peak off-chip GB/s x 1e9): the arithmetic "
                            "intensity at which the roofline's two roofs meet");
  d["roofline_tops"] =
      metric(std::min(peak_tops, intensity * r.peak_offchip_gbps / 1e3), "TOPS",
             "roofline at this intensity",
             "min(peak TOPS, arithmetic intensity x peak off-chip GB/s / 1e3): the most the "
             "roofline allows at the run's arithmetic intensity");
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
                           {"dtype", l.dtype},
                           {"cycles", l.cycles},
                           {"span_cycles", l.span_cycles},
                           {"macs", l.macs},
                           {"ops", l.ops},
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

namespace {
const char* kMark = ".xpusim-results";
const char* kMarkText =
    "This folder holds xpusim results; xpusim may overwrite them. Files the last run wrote:\n";

// The files the last run recorded in the mark, one "file: NAME" line each.
std::vector<std::string> recorded_files(const fs::path& d) {
  std::vector<std::string> v;
  std::ifstream in(d / kMark);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("file: ", 0) == 0) v.push_back(line.substr(6));
  return v;
}
}  // namespace

void prepare_results_dir(const std::string& dir, bool force) {
  fs::path d(dir);
  std::error_code ec;
  if (fs::exists(d, ec)) {
    if (!fs::is_directory(d, ec)) throw Error("--out '" + dir + "' exists and is not a folder");
    const bool empty = fs::is_empty(d, ec);
    if (ec) throw Error("--out '" + dir + "': cannot read the folder (" + ec.message() + ")");
    if (!empty && !fs::exists(d / kMark) && !force)
      throw Error("--out '" + dir +
                  "' is a non-empty folder that does not hold xpusim results; refusing to write "
                  "into it (choose another folder or pass --force)");
    // The previous run's results go first, so that this run, should it fail, leaves none that
    // look valid, and none it does not rewrite stays beside its own.
    for (const std::string& f : recorded_files(d))
      if (f.find('/') == std::string::npos && f != kMark) fs::remove(d / f, ec);
  } else if (!fs::create_directories(d, ec) || ec) {
    throw Error("--out '" + dir + "': cannot create the folder (" + ec.message() + ")");
  }
  write_file(d / kMark, kMarkText);
}

std::string result_file_path(const std::string& dir, const std::string& name) {
  const fs::path d(dir);
  std::ofstream mark(d / kMark, std::ios::app);
  if (!mark || !(mark << "file: " << name << "\n"))
    throw Error("cannot write '" + (d / kMark).string() + "'");
  return (d / name).string();
}

void write_result_file(const std::string& dir, const std::string& name, const std::string& bytes) {
  const fs::path path = result_file_path(dir, name);
  // Written whole or not at all: a reader never sees half a file.
  const fs::path tmp = path.string() + ".part";
  write_file(tmp, bytes);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw Error("cannot write '" + path.string() + "' (" + ec.message() + ")");
}

namespace {

std::string report_markdown(const ArchConfig& cfg, const std::string& workload, const RunResult& r,
                            const nlohmann::ordered_json& j) {
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
    const std::vector<UnitRow> units = unit_rows(j["stats"]);
    const bool flags =
        std::any_of(units.begin(), units.end(), [](const UnitRow& u) { return u.flag_wait >= 0; });
    if (!units.empty()) {
      md += flags ? "## Units\n\n| unit | busy cycles | utilization | waiting on flags (cycles) "
                    "|\n|---|---|---|---|\n"
                  : "## Units\n\n| unit | busy cycles | utilization |\n|---|---|---|\n";
      for (const UnitRow& u : units)
        md += fmt::format("| {} | {:.0f} | {:.1f} % |{}\n", u.unit, u.busy, 100.0 * u.utilization,
                          !flags            ? ""
                          : u.flag_wait < 0 ? " |"
                                            : fmt::format(" {:.0f} |", u.flag_wait));
      md += flags ? "\nutilization: busy cycles / total cycles; waiting on flags: cycles the "
                    "unit's queue stood in wait_flag.\n\n"
                  : "\nutilization: busy cycles / total cycles.\n\n";
    }
  }
  if (!r.layers.empty()) {  // a kernel from a file has none
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
  }
  if (!r.notes.empty()) {
    md += "\n## Notes\n\n";
    for (const auto& n : r.notes) md += "- " + n + "\n";
  }
  md +=
      "\nMetric definitions: docs/metrics.md. Every statistic, with its unit and description, "
      "is in stats.json.\n";
  return md;
}

}  // namespace

void write_results(const std::string& dir, const ArchConfig& cfg, const std::string& workload,
                   const RunResult& r) {
  nlohmann::ordered_json j = results_json(cfg, workload, r);
  // Every text is made before any file is written.
  const std::string stats = j.dump(2) + "\n", config = resolved_yaml(cfg);
  const std::string md = report_markdown(cfg, workload, r, j);
  for (const auto& [name, bytes] : r.files) write_result_file(dir, name, bytes);
  write_result_file(dir, "config.resolved.yaml", config);
  write_result_file(dir, "report.md", md);
  write_result_file(dir, "stats.json", stats);
}

}  // namespace xpusim
