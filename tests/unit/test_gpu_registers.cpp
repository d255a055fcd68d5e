// The GPU model's register renaming (compact_registers, models/gpu/timing.h): registers never
// live at once share a slot, the live-register estimate is kept, and a run gives the same values
// and statistics as the kernel's own numbering would (the golden tests run every compiled
// kernel with values; here a kernel whose renaming is easy to follow).
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>

#include "isa/ptx/module.h"
#include "models/gpu/timing.h"
#include "tests/support.h"

using namespace xpusim;
using namespace xpusim::test;

namespace {

// y[tid] = x[tid] + 1 + 2 + ... + n, through a chain of n temporaries %r10.., each read once,
// and n unrelated predicates that are set and never read.
std::string chain_kernel(int n) {
  std::string body;
  body += "\tld.global.u32 %r10, [%rd4];\n";
  for (int i = 0; i < n; ++i) {
    body += fmt::format("\tadd.s32 %r{}, %r{}, {};\n", 11 + i, 10 + i, i + 1);
    body += fmt::format("\tsetp.eq.s32 %p{}, %r{}, 0;\n", 1 + i, 11 + i);
  }
  body += fmt::format("\tst.global.u32 [%rd4], %r{};\n", 10 + n);
  return fmt::format(
      ".version 8.0\n.target sm_80\n.address_size 64\n.visible .entry chain(\n"
      "\t.param .u64 chain_param_0\n)\n{{\n\t.reg .pred %p<{}>;\n\t.reg .b32 %r<{}>;\n"
      "\t.reg .b64 %rd<8>;\n\n\tld.param.u64 %rd1, [chain_param_0];\n"
      "\tcvta.to.global.u64 %rd2, %rd1;\n\tmov.u32 %r1, %tid.x;\n"
      "\tmul.wide.u32 %rd3, %r1, 4;\n\tadd.s64 %rd4, %rd2, %rd3;\n{}\tret;\n}}\n",
      n + 1, n + 12, body);
}

}  // namespace

TEST_CASE("gpu registers: a chain of temporaries shares slots, the estimate is kept", "[unit]") {
  const int n = 200;
  isa::ptx::Module m = isa::ptx::parse_module(chain_kernel(n), "chain.ptx");
  isa::ptx::Code& code = m.kernels.at(0).code;
  const size_t declared = code.regs.size();
  const uint32_t estimate = gpu::estimate_registers(code);
  gpu::compact_registers(code);
  // Live at once: %rd4 and one link of the chain (64 + 32 bits), and the registers of the
  // prologue; each unread predicate keeps a slot of its own, and %p0 (declared, never used)
  // takes one more.
  CHECK(code.regs.size() < declared);
  size_t b32 = 0, preds = 0;
  for (const auto& r : code.regs) {
    b32 += r.bits == 32;
    preds += r.bits == 1;
  }
  CHECK(b32 <= 3);
  CHECK(preds == size_t(n) + 1);
  CHECK(gpu::estimate_registers(code) == estimate);
  // Every operand names a slot.
  for (const auto& o : code.operands)
    if (o.kind == isa::ptx::OperandKind::reg) CHECK(o.index < code.regs.size());
}

TEST_CASE("gpu registers: the renamed kernel computes the chain", "[unit]") {
  const int n = 50;
  const std::string dir = temp_dir("gpu-registers");
  const std::string file = write_text(dir, "chain.ptx", chain_kernel(n));
  std::string in(4 * 64, '\0');
  for (int t = 0; t < 64; ++t) in[size_t(4 * t)] = char(t);
  const std::string buf = write_text(dir, "x.bin", in);
  const Cli r =
      run_cli({"run", "--arch", "gpu_lab", "--kernel", file, "--entry", "chain", "--grid", "1",
               "--block", "64", "--arg", "chain_param_0=" + buf, "--out", dir + "/out"});
  INFO(r.output);
  REQUIRE(r.status == 0);
  const std::string out = read_text(dir + "/out/chain_param_0.bin");
  REQUIRE(out.size() == in.size());
  for (int t = 0; t < 64; ++t) {
    uint32_t v = 0;
    std::memcpy(&v, out.data() + 4 * t, 4);
    CHECK(v == uint32_t(t + n * (n + 1) / 2));
  }
}
