// matmul keep=1 (docs/isa/tpu.md): a matmul that streams against the weight tile the array
// already holds, with no load and no FIFO pop.
#include <catch2/catch.hpp>

#include <random>

#include "tests/support.h"

using namespace xpusim::test;

namespace {

// tpu_lab: a 16 x 16 int8 array. A (16 x 16 int8) at DRAM 0x0, the weights (16 x 16) at 0x1000;
// the result (16 x 16, requantised to int8) is written to 0x2000.
constexpr long R = 16, C = 16, kSkew = R + C - 2;

std::string program(const std::string& matmuls) {
  return "  rdhost ub=0x0, dram=0x0, rows=16, bytes=16\n"
         "  rdweight dram=0x1000, k=16, n=16, dtype=int8\n" +
         matmuls +
         "  activate acc=0x0, ub=0x1000, rows=16, cols=16, dtype=int8, shift=4\n"
         "  wrhost dram=0x2000, ub=0x1000, rows=16, bytes=16\n"
         "  halt\n";
}

struct Run {
  long cycles;
  std::string result;
};

// The program in dir/p.s, random A and weights in dir, and the options that load them and
// save the result as c.bin.
Args with_operands(const std::string& dir, const std::string& matmuls, unsigned seed) {
  std::mt19937 rng(seed);
  std::string a(256, '\0'), w(256, '\0');
  for (char& c : a) c = char(rng() % 256);
  for (char& c : w) c = char(rng() % 256);
  write_text(dir, "a.bin", a);
  write_text(dir, "w.bin", w);
  return {"--program", write_text(dir, "p.s", program(matmuls)),
          "--load",    "0x0=" + dir + "/a.bin",
          "--load",    "0x1000=" + dir + "/w.bin",
          "--save",    "0x2000:256=c.bin"};
}

// Runs the program on tpu_lab with stall-free memory (only the array takes time) and returns
// its cycles and the bytes it wrote.
Run run(const std::string& name, const std::string& matmuls) {
  const std::string dir = temp_dir("keep-" + name);
  Args args = {"--arch", "tpu_lab", "--set", "timing.stall_free=true"};
  for (const std::string& a : with_operands(dir, matmuls, 7)) args.push_back(a);
  auto s = run_stats(args, dir + "/out");
  return {s["total_cycles"].get<long>(), read_text(dir + "/out/c.bin")};
}

}  // namespace

TEST_CASE("matmul keep=1 streams against the held weights: the results of one matmul, no load",
          "[timing]") {
  const Run whole = run("whole", "  matmul ub=0x0, acc=0x0, m=16, k=16, n=16, dtype=int8\n");
  // Rows 0-7, then rows 8-15 against the same tile (A rows 16 B apart, ACC rows 64 B apart).
  const Run halves = run("halves",
                         "  matmul ub=0x0, acc=0x0, m=8, k=16, n=16, dtype=int8\n"
                         "  matmul ub=0x80, acc=0x200, m=8, k=16, n=16, dtype=int8, keep=1\n");
  // The same halves with the tile loaded again for the second: its load starts when the first
  // stream starts and the second stream waits for it (docs/isa/tpu.md, fold overlap).
  const Run reloaded = run("reloaded",
                           "  matmul ub=0x0, acc=0x0, m=8, k=16, n=16, dtype=int8\n"
                           "  rdweight dram=0x1000, k=16, n=16, dtype=int8\n"
                           "  matmul ub=0x80, acc=0x200, m=8, k=16, n=16, dtype=int8\n");
  REQUIRE(whole.result.size() == 256);
  CHECK(halves.result == whole.result);
  CHECK(reloaded.result == whole.result);
  CHECK(whole.cycles == R + 16 + kSkew);
  CHECK(halves.cycles == R + 8 + 8 + kSkew);
  CHECK(reloaded.cycles == R + R + 8 + kSkew);
}

TEST_CASE("matmul keep=1 needs the array to hold a tile of its shape", "[timing]") {
  const std::string dir = temp_dir("keep-errors");
  struct Case {
    std::string name, matmuls, error;
  };
  const Case cases[] = {
      {"first", "  matmul ub=0x0, acc=0x0, m=8, k=16, n=16, dtype=int8, keep=1\n",
       "p.s:3: matmul: keep=1, but mxu 0 holds no weights (no matmul on it before this one)"},
      {"shape",
       "  matmul ub=0x0, acc=0x0, m=8, k=16, n=16, dtype=int8\n"
       "  matmul ub=0x80, acc=0x200, m=8, k=8, n=16, dtype=int8, keep=1\n",
       "p.s:4: matmul: keep=1 streams against the 16x16 int8 tile mxu 0 holds, the matmul is "
       "8x16 int8"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const std::string prog = write_text(dir, "p.s", program(c.matmuls));
    const Cli r = run_cli({"run", "--arch", "tpu_lab", "--no-functional", "--program", prog,
                           "--force", "--out", dir + "/out"});
    CHECK(r.status != 0);
    CHECK(has(r, c.error));
  }
  // Only a weight-stationary array keeps weights.
  const std::string prog =
      write_text(dir, "p.s",
                 program("  matmul ub=0x0, acc=0x0, m=8, k=16, n=16, dtype=int8\n"
                         "  matmul ub=0x80, acc=0x200, m=8, k=16, n=16, dtype=int8, keep=1\n"));
  const Cli r = run_cli({"run", "--arch", "tpu_lab", "--no-functional", "--set",
                         "array.dataflow=os", "--program", prog, "--force", "--out", dir + "/os"});
  CHECK(r.status != 0);
  CHECK(has(r,
            "p.s:4: matmul: keep=1 keeps weights in a weight-stationary array; these arrays "
            "are os"));
}

TEST_CASE("rtl in the loop: kept weights on the verilated array match the model", "[cosim]") {
  const std::string dir = temp_dir("keep-rtl");
  Args args = {"--arch", "tpu_lab"};
  for (const std::string& a :
       with_operands(dir,
                     "  matmul ub=0x0, acc=0x0, m=5, k=16, n=16, dtype=int8\n"
                     "  matmul ub=0x50, acc=0x140, m=8, k=16, n=16, dtype=int8, keep=1\n"
                     "  matmul ub=0xd0, acc=0x340, m=3, k=16, n=16, dtype=int8, keep=1\n",
                     11))
    args.push_back(a);
  const auto [formula, rtl] = rtl_same_as_formula(args, dir);
  CHECK(formula["total_cycles"] == rtl["total_cycles"]);
  CHECK(read_text(dir + "/formula/c.bin") == read_text(dir + "/rtl/c.bin"));
}
