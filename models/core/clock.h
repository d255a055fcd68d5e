// A clock domain: the conversions between cycles of one clock and time. Each component counts
// in cycles of its own domain; SystemC time is a whole number of picoseconds per cycle.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace xpusim {

class ClockDomain {
 public:
  explicit ClockDomain(double mhz) : mhz_(mhz) {}

  double mhz() const { return mhz_; }
  // The period in whole picoseconds (SystemC's time resolution): 1429 ps at 700 MHz. Cycle
  // counts stay exact because every wait is a whole number of periods.
  uint64_t period_ps() const { return uint64_t(std::max(1.0, std::round(1e6 / mhz_))); }
  // Cycles in `ns` nanoseconds, rounded to the nearest cycle.
  uint64_t cycles_in_ns(double ns) const { return uint64_t(std::llround(ns * mhz_ / 1e3)); }
  // Seconds that `cycles` cycles last at the nominal frequency.
  double seconds(uint64_t cycles) const { return double(cycles) / (mhz_ * 1e6); }
  // Bytes per cycle of a bandwidth given in GB/s.
  double bytes_per_cycle(double gbps) const { return gbps * 1e3 / mhz_; }

 private:
  double mhz_;
};

}  // namespace xpusim
