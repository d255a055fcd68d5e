// The DaVinci race checker (models/npu_davinci/race.h) on its own: accesses recorded per byte
// whatever their shape (rows of a strided copy, parts of a 32-byte granule), a write checked
// against the last writer and every reader since, the reader of a pipe replaced by its later
// reads, the bytes a report names (the first racing byte and those after it with its history),
// cores ordered by sync_all, everything forgotten once every core has synced, and whole 2 KiB
// blocks of one history kept as one.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "isa/davinci/instr.h"
#include "isa/davinci/semantics.h"
#include "models/core/error.h"
#include "models/npu_davinci/race.h"

using xpusim::Error;
using xpusim::davinci::Clock;
using xpusim::davinci::RaceChecker;
using xpusim::isa::davinci::Buf;
using xpusim::isa::davinci::Instr;
using xpusim::isa::davinci::Op;
using xpusim::isa::davinci::Pipe;
using xpusim::isa::davinci::Range;

namespace {

// A program whose instruction i is at line i + 1: copies, then vector adds.
std::vector<Instr> program() {
  std::vector<Instr> code(8);
  for (size_t i = 0; i < code.size(); ++i) {
    code[i].op = i < 4 ? Op::copy_gm_to_ubuf : Op::vadd;
    code[i].line = int(i) + 1;
  }
  return code;
}

RaceChecker::Who who(Pipe p, int pc, uint64_t seq, int core = 0, uint64_t gen = 0) {
  return {core, int(p), pc, seq, gen};
}

// The message of the race the access reports (empty when none).
std::string race(RaceChecker& rc, const Range& r, const RaceChecker::Who& w, const Clock& c = {}) {
  try {
    rc.access(r, w, c);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("DaVinci race checker: rows of a strided read and the bytes between them", "[unit]") {
  const auto code = program();
  const std::vector<std::string> layers;
  RaceChecker rc(1, code, "k.s", layers);
  // MTE2 reads 8 rows of 32 bytes, 256 apart, as one instruction.
  for (uint64_t i = 0; i < 8; ++i)
    rc.access({Buf::gm, 0x1000 + i * 256, 0x1000 + i * 256 + 32, false}, who(Pipe::mte2, 0, 0), {});
  // A vector write of the bytes between rows 2 and 3 meets no read.
  CHECK(race(rc, {Buf::gm, 0x1220, 0x1300, true}, who(Pipe::v, 4, 0)).empty());
  // One that covers the end of row 3 and the start of the gap after it races on row 3's bytes.
  CHECK(race(rc, {Buf::gm, 0x1310, 0x1340, true}, who(Pipe::v, 5, 1)) ==
        "race on gm[0x1310, 0x1320): copy_gm_to_ubuf at k.s:1 (core 0, PIPE_MTE2) reads these "
        "bytes and vadd at k.s:6 (core 0, PIPE_V) writes them (in this run's timing, in that "
        "order), with no set_flag/wait_flag between PIPE_MTE2 and PIPE_V (nor a barrier) "
        "ordering them");
  // Once the vector pipe's clock says MTE2's instruction 0 is complete, the write is ordered.
  Clock after{};
  after[size_t(Pipe::mte2)] = 1;
  CHECK(race(rc, {Buf::gm, 0x1310, 0x1340, true}, who(Pipe::v, 5, 1), after).empty());
}

TEST_CASE("DaVinci race checker: parts of a granule and the range a report names", "[unit]") {
  const auto code = program();
  const std::vector<std::string> layers;
  RaceChecker rc(1, code, "k.s", layers);
  // The scalar unit reads 4 bytes of the UB (ld_ub); a vector write of the whole block meets
  // them and only them.
  rc.access({Buf::ub, 0x104, 0x108, false}, who(Pipe::s, 1, 0), {});
  CHECK(race(rc, {Buf::ub, 0x100, 0x120, true}, who(Pipe::v, 4, 0))
            .rfind("race on ub[0x104, 0x108): copy_gm_to_ubuf at k.s:2 (core 0, PIPE_S) reads",
                   0) == 0);
  // Two writers of 64 bytes each: a third write of both, ordered after neither, names the first
  // writer and its bytes.
  rc.access({Buf::ub, 0x1000, 0x1040, true}, who(Pipe::mte2, 0, 0), {});
  rc.access({Buf::ub, 0x1040, 0x1080, true}, who(Pipe::mte2, 1, 1), {});
  CHECK(race(rc, {Buf::ub, 0x1000, 0x1080, true}, who(Pipe::v, 4, 0))
            .rfind("race on ub[0x1000, 0x1040): copy_gm_to_ubuf at k.s:1 (core 0, PIPE_MTE2) "
                   "writes",
                   0) == 0);
  // Ordered after the first writer only: the second one's bytes.
  Clock c{};
  c[size_t(Pipe::mte2)] = 1;
  CHECK(race(rc, {Buf::ub, 0x1000, 0x1080, true}, who(Pipe::v, 4, 0), c)
            .rfind("race on ub[0x1040, 0x1080): copy_gm_to_ubuf at k.s:2", 0) == 0);
}

TEST_CASE("DaVinci race checker: a pipe's later read replaces its earlier one", "[unit]") {
  const auto code = program();
  const std::vector<std::string> layers;
  RaceChecker rc(1, code, "k.s", layers);
  rc.access({Buf::ub, 0, 0x100, false}, who(Pipe::mte3, 0, 0), {});
  rc.access({Buf::ub, 0, 0x100, false}, who(Pipe::mte3, 2, 5), {});
  rc.access({Buf::ub, 0x80, 0x100, false}, who(Pipe::v, 6, 0), {});
  // Ordered after MTE3's first read, not its second: the race names the second.
  Clock c{};
  c[size_t(Pipe::mte3)] = 3;
  CHECK(race(rc, {Buf::ub, 0, 0x100, true}, who(Pipe::mte2, 1, 0), c)
            .rfind("race on ub[0x0, 0x80): copy_gm_to_ubuf at k.s:3 (core 0, PIPE_MTE3) reads",
                   0) == 0);
  // Ordered after both of MTE3's: the vector pipe's read of the upper half is the race.
  c[size_t(Pipe::mte3)] = 6;
  CHECK(race(rc, {Buf::ub, 0, 0x100, true}, who(Pipe::mte2, 1, 0), c)
            .rfind("race on ub[0x80, 0x100): vadd at k.s:7 (core 0, PIPE_V) reads", 0) == 0);
}

TEST_CASE("DaVinci race checker: cores are ordered by sync_all, and a sync forgets", "[unit]") {
  const auto code = program();
  const std::vector<std::string> layers;
  RaceChecker rc(2, code, "k.s", layers);
  rc.access({Buf::gm, 0x40, 0x80, true}, who(Pipe::mte3, 0, 0, 0, 0), {});
  // Core 1 reads the bytes in the same sync generation: a race; in the next one: none.
  CHECK(race(rc, {Buf::gm, 0x60, 0x70, false}, who(Pipe::mte2, 1, 0, 1, 0))
            .find("with no sync_all between them") != std::string::npos);
  CHECK(race(rc, {Buf::gm, 0x60, 0x70, false}, who(Pipe::mte2, 1, 0, 1, 1)).empty());
  // Every core synced: nothing recorded before is checked against what follows.
  rc.all_synced();
  CHECK(race(rc, {Buf::gm, 0x0, 0x100, true}, who(Pipe::mte3, 2, 0, 1, 1)).empty());
  // The on-chip buffers are per core: core 0's UB is not core 1's.
  rc.access({Buf::ub, 0, 0x20, true}, who(Pipe::mte2, 0, 0, 0, 1), {});
  CHECK(race(rc, {Buf::ub, 0, 0x20, true}, who(Pipe::v, 4, 0, 1, 1)).empty());
}

TEST_CASE("DaVinci race checker: whole 2 KiB blocks, and blocks accessed in part", "[unit]") {
  const auto code = program();
  const std::vector<std::string> layers;
  RaceChecker rc(1, code, "k.s", layers);
  // MTE2 writes four whole blocks of L0A; a vector read of 32 bytes inside the third meets it.
  rc.access({Buf::l0a, 0, 0x2000, true}, who(Pipe::mte2, 0, 0), {});
  CHECK(race(rc, {Buf::l0a, 0x1010, 0x1030, false}, who(Pipe::v, 4, 0))
            .rfind("race on l0a[0x1010, 0x1030): copy_gm_to_ubuf at k.s:1 (core 0, PIPE_MTE2) "
                   "writes",
                   0) == 0);
  // Ordered after the write, the vector pipe reads the second and third blocks.
  Clock c{};
  c[size_t(Pipe::mte2)] = 1;
  rc.access({Buf::l0a, 0x800, 0x1800, false}, who(Pipe::v, 5, 1), c);
  // A write of all four, ordered after MTE2 only, races with that read: the report names its
  // bytes across the whole block (the second) and the block read before in part (the third).
  CHECK(race(rc, {Buf::l0a, 0, 0x2000, true}, who(Pipe::mte1, 2, 0), c)
            .rfind("race on l0a[0x800, 0x1800): vadd at k.s:6 (core 0, PIPE_V) reads", 0) == 0);
  // Ordered after the read too: no race, and the four blocks have the new writer.
  c[size_t(Pipe::v)] = 2;
  CHECK(race(rc, {Buf::l0a, 0, 0x2000, true}, who(Pipe::mte1, 2, 0), c).empty());
  CHECK(race(rc, {Buf::l0a, 0x1ff0, 0x2000, false}, who(Pipe::v, 6, 2))
            .rfind("race on l0a[0x1ff0, 0x2000): copy_gm_to_ubuf at k.s:3 (core 0, PIPE_MTE1) "
                   "writes",
                   0) == 0);
}
