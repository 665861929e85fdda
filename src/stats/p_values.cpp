// Student-t and normal tail probabilities via Boost.Math; see p_values.hpp.
#include "stats/p_values.hpp"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>

namespace spectra::stats {

PValues nan_p_values() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  return {nan, nan, nan};
}

PValues t_test_p(double t, double df) {
  if (std::isnan(t) || !(df > 0) || !std::isfinite(df)) return nan_p_values();
  if (std::isinf(t)) return t > 0 ? PValues{0.0, 1.0, 0.0} : PValues{0.0, 0.0, 1.0};
  boost::math::students_t dist(df);
  const double lower = boost::math::cdf(dist, t);                          // P(T <= t)
  const double upper = boost::math::cdf(boost::math::complement(dist, t)); // P(T >= t)
  const double tail = t >= 0 ? upper : lower;
  return {std::min(1.0, 2.0 * tail), lower, upper};
}

double normal_quantile(double p) {
  if (!(p > 0 && p < 1)) return std::numeric_limits<double>::quiet_NaN();
  return boost::math::quantile(boost::math::normal_distribution<double>(0.0, 1.0), p);
}

}  // namespace spectra::stats

namespace spectra::stats {

PValues normal_test_p(double z) {
  if (std::isnan(z)) return nan_p_values();
  if (std::isinf(z)) return z > 0 ? PValues{0.0, 1.0, 0.0} : PValues{0.0, 0.0, 1.0};
  const boost::math::normal_distribution<double> nd(0.0, 1.0);
  const double lower = boost::math::cdf(nd, z);
  const double upper = boost::math::cdf(boost::math::complement(nd, z));
  return {std::min(1.0, 2.0 * std::min(lower, upper)), lower, upper};
}

}  // namespace spectra::stats
