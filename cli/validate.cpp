// `xpusim validate`: the command line of driver/validate.h.
#include "cli/validate.h"

#include <unistd.h>

#include "driver/validate.h"

namespace xpusim::cli {
namespace {

validate::Options args;
bool quiet = false;

}  // namespace

CLI::App* add_validate_command(CLI::App& app) {
  CLI::App* v = app.add_subcommand(
      "validate",
      "simulate the GEMMs of a CSV of measured times and compare: table, MAPE, Pearson r");
  v->add_option("--arch", args.arch, "preset name or configuration file (.yaml)")->required();
  v->add_option("--measured", args.measured_file,
                "CSV with a header row: columns M, N, K and the measured time in microseconds")
      ->required();
  v->add_option("--column", args.column,
                "the CSV column of measured times, microseconds (default fusion_us_avg)");
  v->add_option("--dtype", args.dtype, "dtype of the simulated GEMMs (default bf16)");
  v->add_option("--set", args.sets, "override a parameter: path.to.key=value (repeatable)");
  v->add_option("--jobs", args.jobs, "simulations at once (default: one per CPU)")
      ->check(CLI::Range(1u, 4096u));
  v->add_option("--out", args.out,
                "results folder for validation.csv and summary.json (default "
                "results/<csv>-<arch>)");
  v->add_flag("--quiet", quiet, "no progress line on the terminal");
  v->add_flag("--force", args.force,
              "write into a non-empty --out folder that xpusim did not make");
  return v;
}

int run_validate_command() {
  args.progress = !quiet && isatty(STDERR_FILENO);
  validate::run(args);
  return 0;
}

}  // namespace xpusim::cli
