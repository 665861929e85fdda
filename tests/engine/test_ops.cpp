// The vectorized elementwise kernels of engine/ops.cpp against double
// precision: SiLU·u (silu_mul) and the lm-head's log-sum-exp parts
// (max_sum_exp), including NaN, ±∞, signed zeros and lengths that are not a
// multiple of the vector width. max_sum_exp is also checked bit for bit
// against the same lane order computed here in this file, which is compiled
// for the x86-64 baseline (fmaf from libm): the target_clones variant the CPU
// picks must give the same bits.
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "engine/exp_neg.hpp"
#include "engine/ops.hpp"

using namespace spectra::engine;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

double silu_ref(double x) { return x / (1.0 + std::exp(-x)); }

TEST(Ops, SiluMulMatchesDoubleReference) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.f, 4.f);
  for (int64_t n : {1, 7, 8, 15, 16, 17, 1000, 4099}) {
    std::vector<float> g(n), u(n);
    for (int64_t i = 0; i < n; ++i) {
      g[i] = nd(rng);
      u[i] = nd(rng);
    }
    if (n > 8) {  // edges: zeros, tiny, large of both signs
      g[0] = 0.f;
      g[1] = -0.f;
      g[2] = 1e-30f;
      g[3] = -1e-30f;
      g[4] = 80.f;
      g[5] = -80.f;
      g[6] = 100.f;
      g[7] = -20.f;
    }
    const std::vector<float> g0 = g;
    for (int threads : {1, 2, 3}) {
      g = g0;
      omp_set_num_threads(threads);
      silu_mul(g.data(), u.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        const double want = silu_ref(g0[i]) * u[i];
        // exp_neg is ~1 ulp; with the division and the products, a few ulp.
        EXPECT_NEAR(g[i], want, 6e-7 * std::fabs(want) + 1e-35) << "n " << n << " i " << i << " x " << g0[i];
      }
    }
  }
  omp_set_num_threads(omp_get_num_procs());
}

TEST(Ops, SiluMulPropagatesNaNAndHandlesInfinity) {
  std::vector<float> g{kNaN, kInf, -kInf, 1.f, kNaN, 2.f, -3.f, 0.5f, kNaN};
  std::vector<float> u(g.size(), 1.f);
  silu_mul(g.data(), u.data(), static_cast<int64_t>(g.size()));
  EXPECT_TRUE(std::isnan(g[0]));
  EXPECT_EQ(g[1], kInf);
  EXPECT_FALSE(g[2] > 0.f);  // −∞·σ(−∞): −∞ or NaN, never positive
  EXPECT_NEAR(g[3], silu_ref(1.0), 1e-6);
  EXPECT_TRUE(std::isnan(g[4]));
  EXPECT_TRUE(std::isnan(g[8]));
}

// The lane order of max_sum_exp, in this baseline-compiled file.
double lane_sum(const std::vector<float>& x, float m) {
  double acc[8] = {};
  for (size_t j = 0; j < x.size(); ++j) acc[j % 8] += static_cast<double>(exp_neg(x[j] - m));
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

TEST(Ops, MaxSumExpMatchesDoubleReferenceBitForBitAcrossInstructionSets) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.f, 3.f);
  for (int64_t n : {1, 2, 7, 8, 9, 63, 64, 65, 1000, 49152, 128257}) {
    std::vector<float> x(n);
    for (auto& v : x) v = nd(rng);
    if (n > 3) x[n / 2] = 25.f;  // a clear maximum, not in lane 0
    const MaxSumExp got = max_sum_exp(x.data(), n);
    float m = -kInf;
    for (float v : x) m = std::max(m, v);
    EXPECT_EQ(got.max, m) << n;
    double want = 0;
    for (float v : x) want += std::exp(static_cast<double>(v) - static_cast<double>(m));
    EXPECT_NEAR(got.sum, want, 1e-6 * want) << n;
    EXPECT_EQ(got.sum, lane_sum(x, m)) << "n " << n << ": the CPU's variant differs from the baseline order";
  }
}

TEST(Ops, MaxSumExpNaNAndInfinities) {
  {
    std::vector<float> x{1.f, 2.f, kNaN, 0.f, 3.f, 1.f, 1.f, 1.f, 1.f, 1.f};
    const MaxSumExp r = max_sum_exp(x.data(), static_cast<int64_t>(x.size()));
    EXPECT_TRUE(std::isnan(r.sum));
  }
  {
    std::vector<float> x{kNaN, 2.f};
    EXPECT_TRUE(std::isnan(max_sum_exp(x.data(), 2).sum));
  }
  {
    std::vector<float> x(11, -kInf);
    EXPECT_TRUE(std::isnan(max_sum_exp(x.data(), 11).sum));  // as e^{−∞ − (−∞)}
  }
  {
    std::vector<float> x(12, 0.f);
    x[5] = kInf;
    EXPECT_TRUE(std::isnan(max_sum_exp(x.data(), 12).sum));  // e^{∞ − ∞}
  }
  {
    std::vector<float> x(13, 0.f);
    x[3] = -kInf;  // one −∞ logit: contributes 0
    const MaxSumExp r = max_sum_exp(x.data(), 13);
    EXPECT_EQ(r.max, 0.f);
    EXPECT_NEAR(r.sum, 12.0 + std::exp(-87.0), 1e-12);
  }
}

}  // namespace
