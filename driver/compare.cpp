#include "driver/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "compiler/ir/params.h"
#include "driver/child.h"
#include "driver/driver.h"
#include "driver/results.h"
#include "models/core/config.h"
#include "models/core/limits.h"
#include "models/core/machine.h"
#include "models/core/names.h"
#include "models/core/shipped.h"

namespace fs = std::filesystem;

namespace xpusim::compare {
namespace {

using ojson = nlohmann::ordered_json;

// A rate per cycle at the clock, in units of 10^12 per second.
double tera(double per_cycle, double clock_mhz) {
  return per_cycle * clock_mhz / 1e6;
}

double derived(const ojson& stats, const char* key) {
  return stats.at("derived").at(key).at("value").get<double>();
}

// The peak per cycle of the class and dtype in stats.json's "ops", else 0.
double peak_of(const ojson& ops, const std::string& op_class, const std::string& dtype) {
  for (const auto& o : ops)
    if (o["class"] == op_class && o["dtype"] == dtype) return o["peak_per_cycle"].get<double>();
  return 0;
}

// A layer's compute ceiling in tera-operations per second (2 per MAC, 1 per vector element):
// the matrix peak of its dtype (else the run's) for a layer with MACs; for one without, the
// vector peak of its dtype, else fp32's, else the largest; null when the machine has no vector
// unit.
ojson layer_ceiling(const ojson& stats, const ojson& layer) {
  const ojson& ops = stats["ops"];
  const double clock = stats["clock_mhz"].get<double>();
  const std::string dtype = layer["dtype"].get<std::string>();
  if (layer["macs"].get<uint64_t>() > 0) {
    const double p = peak_of(ops, "mac", dtype);
    return p > 0 ? 2 * tera(p, clock) : derived(stats, "peak_tops");
  }
  double p = peak_of(ops, "vector", dtype);
  if (p == 0) p = peak_of(ops, "vector", "fp32");
  if (p == 0)
    for (const auto& o : ops)
      if (o["class"] == "vector") p = std::max(p, o["peak_per_cycle"].get<double>());
  return p > 0 ? ojson(tera(p, clock)) : ojson();
}

ojson layer_entry(const ojson& stats, const ojson& l, double peak_gbps) {
  const double clock = stats["clock_mhz"].get<double>();
  const uint64_t total = stats["total_cycles"].get<uint64_t>();
  const uint64_t cycles = l["cycles"].get<uint64_t>(), span = l["span_cycles"].get<uint64_t>();
  const uint64_t ops = l["ops"].get<uint64_t>(), dram = l["dram_bytes"].get<uint64_t>();
  const double span_s = double(span) / (clock * 1e6);
  ojson e;
  e["name"] = l["name"];
  e["op"] = l["op"];
  e["dtype"] = l["dtype"];
  e["cycles"] = cycles;
  e["seconds"] = double(cycles) / (clock * 1e6);
  e["share"] = total ? double(cycles) / double(total) : 0.0;
  e["span_cycles"] = span;
  e["macs"] = l["macs"];
  e["ops"] = ops;
  e["dram_bytes"] = dram;
  e["intensity"] = dram ? ojson(double(ops) / double(dram)) : ojson();
  const double achieved = span_s > 0 ? double(ops) / span_s / 1e12 : 0.0;
  e["achieved_tops"] = achieved;
  e["ceiling_tops"] = layer_ceiling(stats, l);
  ojson fraction;
  if (dram) {
    double roof = peak_gbps * double(ops) / double(dram) / 1e3;
    if (!e["ceiling_tops"].is_null()) roof = std::min(roof, e["ceiling_tops"].get<double>());
    if (roof > 0) fraction = achieved / roof;
  }
  e["fraction_of_roofline"] = fraction;
  return e;
}

// Base64 (RFC 4648) of bytes, for data: URIs.
std::string base64(const std::string& bytes) {
  static const char* const digits =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    if (i + 1 < bytes.size()) v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) v |= uint8_t(bytes[i + 2]);
    out += digits[(v >> 18) & 63];
    out += digits[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? digits[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? digits[v & 63] : '=';
  }
  return out;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  return out;
}

std::string read_asset(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw Error(
        fmt::format("compare: cannot read '{}', which the HTML report inlines (the "
                    "report's npm packages: scripts/install-deps.sh installs them)",
                    file.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The plotting libraries the page inlines, by the template's marker, in the order they load.
const std::pair<const char*, const char*> kLibraries[] = {
    {"{{vega}}", "node_modules/vega/build/vega.min.js"},
    {"{{vega-lite}}", "node_modules/vega-lite/build/vega-lite.min.js"},
    {"{{vega-embed}}", "node_modules/vega-embed/build/vega-embed.min.js"},
};

// Replaces each marker of `fills` in one pass over the template, so that text filled in
// (which may hold anything a user wrote) is never searched for markers. Each marker must
// appear exactly once in the template.
std::string fill(const std::string& page,
                 const std::vector<std::pair<std::string, std::string>>& fills) {
  std::map<size_t, size_t> at;  // template offset -> index in fills
  for (size_t i = 0; i < fills.size(); ++i) {
    const std::string& marker = fills[i].first;
    const size_t pos = page.find(marker);
    if (pos == std::string::npos || page.find(marker, pos + 1) != std::string::npos)
      throw std::logic_error("compare: the report template must hold " + marker + " once");
    at[pos] = i;
  }
  std::string out;
  size_t from = 0;
  for (const auto& [pos, i] : at) {
    out.append(page, from, pos - from);
    out += fills[i].second;
    from = pos + fills[i].first.size();
  }
  out.append(page, from, std::string::npos);
  return out;
}

// Follows the children's logs and prints each progress line of theirs (Progress's `lines` form,
// models/core/limits.h) as "  tpu_v4: layer 3/88 conv1, cycle 0" as it appears.
class LayerLines {
 public:
  LayerLines(const std::vector<child::Command>& runs, const std::vector<std::string>& names)
      : runs_(runs), names_(names), read_(runs.size(), 0), partial_(runs.size()) {}

  // Every tenth of a second: the new lines of every log.
  void poll() {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    for (size_t i = 0; i < runs_.size(); ++i) follow(i);
  }

  // The new lines of run i's log.
  void follow(size_t i) {
    std::ifstream in(runs_[i].log, std::ios::binary);
    if (!in) return;  // not started yet
    in.seekg(std::streamoff(read_[i]));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    read_[i] += text.size();
    text = partial_[i] + text;
    size_t from = 0;
    for (size_t nl; (nl = text.find('\n', from)) != std::string::npos; from = nl + 1) {
      const std::string line = text.substr(from, nl - from);
      if (line.rfind(kProgressLine, 0) == 0)
        std::cout << fmt::format("  {}: layer {}\n", names_[i],
                                 line.substr(std::string(kProgressLine).size()));
    }
    partial_[i] = text.substr(from);
    std::cout.flush();
  }

 private:
  const std::vector<child::Command>& runs_;
  const std::vector<std::string>& names_;
  std::vector<size_t> read_;
  std::vector<std::string> partial_;
  std::chrono::steady_clock::time_point last_{};
};

std::string us(double seconds) {
  return fmt::format("{:.4g}", seconds * 1e6);
}

// A path component made of a lower-case name and an index (core3, mxu1, sm12) is one of
// several instances; its index becomes "*". Other names keep their digits (PIPE_MTE1 and
// PIPE_MTE2 are different pipes).
std::string instance_pattern(const std::string& path) {
  std::string key;
  size_t from = 0;
  while (from <= path.size()) {
    size_t end = path.find('.', from);
    if (end == std::string::npos) end = path.size();
    const std::string c = path.substr(from, end - from);
    size_t stem = c.size();
    while (stem > 0 && std::isdigit(static_cast<unsigned char>(c[stem - 1]))) --stem;
    const bool instance = stem > 0 && stem < c.size() &&
                          std::all_of(c.begin(), c.begin() + stem, [](unsigned char ch) {
                            return std::islower(ch) || ch == '_';
                          });
    key += instance ? c.substr(0, stem) + "*" : c;
    if (end < path.size()) key += '.';
    from = end + 1;
  }
  return key;
}

}  // namespace

ojson unit_groups(const nlohmann::json& stats_tree) {
  struct Group {
    int instances = 0;
    double busy = 0, utilization = 0;
  };
  std::vector<std::string> order;
  std::map<std::string, Group> groups;
  for (const UnitRow& u : unit_rows(ojson(stats_tree))) {
    const std::string key = instance_pattern(u.unit);
    if (!groups.count(key)) order.push_back(key);
    Group& g = groups[key];
    ++g.instances;
    g.busy += u.busy;
    g.utilization += u.utilization;
  }
  ojson v = ojson::array();
  for (const std::string& key : order) {
    const Group& g = groups[key];
    v.push_back({{"unit", key},
                 {"instances", g.instances},
                 {"busy_cycles", g.busy / g.instances},
                 {"utilization", g.utilization / g.instances}});
  }
  return v;
}

ojson arch_entry(const nlohmann::json& stats_in, const std::string& description,
                 const std::string& results_dir) {
  const ojson stats(stats_in);
  const double clock = stats["clock_mhz"].get<double>();
  const double seconds = stats["seconds"].get<double>();
  const double peak_gbps = derived(stats, "peak_dram_bandwidth");
  ojson a;
  a["arch"] = stats["arch"];
  a["family"] = stats["family"];
  a["description"] = description;
  a["clock_mhz"] = clock;
  a["total_cycles"] = stats["total_cycles"];
  a["seconds"] = seconds;
  a["functional_check"] = stats["functional_check"];
  a["functional_check_detail"] = stats.value("functional_check_detail", "");
  a["macs"] = stats["macs"];
  a["achieved_tops"] = derived(stats, "achieved_tops");
  a["peak_tops"] = derived(stats, "peak_tops");
  a["mac_utilization"] = derived(stats, "utilization");
  a["peaks"] = ojson::array();
  a["throughput"] = ojson::array();
  for (const auto& o : stats["ops"]) {
    const double per_cycle = o["peak_per_cycle"].get<double>();
    const bool mac = o["class"] == "mac";
    if (per_cycle > 0)
      a["peaks"].push_back({{"class", o["class"]},
                            {"dtype", o["dtype"]},
                            {"per_cycle", per_cycle},
                            {"tops", (mac ? 2 : 1) * tera(per_cycle, clock)}});
    const uint64_t count = o["count"].get<uint64_t>();
    if (count > 0)
      a["throughput"].push_back(
          {{"class", o["class"]},
           {"dtype", o["dtype"]},
           {"performed", count},
           {"achieved_tera_per_s", seconds > 0 ? double(count) / seconds / 1e12 : 0.0},
           {"peak_tera_per_s", tera(per_cycle, clock)},
           {"fraction", o["utilization"]}});
  }
  a["units"] = stats.contains("stats") ? unit_groups(stats["stats"]) : ojson::array();
  a["offchip"] = {{"read_bytes", stats["traffic"]["offchip_read_bytes"]},
                  {"written_bytes", stats["traffic"]["offchip_written_bytes"]},
                  {"bandwidth_gbps", derived(stats, "dram_bandwidth")},
                  {"peak_gbps", peak_gbps}};
  a["onchip_bytes"] = stats["traffic"]["onchip_bytes"];
  a["layers"] = ojson::array();
  for (const auto& l : stats["layers"]) a["layers"].push_back(layer_entry(stats, l, peak_gbps));
  a["notes"] = stats["notes"];
  a["results_dir"] = results_dir;
  return a;
}

std::string report_md(const ojson& results) {
  const ojson& archs = results["architectures"];
  std::string md =
      fmt::format("# xpusim compare: {}\n\n", results["workload"]["name"].get<std::string>());
  md += fmt::format(
      "Workload `{}` on {} architecture{}; {}.\n\n", results["workload"]["file"].get<std::string>(),
      archs.size(), archs.size() == 1 ? "" : "s",
      results["functional"].get<bool>() ? "values computed and checked against the reference"
                                        : "timing only (values not computed)");
  md +=
      "| architecture | family | clock (MHz) | cycles | time (us) | achieved TOPS | peak TOPS | "
      "MAC utilization | off-chip bytes (read / written) | off-chip GB/s (peak) | check |\n";
  md += "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& a : archs)
    md += fmt::format(
        "| {} | {} | {:g} | {} | {} | {:.3g} | {:.4g} | {:.1f} % | {} / {} | {:.4g} ({:g}) | {} "
        "|\n",
        a["arch"].get<std::string>(), a["family"].get<std::string>(), a["clock_mhz"].get<double>(),
        a["total_cycles"].get<uint64_t>(), us(a["seconds"].get<double>()),
        a["achieved_tops"].get<double>(), a["peak_tops"].get<double>(),
        100 * a["mac_utilization"].get<double>(), a["offchip"]["read_bytes"].get<uint64_t>(),
        a["offchip"]["written_bytes"].get<uint64_t>(), a["offchip"]["bandwidth_gbps"].get<double>(),
        a["offchip"]["peak_gbps"].get<double>(), a["functional_check"].get<std::string>());
  md += "\nTOPS: 2 operations per MAC; peak TOPS: of the dtype that did most MACs.\n";

  md += "\n## Time per layer (us)\n\n| layer | op | dtype |";
  std::string rule = "|---|---|---|";
  for (const auto& a : archs) {
    md += " " + a["arch"].get<std::string>() + " |";
    rule += "---|";
  }
  md += "\n" + rule + "\n";
  const ojson& first = archs[0]["layers"];
  for (size_t i = 0; i < first.size(); ++i) {
    md += fmt::format("| {} | {} | {} |", first[i]["name"].get<std::string>(),
                      first[i]["op"].get<std::string>(), first[i]["dtype"].get<std::string>());
    for (const auto& a : archs)
      md +=
          " " + (i < a["layers"].size() ? us(a["layers"][i]["seconds"].get<double>()) : "") + " |";
    md += "\n";
  }
  md += "\nA layer's time: from the end of the previous layer to its own end (they add up).\n";

  for (const auto& a : archs) {
    md += fmt::format("\n## {}\n\n{}\n\n", a["arch"].get<std::string>(),
                      a["description"].get<std::string>());
    md +=
        "| layer | ops | DRAM bytes | ops/byte | achieved Tops/s | ceiling Tops/s | of roofline "
        "|\n";
    md += "|---|---|---|---|---|---|---|\n";
    for (const auto& l : a["layers"])
      md += fmt::format(
          "| {} | {} | {} | {} | {:.3g} | {} | {} |\n", l["name"].get<std::string>(),
          l["ops"].get<uint64_t>(), l["dram_bytes"].get<uint64_t>(),
          l["intensity"].is_null() ? "-" : fmt::format("{:.3g}", l["intensity"].get<double>()),
          l["achieved_tops"].get<double>(),
          l["ceiling_tops"].is_null() ? "-"
                                      : fmt::format("{:.4g}", l["ceiling_tops"].get<double>()),
          l["fraction_of_roofline"].is_null()
              ? "-"
              : fmt::format("{:.1f} %", 100 * l["fraction_of_roofline"].get<double>()));
    if (!a["units"].empty()) {
      md += "\n| unit | instances | mean utilization |\n|---|---|---|\n";
      for (const auto& u : a["units"])
        md += fmt::format("| {} | {} | {:.1f} % |\n", u["unit"].get<std::string>(),
                          u["instances"].get<int>(), 100 * u["utilization"].get<double>());
    }
    if (!a["notes"].empty()) {
      md += "\n";
      for (const auto& n : a["notes"]) md += "- " + n.get<std::string>() + "\n";
    }
    md += fmt::format("\nThis run's own results: {}/\n", a["results_dir"].get<std::string>());
  }
  md += "\nEvery field: docs/compare.md. The plots are in report.html.\n";
  return md;
}

std::string report_html(const ojson& results, const std::string& report_dir) {
  const fs::path dir(report_dir);
  // Inline scripts may not hold "</" (it could close the <script> element): in JSON every
  // "<" is written as its escape, in the script "<\/" reads the same inside strings.
  std::vector<std::pair<std::string, std::string>> fills = {
      {"{{title}}",
       html_escape("xpusim compare: " + results["workload"]["name"].get<std::string>())},
      {"{{results}}", replace_all(results.dump(), "<", "\\u003c")},
      {"{{report.js}}", replace_all(read_asset(dir / "report.js"), "</", "<\\/")},
  };
  for (const auto& [marker, file] : kLibraries)
    fills.emplace_back(marker, "data:text/javascript;base64," + base64(read_asset(dir / file)));
  return fill(read_asset(dir / "compare.html"), fills);
}

bool run(const Options& o) {
  if (o.archs.empty()) throw Error("compare: --arch wants at least one architecture");
  // Every input is checked before any simulation starts.
  // Each --set goes to the architectures whose parameters include its name (checked there as
  // `xpusim run --set` checks it); one that none of them has is an error.
  std::vector<std::vector<std::string>> sets(o.archs.size());
  std::vector<bool> used(o.sets.size(), false);
  for (size_t a = 0; a < o.archs.size(); ++a) {
    const ArchConfig plain = load_arch(o.archs[a]);
    for (size_t i = 0; i < o.sets.size(); ++i) {
      const size_t eq = o.sets[i].find('=');
      if (eq == std::string::npos || eq == 0)
        throw Error(fmt::format("compare: --set {}: expected NAME=VALUE", o.sets[i]));
      if (!plain.values.find(o.sets[i].substr(0, eq))) continue;
      sets[a].push_back(o.sets[i]);
      used[i] = true;
    }
  }
  for (size_t i = 0; i < o.sets.size(); ++i)
    if (!used[i])
      throw Error(fmt::format("compare: --set {}: no architecture of --arch has the parameter '{}'",
                              o.sets[i], o.sets[i].substr(0, o.sets[i].find('='))));
  std::vector<ArchConfig> cfgs;
  for (const std::string& arch : o.archs) {
    ArchConfig cfg = load_arch(arch, sets[cfgs.size()]);
    safe_file_name(cfg.name, "architecture name", SourceLoc{cfg.origin});
    if (!find_family(cfg.family).compiles_workloads)
      throw Error(fmt::format(
          "compare: --arch {}: the {} family does not compile workloads yet (it runs kernels "
          "from files: xpusim run --kernel)",
          arch, cfg.family));
    for (const ArchConfig& c : cfgs)
      if (c.name == cfg.name)
        throw Error("compare: architecture '" + cfg.name + "' is given twice in --arch");
    cfgs.push_back(std::move(cfg));
  }
  const std::string workload_path = driver::workload_file(o.workload);
  driver::RunOptions load;
  load.params = compiler::parse_param_options(o.params);
  load.dtype = o.dtype;
  load.onnx_test_data = o.onnx_test_data;
  load.functional = o.functional;
  const std::string workload = driver::workload_label(driver::load_graph(workload_path, load));
  const std::string report_dir = shipped_dir("report");
  for (const auto& lib : kLibraries) read_asset(fs::path(report_dir) / lib.second);

  std::string out = o.out;
  if (out.empty()) {
    out = "compare-" + fs::path(workload_path).stem().string();
    for (const std::string& p : o.params) out += "-" + p;
    for (const ArchConfig& c : cfgs) out += "-" + c.name;
    out = "results/" + safe_file_name(out, "default results folder name (give --out)");
  }
  prepare_results_dir(out, o.force);

  const child::TempDir tmp;
  const std::string exe = child::self_path();
  std::vector<child::Command> runs;
  for (const ArchConfig& c : cfgs) {
    child::Command cmd{{exe, "run", "--arch", o.archs[runs.size()], "--workload", workload_path,
                        "--out", (fs::path(out) / "runs" / c.name).string(), "--seed",
                        std::to_string(o.seed), "--quiet", "--progress-lines"},
                       "",
                       (tmp.path() / (c.name + ".log")).string()};
    if (!o.functional) cmd.argv.push_back("--no-functional");
    for (const std::string& p : o.params) cmd.argv.insert(cmd.argv.end(), {"--param", p});
    for (const std::string& v : sets[runs.size()]) cmd.argv.insert(cmd.argv.end(), {"--set", v});
    if (!o.dtype.empty()) cmd.argv.insert(cmd.argv.end(), {"--dtype", o.dtype});
    if (!o.onnx_test_data.empty())
      cmd.argv.insert(cmd.argv.end(), {"--onnx-test-data", o.onnx_test_data});
    runs.push_back(std::move(cmd));
  }

  const unsigned jobs =
      std::min<unsigned>(o.jobs ? o.jobs : child::cpu_count(), unsigned(runs.size()));
  std::cout << fmt::format("compare: {} on {} architecture{}, {} at once\n", workload, cfgs.size(),
                           cfgs.size() == 1 ? "" : "s", jobs);
  std::vector<ojson> entries(cfgs.size());
  size_t finished = 0;
  bool check_failed = false;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> names;
  for (const ArchConfig& c : cfgs) names.push_back(c.name);
  LayerLines layer_lines(runs, names);
  child::run_all(
      runs, jobs,
      [&](size_t i, const child::Result& r) {
        layer_lines.follow(i);
        const fs::path stats_file = fs::path(out) / "runs" / cfgs[i].name / "stats.json";
        // Exit status 3: the run completed but its values differ from the reference (reported).
        if (!(r.ok() || (r.signal == 0 && r.code == 3 && fs::exists(stats_file))))
          throw Error("compare: simulating " + o.archs[i] + " " + child::failure(runs[i], r));
        const nlohmann::json stats = nlohmann::json::parse(std::ifstream(stats_file));
        entries[i] = arch_entry(stats, cfgs[i].description, "runs/" + cfgs[i].name);
        const std::string check = entries[i]["functional_check"].get<std::string>();
        check_failed = check_failed || check == "failed";
        const double wall =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::cout << fmt::format(
            "  [{}/{}] {}: {} cycles, {} us, {} layers, check {} (after {:.1f} s)\n", ++finished,
            cfgs.size(), cfgs[i].name, entries[i]["total_cycles"].get<uint64_t>(),
            us(entries[i]["seconds"].get<double>()), entries[i]["layers"].size(), check, wall);
        std::cout.flush();
      },
      [&] { layer_lines.poll(); });

  ojson results;
  results["schema"] = 1;
  results["workload"] = {{"name", workload}, {"file", o.workload}};
  results["functional"] = o.functional;
  results["architectures"] = entries;
  // Every text is made before any file is written.
  const std::string json = results.dump(2) + "\n", md = report_md(results),
                    html = report_html(results, report_dir);
  write_result_file(out, "results.json", json);
  write_result_file(out, "report.md", md);
  write_result_file(out, "report.html", html);
  std::cout << fmt::format(
      "results: {}/report.html, report.md, results.json (each run's own in runs/)\n", out);
  return !check_failed;
}

}  // namespace xpusim::compare
