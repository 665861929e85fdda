// Units of the primary statistic: the position residuals are orthogonal to
// the basis, the effective n, DerSimonian–Laird edge cases, the content
// entropy, the cross-document null with two documents (its only derangement
// is the swap), the split halves and the new configuration keys.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "stats/analysis_config.hpp"
#include "stats/head_statistics.hpp"
#include "stats/meta_analysis.hpp"
#include "stats/position_residuals.hpp"
#include "stats/within_document.hpp"
#include "util/error.hpp"

using namespace spectra::stats;

TEST(WithinDocument, ResidualsAreOrthogonalToTheBasisAndRemoveDrift) {
  const int n = 300, K = 5;
  std::vector<int32_t> pos(n);
  std::vector<double> y(n);
  for (int i = 0; i < n; ++i) pos[i] = 16 + i, y[i] = 3 + 2 * std::log(pos[i] + 1.0) + std::sin(i * 0.01);
  std::vector<double> e = y;
  std::vector<double>* ys[] = {&e};
  residualize(pos, K, ys);
  const std::vector<double> X = position_basis(pos, K);
  for (int j = 0; j <= K; ++j) {
    long double dot = 0;
    for (int i = 0; i < n; ++i) dot += X[j * n + i] * e[i];
    EXPECT_NEAR(static_cast<double>(dot), 0.0, 1e-9) << "column " << j;
  }
  // A smooth drift is (nearly) all explained; an exact log(t+1) drift is flat.
  long double ss = 0;
  for (double v : e) ss += v * v;
  EXPECT_LT(static_cast<double>(ss), 1e-3);  // of Σ sin² ≈ 30 before
  std::vector<double> lg(n);
  for (int i = 0; i < n; ++i) lg[i] = 1 + 0.5 * std::log(pos[i] + 1.0);
  std::vector<double> el = lg;
  std::vector<double>* ls[] = {&el};
  residualize(pos, K, ls);
  EXPECT_TRUE(residual_is_flat(el, lg));
}

TEST(WithinDocument, EffectiveNAndLag1) {
  EXPECT_DOUBLE_EQ(effective_n(100, 0, 0.9), 100);
  EXPECT_DOUBLE_EQ(effective_n(100, 0.5, 0.5), 100 * 0.75 / 1.25);
  EXPECT_DOUBLE_EQ(effective_n(100, -0.5, 0.5), 100);  // capped at n
  const std::vector<double> alt = {1, -1, 1, -1};
  EXPECT_DOUBLE_EQ(lag1_autocorrelation(alt), -3.0 / 4.0);
}

TEST(WithinDocument, MetaAnalysisEdgeCases) {
  const double z1[] = {0.3}, v1[] = {0.01};
  MetaResult one = dersimonian_laird(z1, v1, 0.95);
  EXPECT_EQ(one.k, 1u);
  EXPECT_DOUBLE_EQ(one.z, 0.3);
  EXPECT_DOUBLE_EQ(one.se, 0.1);
  EXPECT_EQ(one.tau2, 0);
  EXPECT_TRUE(std::isnan(one.i2));
  MetaResult none = dersimonian_laird({}, {}, 0.95);
  EXPECT_FALSE(none.defined());
  EXPECT_TRUE(std::isnan(none.r));
  // Homogeneous effects: Q < k − 1 gives τ² = 0 and I² = 0 (truncated).
  const double z[] = {0.50, 0.51, 0.49}, v[] = {0.01, 0.01, 0.01};
  MetaResult m = dersimonian_laird(z, v, 0.95);
  EXPECT_EQ(m.tau2, 0);
  EXPECT_EQ(m.i2, 0);
  EXPECT_NEAR(m.z, 0.5, 1e-12);
  EXPECT_NEAR(m.se, std::sqrt(0.01 / 3), 1e-12);
}

TEST(WithinDocument, ContentEntropy) {
  EXPECT_DOUBLE_EQ(content_entropy(2.0, 0.0), 2.0);
  // H = h_b(p0) + (1 − p0)·H_rest exactly.
  const double p0 = 0.3, rest = 1.7;
  const double H = -p0 * std::log(p0) - (1 - p0) * std::log(1 - p0) + (1 - p0) * rest;
  EXPECT_NEAR(content_entropy(H, p0), rest, 1e-12);
  EXPECT_TRUE(std::isnan(content_entropy(0.1, 1.0)));
  EXPECT_TRUE(std::isnan(content_entropy(0.1, 1.0 - 1e-7)));
  EXPECT_TRUE(std::isnan(content_entropy(0.1, -0.1)));
  EXPECT_TRUE(std::isnan(content_entropy(NAN, 0.2)));
}

TEST(WithinDocument, CrossNullWithTwoDocumentsIsTheSwap) {
  std::mt19937_64 g(5);
  std::normal_distribution<double> nd;
  const int n = 200;
  std::vector<double> x(2 * n), y(2 * n);
  std::vector<int32_t> pos(2 * n);
  for (int d = 0; d < 2; ++d)
    for (int i = 0; i < n; ++i) {
      const size_t k = static_cast<size_t>(d * n + i);
      pos[k] = 16 + i;
      x[k] = 10 + nd(g) + 0.01 * i;
      y[k] = 2 - 0.5 * (x[k] - 10) + 0.5 * nd(g);
    }
  const std::vector<size_t> off = {0, static_cast<size_t>(n), static_cast<size_t>(2 * n)};
  const std::vector<uint8_t> half = {0, 1};
  AnalysisConfig cfg;
  cfg.permutations = 7;
  WithinDocStats s = within_document_statistics(x, y, pos, off, half, cfg, 42);
  EXPECT_EQ(s.docs, 2u);
  EXPECT_LT(s.meta.r, -0.5);
  // The swap by hand: ‖q‖ of document 0 with H of document 1 and vice versa.
  std::vector<double> xs(x), ys(2 * n);
  std::copy(y.begin() + n, y.end(), ys.begin());
  std::copy(y.begin(), y.begin() + n, ys.begin() + n);
  cfg.permutations = 0;
  WithinDocStats swapped = within_document_statistics(xs, ys, pos, off, half, cfg, 42);
  EXPECT_EQ(s.cross.permutations, 7);
  EXPECT_NEAR(s.cross.mean_r, swapped.meta.r, 1e-12);
  EXPECT_NEAR(s.cross.mean_abs_r, std::fabs(swapped.meta.r), 1e-12);
  EXPECT_NEAR(s.cross.q95_abs_r, std::fabs(swapped.meta.r), 1e-12);
  EXPECT_TRUE(std::isnan(swapped.cross.mean_r));  // permutations = 0: undefined
  // Halves: one document each.
  EXPECT_EQ(s.half_a.k, 1u);
  EXPECT_EQ(s.half_b.k, 1u);
}

TEST(WithinDocument, SplitHalvesKeepSourcesTogether) {
  const std::vector<uint32_t> groups = {0, 0, 1, 2, 2, 2, 3};
  const auto h = split_halves(groups, 20240601);
  EXPECT_EQ(h[0], h[1]);
  EXPECT_EQ(h[3], h[4]);
  EXPECT_EQ(h[4], h[5]);
  int a = 0;
  for (uint32_t g = 0; g < 4; ++g)
    for (size_t d = 0; d < groups.size(); ++d)
      if (groups[d] == g) {
        a += h[d] == 0;
        break;
      }
  EXPECT_EQ(a, 2);  // ceil(4 / 2) groups in half A
  EXPECT_EQ(split_halves(groups, 20240601), h);
}

TEST(WithinDocument, ConfigKeys) {
  auto c = AnalysisConfig::from_toml_text("[analysis]\nspline_knots = 6\nmin_doc_positions = 12\n[criteria]\nentropy = \"content\"\nmin_documents = 3\n", "x.toml");
  EXPECT_EQ(c.spline_knots, 6);
  EXPECT_EQ(c.entropy, EntropyKind::Content);
  EXPECT_EQ(c.min_documents, 3);
  EXPECT_EQ(c.to_json()["criteria"]["entropy"], "content");
  for (const char* bad : {"[analysis]\nspline_knots = 3\n", "[analysis]\nspline_knots = 8\n",
                          "[criteria]\nentropy = \"sink\"\n", "[criteria]\nmin_documents = 0\n"}) {
    try {
      AnalysisConfig::from_toml_text(bad, "x.toml");
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const spectra::Error& e) {
      EXPECT_NE(std::string(e.what()).find("x.toml"), std::string::npos) << e.what();
    }
  }
}
