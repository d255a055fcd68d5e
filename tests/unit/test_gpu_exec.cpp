// Semantics of the GPU family's functional executor on small hand-written PTX kernels run
// through `xpusim run --kernel`: the order of atomics, warp shuffles and votes, reconvergence
// after unstructured branches, local/shared/const memory through generic addresses.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/support.h"

using namespace xpusim::test;

namespace {

// Runs entry `name` of `ptx` with one u64 buffer parameter `name_param_0` of `words` zero
// words on gpu_lab; returns the buffer afterwards.
std::vector<uint32_t> run_kernel(const std::string& name, const std::string& ptx, int threads,
                                 size_t words) {
  const std::string dir = temp_dir("gpu-exec-" + name);
  const std::string file = write_text(dir, name + ".ptx", ptx);
  const std::string buf = write_text(dir, "buf.bin", std::string(words * 4, '\0'));
  run_stats({"--arch", "gpu_lab", "--kernel", file, "--entry", name, "--grid", "1", "--block",
             std::to_string(threads), "--arg", name + "_param_0=" + buf},
            dir + "/out");
  std::ifstream in(dir + "/out/" + name + "_param_0.bin", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() == words * 4);
  std::vector<uint32_t> v(words);
  std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

std::string module(const std::string& name, const std::string& decls, const std::string& body) {
  return fmt::format(
      ".version 8.0\n.target sm_80\n.address_size 64\n{}\n.visible .entry {}(\n"
      "\t.param .u64 {}_param_0\n)\n{{\n\t.reg .pred %p<8>;\n\t.reg .b32 %r<32>;\n"
      "\t.reg .b64 %rd<16>;\n\n\tld.param.u64 %rd1, [{}_param_0];\n"
      "\tcvta.to.global.u64 %rd2, %rd1;\n\tmov.u32 %r1, %tid.x;\n"
      "\tmul.wide.u32 %rd3, %r1, 4;\n\tadd.s64 %rd4, %rd2, %rd3;\n{}\tret;\n}}\n",
      decls, name, name, name, body);
}

}  // namespace

TEST_CASE("atomics run thread by thread in a defined order", "[unit]") {
  // 64 threads: warp 0 then warp 1, each instruction's lanes in ascending order.
  const std::string body =
      "\tatom.global.add.u32 %r2, [%rd2], 1;\n"
      "\tst.global.u32 [%rd4+128], %r2;\n"  // the old value: the thread's index
      "\tadd.s32 %r3, %r1, -10;\n"
      "\tatom.global.max.s32 %r4, [%rd2+4], %r3;\n"
      "\tatom.global.min.s32 %r4, [%rd2+8], %r3;\n"
      "\tatom.global.exch.b32 %r4, [%rd2+12], %r1;\n"
      "\tadd.s32 %r5, %r1, 1;\n"
      "\tatom.global.cas.b32 %r4, [%rd2+16], %r1, %r5;\n"
      "\tatom.global.inc.u32 %r4, [%rd2+20], 9;\n"
      "\tred.global.add.u32 [%rd2+24], %r1;\n";
  const auto v = run_kernel("atomics", module("atomics", "", body), 64, 32 + 64);
  CHECK(v[0] == 64);
  CHECK(int32_t(v[1]) == 53);
  CHECK(int32_t(v[2]) == -10);
  CHECK(v[3] == 63);       // the last thread's exchange
  CHECK(v[4] == 64);       // each cas finds the previous thread's value
  CHECK(v[5] == 64 % 10);  // inc wraps to 0 after 9
  CHECK(v[6] == 63 * 64 / 2);
  for (uint32_t t = 0; t < 64; ++t) CHECK(v[32 + t] == t);
}

TEST_CASE("shuffles, votes and match follow the PTX definitions", "[unit]") {
  const std::string body =
      "\tmov.u32 %r9, -1;\n"
      "\tshfl.sync.up.b32 %r2|%p1, %r1, 1, 0, %r9;\n"
      "\tst.global.u32 [%rd4], %r2;\n"
      "\tshfl.sync.idx.b32 %r3, %r1, 5, 31, %r9;\n"
      "\tst.global.u32 [%rd4+128], %r3;\n"
      "\tshfl.sync.bfly.b32 %r4, %r1, 1, 31, %r9;\n"
      "\tst.global.u32 [%rd4+256], %r4;\n"
      "\tand.b32 %r5, %r1, 1;\n"
      "\tsetp.eq.u32 %p2, %r5, 1;\n"
      "\tvote.sync.ballot.b32 %r6, %p2, %r9;\n"
      "\tst.global.u32 [%rd4+384], %r6;\n"
      "\tand.b32 %r7, %r1, 3;\n"
      "\tmatch.any.sync.b32 %r8, %r7, %r9;\n"
      "\tst.global.u32 [%rd4+512], %r8;\n";
  const auto v = run_kernel("warpops", module("warpops", "", body), 32, 5 * 32);
  for (uint32_t l = 0; l < 32; ++l) {
    INFO("lane " << l);
    CHECK(v[l] == (l == 0 ? 0 : l - 1));
    CHECK(v[32 + l] == 5);
    CHECK(v[64 + l] == (l ^ 1));
    CHECK(v[96 + l] == 0xaaaaaaaau);
    CHECK(v[128 + l] == (0x11111111u << (l & 3)));
  }
}

TEST_CASE("threads reconverge after an unstructured branch", "[unit]") {
  // Odd lanes jump forward to B, then back into A; all meet at JOIN with the full mask.
  const std::string body =
      "\tmov.u32 %r3, 0;\n"
      "\tand.b32 %r2, %r1, 1;\n"
      "\tsetp.eq.u32 %p1, %r2, 1;\n"
      "\t@%p1 bra $L__B;\n"
      "$L__A:\n"
      "\tadd.s32 %r3, %r3, 1;\n"
      "\tbra.uni $L__JOIN;\n"
      "$L__B:\n"
      "\tadd.s32 %r3, %r3, 10;\n"
      "\tbra.uni $L__A;\n"
      "$L__JOIN:\n"
      "\tactivemask.b32 %r4;\n"
      "\tst.global.u32 [%rd4], %r3;\n"
      "\tst.global.u32 [%rd4+128], %r4;\n";
  const auto v = run_kernel("reconv", module("reconv", "", body), 32, 64);
  for (uint32_t l = 0; l < 32; ++l) {
    INFO("lane " << l);
    CHECK(v[l] == (l & 1 ? 11u : 1u));
    CHECK(v[32 + l] == 0xffffffffu);
  }
}

TEST_CASE("local, shared and const memory work through generic addresses", "[unit]") {
  const std::string decls = ".const .align 4 .b32 tab[4] = {10, 20, 30, 40};\n";
  const std::string body =
      "\t.local .align 4 .b8 priv[16];\n"
      "\t.shared .align 4 .b8 sh[128];\n"
      "\tmov.u64 %rd5, priv;\n"
      "\tcvta.local.u64 %rd6, %rd5;\n"
      "\tst.u32 [%rd6+4], %r1;\n"
      "\tld.local.u32 %r2, [priv+4];\n"
      "\tmov.u64 %rd7, sh;\n"
      "\tcvta.shared.u64 %rd8, %rd7;\n"
      "\tadd.s64 %rd9, %rd8, %rd3;\n"
      "\tst.u32 [%rd9], %r2;\n"
      "\tbar.sync 0;\n"
      "\txor.b32 %r3, %r1, 31;\n"
      "\tshl.b32 %r4, %r3, 2;\n"
      "\tmov.u32 %r5, sh;\n"
      "\tadd.s32 %r6, %r5, %r4;\n"
      "\tld.shared.u32 %r7, [%r6];\n"
      "\tld.const.u32 %r8, [tab+8];\n"
      "\tadd.s32 %r9, %r7, %r8;\n"
      "\tst.global.u32 [%rd4], %r9;\n";
  const auto v = run_kernel("spaces", module("spaces", decls, body), 32, 32);
  for (uint32_t l = 0; l < 32; ++l) CHECK(v[l] == (l ^ 31) + 30);
}
