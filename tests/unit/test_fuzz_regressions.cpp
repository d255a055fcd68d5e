// The fuzzers' findings and seeds, replayed through the fuzz targets' entry code
// (tests/fuzz/entries.h): every input a fuzzer ever found (tests/fuzz/regressions/<target>/)
// and every seed (tests/fuzz/corpus/<target>/) must be read, with its round trips intact, or
// refused with an xpusim::Error; any other exception fails the test.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "models/core/error.h"
#include "tests/fuzz/entries.h"

namespace fs = std::filesystem;

namespace {

void read_or_refuse(const xpusim::fuzz::Target& t, const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  REQUIRE(in);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  try {
    t.run(bytes.data(), bytes.size());
  } catch (const xpusim::Error&) {
    // Refused with a message.
  }
}

// Replays every file of tests/fuzz/<folder>/<target>/; returns how many there were.
size_t replay(const std::string& folder) {
  size_t files = 0;
  for (const auto& t : xpusim::fuzz::targets()) {
    const fs::path dir = fs::path(XPUSIM_SOURCE_DIR) / "tests/fuzz" / folder / t.name;
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (!e.is_regular_file() || e.path().filename().string().front() == '.') continue;
      INFO("fuzz_" << t.name << " " << e.path().string());
      CHECK_NOTHROW(read_or_refuse(t, e.path()));
      ++files;
    }
  }
  return files;
}

}  // namespace

TEST_CASE("fuzz regressions: every input a fuzzer found is read or refused", "[unit]") {
  replay("regressions");
}

TEST_CASE("fuzz seeds: every seed is read or refused, round trips intact", "[unit]") {
  CHECK(replay("corpus") > 0);
}
