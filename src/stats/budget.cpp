// Held-out attention-budget policies at equal mean budget; see budget.hpp.
#include "stats/budget.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace spectra::stats {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Rows {
  std::vector<double> lq, lt, cap, k, lk, lkprev;  // ln‖q‖, log(t+1), t+1, k, log k, log k(t−1) (NaN: absent)
  std::vector<uint32_t> doc;
};

// x sorted once (ties grouped), so that the repeated isotonic fits of the
// backfitting cost O(n) each.
struct SortedX {
  std::vector<size_t> order;      // row indices by ascending x (stable)
  std::vector<size_t> group_end;  // per distinct x: one past its last position in `order`
  std::vector<double> ux;         // the distinct x values
  explicit SortedX(std::span<const double> x) : order(x.size()) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
    for (size_t i = 0; i < order.size();) {
      size_t j = i;
      while (j < order.size() && x[order[j]] == x[order[i]]) ++j;
      ux.push_back(x[order[i]]);
      group_end.push_back(j);
      i = j;
    }
  }
};

// Pool adjacent violators over the tie groups (non-decreasing in sign·y).
StepFunction isotonic_sorted(const SortedX& sx, std::span<const double> y, bool increasing) {
  StepFunction f;
  f.x = sx.ux;
  f.y.resize(sx.ux.size());
  const double sign = increasing ? 1.0 : -1.0;
  struct Block {
    long double sum, weight;
    size_t end;  // one past the last distinct x of the block
  };
  std::vector<Block> blocks;
  size_t begin = 0;
  for (size_t g = 0; g < sx.ux.size(); ++g) {
    long double sum = 0;
    for (size_t i = begin; i < sx.group_end[g]; ++i) sum += sign * y[sx.order[i]];
    blocks.push_back({sum, static_cast<long double>(sx.group_end[g] - begin), g + 1});
    begin = sx.group_end[g];
    while (blocks.size() > 1) {
      Block& b = blocks.back();
      Block& a = blocks[blocks.size() - 2];
      if (a.sum / a.weight <= b.sum / b.weight) break;
      a.sum += b.sum, a.weight += b.weight, a.end = b.end;
      blocks.pop_back();
    }
  }
  size_t start = 0;
  for (const Block& b : blocks) {
    const double v = sign * static_cast<double>(b.sum / b.weight);
    for (size_t i = start; i < b.end; ++i) f.y[i] = v;
    start = b.end;
  }
  return f;
}

double sse(const StepFunction& f, std::span<const double> x, std::span<const double> y) {
  long double s = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const long double e = y[i] - f(x[i]);
    s += e * e;
  }
  return static_cast<double>(s);
}

// Fit in the better direction; dir = +1 or −1.
StepFunction isotonic_best(const SortedX& sx, std::span<const double> x, std::span<const double> y, int& dir) {
  StepFunction inc = isotonic_sorted(sx, y, true), dec = isotonic_sorted(sx, y, false);
  if (sse(dec, x, y) < sse(inc, x, y)) {
    dir = -1;
    return dec;
  }
  dir = 1;
  return inc;
}

void center(StepFunction& f, std::span<const double> x) {
  long double s = 0;
  for (double v : x) s += f(v);
  const double m = x.empty() ? 0.0 : static_cast<double>(s / x.size());
  for (auto& v : f.y) v -= m;
}

// Mean of min(cap, e^g · e^c), eg = e^g precomputed.
double mean_budget(std::span<const double> eg, std::span<const double> cap, double c) {
  const double scale = std::exp(c);
  double sum = 0;
  for (size_t i = 0; i < eg.size(); ++i) sum += std::min(cap[i], eg[i] * scale);
  return sum / static_cast<double>(eg.size());
}

// The shift c whose mean budget over the rows is `target` (bisection).
double match_level(std::span<const double> g, std::span<const double> eg, std::span<const double> cap,
                   double target) {
  const auto [gmin, gmax] = std::minmax_element(g.begin(), g.end());
  const double capmax = *std::max_element(cap.begin(), cap.end());
  double lo = std::log(1e-9) - *gmax, hi = std::log(2.0 * capmax) - *gmin;
  if (mean_budget(eg, cap, hi) <= target) return hi;  // every budget capped at t + 1
  for (int it = 0; it < kBisectionSteps && hi - lo > kBisectionTolerance; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (mean_budget(eg, cap, mid) < target) lo = mid;
    else hi = mid;
  }
  return hi;
}

}  // namespace

double StepFunction::operator()(double v) const {
  if (x.empty()) return kNaN;
  auto it = std::upper_bound(x.begin(), x.end(), v);
  if (it == x.begin()) return y.front();
  return y[static_cast<size_t>(it - x.begin()) - 1];
}

StepFunction isotonic_fit(std::span<const double> x, std::span<const double> y, bool increasing) {
  return isotonic_sorted(SortedX(x), y, increasing);
}

BudgetStats compute_budget(const HeadData& d, const AnalysisConfig& /*cfg*/, std::span<const uint8_t> half) {
  BudgetStats s;
  Rows fit, ev;
  std::vector<uint8_t> doc_seen_fit(d.docs(), 0), doc_seen_ev(d.docs(), 0);
  for (size_t k = 0; k < d.docs(); ++k)
    for (size_t i = d.doc_offsets[k]; i < d.doc_offsets[k + 1]; ++i) {
      const double kb = d.k_budget[i];
      if (!std::isfinite(kb) || kb < 1 || !(d.q_norm[i] > 0)) continue;
      const bool is_fit = k < half.size() && half[k] == 0;
      Rows& r = is_fit ? fit : ev;
      (is_fit ? doc_seen_fit : doc_seen_ev)[k] = 1;
      r.lq.push_back(std::log(d.q_norm[i]));
      r.lt.push_back(std::log(d.pos[i] + 1.0));
      r.cap.push_back(d.pos[i] + 1.0);
      r.k.push_back(kb);
      r.lk.push_back(std::log(kb));
      r.lkprev.push_back(std::isfinite(d.k_prev[i]) && d.k_prev[i] >= 1 ? std::log(d.k_prev[i]) : kNaN);
      r.doc.push_back(static_cast<uint32_t>(k));
    }
  s.n_fit = fit.k.size();
  s.n_eval = ev.k.size();
  s.docs_fit = static_cast<size_t>(std::count(doc_seen_fit.begin(), doc_seen_fit.end(), 1));
  s.docs_eval = static_cast<size_t>(std::count(doc_seen_ev.begin(), doc_seen_ev.end(), 1));
  s.fixed_budget_fit = s.fit_coverage = s.mean_budget = kNaN;
  s.coverage.fill(kNaN);
  s.eval_budget.fill(kNaN);
  if (s.n_fit == 0 && s.n_eval == 0) {
    s.note = std::string("not measured in this run: needs ") + kBudgetNeeds;
    return s;
  }
  if (s.n_fit == 0 || s.n_eval == 0) {
    s.note = "needs documents with k_budget in both halves of the split";
    return s;
  }
  // Level: the fixed budget with 90% coverage on the fit half.
  {
    std::vector<double> k = fit.k;
    std::sort(k.begin(), k.end());
    const size_t idx = static_cast<size_t>(std::ceil(kBudgetFitCoverage * static_cast<double>(k.size()) - 1e-9));
    s.fixed_budget_fit = k[std::max<size_t>(idx, 1) - 1];
    size_t covered = 0;
    long double mb = 0;
    for (size_t i = 0; i < fit.k.size(); ++i) {
      covered += fit.k[i] <= s.fixed_budget_fit;
      mb += std::min(fit.cap[i], s.fixed_budget_fit);
    }
    s.fit_coverage = static_cast<double>(covered) / static_cast<double>(fit.k.size());
    s.mean_budget = static_cast<double>(mb / fit.k.size());
  }
  // Fits on half A.
  const SortedX sx_t(fit.lt), sx_q(fit.lq);
  const StepFunction f_pos = isotonic_best(sx_t, fit.lt, fit.lk, s.dir_position);
  const StepFunction f_q = isotonic_best(sx_q, fit.lq, fit.lk, s.dir_qnorm);
  long double mlk = 0;
  for (double v : fit.lk) mlk += v;
  const double m = static_cast<double>(mlk / fit.lk.size());
  StepFunction f1, f2;
  {
    std::vector<double> res(fit.lk.size());
    f2.x = {fit.lt.front()}, f2.y = {0.0};
    for (int it = 0; it < kBackfitIterations; ++it) {
      for (size_t i = 0; i < res.size(); ++i) res[i] = fit.lk[i] - m - f2(fit.lt[i]);
      f1 = isotonic_sorted(sx_q, res, s.dir_qnorm > 0);
      center(f1, fit.lq);
      for (size_t i = 0; i < res.size(); ++i) res[i] = fit.lk[i] - m - f1(fit.lq[i]);
      f2 = isotonic_sorted(sx_t, res, s.dir_position > 0);
      center(f2, fit.lt);
    }
  }
  // Scores on half B, matched to the common level.
  std::array<std::vector<double>, kBudgetPolicies> g;
  for (auto& v : g) v.resize(s.n_eval);
  for (size_t i = 0; i < s.n_eval; ++i) {
    g[kFixed][i] = 0.0;
    g[kPosition][i] = f_pos(ev.lt[i]);
    g[kQnorm][i] = f_q(ev.lq[i]);
    g[kQnormPosition][i] = m + f1(ev.lq[i]) + f2(ev.lt[i]);
    g[kPrevK][i] = std::isnan(ev.lkprev[i]) ? m : ev.lkprev[i];
  }
  std::vector<double> eg(s.n_eval);
  for (int p = 0; p < kBudgetPolicies; ++p) {
    for (size_t i = 0; i < s.n_eval; ++i) eg[i] = std::exp(g[p][i]);
    const double c = match_level(g[p], eg, ev.cap, s.mean_budget);
    const double scale = std::exp(c);
    size_t covered = 0;
    long double mb = 0;
    for (size_t i = 0; i < s.n_eval; ++i) {
      const double b = std::min(ev.cap[i], eg[i] * scale);
      covered += b >= ev.k[i] * (1.0 - kCoverTolerance);
      mb += b;
    }
    s.coverage[p] = static_cast<double>(covered) / static_cast<double>(s.n_eval);
    s.eval_budget[p] = static_cast<double>(mb / s.n_eval);
  }
  return s;
}

}  // namespace spectra::stats
