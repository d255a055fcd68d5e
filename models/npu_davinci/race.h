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
// State: per memory, the history of each 32-byte granule (of each byte, in a granule accessed in
// part): its last writer and the latest reader of each (core, pipe) since (a later reader of one
// pipe being ordered implies the earlier ones are), as indices into tables of accessors and of
// reader sets, kept in pages of the memory's address space that are allocated when first
// touched. A copy of many short rows (an operand in ND rows of 32 bytes) costs a few stores per
// row, with no allocation. A block of 64 granules (2 KiB) whose granules share one history is
// kept as that history alone, so an access that covers whole blocks of one history (a cube
// operand in L0A, a tile of L0C) costs a check per block, not per granule. SystemC-free.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
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
  // the memory and the bytes when it races with an earlier one: the first such byte and the
  // bytes of the access after it with the same history.
  void access(const isa::davinci::Range& r, const Who& who, const Clock& clock);
  // The same for each of an instruction's ranges, in order.
  void access(const std::vector<isa::davinci::Range>& rs, const Who& who, const Clock& clock);

  // Every core has drained its pipes and met the others at a sync_all: every access recorded is
  // ordered before every later one, so none needs to be remembered (this keeps the tables to one
  // layer's accesses in a compiled workload, which has a sync_all between layers).
  void all_synced();

 private:
  // The history of a granule or a byte: its last writer (an index into whos_, 0: none) and its
  // readers since (an index into sets_, 0: none).
  struct Cell {
    uint32_t writer = 0, readers = 0;
    bool operator==(const Cell& o) const { return writer == o.writer && readers == o.readers; }
    bool operator!=(const Cell& o) const { return !(*this == o); }
  };
  static constexpr uint64_t kGranule = 32;
  static constexpr uint64_t kPage = 2048;  // granules per page (64 KiB of a memory)
  static constexpr uint64_t kBlock = 64;   // granules per block (2 KiB)
  static_assert(kPage / kBlock <= 32, "a page's blocks are the bits of Page::uniform");
  // The writer of a granule whose bytes have histories of their own (Table::bytes).
  static constexpr uint32_t kSplit = ~uint32_t(0);
  struct Page {
    // Block b's granules all have the history whole[b] while bit b of `uniform` is set (their
    // cells are then stale); else each granule has its cell.
    uint32_t uniform = ~uint32_t(0);
    Cell whole[kPage / kBlock];
    Cell cells[kPage];
  };
  struct Table {
    std::vector<std::unique_ptr<Page>> pages;  // by address / (kPage * kGranule); null: untouched
    std::vector<size_t> touched;               // the pages allocated since the last sync
    std::unordered_map<uint64_t, std::array<Cell, kGranule>> bytes;  // by granule
  };
  static bool ordered(const Who& earlier, const Who& later, const Clock& clock);
  Table& table(int core, isa::davinci::Buf b);
  const Table& table(int core, isa::davinci::Buf b) const;
  Page& page(Table& t, uint64_t index);
  // The history of the byte at `at` (its block's or its granule's, unless that is split); none
  // if never touched.
  Cell history(const Table& t, uint64_t at) const;
  bool split(const Table& t, uint64_t granule) const;  // its bytes have histories of their own
  bool same_history(const Cell& a, const Cell& b) const;
  uint32_t intern(const Who& who);
  // The reader set `set` with `reader` noted (in place of the one of its core and pipe, if any).
  uint32_t with_reader(uint32_t set, uint32_t reader) {
    const Step& step = steps_[set % steps_.size()];
    return step.reader == reader && step.from == set ? step.to : new_set(set, reader);
  }
  uint32_t new_set(uint32_t set, uint32_t reader);  // with_reader's, made and remembered
  // Checks and records the access of the non-empty range r by `who` (whos_[me]).
  void record(Table& t, const isa::davinci::Range& r, uint32_t me, const Who& who,
              const Clock& clock);
  [[noreturn]] void report(const Table& t, const isa::davinci::Range& r, uint64_t at,
                           const Who& earlier, bool earlier_wrote, const Who& later) const;

  const std::vector<isa::davinci::Instr>& code_;
  std::string file_;
  const std::vector<std::string>& layers_;
  std::vector<Table> tables_;  // per core its on-chip buffers (kBufs each; gm's unused), then gm
  std::vector<Who> whos_;      // the accessors since the last sync; [0] none
  std::vector<uint32_t> set_items_;                  // the reader sets' members, set after set
  std::vector<std::pair<uint32_t, uint32_t>> sets_;  // a set's [begin, end) in set_items_
  // Recent transitions of with_reader (reader, from, to), by `from`: a range of granules with
  // one history costs one new set.
  struct Step {
    uint32_t reader = 0, from = 0, to = 0;
  };
  std::array<Step, 64> steps_{};
  std::vector<std::unique_ptr<Page>> spare_;  // cleared pages, for reuse
};

}  // namespace xpusim::davinci
