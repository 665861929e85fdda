// RoPE: rotation preserves norms; half-split and adjacent layouts agree after
// the HF permutation; llama3 scaling follows the NOTES formula.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/rope.hpp"

using namespace spectra;
using namespace spectra::engine;

TEST(Rope, LayoutsAgreeUnderPermutation) {
  const int hd = 16, heads = 3;
  RopeParams p;
  p.theta = 10000;
  p.dim = hd;
  Rope half(p, RopeLayout::HalfSplit, hd), adj(p, RopeLayout::Adjacent, hd);
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  const int rows = 5;
  std::vector<float> a(rows * heads * hd), b(a.size());
  for (auto& x : a) x = nd(rng);
  // HF order: dim i (< hd/2) <- adjacent 2i, dim i + hd/2 <- adjacent 2i+1
  for (int r = 0; r < rows * heads; ++r)
    for (int i = 0; i < hd / 2; ++i) {
      b[r * hd + i] = a[r * hd + 2 * i];
      b[r * hd + i + hd / 2] = a[r * hd + 2 * i + 1];
    }
  std::vector<float> a0 = a;
  adj.apply(a.data(), rows, heads, 7);
  half.apply(b.data(), rows, heads, 7);
  for (int r = 0; r < rows * heads; ++r) {
    double n0 = 0, n1 = 0;
    for (int i = 0; i < hd; ++i) {
      n0 += a0[r * hd + i] * a0[r * hd + i];
      n1 += a[r * hd + i] * a[r * hd + i];
    }
    EXPECT_NEAR(std::sqrt(n0), std::sqrt(n1), 1e-5);
    for (int i = 0; i < hd / 2; ++i) {
      EXPECT_NEAR(b[r * hd + i], a[r * hd + 2 * i], 1e-5);
      EXPECT_NEAR(b[r * hd + i + hd / 2], a[r * hd + 2 * i + 1], 1e-5);
    }
  }
}

TEST(Rope, Llama3Scaling) {
  RopeParams p;
  p.theta = 500000;
  p.dim = 128;
  p.scaling = RopeScalingType::Llama3;
  p.factor = 8;
  p.low_freq_factor = 1;
  p.high_freq_factor = 4;
  p.original_max_position = 8192;
  auto inv = rope_inv_freq(p, 128);
  for (int i = 0; i < 64; ++i) {
    const double f = std::pow(500000.0, -2.0 * i / 128);
    const double wl = 2 * M_PI / f;
    double e;
    if (wl < 2048) e = f;
    else if (wl > 8192) e = f / 8;
    else {
      const double s = (8192 / wl - 1) / 3;
      e = (1 - s) * f / 8 + s * f;
    }
    EXPECT_NEAR(inv[i], e, 1e-12 * std::max(1.0, e));
  }
  p.scaling = RopeScalingType::Linear;
  p.factor = 4;
  auto lin = rope_inv_freq(p, 128);
  EXPECT_NEAR(lin[5], std::pow(500000.0, -10.0 / 128) / 4, 1e-15);
  p.freq_divisors.assign(64, 2.0f);
  auto dv = rope_inv_freq(p, 128);
  EXPECT_NEAR(dv[5], std::pow(500000.0, -10.0 / 128) / 2, 1e-15);
}
