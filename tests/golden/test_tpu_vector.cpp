// The TPU target's elementwise activations on the vector unit, with values checked on every TPU
// preset that has one (the family's smoke workload is int8 only, for the presets without).
#include <catch2/catch.hpp>

#include <string>

#include "tests/support.h"

using namespace xpusim::test;

TEST_CASE("TPU target: sigmoid on the vector unit, values checked on every preset with one",
          "[golden]") {
  const std::string dir = temp_dir("tpu-sigmoid");
  // Odd sizes (a partial last row of lanes), a rank-1 tensor, and a sigmoid after a silu (a
  // gate's pattern), in bf16, the vector unit's type.
  const std::string w = write_text(dir, "sigmoid.yaml",
                                   "name: sigmoid\n"
                                   "inputs:\n"
                                   "  - {name: x, shape: [37, 70], dtype: bf16}\n"
                                   "  - {name: v, shape: [301], dtype: bf16}\n"
                                   "ops:\n"
                                   "  - {name: s, op: sigmoid, inputs: [x]}\n"
                                   "  - {name: act, op: silu, inputs: [x]}\n"
                                   "  - {name: gate, op: sigmoid, inputs: [act.out]}\n"
                                   "  - {name: sv, op: sigmoid, inputs: [v]}\n");
  for (const char* arch : {"tpu_lab", "tpu_v4_core", "tpu_v4", "tpu-scalesim"}) {
    INFO(arch);
    check_values(arch, w, {}, dir + "/" + arch);
  }
}
