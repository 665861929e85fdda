#pragma once
// Keys (after RoPE) and values of every layer for positions 0..size()-1,
// for incremental decoding. fp32, [capacity][n_kv_heads*head_dim] per layer.
#include <cstdint>
#include <vector>

#include "formats/model_desc.hpp"
#include "util/error.hpp"

namespace spectra::engine {

class KVCache {
 public:
  KVCache(const ModelDesc& d, int64_t capacity)
      : capacity_(capacity), kvdim_(static_cast<int64_t>(d.n_kv_heads) * d.head_dim),
        k_(d.n_layers), v_(d.n_layers) {
    for (int l = 0; l < d.n_layers; ++l) {
      k_[l].resize(static_cast<size_t>(capacity * kvdim_));
      v_[l].resize(static_cast<size_t>(capacity * kvdim_));
    }
  }
  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }
  int64_t kv_dim() const { return kvdim_; }
  float* k(int layer) { return k_[layer].data(); }
  float* v(int layer) { return v_[layer].data(); }
  // Called by the engine after all layers have written n new positions.
  void advance(int64_t n) {
    if (size_ + n > capacity_) throw Error("KV cache full");
    size_ += n;
  }
  void clear() { size_ = 0; }

 private:
  int64_t capacity_, kvdim_, size_ = 0;
  std::vector<std::vector<float>> k_, v_;
};

}  // namespace spectra::engine
