#include "models/tpu/params.h"

#include <cmath>
#include <cstdint>

#include "models/core/limits.h"
#include "models/core/unit_model.h"

namespace xpusim::tpu {

const std::vector<ParamSpec>& param_specs() {
  static const std::vector<ParamSpec> specs = [] {
    std::vector<ParamSpec> v = {
        real_param("clock_mhz", "MHz", 700, "core clock; every cycle count is of this clock", 1),
        int_param("chip.cores", "cores", 1,
                  "TensorCores on the chip, each with all the units below, sharing the DRAM "
                  "channel (whose bandwidth is the chip's); a program holds one halt-terminated "
                  "list per core",
                  1, 16),
        int_param("array.rows", "PEs", 256, "rows R of each systolic array", 1, 4096),
        int_param("array.cols", "PEs", 256, "columns C of each systolic array", 1, 4096),
        int_param("array.count", "arrays", 1, "systolic arrays (MXUs) in the core", 1, 16),
        choice_param("array.dataflow", "ws", {"ws", "os", "is"},
                     "dataflow: weight-, output- or input-stationary"),
        bool_param("array.fold_overlap", true,
                   "double-buffered stationary operand: the next tile loads while the current "
                   "streams (false: SCALE-Sim's serial folds)"),
    };
    // The arrays' timing model; its keys stay inside the `array` group.
    for (ParamSpec& m : unit_model_params("array", "ArrayTiming",
                                          "rtl/systolic: int8, functional runs, built shapes "
                                          "only; the VCD shows the first array",
                                          "matmuls"))
      v.push_back(std::move(m));
    for (ParamSpec& s : std::vector<ParamSpec>{
             choice_param("array.dtypes", "int8", {"int8", "bf16", "int8+bf16"},
                          "operand types the arrays multiply (int8 -> int32, bf16 -> fp32)"),
             choice_param("array.fp32_passes", "1", {"1", "3", "6"},
                          "bf16 passes of a matmul on fp32 operands (bf16 arrays): each operand "
                          "is split into bf16 parts, as XLA's precision algorithms do: 1 rounds "
                          "both to bf16 (precision DEFAULT), 3 adds the products of the first "
                          "part with the second (bf16_3x, HIGH), 6 adds those of the third "
                          "(bf16_6x, HIGHEST)"),
             int_param("ub.bytes", "bytes", 24 << 20, "unified buffer capacity", 1024),
             int_param(
                 "ub.port_bytes", "bytes/cycle", 256,
                 "unified buffer bytes per cycle for the activation pipeline and the vector unit",
                 1),
             int_param("acc.bytes", "bytes", 4 << 20, "accumulator capacity (4 bytes per element)",
                       64),
             int_param("weight_fifo.depth", "tiles", 4, "weight FIFO depth in tiles", 1, 64),
             int_param("weight_fifo.tile_bytes", "bytes", 64 << 10,
                       "capacity of one weight FIFO tile", 1),
             real_param("dram.bandwidth_gbps", "GB/s", 34, "DRAM bandwidth of the core's channel",
                        0.001),
             real_param("dram.latency_ns", "ns", 100, "DRAM access latency after service", 0),
             int_param("dram.bytes", "bytes", int64_t(8) << 30, "DRAM capacity", 1024),
             int_param("dram.in_flight", "requests", 1,
                       "DMA requests each DMA unit (dma_in, weight_dma, dma_out) keeps in flight "
                       "at the DRAM channel: it issues its next instruction's request while fewer "
                       "than this many of its transfers are unfinished (1: once the one before "
                       "has been transferred)",
                       1, 64),
             bool_param("dram.writes_yield", true,
                        "a DMA write waits for the DRAM channel to be idle of reads, as a "
                        "controller that holds writes back and serves reads first (false: every "
                        "request in the order it arrives)"),
             int_param("cmem.bytes", "bytes", 0,
                       "capacity of the chip's CMEM, a read cache shared by the cores in front of "
                       "DRAM (0: none, the cores read DRAM directly)",
                       0),
             int_param("cmem.ways", "ways", 16, "associativity of the CMEM's tags", 1, 65535),
             real_param("cmem.bandwidth_gbps", "GB/s", 1200,
                        "bandwidth of the CMEM's port, shared by the cores, for the bytes it holds",
                        0.001),
             real_param("cmem.latency_ns", "ns", 50,
                        "latency of a read the CMEM holds, after its transfer", 0),
             int_param("act.latency", "cycles", 8,
                       "activation pipeline latency (accumulators -> UB)", 0),
             int_param("act.rows", "rows/cycle", 1,
                       "result rows (of up to array.cols elements) the activation pipeline moves "
                       "from the accumulators to the UB per cycle",
                       1, 64),
             bool_param("vpu.enabled", false,
                        "vector unit present (softmax, norms, GELU, elementwise)"),
             int_param("vpu.lanes", "elements/cycle", 1024, "vector unit elements per cycle", 1),
             int_param("vpu.latency", "cycles", 16, "vector unit pipeline latency", 0),
             int_param("dispatch.cycles", "cycles", 1, "cycles to issue one instruction", 0, 1000),
             int_param("dispatch.queue_depth", "instructions", 16, "depth of each unit's queue", 1,
                       4096),
             bool_param("lowering.single_step", false,
                        "a GEMM whose part of A and B (each core's) and its C fit the unified "
                        "buffer and the accumulators runs in one step, as XLA runs such a dot: "
                        "its operands in, then the products, then the result out, one after "
                        "the other; a larger fp32 one in such steps, one after another (false: "
                        "tiles pipelined, loads overlapping the products)"),
             bool_param("lowering.cut_streams", true,
                        "a core's first and last row blocks of a pipelined GEMM, when each "
                        "array has at most 16 matmuls in the block, stream each array's rows in "
                        "up to 4 cuts against one weight load (matmul keep=1, weight-stationary "
                        "arrays with fold overlap), so that the first rows' "
                        "products start as their operands arrive and the first rows' results "
                        "drain while the last rows stream (false: one matmul per weight load)"),
             bool_param("lowering.onchip_im2col", true,
                        "a convolution whose windows overlap reads each row block's band of "
                        "image rows into the unified buffer once and forms its im2col rows there "
                        "(im2col, on the setup unit); false: every window is gathered from DRAM "
                        "(rdconv)"),
             bool_param("lowering.keep_weights", false,
                        "a pipelined weight-stationary GEMM or convolution whose core runs "
                        "several row blocks against the same tiles of B loads those tiles into "
                        "the unified buffer once and feeds the arrays from there (ldweight), as "
                        "a TPU v4's MXUs take their weights from VMEM (false: every row block "
                        "reads its weight tiles from DRAM, rdweight, as a TPU v1's come from its "
                        "weight memory)"),
             bool_param("timing.stall_free", false,
                        "only the arrays take time: DRAM, activation, vector unit and dispatch are "
                        "free (SCALE-Sim's stall-free convention)"),
         })
      v.push_back(std::move(s));
    for (ParamSpec& l : limit_params()) v.push_back(std::move(l));
    return v;
  }();
  return specs;
}

TpuParams::TpuParams(const ParamValues& v)
    : clock_mhz(v.real("clock_mhz")),
      cores(int(v.integer("chip.cores"))),
      rows(int(v.integer("array.rows"))),
      cols(int(v.integer("array.cols"))),
      count(int(v.integer("array.count"))),
      dataflow(Dataflow::ws),
      fold_overlap(v.boolean("array.fold_overlap")),
      array_model(v, "array"),
      int8(v.choice("array.dtypes") != "bf16"),
      bf16(v.choice("array.dtypes") != "int8"),
      fp32_passes(std::stoi(v.choice("array.fp32_passes"))),
      ub_bytes(uint64_t(v.integer("ub.bytes"))),
      acc_bytes(uint64_t(v.integer("acc.bytes"))),
      ub_port_bytes(int(v.integer("ub.port_bytes"))),
      fifo_depth(int(v.integer("weight_fifo.depth"))),
      fifo_tile_bytes(uint64_t(v.integer("weight_fifo.tile_bytes"))),
      dram_gbps(v.real("dram.bandwidth_gbps")),
      dram_latency_ns(v.real("dram.latency_ns")),
      dram_in_flight(int(v.integer("dram.in_flight"))),
      dram_writes_yield(v.boolean("dram.writes_yield")),
      dram_bytes(uint64_t(v.integer("dram.bytes"))),
      cmem_bytes(uint64_t(v.integer("cmem.bytes"))),
      cmem_ways(uint32_t(v.integer("cmem.ways"))),
      cmem_gbps(v.real("cmem.bandwidth_gbps")),
      cmem_latency_ns(v.real("cmem.latency_ns")),
      act_latency(int(v.integer("act.latency"))),
      act_rows(int(v.integer("act.rows"))),
      vpu(v.boolean("vpu.enabled")),
      vpu_lanes(int(v.integer("vpu.lanes"))),
      vpu_latency(int(v.integer("vpu.latency"))),
      dispatch_cycles(int(v.integer("dispatch.cycles"))),
      queue_depth(int(v.integer("dispatch.queue_depth"))),
      single_step(v.boolean("lowering.single_step")),
      cut_streams(v.boolean("lowering.cut_streams")),
      onchip_im2col(v.boolean("lowering.onchip_im2col")),
      keep_weights(v.boolean("lowering.keep_weights")),
      stall_free(v.boolean("timing.stall_free")),
      limits(v) {
  parse_dataflow(v.choice("array.dataflow"), dataflow);  // a validated choice
}

}  // namespace xpusim::tpu
