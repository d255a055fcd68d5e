// The TPU family: its registration, and the Machine that runs a TPU program on the SystemC
// model of one core.
#include <fmt/format.h>

#include <algorithm>
#include <systemc>

#include "isa/tpu/program.h"
#include "models/core/arbiter.h"
#include "models/core/machine.h"
#include "models/core/simulation.h"
#include "models/tpu/cmem.h"
#include "models/tpu/core.h"
#include "models/tpu/params.h"

namespace xpusim::tpu {
namespace {

class TpuMachine final : public Machine {
 public:
  explicit TpuMachine(const ArchConfig& cfg) : name_(cfg.name), p_(cfg.values) {}

  uint64_t memory_bytes() const override { return p_.dram_bytes; }
  double clock_mhz() const override { return p_.clock_mhz; }
  double offchip_gbps() const override { return p_.dram_gbps; }
  std::vector<Peak> peaks() const override {
    std::vector<Peak> v;
    const double macs = double(p_.rows) * p_.cols * p_.count * p_.cores;
    if (p_.int8) v.push_back({"mac", "int8", macs});
    if (p_.bf16) v.push_back({"mac", "bf16", macs});
    if (p_.vpu) {  // one element per lane and cycle for a one-pass function
      v.push_back({"vector", "int8", double(p_.vpu_lanes) * p_.cores});
      v.push_back({"vector", "bf16", double(p_.vpu_lanes) * p_.cores});
    }
    return v;
  }

  MachineRun run(const isa::Program& program, ByteStore* dram, const MachineOptions& opt) override {
    const auto* tpu = dynamic_cast<const isa::tpu::Program*>(&program);
    if (!tpu) throw Error(opt.source + ": not a program of the TPU instruction set");
    const auto lists = ProgramCheck(p_, tpu->code, opt.source).core_lists(name_);
    MachineRun r;
    r.stats =
        std::make_unique<StatGroup>("tpu", p_.cores > 1 ? "TPU-style chip" : "TPU-style core");
    StatGroup& stats = *r.stats;
    uint64_t& cycles = stats.counter(
        "cycles", "cycles",
        "simulated cycles of the run, from the start to the completion of its last instruction");
    TraceRecorder trace(opt.trace);
    // The end of a run is reported by the results, not by SystemC's info messages.
    sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    const sc_core::sc_time period(double(p_.clock().period_ps()), sc_core::SC_PS);
    Arbiter arbiter("arbiter", period);
    StatGroup& dram_stats = stats.group("dram", "DRAM channel");
    DramChannel dram_channel(p_.clock().bytes_per_cycle(p_.dram_gbps),
                             p_.clock().cycles_in_ns(p_.dram_latency_ns), p_.stall_free,
                             p_.dram_writes_yield, dram_stats);
    dram_stats.formula("utilization", "fraction", "busy_cycles / cycles of the run",
                       [&dram_stats, &cycles] {
                         return cycles ? dram_stats.value("busy_cycles") / double(cycles) : 0.0;
                       });
    // The CMEM, when the chip has one, between the cores' DMAs and the DRAM channel.
    std::unique_ptr<Cmem> cmem;
    if (p_.cmem_bytes) {
      StatGroup& g = stats.group("cmem", "CMEM: a read cache shared by the cores in front of DRAM");
      cmem = std::make_unique<Cmem>(
          p_.cmem_bytes, p_.cmem_ways, p_.clock().bytes_per_cycle(p_.cmem_gbps),
          p_.clock().cycles_in_ns(p_.cmem_latency_ns), p_.stall_free, dram_channel, g);
      StatGroup& port = g.group("port", "the CMEM's port to the cores");
      port.formula("utilization", "fraction", "busy_cycles / cycles of the run", [&port, &cycles] {
        return cycles ? port.value("busy_cycles") / double(cycles) : 0.0;
      });
    }
    CoreBarrier barrier(p_.cores);
    Progress progress(opt.progress, opt.layers, opt.progress_lines);
    uint64_t executed = 0;
    const TpuCore::Chip chip{arbiter,  dram_channel, cmem.get(), barrier,
                             progress, executed,     cycles};
    // One core: its units at the top of the stats tree (as before chips had cores); several:
    // a group per core.
    std::vector<std::unique_ptr<TpuCore>> cores;
    for (int c = 0; c < p_.cores; ++c) {
      const bool one = p_.cores == 1;
      StatGroup& g = one ? stats : stats.group(fmt::format("core{}", c), "TensorCore");
      cores.push_back(std::make_unique<TpuCore>(fmt::format("core{}", c).c_str(), p_, tpu->code,
                                                lists[size_t(c)].first, lists[size_t(c)].second, c,
                                                opt.source, dram, chip, g, trace,
                                                one ? "" : fmt::format("core{} ", c)));
    }
    simulate();
    arbiter.check();
    LayerTracker layers;
    for (const auto& core : cores) {
      core->check_finished();
      cycles = std::max<uint64_t>(cycles, core->total_cycles());
      const auto& spans = core->layers();
      for (size_t l = 0; l < spans.size(); ++l)
        if (spans[l].start != ~uint64_t(0))
          layers.note(int(l), spans[l].start, spans[l].done, spans[l].dram_bytes);
      for (const OpCount& o : core->ops()) r.ops.push_back(o);
    }
    r.total_cycles = cycles;
    r.layers = layers.spans();
    r.offchip_read_bytes = uint64_t(stats.value("dram.bytes_read"));
    r.offchip_written_bytes = uint64_t(stats.value("dram.bytes_written"));
    for (int c = 0; c < p_.cores; ++c) {
      const std::string g = p_.cores == 1 ? "" : fmt::format("core{}.", c);
      r.onchip_bytes +=
          uint64_t(stats.value(g + "ub.bytes_read") + stats.value(g + "ub.bytes_written") +
                   stats.value(g + "acc.bytes_read") + stats.value(g + "acc.bytes_written"));
    }
    if (p_.stall_free)
      r.notes.push_back("stall-free timing (SCALE-Sim convention): only the arrays take time");
    if (p_.array_model.rtl)
      r.notes.push_back("RTL in the loop: every matmul ran on the verilated systolic array");
    if (p_.cores > 1)
      r.notes.push_back(fmt::format("{} TensorCores sharing the DRAM channel{}", p_.cores,
                                    cmem ? " behind the CMEM" : ""));
    if (opt.trace) trace.write(opt.trace_path, p_.clock_mhz, name_);
    return r;
  }

 private:
  std::string name_;
  TpuParams p_;
};

const bool registered = register_family(FamilyInfo{
    "tpu",
    "TPU-style core: systolic arrays (ws/os/is), weight FIFO, unified buffer, accumulators, "
    "activation pipeline, optional vector unit, DRAM channel",
    param_specs,
    [](const ArchConfig& cfg) -> std::unique_ptr<Machine> {
      return std::make_unique<TpuMachine>(cfg);
    },
    {"workloads/smoke/tpu-int8.yaml"},
});

}  // namespace
}  // namespace xpusim::tpu
