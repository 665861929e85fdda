#pragma once
// Rotary position embedding. Frequencies inv_freq_i = θ^(−2i/d), adjusted by
// the scaling type (none / linear / llama3) or by GGUF per-frequency divisors.
// Two layouts: HalfSplit rotates (i, i + d/2) (HF), Adjacent rotates
// (2i, 2i+1) (GGUF / Meta / llama2.c). Only the first rope.dim dims of each
// head rotate (normally all of them).
#include <cstdint>
#include <vector>

#include "formats/model_desc.hpp"

namespace spectra::engine {

// dim/2 inverse frequencies after scaling (double precision).
std::vector<double> rope_inv_freq(const RopeParams& p, int head_dim);

class Rope {
 public:
  Rope(const RopeParams& p, RopeLayout layout, int head_dim);
  // Rotate `n_heads` heads of each of `rows` rows (row stride = n_heads*head_dim)
  // whose absolute positions are pos0, pos0+1, ...
  void apply(float* x, int64_t rows, int n_heads, int64_t pos0) const;

 private:
  RopeLayout layout_;
  int head_dim_, rot_;  // rot_ = rotated dims (even)
  std::vector<double> inv_freq_;
};

}  // namespace spectra::engine
