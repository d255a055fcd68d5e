// The TPU family's parameters (declared once: `xpusim describe tpu` prints them) and the
// typed view the model and the compiler target read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/core/clock.h"
#include "models/core/limits.h"
#include "models/core/params.h"
#include "models/core/unit_model.h"
#include "models/tpu/dataflow.h"

namespace xpusim::tpu {

const std::vector<ParamSpec>& param_specs();

struct TpuParams {
  double clock_mhz;
  int cores;              // TensorCores sharing the DRAM channel
  int rows, cols, count;  // array shape, number of arrays (MXUs)
  Dataflow dataflow;
  bool fold_overlap;
  UnitModelChoice array_model;  // formula or RTL arrays, and the RTL waveforms
  bool int8, bf16;              // operand types the arrays multiply
  int fp32_passes;              // bf16 passes of an fp32 matmul: 1, 3 or 6
  uint64_t ub_bytes, acc_bytes;
  int ub_port_bytes;
  int fifo_depth;
  uint64_t fifo_tile_bytes;
  double dram_gbps, dram_latency_ns;
  int dram_in_flight;  // requests a DMA unit keeps in flight at the channel
  bool dram_writes_yield;
  uint64_t dram_bytes;
  uint64_t cmem_bytes;  // 0: no CMEM
  uint32_t cmem_ways;
  double cmem_gbps, cmem_latency_ns;
  int act_latency, act_rows;
  bool vpu;
  int vpu_lanes, vpu_latency;
  int dispatch_cycles, queue_depth;
  bool single_step;    // the lowering runs a GEMM that fits on chip in one step (XLA's way)
  bool cut_streams;    // first and last row blocks stream in cuts against one weight load
  bool onchip_im2col;  // the lowering forms overlapping convolutions' im2col rows in the UB
  bool keep_weights;   // a core's tiles of B, read in several row blocks, kept in the UB
  bool stall_free;
  RunLimits limits;

  explicit TpuParams(const ParamValues& v);
  ClockDomain clock() const { return ClockDomain(clock_mhz); }
};

}  // namespace xpusim::tpu
