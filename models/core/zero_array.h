// ZeroArray: a fixed number of zero-initialised values whose memory the host maps only as it is
// first written, for large tag arrays of which a run may use little (models/core/cache.h,
// models/tpu/cmem.h).
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <new>

#include <sys/mman.h>

namespace xpusim {

// n zero-initialised values of a trivial type T (every byte zero is a valid value) in pages of
// their own from mmap, which the host maps only as each is first written.
template <class T>
class ZeroArray {
 public:
  ZeroArray() = default;
  explicit ZeroArray(size_t n) : n_(n) {
    if (!n) return;
    void* p =
        mmap(nullptr, n * sizeof(T), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    p_.reset(static_cast<T*>(p));
    p_.get_deleter().bytes = n * sizeof(T);
  }
  T& operator[](size_t i) { return p_.get()[i]; }
  const T& operator[](size_t i) const { return p_.get()[i]; }
  const T* data() const { return p_.get(); }
  // Every value zero again.
  void clear() {
    if (n_) std::memset(static_cast<void*>(p_.get()), 0, n_ * sizeof(T));
  }

 private:
  struct Unmap {
    size_t bytes = 0;
    void operator()(T* p) const { munmap(p, bytes); }
  };
  std::unique_ptr<T, Unmap> p_;
  size_t n_ = 0;
};

}  // namespace xpusim
