// The clip op (ReLU6 and kin): the frontend's rules, the reference, and both targets with values
// checked against the reference, including an int8 clip on the TPU and a bound that is not
// representable in bf16.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "compiler/ir/frontend.h"
#include "tests/support.h"

using namespace xpusim;
using namespace xpusim::compiler;
using namespace xpusim::test;
using Catch::Matchers::Contains;

namespace {

std::string parse_error(const std::string& op) {
  return error_of([&] {
    parse_workload("name: c\ninputs:\n  - {name: x, shape: [4, 8], dtype: int8}\nops:\n" + op,
                   "c.yaml");
  });
}

// Runs `ops` on x (rows x cols of dtype) on arch, values checked; returns the CLI's output.
Cli run_clip(const std::string& arch, const std::string& dtype, const std::string& ops) {
  const std::string dir = temp_dir("clip-" + arch + "-" + dtype);
  const std::string w = write_text(
      dir, "clip.yaml",
      "name: clip\ninputs:\n  - {name: x, shape: [3, 5, 70], dtype: " + dtype + "}\nops:\n" + ops);
  return run_cli({"run", "--arch", arch, "--workload", w, "--out", dir + "/out"});
}

const std::string kClips = R"(  - {name: relu6, op: clip, inputs: [x], min: 0, max: 6}
  - {name: low, op: clip, inputs: [relu6.out], max: 0.3}
  - {name: high, op: clip, inputs: [x], min: -0.7}
)";

}  // namespace

TEST_CASE("clip: the frontend's rules", "[unit]") {
  const Graph g = parse_workload(
      "name: c\nops:\n  - {name: r6, op: clip, shape: [2, 9], min: 0, max: 6, dtype: bf16}\n",
      "c.yaml");
  REQUIRE(g.nodes.size() == 1);
  CHECK(g.nodes[0].attrs.clip_min == 0);
  CHECK(g.nodes[0].attrs.clip_max == 6);
  CHECK(g.tensor(g.nodes[0].outputs[0]).shape == std::vector<int64_t>{2, 9});
  // A bound left out is infinite.
  const Graph up = parse_workload(
      "name: c\nops:\n  - {name: m, op: clip, shape: [4], max: 1, dtype: fp16}\n", "c.yaml");
  CHECK(std::isinf(up.nodes[0].attrs.clip_min));
  CHECK_THAT(to_yaml(up), Contains("max: 1") && !Contains("min:"));

  CHECK_THAT(parse_error("  - {name: c, op: clip, inputs: [x]}\n"),
             Contains("c.yaml:5:5") && Contains("clip needs 'min', 'max' or both"));
  CHECK_THAT(parse_error("  - {name: c, op: clip, inputs: [x], min: 3, max: 2}\n"),
             Contains("node 'c' (clip): min 3 must not exceed max 2"));
  CHECK_THAT(parse_error("  - {name: c, op: clip, inputs: [x], max: 6.5}\n"),
             Contains("an int8 bound must be an integer in [-128, 127], got 6.5"));
  CHECK_THAT(parse_error("  - {name: c, op: clip, inputs: [x], min: -200}\n"),
             Contains("an int8 bound must be an integer in [-128, 127], got -200"));
  CHECK_THAT(parse_error("  - {name: c, op: clip, inputs: [x], min: .inf}\n"),
             Contains("'min' must be a finite number"));
  CHECK_THAT(parse_error("  - {name: c, op: clip, inputs: [x], low: 0}\n"), Contains("'low'"));
}

TEST_CASE("clip: values checked on the TPU v4 (bf16 and int8)", "[unit]") {
  const Cli bf = run_clip("tpu_v4", "bf16", kClips);
  INFO(bf.output);
  CHECK(bf.status == 0);
  CHECK_THAT(bf.output, Contains("functional check: passed"));
  const Cli i8 = run_clip("tpu_v4", "int8",
                          "  - {name: c, op: clip, inputs: [x], min: -5, max: 6}\n"
                          "  - {name: d, op: clip, inputs: [c.out], min: 1}\n");
  INFO(i8.output);
  CHECK(i8.status == 0);
  CHECK_THAT(i8.output, Contains("functional check: passed"));
}

TEST_CASE("clip: values checked on the Ascend 910B (fp16 and bf16)", "[unit]") {
  for (const char* dtype : {"fp16", "bf16"}) {
    const Cli r = run_clip("ascend910b", dtype, kClips);
    INFO(dtype << "\n" << r.output);
    CHECK(r.status == 0);
    CHECK_THAT(r.output, Contains("functional check: passed"));
  }
  // A range without 0 would write the padding of the layouts the target pads.
  const Cli r = run_clip("ascend910b", "fp16", "  - {name: c, op: clip, inputs: [x], min: 1}\n");
  CHECK(r.status != 0);
  CHECK_THAT(r.output, Contains("node 'c'") && Contains("leaves out 0"));
}
