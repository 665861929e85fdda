// Pearson, Spearman and partial correlation; see correlation.hpp for the exact
// definitions. Sums are centred first and accumulated in long double.
#include "stats/correlation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "stats/ranks.hpp"

namespace spectra::stats {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool is_constant(std::span<const double> v) {
  for (double a : v)
    if (a != v[0]) return false;
  return true;
}

long double mean_ld(std::span<const double> v) {
  long double s = 0;
  for (double a : v) s += a;
  return s / static_cast<long double>(v.size());
}

Correlation undefined(size_t n, const std::string& why) {
  Correlation c;
  c.n = n;
  c.r = c.t = kNaN;
  c.df = n >= 2 ? static_cast<double>(n) - 2 : kNaN;
  c.p = nan_p_values();
  c.ci_low = c.ci_high = kNaN;
  c.note = why;
  return c;
}

// r from centred sums; clipped to [-1, 1].
double r_from_sums(long double sxy, long double sxx, long double syy) {
  long double r = sxy / std::sqrt(sxx * syy);
  return static_cast<double>(std::clamp<long double>(r, -1.0L, 1.0L));
}

}  // namespace

void correlation_t_test(Correlation& c) {
  if (!(c.df > 0)) {
    // n = 2 (df = 0): scipy reports p = 1 for every alternative.
    c.t = kNaN;
    c.p = {1.0, 1.0, 1.0};
    return;
  }
  const double one_minus_r2 = (1.0 - c.r) * (1.0 + c.r);
  if (one_minus_r2 <= 0) c.t = c.r > 0 ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  else c.t = c.r * std::sqrt(c.df / one_minus_r2);
  c.p = t_test_p(c.t, c.df);
}

void fisher_ci(double r, size_t n, double confidence, double& low, double& high) {
  if (n <= 3 || std::isnan(r)) {
    low = high = kNaN;
    return;
  }
  const double h = normal_quantile(0.5 + confidence / 2.0);
  const double se = std::sqrt(1.0 / (static_cast<double>(n) - 3.0));
  const double z = std::atanh(r);  // ±inf for |r| = 1: the interval collapses to ±1
  low = std::tanh(z - h * se);
  high = std::tanh(z + h * se);
}

double pearson_r(std::span<const double> x, std::span<const double> y) {
  const size_t n = x.size();
  if (n < 2 || is_constant(x) || is_constant(y)) return kNaN;
  const long double mx = mean_ld(x), my = mean_ld(y);
  long double sxx = 0, syy = 0, sxy = 0;
  for (size_t i = 0; i < n; ++i) {
    const long double dx = x[i] - mx, dy = y[i] - my;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
  }
  if (sxx <= 0 || syy <= 0) return kNaN;
  return r_from_sums(sxy, sxx, syy);
}

Correlation pearson(std::span<const double> x, std::span<const double> y, double confidence) {
  const size_t n = x.size();
  if (n != y.size()) return undefined(n, "x and y differ in length");
  if (n < 2) return undefined(n, "n<2");
  if (is_constant(x)) return undefined(n, "constant x");
  if (is_constant(y)) return undefined(n, "constant y");
  Correlation c;
  c.n = n;
  c.df = static_cast<double>(n) - 2;
  c.r = pearson_r(x, y);
  if (std::isnan(c.r)) return undefined(n, "zero variance");
  correlation_t_test(c);
  fisher_ci(c.r, n, confidence, c.ci_low, c.ci_high);
  return c;
}

Correlation spearman(std::span<const double> x, std::span<const double> y) {
  const size_t n = x.size();
  if (n != y.size()) return undefined(n, "x and y differ in length");
  if (n < 2) return undefined(n, "n<2");
  if (is_constant(x)) return undefined(n, "constant x");
  if (is_constant(y)) return undefined(n, "constant y");
  const auto rx = average_ranks(x), ry = average_ranks(y);
  Correlation c;
  c.n = n;
  c.df = static_cast<double>(n) - 2;
  c.r = pearson_r(rx, ry);
  if (std::isnan(c.r)) return undefined(n, "zero variance");
  correlation_t_test(c);
  c.ci_low = c.ci_high = kNaN;
  return c;
}

Correlation partial_correlation(std::span<const double> x, std::span<const double> y, std::span<const double> z) {
  const size_t n = x.size();
  auto bad = [&](const std::string& why) {
    Correlation c = undefined(n, why);
    c.df = n >= 3 ? static_cast<double>(n) - 3 : kNaN;
    return c;
  };
  if (n != y.size() || n != z.size()) return bad("x, y, z differ in length");
  if (n < 3) return bad("n<3");
  if (is_constant(x)) return bad("constant x");
  if (is_constant(y)) return bad("constant y");
  if (is_constant(z)) return bad("constant z");
  const long double mx = mean_ld(x), my = mean_ld(y), mz = mean_ld(z);
  long double szz = 0, sxz = 0, syz = 0;
  for (size_t i = 0; i < n; ++i) {
    const long double dz = z[i] - mz;
    szz += dz * dz;
    sxz += (x[i] - mx) * dz;
    syz += (y[i] - my) * dz;
  }
  const long double bx = sxz / szz, by = syz / szz;
  // Residuals e = (v − v̄) − b (z − z̄); their mean is zero up to rounding, so
  // centre them once more before the correlation.
  long double ex_sum = 0, ey_sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const long double dz = z[i] - mz;
    ex_sum += (x[i] - mx) - bx * dz;
    ey_sum += (y[i] - my) - by * dz;
  }
  const long double ex_mean = ex_sum / n, ey_mean = ey_sum / n;
  long double sxx = 0, syy = 0, sxy = 0;
  for (size_t i = 0; i < n; ++i) {
    const long double dz = z[i] - mz;
    const long double ex = (x[i] - mx) - bx * dz - ex_mean;
    const long double ey = (y[i] - my) - by * dz - ey_mean;
    sxx += ex * ex;
    syy += ey * ey;
    sxy += ex * ey;
  }
  // A residual that is zero up to rounding (x or y exactly linear in z).
  const long double tiny = 1e-24L;
  long double vx = 0, vy = 0;
  for (size_t i = 0; i < n; ++i) {
    vx += (x[i] - mx) * (long double)(x[i] - mx);
    vy += (y[i] - my) * (long double)(y[i] - my);
  }
  if (sxx <= tiny * vx) return bad("x is linear in z (zero residual)");
  if (syy <= tiny * vy) return bad("y is linear in z (zero residual)");
  Correlation c;
  c.n = n;
  c.df = static_cast<double>(n) - 3;
  c.r = r_from_sums(sxy, sxx, syy);
  correlation_t_test(c);
  c.ci_low = c.ci_high = kNaN;
  return c;
}

}  // namespace spectra::stats
