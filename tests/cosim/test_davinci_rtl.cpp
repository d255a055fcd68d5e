// RTL in the loop on the DaVinci family: `xpusim run --rtl` (davinci.cube.model rtl) runs every
// mad of an AI core's M pipe on the verilated cube unit (rtl/cube) and must give the same
// stats.json (cycles, per-pipe statistics, everything but the notes) and the same outputs, bit for
// bit, as the formula; the outputs are the plain int32 product. The s8 GEMM kernel is
// tests/fixtures/davinci/gemm_s8.s, on several AI cores. What --rtl cannot run is an error.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tests/support.h"

using namespace xpusim::test;

namespace {

const std::string kFixtures = std::string(XPUSIM_SOURCE_DIR) + "/tests/fixtures/davinci/";

// Random int8 bytes, the extremes often.
std::string random_s8(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-128, 127), pick(0, 7);
  std::string v(n, '\0');
  for (char& x : v) {
    const int p = pick(rng);
    x = char(p == 0 ? -128 : p == 1 ? 127 : d(rng));
  }
  return v;
}

// C = A x B in int32, from A (m x k) and B^T (n x k), row-major: the kernel's operands.
std::vector<int32_t> reference(const std::string& a, const std::string& bt, int m, int n, int k) {
  std::vector<int32_t> c(size_t(m) * size_t(n));
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      int32_t acc = 0;
      for (int p = 0; p < k; ++p)
        acc += int32_t(int8_t(a[size_t(i) * k + p])) * int32_t(int8_t(bt[size_t(j) * k + p]));
      c[size_t(i) * n + j] = acc;
    }
  return c;
}

struct Gemm {
  std::string preset;
  int m, n, k, blocks;
  std::string kernel = "gemm_s8";  // or gemm_f16, whose B is `b`
};

// The arguments of `xpusim run` for g's kernel, with inputs a.bin, bt.bin and c.bin in dir.
Args gemm_args(const Gemm& g, const std::string& dir) {
  return {"--arch",   g.preset,
          "--kernel", kFixtures + g.kernel + ".s",
          "--entry",  g.kernel,
          "--grid",   std::to_string(g.blocks),
          "--arg",    "a=" + dir + "/a.bin",
          "--arg",    (g.kernel == "gemm_s8" ? "bt=" : "b=") + dir + "/bt.bin",
          "--arg",    "c=" + dir + "/c.bin",
          "--arg",    fmt::format("m={}", g.m),
          "--arg",    fmt::format("n={}", g.n),
          "--arg",    fmt::format("k={}", g.k)};
}

// Writes g's inputs into dir: A and B^T from `a` and `bt`, C zeros.
void write_inputs(const Gemm& g, const std::string& dir, const std::string& a,
                  const std::string& bt) {
  write_text(dir, "a.bin", a);
  write_text(dir, "bt.bin", bt);
  write_text(dir, "c.bin", std::string(size_t(g.m) * size_t(g.n) * 4, '\0'));
}

// Runs gemm_s8 with the formula and with --rtl on random inputs: the same stats.json but the
// notes, the same c.bin, and c.bin is the int32 product.
void same_as_formula(const Gemm& g, const std::string& name) {
  const std::string dir = temp_dir(name);
  const std::string a = random_s8(size_t(g.m) * size_t(g.k), 1);
  const std::string bt = random_s8(size_t(g.n) * size_t(g.k), 2);
  write_inputs(g, dir, a, bt);
  const auto [formula, rtl] = rtl_same_as_formula(gemm_args(g, dir), dir);
  CHECK(formula["notes"].dump().find("verilated cube") == std::string::npos);
  CHECK(rtl["notes"].dump().find("every mad ran on the verilated cube") != std::string::npos);

  const std::string c = read_text(dir + "/rtl/c.bin");
  CHECK(c == read_text(dir + "/formula/c.bin"));
  const std::vector<int32_t> ref = reference(a, bt, g.m, g.n, g.k);
  REQUIRE(c.size() == ref.size() * 4);
  std::vector<int32_t> out(ref.size());
  std::memcpy(out.data(), c.data(), c.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    INFO(fmt::format("C[{}][{}]", i / size_t(g.n), i % size_t(g.n)));
    REQUIRE(out[i] == ref[i]);
  }
}

// A run of g with `extra` (inputs of ones) that must fail with status 1; its output.
Cli fails(const Gemm& g, const std::string& name, const Args& extra) {
  const std::string dir = temp_dir(name);
  write_inputs(g, dir, std::string(size_t(g.m) * size_t(g.k) * 2, '\1'),
               std::string(size_t(g.n) * size_t(g.k) * 2, '\1'));
  Args args = {"run", "--out", dir + "/out"};
  for (const Args& more : {gemm_args(g, dir), extra})
    args.insert(args.end(), more.begin(), more.end());
  Cli r = run_cli(args);
  INFO(r.output);
  CHECK(r.status == 1);
  return r;
}

}  // namespace

TEST_CASE("DaVinci rtl in the loop: an s8 GEMM on two AI cores matches the formula", "[cosim]") {
  // davinci_lab: 2 cores; 6 tiles of 64 x 64, 3 K steps of 128 each (both buffer stages, an odd
  // count).
  same_as_formula({"davinci_lab", 128, 192, 384, 2}, "dv-rtl-lab");
}

TEST_CASE("DaVinci rtl in the loop: an s8 GEMM on four Ascend 910 cores matches the formula",
          "[cosim]") {
  // Larger buffers, another memory side, and two tiles per block (8 tiles on 4 cores).
  same_as_formula({"ascend910", 256, 128, 256, 4}, "dv-rtl-910");
}

TEST_CASE("DaVinci rtl in the loop: --vcd writes core 0's cube waveforms", "[cosim]") {
  const Gemm g{"davinci_lab", 64, 64, 256, 2};
  const std::string dir = temp_dir("dv-rtl-vcd");
  write_inputs(g, dir, random_s8(size_t(g.m) * size_t(g.k), 3),
               random_s8(size_t(g.n) * size_t(g.k), 4));
  Args args = gemm_args(g, dir);
  args.insert(args.end(), {"--rtl", "--vcd", dir + "/cube.vcd", "--vcd-range", "1:1"});
  run_stats(args, dir + "/out");
  const std::string vcd = read_text(dir + "/cube.vcd");
  CHECK(vcd.find("$enddefinitions") != std::string::npos);
  CHECK(vcd.find("c_last") != std::string::npos);
}

TEST_CASE("DaVinci rtl in the loop: what the RTL cube cannot run is an error", "[cosim]") {
  const Gemm g{"davinci_lab", 64, 64, 128, 1};
  // An f16 mad: named with its file and line (the kernel's first mad, line 78).
  const Cli f16 = fails({"davinci_lab", 64, 64, 128, 1, "gemm_f16"}, "dv-rtl-f16", {"--rtl"});
  CHECK(has(f16, "gemm_f16.s:78: mad"));
  CHECK(has(f16, "the RTL cube multiplies s8, not f16"));
  // No values to multiply.
  const Cli timing = fails(g, "dv-rtl-timing", {"--rtl", "--no-functional"});
  CHECK(has(timing, "davinci.cube.model rtl (--rtl) needs values"));
  CHECK(has(timing, "drop --no-functional"));
  // A latency no verilated variant has: the error names those built.
  const Cli latency = fails(g, "dv-rtl-latency", {"--rtl", "--set", "latency.cube=8"});
  CHECK(has(latency, "davinci.cube.model rtl (--rtl)"));
  CHECK(has(latency, "latency 8"));
  CHECK(has(latency, "16x32 fractals with latency 16"));
}
