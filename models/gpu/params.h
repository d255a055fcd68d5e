// The GPU family's parameters: declared once (models/core/params.h) and read into GpuParams.
#pragma once

#include <cstdint>
#include <vector>

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
};

}  // namespace xpusim::gpu
