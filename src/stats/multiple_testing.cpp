// Benjamini–Hochberg, Benjamini–Yekutieli and Bonferroni; see multiple_testing.hpp.
#include "stats/multiple_testing.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace spectra::stats {

namespace {

std::vector<double> step_up(std::span<const double> p, double factor_per_m) {
  // factor_per_m: 1 for BH, c(m) for BY.
  std::vector<double> out(p.size(), std::numeric_limits<double>::quiet_NaN());
  std::vector<size_t> idx;
  for (size_t i = 0; i < p.size(); ++i)
    if (!std::isnan(p[i])) idx.push_back(i);
  const size_t m = idx.size();
  if (m == 0) return out;
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  double running = 1.0;
  for (size_t k = m; k-- > 0;) {
    const double rank = static_cast<double>(k + 1);
    const double v = std::min(1.0, static_cast<double>(m) * factor_per_m * p[idx[k]] / rank);
    running = std::min(running, v);
    out[idx[k]] = running;
  }
  return out;
}

}  // namespace

size_t count_tests(std::span<const double> p) {
  return static_cast<size_t>(std::count_if(p.begin(), p.end(), [](double v) { return !std::isnan(v); }));
}

std::vector<double> adjust_bh(std::span<const double> p) { return step_up(p, 1.0); }

std::vector<double> adjust_by(std::span<const double> p) {
  const size_t m = count_tests(p);
  double c = 0;
  for (size_t k = 1; k <= m; ++k) c += 1.0 / static_cast<double>(k);
  return step_up(p, c);
}

std::vector<double> adjust_bonferroni(std::span<const double> p) {
  const double m = static_cast<double>(count_tests(p));
  std::vector<double> out(p.size());
  for (size_t i = 0; i < p.size(); ++i) out[i] = std::isnan(p[i]) ? p[i] : std::min(1.0, m * p[i]);
  return out;
}

}  // namespace spectra::stats
