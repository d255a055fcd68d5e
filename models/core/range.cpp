#include "models/core/range.h"

#include <fmt/format.h>

namespace xpusim {

std::string range_str(uint64_t addr, std::optional<uint64_t> end) {
  return end ? fmt::format("[{:#x}, {:#x})", addr, *end)
             : fmt::format("[{:#x}, beyond 2^64)", addr);
}

}  // namespace xpusim
