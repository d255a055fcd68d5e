#include "models/core/memory.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "models/core/range.h"

namespace xpusim {
namespace {

// The one bound check of every memory: the range ending at `end` (nothing: past 2^64) must lie
// in [0, capacity).
void check_end(const std::string& name, uint64_t capacity, uint64_t addr,
               std::optional<uint64_t> end, const std::string& who, const char* what) {
  if (!fits(end, capacity))
    throw Error(fmt::format("{}: {} {} is outside {} (capacity {} bytes)", who, what,
                            range_str(addr, end), name, capacity));
}

}  // namespace

ByteStore::ByteStore(std::string name, uint64_t capacity, bool all_written)
    : name_(std::move(name)), capacity_(capacity), all_written_(all_written) {}

void ByteStore::check_range(uint64_t addr, uint64_t n, const std::string& who,
                            const char* what) const {
  check_end(name_, capacity_, addr, range_end(addr, n), who, what);
}

void ByteStore::check_rows(uint64_t base, uint64_t rows, uint64_t stride, uint64_t row_bytes,
                           const std::string& who, const char* what) const {
  check_end(name_, capacity_, base, rows_end(base, rows, stride, row_bytes), who, what);
}

ByteStore::Page& ByteStore::page(uint64_t index) {
  auto& p = pages_[index];
  if (!p) {
    p = std::make_unique<Page>();
    p->data.assign(kPage, 0);
    p->valid.assign(kPage, all_written_ ? 1 : 0);
  }
  return *p;
}

void ByteStore::write(uint64_t addr, const void* src, uint64_t n) {
  check_range(addr, n, name_, "write");
  const uint8_t* s = static_cast<const uint8_t*>(src);
  while (n) {
    Page& p = page(addr / kPage);
    uint64_t off = addr % kPage, len = std::min(n, kPage - off);
    std::memcpy(&p.data[off], s, len);
    std::memset(&p.valid[off], 1, len);
    addr += len, s += len, n -= len;
  }
}

void ByteStore::read(uint64_t addr, void* dst, uint64_t n, const std::string& who) const {
  check_range(addr, n, who, "read");
  uint8_t* d = static_cast<uint8_t*>(dst);
  const uint64_t start = addr, end = addr + n;
  while (n) {
    uint64_t off = addr % kPage, len = std::min(n, kPage - off);
    auto it = pages_.find(addr / kPage);
    const Page* p = it == pages_.end() ? nullptr : it->second.get();
    if (!p && all_written_) {
      std::memset(d, 0, len);
    } else {
      const uint8_t* v = p ? &p->valid[off] : nullptr;
      if (!p || std::memchr(v, 0, len)) {
        uint64_t bad =
            addr + (p ? uint64_t(static_cast<const uint8_t*>(std::memchr(v, 0, len)) - v) : 0);
        throw Error(
            fmt::format("{}: reads {} at {:#x} (in [{:#x}, {:#x})), which was never written", who,
                        name_, bad, start, end));
      }
      std::memcpy(d, &p->data[off], len);
    }
    addr += len, d += len, n -= len;
  }
}

void copy2d(const ByteStore& src, uint64_t src_addr, uint64_t src_stride, ByteStore& dst,
            uint64_t dst_addr, uint64_t dst_stride, uint32_t rows, uint32_t bytes,
            const std::string& who) {
  src.check_rows(src_addr, rows, src_stride, bytes, who, "source");
  dst.check_rows(dst_addr, rows, dst_stride, bytes, who, "destination");
  std::vector<uint8_t> buf(bytes);
  for (uint32_t r = 0; r < rows; ++r) {
    src.read(src_addr + r * src_stride, buf.data(), bytes, who);
    dst.write(dst_addr + r * dst_stride, buf.data(), bytes);
  }
}

Scratchpad::Scratchpad(const std::string& name, uint64_t capacity, uint32_t port_bytes,
                       bool functional, StatGroup& stats)
    : name_(name),
      capacity_(capacity),
      port_bytes_(std::max<uint32_t>(1, port_bytes)),
      store_(functional ? std::make_unique<ByteStore>(name, capacity) : nullptr),
      bytes_read_(stats.counter("bytes_read", "bytes", "bytes read from " + name)),
      bytes_written_(stats.counter("bytes_written", "bytes", "bytes written to " + name)) {
  stats.scalar("capacity", "bytes", "capacity of " + name) = double(capacity);
  stats.scalar("port_bytes", "bytes/cycle", "bytes per cycle through the port of " + name) =
      double(port_bytes_);
}

void Scratchpad::check_range(uint64_t addr, uint64_t n, const std::string& who,
                             const char* what) const {
  check_end(name_, capacity_, addr, range_end(addr, n), who, what);
}

DramChannel::DramChannel(double bytes_per_cycle, uint64_t latency, bool ideal, bool writes_yield,
                         StatGroup& stats, const std::string& memory)
    : bytes_per_cycle_(bytes_per_cycle),
      latency_(latency),
      ideal_(ideal),
      writes_yield_(writes_yield && !ideal),
      bytes_read_(stats.counter("bytes_read", "bytes", "bytes read from " + memory)),
      bytes_written_(stats.counter("bytes_written", "bytes", "bytes written to " + memory)),
      busy_cycles_(stats.counter("busy_cycles", "cycles", "cycles the channel was transferring")),
      queue_cycles_(stats.counter("queue_cycles", "cycles",
                                  "sum over requests of cycles waited for the channel (a "
                                  "write that yields to reads: from its arrival)")),
      requests_(stats.counter("requests", "requests", memory + " requests served")) {}

Server::Grant DramChannel::serve(uint64_t now, uint64_t bytes, bool write) {
  (write ? bytes_written_ : bytes_read_) += bytes;
  ++requests_;
  if (ideal_) return {now, now};
  uint64_t start = std::max(now, free_at_);
  uint64_t service = uint64_t(std::ceil(double(bytes) / bytes_per_cycle_));
  queue_cycles_ += start - now;
  busy_cycles_ += service;
  free_at_ = start + service;
  return {free_at_, free_at_ + latency_};
}

}  // namespace xpusim
