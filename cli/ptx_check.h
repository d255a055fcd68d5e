// `xpusim ptx-check FILE`: parse and decode a PTX file, list what is outside the supported subset.
#pragma once

#include <CLI/CLI.hpp>

namespace xpusim::cli {

// Adds the `ptx-check` subcommand to app; returns it.
CLI::App* add_ptx_check_command(CLI::App& app);

// Runs it when it was parsed; returns the exit status (0: all supported, 1: not). A syntax
// error throws Error.
int run_ptx_check_command();

}  // namespace xpusim::cli
