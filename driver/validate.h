// `xpusim validate`: the model's GEMM times against times measured on real hardware. A CSV with
// a header row gives M, N, K and a measured time in microseconds per row; every row is simulated
// as a one-GEMM workload, each in a child process of this binary (SystemC elaborates once per
// process), several at once; the table of predicted against measured times, the mean absolute
// percentage error and Pearson's r are printed and written to the results folder
// (validation.csv, summary.json).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace xpusim::validate {

// One measured GEMM: (M x K) times (K x N), from line `line` of its file.
struct Measured {
  int line = 0;
  int64_t M = 0, N = 0, K = 0;
  double us = 0;  // the measured time, microseconds
};

// Reads a CSV with a header row naming at least the columns M, N, K and `column` (in any order;
// other columns are ignored). Fields are separated by commas, without quoting. An Error with
// file:line for anything else: a missing column, a row with another number of fields than the
// header, a size that is not a positive whole number, a time that is not a positive number, no
// row at all.
std::vector<Measured> read_measured(const std::string& file, const std::string& column);

// How well predicted times match measured ones.
struct Accuracy {
  size_t rows = 0;
  double mape_percent = 0;  // mean of |predicted - measured| / measured, in percent
  double pearson_r = 0;     // Pearson's correlation of predicted and measured; NaN when either
                            // is constant (or there is one row)
  double ratio_mean = 0, ratio_min = 0, ratio_max = 0;  // of predicted / measured
};

// The accuracy of `predicted` against `measured` (the same number of values, at least one;
// measured values positive).
Accuracy accuracy(const std::vector<double>& predicted, const std::vector<double>& measured);

struct Options {
  std::string arch;                      // preset name or configuration file
  std::string measured_file;             // the CSV
  std::string column = "fusion_us_avg";  // the column of measured times, microseconds
  std::string dtype = "bf16";            // of the simulated GEMMs
  std::vector<std::string> sets;         // --set overrides
  unsigned jobs = 0;                     // simulations at once; 0: one per CPU
  std::string out;                       // results folder; empty: the default
  bool force = false;                    // write into a non-empty folder xpusim did not make
  bool progress = false;                 // a progress line on stderr
};

// Simulates every row, prints the table and the summary, and writes validation.csv and
// summary.json into the results folder. Any failure is an Error (a failed simulation: naming the
// row's file:line, with the command and what it printed).
void run(const Options& options);

}  // namespace xpusim::validate
