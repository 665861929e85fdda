#pragma once
// Correlation coefficients with scipy.stats semantics.
//
// pearson(x, y):  r = Σ(x−x̄)(y−ȳ) / sqrt(Σ(x−x̄)² Σ(y−ȳ)²), accumulated in
//   long double after centring on the (long double) means; clipped to [−1, 1].
//   t = r·sqrt((n−2)/(1−r²)), df = n−2; p two-sided / less / greater as in
//   scipy.stats.pearsonr (its beta-distribution p is the same t test).
//   n = 2: r = ±1 and every p = 1 (scipy's convention).
//   95% CI (Fisher z): tanh(atanh(r) ± Φ⁻¹(1−(1−c)/2)/sqrt(n−3)); NaN for n ≤ 3
//   (scipy's pearsonr(...).confidence_interval()).
// spearman(x, y): Pearson on average ranks (ties share the mean rank), the
//   same t test (scipy.stats.spearmanr). No CI.
// partial_correlation(x, y, z): Pearson r of the residuals of x and of y after
//   least-squares regression of each on [1, z]; t = r·sqrt((n−3)/(1−r²)) with
//   df = n−3.
//
// Undefined cases never throw: r and every p are NaN and `note` says why
// ("n<2", "constant x", "constant y", "constant z", "x residual zero", ...).
#include <span>
#include <string>

#include "stats/p_values.hpp"

namespace spectra::stats {

struct Correlation {
  size_t n = 0;
  double r = 0;
  double t = 0;     // the t statistic (±inf for |r| = 1)
  double df = 0;
  PValues p{};
  double ci_low = 0, ci_high = 0;  // Fisher-z CI (pearson only; NaN otherwise)
  std::string note;                // empty when r is defined
  bool defined() const { return note.empty(); }
};

Correlation pearson(std::span<const double> x, std::span<const double> y, double confidence = 0.95);
Correlation spearman(std::span<const double> x, std::span<const double> y);
Correlation partial_correlation(std::span<const double> x, std::span<const double> y, std::span<const double> z);

// Fisher-z confidence interval of r from n pairs (two-sided, level c).
void fisher_ci(double r, size_t n, double confidence, double& low, double& high);

// Only r (no p-values), NaN when undefined: used for per-document r.
double pearson_r(std::span<const double> x, std::span<const double> y);

// The t test for a correlation r with df degrees of freedom (df = n−2 for
// Pearson/Spearman, n−3 for a partial correlation on one covariate).
void correlation_t_test(Correlation& c);

}  // namespace spectra::stats
