#include "models/npu_davinci/sampling.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <iterator>
#include <set>

namespace xpusim::davinci {

using isa::davinci::Buf;
using isa::davinci::Instr;
using isa::davinci::Op;
using isa::davinci::Val;

namespace {

constexpr int kRegs = isa::davinci::kRegs;
constexpr int kVals = isa::davinci::kVals;

bool branch(Op op) {
  return op >= Op::beq && op <= Op::jmp;
}
bool writes_rd(Op op) {
  return (op >= Op::mov && op <= Op::max) || op == Op::get_block_idx || op == Op::get_block_num ||
         op == Op::ld_ub;
}
// Run by the scalar unit itself (the rest goes to a pipe, or synchronises).
bool scalar(Op op) {
  return op <= Op::get_block_num || op == Op::ld_ub;
}

uint32_t uses(const Instr& in) {
  uint32_t u = 0;
  isa::davinci::for_each_val(in, [&u](const Val& v) {
    if (v.reg >= 0) u |= 1u << v.reg;
  });
  return u;
}

// Per pc, the registers that may be read before written from there on (liveness over the whole
// kernel's control flow).
std::vector<uint32_t> live_registers(const std::vector<Instr>& code) {
  const size_t n = code.size();
  std::vector<uint32_t> live(n + 1, 0);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t pc = n; pc-- > 0;) {
      const Instr& in = code[pc];
      uint32_t out = 0;
      if (in.op == Op::jmp) {
        out = live[in.target];
      } else if (in.op != Op::end) {
        out = live[pc + 1];
        if (branch(in.op)) out |= live[in.target];
      }
      if (writes_rd(in.op)) out &= ~(1u << in.rd);
      const uint32_t l = out | uses(in);
      if (l != live[pc]) live[pc] = l, changed = true;
    }
  }
  return live;
}

// Which immediates of the unit [b, e] are global-memory base addresses. An immediate may be one
// where it enters a value (mov's source, add's operands, sub's first operand) or is a
// global-memory operand's offset; each such candidate is a *site*. Forward over the unit's
// control flow, each register holds the sites its value may carry; a site is kept when every
// value carrying it is only moved, offset (by an add or sub of values that carry none) and used
// as a global-memory address, and no value carries two: then changing it moves those addresses
// and nothing else. Every other use of a value (a branch, a multiply, an on-chip address, a count,
// the registers live after the unit) drops its sites, as does a site added to a value that
// carries one (an offset, such as a loop's stride); the analysis repeats until it drops none.
class BaseSites {
 public:
  BaseSites(const std::vector<Instr>& code, int b, int e, uint32_t live_out)
      : code_(code), b_(b), e_(e), live_out_(live_out) {
    while (solve()) {
    }
  }
  // The sites kept, as pc * kVals + the Val's index (for_each_val's order).
  std::set<int> kept() const {
    std::set<int> k;
    for (int pc = b_; pc <= e_; ++pc) {
      int f = 0;
      isa::davinci::for_each_val(code_[size_t(pc)], [&](const Val& v) {
        if (candidate(pc, f, v)) k.insert(site(pc, f));
        ++f;
      });
    }
    return k;
  }

 private:
  using Sites = std::vector<int>;  // sorted
  using State = std::array<Sites, kRegs>;

  static int site(int pc, int field) { return pc * kVals + field; }
  // The Val at `field` of in is a global-memory operand's address.
  static bool gm_address(const Instr& in, int field) {
    if (scalar(in.op)) return false;
    const isa::davinci::Addr* a = field == 2   ? &in.dst
                                  : field == 3 ? &in.src0
                                  : field == 4 ? &in.src1
                                               : nullptr;
    return a && a->buf == Buf::gm;
  }
  bool candidate(int pc, int field, const Val& v) const {
    if (v.imm == 0 || dropped_.count(site(pc, field))) return false;
    const Instr& in = code_[size_t(pc)];
    if (in.op == Op::mov || in.op == Op::sub) return field == 0;
    if (in.op == Op::add) return field <= 1;
    return gm_address(in, field);
  }
  static void merge(Sites& into, const Sites& s) {
    Sites m;
    std::set_union(into.begin(), into.end(), s.begin(), s.end(), std::back_inserter(m));
    into.swap(m);
  }
  void drop(const Sites& s) { dropped_.insert(s.begin(), s.end()); }

  // The state after pc, from the state before it; with `check`, drops the sites it misuses.
  void step(int pc, const State& in, State& out, bool check) {
    const Instr& ins = code_[size_t(pc)];
    out = in;
    const Sites none;
    const auto reg = [&](const Val& v) -> const Sites& { return v.reg >= 0 ? in[v.reg] : none; };
    // A sum of Vals (field, Val), which may carry a base: its registers' sites and its
    // candidates'. A candidate added to a value that carries a site is an offset, and two values
    // that carry sites do not add up to an address: with `check`, their sites are dropped.
    const auto sum = [&](std::initializer_list<std::pair<int, const Val*>> parts) {
      Sites regs, imms;
      int carrying = 0;
      for (const auto& [field, v] : parts) {
        const Sites& r = reg(*v);
        if (!r.empty()) ++carrying, merge(regs, r);
        if (candidate(pc, field, *v)) imms.push_back(site(pc, field));
      }
      if (check && carrying > 1) drop(regs);
      if (check && (carrying > 0 || imms.size() > 1)) drop(imms);
      merge(regs, imms);
      return regs;
    };
    const auto use = [&](const Val& v) {
      if (check) drop(reg(v));
    };
    switch (ins.op) {
      case Op::mov:
        out[ins.rd] = sum({{0, &ins.a}});
        break;
      case Op::add:
        out[ins.rd] = sum({{0, &ins.a}, {1, &ins.b}});
        break;
      case Op::sub:
        use(ins.b);
        out[ins.rd] = sum({{0, &ins.a}});
        break;
      default: {
        int f = 0;
        isa::davinci::for_each_val(ins, [&](const Val& v) {
          if (gm_address(ins, f))
            sum({{f, &v}});
          else
            use(v);
          ++f;
        });
        if (writes_rd(ins.op)) out[ins.rd].clear();
      }
    }
    if (check && pc == e_)
      for (int r = 0; r < kRegs; ++r)
        if (live_out_ & (1u << r)) drop(in[size_t(r)]);
  }

  // The fixpoint with the sites dropped so far, then a check of every instruction against it;
  // true when it dropped more.
  bool solve() {
    const size_t n = size_t(e_ - b_ + 1);
    std::vector<State> before(n);
    std::vector<bool> reached(n, false), queued(n, false);
    std::vector<int> work = {b_};
    reached[0] = queued[0] = true;
    State out;
    while (!work.empty()) {
      const int pc = work.back();
      work.pop_back();
      queued[size_t(pc - b_)] = false;
      step(pc, before[size_t(pc - b_)], out, false);
      const Instr& in = code_[size_t(pc)];
      int next[2] = {-1, -1};
      if (in.op == Op::jmp) {
        next[0] = int(in.target);
      } else if (pc < e_) {
        next[0] = pc + 1;
        if (branch(in.op)) next[1] = int(in.target);
      }
      for (const int t : next) {
        if (t < 0) continue;
        const size_t i = size_t(t - b_);
        bool changed = !reached[i];
        reached[i] = true;
        for (int r = 0; r < kRegs; ++r) {
          Sites& s = before[i][size_t(r)];
          const size_t was = s.size();
          merge(s, out[size_t(r)]);
          changed |= s.size() != was;
        }
        if (changed && !queued[i]) queued[i] = true, work.push_back(t);
      }
    }
    const size_t dropped = dropped_.size();
    for (int pc = b_; pc <= e_; ++pc)
      if (reached[size_t(pc - b_)]) step(pc, before[size_t(pc - b_)], out, true);
    return dropped_.size() != dropped;
  }

  const std::vector<Instr>& code_;
  int b_, e_;
  uint32_t live_out_;
  std::set<int> dropped_;
};

}  // namespace

UnitMap::UnitMap(const std::vector<Instr>& code) : begins_(code.size() + 1, -1) {
  const size_t n = code.size();
  // Region r: the code after the r-th sync_all up to the next one, inclusive.
  std::vector<int> region(n);
  std::vector<int> syncs;
  for (size_t pc = 0; pc < n; ++pc) {
    region[pc] = int(syncs.size());
    if (code[pc].op == Op::sync_all) syncs.push_back(int(pc));
  }
  std::vector<bool> bad(syncs.size() + 1, false);
  for (size_t pc = 0; pc < n; ++pc) {
    const Instr& in = code[pc];
    if (in.op == Op::end) bad[size_t(region[pc])] = true;
    if (branch(in.op) && (in.target >= n || region[in.target] != region[pc])) {
      bad[size_t(region[pc])] = true;  // the branch leaves its unit, or enters another
      if (in.target < n) bad[size_t(region[in.target])] = true;
    }
  }
  const std::vector<uint32_t> live = live_registers(code);
  std::map<std::vector<uint8_t>, int> kinds;
  for (size_t r = 1; r < syncs.size(); ++r) {
    if (bad[r]) continue;
    Unit u;
    u.begin = syncs[r - 1] + 1;
    u.end = syncs[r];
    u.live_in = live[size_t(u.begin)];
    // The kind: the instructions with branch targets from the unit's start, each base address
    // reduced to its offset in a block of kBaseAlign bytes; per instruction, which of its Vals
    // are bases and whether its layer is the previous instruction's; and which bases are equal
    // (per base, the first with its value: one tensor, or two).
    const std::set<int> bases = BaseSites(code, u.begin, u.end, live[size_t(u.end) + 1]).kept();
    isa::davinci::Kernel k;
    std::vector<uint8_t> key;
    std::vector<int64_t> values;  // of the bases, in order
    std::vector<uint32_t> same;   // per base: the index in values of the first equal one
    int layer = -2;
    for (int pc = u.begin; pc <= u.end; ++pc) {
      Instr in = code[size_t(pc)];
      if (branch(in.op)) in.target -= uint32_t(u.begin);
      int f = 0;
      uint16_t based = 0;
      isa::davinci::for_each_val(in, [&](Val& v) {
        if (bases.count(pc * kVals + f)) {
          same.push_back(uint32_t(std::find(values.begin(), values.end(), v.imm) - values.begin()));
          values.push_back(v.imm);
          v.imm = (v.imm % kBaseAlign + kBaseAlign) % kBaseAlign;
          based |= uint16_t(1u << f);
        }
        ++f;
      });
      key.insert(key.end(), {uint8_t(based), uint8_t(based >> 8),
                             uint8_t(in.layer == layer ? 0
                                     : in.layer < 0    ? 1
                                                       : 2)});
      if (in.layer != layer && in.layer >= 0 &&
          std::find(u.layers.begin(), u.layers.end(), in.layer) == u.layers.end())
        u.layers.push_back(in.layer);
      layer = in.layer;
      k.code.push_back(in);
    }
    for (const uint32_t i : same)
      key.insert(key.end(), {uint8_t(i), uint8_t(i >> 8), uint8_t(i >> 16), uint8_t(i >> 24)});
    const std::vector<uint8_t> bytes = isa::davinci::encode(k);
    key.insert(key.end(), bytes.begin(), bytes.end());
    u.kind = kinds.emplace(std::move(key), int(kinds.size())).first->second;
    begins_[size_t(u.begin)] = int(units_.size());
    units_.push_back(std::move(u));
  }
  kinds_ = kinds.size();
}

const UnitMap::Unit* UnitMap::at(size_t pc) const {
  return pc < begins_.size() && begins_[pc] >= 0 ? &units_[size_t(begins_[pc])] : nullptr;
}

OpSampler::OpSampler(const std::vector<Instr>& code, uint64_t n, StatGroup& stats)
    : units_map_(code), n_(n), stats_(stats) {}

std::unique_ptr<StatGroup> OpSampler::snapshot() const {
  auto s = std::make_unique<StatGroup>(stats_.name());
  s->accumulate(stats_);
  return s;
}

void OpSampler::synced(uint64_t cycle) {
  skip_.reset();
  if (recording_) finish(cycle);
  const int pc = cores_.front()->pc();
  for (const AiCore* c : cores_)
    if (c->pc() != pc) return;  // not one sync_all: nothing to sample
  const UnitMap::Unit* u = units_map_.at(size_t(pc) + 1);
  if (!u) return;
  ++units_seen_;
  // The key: the kind, and what the unit's code reads of each core's state.
  std::vector<int64_t> key = {u->kind};
  for (const AiCore* c : cores_) {
    const AiCore::UnitState s = c->unit_state();
    for (int r = 0; r < kRegs; ++r)
      if (u->live_in & (1u << r)) key.push_back(s.x[size_t(r)]);
    key.insert(key.end(), {int64_t(s.mask[0]), int64_t(s.mask[1]), s.fmatrix.h, s.fmatrix.w,
                           s.fmatrix.pad_t, s.fmatrix.pad_l, int64_t(s.flags.size())});
    for (const auto& [flag, sets] : s.flags) key.insert(key.end(), {flag, int64_t(sets)});
  }
  Record& r = records_[key];
  if (r.simulated >= n_) {
    apply(r, *u, cycle);
    return;
  }
  Recording rec{&r, u, cycle, snapshot(), {}, std::vector<LayerTracker>(cores_.size())};
  recording_ = std::move(rec);
  for (size_t c = 0; c < cores_.size(); ++c) {
    recording_->work.push_back(cores_[c]->work());
    cores_[c]->also_note_layers(&recording_->layers[c]);
  }
}

void OpSampler::finish(uint64_t cycle) {
  Recording& rec = *recording_;
  Record& r = *rec.record;
  ++r.simulated;
  r.cycles = cycle - rec.start;
  r.before = std::move(rec.before);
  r.after = snapshot();
  r.cores.assign(cores_.size(), {});
  for (size_t c = 0; c < cores_.size(); ++c) {
    AiCore& core = *cores_[c];
    core.also_note_layers(nullptr);
    Record::Core& rc = r.cores[c];
    rc.exit = core.unit_state();
    rc.work = core.work().minus(rec.work[c]);
    const auto& spans = rec.layers[c].spans();
    for (size_t i = 0; i < rec.unit->layers.size(); ++i) {
      const size_t l = size_t(rec.unit->layers[i]);
      if (l >= spans.size() || spans[l].start == ~uint64_t(0)) continue;
      LayerSpan s = spans[l];
      s.start -= rec.start;
      s.done -= rec.start;
      rc.layers.emplace_back(i, s);
    }
  }
  recording_.reset();
}

void OpSampler::apply(const Record& r, const UnitMap::Unit& u, uint64_t cycle) {
  stats_.accumulate_change(*r.after, *r.before, 1.0);
  for (size_t c = 0; c < cores_.size(); ++c) {
    AiCore& core = *cores_[c];
    const Record::Core& rc = r.cores[c];
    core.restore(rc.exit);
    core.add_work(rc.work);
    for (const auto& [i, s] : rc.layers)
      core.note_layer(u.layers[i], cycle + s.start, cycle + s.done, s.dram_bytes);
  }
  ++skipped_;
  cycles_reused_ += r.cycles;
  skip_ = Skip{u.end, cycle + r.cycles};
}

}  // namespace xpusim::davinci
