// int8 networks on the DaVinci target, values checked against the reference on both output paths:
// the FIX pipe's requantisation (ascend910b) and copy_matrix_cc_to_ubuf's (ascend910). Grouped
// and depthwise convolutions in bf16 on the presets whose cube has it (the smoke workloads, run on
// every preset, have them in fp16 and int8).
#include <catch2/catch.hpp>

#include <string>

#include "tests/support.h"

using namespace xpusim::test;
using Catch::Matchers::Contains;

namespace {

void check_run(const std::string& arch, const std::vector<std::string>& extra,
               const std::string& name) {
  const std::string out = temp_dir("dv-int8-" + name + "-" + arch);
  std::vector<std::string> args = {"run", "--arch", arch, "--out", out};
  args.insert(args.end(), extra.begin(), extra.end());
  const Cli r = run_cli(args);
  INFO(arch << " " << name << "\n" << r.output);
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Contains("functional check: passed"));
}

}  // namespace

TEST_CASE("DaVinci int8: the small CNN example and ResNet-50 at 32x32, values checked",
          "[golden][slow]") {
  for (const char* arch : {"ascend910b", "ascend910"}) {
    check_run(arch,
              {"--workload", std::string(XPUSIM_SOURCE_DIR) + "/workloads/examples/small-cnn.yaml"},
              "small-cnn");
    check_run(arch, {"--workload", "resnet-50", "--param", "dtype=int8", "--param", "image=32"},
              "resnet-50");
  }
}

TEST_CASE("DaVinci int8: MobileNetV2 at 32x32, its depthwise convolutions on the cube",
          "[golden]") {
  for (const char* arch : {"ascend910b", "ascend910"})
    check_run(arch, {"--workload", "mobilenet-v2", "--param", "dtype=int8", "--param", "image=32"},
              "mobilenet-v2");
}

TEST_CASE("DaVinci: grouped and depthwise convolutions in bf16 on the cube, values checked",
          "[golden]") {
  // Groups of 8 input and 12 output channels (blocks of 4 groups and a last block of 1), a
  // channel multiplier (blocks of 16 groups and a last of 4) with a fused ReLU; a depthwise one
  // (60 channels: blocks of 16 and a last of 12), padded, after the grouped one.
  const std::string dir = temp_dir("dv-bf16-grouped");
  const std::string w = write_text(
      dir, "grouped.yaml",
      "name: grouped\n"
      "inputs:\n"
      "  - {name: x, shape: [2, 40, 9, 7], dtype: bf16}\n"
      "ops:\n"
      "  - {name: gc, op: conv2d, inputs: [x], K: 60, R: 3, S: 3, pad: 1, groups: 5}\n"
      "  - {name: mult, op: conv2d, inputs: [x], K: 80, R: 3, S: 3, stride: 2, pad: 1, "
      "groups: 20, fused_relu: true}\n"
      "  - {name: dw, op: conv2d, inputs: [gc.out], K: 60, R: 3, S: 3, pad: 1, groups: 60}\n");
  for (const char* arch : {"ascend910b", "davinci_lab"}) check_run(arch, {"--workload", w}, "bf16");
}

TEST_CASE("DaVinci: convolutions padded by at least their kernel, windows wholly in the padding",
          "[golden]") {
  // A 1x1 convolution padded by 2 (its first two and last two output rows read only padding), a
  // strided 3x3 one padded by 4 and a depthwise one padded by 3 above and below: zeros there, on
  // both output paths.
  const std::string dir = temp_dir("dv-wide-pad");
  const std::string w =
      write_text(dir, "wide-pad.yaml",
                 "name: wide-pad\n"
                 "inputs:\n"
                 "  - {name: x, shape: [2, 24, 9, 7], dtype: fp16}\n"
                 "ops:\n"
                 "  - {name: p1, op: conv2d, inputs: [x], K: 40, R: 1, S: 1, pad: 2}\n"
                 "  - {name: p3, op: conv2d, inputs: [x], K: 20, R: 3, S: 3, stride: 2, pad: 4}\n"
                 "  - {name: dw, op: conv2d, inputs: [x], K: 24, R: 3, S: 3, pad_h: 3, pad_w: 1, "
                 "groups: 24}\n");
  for (const char* arch : {"ascend910b", "ascend910"}) check_run(arch, {"--workload", w}, "fp16");
}
