// The DaVinci model's rules, each checked on a small kernel run through `xpusim run --kernel` on
// davinci_lab: pipes overlap only as flags allow, a pipe's cycles follow its path width or the
// cube's fractal rate, hazards are reported (races between pipes and inside one, deadlocks,
// flag overflow), blocks spread over the cores, and runs are deterministic. Expected figures
// follow from the rules and the preset's parameters (docs/models/davinci.md).
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support.h"

using namespace xpusim::test;
using Catch::Matchers::Contains;

namespace {

const std::string kFixtures = std::string(XPUSIM_SOURCE_DIR) + "/tests/fixtures/davinci/";

// A kernel with one buffer parameter `buf` (in x1) and `body`, ending in `end`.
std::string kernel(const std::string& body) {
  return ".kernel k\n.param buf, x1\n" + body + "  end\n";
}

struct Run {
  Cli cli;
  nlohmann::json stats;
};

// Runs kernel text on davinci_lab with a 64 KiB zeroed buffer.
Run run(const std::string& name, const std::string& text, int blocks = 1,
        const std::vector<std::string>& extra = {}) {
  const std::string dir = temp_dir("davinci-" + name);
  const std::string file = write_text(dir, name + ".s", text);
  const std::string buf = write_text(dir, "buf.bin", std::string(65536, '\0'));
  Args args = {"run",       "--arch", "davinci_lab",          "--kernel", file,         "--entry",
               "k",         "--grid", std::to_string(blocks), "--arg",    "buf=" + buf, "--out",
               dir + "/out"};
  args.insert(args.end(), extra.begin(), extra.end());
  Run r{run_cli(args), {}};
  if (r.cli.status == 0) r.stats = nlohmann::json::parse(read_text(dir + "/out/stats.json"));
  return r;
}

double stat(const nlohmann::json& s, const std::vector<std::string>& groups,
            const std::string& name) {
  const nlohmann::json* g = &s["stats"];
  for (const auto& n : groups) g = &(*g)["groups"][n];
  return (*g)["stats"][name]["value"].get<double>();
}
uint64_t cycles(const nlohmann::json& stats) {
  return stats["total_cycles"].get<uint64_t>();
}
uint64_t cycles(const Run& r) {
  return cycles(r.stats);
}

// Loads 16 KiB into ub[0] and flags it to the vector pipe.
const std::string kLoad =
    "  copy_gm_to_ubuf ub[0], gm[x1], nburst=1, burst=512\n"
    "  set_flag PIPE_MTE2, PIPE_V, EVENT_ID0\n"
    "  wait_flag PIPE_MTE2, PIPE_V, EVENT_ID0\n";

}  // namespace

TEST_CASE("DaVinci: a vector op takes one cycle per 256-byte iteration", "[timing]") {
  // Two kernels that differ by 32 iterations of vadd on the vector pipe: the busy cycles differ
  // by exactly 32 (one iteration per cycle, vector.slow_cycles only for exp/ln/rec/sqrt/div).
  auto body = [](int repeat, const char* op) {
    return kLoad + fmt::format("  {}.f16 ub[32768], ub[0], ub[0], repeat={}\n", op, repeat);
  };
  const Run a = run("v8", kernel(body(8, "vadd"))), b = run("v40", kernel(body(40, "vadd")));
  REQUIRE(a.cli.status == 0);
  REQUIRE(b.cli.status == 0);
  CHECK(stat(b.stats, {"core0", "PIPE_V"}, "busy_cycles") -
            stat(a.stats, {"core0", "PIPE_V"}, "busy_cycles") ==
        32);
  CHECK(cycles(b) - cycles(a) == 32);
  auto unary = [](int repeat) {
    return kLoad + fmt::format("  vexp.f16 ub[32768], ub[0], repeat={}\n", repeat);
  };
  const Run e = run("e8", kernel(unary(8))), f = run("e40", kernel(unary(40)));
  REQUIRE(f.cli.status == 0);
  CHECK(stat(f.stats, {"core0", "PIPE_V"}, "busy_cycles") -
            stat(e.stats, {"core0", "PIPE_V"}, "busy_cycles") ==
        32 * 4);  // davinci_lab: vector.slow_cycles 4
}

TEST_CASE("DaVinci: a vector iteration's sources in one UB bank take a cycle each", "[timing]") {
  // davinci_lab: 64 banks of 32-byte blocks, so addresses 2048 bytes apart share a bank. A vadd
  // whose two sources are 2048 bytes apart reads each bank twice per iteration: 2 cycles; 1024
  // apart, once: 1 cycle. 16 iterations.
  auto body = [](int src1) {
    return kLoad + fmt::format("  vadd.f16 ub[32768], ub[0], ub[{}], repeat=16\n", src1);
  };
  const Run same = run("bank-same", kernel(body(2048))),
            apart = run("bank-apart", kernel(body(1024)));
  REQUIRE(same.cli.status == 0);
  REQUIRE(apart.cli.status == 0);
  CHECK(stat(same.stats, {"core0", "PIPE_V"}, "busy_cycles") == 32);
  CHECK(stat(apart.stats, {"core0", "PIPE_V"}, "busy_cycles") == 16);
  CHECK(stat(same.stats, {"core0"}, "ub_bank_conflict_cycles") == 16);
  CHECK(stat(apart.stats, {"core0"}, "ub_bank_conflict_cycles") == 0);
}

TEST_CASE("DaVinci: a mad takes one cycle per 16x16x16 fractal step", "[timing]") {
  auto body = [](int m) {
    // L0A and L0B hold whatever (timing only); the cube runs m/16 * 2 * 4 fractal steps.
    return fmt::format("  mad.f16 l0c[0], l0a[0], l0b[0], m={}, k=64, n=32\n", m);
  };
  const Run a = run("m16", kernel(body(16)), 1, {"--no-functional"});
  const Run b = run("m64", kernel(body(64)), 1, {"--no-functional"});
  REQUIRE(a.cli.status == 0);
  REQUIRE(b.cli.status == 0);
  CHECK(stat(b.stats, {"core0", "PIPE_M"}, "busy_cycles") -
            stat(a.stats, {"core0", "PIPE_M"}, "busy_cycles") ==
        (64 - 16) / 16 * 4 * 2);
}

TEST_CASE("DaVinci: pipes overlap when flags allow and serialise when they order", "[timing]") {
  // Independent work on MTE2 (a load) and V (vector ops on other bytes) overlaps: all of the
  // vector work hides behind the load. With a flag from MTE2 to V before the vector work, V
  // starts only after the load is complete, and the run is longer by all of V's busy time.
  const std::string load = "  copy_gm_to_ubuf ub[0], gm[x1], nburst=1, burst=1024\n";
  const std::string vec =
      "  vector_dup.f16 ub[32768], 1.0, repeat=64\n"
      "  pipe_barrier PIPE_V\n"
      "  vadd.f16 ub[49152], ub[32768], ub[32768], repeat=64\n";
  const Run par = run("par", kernel(load + vec));
  const Run ser = run("ser", kernel(load +
                                    "  set_flag PIPE_MTE2, PIPE_V, EVENT_ID0\n"
                                    "  wait_flag PIPE_MTE2, PIPE_V, EVENT_ID0\n" +
                                    vec));
  REQUIRE(par.cli.status == 0);
  REQUIRE(ser.cli.status == 0);
  const double mte2 = stat(par.stats, {"core0", "PIPE_MTE2"}, "busy_cycles");
  const double v = stat(par.stats, {"core0", "PIPE_V"}, "busy_cycles");
  CHECK(mte2 == 32768 / 110 + 1);  // davinci_lab: path.gm_read 110 bytes/cycle
  CHECK(double(cycles(ser) - cycles(par)) >= v);
  CHECK(stat(ser.stats, {"core0", "PIPE_V"}, "flag_wait_cycles") > 0);
}

TEST_CASE("DaVinci: a missing flag between pipes is reported as a race", "[timing]") {
  // The vector pipe reads what MTE2 writes, with nothing between: a race, whatever the timing.
  const Run r = run("race", kernel("  copy_gm_to_ubuf ub[0], gm[x1], nburst=1, burst=8\n"
                                   "  vadd.f16 ub[256], ub[0], ub[0], repeat=1\n"));
  CHECK(r.cli.status != 0);
  CHECK(has(r.cli, "race on ub[0x0, 0x100)"));
  CHECK(has(r.cli, "copy_gm_to_ubuf at"));
  CHECK(has(r.cli, "race.s:3 (core 0, PIPE_MTE2) writes these bytes and vadd at"));
  CHECK(has(r.cli, "no set_flag/wait_flag between PIPE_MTE2 and PIPE_V"));
  // The same with race checking off runs (and reads whatever the timing gives).
  CHECK(run("race-off",
            kernel("  copy_gm_to_ubuf ub[0], gm[x1], nburst=1, burst=8\n"
                   "  vadd.f16 ub[256], ub[0], ub[0], repeat=1\n"),
            1, {"--set", "core.race_check=false", "--no-functional"})
            .cli.status == 0);
}

TEST_CASE("DaVinci: a sync_all orders what came before it, and races after it are found",
          "[timing]") {
  // Two cores: each loads, meets the other at sync_all (which drains its pipes), and reads the
  // loaded bytes with no flag: ordered. The checker forgets every access at the barrier; what
  // comes after it is checked as before: the same read and write with no flag is a race.
  const std::string load = "  copy_gm_to_ubuf ub[0], gm[x1], nburst=1, burst=8\n";
  const std::string use = "  vadd.f16 ub[256], ub[0], ub[0], repeat=1\n";
  CHECK(run("synced", kernel(load + "  sync_all\n" + use), 2).cli.status == 0);
  const Run after = run("after-sync", kernel(load + "  sync_all\n" + load + use), 2);
  CHECK(after.cli.status != 0);
  CHECK(has(after.cli, "race on ub[0x0, 0x100)"));
  CHECK(has(after.cli, "after-sync.s:5 (core"));
}

TEST_CASE("DaVinci: dependent vector ops need a pipe_barrier", "[timing]") {
  const std::string first = kLoad + "  vadd.f16 ub[8192], ub[0], ub[0], repeat=1\n";
  const std::string second = "  vmul.f16 ub[16384], ub[8192], ub[0], repeat=1\n";
  const Run bad = run("nobarrier", kernel(first + second));
  CHECK(bad.cli.status != 0);
  CHECK(has(bad.cli, "no pipe_barrier PIPE_V between them"));
  const Run good = run("barrier", kernel(first + "  pipe_barrier PIPE_V\n" + second));
  CHECK(good.cli.status == 0);
  // Consecutive mads accumulating into one L0C tile need none: the cube pipe keeps their order.
  const Run mads = run("mads",
                       kernel("  mad.f16 l0c[0], l0a[0], l0b[0], m=16, k=16, n=16\n"
                              "  mad.f16 l0c[0], l0a[0], l0b[0], m=16, k=16, n=16, init=0\n"),
                       1, {"--no-functional"});
  CHECK(mads.cli.status == 0);
}

TEST_CASE("DaVinci: a wait nobody satisfies is a deadlock naming pipe, event and line",
          "[timing]") {
  const Run r = run("deadlock", kernel("  wait_flag PIPE_MTE2, PIPE_V, EVENT_ID3\n"
                                       "  vadd.f16 ub[0], ub[0], ub[0], repeat=1\n"));
  CHECK(r.cli.status != 0);
  CHECK(has(r.cli, "deadlock"));
  CHECK(has(r.cli, "PIPE_V waits at"));
  CHECK(has(r.cli, "deadlock.s:3: wait_flag"));
  CHECK(has(r.cli, "wait_flag PIPE_MTE2, PIPE_V, EVENT_ID3"));
}

TEST_CASE("DaVinci: a flag set more times than it holds is an error", "[timing]") {
  std::string body;
  for (int i = 0; i < 5; ++i) body += "  set_flag PIPE_MTE2, PIPE_V, EVENT_ID0\n";
  const Run r = run("flags", kernel(body));
  CHECK(r.cli.status != 0);
  CHECK(has(r.cli, "is set 5 times with no wait_flag taking them (core.flag_depth 4)"));
}

TEST_CASE("DaVinci: blocks spread over the cores, sync_all only when all run at once", "[timing]") {
  const std::string body = kLoad + "  vexp.f16 ub[8192], ub[0], repeat=32\n";
  const Run one = run("blocks1", kernel(body), 1), two = run("blocks2", kernel(body), 2),
            four = run("blocks4", kernel(body), 4);
  REQUIRE(four.cli.status == 0);
  CHECK(four.stats["stats"]["groups"]["launch"]["stats"]["cores"]["value"] == 2);
  // Two blocks run side by side on the two cores (within the memory side's contention); four
  // take two turns.
  CHECK(cycles(two) < cycles(one) * 11 / 10);
  CHECK(cycles(four) > cycles(two) * 15 / 10);
  const Run sync = run("sync", kernel("  sync_all\n"), 4);
  CHECK(sync.cli.status != 0);
  CHECK(has(sync.cli, "sync_all in a launch of 4 blocks on 2 AI cores"));
  CHECK(run("sync2", kernel("  sync_all\n"), 2).cli.status == 0);
}

TEST_CASE("DaVinci: a kernel's accesses out of a buffer are errors", "[timing]") {
  const Run r = run("bounds", kernel("  copy_gm_to_ubuf ub[65536], gm[x1], nburst=1, burst=1\n"));
  CHECK(r.cli.status != 0);
  CHECK(has(r.cli, "bounds.s:3: copy_gm_to_ubuf (core 0)"));
  CHECK(has(r.cli, "ub"));
}

TEST_CASE("DaVinci: the GEMM kernel's runs are deterministic and the trace has a track per pipe",
          "[timing]") {
  const std::string dir = temp_dir("davinci-gemm-det");
  const std::string a = write_text(dir, "a.bin", std::string(256 * 256 * 2, '\0'));
  auto go = [&](const std::string& out, bool trace) {
    Args args = {"--arch",         "ascend910", "--kernel", kFixtures + "gemm_f16.s",
                 "--entry",        "gemm_f16",  "--grid",   "8",
                 "--arg",          "a=" + a,    "--arg",    "b=" + a,
                 "--arg",          "c=" + a,    "--arg",    "m=256",
                 "--arg",          "n=256",     "--arg",    "k=256",
                 "--no-functional"};
    if (trace) args.push_back("--trace");
    return run_stats(args, dir + "/" + out);
  };
  const auto x = go("x", true), y = go("y", false);
  CHECK(x["total_cycles"] == y["total_cycles"]);
  CHECK(x["macs"] == 256 * 256 * 256);
  const std::string trace = read_text(dir + "/x/trace.json");
  CHECK_THAT(trace, Contains("\"AI core 7\""));
  CHECK_THAT(trace, Contains("\"PIPE_MTE1\""));
}

TEST_CASE("DaVinci: img2col is a load of its fractals on the L1 -> L0A path", "[timing]") {
  // A 16 KiB map (2 slices of 16 x 16 pixels) into L1, then img2col of 2 and of 18 fractals:
  // MTE1 busy cycles differ by 16 fractals' bytes at path.l1_to_l0a bytes per cycle.
  auto body = [](int repeat) {
    return fmt::format(
        "  copy_gm_to_cbuf l1[0], gm[x1], nburst=1, burst=512\n"
        "  set_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID0\n"
        "  wait_flag PIPE_MTE2, PIPE_MTE1, EVENT_ID0\n"
        "  set_fmatrix h=16, w=16, pad_t=1, pad_l=1\n"
        "  img2col_cbuf_to_ca l0a[0], l1[0], kh=3, kw=3, ow=16, m=0, k=0, repeat={}\n",
        repeat);
  };
  const Run a = run("i2", kernel(body(2))), b = run("i18", kernel(body(18)));
  REQUIRE(a.cli.status == 0);
  REQUIRE(b.cli.status == 0);
  const double path = 512;  // configs/davinci_lab.yaml: path.l1_to_l0a
  CHECK(stat(b.stats, {"core0", "PIPE_MTE1"}, "busy_cycles") -
            stat(a.stats, {"core0", "PIPE_MTE1"}, "busy_cycles") ==
        16 * 512 / path);
  // Without set_fmatrix: an error naming the instruction.
  const Run c = run("nofm", kernel("  img2col_cbuf_to_ca l0a[0], l1[0], kh=1, kw=1, ow=1, m=0, "
                                   "k=0, repeat=1\n"));
  CHECK(c.cli.status == 1);
  CHECK(has(c.cli,
            "nofm.s:3: img2col_cbuf_to_ca (core 0): reads a feature map, and no set_fmatrix "
            "came before it in PIPE_MTE1"));
}

TEST_CASE("DaVinci: bad kernels and workloads give clear errors", "[timing]") {
  // A misaligned fractal and a mad that is not whole fractals, at dispatch, naming the line.
  const Run a = run("misaligned", kernel("  load_cbuf_to_ca l0a[256], l1[0], repeat=1\n"));
  CHECK(a.cli.status == 1);
  CHECK(has(a.cli,
            "misaligned.s:3: load_cbuf_to_ca (core 0): the destination address must be "
            "512-byte aligned (got l0a[256])"));
  const Run m = run("mad17", kernel("  mad.f16 l0c[0], l0a[0], l0b[0], m=17, k=16, n=16\n"));
  CHECK(m.cli.status == 1);
  CHECK(has(m.cli, "mad17.s:3: mad (core 0): m must be a multiple of 16 (got 17)"));
  // An event id out of range, when the kernel is read.
  const Run e = run("event", kernel("  set_flag PIPE_MTE2, PIPE_V, EVENT_ID8\n"));
  CHECK(e.cli.status == 1);
  CHECK(has(e.cli, "event.s:3:31: expected an event (EVENT_ID0 to EVENT_ID7), found 'EVENT_ID8'"));
  // An error on one core while another waits for a flag: the error is what is reported, not
  // the wait it cut short.
  const Run two = run("first",
                      ".kernel k\n.param buf, x1\n"
                      "  get_block_idx x2\n"
                      "  bne x2, 1, rest\n"
                      "  load_cbuf_to_ca l0a[256], l1[0], repeat=1\n"
                      "rest:\n"
                      "  copy_gm_to_ubuf ub[0], gm[x1], nburst=1, burst=2000\n"
                      "  set_flag PIPE_MTE2, PIPE_V, EVENT_ID0\n"
                      "  wait_flag PIPE_MTE2, PIPE_V, EVENT_ID0\n"
                      "  end\n",
                      2);
  CHECK(two.cli.status == 1);
  CHECK(has(two.cli,
            "first.s:5: load_cbuf_to_ca (core 1): the destination address must be 512-byte "
            "aligned (got l0a[256])"));
  CHECK_FALSE(has(two.cli, "deadlock"));
  // Workloads the target cannot lower, when they are compiled: the file's name, the ops (after
  // `name:`, `inputs:` and one input x of `input`), the preset, extra arguments, the message.
  struct Refused {
    const char* name;
    const char* input;
    const char* ops;
    const char* arch;
    std::vector<std::string> extra;
    const char* message;
  };
  const std::vector<Refused> refused = {
      // A GEMM whose smallest tile does not fit the preset's buffers.
      {"tile",
       "[32, 32], dtype: bf16",
       "  - {name: fc, op: gemm, inputs: [x], N: 32}\n",
       "davinci_lab",
       {"--set", "buffer.l0a_bytes=512"},
       "tile.yaml:5:5: op 'gemm' (node 'fc') cannot be lowered to target 'davinci_lab': no 16 x "
       "16 x 16 tile fits this preset's buffers"},
      // A row longer than the unified buffer holds.
      {"row",
       "[4, 6000], dtype: fp16",
       "  - {name: sm, op: softmax, inputs: [x]}\n",
       "davinci_lab",
       {},
       "row.yaml:5:5: op 'softmax' (node 'sm') cannot be lowered to target 'davinci_lab': a row "
       "of 6000 elements needs 72832 bytes of the unified buffer, the preset has 65536"},
      // A convolution of more taps than img2col's repeat takes.
      {"taps",
       "[1, 16, 20, 20], dtype: fp16",
       "  - {name: g, op: conv2d, inputs: [x], K: 16, R: 16, S: 16, groups: 4}\n",
       "ascend910",
       {},
       "taps.yaml:5:5: op 'conv2d' (node 'g') cannot be lowered to target 'ascend910': a kernel "
       "of more than 255 taps"},
      // An fp32 workload: the target lowers fp16, bf16 and int8.
      {"fp32",
       "[32, 32], dtype: fp32",
       "  - {name: fc, op: gemm, inputs: [x], N: 32}\n",
       "ascend910",
       {},
       "fp32.yaml:5:5: op 'gemm' (node 'fc') cannot be lowered to target 'ascend910': the "
       "DaVinci target lowers fp16, bf16 and int8 ops so far, not fp32"},
      // An int8 matmul whose B another op makes: the cube reads an s8 B stored transposed.
      {"int8b",
       "[1, 32, 32], dtype: int8",
       "  - {name: a, op: matmul, inputs: [x, x]}\n"
       "  - {name: b, op: matmul, inputs: [x, a.out]}\n",
       "ascend910",
       {},
       "int8b.yaml:6:5: op 'matmul' (node 'b') cannot be lowered to target 'ascend910': an int8 "
       "B ('a.out') that an op makes"},
      // A row op over a convolution's NC1HWC0 output: a layout conversion the target lacks.
      {"convert",
       "[1, 16, 4, 4], dtype: fp16",
       "  - {name: conv, op: conv2d, inputs: [x], K: 16, R: 3, S: 3, pad: 1}\n"
       "  - {name: sm, op: softmax, inputs: [conv.out]}\n",
       "ascend910",
       {},
       "convert.yaml:5:5: op 'conv2d' (node 'conv') cannot be lowered to target 'ascend910': "
       "tensor 'conv.out' is wanted in two layouts, padded and nc1hwc0 (a conversion between "
       "them is not lowered yet)"},
  };
  const std::string dir = temp_dir("davinci-refused");
  // A run-time error in a compiled kernel names the layer and the line of the lowered text.
  const std::string lim =
      write_text(dir, "lim.yaml",
                 "name: lim\ninputs:\n  - {name: x, shape: [64, 64], dtype: fp16}\n"
                 "ops:\n  - {name: fc, op: gemm, inputs: [x], N: 64}\n");
  const Cli lc = run_cli({"run", "--arch", "davinci_lab", "--workload", lim, "--max-cycles", "20",
                          "--out", dir + "/lim"});
  CHECK(lc.status == 1);
  CHECK(has(lc, "more than 20 cycles simulated"));
  CHECK(has(lc, "lim.yaml (layer 'fc', lowered line "));
  for (const Refused& r : refused) {
    INFO(r.name);
    const std::string w = write_text(dir, std::string(r.name) + ".yaml",
                                     fmt::format("name: {}\ninputs:\n  - {{name: x, shape: {}}}\n"
                                                 "ops:\n{}",
                                                 r.name, r.input, r.ops));
    Args args = {"run", "--arch", r.arch, "--workload", w, "--out", dir + "/" + r.name};
    args.insert(args.end(), r.extra.begin(), r.extra.end());
    const Cli c = run_cli(args);
    CHECK(c.status == 1);
    CHECK(has(c, r.message));
  }
}

TEST_CASE("DaVinci: op sampling skips code that repeats but for base addresses, not other code",
          "[timing]") {
  // Each core works in its own 32 KiB of the buffer (x1). Units (code between two sync_alls):
  // 1 copies 256 bytes from buf+1024 to buf+8192; 2 the same from buf+2048 to buf+9216 (other
  // bases, the same offsets in their 512-byte blocks); 3 and 4 copy x7 >> 8 blocks from buf+x7
  // with x7 = 1024 and 1536: x7 is an address and a count, so 4 is other code.
  auto copy = [](const std::string& from, const std::string& blocks, int to) {
    return fmt::format(
        "  copy_gm_to_ubuf ub[0], gm[{0}], nburst=1, burst={1}\n"
        "  set_flag PIPE_MTE2, PIPE_MTE3, EVENT_ID0\n"
        "  wait_flag PIPE_MTE2, PIPE_MTE3, EVENT_ID0\n"
        "  copy_ubuf_to_gm gm[x1+{2}], ub[0], nburst=1, burst={1}\n"
        "  set_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0\n"
        "  wait_flag PIPE_MTE3, PIPE_MTE2, EVENT_ID0\n"
        "  sync_all\n",
        from, blocks, to);
  };
  auto counted = [&](int x7) {
    return fmt::format("  mov x7, {}\n  shr x10, x7, 8\n  add x9, x1, x7\n", x7) +
           copy("x9", "x10", 16384);
  };
  const std::string body = "  get_block_idx x3\n  shl x3, x3, 15\n  add x1, x1, x3\n  sync_all\n" +
                           copy("x1+1024", "8", 8192) + copy("x1+2048", "8", 9216) + counted(1024) +
                           counted(1536);
  const Run full = run("sample-full", kernel(body), 2, {"--no-functional"});
  const Run sampled =
      run("sample-1", kernel(body), 2, {"--no-functional", "--set", "sampling.ops=1"});
  REQUIRE(full.cli.status == 0);
  REQUIRE(sampled.cli.status == 0);
  CHECK_FALSE(full.stats["stats"]["groups"].contains("op_sampling"));
  CHECK(stat(sampled.stats, {"op_sampling"}, "units") == 4);
  CHECK(stat(sampled.stats, {"op_sampling"}, "units_skipped") == 1);
  CHECK(has(sampled.cli, "sampling.ops = 1: 1 of 4 units"));
  // The skipped unit's instructions and traffic are the simulated one's.
  for (const char* s : {"dispatched", "gm_bytes_read", "gm_bytes_written"})
    CHECK(stat(sampled.stats, {"core1"}, s) == stat(full.stats, {"core1"}, s));
}

TEST_CASE("DaVinci: op sampling gives a gemm the figures of an earlier one of its shape only",
          "[timing]") {
  // A chain of gemms: the first is in the kernel's first unit (with its prologue) and the last
  // ends it, so g2 .. g5 may be skipped; g3 repeats g2 on other tensors, g4 and g5 differ in N
  // and K.
  const std::string dir = temp_dir("davinci-sample-gemms");
  std::string yaml =
      "name: chain\ninputs:\n  - {name: x, shape: [64, 64], dtype: fp16}\nops:\n"
      "  - {name: g1, op: gemm, inputs: [x], N: 64}\n";
  const int n[] = {64, 64, 128, 64, 64};
  for (int i = 0; i < 5; ++i)
    yaml +=
        fmt::format("  - {{name: g{}, op: gemm, inputs: [g{}.out], N: {}}}\n", i + 2, i + 1, n[i]);
  const std::string file = write_text(dir, "chain.yaml", yaml);
  const Args base = {"--arch", "davinci_lab", "--workload", file, "--no-functional"};
  Args with = base;
  with.insert(with.end(), {"--set", "sampling.ops=1"});
  const auto full = run_stats(base, dir + "/full");
  const auto sampled = run_stats(with, dir + "/sampled");
  CHECK(stat(sampled, {"op_sampling"}, "units") == 4);
  CHECK(stat(sampled, {"op_sampling"}, "units_skipped") == 1);
  const auto& layers = sampled["layers"];
  CHECK(layers[2]["name"] == "g3");
  CHECK(layers[2]["cycles"] == layers[1]["cycles"]);
  CHECK(layers[2]["dram_bytes"] == layers[1]["dram_bytes"]);
  CHECK(sampled["macs"] == full["macs"]);
}

TEST_CASE("DaVinci: op sampling of a small Llama's repeated layers", "[timing]") {
  // A decode step of 4 layers: layers 2 to 4 run layer 1's code on other tensors.
  const std::string dir = temp_dir("davinci-sample-llama");
  const Args base = {"--arch",    "davinci_lab", "--workload", "llama-2-7b-decode", "--param",
                     "layers=4",  "--param",     "hidden=256", "--param",           "heads=4",
                     "--param",   "kv_heads=4",  "--param",    "ffn=512",           "--param",
                     "vocab=512", "--param",     "ctx=200",    "--param",           "dtype=fp16"};
  auto with = [&](const std::string& name, Args extra) {
    Args a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return run_stats(a, dir + "/" + name);
  };
  const auto full = with("full", {"--no-functional"});
  const auto sampled = with("sampled", {"--no-functional", "--set", "sampling.ops=1"});
  CHECK_FALSE(full["stats"]["groups"].contains("op_sampling"));
  // A layer has 23 units (its nodes, the attention's three steps; the first layer's first node
  // is in the kernel's first unit): at least the 3 later layers' are skipped.
  CHECK(stat(sampled, {"op_sampling"}, "units_skipped") >= 3 * 23);
  CHECK(stat(sampled, {"op_sampling"}, "cycles_reused") > 0);
  CHECK(double(cycles(sampled)) == Approx(double(cycles(full))).epsilon(0.03));
  // The code does not depend on data: the instructions and MACs are the same.
  for (const char* core : {"core0", "core1"})
    for (const char* s : {"dispatched", "scalar_instructions"})
      CHECK(stat(sampled, {core}, s) == stat(full, {core}, s));
  CHECK(stat(sampled, {"core0", "PIPE_M"}, "instructions") ==
        stat(full, {"core0", "PIPE_M"}, "instructions"));
  CHECK(sampled["macs"] == full["macs"]);
  CHECK(sampled["layers"].size() == full["layers"].size());
  // With values every unit runs.
  const auto values = with("values", {"--set", "sampling.ops=1"});
  CHECK_FALSE(values["stats"]["groups"].contains("op_sampling"));
  CHECK(cycles(values) == cycles(full));
}
