// The driver: one pipeline for every family. A workload goes graph -> graph passes -> the
// family's target lowering -> memory image -> the family's machine -> read back -> check
// against the reference -> layer accounting -> results; a hand-written program skips the
// compiler. The CLI reaches families only through here.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/params.h"
#include "driver/results.h"
#include "models/core/config.h"
#include "models/core/machine.h"

namespace xpusim::driver {

// A region of device memory a --program run loads from a file before it starts, or dumps to
// a file of the results folder after it ends.
struct MemoryRegion {
  uint64_t addr = 0;
  uint64_t bytes = 0;  // dumps: the length; loads: the file's size
  std::string file;    // loads: the file to read; dumps: the name in the results folder
};

struct RunOptions {
  bool functional = true;                // compute real values and check them against the reference
  bool trace = false;                    // record a Perfetto/Chrome timeline
  std::string trace_path;                // where to write it (when trace)
  uint64_t seed = 1;                     // seed of generated inputs and weights
  std::vector<std::string> dump_after;   // print the IR after these passes
  std::ostream* dump = nullptr;          // where dumps go
  bool progress = false;                 // a progress line on stderr while the run is long
  bool progress_lines = false;           // instead, a line per layer (models/core/limits.h)
  compiler::WorkloadParams params;       // values of the workload's params (--param)
  std::string dtype;                     // ONNX workloads: the dtype of float tensors (--dtype)
  std::string onnx_test_data;            // ONNX workloads: input_N.pb / output_N.pb folder
  std::vector<MemoryRegion> load, save;  // --program runs: memory in from files, out to files
};

// Parses `ADDR=FILE` (a load: the whole file at ADDR) or `ADDR:BYTES=NAME` (a dump of BYTES
// bytes from ADDR into the results folder's NAME); numbers in decimal or 0x hex. Error naming
// the option on malformed text or an unsafe NAME.
MemoryRegion parse_load(const std::string& text);
MemoryRegion parse_save(const std::string& text);

// How reports name a workload: its name, then the values of its params that are documented or
// were given ("resnet-50 (batch=8, image=224, dtype=bf16)").
std::string workload_label(const compiler::Graph& g);

// The workload file `--workload` names: the path itself when it exists, else, for a bare name
// (no '/', no extension), the model zoo's workload of that name (`xpusim zoo` lists them);
// Error naming both places when neither exists.
std::string workload_file(const std::string& arg);

// The default results folder of a run: results/<input stem>-<arch name>, plus "-set-" and a
// hash of the overrides when there are any, so that runs of different configurations never
// share a folder. A command other than `run` gives its name as `command`, which prefixes the
// folder's name (results/validate-...), so that its folder is never a run's. The names must be
// safe file names (models/core/names.h).
std::string default_results_dir(const std::string& input, const ArchConfig& cfg,
                                const std::vector<std::string>& overrides,
                                const std::string& command = "");

// The shorthands of `run` for the RTL units: --rtl selects the RTL model of every unit of the
// family that has one (a `<unit>.model` parameter with the choice `rtl`), --vcd FILE and
// --vcd-range FIRST:LAST set that unit's `<unit>.vcd`, `<unit>.vcd_first` and `<unit>.vcd_last`.
// Returns them as --set overrides for cfg's family; Error when the family has no RTL unit or
// the range is malformed.
std::vector<std::string> rtl_overrides(const ArchConfig& cfg, bool rtl, const std::string& vcd,
                                       const std::string& vcd_range);

// The graph of a workload file, a YAML workload (with opt.params) or an ONNX model (with
// opt.dtype and opt.onnx_test_data), as run_workload builds it.
compiler::Graph load_graph(const std::string& workload_file, const RunOptions& opt);

// Compiles the workload file for cfg and simulates it: a YAML workload, or an ONNX model
// (.onnx, docs/onnx.md) whose outputs are also checked against opt.onnx_test_data's when given.
RunResult run_workload(const ArchConfig& cfg, const std::string& workload_file,
                       const RunOptions& opt);
// Simulates a program of cfg's family, given as assembly text or in its binary form (the
// contents of `file`, which names it in messages). Device memory starts as zeros, then the
// loads of opt are applied; the dumps become RunResult::files.
RunResult run_program(const ArchConfig& cfg, const std::string& contents, const std::string& file,
                      const RunOptions& opt);

// Runs a kernel from a file (families that run kernels: gpu) with values: its pointer
// arguments' final contents become RunResult::files (<name>.bin).
RunResult run_kernel(const ArchConfig& cfg, const KernelLaunch& launch, const RunOptions& opt);

// The ISA tools of a family: assembly text to the binary program file, and back.
std::vector<uint8_t> assemble(const std::string& family, const std::string& text,
                              const std::string& file);
std::string disassemble(const std::string& family, const std::vector<uint8_t>& bytes,
                        const std::string& file);

// The registered families, for `describe` (models/core/machine.h).
using xpusim::families;

}  // namespace xpusim::driver
