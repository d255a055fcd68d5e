// The TPU target's passes, run in this order by TpuTarget::lower (compiler/targets/tpu/lower.cpp):
//   layout  graph -> LayoutPlan   each tensor's layout and DRAM address (layout.cpp)
//   tiling  -> TileProgram        GEMMs and vector passes cut into tiles under the buffer
//                                 capacities, in named on-chip regions (tiling.cpp; the IR,
//                                 its text and its verifier: tile_ir.h, tile_ir.cpp)
//   isel    -> Instr list         one instruction per tile op, regions given addresses (isel.cpp)
// `--dump-after=lower` names the whole lowering and prints the final program (as isel does).
// Each pass is followed by its verifier. A verifier failure is an Error starting with
// "internal: " that names the pass, the layer and the tile or instruction: a bug of the pass,
// not of the workload (those are reported by the passes themselves, naming the op and node).
#pragma once

#include <string>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/layout.h"
#include "compiler/target.h"
#include "compiler/targets/tpu/tile_ir.h"
#include "isa/tpu/instr.h"
#include "models/tpu/params.h"

namespace xpusim::compiler::tpu {

using xpusim::tpu::TpuParams;

// A DRAM buffer the lowering needs besides the graph's tensors (attention's scores S and
// probabilities P, which pass through DRAM).
// The name of attention's scratch buffer `base` ("S", "P") of `core`: "S" on core 0, "S1" on
// core 1, ...
inline std::string scratch_name(const std::string& base, int core) {
  return core == 0 ? base : base + std::to_string(core);
}

struct Scratch {
  int node = -1;
  std::string name;
  uint64_t addr = 0, bytes = 0;
};

// The bytes of the fp32 partial sums that core 1 passes to core 0 through DRAM (scratch "K1")
// where the pipelined lowering splits a GEMM's K steps between the first two cores of a chip
// (tiling.cpp, gemm_ksplit): a gemm or ungrouped conv2d of bf16 operands and result (the vector
// unit that adds the sums writes bf16) and no bias whose output is one N tile (N <= the arrays'
// columns) of fewer than 2 R rows (one row block, which one core would take alone while the other
// waits) over more than R of K; else 0.
uint64_t ksplit_partial_bytes(const Graph& g, const Node& n, const TpuParams& p);

struct LayoutPlan {
  std::vector<Placement> tensors;  // per tensor id; the tensor's bytes() from addr
  std::vector<Scratch> scratch;    // in node order
  // Per tensor id: the tensor whose bytes it shares (a reshape or transpose that moves no
  // byte: both row-major), or -1.
  std::vector<int> alias;
  const Scratch& find(int node, const std::string& name) const;
};

// A copy that a reshape, transpose, concat, slice or kv_append makes: the elements of the index
// space `ext` (row-major), each from the source at the sum over dims d of index_d * stride[d]
// elements to the destination at the sum of index_d * dst[d] (dst empty: the destination is
// contiguous, row-major over ext).
struct CopyWalk {
  std::vector<uint64_t> ext, stride, dst;
};
// The same copy with dims of 1 dropped and dims that follow each other in both the source and the
// destination merged, dst filled in; a copy of contiguous elements becomes one dim of strides 1.
CopyWalk merged(const CopyWalk& w);
// The copy a transpose makes from an input laid out `in` to an output laid out `out` (each
// row-major or NHWC).
CopyWalk transpose_walk(const Graph& g, const Node& n, const Layout& in, const Layout& out);
// Elements from one index of each dim to the next in layout l (row-major or NHWC).
std::vector<uint64_t> layout_strides(const std::vector<int64_t>& shape, const Layout& l);
// The copies of a reshape: from the input's layout to row-major (into_row_major), and from
// row-major to the output's layout (from_row_major).
CopyWalk into_row_major(const TensorInfo& t, const Layout& l);
CopyWalk from_row_major(const TensorInfo& t, const Layout& l);

// Every buffer placed in DRAM is aligned to this, and so is every on-chip region.
constexpr uint64_t kAlign = 64;
// The most A slots a GEMM's ring takes, and the most cuts of a job's rows that stream against
// one weight load (tiling.cpp).
constexpr uint64_t kARing = 4;
constexpr uint64_t kCuts = 4;
constexpr uint64_t kCutMatmuls = 16;  // cut a block of more matmuls an array only where they bind
// A tensor the layout pass has not placed.
constexpr uint64_t kUnplaced = ~uint64_t(0);

// The groups of grouped conv2d n that one GEMM takes (Layout::conv_weight's group_block).
int64_t conv_group_block(const Graph& g, const Node& n, const TpuParams& p);

LayoutPlan layout(const Graph& g, const TpuParams& p, const std::string& target);
void verify_layout(const Graph& g, const LayoutPlan& plan, const TpuParams& p);
std::string to_text(const Graph& g, const LayoutPlan& plan);

TileProgram tiling(const Graph& g, const LayoutPlan& plan, const TpuParams& p,
                   const std::string& target);
void verify_tiling(const TileProgram& tiles, const TpuParams& p);

// Ends the program with halt; every instruction carries its layer.
std::vector<isa::tpu::Instr> isel(const TileProgram& tiles);
void verify_isel(const Graph& g, const std::vector<isa::tpu::Instr>& code, const TpuParams& p);

}  // namespace xpusim::compiler::tpu
