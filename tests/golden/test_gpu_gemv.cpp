// The GPU target's small-M gemm and matmul kernel (compiler/targets/gpu/gemv.cpp): a workload of
// every dtype with M from 1 to the largest the kernel takes (and one row more, the tiled
// kernels'), edge sizes, fused ReLU, requantisation and batched forms, run on every GPU preset
// with its values checked against the reference.
#include <catch2/catch.hpp>

#include <filesystem>

#include "tests/support.h"

using namespace xpusim;
using namespace xpusim::test;

TEST_CASE("GPU target: small-M gemm and matmul, values checked on every preset", "[golden]") {
  const std::string workload =
      (std::filesystem::path(XPUSIM_SOURCE_DIR) / "workloads/smoke/gpu-gemv.yaml").string();
  const std::string dir = temp_dir("gpu-gemv");
  for (const char* arch : {"v100", "a100", "h100", "gpu_lab"})
    check_values(arch, workload, {}, dir + "/" + std::string(arch));
}
