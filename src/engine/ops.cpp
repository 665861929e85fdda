// Elementwise kernels: RMSNorm, SwiGLU gate, bf16 rounding, the lm-head's
// log-sum-exp parts. fp32 throughout (RMSNorm accumulates the mean square in
// double, max_sum_exp its sum). Compiled with -ffp-contract=off and
// -fno-trapping-math (src/engine/CMakeLists.txt): the exp loops vectorize, and
// only the FMAs written out are fused, so every instruction set gives the same bits.
#include "engine/ops.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/exp_neg.hpp"

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

namespace {

// SiLU(x)·u = x·σ(x)·u with σ(x) = 1/(1 + e^{−x}), written with e = e^{−|x|}
// ≤ 1 so that one exp_neg serves both signs: x ≥ 0: x/(1 + e); x < 0:
// x·e/(1 + e) (= x·e^x/(1 + e^x)). NaN stays NaN.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) void silu_mul_range(float* g,
                                                                                                   const float* u,
                                                                                                   int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float x = g[i];
    const float e = exp_neg(-std::fabs(x));
    g[i] = (x >= 0.f ? x : x * e) / (1.0f + e) * u[i];
  }
}

}  // namespace

void silu_mul(float* g, const float* u, int64_t n) {
#pragma omp parallel
  {
    // One contiguous range per thread, in whole 64-byte lines (16 floats).
    const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t per = (n + nt * 16 - 1) / (nt * 16) * 16;
    const int64_t i0 = std::min(n, t * per), i1 = std::min(n, i0 + per);
    if (i1 > i0) silu_mul_range(g + i0, u + i0, i1 - i0);
  }
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) MaxSumExp max_sum_exp(const float* x,
                                                                                                    int64_t n) {
  constexpr int L = 8;
  float mx[L];
  for (int u = 0; u < L; ++u) mx[u] = -std::numeric_limits<float>::infinity();
  int64_t j = 0;
  for (; j + L <= n; j += L)
#pragma omp simd
    for (int u = 0; u < L; ++u) mx[u] = x[j + u] > mx[u] ? x[j + u] : mx[u];
  for (int u = 0; j + u < n; ++u) mx[u] = x[j + u] > mx[u] ? x[j + u] : mx[u];
  float m = mx[0];
  for (int u = 1; u < L; ++u) m = mx[u] > m ? mx[u] : m;
  // All −∞ or NaN: m = x[0], so the sum is NaN (as e^{x − m} is).
  if (n > 0 && !(m > -std::numeric_limits<float>::infinity())) m = x[0];
  // Σ e^{x_j − m}: lane u sums the terms j ≡ u (mod 8) in order, the lanes
  // are added in a fixed tree: the same result on every instruction set.
  double acc[L] = {};
  j = 0;
  for (; j + L <= n; j += L)
#pragma omp simd
    for (int u = 0; u < L; ++u) acc[u] += static_cast<double>(exp_neg(x[j + u] - m));
  for (int u = 0; j + u < n; ++u) acc[u] += static_cast<double>(exp_neg(x[j + u] - m));
  return {m, ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))};
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
