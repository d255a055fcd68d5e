// The DaVinci target's weights in NZ order (Layout::nz): a param that only gemms and matmuls
// read, as their B, lies in global memory in the order of the cube's L1 (whole column blocks of
// 32 bytes, their rows contiguous), and MTE2 copies each K step of a tile of it in one copy of a
// burst per column block; B given transposed (int8) likewise per K block. A graph input B, and a
// param that another op reads too, stay row-major. Values checked on ascend910b (FIX pipe),
// ascend910 and ascend310. (Convolutions' weights are NZ too: the smoke workloads check them on
// every preset, tests/unit/test_conformance.cpp.)
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

// fp16: a gemm whose K takes several K steps, a batched weight, and a matmul whose B is a graph
// input; int8: a gemm (B stored transposed) and a batched weight.
const std::string kNz = R"(name: nz
inputs:
  - {name: x, shape: [40, 1100], dtype: fp16}
  - {name: y, shape: [3, 20, 50], dtype: fp16}
  - {name: b, shape: [3, 50, 33], dtype: fp16}
  - {name: x8, shape: [17, 300], dtype: int8}
  - {name: y8, shape: [2, 20, 70], dtype: int8}
ops:
  - {name: g, op: gemm, inputs: [x], N: 300, fused_relu: true}
  - {name: mw, op: matmul, inputs: [y], N: 33}
  - {name: mb, op: matmul, inputs: [y, b]}
  - {name: g8, op: gemm, inputs: [x8], N: 70, requant: {multiplier: 3, shift: 9}}
  - {name: m8, op: matmul, inputs: [y8], N: 40}
)";

// The layout dump and the kernel text of a graph on arch.
std::string lowered(const Graph& g, const std::string& arch) {
  std::ostringstream out;
  find_target("davinci").make(load_arch(arch))->lower(g, Dump{{"layout", "lower"}, &out});
  return out.str();
}

Graph parsed(const std::string& text) {
  Graph g = parse_workload(text, "nz.yaml");
  run_graph_passes(g, Dump{});
  return g;
}

int tensor_id(const Graph& g, const std::string& name) {
  for (size_t t = 0; t < g.tensors.size(); ++t)
    if (g.tensors[t].name == name) return int(t);
  FAIL("no tensor " << name);
  return -1;
}

}  // namespace

TEST_CASE("davinci NZ weights: a gemm's or matmul's param B is stored NZ, one copy a K step",
          "[unit]") {
  const std::string k = lowered(parsed(kNz), "ascend910b");
  CHECK_THAT(k, Contains("g.w                  gm[") && Contains("] padded NZ 1 x 1100 x 300"));
  CHECK_THAT(k, Contains("] padded NZ 3 x 50 x 33"));              // mw.w, batched
  CHECK_THAT(k, Contains("] padded 3 x 50 x 33"));                 // b, a graph input
  CHECK_THAT(k, Contains("] padded transposed NZ 1 x 300 x 70"));  // g8.w
  CHECK_THAT(k, Contains("] padded transposed NZ 2 x 70 x 40"));   // m8.w
  // fp16: the x26 column blocks of x17 rows, a block (K = 1104 rows of 32 bytes) apart.
  CHECK_THAT(k, Contains("mov x24, 1104\n  sub x24, x24, x17\n  copy_gm_to_cbuf l1[") &&
                    Contains("gm[x19], nburst=x26, burst=x17, src_gap=x24"));
  // int8, given transposed: the x27 K blocks of x11 rows (N), a block (N = 96 rows) apart.
  CHECK_THAT(k, Contains("mov x24, 96\n  sub x24, x24, x11\n  copy_gm_to_cbuf l1[") &&
                    Contains("gm[x19], nburst=x27, burst=x11, src_gap=x24"));
  // mb's B, a graph input, as it is: a copy per column block, rows of 48 elements.
  CHECK_THAT(k, Contains("gm[x22], nburst=x17, burst=1, src_gap=2"));
}

TEST_CASE("davinci NZ weights: a param that another op also reads stays row-major", "[unit]") {
  Graph g = parsed(R"(name: shared
inputs:
  - {name: x, shape: [16, 32], dtype: fp16}
  - {name: p, shape: [32, 48], dtype: fp16}
  - {name: q, shape: [32, 48], dtype: fp16}
ops:
  - {name: g, op: gemm, inputs: [x], N: 48}
  - {name: a, op: add, inputs: [p, q]}
)");
  const int w = tensor_id(g, "g.w");
  for (Node& n : g.nodes)
    if (n.name == "a") n.inputs[1] = w;  // the add reads the gemm's weight
  CHECK_THAT(lowered(g, "ascend910b"), Contains("g.w                  gm[") &&
                                           Contains("] padded 1 x 32 x 48") && !Contains("NZ"));
}

TEST_CASE("davinci NZ weights: values checked on ascend910b, ascend910 and ascend310", "[unit]") {
  for (const char* arch : {"ascend910b", "ascend910", "ascend310"}) {
    const std::string dir = temp_dir(std::string("dv-nz-") + arch);
    const Cli r = run_cli({"run", "--arch", arch, "--workload", write_text(dir, "nz.yaml", kNz),
                           "--out", dir + "/out"});
    INFO(arch << "\n" << r.output);
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Contains("functional check: passed"));
  }
}
