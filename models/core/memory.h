// Memory primitives shared by every family: byte storage that knows which bytes were ever
// written, scratchpads with capacity and a port, and DRAM channels modelled as
// bandwidth/latency servers. Times are in cycles of the clock of the component that owns
// them; none of these classes depends on SystemC, so they are unit-testable alone.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/core/error.h"
#include "models/core/range.h"
#include "models/core/server.h"
#include "models/core/stats.h"

namespace xpusim {

// Sparse byte storage in 64 KiB pages with a written-flag per byte. Reading a byte never
// written is an error: it would silently compute on garbage.
class ByteStore {
 public:
  ByteStore(std::string name, uint64_t capacity, bool all_written = false);

  const std::string& name() const { return name_; }
  uint64_t capacity() const { return capacity_; }

  // Bounds check: throws Error "<who>: <what> [addr, addr+n) is outside <name> (capacity ...)".
  void check_range(uint64_t addr, uint64_t n, const std::string& who, const char* what) const;
  // The same for `rows` rows of `row_bytes` bytes, row i at base + i * stride
  // (models/core/range.h).
  void check_rows(uint64_t base, uint64_t rows, uint64_t stride, uint64_t row_bytes,
                  const std::string& who, const char* what) const;
  // Both throw Error when the range is outside the capacity; read also when any byte of the
  // range was never written (naming `who`).
  void write(uint64_t addr, const void* src, uint64_t n);
  void read(uint64_t addr, void* dst, uint64_t n, const std::string& who) const;

 private:
  static constexpr uint64_t kPage = 1 << 16;
  struct Page {
    std::vector<uint8_t> data, valid;
  };
  Page& page(uint64_t index);

  std::string name_;
  uint64_t capacity_;
  bool all_written_;  // host memory in program mode: every byte counts as initialised
  std::unordered_map<uint64_t, std::unique_ptr<Page>> pages_;
};

// The data movement of a DMA engine: `rows` rows of `bytes` bytes from src (row i at
// src_addr + i * src_stride) to dst (row i at dst_addr + i * dst_stride). A DMA engine is
// this copy plus a DramChannel request for its time. Both ranges are checked before any byte
// moves.
void copy2d(const ByteStore& src, uint64_t src_addr, uint64_t src_stride, ByteStore& dst,
            uint64_t dst_addr, uint64_t dst_stride, uint32_t rows, uint32_t bytes,
            const std::string& who);

// On-chip scratchpad: capacity and a port of `port_bytes` bytes per cycle (contiguous rows
// spread over all banks, so no bank conflicts; conflict replays come with the GPU's shared
// memory). Functional storage exists only when the run is functional; bounds are always
// checked.
class Scratchpad {
 public:
  Scratchpad(const std::string& name, uint64_t capacity, uint32_t port_bytes, bool functional,
             StatGroup& stats);

  const std::string& name() const { return name_; }
  uint64_t capacity() const { return capacity_; }
  bool functional() const { return store_ != nullptr; }
  ByteStore& store() { return *store_; }
  // Cycles to move n bytes through one port.
  uint64_t port_cycles(uint64_t n) const { return (n + port_bytes_ - 1) / port_bytes_; }

  void check_range(uint64_t addr, uint64_t n, const std::string& who, const char* what) const;
  void note_read(uint64_t n) { bytes_read_ += n; }
  void note_write(uint64_t n) { bytes_written_ += n; }

 private:
  std::string name_;
  uint64_t capacity_;
  uint32_t port_bytes_;
  std::unique_ptr<ByteStore> store_;
  uint64_t& bytes_read_;
  uint64_t& bytes_written_;
};

// A DRAM channel as a bandwidth/latency server: requests are served one after another in
// arrival order, or, with `writes_yield`, reads in arrival order and each write once the
// channel is idle of reads (Server::yields; the Arbiter decides when); a request of B bytes
// occupies the channel ceil(B / bytes_per_cycle) cycles and its data arrives `latency` cycles after
// its service ends. Contention shows up as queue wait. With `ideal`, every request completes at
// once (stall-free studies). `memory` names what it serves in the statistics' descriptions (a TPU
// v4's CMEM port is such a server too).
class DramChannel final : public Server {
 public:
  // `writes_yield`: writes yield to reads (Server::yields); never for an ideal channel.
  DramChannel(double bytes_per_cycle, uint64_t latency, bool ideal, bool writes_yield,
              StatGroup& stats, const std::string& memory = "DRAM");

  Grant serve(uint64_t now, uint64_t bytes, bool write) override;
  bool ideal() const override { return ideal_; }
  bool yields(bool write) const override { return write && writes_yield_; }
  uint64_t idle_at() const override { return free_at_; }
  void yielded(uint64_t cycles) override { queue_cycles_ += cycles; }

 private:
  double bytes_per_cycle_;
  uint64_t latency_;
  bool ideal_;
  bool writes_yield_;
  uint64_t free_at_ = 0;
  uint64_t& bytes_read_;
  uint64_t& bytes_written_;
  uint64_t& busy_cycles_;
  uint64_t& queue_cycles_;
  uint64_t& requests_;
};

}  // namespace xpusim
