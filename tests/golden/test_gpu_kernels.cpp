// The PTX fixture suite (tests/fixtures/ptx/*.yaml) through `xpusim run --kernel` on every GPU
// preset: each manifest's pointer outputs match its expected files within atol/rtol.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "isa/ptx/numeric.h"
#include "tests/support.h"

using namespace xpusim::test;
namespace fs = std::filesystem;

namespace {

const fs::path kFixtures = fs::path(XPUSIM_SOURCE_DIR) / "tests/fixtures/ptx";

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Element i of a raw little-endian buffer of the manifest's type, as a double.
double element(const std::string& b, const std::string& type, size_t i) {
  if (type == "f16" || type == "bf16") {
    uint16_t h;
    std::memcpy(&h, b.data() + 2 * i, 2);
    return type == "f16" ? double(xpusim::isa::ptx::f16_to_f32(h))
                         : double(xpusim::isa::ptx::bf16_to_f32(h));
  }
  uint32_t u;
  std::memcpy(&u, b.data() + 4 * i, 4);
  if (type == "f32") return double(xpusim::isa::ptx::f32_from(u));
  if (type == "s32") return double(int32_t(u));
  return double(u);
}

// Runs one manifest on a preset; returns "" when every output matches, else the first mismatch.
std::string run_manifest(const fs::path& manifest, const std::string& preset,
                         const std::string& dir) {
  const YAML::Node m = YAML::LoadFile(manifest.string());
  const std::string name = manifest.stem().string();
  const std::string out = dir + "/" + name + "-" + preset;
  auto dims = [](const YAML::Node& n) {
    return fmt::format("{},{},{}", n[0].as<int>(), n[1].as<int>(), n[2].as<int>());
  };
  Args args = {"--arch",   preset,
               "--kernel", (kFixtures / m["ptx"].as<std::string>()).string(),
               "--entry",  m["entry"].as<std::string>(),
               "--grid",   dims(m["grid"]),
               "--block",  dims(m["block"]),
               "--shared", m["shared"].as<std::string>()};
  for (const YAML::Node& a : m["args"]) {
    const std::string pname = a["name"].as<std::string>();
    std::string value;
    if (a["file"]) {
      value = (kFixtures / a["file"].as<std::string>()).string();
    } else if (a["zeros"]) {
      value = write_text(dir, name + "-" + pname + ".zeros",
                         std::string(a["zeros"].as<size_t>(), '\0'));
    } else {
      value = a["value"].as<std::string>();
    }
    args.insert(args.end(), {"--arg", pname + "=" + value});
  }
  const nlohmann::json stats = run_stats(args, out);
  CHECK(stats["total_cycles"].get<uint64_t>() > 0);
  CHECK(stats["stats"]["groups"]["executed"]["stats"]["warp_instructions"]["value"].get<long>() >
        0);
  for (const YAML::Node& o : m["outputs"]) {
    const std::string type = o["type"].as<std::string>();
    const size_t count = o["count"].as<size_t>();
    const double atol = o["atol"].as<double>(), rtol = o["rtol"].as<double>();
    const std::string got = bytes_of(fs::path(out) / (o["name"].as<std::string>() + ".bin"));
    const std::string want = bytes_of(kFixtures / o["expected"].as<std::string>());
    const size_t esize = type == "f16" || type == "bf16" ? 2 : 4;
    if (got.size() < count * esize || want.size() != count * esize)
      return fmt::format("{}: {} bytes, expected {}", o["name"].as<std::string>(), got.size(),
                         want.size());
    for (size_t i = 0; i < count; ++i) {
      const double g = element(got, type, i), e = element(want, type, i);
      if (g == e || std::fabs(g - e) <= atol + rtol * std::fabs(e)) continue;
      return fmt::format("{} element {}: expected {}, got {}", o["name"].as<std::string>(), i, e,
                         g);
    }
  }
  return "";
}

void run_suite(const std::string& preset) {
  const std::string dir = temp_dir("gpu-kernels-" + preset);
  std::vector<fs::path> manifests;
  for (const auto& e : fs::directory_iterator(kFixtures))
    if (e.path().extension() == ".yaml") manifests.push_back(e.path());
  std::sort(manifests.begin(), manifests.end());
  REQUIRE(manifests.size() >= 18);
  for (const fs::path& m : manifests) {
    INFO(preset << " " << m.filename().string());
    CHECK(run_manifest(m, preset, dir) == "");
  }
}

}  // namespace

TEST_CASE("every PTX fixture runs on gpu_lab with the expected outputs", "[golden]") {
  run_suite("gpu_lab");
}
TEST_CASE("every PTX fixture runs on a100 with the expected outputs", "[golden]") {
  run_suite("a100");
}
TEST_CASE("every PTX fixture runs on v100 with the expected outputs", "[golden]") {
  run_suite("v100");
}
TEST_CASE("every PTX fixture runs on h100 with the expected outputs", "[golden]") {
  run_suite("h100");
}
