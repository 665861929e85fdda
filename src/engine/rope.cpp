// RoPE: angles in double, rotation in fp32.
#include "engine/rope.hpp"

#include <cmath>

#include "util/error.hpp"

namespace spectra::engine {

std::vector<double> rope_inv_freq(const RopeParams& p, int head_dim) {
  const int d = p.dim > 0 ? p.dim : head_dim;
  std::vector<double> inv(d / 2);
  for (int i = 0; i < d / 2; ++i) inv[i] = std::pow(p.theta, -2.0 * i / d);
  if (!p.freq_divisors.empty()) {
    if (static_cast<int>(p.freq_divisors.size()) != d / 2)
      throw Error("rope: freq_divisors has " + std::to_string(p.freq_divisors.size()) + " entries, expected " +
                  std::to_string(d / 2));
    for (int i = 0; i < d / 2; ++i) inv[i] /= p.freq_divisors[i];
    return inv;
  }
  if (p.scaling == RopeScalingType::Linear) {
    for (auto& f : inv) f /= p.factor;
  } else if (p.scaling == RopeScalingType::Llama3) {
    const double lo_wl = p.original_max_position / p.low_freq_factor;
    const double hi_wl = p.original_max_position / p.high_freq_factor;
    for (auto& f : inv) {
      const double wl = 2 * M_PI / f;
      if (wl < hi_wl) continue;
      if (wl > lo_wl) {
        f /= p.factor;
      } else {
        const double s = (p.original_max_position / wl - p.low_freq_factor) / (p.high_freq_factor - p.low_freq_factor);
        f = (1 - s) * f / p.factor + s * f;
      }
    }
  }
  return inv;
}

Rope::Rope(const RopeParams& p, RopeLayout layout, int head_dim)
    : layout_(layout), head_dim_(head_dim), inv_freq_(rope_inv_freq(p, head_dim)) {
  rot_ = static_cast<int>(inv_freq_.size()) * 2;
  if (rot_ > head_dim) throw Error("rope: rotary dim exceeds head_dim");
}

void Rope::apply(float* x, int64_t rows, int n_heads, int64_t pos0) const {
  const int half = rot_ / 2;
  const int64_t stride = static_cast<int64_t>(n_heads) * head_dim_;
#pragma omp parallel
  {
    std::vector<float> c(half), s(half);
#pragma omp for schedule(static)
    for (int64_t t = 0; t < rows; ++t) {
      const double pos = static_cast<double>(pos0 + t);
      for (int i = 0; i < half; ++i) {
        const double a = pos * inv_freq_[i];
        c[i] = static_cast<float>(std::cos(a));
        s[i] = static_cast<float>(std::sin(a));
      }
      for (int h = 0; h < n_heads; ++h) {
        float* v = x + t * stride + static_cast<int64_t>(h) * head_dim_;
        if (layout_ == RopeLayout::HalfSplit) {
          for (int i = 0; i < half; ++i) {
            const float a = v[i], b = v[i + half];
            v[i] = a * c[i] - b * s[i];
            v[i + half] = a * s[i] + b * c[i];
          }
        } else {
          for (int i = 0; i < half; ++i) {
            const float a = v[2 * i], b = v[2 * i + 1];
            v[2 * i] = a * c[i] - b * s[i];
            v[2 * i + 1] = a * s[i] + b * c[i];
          }
        }
      }
    }
  }
}

}  // namespace spectra::engine
