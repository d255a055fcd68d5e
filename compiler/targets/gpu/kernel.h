// The GPU compiler target's building blocks: the preset's limits a lowering reads (GpuCaps),
// a kernel written as PTX text in the dialect nvcc writes (Kernel), and the program being built
// (Emitter: kernels, device-memory buffers, launches). Each op family's lowering (one file per
// family in this folder) registers a LowerFn per op kind. Reference: docs/models/gpu.md.
#pragma once

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "compiler/ir/ir.h"
#include "compiler/ir/layout.h"
#include "isa/ptx/program.h"

namespace xpusim::compiler::gpu {

// What a lowering reads from the preset (models/gpu/params.h).
struct GpuCaps {
  std::string name;  // the preset's, for messages
  int sm = 80;       // compute capability x 10: 70 (Volta), 80 (Ampere), 90 (Hopper)
  int sms = 1;
  int max_threads_per_block = 1024;
  int64_t max_shared_per_block = 48 * 1024;
  int64_t shared_per_sm = 48 * 1024;
  int64_t registers_per_sm = 65536;
  int max_warps_per_sm = 64;
};

// A PTX vector operand of registers: "{%r1, %r2}" for several, "%r1" for one.
std::string word_list(const std::vector<std::string>& w);

// An f32 literal in PTX's hex form: 0f3F800000 for 1.0.
std::string f32_literal(float v);

// One kernel's PTX text. Registers are virtual, numbered per kind as nvcc numbers them, and
// declared from what the body used; instructions are written as PTX without the `;`:
//   Kernel k(e.caps.sm, {{"u64", "x"}, {"u64", "out"}, {"u32", "n"}});
//   const std::string r = k.reg("r");
//   k("mov.u32 {}, %tid.x", r);
class Kernel {
 public:
  struct Param {
    std::string type;  // PTX type without the dot: "u64" for a pointer, "u32", "f32"
    std::string name;
  };
  // sm: the target's compute capability x 10 (what instructions the helpers may use).
  Kernel(int sm, std::vector<Param> params) : sm_(sm), params_(std::move(params)) {}

  // A fresh register of a kind: "p" (.pred), "rs" (.b16), "r" (.b32), "rd" (.b64), "f" (.f32).
  std::string reg(const std::string& kind);
  // A fresh label ($L__BB0_N, nvcc's form).
  std::string label();
  // Appends one instruction (the `;` is added).
  template <typename... A>
  void operator()(fmt::format_string<A...> f, A&&... a) {
    body_ += "\t" + fmt::format(f, std::forward<A>(a)...) + ";\n";
  }
  // Places a label before the next instruction.
  void place(const std::string& label) { body_ += label + ":\n"; }
  // Declares a shared-memory array of `bytes` bytes aligned to `align`; returns its name.
  std::string shared(const std::string& name, uint64_t bytes, uint32_t align = 16);
  // The module's dynamic shared memory (`.extern .shared .align 16 .b8 dsmem[]`, the launch's
  // shared bytes): its symbol, for kernels whose shared memory exceeds the 48 KiB a static
  // declaration may take.
  std::string dynamic_shared();
  bool uses_dynamic_shared() const { return dynamic_shared_; }
  // A register holding parameter `name` (loaded where this is called: call it first).
  std::string param(const std::string& name);

  // The global index of this thread along x: %ctaid.x * %ntid.x + %tid.x, in an "r" register.
  std::string global_x();
  // The address base + index * bytes in an "rd" register (index a u32 "r" register).
  std::string address(const std::string& base, const std::string& index, uint32_t bytes);
  // Loads an element of dtype t at [addr] as f32 (an "f" register); int8 is converted exactly.
  std::string load_f32(DType t, const std::string& addr);
  // load_f32 in two steps, so that a kernel can issue its loads before it waits for the first:
  // the element as loaded (an "f", "rs" or "r" register), then converted to f32.
  std::string load_element(DType t, const std::string& addr);
  std::string to_f32(DType t, const std::string& raw);
  // Stores f32 `value` at [addr] as dtype t: rounded to nearest even for fp16/bf16 (bf16 on
  // sm_70, which has no bf16 conversion, by integer arithmetic on the bits: NaN is not kept);
  // int8 rounds to nearest and saturates.
  void store_f32(DType t, const std::string& addr, const std::string& value);

  // f32 `value` rounded to fp16 or bf16 (as store_f32 rounds it), in an "rs" register.
  std::string half(DType t, const std::string& value);

  // The whole `.visible .entry` text under the name `entry`.
  std::string text(const std::string& entry) const;
  const std::vector<Param>& params() const { return params_; }
  int sm() const { return sm_; }

 private:
  int sm_;
  std::vector<Param> params_;
  std::map<std::string, int> regs_;  // kind -> registers handed out
  std::vector<std::string> shared_;  // declarations
  std::string body_;
  int labels_ = 0;
  bool dynamic_shared_ = false;
};

// The `words` (1, 2 or 4) 32-bit words at [addr] (global, aligned to their size) in one vector
// load, unpacked into f32 registers (4 / size(t) per word; fp32, fp16, bf16 or int8).
std::vector<std::string> load_vector(Kernel& k, DType t, const std::string& addr, size_t words);
// load_vector in two steps, so that a kernel can issue its loads before it waits for the first:
// the words as loaded, then unpacked into f32 registers.
std::vector<std::string> load_words(Kernel& k, const std::string& addr, size_t words);
std::vector<std::string> unpack_words(Kernel& k, DType t, const std::vector<std::string>& words);
// f32 registers packed into `words` words of dtype t (rounded as store_f32 rounds) and stored
// at [addr] in one vector store.
void store_vector(Kernel& k, DType t, const std::string& addr, const std::vector<std::string>& v,
                  size_t words);

// f32 `v` combined across groups of `width` lanes (a power of two up to 32) with `op`
// ("max.f32", "add.rn.f32") by butterfly shuffles, offsets width/2 down to 1 (or 1 up to
// width/2 when `upward`: the order fixes the additions' rounding); returns the register every
// lane of the group then holds.
std::string butterfly(Kernel& k, const char* op, std::string v, uint32_t width,
                      bool upward = false);

class Emitter;
// Lowers one node: adds its kernels and launches them. Throws the Error of unsupported() for
// what the lowering cannot do.
using LowerFn = void (*)(Emitter&, const Node&);
// Registers the lowering of an op kind (from a static initialiser in its file).
bool register_lowering(OpKind kind, LowerFn fn);

// The program being built: kernels (identical ones shared), buffers, launches.
class Emitter {
 public:
  // tensor_args: per tensor id, the launch argument of its device address ("@t3", "@t3+256");
  // fragments: per tensor id, whether the layout pass stored the matrix in Layout::mma_fragments
  // (a weight that the small-M tensor-core kernel reads, gemv.cpp); empty: none.
  Emitter(const Graph& graph, const GpuCaps& preset, std::vector<std::string> tensor_args,
          std::vector<bool> fragments = {})
      : g(graph), caps(preset), args_(std::move(tensor_args)), fragments_(std::move(fragments)) {}

  const Graph& g;
  const GpuCaps& caps;

  // The launch argument of tensor t's device address, `offset` bytes in.
  std::string addr(int tensor, uint64_t offset = 0) const;
  // Whether tensor t is stored in Layout::mma_fragments (see the constructor).
  bool fragments(int tensor) const {
    return size_t(tensor) < fragments_.size() && fragments_[size_t(tensor)];
  }
  // Adds kernel k under a name made from `base` (lowercase letters, digits, `_`) and returns
  // its entry name; a kernel of the same text already added is reused.
  std::string add(const std::string& base, const Kernel& k);
  // Launches `entry` for the node being lowered; args in the kernel's parameter order.
  void launch(const std::string& entry, std::array<uint32_t, 3> grid, std::array<uint32_t, 3> block,
              uint64_t shared, std::vector<std::string> args);
  // The launch argument of a buffer of at least `bytes` bytes of device memory that one node's
  // kernels pass data through (every node that asks is given the same buffer, after the
  // tensors'; its bytes are not kept from one node to the next).
  std::string scratch(uint64_t bytes);
  uint64_t scratch_bytes() const { return scratch_bytes_; }
  // The error for what this target cannot lower (compiler/target.h's unsupported()).
  [[noreturn]] void unsupported(const Node& n, const std::string& why) const;

  // Lowers every node in order.
  void lower_all();
  // The PTX module text (header and every kernel).
  std::string ptx() const;
  std::vector<isa::ptx::Launch>& launches() { return launches_; }

 private:
  std::vector<std::string> args_;
  std::vector<bool> fragments_;
  int layer_ = -1;
  std::string kernels_;                         // the kernels' text, in order added
  std::map<std::string, std::string> by_body_;  // text under a placeholder name -> entry
  std::map<std::string, int> names_;            // base -> kernels of that base
  std::map<std::string, std::vector<std::string>> param_names_;  // entry -> parameters
  std::vector<isa::ptx::Launch> launches_;
  bool dynamic_shared_ = false;  // a kernel uses the module's dynamic shared memory
  uint64_t scratch_bytes_ = 0;
};

}  // namespace xpusim::compiler::gpu
