#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "models/tpu/core.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "models/core/simulation.h"

namespace xpusim::tpu {

using isa::tpu::DType;
using isa::tpu::Instr;
using isa::tpu::Opcode;

namespace {
const char* kUnitNames[] = {"dma_in", "weight_dma", "act", "vpu", "dma_out", "setup"};
const char* kUnitDesc[] = {"DMA from DRAM into the unified buffer (rdhost, rdconv, rdrows)",
                           "weight tiles into the FIFOs, from DRAM (rdweight) or the unified "
                           "buffer (ldweight)",
                           "activation pipeline, accumulators to unified buffer (activate)",
                           "vector unit (vector)",
                           "DMA from the unified buffer to DRAM (wrhost)",
                           "systolic data setup: im2col rows formed from image rows in the "
                           "unified buffer (im2col)"};

uint64_t ceil_div(uint64_t a, uint64_t b) {
  return (a + b - 1) / b;
}
}  // namespace

TpuCore::~TpuCore() = default;

TpuCore::TpuCore(sc_core::sc_module_name name, const TpuParams& p,
                 const std::vector<Instr>& program, size_t begin, size_t end, int index,
                 const std::string& file, ByteStore* dram, const Chip& chip, StatGroup& stats,
                 TraceRecorder& trace, const std::string& track_prefix)
    : sc_module(name),
      p_(p),
      prog_(program),
      file_(file),
      check_(p_, prog_, file_),
      dram_(dram),
      functional_(dram != nullptr),
      trace_(trace),
      period_(sc_core::sc_time(double(p.clock().period_ps()), sc_core::SC_PS)),
      chip_(chip),
      begin_(begin),
      end_(end),
      index_(index),
      load_cycles_(ArrayTiming(p.rows, p.cols, p.dataflow, p.fold_overlap).load_cycles()),
      macs_(stats.group("arrays", "all systolic arrays together")
                .counter("macs", "MAC", "multiply-accumulates performed")),
      stream_cycles_(
          stats.group("arrays", "all systolic arrays together")
              .counter("stream_cycles", "cycles", "cycles operands streamed through the array")),
      weight_stall_cycles_(
          stats.group("arrays", "all systolic arrays together")
              .counter("load_wait_cycles", "cycles",
                       "cycles a stream waited for its stationary operand to finish loading")),
      dispatched_(stats.group("dispatcher", "in-order instruction issue")
                      .counter("instructions", "instructions", "instructions issued to units")),
      queue_full_cycles_(stats.group("dispatcher", "in-order instruction issue")
                             .counter("queue_full_cycles", "cycles",
                                      "cycles the dispatcher waited for room in a full unit "
                                      "queue (dispatch.queue_depth)")) {
  ub_ = std::make_unique<Scratchpad>("ub", p.ub_bytes, uint32_t(p.ub_port_bytes), functional_,
                                     stats.group("ub", "unified buffer"));
  acc_ = std::make_unique<Scratchpad>("acc", p.acc_bytes, uint32_t(p.cols) * 4, functional_,
                                      stats.group("acc", "accumulators"));
  // array.model: the formula, or the RTL registered as the unit tpu.array (the VCD shows mxu 0).
  p.array_model.need_values(functional_, "array");
  const ArrayConfig config{p.rows, p.cols, p.dataflow, p.fold_overlap};
  for (int i = 0; i < p.count; ++i) {
    Array& a = arrays_.emplace_back();
    a.fifo.resize(size_t(p.fifo_depth));
    a.filled.assign(size_t(p.fifo_depth), 0);
    a.model = p.array_model.rtl
                  ? p.array_model.make_rtl<ArrayModel, ArrayConfig>(kArrayUnit, config, i == 0)
                  : make_formula_array(config);
    a.values = a.model->computes_values();
    a.takes.push_back(0);  // the first matmul may start at once
  }
  const int units = kMxu0 + p.count;
  for (int u = 0; u < units; ++u) {
    units_.emplace_back();
    const std::string unit = unit_name(u);
    StatGroup& g = stats.group(unit, is_mxu(u) ? "systolic array (matmul)" : kUnitDesc[u]);
    units_[u].instrs = &g.counter("instructions", "instructions", "instructions executed");
    units_[u].busy = &g.counter(
        "busy_cycles", "cycles",
        is_mxu(u) ? "cycles the array was occupied: loading, streaming or draining a tile"
                  : "cycles the unit was occupied (a DMA: waiting for and using the DRAM channel)");
    units_[u].stall = &g.counter("stall_cycles", "cycles",
                                 "cycles an issued instruction waited for the earlier "
                                 "instructions it depends on (results it reads, buffers it "
                                 "overwrites) before it could start");
    g.formula("utilization", "fraction", "busy_cycles / cycles of the run",
              [busy = units_[u].busy, cycles = &chip_.run_cycles] {
                return *cycles ? double(*busy) / double(*cycles) : 0.0;
              });
    units_[u].track = trace_.track(track_prefix + unit);
    if (is_mxu(u))
      arrays_[size_t(u - kMxu0)].load_track = trace_.track(track_prefix + unit + " load");
  }
  // Static checks before the simulation starts: every instruction against the configuration,
  // and the end of the program. (Errors found here never unwind a SystemC thread.)
  check_.instrs(begin_, end_);
  // The byte ranges each memory is ever written at, for tracked() (the FIFO is always tracked:
  // its slot depends on the execution).
  for (size_t i = begin_; i < end_; ++i) {
    const Instr& in = prog_[i];
    if (in.op == Opcode::sync || in.op == Opcode::loop || in.op == Opcode::halt ||
        in.op == Opcode::barrier)
      continue;
    for (const Access& a : accesses(in, 0))
      if (a.write && a.mem != m_fifo) written_[a.mem].push_back({a.lo, a.hi});
  }
  for (auto& w : written_) {
    std::sort(w.begin(), w.end());
    size_t n = 0;
    for (const auto& r : w) {
      if (n > 0 && r.first <= w[n - 1].second)
        w[n - 1].second = std::max(w[n - 1].second, r.second);
      else
        w[n++] = r;
    }
    w.resize(n);
  }
  SC_THREAD(dispatcher);
  for (int u = 0; u < units; ++u)
    sc_core::sc_spawn(sc_bind(is_mxu(u) ? &TpuCore::mxu_thread : &TpuCore::unit_thread, this, u),
                      unit_name(u).c_str());
  // The arbiter clocks the arrays whose model reports from step() (RTL) in every cycle one is
  // busy; a formula model answers at once and needs no clock.
  if (std::any_of(arrays_.begin(), arrays_.end(),
                  [](const Array& a) { return a.model->clocked(); }))
    chip_.arbiter.add_cycle_hook([this] { return arrays_busy(); }, [this] { clock_arrays(); });
}

std::string TpuCore::unit_name(int u) const {
  return is_mxu(u) ? fmt::format("mxu{}", u - kMxu0) : kUnitNames[u];
}

uint64_t TpuCore::now() const {
  return sc_core::sc_time_stamp().value() / period_.value();
}

void TpuCore::wait_until(uint64_t cycle) {
  uint64_t t = now();
  if (cycle > t) wait(period_ * double(cycle - t));
}

std::string TpuCore::who(const Instr& in) const {
  return check_.who(in);
}

int TpuCore::unit_of(const Instr& in) const {
  switch (in.op) {
    case Opcode::rdhost:
    case Opcode::rdconv:
    case Opcode::rdrows:
      return dma_in;
    case Opcode::rdweight:
    case Opcode::ldweight:
      return weight_dma;
    case Opcode::matmul:
      return kMxu0 + in.mxu;
    case Opcode::activate:
      return act;
    case Opcode::vector:
      return vpu;
    case Opcode::im2col:
      return setup;
    default:
      return dma_out;
  }
}

std::vector<TpuCore::Access> TpuCore::accesses(const Instr& in, int fifo_slot) const {
  const uint64_t e = uint64_t(isa::tpu::elem_bytes(in.dtype));
  // FIFO slots of array i are numbered from i * depth.
  const uint64_t slot = uint64_t(fifo_slot) + uint64_t(in.mxu) * uint64_t(p_.fifo_depth);
  auto dram_hi = [&](uint64_t row_bytes) {
    return in.dram + uint64_t(in.rows - 1) * in.stride + row_bytes;
  };
  switch (in.op) {
    case Opcode::rdhost:
      return {{m_dram, in.dram, dram_hi(in.cols), false},
              {m_ub, in.ub, in.ub + uint64_t(in.rows) * in.cols, true}};
    case Opcode::wrhost:
      return {{m_ub, in.ub, in.ub + uint64_t(in.rows) * in.cols, false},
              {m_dram, in.dram, dram_hi(in.cols), true}};
    case Opcode::rdrows:  // any row of the table may be read
      return {{m_ub, in.src, in.src + uint64_t(in.rows) * 4, false},
              {m_dram, in.dram, in.dram + uint64_t(in.k - 1) * in.stride + in.cols, false},
              {m_ub, in.ub, in.ub + uint64_t(in.rows) * in.cols, true}};
    case Opcode::rdconv: {
      const isa::tpu::ConvGeom g = isa::tpu::conv_geom(in);
      return {{m_dram, in.dram, in.dram + uint64_t(g.h) * g.w * g.c * e, false},
              {m_ub, in.ub, in.ub + uint64_t(in.rows) * in.cols * e, true}};
    }
    case Opcode::im2col: {  // the whole rows of the band it reads
      const isa::tpu::ConvGeom g = isa::tpu::conv_geom(in);
      const isa::tpu::ImageRows r = isa::tpu::conv_rows_read(in);
      const uint64_t row = uint64_t(g.w) * g.c * e, h0 = isa::tpu::conv_h0(in);
      std::vector<Access> v = {{m_ub, in.ub, in.ub + uint64_t(in.rows) * in.cols * e, true}};
      if (r.lo < r.hi)
        v.push_back({m_ub, in.src + (r.lo - h0) * row, in.src + (r.hi - h0) * row, false});
      return v;
    }
    case Opcode::rdweight: {
      const uint64_t hi = in.flags & 1 ? in.dram + uint64_t(in.cols - 1) * in.stride + in.rows * e
                                       : dram_hi(in.cols * e);
      return {{m_dram, in.dram, hi, false}, {m_fifo, slot, slot + 1, true}};
    }
    case Opcode::ldweight: {
      const uint64_t hi = in.flags & 1 ? in.ub + uint64_t(in.cols - 1) * in.stride + in.rows * e
                                       : in.ub + uint64_t(in.rows - 1) * in.stride + in.cols * e;
      return {{m_ub, in.ub, hi, false}, {m_fifo, slot, slot + 1, true}};
    }
    case Opcode::matmul: {  // keep=1 (no FIFO slot) reads the tile in the array
      std::vector<Access> v = {{m_ub, in.ub, in.ub + uint64_t(in.rows) * in.k * e, false},
                               {m_acc, in.src, in.src + uint64_t(in.rows) * in.cols * 4, true}};
      if (fifo_slot >= 0) v.push_back({m_fifo, slot, slot + 1, false});
      return v;
    }
    case Opcode::activate: {  // each tile it adds, not the gaps between them
      std::vector<Access> v = {{m_ub, in.ub, in.ub + uint64_t(in.rows) * in.cols * e, true}};
      for (uint64_t i = 0, bytes = uint64_t(in.rows) * in.cols * 4;
           i < isa::tpu::activate_tiles(in); ++i)
        v.push_back({m_acc, in.src + i * in.stride, in.src + i * in.stride + bytes, false});
      if (const uint64_t b = isa::tpu::activate_bias_bytes(in))
        v.push_back({m_ub, in.src2, in.src2 + b, false});
      return v;
    }
    case Opcode::vector: {
      std::vector<Access> v = {{m_ub, in.src, in.src + isa::tpu::vector_src_bytes(in), false},
                               {m_ub, in.ub, in.ub + isa::tpu::vector_dst_bytes(in), true}};
      if (uint64_t b = isa::tpu::vector_src2_bytes(in))
        v.push_back({m_ub, in.src2, in.src2 + b, false});
      return v;
    }
    default:
      return {};
  }
}

void TpuCore::fail(std::exception_ptr e) {
  if (!error_) error_ = e;
  sc_core::sc_stop();
}

void TpuCore::wait_all_done() {
  for (;;) {
    bool pending = unresolved_ > 0;
    for (const auto& u : units_) pending |= !u.queue.empty();
    if (!pending) {
      wait_until(last_done_);
      return;
    }
    wait(drained_);
  }
}

int TpuCore::new_dyn(int pc, int u) {
  int slot;
  if (free_slots_.empty()) {
    slot = int(dyn_.size());
    dyn_.emplace_back();
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  Dyn& d = dyn_[size_t(slot)];
  d.seq = next_seq_++;
  d.pc = pc;
  d.unit = u;
  d.issued = now();
  d.read_done = d.done = kUnknown;
  d.fifo_slot = -1;
  d.ready_at = 0;
  d.pending = 0;
  ++unresolved_;
  return slot;
}

// An instruction whose done is past at a dispatch is past at every later one: the dependence
// table would drop it (live()), so its slot can go. Its waiters were resolved when its done
// became known.
void TpuCore::retire(uint64_t t) {
  while (!retiring_.empty() && retiring_.top().first <= t) {
    const int slot = retiring_.top().second;
    retiring_.pop();
    dyn_[size_t(slot)].seq = kUnknown;
    free_slots_.push_back(slot);
  }
}

// An entry takes part in dependences until its instruction's done is past.
bool TpuCore::live(const Ref& r, uint64_t t) const {
  if (r.slot < 0) return false;
  const Dyn& x = dyn_[size_t(r.slot)];
  return x.seq == r.seq && x.done > t;
}

bool TpuCore::tracked(const Access& a) const {
  if (a.write || a.mem == m_fifo) return true;
  const auto& w = written_[a.mem];
  // The last written range that starts before a.hi is the only one that may overlap.
  auto it = std::lower_bound(
      w.begin(), w.end(), a.hi,
      [](const std::pair<uint64_t, uint64_t>& r, uint64_t x) { return r.first < x; });
  return it != w.begin() && std::prev(it)->second > a.lo;
}

// Makes `at` a segment boundary; returns the first segment at or after it.
TpuCore::Segments::iterator TpuCore::split(Segments& m, uint64_t at) {
  auto it = m.lower_bound(at);
  if (it == m.begin()) return it;
  auto prev = std::prev(it);
  if (prev->second.hi <= at) return it;
  Segment right = prev->second;
  prev->second.hi = at;
  return m.emplace_hint(it, at, std::move(right));
}

void TpuCore::compact(Table& tb, uint64_t t) {
  Segments& m = tb.segs;
  // Readers in a canonical order (and once each), so that equal entries compare equal.
  auto key = [](const Ref& r) { return std::pair(r.slot, r.seq); };
  auto less = [&](const Ref& x, const Ref& y) { return key(x) < key(y); };
  auto same = [&](const Ref& x, const Ref& y) { return key(x) == key(y); };
  size_t size = 0;  // segments and readers kept
  auto prev = m.end();
  for (auto it = m.begin(); it != m.end();) {
    Segment& sg = it->second;
    auto& rs = sg.readers;
    if (!live(sg.writer, t)) sg.writer = Ref{};
    rs.erase(std::remove_if(rs.begin(), rs.end(), [&](const Ref& r) { return !live(r, t); }),
             rs.end());
    std::sort(rs.begin(), rs.end(), less);
    rs.erase(std::unique(rs.begin(), rs.end(), same), rs.end());
    const bool empty = sg.writer.slot < 0 && rs.empty();  // a gap from now on
    const bool merges = prev != m.end() && prev->second.hi == it->first &&
                        same(prev->second.writer, sg.writer) &&
                        std::equal(prev->second.readers.begin(), prev->second.readers.end(),
                                   rs.begin(), rs.end(), same);
    if (merges) prev->second.hi = sg.hi;
    if (empty || merges) {
      it = m.erase(it);
      continue;
    }
    size += 1 + rs.size();
    prev = it++;
  }
  tb.work = 0;
  tb.compact_at = std::max(kMinCompact, size);
}

void TpuCore::find_deps(const Access& a, int u, uint64_t t) {
  Table& tb = table_[a.mem];
  Segments& m = tb.segs;
  split(m, a.hi);
  auto add = [&](const Ref& r, bool needs_done) {
    if (!live(r, t)) return;
    Dyn& x = dyn_[size_t(r.slot)];
    // An array's in-order pipeline orders its own accumulations. A DMA unit's own accesses
    // are ordered too: it reads only DRAM or only the unified buffer and writes the other, and
    // its requests complete in its order (a CMEM hit no sooner than an earlier miss: execute()),
    // so its later requests never overtake its earlier ones (WAW and WAR between them hold).
    if ((is_mxu(u) || is_dma(u)) && x.unit == u) return;
    if (x.dep_of == next_seq_ - 1) {
      deps_[x.dep_index].second |= needs_done;
    } else {
      x.dep_of = next_seq_ - 1;
      x.dep_index = deps_.size();
      deps_.push_back({r.slot, needs_done});
    }
  };
  for (auto it = split(m, a.lo); it != m.end() && it->first < a.hi; ++it) {
    ++tb.work;
    add(it->second.writer, true);
    if (a.write) {
      tb.work += it->second.readers.size();
      for (const Ref& r : it->second.readers) add(r, false);
    }
  }
}

// A write replaces the entries of its bytes, and the times they stood for still hold:
// - an entry the writer depends on: whoever later depends on the writer waits for its done,
//   which is after the writer started, so after that entry's time; the only accesses that
//   skip the writer, later matmuls of the writer's own array, start after the writer started
//   anyway (the array's queue is in order);
// - an entry the writer skips, an earlier matmul of its own array: its done is never later
//   than the writer's (the array's pipeline is in order), and the accesses that skip the
//   writer skip it too.
// So every instruction gets the dependence times it would get from a list of every access
// still in flight (what the table was before), at a cost that does not grow with that list.
void TpuCore::record(const Access& a, const Ref& self) {
  Table& tb = table_[a.mem];
  Segments& m = tb.segs;
  // find_deps made a.lo and a.hi boundaries, but an earlier write of the same instruction
  // may have merged them away.
  split(m, a.hi);
  auto first = split(m, a.lo);
  if (a.write) {
    auto last = m.lower_bound(a.hi);
    m.emplace_hint(m.erase(first, last), a.lo, Segment{a.hi, self, {}});
    return;
  }
  uint64_t at = a.lo;
  for (auto it = first; at < a.hi; ++it) {
    ++tb.work;
    if (it == m.end() || it->first > at) {  // a gap: a segment of its own
      const uint64_t end = it == m.end() ? a.hi : std::min(a.hi, it->first);
      it = m.emplace_hint(it, at, Segment{end, Ref{}, {self}});
      at = end;
      continue;
    }
    it->second.readers.push_back(self);
    at = it->second.hi;
  }
}

void TpuCore::wake(std::vector<int>& waiters, uint64_t t) {
  for (int w : waiters) {
    Dyn& c = dyn_[size_t(w)];
    c.ready_at = std::max(c.ready_at, t);
    if (--c.pending == 0) units_[size_t(c.unit)].resolved.notify(sc_core::SC_ZERO_TIME);
  }
  waiters.clear();
}

void TpuCore::read_known(Dyn& d) {
  wake(d.read_waiters, d.read_done);
}

void TpuCore::done_known(int slot) {
  Dyn& d = dyn_[size_t(slot)];
  const Instr& in = prog_[size_t(d.pc)];
  if (isa::tpu::loads_weights(in.op)) {
    arrays_[in.mxu].filled[size_t(d.fifo_slot)] = d.done;
    ++arrays_[in.mxu].fills_known;
    units_[size_t(kMxu0 + in.mxu)].resolved.notify(sc_core::SC_ZERO_TIME);
  }
  wake(d.done_waiters, d.done);
  retiring_.push({d.done, slot});
  if (--unresolved_ == 0) drained_.notify(sc_core::SC_ZERO_TIME);
}

void TpuCore::dispatcher() {
  try {
    loop_done_.assign(prog_.size(), 0);
    size_t pc = begin_;
    for (;;) {
      const Instr& in = prog_[pc];
      // Every run is bounded, also a hand-written program that loops for ever.
      const uint64_t t_now = now();
      if (++chip_.executed > p_.limits.max_instructions || t_now > p_.limits.max_cycles)
        p_.limits.exceeded(t_now > p_.limits.max_cycles,
                           fmt::format("{} (core {}, cycle {})", who(in), index_, t_now));
      chip_.progress.tick(t_now, in.layer);
      if (in.op == Opcode::sync || in.op == Opcode::halt || in.op == Opcode::barrier) {
        wait_all_done();
        if (in.op == Opcode::halt) break;
        if (in.op == Opcode::barrier) {
          at_barrier_ = true;
          chip_.barrier.arrive_and_wait();
          at_barrier_ = false;
        }
        ++pc;
        continue;
      }
      if (in.op == Opcode::loop) {
        pc = ++loop_done_[pc] < in.count ? in.target : (loop_done_[pc] = 0, pc + 1);
        continue;
      }
      const int u = unit_of(in);
      if (units_[u].queue.size() >= size_t(p_.queue_depth)) {
        const uint64_t from = now();
        while (units_[u].queue.size() >= size_t(p_.queue_depth)) wait(units_[u].popped);
        queue_full_cycles_ += now() - from;
      }
      const uint64_t t = now();
      retire(t);
      for (Table& tb : table_)
        if (tb.work >= tb.compact_at) compact(tb, t);
      const int slot = new_dyn(int(pc), u);
      Dyn& d = dyn_[size_t(slot)];
      if (isa::tpu::loads_weights(in.op)) {
        Array& a = arrays_[in.mxu];
        if (a.pushes - a.pops >= p_.fifo_depth)
          throw Error(who(in) + fmt::format(": the weight FIFO of mxu {} is full ({} tiles) and "
                                            "no matmul before this instruction pops one",
                                            in.mxu, p_.fifo_depth));
        d.fifo_slot = a.pushes++ % p_.fifo_depth;
      } else if (in.op == Opcode::matmul && (in.flags & isa::tpu::kMatmulKeep)) {
        const Array& a = arrays_[in.mxu];
        if (p_.dataflow != Dataflow::ws)
          throw Error(who(in) + fmt::format(": keep=1 keeps weights in a weight-stationary "
                                            "array; these arrays are {}",
                                            dataflow_name(p_.dataflow)));
        if (!a.holds)
          throw Error(who(in) + fmt::format(": keep=1, but mxu {} holds no weights (no matmul "
                                            "on it before this one)",
                                            in.mxu));
        if (a.held_k != in.k || a.held_n != in.cols || a.held_dtype != in.dtype)
          throw Error(who(in) + fmt::format(": keep=1 streams against the {}x{} {} tile mxu {} "
                                            "holds, the matmul is {}x{} {}",
                                            a.held_k, a.held_n, dtype_name(a.held_dtype), in.mxu,
                                            in.k, in.cols, dtype_name(in.dtype)));
      } else if (in.op == Opcode::matmul) {
        Array& a = arrays_[in.mxu];
        a.holds = true;
        a.held_k = in.k;
        a.held_n = in.cols;
        a.held_dtype = in.dtype;
        if (a.pops == a.pushes)
          throw Error(who(in) + fmt::format(": the weight FIFO of mxu {} is empty (no rdweight "
                                            "for it before this matmul)",
                                            in.mxu));
        d.fifo_slot = a.pops++ % p_.fifo_depth;
      }
      // Dependences on earlier instructions still in flight: the times already known are
      // folded into ready_at; the others register this instruction as their waiter.
      const std::vector<Access> mine = accesses(in, d.fifo_slot);
      deps_.clear();
      for (const Access& a : mine)
        if (tracked(a)) find_deps(a, u, t);
      for (const auto& [p, needs_done] : deps_) {
        Dyn& x = dyn_[size_t(p)];
        const uint64_t when = needs_done ? x.done : x.read_done;
        if (when != kUnknown) {
          d.ready_at = std::max(d.ready_at, when);
        } else {
          (needs_done ? x.done_waiters : x.read_waiters).push_back(slot);
          ++d.pending;
        }
      }
      for (const Access& a : mine)
        if (tracked(a)) record(a, Ref{slot, d.seq});
      units_[u].queue.push_back(slot);
      units_[u].pushed.notify(sc_core::SC_ZERO_TIME);
      ++dispatched_;
      ++pc;
      if (!p_.stall_free && p_.dispatch_cycles > 0) wait(period_ * double(p_.dispatch_cycles));
    }
    // The simulation ends when no core has anything left to do (no event pending): a core that
    // halts must not stop the others.
    finished_ = true;
    total_cycles_ = last_done_;
  } catch (...) {
    fail(std::current_exception());
  }
  end_thread();
}

uint64_t TpuCore::wait_for_deps(int u, const Dyn& d) {
  while (d.pending > 0) wait(units_[size_t(u)].resolved);
  return d.ready_at;
}

void TpuCore::unit_thread(int u) {
  UnitState& st = units_[u];
  try {
    for (;;) {
      while (st.queue.empty()) wait(st.pushed);
      const int slot = st.queue.front();
      Dyn& d = dyn_[size_t(slot)];
      const uint64_t ready = wait_for_deps(u, d);
      const uint64_t could = std::max(st.free_at, d.issued);
      const uint64_t start = std::max(ready, could);
      wait_until(start);
      *st.stall += start - could;
      st.queue.pop_front();
      st.popped.notify(sc_core::SC_ZERO_TIME);
      st.free_at = execute(u, slot);
      ++*st.instrs;
      if (d.read_done != kUnknown) read_known(d);
      if (d.done != kUnknown) done_known(slot);
    }
  } catch (...) {
    fail(std::current_exception());
  }
  end_thread();
}

uint64_t TpuCore::execute(int u, int slot) {
  Dyn& d = dyn_[size_t(slot)];
  const Instr& in = prog_[size_t(d.pc)];
  const uint64_t t = now();
  const std::string w = functional_ ? who(in) : std::string();
  const uint64_t e = uint64_t(isa::tpu::elem_bytes(in.dtype));
  uint64_t free_at = t, dram_bytes = 0, offchip = 0;  // bytes the DMA moved; of them, off chip
  UnitState& st = units_[u];
  uint64_t occupied = 0;  // the end of its busy cycles, where not free_at (a DMA's transfer)
  switch (in.op) {
    case Opcode::rdhost:
    case Opcode::rdconv:
    case Opcode::rdrows:
    case Opcode::wrhost:
    case Opcode::rdweight: {
      const bool write = in.op == Opcode::wrhost;
      const uint64_t row =
          in.op == Opcode::rdweight || in.op == Opcode::rdconv ? in.cols * e : in.cols;
      dram_bytes = uint64_t(in.rows) * row;
      if (functional_) {
        if (in.op == Opcode::rdhost)
          isa::tpu::exec_rdhost(in, *dram_, ub_->store(), w);
        else if (in.op == Opcode::rdrows)
          isa::tpu::exec_rdrows(in, *dram_, ub_->store(), w);
        else if (in.op == Opcode::rdconv)
          isa::tpu::exec_rdconv(in, *dram_, ub_->store(), w);
        else if (write)
          isa::tpu::exec_wrhost(in, ub_->store(), *dram_, w);
        else
          arrays_[in.mxu].fifo[size_t(d.fifo_slot)] = isa::tpu::exec_load_weights(in, *dram_, w);
      }
      if (in.op == Opcode::rdhost || in.op == Opcode::rdconv || in.op == Opcode::rdrows)
        ub_->note_write(dram_bytes);
      if (write) ub_->note_read(dram_bytes);
      // The DRAM rows it moves (the gathers, rdconv's windows and rdrows' rows, are not a
      // strided block).
      const bool transposed = in.op == Opcode::rdweight && (in.flags & 1);
      const bool gather = in.op == Opcode::rdconv || in.op == Opcode::rdrows;
      const DramBlock block{in.dram, transposed ? in.cols : in.rows, transposed ? in.rows * e : row,
                            in.stride};
      const Server::Grant g =
          dram_request(d.seq, dram_bytes, write, gather ? nullptr : &block, offchip);
      // Its requests complete in its order: a CMEM hit, whose latency is shorter, does not
      // complete before the unit's earlier miss.
      d.done = st.completed = std::max(g.done, st.completed);
      d.read_done = write ? g.service_end : d.done;
      // The unit issues its next request at once while fewer than dram.in_flight of its
      // transfers are unfinished, else when the first of them ends.
      occupied = g.service_end;
      std::vector<uint64_t>& f = st.transfers;
      f.erase(std::remove_if(f.begin(), f.end(), [t](uint64_t end) { return end <= t; }), f.end());
      f.push_back(g.service_end);
      free_at = t;
      if (f.size() >= size_t(p_.dram_in_flight)) {
        const auto first = std::min_element(f.begin(), f.end());
        free_at = *first;
        f.erase(first);
      }
      break;
    }
    case Opcode::ldweight: {
      // Through the unified buffer's port, at its bytes per cycle.
      const uint64_t bytes = uint64_t(in.rows) * in.cols * e;
      if (functional_)
        arrays_[in.mxu].fifo[size_t(d.fifo_slot)] =
            isa::tpu::exec_load_weights(in, ub_->store(), w);
      ub_->note_read(bytes);
      free_at = d.read_done = d.done = t + (p_.stall_free ? 0 : ub_->port_cycles(bytes));
      break;
    }
    case Opcode::im2col: {
      // Through the unified buffer's paths: the rows it writes, and, at once, what it reads of
      // the image, each element once (the window's shifts are made in the unit): at most the
      // gathered channels of the image rows it touches, and at most as many elements as it
      // writes.
      const isa::tpu::ConvGeom g = isa::tpu::conv_geom(in);
      const isa::tpu::ImageRows r = isa::tpu::conv_rows_read(in);
      const uint64_t wr = uint64_t(in.rows) * in.cols * e;
      const uint64_t rd = std::min(uint64_t(r.hi - r.lo) * g.w * g.cg * e, wr);
      if (functional_) isa::tpu::exec_im2col(in, ub_->store(), w);
      ub_->note_read(rd);
      ub_->note_write(wr);
      free_at = d.read_done = d.done = t + (p_.stall_free ? 0 : ub_->port_cycles(std::max(rd, wr)));
      break;
    }
    case Opcode::activate:
    case Opcode::vector: {
      if (functional_) {
        if (in.op == Opcode::activate)
          isa::tpu::exec_activate(in, acc_->store(), ub_->store(), w);
        else
          isa::tpu::exec_vector(in, ub_->store(), w);
      }
      // Compute time, or the unified buffer's paths when they move the bytes more slowly (a
      // read path and a write path, each ub.port_bytes a cycle).
      uint64_t busy, latency;
      if (in.op == Opcode::activate) {
        const uint64_t out = uint64_t(in.rows) * in.cols * e;
        const uint64_t tiles = isa::tpu::activate_tiles(in);
        const uint64_t bias = isa::tpu::activate_bias_bytes(in);
        acc_->note_read(uint64_t(in.rows) * in.cols * 4 * tiles);
        ub_->note_write(out);
        if (bias) ub_->note_read(bias);
        // Each tile of a sum passes through the pipeline; the bias row is read while the
        // results are written.
        busy = std::max(ceil_div(uint64_t(in.rows), uint64_t(p_.act_rows)) *
                            ceil_div(in.cols, uint64_t(p_.cols)) * tiles,
                        ub_->port_cycles(std::max(out, bias)));
        latency = uint64_t(p_.act_latency);
      } else {
        const uint64_t rd = isa::tpu::vector_src_bytes(in) + isa::tpu::vector_src2_bytes(in);
        const uint64_t wr = isa::tpu::vector_dst_bytes(in);
        ub_->note_read(rd);
        ub_->note_write(wr);
        vector_elements_[size_t(in.dtype)] += uint64_t(in.rows) * in.cols;
        busy = std::max(ceil_div(uint64_t(in.rows) * in.cols, uint64_t(p_.vpu_lanes)) *
                            uint64_t(isa::tpu::vector_passes(isa::tpu::VecFunc(in.func))),
                        ub_->port_cycles(std::max(rd, wr)));
        latency = uint64_t(p_.vpu_latency);
      }
      if (p_.stall_free) busy = latency = 0;
      free_at = d.read_done = t + busy;
      d.done = t + busy + latency;
      break;
    }
    default:
      break;
  }
  // Busy from t (or the end of its busy cycles before, where a DMA's transfers overlap) on.
  occupied = std::max(occupied, free_at);
  const uint64_t from = std::max(t, st.occupied_until);
  if (occupied > from) {
    *st.busy += occupied - from;
    trace_.slice(st.track, isa::tpu::opcode_name(in.op), from, occupied - from, in.layer);
  }
  st.occupied_until = std::max(st.occupied_until, occupied);
  last_done_ = std::max(last_done_, d.done);
  layers_.note(in.layer, t, d.done, offchip);
  return free_at;
}

Server::Grant TpuCore::dram_request(uint64_t seq, uint64_t bytes, bool write,
                                    const DramBlock* block, uint64_t& offchip) {
  const Arbiter::Key key{now(), index_, seq};
  if (chip_.cmem && block) {
    CmemRequest r(*chip_.cmem, *block);
    const Server::Grant g = chip_.arbiter.request(r, key, bytes, write);
    offchip = r.offchip_bytes();
    return g;
  }
  offchip = bytes;
  return chip_.arbiter.request(chip_.dram_channel, key, bytes, write);
}

void TpuCore::mxu_thread(int u) {
  UnitState& st = units_[u];
  Array& arr = arrays_[size_t(u - kMxu0)];
  try {
    for (;;) {
      while (st.queue.size() <= arr.offered - arr.popped) wait(st.pushed);
      const int slot = st.queue[arr.offered - arr.popped];
      Dyn& d = dyn_[size_t(slot)];
      const Instr& in = prog_[size_t(d.pc)];
      // Offered once its operands are ready, and not before the array takes it when the model
      // has said when (a formula model always has: it is offered at its start). A matmul that
      // loads weights into a double-buffered weight-stationary array is offered once they are
      // in its FIFO: the array shifts them in while the rows it streams, and its accumulators,
      // get ready (`ready`, which the model waits for before the stream); where the time of
      // those is not known yet (their DMA not yet timed), it is offered for later and released
      // once it is. One that streams against the weights the array holds (keep=1) loads nothing
      // and is offered once its operands' times are known: it waits for its rows in the array,
      // and the matmul after it may load the next weights into the shadow meanwhile.
      const bool keep = in.flags & isa::tpu::kMatmulKeep;
      const bool overlap = p_.dataflow == Dataflow::ws && p_.fold_overlap;
      const bool early = overlap && !keep;
      if (early) {
        // The weights' load into this matmul's FIFO slot is timed (loads into an array are
        // timed in order, on the weight DMA).
        const uint64_t fill = arr.fills_offered++;
        while (arr.fills_known <= fill) wait(st.resolved);
      } else {
        wait_for_deps(u, d);
      }
      const uint64_t from = !overlap ? std::max(d.ready_at, d.issued)
                            : keep   ? d.issued
                                     : std::max(arr.filled[size_t(d.fifo_slot)], d.issued);
      const size_t ahead = arr.offered - arr.popped;
      wait_until(ahead < arr.takes.size() ? std::max(from, arr.takes[ahead]) : from);
      const bool later = d.pending > 0;
      const uint64_t e = uint64_t(isa::tpu::elem_bytes(in.dtype));
      // The popped tile moves into the array (its FIFO slot is refilled only by a later
      // weight load, which waits for this matmul to read it).
      if (functional_ && !keep) arr.held = std::move(arr.fifo[size_t(d.fifo_slot)]);
      // The arrays multiply bf16: fp32 operands take array.fp32_passes passes, with 1, 2 or 3
      // parts of the weights.
      const int parts = in.dtype == DType::fp32 ? isa::tpu::fp32_weight_parts(p_.fp32_passes) : 1;
      const int passes = parts * (parts + 1) / 2;
      ArrayOp op{int(in.rows), int(in.k), int(in.cols), parts, {}, {}, keep};
      if (arr.values) {  // functional: checked when the core was built
        const isa::tpu::WeightTile& w = arr.held;
        if (w.k != in.k || w.n != in.cols || w.dtype != in.dtype)
          throw Error(
              fmt::format("{}: the weight FIFO head is a {}x{} tile, the matmul expects {}x{}",
                          who(in), w.k, w.n, in.k, in.cols));
        op.b.resize(w.data.size());
        std::memcpy(op.b.data(), w.data.data(), w.data.size());
      }
      ub_->note_read(uint64_t(in.rows) * in.k * e);
      acc_->note_write(uint64_t(in.rows) * in.cols * 4 * uint64_t(passes));
      // Its rows, once their writers have run: to the model that computes values, or multiplied
      // here into the accumulators.
      auto rows = [&] {
        std::vector<int8_t> a;
        if (arr.values) {
          a.resize(size_t(in.rows) * in.k);
          ub_->store().read(in.ub, a.data(), a.size(), who(in));
        } else if (functional_) {
          isa::tpu::exec_matmul(in, ub_->store(), arr.held, acc_->store(), p_.fp32_passes, who(in));
        }
        return a;
      };
      if (!later) op.a = rows();
      events_.clear();
      arr.model->offer(uint64_t(slot), std::move(op),
                       later ? ArrayModel::kLater : std::max(d.ready_at, d.issued), now(), events_);
      ++arr.offered;
      if (arr.model->busy()) chip_.arbiter.wake();
      if (later) {
        mxu_pop(u);
        array_events(u);
        const uint64_t ready = std::max(wait_for_deps(u, d), d.issued);
        events_.clear();
        arr.model->release(uint64_t(slot), rows(), ready, now(), events_);
        if (arr.model->busy()) chip_.arbiter.wake();
      }
      mxu_pop(u);
      array_events(u);
    }
  } catch (...) {
    fail(std::current_exception());
  }
  end_thread();
}

// Pops the mxu's queue front once the array has taken it: it was offered, and the model's
// `next` for the matmul before has come.
void TpuCore::mxu_pop(int u) {
  UnitState& st = units_[u];
  Array& arr = arrays_[size_t(u - kMxu0)];
  const uint64_t t = now();
  while (arr.offered > arr.popped && !arr.takes.empty() && arr.takes.front() <= t) {
    const Dyn& d = dyn_[size_t(st.queue.front())];
    const uint64_t could = std::max(arr.takes.front(), d.issued);
    *st.stall += std::max(d.ready_at, could) - could;
    arr.takes.pop_front();
    st.queue.pop_front();
    st.popped.notify(sc_core::SC_ZERO_TIME);
    ++arr.popped;
    ++*st.instrs;
    // sync and halt wait for empty queues as well as for every done to be known.
    if (st.queue.empty() && unresolved_ == 0) drained_.notify(sc_core::SC_ZERO_TIME);
  }
}

// What array u's model reported (events_): the times of its matmuls, the same for every model.
void TpuCore::array_events(int u) {
  Array& arr = arrays_[size_t(u - kMxu0)];
  for (ArrayModel::Event& e : events_) {
    if (e.kind == ArrayModel::Event::next) {
      arr.takes.push_back(e.cycle);
      continue;
    }
    const int slot = int(e.id);
    Dyn& d = dyn_[size_t(slot)];
    if (e.kind == ArrayModel::Event::read) {
      d.read_done = e.cycle;
      read_known(d);
      continue;
    }
    const Instr& in = prog_[size_t(d.pc)];
    const ArrayTiming::Times& t = e.result.times;
    d.done = e.cycle;
    if (arr.values) {  // the model's products, into the accumulators
      const uint64_t n = uint64_t(in.rows) * in.cols;
      std::vector<int32_t> c(n, 0);
      if (isa::tpu::AccMode(in.flags & 1) == isa::tpu::AccMode::acc)
        acc_->store().read(in.src, c.data(), n * 4, who(in));
      for (uint64_t j = 0; j < n; ++j) c[j] = int32_t(uint32_t(c[j]) + uint32_t(e.result.c[j]));
      acc_->store().write(in.src, c.data(), n * 4);
    }
    record_matmul(u, in, t);
    last_done_ = std::max(last_done_, d.done);
    layers_.note(in.layer, t.load_start, d.done, 0);
    done_known(slot);
  }
}

bool TpuCore::arrays_busy() const {
  for (const Array& a : arrays_)
    if (a.model->busy()) return true;
  return false;
}

// The arbiter's cycle hook: clocks cycle now() of every busy array.
void TpuCore::clock_arrays() {
  const uint64_t t = now();
  for (size_t i = 0; i < arrays_.size(); ++i) {
    if (!arrays_[i].model->busy()) continue;
    const int u = kMxu0 + int(i);
    events_.clear();
    arrays_[i].model->step(t, events_);
    array_events(u);
    mxu_pop(u);
  }
}

// What a matmul leaves in the statistics and the trace, whichever model timed it.
void TpuCore::record_matmul(int u, const Instr& in, const ArrayTiming::Times& t) {
  Array& arr = arrays_[size_t(u - kMxu0)];
  UnitState& st = units_[size_t(u)];
  const uint64_t macs = uint64_t(in.rows) * in.k * in.cols;
  macs_ += macs;
  macs_by_dtype_[size_t(in.dtype)] += macs;
  stream_cycles_ += t.stream_end - t.stream_start;
  weight_stall_cycles_ += t.stream_start - t.stream_ready;
  // Slices that do not overlap on a track: loads on their own track, the stream on the array's
  // (the skew of one tile overlaps the next tile's stream).
  if (load_cycles_ && !(in.flags & isa::tpu::kMatmulKeep))
    trace_.slice(arr.load_track, "load", t.load_start, load_cycles_, in.layer);
  trace_.slice(st.track, fmt::format("matmul {}x{}x{}", in.rows, in.k, in.cols), t.stream_start,
               t.stream_end - t.stream_start, in.layer);
  *st.busy += t.done - std::max(t.load_start, arr.busy_until);
  arr.busy_until = std::max(arr.busy_until, t.done);
}

std::vector<OpCount> TpuCore::ops() const {
  std::vector<OpCount> v;
  for (DType t : {DType::int8, DType::bf16, DType::fp32}) {
    const char* name = dtype_name(t);
    if (macs_by_dtype_[size_t(t)]) v.push_back({"mac", name, macs_by_dtype_[size_t(t)]});
    if (vector_elements_[size_t(t)]) v.push_back({"vector", name, vector_elements_[size_t(t)]});
  }
  return v;
}

void TpuCore::check_finished() const {
  if (error_) std::rethrow_exception(error_);
  if (!finished_) {
    std::string pending;
    for (size_t u = 0; u < units_.size(); ++u)
      if (!units_[u].queue.empty())
        pending += fmt::format("{}{} ({} queued)", pending.empty() ? "" : ", ", unit_name(int(u)),
                               units_[u].queue.size());
    const std::string where =
        at_barrier_ ? fmt::format(
                          "core {} waits at a barrier that {} of the {} cores reached (the "
                          "others halted or wait elsewhere: every core's program needs "
                          "the same barriers)",
                          index_, chip_.barrier.arrived(), chip_.barrier.cores())
                    : fmt::format("core {}: no unit can make progress", index_);
    throw Error(fmt::format("{}: deadlock at cycle {}: {}; units with queued instructions: {}",
                            file_, now(), where, pending.empty() ? "none" : pending));
  }
}

}  // namespace xpusim::tpu
