// Within-document, position-controlled statistic, its cross-document null and
// split halves; see within_document.hpp.
#include "stats/within_document.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "stats/correlation.hpp"
#include "stats/position_residuals.hpp"
#include "stats/rng.hpp"

namespace spectra::stats {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kTieTolerance = 1e-12;

DocCorr correlate_on_positions(std::span<const int32_t> pos, std::vector<double> x, std::vector<double> y, int knots) {
  std::vector<double> ex = x, ey = y;
  std::vector<double>* ys[] = {&ex, &ey};
  residualize(pos, knots, ys);
  return correlate_residuals(ex, ey, x, y);
}

}  // namespace

double fisher_z(double r) { return std::atanh(std::clamp(r, -1.0 + 1e-12, 1.0 - 1e-12)); }

DocCorr correlate_residuals(std::span<const double> ex, std::span<const double> ey, std::span<const double> x,
                            std::span<const double> y) {
  DocCorr c;
  if (residual_is_flat(ex, x) || residual_is_flat(ey, y)) return c;
  c.r = pearson_r(ex, ey);
  c.n_eff = effective_n(ex.size(), lag1_autocorrelation(ex), lag1_autocorrelation(ey));
  c.enters = !std::isnan(c.r) && c.n_eff >= 4.0;
  return c;
}

std::vector<uint8_t> split_halves(std::span<const uint32_t> groups, uint64_t seed) {
  uint32_t G = 0;
  for (uint32_t g : groups) G = std::max(G, g + 1);
  std::vector<uint32_t> order(G);
  for (uint32_t g = 0; g < G; ++g) order[g] = g;
  Rng rng(head_seed(seed, -1, -1, 4));
  for (size_t i = G; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  std::vector<uint8_t> group_half(G, 1);
  for (uint32_t i = 0; i < (G + 1) / 2; ++i) group_half[order[i]] = 0;
  std::vector<uint8_t> half(groups.size());
  for (size_t d = 0; d < groups.size(); ++d) half[d] = group_half[groups[d]];
  return half;
}

WithinDocStats within_document_statistics(std::span<const double> x, std::span<const double> y,
                                          std::span<const int32_t> pos, std::span<const size_t> doc_offsets,
                                          std::span<const uint8_t> half, const AnalysisConfig& cfg, uint64_t seed) {
  WithinDocStats s;
  const size_t D = doc_offsets.size() - 1;
  const size_t min_n = static_cast<size_t>(cfg.min_doc_positions);
  s.doc_r.assign(D, kNaN);
  s.doc_n_eff.assign(D, kNaN);
  std::vector<std::vector<double>> ex(D), ey(D);
  std::vector<size_t> eligible;  // n_d ≥ min_doc_positions
  auto seg = [&](auto sp, size_t d) { return sp.subspan(doc_offsets[d], doc_offsets[d + 1] - doc_offsets[d]); };
  std::vector<double> z, v, za, va, zb, vb;
  for (size_t d = 0; d < D; ++d) {
    const size_t n = doc_offsets[d + 1] - doc_offsets[d];
    if (n < min_n) continue;
    eligible.push_back(d);
    ex[d].assign(seg(x, d).begin(), seg(x, d).end());
    ey[d].assign(seg(y, d).begin(), seg(y, d).end());
    std::vector<double>* ys[] = {&ex[d], &ey[d]};
    residualize(seg(pos, d), cfg.spline_knots, ys);
    const DocCorr c = correlate_residuals(ex[d], ey[d], seg(x, d), seg(y, d));
    if (!c.enters) continue;
    s.doc_r[d] = c.r;
    s.doc_n_eff[d] = c.n_eff;
    ++s.docs;
    const double zd = fisher_z(c.r), vd = 1.0 / (c.n_eff - 3.0);
    z.push_back(zd), v.push_back(vd);
    if (d < half.size() && half[d] == 0) za.push_back(zd), va.push_back(vd);
    else zb.push_back(zd), vb.push_back(vd);
  }
  s.meta = dersimonian_laird(z, v, cfg.confidence);
  s.half_a = dersimonian_laird(za, va, cfg.confidence);
  s.half_b = dersimonian_laird(zb, vb, cfg.confidence);

  // Cross-document null over random derangements of the eligible documents.
  NullSummary& nu = s.cross;
  nu.permutations = cfg.permutations;
  nu.r_obs = s.meta.r;
  const size_t m = eligible.size();
  if (m < 2 || cfg.permutations <= 0 || !s.meta.defined()) {
    nu.mean_r = nu.mean_abs_r = nu.q95_abs_r = nu.p_two = nu.p_less = kNaN;
    return s;
  }
  struct Pair {
    bool done = false;
    DocCorr c;
  };
  std::vector<Pair> cache(m * m);
  auto pair = [&](size_t i, size_t j) -> const DocCorr& {
    Pair& p = cache[i * m + j];
    if (p.done) return p.c;
    p.done = true;
    const size_t a = eligible[i], b = eligible[j];
    auto pa = seg(pos, a), pb = seg(pos, b);
    if (std::equal(pa.begin(), pa.end(), pb.begin(), pb.end())) {
      p.c = correlate_residuals(ex[a], ey[b], seg(x, a), seg(y, b));
      return p.c;
    }
    std::vector<int32_t> common;
    std::vector<double> xa, yb;
    size_t ia = 0, ib = 0;
    while (ia < pa.size() && ib < pb.size()) {
      if (pa[ia] < pb[ib]) ++ia;
      else if (pb[ib] < pa[ia]) ++ib;
      else {
        common.push_back(pa[ia]);
        xa.push_back(x[doc_offsets[a] + ia]);
        yb.push_back(y[doc_offsets[b] + ib]);
        ++ia, ++ib;
      }
    }
    if (common.size() >= min_n) p.c = correlate_on_positions(common, std::move(xa), std::move(yb), cfg.spline_knots);
    return p.c;
  };
  Rng rng(seed);
  std::vector<size_t> perm(m);
  std::vector<double> nulls;
  nulls.reserve(static_cast<size_t>(cfg.permutations));
  for (int k = 0; k < cfg.permutations; ++k) {
    bool fixed = true;
    while (fixed) {
      for (size_t i = 0; i < m; ++i) perm[i] = i;
      for (size_t i = m; i > 1; --i) std::swap(perm[i - 1], perm[rng.below(i)]);
      fixed = false;
      for (size_t i = 0; i < m; ++i) fixed = fixed || perm[i] == i;
    }
    z.clear(), v.clear();
    for (size_t i = 0; i < m; ++i) {
      const DocCorr& c = pair(i, perm[i]);
      if (!c.enters) continue;
      z.push_back(fisher_z(c.r));
      v.push_back(1.0 / (c.n_eff - 3.0));
    }
    const MetaResult mr = dersimonian_laird(z, v, cfg.confidence);
    if (mr.defined()) nulls.push_back(mr.r);
  }
  if (nulls.empty()) {
    nu.mean_r = nu.mean_abs_r = nu.q95_abs_r = nu.p_two = nu.p_less = kNaN;
    return s;
  }
  const double K = static_cast<double>(nulls.size());
  nu.permutations = static_cast<int>(nulls.size());
  long double sum = 0, sum_abs = 0;
  std::vector<double> abs_r(nulls.size());
  for (size_t k = 0; k < nulls.size(); ++k) {
    sum += nulls[k];
    sum_abs += std::fabs(nulls[k]);
    abs_r[k] = std::fabs(nulls[k]);
    if (std::fabs(nulls[k]) >= std::fabs(nu.r_obs) - kTieTolerance) ++nu.b_two;
    if (nulls[k] <= nu.r_obs + kTieTolerance) ++nu.b_less;
  }
  nu.mean_r = static_cast<double>(sum / K);
  nu.mean_abs_r = static_cast<double>(sum_abs / K);
  nu.q95_abs_r = percentile_linear(abs_r, 95.0);
  nu.p_two = (nu.b_two + 1.0) / (K + 1.0);
  nu.p_less = (nu.b_less + 1.0) / (K + 1.0);
  return s;
}

}  // namespace spectra::stats
