// The TPU core as a SystemC module: a dispatcher issuing instructions in order into the
// in-order queues of concurrent units (dma_in, weight_dma, act, vpu, dma_out, setup, one mxu per
// systolic array), a dependence table between units (per memory, an interval map of the last
// writer and the readers since), the weight FIFO, the unified buffer, the accumulators and a
// DRAM channel. One SystemC thread per unit; a thread waits only on instruction boundaries,
// so an idle unit costs nothing, and it is woken only when the instruction it waits for has
// every dependence resolved. docs/models/tpu.md says what is modelled and what is not.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <systemc>
#include <utility>
#include <vector>

#include "isa/tpu/instr.h"
#include "isa/tpu/semantics.h"
#include "models/core/arbiter.h"
#include "models/core/barrier.h"
#include "models/core/layers.h"
#include "models/core/machine.h"
#include "models/core/memory.h"
#include "models/core/stats.h"
#include "models/core/trace.h"
#include "models/tpu/array_model.h"
#include "models/tpu/array_timing.h"
#include "models/tpu/check.h"
#include "models/tpu/cmem.h"
#include "models/tpu/params.h"

namespace xpusim::tpu {

class TpuCore : public sc_core::sc_module {
 public:
  // What a core shares with the rest of the chip.
  struct Chip {
    Arbiter& arbiter;            // orders the requests for the shared DRAM channel
    Server& dram_channel;        // the chip's DRAM/HBM channel
    Cmem* cmem;                  // the chip's CMEM (models/tpu/cmem.h), or nullptr: none
    CoreBarrier& barrier;        // the `barrier` instruction
    Progress& progress;          // the progress line
    uint64_t& executed;          // instructions executed by every core (limits.max_instructions)
    const uint64_t& run_cycles;  // the run's length (set when it ends): the denominator of
                                 // the units' utilization formulas
  };
  // Core `index` runs program[begin, end) (its halt-terminated list). `dram` holds the
  // functional DRAM (nullptr when timing only). `file` names the program in messages (assembly
  // path, or the workload for compiled programs). Trace tracks are named `track_prefix` + unit.
  TpuCore(sc_core::sc_module_name name, const TpuParams& p,
          const std::vector<isa::tpu::Instr>& program, size_t begin, size_t end, int index,
          const std::string& file, ByteStore* dram, const Chip& chip, StatGroup& stats,
          TraceRecorder& trace, const std::string& track_prefix);
  SC_HAS_PROCESS(TpuCore);
  ~TpuCore() override;

  // After sc_start(): rethrows an error raised inside a unit, or reports a deadlock.
  void check_finished() const;
  uint64_t total_cycles() const { return total_cycles_; }
  // Operations performed, by class and dtype (models/core/machine.h).
  std::vector<OpCount> ops() const;
  // Per layer (index = Instr::layer).
  const std::vector<LayerSpan>& layers() const { return layers_.spans(); }

  static constexpr uint64_t kUnknown = ~uint64_t(0);

 private:
  // Unit ids: the fixed units, then one per systolic array (kMxu0 + index).
  enum Unit { dma_in, weight_dma, act, vpu, dma_out, setup, kMxu0 };
  enum Mem { m_dram, m_ub, m_acc, m_fifo, kMems };
  struct Access {
    Mem mem;
    uint64_t lo, hi;
    bool write;
  };
  // One dynamic (executed) instruction, in a slot of dyn_ from its dispatch until it retires
  // (its done is known and past at a dispatch); the slot is then reused.
  struct Dyn {
    uint64_t seq = kUnknown;  // dispatch order; kUnknown while the slot is free
    int pc = 0, unit = 0;
    uint64_t issued = 0, read_done = kUnknown, done = kUnknown;
    int fifo_slot = -1;
    uint64_t ready_at = 0;  // the latest time of its resolved dependences
    int pending = 0;        // its dependences whose time is still unknown
    // Slots of the instructions waiting for its read_done (a WAR on it) or its done.
    std::vector<int> read_waiters, done_waiters;
    uint64_t dep_of = kUnknown;  // the seq being dispatched that depends on it (dep_index)
    size_t dep_index = 0;
  };
  // A dependence-table entry: a slot and the seq it held (a reused slot no longer matches:
  // that instruction retired, and the entry is dead).
  struct Ref {
    int slot = -1;
    uint64_t seq = kUnknown;
  };
  // Bytes [lo, hi) of a memory (lo is the map key): their last writer and the readers since.
  struct Segment {
    uint64_t hi;
    Ref writer;
    std::vector<Ref> readers;
  };
  using Segments = std::map<uint64_t, Segment>;
  // A memory's dependence table. `work` counts the segments and readers find_deps and record
  // visited since the last compact(); the table is compacted when it reaches `compact_at`, the
  // size compact() left (segments and readers) or kMinCompact, whichever is larger: compact()
  // costs no more than the walks since the last one (amortised), and the table never holds
  // more than twice what is live plus kMinCompact.
  static constexpr size_t kMinCompact = 64;
  struct Table {
    Segments segs;
    size_t work = 0, compact_at = kMinCompact;
  };
  struct UnitState {
    std::deque<int> queue;  // slots of dyn_
    sc_core::sc_event pushed, popped;
    sc_core::sc_event resolved;  // an instruction of this unit has its dependences resolved
    uint64_t free_at = 0;
    uint64_t occupied_until = 0;      // the end of its busy cycles so far
    std::vector<uint64_t> transfers;  // a DMA unit's unfinished transfers: when each ends
    uint64_t completed = 0;           // a DMA unit's latest completion so far
    uint64_t* busy = nullptr;
    uint64_t* instrs = nullptr;
    uint64_t* stall = nullptr;
    int track = 0;
  };

  void dispatcher();
  void unit_thread(int u);
  // Waits until every dependence of d has a known time; returns the latest of them.
  uint64_t wait_for_deps(int u, const Dyn& d);
  int new_dyn(int pc, int u);
  void retire(uint64_t t);
  bool live(const Ref& r, uint64_t t) const;
  // Whether an access can take part in a dependence: a read of bytes that no instruction of
  // the program ever writes cannot.
  bool tracked(const Access& a) const;
  Segments::iterator split(Segments& m, uint64_t at);
  // Drops the entries of a table that are no longer live at t (they never are again) and
  // merges the adjacent segments left with the same entries, so that an access walks only as
  // many segments as the live accesses' bounds make; sets the next compact_at.
  void compact(Table& tb, uint64_t t);
  // Adds to deps_ the dependences of an access by unit u at time t; record() then enters the
  // access in the table (once every access of the instruction has been looked up).
  void find_deps(const Access& a, int u, uint64_t t);
  void record(const Access& a, const Ref& self);
  // Times of d (slot) have become known: resolves the dependences waiting for them.
  void read_known(Dyn& d);
  void done_known(int slot);
  void wake(std::vector<int>& waiters, uint64_t t);
  uint64_t now() const;
  void wait_until(uint64_t cycle);
  void wait_all_done();
  std::string who(const isa::tpu::Instr& in) const;
  int unit_of(const isa::tpu::Instr& in) const;
  bool is_mxu(int u) const { return u >= kMxu0; }
  static bool is_dma(int u) { return u == dma_in || u == weight_dma || u == dma_out; }
  std::string unit_name(int u) const;
  std::vector<Access> accesses(const isa::tpu::Instr& in, int fifo_slot) const;
  // Runs the dynamic instruction in `slot` at the current time; returns when the unit may start its
  // next one.
  uint64_t execute(int u, int slot);
  // The statistics, trace slices and busy time of a matmul on mxu u, once its times are known.
  void record_matmul(int u, const isa::tpu::Instr& in, const ArrayTiming::Times& t);
  void fail(std::exception_ptr e);
  // A DMA's request for the shared DRAM channel at the current cycle, served by the arbiter in
  // (cycle, core, instruction) order, so the order does not depend on which SystemC delta cycle
  // each requester woke in. Through the CMEM when the chip has one and the DMA's bytes are a
  // strided block (`block`; gathers, rdconv and rdrows, go to DRAM directly). Sets `offchip`
  // to the bytes that crossed the DRAM channel for it.
  Server::Grant dram_request(uint64_t seq, uint64_t bytes, bool write, const DramBlock* block,
                             uint64_t& offchip);
  // The arrays, whichever model times them (array.model; models/core/unit_model.h): one thread
  // per mxu offers the array's model its matmuls as soon as their operands are ready and the
  // array can take them; the model's events, reported at once (formula) or while the arbiter's
  // cycle hook clocks it (RTL), resolve the matmuls' dependences and record them; a matmul
  // leaves the mxu's queue when the array takes it.
  void mxu_thread(int u);
  void mxu_pop(int u);
  void array_events(int u);
  bool arrays_busy() const;
  void clock_arrays();

  TpuParams p_;
  const std::vector<isa::tpu::Instr>& prog_;
  std::string file_;
  ProgramCheck check_;
  ByteStore* dram_;
  bool functional_;
  TraceRecorder& trace_;
  sc_core::sc_time period_;

  std::unique_ptr<Scratchpad> ub_, acc_;
  Chip chip_;
  // The dispatcher's loop counters. A member, not on the dispatcher thread's stack: a run ends
  // with its threads suspended, their frames never unwound.
  std::vector<uint32_t> loop_done_;
  size_t begin_, end_;  // this core's program: prog_[begin_, end_)
  int index_;           // this core's number (its order in the arbiter)
  bool at_barrier_ = false;
  struct Array {  // per systolic array: its weight FIFO, its model and its matmuls in flight
    std::vector<isa::tpu::WeightTile> fifo;  // slots, functional only
    std::vector<uint64_t> filled;            // slots: when the last weight load into each is done
    uint64_t fills_known = 0;                // weight loads into it whose done is known (in order)
    uint64_t fills_offered = 0;              // matmuls that load weights offered to its model
    isa::tpu::WeightTile held;               // the tile in the array, functional only
    int pushes = 0, pops = 0;                // at dispatch
    // The shape of the tile the array holds after the matmuls dispatched so far (none before
    // the first): what a matmul keep=1 streams against.
    bool holds = false;
    uint32_t held_k = 0, held_n = 0;
    DType held_dtype = DType::int8;
    std::unique_ptr<ArrayModel> model;  // its events name a matmul by its slot of dyn_
    bool values = false;                // the model computes the products (computes_values())
    size_t offered = 0, popped = 0;     // matmuls offered to the model; taken by the array
    std::deque<uint64_t> takes;  // when the array takes matmul `popped`, the next, ... (`next`)
    uint64_t busy_until = 0;     // end of the array's occupied time so far
    int load_track = 0;          // trace track of its stationary loads
  };
  std::vector<Array> arrays_;
  uint64_t load_cycles_;                   // of a stationary operand (trace)
  std::vector<ArrayModel::Event> events_;  // what an array's model just reported

  std::deque<Dyn> dyn_;  // deque: references stay valid while the dispatcher appends
  std::vector<int> free_slots_;
  // Executed instructions by done, to retire them once it is past.
  std::priority_queue<std::pair<uint64_t, int>, std::vector<std::pair<uint64_t, int>>,
                      std::greater<>>
      retiring_;
  uint64_t next_seq_ = 0;
  int unresolved_ = 0;              // dispatched instructions whose done is not known yet
  sc_core::sc_event drained_;       // nothing left in flight (for sync and halt)
  std::array<Table, kMems> table_;  // the dependence table
  // Per memory, the sorted disjoint byte ranges some instruction of the program writes.
  std::array<std::vector<std::pair<uint64_t, uint64_t>>, kMems> written_;
  // Of the instruction being dispatched: slot, needs_done (true: wait for its completion;
  // false: only until it finished reading).
  std::vector<std::pair<int, bool>> deps_;
  std::deque<UnitState> units_;  // deque: UnitState holds events, which do not move
  bool finished_ = false;
  std::exception_ptr error_;
  uint64_t total_cycles_ = 0, last_done_ = 0;
  LayerTracker layers_;

  uint64_t& macs_;
  uint64_t& stream_cycles_;
  uint64_t& weight_stall_cycles_;
  uint64_t& dispatched_;
  uint64_t& queue_full_cycles_;
  uint64_t macs_by_dtype_[4] = {};  // index: DType
  uint64_t vector_elements_[4] = {};
};

}  // namespace xpusim::tpu
