// `xpusim lab check`: the command line of the course labs' checker (driver/lab.h).
#include "cli/lab.h"

#include "driver/lab.h"

namespace xpusim::cli {
namespace {

struct Args {
  std::string answers, lab;
  bool print_expected = false;
} args;

}  // namespace

CLI::App* add_lab_command(CLI::App& app) {
  CLI::App* lab = app.add_subcommand("lab", "course labs (docs/labs): grade a student's answers");
  lab->require_subcommand(1);
  CLI::App* check = lab->add_subcommand(
      "check",
      "grade an answers file against values simulated for the lab (its layers, or its tile "
      "sequences on the verilated systolic array)");
  check->add_option("answers", args.answers, "the filled answers file (answers-template.yaml)");
  check->add_option("--lab", args.lab,
                    "the lab's folder or lab.yaml (default: the answers file's 'lab:' key)");
  check->add_flag("--print-expected", args.print_expected,
                  "print a filled answers file with the expected values instead of grading");
  return lab;
}

int run_lab_command() {
  return lab::check_lab(args.answers, args.lab, args.print_expected);
}

}  // namespace xpusim::cli
