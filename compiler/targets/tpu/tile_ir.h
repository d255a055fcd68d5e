// The TPU target's tile-level IR: the result of the tiling pass, the loop nests unrolled into
// tile operations. Each op moves or computes one tile between DRAM and named on-chip regions
// (ub.A0, acc.3, mxu1.fifo); instruction selection later gives the regions addresses and turns
// each op into one instruction. The text form (`--dump-after=tiling`, docs/models/tpu.md) has
// one line per op, grouped by layer and by loop nest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "isa/tpu/instr.h"

namespace xpusim::compiler::tpu {

// The on-chip regions. The unified buffer is cut into A0/A1 (operand tiles) and O0/O1 (output
// tiles), so that the DMA fills one of a pair while the arrays or the vector unit use the other,
// and P (layernorm/rmsnorm weights). The accumulators are a ring of slots per GEMM nest; each
// array has its weight FIFO.
enum class Region : uint8_t { A, O, P, acc, fifo };

// A tile's place on chip: region `index` (A0/A1, O0/O1, accumulator slot, the array of a FIFO)
// and `offset` bytes into it (several tiles share a region: the K tiles of a kept row block of
// A, the two operands of an add).
struct Place {
  Region region = Region::A;
  uint32_t index = 0;
  uint64_t offset = 0;
};

// A tile of a DRAM operand: elements [r0, r0 + rows) x [c0, c0 + cols) of the operand's matrix
// view, whose first element is at `addr`, rows `stride` bytes apart. `run`: the rows follow
// each other in DRAM and move as one DMA run (else row by row).
struct DramTile {
  std::string operand;  // the nest's name for the matrix (A, B, C, X, Y, ...)
  uint64_t r0 = 0, rows = 0, c0 = 0, cols = 0;
  uint64_t elem = 1;  // bytes per element
  uint64_t addr = 0, stride = 0;
  bool run = false;
};

// DRAM -> UB (rdhost).
struct Load {
  DramTile src;
  Place dst;
};
// DRAM image (NHWC) -> UB: rows [m0, m0 + rows) and columns [k0, k0 + cols) of the image's
// im2col matrix (rdconv); pooling gathers whole windows (k0 = 0).
struct Gather {
  std::string operand;
  isa::tpu::DType dtype = isa::tpu::DType::int8;
  uint64_t image = 0;  // DRAM address of the image (of its group's first channel)
  isa::tpu::ConvGeom geom{};
  uint64_t m0 = 0, rows = 0, k0 = 0, cols = 0;
  bool pad_lowest = false;  // padding is the dtype's lowest value (max pooling), else zero
  Place dst;
};
// UB -> UB: rows [m0, m0 + rows) and columns [k0, k0 + cols) of the im2col matrix of an image
// whose rows [h0, h0 + band_rows) Loads put at `band` (whole or in pieces of whole rows; pixels of
// geom.c channels, rows of geom.w pixels, contiguous), formed on chip (im2col).
struct Im2col {
  std::string operand;
  isa::tpu::DType dtype = isa::tpu::DType::int8;
  Place band;
  uint64_t h0 = 0, band_rows = 0;
  isa::tpu::ConvGeom geom{};
  uint64_t m0 = 0, rows = 0, k0 = 0, cols = 0;
  Place dst;
};
// DRAM -> an array's weight FIFO: a K x N tile of B (rdweight); `transposed`: B is stored
// N x K, so src's rows are its columns in DRAM.
struct LoadWeights {
  DramTile src;
  isa::tpu::DType dtype = isa::tpu::DType::int8;
  bool transposed = false;
  Place dst;  // a FIFO
};
// A K x N tile of B that a Load put in the UB (rows contiguous) -> an array's weight FIFO
// (ldweight): the path of a TPU v4, whose weights come from VMEM.
struct StagedWeights {
  std::string operand;  // for the text: the tile is operand[k0:k0+k, n0:n0+n]
  uint64_t k0 = 0, n0 = 0, k = 0, n = 0;
  isa::tpu::DType dtype = isa::tpu::DType::int8;
  Place src;  // in the UB
  Place dst;  // a FIFO
};
// Wait until every op before it is done (sync): between the phases of a single-step GEMM.
struct Sync {};
// Wait until every op before it is done and every core of the chip has reached its barrier
// (barrier): within a layer whose cores exchange data through DRAM (a GEMM whose K steps two
// cores share, one adding the other's partial sums). Every core's nests of the layer hold as
// many.
struct Barrier {};
// A (m x k, in the UB) x the FIFO's head tile (k x n) -> accumulator slot (m x n, int32/fp32).
struct Matmul {
  isa::tpu::DType dtype = isa::tpu::DType::int8;
  Place a, weights, acc;
  bool accumulate = false;  // add to the slot (the K tiles after the first), else set it
  uint64_t m = 0, k = 0, n = 0;
  bool keep = false;  // stream against the tile the array holds (the weights are not popped)
};
// Accumulator slot -> UB through the activation pipeline (activate); with `sum` > 1, the sum
// of that many slots from `acc` on (the partial sums of arrays that shared the K steps); with
// `bias`, the row of `cols` elements there (in P) added to every row before the function.
struct Drain {
  Place acc, dst;
  isa::tpu::DType dtype = isa::tpu::DType::int8;  // of the result (fp32: unrounded)
  uint64_t rows = 0, cols = 0;
  isa::tpu::ActFunc func = isa::tpu::ActFunc::none;
  int32_t mult = 1, shift = 0;  // int8 requantisation
  uint32_t sum = 1;
  std::optional<Place> bias;
};
// UB -> UB on the vector unit, rows x cols of output (vector).
struct Vector {
  isa::tpu::VecFunc func = isa::tpu::VecFunc::add;
  isa::tpu::DType dtype = isa::tpu::DType::bf16;
  Place src;
  std::optional<Place> src2;  // add/mul: the second operand; norms: the weights in P
  Place dst;
  uint64_t rows = 0, cols = 0;
  uint64_t groups = 0;  // window reductions: the window's pixels, side by side in a src row
  float imm = 0;        // softmax: scale; norms: eps
  bool causal = false, fp32_src = false;  // softmax of attention scores
  int32_t offset = 0;                     // causal softmax: row r masks columns > r + offset
};
// DRAM table -> UB rows (rdrows): `rows` rows of `cols` elements of `elem` bytes, row i of the
// table at table + ids[i] * cols * elem, ids[i] the int32 at `ids` + 4 i in the UB (an embedding
// lookup); an id outside [0, table_rows) is an error of the run.
struct Lookup {
  std::string operand;
  uint64_t table = 0, cols = 0, elem = 1, table_rows = 0;
  Place ids;
  uint64_t rows = 0;
  Place dst;
};
// UB -> DRAM (wrhost).
struct Store {
  Place src;
  DramTile dst;
};

using TileOp = std::variant<Load, Gather, Im2col, LoadWeights, StagedWeights, Sync, Barrier, Matmul,
                            Drain, Vector, Store, Lookup>;

// One loop nest: a GEMM, or a pass of the vector unit over rows, with its ops in issue order.
struct Nest {
  std::string title;            // what it computes and how it was tiled, for the reader
  uint64_t acc_slot_bytes = 0;  // a GEMM's accumulator ring: acc_slots slots of this size
  uint32_t acc_slots = 0;
  std::vector<TileOp> ops;
  int core = 0;  // the core of the chip that runs it
};

struct TileLayer {
  int layer = -1;  // the graph node
  std::string name;
  std::vector<Nest> nests;
};

// On a chip of several cores, each core runs the nests of its number, layer by layer, with a
// barrier between layers (a layer reads what every core wrote in the one before).
struct TileProgram {
  int cores = 1;
  uint64_t a_bytes = 0;       // each of ub.A0, ub.A1
  uint64_t o_bytes = 0;       // each of ub.O0, ub.O1
  uint64_t params_bytes = 0;  // ub.P
  std::vector<TileLayer> layers;
};

std::string to_text(const Place& p);
std::string to_text(const TileOp& op);
std::string to_text(const TileProgram& p);

}  // namespace xpusim::compiler::tpu
