// Lowering a graph to the TPU ISA: tiling under the buffer capacities of the target, double
// buffering (ping-pong regions in the unified buffer and the accumulators), instruction
// selection. The target's capabilities are data (TpuCaps), filled from the preset.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/ir/ir.h"
#include "isa/tpu/instr.h"

namespace xpusim::compiler {

struct TpuCaps {
  std::string target;      // preset name, for messages
  int rows = 0, cols = 0;  // array shape
  int count = 1;           // systolic arrays; output tiles are spread over them
  char dataflow = 'w';     // 'w' ws, 'o' os, 'i' is
  bool int8 = true, bf16 = false, vpu = false;
  uint64_t ub_bytes = 0, acc_bytes = 0, fifo_tile_bytes = 0, dram_bytes = 0;
};

// How a tensor's values are laid out in DRAM (the layout step decides; the runtime packs
// inputs and params accordingly and unpacks results).
struct DramLayout {
  enum Kind {
    row_major,    // as in the graph
    nhwc,         // 4-D activation (N,C,H,W) stored as N,H,W,C (conv2d/pool neighbourhood)
    conv_weight,  // (K, C/g, R, S) stored per group g as a (R*S*C/g) x (K/g) row-major block
    gemm_b_nhwc,  // gemm B (C*H*W, N) whose A is NHWC: rows reordered to (H*W*C) order
  } kind = row_major;
  int64_t groups = 1, c = 0, h = 0, w = 0;  // conv_weight: groups; gemm_b_nhwc: A's C, H, W
};

struct TpuProgram {
  std::vector<isa::tpu::Instr> code;
  std::vector<uint64_t> dram_addr;                  // per tensor id: where it lives in DRAM
  std::vector<DramLayout> layout;                   // per tensor id
  uint64_t dram_used = 0;                           // bytes of DRAM the program uses
  std::vector<std::string> layer_names, layer_ops;  // per layer (= node) index
};

// Lowers every node; an op the target cannot run is an Error naming the op, the node and the
// target. Each tensor lives in DRAM in the layout TpuProgram::layout gives (the layout step
// makes images next to conv2d/pool NHWC and lays out conv and gemm weights for the array).
TpuProgram lower_to_tpu(const Graph& g, const TpuCaps& caps);

struct Tensor;
// Bytes of t in DRAM layout l, and back.
std::vector<uint8_t> pack_for_dram(const Tensor& t, const DramLayout& l);
Tensor unpack_from_dram(const std::vector<uint8_t>& bytes, const TensorInfo& info,
                        const DramLayout& l);

}  // namespace xpusim::compiler
