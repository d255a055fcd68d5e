// The sector cache (models/core/cache.h): an access to several sectors of a line is the same as
// accessing them one by one in ascending order, against a reference that does that with a list
// per set; and the prefetch hint changes nothing: the same calls with prefetches of lines about
// to come, and of others, between them give the same outcomes, on a power-of-two and an odd set
// count, hashed or not. (Its replacement and sectors by hand are tests/unit/test_gpu_memsys.cpp's.)
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <list>
#include <random>
#include <vector>

#include "models/core/cache.h"

using xpusim::SectorCache;

namespace {

// The documented rules, one sector at a time: per set, its lines from the most recently used
// on, at most `ways` of them (no hash, no interleave: set = line % sets).
class Reference {
 public:
  Reference(uint64_t sets, uint32_t ways) : sets_(sets), ways_(ways), lines_(sets) {}
  struct Sector {
    bool hit;
    uint8_t evicted_dirty;
    uint64_t evicted_line;
  };
  Sector access(uint64_t addr, bool allocate, bool write) {
    const uint64_t line = addr / 128;
    const uint8_t bit = uint8_t(1u << (addr / 32 % 4));
    std::list<Line>& set = lines_[line % sets_];
    Sector out{false, 0, 0};
    for (auto it = set.begin(); it != set.end(); ++it)
      if (it->line == line) {
        out.hit = it->valid & bit;
        if (!out.hit && !allocate) return out;
        it->valid |= bit;
        if (write && allocate) it->dirty |= bit;
        set.splice(set.begin(), set, it);
        return out;
      }
    if (!allocate) return out;
    if (set.size() == ways_) {
      out.evicted_dirty = set.back().dirty;
      out.evicted_line = set.back().line * 128;
      set.pop_back();
    }
    set.push_front({line, bit, uint8_t(write ? bit : 0), 0});
    return out;
  }
  // The line's fill time, or none (-1) when it is absent.
  int64_t ready(uint64_t addr) const {
    for (const Line& l : lines_[addr / 128 % sets_])
      if (l.line == addr / 128) return int64_t(l.ready);
    return -1;
  }
  void note_fill(uint64_t addr, uint64_t cycle) {
    for (Line& l : lines_[addr / 128 % sets_])
      if (l.line == addr / 128) l.ready = std::max(l.ready, cycle);
  }

 private:
  struct Line {
    uint64_t line;
    uint8_t valid, dirty;
    uint64_t ready;
  };
  uint64_t sets_;
  uint32_t ways_;
  std::vector<std::list<Line>> lines_;
};

}  // namespace

TEST_CASE("sector cache: a line's access is its sectors' accesses in order", "[unit]") {
  for (const uint64_t bytes : {uint64_t(4) * 128, uint64_t(12) * 4 * 128}) {  // 1 and 12 sets
    SectorCache cache(bytes, 4);
    Reference ref(cache.sets(), 4);
    std::mt19937_64 rng(11);
    int hits = 0, evictions = 0, partial = 0;
    for (uint64_t i = 0; i < 20000; ++i) {
      const uint64_t line = rng() % (cache.sets() * 6) * 128;
      const uint8_t sectors = uint8_t(1 + rng() % 15);
      // 0: read, 1: write, 2: atomic (each sector read then written, both allocating).
      const int kind = int(rng() % 3);
      const bool allocate = kind == 2 || rng() % 4 != 0;
      const int64_t ready = ref.ready(line);
      uint8_t ref_hits = 0, ref_evicted = 0;
      uint64_t ref_evicted_line = 0;
      for (uint32_t s = 0; s < 4; ++s) {
        if (!(sectors >> s & 1)) continue;
        const Reference::Sector r = ref.access(line + s * 32, allocate, kind == 1);
        if (kind == 2) REQUIRE(ref.access(line + s * 32, true, true).evicted_dirty == 0);
        ref_hits |= uint8_t(r.hit << s);
        if (r.evicted_dirty) {
          REQUIRE(ref_evicted == 0);
          ref_evicted = r.evicted_dirty;
          ref_evicted_line = r.evicted_line;
        }
      }
      const SectorCache::Outcome o = cache.access(line, sectors, allocate, kind != 0);
      REQUIRE(o.hits == ref_hits);
      REQUIRE(o.evicted_dirty == ref_evicted);
      if (ref_evicted) REQUIRE(o.evicted_line == ref_evicted_line);
      REQUIRE(o.ready == uint64_t(ready < 0 ? 0 : ready));
      if (kind != 1 && rng() % 2) {
        ref.note_fill(line, i);
        cache.note_fill(line, i);
      }
      hits += o.hits != 0;
      evictions += o.evicted_dirty != 0;
      partial += o.hits != 0 && o.hits != sectors;
    }
    CHECK(hits > 1000);  // the sequence exercises hits, partial hits and dirty evictions
    CHECK(partial > 1000);
    CHECK(evictions > 100);
  }
}

TEST_CASE("sector cache: prefetches change no outcome", "[unit]") {
  for (const uint64_t bytes : {uint64_t(64) * 1024, uint64_t(56) * 1024})  // 128 and 112 sets
    for (const bool hashed : {false, true}) {
      SectorCache plain(bytes, 4, hashed, 3), hinted(bytes, 4, hashed, 3);
      std::mt19937_64 rng(7);
      // Lines out of 2,000: enough to evict and to hit.
      std::vector<uint64_t> lines(20000);
      for (uint64_t& l : lines) l = rng() % 2000 * 128;
      int hits = 0, evictions = 0;
      for (size_t i = 0; i < lines.size(); ++i) {
        if (i + 4 < lines.size()) hinted.prefetch(lines[i + 4]);
        if (i % 7 == 0) hinted.prefetch(rng() % 2000 * 128);
        const bool write = i % 5 == 0, allocate = i % 11 != 0;
        const uint8_t sectors = uint8_t(1 + rng() % 15);
        const auto a = plain.access(lines[i], sectors, allocate, write);
        const auto b = hinted.access(lines[i], sectors, allocate, write);
        REQUIRE(a.hits == b.hits);
        REQUIRE(a.evicted_dirty == b.evicted_dirty);
        REQUIRE(a.evicted_line == b.evicted_line);
        REQUIRE(a.ready == b.ready);
        if (a.hits != sectors && !write) {
          plain.note_fill(lines[i], i);
          hinted.note_fill(lines[i], i);
        }
        hits += a.hits != 0;
        evictions += a.evicted_dirty != 0;
      }
      CHECK(hits > 1000);  // the sequence exercises hits, fills and dirty evictions
      CHECK(evictions > 100);
    }
}
