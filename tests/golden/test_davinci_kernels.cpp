// The hand-written DaVinci kernels (tests/fixtures/davinci) through `xpusim run --kernel` on every
// DaVinci preset, lab 04's (docs/labs/04-davinci-pipelines/kernels) on its davinci_lab, and the
// benchmark kernels (bench/davinci) on the presets whose buffers they fit, with random inputs:
// their outputs match a plain reference bit for bit.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "models/core/numeric.h"
#include "tests/support.h"

using namespace xpusim::test;
namespace fs = std::filesystem;
using xpusim::numeric::f16_to_float;
using xpusim::numeric::float_to_f16;

namespace {

const fs::path kFixtures = fs::path(XPUSIM_SOURCE_DIR) / "tests/fixtures/davinci";
const fs::path kLab04 = fs::path(XPUSIM_SOURCE_DIR) / "docs/labs/04-davinci-pipelines/kernels";
const fs::path kBench = fs::path(XPUSIM_SOURCE_DIR) / "bench/davinci";
const char* const kPresets[] = {"ascend910", "ascend910b", "ascend310", "davinci_lab"};

std::vector<uint16_t> random_f16(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-2.0f, 2.0f);
  std::vector<uint16_t> v(n);
  for (auto& x : v) x = float_to_f16(d(rng));
  return v;
}

std::string write_f16(const std::string& dir, const std::string& name,
                      const std::vector<uint16_t>& v) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * 2));
  return path;
}

std::vector<float> random_f32(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-2.0f, 2.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

std::string write_f32(const std::string& dir, const std::string& name,
                      const std::vector<float>& v) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * 4));
  return path;
}

std::vector<float> read_f32(const std::string& path) {
  const std::string b = read_text(path);
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

std::vector<uint16_t> read_f16(const std::string& path) {
  const std::string b = read_text(path);
  std::vector<uint16_t> v(b.size() / 2);
  std::memcpy(v.data(), b.data(), v.size() * 2);
  return v;
}

// C = A x B, each element accumulated in f32 in k order from 0: the cube's accumulation
// (isa/davinci/semantics.cpp), tiles of K adding into the same L0C.
std::vector<float> gemm_f32_reference(const std::vector<uint16_t>& a,
                                      const std::vector<uint16_t>& b, int m, int n, int k) {
  std::vector<float> c(size_t(m) * n);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (int p = 0; p < k; ++p)
        acc += f16_to_float(a[size_t(i) * k + p]) * f16_to_float(b[size_t(p) * n + j]);
      c[size_t(i) * n + j] = acc;
    }
  return c;
}

// The same rounded once to f16.
std::vector<uint16_t> gemm_reference(const std::vector<uint16_t>& a, const std::vector<uint16_t>& b,
                                     int m, int n, int k) {
  const std::vector<float> acc = gemm_f32_reference(a, b, m, n, k);
  std::vector<uint16_t> c(acc.size());
  for (size_t i = 0; i < c.size(); ++i) c[i] = float_to_f16(acc[i]);
  return c;
}

// Runs a GEMM kernel; returns "" when C matches the reference, else the run's output or the
// first mismatch.
std::string run_gemm(const std::string& kernel, const std::string& preset, int m, int n, int k,
                     int blocks, const std::string& dir) {
  const auto a = random_f16(size_t(m) * k, 1), b = random_f16(size_t(k) * n, 2);
  const std::vector<uint16_t> zeros(size_t(m) * n, 0);
  const std::string out = dir + "/" + kernel + "-" + preset;
  const Cli r = run_cli({"run",
                         "--arch",
                         preset,
                         "--kernel",
                         (kFixtures / (kernel + ".s")).string(),
                         "--entry",
                         kernel,
                         "--grid",
                         std::to_string(blocks),
                         "--arg",
                         "a=" + write_f16(dir, "a.bin", a),
                         "--arg",
                         "b=" + write_f16(dir, "b.bin", b),
                         "--arg",
                         "c=" + write_f16(dir, "c.bin", zeros),
                         "--arg",
                         fmt::format("m={}", m),
                         "--arg",
                         fmt::format("n={}", n),
                         "--arg",
                         fmt::format("k={}", k),
                         "--out",
                         out});
  if (r.status != 0) return r.output;
  const auto c = read_f16(out + "/c.bin"), want = gemm_reference(a, b, m, n, k);
  if (c.size() != want.size()) return fmt::format("c.bin has {} elements", c.size());
  for (size_t i = 0; i < c.size(); ++i)
    if (c[i] != want[i])
      return fmt::format("C[{}][{}] = {:#06x}, expected {:#06x}", i / size_t(n), i % size_t(n),
                         c[i], want[i]);
  return "";
}

}  // namespace

TEST_CASE("DaVinci: the f16 GEMM kernel (910 output path) is exact on every preset", "[golden]") {
  const std::string dir = temp_dir("davinci-gemm");
  // 2 x 3 tiles of 64 x 64 over 4 blocks (blocks take tiles in turn), 5 K steps (the double
  // buffer's stages both used, the loop leaving after stage 0).
  for (const char* preset : kPresets) {
    INFO(preset);
    CHECK(run_gemm("gemm_f16", preset, 128, 192, 320, 4, dir) == "");
  }
}

TEST_CASE("DaVinci: the f16 GEMM kernel through the FIX pipe is exact where there is one",
          "[golden]") {
  const std::string dir = temp_dir("davinci-gemm-fix");
  for (const char* preset : {"ascend910b", "davinci_lab"}) {
    INFO(preset);
    CHECK(run_gemm("gemm_f16_fix", preset, 192, 64, 128, 3, dir) == "");
  }
  CHECK_THAT(run_gemm("gemm_f16_fix", "ascend910", 64, 64, 64, 1, dir),
             Catch::Matchers::Contains("no FIX pipe"));
}

TEST_CASE("DaVinci: the double-buffered vector add is exact on every preset", "[golden]") {
  const std::string dir = temp_dir("davinci-add");
  const int blocks = 3, pairs = 2;
  const size_t n = size_t(blocks) * pairs * 4096;  // f16 elements: 8 KiB per pair
  const auto x = random_f16(n, 3), y = random_f16(n, 4);
  std::vector<uint16_t> want(n);
  for (size_t i = 0; i < n; ++i) want[i] = float_to_f16(f16_to_float(x[i]) + f16_to_float(y[i]));
  for (const char* preset : kPresets) {
    INFO(preset);
    const std::string out = dir + "/" + preset;
    const Cli r =
        run_cli({"run", "--arch", preset, "--kernel", (kFixtures / "add_custom.s").string(),
                 "--entry", "add_custom", "--grid", std::to_string(blocks), "--arg",
                 "x=" + write_f16(dir, "x.bin", x), "--arg", "y=" + write_f16(dir, "y.bin", y),
                 "--arg", "z=" + write_f16(dir, "z.bin", std::vector<uint16_t>(n, 0)), "--arg",
                 fmt::format("pairs={}", pairs), "--out", out});
    REQUIRE(r.status == 0);
    CHECK(read_f16(out + "/z.bin") == want);
  }
}

TEST_CASE("DaVinci: lab 04's vector adds are exact on davinci_lab", "[golden]") {
  const std::string dir = temp_dir("davinci-lab04-vadd");
  const int blocks = 3, tiles = 4;  // more blocks than AI cores: core 0 runs two
  const size_t n = size_t(blocks) * tiles * 2048, tile = 2048;
  const auto x = random_f16(n, 5), y = random_f16(n, 6);
  std::vector<uint16_t> want(n);
  for (size_t i = 0; i < n; ++i) want[i] = float_to_f16(f16_to_float(x[i]) + f16_to_float(y[i]));
  // The part 2 skeleton adds the even tiles only, as it says.
  std::vector<uint16_t> even = want;
  for (size_t i = 0; i < n; ++i)
    if (i / tile % 2) even[i] = 0;
  for (const auto& [kernel, expected] :
       {std::pair{"vadd_single", &want}, std::pair{"vadd_double", &want},
        std::pair{"vadd_double_todo", &even}}) {
    INFO(kernel);
    const std::string out = dir + "/" + kernel;
    const Cli r =
        run_cli({"run", "--arch", "davinci_lab", "--kernel",
                 (kLab04 / (std::string(kernel) + ".s")).string(), "--entry", "vadd", "--grid",
                 std::to_string(blocks), "--arg", "x=" + write_f16(dir, "x.bin", x), "--arg",
                 "y=" + write_f16(dir, "y.bin", y), "--arg",
                 "z=" + write_f16(dir, "z.bin", std::vector<uint16_t>(n, 0)), "--arg",
                 fmt::format("tiles={}", tiles), "--out", out});
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(has(r, "checked for races between pipes"));
    CHECK(read_f16(out + "/z.bin") == *expected);
  }
}

TEST_CASE("DaVinci: lab 04's matmuls are exact on davinci_lab", "[golden]") {
  const std::string dir = temp_dir("davinci-lab04-matmul");
  const int m = 128, n = 192, k = 256;  // 2 x 3 tiles of C, a block each; 4 K steps
  const auto a = random_f16(size_t(m) * k, 7), b = random_f16(size_t(k) * n, 8);
  const std::vector<float> want = gemm_f32_reference(a, b, m, n, k);
  for (const char* kernel : {"matmul_single", "matmul_double"}) {
    INFO(kernel);
    const std::string out = dir + "/" + kernel;
    const Cli r =
        run_cli({"run",
                 "--arch",
                 "davinci_lab",
                 "--kernel",
                 (kLab04 / (std::string(kernel) + ".s")).string(),
                 "--entry",
                 "matmul",
                 "--grid",
                 std::to_string(m / 64 * n / 64),
                 "--arg",
                 "a=" + write_f16(dir, "a.bin", a),
                 "--arg",
                 "b=" + write_f16(dir, "b.bin", b),
                 "--arg",
                 "c=" + write_f16(dir, "c.bin", std::vector<uint16_t>(size_t(m) * n * 2, 0)),
                 "--arg",
                 fmt::format("n={}", n),
                 "--arg",
                 fmt::format("k={}", k),
                 "--out",
                 out});
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(has(r, "checked for races between pipes"));
    const std::string bytes = read_text(out + "/c.bin");
    REQUIRE(bytes.size() == want.size() * 4);
    std::vector<float> c(want.size());
    std::memcpy(c.data(), bytes.data(), bytes.size());
    size_t wrong = 0;
    for (size_t i = 0; i < c.size(); ++i) wrong += c[i] != want[i];
    CHECK(wrong == 0);
  }
}

TEST_CASE("DaVinci: the 256-row GEMM benchmark kernel is exact on both output paths", "[golden]") {
  const std::string dir = temp_dir("davinci-gemm256");
  // 2 x 2 tiles of 256 x TN over 3 blocks (one block takes two tiles, so the stages' flags carry
  // over a tile boundary), 5 K steps.
  const struct {
    const char* preset;
    int tn, fix, n;
  } cases[] = {{"ascend910", 256, 0, 512},
               {"ascend910", 128, 0, 256},
               {"ascend910b", 128, 1, 256},
               {"ascend910b", 128, 0, 256},
               {"ascend310", 256, 0, 512}};
  const int m = 512, k = 320;
  for (const auto& c : cases) {
    INFO(fmt::format("{} tn={} fix={}", c.preset, c.tn, c.fix));
    const auto a = random_f16(size_t(m) * k, 9), b = random_f16(size_t(k) * c.n, 10);
    const std::string out = fmt::format("{}/{}-{}-{}", dir, c.preset, c.tn, c.fix);
    const Cli r =
        run_cli({"run",
                 "--arch",
                 c.preset,
                 "--kernel",
                 (kBench / "gemm_f16_256.s").string(),
                 "--entry",
                 "gemm_f16_256",
                 "--grid",
                 "3",
                 "--arg",
                 "a=" + write_f16(dir, "a.bin", a),
                 "--arg",
                 "b=" + write_f16(dir, "b.bin", b),
                 "--arg",
                 "c=" + write_f16(dir, "c.bin", std::vector<uint16_t>(size_t(m) * c.n, 0)),
                 "--arg",
                 fmt::format("m={}", m),
                 "--arg",
                 fmt::format("n={}", c.n),
                 "--arg",
                 fmt::format("k={}", k),
                 "--arg",
                 fmt::format("fix={}", c.fix),
                 "--arg",
                 fmt::format("tn={}", c.tn),
                 "--out",
                 out});
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(has(r, "checked for races between pipes"));
    CHECK(read_f16(out + "/c.bin") == gemm_reference(a, b, m, c.n, k));
  }
}

TEST_CASE("DaVinci: the vector add benchmark kernels are exact on both routes", "[golden]") {
  const std::string dir = temp_dir("davinci-vadd-bench");
  const int blocks = 3, tiles = 5, rep = 6;  // an odd tile count: the loop ends on either buffer
  for (const char* preset : kPresets)
    for (const int f32 : {0, 1})
      for (const int via_l1 : {0, 1}) {
        INFO(fmt::format("{} f32={} via_l1={}", preset, f32, via_l1));
        const size_t n = size_t(blocks) * tiles * rep * 256 / (f32 ? 4 : 2);
        const std::string out = fmt::format("{}/{}-{}-{}", dir, preset, f32, via_l1);
        std::vector<std::string> args = {"run",
                                         "--arch",
                                         preset,
                                         "--kernel",
                                         (kBench / "vadd.s").string(),
                                         "--entry",
                                         "vadd",
                                         "--grid",
                                         std::to_string(blocks)};
        std::vector<uint16_t> want16;
        std::vector<float> want32;
        if (f32) {
          const auto x = random_f32(n, 11), y = random_f32(n, 12);
          for (size_t i = 0; i < n; ++i) want32.push_back(x[i] + y[i]);
          args.insert(args.end(), {"--arg", "x=" + write_f32(dir, "x.bin", x), "--arg",
                                   "y=" + write_f32(dir, "y.bin", y), "--arg",
                                   "z=" + write_f32(dir, "z.bin", std::vector<float>(n, 0))});
        } else {
          const auto x = random_f16(n, 11), y = random_f16(n, 12);
          for (size_t i = 0; i < n; ++i)
            want16.push_back(float_to_f16(f16_to_float(x[i]) + f16_to_float(y[i])));
          args.insert(args.end(), {"--arg", "x=" + write_f16(dir, "x.bin", x), "--arg",
                                   "y=" + write_f16(dir, "y.bin", y), "--arg",
                                   "z=" + write_f16(dir, "z.bin", std::vector<uint16_t>(n, 0))});
        }
        args.insert(args.end(), {"--arg", fmt::format("tiles={}", tiles), "--arg",
                                 fmt::format("rep={}", rep), "--arg", fmt::format("f32={}", f32),
                                 "--arg", fmt::format("via_l1={}", via_l1), "--out", out});
        const Cli r = run_cli(args);
        INFO(r.output);
        REQUIRE(r.status == 0);
        CHECK(has(r, "checked for races between pipes"));
        if (f32)
          CHECK(read_f32(out + "/z.bin") == want32);
        else
          CHECK(read_f16(out + "/z.bin") == want16);
      }
  // The UB-only add: every sum of every block is 1 + 2.
  for (const char* preset : {"ascend910", "ascend910b", "ascend310"}) {
    INFO(preset);
    const std::string out = dir + "/ub-" + preset;
    const Cli r = run_cli({"run", "--arch", preset, "--kernel", (kBench / "vadd_ub.s").string(),
                           "--entry", "vadd_ub", "--grid", "2", "--arg",
                           "z=" + write_f16(dir, "zub.bin", std::vector<uint16_t>(2 << 16, 0)),
                           "--arg", "rounds=2", "--arg", "f32=0", "--out", out});
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(read_f16(out + "/z.bin") == std::vector<uint16_t>(2 << 16, float_to_f16(3.0f)));
  }
}
