// The GPU target's matrix ops (gemm, matmul, conv2d): a workload of every dtype, edge sizes,
// fused ReLU, batched, grouped and depthwise forms, run on every GPU preset with its values
// checked against the reference.
#include <catch2/catch.hpp>

#include <filesystem>

#include "tests/support.h"

using namespace xpusim;
using namespace xpusim::test;

TEST_CASE("GPU target: gemm, matmul and conv2d, values checked on every preset", "[golden]") {
  const std::string workload =
      (std::filesystem::path(XPUSIM_SOURCE_DIR) / "workloads/smoke/gpu-matrix.yaml").string();
  const std::string dir = temp_dir("gpu-matrix");
  for (const char* arch : {"v100", "a100", "h100", "gpu_lab"})
    check_values(arch, workload, {}, dir + "/" + std::string(arch));
}
