// A program of one family's instruction set as the framework sees it: a compiler target makes
// it, the driver hands it to the family's machine, the ISA tools print, encode and read it.
// Each family derives its own program type (isa/<family>/) and registers its tools here.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace xpusim::isa {

class Program {
 public:
  virtual ~Program() = default;
  // Number of static instructions.
  virtual size_t size() const = 0;
  // Canonical assembly text, which the family's assembler reads back to the same program.
  virtual std::string disassemble() const = 0;
  // The binary program file.
  virtual std::vector<uint8_t> encode() const = 0;
};

// A family's ISA tools. Both readers throw Error with file (and line, or instruction index)
// and what was expected.
struct IsaTools {
  std::string family;
  std::function<std::unique_ptr<Program>(const std::string& text, const std::string& file)>
      assemble;
  std::function<std::unique_ptr<Program>(const std::vector<uint8_t>& bytes,
                                         const std::string& file)>
      decode;
};

// Registers a family's ISA tools (from a static initialiser in the ISA's object library).
bool register_isa(IsaTools tools);
// Throws Error listing the registered ISAs when family has none.
const IsaTools& find_isa(const std::string& family);
std::vector<const IsaTools*> isas();

}  // namespace xpusim::isa
