// `xpusim lab`: course labs (docs/labs/<lab>/). `xpusim lab check answers.yaml` grades a
// student's hand-computed answers against values obtained by simulating the lab's layers
// (lab 01) or by running its tile sequences on the verilated systolic array (lab 02).
#pragma once

#include <CLI/CLI.hpp>

namespace xpusim::cli {

// Adds the `lab` subcommand (with its `check` subcommand) to app; returns it.
CLI::App* add_lab_command(CLI::App& app);

// Runs it when it was parsed; returns the exit status.
int run_lab_command();

}  // namespace xpusim::cli
