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
void exec_wrhost(const Instr& in, const ByteStore& ub, ByteStore& dram, const std::string& who);
WeightTile exec_rdweight(const Instr& in, const ByteStore& dram, const std::string& who);
// Throws Error when the tile's shape or dtype differs from the instruction's.
void exec_matmul(const Instr& in, const ByteStore& ub, const WeightTile& w, ByteStore& acc,
                 const std::string& who);
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
