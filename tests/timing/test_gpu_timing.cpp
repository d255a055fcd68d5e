// The GPU timing model's rules, each checked on a small PTX kernel run through `xpusim run
// --kernel` on gpu_lab: dependent-issue latency, pipe initiation intervals, shared-memory bank
// conflicts, coalescing into sectors, L1 hits, occupancy limits, waves of blocks, determinism.
// Expected figures follow from the rules and the preset's parameters (docs/models/gpu.md);
// differences between two kernel lengths cancel the fixed costs of a launch.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support.h"

using namespace xpusim::test;

namespace {

// A one-parameter kernel (`NAME_param_0`, a u64 buffer) with `body` between the prologue
// (%rd2: the buffer; %r1: %tid.x; %rd4: buffer + 4 * tid) and `ret`.
std::string kernel(const std::string& name, const std::string& decls, const std::string& body) {
  return fmt::format(
      ".version 8.0\n.target sm_80\n.address_size 64\n{}\n.visible .entry {}(\n"
      "\t.param .u64 {}_param_0\n)\n{{\n\t.reg .pred %p<8>;\n\t.reg .b32 %r<32>;\n"
      "\t.reg .f32 %f<32>;\n\t.reg .b64 %rd<16>;\n\n\tld.param.u64 %rd1, [{}_param_0];\n"
      "\tcvta.to.global.u64 %rd2, %rd1;\n\tmov.u32 %r1, %tid.x;\n"
      "\tmul.wide.u32 %rd3, %r1, 4;\n\tadd.s64 %rd4, %rd2, %rd3;\n{}\tret;\n}}\n",
      decls, name, name, name, body);
}

// Runs `ptx` on gpu_lab with a zeroed buffer of `bytes`; returns stats.json.
nlohmann::json run(const std::string& name, const std::string& ptx, int blocks, int threads,
                   size_t bytes, const std::vector<std::string>& extra = {},
                   std::string* out = nullptr) {
  const std::string dir = temp_dir("gpu-timing-" + name);
  if (out) *out = dir + "/out";
  const std::string file = write_text(dir, name + ".ptx", ptx);
  const std::string buf = write_text(dir, "buf.bin", std::string(bytes, '\0'));
  Args args = {"--arch",   "gpu_lab",
               "--kernel", file,
               "--entry",  name,
               "--grid",   std::to_string(blocks),
               "--block",  std::to_string(threads),
               "--arg",    name + "_param_0=" + buf};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_stats(args, dir + "/out");
}

uint64_t cycles(const nlohmann::json& s) {
  return s["total_cycles"].get<uint64_t>();
}
double stat(const nlohmann::json& s, const std::string& group, const std::string& name) {
  return s["stats"]["groups"][group]["stats"][name]["value"].get<double>();
}

// n FMAs over `chains` accumulators %f1..%f<chains>, round-robin.
std::string fmas(int n, int chains) {
  std::string s;
  for (int i = 0; i < chains; ++i) s += fmt::format("\tmov.f32 %f{}, 0f3F800000;\n", i + 1);
  for (int i = 0; i < n; ++i) {
    const int f = i % chains + 1;
    s += fmt::format("\tfma.rn.f32 %f{0}, %f{0}, %f{0}, %f{0};\n", f);
  }
  return s + "\tst.global.f32 [%rd4], %f1;\n";
}

}  // namespace

TEST_CASE("a dependent chain issues one instruction per latency", "[timing][gpu]") {
  for (int lat : {4, 7}) {
    const std::vector<std::string> set = {"--set", fmt::format("latency.fp32={}", lat)};
    const auto a = run("chain", kernel("chain", "", fmas(100, 1)), 1, 32, 128, set);
    const auto b = run("chain", kernel("chain", "", fmas(200, 1)), 1, 32, 128, set);
    CHECK(cycles(b) - cycles(a) == uint64_t(100 * lat));
  }
}

TEST_CASE("independent instructions issue at the pipe's initiation interval", "[timing][gpu]") {
  // gpu_lab: 64 FP32 lanes over 4 sub-partitions, 16 each: a warp-instruction every 2 cycles;
  // with 8 chains each FMA's operand is ready long before.
  const auto a = run("indep", kernel("indep", "", fmas(100, 8)), 1, 32, 128);
  const auto b = run("indep", kernel("indep", "", fmas(200, 8)), 1, 32, 128);
  CHECK(cycles(b) - cycles(a) == 200);
  // 128 FP32 lanes: one per cycle.
  const std::vector<std::string> wide = {"--set", "sm.fp32_lanes=128"};
  const auto c = run("indep", kernel("indep", "", fmas(100, 8)), 1, 32, 128, wide);
  const auto d = run("indep", kernel("indep", "", fmas(200, 8)), 1, 32, 128, wide);
  CHECK(cycles(d) - cycles(c) == 100);
}

TEST_CASE("shared-memory bank conflicts take a wavefront per distinct word in a bank",
          "[timing][gpu]") {
  // Each thread reads the word at tid * stride: 32 banks of 4 bytes.
  for (const auto& [stride, expected] :
       std::vector<std::pair<int, int>>{{0, 1}, {1, 1}, {2, 2}, {4, 4}, {32, 32}, {33, 1}}) {
    const std::string body = fmt::format(
        "\tmul.lo.u32 %r2, %r1, {};\n\tmov.u32 %r3, buf;\n\tadd.u32 %r4, %r3, %r2;\n"
        "\tld.shared.f32 %f1, [%r4];\n\tst.global.f32 [%rd4], %f1;\n",
        stride * 4);
    const auto s =
        run("banks", kernel("banks", ".shared .align 4 .b8 buf[8192];", body), 1, 32, 128);
    INFO("stride " << stride);
    CHECK(stat(s, "shared", "instructions") == 1);
    CHECK(stat(s, "shared", "wavefronts") == expected);
    CHECK(stat(s, "shared", "ideal_wavefronts") == 1);
  }
}

TEST_CASE("global accesses are coalesced into 32-byte sectors", "[timing][gpu]") {
  // Each thread reads the float at tid * stride.
  for (const auto& [stride, sectors] :
       std::vector<std::pair<int, int>>{{0, 1}, {1, 4}, {2, 8}, {8, 32}, {64, 32}}) {
    const std::string body = fmt::format(
        "\tmul.wide.u32 %rd5, %r1, {};\n\tadd.s64 %rd6, %rd2, %rd5;\n"
        "\tld.global.f32 %f1, [%rd6];\n",
        stride * 4);
    const auto s = run("coalesce", kernel("coalesce", "", body), 1, 32, 8192);
    INFO("stride " << stride);
    CHECK(stat(s, "global", "instructions") == 1);
    CHECK(stat(s, "global", "sectors") == sectors);
  }
}

TEST_CASE("a second load of the same sectors hits in L1", "[timing][gpu]") {
  const std::string body =
      "\tld.global.f32 %f1, [%rd4];\n\tadd.f32 %f2, %f1, %f1;\n"
      "\tld.global.f32 %f3, [%rd4];\n\tadd.f32 %f4, %f3, %f2;\n\tst.global.f32 [%rd4], %f4;\n";
  const auto s = run("reload", kernel("reload", "", body), 1, 32, 128);
  CHECK(stat(s, "global", "l1_misses") == 4);
  CHECK(stat(s, "global", "l1_hits") == 4);
  // The first load waits for L2 and HBM, the second only for L1.
  CHECK(cycles(s) > 100 + 100);  // gpu_lab: l2.latency 100, memory.latency 100
}

TEST_CASE("occupancy is limited by shared memory, warps, and blocks", "[timing][gpu]") {
  // gpu_lab: 48 KiB shared, 32 warps, 16 blocks per SM.
  const std::string use = "\tmov.u32 %r5, buf;\n\tst.shared.u32 [%r5], %r1;\n";
  const auto shared = run("occ", kernel("occ", ".shared .align 4 .b8 buf[20000];", use), 8, 64, 4);
  CHECK(stat(shared, "occupancy", "blocks_per_sm") == 2);  // 49152 / 20000
  const auto warps = run("occ", kernel("occ", "", ""), 8, 512, 4);
  CHECK(stat(warps, "occupancy", "blocks_per_sm") == 2);  // 32 warps / 16
  const auto blocks = run("occ", kernel("occ", "", ""), 8, 32, 4);
  CHECK(stat(blocks, "occupancy", "blocks_per_sm") == 16);
}

TEST_CASE("blocks beyond one wave run in further waves", "[timing][gpu]") {
  // One block per SM (a shared-memory limit), 2 SMs: 2, 4 and 8 blocks are 1, 2 and 4 waves of
  // the same work; each wave starts at a window boundary, so the times are close to, not
  // exactly, multiples.
  const std::string decls = ".shared .align 4 .b8 buf[40000];";
  const std::string body = "\tmov.u32 %r5, buf;\n\tst.shared.u32 [%r5], %r1;\n" + fmas(400, 1);
  const double one = double(cycles(run("waves", kernel("waves", decls, body), 2, 32, 4096)));
  const double two = double(cycles(run("waves", kernel("waves", decls, body), 4, 32, 4096)));
  const double four = double(cycles(run("waves", kernel("waves", decls, body), 8, 32, 4096)));
  CHECK(two / one == Approx(2).epsilon(0.15));
  CHECK(four / one == Approx(4).epsilon(0.15));
}

TEST_CASE("wave sampling skips middle waves and adds them at the sampled rate", "[timing][gpu]") {
  // One block per SM (a shared-memory limit), 2 SMs, 40 blocks: 20 waves of the same work, each
  // block reading and writing its own 512 bytes.
  const std::string decls = ".shared .align 4 .b8 buf[40000];";
  const std::string body =
      "\tmov.u32 %r2, %ctaid.x;\n\tmul.wide.u32 %rd5, %r2, 512;\n\tadd.s64 %rd6, %rd4, %rd5;\n"
      "\tld.global.f32 %f20, [%rd6];\n\tmov.u32 %r5, buf;\n\tst.shared.u32 [%r5], %r1;\n" +
      fmas(200, 2) + "\tst.global.f32 [%rd6], %f20;\n";
  const std::string ptx = kernel("samp", decls, body);
  const auto full = run("samp", ptx, 40, 128, 40 * 512, {"--no-functional"});
  const auto sampled =
      run("samp", ptx, 40, 128, 40 * 512, {"--no-functional", "--set", "sampling.waves=2"});
  CHECK(stat(full, "sampling", "blocks_skipped") == 0);
  const double skipped = stat(sampled, "sampling", "blocks_skipped");
  // The first wave and two sampled ones run, and those in flight when sampling ends.
  CHECK(skipped >= 20);
  CHECK(std::fmod(skipped, 2) == 0);  // whole waves
  CHECK(stat(sampled, "sampling", "cycles_extrapolated") > 0);
  CHECK(double(cycles(sampled)) == Approx(double(cycles(full))).epsilon(0.03));
  for (const char* name : {"warp_instructions", "thread_instructions"})
    CHECK(stat(sampled, "executed", name) == Approx(stat(full, "executed", name)).epsilon(0.01));
  CHECK(stat(sampled, "sm", "issued") == Approx(stat(full, "sm", "issued")).epsilon(0.01));
  CHECK(stat(sampled, "dram", "bytes_read") ==
        Approx(stat(full, "dram", "bytes_read")).epsilon(0.03));
  CHECK(stat(sampled, "launch", "blocks") == 40);
  // With values every block runs.
  const auto with = run("samp", ptx, 40, 128, 40 * 512, {"--set", "sampling.waves=2"});
  CHECK(stat(with, "sampling", "blocks_skipped") == 0);
  CHECK(cycles(with) == cycles(full));
}

TEST_CASE("launch sampling gives later identical launches the figures of the simulated ones",
          "[timing][gpu]") {
  // A small Llama decode step of 4 layers: each layer's launches repeat the previous layer's.
  const std::string dir = temp_dir("gpu-launch-sampling");
  const Args base = {"--arch",    "gpu_lab",    "--workload", "llama-2-7b-decode", "--param",
                     "layers=4",  "--param",    "hidden=256", "--param",           "heads=4",
                     "--param",   "kv_heads=4", "--param",    "ffn=512",           "--param",
                     "vocab=512", "--param",    "ctx=200"};
  auto with = [&](const std::string& name, Args extra) {
    Args a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return run_stats(a, dir + "/" + name);
  };
  const auto full = with("full", {"--no-functional"});
  const auto sampled = with("sampled", {"--no-functional", "--set", "sampling.launches=1"});
  CHECK_FALSE(full["stats"]["groups"].contains("launch_sampling"));
  // Layers 2 to 4 repeat layer 1's launches (the final norm and the head run once).
  const double skipped = stat(sampled, "launch_sampling", "launches_skipped");
  CHECK(skipped >= 3 * 10);
  CHECK(stat(sampled, "launch_sampling", "launch_cycles_reused") > 0);
  CHECK(stat(sampled, "launches", "launches") == stat(full, "launches", "launches"));
  CHECK(double(cycles(sampled)) == Approx(double(cycles(full))).epsilon(0.03));
  // A launch's instructions do not depend on its data, so the reused counts are exact.
  CHECK(stat(sampled, "executed", "warp_instructions") ==
        stat(full, "executed", "warp_instructions"));
  CHECK(sampled["dram_bytes"].get<double>() ==
        Approx(full["dram_bytes"].get<double>()).epsilon(0.03));
  // With values every launch runs.
  const auto values = with("values", {"--set", "sampling.launches=1"});
  CHECK_FALSE(values["stats"]["groups"].contains("launch_sampling"));
  CHECK(cycles(values) == cycles(full));
}

TEST_CASE("GPU timing is deterministic and the scheduler policy does not change values",
          "[timing][gpu]") {
  const std::string body = fmas(64, 4);
  const auto a = run("det", kernel("det", "", body), 6, 256, 8192);
  const auto b = run("det", kernel("det", "", body), 6, 256, 8192);
  CHECK(a["stats"] == b["stats"]);
  CHECK(cycles(a) == cycles(b));
  const auto lrr = run("det", kernel("det", "", body), 6, 256, 8192, {"--set", "sm.scheduler=lrr"});
  CHECK(stat(lrr, "sm", "issued") == stat(a, "sm", "issued"));
}

TEST_CASE("a timing-only kernel run takes the same cycles and writes no buffers", "[timing][gpu]") {
  // The FMAs' values never steer control flow or addresses here.
  const std::string body = fmas(64, 4);
  const auto with = run("nof", kernel("nof", "", body), 4, 128, 2048);
  std::string out;
  const auto without = run("nof", kernel("nof", "", body), 4, 128, 2048, {"--no-functional"}, &out);
  CHECK(cycles(with) == cycles(without));
  CHECK(stat(with, "sm", "issued") == stat(without, "sm", "issued"));
  CHECK(std::filesystem::exists(out + "/stats.json"));
  CHECK_FALSE(std::filesystem::exists(out + "/nof_param_0.bin"));
}

TEST_CASE("a timing-only run executes what its control flow and addresses depend on",
          "[timing][gpu]") {
  // A loop bound computed in floats (9 turns), and a store address read back from shared
  // memory: a timing-only run skips the other arithmetic and moves no other data, yet takes
  // the same path and addresses as a run with values.
  const std::string body =
      "\tmov.f32 %f1, 0f40400000;\n\tmul.f32 %f2, %f1, %f1;\n\tcvt.rzi.u32.f32 %r2, %f2;\n"
      "\tmov.u32 %r3, 0;\n$L_loop:\n\tadd.u32 %r3, %r3, 1;\n\tfma.rn.f32 %f3, %f2, %f2, %f2;\n"
      "\tst.global.f32 [%rd4], %f3;\n\tsetp.lt.u32 %p1, %r3, %r2;\n\t@%p1 bra $L_loop;\n"
      "\tmov.u32 %r4, sh;\n\tshl.b32 %r5, %r1, 3;\n\tshl.b32 %r6, %r1, 2;\n"
      "\tadd.s32 %r7, %r4, %r6;\n\tst.shared.u32 [%r7], %r5;\n\tbar.sync 0;\n"
      "\tld.shared.u32 %r8, [%r7];\n\tcvt.u64.u32 %rd5, %r8;\n\tadd.s64 %rd6, %rd2, %rd5;\n"
      "\tst.global.f32 [%rd6], %f3;\n";
  const std::string ptx = kernel("slice", ".shared .align 4 .b32 sh[128];", body);
  const auto with = run("slice", ptx, 2, 128, 2048);
  const auto without = run("slice", ptx, 2, 128, 2048, {"--no-functional"});
  CHECK(cycles(with) == cycles(without));
  CHECK(stat(with, "sm", "issued") == stat(without, "sm", "issued"));
  CHECK(stat(with, "global", "l1_misses") == stat(without, "global", "l1_misses"));
  // 9 turns of 5 instructions per warp, 8 warps.
  CHECK(stat(without, "sm", "issued") > 9 * 5 * 8);
}

TEST_CASE("a timing-only copy whose lanes read two allocations is timed as with values",
          "[timing][gpu]") {
  // Lanes 0 to 15 copy 16 bytes each from the buffer, lanes 16 to 31 from a .global variable:
  // the copy's shared destinations pass the timing-only range check as one group, its global
  // sources do not (two allocations) and go lane by lane, so the step's accesses mix both
  // (docs/models/gpu.md).
  const std::string body =
      "\tmov.u32 %r4, sb;\n\tshl.b32 %r5, %r1, 4;\n\tadd.s32 %r6, %r4, %r5;\n"
      "\tmov.u64 %rd5, gv;\n\tmul.wide.u32 %rd7, %r1, 16;\n\tadd.s64 %rd8, %rd2, %rd7;\n"
      "\tadd.s64 %rd9, %rd5, %rd7;\n\tsetp.lt.u32 %p1, %r1, 16;\n"
      "\tselp.b64 %rd10, %rd8, %rd9, %p1;\n\tcp.async.ca.shared.global [%r6], [%rd10], 16;\n"
      "\tcp.async.commit_group;\n\tcp.async.wait_group 0;\n\tbar.sync 0;\n"
      "\tld.shared.u32 %r7, [%r6];\n\tst.global.u32 [%rd4], %r7;\n";
  const std::string ptx =
      kernel("mix", ".global .align 16 .b8 gv[512];\n.shared .align 16 .b8 sb[512];", body);
  const auto with = run("mix", ptx, 2, 32, 512);
  const auto without = run("mix", ptx, 2, 32, 512, {"--no-functional"});
  CHECK(cycles(with) == cycles(without));
  for (const char* name : {"instructions", "sectors", "ideal_sectors"})
    CHECK(stat(with, "global", name) == stat(without, "global", name));
  for (const char* name : {"instructions", "wavefronts"})
    CHECK(stat(with, "shared", name) == stat(without, "shared", name));
  // Each block's copy reads 16 sectors (8 of the buffer, 8 of gv) and stores 4.
  CHECK(stat(without, "global", "sectors") == 2 * (16 + 4));
}

TEST_CASE("scheduler stalls are counted by reason and add up", "[timing][gpu]") {
  auto stalls = [](const nlohmann::json& s) {
    return s["stats"]["groups"]["sm"]["groups"]["stalls"]["stats"];
  };
  // One warp, a dependent FMA chain: waits on arithmetic results.
  const auto chain = run("stall_fma", kernel("stall_fma", "", fmas(200, 1)), 1, 32, 128);
  // One warp, loads each depending on the previous one's value: waits on memory.
  std::string body;
  for (int i = 0; i < 20; ++i)
    body +=
        "\tld.global.u32 %r2, [%rd4];\n\tand.b32 %r3, %r2, 0;\n"
        "\tcvt.u64.u32 %rd5, %r3;\n\tadd.s64 %rd4, %rd4, %rd5;\n";
  const auto loads = run("stall_ld", kernel("stall_ld", "", body), 1, 32, 128);
  for (const auto* s : {&chain, &loads}) {
    const nlohmann::json by_reason = stalls(*s);
    double sum = 0;
    for (const auto& [name, v] : by_reason.items()) sum += v["value"].get<double>();
    CHECK(sum == stat(*s, "sm", "scheduler_stalled"));
  }
  CHECK(stalls(chain)["operands"]["value"].get<double>() >
        0.9 * stat(chain, "sm", "scheduler_stalled"));
  // (The three integer instructions between the loads wait on each other: operands.)
  CHECK(stalls(loads)["memory"]["value"].get<double>() >
        0.5 * stat(loads, "sm", "scheduler_stalled"));
}
