// The GPU family: its registration, and the Machine that runs a PTX kernel from a file on the
// timing model (timing.h), which executes every warp-instruction as it issues (exec.h).
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>

#include "isa/ptx/module.h"
#include "isa/ptx/numeric.h"
#include "isa/ptx/program.h"
#include "models/core/kernel_args.h"
#include "models/core/layers.h"
#include "models/core/limits.h"
#include "models/core/machine.h"
#include "models/core/memory.h"
#include "models/gpu/exec.h"
#include "models/gpu/params.h"
#include "models/gpu/regs.h"
#include "models/gpu/timing.h"

namespace xpusim::gpu {
namespace {

using isa::ptx::Param;
using isa::ptx::Type;

std::string param_list(const isa::ptx::Kernel& k) {
  std::string s;
  for (const Param& p : k.params)
    s += fmt::format("\n  {} (.{}{})", p.name, isa::ptx::type_name(p.type),
                     p.size > isa::ptx::type_bytes(p.type) ? fmt::format("[{}]", p.size) : "");
  return s.empty() ? " (none)" : s;
}

// A scalar argument's bytes from its text, parsed by the parameter's type.
bool parse_scalar(const Param& p, const std::string& text, uint64_t& bits) {
  if (text.empty()) return false;
  const char* b = text.c_str();
  char* end = nullptr;
  errno = 0;
  switch (p.type) {
    case Type::f32: {
      const float f = std::strtof(b, &end);
      bits = isa::ptx::f32_bits(f);
      break;
    }
    case Type::f64: {
      const double d = std::strtod(b, &end);
      bits = isa::ptx::f64_bits(d);
      break;
    }
    default: {
      const bool neg = text[0] == '-';
      if (neg) {
        const long long v = std::strtoll(b, &end, 0);
        bits = uint64_t(v);
      } else {
        bits = std::strtoull(b, &end, 0);
      }
      const int w = int(p.size) * 8;
      if (w < 64) {
        // Signed or unsigned range of the width (a .u32 may take an s32 value).
        const int64_t lo = -(int64_t(1) << (w - 1));
        const uint64_t hi = (uint64_t(1) << w) - 1;
        if (neg ? int64_t(bits) < lo : bits > hi) return false;
      }
      break;
    }
  }
  return errno == 0 && end && *end == 0;
}

class GpuMachine final : public Machine {
 public:
  explicit GpuMachine(const ArchConfig& cfg)
      : name_(cfg.name), p_(cfg.values), limits_(cfg.values) {}

  uint64_t memory_bytes() const override { return uint64_t(p_.memory_bytes); }
  double clock_mhz() const override { return p_.clock_mhz; }
  double offchip_gbps() const override { return p_.memory_gbps; }
  std::vector<Peak> peaks() const override {
    const double sms = p_.sms;
    return {{"mac", "fp16", sms * p_.tensor_f16},
            {"mac", "bf16", sms * p_.tensor_f16},
            {"mac", "tf32", sms * p_.tensor_tf32},
            {"mac", "int8", sms * p_.tensor_int8}};
  }

  MachineRun run(const isa::Program& program, ByteStore* image,
                 const MachineOptions& opt) override {
    const auto* prog = dynamic_cast<const isa::ptx::Program*>(&program);
    if (!prog) throw Error(opt.source + ": not a GPU program");
    isa::ptx::Module m = prog->module();
    const std::map<const isa::ptx::Kernel*, Prepared> prepared = prepare(m);
    DeviceMemory mem(uint64_t(p_.memory_bytes));
    for (const isa::ptx::Buffer& b : prog->buffers()) {
      mem.alloc_at(DeviceMemory::kGlobalBase + b.addr, b.bytes, "buffer " + b.name);
      if (image && b.in)
        image->read(b.addr, mem.data(DeviceMemory::kGlobalBase + b.addr), b.bytes,
                    opt.source + ": buffer " + b.name);
    }
    MachineRun r;
    r.stats = std::make_unique<StatGroup>("gpu", "GPU: SMs, memory system, the launches");
    Totals total;
    LayerTracker layers;
    // sampling.launches (timing only): per launch signature, what its last simulated launch did.
    struct Sampled {
      uint64_t simulated = 0;
      TimingResult t;
      ExecStats exec;
      std::unique_ptr<StatGroup> stats;
    };
    std::map<std::string, Sampled> sampled;
    const uint64_t sample_launches = image ? 0 : uint64_t(p_.sample_launches);
    uint64_t skipped = 0, skipped_cycles = 0;
    for (const isa::ptx::Launch& l : prog->launches()) {
      const isa::ptx::Kernel& k = *m.find_kernel(l.entry);
      std::vector<uint8_t> params(k.param_bytes, 0);
      // The launch's signature: its kernel, shape and scalar arguments, and for an address the
      // size of its buffer and the offset into it.
      std::string signature = fmt::format("{} {} {} {} {} {} {} {}", l.entry, l.grid[0], l.grid[1],
                                          l.grid[2], l.block[0], l.block[1], l.block[2], l.shared);
      for (size_t i = 0; i < k.params.size(); ++i) {
        const Param& p = k.params[i];
        const std::string& text = l.args[i].text;
        isa::ptx::BufferRef ref;
        uint64_t bits = 0;
        if (prog->buffer_ref(text, ref)) {
          if (p.size != 8)
            throw Error(l.loc, fmt::format("launch of {}: {}={} is an address, the parameter "
                                           ".{} is not 64-bit",
                                           l.entry, p.name, text, isa::ptx::type_name(p.type)));
          const isa::ptx::Buffer& b = prog->buffers()[ref.buffer];
          bits = DeviceMemory::kGlobalBase + b.addr + ref.offset;
          signature += fmt::format(" @{}+{}", b.bytes, ref.offset);
        } else if (p.size > 8 || !parse_scalar(p, text, bits)) {
          throw Error(l.loc, fmt::format("launch of {}: {}={} is not a .{} value", l.entry, p.name,
                                         text, isa::ptx::type_name(p.type)));
        } else {
          signature += " " + text;
        }
        std::memcpy(params.data() + p.offset, &bits, p.size);
      }
      const uint64_t start = total.t.cycles;
      Sampled* s = sample_launches ? &sampled[signature] : nullptr;
      if (s && s->simulated >= sample_launches) {
        add(total.t, s->t);
        add(total.exec, s->exec);
        ++total.launches;
        r.stats->accumulate(*s->stats);
        layers.note(l.layer, start, start + s->t.cycles, s->t.dram_read + s->t.dram_written);
        ++skipped;
        skipped_cycles += s->t.cycles;
        continue;
      }
      LaunchShape shape;
      shape.grid = {l.grid[0], l.grid[1], l.grid[2]};
      shape.block = {l.block[0], l.block[1], l.block[2]};
      shape.dynamic_shared = l.shared;
      // The first launch's statistics are the tree's; each later one's are added to them.
      StatGroup later("gpu");
      const bool first = total.launches == 0;
      const ExecStats before = total.exec;
      const TimingResult t = launch(m, k, shape, prepared.at(&k), params, mem, image != nullptr,
                                    first ? *r.stats : later, total);
      if (!first) r.stats->accumulate(later);
      layers.note(l.layer, start, start + t.cycles, t.dram_read + t.dram_written);
      if (s) {
        ++s->simulated;
        s->t = t;
        s->exec = difference(total.exec, before);
        s->stats = std::make_unique<StatGroup>("gpu");
        s->stats->accumulate(first ? *r.stats : later);
      }
    }
    if (image)
      for (const isa::ptx::Buffer& b : prog->buffers())
        image->write(b.addr, mem.data(DeviceMemory::kGlobalBase + b.addr), b.bytes);
    StatGroup& lg = r.stats->group("launches", "the program's kernel launches");
    if (sample_launches) {
      StatGroup& sg = r.stats->group(
          "launch_sampling", "launches not simulated in a timing-only run (sampling.launches)");
      sg.counter("launches_skipped", "launches",
                 "launches that took the figures of the last simulated launch of the same "
                 "kernel, shape and arguments") = skipped;
      sg.counter("launch_cycles_reused", "cycles", "the cycles those launches were given") =
          skipped_cycles;
      r.notes.push_back(fmt::format(
          "sampling.launches = {}: {} of {} launches were not simulated and took the figures of "
          "the last simulated launch of the same kernel, shape and arguments "
          "(docs/models/gpu.md)",
          sample_launches, skipped, total.launches));
    }
    finish(total, r, lg);
    r.layers = layers.spans();
    lg.counter("launches", "launches", "kernel launches, run one after another") = total.launches;
    lg.counter("kernels", "kernels", "kernels (entries) in the program") = m.kernels.size();
    r.notes.push_back(
        "GPU program: each kernel launch starts when the previous one ends, without launch "
        "overhead, with a cold L1 and the L2 as the previous launch left it "
        "(docs/models/gpu.md)");
    return r;
  }

  MachineRun run_kernel(const KernelLaunch& launch_, const MachineOptions&) override {
    isa::ptx::Module m = isa::ptx::load_module(launch_.file);
    const std::map<const isa::ptx::Kernel*, Prepared> prepared = prepare(m);
    const isa::ptx::Kernel* k = m.find_kernel(launch_.entry);
    if (!k || !k->is_entry) {
      std::string entries;
      for (const auto& e : m.kernels)
        if (e.is_entry) entries += (entries.empty() ? "" : ", ") + e.name;
      throw Error(fmt::format("{}: no .entry '{}' (entries: {})", launch_.file, launch_.entry,
                              entries.empty() ? "none" : entries));
    }
    if (launch_.block[0] == 0)
      throw Error("run --kernel: a GPU kernel needs --block X[,Y[,Z]] (threads per block)");
    LaunchShape shape;
    shape.grid = {launch_.grid[0], launch_.grid[1], launch_.grid[2]};
    shape.block = {launch_.block[0], launch_.block[1], launch_.block[2]};
    shape.dynamic_shared = launch_.shared_bytes;
    const Prepared& prep = prepared.at(k);

    DeviceMemory mem(uint64_t(p_.memory_bytes));
    std::vector<uint8_t> params(k->param_bytes, 0);
    struct Buffer {
      std::string name;
      uint64_t addr, bytes;
    };
    std::vector<Buffer> buffers;
    std::vector<std::string> names;
    for (const Param& p : k->params) names.push_back(p.name);
    const std::vector<std::string> given =
        bind_kernel_args(launch_.args, names, k->name, k->loc.str(), param_list(*k), "--arg");
    for (size_t i = 0; i < k->params.size(); ++i) {
      const Param& p = k->params[i];
      const std::string& text = given[i];
      uint64_t bits = 0;
      const bool wide = p.size == 8 && !isa::ptx::is_float(p.type);
      const bool array = p.size > isa::ptx::type_bytes(p.type);
      if (!array && !(p.is_ptr) && parse_scalar(p, text, bits)) {
        std::memcpy(params.data() + p.offset, &bits, p.size);
        continue;
      }
      if (!wide && !array && !p.is_ptr)
        throw Error(
            fmt::format("--arg {}={}: not a .{} value", p.name, text, isa::ptx::type_name(p.type)));
      std::string bytes;
      if (!read_file_bytes(text, bytes))
        throw Error(fmt::format("--arg {}={}: cannot read the file (a .{} parameter takes {})",
                                p.name, text, isa::ptx::type_name(p.type),
                                array ? "a file of its bytes" : "a file or a number"));
      if (array) {
        if (bytes.size() != p.size)
          throw Error(fmt::format("--arg {}={}: the parameter has {} bytes, the file {}", p.name,
                                  text, p.size, bytes.size()));
        std::memcpy(params.data() + p.offset, bytes.data(), p.size);
        continue;
      }
      const uint64_t addr = mem.alloc(bytes.size(), "--arg " + p.name);
      std::memcpy(mem.data(addr), bytes.data(), bytes.size());
      std::memcpy(params.data() + p.offset, &addr, 8);
      buffers.push_back({p.name, addr, bytes.size()});
    }

    MachineRun r;
    r.stats = std::make_unique<StatGroup>("gpu", "GPU: SMs, memory system, the launch");
    Totals total;
    launch(m, *k, shape, prep, params, mem, launch_.values, *r.stats, total);
    StatGroup& launch_g = r.stats->group("launch", "the kernel launch");
    finish(total, r, launch_g);
    for (const Buffer& b : buffers)
      if (launch_.values)
        r.files.emplace_back(b.name + ".bin",
                             std::string(reinterpret_cast<const char*>(mem.data(b.addr)), b.bytes));
    launch_g.counter("grid_x", "blocks", "gridDim.x") = shape.grid.x;
    launch_g.counter("grid_y", "blocks", "gridDim.y") = shape.grid.y;
    launch_g.counter("grid_z", "blocks", "gridDim.z") = shape.grid.z;
    launch_g.counter("block_x", "threads", "blockDim.x") = shape.block.x;
    launch_g.counter("block_y", "threads", "blockDim.y") = shape.block.y;
    launch_g.counter("block_z", "threads", "blockDim.z") = shape.block.z;
    launch_g.counter("dynamic_shared_bytes", "bytes", "dynamic shared memory per block") =
        shape.dynamic_shared;
    launch_g.counter("static_shared_bytes", "bytes", "static shared memory per block") =
        k->code.shared_bytes;
    const Occupancy& occ = total.occ;
    StatGroup& occ_g = r.stats->group("occupancy", "resident blocks per SM and what limits them");
    occ_g.counter("registers_per_thread", "registers",
                  "32-bit registers per thread: the most live at any instruction (liveness over "
                  "the PTX), rounded up to the allocation unit of 8") = occ.registers;
    occ_g.counter("blocks_per_sm", "blocks", "resident blocks per SM (theoretical occupancy)") =
        occ.blocks;
    occ_g.counter("warps_per_sm", "warps", "resident warps per SM (theoretical occupancy)") =
        uint64_t(occ.blocks) * occ.warps_per_block;
    r.notes.push_back(fmt::format(
        "occupancy: {} blocks ({} warps) per SM, limited by {}; {} registers per thread "
        "(estimated from the PTX)",
        occ.blocks, uint64_t(occ.blocks) * occ.warps_per_block, occ.limit, occ.registers));
    return r;
  }

 private:
  // What a kernel's launches need of its PTX as written: its registers per thread (estimated)
  // and the instructions a timing-only run executes (timing_slice: over the PTX's own
  // registers, which the renaming below merges).
  struct Prepared {
    uint32_t registers = 0;
    std::vector<uint8_t> slice;
  };
  // Each kernel prepared, then its registers renamed onto the fewest slots for the simulation
  // (compact_registers).
  static std::map<const isa::ptx::Kernel*, Prepared> prepare(isa::ptx::Module& m) {
    std::map<const isa::ptx::Kernel*, Prepared> prepared;
    for (isa::ptx::Kernel& k : m.kernels) {
      Prepared& p = prepared[&k];
      p.registers = estimate_registers(k.code);
      p.slice = timing_slice(k.code);
      compact_registers(k.code);
    }
    return prepared;
  }

  // What the launches of a run add up to.
  struct Totals {
    TimingResult t;  // cycles, bytes and MACs summed over the launches
    ExecStats exec;
    Occupancy occ;  // the last launch's
    uint64_t launches = 0;
    // The L2 and HBM, kept from one launch to the next (warm L2, write-backs still queued).
    std::unique_ptr<MemorySide> memory;
  };

  // Runs one launch on the timing model (statistics under `stats`) and adds it to `total`.
  TimingResult launch(const isa::ptx::Module& m, const isa::ptx::Kernel& k,
                      const LaunchShape& shape, const Prepared& prep,
                      const std::vector<uint8_t>& params, DeviceMemory& mem, bool values,
                      StatGroup& stats, Totals& total) const {
    total.occ = check_launch(k, shape, prep.registers);
    ExecConfig ec;
    ec.sms = p_.sms;
    ec.max_instructions = limits_.max_instructions;
    ec.values = values;
    ec.slice = &prep.slice;
    Executor exec(m, k, shape, params, mem, ec);
    if (total.memory)
      total.memory->attach(stats);
    else
      total.memory = std::make_unique<MemorySide>(p_.memory_side, stats);
    const TimingResult t = run_timed(exec, k.code, shape, p_, total.occ, limits_.max_cycles,
                                     values ? 0 : uint64_t(p_.sample_waves), *total.memory, stats);
    add(total.t, t);
    add(total.exec, exec.stats());
    add(total.exec, t.skipped);
    ++total.launches;
    return t;
  }

  // A launch's cycles, traffic and MACs added to a run's.
  static void add(TimingResult& to, const TimingResult& t) {
    to.cycles += t.cycles;
    to.dram_read += t.dram_read;
    to.dram_written += t.dram_written;
    to.onchip_bytes += t.onchip_bytes;
    to.macs_f16 += t.macs_f16;
    to.macs_bf16 += t.macs_bf16;
    to.macs_tf32 += t.macs_tf32;
    to.macs_int8 += t.macs_int8;
  }
  // Executed instructions added (b = 1) or subtracted (b = -1).
  static void add(ExecStats& to, const ExecStats& st, int b = 1) {
    const auto plus = [b](uint64_t& x, uint64_t y) { x = b > 0 ? x + y : x - y; };
    for (size_t c = 0; c < st.by_class.size(); ++c) plus(to.by_class[c], st.by_class[c]);
    plus(to.warp_instructions, st.warp_instructions);
    plus(to.thread_instructions, st.thread_instructions);
    plus(to.blocks, st.blocks);
    plus(to.warps, st.warps);
    plus(to.threads, st.threads);
  }
  static ExecStats difference(const ExecStats& later, const ExecStats& earlier) {
    ExecStats d = later;
    add(d, earlier, -1);
    return d;
  }

  // The run's totals into r: cycles, traffic, MACs and the executed instructions.
  static void finish(const Totals& total, MachineRun& r, StatGroup& launch_group) {
    const TimingResult& t = total.t;
    const ExecStats& st = total.exec;
    r.total_cycles = t.cycles;
    r.offchip_read_bytes = t.dram_read;
    r.offchip_written_bytes = t.dram_written;
    r.onchip_bytes = t.onchip_bytes;
    for (const auto& [dtype, n] : {std::pair<const char*, uint64_t>{"fp16", t.macs_f16},
                                   {"bf16", t.macs_bf16},
                                   {"tf32", t.macs_tf32},
                                   {"int8", t.macs_int8}})
      if (n) r.ops.push_back({"mac", dtype, n});
    launch_group.counter("blocks", "blocks", "thread blocks run") = st.blocks;
    launch_group.counter("warps", "warps", "warps run") = st.warps;
    launch_group.counter("threads", "threads", "threads run") = st.threads;
    StatGroup& ex = r.stats->group("executed", "warp-instructions executed, by class");
    ex.counter("warp_instructions", "warp-instructions",
               "instructions issued by warps (each once, whatever its active threads)") =
        st.warp_instructions;
    ex.counter("thread_instructions", "thread-instructions",
               "instructions executed by threads (a guarded-off thread does not count)") =
        st.thread_instructions;
    for (size_t c = 0; c < st.by_class.size(); ++c)
      ex.counter(class_name(InstrClass(c)), "warp-instructions",
                 fmt::format("{} warp-instructions", class_name(InstrClass(c)))) = st.by_class[c];
  }

  Occupancy check_launch(const isa::ptx::Kernel& k, const LaunchShape& s,
                         uint32_t registers) const {
    const std::string who = fmt::format("{}: kernel {}", k.loc.str(), k.name);
    for (uint32_t d : {s.grid.x, s.grid.y, s.grid.z, s.block.x, s.block.y, s.block.z})
      if (d == 0) throw Error(who + ": --grid and --block dimensions must be at least 1");
    const uint64_t threads = s.block.count();
    if (threads > uint64_t(p_.max_threads_per_block))
      throw Error(
          fmt::format("{}: a block of {} threads exceeds {}'s limit of {} threads per "
                      "block (sm.max_threads_per_block)",
                      who, threads, name_, p_.max_threads_per_block));
    const uint64_t warps = (threads + 31) / 32;
    if (warps > uint64_t(p_.max_warps_per_sm) || threads > uint64_t(p_.max_threads_per_sm))
      throw Error(
          fmt::format("{}: a block of {} threads ({} warps) does not fit one SM of {} "
                      "(sm.max_warps {}, sm.max_threads {})",
                      who, threads, warps, name_, p_.max_warps_per_sm, p_.max_threads_per_sm));
    const uint64_t shared =
        uint64_t(k.code.uses_dynamic_shared ? k.code.dynamic_offset : k.code.shared_bytes) +
        s.dynamic_shared;
    if (shared > uint64_t(p_.max_shared_per_block) || shared > uint64_t(p_.shared_per_sm))
      throw Error(
          fmt::format("{}: {} bytes of shared memory per block ({} static + {} dynamic) "
                      "exceed {}'s limit of {} bytes (sm.max_shared_per_block)",
                      who, shared, k.code.shared_bytes, s.dynamic_shared, name_,
                      std::min(p_.max_shared_per_block, p_.shared_per_sm)));
    if (registers > uint32_t(p_.max_registers_per_thread))
      throw Error(fmt::format(
          "{}: {} registers per thread live at once (estimated from the PTX) exceed {}'s limit "
          "of {} (sm.max_registers_per_thread); ptxas would spill them to local memory, which "
          "this model does not do",
          who, registers, name_, p_.max_registers_per_thread));
    const auto& req = k.reqntid;
    if (req[0] && (req[0] != s.block.x || std::max(req[1], 1u) != s.block.y ||
                   std::max(req[2], 1u) != s.block.z))
      throw Error(fmt::format("{}: .reqntid {},{},{} requires that block shape", who, req[0],
                              req[1], req[2]));
    const auto& mx = k.maxntid;
    const uint64_t max_threads = uint64_t(mx[0]) * std::max(mx[1], 1u) * std::max(mx[2], 1u);
    if (mx[0] && threads > max_threads)
      throw Error(fmt::format("{}: a block of {} threads exceeds the kernel's .maxntid ({})", who,
                              threads, max_threads));
    const Occupancy occ = occupancy(p_, registers, shared, threads);
    if (occ.blocks == 0)
      throw Error(fmt::format(
          "{}: a block of {} threads with {} registers each needs {} registers, more than "
          "{}'s {} per SM (sm.registers)",
          who, threads, occ.registers, uint64_t(occ.registers) * occ.warps_per_block * 32, name_,
          p_.registers_per_sm));
    return occ;
  }

  std::string name_;
  GpuParams p_;
  RunLimits limits_;
};

const bool registered = register_family(FamilyInfo{
    "gpu",
    "NVIDIA-style GPU: SMs running PTX, compiled from workloads or kernels from files (warp "
    "schedulers, pipes, shared memory banks, L1, L2 slices, HBM channels)",
    param_specs,
    [](const ArchConfig& cfg) -> std::unique_ptr<Machine> {
      return std::make_unique<GpuMachine>(cfg);
    },
    {"workloads/smoke/gpu-matrix.yaml", "workloads/smoke/gpu-rows.yaml"},
});

}  // namespace
}  // namespace xpusim::gpu
