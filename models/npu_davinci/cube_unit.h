// The DaVinci AI core's cube unit behind the unit-model interface (models/core/unit_model.h): one
// mad (C (M x N) = A (M x K) x B (K x N) + C, on 16 x k0 fractals) per operation, timed by the
// formula (CubeFormula, here) or by the verilated RTL (rtl/cube, registered as kCubeUnit). The
// owner (the core's M pipe, AiCore::offer_mad) drives either through the same code, one mad at a
// time, when the pipe takes it at cycle `now`:
//
//   CubeOp op = cube_op(in);                    // in: the resolved, checked mad
//   if (model.computes_values())                // before isa::davinci::execute writes L0C
//     cube_operands(in, mem, op, who);          // A, B, C from L0A, L0B, L0C
//   model.offer(id, std::move(op), now, now, events);
//   ... then at the end of every cycle while model.busy(): model.step(cycle, events);
//
// `next` ends the pipe's occupancy, `read` frees L0A / L0B, `done` completes the mad (its C, from
// a model that computes values). docs/rtl/cube.md, "How it is plugged into the M pipe", says how
// the core uses them and how the values fit its functional execution.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "isa/davinci/instr.h"
#include "isa/davinci/semantics.h"
#include "models/core/params.h"
#include "models/core/unit_model.h"

namespace xpusim::davinci {

// The unit's name among the RTL units, and the prefix of its parameters (`davinci.cube.model`).
inline constexpr const char* kCubeUnit = "davinci.cube";

// The cube's fractal: 16 rows (of A, C) and columns (of B, C); its depth k0 is 32 bytes of
// elements: 16 for f16 and bf16, 32 for s8.
inline constexpr int kCubeRows = 16;
int cube_k0(isa::davinci::Ty ty);

// One mad. Its size counts fractals: M = rows m, K = k0 k, N = rows n, with the fractal of the
// unit that runs it (CubeConfig: 16 x k0 for the DaVinci cube; a scaled-down RTL unit has a
// smaller one). The operands are whole row-major matrices, elements in the type's bytes
// (little-endian) for A and B and 4-byte accumulators (s32, or f32 bits for f16 / bf16) for C;
// they may be left empty for a model that does not compute values, and C may be left empty
// with init. C is the accumulators as the mads before this one leave them.
struct CubeOp {
  isa::davinci::Ty ty = isa::davinci::Ty::s8;  // f16, bf16 or s8
  int m = 1, k = 1, n = 1;                     // fractals: 1..255 each
  bool init = false;                           // C starts from zero (not read)
  std::vector<uint8_t> a;                      // A: M x K, row-major
  std::vector<uint8_t> b;                      // B: K x N, row-major
  std::vector<uint32_t> c;                     // C: M x N, row-major

  // Fractal steps: m n k, one per cycle.
  uint64_t steps() const { return uint64_t(m) * uint64_t(n) * uint64_t(k); }
};

// The times of one mad, in the owner's cycles.
struct CubeTimes {
  uint64_t start = 0;  // its first fractal step
  uint64_t read = 0;   // its A and B fractals were all read: L0A and L0B may be overwritten
  uint64_t done = 0;   // C is complete in L0C
};

struct CubeResult {
  CubeTimes times;
  std::vector<uint32_t> c;  // C: M x N, row-major (s32 sums wrapping at 2^32): from a model that
                            // computes values
};

// The unit's configuration: latency.cube, and for an RTL model the fractal of its s8 operands
// (the verilated variants: rtl/cube/CMakeLists.txt). The formula uses the latency only.
struct CubeConfig {
  int latency = 16;      // cycles from a mad's last fractal step to its done (latency.cube)
  int rows = kCubeRows;  // the fractal's rows and columns
  int k0 = 32;           // the s8 fractal's depth
};

using CubeModel = UnitModel<CubeOp, CubeResult>;

// The parameters that choose the unit's model: davinci.cube.model (formula | rtl) and
// davinci.cube.vcd* (unit_model_params). The family adds them to its parameters.
std::vector<ParamSpec> cube_unit_params();

// The matrices' sizes of `op` on a unit whose s8 fractal is rows x k0 (f16 and bf16: rows x
// rows, as the cube's 16 x 16).
struct CubeDims {
  size_t M, K, N;
};
CubeDims cube_dims(const CubeOp& op, int rows, int k0);

// Throws Error unless op is a mad this unit runs (type, fractal counts) and, when `values`, its
// operands have the sizes of a rows x k0 fractal; `what` names the caller in the message.
void check_cube_op(const CubeOp& op, bool values, int rows, int k0, const std::string& what);

// The op of a resolved and checked mad instruction (isa::davinci::check): its type, size in
// 16 x k0 fractals and init, without operands.
CubeOp cube_op(const isa::davinci::Instr& in);
// Fills op's operands from the core's buffers, as the mad reads them: A from L0A (zZ), B from
// L0B (zN) and, without init, C from L0C (NZ), into row-major matrices. `who` names the
// instruction in a read error (ByteStore).
void cube_operands(const isa::davinci::Instr& in, const isa::davinci::Memories& mem, CubeOp& op,
                   const std::string& who);
// The mad's C as L0C holds it now (NZ), as a row-major matrix: before the mad, what it
// accumulates into; after it, its result.
std::vector<uint32_t> cube_result(const isa::davinci::Instr& in, const isa::davinci::Memories& mem,
                                  const std::string& who);
// Writes a mad's computed C (row-major) into L0C in its NZ layout.
void cube_write_result(const isa::davinci::Instr& in, const std::vector<uint32_t>& c,
                       const isa::davinci::Memories& mem);

// The formula model, every event in offer(). A mad is taken at start = max(now, the previous
// mad's next) and runs one fractal step per cycle, steps = m n k (the M pipe's occupancy):
//   next = start + steps       the fractal loop is free for the next mad
//   read = start + steps       its last A and B fractals were read in cycle start + steps - 1
//   done = start + steps + L   L = latency.cube: its last C fractal is written in cycle
//                              start + steps + L - 1
// It does not compute values.
class CubeFormula final : public CubeModel {
 public:
  // Throws Error for a negative latency.
  explicit CubeFormula(const CubeConfig& config);

  bool computes_values() const override { return false; }
  void offer(uint64_t id, CubeOp op, uint64_t ready, uint64_t now,
             std::vector<Event>& events) override;
  bool clocked() const override { return false; }
  bool busy() const override { return false; }
  void step(uint64_t, std::vector<Event>&) override {}

 private:
  CubeConfig config_;
  uint64_t free_ = 0;  // the first cycle the fractal loop is free
};

}  // namespace xpusim::davinci
