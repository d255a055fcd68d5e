// The cube unit's formula model, its parameters and the mad's operands in the core's buffers
// (cube_unit.h).
#include "models/npu_davinci/cube_unit.h"

#include <algorithm>
#include <cstring>

#include "models/core/error.h"

namespace xpusim::davinci {

using isa::davinci::Buf;
using isa::davinci::Instr;
using isa::davinci::Memories;
using isa::davinci::Ty;

namespace {

constexpr int kMaxFractals = 255;  // m, k, n: the mad's limit of 4095 elements over 16

size_t elem_bytes(Ty ty) {
  return size_t(isa::davinci::ty_bytes(ty));
}

size_t field(const isa::davinci::Val& v) {
  return v.imm > 0 ? size_t(v.imm) : 0;
}

// L0A's zZ layout: the (M / 16) x (K / k0) fractals row by row, each row-major.
size_t zz_index(size_t K, size_t k0, size_t row, size_t col) {
  return ((row / 16) * (K / k0) + col / k0) * 16 * k0 + (row % 16) * k0 + col % k0;
}
// L0B's zN layout: the (K / k0) x (N / 16) fractals row by row, each column by column.
size_t zn_index(size_t N, size_t k0, size_t row, size_t col) {
  return ((row / k0) * (N / 16) + col / 16) * k0 * 16 + (col % 16) * k0 + row % k0;
}
// L0C's NZ layout: the (M / 16) x (N / 16) fractals column by column, each row-major.
size_t nz_index(size_t M, size_t row, size_t col) {
  return ((col / 16) * (M / 16) + row / 16) * 256 + (row % 16) * 16 + col % 16;
}

}  // namespace

int cube_k0(Ty ty) {
  return 32 / isa::davinci::ty_bytes(ty);
}

std::vector<ParamSpec> cube_unit_params() {
  return unit_model_params(kCubeUnit,
                           "CubeFormula: m n k fractal steps, one per cycle; done latency.cube "
                           "cycles after the last",
                           "rtl/cube: s8 mads, functional runs, built fractals and latencies "
                           "only; the VCD shows core 0's cube",
                           "mads");
}

CubeDims cube_dims(const CubeOp& op, int rows, int k0) {
  const size_t r = size_t(rows), depth = size_t(op.ty == Ty::s8 ? k0 : k0 / 2);
  return {r * size_t(op.m), depth * size_t(op.k), r * size_t(op.n)};
}

void check_cube_op(const CubeOp& op, bool values, int rows, int k0, const std::string& what) {
  if (op.ty != Ty::f16 && op.ty != Ty::bf16 && op.ty != Ty::s8)
    throw Error(what + ": the cube multiplies f16, bf16 or s8, not " +
                isa::davinci::ty_name(op.ty));
  auto in_range = [](int x) { return x >= 1 && x <= kMaxFractals; };
  if (!in_range(op.m) || !in_range(op.k) || !in_range(op.n))
    throw Error(what + ": a mad of " + std::to_string(op.m) + " x " + std::to_string(op.k) + " x " +
                std::to_string(op.n) + " fractals (m, k, n must be 1.." +
                std::to_string(kMaxFractals) + ")");
  if (!values) return;
  const CubeDims d = cube_dims(op, rows, k0);
  const size_t es = elem_bytes(op.ty);
  const bool c_ok = op.c.size() == d.M * d.N || (op.init && op.c.empty());
  if (op.a.size() != d.M * d.K * es || op.b.size() != d.K * d.N * es || !c_ok)
    throw Error(what + ": a " + isa::davinci::ty_name(op.ty) + " mad of " + std::to_string(d.M) +
                " x " + std::to_string(d.K) + " x " + std::to_string(d.N) + " needs A of " +
                std::to_string(d.M * d.K * es) + " bytes, B of " + std::to_string(d.K * d.N * es) +
                " bytes and C of " + std::to_string(d.M * d.N) + " words" +
                (op.init ? " or none" : "") + " (got " + std::to_string(op.a.size()) + ", " +
                std::to_string(op.b.size()) + ", " + std::to_string(op.c.size()) + ")");
}

CubeOp cube_op(const Instr& in) {
  CubeOp op;
  op.ty = in.ty;
  const size_t k0 = size_t(cube_k0(in.ty));
  op.m = int(field(in.n0) / kCubeRows);
  op.k = int(field(in.n1) / k0);
  op.n = int(field(in.n2) / kCubeRows);
  op.init = in.flag;
  return op;
}

void cube_operands(const Instr& in, const Memories& mem, CubeOp& op, const std::string& who) {
  const size_t M = field(in.n0), K = field(in.n1), N = field(in.n2);
  const size_t es = elem_bytes(in.ty), k0 = size_t(cube_k0(in.ty));
  std::vector<uint8_t> raw(std::max(M * K, K * N) * es);
  mem[Buf::l0a].read(field(in.src0.at), raw.data(), M * K * es, who);
  op.a.resize(M * K * es);
  for (size_t r = 0; r < M; ++r)
    for (size_t c = 0; c < K; ++c)
      std::memcpy(&op.a[(r * K + c) * es], &raw[zz_index(K, k0, r, c) * es], es);
  mem[Buf::l0b].read(field(in.src1.at), raw.data(), K * N * es, who);
  op.b.resize(K * N * es);
  for (size_t r = 0; r < K; ++r)
    for (size_t c = 0; c < N; ++c)
      std::memcpy(&op.b[(r * N + c) * es], &raw[zn_index(N, k0, r, c) * es], es);
  op.c.clear();
  if (!in.flag) op.c = cube_result(in, mem, who);
}

std::vector<uint32_t> cube_result(const Instr& in, const Memories& mem, const std::string& who) {
  const size_t M = field(in.n0), N = field(in.n2);
  std::vector<uint32_t> nz(M * N), c(M * N);
  mem[Buf::l0c].read(field(in.dst.at), nz.data(), M * N * 4, who);
  for (size_t r = 0; r < M; ++r)
    for (size_t col = 0; col < N; ++col) c[r * N + col] = nz[nz_index(M, r, col)];
  return c;
}

void cube_write_result(const Instr& in, const std::vector<uint32_t>& c, const Memories& mem) {
  const size_t M = field(in.n0), N = field(in.n2);
  if (c.size() != M * N)
    throw Error("internal: a mad's result of " + std::to_string(c.size()) + " words for " +
                std::to_string(M) + " x " + std::to_string(N));
  std::vector<uint32_t> nz(M * N);
  for (size_t r = 0; r < M; ++r)
    for (size_t col = 0; col < N; ++col) nz[nz_index(M, r, col)] = c[r * N + col];
  mem[Buf::l0c].write(field(in.dst.at), nz.data(), M * N * 4);
}

CubeFormula::CubeFormula(const CubeConfig& config) : config_(config) {
  if (config.latency < 0)
    throw Error("cube unit: the latency (" + std::to_string(config.latency) +
                " cycles) must not be negative");
}

void CubeFormula::offer(uint64_t id, CubeOp op, uint64_t, uint64_t now,
                        std::vector<Event>& events) {
  check_cube_op(op, false, config_.rows, config_.k0, "cube unit (formula)");
  const uint64_t start = std::max(now, free_);
  const uint64_t steps = op.steps();
  free_ = start + steps;
  CubeResult r;
  r.times = {start, start + steps, start + steps + uint64_t(config_.latency)};
  events.push_back({Event::next, id, r.times.read, {}});
  events.push_back({Event::read, id, r.times.read, {}});
  events.push_back({Event::done, id, r.times.done, std::move(r)});
}

}  // namespace xpusim::davinci
