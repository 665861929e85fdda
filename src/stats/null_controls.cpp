// Within-document shuffle and circular-shift nulls; see null_controls.hpp.
#include "stats/null_controls.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "stats/rng.hpp"

namespace spectra::stats {

namespace {

constexpr double kTieTolerance = 1e-12;

// Σ a_i b_i with four interleaved double accumulators (vectorises; the order
// is fixed, so the result is deterministic).
double dot(const double* a, const double* b, size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

}  // namespace

double percentile_linear(std::vector<double>& v, double q) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const double pos = q / 100.0 * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return v[lo] + (v[hi] - v[lo]) * frac;
}

NullSummary null_distribution(std::span<const double> x, std::span<const double> y,
                              std::span<const size_t> doc_offsets, NullKind kind, int permutations, uint64_t seed,
                              bool keep_values) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  NullSummary s;
  s.permutations = permutations;
  const size_t n = x.size();
  // Centre on the pooled means (long double), then the normaliser.
  long double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) mx += x[i], my += y[i];
  if (n > 0) mx /= n, my /= n;
  std::vector<double> xc(n), yc(n);
  long double sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    xc[i] = static_cast<double>(x[i] - mx);
    yc[i] = static_cast<double>(y[i] - my);
    sxx += static_cast<long double>(xc[i]) * xc[i];
    syy += static_cast<long double>(yc[i]) * yc[i];
  }
  const double norm = static_cast<double>(std::sqrt(sxx * syy));
  if (n < 3 || !(norm > 0) || permutations <= 0) {
    s.r_obs = s.mean_r = s.mean_abs_r = s.q95_abs_r = s.p_two = s.p_less = nan;
    return s;
  }
  s.r_obs = dot(xc.data(), yc.data(), n) / norm;
  Rng rng(seed);
  std::vector<double> nulls(static_cast<size_t>(permutations));
  std::vector<double> work = yc;  // shuffled in place, one permutation after another
  const size_t ndocs = doc_offsets.size() - 1;
  for (int k = 0; k < permutations; ++k) {
    double num = 0;
    if (kind == NullKind::Shuffle) {
      for (size_t d = 0; d < ndocs; ++d) {
        double* seg = work.data() + doc_offsets[d];
        const size_t len = doc_offsets[d + 1] - doc_offsets[d];
        for (size_t i = len; i > 1; --i) std::swap(seg[i - 1], seg[rng.below(i)]);
      }
      num = dot(xc.data(), work.data(), n);
    } else {
      for (size_t d = 0; d < ndocs; ++d) {
        const size_t b = doc_offsets[d], len = doc_offsets[d + 1] - b;
        if (len < 2) {
          num += dot(xc.data() + b, yc.data() + b, len);
          continue;
        }
        const size_t shift = 1 + rng.below(len - 1);  // y_i → position (i + shift) mod len
        // Σ_i x_{(i+shift) mod len} y_i, in two contiguous pieces
        num += dot(xc.data() + b + shift, yc.data() + b, len - shift);
        num += dot(xc.data() + b, yc.data() + b + (len - shift), shift);
      }
    }
    nulls[k] = std::clamp(num / norm, -1.0, 1.0);
  }
  long double sum = 0, sum_abs = 0;
  const double r_obs = s.r_obs;
  std::vector<double> abs_r(nulls.size());
  for (size_t k = 0; k < nulls.size(); ++k) {
    sum += nulls[k];
    sum_abs += std::fabs(nulls[k]);
    abs_r[k] = std::fabs(nulls[k]);
    if (std::fabs(nulls[k]) >= std::fabs(r_obs) - kTieTolerance) ++s.b_two;
    if (nulls[k] <= r_obs + kTieTolerance) ++s.b_less;
  }
  s.mean_r = static_cast<double>(sum / permutations);
  s.mean_abs_r = static_cast<double>(sum_abs / permutations);
  s.q95_abs_r = percentile_linear(abs_r, 95.0);
  s.p_two = (s.b_two + 1.0) / (permutations + 1.0);
  s.p_less = (s.b_less + 1.0) / (permutations + 1.0);
  if (keep_values) s.null_r = std::move(nulls);
  return s;
}

}  // namespace spectra::stats
