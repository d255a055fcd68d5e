// xpusim command line: run, compare, describe, presets, asm, disasm, lab, validate, ptx-check.
#include <fmt/format.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <systemc>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/compare.h"
#include "cli/lab.h"
#include "cli/ptx_check.h"
#include "cli/validate.h"
#include "cli/zoo.h"
#include "compiler/ir/params.h"
#include "driver/driver.h"

namespace fs = std::filesystem;
using namespace xpusim;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_new_file(const std::string& path, const std::string& bytes, bool force) {
  if (fs::exists(path) && !force)
    throw Error("'" + path + "' exists; refusing to overwrite it (pass --force)");
  std::ofstream out(path, std::ios::binary);
  if (!out || !out.write(bytes.data(), std::streamsize(bytes.size())))
    throw Error("cannot write '" + path + "'");
}

struct RunArgs {
  std::string arch, workload, program, out;
  std::vector<std::string> sets, dump_after, load, save, params;
  bool trace = false, no_functional = false, force = false, rtl = false, quiet = false;
  bool progress_lines = false;
  std::string max_cycles, max_instructions;
  uint64_t seed = 1;
  std::string vcd, vcd_range;
  std::string dtype, onnx_test_data;
  std::string kernel, entry, grid, block;
  uint64_t shared = 0;
  std::vector<std::string> args;
};

// "X[,Y[,Z]]" of --grid/--block: positive numbers, missing ones 1.
std::array<uint32_t, 3> parse_dim3(const std::string& text, const char* option) {
  std::array<uint32_t, 3> d{1, 1, 1};
  std::stringstream ss(text);
  std::string part;
  size_t i = 0;
  while (std::getline(ss, part, ',')) {
    char* end = nullptr;
    const unsigned long v = part.empty() ? 0 : std::strtoul(part.c_str(), &end, 10);
    if (i >= 3 || part.empty() || *end || v == 0 || v > UINT32_MAX || part[0] == '-')
      throw Error(
          fmt::format("run: {} wants X[,Y[,Z]] (positive numbers), got '{}'", option, text));
    d[i++] = uint32_t(v);
  }
  if (i == 0) throw Error(fmt::format("run: {} wants X[,Y[,Z]], got '{}'", option, text));
  return d;
}

// The configuration of a run: --arch with --set, the limits' options and the RTL units' (--rtl,
// --vcd, --vcd-range: driver::rtl_overrides, for cfg's family). `sets` gets every override, which
// names the default results folder.
ArchConfig run_config(const RunArgs& a, std::vector<std::string>& sets) {
  sets = a.sets;
  if (!a.max_cycles.empty()) sets.push_back("limits.max_cycles=" + a.max_cycles);
  if (!a.max_instructions.empty()) sets.push_back("limits.max_instructions=" + a.max_instructions);
  const ArchConfig cfg = load_arch(a.arch, sets);
  const std::vector<std::string> rtl = driver::rtl_overrides(cfg, a.rtl, a.vcd, a.vcd_range);
  if (rtl.empty()) return cfg;
  sets.insert(sets.end(), rtl.begin(), rtl.end());
  return load_arch(a.arch, sets);
}

int cmd_run_kernel(const RunArgs& a) {
  if (!a.workload.empty() || !a.program.empty())
    throw Error("run: give one of --workload, --program or --kernel");
  if (a.entry.empty()) throw Error("run --kernel: --entry NAME is required");
  if (a.grid.empty()) throw Error("run --kernel: --grid X[,Y[,Z]] is required");
  if (!(a.load.empty() && a.save.empty()))
    throw Error("run: --load and --save are for --program runs (a kernel takes --arg)");
  std::vector<std::string> sets;
  const ArchConfig cfg = run_config(a, sets);
  KernelLaunch launch;
  launch.file = a.kernel;
  launch.entry = a.entry;
  launch.grid = parse_dim3(a.grid, "--grid");
  if (!a.block.empty()) launch.block = parse_dim3(a.block, "--block");
  launch.shared_bytes = a.shared;
  launch.args = a.args;
  const std::string out = a.out.empty() ? driver::default_results_dir(a.kernel, cfg, sets) : a.out;
  driver::RunOptions opt;
  opt.functional = !a.no_functional;
  opt.trace = a.trace;
  prepare_results_dir(out, a.force);
  if (a.trace) opt.trace_path = result_file_path(out, "trace.json");
  const RunResult r = driver::run_kernel(cfg, launch, opt);
  write_results(out, cfg, r.workload, r);
  std::cout << fmt::format("{} on {}: grid {}{}: {} cycles ({:.6g} s at {:g} MHz)\n", r.workload,
                           cfg.name, a.grid, a.block.empty() ? "" : ", block " + a.block,
                           r.total_cycles, seconds_of(r), r.clock_mhz);
  for (const auto& n : r.notes) std::cout << "  note: " << n << "\n";
  std::string files;
  for (const auto& f : r.files) files += ", " + f.first;
  std::cout << fmt::format("results: {}/stats.json, report.md, config.resolved.yaml{}\n", out,
                           files);
  return 0;
}

int cmd_run(const RunArgs& a) {
  if (a.workload.empty() && !(a.dtype.empty() && a.onnx_test_data.empty()))
    throw Error("run: --dtype and --onnx-test-data are for ONNX models (--workload FILE.onnx)");
  if (!a.kernel.empty()) return cmd_run_kernel(a);
  if (a.workload.empty() == a.program.empty())
    throw Error("run: give exactly one of --workload FILE.yaml|FILE.onnx or --program FILE.s");
  std::vector<std::string> sets;
  const ArchConfig cfg = run_config(a, sets);
  if (!a.workload.empty() && !(a.load.empty() && a.save.empty()))
    throw Error("run: --load and --save are for --program runs");
  if (a.workload.empty() && !a.params.empty())
    throw Error("run: --param sets a workload's params (give --workload)");
  const std::string input = a.workload.empty() ? a.program : driver::workload_file(a.workload);
  driver::RunOptions opt;
  opt.params = compiler::parse_param_options(a.params);
  opt.dtype = a.dtype;
  opt.onnx_test_data = a.onnx_test_data;
  std::vector<std::string> named = sets;  // the folder's name tells the params apart too
  for (const std::string& p : a.params) named.push_back("param " + p);
  const std::string out = a.out.empty() ? driver::default_results_dir(input, cfg, named) : a.out;

  opt.functional = !a.no_functional;
  opt.trace = a.trace;
  for (const auto& l : a.load) opt.load.push_back(driver::parse_load(l));
  for (const auto& d : a.save) opt.save.push_back(driver::parse_save(d));
  prepare_results_dir(out, a.force);
  if (a.trace) opt.trace_path = result_file_path(out, "trace.json");
  opt.seed = a.seed;
  opt.dump_after = a.dump_after;
  opt.dump = &std::cout;
  opt.progress = !a.quiet && isatty(STDERR_FILENO);
  opt.progress_lines = a.progress_lines;

  const RunResult r = a.workload.empty()
                          ? driver::run_program(cfg, read_file(a.program), a.program, opt)
                          : driver::run_workload(cfg, input, opt);
  write_results(out, cfg, r.workload, r);
  std::cout << fmt::format("{} on {}: {} cycles ({:.6g} s at {:g} MHz), functional check: {}\n",
                           r.workload, cfg.name, r.total_cycles, seconds_of(r), r.clock_mhz,
                           r.functional_check);
  if (!r.check_detail.empty()) std::cout << "  " << r.check_detail << "\n";
  for (const auto& n : r.notes) std::cout << "  note: " << n << "\n";
  std::cout << fmt::format("results: {}/stats.json, report.md, config.resolved.yaml{}\n", out,
                           a.trace ? ", trace.json (open in https://ui.perfetto.dev)" : "");
  return r.functional_check == "failed" ? 3 : 0;
}

void print_params(const std::vector<ParamSpec>& specs, const ParamValues* values) {
  size_t w = 0;
  for (const auto& s : specs) w = std::max(w, s.path.size());
  for (const auto& s : specs) {
    std::string value = values ? values->text(s.path) : s.default_value;
    std::cout << fmt::format("  {:<{}}  {:>12} {:<14} {} ({}{})\n", s.path, w, value,
                             s.unit.empty() ? "" : "[" + s.unit + "]", s.description, s.type_name(),
                             values ? "" : "");
  }
}

int cmd_describe(const std::string& what) {
  if (what.empty()) {
    std::cout << "Architecture families (xpusim describe <family|preset>):\n";
    for (const FamilyInfo* f : driver::families())
      std::cout << fmt::format("  {:<8} {}\n", f->name, f->description);
    return 0;
  }
  for (const FamilyInfo* f : driver::families())
    if (f->name == what) {
      std::cout << fmt::format(
          "family {}: {}\nparameters (path, default, unit, description, type):\n", f->name,
          f->description);
      print_params(f->params(), nullptr);
      return 0;
    }
  ArchConfig cfg = load_arch(what);
  std::cout << fmt::format("preset {} (family {}, {}): {}\n", cfg.name, cfg.family, cfg.origin,
                           cfg.description);
  for (const auto& s : cfg.sources) std::cout << "  source: " << s << "\n";
  std::cout << "parameters (path, value, unit, description, type):\n";
  print_params(cfg.values.specs(), &cfg.values);
  return 0;
}

int cmd_presets() {
  for (const auto& p : list_presets())
    std::cout << fmt::format("{:<14} {:<6} {}\n", p.name, p.family, p.description);
  return 0;
}

}  // namespace

int sc_main(int argc, char* argv[]) {
  CLI::App app{"xpusim: cycle-approximate simulator of AI accelerators"};
  app.require_subcommand(1);
  RunArgs ra;
  auto* run =
      app.add_subcommand("run", "compile a workload (or take an assembly program) and simulate it");
  run->add_option("--arch", ra.arch, "preset name or configuration file (.yaml)")->required();
  run->add_option("--workload", ra.workload,
                  "workload YAML file, an ONNX model (.onnx, docs/onnx.md), or the name of a "
                  "model of the zoo (xpusim zoo)");
  run->add_option("--dtype", ra.dtype,
                  "ONNX models: the dtype their float tensors are computed in: bf16 (default), "
                  "fp16, or fp32 (gemm/matmul/conv/reshape/transpose only)");
  run->add_option("--onnx-test-data", ra.onnx_test_data,
                  "ONNX models: a folder of input_N.pb / output_N.pb (ONNX test data): the "
                  "inputs' values, and the outputs the run must match");
  run->add_option("--param", ra.params,
                  "set a workload param: NAME=VALUE (repeatable; xpusim zoo lists them)");
  run->add_option("--program", ra.program,
                  "program of the architecture's family: assembly text or its binary form "
                  "(xpusim asm)");
  run->add_option("--kernel", ra.kernel,
                  "a kernel from a file (GPU family: PTX as nvcc writes it)");
  run->add_option("--entry", ra.entry, "--kernel: the .entry to launch");
  run->add_option("--grid", ra.grid,
                  "--kernel: grid dimensions X[,Y[,Z]] (DaVinci: the block count)");
  run->add_option("--block", ra.block, "--kernel: block dimensions X[,Y[,Z]] (GPU kernels)");
  run->add_option("--shared", ra.shared, "--kernel: dynamic shared memory per block, bytes");
  run->add_option("--arg", ra.args,
                  "--kernel: NAME=FILE (a pointer: the file's bytes in device memory, written "
                  "back to NAME.bin in the results folder) or NAME=VALUE (a scalar); every "
                  "parameter once (repeatable)");
  run->add_option("--load", ra.load,
                  "--program runs: ADDR=FILE puts the file's bytes into device memory at ADDR "
                  "before the run (repeatable)");
  run->add_option("--save", ra.save,
                  "--program runs: ADDR:BYTES=NAME writes BYTES bytes of device memory from "
                  "ADDR to NAME in the results folder after the run (repeatable)");
  run->add_option("--set", ra.sets, "override a parameter: path.to.key=value (repeatable)");
  run->add_option("--out", ra.out, "results folder (default results/<workload>-<arch>)");
  run->add_flag("--trace", ra.trace, "write trace.json, a Perfetto timeline of every unit");
  run->add_flag("--no-functional", ra.no_functional, "timing only: compute no values");
  run->add_option("--seed", ra.seed, "seed of the generated inputs and weights");
  run->add_option("--dump-after", ra.dump_after,
                  "print the IR after these passes (frontend, fuse, and the target's: for the TPU "
                  "layout, tiling, isel, lower)")
      ->delimiter(',');
  run->add_flag("--rtl", ra.rtl,
                "run on the verilated RTL units: every TPU matmul on the systolic array (int8; "
                "docs/rtl.md), every DaVinci mad on the cube (s8; docs/rtl/cube.md)");
  run->add_option("--vcd", ra.vcd,
                  "with --rtl: write the waveforms of the first array or core 0's cube to this "
                  "VCD file");
  run->add_option("--vcd-range", ra.vcd_range,
                  "matmuls or mads FIRST:LAST (execution order, from 0) in the VCD (default: all)");
  run->add_option("--max-cycles", ra.max_cycles,
                  "stop with an error after this many simulated cycles (limits.max_cycles)");
  run->add_option("--max-instructions", ra.max_instructions,
                  "stop with an error after this many executed instructions "
                  "(limits.max_instructions)");
  run->add_flag("--quiet", ra.quiet, "no progress line on the terminal");
  run->add_flag("--progress-lines", ra.progress_lines,
                "a line on stderr as each layer starts, for a program that follows the run "
                "(xpusim compare)");
  run->add_flag("--force", ra.force,
                "write into a non-empty --out folder that xpusim did not make");

  std::string what;
  auto* describe = app.add_subcommand("describe", "parameters of a family or a preset");
  describe->add_option("name", what, "family (tpu) or preset (tpu_v1, ...)");
  auto* presets = app.add_subcommand("presets", "list the presets");

  std::string in_path, out_path, family = "tpu";
  bool force = false;
  auto* as = app.add_subcommand("asm", "assemble a program into its binary form");
  as->add_option("input", in_path, "assembly file")->required();
  as->add_option("-o,--output", out_path, "binary output (default: input with .bin)");
  as->add_option("--family", family, "ISA family (default tpu)");
  as->add_flag("--force", force, "overwrite the output file");
  auto* dis = app.add_subcommand("disasm", "print a binary program as assembly text");
  dis->add_option("input", in_path, "binary program")->required();
  dis->add_option("-o,--output", out_path, "write the text here instead of stdout");
  dis->add_option("--family", family, "ISA family (default tpu)");
  dis->add_flag("--force", force, "overwrite the output file");

  auto* compare = xpusim::cli::add_compare_command(app);
  auto* lab = xpusim::cli::add_lab_command(app);
  auto* validate = xpusim::cli::add_validate_command(app);
  auto* ptx_check = xpusim::cli::add_ptx_check_command(app);
  auto* zoo = xpusim::cli::add_zoo_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; a usage error is an error in the input like any other
    // (exit 1), not the parser's own codes.
    return app.exit(e) == 0 ? 0 : 1;
  }
  try {
    if (run->parsed()) return cmd_run(ra);
    if (compare->parsed()) return xpusim::cli::run_compare_command();
    if (describe->parsed()) return cmd_describe(what);
    if (presets->parsed()) return cmd_presets();
    if (lab->parsed()) return xpusim::cli::run_lab_command();
    if (validate->parsed()) return xpusim::cli::run_validate_command();
    if (ptx_check->parsed()) return xpusim::cli::run_ptx_check_command();
    if (zoo->parsed()) return xpusim::cli::run_zoo_command();
    if (as->parsed()) {
      std::vector<uint8_t> bin = driver::assemble(family, read_file(in_path), in_path);
      if (out_path.empty()) out_path = (fs::path(in_path).replace_extension(".bin")).string();
      write_new_file(out_path, std::string(bin.begin(), bin.end()), force);
      std::cout << fmt::format("{}: {} bytes\n", out_path, bin.size());
      return 0;
    }
    if (dis->parsed()) {
      std::string bytes = read_file(in_path);
      std::string text =
          driver::disassemble(family, std::vector<uint8_t>(bytes.begin(), bytes.end()), in_path);
      if (out_path.empty())
        std::cout << text;
      else
        write_new_file(out_path, text, force);
      return 0;
    }
  } catch (const Error& e) {
    std::cerr << "xpusim: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "xpusim: internal error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}

// Our own main (it takes precedence over libsystemc's): silence SystemC's banner before the
// kernel starts, then enter the kernel, which calls sc_main.
int main(int argc, char* argv[]) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
