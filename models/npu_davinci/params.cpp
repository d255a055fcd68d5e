// The DaVinci family's parameter declarations (units, defaults, ranges, descriptions). The
// defaults are the ascend910 preset's.
#include "models/npu_davinci/params.h"

#include "models/core/limits.h"
#include "models/npu_davinci/cube_unit.h"

namespace xpusim::davinci {

const std::vector<ParamSpec>& param_specs() {
  static const std::vector<ParamSpec> specs = [] {
    std::vector<ParamSpec> v = {
        real_param("clock_mhz", "MHz", 1000, "AI core clock; every cycle count is of this clock",
                   1),
        int_param("core.count", "cores", 32,
                  "AI cores; the blocks of a launch are dealt to them in turn", 1, 1024),
        bool_param("core.bf16", false, "the cube multiplies bf16 operands (910B-style)"),
        bool_param("core.fix", false,
                   "the core has a FIX pipe (fixpipe: L0C to global memory, 910B-style)"),
        int_param("core.queue_depth", "instructions", 32,
                  "instructions each pipe's queue holds; the scalar unit stops dispatching to a "
                  "full queue",
                  1, 1 << 20),
        int_param("core.flag_depth", "sets", 4,
                  "set_flag calls a flag may hold without a wait_flag; one more is an error", 1,
                  1 << 20),
        bool_param("core.race_check", true,
                   "report an access to bytes another pipe (or core) accessed, one of the two "
                   "a write, with no flag, barrier or sync_all ordering them, as an error"),
        int_param("buffer.l1_bytes", "bytes", 1 << 20, "L1 buffer (cbuf) per core", 512),
        int_param("buffer.l0a_bytes", "bytes", 64 << 10, "L0A buffer (cube's A operand)", 512),
        int_param("buffer.l0b_bytes", "bytes", 64 << 10, "L0B buffer (cube's B operand)", 512),
        int_param("buffer.l0c_bytes", "bytes", 256 << 10, "L0C buffer (cube's accumulators)", 1024),
        int_param("buffer.ub_bytes", "bytes", 256 << 10, "unified buffer (vector unit's operands)",
                  256),
        int_param("buffer.ub_banks", "banks", 64,
                  "banks of the unified buffer, 32-byte blocks interleaved over them: a vector "
                  "iteration takes as many cycles as the most blocks one bank serves in it",
                  1, 4096),
        real_param("path.gm_read", "bytes/cycle", 110,
                   "MTE2's read path from global memory (through the L2) per core", 1),
        real_param("path.gm_write", "bytes/cycle", 64,
                   "MTE3's write path from the unified buffer to global memory per core", 1),
        real_param("path.l1_to_l0a", "bytes/cycle", 512, "MTE1: L1 to L0A", 1),
        real_param("path.l1_to_l0b", "bytes/cycle", 256, "MTE1: L1 to L0B", 1),
        real_param("path.l1_to_ub", "bytes/cycle", 128, "MTE1: L1 to the unified buffer", 1),
        real_param("path.l0c_to_ub", "bytes/cycle", 256,
                   "L0C to the unified buffer (copy_matrix_cc_to_ubuf, on the vector pipe), L0C "
                   "bytes",
                   1),
        real_param("path.fix_to_gm", "bytes/cycle", 128,
                   "FIX pipe: L0C to global memory, L0C bytes (core.fix)", 1),
        int_param("latency.scalar", "cycles", 1, "a scalar instruction, and each dispatch", 1,
                  1000),
        int_param("latency.mte1", "cycles", 16,
                  "an MTE1 move's start-up: from its start to its first bytes", 0, 100000),
        int_param("latency.cube", "cycles", 16,
                  "the cube's pipeline: from a mad's last fractal step to its result in L0C", 0,
                  100000),
        int_param("latency.vector", "cycles", 16,
                  "the vector unit's pipeline: from an op's last iteration to its result in the "
                  "unified buffer",
                  0, 100000),
        int_param("vector.slow_cycles", "cycles", 4,
                  "cycles per iteration of vexp, vln, vrec, vsqrt, vrsqrt and vdiv (one for "
                  "the other ops)",
                  1, 1000),
        int_param("l2.bytes", "bytes", int64_t(32) << 20, "L2 shared by all AI cores", 4096),
        int_param("l2.slices", "slices", 32, "L2 slices, each a bandwidth server with its tags", 1,
                  4096),
        int_param("l2.ways", "ways", 16, "associativity of each L2 slice", 1, 65535),
        real_param("l2.bytes_per_cycle", "bytes/cycle", 128, "bytes one L2 slice moves per cycle",
                   0.001),
        int_param("l2.latency", "cycles", 100,
                  "L2 hit: from a request's service at its slice to its data at the core", 1,
                  100000),
        int_param("memory.bytes", "bytes", int64_t(32) << 30, "device memory (HBM) capacity", 1024),
        real_param("memory.bandwidth_gbps", "GB/s", 1200, "device memory (HBM) bandwidth", 0.001),
        int_param("memory.channels", "channels", 32, "independent HBM channels", 1, 4096),
        int_param("memory.interleave_bytes", "bytes", 256,
                  "consecutive bytes in one channel (a multiple of 32)", 32, 1 << 20),
        int_param("memory.latency", "cycles", 200,
                  "an L2 miss's latency beyond the L2 hit latency and its transfer", 0, 100000),
        int_param("sampling.ops", "instances", 0,
                  "timing-only runs (--no-functional): once this many instances of the code "
                  "between two sync_alls (a graph node's) with the same instructions but for "
                  "global-memory base addresses, from the same state, have been simulated, each "
                  "further one is not: the cores take its last simulated instance's cycles, "
                  "traffic, statistics and state at its end, and leave the L2 as it was. 0 "
                  "simulates all the code (docs/models/davinci.md)",
                  0, 1000000),
    };
    for (ParamSpec& m : cube_unit_params()) v.push_back(std::move(m));
    for (ParamSpec& l : limit_params()) v.push_back(std::move(l));
    return v;
  }();
  return specs;
}

DavinciParams::DavinciParams(const ParamValues& v)
    : clock_mhz(v.real("clock_mhz")),
      cores(int(v.integer("core.count"))),
      bf16(v.boolean("core.bf16")),
      fix(v.boolean("core.fix")),
      queue_depth(int(v.integer("core.queue_depth"))),
      flag_depth(int(v.integer("core.flag_depth"))),
      race_check(v.boolean("core.race_check")),
      l1_bytes(v.integer("buffer.l1_bytes")),
      l0a_bytes(v.integer("buffer.l0a_bytes")),
      l0b_bytes(v.integer("buffer.l0b_bytes")),
      l0c_bytes(v.integer("buffer.l0c_bytes")),
      ub_bytes(v.integer("buffer.ub_bytes")),
      ub_banks(int(v.integer("buffer.ub_banks"))),
      gm_read(v.real("path.gm_read")),
      gm_write(v.real("path.gm_write")),
      l1_to_l0a(v.real("path.l1_to_l0a")),
      l1_to_l0b(v.real("path.l1_to_l0b")),
      l1_to_ub(v.real("path.l1_to_ub")),
      l0c_to_ub(v.real("path.l0c_to_ub")),
      fix_to_gm(v.real("path.fix_to_gm")),
      scalar_cycles(int(v.integer("latency.scalar"))),
      mte1_latency(int(v.integer("latency.mte1"))),
      cube_latency(int(v.integer("latency.cube"))),
      vector_latency(int(v.integer("latency.vector"))),
      vector_slow_cycles(int(v.integer("vector.slow_cycles"))),
      cube_model(v, kCubeUnit),
      sample_ops(int(v.integer("sampling.ops"))),
      memory_bytes(v.integer("memory.bytes")),
      memory_side(memory_side_params(v, clock_mhz)) {}

}  // namespace xpusim::davinci
