// The project's deterministic random numbers: splitmix64 (Steele, Lea, Flood 2014), small and
// portable, so a seed means the same values on every toolchain; nearby seeds give unrelated
// streams. Used for generated workload data and for the tests' random cases.
#pragma once

#include <cstdint>

namespace xpusim {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1), 53 bits.
  double unit() { return double(next() >> 11) * 0x1.0p-53; }
  // Uniform in [-r, r] (r >= 0), without modulo bias worth mentioning (r is small).
  int64_t symmetric(int64_t r) { return int64_t(next() % uint64_t(2 * r + 1)) - r; }
  // Uniform in [lo, hi].
  int range(int lo, int hi) { return lo + int(next() % uint64_t(hi - lo + 1)); }

 private:
  uint64_t state_;
};

}  // namespace xpusim
