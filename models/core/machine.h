// The model side of an architecture family: a Machine runs a program of its ISA on a memory
// image and reports cycles, statistics and per-layer spans. It knows nothing of graphs; the
// driver (driver/) compiles workloads, builds the image, checks values and writes results.
//
// A family registers its FamilyInfo from a static initialiser in its model library
// (models/<family>/); its compiler target (compiler/targets/<family>/), ISA tools
// (isa/<family>/) and lab kinds register themselves under the same family name.
// SystemC elaborates once per process, so a machine runs one simulation per process.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/core/config.h"
#include "models/core/layers.h"
#include "models/core/stats.h"

namespace xpusim {
namespace isa {
class Program;
}
class ByteStore;

struct MachineOptions {
  std::string source;               // names the program in messages (assembly file or workload)
  bool trace = false;               // record a Perfetto timeline
  std::string trace_path;           // where to write it (when trace)
  bool progress = false;            // show a progress line on stderr (models/core/limits.h)
  bool progress_lines = false;      // instead, a line per layer on stderr (Progress's `lines`)
  std::vector<std::string> layers;  // the layers' names, for the progress line
};

// Operations are counted by class and dtype, so that every family's work and peaks compare
// like with like. The classes:
//   "mac"     multiply-accumulates of matrix units (systolic arrays, tensor cores, cubes)
//   "vector"  elements produced by vector units (elementwise, row-wise and pooling ops)
// A family that adds a class (CUDA-core FLOPs, special functions...) documents it here.
// dtypes are named as in workloads (dtype_name: int8, bf16, fp16, fp32, ...), plus "tf32".
struct OpCount {
  std::string op_class, dtype;
  uint64_t count = 0;
};
// A machine's peak rate of one class and dtype, from its preset.
struct Peak {
  std::string op_class, dtype;
  double per_cycle = 0;
};

// What a machine measured in one run.
struct MachineRun {
  uint64_t total_cycles = 0;
  std::vector<OpCount> ops;         // performed, by class and dtype (counts of 0 may be left out)
  uint64_t offchip_read_bytes = 0;  // DRAM/HBM bytes read
  uint64_t offchip_written_bytes = 0;
  uint64_t onchip_bytes = 0;  // bytes read and written in on-chip buffers (scratchpads, caches)
  std::unique_ptr<StatGroup> stats;  // the component tree's statistics
  std::vector<LayerSpan> layers;     // per layer the program's instructions are tagged with
  std::vector<std::string> notes;    // modelling notes worth printing with the results
  // Further files for the results folder (name -> bytes): a kernel run's buffers.
  std::vector<std::pair<std::string, std::string>> files;
};

// A kernel launched from a file (families that run kernels: gpu). The family binds `args`
// (NAME=FILE or NAME=VALUE) to the kernel's parameters.
struct KernelLaunch {
  std::string file;   // the kernel's source (PTX for the GPU family)
  std::string entry;  // the kernel to launch
  std::array<uint32_t, 3> grid{1, 1, 1};
  std::array<uint32_t, 3> block{0, 0, 0};  // threads per block (GPU); zeros: not given
  uint64_t shared_bytes = 0;               // dynamic shared memory per block
  std::vector<std::string> args;
  bool values = true;  // false: timing only (the family skips what values alone need)
};

class Machine {
 public:
  virtual ~Machine() = default;
  // Capacity of the device memory (DRAM/HBM) that programs address, in bytes.
  virtual uint64_t memory_bytes() const = 0;
  virtual double clock_mhz() const = 0;
  // Peak operations per cycle of every class and dtype the machine runs, at full use.
  virtual std::vector<Peak> peaks() const = 0;
  // Peak off-chip (DRAM/HBM) bandwidth of the whole machine, GB/s: the roofline's slope.
  virtual double offchip_gbps() const = 0;
  // Runs program. `memory` is the device memory image (the driver fills it and reads the
  // results back), or nullptr for a timing-only run. Throws Error for a program that cannot
  // run (wrong family, out-of-bounds access, deadlock...).
  virtual MachineRun run(const isa::Program& program, ByteStore* memory,
                         const MachineOptions& opt) = 0;
  // Runs a kernel from a file with values; the default refuses (the family runs programs).
  virtual MachineRun run_kernel(const KernelLaunch& launch, const MachineOptions& opt);
};

struct FamilyInfo {
  std::string name;
  std::string description;
  std::function<const std::vector<ParamSpec>&()> params;
  std::function<std::unique_ptr<Machine>(const ArchConfig&)> make;
  // Workloads (paths from the source tree) every preset of the family must run with values
  // checked: the conformance tests run them without naming any family.
  std::vector<std::string> smoke_workloads;
  // false while a family runs only kernels from files (Machine::run_kernel): it has no
  // compiler target, ISA tools or smoke workloads yet, and the conformance tests skip those.
  bool compiles_workloads = true;
};

// Registers a family; called from a static initialiser in the family's object library.
bool register_family(FamilyInfo info);
// Throws Error listing the registered families when name is unknown.
const FamilyInfo& find_family(const std::string& name);
std::vector<const FamilyInfo*> families();

}  // namespace xpusim
