#include "models/gpu/memsys.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <string>

#include "models/core/error.h"

namespace xpusim::gpu {

namespace {

constexpr uint32_t kMaxAccessBytes = 16;

void check_access_bytes(uint32_t bytes, const char* who) {
  if (bytes == 0 || bytes > kMaxAccessBytes)
    throw Error(
        fmt::format("internal: {}: an access of {} bytes (1 to {})", who, bytes, kMaxAccessBytes));
}

// x / d and x % d by a shift and a mask when d is a power of two (always so for real shared
// memories), by division otherwise.
class Divisor {
 public:
  explicit Divisor(uint64_t d) : d_(d), shift_((d & (d - 1)) ? -1 : __builtin_ctzll(d)) {}
  uint64_t div(uint64_t x) const { return shift_ >= 0 ? x >> shift_ : x / d_; }
  uint64_t mod(uint64_t x) const { return shift_ >= 0 ? x & (d_ - 1) : x % d_; }

 private:
  uint64_t d_;
  int shift_;
};

// Sorts a short array that is usually in order already (lanes on ascending addresses).
template <typename T, typename Less>
void sort_small(T* begin, T* end, Less less) {
  if (!std::is_sorted(begin, end, less)) std::sort(begin, end, less);
}

}  // namespace

uint32_t shared_wavefronts(const uint64_t* addr, uint32_t mask, uint32_t bytes, uint32_t banks,
                           uint32_t bank_bytes) {
  check_access_bytes(bytes, "shared_wavefronts");
  if (banks == 0 || banks > kMaxSharedBanks || bank_bytes == 0)
    throw Error(fmt::format("internal: shared_wavefronts: {} banks (1 to {}) of {} bytes", banks,
                            kMaxSharedBanks, bank_bytes));
  const Divisor word(bank_bytes), bank_of(banks);
  // Each word is (bank, row within the bank): the words are bucketed by bank (a counting sort),
  // then each bank's distinct rows are counted within its bucket, which holds a few words in
  // any access that is not badly conflicted (no sort, no heap).
  constexpr uint32_t kMaxWords = kWarpLanes * (kMaxAccessBytes + 1);  // +1: a misaligned lane
  std::array<uint16_t, kMaxSharedBanks + 1> start{};
  std::array<uint32_t, kMaxWords> bank_of_word;
  std::array<uint64_t, kMaxWords> row_of_word, bucket;
  uint32_t n = 0;
  for (uint32_t m = mask; m; m &= m - 1) {
    const uint64_t a = addr[__builtin_ctz(m)];
    for (uint64_t w = word.div(a), last = word.div(a + bytes - 1); w <= last; ++w) {
      bank_of_word[n] = uint32_t(bank_of.mod(w));
      row_of_word[n] = bank_of.div(w);
      ++start[bank_of_word[n] + 1];
      ++n;
    }
  }
  if (n == 0) return 0;
  for (uint32_t b = 0; b < banks; ++b) start[b + 1] = uint16_t(start[b + 1] + start[b]);
  std::array<uint16_t, kMaxSharedBanks> fill;
  std::copy(start.begin(), start.begin() + banks, fill.begin());
  for (uint32_t i = 0; i < n; ++i) bucket[fill[bank_of_word[i]]++] = row_of_word[i];
  uint32_t most = 0;
  for (uint32_t b = 0; b < banks; ++b) {
    uint32_t distinct = 0;
    for (uint32_t i = start[b]; i < start[b + 1]; ++i) {
      bool seen = false;
      for (uint32_t j = start[b]; j < i && !seen; ++j) seen = bucket[j] == bucket[i];
      distinct += !seen;
    }
    most = std::max(most, distinct);
  }
  return most;
}

uint32_t coalesce(const uint64_t* addr, uint32_t mask, uint32_t bytes, uint64_t* sectors_out) {
  check_access_bytes(bytes, "coalesce");
  constexpr uint64_t align = ~uint64_t(kSectorBytes - 1);
  uint32_t n = 0;
  for (uint32_t m = mask; m; m &= m - 1) {
    const uint64_t a = addr[__builtin_ctz(m)];
    const uint64_t first = a & align, last = (a + bytes - 1) & align;
    // Lanes on one sector (the common case) are merged before the sort.
    if (n == 0 || sectors_out[n - 1] != first) sectors_out[n++] = first;
    if (last != first) sectors_out[n++] = last;
  }
  sort_small(sectors_out, sectors_out + n, std::less<uint64_t>());
  return uint32_t(std::unique(sectors_out, sectors_out + n) - sectors_out);
}

uint32_t group_lines(const uint64_t* sectors, uint32_t n, LineRequest* out) {
  uint32_t lines = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const uint64_t line = sectors[i] & ~uint64_t(kLineBytes - 1);
    const uint8_t bit = uint8_t(1u << (sectors[i] / kSectorBytes % kSectorsPerLine));
    if (lines && out[lines - 1].line == line)
      out[lines - 1].sector_mask |= bit;
    else
      out[lines++] = {line, bit};
  }
  return lines;
}

}  // namespace xpusim::gpu
