// Norm-channel decomposition and temperature slope; see mechanism.hpp.
#include "stats/mechanism.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "stats/correlation.hpp"
#include "stats/null_controls.hpp"
#include "stats/p_values.hpp"
#include "stats/position_residuals.hpp"
#include "stats/within_document.hpp"

namespace spectra::stats {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

long double sum_sq(std::span<const double> v) {
  long double s = 0;
  for (double a : v) s += static_cast<long double>(a) * a;
  return s;
}

void add(std::string& note, const std::string& what) {
  if (!note.empty()) note += "; ";
  note += what;
}

void decomposition(const HeadData& d, const AnalysisConfig& cfg, MechanismStats& m) {
  std::vector<double> z, v, zf, vf;
  long double ss_delta = 0, ss_h = 0;
  const size_t min_n = static_cast<size_t>(cfg.min_doc_positions);
  for (size_t k = 0; k + 1 < d.doc_offsets.size(); ++k) {
    std::vector<int32_t> pos;
    std::vector<double> x, y, f;
    for (size_t i = d.doc_offsets[k]; i < d.doc_offsets[k + 1]; ++i) {
      if (!std::isfinite(d.entropy_fixed[i])) continue;
      pos.push_back(d.pos[i]), x.push_back(d.q_norm[i]), y.push_back(d.entropy[i]), f.push_back(d.entropy_fixed[i]);
    }
    m.n += x.size();
    if (x.size() < min_n) continue;
    std::vector<double> ex = x, ey = y, ef = f;
    std::vector<double>* ys[] = {&ex, &ey, &ef};
    residualize(pos, cfg.spline_knots, ys);
    const DocCorr c = correlate_residuals(ex, ey, x, y);
    if (!c.enters) continue;
    double rf = 0, nf = c.n_eff;
    if (!residual_is_flat(ef, f)) {
      rf = pearson_r(ex, ef);
      if (std::isnan(rf)) continue;
      nf = std::max(4.0, effective_n(ex.size(), lag1_autocorrelation(ex), lag1_autocorrelation(ef)));
    }
    ++m.docs;
    z.push_back(fisher_z(c.r)), v.push_back(1.0 / (c.n_eff - 3.0));
    zf.push_back(fisher_z(rf)), vf.push_back(1.0 / (nf - 3.0));
    for (size_t i = 0; i < ey.size(); ++i) {
      const long double dl = static_cast<long double>(ey[i]) - ef[i];
      ss_delta += dl * dl;
    }
    ss_h += sum_sq(ey);
  }
  m.r_h = dersimonian_laird(z, v, cfg.confidence);
  m.r_fix = dersimonian_laird(zf, vf, cfg.confidence);
  m.fraction_norm = m.var_ratio_norm = m.norm_dominant = kNaN;
  if (m.n == 0) {
    m.fraction_note = "not measured";
    add(m.note, std::string("not measured in this run: needs ") + kMechanismNeeds);
    return;
  }
  if (!m.r_h.defined()) {
    m.fraction_note = "no document with a defined within-document r";
    return;
  }
  if (ss_h > 0) m.var_ratio_norm = static_cast<double>(ss_delta / ss_h);
  const double r = m.r_h.r, rf = m.r_fix.r;
  if (std::fabs(r) < kMinAbsRForFraction) {
    m.fraction_note = "|r| < 0.05: no association to decompose";
  } else if (r * rf < 0) {
    m.fraction_note = "r_fix has the opposite sign of r (the norm channel carries more than all of it)";
    m.norm_dominant = 1;
  } else {
    m.fraction_norm = 1.0 - rf / r;
    m.norm_dominant = m.fraction_norm >= 0.5 ? 1 : 0;
  }
}

void temperature_slope(const HeadData& d, const AnalysisConfig& cfg, MechanismStats& m) {
  std::vector<double> b, v, nv;
  const size_t min_n = static_cast<size_t>(cfg.min_doc_positions);
  const double basis_cols = cfg.spline_knots + 1.0;
  for (size_t k = 0; k + 1 < d.doc_offsets.size(); ++k) {
    std::vector<int32_t> pos;
    std::vector<double> x, y;
    for (size_t i = d.doc_offsets[k]; i < d.doc_offsets[k + 1]; ++i) {
      if (!std::isfinite(d.neg_var[i]) || !(d.q_norm[i] > 0)) continue;
      pos.push_back(d.pos[i]), x.push_back(std::log(d.q_norm[i])), y.push_back(d.entropy[i]);
      nv.push_back(d.neg_var[i]);
    }
    m.slope_n += x.size();
    if (x.size() < min_n) continue;
    std::vector<double> ex = x, ey = y;
    std::vector<double>* ys[] = {&ex, &ey};
    residualize(pos, cfg.spline_knots, ys);
    if (residual_is_flat(ex, x)) continue;
    const long double sxx = sum_sq(ex);
    long double sxy = 0;
    for (size_t i = 0; i < ex.size(); ++i) sxy += static_cast<long double>(ex[i]) * ey[i];
    const double slope = static_cast<double>(sxy / sxx);
    std::vector<double> res(ex.size());
    for (size_t i = 0; i < ex.size(); ++i) res[i] = ey[i] - slope * ex[i];
    const double n = static_cast<double>(ex.size());
    const double df = n - basis_cols - 1.0;
    if (df < 1) continue;
    const double sigma2 = static_cast<double>(sum_sq(res)) / df;
    const double ne = effective_n(ex.size(), lag1_autocorrelation(ex), lag1_autocorrelation(res));
    if (!(ne >= 4.0)) continue;
    const double var = std::max(1e-20, sigma2 / static_cast<double>(sxx) * n / ne);
    b.push_back(slope), v.push_back(var);
  }
  m.slope_docs = b.size();
  m.neg_var_median = m.slope = m.slope_se = m.slope_ci_low = m.slope_ci_high = m.slope_ratio = kNaN;
  if (m.slope_n == 0) {
    add(m.note, std::string("not measured in this run: needs ") + kSlopeNeeds);
    return;
  }
  m.neg_var_median = percentile_linear(nv, 50.0);
  if (b.empty()) return;
  const MetaResult mr = dersimonian_laird(b, v, cfg.confidence);
  const double h = normal_quantile(0.5 + cfg.confidence / 2.0);
  m.slope = mr.z;
  m.slope_se = mr.se;
  m.slope_ci_low = mr.z - h * mr.se;
  m.slope_ci_high = mr.z + h * mr.se;
  if (std::fabs(m.neg_var_median) >= 1e-9) {
    m.slope_ratio = m.slope / m.neg_var_median;
    m.slope_agrees = m.slope_ratio >= kSlopeAgreeLow && m.slope_ratio <= kSlopeAgreeHigh;
  }
}

}  // namespace

MechanismStats compute_mechanism(const HeadData& d, const AnalysisConfig& cfg) {
  MechanismStats m;
  decomposition(d, cfg, m);
  temperature_slope(d, cfg, m);
  return m;
}

}  // namespace spectra::stats
