// An Ascend DaVinci-style AI core as a SystemC module: a scalar unit that runs the kernel's
// scalar instructions itself and dispatches the others, in program order, into the in-order
// queues of the pipes (MTE1, MTE2, MTE3, cube, vector, FIX), one SystemC thread each. Pipes run
// in parallel; nothing orders them but set_flag / wait_flag, pipe_barrier and sync_all, as on the
// hardware: a missing flag is a race the RaceChecker reports, a wait nobody satisfies a deadlock
// check_finished() reports. Global memory goes through the chip's L2 and HBM (MemorySide),
// requests served by the arbiter in (cycle, core, pipe, sequence) order so that runs are
// deterministic. The M pipe times its mads through the cube's model (davinci.cube.model: the
// formula, or the verilated RTL clocked by the arbiter's cycle hook). docs/models/davinci.md says
// what is modelled and what is not.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "isa/davinci/instr.h"
#include "isa/davinci/semantics.h"
#include "models/core/arbiter.h"
#include "models/core/barrier.h"
#include "models/core/layers.h"
#include "models/core/limits.h"
#include "models/core/memory.h"
#include "models/core/memside.h"
#include "models/core/stats.h"
#include "models/core/trace.h"
#include "models/npu_davinci/cube_unit.h"
#include "models/npu_davinci/params.h"
#include "models/npu_davinci/race.h"

namespace xpusim::davinci {

class OpSampler;

class AiCore : public sc_core::sc_module {
 public:
  // What the cores of a chip share.
  struct Chip {
    Arbiter& arbiter;      // orders the requests for the memory side
    MemorySide& memory;    // L2 and HBM
    CoreBarrier& barrier;  // sync_all
    ByteStore* gm;         // global memory (nullptr when timing only)
    uint64_t gm_bytes;     // its capacity
    RaceChecker* races;    // nullptr when core.race_check is off
    uint64_t& executed;    // instructions executed by every core (limits.max_instructions)
    uint64_t max_instructions, max_cycles;
    int block_num;               // blocks in the launch
    const uint64_t& run_cycles;  // the run's length (set when it ends), for utilizations
    std::exception_ptr& error;   // the first error of any core, which stopped the simulation
    const std::vector<std::string>& layers;  // a compiled workload's layers (instr_place)
    Progress& progress;                      // the progress line
    OpSampler* sampler;                      // nullptr unless sampling.ops is on
  };
  // Core `index` runs `blocks` (block indices, in order) of kernel k (from `file`); argument
  // values are in `args` (per parameter of k, in order).
  AiCore(sc_core::sc_module_name name, const DavinciParams& p, const isa::davinci::Kernel& k,
         const std::string& file, const std::vector<int64_t>& args, std::vector<int> blocks,
         int index, const Chip& chip, StatGroup& stats, TraceRecorder& trace);
  SC_HAS_PROCESS(AiCore);

  // After the simulation: rethrows an error raised in a thread, or reports a deadlock (which
  // pipe waits for what, at which instruction).
  void check_finished() const;
  uint64_t total_cycles() const { return total_cycles_; }
  // Cube multiply-accumulates by type (f16, bf16, s8) and vector elements computed by type.
  const std::map<std::string, uint64_t>& macs() const { return macs_; }
  const std::map<std::string, uint64_t>& vector_elements() const { return vector_elements_; }
  // Per layer (index = Instr::layer): the span of its instructions and their global-memory bytes.
  const std::vector<LayerSpan>& layers() const { return layers_.spans(); }
  // Writes the trace slices still open (after the simulation).
  void finish_trace();

  // Op sampling (sampling.h), while every core waits at a sync_all: the state that the code
  // after it reads and leaves (the scalar registers, the vector mask, the feature map, the flags
  // set and not waited for: (flag, sets)), and the core's own figures.
  struct UnitState {
    std::array<int64_t, isa::davinci::kRegs> x{};
    isa::davinci::Mask mask{};
    isa::davinci::Fmatrix fmatrix{};
    std::vector<std::pair<int64_t, size_t>> flags;
  };
  struct Work {
    std::map<std::string, uint64_t> macs, vector_elements;
    Work minus(const Work& earlier) const;  // what was added since `earlier`
  };
  UnitState unit_state() const;
  void restore(const UnitState& s);
  Work work() const { return {macs_, vector_elements_}; }
  void add_work(const Work& w);
  int pc() const { return scalar_pc_; }
  // Notes a layer's span and traffic; while `also` is set (a unit being recorded), there too.
  void note_layer(int layer, uint64_t start, uint64_t done, uint64_t dram_bytes);
  void also_note_layers(LayerTracker* also) { also_note_ = also; }

 private:
  static constexpr int kPipes = isa::davinci::kPipes;
  // An instruction in a pipe's queue: resolved, with its place in the program and its queue.
  struct Entry {
    isa::davinci::Instr in;
    int pc = 0;
    uint64_t seq = 0;  // its number among its pipe's instructions
    Clock clock{};     // the scalar unit's clock when it was dispatched
  };
  struct PipeState {
    std::deque<Entry> queue;
    sc_core::sc_event pushed, popped;
    bool busy = false;       // executing an entry it took from the queue
    uint64_t last_done = 0;  // completion of its latest instruction
    Clock clock{};
    uint64_t next_seq = 0;
    const Entry* waiting = nullptr;  // the wait_flag it is blocked in (deadlock reports)
    uint64_t *instrs = nullptr, *busy_cycles = nullptr, *flag_wait = nullptr;
    int track = -1;
    std::vector<isa::davinci::Range> ranges;  // of the instruction it executes (its own: a
                                              // memory request keeps them while others run)
    // The slice of its latest data instruction, written once the next one starts (slices on a
    // track must not overlap).
    std::string slice_name;
    uint64_t slice_start = 0, slice_end = 0;
    int slice_layer = -1;
  };
  // A flag (source pipe, destination pipe, event): the setters' clocks not yet waited for.
  struct Flag {
    std::deque<Clock> sets;
  };

  void scalar_thread();
  void pipe_thread(int p);
  // Dispatches the instruction at pc (resolved) to its pipe, waiting while the queue is full.
  void dispatch(int pc, const isa::davinci::Instr& in);
  // Waits until every pipe has drained; the scalar clock then covers every instruction so far.
  void drain();
  void wait_flag(int p, const Entry& e);
  void set_flag(int p, const Entry& e, const Clock& clock);
  // Runs a data instruction on pipe p; returns the cycle from which the pipe is free.
  uint64_t execute(int p, const Entry& e);
  // The cube (davinci.cube.model; models/npu_davinci/cube_unit.h), the same code whichever model
  // times it. The M pipe offers a mad when it takes it at cycle t, with its operands when the
  // model computes values, and is free again at the model's `next` (returned); the mad's `done`
  // completes it. A formula model reports every event in offer(); the RTL reports them from
  // step(), which the arbiter's cycle hook calls (clock_cube) in every cycle the model is busy.
  uint64_t offer_mad(const Entry& e, CubeOp op, uint64_t t);
  void clock_cube();
  // Takes in what the cube's model just reported (cube_events_).
  void cube_events();
  uint64_t gm_request(int p, const Entry& e, const std::vector<isa::davinci::Range>& ranges,
                      bool write, uint64_t bytes, double path, uint64_t& done);
  // Writes the pipe's open slice, ending at `cut` at the latest.
  void flush_slice(PipeState& s, uint64_t cut);
  Flag& flag(const isa::davinci::Instr& in);
  std::string who(int pc) const;
  uint64_t now() const;
  void wait_until(uint64_t cycle);
  void fail(std::exception_ptr e);
  Scratchpad* buffer(isa::davinci::Buf b) const;

  DavinciParams p_;
  const isa::davinci::Kernel& kernel_;
  std::string file_;
  std::vector<int64_t> args_;
  std::vector<int> blocks_;
  int index_;
  Chip chip_;
  TraceRecorder& trace_;
  sc_core::sc_time period_;
  std::array<std::unique_ptr<Scratchpad>, isa::davinci::kBufs> bufs_;  // gm's unused
  isa::davinci::Memories mem_;
  std::array<PipeState, kPipes> pipes_;
  sc_core::sc_event idle_, flag_set_;
  std::map<int, Flag> flags_;  // key: (src * kPipes + dst) * 8 + event
  isa::davinci::Mask mask_ = isa::davinci::kFullMask;
  isa::davinci::Fmatrix fmatrix_;                 // PIPE_MTE1's, set by set_fmatrix
  std::array<int64_t, isa::davinci::kRegs> x_{};  // the scalar registers
  Clock scalar_clock_{};
  uint64_t gen_ = 0;  // sync_all generation
  int scalar_pc_ = -1;
  const char* scalar_wait_ = nullptr;  // what the scalar unit waits for (deadlock reports)
  bool finished_ = false;
  uint64_t total_cycles_ = 0;
  std::map<std::string, uint64_t> macs_, vector_elements_;
  // The cube's model, and its mads offered and not done yet, oldest first.
  struct Mad {
    int pc, layer;
    size_t cols;              // N
    uint64_t start;           // when the M pipe took it
    std::vector<uint32_t> c;  // with an RTL model: the ISA's C (row-major), to check the RTL's
  };
  std::unique_ptr<CubeModel> cube_;
  std::deque<Mad> mads_;
  static constexpr uint64_t kUnknown = ~uint64_t(0);
  uint64_t cube_next_ = kUnknown;  // the `next` of the latest mad, once reported
  std::vector<CubeModel::Event> cube_events_;
  sc_core::sc_event cube_reported_;  // the model reported events
  LayerTracker layers_;
  LayerTracker* also_note_ = nullptr;
  uint64_t &gm_read_, &gm_written_, &dispatched_, &scalar_instrs_, &ub_conflicts_;
  std::vector<uint64_t> bank_blocks_;  // scratch of bank_cycles
  std::vector<uint32_t> bank_count_;
};

}  // namespace xpusim::davinci
