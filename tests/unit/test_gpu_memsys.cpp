// The GPU's memory-system pieces (models/gpu/memsys.h) against expectations worked out by hand
// from their rules: shared-memory wavefronts, coalescing into sectors, the sectored cache's
// LRU and write-backs, and the memory side's latencies and bandwidths.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/core/error.h"
#include "models/core/stats.h"
#include "models/gpu/memsys.h"

using namespace xpusim;
using namespace xpusim::gpu;
using Catch::Matchers::Contains;

namespace {

constexpr uint32_t kAll = 0xffffffffu;

// addr[lane] = f(lane) for the 32 lanes.
std::array<uint64_t, kWarpLanes> lanes(const std::function<uint64_t(uint32_t)>& f) {
  std::array<uint64_t, kWarpLanes> a{};
  for (uint32_t l = 0; l < kWarpLanes; ++l) a[l] = f(l);
  return a;
}

uint32_t wavefronts(const std::function<uint64_t(uint32_t)>& f, uint32_t bytes,
                    uint32_t mask = kAll, uint32_t banks = 32) {
  return shared_wavefronts(lanes(f).data(), mask, bytes, banks);
}

std::vector<uint64_t> sectors(const std::function<uint64_t(uint32_t)>& f, uint32_t bytes,
                              uint32_t mask = kAll) {
  std::array<uint64_t, kMaxWarpSectors> out{};
  const uint32_t n = coalesce(lanes(f).data(), mask, bytes, out.data());
  return {out.begin(), out.begin() + n};
}

}  // namespace

TEST_CASE("gpu memsys: shared-memory bank conflicts by stride", "[gpu]") {
  // 4-byte words in 32 banks: word w in bank w % 32.
  CHECK(wavefronts([](uint32_t l) { return 4 * l; }, 4) == 1);         // one word per bank
  CHECK(wavefronts([](uint32_t l) { return 8 * l; }, 4) == 2);         // even banks, 2 each
  CHECK(wavefronts([](uint32_t l) { return 128 * l; }, 4) == 32);      // all in bank 0
  CHECK(wavefronts([](uint32_t l) { return 132 * l; }, 4) == 1);       // 33 l % 32 = l
  CHECK(wavefronts([](uint32_t l) { return 4 * l + 4096; }, 4) == 1);  // the base does not matter
  // Bytes: 32 consecutive bytes are 8 words in 8 banks.
  CHECK(wavefronts([](uint32_t l) { return l; }, 1) == 1);
  // 16 banks: 32 consecutive words put 2 in each.
  CHECK(wavefronts([](uint32_t l) { return 4 * l; }, 4, kAll, 16) == 2);
}

TEST_CASE("gpu memsys: shared-memory broadcast, wide accesses, partial masks", "[gpu]") {
  CHECK(wavefronts([](uint32_t) { return 64; }, 4) == 1);                  // one word for all
  CHECK(wavefronts([](uint32_t l) { return 4 * (l / 2); }, 4) == 1);       // pairs share words
  CHECK(wavefronts([](uint32_t l) { return l < 16 ? 0 : 128; }, 4) == 2);  // 2 words in bank 0
  // 8-byte values: 64 consecutive words, 2 per bank; 16-byte values: 128 words, 4 per bank.
  CHECK(wavefronts([](uint32_t l) { return 8 * l; }, 8) == 2);
  CHECK(wavefronts([](uint32_t l) { return 16 * l; }, 16) == 4);
  // 8-byte values 16 bytes apart: words 4l and 4l+1, banks 0,1,4,5,...,28,29, 4 words each.
  CHECK(wavefronts([](uint32_t l) { return 16 * l; }, 8) == 4);
  // Only the lanes in the mask count.
  CHECK(wavefronts([](uint32_t l) { return 128 * l; }, 4, 0xf) == 4);
  CHECK(wavefronts([](uint32_t l) { return 128 * l; }, 4, 0x80000000u) == 1);
  CHECK(wavefronts([](uint32_t l) { return 128 * l; }, 4, 0) == 0);
  // Odd lanes at stride 2 words: words 2, 6, ..., 62 in banks 2, 6, ..., 30, two each.
  CHECK(wavefronts([](uint32_t l) { return 8 * l; }, 4, 0xaaaaaaaau) == 2);
  const auto a = lanes([](uint32_t l) { return 4 * l; });
  CHECK_THROWS_WITH(shared_wavefronts(a.data(), kAll, 32), Contains("32 bytes"));
}

TEST_CASE("gpu memsys: coalescing a warp's access into sectors", "[gpu]") {
  using V = std::vector<uint64_t>;
  CHECK(sectors([](uint32_t l) { return 0x1000 + 4 * l; }, 4) == V{0x1000, 0x1020, 0x1040, 0x1060});
  // Misaligned by 4 bytes: the last float reaches the fifth sector.
  CHECK(sectors([](uint32_t l) { return 0x1004 + 4 * l; }, 4) ==
        V{0x1000, 0x1020, 0x1040, 0x1060, 0x1080});
  // Lanes in descending order: the same sectors, ascending.
  CHECK(sectors([](uint32_t l) { return 0x1000 + 4 * (31 - l); }, 4) ==
        V{0x1000, 0x1020, 0x1040, 0x1060});
  CHECK(sectors([](uint32_t) { return 0x2010; }, 4) == V{0x2000});  // all lanes on one word
  // Floats 8 bytes apart: 256 bytes, 8 sectors; 128 bytes apart: one sector per lane.
  CHECK(sectors([](uint32_t l) { return 8 * l; }, 4).size() == 8);
  const V strided = sectors([](uint32_t l) { return 0x1000 + 128 * l; }, 4);
  REQUIRE(strided.size() == 32);
  for (uint32_t l = 0; l < 32; ++l) CHECK(strided[l] == 0x1000 + 128 * l);
  // 16-byte vectors: 512 bytes, 16 sectors.
  CHECK(sectors([](uint32_t l) { return 0x1000 + 16 * l; }, 16).size() == 16);
  // An 8-byte access at 0x101c crosses into the next sector.
  CHECK(sectors([](uint32_t) { return 0x101c; }, 8, 1) == V{0x1000, 0x1020});
  // Every lane crossing a boundary of sectors of its own: the largest count.
  CHECK(sectors([](uint32_t l) { return 0x1000 + 64 * l + 24; }, 16).size() == kMaxWarpSectors);
  CHECK(sectors([](uint32_t l) { return 4 * l; }, 4, 0).empty());
  CHECK(sectors([](uint32_t l) { return 4 * l; }, 4, 0x000000ffu) == V{0x0});
}

TEST_CASE("gpu memsys: grouping sectors into lines", "[gpu]") {
  const std::array<uint64_t, 5> s{0x1040, 0x1060, 0x1080, 0x10a0, 0x1180};
  std::array<LineRequest, 5> out{};
  REQUIRE(group_lines(s.data(), uint32_t(s.size()), out.data()) == 3);
  CHECK(out[0].line == 0x1000);
  CHECK(out[0].sector_mask == 0b1100);
  CHECK(out[1].line == 0x1080);
  CHECK(out[1].sector_mask == 0b0011);
  CHECK(out[2].line == 0x1180);
  CHECK(out[2].sector_mask == 0b0001);
  CHECK(group_lines(s.data(), 0, out.data()) == 0);
}

TEST_CASE("gpu memsys: spreading keys over units", "[gpu]") {
  CHECK(spread_index(12345, 1) == 0);
  // A power of two: consecutive aligned keys and the first multiples of any power-of-two stride
  // reach every unit.
  for (uint32_t n : {2u, 8u, 32u, 64u}) {
    for (unsigned k = 0; k < 40; ++k) {
      std::set<uint32_t> units;
      for (uint64_t i = 0; i < n; ++i)
        units.insert(spread_index((i << k) + (uint64_t(7) << 50), n));
      CHECK(units.size() == n);
    }
  }
  // 80 units: keys below 128 are one digit, so 0..79 reach all 80; a stride of 80, which a modulo
  // would send to one unit, reaches many.
  std::set<uint32_t> first, stride80;
  for (uint64_t i = 0; i < 80; ++i) {
    first.insert(spread_index(i, 80));
    stride80.insert(spread_index(80 * i, 80));
  }
  CHECK(first.size() == 80);
  CHECK(stride80.size() >= 40);
}

TEST_CASE("gpu memsys: sector cache LRU order in one set", "[gpu]") {
  SectorCache c(4 * 128, 4);  // one set of four ways
  REQUIRE(c.sets() == 1);
  const uint64_t A = 0x0000, B = 0x1000, C = 0x2000, D = 0x3000, E = 0x4000;
  const auto read = [&](uint64_t line, bool allocate) {
    return c.access(line, 1, allocate, false);
  };
  for (uint64_t x : {A, B, C, D}) CHECK(read(x, true).hits == 0);
  CHECK(read(A, true).hits == 1);  // use order, oldest first: B C D A
  CHECK(read(E, true).hits == 0);  // evicts B: C D A E
  CHECK(read(B, true).hits == 0);  // evicts C: D A E B
  for (uint64_t x : {D, A, E, B}) CHECK(read(x, true).hits == 1);
  CHECK(read(C, false).hits == 0);  // C is gone; a read without allocate changes nothing
  for (uint64_t x : {D, A, E, B}) CHECK(read(x, false).hits == 1);
  // A miss without allocate on a present line does not make it the most recently used: D, the
  // oldest, is still the one evicted.
  CHECK(c.access(D, 0b0010, false, false).hits == 0);
  CHECK(read(C, true).hits == 0);
  CHECK(read(D, false).hits == 0);
  // After an invalidation the order is that of the accesses since, in whichever ways they took.
  c.invalidate_all();
  for (uint64_t x : {E, D, C, B}) CHECK(read(x, true).hits == 0);
  CHECK(read(E, true).hits == 1);  // D C B E
  CHECK(read(A, true).hits == 0);  // evicts D: C B E A
  CHECK(read(D, false).hits == 0);
  for (uint64_t x : {C, B, E, A}) CHECK(read(x, false).hits == 1);
}

TEST_CASE("gpu memsys: sector cache sectors, write-backs, no-allocate, invalidation", "[gpu]") {
  SectorCache c(2 * 128, 2);  // one set of two ways
  const uint64_t A = 0x10000, B = 0x20000, C = 0x30000;
  // Sectors are valid one by one within an allocated line; an access reports its sectors' hits.
  CHECK(c.access(A + 32, 0b0010, true, false).hits == 0);
  CHECK(c.access(A, 0b0010, true, false).hits == 0b0010);
  CHECK(c.access(A + 40, 0b0110, true, false).hits == 0b0010);  // low 7 bits ignored
  CHECK(c.access(A, 0b1111, false, false).hits == 0b0110);
  // Write-back: sectors 0 and 2 of A dirty; B, then C evicts A with both.
  CHECK(c.access(A, 0b0101, true, true).hits == 0b0100);
  CHECK(c.access(B, 0b0001, true, false).evicted_dirty == 0);
  const SectorCache::Outcome o = c.access(C, 0b1000, true, false);
  CHECK(o.hits == 0);
  CHECK(o.evicted_dirty == 0b0101);
  CHECK(o.evicted_line == A);
  // Write-through, no allocate: an absent line stays absent; a valid sector stays clean.
  CHECK(c.access(A, 0b0001, false, true).hits == 0);
  CHECK(c.access(A, 0b0001, false, false).hits == 0);
  CHECK(c.access(B, 0b0011, false, true).hits == 0b0001);
  CHECK(c.access(A, 0b0001, true, false).evicted_dirty == 0);  // evicts C (B was used last)
  CHECK(c.access(C, 0b0001, true, false).evicted_dirty == 0);  // evicts B, clean
  // Fill times: the line's latest, reported whether the accessed sectors hit or not; a line
  // allocated again starts without one.
  c.note_fill(A, 500);
  c.note_fill(A + 32, 400);
  CHECK(c.access(A, 0b0001, true, false).ready == 500);
  CHECK(c.access(A, 0b0010, false, false).ready == 500);
  c.clear_fills();
  CHECK(c.access(A, 0b0010, false, false).ready == 0);
  c.note_fill(A, 500);
  c.note_fill(B, 600);                                 // absent: nothing
  CHECK(c.access(B, 0b0001, true, false).ready == 0);  // evicts C
  CHECK(c.access(C, 0b0001, true, false).ready == 0);  // evicts A
  CHECK(c.access(A, 0b0001, true, false).ready == 0);  // evicts B
  // Invalidation drops everything, dirty sectors included, without a write-back.
  c.access(C, 0b1000, true, true);
  c.invalidate_all();
  CHECK(c.access(C, 0b1000, true, false).hits == 0);
  CHECK(c.access(A, 0b0001, true, false).hits == 0);
  CHECK(c.access(B, 0b0001, true, false).evicted_dirty == 0);  // evicts C
  CHECK_THROWS_WITH(SectorCache(1000, 8), Contains("less than one set"));
  CHECK_THROWS_WITH(SectorCache(1024, 0), Contains("0 ways"));
  // A capacity whose state no host can map (2^57 lines, 2^60 bytes of tags: beyond any x86-64
  // address space) is an Error, not std::bad_alloc.
  CHECK_THROWS_WITH(SectorCache(~uint64_t(0), 1), Contains("more than the host can map"));
}

TEST_CASE("gpu memsys: sector cache with a non-power-of-two set count, hashed or not", "[gpu]") {
  for (bool hashed : {false, true}) {
    // 28 KiB of 4 ways: 56 sets, 224 lines; 224 consecutive lines fit either way.
    SectorCache c(28 * 1024, 4, hashed);
    REQUIRE(c.sets() == 56);
    for (uint64_t l = 0; l < 224; ++l) CHECK(c.access(l * 128, 1, true, false).hits == 0);
    for (uint64_t l = 0; l < 224; ++l) CHECK(c.access(l * 128, 1, true, false).hits == 1);
  }
  // Without the hash, lines 0, 56, 112, 168 and 224 share set 0: the fifth evicts line 0.
  SectorCache plain(28 * 1024, 4);
  for (uint64_t l = 0; l <= 224; l += 56) plain.access(l * 128, 1, true, false);
  CHECK(plain.access(0, 1, false, false).hits == 0);
  CHECK(plain.access(56 * 128, 1, false, false).hits == 1);
  // 64 sets: 16 lines 64 lines apart all fall in one set without the hash (and thrash 4 ways),
  // and spread over the sets with it.
  for (bool hashed : {false, true}) {
    SectorCache c(32 * 1024, 4, hashed);
    REQUIRE(c.sets() == 64);
    for (int pass = 0; pass < 2; ++pass) {
      int hits = 0;
      for (uint64_t i = 0; i < 16; ++i) hits += c.access(i * 64 * 128, 1, true, false).hits;
      CHECK(hits == (pass == 1 && hashed ? 16 : 0));
    }
  }
}

namespace {

// 4 slices of 16 KiB (32 sets of 4 ways); a slice moves 64 B/cycle (t_s = 0.5 cycle); DRAM of
// 4 channels at 32 B/cycle in all, 8 B/cycle each (t_d = 4 cycles a sector).
MemorySideParams small_params() {
  MemorySideParams p;
  p.l2_bytes = 64 * 1024;
  p.l2_slices = 4;
  p.l2_ways = 4;
  p.l2_bytes_per_cycle_per_slice = 64;
  p.l2_hit_latency = 100;
  p.dram_channels = 4;
  p.dram_bytes_per_cycle = 32;
  p.dram_latency = 200;
  p.dram_interleave_bytes = 256;
  return p;
}

// The first `n` lines (byte addresses) that spread_index puts in `slice`.
std::vector<uint64_t> lines_of_slice(uint32_t slice, uint32_t slices, size_t n) {
  std::vector<uint64_t> v;
  for (uint64_t l = 0; v.size() < n; ++l)
    if (spread_index(l, slices) == slice) v.push_back(l * 128);
  return v;
}

}  // namespace

TEST_CASE("gpu memsys: latency of a miss, a hit, and a hit under a miss", "[gpu]") {
  const MemorySideParams p = small_params();
  StatGroup stats("gpu");
  MemorySide m(p, stats);
  const uint64_t t_d = 32 / 8, miss = t_d + p.dram_latency + p.l2_hit_latency;
  // A one-sector miss on idle slice and channel: the channel's transfer and both latencies.
  CHECK(m.serve(10, 0x40000, 0b0001, Access::read) == 10 + miss);
  // Under the miss, the same sector hits but waits for the data.
  CHECK(m.serve(11, 0x40000, 0b0001, Access::read) == 10 + miss);
  // After it, a hit takes the hit latency.
  CHECK(m.serve(400, 0x40000, 0b0001, Access::read) == 400 + p.l2_hit_latency);
  // A line's four sectors missing: one channel (interleave 256), four transfers in a row.
  CHECK(m.serve(1000, 0x80000, 0b1111, Access::read) ==
        1000 + 4 * t_d + p.dram_latency + p.l2_hit_latency);
  // A write on an idle slice: acknowledged after the hit latency, without DRAM.
  CHECK(m.serve(2000, 0xc0000, 0b0010, Access::write) == 2000 + p.l2_hit_latency);
  CHECK(stats.value("l2.read_sectors") == 7);
  CHECK(stats.value("l2.write_sectors") == 1);
  CHECK(stats.value("l2.hits") == 2);
  CHECK(stats.value("l2.pending_hits") == 1);
  CHECK(stats.value("l2.misses") == 5);
  CHECK(stats.value("l2.hit_rate") == Approx(2.0 / 7));
  CHECK(stats.value("dram.bytes_read") == 5 * 32);
  CHECK(stats.value("dram.bytes_written") == 0);
  CHECK(stats.value("dram.busy_cycles") == 5 * t_d);
  // The line's sectors reach the channel 0.5 cycle apart and wait 3.5, 7 and 10.5 cycles.
  CHECK(stats.value("dram.queue_cycles") == 21);
}

TEST_CASE("gpu memsys: a slice's bandwidth", "[gpu]") {
  const MemorySideParams p = small_params();
  StatGroup stats("gpu");
  MemorySide m(p, stats);
  // 16 four-sector writes to one slice at cycle 0: 64 sectors at 0.5 cycle are 32 cycles of the
  // slice. Request r's last sector starts at 2r + 1.5: acknowledged at 2r + 2 + latency.
  const std::vector<uint64_t> lines = lines_of_slice(0, p.l2_slices, 16);
  for (uint64_t r = 0; r < 16; ++r)
    CHECK(m.serve(0, lines[r], 0b1111, Access::write) == 2 * r + 2 + p.l2_hit_latency);
  CHECK(stats.value("l2.busy_cycles") == 32);
  CHECK(stats.value("l2.queue_cycles") == 2 * (15 * 16 / 2));  // request r waits 2r cycles
  // Another slice is idle; this one is busy until cycle 32.
  const uint64_t other = lines_of_slice(1, p.l2_slices, 1)[0];
  CHECK(m.serve(0, other, 0b0001, Access::write) == p.l2_hit_latency);
  CHECK(m.serve(1, lines[0], 0b0001, Access::read) == 32 + p.l2_hit_latency);
}

TEST_CASE("gpu memsys: a following kernel keeps the L2 and restarts the clock", "[gpu]") {
  const MemorySideParams p = small_params();
  StatGroup first("gpu");
  MemorySide m(p, first);
  const uint64_t t_d = 32 / 8, miss = t_d + p.dram_latency + p.l2_hit_latency;
  CHECK(m.serve(0, 0x40000, 0b0001, Access::read) == miss);  // fetched by the first kernel
  CHECK(m.serve(0, 0x80000, 0b0001, Access::write) == p.l2_hit_latency);  // dirty
  // 16 four-sector writes queue 32 cycles of work at slice 0 from cycle 1000.
  const std::vector<uint64_t> lines = lines_of_slice(0, p.l2_slices, 17);
  for (int r = 0; r < 16; ++r) m.serve(1000, lines[size_t(r)], 0b1111, Access::write);
  m.restart_at(1010);  // the first kernel ends at 1010: the slice has 22 cycles left
  StatGroup second("gpu");
  m.attach(second);
  // The line the first kernel fetched hits at once (its fill time is forgotten, not 1010 late).
  CHECK(m.serve(0, 0x40000, 0b0001, Access::read) == p.l2_hit_latency);
  CHECK(m.serve(0, 0x80000, 0b0001, Access::read) == p.l2_hit_latency);  // the dirty sector
  // Slice 0 is busy with the first kernel's writes until the new cycle 22.
  CHECK(m.serve(0, lines[16], 0b0001, Access::write) == 22 + p.l2_hit_latency);
  // The second kernel's statistics count only its own requests; the first's keep theirs.
  CHECK(second.value("l2.read_sectors") == 2);
  CHECK(second.value("l2.hits") == 2);
  CHECK(second.value("l2.misses") == 0);
  CHECK(second.value("l2.write_sectors") == 1);
  CHECK(second.value("dram.bytes_read") == 0);
  CHECK(second.value("l2.hit_rate") == 1);
  CHECK(first.value("l2.read_sectors") == 1);
  CHECK(first.value("l2.write_sectors") == 1 + 64);
  CHECK(first.value("dram.bytes_read") == 32);
}

TEST_CASE("gpu memsys: DRAM bandwidth over many misses", "[gpu]") {
  const MemorySideParams p = small_params();
  StatGroup stats("gpu");
  MemorySide m(p, stats);
  // 2048 distinct lines (256 KiB, four times the L2), all at cycle 0: the slices could pass
  // them in 1024 cycles, the channels need 256 KiB / 32 B per cycle = 8192.
  uint64_t last = 0;
  for (uint64_t l = 0; l < 2048; ++l)
    last = std::max(last, m.serve(0, l * 128, 0b1111, Access::read));
  const double bound = 2048.0 * 128 / p.dram_bytes_per_cycle + p.dram_latency + p.l2_hit_latency;
  CHECK(double(last) >= bound);
  CHECK(double(last) <= 1.02 * bound);
  CHECK(stats.value("dram.bytes_read") == 2048 * 128);
  CHECK(stats.value("dram.busy_cycles") == 4 * 8192);  // summed over the four channels
  CHECK(stats.value("l2.misses") == 2048 * 4);
}

TEST_CASE("gpu memsys: write-backs and atomics", "[gpu]") {
  // One slice of one set of two ways, one DRAM channel: evictions are easy to follow.
  MemorySideParams p = small_params();
  p.l2_bytes = 2 * 128;
  p.l2_slices = 1;
  p.l2_ways = 2;
  p.dram_channels = 1;
  p.dram_bytes_per_cycle = 8;  // t_d = 4
  StatGroup stats("gpu");
  MemorySide m(p, stats);
  const uint64_t L = p.l2_hit_latency, D = p.dram_latency;
  const uint64_t A = 0x1000, B = 0x2000, C = 0x3000, E = 0x4000;
  CHECK(m.serve(0, A, 0b1111, Access::write) == 2 + L);  // the last sector starts at 1.5
  CHECK(m.serve(10, B, 0b0011, Access::write) == 11 + L);
  // C evicts A (4 dirty sectors): C's own fetch first, [1000, 1004), then A's write-backs
  // occupy the channel until 1020.
  CHECK(m.serve(1000, C, 0b0001, Access::read) == 1004 + D + L);
  // E evicts B (2 dirty sectors); its fetch waits for A's write-backs: [1020, 1024).
  CHECK(m.serve(1001, E, 0b0001, Access::read) == 1024 + D + L);
  CHECK(stats.value("l2.write_backs") == 6);
  CHECK(stats.value("dram.bytes_written") == 6 * 32);
  // Waits: A's write-backs 4 + 8 + 12 + 16, E's fetch 19, B's write-backs 23 + 27.
  CHECK(stats.value("dram.queue_cycles") == 40 + 19 + 50);
  // An atomic misses like a read, then its sector is dirty: evicting it writes it back.
  CHECK(m.serve(2000, A, 0b0100, Access::atomic) == 2000 + 4 + D + L);
  CHECK(m.serve(3000, A, 0b0100, Access::atomic) == 3000 + L);  // a hit
  m.serve(3001, B, 0b0001, Access::read);                       // evicts E, clean
  m.serve(3002, C, 0b0001, Access::read);                       // evicts A: its atomic sector
  CHECK(stats.value("l2.atomic_sectors") == 2);
  CHECK(stats.value("l2.write_backs") == 7);
  CHECK(stats.value("dram.bytes_written") == 7 * 32);
}

TEST_CASE("gpu memsys: a request's sectors in order: fills, hits under them, eviction", "[gpu]") {
  // One slice of one set of two ways (t_s = 0.5 cycle), one DRAM channel (t_d = 4 cycles).
  MemorySideParams p = small_params();
  p.l2_bytes = 2 * 128;
  p.l2_slices = 1;
  p.l2_ways = 2;
  p.dram_channels = 1;
  p.dram_bytes_per_cycle = 8;
  StatGroup stats("gpu");
  MemorySide m(p, stats);
  const uint64_t L = p.l2_hit_latency, D = p.dram_latency;
  const uint64_t A = 0x1000, B = 0x2000, C = 0x3000;
  CHECK(m.serve(0, A, 0b0001, Access::write) == L);  // A: sector 0 valid and dirty
  CHECK(m.serve(1, B, 0b0010, Access::write) == 1 + L);
  // A hit before a miss does not wait for it: sector 0 at 10, sector 1's transfer [10.5, 14.5).
  CHECK(m.serve(10, A, 0b0011, Access::read) == 15 + D + L);
  // A hit after a miss of the same request waits for its fill: B's sector 0, [30, 34), then
  // sector 1, a hit at 30.5 that would be back at 31 + L.
  CHECK(m.serve(30, B, 0b0011, Access::read) == 34 + D + L);
  CHECK(stats.value("l2.pending_hits") == 1);
  // C evicts A (sector 0 dirty) with its first sector: that sector's fetch [40, 44), A's
  // write-back [44, 48), then the second sector's fetch [48, 52).
  CHECK(m.serve(40, C, 0b0011, Access::read) == 52 + D + L);
  CHECK(stats.value("l2.write_backs") == 1);
  CHECK(stats.value("l2.hits") == 2);
  CHECK(stats.value("l2.misses") == 4);
  CHECK(stats.value("dram.queue_cycles") == 4 + 7.5);
}

TEST_CASE("gpu memsys: a DRAM channel serves in call order", "[gpu]") {
  MemorySideParams p = small_params();
  p.dram_channels = 1;
  p.dram_bytes_per_cycle = 8;  // t_d = 4
  StatGroup stats("gpu");
  MemorySide m(p, stats);
  const uint64_t L = p.l2_hit_latency, D = p.dram_latency;
  // Slice 0 busy until cycle 32 with writes (no DRAM traffic); then a miss there reaches the
  // channel at 32, [32, 36); a later call's miss at idle slice 1 reaches it at 0 but waits.
  const std::vector<uint64_t> busy = lines_of_slice(0, p.l2_slices, 17);
  for (int r = 0; r < 16; ++r) m.serve(0, busy[r], 0b1111, Access::write);
  CHECK(m.serve(0, busy[16], 0b0001, Access::read) == 36 + D + L);
  CHECK(m.serve(0, lines_of_slice(1, p.l2_slices, 1)[0], 0b0001, Access::read) == 40 + D + L);
}

TEST_CASE("gpu memsys: deterministic, and min_round_trip bounds every request", "[gpu]") {
  MemorySideParams p = small_params();
  p.l2_bytes_per_cycle_per_slice = 48;  // t_s = 2/3: fractions that do not add up exactly
  p.dram_bytes_per_cycle = 20;
  auto run = [&](StatGroup& stats, std::vector<uint64_t>& rounds) {
    MemorySide m(p, stats);
    std::mt19937_64 rng(1234);
    uint64_t cycle = 0;
    std::vector<uint64_t> done;
    for (int i = 0; i < 20000; ++i) {
      cycle += rng() % 3;
      const uint64_t line = (rng() % 4096) * 128;
      const uint8_t mask = uint8_t(1 + rng() % 15);
      const Access kind = Access(rng() % 3);
      const uint64_t d = m.serve(cycle, line, mask, kind);
      done.push_back(d);
      rounds.push_back(d - cycle);
    }
    return std::make_pair(done, m.min_round_trip());
  };
  StatGroup s1("gpu"), s2("gpu");
  std::vector<uint64_t> r1, r2;
  const auto [d1, min1] = run(s1, r1);
  const auto [d2, min2] = run(s2, r2);
  CHECK(d1 == d2);
  CHECK(s1.to_json().dump() == s2.to_json().dump());
  CHECK(min1 == p.l2_hit_latency);
  CHECK(*std::min_element(r1.begin(), r1.end()) >= min1);
  // The bound is reached: a write on an idle slice.
  StatGroup s3("gpu");
  MemorySide idle(p, s3);
  CHECK(idle.serve(5, 0, 0b0001, Access::write) - 5 == idle.min_round_trip());
}

TEST_CASE("gpu memsys: parameter and request errors", "[gpu]") {
  StatGroup stats("gpu");
  MemorySideParams p = small_params();
  p.l2_slices = 0;
  CHECK_THROWS_WITH(MemorySide(p, stats), Contains("l2_slices"));
  p = small_params();
  p.l2_bytes = 4 * 256;
  CHECK_THROWS_WITH(MemorySide(p, stats), Contains("less than one set"));
  p = small_params();
  p.dram_bytes_per_cycle = 0;
  CHECK_THROWS_WITH(MemorySide(p, stats), Contains("dram_bytes_per_cycle"));
  p = small_params();
  p.dram_interleave_bytes = 48;
  CHECK_THROWS_WITH(MemorySide(p, stats), Contains("dram_interleave_bytes"));
  StatGroup ok("gpu");
  MemorySide m(small_params(), ok);
  CHECK_THROWS_WITH(m.serve(0, 0, 0, Access::read), Contains("sector mask"));
  CHECK_THROWS_WITH(m.serve(0, 0, 0x10, Access::read), Contains("sector mask"));
}
