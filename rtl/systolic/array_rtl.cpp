// The verilated systolic array as the RTL model of the TPU's arrays (models/tpu/array_model.h),
// registered as tpu.array: with array.model rtl (--rtl) TpuCore runs every matmul on it.
#include <algorithm>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include "models/core/error.h"
#include "models/tpu/array_model.h"
#include "rtl/systolic/harness.h"

namespace xpusim::rtl {
namespace {

using tpu::ArrayConfig;
using tpu::ArrayModel;
using tpu::ArrayOp;
using tpu::ArrayResult;
using tpu::ArrayTiming;

static_assert(ArrayModel::kLater == MatmulTile::kLater, "one value for a time to come");

class RtlArray final : public ArrayModel {
 public:
  RtlArray(const ArrayConfig& c, const VcdWindow& vcd)
      : h_(SystolicHarness::create(c.rows, c.cols)), overlap_(c.fold_overlap) {
    RunOptions o;
    o.fold_overlap = c.fold_overlap;
    o.vcd_path = vcd.path;
    o.vcd_first = vcd.first;
    o.vcd_last = vcd.last;
    h_->start(c.dataflow, o);
  }

  bool computes_values() const override { return true; }

  // Offered as soon as its operands are (its weights, when it loads them: its rows stream from
  // `ready`, or from the cycle release() gives): the array's ready signals decide when it starts.
  void offer(uint64_t id, ArrayOp op, uint64_t ready, uint64_t now,
             std::vector<Event>& events) override {
    // A kept tile takes no shadow: the array could take the next matmul from when the last
    // tile that loaded weights started its stream (ArrayTiming's next_free()); reported once
    // that is known, in order.
    const bool sent = op.keep && overlap_ && (tiles_.empty() || tiles_.back().next_sent);
    if (sent) events.push_back({Event::next, id, last_take_, {}});
    MatmulTile t;
    t.ready = now;
    t.stream_ready = ready;
    t.m = op.m;
    t.k = op.k;
    t.n = op.n;
    t.a = std::move(op.a);
    t.b = std::move(op.b);
    t.keep = op.keep;
    if (!h_->busy()) h_->skip_to(now);
    h_->offer(std::move(t));
    tiles_.push_back({id, ready, op.keep, sent, {}});
  }

  void release(uint64_t id, std::vector<int8_t> a, uint64_t ready, uint64_t now,
               std::vector<Event>&) override {
    if (tiles_.empty() || tiles_.back().id != id || tiles_.back().ready != kLater)
      throw Error("internal: array model: release() of a matmul not offered for later");
    tiles_.back().ready = std::max(ready, now);
    h_->release(first_ + tiles_.size() - 1, std::move(a), tiles_.back().ready);
  }

  bool clocked() const override { return true; }
  // Not while it only waits for release(): the array holds its state until then.
  bool busy() const override { return h_->busy() && !h_->waiting(); }

  // Clocks `cycle` unless the array has clocked it already, and turns the harness's port events
  // into the model's.
  void step(uint64_t cycle, std::vector<Event>& events) override {
    if (!h_->busy() || h_->cycle() > cycle) return;
    for (TileEvent& e : h_->step()) {
      Tile& tile = tiles_[e.tile - first_];
      ArrayTiming::Times& t = tile.times;
      switch (e.kind) {
        case TileEvent::load_start:
          t.load_start = e.cycle;
          break;
        case TileEvent::stream_start:
          t.stream_start = e.cycle;
          // As ArrayTiming defines it: with fold overlap, the later of the operands being ready
          // and the end of the previous stream; without, the start of the load.
          t.stream_ready = overlap_ ? std::max(tile.ready, stream_end_) : t.load_start;
          // The shadow registers are free: the next tile may start loading.
          if (overlap_ && !tile.keep) {
            last_take_ = e.cycle;
            // This tile's next, then those of the kept tiles after it, offered already.
            for (size_t i = e.tile - first_; i < tiles_.size() && !tiles_[i].next_sent; ++i) {
              if (i > e.tile - first_ && !tiles_[i].keep) break;
              events.push_back({Event::next, tiles_[i].id, e.cycle, {}});
              tiles_[i].next_sent = true;
            }
          }
          break;
        case TileEvent::stream_end:
          t.stream_end = stream_end_ = e.cycle;
          events.push_back({Event::read, tile.id, e.cycle, {}});
          break;
        case TileEvent::done:
          t.done = e.cycle;
          events.push_back({Event::done, tile.id, e.cycle, {t, std::move(e.c)}});
          if (!overlap_) events.push_back({Event::next, tile.id, e.cycle, {}});
          tiles_.pop_front();
          ++first_;
          break;
      }
    }
  }

 private:
  struct Tile {
    uint64_t id;
    uint64_t ready;  // its operands were ready (kLater until released)
    bool keep;       // streams against the weights of the tile before
    bool next_sent;  // its next event was reported (with fold overlap)
    ArrayTiming::Times times;
  };
  std::unique_ptr<SystolicHarness> h_;
  bool overlap_;
  std::deque<Tile> tiles_;  // offered and not done; the front is tile first_
  size_t first_ = 0;
  uint64_t stream_end_ = 0;  // of the latest stream
  uint64_t last_take_ = 0;   // the latest tile that loaded weights started streaming
};

const bool registered = register_rtl_unit<ArrayModel, ArrayConfig>(
    tpu::kArrayUnit, [](const ArrayConfig& c, const VcdWindow& vcd) -> std::unique_ptr<ArrayModel> {
      return std::make_unique<RtlArray>(c, vcd);
    });

}  // namespace
}  // namespace xpusim::rtl
