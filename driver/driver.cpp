#include "driver/driver.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "compiler/ir/frontend.h"
#include "compiler/ir/layout.h"
#include "compiler/onnx/onnx.h"
#include "compiler/passes/passes.h"
#include "compiler/reference/reference.h"
#include "compiler/target.h"
#include "isa/program.h"
#include "models/core/machine.h"
#include "models/core/memory.h"
#include "models/core/names.h"
#include "models/core/shipped.h"

namespace xpusim::driver {

namespace fs = std::filesystem;
namespace {

// The results every run has, from what the machine measured.
RunResult results_of(const Machine& m, MachineRun&& run) {
  RunResult r;
  r.total_cycles = run.total_cycles;
  r.clock_mhz = m.clock_mhz();
  r.peak_offchip_gbps = m.offchip_gbps();
  for (const Peak& p : m.peaks()) {
    r.ops.push_back({p.op_class, p.dtype, 0, p.per_cycle});
    if (p.op_class == "mac") r.peak_macs_per_cycle = std::max(r.peak_macs_per_cycle, p.per_cycle);
  }
  for (const OpCount& c : run.ops) {
    auto it = std::find_if(r.ops.begin(), r.ops.end(), [&](const OpResult& o) {
      return o.op_class == c.op_class && o.dtype == c.dtype;
    });
    if (it == r.ops.end()) it = r.ops.insert(r.ops.end(), {c.op_class, c.dtype, 0, 0});
    it->count += c.count;
    if (c.op_class == "mac") r.macs += c.count;
  }
  // The matrix peak of the dtype that did most of the run's MACs (a GPU's or an NPU's peak
  // differs by dtype); without MACs, the largest.
  const OpResult* most = nullptr;
  for (const OpResult& o : r.ops)
    if (o.op_class == "mac" && o.count && o.peak_per_cycle > 0 && (!most || o.count > most->count))
      most = &o;
  if (most) r.peak_macs_per_cycle = most->peak_per_cycle;
  r.offchip_read_bytes = run.offchip_read_bytes;
  r.offchip_written_bytes = run.offchip_written_bytes;
  r.onchip_bytes = run.onchip_bytes;
  r.dram_bytes = run.offchip_read_bytes + run.offchip_written_bytes;
  r.stats = std::move(run.stats);
  r.notes = std::move(run.notes);
  r.files = std::move(run.files);
  return r;
}

// Layers: cycles from the end of the previous layer to the end of this one (they add up to
// the total); utilization over the layer's own span, which overlaps its neighbours'.
void account_layers(const compiler::Graph& g, const std::vector<LayerSpan>& spans, RunResult& r) {
  uint64_t prev = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const LayerSpan span = i < spans.size() ? spans[i] : LayerSpan{0, 0, 0};
    const compiler::Node& n = g.nodes[i];
    LayerResult l;
    l.name = n.name;
    l.op = compiler::op_name(n.kind);
    l.dtype = dtype_name(g.tensor(n.inputs[0]).dtype);
    const uint64_t end = std::max(prev, span.done);
    l.cycles = end - prev;
    prev = end;
    l.span_cycles = span.done > span.start ? span.done - span.start : 0;
    l.macs = uint64_t(compiler::node_macs(g, n));
    l.ops = l.macs ? 2 * l.macs : uint64_t(g.tensor(n.outputs[0]).elements());
    l.dram_bytes = span.dram_bytes;
    double peak = r.peak_macs_per_cycle;
    for (const OpResult& o : r.ops)
      if (o.op_class == "mac" && o.dtype == l.dtype && o.peak_per_cycle > 0)
        peak = o.peak_per_cycle;
    l.utilization = l.span_cycles && peak > 0 ? double(l.macs) / (double(l.span_cycles) * peak) : 0;
    r.layers.push_back(l);
  }
}

// Tensor t's values read back from device memory.
compiler::Tensor read_back(const compiler::Graph& g, const std::vector<compiler::Placement>& place,
                           const ByteStore& mem, int t) {
  const compiler::TensorInfo& info = g.tensor(t);
  std::vector<uint8_t> bytes(size_t(compiler::layout_bytes(info, place[size_t(t)].layout)));
  mem.read(place[size_t(t)].addr, bytes.data(), bytes.size(), "functional check");
  return compiler::unpack(bytes, info, place[size_t(t)].layout);
}

// Every node's output read back from device memory against the reference evaluated on the
// values the run gave the node's inputs (graph inputs and params: their generated values), so
// that each node is judged on its own arithmetic.
void check(const compiler::Graph& g, const std::vector<compiler::Placement>& place,
           const ByteStore& mem, uint64_t seed, RunResult& r) {
  std::vector<compiler::Tensor> got = compiler::initial_values(g, seed);
  for (const auto& n : g.nodes) {
    const size_t t = size_t(n.outputs[0]);
    const compiler::TensorInfo& info = g.tensor(int(t));
    std::vector<const compiler::Tensor*> in;
    for (int i : n.inputs) in.push_back(&got[size_t(i)]);
    const compiler::Tensor want = compiler::reference_eval(g, n, in);
    got[t] = read_back(g, place, mem, int(t));
    const compiler::CompareResult c = compiler::compare(got[t], want);
    if (!c.ok) {
      r.functional_check = "failed";
      r.check_detail = fmt::format("node '{}' output '{}': {}", n.name, info.name, c.message);
      return;
    }
  }
  r.functional_check = "passed";
  r.check_detail.clear();
}

// An ONNX model's outputs as its test data expects them (names: the graph's tensors, in the
// order of the model's outputs).
struct OnnxCheck {
  std::string test_data;
  std::vector<std::pair<std::string, std::string>> outputs;  // ONNX name, tensor name
  std::vector<compiler::Tensor> expected;
  double tolerance = 0;
};

void check_onnx(const compiler::Graph& g, const std::vector<compiler::Placement>& place,
                const ByteStore& mem, const OnnxCheck& onnx, RunResult& r) {
  for (size_t i = 0; i < onnx.outputs.size(); ++i) {
    const auto& [onnx_name, name] = onnx.outputs[i];
    int t = -1;
    for (size_t k = 0; k < g.tensors.size(); ++k)
      if (g.tensors[k].name == name) t = int(k);
    if (t < 0)
      throw Error(fmt::format("ONNX output '{}': its tensor '{}' is gone after the passes",
                              onnx_name, name));
    const compiler::CompareResult c =
        compiler::compare_within(read_back(g, place, mem, t), onnx.expected[i], onnx.tolerance);
    if (!c.ok) {
      r.functional_check = "failed";
      r.check_detail = fmt::format("ONNX output '{}' against {}/output_{}.pb: {}", onnx_name,
                                   onnx.test_data, i, c.message);
      return;
    }
  }
  r.notes.push_back(fmt::format(
      "the {} output(s) of the ONNX model also match {}/output_N.pb (within {} * max(1, "
      "max|want|) + {} * |want|)",
      onnx.outputs.size(), onnx.test_data, onnx.tolerance, onnx.tolerance));
}

// The graph of a workload file: YAML, or an ONNX model (with what its test data expects).
compiler::Graph load_checked(const std::string& file, const RunOptions& opt, OnnxCheck& onnx) {
  if (!compiler::is_onnx_path(file)) {
    if (!opt.dtype.empty() || !opt.onnx_test_data.empty())
      throw Error(
          "--dtype and --onnx-test-data are for ONNX models (.onnx); a YAML workload "
          "gives its dtypes itself (a zoo model: --param dtype=...)");
    return compiler::load_workload(file, opt.params);
  }
  if (!opt.onnx_test_data.empty() && !opt.functional)
    throw Error("--onnx-test-data checks values: drop --no-functional");
  compiler::OnnxOptions o;
  if (!opt.dtype.empty()) o.dtype = parse_dtype(opt.dtype, SourceLoc{"--dtype", 0, 0});
  o.test_data = opt.onnx_test_data;
  for (const auto& [name, value] : opt.params) {  // the sizes of the inputs' named dims
    int64_t size = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), size);
    if (ec != std::errc() || end != value.data() + value.size() || size < 1)
      throw Error(
          fmt::format("--param {}={}: an ONNX model's params are the sizes of its "
                      "inputs' named dims, numbers >= 1",
                      name, value));
    o.dims[name] = size;
  }
  compiler::OnnxModel m = compiler::import_onnx(file, o);
  onnx.test_data = o.test_data;
  for (const auto& [onnx_name, t] : m.outputs)
    onnx.outputs.emplace_back(onnx_name, m.graph.tensor(t).name);
  onnx.expected = std::move(m.expected);
  onnx.tolerance = compiler::onnx_tolerance(o.dtype);
  return std::move(m.graph);
}

MachineOptions machine_options(const std::string& source, const RunOptions& opt) {
  MachineOptions m;
  m.source = source;
  m.trace = opt.trace;
  m.trace_path = opt.trace_path;
  m.progress = opt.progress;
  m.progress_lines = opt.progress_lines;
  return m;
}

// The parameters of cfg's family whose path ends in `suffix` (".model" with an "rtl" choice).
std::vector<std::string> unit_params(const ArchConfig& cfg, const std::string& suffix) {
  std::vector<std::string> v;
  for (const ParamSpec& s : cfg.values.specs()) {
    if (s.path.size() <= suffix.size() ||
        s.path.compare(s.path.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    if (suffix == ".model" &&
        std::find(s.choices.begin(), s.choices.end(), "rtl") == s.choices.end())
      continue;
    v.push_back(s.path.substr(0, s.path.size() - suffix.size()));
  }
  return v;
}

}  // namespace

std::vector<std::string> rtl_overrides(const ArchConfig& cfg, bool rtl, const std::string& vcd,
                                       const std::string& vcd_range) {
  std::vector<std::string> sets;
  if (!vcd.empty() && !rtl) throw Error("run: --vcd needs --rtl");
  if (!vcd_range.empty() && vcd.empty()) throw Error("run: --vcd-range needs --vcd FILE");
  if (!rtl) return sets;
  const std::vector<std::string> units = unit_params(cfg, ".model");
  if (units.empty()) throw Error("--rtl: no unit of family '" + cfg.family + "' has an RTL model");
  for (const std::string& u : units) sets.push_back(u + ".model=rtl");
  if (vcd.empty()) return sets;
  const std::vector<std::string> traced = unit_params(cfg, ".vcd");
  if (traced.empty())
    throw Error("--vcd: no RTL unit of family '" + cfg.family + "' writes waveforms");
  unsigned long long first = 0, last = 0;
  if (!vcd_range.empty()) {
    char tail = 0;
    if (std::sscanf(vcd_range.c_str(), "%llu:%llu%c", &first, &last, &tail) != 2 || first > last)
      throw Error(
          "run: --vcd-range wants FIRST:LAST (the unit's operations, FIRST <= LAST), got '" +
          vcd_range + "'");
  }
  for (const std::string& u : traced) {
    sets.push_back(u + ".vcd=" + vcd);
    if (!vcd_range.empty()) {
      sets.push_back(fmt::format("{}.vcd_first={}", u, first));
      sets.push_back(fmt::format("{}.vcd_last={}", u, last));
    }
  }
  return sets;
}

compiler::Graph load_graph(const std::string& workload_file, const RunOptions& opt) {
  OnnxCheck onnx;
  return load_checked(workload_file, opt, onnx);
}

RunResult run_workload(const ArchConfig& cfg, const std::string& workload_file,
                       const RunOptions& opt) {
  std::unique_ptr<Machine> machine = find_family(cfg.family).make(cfg);
  std::unique_ptr<compiler::Target> target = compiler::find_target(cfg.family).make(cfg);
  OnnxCheck onnx;
  compiler::Graph g = load_checked(workload_file, opt, onnx);

  compiler::Dump dump{opt.dump_after, opt.dump};
  std::vector<std::string> passes = {"frontend"};
  for (const auto& p : compiler::graph_passes()) passes.push_back(p.name);
  for (const auto& p : target->pass_names()) passes.push_back(p);
  dump.check_names(passes);
  compiler::run_graph_passes(g, dump);
  const compiler::Lowered low = target->lower(g, dump);

  // The memory image: inputs and params packed in their layouts at their addresses.
  std::unique_ptr<ByteStore> mem;
  if (opt.functional) {
    mem = std::make_unique<ByteStore>("dram", machine->memory_bytes());
    const std::vector<compiler::Tensor> init = compiler::initial_values(g, opt.seed);
    for (size_t t = 0; t < init.size(); ++t)
      if (!init[t].data.empty()) {
        const std::vector<uint8_t> bytes = compiler::pack(init[t], low.tensors[t].layout);
        mem->write(low.tensors[t].addr, bytes.data(), bytes.size());
      }
  }
  MachineOptions mopt = machine_options(g.file.empty() ? g.name : g.file, opt);
  for (const auto& n : g.nodes) mopt.layers.push_back(n.name);
  MachineRun run = machine->run(*low.program, mem.get(), mopt);
  const std::vector<LayerSpan> spans = run.layers;
  RunResult r = results_of(*machine, std::move(run));
  r.workload = workload_label(g);
  account_layers(g, spans, r);
  // The workload's own MACs, which every family is compared on; a machine that pads the work
  // (the DaVinci cube's 16 x 16 fractals) multiplied more, as its `ops` entries show.
  r.macs = 0;
  for (const LayerResult& l : r.layers) r.macs += l.macs;
  if (opt.functional) {
    check(g, low.tensors, *mem, opt.seed, r);
    if (r.functional_check == "passed" && !onnx.expected.empty())
      check_onnx(g, low.tensors, *mem, onnx, r);
  } else
    r.notes.push_back("timing only (--no-functional): values were not computed or checked");
  return r;
}

RunResult run_program(const ArchConfig& cfg, const std::string& contents, const std::string& file,
                      const RunOptions& opt) {
  std::unique_ptr<Machine> machine = find_family(cfg.family).make(cfg);
  const isa::IsaTools& tools = isa::find_isa(cfg.family);
  // Assembly text never holds a NUL byte; every binary program form does (its fields).
  const bool binary = contents.find('\0') != std::string::npos;
  std::unique_ptr<isa::Program> program =
      binary ? tools.decode(std::vector<uint8_t>(contents.begin(), contents.end()), file)
             : tools.assemble(contents, file);
  if (!opt.functional && !(opt.load.empty() && opt.save.empty()))
    throw Error("run: --load and --save need values: drop --no-functional");
  // Host memory of a hand-written program holds zeros: every byte counts as written.
  ByteStore mem("dram", machine->memory_bytes(), true);
  for (const MemoryRegion& l : opt.load) {
    std::ifstream in(l.file, std::ios::binary);
    if (!in) throw Error("--load: cannot read '" + l.file + "'");
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    mem.check_range(l.addr, bytes.size(), "--load " + l.file, "the file's bytes");
    mem.write(l.addr, bytes.data(), bytes.size());
  }
  MachineRun run =
      machine->run(*program, opt.functional ? &mem : nullptr, machine_options(file, opt));
  RunResult r = results_of(*machine, std::move(run));
  r.workload = std::filesystem::path(file).stem().string();
  for (const MemoryRegion& d : opt.save) {
    std::string bytes(d.bytes, '\0');
    mem.check_range(d.addr, d.bytes, "--save " + d.file, "the region");
    mem.read(d.addr, bytes.data(), d.bytes, "--save " + d.file);
    r.files.emplace_back(d.file, std::move(bytes));
  }
  r.notes.push_back(opt.load.empty()
                        ? "program: no reference to check values against"
                        : "program: no reference to check values against (compare the --save "
                          "files with what you expect)");
  return r;
}

RunResult run_kernel(const ArchConfig& cfg, const KernelLaunch& launch, const RunOptions& opt) {
  std::unique_ptr<Machine> machine = find_family(cfg.family).make(cfg);
  KernelLaunch l = launch;
  l.values = opt.functional;
  RunResult r = results_of(*machine, machine->run_kernel(l, machine_options(launch.file, opt)));
  r.workload = launch.entry;
  r.notes.push_back(opt.functional ? "kernel: no reference to check values against (compare the "
                                     "<name>.bin files with what you expect)"
                                   : "kernel: timing only: what only values need is skipped, so "
                                     "no buffers are written");
  return r;
}

namespace {
uint64_t parse_number(const std::string& t, const std::string& option, const std::string& text) {
  size_t used = 0;
  uint64_t v = 0;
  try {
    v = std::stoull(t, &used, 0);
  } catch (const std::exception&) {
    used = 0;
  }
  if (t.empty() || used != t.size() || t[0] == '-')
    throw Error(option + " " + text + ": '" + t + "' is not a number (decimal or 0x hex)");
  return v;
}
}  // namespace

MemoryRegion parse_load(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq + 1 == text.size())
    throw Error("--load " + text + ": expected ADDR=FILE");
  MemoryRegion r;
  r.addr = parse_number(text.substr(0, eq), "--load", text);
  r.file = text.substr(eq + 1);
  return r;
}

MemoryRegion parse_save(const std::string& text) {
  const size_t eq = text.find('='), colon = text.find(':');
  if (eq == std::string::npos || colon == std::string::npos || colon > eq)
    throw Error("--save " + text + ": expected ADDR:BYTES=NAME");
  MemoryRegion r;
  r.addr = parse_number(text.substr(0, colon), "--save", text);
  r.bytes = parse_number(text.substr(colon + 1, eq - colon - 1), "--save", text);
  r.file = safe_file_name(text.substr(eq + 1), "--save file name");
  return r;
}

std::string workload_label(const compiler::Graph& g) {
  std::vector<std::string> values;
  for (const compiler::Graph::Param& p : g.params)
    if (p.shown) values.push_back(p.name + "=" + p.value);
  return values.empty() ? g.name : fmt::format("{} ({})", g.name, fmt::join(values, ", "));
}

std::string workload_file(const std::string& arg) {
  std::error_code ec;
  if (fs::exists(arg, ec)) return arg;
  const fs::path zoo = fs::path(shipped_dir("zoo")) / (arg + ".yaml");
  const bool bare = arg.find('/') == std::string::npos && !fs::path(arg).has_extension();
  if (bare && fs::exists(zoo, ec)) return zoo.string();
  throw Error(
      fmt::format("--workload {}: no such file{}", arg,
                  bare ? " and no model of that name in the zoo (xpusim zoo lists them)" : ""));
}

std::string default_results_dir(const std::string& input, const ArchConfig& cfg,
                                const std::vector<std::string>& overrides,
                                const std::string& command) {
  std::string dir = "results/" + (command.empty() ? "" : command + "-") +
                    safe_file_name(std::filesystem::path(input).stem().string(), "input name") +
                    "-" + safe_file_name(cfg.name, "architecture name", SourceLoc{cfg.origin});
  if (overrides.empty()) return dir;
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the overrides, in order
  for (const std::string& o : overrides)
    for (unsigned char c : o + '\n') h = (h ^ c) * 1099511628211ull;
  return dir + fmt::format("-set-{:08x}", uint32_t(h ^ (h >> 32)));
}

std::vector<uint8_t> assemble(const std::string& family, const std::string& text,
                              const std::string& file) {
  return isa::find_isa(family).assemble(text, file)->encode();
}

std::string disassemble(const std::string& family, const std::vector<uint8_t>& bytes,
                        const std::string& file) {
  return isa::find_isa(family).decode(bytes, file)->disassemble();
}

}  // namespace xpusim::driver
