// Timing of the TPU model against the formulas docs/isa/tpu.md states (derived here from the
// documented rules, independently of the implementation), and timing properties that must
// hold whatever the parameters.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "tests/support.h"

using namespace xpusim::test;

namespace {

// Cycles of one int8 GEMM on the 16x16 lab array with stall-free memory (only the array takes
// time), with the given dataflow and fold overlap.
// `extra` adds --set options.
long array_cycles(long M, long N, long K, const std::string& dataflow, bool overlap,
                  const Args& extra = {}) {
  const std::string dir = temp_dir(fmt::format("t{}x{}x{}{}{}", M, N, K, dataflow, overlap));
  const std::string wl = write_text(
      dir, "w.yaml",
      fmt::format("name: t\nops:\n  - {{name: g, op: gemm, M: {}, N: {}, K: {}, dtype: int8}}\n", M,
                  N, K));
  Args args = {"--arch",     "tpu_lab",
               "--workload", wl,
               "--set",      "timing.stall_free=true",
               "--set",      "array.dataflow=" + dataflow,
               "--set",      std::string("array.fold_overlap=") + (overlap ? "true" : "false")};
  args.insert(args.end(), extra.begin(), extra.end());
  auto s = run_stats(args, dir + "/out");
  CHECK(s["functional_check"] == "passed");
  return s["total_cycles"].get<long>();
}

constexpr long R = 16, C = 16, kSkew = R + C - 2;

}  // namespace

TEST_CASE("ws: one fold is load + stream + skew", "[timing]") {
  CHECK(array_cycles(40, 16, 16, "ws", true) == R + 40 + kSkew);
}

TEST_CASE("ws with overlap: the next weight load hides under a long stream", "[timing]") {
  // Three folds along N, M >= R: loads after the first overlap the previous stream.
  CHECK(array_cycles(40, 48, 16, "ws", true) == R + 3 * 40 + kSkew);
}

TEST_CASE("ws with overlap: short streams wait for their loads", "[timing]") {
  // M < R: each stream waits for its own load, which starts when the previous stream starts.
  CHECK(array_cycles(8, 48, 16, "ws", true) == R + 2 * R + 8 + kSkew);
}

TEST_CASE("ws without overlap: folds run back to back (SCALE-Sim)", "[timing]") {
  CHECK(array_cycles(40, 48, 16, "ws", false) == 3 * (2 * R + 40 + C - 2));
}

TEST_CASE("os: no stationary load, streams of K back to back", "[timing]") {
  // M <= R, N = 2 C: two folds, each streaming K.
  CHECK(array_cycles(16, 32, 24, "os", true) == 2 * 24 + kSkew);
  CHECK(array_cycles(16, 32, 24, "os", false) == 2 * (24 + R + C - 2));
}

TEST_CASE("is: the input tile is stationary, N is streamed", "[timing]") {
  // A weight FIFO tile large enough for the whole 16 x 40 streamed operand: one fold.
  const Args big_tile = {"--set", "weight_fifo.tile_bytes=4096"};
  CHECK(array_cycles(16, 40, 16, "is", true, big_tile) == R + 40 + kSkew);
  CHECK(array_cycles(16, 40, 16, "is", false, big_tile) == 2 * R + 40 + C - 2);
  // The lab's 512-byte tile holds 16 x 32: two folds, the second load under the first stream.
  CHECK(array_cycles(16, 40, 16, "is", false) == 2 * (2 * R + C - 2) + 40);
}

TEST_CASE("fold overlap never makes a GEMM slower", "[timing]") {
  for (auto df : {"ws", "os", "is"}) {
    INFO(df);
    CHECK(array_cycles(50, 70, 40, df, true) <= array_cycles(50, 70, 40, df, false));
  }
}

TEST_CASE("a DRAM-bound run takes at least bytes / bandwidth", "[timing]") {
  // A bf16 softmax moves every byte twice and computes little: bounded by the DRAM channel
  // (tpu_lab: 16 GB/s at 500 MHz = 32 bytes per cycle).
  const std::string dir = temp_dir("dram-bound");
  const std::string wl = write_text(
      dir, "w.yaml", "name: t\nops:\n  - {name: s, op: softmax, shape: [256, 256], dtype: bf16}\n");
  auto s = run_stats({"--arch", "tpu_lab", "--workload", wl}, dir + "/out");
  const long bytes = s["dram_bytes"].get<long>();
  CHECK(bytes == 2 * 256 * 256 * 2);
  CHECK(s["total_cycles"].get<long>() >= bytes / 32);
  CHECK(s["stats"]["groups"]["dram"]["stats"]["busy_cycles"]["value"].get<long>() == bytes / 32);
}

TEST_CASE("N tiles in row parts keep every array busy, A read by the rows a group needs",
          "[timing]") {
  // Six N tiles on four arrays, K too long for A's row block to stay in the UB (A tiles are
  // loaded per K step for each group of jobs): the jobs go in row parts, so that the arrays
  // stream alike, and the values check (each group's A tile holds the rows its parts read).
  const std::string dir = temp_dir("row-parts");
  const std::string wl =
      write_text(dir, "w.yaml",
                 "name: t\nops:\n  - {name: g, op: gemm, M: 64, N: 96, K: 8192, dtype: int8}\n");
  auto s = run_stats({"--arch", "tpu_lab", "--workload", wl, "--set", "array.count=4", "--set",
                      "dram.bandwidth_gbps=1000"},
                     dir + "/out");
  CHECK(s["functional_check"] == "passed");
  const auto& units = s["stats"]["groups"];
  std::vector<double> busy;
  for (const char* a : {"mxu0", "mxu1", "mxu2", "mxu3"})
    busy.push_back(units[a]["stats"]["busy_cycles"]["value"].get<double>());
  INFO("busy cycles " << busy[0] << " " << busy[1] << " " << busy[2] << " " << busy[3]);
  for (double b : busy) CHECK(b >= 0.9 * *std::max_element(busy.begin(), busy.end()));
  // Each part reads its weight tiles (6 N tiles x 2 parts x 512 K steps of 16 x 16 bytes); the
  // groups read A's rows of their parts (32 + 64 + 32 of the 64 rows, twice A), no more than
  // the two groups of whole jobs would (a whole A tile each).
  const double weights = 6.0 * 2 * 512 * 16 * 16, a = 64.0 * 8192;
  CHECK(units["dram"]["stats"]["bytes_read"]["value"].get<double>() <= weights + 2 * a);
}

TEST_CASE("a batch's images share each weight tile of a convolution, values checked", "[timing]") {
  const std::string dir = temp_dir("conv-batch");
  // tpu_v1: 8 images of 7 x 7 pixels are one row block of 392 rows (at least the array's 256),
  // so the DRAM reads every image and every weight once (not the weights once per image).
  const std::string conv = write_text(dir, "c.yaml", R"(name: c
ops:
  - {name: c, op: conv2d, N: 8, C: 64, H: 7, W: 7, K: 64, R: 3, S: 3, stride: 1, pad: 1, dtype: int8}
)");
  auto s = run_stats({"--arch", "tpu_v1", "--workload", conv}, dir + "/v1");
  CHECK(s["functional_check"] == "passed");
  const double images = 8.0 * 64 * 7 * 7, weights = 3.0 * 3 * 64 * 64;
  CHECK(s["stats"]["groups"]["dram"]["stats"]["bytes_read"]["value"].get<double>() ==
        images + weights);
  // Row blocks and tiles that cross from one image into the next (odd sizes, a strided window,
  // a 1x1 window of stride 2 gathered from DRAM), on one core and on a chip of two.
  const std::string odd = write_text(dir, "odd.yaml", R"(name: odd
ops:
  - {name: a, op: conv2d, N: 3, C: 6, H: 30, W: 17, K: 10, R: 5, S: 3, stride: 2, pad: 2, dtype: int8}
  - {name: b, op: conv2d, N: 3, C: 10, H: 15, W: 9, K: 24, R: 1, S: 1, stride: 2, pad: 0, dtype: int8}
)");
  for (const char* arch : {"tpu_lab", "tpu_v1", "tpu_v4"}) {
    INFO(arch);
    CHECK(run_stats({"--arch", arch, "--workload", odd}, dir + "/" + arch)["functional_check"] ==
          "passed");
  }
}

TEST_CASE("row blocks stream enough rows for the weight FIFO to keep up", "[timing]") {
  // tpu_lab's FIFO of 4 tiles passes one at most every (8 cycles of transfer + 50 of DRAM
  // latency + a 16-cycle load) / 4 = 18.5 cycles: row blocks of 16 rows (a weight load's
  // length) would leave the array waiting for its weights. A batch of 4 images, 784 rows of a
  // strided 1x1 convolution, 8 N tiles of 4 K steps: the array streams 784 x 32 rows, and
  // blocks long enough keep the run within 10 % of that.
  const std::string dir = temp_dir("fifo-pace");
  const std::string wl = write_text(dir, "c.yaml", R"(name: c
ops:
  - {name: c, op: conv2d, N: 4, C: 64, H: 28, W: 28, K: 128, R: 1, S: 1, stride: 2, pad: 0, dtype: int8}
)");
  auto s = run_stats({"--arch", "tpu_lab", "--workload", wl}, dir + "/out");
  CHECK(s["functional_check"] == "passed");
  CHECK(s["total_cycles"].get<double>() <= 1.1 * 784 * 8 * 4);
}

TEST_CASE("runs are deterministic", "[timing]") {
  const std::string wl = std::string(XPUSIM_SOURCE_DIR) + "/workloads/examples/quickstart.yaml";
  auto a = run_stats({"--arch", "tpu_v4", "--workload", wl}, temp_dir("det-a"));
  auto b = run_stats({"--arch", "tpu_v4", "--workload", wl}, temp_dir("det-b"));
  CHECK(a["total_cycles"] == b["total_cycles"]);
  CHECK(a["stats"] == b["stats"]);
  CHECK(a["layers"] == b["layers"]);
}

TEST_CASE("layer cycles are attributed to the layer that spends them", "[timing]") {
  // A small GEMM, then a large one. Each one's cycles in the combined run are about what it
  // takes alone: the small one's within a factor of two (the large one's early weight loads
  // share the DRAM channel with it and slow it down), the large one's within the small one's
  // time. Attributing by start times (the small layer would get nothing) or to the wrong layer
  // breaks this. The cycles add up to the total by definition. One matmul per weight load
  // (lowering.cut_streams=false): the small GEMM's cut streams would put more, smaller loads
  // between the large one's in the DRAM queue and stretch its share of the run (1.6x -> 2.6x its
  // time alone). Writes in arrival order too (dram.writes_yield=false): where they yield to
  // reads, the small one's last store waits for the large one's first weight reads (2,396 cycles
  // against 334 alone). What this checks is the attribution.
  const std::string dir = temp_dir("layer-attribution");
  const std::string small = "  - {name: small, op: gemm, M: 32, N: 32, K: 32, dtype: int8}\n";
  const std::string large = "  - {name: large, op: gemm, M: 256, N: 256, K: 256, dtype: int8}\n";
  auto run = [&](const std::string& name, const std::string& ops) {
    const std::string wl = write_text(dir, name + ".yaml", "name: " + name + "\nops:\n" + ops);
    return run_stats({"--arch", "tpu_lab", "--no-functional", "--set", "lowering.cut_streams=false",
                      "--set", "dram.writes_yield=false", "--workload", wl},
                     dir + "/" + name);
  };
  auto both = run("both", small + large);
  const long alone_small = run("small", small)["total_cycles"].get<long>();
  const long alone_large = run("large", large)["total_cycles"].get<long>();
  REQUIRE(both["layers"].size() == 2);
  const long c_small = both["layers"][0]["cycles"].get<long>();
  const long c_large = both["layers"][1]["cycles"].get<long>();
  CHECK(c_small + c_large == both["total_cycles"].get<long>());
  CHECK(c_small <= 2 * alone_small);
  CHECK(c_small >= alone_small / 2);
  CHECK(c_large <= alone_large + alone_small);
  CHECK(c_large >= alone_large - 2 * alone_small);
}

TEST_CASE(
    "im2col takes the UB paths' time for the more of what it reads and writes, after "
    "its band",
    "[timing]") {
  // tpu_lab: UB read and write paths of 256 B per cycle each; DRAM 32 B per cycle, 50 cycles
  // of latency. An 8 x 8 image of 16 int8 channels (1,024 B) read into the UB at cycle 0:
  // served in 32 cycles, in the UB at 82. Its 3x3 windows (pad 1) for all 64 pixels: 64 x 144
  // B written while the 8 rows are read once (1,024 B): ceil(9,216 / 256) = 36 cycles from 82.
  // Only the first tap's 16 channels (cols 16): 1,024 B written; window row 0 touches image
  // rows 0 to 6 (896 B read): ceil(1,024 / 256) = 4 cycles.
  struct Case {
    int cols;
    long busy;
  };
  for (const Case& c : {Case{144, 36}, Case{16, 4}}) {
    INFO("cols " << c.cols);
    const std::string dir = temp_dir(fmt::format("im2col-{}", c.cols));
    const std::string prog =
        write_text(dir, "p.s",
                   fmt::format("  rdhost ub=0x4000, dram=0x0, rows=1, bytes=1024\n"
                               "  im2col ub=0x0, src=0x4000, dtype=int8, h=8, w=8, c=16, r=3, s=3, "
                               "pad_h=1, pad_w=1, rows=64, cols={}\n"
                               "  halt\n",
                               c.cols));
    auto s = run_stats({"--arch", "tpu_lab", "--no-functional", "--program", prog}, dir + "/out");
    const auto& setup = s["stats"]["groups"]["setup"]["stats"];
    CHECK(setup["busy_cycles"]["value"].get<long>() == c.busy);
    CHECK(setup["stall_cycles"]["value"].get<long>() == 82 - 1);  // issued at 1, band at 82
    CHECK(s["total_cycles"].get<long>() == 82 + c.busy);
  }
}

TEST_CASE("the dispatcher's waits for a full unit queue are counted", "[timing]") {
  // ResNet-50's layer2.0.conv2 (3x3, stride 2, 128 channels) on one TensorCore, pipelined: the
  // setup unit's im2col work waits for each band, and the dispatcher, in order, waits behind
  // it once that unit's queue of dispatch.queue_depth (32) is full. With queues deeper than
  // the program is long it never waits; the instructions are the same.
  const std::string dir = temp_dir("queue-full");
  const std::string wl = write_text(dir, "conv.yaml",
                                    "name: conv\nops:\n  - {name: c, op: conv2d, N: 1, C: 128, H: "
                                    "56, W: 56, K: 128, R: 3, S: 3, stride: 2, pad: 1, dtype: "
                                    "bf16}\n");
  auto run = [&](const std::string& depth) {
    const auto s = run_stats(
        {"--arch", "tpu_v4_core", "--no-functional", "--set", "lowering.single_step=false", "--set",
         "dispatch.queue_depth=" + depth, "--workload", wl},
        dir + "/d" + depth);
    const auto& d = s["stats"]["groups"]["dispatcher"]["stats"];
    return std::pair{d["queue_full_cycles"]["value"].get<long>(),
                     d["instructions"]["value"].get<long>()};
  };
  const auto [full32, instrs32] = run("32");
  const auto [full4096, instrs4096] = run("4096");
  CHECK(instrs4096 == instrs32);
  CHECK(instrs32 < 4096);
  CHECK(full32 > 0);
  CHECK(full4096 == 0);
}

TEST_CASE("a DMA unit keeps dram.in_flight requests at the channel", "[timing]") {
  // tpu_lab: DRAM 32 B per cycle, 50 cycles of latency; one instruction dispatched a cycle
  // (the first at 0). dma_in reads 1,024 B twice (32 cycles of the channel each); weight_dma
  // reads a 16 x 16 int8 tile (256 B, 8 cycles), dispatched at 2. The channel serves requests
  // in the order they are made.
  // - One in flight: dma_in requests its second read when its first has been transferred (at
  //   32), after the weights' request (at 2): first read 0-32, weights 32-40, second read 40-72.
  // - Two: dma_in requests its second read at once (at 1): 0-32, 32-64, weights 64-72.
  // A unit is busy while a transfer of its own waits for or uses the channel; the last read
  // arrives at 72 + 50 either way.
  struct Case {
    int in_flight;
    long dma_in_busy, weight_busy;
  };
  for (const Case& c : {Case{1, 72, 40 - 2}, Case{2, 64, 72 - 2}}) {
    INFO("in flight " << c.in_flight);
    const std::string dir = temp_dir(fmt::format("in-flight-{}", c.in_flight));
    const std::string prog = write_text(dir, "p.s",
                                        "  rdhost ub=0x0, dram=0x0, rows=1, bytes=1024\n"
                                        "  rdhost ub=0x400, dram=0x400, rows=1, bytes=1024\n"
                                        "  rdweight dram=0x1000, k=16, n=16, dtype=int8\n"
                                        "  halt\n");
    auto s = run_stats({"--arch", "tpu_lab", "--no-functional", "--set",
                        fmt::format("dram.in_flight={}", c.in_flight), "--program", prog},
                       dir + "/out");
    const auto& g = s["stats"]["groups"];
    CHECK(g["dma_in"]["stats"]["busy_cycles"]["value"].get<long>() == c.dma_in_busy);
    CHECK(g["weight_dma"]["stats"]["busy_cycles"]["value"].get<long>() == c.weight_busy);
    CHECK(s["total_cycles"].get<long>() == 72 + 50);
  }
}
