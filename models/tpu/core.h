// The TPU core as a SystemC module: a dispatcher issuing instructions in order into the
// in-order queues of concurrent units (dma_in, weight_dma, act, vpu, dma_out, one mxu per
// systolic array), a
// dependence table between units, the weight FIFO, the unified buffer, the accumulators and a
// DRAM channel. One SystemC thread per unit; a thread waits only on instruction boundaries,
// so an idle unit costs nothing. docs/models/tpu.md says what is modelled and what is not.
#pragma once

#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <string>
#include <systemc>
#include <vector>

#include "isa/tpu/instr.h"
#include "isa/tpu/semantics.h"
#include "models/core/layers.h"
#include "models/core/machine.h"
#include "models/core/memory.h"
#include "models/core/stats.h"
#include "models/core/trace.h"
#include "models/tpu/array_timing.h"
#include "models/tpu/params.h"

namespace xpusim::tpu {

class TpuCore : public sc_core::sc_module {
 public:
  // `dram` holds the functional DRAM (nullptr when timing only). `file` names the program in
  // messages (assembly path, or the workload for compiled programs).
  TpuCore(sc_core::sc_module_name name, const TpuParams& p,
          const std::vector<isa::tpu::Instr>& program, const std::string& file, ByteStore* dram,
          StatGroup& stats, TraceRecorder& trace);
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
  enum Unit { dma_in, weight_dma, act, vpu, dma_out, kMxu0 };
  enum Mem { m_dram, m_ub, m_acc, m_fifo };
  struct Access {
    Mem mem;
    uint64_t lo, hi;
    bool write;
    int seq;
  };
  struct Dep {
    int seq;
    bool needs_done;  // true: wait for completion; false: only until it finished reading
  };
  struct Dyn {  // one dynamic (executed) instruction
    int pc;
    uint64_t issued = 0, read_done = kUnknown, done = kUnknown;
    std::vector<Dep> deps;
    int fifo_slot = -1;
  };
  struct UnitState {
    std::deque<int> queue;
    sc_core::sc_event pushed, popped;
    uint64_t free_at = 0;
    uint64_t* busy = nullptr;
    uint64_t* instrs = nullptr;
    uint64_t* stall = nullptr;
    int track = 0;
  };

  void dispatcher();
  void unit_thread(int u);
  uint64_t wait_for_deps(const Dyn& d);
  uint64_t now() const;
  void wait_until(uint64_t cycle);
  void wait_all_done();
  std::string who(const isa::tpu::Instr& in) const;
  int unit_of(const isa::tpu::Instr& in) const;
  bool is_mxu(int u) const { return u >= kMxu0; }
  std::vector<Access> accesses(const isa::tpu::Instr& in, int seq) const;
  void validate(const isa::tpu::Instr& in) const;
  // Runs dynamic instruction `seq` at the current time; returns when the unit may start its
  // next one.
  uint64_t execute(int u, int seq);
  void fail(std::exception_ptr e);
  // A DMA's request for the DRAM channel at the current cycle: granted by cycle_end() once
  // every request of the cycle is in, oldest instruction first, so the order does not depend
  // on which SystemC delta cycle each requester woke in. An ideal channel (stall_free)
  // answers at once.
  Server::Grant dram_request(int seq, uint64_t bytes, bool write);
  // Runs after everything else in each cycle that has work for it: clocks the busy RTL arrays
  // (rtl_step), then grants the cycle's DRAM requests.
  void cycle_end();
  // Lets every other process of the current time run (until only this one is left).
  void settle();
  // RTL in the loop: one thread per mxu offers its matmuls to the array's harness as soon as
  // their operands are ready; rtl_step() clocks every busy array one cycle and reports the
  // times; a matmul leaves the mxu's queue when the model's would (the previous tile's stream
  // started).
  void rtl_mxu_thread(int u);
  bool rtl_busy() const;
  void rtl_step();
  void rtl_try_pop(int u);

  TpuParams p_;
  const std::vector<isa::tpu::Instr>& prog_;
  std::string file_;
  ByteStore* dram_;
  bool functional_;
  TraceRecorder& trace_;
  sc_core::sc_time period_;

  std::unique_ptr<Scratchpad> ub_, acc_;
  std::unique_ptr<DramChannel> channel_;
  struct Array {  // per systolic array: its weight FIFO and pipeline timing
    std::vector<isa::tpu::WeightTile> fifo;  // slots, functional only
    int pushes = 0, pops = 0;                // at dispatch
    ArrayTiming timing;
    uint64_t busy_until = 0;  // end of the array's occupied time so far
    int load_track = 0;       // trace track of its stationary loads
  };
  std::vector<Array> arrays_;
  struct RtlTile {
    int seq;
    uint64_t ready;  // its operands were ready (dependences, issue)
    uint64_t load_start = 0, stream_start = 0;
  };
  struct RtlArray;  // harness and tiles (core.cpp)
  std::vector<std::unique_ptr<RtlArray>> rtl_arrays_;
  size_t rtl_matmuls_ = 0;  // matmuls offered, all arrays (the VCD range counts these)
  struct DramRequest {
    int seq;
    uint64_t bytes;
    bool write;
    bool granted = false;
    Server::Grant grant{};
  };
  std::vector<DramRequest*> dram_pending_;  // this cycle's, each on its requester's stack
  sc_core::sc_event cycle_work_, dram_granted_;

  std::deque<Dyn> dyn_;  // deque: references stay valid while the dispatcher appends
  std::vector<Access> inflight_;
  std::deque<UnitState> units_;  // deque: UnitState holds events, which do not move
  sc_core::sc_event progress_;
  bool finished_ = false;
  std::exception_ptr error_;
  uint64_t total_cycles_ = 0, last_done_ = 0;
  LayerTracker layers_;

  uint64_t& macs_;
  uint64_t& stream_cycles_;
  uint64_t& weight_stall_cycles_;
  uint64_t& dispatched_;
  uint64_t& cycles_;
  uint64_t macs_by_dtype_[3] = {};  // index: isa::tpu::Dtype
  uint64_t vector_elements_[3] = {};
};

}  // namespace xpusim::tpu
