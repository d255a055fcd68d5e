// The GPU target's matrix main loop, shared by gemm / matmul (gemm.cpp) and conv2d (conv.cpp):
// C = A B for a grid of products, each A (m x k) row-major, B (k x n) row-major or gathered
// from a convolution's input, C (m x n) row-major, with the output rounding, requantisation
// and fused ReLU of the reference (compiler/reference/reference.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compiler/targets/gpu/kernel.h"

namespace xpusim::compiler::gpu {

// A convolution's input read as the B operand (implicit GEMM): row kr = (c, r, s) of the
// reduction, column p = (oh, ow) of the output plane, element X[c][oh*sh - ph + r][ow*sw - pw + s]
// of the image's channels (zero outside the image).
struct ConvGather {
  int64_t h = 0, w = 0;    // the input plane
  int64_t ow = 0;          // the output plane's width
  int64_t r = 0, s = 0;    // the window
  int64_t sh = 1, sw = 1;  // stride
  int64_t ph = 0, pw = 0;  // padding
};

// One launch of the main loop: products z = 0 .. batch*groups - 1, each at element offsets
// (z / groups) * x_n + (z % groups) * x_g of its operands and output.
struct MatrixJob {
  DType dtype = DType::fp16;  // operands and output
  bool relu = false;
  int32_t multiplier = 1, shift = 0;  // int8 requantisation
  int64_t m = 0, n = 0, k = 0;
  int64_t batch = 1, groups = 1;
  int64_t a_n = 0, a_g = 0, b_n = 0, b_g = 0, c_n = 0, c_g = 0;
  int a = -1, b = -1, c = -1;  // tensor ids
  std::optional<ConvGather> conv;
  // B stored in Layout::mma_fragments: only the small-M tensor-core kernel reads it
  // (gemv_reads_b_fragments).
  bool b_fragments = false;
  // The bias (tensor id; -1: none; float dtypes only), added to the accumulators before the
  // rounding and the ReLU: one value per column of C, or when bias_rows per row of each
  // product's C (conv2d: output channel (z % groups) * m + row).
  int bias = -1;
  bool bias_rows = false;
};

// The job of gemm or matmul node n (B row-major).
MatrixJob matrix_job(const Graph& g, const Node& n);

// Adds the kernel that runs job j for node n and launches it.
void emit_matrix(Emitter& e, const Node& n, const MatrixJob& j);

// int8 requantisation in registers: the parameters "mult" and "shift" (u32), and the biases
// that round a product half away from zero before it is shifted: 2^shift / 2 (non-negative
// products) and 2^shift - 1 - 2^shift / 2 (negative ones).
struct Requant {
  std::string mult, shift;  // "r"
  std::string half, neg;    // "rd"
};
// Loads the parameters "mult" and "shift" of k (call it where parameters are loaded).
Requant load_requant(Kernel& k);
// s32 accumulator acc requantised as the reference does (the product with the multiplier in 64
// bits, rounded half away from zero, saturated to int8; then the ReLU when relu), in an "r"
// register.
std::string requantize(Kernel& k, bool relu, const Requant& rq, const std::string& acc);

// A matrix kernel's parameters: pointers, sizes, the strides of a product's operands, then the
// requantisation (int8), the convolution's geometry (a gathered B) and the bias's pointer.
std::vector<Kernel::Param> matrix_params(const MatrixJob& j);
// The launch arguments of job j, in matrix_params' order.
std::vector<std::string> matrix_args(const Emitter& e, const MatrixJob& j);

// What every matrix kernel starts with: its parameters in registers, the product's operand
// pointers (global space; the product is %ctaid.z), and the requantisation's constants.
struct Setup {
  std::string a, b, c;                      // "rd": this product's A, B (or X) and C
  std::string bias;                         // "rd": this product's bias ("": none)
  std::string m, n, kdim;                   // "r"
  Requant q;                                // int8
  std::map<std::string, std::string> conv;  // conv parameter -> "r"
};
Setup setup(Kernel& k, const MatrixJob& j);

// The small-M kernels (gemv.cpp): whether one runs job j on caps (a gemm or matmul of at most a
// few rows of A; tensor_cores: whether the tiled kernel would run it on the tensor cores), and
// the kernel and launch that do.
bool gemv_takes(const GpuCaps& caps, const MatrixJob& j, bool tensor_cores);
void emit_gemv(Emitter& e, const MatrixJob& j);
// Whether the small-M tensor-core kernel runs gemm or matmul node n reading its B, a param (the
// weights, laid out before the run) of rank 2, in Layout::mma_fragments: the layout pass stores a
// param so when every node that reads it answers yes.
bool gemv_reads_b_fragments(const GpuCaps& caps, const Graph& g, const Node& n);

// The bias values (f32 "f" registers) of the rows (bias_rows) or columns first + o of C for each
// offset o (first an "r" register), each loaded from global memory once, zero past C's edge;
// without a bias, as many "". The epilogues load them before their stores and add them to the
// accumulators (add_bias).
std::vector<std::string> load_biases(Kernel& k, const MatrixJob& j, const Setup& s,
                                     const std::string& first,
                                     const std::vector<uint32_t>& offsets);
// acc + bias (f32) in a fresh register: one add.rn.f32; acc itself when bias is "".
std::string add_bias(Kernel& k, const std::string& acc, const std::string& bias);

// Loads the element of dtype t at [addr] when pred holds (always when pred is "", else zero) into
// v: an "f" register (f32) for the float dtypes, an "r" register (s32) for int8.
void load_element(Kernel& k, DType t, const std::string& pred, const std::string& addr,
                  const std::string& v);
// Stores accumulator acc (f32; s32 for int8) at [addr] when pred holds (always when ""), as the
// reference writes it: int8 requantised (rq: round half away from zero, saturate) then ReLU'd when
// relu; floats ReLU'd when relu, then rounded once to dtype t.
void store_element(Kernel& k, DType t, bool relu, const Requant& rq, const std::string& pred,
                   const std::string& addr, const std::string& acc);

}  // namespace xpusim::compiler::gpu
