// The layout pass: each tensor's layout in DRAM and its address, then attention's scratch
// buffers; its verifier and its dump (a table of the DRAM map).
#include <fmt/format.h>

#include <algorithm>

#include "compiler/targets/tpu/passes.h"

namespace xpusim::compiler::tpu {
namespace {

// 4-D tensors around conv2d/pool are NHWC (channels innermost, so an im2col row is a run of
// whole pixels); elementwise ops pass the layout through; conv weights and the B of a gemm
// whose A is NHWC are reordered to match.
void choose_layouts(const Graph& g, std::vector<Placement>& place, const TpuParams& p,
                    const std::string& target) {
  std::vector<bool> nhwc(g.tensors.size(), false);
  for (const auto& n : g.nodes)
    if (n.kind == OpKind::conv2d || n.kind == OpKind::pool)
      nhwc[n.inputs[0]] = nhwc[n.outputs[0]] = true;
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& n : g.nodes) {
      if (!is_elementwise(n.kind)) continue;
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
      l.group_block = conv_group_block(g, n, p);
    } else if (n.kind == OpKind::gemm && nhwc[n.inputs[0]]) {
      const auto& s = g.tensor(n.inputs[0]).shape;
      place[size_t(n.inputs[1])].layout = {Layout::gemm_b_nhwc, 1, s[1], s[2], s[3]};
    } else if (!is_elementwise(n.kind) && n.kind != OpKind::conv2d && n.kind != OpKind::pool &&
               n.kind != OpKind::gemm && n.kind != OpKind::reshape && n.kind != OpKind::transpose &&
               n.kind != OpKind::concat) {  // these read NHWC as it lies
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

// The dims of a tensor in the order its layout stores them.
std::vector<size_t> storage_order(size_t rank, const Layout& l) {
  if (l.kind == Layout::nhwc) return {0, 2, 3, 1};
  std::vector<size_t> o(rank);
  for (size_t d = 0; d < rank; ++d) o[d] = d;
  return o;
}

// Whether reshape or transpose node n between row-major tensors moves no byte.
bool moves_nothing(const Graph& g, const Node& n) {
  if (n.kind == OpKind::reshape) return true;
  const CopyWalk w = merged(transpose_walk(g, n, Layout{}, Layout{}));
  return w.ext.size() == 1 && w.stride[0] == 1;
}

}  // namespace

int64_t conv_group_block(const Graph& g, const Node& n, const TpuParams& p) {
  const int64_t groups = n.attrs.groups;
  if (groups == 1) return 1;
  const auto& w = g.tensor(n.inputs[1]).shape;   // K, C/g, R, S
  const auto& y = g.tensor(n.outputs[0]).shape;  // N, K, OH, OW
  const int64_t taps = w[2] * w[3], cg = w[1], kg = w[0] / groups, M = y[2] * y[3];
  const int64_t R = p.rows, C = p.cols;
  auto up = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  // The array's time for one block of b groups, a GEMM M x (b kg) x (taps b cg): its folds
  // (tiles of the stationary operand), each at least R cycles (a weight load, or os's output
  // port).
  auto block = [&](int64_t b) {
    const int64_t K = taps * b * cg, N = b * kg;
    switch (p.dataflow) {
      case xpusim::tpu::Dataflow::ws:
        return up(K, R) * up(N, C) * std::max(M, R);
      case xpusim::tpu::Dataflow::os:
        return up(M, R) * up(N, C) * std::max(K, R);
      case xpusim::tpu::Dataflow::is:
        return up(K, R) * up(M, C) * std::max(N, R);
    }
    return int64_t(0);
  };
  auto cost = [&](int64_t b) {
    return groups / b * block(b) + (groups % b ? block(groups % b) : 0);
  };
  // The fewest folds; of those, the largest block (the fewest GEMMs: each has a fixed cost of
  // DMA latency, pipeline fill and drain). At most as many output channels as the array has
  // columns: the zeros grow with the square of the block.
  int64_t best = 1;
  for (int64_t b = 2; b <= groups && b * kg <= C; ++b)
    if (cost(b) <= cost(best)) best = b;
  return best;
}

std::vector<uint64_t> layout_strides(const std::vector<int64_t>& shape, const Layout& l) {
  std::vector<uint64_t> st(shape.size(), 1);
  if (l.kind == Layout::nhwc) {
    const uint64_t C = uint64_t(shape[1]), H = uint64_t(shape[2]), W = uint64_t(shape[3]);
    return {H * W * C, 1, W * C, C};
  }
  for (size_t d = shape.size(); d-- > 1;) st[d - 1] = st[d] * uint64_t(shape[d]);
  return st;
}

CopyWalk merged(const CopyWalk& w) {
  std::vector<uint64_t> dst = w.dst;
  if (dst.empty()) {
    dst.assign(w.ext.size(), 1);
    for (size_t d = w.ext.size(); d-- > 1;) dst[d - 1] = dst[d] * w.ext[d];
  }
  CopyWalk m;
  for (size_t d = 0; d < w.ext.size(); ++d) {
    if (w.ext[d] == 1) continue;
    if (!m.ext.empty() && m.stride.back() == w.stride[d] * w.ext[d] &&
        m.dst.back() == dst[d] * w.ext[d]) {
      m.ext.back() *= w.ext[d];
      m.stride.back() = w.stride[d];
      m.dst.back() = dst[d];
    } else {
      m.ext.push_back(w.ext[d]);
      m.stride.push_back(w.stride[d]);
      m.dst.push_back(dst[d]);
    }
  }
  if (m.ext.empty()) return CopyWalk{{1}, {1}, {1}};
  return m;
}

CopyWalk transpose_walk(const Graph& g, const Node& n, const Layout& in, const Layout& out) {
  const std::vector<int64_t>& shape = g.tensor(n.outputs[0]).shape;
  const std::vector<uint64_t> src = layout_strides(g.tensor(n.inputs[0]).shape, in);
  CopyWalk w;
  for (size_t k : storage_order(shape.size(), out)) {
    w.ext.push_back(uint64_t(shape[k]));
    w.stride.push_back(src[size_t(n.attrs.perm[k])]);
  }
  return w;
}

CopyWalk into_row_major(const TensorInfo& t, const Layout& l) {
  return CopyWalk{
      std::vector<uint64_t>(t.shape.begin(), t.shape.end()), layout_strides(t.shape, l), {}};
}

CopyWalk from_row_major(const TensorInfo& t, const Layout& l) {
  const std::vector<uint64_t> src = layout_strides(t.shape, Layout{});
  CopyWalk w;
  for (size_t k : storage_order(t.shape.size(), l)) {
    w.ext.push_back(uint64_t(t.shape[k]));
    w.stride.push_back(src[k]);
  }
  return w;
}

const Scratch& LayoutPlan::find(int node, const std::string& name) const {
  for (const Scratch& s : scratch)
    if (s.node == node && s.name == name) return s;
  throw Error(
      fmt::format("internal: pass 'tiling': node {} has no scratch buffer '{}'", node, name));
}

uint64_t ksplit_partial_bytes(const Graph& g, const Node& n, const TpuParams& p) {
  if (p.cores < 2 || p.dataflow != xpusim::tpu::Dataflow::ws || n.inputs.size() != 2) return 0;
  const TensorInfo &a = g.tensor(n.inputs[0]), &b = g.tensor(n.inputs[1]);
  const TensorInfo& c = g.tensor(n.outputs[0]);
  if (a.dtype != DType::bf16 || c.dtype != DType::bf16) return 0;
  int64_t M = 0, N = 0, K = 0;
  if (n.kind == OpKind::gemm) {
    K = b.shape[0];
    N = b.shape[1];
    M = a.elements() / K;
  } else if (n.kind == OpKind::conv2d && n.attrs.groups == 1) {
    M = a.shape[0] * c.shape[2] * c.shape[3];
    N = b.shape[0];
    K = b.shape[1] * b.shape[2] * b.shape[3];
  } else {
    return 0;
  }
  if (!(M < 2 * int64_t(p.rows) && N <= int64_t(p.cols) && K > int64_t(p.rows))) return 0;
  return uint64_t(M * N) * 4;
}

LayoutPlan layout(const Graph& g, const TpuParams& p, const std::string& target) {
  LayoutPlan plan;
  plan.tensors.assign(g.tensors.size(), Placement{kUnplaced, Layout{}});
  plan.alias.assign(g.tensors.size(), -1);
  choose_layouts(g, plan.tensors, p, target);
  // A kv_append's output is its cache's bytes: the cache (a graph input no other node reads)
  // gets room for the new rows after each matrix's, so that only those rows move.
  for (const Node& n : g.nodes) {
    if (n.kind != OpKind::kv_append) continue;
    const int cache = n.inputs[0], out = n.outputs[0];
    if (plan.tensors[size_t(cache)].layout.kind != Layout::row_major ||
        plan.tensors[size_t(out)].layout.kind != Layout::row_major)
      unsupported(n, target, "a KV cache in a layout other than row-major");
    Layout& l = plan.tensors[size_t(cache)].layout;
    l.kind = Layout::padded;
    l.align = 1;
    l.tail_bytes = 1;
    l.min_rows = g.tensor(out).shape[g.tensor(out).shape.size() - 2];
    plan.alias[size_t(out)] = cache;
  }
  // A reshape or transpose that moves no byte between row-major tensors: its output is its
  // input's bytes.
  for (const Node& n : g.nodes) {
    if (n.kind != OpKind::reshape && n.kind != OpKind::transpose) continue;
    const int in = n.inputs[0], out = n.outputs[0];
    if (plan.tensors[size_t(in)].layout.kind == Layout::row_major &&
        plan.tensors[size_t(out)].layout.kind == Layout::row_major && moves_nothing(g, n))
      plan.alias[size_t(out)] = plan.alias[size_t(in)] >= 0 ? plan.alias[size_t(in)] : in;
  }
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
    if (plan.alias[t] < 0)
      plan.tensors[t].addr =
          alloc(uint64_t(layout_bytes(g.tensors[t], plan.tensors[t].layout)), g.tensors[t].loc);
  for (size_t t = 0; t < g.tensors.size(); ++t)
    if (plan.alias[t] >= 0) plan.tensors[t].addr = plan.tensors[size_t(plan.alias[t])].addr;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    // A reshape between two NHWC tensors goes through a row-major copy of its input.
    if (n.kind == OpKind::reshape &&
        plan.tensors[size_t(n.inputs[0])].layout.kind == Layout::nhwc &&
        plan.tensors[size_t(n.outputs[0])].layout.kind == Layout::nhwc) {
      const uint64_t bytes = uint64_t(g.tensor(n.inputs[0]).bytes());
      plan.scratch.push_back(Scratch{int(i), "R", alloc(bytes, n.loc), bytes});
    }
    if (const uint64_t bytes = ksplit_partial_bytes(g, n, p))
      plan.scratch.push_back(Scratch{int(i), "K1", alloc(bytes, n.loc), bytes});
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
  if (plan.tensors.size() != g.tensors.size() || plan.alias.size() != g.tensors.size())
    fail(fmt::format("{} placements and {} aliases for {} tensors", plan.tensors.size(),
                     plan.alias.size(), g.tensors.size()));
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
    const int a = plan.alias[t];
    if (a < 0) {
      extents.push_back(
          {"tensor '" + info.name + "'", pl.addr, uint64_t(layout_bytes(info, pl.layout))});
      continue;
    }
    const Placement& src = plan.tensors[size_t(a)];
    // A row-major tensor, or a KV cache with room (padded without alignment).
    const bool plain = src.layout.kind == Layout::row_major ||
                       (src.layout.kind == Layout::padded && src.layout.align == 1);
    if (plan.alias[size_t(a)] >= 0 || src.addr != pl.addr ||
        layout_bytes(g.tensors[size_t(a)], src.layout) != info.bytes() || !plain ||
        pl.layout.kind != Layout::row_major)
      fail(
          fmt::format("tensor '{}' shares the bytes of '{}', which is not a row-major tensor of "
                      "its size at its address",
                      info.name, g.tensors[size_t(a)].name));
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
    if (l.kind == Layout::conv_weight && l.groups > 1)
      how += fmt::format(" (groups {}, {} per block)", l.groups, l.group_block);
    if (l.kind == Layout::gemm_b_nhwc) how += fmt::format(" (A: c {} h {} w {})", l.c, l.h, l.w);
    std::string shape;
    for (int64_t d : info.shape) shape += (shape.empty() ? "" : "x") + std::to_string(d);
    std::string note = info.is_param ? " param" : "";
    if (plan.alias[t] >= 0)
      note += fmt::format(" (the bytes of '{}')", g.tensors[size_t(plan.alias[t])].name);
    s += fmt::format("{:<24} {:>#12x} {:>12}  {:<6} {} [{}]{}\n", info.name, plan.tensors[t].addr,
                     layout_bytes(info, l), dtype_name(info.dtype), how, shape, note);
  }
  for (const Scratch& sc : plan.scratch)
    s += fmt::format("{:<24} {:>#12x} {:>12}  {:<6} row-major (scratch)\n",
                     g.nodes[size_t(sc.node)].name + "." + sc.name, sc.addr, sc.bytes,
                     sc.name[0] == 'S' || sc.name[0] == 'K' ? "fp32"
                     : sc.name[0] == 'P'
                         ? "bf16"
                         : dtype_name(g.tensor(g.nodes[size_t(sc.node)].inputs[0]).dtype));
  return s;
}

}  // namespace xpusim::compiler::tpu
