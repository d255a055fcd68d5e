#include "models/npu_davinci/race.h"

#include <fmt/format.h>

#include <algorithm>

#include "models/core/error.h"

namespace xpusim::davinci {

using isa::davinci::Buf;
using isa::davinci::Pipe;

std::string instr_place(const std::string& file, const isa::davinci::Instr& in,
                        const std::vector<std::string>& layers) {
  if (in.layer >= 0 && size_t(in.layer) < layers.size())
    return fmt::format("{} (layer '{}', lowered line {})", file, layers[size_t(in.layer)], in.line);
  return fmt::format("{}:{}", file, in.line);
}

RaceChecker::RaceChecker(int cores, const std::vector<isa::davinci::Instr>& code, std::string file,
                         const std::vector<std::string>& layers)
    : code_(code),
      file_(std::move(file)),
      layers_(layers),
      tables_(size_t(cores) * isa::davinci::kBufs + 1) {}

RaceChecker::Table& RaceChecker::table(int core, Buf b) {
  return b == Buf::gm ? tables_.back() : tables_[size_t(core) * isa::davinci::kBufs + size_t(b)];
}

bool RaceChecker::ordered(const Who& earlier, const Who& later, const Clock& clock) {
  if (earlier.core != later.core) return earlier.gen < later.gen;
  if (earlier.pipe == later.pipe && (earlier.seq == later.seq || earlier.pipe == int(Pipe::m)))
    return true;  // one instruction (reading, then writing), or two mads
  return earlier.seq < clock[size_t(earlier.pipe)];
}

void RaceChecker::all_synced() {
  for (Table& t : tables_) t.clear();
}

void RaceChecker::split(Table& t, uint64_t at) {
  auto it = t.upper_bound(at);
  if (it == t.begin()) return;
  --it;
  if (it->first == at || it->second.hi <= at) return;
  Segment right = it->second;
  it->second.hi = at;
  t.emplace_hint(std::next(it), at, std::move(right));
}

void RaceChecker::report(const isa::davinci::Range& r, uint64_t lo, uint64_t hi, const Who& earlier,
                         bool earlier_wrote, const Who& later) const {
  auto name = [&](const Who& w) {
    const auto& in = code_[size_t(w.pc)];
    return fmt::format("{} at {} (core {}, {})", isa::davinci::op_name(in.op),
                       instr_place(file_, in, layers_), w.core,
                       isa::davinci::pipe_name(Pipe(w.pipe)));
  };
  const std::string order =
      earlier.core == later.core
          ? (earlier.pipe == later.pipe
                 ? fmt::format("no pipe_barrier {} between them",
                               isa::davinci::pipe_name(Pipe(later.pipe)))
                 : fmt::format("no set_flag/wait_flag between {} and {} (nor a barrier) ordering "
                               "them",
                               isa::davinci::pipe_name(Pipe(earlier.pipe)),
                               isa::davinci::pipe_name(Pipe(later.pipe))))
          : "no sync_all between them";
  throw Error(fmt::format(
      "race on {}[{:#x}, {:#x}): {} {} these bytes and {} {} them (in this "
      "run's timing, in that order), with {}",
      isa::davinci::buf_name(r.buf), lo, hi, name(earlier), earlier_wrote ? "writes" : "reads",
      name(later), r.write ? "writes" : "reads", order));
}

void RaceChecker::access(const isa::davinci::Range& r, const Who& who, const Clock& clock) {
  if (r.hi <= r.lo) return;
  Table& t = table(who.core, r.buf);
  const auto note_reader = [&who](auto& rs) {
    const auto same = std::find_if(rs.begin(), rs.end(), [&](const Who& w) {
      return w.core == who.core && w.pipe == who.pipe;
    });
    if (same == rs.end())
      rs.push_back(who);
    else
      *same = who;
  };
  // The common case first: the range is exactly one segment (the same buffer accessed again).
  const auto exact = t.find(r.lo);
  if (exact != t.end() && exact->second.hi == r.hi) {
    Segment& s = exact->second;
    if (s.writer.valid && !ordered(s.writer.who, who, clock))
      report(r, r.lo, r.hi, s.writer.who, true, who);
    if (!r.write) {
      note_reader(s.readers);
      return;
    }
    for (const Who& rd : s.readers)
      if (!ordered(rd, who, clock)) report(r, r.lo, r.hi, rd, false, who);
    s.writer = {who, true};
    s.readers.clear();
    return;
  }
  split(t, r.lo);
  split(t, r.hi);
  // Check every segment in [lo, hi), and fill the gaps (bytes never accessed) as we go.
  uint64_t at = r.lo;
  auto it = t.lower_bound(r.lo);
  std::vector<std::pair<uint64_t, uint64_t>> gaps;
  for (; it != t.end() && it->first < r.hi; ++it) {
    if (it->first > at) gaps.emplace_back(at, it->first);
    Segment& s = it->second;
    if (s.writer.valid && !ordered(s.writer.who, who, clock))
      report(r, it->first, s.hi, s.writer.who, true, who);
    if (r.write)
      for (const Who& rd : s.readers)
        if (!ordered(rd, who, clock)) report(r, it->first, s.hi, rd, false, who);
    at = s.hi;
  }
  if (at < r.hi) gaps.emplace_back(at, r.hi);
  if (r.write) {  // every byte of the range now has this writer and no reader
    t.erase(t.lower_bound(r.lo), t.lower_bound(r.hi));
    t.emplace(r.lo, Segment{r.hi, {who, true}, {}});
    return;
  }
  for (auto& [lo, hi] : gaps) t.emplace(lo, Segment{hi, {}, {}});
  for (it = t.lower_bound(r.lo); it != t.end() && it->first < r.hi; ++it)
    note_reader(it->second.readers);
}

}  // namespace xpusim::davinci
