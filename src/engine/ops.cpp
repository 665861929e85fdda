// Elementwise kernels: RMSNorm, SwiGLU gate, bf16 rounding. fp32 throughout
// (RMSNorm accumulates the mean square in double).
#include "engine/ops.hpp"

#include <cmath>
#include <cstring>

namespace spectra::engine {

void rmsnorm(const float* x, const float* w, float* out, int64_t rows, int64_t n, float eps) {
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < rows; ++t) {
    const float* xr = x + t * n;
    float* o = out + t * n;
    double ss = 0;
#pragma omp simd reduction(+ : ss)
    for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) o[i] = xr[i] * inv * w[i];
  }
}

void silu_mul(float* g, const float* u, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float x = g[i];
    g[i] = x / (1.0f + std::exp(-x)) * u[i];
  }
}

void f32_to_bf16_array(const float* x, uint16_t* y, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, &x[i], 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    y[i] = static_cast<uint16_t>(u >> 16);
  }
}

void f32_to_bf16_row(const float* x, uint16_t* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, &x[i], 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    y[i] = static_cast<uint16_t>(u >> 16);
  }
}

void add_bias(float* y, const float* b, int64_t rows, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < rows; ++t)
    for (int64_t i = 0; i < n; ++i) y[t * n + i] += b[i];
}

}  // namespace spectra::engine
