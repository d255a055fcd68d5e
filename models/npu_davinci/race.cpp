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
      tables_(size_t(cores) * isa::davinci::kBufs + 1) {
  all_synced();
}

const RaceChecker::Table& RaceChecker::table(int core, Buf b) const {
  return b == Buf::gm ? tables_.back() : tables_[size_t(core) * isa::davinci::kBufs + size_t(b)];
}

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
  for (Table& t : tables_) {
    for (const size_t i : t.touched) {
      Page& pg = *t.pages[i];
      pg.uniform = ~uint32_t(0);
      std::fill(std::begin(pg.whole), std::end(pg.whole), Cell{});
      spare_.push_back(std::move(t.pages[i]));
    }
    t.touched.clear();
    t.bytes.clear();
  }
  whos_.assign(1, Who{});
  set_items_.clear();
  sets_.assign(1, {0, 0});
  steps_.fill(Step{});
}

RaceChecker::Page& RaceChecker::page(Table& t, uint64_t index) {
  if (index >= t.pages.size()) t.pages.resize(index + 1);
  std::unique_ptr<Page>& pg = t.pages[index];
  if (!pg) {
    if (spare_.empty()) {
      pg = std::make_unique<Page>();
    } else {
      pg = std::move(spare_.back());
      spare_.pop_back();
    }
    t.touched.push_back(index);
  }
  return *pg;
}

RaceChecker::Cell RaceChecker::history(const Table& t, uint64_t at) const {
  const uint64_t g = at / kGranule, index = g / kPage;
  if (index >= t.pages.size() || !t.pages[index]) return {};
  const Page& pg = *t.pages[index];
  const uint64_t b = g % kPage / kBlock;
  if (pg.uniform >> b & 1) return pg.whole[b];
  const Cell c = pg.cells[g % kPage];
  return c.writer == kSplit ? t.bytes.at(g)[at % kGranule] : c;
}

bool RaceChecker::split(const Table& t, uint64_t g) const {
  const uint64_t index = g / kPage;
  if (index >= t.pages.size() || !t.pages[index]) return false;
  const Page& pg = *t.pages[index];
  return !(pg.uniform >> (g % kPage / kBlock) & 1) && pg.cells[g % kPage].writer == kSplit;
}

bool RaceChecker::same_history(const Cell& a, const Cell& b) const {
  const auto [ab, ae] = sets_[a.readers];
  const auto [bb, be] = sets_[b.readers];
  return a.writer == b.writer && ae - ab == be - bb &&
         std::equal(set_items_.begin() + ab, set_items_.begin() + ae, set_items_.begin() + bb);
}

uint32_t RaceChecker::intern(const Who& who) {
  const Who& last = whos_.back();
  if (whos_.size() > 1 && last.core == who.core && last.pipe == who.pipe && last.pc == who.pc &&
      last.seq == who.seq && last.gen == who.gen)
    return uint32_t(whos_.size() - 1);
  if (whos_.size() == kSplit)
    throw Error(
        fmt::format("{}: more than {} instructions accessed memory between two sync_alls "
                    "of every core, more than the race checker can tell apart (turn it "
                    "off with --set core.race_check=false)",
                    file_, kSplit - 1));
  whos_.push_back(who);
  return uint32_t(whos_.size() - 1);
}

uint32_t RaceChecker::new_set(uint32_t set, uint32_t reader) {
  const Who& w = whos_[reader];
  const auto [b, e] = sets_[set];
  const auto start = uint32_t(set_items_.size());
  bool replaced = false;
  for (uint32_t i = b; i < e; ++i) {
    uint32_t m = set_items_[i];
    if (whos_[m].core == w.core && whos_[m].pipe == w.pipe) {
      m = reader;
      replaced = true;
    }
    set_items_.push_back(m);
  }
  if (!replaced) set_items_.push_back(reader);
  sets_.emplace_back(start, uint32_t(set_items_.size()));
  Step& step = steps_[set % steps_.size()];
  step = {reader, set, uint32_t(sets_.size() - 1)};
  return step.to;
}

void RaceChecker::report(const Table& t, const isa::davinci::Range& r, uint64_t at,
                         const Who& earlier, bool earlier_wrote, const Who& later) const {
  // The bytes from `at` on with the same history as `at`'s.
  const Cell first = history(t, at);
  uint64_t hi = at;
  while (hi < r.hi && same_history(history(t, hi), first)) {
    const uint64_t g = hi / kGranule;
    hi = split(t, g) ? hi + 1 : (g + 1) * kGranule;
  }
  hi = std::min(hi, r.hi);
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
      isa::davinci::buf_name(r.buf), at, hi, name(earlier), earlier_wrote ? "writes" : "reads",
      name(later), r.write ? "writes" : "reads", order));
}

void RaceChecker::access(const std::vector<isa::davinci::Range>& rs, const Who& who,
                         const Clock& clock) {
  // The first cell of the range a few places ahead is prefetched: a strided copy's rows are in
  // cells far apart.
  constexpr size_t kAhead = 4;
  for (size_t i = 0; i < rs.size(); ++i) {
    if (i + kAhead < rs.size()) {
      const isa::davinci::Range& r = rs[i + kAhead];
      const Table& t = table(who.core, r.buf);
      const uint64_t g = r.lo / kGranule, index = g / kPage;
      if (index < t.pages.size() && t.pages[index])
        __builtin_prefetch(&t.pages[index]->cells[g % kPage]);
    }
    if (rs[i].hi > rs[i].lo) record(table(who.core, rs[i].buf), rs[i], intern(who), who, clock);
  }
}

void RaceChecker::access(const isa::davinci::Range& r, const Who& who, const Clock& clock) {
  if (r.hi > r.lo) record(table(who.core, r.buf), r, intern(who), who, clock);
}

void RaceChecker::record(Table& t, const isa::davinci::Range& r, uint32_t me, const Who& who,
                         const Clock& clock) {
  // A cell found ordered before this access (the next cell with its history needs no check).
  Cell passed{kSplit, 0};
  const auto visit = [&](Cell& c, uint64_t at) {
    if (c != passed) {
      if (c.writer && !ordered(whos_[c.writer], who, clock))
        report(t, r, at, whos_[c.writer], true, who);
      if (r.write) {
        const auto [b, e] = sets_[c.readers];
        for (uint32_t i = b; i < e; ++i)
          if (!ordered(whos_[set_items_[i]], who, clock))
            report(t, r, at, whos_[set_items_[i]], false, who);
      }
      passed = c;
    }
    if (r.write)
      c = {me, 0};
    else
      c.readers = with_reader(c.readers, me);
  };
  const uint64_t end = (r.hi + kGranule - 1) / kGranule;
  for (uint64_t g = r.lo / kGranule; g < end;) {
    Page& pg = page(t, g / kPage);
    const uint64_t b = g % kPage / kBlock, first = g - g % kBlock, last = first + kBlock;
    const uint32_t bit = uint32_t(1) << b;
    // The access covers every byte of the block.
    const bool all = r.lo <= first * kGranule && last * kGranule <= r.hi;
    if (pg.uniform & bit) {
      if (all) {  // one history for the block, before and after
        visit(pg.whole[b], first * kGranule);
        g = last;
        continue;
      }
      std::fill_n(pg.cells + first % kPage, kBlock, pg.whole[b]);
      pg.uniform &= ~bit;
    }
    for (const uint64_t stop = std::min(end, last); g < stop; ++g) {
      Cell& c = pg.cells[g % kPage];
      const uint64_t lo = g * kGranule, hi = lo + kGranule;
      const bool whole = r.lo <= lo && hi <= r.hi;
      if (whole && c.writer != kSplit) {
        visit(c, lo);
        continue;
      }
      // Part of the granule, or a granule whose bytes differ: byte by byte.
      if (c.writer != kSplit) {
        t.bytes[g].fill(c);
        c.writer = kSplit;
      }
      auto& bytes = t.bytes[g];
      for (uint64_t a = std::max(r.lo, lo); a < std::min(r.hi, hi); ++a) visit(bytes[a - lo], a);
      if (whole && r.write) {  // every byte has this writer again
        c = {me, 0};
        t.bytes.erase(g);
      }
    }
    if (all) {  // the block is one history again when its granules all have the same
      const Cell* cs = pg.cells + first % kPage;
      if (cs[0].writer != kSplit &&
          std::all_of(cs + 1, cs + kBlock, [&](const Cell& c) { return c == cs[0]; })) {
        pg.whole[b] = cs[0];
        pg.uniform |= bit;
      }
    }
  }
}

}  // namespace xpusim::davinci
