// mechanism.csv, mechanism_layers.csv, budget.csv, budget_layers.csv; see
// mechanism_tables.hpp.
#include "stats/mechanism_tables.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "stats/null_controls.hpp"
#include "stats/run_tables.hpp"

namespace spectra::stats {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();


double median_of(std::vector<double> v) { return v.empty() ? kNaN : percentile_linear(v, 50.0); }

double mean_of(const std::vector<double>& v) {
  if (v.empty()) return kNaN;
  long double s = 0;
  for (double a : v) s += a;
  return static_cast<double>(s / v.size());
}

}  // namespace

std::string mechanism_csv(const std::vector<HeadStats>& heads, const std::vector<MechanismStats>& ms) {
  std::string out =
      "layer,head,n,docs,r,r_ci_low,r_ci_high,r_fix,r_fix_ci_low,r_fix_ci_high,fraction_norm,fraction_note,norm_"
      "dominant,"
      "var_ratio_norm,slope_n,slope_docs,neg_var_median,slope,slope_ci_low,slope_ci_high,slope_ratio,slope_agrees,"
      "note\n";
  for (size_t i = 0; i < heads.size() && i < ms.size(); ++i) {
    const MechanismStats& m = ms[i];
    CsvRow l;
    l.integer(heads[i].id.layer).integer(heads[i].id.head).integer(static_cast<int64_t>(m.n));
    l.integer(static_cast<int64_t>(m.docs));
    for (const MetaResult* r : {&m.r_h, &m.r_fix}) {
      if (r->defined())
        l.num(r->r).num(r->ci_low).num(r->ci_high);
      else
        l.num(kNaN).num(kNaN).num(kNaN);
    }
    l.num(m.fraction_norm).text(m.fraction_note).num(m.norm_dominant).num(m.var_ratio_norm);
    l.integer(static_cast<int64_t>(m.slope_n)).integer(static_cast<int64_t>(m.slope_docs)).num(m.neg_var_median);
    l.num(m.slope).num(m.slope_ci_low).num(m.slope_ci_high).num(m.slope_ratio).flag(m.slope_agrees).text(m.note);
    out += l.line();
  }
  return out;
}

std::string mechanism_layers_csv(const std::vector<HeadStats>& heads, const std::vector<MechanismStats>& ms) {
  struct Acc {
    int64_t heads = 0, measured = 0, norm = 0, dir = 0, agree = 0;
    std::vector<double> frac, var, ratio;
  };
  std::map<int32_t, Acc> layers;
  for (size_t i = 0; i < heads.size() && i < ms.size(); ++i) {
    Acc& a = layers[heads[i].id.layer];
    const MechanismStats& m = ms[i];
    ++a.heads;
    a.measured += m.n > 0;
    if (std::isfinite(m.fraction_norm)) a.frac.push_back(m.fraction_norm);
    if (std::isfinite(m.norm_dominant)) (m.norm_dominant > 0.5 ? a.norm : a.dir)++;
    if (std::isfinite(m.var_ratio_norm)) a.var.push_back(m.var_ratio_norm);
    if (std::isfinite(m.slope_ratio)) a.ratio.push_back(m.slope_ratio), a.agree += m.slope_agrees;
  }
  std::string out =
      "layer,heads,heads_measured,heads_fraction_defined,median_fraction_norm,heads_norm_dominant,"
      "heads_direction_dominant,mean_var_ratio_norm,heads_slope_defined,median_slope_ratio,heads_slope_agree\n";
  for (auto& [layer, a] : layers) {
    CsvRow l;
    l.integer(layer).integer(a.heads).integer(a.measured).integer(static_cast<int64_t>(a.frac.size()));
    l.num(median_of(a.frac)).integer(a.norm).integer(a.dir).num(mean_of(a.var));
    l.integer(static_cast<int64_t>(a.ratio.size())).num(median_of(a.ratio)).integer(a.agree);
    out += l.line();
  }
  return out;
}

std::string budget_csv(const std::vector<HeadStats>& heads, const std::vector<BudgetStats>& bs) {
  std::string out =
      "layer,head,n_fit,n_eval,docs_fit,docs_eval,fixed_budget_fit,fit_coverage,mean_budget,dir_qnorm,dir_position";
  for (const char* p : kBudgetPolicyNames) out += std::string(",coverage_") + p;
  for (const char* p : kBudgetPolicyNames) out += std::string(",budget_") + p;
  out += ",gain_qnorm_vs_fixed,gain_qnorm_position_vs_position,note\n";
  for (size_t i = 0; i < heads.size() && i < bs.size(); ++i) {
    const BudgetStats& b = bs[i];
    CsvRow l;
    l.integer(heads[i].id.layer).integer(heads[i].id.head);
    l.integer(static_cast<int64_t>(b.n_fit)).integer(static_cast<int64_t>(b.n_eval));
    l.integer(static_cast<int64_t>(b.docs_fit)).integer(static_cast<int64_t>(b.docs_eval));
    l.num(b.fixed_budget_fit).num(b.fit_coverage).num(b.mean_budget).integer(b.dir_qnorm).integer(b.dir_position);
    for (double c : b.coverage) l.num(c);
    for (double c : b.eval_budget) l.num(c);
    l.num(b.coverage[kQnorm] - b.coverage[kFixed]).num(b.coverage[kQnormPosition] - b.coverage[kPosition]);
    l.text(b.note);
    out += l.line();
  }
  return out;
}

std::string budget_layers_csv(const std::vector<HeadStats>& heads, const std::vector<BudgetStats>& bs) {
  struct Acc {
    int64_t heads = 0, q_better = 0, q_adds = 0;
    std::vector<double> cov[kBudgetPolicies], g1, g2;
  };
  std::map<int32_t, Acc> layers;
  for (size_t i = 0; i < heads.size() && i < bs.size(); ++i) {
    Acc& a = layers[heads[i].id.layer];
    const BudgetStats& b = bs[i];
    ++a.heads;
    if (!b.defined()) continue;
    for (int p = 0; p < kBudgetPolicies; ++p) a.cov[p].push_back(b.coverage[p]);
    const double g1 = b.coverage[kQnorm] - b.coverage[kFixed], g2 = b.coverage[kQnormPosition] - b.coverage[kPosition];
    a.g1.push_back(g1), a.g2.push_back(g2);
    a.q_better += g1 > kBudgetGainMargin;
    a.q_adds += g2 > kBudgetGainMargin;
  }
  std::string out = "layer,heads,heads_defined";
  for (const char* p : kBudgetPolicyNames) out += std::string(",mean_coverage_") + p;
  out +=
      ",mean_gain_qnorm_vs_fixed,mean_gain_qnorm_position_vs_position,heads_qnorm_better_than_fixed,"
      "heads_qnorm_adds_over_position\n";
  for (auto& [layer, a] : layers) {
    CsvRow l;
    l.integer(layer).integer(a.heads).integer(static_cast<int64_t>(a.g1.size()));
    for (int p = 0; p < kBudgetPolicies; ++p) l.num(mean_of(a.cov[p]));
    l.num(mean_of(a.g1)).num(mean_of(a.g2)).integer(a.q_better).integer(a.q_adds);
    out += l.line();
  }
  return out;
}

}  // namespace spectra::stats
