// A GPU program, as the GPU compiler target makes it and the GPU machine runs it: one PTX module
// holding every kernel, the device-memory buffers they address, and the kernel launches in the
// order they run. Its assembly text is the PTX module as nvcc would write it (ptxas reads it),
// then one comment line per buffer and per launch, which PTX tools skip:
//
//   // xpusim: buffer NAME ADDR BYTES [in]
//   // xpusim: launch ENTRY grid X,Y,Z block X,Y,Z shared BYTES layer L PARAM=ARG ...
//
// ADDR is the buffer's offset in the device memory image (the driver's; the kernels see it at
// gpu::DeviceMemory::kGlobalBase + ADDR), 256-byte aligned and in increasing order; `in` marks a
// buffer whose bytes the image holds before the run (inputs and params). Every parameter of the
// entry is bound once: ARG is `@NAME` or `@NAME+BYTES` (a buffer's device address) or a number
// (decimal, 0x hex, or a float for an .f32 parameter). `layer` is the graph node the launch
// belongs to (-1: none). Reference: docs/isa/ptx.md.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "isa/program.h"
#include "isa/ptx/module.h"

namespace xpusim::isa::ptx {

struct Buffer {
  std::string name;
  uint64_t addr = 0, bytes = 0;
  bool in = false;  // holds the image's bytes before the run
  SourceLoc loc;    // its line in the program text (none when built in memory)
};

struct Arg {
  std::string param;  // the entry's parameter
  std::string text;   // `@buffer`, `@buffer+bytes` or a number
};

struct Launch {
  std::string entry;
  std::array<uint32_t, 3> grid{1, 1, 1}, block{1, 1, 1};
  uint64_t shared = 0;  // dynamic shared memory per block, bytes
  int layer = -1;
  std::vector<Arg> args;  // in the entry's parameter order
  SourceLoc loc;          // its line in the program text (none when built in memory)
};

// Where an `@buffer[+bytes]` argument points: the buffer's index and the byte offset.
struct BufferRef {
  size_t buffer = 0;
  uint64_t offset = 0;
};

class Program final : public isa::Program {
 public:
  // Parses `ptx` and checks the buffers and launches against it (entries exist, every parameter
  // bound once, buffers named, aligned, in order); throws Error naming file and line.
  Program(std::string ptx, std::vector<Buffer> buffers, std::vector<Launch> launches,
          const std::string& file);
  size_t size() const override { return module_.instruction_count(); }
  std::string disassemble() const override;
  std::vector<uint8_t> encode() const override;

  const std::string& ptx() const { return ptx_; }
  const Module& module() const { return module_; }
  const std::vector<Buffer>& buffers() const { return buffers_; }
  const std::vector<Launch>& launches() const { return launches_; }
  // The buffer an argument's text names; false for a number.
  bool buffer_ref(const std::string& text, BufferRef& ref) const;

 private:
  std::string ptx_;
  Module module_;
  std::vector<Buffer> buffers_;
  std::vector<Launch> launches_;
};

// Reads a program's text (PTX plus `// xpusim:` lines); throws Error naming file and line.
Program assemble(const std::string& text, const std::string& file);

}  // namespace xpusim::isa::ptx
