// The DaVinci target's int8 ops: s8 on the cube (fractals of 16 x 32, k0 = 32), B stored
// transposed, accumulators requantised on the way out (the FIX pipe's req8 on 910B-style presets,
// copy_matrix_cc_to_ubuf's on the 910), values checked against the reference on both paths.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "compiler/ir/frontend.h"
#include "compiler/passes/passes.h"
#include "compiler/target.h"
#include "models/core/config.h"
#include "tests/support.h"

using namespace xpusim;
using namespace xpusim::compiler;
using namespace xpusim::test;
using Catch::Matchers::Contains;

namespace {

// The kernel text of a workload on a preset.
std::string kernel_of(const std::string& text, const std::string& arch) {
  Graph g = parse_workload(text, "int8.yaml");
  run_graph_passes(g, Dump{});
  std::ostringstream out;
  find_target("davinci").make(load_arch(arch))->lower(g, Dump{{"lower"}, &out});
  return out.str();
}

// Runs a workload on arch with its values checked; returns the CLI's output.
Cli run_int8(const std::string& arch, const std::string& name, const std::string& text) {
  const std::string dir = temp_dir("dv-int8-" + name + "-" + arch);
  return run_cli({"run", "--arch", arch, "--workload", write_text(dir, name + ".yaml", text),
                  "--out", dir + "/out"});
}

const std::string kGemms = R"(name: gemms
ops:
  - {name: g0, op: gemm, M: 40, N: 70, K: 100, dtype: int8, requant: {multiplier: 3, shift: 9}}
  - {name: g1, op: gemm, M: 17, N: 300, K: 1100, dtype: int8, fused_relu: true}
  - {name: m0, op: matmul, batch: 3, M: 20, N: 33, K: 50, dtype: int8}
)";

}  // namespace

TEST_CASE("davinci int8: gemm on the cube as s8, requantised by the FIX pipe", "[unit]") {
  const std::string k = kernel_of(kGemms, "ascend910b");
  CHECK_THAT(k, Contains("mad.s8 l0c[0]"));
  // K = 100 pads to 128: K blocks of 32 (shr by 5); B's rows are N rows of K (given transposed).
  CHECK_THAT(k, Contains("shr x27, x17, 5"));
  CHECK_THAT(k, Contains("(given transposed)"));
  CHECK_THAT(k, Contains("fixpipe gm[x14], l0c[0], m=x10, n=x11, dst_stride=96, conv=req8, "
                         "mul=3, shift=9"));
  CHECK_THAT(k, Contains("conv=req8, mul=1, shift=") && Contains(", relu=1"));
  CHECK_THAT(k, !Contains("vconv") && !Contains("copy_matrix_cc_to_ubuf"));
}

TEST_CASE("davinci int8: without a FIX pipe, copy_matrix_cc_to_ubuf requantises into the UB",
          "[unit]") {
  const std::string k = kernel_of(kGemms, "ascend910");
  // Even column blocks at ub[0], odd ones at ub[16]: 16 x 32 fractals of s8.
  CHECK_THAT(k, Contains("copy_matrix_cc_to_ubuf ub[0], l0c[0], nburst=x24, burst=x25, "
                         "src_gap=x25, conv=req8, mul=3, shift=9"));
  CHECK_THAT(k, Contains("copy_matrix_cc_to_ubuf ub[16], l0c[x23], nburst=x24, burst=x25, "
                         "src_gap=x25, conv=req8"));
  // Rows of 32 bytes into C's rows of 96 (N = 70 padded to 96).
  CHECK_THAT(k, Contains("copy_ubuf_to_gm gm[x21], ub[x22], nburst=x10, burst=1, dst_gap=2"));
  CHECK_THAT(k, !Contains("fixpipe"));
}

TEST_CASE("davinci int8: gemm and matmul values checked on ascend910b and ascend910", "[unit]") {
  for (const char* arch : {"ascend910b", "ascend910"}) {
    const Cli r = run_int8(arch, "gemms", kGemms);
    INFO(arch << "\n" << r.output);
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Contains("functional check: passed"));
  }
}

namespace {

const std::string kConvs = R"(name: convs
inputs:
  - {name: x, shape: [2, 3, 17, 15], dtype: int8}
  - {name: y, shape: [2, 40, 9, 8], dtype: int8}
  - {name: p, shape: [3, 5, 70], dtype: int8}
ops:
  - {name: c0, op: conv2d, inputs: [x], K: 40, R: 3, S: 3, stride: 2, pad: 1, fused_relu: true}
  - {name: a, op: add, inputs: [c0.out, y]}
  - {name: m, op: mul, inputs: [a.out, y]}
  - {name: r, op: relu, inputs: [m.out]}
  - {name: c, op: clip, inputs: [r.out], min: -5, max: 6}
  - {name: c1, op: conv2d, inputs: [c.out], K: 33, R: 3, S: 3, pad: 1, requant: {multiplier: 5, shift: 6}}
  - {name: pa, op: add, inputs: [p, p]}
  - {name: pr, op: relu, inputs: [pa.out]}
)";

}  // namespace

TEST_CASE("davinci int8: conv2d by img2col of 32-channel slices, elementwise ops in f16",
          "[unit]") {
  const std::string k = kernel_of(kConvs, "ascend910b");
  // C = 3 is one slice of 32 channels: K = 9 taps of 32.
  CHECK_THAT(k, Contains("img2col_cbuf_to_ca") && Contains("mad.s8"));
  CHECK_THAT(k, Contains("A 80x288 x B 288x64 (given transposed)"));
  // Per column block of 16 channels, its half of a slice of 32: 16 bytes of each 32-byte pixel.
  CHECK_THAT(k, Contains("fixpipe gm[x21], l0c[x22], m=x10, n=16, dst_stride=32, conv=req8"));
  CHECK_THAT(k, Contains("vconv.f16.s8") && Contains("vadd.f16") && Contains("vmul.f16") &&
                    Contains("vrelu.f16") && Contains("vmaxs.f16") && Contains("vconv.s8.f16"));
}

TEST_CASE("davinci int8: conv2d and elementwise values checked on ascend910b and ascend910",
          "[unit]") {
  for (const char* arch : {"ascend910b", "ascend910"}) {
    const Cli r = run_int8(arch, "convs", kConvs);
    INFO(arch << "\n" << r.output);
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Contains("functional check: passed"));
  }
}

TEST_CASE("davinci int8: pools in f32 over slices of 32 channels, values checked", "[unit]") {
  const std::string pools = R"(name: pools
ops:
  - {name: p0, op: pool, N: 2, C: 40, H: 11, W: 13, kernel: 3, stride: 2, pad: 1, type: avg, dtype: int8}
  - {name: p1, op: pool, N: 1, C: 70, H: 9, W: 9, kernel: 2, type: max, dtype: int8}
)";
  const std::string k = kernel_of(pools, "ascend910b");
  // In through f16; four blocks of 8 floats per pixel (block stride 4, 8 pixels an iteration);
  // out rounded half away from zero, then through f16.
  CHECK_THAT(k, Contains("vconv.f16.s8") && Contains("vconv.f32.f16"));
  CHECK_THAT(k, Contains("dst_blk=4, src0_blk=4, src1_blk=8, dst_rep=32, src0_rep=32, "
                         "src1_rep=64"));
  CHECK_THAT(k, Contains("vconv.s32.f32") && Contains("round=a") && Contains("vconv.f16.s32") &&
                    Contains("vconv.s8.f16"));
  for (const char* arch : {"ascend910b", "ascend910"}) {
    const Cli r = run_int8(arch, "pools", pools);
    INFO(arch << "\n" << r.output);
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Contains("functional check: passed"));
  }
}

TEST_CASE("davinci int8: reshapes and transposes by 32-byte runs, swaps on the cube in s8",
          "[unit]") {
  const std::string k = kernel_of(R"(name: copies
inputs:
  - {name: t, shape: [2, 20, 96], dtype: int8}
ops:
  - {name: heads, op: transpose, inputs: [t], perm: [1, 0, 2]}
  - {name: swap, op: transpose, inputs: [t], perm: [0, 2, 1]}
)",
                                  "ascend910b");
  // Rows of 96 s8 (96 bytes), a matrix of 20 rows (padded to 32) 3072 bytes apart.
  CHECK_THAT(k, Contains("20 groups of up to 2 lines of 1 run(s) of 96 elements (3072 apart), "
                         "96 B each"));
  // The s8 identity: 32 x 32 diagonal blocks, one byte per row (s32 lanes).
  CHECK_THAT(k, Contains("block 0: the 96 x 96 identity"));
  CHECK_THAT(k, Contains("vector_dup.s32") && Contains(", 16777216, repeat=1"));
  CHECK_THAT(k, Contains("nburst=32, burst=1, dst_gap=2"));
  CHECK_THAT(k, Contains("mad.s8") && Contains("conv=req8, mul=1, shift=0"));
}
