// libFuzzer target: DaVinci assembly (tests/fuzz/entries.h).
#include <cstddef>
#include <cstdint>

#include "models/core/error.h"
#include "tests/fuzz/entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    xpusim::fuzz::davinci(data, size);
  } catch (const xpusim::Error&) {
    // Refused with a message: the expected outcome for bad input.
  }
  return 0;
}
