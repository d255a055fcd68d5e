// The DaVinci family's parameters: declared once (models/core/params.h) and read into
// DavinciParams. docs/models/davinci.md says how the model uses each.
#pragma once

#include <cstdint>
#include <vector>

#include "models/core/clock.h"
#include "models/core/memside.h"
#include "models/core/params.h"
#include "models/core/unit_model.h"

namespace xpusim::davinci {

const std::vector<ParamSpec>& param_specs();

struct DavinciParams {
  explicit DavinciParams(const ParamValues& v);
  ClockDomain clock() const { return ClockDomain(clock_mhz); }

  double clock_mhz;
  int cores;
  bool bf16, fix;  // the cube multiplies bf16; the core has a FIX pipe
  int queue_depth, flag_depth;
  bool race_check;
  int64_t l1_bytes, l0a_bytes, l0b_bytes, l0c_bytes, ub_bytes;
  int ub_banks;
  // Bytes per cycle of each path (docs/models/davinci.md).
  double gm_read, gm_write, l1_to_l0a, l1_to_l0b, l1_to_ub, l0c_to_ub, fix_to_gm;
  int scalar_cycles, mte1_latency, cube_latency, vector_latency, vector_slow_cycles;
  UnitModelChoice cube_model;  // what times the cube's mads (davinci.cube.*: formula or RTL)
  int sample_ops;              // sampling.ops: 0 simulates all the code
  int64_t memory_bytes;
  MemorySideParams memory_side;  // l2.* and memory.* (models/core/memside.h)
};

}  // namespace xpusim::davinci
