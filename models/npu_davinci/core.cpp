#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "models/npu_davinci/core.h"

#include <fmt/format.h>

#include <algorithm>
#include <bitset>
#include <cmath>

#include "models/core/dtype.h"
#include "models/core/error.h"
#include "models/core/range.h"
#include "models/core/simulation.h"
#include "models/npu_davinci/sampling.h"

namespace xpusim::davinci {

using isa::davinci::Buf;
using isa::davinci::Instr;
using isa::davinci::Op;
using isa::davinci::Pipe;
using isa::davinci::Range;
using isa::davinci::Ty;

namespace {

constexpr int kEvents = 8;

uint64_t ceil_div(double bytes, double per_cycle) {
  return uint64_t(std::ceil(bytes / per_cycle));
}

// Cycles the UB's banks need to feed iteration r of a vector op its sources: the most distinct
// 32-byte blocks any one bank serves (block b of the UB is in bank b mod banks), at least one.
// The destination is written later in the pipeline and is not counted.
uint64_t bank_cycles(const std::vector<isa::davinci::VectorOperand>& ops, uint64_t r, int banks,
                     std::vector<uint64_t>& blocks, std::vector<uint32_t>& count) {
  blocks.clear();
  for (const auto& o : ops)
    if (!o.write)
      for (uint32_t j = 0; j < o.blocks; ++j) blocks.push_back(o.addr / 32 + r * o.rep + j * o.blk);
  std::sort(blocks.begin(), blocks.end());
  blocks.erase(std::unique(blocks.begin(), blocks.end()), blocks.end());
  count.assign(size_t(banks), 0);
  uint32_t most = 1;
  for (const uint64_t b : blocks) most = std::max(most, ++count[size_t(b % uint64_t(banks))]);
  return most;
}

bool slow_vector_op(Op op) {
  return op == Op::vexp || op == Op::vln || op == Op::vrec || op == Op::vsqrt || op == Op::vrsqrt ||
         op == Op::vdiv;
}

// A DMA's global-memory request as the arbiter serves it: each 128-byte line its ranges touch,
// with the sectors they cover, to the memory side, at the request's cycle.
class GmRequest final : public Server {
 public:
  GmRequest(MemorySide& m, const std::vector<Range>& ranges) : m_(m), ranges_(ranges) {}
  Grant serve(uint64_t cycle, uint64_t, bool write) override {
    uint64_t done = cycle;
    // The lines in order, with the line kAhead places further on prefetched (a strided copy's
    // rows are lines in sets all over the L2).
    Cursor at{0, 0}, ahead{0, 0};
    next(at, write, true);
    next(ahead, write, true);
    for (int i = 0; i < kAhead && ahead.range < ranges_.size(); ++i) {
      m_.prefetch(ahead.line);
      next(ahead, write, false);
    }
    for (; at.range < ranges_.size(); next(at, write, false)) {
      if (ahead.range < ranges_.size()) {
        m_.prefetch(ahead.line);
        next(ahead, write, false);
      }
      const Range& r = ranges_[at.range];
      uint8_t mask = 0;
      for (uint32_t s = 0; s < kSectorsPerLine; ++s) {
        const uint64_t a = at.line + s * kSectorBytes;
        if (a < r.hi && a + kSectorBytes > r.lo) mask |= uint8_t(1u << s);
      }
      done = std::max(done, m_.serve(cycle, at.line, mask, write ? Access::write : Access::read));
    }
    return {cycle, done};
  }

 private:
  static constexpr int kAhead = 4;
  struct Cursor {
    size_t range;   // ranges_.size(): past the last line
    uint64_t line;  // its byte address
  };
  // Moves c to the next line of a global-memory range in the direction `write` (from c itself
  // when `here`: the first line of c's range, or of a later one).
  void next(Cursor& c, bool write, bool here) const {
    if (!here) {
      c.line += kLineBytes;
      if (c.line < ranges_[c.range].hi) return;
      ++c.range;
    }
    for (; c.range < ranges_.size(); ++c.range) {
      const Range& r = ranges_[c.range];
      if (r.buf == Buf::gm && r.write == write && r.lo < r.hi) {
        c.line = r.lo / kLineBytes * kLineBytes;
        return;
      }
    }
  }

  MemorySide& m_;
  const std::vector<Range>& ranges_;
};

}  // namespace

AiCore::AiCore(sc_core::sc_module_name name, const DavinciParams& p, const isa::davinci::Kernel& k,
               const std::string& file, const std::vector<int64_t>& args, std::vector<int> blocks,
               int index, const Chip& chip, StatGroup& stats, TraceRecorder& trace)
    : sc_module(name),
      p_(p),
      kernel_(k),
      file_(file),
      args_(args),
      blocks_(std::move(blocks)),
      index_(index),
      chip_(chip),
      trace_(trace),
      period_(double(p.clock().period_ps()), sc_core::SC_PS),
      gm_read_(stats.counter("gm_bytes_read", "bytes", "bytes MTE2 read from global memory")),
      gm_written_(stats.counter("gm_bytes_written", "bytes",
                                "bytes MTE3 and the FIX pipe wrote to global memory")),
      dispatched_(stats.counter("dispatched", "instructions",
                                "instructions the scalar unit dispatched to the pipes")),
      scalar_instrs_(stats.counter("scalar_instructions", "instructions",
                                   "scalar and branch instructions the scalar unit ran")),
      ub_conflicts_(stats.counter("ub_bank_conflict_cycles", "cycles",
                                  "cycles vector iterations waited for a UB bank serving "
                                  "several of their blocks")) {
  const bool functional = chip.gm != nullptr;
  const std::pair<Buf, int64_t> sizes[] = {{Buf::l1, p.l1_bytes},
                                           {Buf::l0a, p.l0a_bytes},
                                           {Buf::l0b, p.l0b_bytes},
                                           {Buf::l0c, p.l0c_bytes},
                                           {Buf::ub, p.ub_bytes}};
  for (const auto& [b, bytes] : sizes) {
    bufs_[size_t(b)] =
        std::make_unique<Scratchpad>(isa::davinci::buf_name(b), uint64_t(bytes), 1u, functional,
                                     stats.group(isa::davinci::buf_name(b), "on-chip buffer"));
    if (functional) mem_.buf[size_t(b)] = &bufs_[size_t(b)]->store();
  }
  mem_.buf[size_t(Buf::gm)] = chip.gm;
  // The cube's model: the formula, or the RTL registered as davinci.cube (core 0's writes the
  // waveforms), which the arbiter clocks.
  p.cube_model.need_values(functional, "cube");
  const CubeConfig cube{p.cube_latency};
  cube_ = p.cube_model.rtl
              ? p.cube_model.make_rtl<CubeModel, CubeConfig>(kCubeUnit, cube, index == 0)
              : std::make_unique<CubeFormula>(cube);
  if (cube_->clocked())
    chip.arbiter.add_cycle_hook([this] { return cube_->busy(); }, [this] { clock_cube(); });
  const std::string process = fmt::format("AI core {}", index);
  for (int pi = 1; pi < kPipes; ++pi) {
    if (Pipe(pi) == Pipe::fix && !p.fix) continue;
    PipeState& s = pipes_[size_t(pi)];
    const std::string pipe = isa::davinci::pipe_name(Pipe(pi));
    StatGroup& g = stats.group(pipe, "a pipe: its in-order queue and unit");
    s.instrs = &g.counter("instructions", "instructions", "instructions the pipe executed");
    s.busy_cycles = &g.counter("busy_cycles", "cycles", "cycles the pipe's unit was occupied");
    s.flag_wait = &g.counter("flag_wait_cycles", "cycles",
                             "cycles the pipe waited in wait_flag for a set_flag");
    g.formula("utilization", "fraction", "busy_cycles / cycles of the run",
              [&g, &c = chip.run_cycles] { return c ? g.value("busy_cycles") / double(c) : 0.0; });
    s.track = trace.track(pipe, process);
    sc_core::sc_spawn(sc_bind(&AiCore::pipe_thread, this, pi), (pipe + "_thread").c_str());
  }
  SC_THREAD(scalar_thread);
}

uint64_t AiCore::now() const {
  return sc_core::sc_time_stamp().value() / period_.value();
}

void AiCore::wait_until(uint64_t cycle) {
  const uint64_t t = now();
  if (cycle > t) wait(period_ * double(cycle - t));
}

void AiCore::fail(std::exception_ptr e) {
  if (chip_.error) return;  // an error stopped the run already: it is the one reported
  chip_.error = e;
  sc_core::sc_stop();
}

std::string AiCore::who(int pc) const {
  const Instr& in = kernel_.code[size_t(pc)];
  return fmt::format("{}: {} (core {})", instr_place(file_, in, chip_.layers),
                     isa::davinci::op_name(in.op), index_);
}

Scratchpad* AiCore::buffer(Buf b) const {
  return bufs_[size_t(b)].get();
}

AiCore::Flag& AiCore::flag(const Instr& in) {
  return flags_[(int(in.p1) * kPipes + int(in.p2)) * kEvents + in.event];
}

// --- the scalar unit ------------------------------------------------------------------------

void AiCore::drain() {
  for (;;) {
    bool pending = !mads_.empty();
    for (const PipeState& s : pipes_) pending |= s.busy || !s.queue.empty();
    if (!pending) break;
    wait(idle_);
  }
  uint64_t last = 0;
  for (int pi = 1; pi < kPipes; ++pi) {
    const PipeState& s = pipes_[size_t(pi)];
    last = std::max(last, s.last_done);
    scalar_clock_[size_t(pi)] = s.next_seq;  // everything dispatched so far is complete
  }
  wait_until(last);
}

void AiCore::dispatch(int pc, const Instr& in) {
  const int pi = int(isa::davinci::pipe_of(in));
  if (Pipe(pi) == Pipe::fix && !p_.fix)
    throw Error(who(pc) + ": this preset's AI core has no FIX pipe (core.fix is false)");
  PipeState& s = pipes_[size_t(pi)];
  scalar_wait_ = "a place in a full pipe queue";
  while (s.queue.size() >= size_t(p_.queue_depth)) wait(s.popped);
  scalar_wait_ = nullptr;
  s.queue.push_back({in, pc, s.next_seq++, scalar_clock_});
  s.pushed.notify(sc_core::SC_ZERO_TIME);
  ++dispatched_;
}

void AiCore::scalar_thread() {
  try {
    using isa::davinci::resolve;
    const auto& code = kernel_.code;
    for (const int block : blocks_) {
      x_.fill(0);
      int64_t* x = x_.data();
      for (size_t i = 0; i < kernel_.params.size(); ++i) x[kernel_.params[i].reg] = args_[i];
      uint64_t t = now();  // the scalar unit's own time, ahead of SystemC's between dispatches
      size_t pc = 0;
      for (;;) {
        if (pc >= code.size())
          throw Error(fmt::format("{}: block {} ran past the last instruction", file_, block));
        if (++chip_.executed > chip_.max_instructions)
          throw Error(fmt::format(
              "{}: more than {} instructions executed (limits.max_instructions; raise it with "
              "--max-instructions) at {}",
              file_, chip_.max_instructions, who(int(pc))));
        chip_.progress.tick(t, code[pc].layer);
        if (t > chip_.max_cycles)
          throw Error(
              fmt::format("{}: more than {} cycles simulated (limits.max_cycles; raise it with "
                          "--max-cycles) at {}",
                          file_, chip_.max_cycles, who(int(pc))));
        scalar_pc_ = int(pc);
        const Instr& in = code[pc];
        if (in.op <= Op::get_block_num) {  // run by the scalar unit itself
          const int64_t a = in.a.reg >= 0 ? x[in.a.reg] + in.a.imm : in.a.imm;
          const int64_t b = in.b.reg >= 0 ? x[in.b.reg] + in.b.imm : in.b.imm;
          const auto u = [](int64_t v) { return uint64_t(v); };
          int64_t* d = &x[in.rd];
          bool jump = false;
          switch (in.op) {
            case Op::mov:
              *d = a;
              break;
            case Op::add:
              *d = int64_t(u(a) + u(b));
              break;
            case Op::sub:
              *d = int64_t(u(a) - u(b));
              break;
            case Op::mul:
              *d = int64_t(u(a) * u(b));
              break;
            case Op::div:
            case Op::rem:
              if (b == 0) throw Error(who(int(pc)) + ": division by zero");
              if (a == INT64_MIN && b == -1)
                *d = in.op == Op::div ? a : 0;
              else
                *d = in.op == Op::div ? a / b : a % b;
              break;
            case Op::shl:
              *d = int64_t(u(a) << (u(b) & 63));
              break;
            case Op::shr:
              *d = a >> (u(b) & 63);
              break;
            case Op::and_:
              *d = a & b;
              break;
            case Op::or_:
              *d = a | b;
              break;
            case Op::xor_:
              *d = a ^ b;
              break;
            case Op::min:
              *d = std::min(a, b);
              break;
            case Op::max:
              *d = std::max(a, b);
              break;
            case Op::beq:
              jump = a == b;
              break;
            case Op::bne:
              jump = a != b;
              break;
            case Op::blt:
              jump = a < b;
              break;
            case Op::bge:
              jump = a >= b;
              break;
            case Op::ble:
              jump = a <= b;
              break;
            case Op::bgt:
              jump = a > b;
              break;
            case Op::jmp:
              jump = true;
              break;
            case Op::get_block_idx:
              *d = block;
              break;
            case Op::get_block_num:
              *d = chip_.block_num;
              break;
            default:
              break;
          }
          ++scalar_instrs_;
          t += uint64_t(p_.scalar_cycles);
          pc = jump ? in.target : pc + 1;
          continue;
        }
        wait_until(t);
        if (in.op == Op::ld_ub) {  // the scalar unit reads the UB itself
          const Instr r = resolve(in, x);
          isa::davinci::check(r, std::function<std::string()>([&] { return who(int(pc)); }));
          const uint64_t at = uint64_t(r.src0.at.imm);
          buffer(Buf::ub)->check_range(at, 4, who(int(pc)), "read");
          if (chip_.races) {
            const RaceChecker::Who me{index_, int(Pipe::s), int(pc), scalar_clock_[0], gen_};
            chip_.races->access(isa::davinci::Range{Buf::ub, at, at + 4, false}, me, scalar_clock_);
          }
          ++scalar_clock_[0];  // what it dispatches after the read comes after it
          int32_t v = 0;
          if (chip_.gm) mem_.buf[size_t(Buf::ub)]->read(at, &v, 4, who(int(pc)));
          x[in.rd] = v;
          ++scalar_instrs_;
          t = now() + uint64_t(p_.scalar_cycles);
          ++pc;
          continue;
        }
        switch (in.op) {
          case Op::end:
            scalar_wait_ = "the pipes to drain at end";
            drain();
            scalar_wait_ = nullptr;
            break;
          case Op::pipe_barrier:
            if (in.p1 == Pipe::all) {
              scalar_wait_ = "the pipes to drain at pipe_barrier PIPE_ALL";
              drain();
              scalar_wait_ = nullptr;
            } else {
              dispatch(int(pc), in);
            }
            break;
          case Op::sync_all:
            if (chip_.block_num > chip_.barrier.cores())
              throw Error(fmt::format(
                  "{}: sync_all in a launch of {} blocks on {} AI cores: blocks that wait in turn "
                  "for one core could never all meet (launch at most as many blocks as cores)",
                  who(int(pc)), chip_.block_num, chip_.barrier.cores()));
            scalar_wait_ = "the pipes to drain at sync_all";
            drain();
            scalar_wait_ = "the other cores at sync_all";
            ++gen_;
            chip_.barrier.arrive_and_wait();
            scalar_wait_ = nullptr;
            if (const OpSampler::Skip* skip = chip_.sampler ? chip_.sampler->skip() : nullptr) {
              // The code up to the next sync_all is not simulated (sampling.ops): meet the
              // other cores there when its last simulated instance ended.
              pc = size_t(skip->end);
              t = skip->until;
              continue;
            }
            break;
          case Op::set_flag:
            if (in.p1 == Pipe::s) {  // the scalar unit's earlier work is done: set at once
              Entry e{in, int(pc), 0, scalar_clock_};
              set_flag(int(Pipe::s), e, scalar_clock_);
            } else {
              dispatch(int(pc), resolve(in, x));
            }
            break;
          case Op::wait_flag:
            if (in.p2 == Pipe::s) {
              Flag& f = flag(in);
              scalar_wait_ = "a flag";
              while (f.sets.empty()) wait(flag_set_);
              scalar_wait_ = nullptr;
              join(scalar_clock_, f.sets.front());
              f.sets.pop_front();
            } else {
              dispatch(int(pc), in);
            }
            break;
          default: {
            const Instr r = resolve(in, x);
            isa::davinci::check(r, std::function<std::string()>([&] { return who(int(pc)); }));
            if (r.op == Op::mad && p_.cube_model.rtl && r.ty != Ty::s8)
              throw Error(fmt::format(
                  "{}: --rtl (davinci.cube.model rtl): the RTL cube multiplies s8, not {}",
                  who(int(pc)), isa::davinci::ty_name(r.ty)));
            dispatch(int(pc), r);
          }
        }
        t = now() + uint64_t(p_.scalar_cycles);
        if (in.op == Op::end) break;
        ++pc;
      }
    }
    finished_ = true;
    total_cycles_ = now();
  } catch (...) {
    fail(std::current_exception());
  }
  end_thread();
}

// --- the pipes ------------------------------------------------------------------------------

void AiCore::set_flag(int, const Entry& e, const Clock& clock) {
  Flag& f = flag(e.in);
  if (f.sets.size() >= size_t(p_.flag_depth))
    throw Error(
        fmt::format("{}: set_flag {}, {}, EVENT_ID{} is set {} times with no wait_flag taking them "
                    "(core.flag_depth {})",
                    who(e.pc), isa::davinci::pipe_name(e.in.p1), isa::davinci::pipe_name(e.in.p2),
                    e.in.event, f.sets.size() + 1, p_.flag_depth));
  f.sets.push_back(clock);
  flag_set_.notify(sc_core::SC_ZERO_TIME);
}

void AiCore::wait_flag(int p, const Entry& e) {
  PipeState& s = pipes_[size_t(p)];
  Flag& f = flag(e.in);
  const uint64_t t0 = now();
  s.waiting = &e;
  while (f.sets.empty()) wait(flag_set_);
  s.waiting = nullptr;
  join(s.clock, f.sets.front());
  f.sets.pop_front();
  *s.flag_wait += now() - t0;
}

void AiCore::flush_slice(PipeState& s, uint64_t cut) {
  if (s.slice_name.empty()) return;
  const uint64_t end = std::max(s.slice_start + 1, std::min(s.slice_end, cut));
  trace_.slice(s.track, s.slice_name, s.slice_start, end - s.slice_start, s.slice_layer);
  s.slice_name.clear();
}

void AiCore::finish_trace() {
  for (PipeState& s : pipes_) flush_slice(s, ~uint64_t(0));
}

uint64_t AiCore::gm_request(int p, const Entry& e, const std::vector<Range>& ranges, bool write,
                            uint64_t bytes, double path, uint64_t& done) {
  const uint64_t t = now();
  GmRequest req(chip_.memory, ranges);
  const Server::Grant g = chip_.arbiter.request(req, {t, index_ * kPipes + p, e.seq}, bytes, write);
  const uint64_t occupancy = std::max<uint64_t>(1, ceil_div(double(bytes), path));
  done = std::max(t + occupancy, g.done);
  (write ? gm_written_ : gm_read_) += bytes;
  return occupancy;
}

uint64_t AiCore::execute(int p, const Entry& e) {
  const Instr& in = e.in;
  PipeState& s = pipes_[size_t(p)];
  std::vector<Range>& ranges = s.ranges;
  ranges.clear();
  if (in.op == Op::img2col_cbuf_to_ca && fmatrix_.h == 0)
    throw Error(fmt::format(
        "{}: reads a feature map, and no set_fmatrix came before it in PIPE_MTE1", who(e.pc)));
  isa::davinci::accesses(in, ranges, in.op == Op::vbrcb ? isa::davinci::kFullMask : mask_,
                         fmatrix_);
  for (const Range& r : ranges) {
    if (r.buf == Buf::gm) {
      if (r.hi > chip_.gm_bytes)
        throw Error(fmt::format("{}: {} gm[{:#x}, {:#x}), outside the global memory of {} bytes",
                                who(e.pc), r.write ? "writes" : "reads", r.lo, r.hi,
                                chip_.gm_bytes));
    } else {
      Scratchpad& sp = *buffer(r.buf);
      if (!fits(range_end(r.lo, r.hi - r.lo), sp.capacity()))  // names the instruction
        sp.check_range(r.lo, r.hi - r.lo, who(e.pc), r.write ? "write" : "read");
      r.write ? sp.note_write(r.hi - r.lo) : sp.note_read(r.hi - r.lo);
    }
  }
  if (chip_.races) {
    const RaceChecker::Who me{index_, p, e.pc, e.seq, gen_};
    chip_.races->access(ranges, me, s.clock);
  }
  CubeOp op;  // a mad's, for the cube's model
  if (in.op == Op::mad) op = cube_op(in);
  if (chip_.gm) {
    const std::string w = who(e.pc);
    try {
      if (in.op == Op::mad && cube_->computes_values()) cube_operands(in, mem_, op, w);
      isa::davinci::execute(in, mask_, mem_, w, fmatrix_);
    } catch (const Error& err) {  // bytes read before anything wrote them
      throw Error(std::string(err.what()) +
                  " (if an instruction of another pipe writes them later, a set_flag/wait_flag "
                  "from that pipe is missing before this one)");
    }
  }

  const uint64_t t = now();
  const uint64_t work = isa::davinci::work(in);
  uint64_t occupancy = 1, done = 0;
  switch (in.op) {
    case Op::copy_gm_to_cbuf:
    case Op::copy_gm_to_ubuf:
      occupancy = gm_request(p, e, ranges, false, work, p_.gm_read, done);
      break;
    case Op::copy_ubuf_to_gm:
      occupancy = gm_request(p, e, ranges, true, work, p_.gm_write, done);
      break;
    case Op::fixpipe:
      occupancy = gm_request(p, e, ranges, true, work * 1024, p_.fix_to_gm, done);
      break;
    case Op::load_cbuf_to_ca:
    case Op::load_cbuf_to_cb:
    case Op::copy_cbuf_to_ubuf:
    case Op::img2col_cbuf_to_ca: {
      const double path = in.op == Op::load_cbuf_to_cb     ? p_.l1_to_l0b
                          : in.op == Op::copy_cbuf_to_ubuf ? p_.l1_to_ub
                                                           : p_.l1_to_l0a;
      occupancy = std::max<uint64_t>(1, ceil_div(double(work), path));
      done = t + occupancy + uint64_t(p_.mte1_latency);
      break;
    }
    case Op::mad:  // timed by the cube's model (offer_mad, below)
      macs_[dtype_name(isa::davinci::ty_dtype(in.ty))] +=
          work * kCubeRows * kCubeRows * uint64_t(cube_k0(in.ty));
      break;
    case Op::copy_matrix_cc_to_ubuf:
      occupancy = std::max<uint64_t>(1, ceil_div(double(work) * 1024, p_.l0c_to_ub));
      done = t + occupancy + uint64_t(p_.vector_latency);
      break;
    default: {  // vector ops: each iteration as long as the slower of the unit and the banks
      const auto geo = isa::davinci::vector_geometry(in);
      const uint64_t unit = uint64_t(slow_vector_op(in.op) ? p_.vector_slow_cycles : 1);
      // With one repeat stride, every iteration meets the banks alike: count the first only.
      const bool uniform = std::all_of(geo.begin(), geo.end(),
                                       [&](const auto& o) { return o.rep == geo.front().rep; });
      occupancy = 0;
      for (uint64_t r = 0; r < std::max<uint64_t>(1, work); ++r) {
        const uint64_t banks =
            bank_cycles(geo, uniform ? 0 : r, p_.ub_banks, bank_blocks_, bank_count_);
        occupancy += std::max(unit, banks);
        ub_conflicts_ += banks - 1;
        if (uniform) {
          occupancy *= std::max<uint64_t>(1, work);
          ub_conflicts_ += (banks - 1) * (std::max<uint64_t>(1, work) - 1);
          break;
        }
      }
      done = t + occupancy + uint64_t(p_.vector_latency);
      const Ty ty =
          in.op == Op::vconv && isa::davinci::ty_bytes(in.ty2) > isa::davinci::ty_bytes(in.ty)
              ? in.ty2
              : in.ty;
      const int per =
          in.op == Op::vconv
              ? (isa::davinci::ty_bytes(in.ty) == 4 || isa::davinci::ty_bytes(in.ty2) == 4 ? 64
                                                                                           : 128)
              : 256 / isa::davinci::ty_bytes(ty);
      const uint64_t selected =
          in.op == Op::vbrcb ? 64  // the mask does not apply
          : per == 128       ? std::bitset<64>(mask_[0]).count() + std::bitset<64>(mask_[1]).count()
                             : std::bitset<64>(mask_[0]).count();
      vector_elements_[dtype_name(isa::davinci::ty_dtype(in.ty))] += work * selected;
    }
  }
  flush_slice(s, t);
  s.slice_name = isa::davinci::op_name(in.op);
  s.slice_start = t;
  s.slice_layer = in.layer;
  if (in.op == Op::mad) return offer_mad(e, std::move(op), t);
  s.slice_end = done;
  uint64_t gm_bytes = 0;
  for (const Range& r : ranges)
    if (r.buf == Buf::gm) gm_bytes += r.hi - r.lo;
  note_layer(in.layer, t, done, gm_bytes);
  s.last_done = std::max(s.last_done, done);
  return t + occupancy;
}

uint64_t AiCore::offer_mad(const Entry& e, CubeOp op, uint64_t t) {
  pipes_[size_t(Pipe::m)].slice_end = kUnknown;  // the slice lasts until the mad's done
  Mad mad{e.pc, e.in.layer, size_t(e.in.n2.imm), t, {}};
  if (cube_->computes_values()) mad.c = cube_result(e.in, mem_, who(e.pc));
  mads_.push_back(std::move(mad));
  cube_next_ = kUnknown;
  cube_events_.clear();
  cube_->offer(e.seq, std::move(op), t, t, cube_events_);
  if (cube_->busy()) chip_.arbiter.wake();
  cube_events();
  while (cube_next_ == kUnknown) wait(cube_reported_);
  return cube_next_;
}

void AiCore::clock_cube() {
  cube_events_.clear();
  cube_->step(now(), cube_events_);
  cube_events();
}

void AiCore::cube_events() {
  PipeState& s = pipes_[size_t(Pipe::m)];
  for (const CubeModel::Event& ev : cube_events_) {
    switch (ev.kind) {
      case CubeModel::Event::next:
        cube_next_ = ev.cycle;
        break;
      case CubeModel::Event::read:
        // L0A and L0B may change from here, but nothing frees them earlier than the mad's done:
        // a set_flag of the M pipe (what lets MTE1 overwrite them) waits for every earlier mad
        // to complete, as the ISA says.
        break;
      case CubeModel::Event::done: {
        const Mad& mad = mads_.front();
        if (cube_->computes_values() && ev.result.c != mad.c) {
          const auto [got, want] =
              std::mismatch(ev.result.c.begin(), ev.result.c.end(), mad.c.begin(), mad.c.end());
          const size_t i = size_t(got - ev.result.c.begin());
          throw Error(fmt::format(
              "{}: the RTL cube's C differs from the ISA's at row {}, column {}: {} instead of {} "
              "(davinci.cube.model rtl)",
              who(mad.pc), i / mad.cols, i % mad.cols,
              got == ev.result.c.end() ? "nothing" : std::to_string(int32_t(*got)),
              want == mad.c.end() ? "nothing" : std::to_string(int32_t(*want))));
        }
        s.last_done = std::max(s.last_done, ev.cycle);
        note_layer(mad.layer, mad.start, ev.cycle, 0);
        if (mads_.size() == 1) s.slice_end = ev.cycle;  // no later mad has closed its slice
        mads_.pop_front();
        break;
      }
    }
  }
  if (cube_events_.empty()) return;
  cube_reported_.notify(sc_core::SC_ZERO_TIME);
  if (mads_.empty()) idle_.notify(sc_core::SC_ZERO_TIME);  // drain() waits for the last done
}

void AiCore::pipe_thread(int p) {
  PipeState& s = pipes_[size_t(p)];
  try {
    for (;;) {
      while (s.queue.empty()) {
        idle_.notify(sc_core::SC_ZERO_TIME);
        wait(s.pushed);
      }
      const Entry e = s.queue.front();
      s.queue.pop_front();
      s.popped.notify(sc_core::SC_ZERO_TIME);
      s.busy = true;
      join(s.clock, e.clock);
      ++*s.instrs;
      switch (e.in.op) {
        case Op::wait_flag:
          wait_flag(p, e);
          break;
        case Op::set_flag:
        case Op::pipe_barrier: {
          // Every earlier instruction of the pipe is complete (a mad: once its done is known).
          if (Pipe(p) == Pipe::m)
            while (!mads_.empty()) wait(cube_reported_);
          wait_until(s.last_done);
          s.clock[size_t(p)] = e.seq;
          if (e.in.op == Op::set_flag) set_flag(p, e, s.clock);
          break;
        }
        case Op::set_vector_mask:
        case Op::set_fmatrix:
          if (e.in.op == Op::set_vector_mask)
            mask_ = {uint64_t(e.in.b.imm), uint64_t(e.in.a.imm)};
          else
            fmatrix_ = {e.in.n0.imm, e.in.n1.imm, e.in.n2.imm, e.in.n3.imm};
          wait(period_);
          *s.busy_cycles += 1;
          break;
        default: {
          const uint64_t t = now(), free = execute(p, e);
          *s.busy_cycles += free - t;
          wait_until(free);
        }
      }
      s.busy = false;
    }
  } catch (...) {
    fail(std::current_exception());
  }
  end_thread();
}

// --- op sampling ----------------------------------------------------------------------------

AiCore::UnitState AiCore::unit_state() const {
  UnitState s{x_, mask_, fmatrix_, {}};
  for (const auto& [key, f] : flags_)
    if (!f.sets.empty()) s.flags.emplace_back(key, f.sets.size());
  return s;
}

void AiCore::restore(const UnitState& s) {
  x_ = s.x;
  mask_ = s.mask;
  fmatrix_ = s.fmatrix;
  for (auto& [key, f] : flags_) f.sets.clear();
  // Everything before the sync_all is complete: what waits for these sets is ordered after it.
  for (const auto& [key, sets] : s.flags) flags_[int(key)].sets.assign(sets, scalar_clock_);
}

AiCore::Work AiCore::Work::minus(const Work& earlier) const {
  Work d;
  const auto change = [](const auto& later, const auto& before, auto& out) {
    for (const auto& [ty, n] : later) {
      const auto b = before.find(ty);
      if (const uint64_t c = n - (b == before.end() ? 0 : b->second)) out[ty] = c;
    }
  };
  change(macs, earlier.macs, d.macs);
  change(vector_elements, earlier.vector_elements, d.vector_elements);
  return d;
}

void AiCore::add_work(const Work& w) {
  for (const auto& [ty, n] : w.macs) macs_[ty] += n;
  for (const auto& [ty, n] : w.vector_elements) vector_elements_[ty] += n;
}

void AiCore::note_layer(int layer, uint64_t start, uint64_t done, uint64_t dram_bytes) {
  layers_.note(layer, start, done, dram_bytes);
  if (also_note_) also_note_->note(layer, start, done, dram_bytes);
}

void AiCore::check_finished() const {
  if (chip_.error) std::rethrow_exception(chip_.error);
  if (finished_) return;
  std::string what;
  for (int pi = 1; pi < kPipes; ++pi) {
    const PipeState& s = pipes_[size_t(pi)];
    if (!s.waiting) continue;
    const Instr& in = s.waiting->in;
    what += fmt::format(
        "\n  {} waits at {}: wait_flag {}, {}, EVENT_ID{}, a flag no pipe will set "
        "({} instructions queued behind it)",
        isa::davinci::pipe_name(Pipe(pi)), who(s.waiting->pc), isa::davinci::pipe_name(in.p1),
        isa::davinci::pipe_name(in.p2), in.event, s.queue.size());
  }
  if (scalar_wait_)
    what += fmt::format("\n  the scalar unit waits for {} at {}", scalar_wait_,
                        scalar_pc_ >= 0 ? who(scalar_pc_) : file_);
  throw Error(fmt::format("{}: deadlock at cycle {} on AI core {}:{}", file_, now(), index_,
                          what.empty() ? " no pipe can make progress" : what));
}

}  // namespace xpusim::davinci
