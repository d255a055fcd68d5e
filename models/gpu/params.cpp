// The GPU family's parameter declarations (units, defaults, ranges, descriptions).
#include "models/gpu/params.h"

#include "models/core/limits.h"

namespace xpusim::gpu {

const std::vector<ParamSpec>& param_specs() {
  static const std::vector<ParamSpec> specs = [] {
    std::vector<ParamSpec> v = {
        real_param("clock_mhz", "MHz", 1410, "SM clock; every cycle count is of this clock", 1),
        int_param("sm.count", "SMs", 108, "streaming multiprocessors on the chip", 1, 1024),
        choice_param("sm.compute_capability", "80", {"70", "80", "90"},
                     "the PTX target the compiler writes for (sm_70 Volta: wmma, no cp.async; "
                     "sm_80 Ampere: mma.sync m16n8k16, ldmatrix, cp.async; sm_90 Hopper: the "
                     "same subset)"),
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
        choice_param("sm.scheduler", "gto", {"gto", "lrr"},
                     "warp scheduler policy of each sub-partition: gto (greedy then oldest: the "
                     "last warp issued while it can, then the oldest ready one) or lrr (loose "
                     "round-robin: the next ready warp after the last one issued)"),
        int_param("sm.int_lanes", "lanes", 64, "INT32 lanes per SM (split over sub-partitions)", 4,
                  4096),
        int_param("sm.fp32_lanes", "lanes", 64, "FP32 lanes per SM (f16x2/bf16x2 use them too)", 4,
                  4096),
        int_param("sm.fp64_lanes", "lanes", 32, "FP64 lanes per SM", 4, 4096),
        int_param("sm.sfu_lanes", "lanes", 16,
                  "special-function lanes per SM (rcp, sqrt, ex2, lg2, sin, cos, tanh, and "
                  "conversions between float and other types)",
                  4, 4096),
        int_param("sm.lsu_lanes", "lanes", 32,
                  "load/store lanes per SM (a warp's memory instruction issues over 32 / "
                  "(lanes per sub-partition) cycles)",
                  4, 4096),
        int_param("sm.lsu_queue", "cycles", 16,
                  "work the L1/shared-memory data path may have queued before memory "
                  "instructions stop issuing (the MIO queue)",
                  1, 1 << 20),
        int_param("sm.tensor_fma_f16", "FMA/cycle", 1024,
                  "dense f16/bf16 tensor-core multiply-accumulates per SM per cycle", 1),
        int_param("sm.tensor_fma_tf32", "FMA/cycle", 512,
                  "dense tf32 tensor-core multiply-accumulates per SM per cycle", 1),
        int_param("sm.tensor_fma_int8", "FMA/cycle", 2048,
                  "dense int8 tensor-core multiply-accumulates per SM per cycle", 1),
        int_param("sm.l1_shared_bytes", "bytes", 196608,
                  "unified L1 data cache and shared memory per SM: L1 gets what the resident "
                  "blocks' shared memory leaves",
                  0),
        int_param("l1.ways", "ways", 4, "L1 associativity (128-byte lines of 32-byte sectors)", 1,
                  64),
        int_param("latency.int", "cycles", 4, "dependent-issue latency of integer instructions", 1,
                  10000),
        int_param("latency.fp32", "cycles", 4, "dependent-issue latency of FP32 instructions", 1,
                  10000),
        int_param("latency.half", "cycles", 6,
                  "dependent-issue latency of f16/bf16 (and packed x2) instructions", 1, 10000),
        int_param("latency.fp64", "cycles", 8, "dependent-issue latency of FP64 instructions", 1,
                  10000),
        int_param("latency.sfu", "cycles", 20, "latency of special functions and float conversions",
                  1, 10000),
        int_param("latency.tensor", "cycles", 32,
                  "latency of a tensor-core mma (issue to result usable)", 1, 10000),
        int_param("latency.shared", "cycles", 23,
                  "shared-memory load latency without bank conflicts (also shuffles)", 1, 10000),
        int_param("latency.l1", "cycles", 33, "global load latency of an L1 hit", 1, 10000),
        int_param("latency.const", "cycles", 8,
                  "latency of a param/const load hitting the constant cache", 1, 10000),
        int_param("latency.barrier", "cycles", 20,
                  "from the last warp's arrival at bar.sync to the first issue after it", 0, 10000),
        int_param("l2.bytes", "bytes", int64_t(40) << 20, "L2 capacity", 1024),
        int_param("l2.slices", "slices", 80,
                  "L2 slices (addresses hashed over them); each serves its bandwidth", 1, 4096),
        int_param("l2.ways", "ways", 16, "L2 associativity per slice", 1, 64),
        real_param("l2.bytes_per_cycle", "B/cycle", 64, "bandwidth of one L2 slice", 1),
        int_param("l2.latency", "cycles", 200,
                  "L2 hit latency seen by a load, round trip from the SM", 1, 100000),
        int_param("memory.bytes", "bytes", int64_t(40) << 30, "device memory (HBM) capacity", 1024),
        real_param("memory.bandwidth_gbps", "GB/s", 1555, "device memory (HBM) bandwidth", 0.001),
        int_param("memory.channels", "channels", 40,
                  "HBM channels (addresses interleaved over them); each gets an equal share of "
                  "the bandwidth",
                  1, 4096),
        int_param("memory.interleave_bytes", "bytes", 256,
                  "bytes of consecutive addresses on one channel", 32, 1 << 20),
        int_param("memory.latency", "cycles", 270,
                  "extra latency of an L2 miss (the HBM access), beyond the L2 hit latency", 0,
                  100000),
        int_param("sampling.waves", "waves", 0,
                  "timing-only runs (--no-functional): after a launch's first wave of blocks, "
                  "simulate this many more, then skip the whole waves of blocks not yet "
                  "launched, adding their cycles, traffic and statistics at the rate the "
                  "simulated waves showed; the waves in flight and the remainder run in full. "
                  "0 simulates every block (docs/models/gpu.md)",
                  0, 1000),
        int_param("sampling.launches", "launches", 0,
                  "timing-only runs (--no-functional): once this many launches of the same "
                  "kernel with the same grid, block, shared memory, scalar arguments and buffer "
                  "sizes have been simulated, each further one is not: it takes the cycles, "
                  "traffic and statistics of the last one simulated, and leaves the L2 as it "
                  "was. 0 simulates every launch (docs/models/gpu.md)",
                  0, 1000000),
    };
    // limits.max_instructions bounds the executed warp-instructions.
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
      memory_gbps(v.real("memory.bandwidth_gbps")),
      gto(v.choice("sm.scheduler") == "gto"),
      int_lanes(int(v.integer("sm.int_lanes"))),
      fp32_lanes(int(v.integer("sm.fp32_lanes"))),
      fp64_lanes(int(v.integer("sm.fp64_lanes"))),
      sfu_lanes(int(v.integer("sm.sfu_lanes"))),
      lsu_lanes(int(v.integer("sm.lsu_lanes"))),
      lsu_queue(int(v.integer("sm.lsu_queue"))),
      tensor_f16(int(v.integer("sm.tensor_fma_f16"))),
      tensor_tf32(int(v.integer("sm.tensor_fma_tf32"))),
      tensor_int8(int(v.integer("sm.tensor_fma_int8"))),
      l1_shared_bytes(v.integer("sm.l1_shared_bytes")),
      l1_ways(int(v.integer("l1.ways"))),
      sample_waves(int(v.integer("sampling.waves"))),
      sample_launches(int(v.integer("sampling.launches"))),
      lat_int(int(v.integer("latency.int"))),
      lat_fp32(int(v.integer("latency.fp32"))),
      lat_half(int(v.integer("latency.half"))),
      lat_fp64(int(v.integer("latency.fp64"))),
      lat_sfu(int(v.integer("latency.sfu"))),
      lat_tensor(int(v.integer("latency.tensor"))),
      lat_shared(int(v.integer("latency.shared"))),
      lat_l1(int(v.integer("latency.l1"))),
      lat_const(int(v.integer("latency.const"))),
      lat_barrier(int(v.integer("latency.barrier"))),
      memory_side(memory_side_params(v, clock_mhz)) {}

}  // namespace xpusim::gpu
