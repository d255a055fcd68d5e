// `xpusim compare`: one workload on several architectures, one report (driver/compare.h).
#pragma once

#include <CLI/CLI.hpp>

namespace xpusim::cli {

// Adds the `compare` subcommand to app; returns it.
CLI::App* add_compare_command(CLI::App& app);

// Runs it when it was parsed; returns the exit status (3 when a functional check failed).
int run_compare_command();

}  // namespace xpusim::cli
