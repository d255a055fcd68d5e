// Op sampling (sampling.ops; docs/models/davinci.md, "Op sampling"). A compiled workload's
// kernel runs its graph's nodes one after another, each ending in a sync_all, and a network
// repeats itself: Llama's decoder layers run the same code on other tensors. A *unit* is the code
// between two sync_alls (a node's code, or a step of one), entered only after the first and left
// only through the second. Two units are of one *kind* when their instructions are the same but
// for immediates that are global-memory base addresses, found by a dataflow analysis of the
// scalar registers (UnitMap). In a timing-only run nothing else differs between two units of a
// kind that start from the same state (their scalar registers read before written, the vector
// mask, the feature map, the flags set and not waited for, on every core): the scalar unit reads
// no value a pipe computed (ld_ub reads 0), so they run the same instructions, on the same
// on-chip addresses, and only their global-memory addresses move, each by a multiple of 512
// bytes. Once N units of a kind and state were simulated, the next ones are not (OpSampler): all
// cores resume at the unit's closing sync_all when the last simulated one ended, with its
// statistics, layer spans and state at its end.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "isa/davinci/instr.h"
#include "models/core/layers.h"
#include "models/core/stats.h"
#include "models/npu_davinci/core.h"

namespace xpusim::davinci {

// The units of a kernel that may be skipped and their kinds, from the code alone.
class UnitMap {
 public:
  struct Unit {
    int begin = 0, end = 0;   // code[begin - 1] and code[end] are sync_alls, none between
    int kind = 0;             // units of one kind differ only in global-memory base addresses
    uint32_t live_in = 0;     // the registers it may read before writing them (bit r: xr)
    std::vector<int> layers;  // the layers of its instructions (Instr::layer), first seen first
  };
  // Every unit whose branches stay inside it, that no branch enters from outside and that holds
  // no `end`.
  explicit UnitMap(const std::vector<isa::davinci::Instr>& code);
  // The unit that begins at pc, or nullptr.
  const Unit* at(size_t pc) const;
  size_t kinds() const { return kinds_; }

  // Global-memory base addresses keep their offset in a block of this many bytes (the blocks
  // tensors are aligned to), so that the lines and sectors an access touches stay the same.
  static constexpr int64_t kBaseAlign = 512;

 private:
  std::vector<Unit> units_;
  std::vector<int> begins_;  // per pc: the index in units_ of the unit beginning there, or -1
  size_t kinds_ = 0;
};

// Skips the units of a kind and state that were simulated N times (sampling.ops = N) in a
// timing-only run whose blocks all run at once (one per core). Called by the cores' barrier as
// it opens (synced) and by each core after it (skip).
class OpSampler {
 public:
  OpSampler(const std::vector<isa::davinci::Instr>& code, uint64_t n, StatGroup& stats);
  // The cores, once made (in index order).
  void attach(std::vector<AiCore*> cores) { cores_ = std::move(cores); }

  // Every core waits at a sync_all and the barrier opens at `cycle`: ends the recording of the
  // unit that ends here, and either skips the one that begins after it (skip() says where the
  // cores resume) or records it.
  void synced(uint64_t cycle);
  // Where the cores resume when the unit after the sync_all just passed is skipped: at its
  // closing sync_all (pc end), at cycle `until`.
  struct Skip {
    int end;
    uint64_t until;
  };
  const Skip* skip() const { return skip_ ? &*skip_ : nullptr; }

  // What the run skipped (the statistics group op_sampling and a note).
  uint64_t units() const { return units_seen_; }
  uint64_t skipped() const { return skipped_; }
  uint64_t cycles_reused() const { return cycles_reused_; }

 private:
  // What a unit of a kind from one state did when it was last simulated.
  struct Record {
    uint64_t simulated = 0;  // times
    uint64_t cycles = 0;     // from the sync_all before it opening to the one after it opening
    std::unique_ptr<StatGroup> before, after;  // the statistics tree at its start and end
    struct Core {
      AiCore::UnitState exit;
      AiCore::Work work;  // what it added to the core's MACs and elements
      std::vector<std::pair<size_t, LayerSpan>> layers;  // by index in Unit::layers, from 0
    };
    std::vector<Core> cores;
  };
  std::unique_ptr<StatGroup> snapshot() const;
  void finish(uint64_t cycle);
  void apply(const Record& r, const UnitMap::Unit& u, uint64_t cycle);

  UnitMap units_map_;
  uint64_t n_;
  StatGroup& stats_;
  std::vector<AiCore*> cores_;
  std::map<std::vector<int64_t>, Record> records_;  // by kind and the cores' states
  // The unit being recorded: its record, start and the cores' figures then.
  struct Recording {
    Record* record;
    const UnitMap::Unit* unit;
    uint64_t start;
    std::unique_ptr<StatGroup> before;
    std::vector<AiCore::Work> work;
    std::vector<LayerTracker> layers;  // what each core notes during it
  };
  std::optional<Recording> recording_;
  std::optional<Skip> skip_;
  uint64_t units_seen_ = 0, skipped_ = 0, cycles_reused_ = 0;
};

}  // namespace xpusim::davinci
