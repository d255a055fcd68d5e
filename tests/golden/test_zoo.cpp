// The model zoo (workloads/zoo/) with values checked: every model at a small size (the params
// below keep each run to seconds) on a preset of each family that compiles workloads.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tests/support.h"

using namespace xpusim::test;

namespace {

// Per model, the params of its small size. Every model of the zoo needs an entry.
const std::map<std::string, std::vector<std::string>> kSmall = {
    {"resnet-50", {"image=32"}},
    {"mobilenet-v2", {"image=32"}},
    {"vit-b-16", {"image=32", "layers=2"}},
    {"bert-base", {"seq=16", "layers=2"}},
    {"gpt2-small", {"seq=16", "layers=2", "vocab=1000"}},
    // Llama 2 7B narrowed (and with grouped-query attention, 2 KV heads for 4 query heads).
    {"llama-2-7b-prefill",
     {"seq=16", "layers=2", "hidden=256", "heads=4", "kv_heads=2", "ffn=688", "vocab=1000"}},
    {"llama-2-7b-decode",
     {"batch=2", "ctx=40", "layers=2", "hidden=256", "heads=4", "kv_heads=2", "ffn=688",
      "vocab=1000"}},
};

// one_layer: the models with layers run one (the second layer runs the same kernels).
void run_zoo_on(const std::string& arch, bool one_layer = false) {
  const std::filesystem::path zoo = std::string(XPUSIM_SOURCE_DIR) + "/workloads/zoo";
  const std::string out = temp_dir("zoo-" + arch);
  for (const auto& e : std::filesystem::directory_iterator(zoo)) {
    if (e.path().extension() != ".yaml") continue;
    const std::string model = e.path().stem().string();
    INFO(model);
    REQUIRE(kSmall.count(model) == 1);
    std::vector<std::string> params = kSmall.at(model);
    if (one_layer)
      std::replace(params.begin(), params.end(), std::string("layers=2"), std::string("layers=1"));
    check_values(arch, model, params, out + "/" + model);
  }
}

}  // namespace

TEST_CASE("zoo: every model, values checked, on the TPU v4 chip", "[golden][slow]") {
  run_zoo_on("tpu_v4");
}

TEST_CASE("zoo: every model, values checked, on the Ascend 910B", "[golden][slow]") {
  run_zoo_on("ascend910b");
}

TEST_CASE("zoo: every model, values checked, on the 2-SM lab GPU", "[golden][slow]") {
  // The functional executor computes every thread's every mma, and at these sizes the gemms and
  // convolutions run most of theirs on the zero padding of their tiles (5 to 16 tokens, or
  // feature maps of 1 x 1 to 8 x 8, in tiles of 64): one layer keeps the case to seconds.
  run_zoo_on("gpu_lab", true);
}
