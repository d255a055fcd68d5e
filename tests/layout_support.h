// Helpers of the tests of device-memory layouts (compiler/ir/layout.h): a tensor whose elements
// can be told apart after pack(), and an element read back from the packed bytes.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "compiler/reference/tensor.h"

namespace xpusim::test {

// A tensor whose element i holds i + 1 (as 16-bit integers in an fp16 tensor).
inline compiler::Tensor counting(const std::vector<int64_t>& shape) {
  compiler::Tensor t(shape, DType::fp16);
  for (int64_t i = 0; i < t.elements(); ++i) {
    const uint16_t v = uint16_t(i + 1);
    std::memcpy(&t.data[size_t(i * 2)], &v, 2);
  }
  return t;
}

// The 16-bit element `element` of packed bytes.
inline uint16_t at(const std::vector<uint8_t>& bytes, int64_t element) {
  uint16_t v;
  std::memcpy(&v, &bytes[size_t(element * 2)], 2);
  return v;
}

}  // namespace xpusim::test
