// The GPU target's row ops (softmax, layernorm, rmsnorm), pool and attention: the smoke workload
// runs on every GPU preset with its values checked against the reference.
#include <catch2/catch.hpp>

#include <filesystem>

#include "tests/support.h"

using namespace xpusim;
using namespace xpusim::test;

TEST_CASE("GPU target: row ops, pool and attention, values checked on every preset", "[golden]") {
  const std::string dir = temp_dir("gpu-target-rows");
  const std::string workload =
      (std::filesystem::path(XPUSIM_SOURCE_DIR) / "workloads/smoke/gpu-rows.yaml").string();
  for (const char* arch : {"v100", "a100", "h100", "gpu_lab"})
    check_values(arch, workload, {}, dir + "/" + std::string(arch));
}
