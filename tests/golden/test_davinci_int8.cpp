// int8 networks on the DaVinci target, values checked against the reference on both output paths:
// the FIX pipe's requantisation (ascend910b) and copy_matrix_cc_to_ubuf's (ascend910).
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
          "[golden]") {
  for (const char* arch : {"ascend910b", "ascend910"}) {
    check_run(arch,
              {"--workload", std::string(XPUSIM_SOURCE_DIR) + "/workloads/examples/small-cnn.yaml"},
              "small-cnn");
    check_run(arch, {"--workload", "resnet-50", "--param", "dtype=int8", "--param", "image=32"},
              "resnet-50");
  }
}
