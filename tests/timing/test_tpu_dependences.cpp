// Dependences between units of the TPU model (docs/isa/tpu.md, "Dependences"): a unit starts
// an instruction once the earlier ones it conflicts with have completed, or, for a write
// after a read, once the reader has finished reading. Expected cycles are derived here from
// the documented timing of tpu_lab (500 MHz, vpu: 64 lanes, latency 8; act: latency 4;
// dispatch: one instruction per cycle), independently of how the dispatcher tracks them.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "tests/support.h"

using namespace xpusim::test;

namespace {

// A vector add of 8 x 16 int8 (busy 8*16/64 = 2 cycles, done 2 + 8 = 10) dispatched at cycle
// 0, then a 1 x 16 activate (busy 1, latency 4) writing UB bytes [ub, ub + 16), dispatched at
// cycle 1. Returns the activate's stall cycles and the program's cycles.
std::pair<long, long> vector_then_activate(const std::string& name, const std::string& vector,
                                           unsigned ub) {
  const std::string dir = temp_dir("dep-" + name);
  const std::string prog = write_text(
      dir, "p.s",
      fmt::format("  vector func=add, {}, rows=8, cols=16, dtype=int8\n"
                  "  activate acc=0x0, ub={:#x}, rows=1, cols=16, dtype=int8, func=none\n"
                  "  halt\n",
                  vector, ub));
  auto s = run_stats({"--arch", "tpu_lab", "--no-functional", "--program", prog}, dir + "/out");
  return {s["stats"]["groups"]["act"]["stats"]["stall_cycles"]["value"].get<long>(),
          s["total_cycles"].get<long>()};
}

// The cycles of assembly program `prog` (halt appended) on tpu_lab, timing only, in dir/name.
long program_cycles(const std::string& dir, const std::string& name, const std::string& prog) {
  const std::string path = write_text(dir, name + ".s", prog + "  halt\n");
  return run_stats({"--arch", "tpu_lab", "--no-functional", "--program", path},
                   dir + "/" + name)["total_cycles"]
      .get<long>();
}

}  // namespace

TEST_CASE("a write waits for the completion of an earlier write of its bytes", "[timing]") {
  // dst [0x100, 0x180); the activate writes [0x150, 0x160), which the vector also reads
  // (through src2 after dst, or through src before it): the write after write decides.
  for (const char* v : {"dst=0x100, src=0x400, src2=0x140", "dst=0x100, src=0x140, src2=0x400"}) {
    INFO(v);
    const auto [stall, cycles] = vector_then_activate("waw", v, 0x150);
    CHECK(stall == 10 - 1);       // starts at the vector's done (10), issued at 1
    CHECK(cycles == 10 + 1 + 4);  // then busy 1, latency 4
  }
}

TEST_CASE("a write after a read waits only until the reader has read", "[timing]") {
  // The activate writes [0x180, 0x190), which the vector only reads (src2 [0x140, 0x1c0)).
  const auto [stall, cycles] =
      vector_then_activate("war", "dst=0x100, src=0x400, src2=0x140", 0x180);
  CHECK(stall == 2 - 1);  // starts at the vector's read_done (2)
  CHECK(cycles == 10);    // the vector's done; the activate is done at 2 + 1 + 4
}

TEST_CASE("independent instructions do not wait for each other", "[timing]") {
  const auto [stall, cycles] =
      vector_then_activate("none", "dst=0x100, src=0x400, src2=0x140", 0x600);
  CHECK(stall == 0);
  CHECK(cycles == 10);
}

TEST_CASE("a DMA unit's own writes do not wait for each other", "[timing]") {
  // Two strided stores whose rows interleave: their DRAM byte ranges overlap as intervals, but
  // the same DMA unit's requests complete in its order, so the second starts once the first's
  // transfer is served, not after its latency (50 cycles on tpu_lab).
  const std::string dir = temp_dir("dep-dma-own");
  const std::string prog =
      write_text(dir, "p.s",
                 "  wrhost dram=0x1000, ub=0x0, rows=4, bytes=16, stride=64\n"
                 "  wrhost dram=0x1010, ub=0x100, rows=4, bytes=16, stride=64\n"
                 "  halt\n");
  auto s = run_stats({"--arch", "tpu_lab", "--no-functional", "--program", prog}, dir + "/out");
  CHECK(s["stats"]["groups"]["dma_out"]["stats"]["stall_cycles"]["value"].get<long>() == 0);
}

TEST_CASE("the activation pipeline moves act.rows rows per cycle", "[timing]") {
  // 32 rows of 16 (one array width on tpu_lab): 32 cycles at one row per cycle, 4 at eight; the
  // UB port (256 B per cycle) needs only 2 for the 512 bytes.
  const std::string dir = temp_dir("act-rows");
  const std::string prog = write_text(
      dir, "p.s", "  activate acc=0x0, ub=0x0, rows=32, cols=16, dtype=int8, func=none\n  halt\n");
  for (const auto& [rows, busy] : {std::pair<int, long>{1, 32}, {8, 4}}) {
    INFO("act.rows " << rows);
    auto s = run_stats({"--arch", "tpu_lab", "--no-functional", "--set",
                        "act.rows=" + std::to_string(rows), "--program", prog},
                       dir + "/out" + std::to_string(rows));
    CHECK(s["stats"]["groups"]["act"]["stats"]["busy_cycles"]["value"].get<long>() == busy);
  }
}

TEST_CASE("a summing activate waits only for writes of the tiles it adds", "[timing]") {
  // A 16 x 16 int8 matmul writes accumulator bytes [0x400, 0x800). The activate adds two
  // 16 x 16 tiles (0x400 bytes of fp32 each) from 0x0, `gap` apart: 0x800 leaves the matmul's
  // bytes between its tiles, 0x400 makes them its second tile.
  for (const auto& [gap, waits] : {std::pair<int, bool>{0x800, false}, {0x400, true}}) {
    INFO(fmt::format("gap {:#x}", gap));
    const std::string dir = temp_dir(fmt::format("dep-sum-{:x}", gap));
    const std::string prog = write_text(
        dir, "p.s",
        fmt::format("  rdweight dram=0x0, k=16, n=16, dtype=int8, stride=16, transpose=0, mxu=0\n"
                    "  matmul ub=0x0, acc=0x400, m=16, k=16, n=16, dtype=int8, mode=set, mxu=0\n"
                    "  activate acc=0x0, ub=0x1000, rows=16, cols=16, dtype=int8, func=none, "
                    "sum=2, gap={:#x}\n"
                    "  halt\n",
                    gap));
    auto s = run_stats({"--arch", "tpu_lab", "--no-functional", "--program", prog}, dir + "/out");
    const long stall = s["stats"]["groups"]["act"]["stats"]["stall_cycles"]["value"].get<long>();
    if (waits)
      CHECK(stall > 0);
    else
      CHECK(stall == 0);
  }
}

TEST_CASE("the vector unit reads and writes the UB at once", "[timing]") {
  // An add of 8 x 64 bf16 on tpu_lab (64 lanes: 8 cycles of compute) with UB paths of 64 B per
  // cycle: it reads 2 x 1,024 B (32 cycles) while it writes 1,024 B (16), so it is busy 32
  // cycles, not 48, and done vpu.latency (8) after.
  const std::string dir = temp_dir("vector-paths");
  const std::string prog = write_text(
      dir, "p.s",
      "  vector func=add, dst=0x0, src=0x1000, src2=0x2000, rows=8, cols=64, dtype=bf16\n"
      "  halt\n");
  auto s = run_stats(
      {"--arch", "tpu_lab", "--no-functional", "--set", "ub.port_bytes=64", "--program", prog},
      dir + "/out");
  CHECK(s["stats"]["groups"]["vpu"]["stats"]["busy_cycles"]["value"].get<long>() == 32);
  CHECK(s["total_cycles"].get<long>() == 32 + 8);
}

TEST_CASE("a matmul's weights shift into the array while its rows arrive", "[timing]") {
  // tpu_lab: 32 DRAM bytes per cycle, 50 cycles of latency, a 16 x 16 array. The weight tile
  // (256 B) is served first, in the FIFO at 8 + 50; A (4 KiB) after it, in the UB at
  // 8 + 128 + 50 = 186. The array shifts the weights in (R = 16 cycles) while A arrives, so the
  // matmul streams its 16 rows from 186 on and is done a skew (R + C - 2) after: 186 + 16 + 30,
  // not R cycles later, as it would be if the load waited for A.
  const std::string dir = temp_dir("dep-weights-first");
  const std::string load =
      "  rdweight dram=0x10000, k=16, n=16, dtype=int8\n"
      "  rdhost ub=0x0, dram=0x0, rows=256, bytes=16\n";
  const long a_done = program_cycles(dir, "loads", load);
  CHECK(a_done == 8 + 128 + 50);
  CHECK(program_cycles(dir, "matmul",
                       load + "  matmul ub=0x0, acc=0x0, m=16, k=16, n=16, dtype=int8\n") ==
        a_done + 16 + (16 + 16 - 2));
}

TEST_CASE("a matmul's weights shift in before the time of its accumulators is known", "[timing]") {
  // tpu_lab as above, act.rows 1. The weight tile is in the FIFO at 8 + 50, A in the UB at
  // 16 + 50. The matmul writes the accumulators a second activate reads, which is queued behind
  // a first of 256 rows: its read ends, and the core learns when, only once the first is done
  // (it reads its row from acts - 4 - 1 to acts - 4, `acts` the program without the matmul).
  // The array loads the weights (R = 16 cycles) long before; the matmul streams its 16 rows
  // from acts - 4 and is done a skew later. Were it offered only once that time is known, the
  // load would come first: R - 1 cycles more.
  const std::string dir = temp_dir("dep-weights-untimed");
  const std::string acts =
      "  rdweight dram=0x10000, k=16, n=16, dtype=int8\n"
      "  rdhost ub=0x0, dram=0x0, rows=16, bytes=16\n"
      "  activate acc=0x0, ub=0x1000, rows=256, cols=16, dtype=int8, func=none\n"
      "  activate acc=0x4000, ub=0x2000, rows=1, cols=16, dtype=int8, func=none\n";
  const long done = program_cycles(dir, "acts", acts);
  CHECK(done == 2 + 256 + 1 + 4);  // the first starts at its dispatch, cycle 2
  CHECK(program_cycles(dir, "matmul",
                       acts + "  matmul ub=0x0, acc=0x4000, m=16, k=16, n=16, dtype=int8\n") ==
        done - 4 + 16 + (16 + 16 - 2));
}

TEST_CASE("the next weights shift in while a kept stream waits for its rows", "[timing]") {
  // tpu_lab as above. Two weight tiles, A's first 256 B, then 4 KiB more, in the UB last (at
  // `a_done`, the loads alone). The first matmul loads the first tile; the second streams 8 of
  // the late rows against it (keep=1), from a_done to a_done + 8; the third loads the second
  // tile (R = 16 cycles) into the shadow registers, free since the first stream started, long
  // before a_done: it streams its 16 rows right after the kept 8 and is done a skew later,
  // a_done + 8 + 16 + 30. Were the load to wait for the kept matmul's rows, it would end at
  // a_done + 16, and the third stream 8 cycles later.
  const std::string dir = temp_dir("dep-kept-stream");
  const std::string weights =
      "  rdweight dram=0x10000, k=16, n=16, dtype=int8\n"
      "  rdweight dram=0x10100, k=16, n=16, dtype=int8\n"
      "  rdhost ub=0x0, dram=0x0, rows=16, bytes=16\n";
  const std::string late = "  rdhost ub=0x1000, dram=0x1000, rows=256, bytes=16\n";
  const long a_done = program_cycles(dir, "loads", weights + late);
  CHECK(program_cycles(dir, "matmuls",
                       weights + "  matmul ub=0x0, acc=0x0, m=16, k=16, n=16, dtype=int8\n" + late +
                           "  matmul ub=0x1000, acc=0x400, m=8, k=16, n=16, dtype=int8, "
                           "keep=1\n"
                           "  matmul ub=0x0, acc=0x800, m=16, k=16, n=16, dtype=int8\n") ==
        a_done + 8 + 16 + (16 + 16 - 2));
}
