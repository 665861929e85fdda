#pragma once
// A growable, 64-byte aligned, uninitialised byte buffer: reused across layers
// so per-layer weight conversion does not fault in fresh pages every time.
#include <cstddef>
#include <cstdlib>
#include <new>
#include <utility>

namespace spectra::engine {

class Buffer {
 public:
  Buffer() = default;
  ~Buffer() { std::free(p_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  Buffer& operator=(Buffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  // Ensure at least `bytes` (contents are not preserved when it grows).
  void* reserve(size_t bytes) {
    if (bytes > n_) {
      std::free(p_);
      n_ = (bytes + 63) / 64 * 64;
      p_ = std::aligned_alloc(64, n_);
      if (!p_) throw std::bad_alloc();
    }
    return p_;
  }
  template <class T>
  T* as(size_t count) { return static_cast<T*>(reserve(count * sizeof(T))); }
  void release() {
    std::free(p_);
    p_ = nullptr;
    n_ = 0;
  }
  void* data() const { return p_; }
  size_t size() const { return n_; }

 private:
  void* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace spectra::engine
