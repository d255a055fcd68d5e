#include "models/tpu/array_model.h"

#include <algorithm>
#include <optional>

#include "models/core/error.h"

namespace xpusim::tpu {
namespace {

class FormulaArray final : public ArrayModel {
 public:
  explicit FormulaArray(const ArrayConfig& c)
      : timing_(c.rows, c.cols, c.dataflow, c.fold_overlap) {}

  bool computes_values() const override { return false; }
  // Offered when the array takes it (the owner waits for `next`): `now` is its start, and the
  // stream waits for `ready` when that is later (the weights shift in meanwhile). With `ready`
  // kLater the times wait for release(): the weights' load is timed from `now` all the same.
  void offer(uint64_t id, ArrayOp op, uint64_t ready, uint64_t now,
             std::vector<Event>& events) override {
    if (ready == kLater) {
      later_ = Later{id, std::move(op), now};
      return;
    }
    report(id, op, ready, now, events);
  }
  void release(uint64_t id, std::vector<int8_t>, uint64_t ready, uint64_t now,
               std::vector<Event>& events) override {
    if (!later_ || later_->id != id)
      throw Error("internal: array model: release() of a matmul not offered for later");
    const Later l = std::move(*later_);
    later_.reset();
    report(id, l.op, std::max(ready, now), l.offered, events);
  }
  bool clocked() const override { return false; }
  bool busy() const override { return false; }
  void step(uint64_t, std::vector<Event>&) override {}

 private:
  // The times of matmul `id`, its weights in the FIFO at `now` and its rows ready at `ready`.
  void report(uint64_t id, const ArrayOp& op, uint64_t ready, uint64_t now,
              std::vector<Event>& events) {
    const uint64_t m = uint64_t(op.m), k = uint64_t(op.k), n = uint64_t(op.n);
    ArrayTiming::Times t = op.keep ? timing_.stream_again(std::max(ready, now), m, k, n)
                                   : timing_.issue(now, m, k, n, ready);
    for (int part = 0; part < op.parts; ++part)
      for (int s = 0; s < part + 1; ++s) {
        if (part == 0 && s == 0) continue;  // the first pass, above
        const ArrayTiming::Times more = s == 0 && !op.keep
                                            ? timing_.issue(now, m, k, n, ready)
                                            : timing_.stream_again(std::max(ready, now), m, k, n);
        t.stream_end = more.stream_end;
        t.done = more.done;
      }
    events.push_back({Event::next, id, timing_.next_free(), {}});
    events.push_back({Event::read, id, t.stream_end, {}});
    events.push_back({Event::done, id, t.done, {t, {}}});
  }

  struct Later {  // the matmul offered with its rows' time to come
    uint64_t id;
    ArrayOp op;
    uint64_t offered;
  };
  ArrayTiming timing_;
  std::optional<Later> later_;
};

}  // namespace

std::unique_ptr<ArrayModel> make_formula_array(const ArrayConfig& config) {
  return std::make_unique<FormulaArray>(config);
}

}  // namespace xpusim::tpu
