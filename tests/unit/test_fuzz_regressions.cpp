// The fuzzers' findings and seeds, replayed through the fuzz targets' entry code
// (tests/fuzz/entries.h): every input a fuzzer ever found (tests/fuzz/regressions/<target>/)
// and every seed (tests/fuzz/corpus/<target>/, and the tree's files its .seeds globs name) must
// be read, with its round trips intact, or refused with an xpusim::Error; any other exception
// fails the test.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
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

// The files of `dir` (not dot files) whose name ends in `suffix`.
std::vector<fs::path> files_in(const fs::path& dir, const std::string& suffix = "") {
  std::vector<fs::path> v;
  if (!fs::is_directory(dir)) return v;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.front() != '.' && name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      v.push_back(e.path());
  }
  return v;
}

// Replays every file of tests/fuzz/<folder>/<target>/, and the files its .seeds names (lines
// "DIR/*SUFFIX", relative to the source tree, as scripts/fuzz.sh expands them); returns how many
// there were.
size_t replay(const std::string& folder) {
  const fs::path root(XPUSIM_SOURCE_DIR);
  size_t files = 0;
  for (const auto& t : xpusim::fuzz::targets()) {
    const fs::path dir = root / "tests/fuzz" / folder / t.name;
    std::vector<fs::path> inputs = files_in(dir);
    std::ifstream seeds(dir / ".seeds");
    for (std::string glob; std::getline(seeds, glob);) {
      const size_t star = glob.find("/*");
      REQUIRE(star != std::string::npos);
      const std::vector<fs::path> more =
          files_in(root / glob.substr(0, star), glob.substr(star + 2));
      CHECK_FALSE(more.empty());  // a glob that names nothing is out of date
      inputs.insert(inputs.end(), more.begin(), more.end());
    }
    for (const fs::path& p : inputs) {
      INFO("fuzz_" << t.name << " " << p.string());
      CHECK_NOTHROW(read_or_refuse(t, p));
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
