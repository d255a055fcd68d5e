// `xpusim compare`: the command line of driver/compare.h.
#include "cli/compare.h"

#include "driver/compare.h"

namespace xpusim::cli {
namespace {

compare::Options args;
bool no_functional = false;

}  // namespace

CLI::App* add_compare_command(CLI::App& app) {
  CLI::App* c = app.add_subcommand(
      "compare",
      "simulate one workload on several architectures: report.html (plots), report.md, "
      "results.json");
  c->add_option("--arch", args.archs,
                "architectures: preset names or configuration files (.yaml), comma-separated")
      ->required()
      ->delimiter(',');
  c->add_option(
       "--workload", args.workload,
       "workload YAML file, an ONNX model (.onnx), or the name of a model of the zoo (xpusim zoo)")
      ->required();
  c->add_option("--param", args.params,
                "set a workload param: NAME=VALUE (repeatable; xpusim zoo lists them)");
  c->add_option("--set", args.sets,
                "set a parameter of every architecture that has it: NAME=VALUE (repeatable; "
                "xpusim describe ARCH lists them; for example sampling.launches=1 for the GPUs)");
  c->add_option("--dtype", args.dtype,
                "ONNX models: the dtype their float tensors are computed in: bf16 (default), "
                "fp16, or fp32 (as for xpusim run)");
  c->add_option("--onnx-test-data", args.onnx_test_data,
                "ONNX models: a folder of input_N.pb / output_N.pb (ONNX test data): the "
                "inputs' values, and the outputs every architecture's run must match");
  c->add_option("--out", args.out,
                "results folder (default results/compare-<workload>-<arch>-<arch>...)");
  c->add_flag("--no-functional", no_functional, "timing only: compute no values");
  c->add_option("--seed", args.seed, "seed of the generated inputs and weights");
  c->add_option("--jobs", args.jobs, "simulations at once (default: one per CPU)")
      ->check(CLI::Range(1u, 4096u));
  c->add_flag("--force", args.force,
              "write into a non-empty --out folder that xpusim did not make");
  return c;
}

int run_compare_command() {
  args.functional = !no_functional;
  return compare::run(args) ? 0 : 3;
}

}  // namespace xpusim::cli
