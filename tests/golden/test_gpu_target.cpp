// The GPU compiler target: compiled workloads run on every GPU preset with their values checked
// against the reference, and the program's text form (PTX plus `// xpusim:` lines) reads back.
#include <catch2/catch.hpp>

#include <filesystem>

#include "isa/program.h"
#include "tests/support.h"

using namespace xpusim;
using namespace xpusim::test;

namespace {
std::string source(const std::string& rel) {
  return (std::filesystem::path(XPUSIM_SOURCE_DIR) / rel).string();
}
const char* const kPresets[] = {"v100", "a100", "h100", "gpu_lab"};
}  // namespace

TEST_CASE("GPU target: elementwise ops and reshape, values checked on every preset", "[golden]") {
  const std::string dir = temp_dir("gpu-target-elementwise");
  for (const char* arch : kPresets)
    check_values(arch, source("workloads/smoke/gpu-elementwise.yaml"), {},
                 dir + "/" + std::string(arch));
}

TEST_CASE("GPU program text: launches bind every parameter to a buffer or a number", "[golden]") {
  const isa::IsaTools& gpu = isa::find_isa("gpu");
  const std::string ptx =
      ".version 8.0\n.target sm_80\n.address_size 64\n"
      ".visible .entry k(.param .u64 p, .param .u32 n)\n{\n\tret;\n}\n";
  const std::string buffers = "// xpusim: buffer a 0x0 64 in\n// xpusim: buffer b 0x100 8\n";
  const std::string good = ptx + buffers +
                           "// xpusim: launch k grid 2,1,1 block 32,1,1 shared 0 layer 0 p=@b+8 "
                           "n=3\n";
  const auto prog = gpu.assemble(good, "good.ptx");
  CHECK(prog->disassemble() == good);
  CHECK(gpu.decode(prog->encode(), "good.bin")->disassemble() == good);
  const std::string launch = "// xpusim: launch k grid 2,1,1 block 32,1,1 shared 0 layer 0 ";
  CHECK_THAT(error_of([&] { gpu.assemble(ptx + buffers + launch + "p=@c n=3\n", "f.ptx"); }),
             Catch::Contains("f.ptx:10:1: launch of 'k': argument p=@c names no buffer"));
  CHECK_THAT(error_of([&] { gpu.assemble(ptx + buffers + launch + "p=@a\n", "f.ptx"); }),
             Catch::Contains("f.ptx:10:1: kernel k: no argument for n"));
  CHECK_THAT(error_of([&] { gpu.assemble(ptx + "// xpusim: buffer a 0x10 64\n", "f.ptx"); }),
             Catch::Contains("f.ptx:8:1: buffer 'a' at 0x10: buffers must be 256-byte aligned"));
  CHECK_THAT(error_of([&] { gpu.assemble(ptx + "// xpusim: lunch\n", "f.ptx"); }),
             Catch::Contains("f.ptx:8:1: expected `// xpusim: buffer"));
  CHECK_THAT(error_of([&] {
               gpu.decode({'x', 'y'}, "f.bin");
             }),
             Catch::Contains("f.bin: not a GPU program file"));
}
