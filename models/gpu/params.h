// The GPU family's parameters: declared once (models/core/params.h) and read into GpuParams.
#pragma once

#include <cstdint>
#include <vector>

#include "models/core/memside.h"
#include "models/core/params.h"

namespace xpusim::gpu {

const std::vector<ParamSpec>& param_specs();

struct GpuParams {
  explicit GpuParams(const ParamValues& v);
  double clock_mhz;
  int sms;
  int sub_partitions;
  int warp_size;
  int max_warps_per_sm;
  int max_threads_per_sm;
  int max_blocks_per_sm;
  int max_threads_per_block;
  int64_t registers_per_sm;
  int max_registers_per_thread;
  int64_t shared_per_sm;
  int64_t max_shared_per_block;
  int64_t memory_bytes;
  double memory_gbps;
  // The timing model's (docs/models/gpu.md).
  bool gto;  // sm.scheduler: gto, else lrr
  int int_lanes, fp32_lanes, fp64_lanes, sfu_lanes, lsu_lanes, lsu_queue;
  int tensor_f16, tensor_tf32, tensor_int8;  // FMA per SM per cycle
  int64_t l1_shared_bytes;
  int l1_ways;
  int sample_waves;     // sampling.waves: 0 simulates every block
  int sample_launches;  // sampling.launches: 0 simulates every launch
  int lat_int, lat_fp32, lat_half, lat_fp64, lat_sfu, lat_tensor, lat_shared, lat_l1, lat_const,
      lat_barrier;
  MemorySideParams memory_side;  // l2.* and memory.* (models/core/memside.h)
};

}  // namespace xpusim::gpu
