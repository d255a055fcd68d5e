// The TPU family's ISA tools in the ISA registry (xpusim asm/disasm, run --program).
#include <memory>

#include "isa/tpu/program.h"

namespace xpusim::isa::tpu {
namespace {

const bool registered = register_isa(IsaTools{
    "tpu",
    [](const std::string& text, const std::string& file) -> std::unique_ptr<isa::Program> {
      return std::make_unique<Program>(assemble(text, file));
    },
    [](const std::vector<uint8_t>& bytes, const std::string& file)
        -> std::unique_ptr<isa::Program> { return std::make_unique<Program>(decode(bytes, file)); },
});

}  // namespace
}  // namespace xpusim::isa::tpu
