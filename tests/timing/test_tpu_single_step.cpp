// fp32 matmuls in bf16 passes (array.fp32_passes), ldweight, activate sum= and the single-step
// GEMM (lowering.single_step) through the model and the compiler. Expected cycles are derived
// here by hand from the array's documented rules (models/tpu/array_timing.h: a weight load of
// R cycles, a stream of m rows, a skew of R + C - 2; with fold overlap the next load hides
// under the current stream) and from the presets' numbers, not copied from the model's output.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "compiler/ir/frontend.h"
#include "compiler/passes/passes.h"
#include "compiler/targets/tpu/passes.h"
#include "models/core/config.h"
#include "tests/support.h"

using namespace xpusim;
using namespace xpusim::test;
using namespace xpusim::compiler;
using namespace xpusim::compiler::tpu;
using Catch::Matchers::Contains;

namespace {

// tpu_lab: 16x16 arrays, skew R + C - 2.
constexpr long R = 16, C = 16, kSkew = R + C - 2;

std::string gemm_workload(const std::string& dir, long M, long N, long K, const std::string& dt) {
  return write_text(dir, "w.yaml",
                    fmt::format("name: t\nops:\n  - {{name: g, op: gemm, M: {}, N: {}, K: {}, "
                                "dtype: {}}}\n",
                                M, N, K, dt));
}

// Cycles of one GEMM on tpu_lab with stall-free memory (only the arrays take time), functional
// check passed. The lab's 512-byte weight tile holds 16 x 8 fp32: N = 8 is one fold.
long lab_cycles(long M, long N, long K, const std::string& dt, int passes, bool overlap) {
  const std::string dir =
      temp_dir(fmt::format("fp32-{}x{}x{}-{}-p{}-o{}", M, N, K, dt, passes, overlap));
  auto s =
      run_stats({"--arch", "tpu_lab", "--workload", gemm_workload(dir, M, N, K, dt), "--set",
                 "timing.stall_free=true", "--set", "array.fp32_passes=" + std::to_string(passes),
                 "--set", std::string("array.fold_overlap=") + (overlap ? "true" : "false")},
                dir + "/out");
  CHECK(s["functional_check"] == "passed");
  return s["total_cycles"].get<long>();
}

}  // namespace

TEST_CASE("fp32 passes: one fold, ws with fold overlap, a stream longer than a load", "[timing]") {
  // M = 40 >= R. 1 pass: load R, stream M, skew. 3 passes: weight parts b0 (1 stream), then
  // b1 (2 streams), its load hidden under the first stream: R + 3 M + skew.
  const long M = 40;
  CHECK(lab_cycles(M, 8, 16, "fp32", 1, true) == R + M + kSkew);
  CHECK(lab_cycles(M, 8, 16, "fp32", 3, true) == R + 3 * M + kSkew);
}

TEST_CASE("fp32 passes: bf16 operands take one pass whatever array.fp32_passes", "[timing]") {
  CHECK(lab_cycles(40, 8, 16, "bf16", 6, true) == R + 40 + kSkew);
  CHECK(lab_cycles(40, 8, 16, "bf16", 3, false) == R + 40 + kSkew);
}

TEST_CASE("fp32 passes: short streams wait for each part's load", "[timing]") {
  // M = 4 < R. Part b0: load [0, R), stream [R, R + 4). Part b1: load [R, 2R) (starts when b0's
  // stream starts), streams [2R, 2R + 8).
  CHECK(lab_cycles(4, 8, 16, "fp32", 1, true) == R + 4 + kSkew);
  CHECK(lab_cycles(4, 8, 16, "fp32", 3, true) == 2 * R + 2 * 4 + kSkew);
}

TEST_CASE("fp32 passes: without fold overlap each load and stream waits for the last result",
          "[timing]") {
  // A matmul with a load takes R + M + skew, one on the loaded part M + skew, back to back:
  // 3 passes = 2 loads + 3 streams.
  const long M = 40, with_load = R + M + kSkew, again = M + kSkew;
  CHECK(lab_cycles(M, 8, 16, "fp32", 1, false) == with_load);
  CHECK(lab_cycles(M, 8, 16, "fp32", 3, false) == 2 * with_load + again);
}

TEST_CASE("fp32 passes: two folds along N keep the array streaming", "[timing]") {
  // N = 16 is two folds of 8. With M >= R every load after the first hides under a stream:
  // R + folds * streams * M + skew.
  const long M = 40;
  CHECK(lab_cycles(M, 16, 16, "fp32", 1, true) == R + 2 * M + kSkew);
  CHECK(lab_cycles(M, 16, 16, "fp32", 3, true) == R + 2 * 3 * M + kSkew);
}

// Known bug (for the lead): 6 passes split the weights into 3 bf16 parts (semantics.h:
// fp32_products(6) uses parts b0, b1, b2; array_model.h: "3 for 6"), but the core offers the
// array passes / 2 + 1 = 4 parts (models/tpu/core.cpp, mxu_thread), i.e. 4 loads and 1 + 2 +
// 3 + 4 = 10 streams. The model gives R + 10 M + skew = 446 for the first case below.
TEST_CASE("fp32 passes: 6 passes load 3 weight parts and stream 1 + 2 + 3 times", "[timing]") {
  const long M = 40;
  // With overlap, M >= R: parts b0, b1, b2 with 1 + 2 + 3 streams, the loads of b1 and b2
  // hidden (each starts when the previous part's first stream starts, R <= M).
  CHECK(lab_cycles(M, 8, 16, "fp32", 6, true) == R + 6 * M + kSkew);
  // M = 4 < R: part b2's load [2R, 3R) starts with b1's first stream; streams [3R, 3R + 12).
  CHECK(lab_cycles(4, 8, 16, "fp32", 6, true) == 3 * R + 3 * 4 + kSkew);
  // Without overlap: 3 loads + 6 streams, each waiting for the last result.
  const long with_load = R + M + kSkew, again = M + kSkew;
  CHECK(lab_cycles(M, 8, 16, "fp32", 6, false) == 3 * with_load + 3 * again);
  // Two folds: R + 2 * 6 * M + skew.
  CHECK(lab_cycles(M, 16, 16, "fp32", 6, true) == R + 2 * 6 * M + kSkew);
}

namespace {

nlohmann::json run_program(const std::string& name, const std::string& text, const Args& extra) {
  const std::string dir = temp_dir("ldw-" + name);
  const std::string prog = write_text(dir, "p.s", text);
  Args args = {"--arch", "tpu_lab", "--program", prog};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_stats(args, dir + "/out");
}

Cli run_program_cli(const std::string& name, const std::string& text, const Args& extra = {}) {
  const std::string dir = temp_dir("ldw-" + name);
  const std::string prog = write_text(dir, "p.s", text);
  Args args = {"run", "--arch", "tpu_lab", "--program", prog, "--out", dir + "/out"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_cli(args);
}

long unit_stat(const nlohmann::json& s, const char* unit, const char* stat) {
  return s["stats"]["groups"][unit]["stats"][stat]["value"].get<long>();
}

}  // namespace

TEST_CASE("ldweight takes ceil(bytes / ub.port_bytes) cycles of weight_dma, no DRAM", "[timing]") {
  struct Case {
    std::string dtype;
    int k, n;
    long port, busy;
  };
  // tpu_lab: ub.port_bytes 256. 16 x 16 int8 = 256 bytes: 1 cycle; bf16, 512 bytes: 2; with a
  // 100-byte port, 6; fp32 16 x 8 = 512 bytes on a 96-byte port: 6 (5.33 rounded up).
  for (const Case& c : {Case{"int8", 16, 16, 256, 1}, Case{"bf16", 16, 16, 256, 2},
                        Case{"bf16", 16, 16, 100, 6}, Case{"fp32", 16, 8, 96, 6}}) {
    INFO(c.dtype << " port " << c.port);
    auto s = run_program(
        fmt::format("t-{}-{}", c.dtype, c.port),
        fmt::format("  ldweight ub=0x100, k={}, n={}, dtype={}\n  halt\n", c.k, c.n, c.dtype),
        {"--no-functional", "--set", fmt::format("ub.port_bytes={}", c.port)});
    CHECK(unit_stat(s, "weight_dma", "busy_cycles") == c.busy);
    CHECK(s["dram_bytes"].get<long>() == 0);
    // Nothing waits on DRAM (its latency alone is 100 ns = 50 cycles on tpu_lab).
    CHECK(s["total_cycles"].get<long>() < 50);
  }
}

TEST_CASE("ldweight reads the unified buffer in a functional run", "[timing]") {
  // The weights come from UB bytes never written: the read names ldweight.
  const Cli bad =
      run_program_cli("unwritten", "  ldweight ub=0x2000, k=16, n=16, dtype=bf16\n  halt\n");
  CHECK(bad.status != 0);
  CHECK_THAT(bad.output, Contains("ldweight"));
  // Staged by rdhost first (program-mode DRAM counts as written), then a matmul takes them.
  const Cli good = run_program_cli("staged",
                                   "  rdhost ub=0x2000, dram=0x0, rows=16, bytes=32\n"
                                   "  rdhost ub=0x0, dram=0x1000, rows=16, bytes=32\n"
                                   "  ldweight ub=0x2000, k=16, n=16, dtype=bf16\n"
                                   "  matmul ub=0x0, acc=0x0, m=16, k=16, n=16, dtype=bf16\n"
                                   "  activate acc=0x0, ub=0x4000, rows=16, cols=16, dtype=bf16\n"
                                   "  halt\n");
  INFO(good.output);
  CHECK(good.status == 0);
}

TEST_CASE("ldweight's program checks name the instruction", "[timing]") {
  // tpu_lab's UB is 256 KiB = 0x40000 bytes: a 512-byte tile at 0x3ff00 passes its end.
  Cli r = run_program_cli("outside", "  ldweight ub=0x3ff00, k=16, n=16, dtype=bf16\n  halt\n");
  CHECK(r.status != 0);
  CHECK_THAT(r.output,
             Contains("ldweight") && Contains("outside ub") && Contains("capacity 262144 bytes"));
  // Transposed, the source rows are the n = 16 columns, of k = 8 bf16 (16 bytes), 0x4400
  // apart: from 0x0 the last is at 15 * 0x4400 = 0x3fc00 (inside); from 0x400 it ends at
  // 0x40010 (outside).
  r = run_program_cli("transposed",
                      "  ldweight ub=0x400, k=8, n=16, dtype=bf16, stride=0x4400, transpose=1\n"
                      "  halt\n",
                      {"--no-functional"});
  CHECK(r.status != 0);
  CHECK_THAT(r.output, Contains("ldweight") && Contains("outside ub"));
  r = run_program_cli("transposed-in",
                      "  ldweight ub=0x0, k=8, n=16, dtype=bf16, stride=0x4400, transpose=1\n"
                      "  halt\n",
                      {"--no-functional"});
  CHECK(r.status == 0);
  // A weight FIFO tile is 512 bytes on tpu_lab: 16 x 16 fp32 is 1024.
  r = run_program_cli("fifo", "  ldweight ub=0x0, k=16, n=16, dtype=fp32\n  halt\n",
                      {"--no-functional"});
  CHECK(r.status != 0);
  CHECK_THAT(r.output, Contains("ldweight") && Contains("more than a weight FIFO tile"));
}

// Known bug (for the lead): models/tpu/check.cpp checks mxu < array.count for rdweight and
// matmul but not ldweight; the core then indexes arrays_[mxu] out of bounds (a functional run
// of "rdhost ...; ldweight ub=0, k=16, n=16, dtype=int8, mxu=3; halt" on tpu_lab ends with
// SIGSEGV, exit 139; a timing run reports a bogus "weight FIFO of mxu 3 is full" or passes).
TEST_CASE("ldweight to an array the core does not have is an error, as for rdweight", "[timing]") {
  // tpu_lab has one array: mxu=3 names none. rdweight is refused with the array count; so
  // must ldweight be (it fills arrays_[mxu]'s FIFO).
  const Cli rd =
      run_program_cli("mxu-rd", "  rdweight dram=0x0, k=16, n=16, dtype=int8, mxu=3\n  halt\n",
                      {"--no-functional"});
  CHECK(rd.status != 0);
  CHECK_THAT(rd.output, Contains("mxu=3 but the core has 1 systolic array(s)"));
  const Cli ld = run_program_cli(
      "mxu-ld", "  ldweight ub=0x0, k=16, n=16, dtype=int8, mxu=3\n  halt\n", {"--no-functional"});
  INFO(ld.output);
  CHECK(ld.status != 0);
  CHECK_THAT(ld.output, Contains("mxu=3 but the core has 1 systolic array(s)"));
}

TEST_CASE("activate sum: each summed tile passes through the pipeline", "[timing]") {
  // 32 rows of 16 on tpu_lab (act.rows 1, 16 columns = one array width): 32 cycles per tile;
  // the UB port writes the 512 bytes of int8 output in 2. sum=3: 96.
  for (const auto& [sum, busy] : {std::pair<int, long>{0, 32}, {1, 32}, {2, 64}, {3, 96}}) {
    INFO("sum " << sum);
    auto s = run_program(
        fmt::format("act-sum{}", sum),
        fmt::format("  activate acc=0x0, ub=0x0, rows=32, cols=16, dtype=int8, sum={}, gap=0x800\n"
                    "  halt\n",
                    sum),
        {"--no-functional"});
    CHECK(unit_stat(s, "act", "busy_cycles") == busy);
  }
}

TEST_CASE("activate sum: the summed tiles must lie inside the accumulators", "[timing]") {
  // tpu_lab: 64 KiB = 0x10000 of accumulators; a 16 x 16 tile is 1024 = 0x400 bytes. From
  // 0xf800 with a gap of 0x400, 2 tiles end at 0x10000 (inside), 3 at 0x10400 (outside).
  const std::string two =
      "  activate acc=0xf800, ub=0x0, rows=16, cols=16, dtype=bf16, sum=2, gap=0x400\n  halt\n";
  CHECK(run_program_cli("acc-2", two, {"--no-functional"}).status == 0);
  const Cli r = run_program_cli(
      "acc-3",
      "  activate acc=0xf800, ub=0x0, rows=16, cols=16, dtype=bf16, sum=3, gap=0x400\n  halt\n",
      {"--no-functional"});
  CHECK(r.status != 0);
  CHECK_THAT(r.output,
             Contains("activate") && Contains("accumulator range") && Contains("outside acc"));
}

namespace {

// The tile program of one GEMM on a preset, with --set overrides.
TileProgram tiles_of(const std::string& arch, long M, long N, long K, const std::string& dt,
                     const std::vector<std::string>& sets = {}) {
  Graph g = parse_workload(fmt::format("name: g\nops:\n  - {{name: g, op: gemm, M: {}, N: {}, "
                                       "K: {}, dtype: {}}}\n",
                                       M, N, K, dt),
                           "g.yaml");
  run_graph_passes(g, Dump{});
  const ArchConfig cfg = load_arch(arch, sets);
  const TpuParams p(cfg.values);
  const LayoutPlan plan = layout(g, p, cfg.name);
  TileProgram t = tiling(g, plan, p, cfg.name);
  verify_tiling(t, p);
  return t;
}

int syncs(const TileProgram& t) {
  int n = 0;
  for (const TileLayer& l : t.layers)
    for (const Nest& ns : l.nests)
      for (const TileOp& op : ns.ops) n += std::holds_alternative<Sync>(op);
  return n;
}

// The shape of each nest in steps: one or more of (loads, sync, (ld_weights, matmul) pairs,
// sync), then (drain, store) pairs; every K step of every output tile multiplied once, the first
// of each accumulator slot setting it (in whichever step); the drains' sums cover M x N, every
// element of C stored once. Returns the drains' `sum`s; `steps` gets each nest's steps.
std::vector<uint32_t> check_steps(const TileProgram& t, long M, long N, long K,
                                  std::vector<int>* steps = nullptr) {
  REQUIRE(t.layers.size() == 1);
  const std::vector<Nest>& nests = t.layers[0].nests;
  REQUIRE(nests.size() >= 1);
  std::vector<uint32_t> sums;
  std::vector<uint8_t> stored(size_t(M * N), 0);
  int all_steps = 0;
  for (const Nest& ns : nests) {
    INFO(ns.title);
    size_t i = 0;
    const std::vector<TileOp>& ops = ns.ops;
    // Per accumulator slot: the K steps multiplied into it, and how many matmuls.
    std::vector<uint64_t> slot_k(ns.acc_slots, 0);
    std::vector<int> slot_ops(ns.acc_slots, 0);
    int nest_steps = 0;
    while (i < ops.size() && std::holds_alternative<Load>(ops[i])) {
      while (i < ops.size() && std::holds_alternative<Load>(ops[i])) ++i;
      REQUIRE(i < ops.size());
      REQUIRE(std::holds_alternative<Sync>(ops[i]));
      ++i;
      uint64_t pairs = 0;
      while (i + 1 < ops.size() && std::holds_alternative<StagedWeights>(ops[i])) {
        const StagedWeights& w = std::get<StagedWeights>(ops[i]);
        REQUIRE(std::holds_alternative<Matmul>(ops[i + 1]));
        const Matmul& mm = std::get<Matmul>(ops[i + 1]);
        CHECK(w.dst.index == mm.weights.index);
        CHECK((w.k == mm.k && w.n == mm.n));
        REQUIRE(mm.acc.index < ns.acc_slots);
        CHECK(mm.accumulate == (slot_ops[mm.acc.index] > 0));
        slot_k[mm.acc.index] += mm.k;
        ++slot_ops[mm.acc.index];
        ++pairs;
        i += 2;
      }
      REQUIRE(pairs > 0);
      REQUIRE(i < ops.size());
      REQUIRE(std::holds_alternative<Sync>(ops[i]));
      ++i;
      ++nest_steps;
    }
    REQUIRE(nest_steps > 0);
    size_t drains = 0;
    while (i + 1 < ops.size() && std::holds_alternative<Drain>(ops[i])) {
      const Drain& d = std::get<Drain>(ops[i]);
      REQUIRE(std::holds_alternative<Store>(ops[i + 1]));
      // The slots it sums hold every K step of its tile, once.
      uint64_t k = 0;
      for (uint32_t s = 0; s < d.sum; ++s) {
        REQUIRE(d.acc.index + s < ns.acc_slots);
        k += slot_k[d.acc.index + s];
      }
      CHECK(k == uint64_t(K));
      const DramTile& c = std::get<Store>(ops[i + 1]).dst;
      CHECK((c.rows == d.rows && c.cols == d.cols));
      REQUIRE((c.r0 + c.rows <= uint64_t(M) && c.c0 + c.cols <= uint64_t(N)));
      for (uint64_t r = c.r0; r < c.r0 + c.rows; ++r)
        for (uint64_t col = c.c0; col < c.c0 + c.cols; ++col) ++stored[r * uint64_t(N) + col];
      sums.push_back(d.sum);
      ++drains;
      i += 2;
    }
    CHECK(drains > 0);
    CHECK(i == ops.size());
    all_steps += nest_steps;
    if (steps) steps->push_back(nest_steps);
  }
  CHECK(std::count(stored.begin(), stored.end(), 1) == M * N);
  CHECK(syncs(t) == 2 * all_steps);
  return sums;
}

// In one step: a nest a core, each a single step.
std::vector<uint32_t> check_single_step(const TileProgram& t, long M, long N, long K, int cores) {
  std::vector<int> steps;
  const std::vector<uint32_t> sums = check_steps(t, M, N, K, &steps);
  const std::vector<Nest>& nests = t.layers[0].nests;
  REQUIRE(nests.size() <= size_t(cores));
  std::vector<bool> core_seen(size_t(cores), false);
  for (const Nest& ns : nests) {
    INFO(ns.title);
    REQUIRE(ns.core < cores);
    CHECK_FALSE(core_seen[size_t(ns.core)]);
    core_seen[size_t(ns.core)] = true;
  }
  CHECK(steps == std::vector<int>(nests.size(), 1));
  return sums;
}

nlohmann::json run_gemm(const std::string& name, const std::string& arch, long M, long N, long K,
                        const std::string& dt, const Args& extra = {}) {
  const std::string dir = temp_dir("ss-" + name);
  Args args = {"--arch", arch, "--workload", gemm_workload(dir, M, N, K, dt)};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_stats(args, dir + "/out");
}

}  // namespace

TEST_CASE(
    "single step: 256x384x512 fp32 and bf16 on tpu_v4 are loads, sync, products, sync, "
    "stores",
    "[timing]") {
  for (const std::string dt : {"fp32", "bf16"}) {
    INFO(dt);
    const TileProgram t = tiles_of("tpu_v4", 256, 384, 512, dt);
    // Both cores; rows split (128 each, all of B): 128*512 + 512*384 A and B elements per core
    // = what splitting the 3 N tiles 2 + 1 would read (256*512 + 512*256).
    check_single_step(t, 256, 384, 512, 2);
    REQUIRE(t.layers[0].nests.size() == 2);
    auto s = run_gemm("256-" + dt, "tpu_v4", 256, 384, 512, dt);
    CHECK(s["functional_check"] == "passed");
    // Each operand element read once per core that needs it: B's second copy from the CMEM,
    // so every element crosses DRAM once; C written once.
    const long e = dt == "fp32" ? 4 : 2;
    CHECK(s["dram_bytes"].get<long>() == e * (256L * 512 + 512L * 384 + 256L * 384));
    CHECK(s["stats"]["groups"]["cmem"]["stats"]["hit_bytes"]["value"].get<long>() ==
          e * 512L * 384);
  }
}

TEST_CASE("single step: the phases do not overlap (one core: loads + products + stores)",
          "[timing]") {
  // tpu_v4_core: 600 GB/s at 1050 MHz = 571.43 bytes per cycle; 4 arrays of 128 x 128.
  // 256x384x512 fp32: A 256*512*4 = 524288 and B 512*384*4 = 786432 bytes in, C 256*384*4 =
  // 393216 out; 256*384*512 MACs per pass. Each phase waits for the one before (sync), so the
  // run takes at least the sum of the phases' lower bounds; so do steps of K columns (a 1 MiB
  // UB: A's 512 KiB do not fit a region), each element still read once.
  const double bytes_per_cycle = 600e3 / 1050;
  const long in = 524288 + 786432, out = 393216, macs = 256L * 384 * 512;
  for (const std::string ub : {"16777216", "1048576"})
    for (int passes : {1, 3}) {
      INFO(passes << " passes, UB " << ub);
      auto s = run_gemm(
          fmt::format("bound-{}-{}", passes, ub), "tpu_v4_core", 256, 384, 512, "fp32",
          {"--set", fmt::format("array.fp32_passes={}", passes), "--set", "ub.bytes=" + ub});
      CHECK(s["functional_check"] == "passed");
      CHECK(s["dram_bytes"].get<long>() == in + out);
      const long bound = long(in / bytes_per_cycle) + macs * passes / (4 * 128 * 128) +
                         long(out / bytes_per_cycle);
      INFO("bound " << bound);
      CHECK(s["total_cycles"].get<long>() >= bound);
    }
  const TileProgram t = tiles_of("tpu_v4_core", 256, 384, 512, "fp32", {"ub.bytes=1048576"});
  std::vector<int> steps;
  check_steps(t, 256, 384, 512, &steps);
  CHECK(steps.size() == 1);
  CHECK(steps[0] > 1);
}

TEST_CASE("single step: idle arrays share the K steps, the drain adds their slots", "[timing]") {
  SECTION("one N tile on a core of 4 arrays") {
    // M = 64, N = 128, K = 1024 bf16 on tpu_v4_core: one 128-wide N tile and rows of 64 < R,
    // so one job; 8 K steps of 128, shared by the 4 arrays: one drain of the sum of 4 slots.
    const TileProgram t = tiles_of("tpu_v4_core", 64, 128, 1024, "bf16");
    CHECK(check_single_step(t, 64, 128, 1024, 1) == std::vector<uint32_t>{4});
    auto s = run_gemm("ksplit-core", "tpu_v4_core", 64, 128, 1024, "bf16");
    CHECK(s["functional_check"] == "passed");
  }
  SECTION("uneven K steps, M not a multiple of 8, two cores") {
    // 100 x 200 x 300 on tpu_v4: the cores take an N tile each (all 100 rows, K shared by 3
    // arrays: a round of R cycles) rather than 56 rows of both (two jobs whose 3 K steps
    // take two rounds); through the CMEM the operands cross the HBM once either way. One job
    // per core; K = 300 is 3 steps (128, 128, 44) for its 4 arrays: a sum of 3 slots.
    for (const std::string dt : {"bf16", "fp32"}) {
      INFO(dt);
      const TileProgram t = tiles_of("tpu_v4", 100, 200, 300, dt);
      CHECK(check_single_step(t, 100, 200, 300, 2) == std::vector<uint32_t>{3, 3});
      auto s = run_gemm("ksplit-chip-" + dt, "tpu_v4", 100, 200, 300, dt);
      CHECK(s["functional_check"] == "passed");
    }
  }
  SECTION("three N tiles on four arrays keep all four busy") {
    // 384 x 384 x 1024 bf16 on tpu_v4_core: 3 N tiles, 8 K steps. Jobs of 192 rows (2 per N
    // tile), each job's K steps shared by 2 arrays: 12 (job, K share) pairs, 3 per array, each
    // of 4 K steps: every array runs 12 matmuls (one job per array would leave one idle); 6
    // drains of 2 slots.
    const TileProgram t = tiles_of("tpu_v4_core", 384, 384, 1024, "bf16");
    CHECK(check_single_step(t, 384, 384, 1024, 1) == std::vector<uint32_t>(6, 2));
    auto s = run_gemm("three-tiles", "tpu_v4_core", 384, 384, 1024, "bf16");
    CHECK(s["functional_check"] == "passed");
    for (const char* mxu : {"mxu0", "mxu1", "mxu2", "mxu3"}) {
      INFO(mxu);
      CHECK(s["stats"]["groups"][mxu]["stats"]["instructions"]["value"].get<long>() == 12);
    }
  }
  SECTION("M neither a multiple of 8 nor of 128") {
    const TileProgram t = tiles_of("tpu_v4", 1001, 256, 384, "bf16");
    check_single_step(t, 1001, 256, 384, 2);
    auto s = run_gemm("m1001", "tpu_v4", 1001, 256, 384, "bf16");
    CHECK(s["functional_check"] == "passed");
  }
}

TEST_CASE("single step: 3 and 6 fp32 passes check functionally on tpu_v4", "[timing]") {
  for (int passes : {3, 6}) {
    INFO(passes << " passes");
    auto s = run_gemm(fmt::format("fp32-p{}", passes), "tpu_v4", 200, 136, 260, "fp32",
                      {"--set", fmt::format("array.fp32_passes={}", passes)});
    CHECK(s["functional_check"] == "passed");
  }
}

TEST_CASE("single step off: the same GEMM is pipelined and computes the same", "[timing]") {
  const TileProgram t = tiles_of("tpu_v4", 256, 384, 512, "fp32", {"lowering.single_step=false"});
  CHECK(syncs(t) == 0);
  auto s =
      run_gemm("off", "tpu_v4", 256, 384, 512, "fp32", {"--set", "lowering.single_step=false"});
  CHECK(s["functional_check"] == "passed");
}

TEST_CASE("single step: a bf16 GEMM too large for it falls back to the pipelined tiling",
          "[timing]") {
  // 4096 x 4096 x 4096 bf16: one core's rows of A alone (2048 x 4096 x 2 = 16 MiB) exceed a UB
  // operand region. (fp32 runs in steps instead: below.)
  const TileProgram t = tiles_of("tpu_v4", 4096, 4096, 4096, "bf16");
  CHECK(syncs(t) == 0);
  bool staged = false;
  for (const Nest& ns : t.layers[0].nests)
    for (const TileOp& op : ns.ops) staged = staged || std::holds_alternative<StagedWeights>(op);
  CHECK_FALSE(staged);
  // The same through the CLI's dump, timed without values.
  const std::string dir = temp_dir("ss-fallback");
  const Cli r = run_cli({"run", "--arch", "tpu_v4", "--workload",
                         gemm_workload(dir, 4096, 4096, 4096, "bf16"), "--no-functional",
                         "--dump-after=tiling", "--out", dir + "/out"});
  INFO(r.output.substr(0, 2000));
  REQUIRE(r.status == 0);
  CHECK_THAT(r.output, Contains("# TPU tile IR after pass 'tiling'") && Contains("load_weights") &&
                           !Contains("sync") && !Contains("ld_weights") &&
                           !Contains("in one step"));
}

TEST_CASE("steps: an fp32 GEMM whose operands exceed the UB takes its K columns step by step",
          "[timing]") {
  // 128 x 256 x 2048 fp32 on tpu_v4 with a 1 MiB UB: an operand region of 256 KiB (half the
  // UB, less a quarter for the output regions, in two) holds neither a core's 64 or 128 rows of
  // A nor its columns of B for all 2048 K columns (2048 x 128 x 4 = 1 MiB). Its C fits the
  // accumulators: each core runs its part in steps of K columns, the sums staying in the
  // accumulators from the first step to the last.
  const std::vector<std::string> small_ub = {"ub.bytes=1048576"};
  const TileProgram t = tiles_of("tpu_v4", 128, 256, 2048, "fp32", small_ub);
  std::vector<int> steps;
  check_steps(t, 128, 256, 2048, &steps);
  REQUIRE(t.layers[0].nests.size() == 2);
  CHECK(steps[0] > 1);
  CHECK(steps[1] == steps[0]);
  auto s = run_gemm("k-steps", "tpu_v4", 128, 256, 2048, "fp32", {"--set", small_ub[0]});
  CHECK(s["functional_check"] == "passed");
  // Each step reads its K columns of A and B: every element crosses the DRAM once (the second
  // core's reads of what both need hit the CMEM).
  CHECK(s["dram_bytes"].get<long>() == 4 * (128L * 2048 + 2048L * 256 + 128L * 256));
  // A bf16 GEMM too large for one step (K = 8192: a core's 128 columns of B take 2 MiB)
  // stays pipelined, no step: no measurement covers such bf16 dots.
  CHECK(syncs(tiles_of("tpu_v4", 128, 256, 8192, "bf16", small_ub)) == 0);
}

TEST_CASE("steps: an fp32 GEMM whose C exceeds the accumulators runs a block of C at a time",
          "[timing]") {
  // 256 x 512 x 512 fp32 on tpu_v4 with 256 KiB of accumulators a core: C's 512 KiB of sums
  // do not fit; blocks of its rows and columns each run in one step, one after another, every
  // element of C stored once (check_steps), values checked.
  const std::vector<std::string> small_acc = {"acc.bytes=262144"};
  const TileProgram t = tiles_of("tpu_v4", 256, 512, 512, "fp32", small_acc);
  std::vector<int> steps;
  check_steps(t, 256, 512, 512, &steps);
  CHECK(t.layers[0].nests.size() > 2);
  CHECK(steps == std::vector<int>(t.layers[0].nests.size(), 1));
  for (const Nest& ns : t.layers[0].nests) {
    INFO(ns.title);
    CHECK(uint64_t(ns.acc_slots) * ns.acc_slot_bytes <= 262144);
  }
  auto s = run_gemm("c-blocks", "tpu_v4", 256, 512, 512, "fp32", {"--set", small_acc[0]});
  CHECK(s["functional_check"] == "passed");
}

TEST_CASE("single step: the tiling dump shows the phases and the summing drain", "[timing]") {
  // 100 x 200 x 300 bf16 on tpu_v4, as derived above: per core, the 3 K tiles of A and of its
  // N tile of B loaded, a sync, 3 (ld_weights, matmul) on arrays 0, 1, 2, a sync, one drain of
  // the sum of 3 slots and its store.
  const std::string dir = temp_dir("ss-dump");
  const Cli r =
      run_cli({"run", "--arch", "tpu_v4", "--workload", gemm_workload(dir, 100, 200, 300, "bf16"),
               "--dump-after=tiling", "--out", dir + "/out"});
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK_THAT(r.output, Contains("functional check: passed"));
  for (const char* n : {"128:200", "0:128"}) {
    INFO(n);
    CHECK_THAT(r.output, Contains(fmt::format("    load         B[256:300, {}] -> ub.A1", n)));
  }
  // Core 1's products: K step i of A at ub.A0 + i * 100 * 128 * 2 (0x6400 apart), of its
  // B tile (128 x 72 bf16) at ub.A1 + i * 128 * 72 * 2 (0x4800 apart); step i on array i into
  // slot i, each slot set once.
  const std::string phase_two =
      "    sync\n"
      "    ld_weights   B[0:128, 128:200] ub.A1 -> mxu0.fifo  (staged in the UB)\n"
      "    matmul       ub.A0 x mxu0.fifo -> acc.0 (set) 100x128x72 bf16\n"
      "    ld_weights   B[128:256, 128:200] ub.A1+0x4800 -> mxu1.fifo  (staged in the UB)\n"
      "    matmul       ub.A0+0x6400 x mxu1.fifo -> acc.1 (set) 100x128x72 bf16\n"
      "    ld_weights   B[256:300, 128:200] ub.A1+0x9000 -> mxu2.fifo  (staged in the UB)\n"
      "    matmul       ub.A0+0xc800 x mxu2.fifo -> acc.2 (set) 100x44x72 bf16\n"
      "    sync\n"
      "    drain        acc.0 -> ub.O0 100x72 bf16 (none, sum of 3 slots)\n"
      "    store        ub.O0 -> C[0:100, 128:200]";
  CHECK_THAT(r.output, Contains(phase_two));
  size_t n = 0;
  for (size_t at = 0; (at = r.output.find("    sync\n", at)) != std::string::npos; ++at) ++n;
  CHECK(n == 4);
}

TEST_CASE("fp32 workloads: the errors name the dtype and what would take it", "[timing]") {
  const std::string dir = temp_dir("fp32-errors");
  const std::string softmax = write_text(
      dir, "s.yaml", "name: s\nops:\n  - {name: s, op: softmax, shape: [4, 4], dtype: fp32}\n");
  Cli r = run_cli({"run", "--arch", "tpu_lab", "--workload", softmax, "--out", dir + "/o1"});
  CHECK(r.status != 0);
  CHECK_THAT(r.output, Contains("s.yaml:3:") && Contains("dtype fp32 is not allowed") &&
                           Contains("softmax takes bf16"));
  // tpu_v1's arrays multiply int8 only: fp32 operands need bf16 arrays.
  const std::string gemm = gemm_workload(dir, 32, 32, 32, "fp32");
  r = run_cli({"run", "--arch", "tpu_v1", "--workload", gemm, "--out", dir + "/o2"});
  CHECK(r.status != 0);
  CHECK_THAT(r.output, Contains("fp32") && Contains("bf16 arrays"));
  // The same for a program: an fp32 matmul on int8 arrays.
  const std::string prog =
      write_text(dir, "p.s", "  matmul ub=0x0, acc=0x0, m=4, k=16, n=8, dtype=fp32\n  halt\n");
  r = run_cli({"run", "--arch", "tpu_lab", "--set", "array.dtypes=int8", "--no-functional",
               "--program", prog, "--out", dir + "/o3"});
  CHECK(r.status != 0);
  CHECK_THAT(r.output, Contains("matmul") && Contains("do not multiply fp32"));
}
