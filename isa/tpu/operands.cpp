#include "isa/tpu/operands.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

namespace xpusim::isa::tpu {

uint8_t tpu_dtype_code(DType t) {
  switch (t) {
    case DType::int8:
      return 0;
    case DType::bf16:
      return 1;
    case DType::fp32:
      return 2;
    case DType::int32:
    case DType::fp16:  // not a TPU type
      break;
  }
  return 3;
}

bool vec_func_takes_int8(VecFunc f) {
  return f == VecFunc::add || f == VecFunc::relu || f == VecFunc::rowmax || f == VecFunc::rowavg ||
         f == VecFunc::maxs || f == VecFunc::mins;
}

float imm_float(const Instr& in) {
  float f;
  std::memcpy(&f, &in.imm, 4);
  return f;
}

}  // namespace xpusim::isa::tpu

namespace xpusim::isa::tpu::detail {

const char* field_name(Field f) {
  static const char* const names[kFieldCount] = {
      "dtype", "func", "flags", "imm",    "dram",  "ub",  "src",    "src2",
      "rows",  "cols", "k",     "stride", "shift", "mxu", "target", "count"};
  return names[int(f)];
}

uint64_t get_field(const Instr& in, Field f) {
  switch (f) {
    case Field::dtype:
      return tpu_dtype_code(in.dtype);
    case Field::func:
      return in.func;
    case Field::flags:
      return in.flags;
    case Field::imm:
      return uint32_t(in.imm);
    case Field::dram:
      return in.dram;
    case Field::ub:
      return in.ub;
    case Field::src:
      return in.src;
    case Field::src2:
      return in.src2;
    case Field::rows:
      return in.rows;
    case Field::cols:
      return in.cols;
    case Field::k:
      return in.k;
    case Field::stride:
      return in.stride;
    case Field::shift:
      return uint32_t(in.shift);
    case Field::mxu:
      return in.mxu;
    case Field::target:
      return in.target;
    case Field::count:
      return in.count;
  }
  return 0;
}

void set_field(Instr& in, Field f, uint64_t v) {
  switch (f) {
    case Field::dtype:  // a code that is no TPU dtype reads as int32, which none accepts
      in.dtype = v == 0 ? DType::int8 : v == 1 ? DType::bf16 : v == 2 ? DType::fp32 : DType::int32;
      break;
    case Field::func:
      in.func = uint8_t(v);
      break;
    case Field::flags:
      in.flags = uint8_t(v);
      break;
    case Field::imm:
      in.imm = int32_t(uint32_t(v));
      break;
    case Field::dram:
      in.dram = v;
      break;
    case Field::ub:
      in.ub = uint32_t(v);
      break;
    case Field::src:
      in.src = uint32_t(v);
      break;
    case Field::src2:
      in.src2 = uint32_t(v);
      break;
    case Field::rows:
      in.rows = uint32_t(v);
      break;
    case Field::cols:
      in.cols = uint32_t(v);
      break;
    case Field::k:
      in.k = uint32_t(v);
      break;
    case Field::stride:
      in.stride = uint32_t(v);
      break;
    case Field::shift:
      in.shift = int32_t(uint32_t(v));
      break;
    case Field::mxu:
      in.mxu = uint8_t(v);
      break;
    case Field::target:
      in.target = uint32_t(v);
      break;
    case Field::count:
      in.count = uint32_t(v);
      break;
  }
}

uint64_t key_max(const Key& key) {
  if (key.bits) return (uint64_t(1) << key.bits) - 1;
  return key.field == Field::dram ? UINT64_MAX : UINT32_MAX;
}

uint64_t get_key(const Instr& in, const Key& key) {
  return (get_field(in, key.field) >> key.lsb) & key_max(key);
}

void set_key(Instr& in, const Key& key, uint64_t v) {
  uint64_t mask = key_max(key) << key.lsb;
  set_field(in, key.field, (get_field(in, key.field) & ~mask) | ((v << key.lsb) & mask));
}

const std::vector<const char*>& kind_names(Kind kind) {
  static const std::vector<const char*> none;
  static const std::vector<const char*> dtype = {"int8", "bf16", "fp32"};
  static const std::vector<const char*> act = {"none", "relu"};
  static const std::vector<const char*> vec = {
      "add",       "mul",     "relu",   "gelu",   "silu", "scale", "softmax",
      "layernorm", "rmsnorm", "rowmax", "rowavg", "maxs", "mins",  "sigmoid"};
  static const std::vector<const char*> mode = {"set", "acc"};
  static const std::vector<const char*> pad = {"zero", "lowest"};
  switch (kind) {
    case Kind::dtype:
      return dtype;
    case Kind::act_func:
      return act;
    case Kind::vec_func:
      return vec;
    case Kind::acc_mode:
      return mode;
    case Kind::pad_mode:
      return pad;
    default:
      return none;
  }
}

// rdweight's and ldweight's keys: the source address, then the tile's.
static std::vector<Key> weight_keys(Key source) {
  using F = Field;
  using K = Kind;
  using D = Default;
  return {source,
          {"k", F::rows, K::size, D::required},
          {"n", F::cols, K::size, D::required},
          {"dtype", F::dtype, K::dtype, D::required},
          {"stride", F::stride, K::size, D::weight_row},
          {"transpose", F::flags, K::bit, D::zero},
          {"mxu", F::mxu, K::size, D::zero, 0, 8}};
}

// rdconv's and im2col's keys: the image's address, the geometry, `first` (where the image
// and the rows start), then the im2col rows and columns.
static std::vector<Key> conv_keys(Key image, const std::vector<Key>& first) {
  using F = Field;
  using K = Kind;
  using D = Default;
  std::vector<Key> keys = {{"ub", F::ub, K::addr, D::required},
                           image,
                           {"dtype", F::dtype, K::dtype, D::required},
                           {"h", F::stride, K::count, D::required, 16, 16},
                           {"w", F::stride, K::count, D::required, 0, 16},
                           {"c", F::src2, K::count, D::required},
                           {"cg", F::shift, K::size, D::zero, 16, 16},
                           {"r", F::imm, K::count, D::required, 24, 8},
                           {"s", F::imm, K::count, D::required, 16, 8},
                           {"stride_h", F::imm, K::count, D::one, 8, 8},
                           {"stride_w", F::imm, K::count, D::one, 0, 8},
                           {"pad_h", F::shift, K::size, D::zero, 8, 8},
                           {"pad_w", F::shift, K::size, D::zero, 0, 8},
                           {"pad", F::flags, K::pad_mode, D::zero}};
  keys.insert(keys.end(), first.begin(), first.end());
  keys.push_back({"rows", F::rows, K::size, D::required});
  keys.push_back({"k0", F::k, K::size, D::zero});
  keys.push_back({"cols", F::cols, K::size, D::required});
  return keys;
}

const std::vector<OpDef>& all_ops() {
  using F = Field;
  using K = Kind;
  using D = Default;
  static const std::vector<OpDef> ops = {
      {Opcode::rdhost,
       {{"ub", F::ub, K::addr, D::required},
        {"dram", F::dram, K::addr, D::required},
        {"rows", F::rows, K::size, D::required},
        {"bytes", F::cols, K::size, D::required},
        {"stride", F::stride, K::size, D::cols}}},
      {Opcode::rdweight, weight_keys({"dram", F::dram, K::addr, D::required})},
      {Opcode::ldweight, weight_keys({"ub", F::ub, K::addr, D::required})},
      {Opcode::matmul,
       {{"ub", F::ub, K::addr, D::required},
        {"acc", F::src, K::addr, D::required},
        {"m", F::rows, K::size, D::required},
        {"k", F::k, K::size, D::required},
        {"n", F::cols, K::size, D::required},
        {"dtype", F::dtype, K::dtype, D::required},
        {"mode", F::flags, K::acc_mode, D::zero, 0, 1},
        {"keep", F::flags, K::bit, D::zero, 1, 1},
        {"mxu", F::mxu, K::size, D::zero, 0, 8}}},
      {Opcode::activate,
       {{"acc", F::src, K::addr, D::required},
        {"ub", F::ub, K::addr, D::required},
        {"rows", F::rows, K::size, D::required},
        {"cols", F::cols, K::size, D::required},
        {"dtype", F::dtype, K::dtype, D::required},
        {"func", F::func, K::act_func, D::zero},
        {"mult", F::imm, K::i32, D::one},
        {"shift", F::shift, K::i32, D::zero},
        {"sum", F::k, K::size, D::zero},
        {"gap", F::stride, K::size, D::zero},
        {"bias", F::flags, K::bit, D::zero, 0, 1},
        {"bias_ub", F::src2, K::addr, D::zero}}},
      {Opcode::vector,
       {{"func", F::func, K::vec_func, D::required},
        {"dst", F::ub, K::addr, D::required},
        {"src", F::src, K::addr, D::required},
        {"src2", F::src2, K::addr, D::zero},
        {"rows", F::rows, K::size, D::required},
        {"cols", F::cols, K::size, D::required},
        {"dtype", F::dtype, K::dtype, D::required},
        {"imm", F::imm, K::f32, D::zero},
        {"causal", F::flags, K::bit, D::zero, 0, 1},
        {"src_fp32", F::flags, K::bit, D::zero, 1, 1},
        {"offset", F::shift, K::i32, D::zero},
        {"groups", F::k, K::size, D::zero}}},
      // rdrows: row i of the table at dram (rows `stride` bytes apart, `table` of them) chosen
      // by the int32 at ids + 4 i in the UB.
      {Opcode::rdrows,
       {{"ub", F::ub, K::addr, D::required},
        {"dram", F::dram, K::addr, D::required},
        {"ids", F::src, K::addr, D::required},
        {"rows", F::rows, K::size, D::required},
        {"bytes", F::cols, K::size, D::required},
        {"stride", F::stride, K::size, D::cols},
        {"table", F::k, K::count, D::required}}},
      {Opcode::wrhost,
       {{"dram", F::dram, K::addr, D::required},
        {"ub", F::ub, K::addr, D::required},
        {"rows", F::rows, K::size, D::required},
        {"bytes", F::cols, K::size, D::required},
        {"stride", F::stride, K::size, D::cols}}},
      // Geometry packed as in conv_geom(): stride = h << 16 | w, imm = r << 24 | s << 16 |
      // stride_h << 8 | stride_w, shift = cg << 16 | pad_h << 8 | pad_w.
      {Opcode::rdconv,
       conv_keys({"dram", F::dram, K::addr, D::required}, {{"m0", F::src, K::size, D::zero}})},
      // im2col: the same from the band of image rows at src in the UB, whose first row is h0;
      // dram = h0 << 32 | m0.
      {Opcode::im2col, conv_keys({"src", F::src, K::addr, D::required},
                                 {{"h0", F::dram, K::size, D::zero, 32, 16},
                                  {"m0", F::dram, K::size, D::zero, 0, 32}})},
      {Opcode::sync, {}},
      {Opcode::loop,
       {{"target", F::target, K::label, D::required}, {"count", F::count, K::count, D::required}}},
      {Opcode::halt, {}},
      {Opcode::barrier, {}},
  };
  return ops;
}

const OpDef* find_op(Opcode op) {
  for (const OpDef& d : all_ops()) {
    if (d.op == op) return &d;
  }
  return nullptr;
}

std::string check_instr(const Instr& in) {
  const OpDef* def = find_op(in.op);
  if (!def) return "unknown opcode " + std::to_string(unsigned(in.op));
  std::string op = opcode_name(in.op);
  uint64_t used[kFieldCount] = {};  // bits of each field that the opcode's keys own
  for (const Key& key : def->keys) {
    used[int(key.field)] |= key_max(key) << key.lsb;
    uint64_t v = get_key(in, key);
    const auto& names = kind_names(key.kind);
    if (!names.empty() && v >= names.size()) {
      return op + " " + key.name + " " + std::to_string(v) + " is out of range (0 to " +
             std::to_string(names.size() - 1) + ")";
    }
    if (key.kind == Kind::bit && v > 1) {
      return op + " " + key.name + " " + std::to_string(v) + " is not 0 or 1";
    }
    if (key.kind == Kind::count && v == 0) return op + " " + key.name + " must be at least 1";
  }
  for (int f = 0; f < kFieldCount; ++f) {
    uint64_t stray = get_field(in, Field(f)) & ~used[f];
    if (stray) {
      // A packed key owns part of a field: then name the bits outside the opcode's keys.
      std::string what = used[f]
                             ? fmt::format("bits {:#x} of field {}", stray, field_name(Field(f)))
                             : std::string("field ") + field_name(Field(f));
      return op + " does not use " + what + ": it must be 0";
    }
  }
  if (in.dtype == DType::fp32 && in.op != Opcode::activate && in.op != Opcode::matmul &&
      !loads_weights(in.op) && in.op != Opcode::rdconv && in.op != Opcode::im2col)
    return op +
           " dtype fp32 is an activate output or a matmul's operands (weights, rdconv, im2col)";
  if (in.op == Opcode::activate && (in.shift < 0 || in.shift > 62)) {
    // requantize() shifts a 64-bit product: larger shifts are meaningless (and undefined).
    return "activate shift " + std::to_string(in.shift) + " is out of range (0 to 62)";
  }
  if (in.op == Opcode::vector) {
    auto f = VecFunc(in.func);
    std::string name = kind_names(Kind::vec_func)[in.func];
    // int8 carries no scale, so only ops whose int8 result is meaningful without one exist.
    if (in.dtype == DType::int8 && !vec_func_takes_int8(f))
      return "vector " + name +
             " needs dtype bf16 (int8 is allowed for add, relu, rowmax, rowavg, maxs, mins)";
    if (in.dtype == DType::int8 && (f == VecFunc::maxs || f == VecFunc::mins)) {
      const float imm = imm_float(in);
      if (imm != std::floor(imm) || imm < -128 || imm > 127)
        return "vector " + name + " int8 takes an integer imm in [-128, 127]";
    }
    if ((in.flags & 1) && f != VecFunc::softmax)
      return "vector " + name + " does not take causal=1 (only softmax does)";
    if ((in.flags & 2) && f != VecFunc::softmax && f != VecFunc::add)
      return "vector " + name + " does not take src_fp32=1 (only softmax and add do)";
    if ((in.flags & 2) && in.dtype == DType::int8)
      return "vector " + name + " src_fp32=1 needs dtype bf16 (an fp32 result rounded to it)";
    if (in.k != 0 && f != VecFunc::rowmax && f != VecFunc::rowavg) {
      return "vector " + name + " does not take groups (only rowmax and rowavg do)";
    }
  }
  return "";
}

}  // namespace xpusim::isa::tpu::detail
