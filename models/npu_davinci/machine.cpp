// The DaVinci family: its registration, and the Machine that runs a kernel written in the
// DaVinci assembly (isa/davinci) on AI cores that share the L2 and HBM.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "isa/davinci/instr.h"
#include "isa/davinci/program.h"
#include "models/core/arbiter.h"
#include "models/core/barrier.h"
#include "models/core/kernel_args.h"
#include "models/core/layers.h"
#include "models/core/limits.h"
#include "models/core/machine.h"
#include "models/core/memside.h"
#include "models/core/simulation.h"
#include "models/npu_davinci/core.h"
#include "models/npu_davinci/params.h"
#include "models/npu_davinci/race.h"
#include "models/npu_davinci/sampling.h"

namespace xpusim::davinci {
namespace {

namespace dv = isa::davinci;

constexpr uint64_t kAlign = 512;  // buffers in global memory start on this boundary

// The kernel in `file`: its binary form (magic XPUDV001) or its assembly text.
dv::Kernel load_kernel(const std::string& file) {
  std::string bytes;
  if (!read_file_bytes(file, bytes)) throw Error("cannot read kernel file '" + file + "'");
  if (bytes.compare(0, 8, "XPUDV001") == 0)
    return dv::decode(std::vector<uint8_t>(bytes.begin(), bytes.end()), file);
  return dv::assemble(bytes, file);
}

// A whole decimal or 0x-hex integer (an argument's value), else false.
bool parse_value(const std::string& text, int64_t& v) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  v = std::strtoll(text.c_str(), &end, 0);
  return errno == 0 && end && *end == 0;
}

class DavinciMachine final : public Machine {
 public:
  explicit DavinciMachine(const ArchConfig& cfg)
      : name_(cfg.name), p_(cfg.values), limits_(cfg.values) {}

  uint64_t memory_bytes() const override { return uint64_t(p_.memory_bytes); }
  double clock_mhz() const override { return p_.clock_mhz; }
  double offchip_gbps() const override {
    return p_.memory_side.dram_bytes_per_cycle * p_.clock_mhz / 1e3;
  }
  std::vector<Peak> peaks() const override {
    const double c = p_.cores;
    std::vector<Peak> v = {{"mac", "fp16", c * 4096}, {"mac", "int8", c * 8192}};
    if (p_.bf16) v.push_back({"mac", "bf16", c * 4096});
    v.push_back({"vector", "fp16", c * 128});
    v.push_back({"vector", "fp32", c * 64});
    return v;
  }

  // A compiled (or hand-written) program: one block per AI core, no parameters (addresses are
  // in the code), on the driver's memory image.
  MachineRun run(const isa::Program& program, ByteStore* memory,
                 const MachineOptions& opt) override {
    const auto* dp = dynamic_cast<const dv::Program*>(&program);
    if (!dp) throw Error(opt.source + ": not a program of the DaVinci instruction set");
    if (!dp->kernel.params.empty())
      throw Error(fmt::format(
          "{}: kernel {} takes parameters: run it with run --kernel FILE --entry {} --arg ...",
          opt.source, dp->kernel.name, dp->kernel.name));
    return simulate_launch(dp->kernel, p_.cores, {}, memory, opt, opt.source);
  }

  MachineRun run_kernel(const KernelLaunch& launch, const MachineOptions& opt) override {
    const dv::Kernel k = load_kernel(launch.file);
    if (launch.entry != k.name)
      throw Error(fmt::format("{}: no kernel '{}' (the file's kernel is '{}')", launch.file,
                              launch.entry, k.name));
    if (launch.grid[1] != 1 || launch.grid[2] != 1 ||
        !(launch.block == std::array<uint32_t, 3>{0, 0, 0}))
      throw Error(
          "run --kernel: a DaVinci launch is --grid BLOCKS (the block count, blockDim in Ascend "
          "C terms), one dimension, without --block");
    if (launch.shared_bytes)
      throw Error(
          "run --kernel: --shared is for GPU kernels (a DaVinci kernel has no shared "
          "memory to size)");
    const int blocks = int(launch.grid[0]);

    std::string listing;
    std::vector<std::string> names;
    for (const auto& p : k.params) {
      listing += fmt::format("\n  {} (in x{}: a number, or a file copied to global memory)", p.name,
                             p.reg);
      names.push_back(p.name);
    }
    if (listing.empty()) listing = " (none)";
    const std::vector<std::string> given =
        bind_kernel_args(launch.args, names, k.name, launch.file, listing, "--arg");

    // Global memory: each file argument in a buffer of its own.
    std::unique_ptr<ByteStore> gm;
    if (launch.values) gm = std::make_unique<ByteStore>("gm", uint64_t(p_.memory_bytes));
    struct Buffer {
      std::string name;
      uint64_t addr, bytes;
    };
    std::vector<Buffer> buffers;
    std::vector<int64_t> args;
    uint64_t next = kAlign;
    for (size_t i = 0; i < k.params.size(); ++i) {
      int64_t v = 0;
      if (parse_value(given[i], v)) {
        args.push_back(v);
        continue;
      }
      std::string bytes;
      if (!read_file_bytes(given[i], bytes))
        throw Error(fmt::format("--arg {}={}: neither a number nor a file that can be read",
                                k.params[i].name, given[i]));
      if (next + bytes.size() > uint64_t(p_.memory_bytes))
        throw Error(fmt::format(
            "--arg {}={}: {} bytes do not fit in the {} bytes of global memory "
            "left",
            k.params[i].name, given[i], bytes.size(), uint64_t(p_.memory_bytes) - next));
      if (gm) gm->write(next, bytes.data(), bytes.size());
      buffers.push_back({k.params[i].name, next, bytes.size()});
      args.push_back(int64_t(next));
      next = (next + bytes.size() + kAlign - 1) / kAlign * kAlign;
    }

    MachineRun r = simulate_launch(k, blocks, args, gm.get(), opt, launch.file);
    if (launch.values)
      for (const Buffer& b : buffers) {
        std::string bytes(b.bytes, '\0');
        gm->read(b.addr, bytes.data(), b.bytes, "reading back --arg " + b.name);
        r.files.emplace_back(b.name + ".bin", std::move(bytes));
      }
    return r;
  }

 private:
  // Runs `blocks` blocks of kernel k with `args` (per parameter) on global memory gm (nullptr:
  // timing only); `file` names the kernel in messages.
  MachineRun simulate_launch(const dv::Kernel& k, int blocks, const std::vector<int64_t>& args,
                             ByteStore* gm, const MachineOptions& opt, const std::string& file) {
    MachineRun r;
    r.stats = std::make_unique<StatGroup>("davinci", "DaVinci-style NPU: AI cores, L2, HBM");
    StatGroup& stats = *r.stats;
    uint64_t& cycles =
        stats.counter("cycles", "cycles",
                      "simulated cycles of the launch, from its start to its last block's end");
    StatGroup& launch_g = stats.group("launch", "the kernel launch");
    launch_g.counter("blocks", "blocks", "blocks launched (blockDim)") = uint64_t(blocks);
    const int cores = std::min(blocks, p_.cores);
    launch_g.counter("cores", "cores", "AI cores that ran blocks") = uint64_t(cores);

    sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    const sc_core::sc_time period(double(p_.clock().period_ps()), sc_core::SC_PS);
    Arbiter arbiter("arbiter", period);
    MemorySide memory(p_.memory_side, stats);
    CoreBarrier barrier(cores);
    std::unique_ptr<RaceChecker> races;
    if (p_.race_check) races = std::make_unique<RaceChecker>(cores, k.code, file, opt.layers);
    // sampling.ops: timing only, every block on a core of its own (sync_all needs it).
    std::unique_ptr<OpSampler> sampler;
    if (p_.sample_ops && !gm && blocks <= p_.cores)
      sampler = std::make_unique<OpSampler>(k.code, uint64_t(p_.sample_ops), stats);
    barrier.on_release([&] {
      if (races) races->all_synced();
      if (sampler) sampler->synced(arbiter.now());
    });
    uint64_t executed = 0;
    std::exception_ptr error;  // the first error of any core
    Progress progress(opt.progress, opt.layers, opt.progress_lines);
    const AiCore::Chip chip{arbiter,
                            memory,
                            barrier,
                            gm,
                            uint64_t(p_.memory_bytes),
                            races.get(),
                            executed,
                            limits_.max_instructions,
                            limits_.max_cycles,
                            blocks,
                            cycles,
                            error,
                            opt.layers,
                            progress,
                            sampler.get()};
    TraceRecorder trace(opt.trace);
    std::vector<std::unique_ptr<AiCore>> ai;
    for (int c = 0; c < cores; ++c) {
      std::vector<int> mine;
      for (int b = c; b < blocks; b += cores) mine.push_back(b);
      ai.push_back(std::make_unique<AiCore>(
          fmt::format("core{}", c).c_str(), p_, k, file, args, std::move(mine), c, chip,
          stats.group(fmt::format("core{}", c), "AI core"), trace));
    }
    if (sampler) {
      std::vector<AiCore*> all;
      for (const auto& core : ai) all.push_back(core.get());
      sampler->attach(std::move(all));
    }
    simulate();
    arbiter.check();
    LayerTracker layers;
    for (const auto& core : ai) {
      core->check_finished();
      cycles = std::max(cycles, core->total_cycles());
      const auto& spans = core->layers();
      for (size_t l = 0; l < spans.size(); ++l)
        if (spans[l].start != ~uint64_t(0))
          layers.note(int(l), spans[l].start, spans[l].done, spans[l].dram_bytes);
    }
    r.total_cycles = cycles;
    r.layers = layers.spans();
    std::map<std::string, uint64_t> macs, elements;
    for (int c = 0; c < cores; ++c) {
      for (const auto& [ty, n] : ai[size_t(c)]->macs()) macs[ty] += n;
      for (const auto& [ty, n] : ai[size_t(c)]->vector_elements()) elements[ty] += n;
      for (const char* b : {"l1", "l0a", "l0b", "l0c", "ub"})
        r.onchip_bytes += uint64_t(stats.value(fmt::format("core{}.{}.bytes_read", c, b)) +
                                   stats.value(fmt::format("core{}.{}.bytes_written", c, b)));
      ai[size_t(c)]->finish_trace();
    }
    for (const auto& [ty, n] : macs) r.ops.push_back({"mac", ty, n});
    for (const auto& [ty, n] : elements) r.ops.push_back({"vector", ty, n});
    r.offchip_read_bytes = uint64_t(stats.value("dram.bytes_read"));
    r.offchip_written_bytes = uint64_t(stats.value("dram.bytes_written"));
    r.notes.push_back(fmt::format("{} blocks on {} of {} AI cores{}", blocks, cores, p_.cores,
                                  p_.race_check ? "; checked for races between pipes" : ""));
    if (sampler) {
      StatGroup& sg =
          stats.group("op_sampling",
                      "code between sync_alls not simulated in a timing-only run (sampling.ops)");
      sg.counter("units", "units",
                 "instances of code between two sync_alls that sampling could skip") =
          sampler->units();
      sg.counter("units_skipped", "units",
                 "those that took the figures of the last simulated instance of the same code "
                 "(but for base addresses) from the same state") = sampler->skipped();
      sg.counter("cycles_reused", "cycles", "the cycles those units were given") =
          sampler->cycles_reused();
      r.notes.push_back(fmt::format(
          "sampling.ops = {}: {} of {} units of code between sync_alls (a graph node's) were not "
          "simulated and took the figures of the last simulated one of the same code and state "
          "(docs/models/davinci.md)",
          p_.sample_ops, sampler->skipped(), sampler->units()));
    }
    if (p_.cube_model.rtl)
      r.notes.push_back("RTL in the loop: every mad ran on the verilated cube unit");
    if (opt.trace) trace.write(opt.trace_path, p_.clock_mhz, name_);
    return r;
  }

  std::string name_;
  DavinciParams p_;
  RunLimits limits_;
};

const bool registered = register_family(FamilyInfo{
    "davinci",
    "Ascend DaVinci-style NPU: AI cores whose scalar unit dispatches to parallel in-order pipes "
    "(MTE1, MTE2, MTE3, cube, vector, FIX) synchronised by flags; L1, L0A/B/C and unified "
    "buffers; L2 and HBM shared by the cores",
    param_specs,
    [](const ArchConfig& cfg) -> std::unique_ptr<Machine> {
      return std::make_unique<DavinciMachine>(cfg);
    },
    {"workloads/smoke/davinci-fp16.yaml", "workloads/smoke/davinci-ops.yaml",
     "workloads/smoke/davinci-int8.yaml"},
});

}  // namespace
}  // namespace xpusim::davinci
