// Several TensorCores in one simulation (chip.cores): each runs its own halt-terminated list of
// the program, they share the DRAM channel through the arbiter, and `barrier` orders them.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/support.h"

using namespace xpusim::test;
using Catch::Matchers::Contains;

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Copies `rows` rows of 256 bytes from `src` to `dst` through the unified buffer.
std::string copy(const std::string& src, const std::string& dst, int rows) {
  return "  rdhost ub=0x0, dram=" + src + ", rows=" + std::to_string(rows) +
         ", bytes=256\n  wrhost dram=" + dst + ", ub=0x0, rows=" + std::to_string(rows) +
         ", bytes=256\n";
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A one-op workload in `dir`: a bf16 GEMM of m x n x k.
std::string gemm_workload(const std::string& dir, int m, int n, int k) {
  return write_text(dir, "g.yaml",
                    "name: g\nops:\n  - {name: g, op: gemm, M: " + std::to_string(m) + ", N: " +
                        std::to_string(n) + ", K: " + std::to_string(k) + ", dtype: bf16}\n");
}

// Runs `workload` on tpu_v4, pipelined (lowering.single_step=false), printing its tile program,
// into `out`.
Cli run_pipelined(const std::string& workload, const std::string& out, const Args& extra = {}) {
  Args args = {"run",
               "--arch",
               "tpu_v4",
               "--workload",
               workload,
               "--set",
               "lowering.single_step=false",
               "--dump-after=tiling",
               "--out",
               out};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_cli(args);
}

// Each core of a tpu_v4 run's stats: its least busy array at least `share` of its busiest.
void check_balanced(const nlohmann::json& s, double share) {
  for (const char* core : {"core0", "core1"}) {
    const auto& g = s["stats"]["groups"][core]["groups"];
    std::vector<double> busy;
    for (const char* mxu : {"mxu0", "mxu1", "mxu2", "mxu3"})
      busy.push_back(g[mxu]["stats"]["busy_cycles"]["value"].get<double>());
    INFO(core << ": " << busy[0] << ", " << busy[1] << ", " << busy[2] << ", " << busy[3]);
    CHECK(*std::min_element(busy.begin(), busy.end()) >=
          share * *std::max_element(busy.begin(), busy.end()));
  }
}

Cli run_chip(const std::string& name, const std::string& program, int cores,
             const Args& extra = {}) {
  const std::string dir = temp_dir(name);
  const std::string path = write_text(dir, name + ".s", program);
  Args args = {"run",       "--arch", "tpu_lab", "--set",     "chip.cores=" + std::to_string(cores),
               "--program", path,     "--out",   dir + "/out"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_cli(args);
}

}  // namespace

TEST_CASE("chip: a barrier orders one core's writes before another core's reads", "[timing]") {
  const std::string dir = temp_dir("chip-barrier");
  std::string input;
  for (int i = 0; i < 256; ++i) input += char(i * 13 + 5);
  const std::string in = write_text(dir, "in.bin", input);
  // Core 0 copies the input to 0x10000 after a long copy that delays it; core 1 waits at the
  // barrier, then copies 0x10000 on to 0x20000.
  const std::string program = "# core 0\n" + copy("0x40000", "0x50000", 64) +
                              copy("0x1000", "0x10000", 1) + "  barrier\n  halt\n# core 1\n" +
                              "  barrier\n" + copy("0x10000", "0x20000", 1) + "  halt\n";
  Cli r = run_chip("chip-barrier-run", program, 2,
                   {"--load", "0x1000=" + in, "--save", "0x20000:256=out.bin"});
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(read(dir + "/../chip-barrier-run/out/out.bin") == input);
  // Without the barriers core 1 copies before core 0 has written: zeros arrive.
  std::string racy = program;
  for (size_t p; (p = racy.find("  barrier\n")) != std::string::npos;) racy.erase(p, 10);
  r = run_chip("chip-race-run", racy, 2,
               {"--load", "0x1000=" + in, "--save", "0x20000:256=out.bin"});
  REQUIRE(r.status == 0);
  CHECK(read(dir + "/../chip-race-run/out/out.bin") == std::string(256, '\0'));
}

TEST_CASE("chip: cores sharing the DRAM channel contend for it", "[timing]") {
  // A copy bound by DRAM bandwidth: alone on a one-core chip, then the same copy on each of
  // two cores at once (other addresses). Sharing the channel, the two take about twice as long.
  auto cycles = [](const std::string& name, const std::string& program, int cores) {
    const std::string dir = temp_dir(name);
    auto s = run_stats({"--arch", "tpu_lab", "--set", "chip.cores=" + std::to_string(cores),
                        "--program", write_text(dir, name + ".s", program)},
                       dir + "/out");
    return s["total_cycles"].get<long>();
  };
  const long one = cycles("chip-one", copy("0x0", "0x100000", 128) + "  halt\n", 1);
  const long two = cycles(
      "chip-two",
      copy("0x0", "0x100000", 128) + "  halt\n" + copy("0x200000", "0x300000", 128) + "  halt\n",
      2);
  CHECK(two >= one * 9 / 5);
  CHECK(two <= one * 21 / 10);
}

TEST_CASE("chip: a barrier that not every core reaches is a deadlock naming it", "[timing]") {
  Cli r = run_chip(
      "chip-deadlock",
      copy("0x0", "0x1000", 1) + "  barrier\n  halt\n" + copy("0x2000", "0x3000", 1) + "  halt\n",
      2);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("deadlock at cycle"));
  CHECK_THAT(r.output, Contains("core 0 waits at a barrier that 1 of the 2 cores reached"));
}

TEST_CASE("chip: the program holds one list per core", "[timing]") {
  Cli r = run_chip("chip-lists", copy("0x0", "0x1000", 1) + "  halt\n", 2);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("holds 1 core program(s)"));
  CHECK_THAT(r.output, Contains("has 2 core(s) (chip.cores)"));
  // A loop cannot jump back over a halt into another core's list.
  r = run_chip("chip-loop", "a:\n  sync\n  halt\n  loop target=a, count=2\n  halt\n", 2);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("a loop stays within its core's program"));
}

TEST_CASE("chip: a compiled workload is split across the cores", "[timing]") {
  const std::string dir = temp_dir("chip-split");
  // Every op kind the smoke and quick-start workloads have, values checked on two cores.
  auto s = run_stats({"--arch", "tpu_v4", "--workload",
                      std::string(XPUSIM_SOURCE_DIR) + "/workloads/examples/quickstart.yaml"},
                     dir + "/quickstart");
  CHECK(s["functional_check"] == "passed");
  for (const char* core : {"core0", "core1"}) {
    INFO(core);
    const auto& g = s["stats"]["groups"][core]["groups"];
    CHECK(g["mxu0"]["stats"]["busy_cycles"]["value"].get<double>() > 0);
    CHECK(g["dma_in"]["stats"]["instructions"]["value"].get<double>() > 0);
  }
  // A GEMM large enough to keep the arrays busy: two cores with twice the DRAM bandwidth
  // (the chip against one of its cores) take a little over half the cycles.
  const std::string gemm = gemm_workload(dir, 1024, 1024, 1024);
  const long one = run_stats({"--arch", "tpu_v4_core", "--no-functional", "--workload", gemm},
                             dir + "/one")["total_cycles"];
  const long two = run_stats({"--arch", "tpu_v4", "--no-functional", "--workload", gemm},
                             dir + "/two")["total_cycles"];
  CHECK(two < one * 6 / 10);
  CHECK(two > one * 4 / 10);
}

TEST_CASE("chip: a convolution's weights kept in the UB give the same values, read once",
          "[timing]") {
  // ResNet-50's layer2.0.conv2 on tpu_v4, pipelined (several row blocks per core): with the
  // weights kept in the UB (lowering.keep_weights, the preset's), the values check and every
  // core reads each weight byte from DRAM or the CMEM once; without, once per block.
  const std::string dir = temp_dir("chip-keep-weights");
  const std::string conv = write_text(dir, "c.yaml", R"(name: c
ops:
  - {name: c, op: conv2d, N: 1, C: 128, H: 56, W: 56, K: 128, R: 3, S: 3, stride: 2, pad: 1, dtype: bf16}
)");
  auto reads = [&](const char* keep) {
    auto s = run_stats({"--arch", "tpu_v4", "--workload", conv, "--set",
                        "lowering.single_step=false", "--set", keep},
                       dir + "/" + keep);
    CHECK(s["functional_check"] == "passed");
    const auto& g = s["stats"]["groups"];
    return g["dram"]["stats"]["bytes_read"]["value"].get<double>() +
           g["cmem"]["stats"]["hit_bytes"]["value"].get<double>();
  };
  const double image = 56.0 * 56 * 128 * 2, weights = 3.0 * 3 * 128 * 128 * 2;
  const double kept = reads("lowering.keep_weights=true");
  const double again = reads("lowering.keep_weights=false");
  INFO(kept << " bytes read kept, " << again << " not");
  CHECK(kept <= 2 * (image + weights));  // the image's bands overlap a little: under twice it
  // Each core reads the weights again at least once (less the bands' halo of the kept run's
  // smaller blocks): at least one more copy of them in all.
  CHECK(again >= kept + weights);
}

TEST_CASE("chip: N tiles that do not fill the arrays keep every array of a core as busy",
          "[timing]") {
  // 327 x 523 x 1081 on tpu_v4, pipelined: a row block per core of five N tiles (the last of
  // 11 columns) and nine K steps on four arrays. In groups, one array took the fifth tile's
  // nine K steps alone after the first group (busy 3,811 cycles against 2,241 of the others);
  // packed, each array takes 11 or 12 of the 45 (tile, K step) pairs. The values check.
  const std::string dir = temp_dir("chip-packed");
  const std::string gemm = gemm_workload(dir, 327, 523, 1081);
  auto s =
      run_stats({"--arch", "tpu_v4", "--workload", gemm, "--set", "lowering.single_step=false"},
                dir + "/out");
  CHECK(s["functional_check"] == "passed");
  check_balanced(s, 0.85);
}

TEST_CASE("chip: a row block shared out in packed parts gets accumulator slots of a part's rows",
          "[timing]") {
  // 1446 x 838 x 176 on tpu_v4, pipelined: a row block of 728 rows per core, seven N tiles of
  // two K steps on four arrays. Whole jobs leave one array half the work of the others (7
  // tiles: 2, 2, 2, 1); in two parts of 368 rows the 28 (part, K step) pairs go 7 to each
  // array, their 16 pieces in slots of a part's rows (the ring of whole-row slots has 11).
  // 4,231 cycles before, 3,801 after. Without the CMEM each part's weights would come from
  // the DRAM again: there the slots keep a block's rows. The values check.
  const std::string dir = temp_dir("chip-part-slots");
  const std::string gemm = gemm_workload(dir, 1446, 838, 176);
  auto run = [&](const char* cmem) {
    return run_pipelined(gemm, dir + "/" + cmem, {"--set", cmem});
  };
  const Cli r = run("cmem.bytes=134217728");
  INFO(r.output.substr(0, 3000));
  REQUIRE(r.status == 0);
  CHECK_THAT(r.output, Contains("functional check: passed") && Contains("acc ring 16 x 188416 B"));
  // Each core reads each of its 14 weight tiles once a part.
  CHECK(occurrences(r.output, "load_weights") == 2 * 7 * 2 * 2);
  check_balanced(nlohmann::json::parse(read(dir + "/cmem.bytes=134217728/stats.json")), 0.9);
  const Cli whole = run("cmem.bytes=0");
  REQUIRE(whole.status == 0);
  CHECK_THAT(whole.output, Contains("acc ring 11 x 372736 B"));
}

TEST_CASE("chip: an N tile the cores' tiles leave over is shared by its rows", "[timing]") {
  // 235 x 619 x 521 on tpu_v4, pipelined: one row block of five N tiles (the last of 107
  // columns) and five K steps. Core 0 took three tiles and core 1 two, its arrays idle a third
  // of the time; now each takes two whole tiles and half the rows of the fifth (rows 0 to 120,
  // 120 to 235), the pairs of all packed on its arrays by their rows' time. Both cores read the
  // fifth tile's weights (the second through the CMEM): 30 weight loads, not 25. 2,329 cycles
  // before, 2,119 after. The values check.
  const std::string dir = temp_dir("chip-shared-tile");
  const Cli r = run_pipelined(gemm_workload(dir, 235, 619, 521), dir + "/out");
  INFO(r.output.substr(0, 3000));
  REQUIRE(r.status == 0);
  CHECK_THAT(r.output, Contains("functional check: passed") &&
                           Contains("core 0 of 2 takes every 2th N tile of the first 4 and rows 0 "
                                    "to 120 of the others") &&
                           Contains("core 1 of 2 takes every 2th N tile of the first 4 and rows "
                                    "120 to 235 of the others"));
  CHECK(occurrences(r.output, "load_weights") == 2 * 3 * 5);
  // The busiest arrays of the two cores within 5 % of each other (before: 1,475 and 1,272).
  const auto s = nlohmann::json::parse(read(dir + "/out/stats.json"));
  std::vector<double> most;
  for (const char* core : {"core0", "core1"}) {
    double m = 0;
    for (const char* mxu : {"mxu0", "mxu1", "mxu2", "mxu3"})
      m = std::max(
          m,
          s["stats"]["groups"][core]["groups"][mxu]["stats"]["busy_cycles"]["value"].get<double>());
    most.push_back(m);
  }
  INFO("busiest arrays " << most[0] << ", " << most[1]);
  CHECK(std::min(most[0], most[1]) >= 0.95 * std::max(most[0], most[1]));
}

TEST_CASE("chip: packed pieces beyond the accumulator ring take a slot again once drained",
          "[timing]") {
  // 256 x 1152 x 1024 on tpu_v4, pipelined, with 512 KiB of accumulators: each core's row
  // block of 128 rows has nine N tiles of eight K steps on four arrays, and a ring of eight
  // slots. Packed, the 72 (tile, K step) pairs make 12 pieces, more than the slots: a job takes
  // the slots of one that has drained. Before, packing needed a slot a piece, and the arrays
  // took the nine tiles in groups, the ninth alone on one array while the other three idled
  // (busy 4,012 cycles against 2,936 each; 4,647 cycles in all against 4,388). The values
  // check.
  const std::string dir = temp_dir("chip-packed-ring");
  const Cli r = run_pipelined(gemm_workload(dir, 256, 1152, 1024), dir + "/out",
                              {"--set", "acc.bytes=524288"});
  INFO(r.output.substr(0, 3000));
  REQUIRE(r.status == 0);
  CHECK_THAT(r.output, Contains("functional check: passed") && Contains("acc ring 8 x"));
  CHECK(occurrences(r.output, "load_weights") == 2 * 9 * 8);  // each core each tile once
  CHECK(occurrences(r.output, "(set)") == 2 * 12);  // 12 pieces a core, each setting its slot
  const auto s = nlohmann::json::parse(read(dir + "/out/stats.json"));
  check_balanced(s, 0.9);
}

TEST_CASE("chip: the row blocks of a GEMM take one split, a short last block too", "[timing]") {
  // 1394 x 1146 x 804 on tpu_v4, pipelined: blocks of 704 and 690 rows, one a core. Each
  // chose its split for its own rows, and near a tie core 0 packed its nine N tiles (63 weight
  // loads) while core 1 cut its rows in three parts (189): the cores then read B in different
  // orders (13,363 cycles; the same split 12,717). Timing only: the tile program is the point.
  const std::string dir = temp_dir("chip-one-split");
  const Cli r =
      run_pipelined(gemm_workload(dir, 1394, 1146, 804), dir + "/out", {"--no-functional"});
  INFO(r.output.substr(0, 2000));
  REQUIRE(r.status == 0);
  // Each core's nest: its weight loads.
  std::vector<size_t> loads;
  for (size_t at = r.output.find("gemm C = A x B"); at != std::string::npos;) {
    const size_t next = r.output.find("gemm C = A x B", at + 1);
    loads.push_back(occurrences(r.output.substr(at, next == std::string::npos ? next : next - at),
                                "load_weights"));
    at = next;
  }
  REQUIRE(loads.size() == 2);
  CHECK(loads[0] == loads[1]);
}

TEST_CASE("chip: one row block of one N tile keeps both cores' arrays busy, K steps shared",
          "[timing]") {
  // 72 x 33 x 9359 on tpu_v4, pipelined: a 7x7 convolution of stride 2 over 191 channels of a
  // 13 x 42 image, one N tile of 72 rows that one core took alone (the other's arrays idle).
  // Now the cores share its K steps, core 1 passing its fp32 sums to core 0 through DRAM. The
  // values check (the random ones of the run against the reference's).
  const std::string dir = temp_dir("chip-ksplit");
  const std::string conv = write_text(
      dir, "c.yaml",
      "name: c\nops:\n  - {name: c, op: conv2d, N: 1, C: 191, H: 13, W: 42, K: 33, R: 7, S: 7, "
      "stride: 2, pad: 0, dtype: bf16}\n");
  auto s =
      run_stats({"--arch", "tpu_v4", "--workload", conv, "--set", "lowering.single_step=false"},
                dir + "/out");
  CHECK(s["functional_check"] == "passed");
  for (const char* core : {"core0", "core1"}) {
    const auto& g = s["stats"]["groups"][core]["groups"];
    for (const char* mxu : {"mxu0", "mxu1", "mxu2", "mxu3"}) {
      INFO(core << " " << mxu);
      CHECK(g[mxu]["stats"]["busy_cycles"]["value"].get<double>() > 0);
    }
  }
}
