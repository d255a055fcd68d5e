// `xpusim validate`: the model's GEMM times against measured ones, from a CSV (driver/validate.h).
#pragma once

#include <CLI/CLI.hpp>

namespace xpusim::cli {

// Adds the `validate` subcommand to app; returns it.
CLI::App* add_validate_command(CLI::App& app);

// Runs it when it was parsed; returns the exit status.
int run_validate_command();

}  // namespace xpusim::cli
