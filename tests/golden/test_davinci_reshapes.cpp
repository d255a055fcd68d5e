// Reshapes on the DaVinci target of padded matrices whose last dim is 1 (a column of elements,
// each at the start of its own padded row) into shapes whose last dim is not: a graph input's
// column lies on the output's bytes (the driver writes it as one row: no instruction), and a
// gemm's column of N = 1 (ONNX's ReduceMean as a gemm by a column, kept dims) is swapped into
// the output's row on the cube. Values checked against the reference on the three Ascend presets
// (fp16 and int8; bf16 where the cube has it), at 10, 16 and 32 rows.
#include <catch2/catch.hpp>

#include <string>

#include "tests/support.h"

using namespace xpusim::test;
using Catch::Matchers::Contains;

namespace {

std::string columns_yaml(int rows, const std::string& dt) {
  const std::string r = std::to_string(rows), half = std::to_string(rows / 2);
  return "name: columns\ninputs:\n"
         "  - {name: x, shape: [" +
         r + ", 1], dtype: " + dt +
         "}\n"
         "  - {name: a, shape: [" +
         r + ", 5], dtype: " + dt +
         "}\n"
         "ops:\n"
         "  - {name: rx, op: reshape, inputs: [x], shape: [" +
         half +
         ", 1, 2]}\n"
         "  - {name: g, op: gemm, inputs: [a], N: 1}\n"
         "  - {name: rg, op: reshape, inputs: [g.out], shape: [" +
         half + ", 1, 2]}\n";
}

}  // namespace

TEST_CASE("DaVinci: reshapes of a column into rows of several elements, values checked",
          "[golden]") {
  const std::string dir = temp_dir("dv-columns");
  for (const char* arch : {"ascend910b", "ascend910", "ascend310"})
    for (const char* dt : {"fp16", "int8", "bf16"}) {
      if (std::string(dt) == "bf16" && std::string(arch) != "ascend910b") continue;
      for (int rows : {10, 16, 32}) {
        const std::string name = std::string(arch) + "-" + dt + "-" + std::to_string(rows);
        const std::string w = write_text(dir, name + ".yaml", columns_yaml(rows, dt));
        const Cli r = run_cli({"run", "--arch", arch, "--workload", w, "--dump-after=lower",
                               "--out", dir + "/" + name});
        INFO(name << "\n" << r.output.substr(r.output.size() > 3000 ? r.output.size() - 3000 : 0));
        CHECK(r.status == 0);
        CHECK_THAT(r.output, Contains("functional check: passed"));
        CHECK_THAT(r.output, Contains("nothing to move: 'rx.out' is the bytes of 'x'"));
        CHECK_THAT(r.output,
                   Contains("the input's column of elements swapped into rows on the cube"));
      }
    }
}

TEST_CASE("DaVinci: a column into rows that a reader wants as matrices is refused, naming the node",
          "[golden]") {
  // The relu reads the reshape's output as (5 x 1 x 2) matrices: the swapped row of 10 would be
  // split into rows of 2 elements, which neither 32-byte copies nor the cube's selection can.
  const std::string dir = temp_dir("dv-columns-refused");
  const std::string w =
      write_text(dir, "refused.yaml",
                 "name: refused\ninputs:\n"
                 "  - {name: a, shape: [10, 5], dtype: fp16}\n"
                 "ops:\n"
                 "  - {name: g, op: gemm, inputs: [a], N: 1}\n"
                 "  - {name: rg, op: reshape, inputs: [g.out], shape: [5, 1, 2]}\n"
                 "  - {name: act, op: relu, inputs: [rg.out]}\n");
  const Cli r = run_cli({"run", "--arch", "ascend910b", "--workload", w, "--out", dir + "/out"});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("node 'rg'"));
  CHECK_THAT(r.output, Contains("runs of 2 elements that do not start and end on 32-byte blocks"));
}
