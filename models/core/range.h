// Byte ranges of memory accesses, computed without wrapping at 2^64. Every bound check of an
// address range (an instruction against the configuration, a memory's own check) goes through
// these, so a range that passes the end of the 64-bit address space is refused instead of
// wrapping around to a small address that would pass the check.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace xpusim {

// The end (one past the last byte) of `rows` rows of `row_bytes` bytes, row i starting at
// base + i * stride: base + (rows - 1) * stride + row_bytes. Nothing when that passes 2^64 - 1
// (the largest end there is). No rows, or rows of no bytes, end at base.
inline std::optional<uint64_t> rows_end(uint64_t base, uint64_t rows, uint64_t stride,
                                        uint64_t row_bytes) {
  if (rows == 0 || row_bytes == 0) return base;
  uint64_t offset = 0, start = 0, end = 0;
  if (__builtin_mul_overflow(rows - 1, stride, &offset) ||
      __builtin_add_overflow(base, offset, &start) ||
      __builtin_add_overflow(start, row_bytes, &end))
    return std::nullopt;
  return end;
}

// The end of [addr, addr + n), or nothing when it passes 2^64 - 1.
inline std::optional<uint64_t> range_end(uint64_t addr, uint64_t n) {
  return rows_end(addr, 1, 0, n);
}

// Whether a range that starts at or after 0 and ends at `end` (as computed above) lies in a
// memory of `capacity` bytes.
inline bool fits(std::optional<uint64_t> end, uint64_t capacity) {
  return end && *end <= capacity;
}

// a * b, or the largest uint64_t when the product does not fit: a size no memory holds, so a
// bound check of it fails.
inline uint64_t saturating_mul(uint64_t a, uint64_t b) {
  uint64_t p = 0;
  return __builtin_mul_overflow(a, b, &p) ? std::numeric_limits<uint64_t>::max() : p;
}

// "[0x10, 0x30)", or "[0xfffffffffffffff0, beyond 2^64)" when the end wraps: for messages.
std::string range_str(uint64_t addr, std::optional<uint64_t> end);

}  // namespace xpusim
