// Child processes (driver/child.h): exit codes and signals, captured output and logs, clear
// errors for what cannot be started, and several commands run at once up to a job limit.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "driver/child.h"
#include "models/core/error.h"
#include "tests/support.h"

namespace fs = std::filesystem;
using namespace xpusim;
using Catch::Matchers::Contains;

namespace {

void check_error(const child::Command& c, const std::string& message) {
  try {
    child::run(c);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Contains(message));
  }
}

}  // namespace

TEST_CASE("a child's exit status, signal and output", "[unit]") {
  child::Result r = child::run({{"sh", "-c", "echo out; echo err >&2; exit 3"}, "", ""});
  CHECK(r.code == 3);
  CHECK(r.signal == 0);
  CHECK_FALSE(r.ok());
  CHECK(r.status() == "exit status 3");
  CHECK(r.output == "out\nerr\n");
  // The argv reaches the program as it is: no shell splits or expands it.
  r = child::run({{"printf", "[%s]", "a b", "$HOME", "*"}, "", ""});
  CHECK(r.ok());
  CHECK(r.output == "[a b][$HOME][*]");
  r = child::run({{"sh", "-c", "kill -9 $$"}, "", ""});
  CHECK(r.signal == 9);
  CHECK_THAT(r.status(), Contains("killed by signal 9"));
  // A working folder, and a log instead of the captured output.
  const std::string dir = test::temp_dir("child-run");
  r = child::run({{"pwd"}, dir, dir + "/pwd.log"});
  CHECK(r.ok());
  CHECK(r.output.empty());
  CHECK(test::read_text(dir + "/pwd.log") == fs::canonical(dir).string() + "\n");
}

TEST_CASE("a child that cannot be started is a clear error", "[unit]") {
  const std::string dir = test::temp_dir("child-errors");
  check_error({{"no-such-program-xpusim"}, "", ""},
              "cannot run 'no-such-program-xpusim': program not found on PATH");
  check_error({{dir + "/missing"}, "", ""}, "cannot run '" + dir + "/missing': program not found");
  const std::string text = test::write_text(dir, "text", "not a program\n");
  check_error({{text}, "", ""}, "cannot run '" + text + "': Permission denied");
  check_error({{"true"}, dir + "/nowhere", ""}, "no folder '" + dir + "/nowhere'");
  check_error({{"true"}, "", dir + "/nowhere/log"},
              "cannot write its log '" + dir + "/nowhere/log'");
}

TEST_CASE("several children run at once, up to the job limit", "[unit]") {
  const std::string dir = test::temp_dir("child-all");
  // Each waits (at most 10 s) for the other's file: they end only when both run at once.
  auto meet = [&](const std::string& mine, const std::string& other) {
    return child::Command{{"sh", "-c",
                           "touch " + mine + "; i=0; while [ ! -e " + other +
                               " ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done; "
                               "[ -e " +
                               other + " ] && echo met"},
                          dir,
                          dir + "/" + mine + ".log"};
  };
  std::vector<size_t> ended;
  const auto results = child::run_all({meet("a", "b"), meet("b", "a")}, 2,
                                      [&](size_t i, const child::Result&) { ended.push_back(i); });
  REQUIRE(results.size() == 2);
  CHECK(results[0].ok());
  CHECK(results[1].ok());
  CHECK(ended.size() == 2);
  CHECK(test::read_text(dir + "/a.log") == "met\n");

  // One at a time; when `done` throws, no further command starts.
  std::vector<child::Command> commands;
  for (const std::string name : {"x", "y", "z"})
    commands.push_back({{"touch", name}, dir, dir + "/" + name + ".log"});
  CHECK_THROWS_WITH(child::run_all(commands, 1,
                                   [&](size_t i, const child::Result&) {
                                     if (i == 1) throw Error("stop");
                                   }),
                    "stop");
  CHECK(fs::exists(dir + "/x"));
  CHECK(fs::exists(dir + "/y"));
  CHECK_FALSE(fs::exists(dir + "/z"));
}
