// The DaVinci target's reshapes and transposes: a reshape lies on its input's bytes where a
// grouping of the dims allows (no instruction), a transpose that keeps the last dim is a copy
// by lines, a swap of the last two dims runs on the cube, runs that are not whole 32-byte blocks
// are selected on the cube where they can be, and the rest is refused naming the node and the
// target. Values are checked by the smoke workload and tests/golden/test_davinci_maps.cpp.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "compiler/ir/frontend.h"
#include "compiler/passes/passes.h"
#include "compiler/target.h"
#include "models/core/config.h"

using namespace xpusim;
using namespace xpusim::compiler;
using Catch::Matchers::Contains;

namespace {

// The kernel text of a workload on davinci_lab.
std::string kernel_of(const std::string& text) {
  Graph g = parse_workload(text, "copies.yaml");
  run_graph_passes(g, Dump{});
  std::ostringstream out;
  find_target("davinci").make(load_arch("davinci_lab"))->lower(g, Dump{{"lower"}, &out});
  return out.str();
}

std::string error_of(const std::string& text) {
  try {
    kernel_of(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

const std::string kHead =
    "name: copies\ninputs:\n  - {name: x, shape: [40, 96], dtype: fp16}\nops:\n";

}  // namespace

TEST_CASE("davinci: heads split by an aliasing reshape and a copy by lines", "[unit]") {
  const std::string k =
      kernel_of(kHead +
                "  - {name: p, op: gemm, inputs: [x], N: 96}\n"
                "  - {name: split, op: reshape, inputs: [p.out], shape: [2, 20, 3, 32]}\n"
                "  - {name: heads, op: transpose, inputs: [split.out], perm: [0, 2, 1, 3]}\n");
  CHECK_THAT(k, Contains("nothing to move: 'split.out' is the bytes of 'p.out'"));
  // (2, 20, 3, 32) -> (2, 3, 20, 32): 6 matrices of 20 rows, each a group of rows that are
  // one run of 32 elements, 96 apart in the input.
  CHECK_THAT(k, Contains("# 6 groups of up to 20 lines of 1 run(s) of 32 elements (96 apart)"));
  CHECK_THAT(k, Contains("block 0: zeros over the padding rows of the output's matrices"));
}

TEST_CASE("davinci: a swap of the last two dims runs on the cube", "[unit]") {
  const std::string k =
      kernel_of(kHead + "  - {name: t, op: transpose, inputs: [x], perm: [1, 0]}\n");
  CHECK_THAT(k, Contains("block 0: the 96 x 96 identity"));
  CHECK_THAT(k, Contains("vector_dup.s32"));
  CHECK_THAT(k, Contains("mad.f16"));
}

TEST_CASE("davinci: other transposes of the last dim are copies around the swap", "[unit]") {
  // (b, s, h, d) -> (b, h, d, s): the heads moved out first, then the swap writes the output.
  const std::string kt =
      kernel_of(kHead +
                "  - {name: s, op: reshape, inputs: [x], shape: [2, 20, 3, 32]}\n"
                "  - {name: t, op: transpose, inputs: [s.out], perm: [0, 2, 3, 1]}\n");
  CHECK_THAT(kt, Contains("the last dim, and the one to come last, moved to the end"));
  CHECK_THAT(kt, Contains("the last two dims swapped on the cube"));
  CHECK_THAT(kt, !Contains("the other dims into place"));
  // (a, b, c) -> (c, a, b): the swap straight from the input, then the rest into place.
  const std::string rot = kernel_of(
      "name: rot\ninputs:\n  - {name: y, shape: [40, 6, 16], dtype: fp16}\nops:\n"
      "  - {name: t, op: transpose, inputs: [y], perm: [2, 0, 1]}\n");
  CHECK_THAT(rot, !Contains("moved to the end"));
  CHECK_THAT(rot, Contains("the other dims into place"));
}

TEST_CASE("davinci: runs that are not whole 32-byte blocks: selected on the cube, or refused",
          "[unit]") {
  // Rows of 24 elements, 24 apart in the input's rows: per output matrix, the input's rows times
  // a selection of their columns (4 matrices: one selection each).
  const std::string k =
      kernel_of(kHead +
                "  - {name: s, op: reshape, inputs: [x], shape: [40, 4, 24]}\n"
                "  - {name: t, op: transpose, inputs: [s.out], perm: [1, 0, 2]}\n");
  CHECK_THAT(k, Contains("block 0: the 128 x 96 column selection matrices"));
  CHECK_THAT(k, Contains("1 x 4 output matrices: the input's rows times a selection"));
  CHECK_THAT(k, Contains("mad.f16"));
  // An output row gathered from runs of 24 elements, each across two 32-byte blocks of its own
  // matrix: refused.
  CHECK_THAT(
      error_of("name: copies\ninputs:\n  - {name: y, shape: [4, 40, 24], dtype: fp16}\nops:\n"
               "  - {name: t, op: transpose, inputs: [y], perm: [1, 0, 2]}\n"
               "  - {name: r, op: reshape, inputs: [t.out], shape: [40, 96]}\n"
               "  - {name: g, op: gemm, inputs: [r.out], N: 16}\n"),
      Contains("copies.yaml:5:5: op 'transpose' (node 't') cannot be lowered to target "
               "'davinci_lab': runs of 24 elements that do not start and end on 32-byte blocks, "
               "and runs apart that do not each lie in one 32-byte block from its start"));
}

TEST_CASE("davinci: a gemm after a global pool reads one pixel per slice", "[unit]") {
  // The pooled map (1, 40, 1, 1) is NC1HWC0 with 16 pixels per slice, 15 of them padding: the
  // gemm's K is the 48 padded channels, a 32-byte block every 512 bytes, not 48 x 16.
  const std::string k = kernel_of(
      "name: gap\ninputs:\n  - {name: img, shape: [1, 40, 4, 4], dtype: fp16}\nops:\n"
      "  - {name: gap, op: pool, inputs: [img], kernel: 4, type: avg}\n"
      "  - {name: fc, op: gemm, inputs: [gap.out], N: 24}\n");
  CHECK_THAT(k, Contains("= A 16x48 x B 48x32"));
  CHECK_THAT(k, Contains("burst=1, src_gap=47"));
}
