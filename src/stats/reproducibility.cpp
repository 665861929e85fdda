// Across-document summaries of one head; see reproducibility.hpp.
#include "stats/reproducibility.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace spectra::stats {

namespace {
int sign(double v) { return v > 0 ? 1 : (v < 0 ? -1 : 0); }
}  // namespace

bool doc_meets(double r_d, double pooled_r, const AnalysisConfig& cfg) {
  if (std::isnan(r_d)) return false;
  switch (cfg.direction) {
    case Direction::Negative: return r_d <= -cfg.doc_r_threshold;
    case Direction::Positive: return r_d >= cfg.doc_r_threshold;
    case Direction::Both:
      return sign(r_d) != 0 && sign(r_d) == sign(pooled_r) && std::fabs(r_d) >= cfg.doc_r_threshold;
  }
  return false;
}

Reproducibility reproducibility(std::span<const double> doc_r, double pooled_r, const AnalysisConfig& cfg) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Reproducibility rep;
  long double sum = 0, zsum = 0;
  size_t agree = 0, meet = 0;
  std::vector<double> z;
  for (double r : doc_r) {
    if (std::isnan(r)) continue;
    ++rep.docs;
    sum += r;
    if (sign(r) != 0 && sign(r) == sign(pooled_r)) ++agree;
    if (doc_meets(r, pooled_r, cfg)) ++meet;
    const double rc = std::clamp(r, -1.0 + 1e-12, 1.0 - 1e-12);
    z.push_back(std::atanh(rc));
    zsum += z.back();
  }
  const size_t D = rep.docs;
  if (D == 0) {
    rep.doc_r_mean = rep.doc_r_sd = rep.sign_agreement = rep.frac_meeting = nan;
    rep.fisher_z_mean = rep.fisher_t = rep.fisher_df = nan;
    rep.fisher_p = nan_p_values();
    return rep;
  }
  const long double mean = sum / D, zmean = zsum / D;
  rep.doc_r_mean = static_cast<double>(mean);
  rep.fisher_z_mean = static_cast<double>(zmean);
  rep.sign_agreement = static_cast<double>(agree) / static_cast<double>(D);
  rep.frac_meeting = static_cast<double>(meet) / static_cast<double>(D);
  if (D < 2) {
    rep.doc_r_sd = rep.fisher_t = rep.fisher_df = nan;
    rep.fisher_p = nan_p_values();
    return rep;
  }
  long double ss = 0, zss = 0;
  size_t k = 0;
  for (double r : doc_r) {
    if (std::isnan(r)) continue;
    ss += (r - mean) * (r - mean);
    zss += (z[k] - zmean) * (z[k] - zmean);
    ++k;
  }
  rep.doc_r_sd = static_cast<double>(std::sqrt(ss / (D - 1)));
  const long double zsd = std::sqrt(zss / (D - 1));
  rep.fisher_df = static_cast<double>(D - 1);
  if (zsd > 0) {
    rep.fisher_t = static_cast<double>(zmean / (zsd / std::sqrt(static_cast<long double>(D))));
    rep.fisher_p = t_test_p(rep.fisher_t, rep.fisher_df);
  } else {
    rep.fisher_t = nan;
    rep.fisher_p = nan_p_values();
  }
  return rep;
}

}  // namespace spectra::stats
