// The TPU family's instruction set: TPU v1-style CISC instructions issued in order by a
// dispatcher to concurrent units. Reference: docs/isa/tpu.md (fields, semantics, timing).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/core/dtype.h"
#include "models/core/error.h"

namespace xpusim::isa::tpu {

enum class Opcode : uint8_t {
  rdhost = 1,     // DRAM -> unified buffer (2-D strided copy)              unit: dma_in
  rdweight = 2,   // DRAM -> weight FIFO (one K x N tile)                    unit: weight_dma
  matmul = 3,     // UB rows x FIFO head tile -> accumulators                unit: mxu
  activate = 4,   // accumulators -> UB (ReLU/none, requantise or round)     unit: act
  vector = 5,     // UB -> UB elementwise / row-wise ops (v4-like presets)   unit: vpu
  wrhost = 6,     // unified buffer -> DRAM (2-D strided copy)               unit: dma_out
  sync = 7,       // wait until every earlier instruction has completed      dispatcher
  loop = 8,       // jump back to `target` until executed `count` times      dispatcher
  halt = 9,       // end of program (waits for completion)                   dispatcher
  rdconv = 10,    // DRAM image (NHWC) -> UB im2col rows, zero padded         unit: dma_in
  barrier = 11,   // sync, then wait until every core of the chip reached it  dispatcher
  ldweight = 12,  // UB -> weight FIFO (one K x N tile; TPU v4: weights in VMEM) unit: weight_dma
  rdrows = 13,    // DRAM table rows chosen by int32 ids in the UB -> UB (embedding) unit: dma_in
  im2col = 14,    // image rows in the UB -> UB im2col rows, padded (on-chip) unit: setup
};

// rdweight and ldweight: they fill an array's weight FIFO.
inline bool loads_weights(Opcode op) {
  return op == Opcode::rdweight || op == Opcode::ldweight;
}

// Element type of an instruction's operands: int8, bf16, or fp32 (an activate output: the
// accumulators copied unrounded; or the operands of a matmul, multiplied in bf16 passes,
// array.fp32_passes). Encoded as 0 int8, 1 bf16, 2 fp32 (tpu_dtype_code).
using xpusim::DType;
// The encoding's code of t, or 3 (invalid) for int32; and back (nullopt for an unknown code).
uint8_t tpu_dtype_code(DType t);

// activate: function applied to each accumulator element.
enum class ActFunc : uint8_t { none = 0, relu = 1 };

// vector: operation, applied row by row to a rows x cols matrix in the UB.
enum class VecFunc : uint8_t {
  add = 0,        // dst = src + src2
  mul = 1,        // dst = src * src2
  relu = 2,       // dst = max(src, 0)
  gelu = 3,       // dst = gelu(src) (tanh approximation)
  silu = 4,       // dst = src * sigmoid(src)
  scale = 5,      // dst = src * imm
  softmax = 6,    // row softmax of src * imm; with causal, column j > row + offset is masked
  layernorm = 7,  // row (src - mean) / sqrt(var + imm) * g + b, g and b: rows of src2 (2 x cols)
  rmsnorm = 8,    // row src / sqrt(mean(src^2) + imm) * g, g: one row at src2
  rowmax = 9,     // dst[r][c] = max over g < k of src[r][g*cols + c] (window reduction)
  rowavg = 10,    // dst[r][c] = sum over g < k of src[r][g*cols + c] / count, count = imm or k
  maxs = 11,      // dst = max(src, imm)
  mins = 12,      // dst = min(src, imm)
  sigmoid = 13,   // dst = 1 / (1 + exp(-src))
};

// Whether vector function f takes int8 operands (those whose int8 result is meaningful without
// a scale: an integer imm for maxs and mins).
bool vec_func_takes_int8(VecFunc f);

// matmul: accumulate into the accumulators, or overwrite them.
enum class AccMode : uint8_t { set = 0, acc = 1 };
// matmul flags bit 1: stream against the weight tile already in the array (keep=1).
constexpr uint8_t kMatmulKeep = 2;

// One instruction. Fields not used by an opcode are zero. Addresses are byte addresses in
// the named memory (DRAM, unified buffer "ub", accumulators "acc").
struct Instr {
  Opcode op = Opcode::halt;
  DType dtype = DType::int8;
  uint8_t func = 0;   // ActFunc (activate), VecFunc (vector)
  uint8_t flags = 0;  // matmul: AccMode, 2 = keep (stream against the weights already in the
                      // array, popping no FIFO tile); vector: 1 = causal (softmax), 2 = src
                      // and src2 are fp32 (softmax, add; the result is dtype); activate: 1 = add
                      // the bias row at src2 (cols elements of dtype, not int8) to each row;
                      // rdweight/ldweight: 1 = transpose (tile element (k, n) at dram + n*stride +
                      // k*elem); rdconv: 1 = pad with the dtype's lowest value instead of zero
  uint64_t dram = 0;  // rdhost, rdweight, wrhost: DRAM address
  uint32_t ub = 0;    // rdhost/wrhost/matmul/activate: UB address; vector: dst
  uint32_t src = 0;   // matmul: acc address; activate: acc address; vector: src UB address;
                      // rdrows: the ids' UB address
  uint32_t src2 = 0;  // vector: second operand UB address; activate: the bias row's
  uint32_t rows = 0;  // rdhost/wrhost: rows; rdweight: K; matmul: M; activate/vector: rows
  uint32_t cols = 0;  // rdhost/wrhost: bytes per row; rdweight/matmul/activate/vector: N/cols
  uint32_t k = 0;     // matmul: K; vector rowmax/rowavg: groups; rdrows: the table's rows
  uint32_t stride = 0;  // rdhost/wrhost/rdweight: DRAM bytes between rows
  int32_t imm = 0;      // activate int8: requant multiplier; vector: fp32 bits of imm (scale, eps)
  int32_t shift = 0;    // activate int8: requant shift; vector softmax: causal offset
  uint8_t mxu = 0;      // rdweight/matmul: the systolic array
  uint32_t target = 0;  // loop: the index of the instruction it jumps back to
  uint32_t count = 0;   // loop: how many times the block runs
  // Source line in the assembly or the compiler's layer index; not encoded.
  int line = 0;
  int layer = -1;

  bool operator==(const Instr& o) const;
};

// rdconv geometry, packed into the fields: dram = image base (H x W x C, NHWC), ub = dst,
// rows = output pixels, src = first output pixel m0, k = first im2col column k0, cols = kt
// columns, src2 = C, stride = H << 16 | W, imm = R << 24 | S << 16 | stride_h << 8 | stride_w,
// shift = cg << 16 | pad_h << 8 | pad_w. A pixel holds C channels; the first cg of them
// (cg = 0 means C; a group's channels start at dram) are gathered: column k of output pixel
// (oh, ow) is element (r, s, c) with k = (r*S + s)*cg + c, read from pixel
// (oh*stride_h + r - pad_h, ow*stride_w + s - pad_w).
struct ConvGeom {
  uint32_t c, cg, h, w, r, s, stride_h, stride_w, pad_h, pad_w;
  uint32_t out_w() const { return (w + 2 * pad_w - s) / stride_w + 1; }
  uint32_t out_h() const { return (h + 2 * pad_h - r) / stride_h + 1; }
};
// im2col packs the same geometry (the image is a band of rows in the UB at src, its first row
// h0) and puts m0 and h0 in the dram field: dram = h0 << 32 | m0. The first output pixel of
// rdconv or im2col, and the band's first image row (0 for rdconv, whose image is all there).
uint32_t conv_m0(const Instr& in);
uint32_t conv_h0(const Instr& in);
// The image rows [lo, hi) that output pixels [m0, m0 + rows) read in im2col columns
// [k0, k0 + cols), clipped to the image (lo == hi when every value they take is padding).
struct ImageRows {
  uint32_t lo = 0, hi = 0;
};
ImageRows conv_rows_read(const ConvGeom& g, uint64_t m0, uint64_t rows, uint64_t k0, uint64_t cols);
// The image rows an rdconv or im2col instruction reads.
ImageRows conv_rows_read(const Instr& in);

// The imm field read as the fp32 number it holds (vector functions).
float imm_float(const Instr& in);

ConvGeom conv_geom(const Instr& in);
void set_conv_geom(Instr& in, const ConvGeom& g);

// Binary encoding: every instruction is kInstrBytes little-endian bytes (layout in
// docs/isa/tpu.md); a program file starts with the 8-byte magic "XPUTPU01".
constexpr int kInstrBytes = 48;

std::vector<uint8_t> encode(const std::vector<Instr>& prog);
// Throws Error naming `file` and the instruction index for a bad magic, size or field.
std::vector<Instr> decode(const std::vector<uint8_t>& bytes, const std::string& file);

// Assembly text: one instruction per line, `label:` lines, comments after '#' or ';'.
// Throws Error with file:line:column and what was expected.
std::vector<Instr> assemble(const std::string& text, const std::string& file);
// Canonical text; assemble(disassemble(p)) == p and disassemble(assemble(disassemble(p))) ==
// disassemble(p). Loop targets are printed as generated labels.
std::string disassemble(const std::vector<Instr>& prog);

const char* opcode_name(Opcode op);

// A program holds one halt-terminated instruction list per core of the chip, in core order
// (a one-core program is one list). The [begin, end) of each, end past its halt; instructions
// after the last halt form no list (a program must end with halt).
std::vector<std::pair<size_t, size_t>> core_programs(const std::vector<Instr>& prog);

}  // namespace xpusim::isa::tpu
