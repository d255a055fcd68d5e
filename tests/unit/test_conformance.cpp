// Conformance of every registered family, naming none: each family has a compiler target and
// ISA tools, describes every parameter, and each of its presets runs the family's smoke
// workloads with values checked, compiles them to programs that round-trip through the
// assembler and the binary form, and refuses a bad key. A registry that silently lost a family,
// a preset with a stale key or a family that skips part of the contract fails here.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <sstream>

#include "compiler/ir/frontend.h"
#include "compiler/passes/passes.h"
#include "compiler/target.h"
#include "isa/program.h"
#include "models/core/config.h"
#include "models/core/machine.h"
#include "tests/support.h"

using namespace xpusim;
using namespace xpusim::test;
using Catch::Matchers::Contains;

namespace {

// Preset name -> family, from `xpusim presets`.
std::map<std::string, std::string> presets() {
  Cli list = run_cli({"presets"});
  REQUIRE(list.status == 0);
  std::map<std::string, std::string> v;
  std::stringstream ss(list.output);
  for (std::string line; std::getline(ss, line);) {
    std::stringstream ls(line);
    std::string name, family;
    ls >> name >> family;
    v[name] = family;
  }
  return v;
}

std::string source(const std::string& rel) {
  return (std::filesystem::path(XPUSIM_SOURCE_DIR) / rel).string();
}

}  // namespace

TEST_CASE("every family has a target, ISA tools, smoke workloads and presets", "[unit]") {
  const auto all = presets();
  REQUIRE_FALSE(families().empty());
  for (const FamilyInfo* f : families()) {
    INFO("family " << f->name);
    int n = 0;
    for (const auto& [preset, family] : all) n += family == f->name;
    CHECK(n > 0);
    if (!f->compiles_workloads) {  // kernels from files only, so far
      CHECK(f->smoke_workloads.empty());
      continue;
    }
    CHECK_NOTHROW(compiler::find_target(f->name));
    CHECK_NOTHROW(isa::find_isa(f->name));
    CHECK_FALSE(f->smoke_workloads.empty());
    for (const auto& w : f->smoke_workloads) CHECK(std::filesystem::exists(source(w)));
  }
  for (const auto& [preset, family] : all) {
    INFO("preset " << preset);
    CHECK_NOTHROW(find_family(family));
  }
}

TEST_CASE("describe prints every parameter of every family and preset", "[unit]") {
  for (const FamilyInfo* f : families()) {
    Cli d = run_cli({"describe", f->name});
    REQUIRE(d.status == 0);
    for (const ParamSpec& s : f->params()) {
      CHECK_THAT(d.output, Contains(s.path));
      CHECK_THAT(d.output, Contains(s.description));
      if (!s.unit.empty()) CHECK_THAT(d.output, Contains("[" + s.unit + "]"));
    }
  }
  for (const auto& [preset, family] : presets()) {
    Cli d = run_cli({"describe", preset});
    INFO(preset << "\n" << d.output);
    CHECK(d.status == 0);
    for (const ParamSpec& s : find_family(family).params()) CHECK_THAT(d.output, Contains(s.path));
  }
}

TEST_CASE("every preset runs its family's smoke workloads with values checked", "[unit]") {
  const std::string dir = temp_dir("conformance");
  for (const auto& [preset, family] : presets())
    for (const auto& w : find_family(family).smoke_workloads) {
      INFO(preset << " " << w);
      const std::string out = dir + "/" + preset + "-" + std::filesystem::path(w).stem().string();
      auto s = run_stats({"--arch", preset, "--workload", source(w)}, out);
      CHECK(s["functional_check"] == "passed");
      CHECK(s["total_cycles"].get<long>() > 0);
      CHECK(s["macs"].get<long>() > 0);
      CHECK(s["layers"].size() > 0);
    }
}

TEST_CASE("compiled smoke programs round-trip through assembly text and binary", "[unit]") {
  for (const auto& [preset, family] : presets())
    for (const auto& w : find_family(family).smoke_workloads) {
      INFO(preset << " " << w);
      const ArchConfig cfg = load_arch(preset);
      compiler::Graph g = compiler::load_workload(source(w));
      compiler::run_graph_passes(g, compiler::Dump{});
      const compiler::Lowered low = compiler::find_target(family).make(cfg)->lower(g, {});
      REQUIRE(low.program->size() > 0);
      const isa::IsaTools& tools = isa::find_isa(family);
      const std::string text = low.program->disassemble();
      const auto again = tools.assemble(text, "round-trip.s");
      CHECK(again->encode() == low.program->encode());
      CHECK(again->disassemble() == text);
      CHECK(tools.decode(low.program->encode(), "round-trip.bin")->disassemble() == text);
    }
}

TEST_CASE("every preset refuses an unknown parameter", "[unit]") {
  const std::string dir = temp_dir("conformance-bad-key");
  for (const auto& [preset, family] : presets()) {
    // The configuration is read before the input: a family without smoke workloads is tried
    // with a kernel launch that names no real file.
    const FamilyInfo& f = find_family(family);
    const Args input =
        f.smoke_workloads.empty()
            ? Args{"--kernel", "none.ptx", "--entry", "none", "--grid", "1", "--block", "1"}
            : Args{"--workload", source(f.smoke_workloads.at(0))};
    Args args = {"run",   "--arch",          preset, "--set", "no_such.parameter=1",
                 "--out", dir + "/" + preset};
    args.insert(args.end(), input.begin(), input.end());
    Cli r = run_cli(args);
    INFO(preset << "\n" << r.output);
    CHECK(r.status == 1);
    CHECK_THAT(r.output, Contains("unknown parameter 'no_such.parameter'"));
  }
}
