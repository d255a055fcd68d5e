#include "models/core/limits.h"

#include <fmt/format.h>

#include <cstdio>

#include "models/core/error.h"

namespace xpusim {

std::vector<ParamSpec> limit_params() {
  return {
      int_param("limits.max_cycles", "cycles", int64_t(1) << 50,
                "a run that simulates more cycles stops with an error (--max-cycles)", 1),
      int_param("limits.max_instructions", "instructions", int64_t(1) << 30,
                "a run that executes more instructions (every core, loops unrolled) stops with an "
                "error (--max-instructions)",
                1),
  };
}

RunLimits::RunLimits(const ParamValues& v)
    : max_cycles(uint64_t(v.integer("limits.max_cycles"))),
      max_instructions(uint64_t(v.integer("limits.max_instructions"))) {}

void RunLimits::exceeded(bool cycles, const std::string& where) const {
  throw Error(fmt::format(
      "{}: the run reached its limit of {} {} (limits.{}); raise it with {} N if the program is "
      "meant to run that long",
      where, cycles ? max_cycles : max_instructions, cycles ? "simulated cycles" : "instructions",
      cycles ? "max_cycles" : "max_instructions", cycles ? "--max-cycles" : "--max-instructions"));
}

Progress::Progress(bool enabled, std::vector<std::string> layers, bool lines)
    : enabled_(enabled && !lines),
      lines_(lines),
      layers_(std::move(layers)),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

Progress::~Progress() {
  if (shown_) std::fputs("\r\x1b[K", stderr);
}

void Progress::tick(uint64_t cycle, int layer) {
  if (lines_ && layer > last_layer_ && size_t(layer) < layers_.size()) {
    last_layer_ = layer;
    std::fputs(fmt::format("{}{}/{} {}, cycle {}\n", kProgressLine, layer + 1, layers_.size(),
                           layers_[size_t(layer)], cycle)
                   .c_str(),
               stderr);
    std::fflush(stderr);
  }
  if (!enabled_ || ++calls_ % 1024 != 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(500)) return;
  last_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  std::string where;
  if (layer >= 0 && size_t(layer) < layers_.size())
    where = fmt::format("layer {}/{} {}, ", layer + 1, layers_.size(), layers_[size_t(layer)]);
  std::fputs(fmt::format("\r  {}cycle {} ({:.2f} M simulated cycles/s)\x1b[K", where, cycle,
                         secs > 0 ? double(cycle) / secs / 1e6 : 0.0)
                 .c_str(),
             stderr);
  std::fflush(stderr);
  shown_ = true;
}

}  // namespace xpusim
