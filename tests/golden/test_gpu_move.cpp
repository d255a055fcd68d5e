// The GPU target's data-movement ops (transpose, concat, slice, gather, rope, kv_append): the
// smoke workload on every GPU preset with its values checked against the reference, and a gather
// whose id lies outside its table stopping the run, as the reference refuses it.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>

#include "tests/support.h"

using namespace xpusim;
using namespace xpusim::test;

namespace {
std::string source(const std::string& rel) {
  return (std::filesystem::path(XPUSIM_SOURCE_DIR) / rel).string();
}
}  // namespace

TEST_CASE("GPU target: data-movement ops, values checked on every preset", "[golden]") {
  const std::string dir = temp_dir("gpu-move");
  for (const char* arch : {"v100", "a100", "h100", "gpu_lab"})
    check_values(arch, source("workloads/smoke/gpu-move.yaml"), {}, dir + "/" + std::string(arch));
}

TEST_CASE("GPU target: a gather's id outside the table traps", "[golden]") {
  const std::string dir = temp_dir("gpu-move-gather-trap");
  const std::string yaml = write_text(dir, "gather.yaml",
                                      "name: lookup\ninputs:\n"
                                      "  - {name: ids, shape: [4], dtype: int32}\n"
                                      "ops:\n"
                                      "  - {name: embed, op: gather, inputs: [ids], vocab: 3, "
                                      "dim: 8, dtype: fp16}\n");
  // The compiled program, run again with ids of the workload's choosing.
  const Cli compiled = run_cli({"run", "--arch", "gpu_lab", "--workload", yaml, "--out", dir + "/w",
                                "--dump-after", "lower"});
  REQUIRE(compiled.status == 0);
  const std::string& text = compiled.output;
  const size_t from = text.find("//\n// Generated");
  const size_t last = text.rfind("// xpusim: launch");
  REQUIRE(from != std::string::npos);
  REQUIRE(last != std::string::npos);
  const std::string program = text.substr(from, text.find('\n', last) + 1 - from);
  std::smatch launch, buffer;
  REQUIRE(std::regex_search(program, launch, std::regex("ids=@(t[0-9]+)")));
  REQUIRE(std::regex_search(program, buffer,
                            std::regex("// xpusim: buffer " + launch[1].str() + " (0x[0-9a-f]+)")));
  const std::string prog = write_text(dir, "gather.ptx", program);
  auto ids_file = [&](const std::string& name, std::vector<int32_t> ids) {
    const std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(ids.data()), std::streamsize(ids.size() * 4));
    return buffer[1].str() + "=" + path;
  };
  const Cli good = run_cli({"run", "--arch", "gpu_lab", "--program", prog, "--out", dir + "/good",
                            "--load", ids_file("good.bin", {0, 2, 2, 1})});
  CHECK(good.status == 0);
  for (int32_t bad : {3, -1}) {
    const Cli r = run_cli({"run", "--arch", "gpu_lab", "--program", prog, "--out", dir + "/bad",
                           "--load", ids_file("bad.bin", {0, bad, 1, 2})});
    CHECK(r.status != 0);
    CHECK_THAT(r.output, Catch::Contains("trap"));
  }
}
