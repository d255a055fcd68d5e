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
  sets_pow2_ = (sets_ & (sets_ - 1)) == 0;
  while ((uint64_t(1) << sets_shift_) < sets_) ++sets_shift_;
  prefetched_.fill({kNone, 0});
  const uint64_t lines = sets_ * ways_;
  try {
    tags_ = ZeroArray<uint64_t>(lines);
    touched_ = ZeroArray<uint64_t>(lines);
    masks_ = ZeroArray<Masks>(lines);
    ready_ = ZeroArray<uint64_t>(lines);
  } catch (const Error& e) {
    throw Error(fmt::format("sector cache of {} bytes: the state of its {} lines: {}",
                            capacity_bytes, lines, e.what()));
  }
}

uint64_t SectorCache::set_index(uint64_t line) const {
  const uint64_t key = line / interleave_;
  if (sets_pow2_) {  // the same as below, without divisions
    const uint64_t mask = sets_ - 1;
    return hashed_ ? (key + mix(key >> sets_shift_)) & mask : key & mask;
  }
  if (!hashed_) return key % sets_;
  const uint64_t block = key / sets_, set = (key - block * sets_) + mix(block) % sets_;
  return set < sets_ ? set : set - sets_;
}

uint64_t SectorCache::first_way(uint64_t line) const {
  for (const auto& [l, first] : prefetched_)
    if (l == line) return first;
  return set_index(line) * ways_;
}

int64_t SectorCache::find(uint64_t line) const {
  const uint64_t first = first_way(line);
  for (uint64_t w = first; w != first + ways_; ++w)
    if (tags_[w] == line + 1) return int64_t(w);
  return -1;
}

SectorCache::Outcome SectorCache::access(uint64_t line_addr, uint8_t sectors, bool allocate,
                                         bool write) {
  const uint64_t line = line_addr / kLineBytes;
  const uint64_t first = line == last_line_ ? last_first_ : first_way(line), last = first + ways_;
  // The way holding the line, else the first free one.
  const uint64_t* const tags = tags_.data();
  const uint64_t tag = line + 1;
  uint64_t present = last, free = last;
  for (uint64_t w = first; w != last; ++w) {
    if (tags[w] == tag) {
      present = w;
      break;
    }
    if (tags[w] == 0 && free == last) free = w;
  }
  last_line_ = line;
  last_first_ = first;
  Outcome out{0, 0, 0, 0};
  if (present != last) {
    // Sector by sector, a hit or an allocating miss touches the line, and a miss without
    // `allocate` changes nothing; touching it again changes nothing either.
    Masks& m = masks_[present];
    out.hits = m.valid & sectors;
    out.ready = ready_[present];
    last_way_ = present;
    if (allocate) {
      m.valid |= sectors;
      if (write) m.dirty |= sectors;
    }
    if (allocate || out.hits) touch(present);
    return out;
  }
  if (!allocate) {
    last_line_ = kNone;
    return out;
  }
  // The first sector allocates the line in the first free way, else the least recently used
  // (every way is valid then); the others find it.
  uint64_t victim = free;
  if (victim == last) {
    victim = first;
    for (uint64_t w = first + 1; w != last; ++w)
      if (touched_[w] < touched_[victim]) victim = w;
    out.evicted_dirty = masks_[victim].dirty;
    out.evicted_line = (tags[victim] - 1) * kLineBytes;
  }
  last_way_ = victim;
  tags_[victim] = tag;
  ready_[victim] = 0;
  masks_[victim] = {sectors, uint8_t(write ? sectors : 0)};
  touch(victim);
  return out;
}

// (The ways' touches stay: every way of a set that fills up again is touched on the way.)
void SectorCache::invalidate_all() {
  tags_.clear();
  last_line_ = kNone;
  masks_.clear();
}

void SectorCache::note_fill(uint64_t line_addr, uint64_t cycle) {
  const uint64_t line = line_addr / kLineBytes;
  const int64_t w =
      line == last_line_ && tags_[last_way_] == line + 1 ? int64_t(last_way_) : find(line);
  if (w >= 0) {
    ready_[size_t(w)] = std::max(ready_[size_t(w)], cycle);
    filled_ = true;
  }
}

void SectorCache::prefetch(uint64_t line_addr) const {
  const uint64_t line = line_addr / kLineBytes, first = set_index(line) * ways_;
  prefetched_[prefetched_next_++ % prefetched_.size()] = {line, first};
  const auto* tags = reinterpret_cast<const char*>(&tags_[first]);
  for (uint64_t b = 0; b < ways_ * sizeof(uint64_t); b += 64) __builtin_prefetch(tags + b);
  const auto* touched = reinterpret_cast<const char*>(&touched_[first]);
  for (uint64_t b = 0; b < ways_ * sizeof(uint64_t); b += 64) __builtin_prefetch(touched + b);
  const auto* masks = reinterpret_cast<const char*>(&masks_[first]);
  for (uint64_t b = 0; b < ways_ * sizeof(Masks); b += 64) __builtin_prefetch(masks + b);
  const auto* ready = reinterpret_cast<const char*>(&ready_[first]);
  for (uint64_t b = 0; b < ways_ * sizeof(uint64_t); b += 64) __builtin_prefetch(ready + b);
}

}  // namespace xpusim
