// The layout pass: each tensor's layout in DRAM and its address, then attention's scratch
// buffers; its verifier and its dump (a table of the DRAM map).
#include <fmt/format.h>

#include <algorithm>

#include "compiler/targets/tpu/passes.h"

namespace xpusim::compiler::tpu {
namespace {

bool elementwise(OpKind k) {
  return k == OpKind::add || k == OpKind::mul || k == OpKind::relu || k == OpKind::gelu ||
         k == OpKind::silu;
}

// 4-D tensors around conv2d/pool are NHWC (channels innermost, so an im2col row is a run of
// whole pixels); elementwise ops pass the layout through; conv weights and the B of a gemm
// whose A is NHWC are reordered to match.
void choose_layouts(const Graph& g, std::vector<Placement>& place, const std::string& target) {
  std::vector<bool> nhwc(g.tensors.size(), false);
  for (const auto& n : g.nodes)
    if (n.kind == OpKind::conv2d || n.kind == OpKind::pool)
      nhwc[n.inputs[0]] = nhwc[n.outputs[0]] = true;
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& n : g.nodes) {
      if (!elementwise(n.kind)) continue;
      bool any = nhwc[n.outputs[0]];
      for (int t : n.inputs) any = any || nhwc[t];
      if (!any) continue;
      for (int t : n.inputs) changed |= !nhwc[t], nhwc[t] = true;
      changed |= !nhwc[n.outputs[0]];
      nhwc[n.outputs[0]] = true;
    }
  }
  for (const auto& n : g.nodes) {
    if (n.kind == OpKind::conv2d) {
      Layout& l = place[size_t(n.inputs[1])].layout;
      l.kind = Layout::conv_weight;
      l.groups = n.attrs.groups;
    } else if (n.kind == OpKind::gemm && nhwc[n.inputs[0]]) {
      const auto& s = g.tensor(n.inputs[0]).shape;
      place[size_t(n.inputs[1])].layout = {Layout::gemm_b_nhwc, 1, s[1], s[2], s[3]};
    } else if (!elementwise(n.kind) && n.kind != OpKind::conv2d && n.kind != OpKind::pool &&
               n.kind != OpKind::gemm) {
      for (int t : n.inputs)
        if (nhwc[t])
          unsupported(n, target,
                      fmt::format("tensor '{}' is an image in NHWC layout (it meets a conv2d "
                                  "or pool) and this op needs it row-major",
                                  g.tensor(t).name));
    }
  }
  for (size_t t = 0; t < nhwc.size(); ++t)
    if (nhwc[t]) place[t].layout.kind = Layout::nhwc;
}

}  // namespace

const Scratch& LayoutPlan::find(int node, const std::string& name) const {
  for (const Scratch& s : scratch)
    if (s.node == node && s.name == name) return s;
  throw Error(
      fmt::format("internal: pass 'tiling': node {} has no scratch buffer '{}'", node, name));
}

LayoutPlan layout(const Graph& g, const TpuParams& p, const std::string& target) {
  LayoutPlan plan;
  plan.tensors.assign(g.tensors.size(), Placement{kUnplaced, Layout{}});
  choose_layouts(g, plan.tensors, target);
  // Bump allocation in tensor order, then the scratch buffers in node order.
  uint64_t top = 0;
  auto alloc = [&](uint64_t bytes, const SourceLoc& loc) {
    const uint64_t a = top;
    top = (top + bytes + kAlign - 1) / kAlign * kAlign;
    if (top > p.dram_bytes)
      throw Error(loc,
                  fmt::format("the workload needs more than the {} bytes of DRAM of target '{}'",
                              p.dram_bytes, target));
    return a;
  };
  for (size_t t = 0; t < g.tensors.size(); ++t)
    plan.tensors[t].addr = alloc(uint64_t(g.tensors[t].bytes()), g.tensors[t].loc);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.kind != OpKind::attention) continue;
    const AttentionDims ad = attention_dims(g, n);
    const uint64_t scores = uint64_t(ad.seq_q) * uint64_t(ad.seq_kv);
    // One pair per core: the cores run heads at the same time.
    for (int core = 0; core < p.cores; ++core)
      for (const auto& [name, bytes] : {std::pair<const char*, uint64_t>{"S", scores * 4},   // fp32
                                        std::pair<const char*, uint64_t>{"P", scores * 2}})  // bf16
        plan.scratch.push_back(
            Scratch{int(i), scratch_name(name, core), alloc(bytes, n.loc), bytes});
  }
  return plan;
}

void verify_layout(const Graph& g, const LayoutPlan& plan, const TpuParams& p) {
  auto fail = [](const std::string& what) {
    throw Error("internal: pass 'layout' verifier: " + what);
  };
  if (plan.tensors.size() != g.tensors.size())
    fail(fmt::format("{} placements for {} tensors", plan.tensors.size(), g.tensors.size()));
  struct Extent {
    std::string name;
    uint64_t addr, bytes;
  };
  std::vector<Extent> extents;
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    const TensorInfo& info = g.tensors[t];
    const Placement& pl = plan.tensors[t];
    if (pl.addr == kUnplaced) fail(fmt::format("tensor '{}' is not placed", info.name));
    if (pl.layout.kind == Layout::nhwc && info.shape.size() != 4)
      fail(fmt::format("tensor '{}' of rank {} is laid out NHWC", info.name, info.shape.size()));
    extents.push_back({"tensor '" + info.name + "'", pl.addr, uint64_t(info.bytes())});
  }
  for (const Scratch& s : plan.scratch)
    extents.push_back(
        {fmt::format("scratch '{}' of node '{}'", s.name, g.nodes.at(size_t(s.node)).name), s.addr,
         s.bytes});
  for (const Extent& e : extents) {
    if (e.addr % kAlign)
      fail(fmt::format("{} at {:#x} is not {}-byte aligned", e.name, e.addr, kAlign));
    if (e.addr > p.dram_bytes || e.bytes > p.dram_bytes - e.addr)
      fail(fmt::format("{} [{:#x}, {:#x}) is outside DRAM ({} bytes)", e.name, e.addr,
                       e.addr + e.bytes, p.dram_bytes));
  }
  std::sort(extents.begin(), extents.end(),
            [](const Extent& a, const Extent& b) { return a.addr < b.addr; });
  for (size_t i = 1; i < extents.size(); ++i)
    if (extents[i - 1].addr + extents[i - 1].bytes > extents[i].addr)
      fail(fmt::format("{} [{:#x}, {:#x}) overlaps {} at {:#x}", extents[i - 1].name,
                       extents[i - 1].addr, extents[i - 1].addr + extents[i - 1].bytes,
                       extents[i].name, extents[i].addr));
}

std::string to_text(const Graph& g, const LayoutPlan& plan) {
  std::string s =
      fmt::format("{:<24} {:>12} {:>12}  {:<6} {}\n", "tensor", "addr", "bytes", "dtype", "layout");
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    const TensorInfo& info = g.tensors[t];
    const Layout& l = plan.tensors[t].layout;
    std::string how = layout_name(l);
    if (l.kind == Layout::conv_weight && l.groups > 1) how += fmt::format(" (groups {})", l.groups);
    if (l.kind == Layout::gemm_b_nhwc) how += fmt::format(" (A: c {} h {} w {})", l.c, l.h, l.w);
    std::string shape;
    for (int64_t d : info.shape) shape += (shape.empty() ? "" : "x") + std::to_string(d);
    s += fmt::format("{:<24} {:>#12x} {:>12}  {:<6} {} [{}]{}\n", info.name, plan.tensors[t].addr,
                     info.bytes(), dtype_name(info.dtype), how, shape,
                     info.is_param ? " param" : "");
  }
  for (const Scratch& sc : plan.scratch)
    s += fmt::format("{:<24} {:>#12x} {:>12}  {:<6} row-major (scratch)\n",
                     g.nodes[size_t(sc.node)].name + "." + sc.name, sc.addr, sc.bytes,
                     sc.name[0] == 'S' ? "fp32" : "bf16");
  return s;
}

}  // namespace xpusim::compiler::tpu
