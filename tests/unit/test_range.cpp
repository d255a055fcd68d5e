// Address ranges that cannot wrap (models/core/range.h): the edges of a memory (the last valid
// byte, one past the end), ranges that pass 2^64, the memories' checks built on them, and a
// program whose DRAM range wraps around 2^64, refused before it runs.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "models/core/memory.h"
#include "models/core/range.h"
#include "tests/support.h"

using namespace xpusim;
using Catch::Matchers::Contains;

namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// The message of the Error f throws, or "(no error)".
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("range_end: the end of a range, nothing past 2^64", "[unit]") {
  CHECK(range_end(0x10, 0x20) == uint64_t(0x30));
  CHECK(range_end(7, 0) == uint64_t(7));
  CHECK(range_end(kMax - 1, 1) == kMax);  // ends exactly at the largest end there is
  CHECK(range_end(kMax, 0) == kMax);
  CHECK_FALSE(range_end(kMax, 1).has_value());  // would wrap to 0
  CHECK_FALSE(range_end(0xfffffffffffffff0, 32).has_value());
  CHECK_FALSE(range_end(1, kMax).has_value());
}

TEST_CASE("rows_end: rows every stride bytes, nothing past 2^64", "[unit]") {
  CHECK(rows_end(0x100, 4, 0x40, 0x10) == uint64_t(0x100 + 3 * 0x40 + 0x10));
  CHECK(rows_end(0x100, 1, kMax, 8) == uint64_t(0x108));     // one row: the stride does not count
  CHECK(rows_end(0x100, 0, 0x40, 0x10) == uint64_t(0x100));  // no rows
  CHECK(rows_end(0x100, 4, 0x40, 0) == uint64_t(0x100));     // empty rows
  CHECK(rows_end(0, 2, kMax - 1, 1) == kMax);
  CHECK_FALSE(rows_end(0, 2, kMax, 1).has_value());               // the last row's end wraps
  CHECK_FALSE(rows_end(0, 3, uint64_t(1) << 63, 1).has_value());  // (rows - 1) * stride wraps
  CHECK_FALSE(rows_end(kMax - 8, 2, 8, 1).has_value());           // base + offset wraps
  CHECK_FALSE(rows_end(0xfffffffffffffff0, 1, 0, 32).has_value());
}

TEST_CASE("fits: the last valid byte fits, one past the end and a wrap do not", "[unit]") {
  const uint64_t cap = 1024;
  CHECK(fits(range_end(1023, 1), cap));  // the last byte
  CHECK(fits(range_end(0, 1024), cap));  // all of it
  CHECK(fits(range_end(1024, 0), cap));  // empty, at the end
  CHECK_FALSE(fits(range_end(1024, 1), cap));
  CHECK_FALSE(fits(range_end(1023, 2), cap));
  CHECK_FALSE(fits(range_end(1025, 0), cap));
  CHECK_FALSE(fits(range_end(kMax, 2), cap));  // wraps to 1: would have passed a naive check
  CHECK(fits(rows_end(0, 4, 256, 256), cap));
  CHECK_FALSE(fits(rows_end(0, 4, 256, 257), cap));
  CHECK(fits(range_end(0, kMax), kMax));
}

TEST_CASE("saturating_mul and range_str", "[unit]") {
  CHECK(saturating_mul(1 << 20, 1 << 20) == uint64_t(1) << 40);
  CHECK(saturating_mul(uint64_t(1) << 32, uint64_t(1) << 32) == kMax);
  CHECK(saturating_mul(0, kMax) == 0);
  CHECK(range_str(0x10, range_end(0x10, 0x20)) == "[0x10, 0x30)");
  CHECK(range_str(0xfffffffffffffff0, range_end(0xfffffffffffffff0, 32)) ==
        "[0xfffffffffffffff0, beyond 2^64)");
}

TEST_CASE("ByteStore checks every range, also one that wraps", "[unit]") {
  ByteStore m("ub", 1024);
  std::vector<uint8_t> buf(32, 1);
  m.write(1024 - 32, buf.data(), 32);  // the last bytes
  m.read(1024 - 32, buf.data(), 32, "t");
  CHECK_THAT(error_of([&] { m.write(1024 - 31, buf.data(), 32); }),
             Contains("[0x3e1, 0x401) is outside ub (capacity 1024 bytes)"));
  CHECK_THAT(error_of([&] { m.read(0xfffffffffffffff0, buf.data(), 32, "t"); }),
             Contains("t: read [0xfffffffffffffff0, beyond 2^64) is outside ub"));
  CHECK_THAT(error_of([&] { m.check_range(kMax, 2, "t", "range"); }),
             Contains("beyond 2^64") && Contains("outside ub"));
  CHECK_THAT(error_of([&] { m.check_rows(0, 2, kMax, 1, "t", "rows"); }),
             Contains("t: rows [0x0, beyond 2^64)"));
}

TEST_CASE("copy2d refuses rows that wrap around 2^64 before moving a byte", "[unit]") {
  ByteStore dram("dram", 1 << 20, true), ub("ub", 1024);
  CHECK_THAT(error_of([&] { copy2d(dram, 0xfffffffffffffff0, 0, ub, 0, 32, 1, 32, "t"); }),
             Contains("t: source [0xfffffffffffffff0, beyond 2^64) is outside dram"));
  CHECK_THAT(error_of([&] { copy2d(dram, 0, 32, ub, 32, kMax, 2, 32, "t"); }),
             Contains("t: destination [0x20, beyond 2^64) is outside ub"));
  copy2d(dram, 0, 64, ub, 0, 32, 32, 32, "t");  // fills ub exactly
  CHECK_THAT(error_of([&] { copy2d(dram, 0, 64, ub, 32, 32, 32, 32, "t"); }),
             Contains("t: destination [0x20, 0x420) is outside ub"));
}

TEST_CASE("a program whose DRAM range wraps around 2^64 is an error", "[unit]") {
  const std::string dir = test::temp_dir("wrap");
  const std::string prog = test::write_text(dir, "wrap.s",
                                            "  rdhost ub=0x0, dram=0xfffffffffffffff0, rows=1, "
                                            "bytes=32\n"
                                            "  wrhost dram=0xfffffffffffffff0, ub=0x0, rows=1, "
                                            "bytes=32\n"
                                            "  halt\n");
  const test::Cli r =
      test::run_cli({"run", "--arch", "tpu_lab", "--program", prog, "--out", dir + "/out"});
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("wrap.s:1: rdhost") &&
                           Contains("DRAM range [0xfffffffffffffff0, beyond 2^64) is outside "
                                    "DRAM"));
}
