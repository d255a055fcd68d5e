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
  tags_.assign(sets_ * ways_, kFree);
  states_.resize(sets_ * ways_, State{0, 0, 0});
  ready_.assign(sets_ * ways_, 0);
  for (uint64_t i = 0; i < states_.size(); ++i) states_[i].age = uint16_t(i % ways_);
}

uint64_t SectorCache::set_index(uint64_t line) const {
  const uint64_t key = line / interleave_;
  if (!hashed_) return key % sets_;
  const uint64_t block = key / sets_, set = (key - block * sets_) + mix(block) % sets_;
  return set < sets_ ? set : set - sets_;
}

int64_t SectorCache::find(uint64_t line) const {
  const uint64_t first = set_index(line) * ways_;
  for (uint64_t w = first; w != first + ways_; ++w)
    if (tags_[w] == line) return int64_t(w);
  return -1;
}

void SectorCache::touch(uint64_t first, uint64_t way) {
  State* const set = &states_[first];
  const uint16_t age = states_[way].age;
  for (uint32_t w = 0; w != ways_; ++w)
    if (set[w].age < age) ++set[w].age;
  states_[way].age = 0;
}

SectorCache::Outcome SectorCache::access(uint64_t sector_addr, bool allocate, bool write) {
  const uint64_t line = sector_addr / kLineBytes;
  const uint8_t bit = uint8_t(1u << (sector_addr / kSectorBytes % kSectorsPerLine));
  const uint64_t first = line == last_line_ ? last_way_ / ways_ * ways_ : set_index(line) * ways_,
                 last = first + ways_;
  const uint64_t* const tags = tags_.data();
  uint64_t present = last;
  for (uint64_t w = first; w != last; ++w)
    if (tags[w] == line) {
      present = w;
      break;
    }
  last_line_ = line;
  Outcome out{false, 0, 0, 0};
  if (present != last) {
    State& st = states_[present];
    out.hit = st.valid & bit;
    last_way_ = present;
    if (out.hit)
      out.ready = ready_[present];
    else if (!allocate)
      return out;
    st.valid |= bit;
    if (write && allocate) st.dirty |= bit;
    touch(first, present);
    return out;
  }
  if (!allocate) {
    last_line_ = kFree;
    return out;
  }
  // The first free way, else the least recently used (every way is valid then).
  uint64_t victim = last, oldest = first;
  for (uint64_t w = first; w != last; ++w) {
    if (tags[w] == kFree) {
      victim = w;
      break;
    }
    if (states_[w].age > states_[oldest].age) oldest = w;
  }
  if (victim == last) {
    victim = oldest;
    out.evicted_dirty = states_[victim].dirty;
    out.evicted_line = tags[victim] * kLineBytes;
  }
  last_way_ = victim;
  tags_[victim] = line;
  ready_[victim] = 0;
  states_[victim].valid = bit;
  states_[victim].dirty = write ? bit : 0;
  touch(first, victim);
  return out;
}

SectorCache::Outcome SectorCache::read(uint64_t sector_addr, bool allocate) {
  return access(sector_addr, allocate, false);
}

SectorCache::Outcome SectorCache::write(uint64_t sector_addr, bool allocate) {
  return access(sector_addr, allocate, true);
}

void SectorCache::invalidate_all() {
  std::fill(tags_.begin(), tags_.end(), kFree);
  last_line_ = kFree;
  for (State& st : states_) st.valid = st.dirty = 0;
}

void SectorCache::note_fill(uint64_t sector_addr, uint64_t cycle) {
  const uint64_t line = sector_addr / kLineBytes;
  const int64_t w =
      line == last_line_ && tags_[last_way_] == line ? int64_t(last_way_) : find(line);
  if (w >= 0) ready_[size_t(w)] = std::max(ready_[size_t(w)], cycle);
}

void SectorCache::prefetch(uint64_t line_addr) const {
  const uint64_t first = set_index(line_addr / kLineBytes) * ways_;
  const auto* tags = reinterpret_cast<const char*>(&tags_[first]);
  for (uint64_t b = 0; b < ways_ * sizeof(uint64_t); b += 64) __builtin_prefetch(tags + b);
  const auto* states = reinterpret_cast<const char*>(&states_[first]);
  for (uint64_t b = 0; b < ways_ * sizeof(State); b += 64) __builtin_prefetch(states + b);
  const auto* ready = reinterpret_cast<const char*>(&ready_[first]);
  for (uint64_t b = 0; b < ways_ * sizeof(uint64_t); b += 64) __builtin_prefetch(ready + b);
}

}  // namespace xpusim
