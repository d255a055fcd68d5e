#include "isa/ptx/program.h"

#include <fmt/format.h>

#include <cstring>
#include <sstream>

#include "models/core/kernel_args.h"

namespace xpusim::isa::ptx {
namespace {

constexpr const char* kTag = "// xpusim:";
// The binary form: this header (its NUL tells it from assembly text), then the text.
constexpr char kMagic[] = "xpusim-ptx";

bool parse_u64(const std::string& t, uint64_t& v) {
  if (t.empty() || t[0] == '-' || t[0] == '+') return false;
  size_t used = 0;
  try {
    v = std::stoull(t, &used, 0);
  } catch (const std::exception&) {
    return false;
  }
  return used == t.size();
}

std::array<uint32_t, 3> parse_dims(const std::string& t, const SourceLoc& loc, const char* what) {
  std::array<uint32_t, 3> d{1, 1, 1};
  std::stringstream ss(t);
  std::string part;
  size_t i = 0;
  while (std::getline(ss, part, ',')) {
    uint64_t v = 0;
    if (i == 3 || !parse_u64(part, v) || v == 0 || v > UINT32_MAX)
      throw Error(loc, fmt::format("{} '{}': expected X[,Y[,Z]], positive numbers", what, t));
    d[i++] = uint32_t(v);
  }
  if (i == 0) throw Error(loc, fmt::format("{}: expected X[,Y[,Z]]", what));
  return d;
}

std::string dims_text(const std::array<uint32_t, 3>& d) {
  return fmt::format("{},{},{}", d[0], d[1], d[2]);
}

}  // namespace

Program::Program(std::string ptx, std::vector<Buffer> buffers, std::vector<Launch> launches,
                 const std::string& file)
    : ptx_(std::move(ptx)),
      module_(parse_module(ptx_, file)),
      buffers_(std::move(buffers)),
      launches_(std::move(launches)) {
  uint64_t end = 0;
  for (size_t i = 0; i < buffers_.size(); ++i) {
    const Buffer& b = buffers_[i];
    const SourceLoc& loc = b.loc;
    if (b.name.empty()) throw Error(loc, "a buffer needs a name");
    for (size_t j = 0; j < i; ++j)
      if (buffers_[j].name == b.name) throw Error(loc, "buffer '" + b.name + "' declared twice");
    if (b.bytes > UINT64_MAX - b.addr)
      throw Error(loc, fmt::format("buffer '{}' at {:#x} of {} bytes runs past the 64-bit address "
                                   "space",
                                   b.name, b.addr, b.bytes));
    if (b.addr % 256 || b.addr < end)
      throw Error(loc, fmt::format("buffer '{}' at {:#x}: buffers must be 256-byte aligned, in "
                                   "address order, without overlap (the previous one ends at "
                                   "{:#x})",
                                   b.name, b.addr, end));
    end = b.addr + std::max<uint64_t>(b.bytes, 1);
  }
  for (const Launch& l : launches_) {
    const Kernel* k = module_.find_kernel(l.entry);
    if (!k || !k->is_entry) throw Error(l.loc, "launch of '" + l.entry + "': no such .entry");
    std::vector<std::string> given, names;
    for (const Arg& a : l.args) given.push_back(a.param + "=" + a.text);
    for (const Param& p : k->params) names.push_back(p.name);
    const std::vector<std::string> bound =
        bind_kernel_args(given, names, k->name, l.loc.str(), "", "argument");
    for (size_t i = 0; i < bound.size(); ++i) {
      BufferRef ref;
      if (bound[i].empty() || (bound[i][0] == '@' && !buffer_ref(bound[i], ref)))
        throw Error(l.loc, fmt::format("launch of '{}': argument {}={} names no buffer", l.entry,
                                       names[i], bound[i]));
    }
  }
}

bool Program::buffer_ref(const std::string& text, BufferRef& ref) const {
  if (text.empty() || text[0] != '@') return false;
  const size_t plus = text.find('+');
  const std::string name = text.substr(1, plus == std::string::npos ? std::string::npos : plus - 1);
  ref.offset = 0;
  if (plus != std::string::npos && !parse_u64(text.substr(plus + 1), ref.offset)) return false;
  for (size_t i = 0; i < buffers_.size(); ++i)
    if (buffers_[i].name == name) {
      ref.buffer = i;
      return true;
    }
  return false;
}

std::string Program::disassemble() const {
  // The PTX without the blank lines that stood for `// xpusim:` lines at its end.
  std::string s = ptx_.substr(0, ptx_.find_last_not_of(" \t\n") + 1) + '\n';
  for (const Buffer& b : buffers_)
    s += fmt::format("{} buffer {} {:#x} {}{}\n", kTag, b.name, b.addr, b.bytes, b.in ? " in" : "");
  for (const Launch& l : launches_) {
    s += fmt::format("{} launch {} grid {} block {} shared {} layer {}", kTag, l.entry,
                     dims_text(l.grid), dims_text(l.block), l.shared, l.layer);
    for (const Arg& a : l.args) s += " " + a.param + "=" + a.text;
    s += '\n';
  }
  return s;
}

std::vector<uint8_t> Program::encode() const {
  const std::string bytes = std::string(kMagic, sizeof kMagic) + disassemble();  // with its NUL
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

Program assemble(const std::string& text, const std::string& file) {
  std::string ptx;
  std::vector<Buffer> buffers;
  std::vector<Launch> launches;
  std::stringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    const size_t at = line.find_first_not_of(" \t");
    if (at == std::string::npos || line.compare(at, std::strlen(kTag), kTag) != 0) {
      ptx += line + '\n';
      continue;
    }
    ptx += '\n';  // keeps the PTX's line numbers those of the text
    const SourceLoc loc{file, n, int(at) + 1};
    std::stringstream ws(line.substr(at + std::strlen(kTag)));
    std::vector<std::string> w;
    for (std::string t; ws >> t;) w.push_back(t);
    if (!w.empty() && w[0] == "buffer") {
      Buffer b;
      if ((w.size() != 4 && w.size() != 5) || !parse_u64(w[2], b.addr) ||
          !parse_u64(w[3], b.bytes) || (w.size() == 5 && w[4] != "in"))
        throw Error(loc, "expected `// xpusim: buffer NAME ADDR BYTES [in]`");
      b.name = w[1];
      b.loc = loc;
      b.in = w.size() == 5;
      buffers.push_back(b);
      continue;
    }
    if (w.empty() || w[0] != "launch" || w.size() < 10 || w[2] != "grid" || w[4] != "block" ||
        w[6] != "shared" || w[8] != "layer")
      throw Error(loc,
                  "expected `// xpusim: buffer NAME ADDR BYTES [in]` or `// xpusim: launch "
                  "ENTRY grid X,Y,Z block X,Y,Z shared BYTES layer L PARAM=ARG ...`");
    Launch l;
    l.loc = loc;
    l.entry = w[1];
    l.grid = parse_dims(w[3], loc, "grid");
    l.block = parse_dims(w[5], loc, "block");
    uint64_t layer = 0;
    if (!parse_u64(w[7], l.shared)) throw Error(loc, "shared '" + w[7] + "': expected bytes");
    if (w[9] != "-1" && (!parse_u64(w[9], layer) || layer > INT32_MAX))
      throw Error(loc, "layer '" + w[9] + "': expected a node index or -1");
    l.layer = w[9] == "-1" ? -1 : int(layer);
    for (size_t i = 10; i < w.size(); ++i) {
      const size_t eq = w[i].find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == w[i].size())
        throw Error(loc, "argument '" + w[i] + "': expected PARAM=ARG");
      l.args.push_back({w[i].substr(0, eq), w[i].substr(eq + 1)});
    }
    launches.push_back(std::move(l));
  }
  return Program(std::move(ptx), std::move(buffers), std::move(launches), file);
}

namespace {

const bool registered = register_isa(IsaTools{
    "gpu",
    [](const std::string& text, const std::string& file) -> std::unique_ptr<isa::Program> {
      return std::make_unique<Program>(assemble(text, file));
    },
    [](const std::vector<uint8_t>& bytes,
       const std::string& file) -> std::unique_ptr<isa::Program> {
      if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
        throw Error(file + ": not a GPU program file (it starts with \"" + kMagic + "\")");
      return std::make_unique<Program>(
          assemble(std::string(bytes.begin() + sizeof kMagic, bytes.end()), file));
    },
});

}  // namespace
}  // namespace xpusim::isa::ptx
