// Races between the pipes of an AI core, and between cores, found from the program's order
// (happens-before), not from the timing of one run: an access to bytes that another pipe (or
// core) accessed, at least one of the two a write, with nothing ordering the two, is reported
// whether or not this run's timing happened to keep them apart.
//
// What orders two accesses (docs/models/davinci.md, "Races"):
// - the same core: the earlier access's instruction (pipe p, sequence number s in p's queue) is
//   complete before the later one starts when the later instruction's clock says so:
//   clock[p] > s. A pipe's clock grows at its pipe_barrier and set_flag (its own earlier
//   instructions are complete), at wait_flag (the setter's clock), and from the scalar unit's
//   clock at dispatch (pipe_barrier PIPE_ALL, sync_all, block ends, and flags the scalar unit
//   waited for). The cube pipe's mads complete in order: two of them are always ordered.
// - two cores: the later access comes after a sync_all that the earlier one's core reached
//   after it (the cores' sync generations).
// State: per memory, an interval map of byte ranges to their last writer and the latest reader
// of each (core, pipe) since (a later reader of one pipe being ordered implies the earlier ones
// are). SystemC-free.
#pragma once

#include <array>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "isa/davinci/instr.h"
#include "isa/davinci/semantics.h"

namespace xpusim::davinci {

// Where an instruction of a kernel from `file` is, for messages: "FILE:LINE"; in a kernel
// compiled from a workload (`layers`: its layers' names, which Instr::layer indexes), the layer
// and the line of the lowered text (--dump-after=lower): "FILE (layer 'NAME', lowered line N)".
std::string instr_place(const std::string& file, const isa::davinci::Instr& in,
                        const std::vector<std::string>& layers);

using Clock = std::array<uint64_t, isa::davinci::kPipes>;

// Joins b into a (element-wise maximum).
inline void join(Clock& a, const Clock& b) {
  for (size_t i = 0; i < a.size(); ++i) a[i] = std::max(a[i], b[i]);
}

class RaceChecker {
 public:
  // One accessor: the instruction (program counter pc) that core `core` ran on pipe `pipe` as its
  // `seq`-th, in the core's sync generation `gen`.
  struct Who {
    int core = 0, pipe = 0, pc = 0;
    uint64_t seq = 0, gen = 0;
  };
  // `cores` AI cores; `code` and `file` name instructions in messages.
  RaceChecker(int cores, const std::vector<isa::davinci::Instr>& code, std::string file,
              const std::vector<std::string>& layers);

  // Records an access by `who`, whose clock is `clock`; throws Error naming both instructions,
  // the memory and the bytes when it races with an earlier one.
  void access(const isa::davinci::Range& r, const Who& who, const Clock& clock);

  // Every core has drained its pipes and met the others at a sync_all: every access recorded is
  // ordered before every later one, so none needs to be remembered (this keeps the tables to one
  // layer's accesses in a compiled workload, which has a sync_all between layers).
  void all_synced();

 private:
  struct Entry {
    Who who;
    bool valid = false;
  };
  struct Segment {
    uint64_t hi;
    Entry writer;
    // The latest of each (core, pipe); most segments have one reader or none, so one is kept
    // inline (no allocation per segment).
    boost::container::small_vector<Who, 1> readers;
  };
  using Table = std::map<uint64_t, Segment>;
  static bool ordered(const Who& earlier, const Who& later, const Clock& clock);
  Table& table(int core, isa::davinci::Buf b);
  // Splits the segment that contains `at` (if any) so that a segment starts at `at`.
  static void split(Table& t, uint64_t at);
  [[noreturn]] void report(const isa::davinci::Range& r, uint64_t lo, uint64_t hi,
                           const Who& earlier, bool earlier_wrote, const Who& later) const;

  const std::vector<isa::davinci::Instr>& code_;
  std::string file_;
  const std::vector<std::string>& layers_;
  std::vector<Table> tables_;  // per core its on-chip buffers (kBufs each; gm's unused), then gm
};

}  // namespace xpusim::davinci
