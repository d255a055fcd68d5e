// Names of the PTX enums (isa/ptx/instr.h) and their lookup from PTX spellings.
#include <array>
#include <string_view>

#include "isa/ptx/syntax.h"

namespace xpusim::isa::ptx {

namespace {

constexpr std::array<const char*, size_t(Op::count_)> kOpNames = {
    "unsupported",
    "ld",
    "st",
    "mov",
    "cvta",
    "cvt",
    "add",
    "sub",
    "mul",
    "mad",
    "fma",
    "div",
    "rem",
    "min",
    "max",
    "abs",
    "neg",
    "copysign",
    "rcp",
    "sqrt",
    "rsqrt",
    "ex2",
    "lg2",
    "sin",
    "cos",
    "tanh",
    "shl",
    "shr",
    "and",
    "or",
    "xor",
    "not",
    "cnot",
    "bfe",
    "bfi",
    "popc",
    "clz",
    "brev",
    "prmt",
    "dp4a",
    "dp2a",
    "setp",
    "set",
    "selp",
    "slct",
    "bra",
    "ret",
    "exit",
    "trap",
    "brkpt",
    "bar.sync",
    "bar.arrive",
    "bar.warp.sync",
    "membar",
    "fence",
    "nanosleep",
    "shfl",
    "vote",
    "activemask",
    "match",
    "atom",
    "red",
    "cp.async",
    "cp.async.commit_group",
    "cp.async.wait_group",
    "cp.async.wait_all",
    "ldmatrix",
    "mma",
    "wmma.load",
    "wmma.mma",
    "wmma.store",
};

struct TypeInfo {
  const char* name;
  Type type;
  unsigned bytes;
};
constexpr TypeInfo kTypes[] = {
    {"", Type::none, 0},     {"b8", Type::b8, 1},         {"b16", Type::b16, 2},
    {"b32", Type::b32, 4},   {"b64", Type::b64, 8},       {"u8", Type::u8, 1},
    {"u16", Type::u16, 2},   {"u32", Type::u32, 4},       {"u64", Type::u64, 8},
    {"s8", Type::s8, 1},     {"s16", Type::s16, 2},       {"s32", Type::s32, 4},
    {"s64", Type::s64, 8},   {"f16", Type::f16, 2},       {"f16x2", Type::f16x2, 4},
    {"bf16", Type::bf16, 2}, {"bf16x2", Type::bf16x2, 4}, {"tf32", Type::tf32, 4},
    {"f32", Type::f32, 4},   {"f64", Type::f64, 8},       {"pred", Type::pred, 1},
};

constexpr const char* kSregNames[] = {
    "tid.x",           "tid.y",
    "tid.z",           "ntid.x",
    "ntid.y",          "ntid.z",
    "ctaid.x",         "ctaid.y",
    "ctaid.z",         "nctaid.x",
    "nctaid.y",        "nctaid.z",
    "laneid",          "warpid",
    "nwarpid",         "smid",
    "nsmid",           "clock",
    "clock64",         "lanemask_eq",
    "lanemask_lt",     "lanemask_le",
    "lanemask_gt",     "lanemask_ge",
    "globaltimer",     "dynamic_smem_size",
    "total_smem_size",
};

}  // namespace

const char* op_name(Op op) {
  return kOpNames[size_t(op)];
}

const char* type_name(Type t) {
  return kTypes[size_t(t)].name;
}

unsigned type_bytes(Type t) {
  return kTypes[size_t(t)].bytes;
}

bool is_float(Type t) {
  return t >= Type::f16 && t <= Type::f64;
}

bool is_signed(Type t) {
  return t >= Type::s8 && t <= Type::s64;
}

const char* sreg_name(Sreg s) {
  return kSregNames[size_t(s)];
}

namespace detail {

bool type_from_name(std::string_view s, Type& out) {
  for (const TypeInfo& t : kTypes) {
    if (t.type != Type::none && s == t.name) {
      out = t.type;
      return true;
    }
  }
  return false;
}

bool sreg_from_name(std::string_view s, Sreg& out) {
  for (size_t i = 0; i < std::size(kSregNames); ++i) {
    if (s == kSregNames[i]) {
      out = Sreg(i);
      return true;
    }
  }
  return false;
}

bool space_from_name(std::string_view s, Space& out) {
  static constexpr std::pair<const char*, Space> kSpaces[] = {
      {"global", Space::global}, {"shared", Space::shared}, {"shared::cta", Space::shared},
      {"local", Space::local},   {"param", Space::param},   {"const", Space::const_},
  };
  for (const auto& [name, space] : kSpaces) {
    if (s == name) {
      out = space;
      return true;
    }
  }
  return false;
}

}  // namespace detail
}  // namespace xpusim::isa::ptx
