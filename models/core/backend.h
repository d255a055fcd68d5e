// The interface every architecture family implements, and the family registry.
//
// A family (tpu, gpu, npu_davinci, npu_mlu) declares its parameters, its ISA tools and a
// factory for a Backend. A Backend lowers a workload graph to its ISA and simulates it, or
// simulates a program written in its assembly. SystemC elaborates once per process, so a
// Backend runs one simulation per process (compare and sweeps start one process each).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "models/core/config.h"
#include "models/core/stats.h"

namespace xpusim {
namespace compiler {
struct Graph;
}

struct RunOptions {
  bool functional = true;               // compute real values and check them against the reference
  bool trace = false;                   // record a Perfetto/Chrome timeline
  std::string trace_path;               // where to write it (when trace)
  uint64_t seed = 1;                    // seed of generated inputs and weights
  std::vector<std::string> dump_after;  // print the IR after these compiler passes
  std::ostream* dump = nullptr;         // where dumps go
  bool rtl = false;                     // matmuls through the verilated systolic array (tpu)
  std::string vcd_path;                 // with rtl: the array's waveforms (empty: none)
  size_t vcd_first = 0, vcd_last = 0;   // of matmul instructions [first, last], execution order
};

struct LayerResult {
  std::string name, op;
  uint64_t cycles = 0;       // from the end of the previous layer to its end (they add up)
  uint64_t span_cycles = 0;  // from its first instruction's start to its last one's end
  uint64_t macs = 0;         // multiply-accumulates of the layer
  uint64_t dram_bytes = 0;   // DRAM bytes moved by the layer's instructions
  double utilization = 0;    // macs / (span_cycles * peak MACs per cycle)
};

struct RunResult {
  uint64_t total_cycles = 0;
  double clock_mhz = 0;
  double peak_macs_per_cycle = 0;
  uint64_t macs = 0;
  uint64_t dram_bytes = 0;
  std::string functional_check = "skipped";  // "passed", "failed" or "skipped"
  std::string check_detail;                  // why, when not passed
  std::vector<LayerResult> layers;
  std::unique_ptr<StatGroup> stats;  // the component tree's statistics
  std::vector<std::string> notes;    // modelling notes worth printing with results
};

class Backend {
 public:
  virtual ~Backend() = default;
  // Compiles the workload for this architecture and simulates it.
  virtual RunResult run_workload(const compiler::Graph& g, const RunOptions& opt) = 0;
  // Simulates an assembly program of this family (file path for messages).
  virtual RunResult run_program(const std::string& text, const std::string& file,
                                const RunOptions& opt) = 0;
};

struct FamilyInfo {
  std::string name;
  std::string description;
  std::function<const std::vector<ParamSpec>&()> params;
  std::function<std::unique_ptr<Backend>(const ArchConfig&)> make;
  // ISA tools: assembly text -> binary program file, and back.
  std::function<std::vector<uint8_t>(const std::string& text, const std::string& file)> assemble;
  std::function<std::string(const std::vector<uint8_t>& bytes, const std::string& file)>
      disassemble;
};

// Registers a family; called from a static initialiser in the family's object library.
bool register_family(FamilyInfo info);
// Throws Error listing the registered families when name is unknown.
const FamilyInfo& find_family(const std::string& name);
std::vector<const FamilyInfo*> families();

}  // namespace xpusim
