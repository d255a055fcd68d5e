// Element types, one type for every layer: the workload graph, the instruction sets, the
// models and the results (an ISA encodes the ones it has with codes of its own).
#pragma once

#include <cstdint>
#include <string>

#include "models/core/error.h"

namespace xpusim {

enum class DType : uint8_t { int8, int32, bf16, fp32, fp16 };

// Size of one element in bytes.
int dtype_size(DType t);
// "int8", "int32", "bf16", "fp32", "fp16".
const char* dtype_name(DType t);
// Parses a dtype name; throws Error at loc naming the allowed names.
DType parse_dtype(const std::string& s, const SourceLoc& loc);

}  // namespace xpusim
