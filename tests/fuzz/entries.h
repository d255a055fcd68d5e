// The fuzz targets' entry code (tests/fuzz/fuzz_*.cpp), shared with the regression test that
// replays every input the fuzzers found (tests/unit/test_fuzz_regressions.cpp).
//
// Each entry reads one input with one of xpusim's readers and checks what it read. It returns
// normally or throws xpusim::Error (the input is refused with a message); anything else is a
// finding: another exception (a broken round trip throws std::logic_error), a crash, a
// sanitizer report, a hang or unbounded memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xpusim::fuzz {

// A workload YAML file (compiler::parse_workload).
void workload(const uint8_t* data, size_t size);
// An architecture configuration (load_arch_text), and the family's machine made from it; its
// resolved YAML must read back to the same configuration.
void arch(const uint8_t* data, size_t size);
// TPU assembly: assembled, disassembled and assembled again (the same program), then
// validated against the tpu_v4 preset as the model does before simulating.
void assembly(const uint8_t* data, size_t size);
// A binary TPU program: decoded, encoded again (the same bytes), disassembled and assembled
// again (the same program), then validated as assembly is.
void binary(const uint8_t* data, size_t size);

// An ONNX model (compiler::import_onnx_bytes: checker, shape inference, the mapping to the op
// vocabulary), then its graph through the graph passes and lowered for tpu_lab, as a run
// compiles it before simulating.
void onnx(const uint8_t* data, size_t size);
// PTX text: parsed and decoded as `xpusim ptx-check` does, then read as a GPU program (PTX
// plus `// xpusim: buffer/launch` lines, as `run --program` reads it; every instruction
// supported, as `run --kernel` wants), whose disassembly and binary form must read back to
// the same program.
void ptx(const uint8_t* data, size_t size);
// DaVinci assembly: assembled, disassembled and assembled again (the same kernel), encoded and
// decoded (the same kernel), then every instruction whose operands are immediates checked as
// the model does before its pipe runs it, within the ascend910 preset's memories.
void davinci(const uint8_t* data, size_t size);

struct Target {
  std::string name;  // the fuzz target is fuzz_<name>; its corpus tests/fuzz/corpus/<name>/
  void (*run)(const uint8_t* data, size_t size);
};
const std::vector<Target>& targets();

}  // namespace xpusim::fuzz
