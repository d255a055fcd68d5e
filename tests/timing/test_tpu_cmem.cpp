// The TPU v4 chip's CMEM (models/tpu/cmem.h): a read cache shared by the cores in front of the
// DRAM channel. The Cmem class alone, against times worked out by hand from its rules, and
// the chip: an operand both cores read crosses DRAM once.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "models/core/memory.h"
#include "models/core/stats.h"
#include "models/tpu/cmem.h"
#include "tests/support.h"

using namespace xpusim;
using namespace xpusim::test;
using xpusim::tpu::Cmem;
using xpusim::tpu::DramBlock;

namespace {

// HBM: 32 bytes per cycle, 7 cycles of latency; the CMEM's port: 64 bytes per cycle, 3 cycles.
struct Rig {
  StatGroup stats{"chip", "a chip"};
  DramChannel hbm{32, 7, false, false, stats.group("dram")};
  Cmem cmem;
  explicit Rig(uint64_t bytes = 1 << 20, uint32_t ways = 16)
      : cmem(bytes, ways, 64, 3, false, hbm, stats.group("cmem")) {}
  double value(const std::string& path) const { return stats.value(path); }
};

DramBlock contiguous(uint64_t addr, uint64_t bytes) {
  return {addr, 1, bytes, bytes};
}

}  // namespace

TEST_CASE("cmem: a miss fetches from HBM, a later read of the same bytes hits the port",
          "[timing]") {
  Rig r;
  uint64_t offchip = 0;
  // 1,024 bytes missing: 32 cycles of HBM, data 7 cycles later.
  Server::Grant g = r.cmem.read(0, contiguous(0x1000, 1024), offchip);
  CHECK(g.service_end == 32);
  CHECK(g.done == 39);
  CHECK(offchip == 1024);
  // The same bytes in the same cycle (the other core): through the port (16 cycles), but the
  // data is still on its way from HBM: done with the fill.
  g = r.cmem.read(0, contiguous(0x1000, 1024), offchip);
  CHECK(g.service_end == 16);
  CHECK(g.done == 39);
  CHECK(offchip == 0);
  // Long after: the port alone, 16 cycles and 3 of latency.
  g = r.cmem.read(100, contiguous(0x1000, 1024), offchip);
  CHECK(g.service_end == 116);
  CHECK(g.done == 119);
  CHECK(r.value("dram.bytes_read") == 1024);
  CHECK(r.value("cmem.miss_bytes") == 1024);
  CHECK(r.value("cmem.fill_bytes") == 1024);
  CHECK(r.value("cmem.hit_bytes") == 2048);
  CHECK(r.value("cmem.pending_hit_bytes") == 1024);
  CHECK(r.value("cmem.port.bytes_read") == 2048);
  CHECK(r.value("cmem.port.busy_cycles") == 32);
}

TEST_CASE("cmem: a strided block fetches whole sectors of its rows only", "[timing]") {
  Rig r;
  uint64_t offchip = 0;
  // 4 rows of 40 bytes, 256 bytes apart: 2 sectors each, 8 sectors = 256 bytes from HBM.
  const Server::Grant g = r.cmem.read(0, {0x2000, 4, 40, 256}, offchip);
  CHECK(offchip == 256);
  CHECK(g.done == 256 / 32 + 7);
  CHECK(r.value("cmem.miss_bytes") == 160);
  CHECK(r.value("cmem.fill_bytes") == 256);
  // The gaps between the rows were not fetched: a read of the first gap misses.
  r.cmem.read(10, contiguous(0x2040, 32), offchip);
  CHECK(offchip == 32);
  // A read inside the fetched sectors hits, though the earlier read did not ask for its bytes.
  r.cmem.read(20, contiguous(0x2028, 24), offchip);
  CHECK(offchip == 0);
}

TEST_CASE("cmem: writes go through to HBM and allocate nothing", "[timing]") {
  Rig r;
  uint64_t offchip = 0;
  // Written, never read: HBM takes the bytes, the CMEM holds nothing of them.
  Server::Grant g = r.cmem.write(0, contiguous(0x4000, 64), offchip);
  CHECK(g.service_end == 2);
  CHECK(g.done == 9);
  CHECK(offchip == 64);
  r.cmem.read(10, contiguous(0x4000, 64), offchip);
  CHECK(offchip == 64);
  // Written after it was read: updated in place, still held.
  r.cmem.write(20, contiguous(0x4000, 32), offchip);
  r.cmem.read(30, contiguous(0x4000, 64), offchip);
  CHECK(offchip == 0);
  CHECK(r.value("dram.bytes_written") == 96);
  CHECK(r.value("cmem.write_bytes") == 96);
  CHECK(r.value("cmem.updated_bytes") == 32);
}

TEST_CASE("cmem: what does not fit is fetched again", "[timing]") {
  Rig r(8192, 2);  // 2 sets of 2 pages of 2 KiB
  uint64_t offchip = 0;
  r.cmem.read(0, contiguous(0, 16384), offchip);  // 8 pages: the last 4 stay
  r.cmem.read(100, contiguous(0, 128), offchip);
  CHECK(offchip == 128);
  r.cmem.read(200, contiguous(16384 - 128, 128), offchip);
  CHECK(offchip == 0);
  // Less than a set is refused, naming the parameter.
  StatGroup stats{"chip", "a chip"};
  DramChannel hbm{32, 7, false, false, stats.group("dram")};
  CHECK_THROWS_WITH(Cmem(2048, 2, 64, 3, false, hbm, stats.group("cmem")),
                    Catch::Matchers::Contains("cmem.bytes: 2048 bytes is less than one set"));
  // So is a capacity whose tags no host can map (2^53 pages, 2^58 bytes: beyond any x86-64
  // address space).
  CHECK_THROWS_WITH(Cmem(~uint64_t(0), 2, 64, 3, false, hbm, stats.group("cmem2")),
                    Catch::Matchers::Contains("more than the host can map"));
}

TEST_CASE("cmem: on the tpu_v4 chip the operand both cores read crosses DRAM once", "[timing]") {
  // 256 x 256 x 256 fp32: the cores take 128 rows of C each and both read all of B.
  const std::string dir = temp_dir("cmem-gemm");
  const std::string gemm =
      write_text(dir, "g.yaml",
                 "name: g\nops:\n  - {name: g, op: gemm, M: 256, N: 256, K: 256, dtype: fp32}\n");
  const double a = 256 * 256 * 4, b = 256 * 256 * 4, c = 256 * 256 * 4;
  auto stat = [](const nlohmann::json& s, const std::string& group, const std::string& name) {
    return s["stats"]["groups"][group]["stats"][name]["value"].get<double>();
  };
  const auto with =
      run_stats({"--arch", "tpu_v4", "--no-functional", "--workload", gemm}, dir + "/with");
  CHECK(stat(with, "dram", "bytes_read") == a + b);
  CHECK(stat(with, "dram", "bytes_written") == c);
  CHECK(stat(with, "cmem", "hit_bytes") == b);
  CHECK(stat(with, "cmem", "miss_bytes") == a + b);
  CHECK(with["dram_bytes"].get<double>() == a + b + c);
  CHECK(with["layers"][0]["dram_bytes"].get<double>() == a + b + c);
  // Without it each core reads B from DRAM, and the chip takes longer.
  const auto without = run_stats(
      {"--arch", "tpu_v4", "--set", "cmem.bytes=0", "--no-functional", "--workload", gemm},
      dir + "/without");
  CHECK(stat(without, "dram", "bytes_read") == a + 2 * b);
  CHECK(without["stats"]["groups"].count("cmem") == 0);
  CHECK(with["total_cycles"].get<long>() < without["total_cycles"].get<long>());
  // Values are the same through the CMEM: a functional run checks.
  CHECK(run_stats({"--arch", "tpu_v4", "--workload", gemm}, dir + "/values")["functional_check"] ==
        "passed");
}

TEST_CASE("cmem: a DMA unit's hit completes no sooner than its earlier miss", "[timing]") {
  // Core 0's dma_in reads 4 KiB (a miss, which fills the CMEM), 256 KiB from elsewhere (a miss),
  // then the first 4 KiB again (a hit: the CMEM's shorter latency), and dma_out stores 4 KiB
  // that one of the two later reads wrote. A DMA unit's requests complete in its order, so the
  // store waits as long behind the hit as behind the 256 KiB: both runs take as long.
  const std::string dir = temp_dir("cmem-order");
  auto run = [&](const std::string& name, const char* stored) {
    const std::string prog =
        write_text(dir, name + ".s",
                   fmt::format("# core 0\n"
                               "  rdhost ub=0x0, dram=0x0, rows=1, bytes=4096\n"
                               "  rdhost ub=0x100000, dram=0x100000, rows=1, bytes=262144\n"
                               "  rdhost ub=0x200000, dram=0x0, rows=1, bytes=4096\n"
                               "  wrhost ub={}, dram=0x400000, rows=1, bytes=4096\n"
                               "  halt\n# core 1\n  halt\n",
                               stored));
    return run_stats({"--arch", "tpu_v4", "--no-functional", "--program", prog}, dir + "/" + name);
  };
  const auto hit = run("hit", "0x200000"), miss = run("miss", "0x100000");
  CHECK(hit["stats"]["groups"]["cmem"]["stats"]["hit_bytes"]["value"].get<double>() == 4096);
  CHECK(hit["total_cycles"].get<long>() == miss["total_cycles"].get<long>());
}
