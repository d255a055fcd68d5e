#include "models/core/dtype.h"

#include <fmt/format.h>

namespace xpusim {
namespace {
const char* const kDtypeNames[] = {"int8", "int32", "bf16", "fp32", "fp16"};
}  // namespace

int dtype_size(DType t) {
  switch (t) {
    case DType::int8:
      return 1;
    case DType::bf16:
    case DType::fp16:
      return 2;
    case DType::int32:
    case DType::fp32:
      return 4;
  }
  return 0;
}

const char* dtype_name(DType t) {
  return kDtypeNames[int(t)];
}

DType parse_dtype(const std::string& s, const SourceLoc& loc) {
  for (int i = 0; i < 5; ++i)
    if (s == kDtypeNames[i]) return DType(i);
  throw Error(loc,
              fmt::format("unknown dtype '{}'; expected one of: int8, int32, bf16, fp16, fp32", s));
}

}  // namespace xpusim
