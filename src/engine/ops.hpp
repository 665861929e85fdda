#pragma once
// Small elementwise kernels of the forward pass, fp32, OpenMP over rows.
#include <cstdint>

namespace spectra::engine {

// out[t] = x[t] / sqrt(mean(x[t]²) + eps) ⊙ w, for rows t < rows of width n.
void rmsnorm(const float* x, const float* w, float* out, int64_t rows, int64_t n, float eps);
// g[i] = silu(g[i]) * u[i] (exp by exp_neg, vectorized; OpenMP over i)
void silu_mul(float* g, const float* u, int64_t n);
// The largest of x[0..n) (n ≥ 1) and Σ_j e^{x_j − max} in double (terms by
// exp_neg, ~1 ulp; summed in 8 lanes in a fixed order, so the same on every
// instruction set). Single-threaded (called per row inside parallel loops).
// A NaN, or a row of −∞, makes the sum NaN.
struct MaxSumExp {
  float max;
  double sum;
};
MaxSumExp max_sum_exp(const float* x, int64_t n);
// Round to nearest even (finite inputs).
void f32_to_bf16_array(const float* x, uint16_t* y, int64_t n);
// Same, single-threaded (for use inside parallel regions).
void f32_to_bf16_row(const float* x, uint16_t* y, int64_t n);
// y[i] += b[i % n] for rows x n.
void add_bias(float* y, const float* b, int64_t rows, int64_t n);

}  // namespace spectra::engine
