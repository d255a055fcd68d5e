// The GPU family's parameter declarations (units, defaults, ranges, descriptions).
#include "models/gpu/params.h"

#include "models/core/limits.h"

namespace xpusim::gpu {

const std::vector<ParamSpec>& param_specs() {
  static const std::vector<ParamSpec> specs = [] {
    std::vector<ParamSpec> v = {
        real_param("clock_mhz", "MHz", 1410, "SM clock; every cycle count is of this clock", 1),
        int_param("sm.count", "SMs", 108, "streaming multiprocessors on the chip", 1, 1024),
        int_param("sm.sub_partitions", "sub-partitions", 4,
                  "sub-partitions per SM, each a warp scheduler issuing one warp-instruction per "
                  "cycle",
                  1, 16),
        int_param("sm.warp_size", "threads", 32, "threads per warp (PTX fixes it at 32)", 32, 32),
        int_param("sm.max_warps", "warps", 64, "resident warps per SM", 1, 1024),
        int_param("sm.max_threads", "threads", 2048, "resident threads per SM", 32, 32768),
        int_param("sm.max_blocks", "blocks", 32, "resident thread blocks per SM", 1, 1024),
        int_param("sm.max_threads_per_block", "threads", 1024, "threads in one thread block", 32,
                  32768),
        int_param("sm.registers", "registers", 65536, "32-bit registers per SM", 1024),
        int_param("sm.max_registers_per_thread", "registers", 255,
                  "32-bit registers one thread may use", 16, 65536),
        int_param("sm.shared_bytes", "bytes", 167936, "shared memory per SM", 0),
        int_param("sm.max_shared_per_block", "bytes", 166912,
                  "shared memory one thread block may use (static and dynamic)", 0),
        int_param("memory.bytes", "bytes", int64_t(40) << 30, "device memory (HBM) capacity", 1024),
        real_param("memory.bandwidth_gbps", "GB/s", 1555, "device memory (HBM) bandwidth", 0.001),
    };
    // limits.max_instructions bounds the executed warp-instructions; limits.max_cycles waits
    // for the timing model.
    for (ParamSpec& l : limit_params()) v.push_back(std::move(l));
    return v;
  }();
  return specs;
}

GpuParams::GpuParams(const ParamValues& v)
    : clock_mhz(v.real("clock_mhz")),
      sms(int(v.integer("sm.count"))),
      sub_partitions(int(v.integer("sm.sub_partitions"))),
      warp_size(int(v.integer("sm.warp_size"))),
      max_warps_per_sm(int(v.integer("sm.max_warps"))),
      max_threads_per_sm(int(v.integer("sm.max_threads"))),
      max_blocks_per_sm(int(v.integer("sm.max_blocks"))),
      max_threads_per_block(int(v.integer("sm.max_threads_per_block"))),
      registers_per_sm(v.integer("sm.registers")),
      max_registers_per_thread(int(v.integer("sm.max_registers_per_thread"))),
      shared_per_sm(v.integer("sm.shared_bytes")),
      max_shared_per_block(v.integer("sm.max_shared_per_block")),
      memory_bytes(v.integer("memory.bytes")),
      memory_gbps(v.real("memory.bandwidth_gbps")) {}

}  // namespace xpusim::gpu
