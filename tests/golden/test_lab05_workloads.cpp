// Lab 05's workloads (docs/labs/05-roofline-prefill-decode/workloads) with values checked: the
// GEMM and the decoder layer in prefill and in decode at a small size (the params below) on the
// TPU v4 chip and the Ascend 910B, the two chips the lab compares. The lab itself runs them
// timing only, at full size.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tests/support.h"

using namespace xpusim::test;

namespace {

const std::string kWorkloads =
    std::string(XPUSIM_SOURCE_DIR) + "/docs/labs/05-roofline-prefill-decode/workloads/";

void run_lab05_workloads_on(const std::string& arch) {
  const std::string out = temp_dir("lab05-workloads-" + arch);
  const std::vector<std::pair<std::string, Args>> runs = {
      {"gemm.yaml", {"n=96", "M=40"}},
      {"llama-layer-prefill.yaml", {"batch=2", "seq=48", "hidden=256", "heads=2", "ffn=512"}},
      {"llama-layer-decode.yaml", {"batch=3", "context=64", "hidden=256", "heads=2", "ffn=512"}}};
  for (const auto& [workload, params] : runs)
    check_values(arch, kWorkloads + workload, params, out + "/" + workload);
}

}  // namespace

TEST_CASE("lab 05: the workloads, values checked, on the TPU v4 chip", "[golden]") {
  run_lab05_workloads_on("tpu_v4");
}

TEST_CASE("lab 05: the workloads, values checked, on the Ascend 910B", "[golden]") {
  run_lab05_workloads_on("ascend910b");
}
