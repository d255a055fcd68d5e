// `xpusim lab check`: the command line of the course labs' checker (driver/lab.h).
#include "cli/lab.h"

#include "driver/lab.h"

namespace xpusim::cli {
namespace {

lab::CheckOptions args;

}  // namespace

CLI::App* add_lab_command(CLI::App& app) {
  CLI::App* lab = app.add_subcommand("lab", "course labs (docs/labs): grade a student's answers");
  lab->require_subcommand(1);
  CLI::App* check = lab->add_subcommand(
      "check",
      "grade an answers file against values simulated for the lab (its layers, its tile "
      "sequences on the verilated systolic array, its kernels on a GPU or DaVinci preset, or its "
      "workloads on several presets)");
  check->add_option("answers", args.answers_file,
                    "the filled answers file (answers-template.yaml)");
  check->add_option("--lab", args.lab_arg,
                    "the lab: a built-in lab's name, folder or lab.yaml (default: the answers "
                    "file's 'lab:' key); graded against the built-in definition of that name");
  check->add_flag("--custom-lab", args.custom_lab,
                  "grade against the lab.yaml named, not the built-in lab of its name (the result "
                  "says so)");
  check->add_flag("--instructor", args.instructor,
                  "instructors: show every expected value, not only those of right answers");
  check->add_flag("--print-expected", args.print_expected,
                  "instructors (with --instructor): print a filled answers file with the expected "
                  "values instead of grading");
  return lab;
}

int run_lab_command() {
  return lab::check_lab(args);
}

}  // namespace xpusim::cli
