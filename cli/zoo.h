// `xpusim zoo`: the model zoo's workloads (workloads/zoo/), with their params and sources.
#pragma once

#include <CLI/CLI.hpp>

namespace xpusim::cli {

// Adds the `zoo` subcommand to app; returns it.
CLI::App* add_zoo_command(CLI::App& app);

// Runs it when it was parsed; returns the exit status.
int run_zoo_command();

}  // namespace xpusim::cli
