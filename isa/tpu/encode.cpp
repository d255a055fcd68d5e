#include <fmt/format.h>

#include <cstring>

#include "isa/tpu/instr.h"
#include "isa/tpu/operands.h"

namespace xpusim::isa::tpu {

namespace {

constexpr char kMagic[8] = {'X', 'P', 'U', 'T', 'P', 'U', '0', '1'};

// Little-endian field access, independent of the host's byte order.
void put(uint8_t* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = uint8_t(v >> (8 * i));
}
bool uses_array(Opcode op) {
  return loads_weights(op) || op == Opcode::matmul;
}

uint64_t get(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

}  // namespace

std::vector<uint8_t> encode(const std::vector<Instr>& prog) {
  std::vector<uint8_t> out(sizeof kMagic + prog.size() * kInstrBytes, 0);
  std::memcpy(out.data(), kMagic, sizeof kMagic);
  uint8_t* p = out.data() + sizeof kMagic;
  for (const Instr& in : prog) {
    // Fields no opcode uses together share bytes: the array (mxu) with func, a loop's count
    // with k and its target with stride.
    const bool array = uses_array(in.op), loop = in.op == Opcode::loop;
    p[0] = uint8_t(in.op);
    p[1] = tpu_dtype_code(in.dtype);
    p[2] = array ? in.mxu : in.func;
    p[3] = in.flags;
    put(p + 4, uint32_t(in.imm), 4);
    put(p + 8, in.dram, 8);
    put(p + 16, in.ub, 4);
    put(p + 20, in.src, 4);
    put(p + 24, in.src2, 4);
    put(p + 28, in.rows, 4);
    put(p + 32, in.cols, 4);
    put(p + 36, loop ? in.count : in.k, 4);
    put(p + 40, loop ? in.target : in.stride, 4);
    put(p + 44, uint32_t(in.shift), 4);
    p += kInstrBytes;
  }
  return out;
}

std::vector<Instr> decode(const std::vector<uint8_t>& bytes, const std::string& file) {
  SourceLoc where{file};
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw Error(where, "not a TPU program: expected the magic \"XPUTPU01\" at the start");
  }
  size_t body = bytes.size() - sizeof kMagic;
  if (body % kInstrBytes != 0) {
    throw Error(where, "size " + std::to_string(bytes.size()) +
                           " bytes: expected 8 + a multiple of " + std::to_string(kInstrBytes));
  }
  std::vector<Instr> prog(body / kInstrBytes);
  for (size_t i = 0; i < prog.size(); ++i) {
    const uint8_t* p = bytes.data() + sizeof kMagic + i * kInstrBytes;
    Instr& in = prog[i];
    in.op = Opcode(p[0]);
    detail::set_field(in, detail::Field::dtype, p[1]);
    const bool array = uses_array(in.op), loop = in.op == Opcode::loop;
    (array ? in.mxu : in.func) = p[2];
    in.flags = p[3];
    in.imm = int32_t(uint32_t(get(p + 4, 4)));
    in.dram = get(p + 8, 8);
    in.ub = uint32_t(get(p + 16, 4));
    in.src = uint32_t(get(p + 20, 4));
    in.src2 = uint32_t(get(p + 24, 4));
    in.rows = uint32_t(get(p + 28, 4));
    in.cols = uint32_t(get(p + 32, 4));
    (loop ? in.count : in.k) = uint32_t(get(p + 36, 4));
    (loop ? in.target : in.stride) = uint32_t(get(p + 40, 4));
    in.shift = int32_t(uint32_t(get(p + 44, 4)));
    // A dtype code the decoder cannot keep (above 3): the message names it here.
    std::string why =
        p[1] > 3 && detail::find_op(in.op)
            ? fmt::format("{} dtype {} is out of range (0 to 2)", opcode_name(in.op), p[1])
            : detail::check_instr(in);
    if (why.empty() && in.op == Opcode::loop && in.target >= i) {
      why = "loop target " + std::to_string(in.target) + " is not before the loop";
    }
    for (size_t j = in.target; why.empty() && in.op == Opcode::loop && j < i; ++j)
      if (prog[j].op == Opcode::halt)
        why = "loop target " + std::to_string(in.target) + " is before the halt at instruction " +
              std::to_string(j) + ": a loop stays within its core's program";
    if (!why.empty()) {
      throw Error(where, "instruction " + std::to_string(i) + " (byte offset " +
                             std::to_string(sizeof kMagic + i * kInstrBytes) + "): " + why);
    }
  }
  return prog;
}

}  // namespace xpusim::isa::tpu
