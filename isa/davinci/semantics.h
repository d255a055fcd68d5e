// The data effect of every DaVinci instruction that a pipe executes (everything except the
// scalar, branch and synchronisation ops, which the model's scalar unit and pipes handle), in
// one place for the model and the tests. An instruction here is resolved: the scalar unit has
// replaced every register operand by its value (resolve()).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "isa/davinci/instr.h"
#include "models/core/memory.h"

namespace xpusim::isa::davinci {

// in with every Val's register replaced by regs[reg] + imm (reg becomes -1).
Instr resolve(const Instr& in, const int64_t* regs);

// A byte range of one memory that an instruction reads or writes.
struct Range {
  Buf buf;
  uint64_t lo, hi;  // [lo, hi)
  bool write;
};

// The 128-bit vector mask: bit e of an iteration's elements (word 0: bits 0-63).
using Mask = std::array<uint64_t, 2>;
constexpr Mask kFullMask = {~uint64_t(0), ~uint64_t(0)};

// The feature map of img2col_cbuf_to_ca, as the last set_fmatrix before it in PIPE_MTE1 set it
// (h == 0: none was set).
struct Fmatrix {
  int64_t h = 0, w = 0, pad_t = 0, pad_l = 0;
};

// Checks the operand rules that need the resolved values (counts not negative and in range,
// alignment, M/N/K multiples, types an op takes, memories an op may name) and throws Error
// "<who>: <what was expected>". `who` names the instruction (file:line and its text).
void check(const Instr& in, const std::string& who);
// The same, with `who` made only when the check fails (the model checks every instruction).
void check(const Instr& in, const std::function<std::string()>& who);

// Appends every byte range in reads and writes, contiguous ranges of one memory and direction
// merged; a strided operand gives one range per contiguous run. A vector op accesses the whole
// 32-byte blocks that hold an element `mask` selects (a block none of whose elements is
// selected is not accessed). For bounds checks and race detection.
void accesses(const Instr& in, std::vector<Range>& out, const Mask& mask, const Fmatrix& fm = {});

// A vector op's operands as the UB's banks see them (the timing model's bank conflicts): per
// operand (dst, then the sources the op reads), whether it is written, its byte address, its
// block and repeat strides in 32-byte blocks, and the blocks it touches per iteration (a
// reduction's dst, one element per iteration, is left out). Empty for an instruction that is not
// a vector op.
struct VectorOperand {
  bool write;
  uint64_t addr, blk, rep;
  uint32_t blocks;
};
std::vector<VectorOperand> vector_geometry(const Instr& in);

// The memories of one AI core and the global memory, indexed by Buf.
struct Memories {
  std::array<ByteStore*, kBufs> buf{};
  ByteStore& operator[](Buf b) const { return *buf[size_t(b)]; }
};

// Performs the data effect of in (checked) on m, with `mask` for vector ops. Reading a byte
// that was never written is an Error naming `who` (ByteStore).
void execute(const Instr& in, const Mask& mask, const Memories& m, const std::string& who,
             const Fmatrix& fm = {});

// Work an instruction does, for the timing model: bytes moved by a copy or load (read side),
// cube fractal steps of a mad (M/16 * N/16 * K/k0), iterations of a vector op (repeat) or of a
// copy_matrix_cc_to_ubuf / fixpipe (fractals moved); an img2col: bytes written to L0A.
uint64_t work(const Instr& in);

}  // namespace xpusim::isa::davinci
