#pragma once
// p-values from Student's t and the normal distribution (Boost.Math).
//
// For a statistic t with df degrees of freedom:
//   two_sided = 2 * P(T >= |t|)   (capped at 1)
//   less      = P(T <= t)         (H1: the effect is negative)
//   greater   = P(T >= t)
// These are exactly the conventions of scipy.stats (alternative='two-sided',
// 'less', 'greater'). t = ±inf gives 0/1; NaN t or df <= 0 gives NaN.
namespace spectra::stats {

struct PValues {
  double two_sided;
  double less;
  double greater;
};

PValues t_test_p(double t, double df);

// Standard normal quantile Φ⁻¹(p), 0 < p < 1.
double normal_quantile(double p);

// The same three p-values for a standard-normal statistic z (the
// document-level meta-analysis): two_sided = 2·min(Φ(z), 1−Φ(z)), less = Φ(z),
// greater = 1 − Φ(z) (scipy.stats.norm.cdf / .sf).
PValues normal_test_p(double z);

// NaN p-values everywhere (statistic undefined).
PValues nan_p_values();

}  // namespace spectra::stats
