#pragma once
// e^x for x ≤ 0, vectorizable: the exponential of the attention kernels'
// softmax (engine/row_stats.hpp), of SiLU and of the lm-head's log-sum-exp
// (engine/ops.cpp). Callers compile it inside target_clones / target
// functions, so the fmaf below are single FMA instructions on CPUs with FMA
// (and libm's correctly rounded fmaf on those without: same results).
#include <algorithm>
#include <bit>
#include <cstdint>

namespace spectra::engine {

// e^x for x ≤ 0 (clamped at −87): Cephes-style polynomial, ~1 ulp,
// vectorizable. Every fused multiply-add is written out (fmaf: one FMA
// instruction where the CPU has FMA): the files that use it
// (attention_kernel.cpp, ops.cpp) are compiled with -ffp-contract=off, so the
// arithmetic is the same on every instruction set, and no product elsewhere
// is silently fused (which made the fixed-norm entropy differ from H at β = 1).
__attribute__((always_inline)) inline float exp_neg(float x) {
  x = std::max(x, -87.0f);
  // Round x·log2(e) to nearest with the 1.5·2^23 trick; the integer n is read
  // from the bits of the biased value (no float→int conversion: GCC does not
  // vectorize cvttps2dq under the default -ftrapping-math).
  const float big = __builtin_fmaf(x, 1.44269504088896341f, 12582912.0f);
  const float nf = big - 12582912.0f;
  const int32_t n = std::bit_cast<int32_t>(big) - 0x4B400000;
  float r = __builtin_fmaf(nf, -0.693359375f, x);
  r = __builtin_fmaf(nf, 2.12194440e-4f, r);
  float y = 1.9875691500e-4f;
  y = __builtin_fmaf(y, r, 1.3981999507e-3f);
  y = __builtin_fmaf(y, r, 8.3334519073e-3f);
  y = __builtin_fmaf(y, r, 4.1665795894e-2f);
  y = __builtin_fmaf(y, r, 1.6666665459e-1f);
  y = __builtin_fmaf(y, r, 5.0000001201e-1f);
  y = __builtin_fmaf(y * r, r, r) + 1.0f;
  const int32_t e = (n + 127) << 23;
  return y * std::bit_cast<float>(e);
}

}  // namespace spectra::engine
