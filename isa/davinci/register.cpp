// The DaVinci family's ISA tools in the ISA registry (xpusim asm/disasm --family davinci).
#include <memory>

#include "isa/davinci/program.h"

namespace xpusim::isa::davinci {
namespace {

const bool registered = register_isa(IsaTools{
    "davinci",
    [](const std::string& text, const std::string& file) -> std::unique_ptr<isa::Program> {
      return std::make_unique<Program>(assemble(text, file));
    },
    [](const std::vector<uint8_t>& bytes, const std::string& file)
        -> std::unique_ptr<isa::Program> { return std::make_unique<Program>(decode(bytes, file)); },
});

}  // namespace
}  // namespace xpusim::isa::davinci
