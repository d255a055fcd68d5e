// The TPU family: registration, and the Backend that compiles a workload for a TPU
// configuration, runs it on the SystemC model and checks its values against the reference.
#include <fmt/format.h>

#include <algorithm>
#include <ostream>
#include <systemc>

#include "compiler/ir/ir.h"
#include "compiler/passes/passes.h"
#include "compiler/reference/reference.h"
#include "compiler/targets/tpu/lower.h"
#include "isa/tpu/instr.h"
#include "models/core/backend.h"
#include "models/tpu/core.h"
#include "models/tpu/params.h"

namespace xpusim::tpu {
namespace {

class TpuBackend : public Backend {
 public:
  explicit TpuBackend(const ArchConfig& cfg) : cfg_(cfg), p_(cfg.values) {}

  RunResult run_workload(const compiler::Graph& graph, const RunOptions& opt) override {
    compiler::Graph g = graph;
    compiler::run_graph_passes(g, opt.dump_after, opt.dump);
    compiler::TpuCaps caps;
    caps.target = cfg_.name;
    caps.rows = p_.rows;
    caps.cols = p_.cols;
    caps.count = p_.count;
    caps.dataflow = dataflow_name(p_.dataflow)[0];
    caps.int8 = p_.int8;
    caps.bf16 = p_.bf16;
    caps.vpu = p_.vpu;
    caps.ub_bytes = p_.ub_bytes;
    caps.acc_bytes = p_.acc_bytes;
    caps.fifo_tile_bytes = p_.fifo_tile_bytes;
    caps.dram_bytes = p_.dram_bytes;
    compiler::TpuProgram prog = compiler::lower_to_tpu(g, caps);
    if (opt.dump && std::count(opt.dump_after.begin(), opt.dump_after.end(), "lower"))
      *opt.dump << "# TPU program after pass 'lower'\n" << isa::tpu::disassemble(prog.code);

    std::unique_ptr<ByteStore> dram;
    if (opt.functional) {
      dram = std::make_unique<ByteStore>("dram", p_.dram_bytes);
      std::vector<compiler::Tensor> init = compiler::initial_values(g, opt.seed);
      for (size_t t = 0; t < init.size(); ++t)
        if (!init[t].data.empty()) {
          std::vector<uint8_t> bytes = compiler::pack_for_dram(init[t], prog.layout[t]);
          dram->write(prog.dram_addr[t], bytes.data(), bytes.size());
        }
    }
    RunResult r = simulate(prog.code, g.file.empty() ? g.name : g.file, dram.get(), opt);

    // Layers: cycles from the end of the previous layer to the end of this one (they add up
    // to the total); utilization over the layer's own span, which overlaps its neighbours'.
    uint64_t prev = 0;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const TpuCore::LayerSpan span =
          i < layer_spans_.size() ? layer_spans_[i] : TpuCore::LayerSpan{0, 0, 0};
      LayerResult l;
      l.name = prog.layer_names[i];
      l.op = prog.layer_ops[i];
      const uint64_t end = std::max(prev, span.done);
      l.cycles = end - prev;
      prev = end;
      l.span_cycles = span.done > span.start ? span.done - span.start : 0;
      l.macs = uint64_t(compiler::node_macs(g, g.nodes[i]));
      l.dram_bytes = span.dram_bytes;
      l.utilization =
          l.span_cycles ? double(l.macs) / (double(l.span_cycles) * r.peak_macs_per_cycle) : 0;
      r.layers.push_back(l);
    }
    if (opt.functional)
      check(g, prog, *dram, opt.seed, r);
    else
      r.notes.push_back("timing only (--no-functional): values were not computed or checked");
    return r;
  }

  RunResult run_program(const std::string& text, const std::string& file,
                        const RunOptions& opt) override {
    std::vector<isa::tpu::Instr> code = isa::tpu::assemble(text, file);
    // Host memory of a hand-written program holds zeros: every DRAM byte counts as written.
    auto dram = std::make_unique<ByteStore>("dram", p_.dram_bytes, true);
    RunResult r = simulate(code, file, opt.functional ? dram.get() : nullptr, opt);
    r.notes.push_back("assembly program: no reference to check values against");
    return r;
  }

 private:
  RunResult simulate(const std::vector<isa::tpu::Instr>& code, const std::string& file,
                     ByteStore* dram, const RunOptions& opt) {
    RunResult r;
    r.stats = std::make_unique<StatGroup>("tpu", "TPU-style core");
    TraceRecorder trace(opt.trace);
    // The end of a run is reported by the results, not by SystemC's info messages.
    sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    RtlOptions rtl;
    rtl.enabled = opt.rtl;
    rtl.vcd_path = opt.vcd_path;
    rtl.vcd_first = opt.vcd_first;
    rtl.vcd_last = opt.vcd_last;
    TpuCore core("tpu", p_, code, file, dram, *r.stats, trace, rtl);
    sc_core::sc_start();
    core.check_finished();
    r.total_cycles = core.total_cycles();
    r.clock_mhz = p_.clock().mhz();
    r.peak_macs_per_cycle = double(p_.rows) * p_.cols * p_.count;
    r.macs = uint64_t(r.stats->value("arrays.macs"));
    r.dram_bytes =
        uint64_t(r.stats->value("dram.bytes_read") + r.stats->value("dram.bytes_written"));
    layer_spans_ = core.layers();
    if (p_.stall_free)
      r.notes.push_back("stall-free timing (SCALE-Sim convention): only the arrays take time");
    if (opt.rtl)
      r.notes.push_back("RTL in the loop: every matmul ran on the verilated systolic array");
    if (opt.trace) trace.write(opt.trace_path, p_.clock_mhz, cfg_.name);
    return r;
  }

  void check(const compiler::Graph& g, const compiler::TpuProgram& prog, const ByteStore& dram,
             uint64_t seed, RunResult& r) const {
    std::vector<compiler::Tensor> want = compiler::reference_run(g, seed);
    for (const auto& n : g.nodes) {
      const int t = n.outputs[0];
      const compiler::TensorInfo& info = g.tensor(t);
      std::vector<uint8_t> bytes(size_t(info.bytes()));
      dram.read(prog.dram_addr[size_t(t)], bytes.data(), bytes.size(), "functional check");
      compiler::Tensor got = compiler::unpack_from_dram(bytes, info, prog.layout[size_t(t)]);
      compiler::CompareResult c = compiler::compare(got, want[size_t(t)]);
      if (!c.ok) {
        r.functional_check = "failed";
        r.check_detail = fmt::format("node '{}' output '{}': {}", n.name, info.name, c.message);
        return;
      }
    }
    r.functional_check = "passed";
    r.check_detail.clear();
  }

  ArchConfig cfg_;
  TpuParams p_;
  std::vector<TpuCore::LayerSpan> layer_spans_;
};

const bool registered = register_family(FamilyInfo{
    "tpu",
    "TPU-style core: systolic arrays (ws/os/is), weight FIFO, unified buffer, accumulators, "
    "activation pipeline, optional vector unit, DRAM channel",
    param_specs,
    [](const ArchConfig& cfg) -> std::unique_ptr<Backend> {
      return std::make_unique<TpuBackend>(cfg);
    },
    [](const std::string& text, const std::string& file) {
      return isa::tpu::encode(isa::tpu::assemble(text, file));
    },
    [](const std::vector<uint8_t>& bytes, const std::string& file) {
      return isa::tpu::disassemble(isa::tpu::decode(bytes, file));
    },
});

}  // namespace
}  // namespace xpusim::tpu
