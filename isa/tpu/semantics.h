// Functional semantics of the TPU instructions: the one place that says what each
// instruction computes, used by the model and by tests. Bounds and never-written reads are
// checked by the ByteStores; `who` names the instruction in messages.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "isa/tpu/instr.h"
#include "models/core/memory.h"

namespace xpusim::isa::tpu {

int elem_bytes(DType t);
// Element type of a vector instruction's first source (fp32 for a softmax with flag 2).
DType vector_src_dtype(const Instr& in);

// A weight tile as it sits in the weight FIFO.
struct WeightTile {
  uint32_t k = 0, n = 0;
  DType dtype = DType::int8;
  std::vector<uint8_t> data;  // k x n elements, row-major
};

void exec_rdhost(const Instr& in, const ByteStore& dram, ByteStore& ub, const std::string& who);
void exec_rdconv(const Instr& in, const ByteStore& dram, ByteStore& ub, const std::string& who);
// im2col: throws Error naming the instruction when it reads an image row before the band's h0.
void exec_im2col(const Instr& in, ByteStore& ub, const std::string& who);
void exec_wrhost(const Instr& in, const ByteStore& ub, ByteStore& dram, const std::string& who);
// rdrows: throws Error naming the instruction when an id is outside [0, table rows).
void exec_rdrows(const Instr& in, const ByteStore& dram, ByteStore& ub, const std::string& who);
// rdweight (from DRAM) and ldweight (from the unified buffer): the tile at the instruction's
// address in `src`.
WeightTile exec_load_weights(const Instr& in, const ByteStore& src, const std::string& who);
// Throws Error when the tile's shape or dtype differs from the instruction's. An fp32 matmul
// makes `fp32_passes` (1, 3 or 6) bf16 passes, as fp32_products() says.
void exec_matmul(const Instr& in, const ByteStore& ub, const WeightTile& w, ByteStore& acc,
                 int fp32_passes, const std::string& who);

// The bf16 parts of x, x ~ p[0] + p[1] + p[2]: each the bf16 nearest to what the ones before
// leave of x.
struct Bf16Parts {
  float p[3];
};
Bf16Parts bf16_parts(float x);
// Which products of parts (a of A, b of B) the passes of an fp32 matmul add, in the order the
// array makes them: those of each part of B together (one weight load, then streams), the
// smaller products first: 1 pass (0,0); 3: (0,1) (1,0) (0,0); 6: (0,2) (1,1) (0,1) (2,0)
// (1,0) (0,0).
struct PartProduct {
  int a, b;
};
std::vector<PartProduct> fp32_products(int passes);
// The parts of B those passes use (1, 2 or 3): the weight loads of an fp32 matmul.
int fp32_weight_parts(int passes);
// activate: the accumulator tiles it adds (`sum`, 0 counting as 1; `gap` bytes apart: the
// partial sums of arrays that shared the K steps) and the end of the range they span.
uint64_t activate_tiles(const Instr& in);
uint64_t activate_acc_end(const Instr& in);
// Bytes of the bias row an activate reads from the UB at src2 (0 without `bias`).
uint64_t activate_bias_bytes(const Instr& in);
void exec_activate(const Instr& in, const ByteStore& acc, ByteStore& ub, const std::string& who);
void exec_vector(const Instr& in, ByteStore& ub, const std::string& who);

// Bytes a vector instruction reads from src / src2 and writes to dst (for bounds checks and
// dependences); the largest uint64_t when the count does not fit in one.
uint64_t vector_src_bytes(const Instr& in);
uint64_t vector_src2_bytes(const Instr& in);
uint64_t vector_dst_bytes(const Instr& in);
// Passes the vector unit makes over the data for this function (timing).
int vector_passes(VecFunc f);

}  // namespace xpusim::isa::tpu
