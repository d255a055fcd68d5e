// The DaVinci binary program format (docs/isa/davinci.md, "Binary encoding").
#include <fmt/format.h>

#include <cstring>

#include "isa/davinci/instr.h"
#include "isa/davinci/operands.h"

namespace xpusim::isa::davinci {

namespace {

constexpr char kMagic[8] = {'X', 'P', 'U', 'D', 'V', '0', '0', '1'};
// 13 one-byte fields, the u32 target, then 15 Vals of 9 bytes (reg, int64 imm).
constexpr size_t kInstrBytes = 13 + 4 + size_t(kVals) * 9;
static_assert(kInstrBytes == 152);

void put(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(uint8_t(v >> (8 * i)));
}

void put_string(std::vector<uint8_t>& out, const std::string& s) {
  put(out, s.size(), 4);
  out.insert(out.end(), s.begin(), s.end());
}

bool is_branch(Op op) {
  return (op >= Op::beq && op <= Op::bgt) || op == Op::jmp;
}

// A bounds-checked little-endian reader: every read names what it expected when the bytes
// run out.
class Reader {
 public:
  Reader(const std::vector<uint8_t>& bytes, const std::string& file) : b_(bytes), where_{file} {}

  size_t pos() const { return pos_; }
  size_t left() const { return b_.size() - pos_; }
  [[noreturn]] void fail(const std::string& msg) const { throw Error(where_, msg); }

  void need(size_t n, const char* what) const {
    if (left() < n)
      fail(fmt::format("truncated at byte {}: expected {} ({} bytes), found {}", pos_, what, n,
                       left()));
  }
  uint64_t get(int bytes, const char* what) {
    need(size_t(bytes), what);
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = v << 8 | b_[pos_ + size_t(i)];
    pos_ += size_t(bytes);
    return v;
  }
  std::string get_name(const char* what) {
    const size_t at = pos_;
    const uint64_t n = get(4, what);
    need(n, what);
    std::string s(b_.begin() + long(pos_), b_.begin() + long(pos_ + n));
    pos_ += n;
    if (!detail::valid_name(s))
      fail(
          fmt::format("{} at byte {} is not a name: expected a letter, '_' or '$', then "
                      "letters, digits, '_', '$' or '.'",
                      what, at));
    return s;
  }

 private:
  const std::vector<uint8_t>& b_;
  SourceLoc where_;
  size_t pos_ = 0;
};

}  // namespace

std::vector<uint8_t> encode(const Kernel& k) {
  std::vector<uint8_t> out(kMagic, kMagic + sizeof kMagic);
  put_string(out, k.name);
  put(out, k.params.size(), 4);
  for (const KernelParam& p : k.params) {
    put_string(out, p.name);
    put(out, p.reg, 1);
  }
  put(out, k.code.size(), 4);
  out.reserve(out.size() + k.code.size() * kInstrBytes);
  for (const Instr& in : k.code) {
    for (uint8_t b :
         {uint8_t(in.op), uint8_t(in.ty), uint8_t(in.ty2), in.rd, uint8_t(in.dst.buf),
          uint8_t(in.src0.buf), uint8_t(in.src1.buf), uint8_t(in.flag), uint8_t(in.round),
          uint8_t(in.conv), uint8_t(in.p1), uint8_t(in.p2), in.event})
      out.push_back(b);
    put(out, in.target, 4);
    for_each_val(in, [&](const Val& v) {
      put(out, uint8_t(v.reg), 1);
      put(out, uint64_t(v.imm), 8);
    });
  }
  return out;
}

Kernel decode(const std::vector<uint8_t>& bytes, const std::string& file) {
  Reader r(bytes, file);
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    r.fail("not a DaVinci program: expected the magic \"XPUDV001\" at the start");
  r.get(8, "the magic");
  Kernel k;
  k.name = r.get_name("the kernel name");
  const uint64_t nparams = r.get(4, "the parameter count");
  // A parameter takes at least 6 bytes (a 4-byte length, a 1-byte name, its register).
  if (nparams > r.left() / 6)
    r.fail(fmt::format("parameter count {} at byte {} exceeds what the file holds", nparams,
                       r.pos() - 4));
  for (uint64_t i = 0; i < nparams; ++i) {
    KernelParam p;
    p.name = r.get_name("a parameter name");
    const size_t at = r.pos();
    const uint64_t reg = r.get(1, "a parameter register");
    if (reg >= uint64_t(kRegs))
      r.fail(fmt::format("parameter {} register {} at byte {} is out of range (x0 to x31)", p.name,
                         reg, at));
    p.reg = uint8_t(reg);
    for (const KernelParam& q : k.params) {
      if (q.name == p.name) r.fail("duplicate parameter " + p.name);
      if (q.reg == p.reg)
        r.fail(fmt::format("register x{} holds both parameters {} and {}", reg, q.name, p.name));
    }
    k.params.push_back(std::move(p));
  }
  const uint64_t count = r.get(4, "the instruction count");
  const size_t start = r.pos();
  if (count == 0) r.fail("kernel " + k.name + " has no instructions: expected at least one");
  if (r.left() / kInstrBytes != count || r.left() % kInstrBytes != 0) {
    r.fail(fmt::format("{} bytes after byte {}: expected {} instructions of {} bytes", r.left(),
                       start, count, kInstrBytes));
  }
  k.code.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const size_t at = r.pos();
    Instr& in = k.code[i];
    in.op = Op(r.get(1, "op"));
    in.ty = Ty(r.get(1, "ty"));
    in.ty2 = Ty(r.get(1, "ty2"));
    in.rd = uint8_t(r.get(1, "rd"));
    in.dst.buf = Buf(r.get(1, "dst"));
    in.src0.buf = Buf(r.get(1, "src0"));
    in.src1.buf = Buf(r.get(1, "src1"));
    const uint64_t flag = r.get(1, "flag");
    in.flag = flag != 0;
    in.round = Round(r.get(1, "round"));
    in.conv = Conv(r.get(1, "conv"));
    in.p1 = Pipe(r.get(1, "p1"));
    in.p2 = Pipe(r.get(1, "p2"));
    in.event = uint8_t(r.get(1, "event"));
    in.target = uint32_t(r.get(4, "target"));
    for_each_val(in, [&](Val& v) {
      v.reg = int8_t(uint8_t(r.get(1, "a register")));
      v.imm = int64_t(r.get(8, "an immediate"));
    });
    std::string why =
        flag > 1 ? fmt::format("flag {} is not 0 or 1", flag) : detail::check_instr(in);
    if (why.empty() && is_branch(in.op) && in.target >= count)
      why = fmt::format("{} target {} is past the last instruction ({})", op_name(in.op), in.target,
                        count - 1);
    if (why.empty() && i + 1 == count && in.op != Op::end && in.op != Op::jmp)
      why = fmt::format("the last instruction is {}: expected end or jmp", op_name(in.op));
    if (!why.empty()) r.fail(fmt::format("instruction {} (byte offset {}): {}", i, at, why));
  }
  return k;
}

}  // namespace xpusim::isa::davinci
