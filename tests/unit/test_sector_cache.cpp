// The sector cache's prefetch hint (models/core/cache.h) changes nothing: the same calls with
// prefetches of lines about to come, and of others, between them give the same outcomes, on a
// power-of-two and an odd set count, hashed or not. (Its replacement and sectors are
// tests/unit/test_gpu_memsys.cpp's.)
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <vector>

#include "models/core/cache.h"

using xpusim::SectorCache;

TEST_CASE("sector cache: prefetches change no outcome", "[unit]") {
  for (const uint64_t bytes : {uint64_t(64) * 1024, uint64_t(56) * 1024})  // 128 and 112 sets
    for (const bool hashed : {false, true}) {
      SectorCache plain(bytes, 4, hashed, 3), hinted(bytes, 4, hashed, 3);
      std::mt19937_64 rng(7);
      // Sectors of 2,000 lines: enough to evict and to hit.
      std::vector<uint64_t> addrs(20000);
      for (uint64_t& a : addrs) a = rng() % 2000 * 128 + rng() % 4 * 32;
      int hits = 0, evictions = 0;
      for (size_t i = 0; i < addrs.size(); ++i) {
        if (i + 4 < addrs.size()) hinted.prefetch(addrs[i + 4] / 128 * 128);
        if (i % 7 == 0) hinted.prefetch(rng() % 2000 * 128);
        const bool write = i % 5 == 0, allocate = i % 11 != 0;
        const auto a = write ? plain.write(addrs[i], allocate) : plain.read(addrs[i], allocate);
        const auto b = write ? hinted.write(addrs[i], allocate) : hinted.read(addrs[i], allocate);
        REQUIRE(a.hit == b.hit);
        REQUIRE(a.evicted_dirty == b.evicted_dirty);
        REQUIRE(a.evicted_line == b.evicted_line);
        REQUIRE(a.ready == b.ready);
        if (!a.hit && !write) {
          plain.note_fill(addrs[i], i);
          hinted.note_fill(addrs[i], i);
        }
        hits += a.hit;
        evictions += a.evicted_dirty != 0;
      }
      CHECK(hits > 1000);  // the sequence exercises hits, fills and dirty evictions
      CHECK(evictions > 100);
    }
}
