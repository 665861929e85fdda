// DerSimonian–Laird random effects; see meta_analysis.hpp.
#include "stats/meta_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace spectra::stats {

MetaResult dersimonian_laird(std::span<const double> z, std::span<const double> v, double confidence) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  MetaResult m;
  m.k = z.size();
  if (m.k == 0) {
    m.z = m.se = m.r = m.ci_low = m.ci_high = m.tau2 = m.i2 = m.q = nan;
    m.p = nan_p_values();
    return m;
  }
  long double sw = 0, sw2 = 0, swz = 0;
  for (size_t i = 0; i < m.k; ++i) {
    const long double w = 1.0L / v[i];
    sw += w, sw2 += w * w, swz += w * z[i];
  }
  const long double zbar = swz / sw;
  long double q = 0;
  for (size_t i = 0; i < m.k; ++i) q += (z[i] - zbar) * (z[i] - zbar) / v[i];
  const double df = static_cast<double>(m.k - 1);
  m.q = static_cast<double>(q);
  if (m.k >= 2) {
    m.tau2 = std::max(0.0, static_cast<double>((q - df) / (sw - sw2 / sw)));
    m.i2 = q > 0 ? std::max(0.0, static_cast<double>((q - df) / q)) : 0.0;
  } else {
    m.tau2 = 0;
    m.i2 = nan;
  }
  long double sws = 0, swsz = 0;
  for (size_t i = 0; i < m.k; ++i) {
    const long double w = 1.0L / (v[i] + m.tau2);
    sws += w, swsz += w * z[i];
  }
  m.z = static_cast<double>(swsz / sws);
  m.se = static_cast<double>(1.0L / std::sqrt(sws));
  m.r = std::tanh(m.z);
  const double h = normal_quantile(0.5 + confidence / 2.0);
  m.ci_low = std::tanh(m.z - h * m.se);
  m.ci_high = std::tanh(m.z + h * m.se);
  m.p = normal_test_p(m.z / m.se);
  return m;
}

}  // namespace spectra::stats
