// ZeroArray: a fixed number of zero-initialised values whose memory the host maps only as it is
// first written, for large tag arrays of which a run may use little (models/core/cache.h,
// models/tpu/cmem.h).
#pragma once

#include <fmt/format.h>
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "models/core/error.h"

namespace xpusim {

// n zero-initialised values of a trivial type T (every byte zero is a valid value) in pages of
// their own from mmap, which the host maps only as each is first written. (Outside the heap:
// AddressSanitizer does not see an index past the end that stays within the last page.)
template <class T>
class ZeroArray {
 public:
  ZeroArray() = default;
  // Throws Error when the host cannot map n values.
  explicit ZeroArray(size_t n) {
    if (!n) return;
    void* p = n > SIZE_MAX / sizeof(T) ? MAP_FAILED
                                       : mmap(nullptr, n * sizeof(T), PROT_READ | PROT_WRITE,
                                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      throw Error(
          fmt::format("{} values of {} bytes are more than the host can map", n, sizeof(T)));
    p_ = std::unique_ptr<T, Unmap>(static_cast<T*>(p), Unmap{n * sizeof(T)});
  }
  T& operator[](size_t i) { return p_.get()[i]; }
  const T& operator[](size_t i) const { return p_.get()[i]; }
  const T* data() const { return p_.get(); }
  // Every value zero again.
  void clear() {
    if (p_) std::memset(static_cast<void*>(p_.get()), 0, p_.get_deleter().bytes);
  }

 private:
  struct Unmap {
    size_t bytes = 0;
    void operator()(T* p) const { munmap(p, bytes); }
  };
  std::unique_ptr<T, Unmap> p_;
};

}  // namespace xpusim
