// The GPU family's compiler target: every tensor row-major in a buffer of its own, but for a
// reshape's output, which shares its input's, and a kv_append's, which shares its cache's (the
// cache laid out with room for the new rows after each matrix's); then each node lowered to PTX
// kernels and their launches by the lowering its op kind registered (kernel.h).
// `--dump-after=layout` prints the buffers, `--dump-after=lower` the program: the PTX module and
// its `// xpusim:` launch lines.
#include <fmt/format.h>

#include "compiler/target.h"
#include "compiler/targets/gpu/gemm.h"
#include "compiler/targets/gpu/kernel.h"
#include "models/core/params.h"

namespace xpusim::compiler::gpu {
namespace {

class GpuTarget final : public Target {
 public:
  explicit GpuTarget(const ArchConfig& cfg) : memory_bytes_(cfg.values.integer("memory.bytes")) {
    const ParamValues& v = cfg.values;
    caps_.name = cfg.name;
    caps_.sm = std::stoi(v.choice("sm.compute_capability"));
    caps_.sms = int(v.integer("sm.count"));
    caps_.max_threads_per_block = int(v.integer("sm.max_threads_per_block"));
    caps_.max_shared_per_block = v.integer("sm.max_shared_per_block");
    caps_.shared_per_sm = v.integer("sm.shared_bytes");
    caps_.registers_per_sm = v.integer("sm.registers");
    caps_.max_warps_per_sm = int(v.integer("sm.max_warps"));
  }

  std::vector<std::string> pass_names() const override { return {"layout", "lower"}; }

  Lowered lower(const Graph& g, const Dump& dump) const override {
    // A reshape's output is its input's bytes, a kv_append's its cache's (the cache, a graph
    // input that no other node reads, gets room for the new rows after each (ctx, d) matrix, so
    // that only those rows move); every other tensor has a buffer.
    std::vector<int> root(g.tensors.size());
    for (size_t t = 0; t < root.size(); ++t) root[t] = int(t);
    std::vector<Layout> layout(g.tensors.size());
    for (const Node& n : g.nodes) {
      if (n.kind == OpKind::reshape || n.kind == OpKind::kv_append)
        root[size_t(n.outputs[0])] = root[size_t(n.inputs[0])];
      if (n.kind == OpKind::kv_append) {
        Layout& l = layout[size_t(n.inputs[0])];
        const std::vector<int64_t>& s = g.tensor(n.outputs[0]).shape;
        l.kind = Layout::padded;
        l.align = 1;
        l.tail_bytes = 1;
        l.min_rows = s[s.size() - 2];
      }
    }
    // A weight that only small-M tensor-core gemms read is stored in their fragments' order
    // (gemv.cpp).
    std::vector<int> readers(g.tensors.size(), 0), transposing(g.tensors.size(), 0);
    for (const Node& n : g.nodes)
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        ++readers[size_t(n.inputs[i])];
        transposing[size_t(n.inputs[i])] += i == 1 && gemv_reads_b_fragments(caps_, g, n);
      }
    std::vector<bool> fragments(g.tensors.size(), false);
    for (size_t t = 0; t < g.tensors.size(); ++t)
      if (readers[t] && transposing[t] == readers[t] && layout[t].kind == Layout::row_major) {
        layout[t].kind = Layout::mma_fragments;
        fragments[t] = true;
      }
    std::vector<bool> given(g.tensors.size(), false);
    for (int t : g.inputs) given[size_t(t)] = true;
    Lowered out;
    out.tensors.resize(g.tensors.size());
    std::vector<isa::ptx::Buffer> buffers;
    std::vector<std::string> args(g.tensors.size());
    uint64_t end = 0;
    for (size_t t = 0; t < g.tensors.size(); ++t) {
      if (root[t] != int(t)) continue;
      const TensorInfo& info = g.tensors[t];
      isa::ptx::Buffer b;
      b.name = fmt::format("t{}", t);
      b.addr = (end + 255) & ~uint64_t(255);
      b.bytes = uint64_t(layout_bytes(info, layout[t]));
      b.in = given[t] || info.is_param;
      end = b.addr + std::max<uint64_t>(b.bytes, 1);
      out.tensors[t] = Placement{b.addr, layout[t]};
      args[t] = "@" + b.name;
      buffers.push_back(b);
    }
    for (size_t t = 0; t < root.size(); ++t) {
      out.tensors[t].addr = out.tensors[size_t(root[t])].addr;  // an alias is row-major
      args[t] = args[size_t(root[t])];
    }
    if (dump.wants("layout")) {
      std::string text;
      for (size_t t = 0; t < g.tensors.size(); ++t) {
        const Layout& l = out.tensors[t].layout;
        text += fmt::format("{:<24} {:>12} bytes at {:#x} (buffer t{}), {}", g.tensors[t].name,
                            layout_bytes(g.tensors[t], l), out.tensors[t].addr, root[t],
                            layout_name(l));
        text += l.min_rows ? fmt::format(" with room for {} rows per matrix\n", l.min_rows) : "\n";
      }
      dump.print("layout", "GPU device-memory buffers", text);
    }
    Emitter e(g, caps_, args, fragments);
    e.lower_all();
    if (e.scratch_bytes()) {  // after the tensors' buffers
      isa::ptx::Buffer b;
      b.name = "scratch";
      b.addr = (end + 255) & ~uint64_t(255);
      b.bytes = e.scratch_bytes();
      end = b.addr + b.bytes;
      buffers.push_back(b);
    }
    if (end > uint64_t(memory_bytes_))
      throw Error(
          fmt::format("{}: the workload's tensors take {} bytes, more than {}'s {} bytes "
                      "of device memory",
                      g.file.empty() ? g.name : g.file, end, caps_.name, memory_bytes_));
    out.program = std::make_unique<isa::ptx::Program>(
        e.ptx(), std::move(buffers), std::move(e.launches()), g.file.empty() ? g.name : g.file);
    if (dump.wants("lower")) dump.print("lower", "GPU program", out.program->disassemble());
    return out;
  }

 private:
  GpuCaps caps_;
  int64_t memory_bytes_;
};

const bool registered =
    register_target(TargetInfo{"gpu", [](const ArchConfig& cfg) -> std::unique_ptr<Target> {
                                 return std::make_unique<GpuTarget>(cfg);
                               }});

}  // namespace
}  // namespace xpusim::compiler::gpu
