// Every run is bounded: limits on executed instructions and simulated cycles stop a program
// that would run for ever with an error naming the limit and where the program was; memory
// stays flat meanwhile; a long run shows a progress line on a terminal, not elsewhere.
#include <catch2/catch.hpp>

#include "tests/support.h"

using namespace xpusim::test;
using Catch::Matchers::Contains;

namespace {

// Nested loops of about 2^64 iterations in all: only a limit ends them.
const std::string kForever = R"(a:
b:
  sync
  loop target=b, count=4294967295
  loop target=a, count=4294967295
  halt
)";

// A DMA in a loop: simulated time advances with every iteration.
const std::string kCopies = R"(a:
  rdhost ub=0x0, dram=0x0, rows=1, bytes=64
  loop target=a, count=4294967295
  halt
)";

Cli run(const std::string& name, const std::string& program, const Args& extra) {
  const std::string dir = temp_dir(name);
  Args args = {"run",   "--arch",    "tpu_lab", "--program", write_text(dir, name + ".s", program),
               "--out", dir + "/out"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_cli(args);
}

}  // namespace

TEST_CASE("a program that loops for ever stops at the instruction limit", "[unit]") {
  Cli r = run("forever", kForever, {"--max-instructions", "100000"});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("forever.s:3: sync (core 0, cycle 0)"));
  CHECK_THAT(r.output, Contains("limit of 100000 instructions (limits.max_instructions)"));
  CHECK_THAT(r.output, Contains("--max-instructions"));
}

TEST_CASE("a program that runs too long stops at the cycle limit", "[unit]") {
  Cli r = run("long", kCopies, {"--max-cycles", "50000"});
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("limit of 50000 simulated cycles (limits.max_cycles)"));
  CHECK_THAT(r.output, Contains("long.s:3: loop (core 0, cycle 5"));
  // The limits are parameters: in config.resolved.yaml, and settable with --set.
  r = run("long-set", kCopies, {"--set", "limits.max_cycles=60000"});
  CHECK_THAT(r.output, Contains("limit of 60000 simulated cycles"));
}

TEST_CASE("a long run shows progress on a terminal only", "[unit][slow]") {
  const std::string dir = temp_dir("progress");
  const Args args = {"run",
                     "--arch",
                     "tpu_lab",
                     "--program",
                     write_text(dir, "p.s", kCopies),
                     "--out",
                     dir + "/o",
                     "--max-instructions",
                     "6000000"};
  const std::optional<Cli> shown = run_cli_on_terminal(args);
  if (!shown) return;  // no way to run on a terminal
  CHECK_THAT(shown->output, Contains("M simulated cycles/s"));
  Args quiet = args;
  quiet.push_back("--quiet");
  CHECK_THAT(run_cli_on_terminal(quiet)->output, !Contains("simulated cycles/s"));
  // Not a terminal: no progress line.
  CHECK_THAT(run("plain", kCopies, {"--max-instructions", "1500000"}).output,
             !Contains("simulated cycles/s"));
}
