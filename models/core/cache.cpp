#include "models/core/cache.h"

#include <fmt/format.h>

#include <algorithm>

#include "models/core/error.h"

namespace xpusim {
namespace {

// SplitMix64's finaliser: every key bit affects every result bit.
uint64_t mix(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

SectorCache::SectorCache(uint64_t capacity_bytes, uint32_t ways, bool hashed, uint32_t interleave)
    : ways_(ways), interleave_(interleave), hashed_(hashed) {
  if (ways == 0 || ways > UINT16_MAX)
    throw Error(fmt::format("sector cache: {} ways (1 to {})", ways, UINT16_MAX));
  if (interleave == 0) throw Error("sector cache: interleaved over 0 slices");
  sets_ = capacity_bytes / (uint64_t(ways) * kLineBytes);
  if (sets_ == 0)
    throw Error(fmt::format("sector cache: {} bytes is less than one set ({} ways of {} bytes)",
                            capacity_bytes, ways, kLineBytes));
  lines_.resize(sets_ * ways_, Line{0, 0, 0, 0, 0});
  for (uint64_t i = 0; i < lines_.size(); ++i) lines_[i].age = uint16_t(i % ways_);
}

uint64_t SectorCache::set_index(uint64_t line) const {
  const uint64_t key = line / interleave_;
  if (!hashed_) return key % sets_;
  const uint64_t block = key / sets_, set = (key - block * sets_) + mix(block) % sets_;
  return set < sets_ ? set : set - sets_;
}

SectorCache::Line* SectorCache::find(uint64_t line) {
  Line* set = set_of(line);
  for (Line* w = set; w != set + ways_; ++w)
    if (w->valid && w->tag == line) return w;
  return nullptr;
}

void SectorCache::touch(Line* set, Line* way) {
  for (Line* w = set; w != set + ways_; ++w)
    if (w->age < way->age) ++w->age;
  way->age = 0;
}

SectorCache::Outcome SectorCache::access(uint64_t sector_addr, bool allocate, bool write) {
  const uint64_t line = sector_addr / kLineBytes;
  const uint8_t bit = uint8_t(1u << (sector_addr / kSectorBytes % kSectorsPerLine));
  Line* set = set_of(line);
  Line *present = nullptr, *empty = nullptr, *oldest = set;
  for (Line* w = set; w != set + ways_; ++w) {
    if (!w->valid) {
      if (!empty) empty = w;
    } else if (w->tag == line) {
      present = w;
      break;
    } else if (w->age > oldest->age) {
      oldest = w;
    }
  }
  Outcome out{false, 0, 0, 0};
  if (present) {
    out.hit = present->valid & bit;
    if (out.hit)
      out.ready = present->ready;
    else if (!allocate)
      return out;
    present->valid |= bit;
    if (write && allocate) present->dirty |= bit;
    touch(set, present);
    return out;
  }
  if (!allocate) return out;
  // With no free way every way is valid, so `oldest` is the least recently used of them.
  Line* victim = empty ? empty : oldest;
  if (!empty) {
    out.evicted_dirty = victim->dirty;
    out.evicted_line = victim->tag * kLineBytes;
  }
  victim->tag = line;
  victim->ready = 0;
  victim->valid = bit;
  victim->dirty = write ? bit : 0;
  touch(set, victim);
  return out;
}

SectorCache::Outcome SectorCache::read(uint64_t sector_addr, bool allocate) {
  return access(sector_addr, allocate, false);
}

SectorCache::Outcome SectorCache::write(uint64_t sector_addr, bool allocate) {
  return access(sector_addr, allocate, true);
}

void SectorCache::invalidate_all() {
  for (Line& l : lines_) l.valid = l.dirty = 0;
}

void SectorCache::note_fill(uint64_t sector_addr, uint64_t cycle) {
  if (Line* l = find(sector_addr / kLineBytes)) l->ready = std::max(l->ready, cycle);
}

}  // namespace xpusim
