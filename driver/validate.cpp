#include "driver/validate.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <stdexcept>

#include "driver/child.h"
#include "driver/driver.h"
#include "driver/results.h"
#include "models/core/dtype.h"
#include "models/core/error.h"

namespace fs = std::filesystem;

namespace xpusim::validate {
namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (size_t comma; (comma = line.find(',', start)) != std::string::npos; start = comma + 1)
    fields.push_back(trim(line.substr(start, comma - start)));
  fields.push_back(trim(line.substr(start)));
  return fields;
}

// Reads the field as a number of type T; false unless the whole field is that number (a leading
// '+', a space inside or a unit after it are not accepted).
template <class T>
bool parse_whole(const std::string& field, T& value) {
  const char* end = field.data() + field.size();
  const auto [ptr, ec] = std::from_chars(field.data(), end, value);
  return ec == std::errc() && ptr == end;
}

// The progress line of the simulations, on stderr, cleared at the end.
class RowProgress {
 public:
  RowProgress(bool enabled, size_t rows) : enabled_(enabled), rows_(rows) {}
  ~RowProgress() {
    if (enabled_ && done_ > 0) std::fputs("\r\x1b[K", stderr);
  }
  RowProgress(const RowProgress&) = delete;
  RowProgress& operator=(const RowProgress&) = delete;
  void step() {
    if (!enabled_) return;
    std::fputs(fmt::format("\r  simulated {}/{} rows\x1b[K", ++done_, rows_).c_str(), stderr);
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  size_t rows_, done_ = 0;
};

}  // namespace

std::vector<Measured> read_measured(const std::string& file, const std::string& column) {
  std::ifstream in(file);
  if (!in) throw Error("cannot read '" + file + "'");
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a UTF-8 byte order mark
  const std::vector<std::string> header = split_fields(line);
  const std::vector<std::string> needed = {"M", "N", "K", column};
  std::vector<size_t> at;  // the field of each needed column
  for (const std::string& c : needed) {
    const auto first = std::find(header.begin(), header.end(), c);
    if (first == header.end())
      throw Error(SourceLoc{file, 1},
                  fmt::format("expected a header row naming the columns M, N, K and {} (the "
                              "measured time in microseconds; --column chooses another), found "
                              "no column '{}' in '{}'",
                              column, c, line));
    if (std::find(first + 1, header.end(), c) != header.end())
      throw Error(SourceLoc{file, 1}, "column '" + c + "' is named twice in the header");
    at.push_back(size_t(first - header.begin()));
  }

  std::vector<Measured> rows;
  for (int number = 2; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    const SourceLoc loc{file, number};
    const std::vector<std::string> fields = split_fields(line);
    if (fields.size() != header.size())
      throw Error(loc, fmt::format("expected {} fields, as the header has, found {}", header.size(),
                                   fields.size()));
    Measured m;
    m.line = number;
    int64_t* sizes[] = {&m.M, &m.N, &m.K};
    for (size_t i = 0; i < 3; ++i) {
      const std::string& f = fields[at[i]];
      if (!parse_whole(f, *sizes[i]) || *sizes[i] <= 0)
        throw Error(loc,
                    fmt::format("{}: expected a positive whole number, found '{}'", needed[i], f));
    }
    const std::string& t = fields[at[3]];
    if (!parse_whole(t, m.us) || !std::isfinite(m.us) || m.us <= 0)
      throw Error(
          loc, fmt::format("{}: expected a positive time in microseconds, found '{}'", column, t));
    rows.push_back(m);
  }
  if (rows.empty()) throw Error(SourceLoc{file}, "no measured rows after the header");
  return rows;
}

Accuracy accuracy(const std::vector<double>& predicted, const std::vector<double>& measured) {
  if (predicted.empty() || predicted.size() != measured.size())
    throw std::logic_error(
        "validate::accuracy: predicted and measured differ in size or are empty");
  const size_t n = predicted.size();
  Accuracy a;
  a.rows = n;
  a.ratio_min = std::numeric_limits<double>::infinity();
  a.ratio_max = -a.ratio_min;
  double mean_p = 0, mean_m = 0;
  for (size_t i = 0; i < n; ++i) {
    const double ratio = predicted[i] / measured[i];
    a.mape_percent += std::fabs(ratio - 1);
    a.ratio_mean += ratio;
    a.ratio_min = std::min(a.ratio_min, ratio);
    a.ratio_max = std::max(a.ratio_max, ratio);
    mean_p += predicted[i];
    mean_m += measured[i];
  }
  a.mape_percent *= 100.0 / double(n);
  a.ratio_mean /= double(n);
  mean_p /= double(n);
  mean_m /= double(n);
  double cov = 0, var_p = 0, var_m = 0;
  for (size_t i = 0; i < n; ++i) {
    const double dp = predicted[i] - mean_p, dm = measured[i] - mean_m;
    cov += dp * dm;
    var_p += dp * dp;
    var_m += dm * dm;
  }
  a.pearson_r = var_p > 0 && var_m > 0 ? cov / std::sqrt(var_p * var_m)
                                       : std::numeric_limits<double>::quiet_NaN();
  return a;
}

namespace {

// Simulates every row, each in an `xpusim run` of a one-GEMM workload, as many at once as the
// options allow; returns the predicted times, microseconds.
std::vector<double> simulate(const Options& o, const std::vector<Measured>& rows) {
  const child::TempDir tmp;
  const std::string exe = child::self_path();
  std::vector<child::Command> runs;
  std::vector<fs::path> run_dirs;
  for (const Measured& m : rows) {
    const fs::path base = tmp.path() / fmt::format("line{}", m.line);
    const std::string workload = base.string() + ".yaml";
    std::ofstream(workload) << fmt::format(
        "name: gemm-{0}x{1}x{2}\nops:\n  - {{name: gemm, op: gemm, M: {0}, N: {1}, K: {2}, "
        "dtype: {3}}}\n",
        m.M, m.N, m.K, o.dtype);
    child::Command c{{exe, "run", "--arch", o.arch, "--workload", workload, "--no-functional",
                      "--quiet", "--out", base.string()},
                     "",
                     base.string() + ".log"};
    for (const std::string& s : o.sets) c.argv.insert(c.argv.end(), {"--set", s});
    runs.push_back(std::move(c));
    run_dirs.push_back(base);
  }
  std::vector<double> predicted(rows.size());
  RowProgress progress(o.progress, rows.size());
  const auto done = [&](size_t i, const child::Result& r) {
    const Measured& m = rows[i];
    if (!r.ok())
      throw Error(
          SourceLoc{o.measured_file, m.line},
          fmt::format("simulating M={} N={} K={} {}", m.M, m.N, m.K, child::failure(runs[i], r)));
    const nlohmann::json stats = nlohmann::json::parse(std::ifstream(run_dirs[i] / "stats.json"));
    predicted[i] = stats.at("seconds").get<double>() * 1e6;
    progress.step();
  };
  child::run_all(runs, o.jobs ? o.jobs : child::cpu_count(), done);
  return predicted;
}

}  // namespace

void run(const Options& o) {
  const ArchConfig cfg = load_arch(o.arch, o.sets);
  parse_dtype(o.dtype, SourceLoc{"--dtype"});
  const std::vector<Measured> rows = read_measured(o.measured_file, o.column);
  const std::string out =
      o.out.empty() ? driver::default_results_dir(o.measured_file, cfg, o.sets, "validate") : o.out;
  prepare_results_dir(out, o.force);  // before the slow part
  const std::vector<double> predicted = simulate(o, rows);
  std::vector<double> measured;
  for (const Measured& m : rows) measured.push_back(m.us);
  const Accuracy a = accuracy(predicted, measured);

  std::string csv = "line,M,N,K,measured_us,predicted_us,ratio,error_percent\n";
  std::cout << fmt::format("{:>6} {:>6} {:>6} {:>12} {:>13} {:>8}\n", "M", "N", "K", "measured_us",
                           "predicted_us", "error_%");
  for (size_t i = 0; i < rows.size(); ++i) {
    const Measured& m = rows[i];
    const double ratio = predicted[i] / m.us, error = 100 * (ratio - 1);
    csv += fmt::format("{},{},{},{},{},{},{},{}\n", m.line, m.M, m.N, m.K, m.us, predicted[i],
                       ratio, error);
    std::cout << fmt::format("{:>6} {:>6} {:>6} {:>12.3f} {:>13.3f} {:>+8.1f}\n", m.M, m.N, m.K,
                             m.us, predicted[i], error);
  }
  nlohmann::ordered_json summary;
  summary["arch"] = o.arch;
  summary["file"] = o.measured_file;
  summary["column"] = o.column;
  summary["dtype"] = o.dtype;
  summary["sets"] = o.sets;
  summary["rows"] = a.rows;
  summary["mape_percent"] = a.mape_percent;
  summary["pearson_r"] = a.pearson_r;  // null when undefined
  summary["predicted_over_measured"] = {
      {"mean", a.ratio_mean}, {"min", a.ratio_min}, {"max", a.ratio_max}};
  write_result_file(out, "validation.csv", csv);
  write_result_file(out, "summary.json", summary.dump(2) + "\n");

  std::cout << fmt::format("\n{} ({}) against {} ({}): {} row{}\n", o.measured_file, o.column,
                           cfg.name, o.dtype, a.rows, a.rows == 1 ? "" : "s");
  std::cout << fmt::format("MAPE: {:.2f} %\n", a.mape_percent);
  std::cout << (std::isnan(a.pearson_r) ? std::string("Pearson r: n/a (a constant series)\n")
                                        : fmt::format("Pearson r: {:.4f}\n", a.pearson_r));
  std::cout << fmt::format("predicted / measured: mean {:.3f}, min {:.3f}, max {:.3f}\n",
                           a.ratio_mean, a.ratio_min, a.ratio_max);
  std::cout << fmt::format("results: {}/validation.csv, summary.json\n", out);
}

}  // namespace xpusim::validate
