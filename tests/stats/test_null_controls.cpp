// Null controls: the permutation p-value convention on an exact tiny case, the
// circular shift, determinism, and shuffled r ≈ 0 on realistic data.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "stats/correlation.hpp"
#include "stats/null_controls.hpp"
#include "stats/rng.hpp"

using namespace spectra::stats;

TEST(NullControls, ExactTinyShuffle) {
  // One document, x = y = (1, 2, 3): r_obs = 1. The 6 permutations of y give
  // r* ∈ {1, 0.5, 0.5, −0.5, −0.5, −1}; b counts |r*| ≥ 1.
  std::vector<double> x = {1, 2, 3}, y = {1, 2, 3};
  std::vector<size_t> off = {0, 3};
  const int K = 60;
  NullSummary s = null_distribution(x, y, off, NullKind::Shuffle, K, 7, true);
  ASSERT_EQ(s.null_r.size(), static_cast<size_t>(K));
  EXPECT_NEAR(s.r_obs, 1.0, 1e-15);
  int b = 0, seen_half = 0;
  for (double r : s.null_r) {
    const double a = std::fabs(r);
    EXPECT_TRUE(std::fabs(a - 1.0) < 1e-12 || std::fabs(a - 0.5) < 1e-12) << r;
    b += std::fabs(a - 1.0) < 1e-12;
    seen_half += std::fabs(a - 0.5) < 1e-12;
  }
  EXPECT_GT(b, 0);
  EXPECT_GT(seen_half, 0);
  EXPECT_EQ(s.b_two, b);
  EXPECT_DOUBLE_EQ(s.p_two, (b + 1.0) / (K + 1.0));
  EXPECT_EQ(s.b_less, K);  // every r* ≤ 1
  EXPECT_DOUBLE_EQ(s.p_less, 1.0);
}

TEST(NullControls, ExactTinyCircularShift) {
  // x = y = (1, 2, 3); a rotation by 1 or 2 gives r* = −0.5 exactly.
  std::vector<double> x = {1, 2, 3}, y = {1, 2, 3};
  std::vector<size_t> off = {0, 3};
  const int K = 9;
  NullSummary s = null_distribution(x, y, off, NullKind::CircularShift, K, 1, true);
  for (double r : s.null_r) EXPECT_NEAR(r, -0.5, 1e-12);
  EXPECT_EQ(s.b_two, 0);
  EXPECT_DOUBLE_EQ(s.p_two, 1.0 / (K + 1.0));  // (0 + 1)/(K + 1)
  EXPECT_DOUBLE_EQ(s.p_less, 1.0);
  EXPECT_NEAR(s.mean_r, -0.5, 1e-12);
  EXPECT_NEAR(s.q95_abs_r, 0.5, 1e-12);
}

namespace {
// 8 documents × 500 positions, strong negative r, an autocorrelated drift,
// and document means of ‖q‖ that differ by doc_offset per document.
void make_docs(double doc_offset, std::vector<double>& x, std::vector<double>& y, std::vector<size_t>& off) {
  std::mt19937_64 gen(42);
  std::normal_distribution<double> nd;
  off = {0};
  for (int d = 0; d < 8; ++d) {
    double drift = 0;
    for (int t = 0; t < 500; ++t) {
      drift = 0.95 * drift + 0.3 * nd(gen);
      const double q = 10 + doc_offset * d + drift + nd(gen);
      x.push_back(q);
      y.push_back(3.0 - 0.3 * q + 0.5 * nd(gen) + 0.2 * drift);
    }
    off.push_back(x.size());
  }
}
}  // namespace

TEST(NullControls, ShuffledRIsNearZeroOnRealisticData) {
  // Document means of ‖q‖ differ little relative to the within-document spread.
  std::vector<double> x, y;
  std::vector<size_t> off;
  make_docs(0.05, x, y, off);
  const double n = static_cast<double>(x.size());
  const double r = pearson(x, y).r;
  ASSERT_LT(r, -0.3);
  NullSummary s = null_distribution(x, y, off, NullKind::Shuffle, 200, 99, true);
  EXPECT_NEAR(s.r_obs, r, 1e-12);
  EXPECT_LT(std::fabs(s.mean_r), 3.0 / std::sqrt(n));
  EXPECT_LT(s.mean_abs_r, 3.0 / std::sqrt(n));
  EXPECT_LT(s.q95_abs_r, 4.0 / std::sqrt(n));
  EXPECT_EQ(s.b_two, 0);
  EXPECT_DOUBLE_EQ(s.p_two, 1.0 / 201.0);
  EXPECT_DOUBLE_EQ(s.p_less, 1.0 / 201.0);
  // Same seed → identical nulls; another seed → different.
  NullSummary s2 = null_distribution(x, y, off, NullKind::Shuffle, 200, 99, true);
  EXPECT_EQ(s.null_r, s2.null_r);
  NullSummary s3 = null_distribution(x, y, off, NullKind::Shuffle, 200, 100, true);
  EXPECT_NE(s.null_r, s3.null_r);
  // The circular shift keeps the drift: still centred near 0 here (the drift is
  // shared, but documents differ), and deterministic.
  NullSummary c1 = null_distribution(x, y, off, NullKind::CircularShift, 50, 5, true);
  NullSummary c2 = null_distribution(x, y, off, NullKind::CircularShift, 50, 5, true);
  EXPECT_EQ(c1.null_r, c2.null_r);
  EXPECT_LT(std::fabs(c1.mean_r), 0.2);
}

TEST(NullControls, BetweenDocumentDifferencesShowInTheShuffleNull) {
  // The within-document shuffle keeps every document's values, so the part of
  // the pooled r that comes from differences between document means survives
  // it: the null mean moves away from 0. This is what the mean-|r*| ceiling of
  // the pass rule catches.
  std::vector<double> x, y;
  std::vector<size_t> off;
  make_docs(0.5, x, y, off);
  // The between-document part: r of the document means, weighted by size.
  std::vector<double> xm(x.size()), ym(y.size());
  for (size_t d = 0; d + 1 < off.size(); ++d) {
    double sx = 0, sy = 0;
    for (size_t i = off[d]; i < off[d + 1]; ++i) sx += x[i], sy += y[i];
    for (size_t i = off[d]; i < off[d + 1]; ++i) xm[i] = sx / (off[d + 1] - off[d]), ym[i] = sy / (off[d + 1] - off[d]);
  }
  long double bxy = 0, sxx = 0, syy = 0, mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += x[i], my += y[i];
  mx /= x.size(), my /= y.size();
  for (size_t i = 0; i < x.size(); ++i) {
    bxy += (xm[i] - mx) * (ym[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  const double expected = static_cast<double>(bxy / std::sqrt(sxx * syy));
  NullSummary s = null_distribution(x, y, off, NullKind::Shuffle, 200, 3, false);
  EXPECT_LT(expected, -0.1);
  EXPECT_NEAR(s.mean_r, expected, 3.0 / std::sqrt(static_cast<double>(x.size())));
}

TEST(NullControls, RngIsUnbiasedAndSeeded) {
  Rng a(head_seed(1, 2, 3, 1)), b(head_seed(1, 2, 3, 1)), c(head_seed(1, 2, 4, 1));
  EXPECT_EQ(a.next(), b.next());
  EXPECT_NE(head_seed(1, 2, 3, 1), head_seed(1, 2, 3, 2));
  EXPECT_NE(head_seed(1, 2, 3, 1), head_seed(1, 3, 2, 1));
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) ++counts[c.below(7)];
  for (int k : counts) EXPECT_NEAR(k, 10000, 500);
}
