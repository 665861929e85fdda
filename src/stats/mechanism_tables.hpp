#pragma once
// The issue-#14 tables of a run folder (written by write_analysis beside the
// run tables, same number format: shortest round-trip text, "nan" for
// undefined; booleans 0/1). Definitions: mechanism.hpp and budget.hpp.
//
// mechanism.csv: one row per (layer, head), ordered by layer then head:
//   layer, head, n, docs,
//   r, r_ci_low, r_ci_high,                pooled within-document r(‖q‖, H)
//   r_fix, r_fix_ci_low, r_fix_ci_high,    the same with H_fix
//   fraction_norm, fraction_note,          1 − r_fix/r (NaN + why when undefined)
//   norm_dominant,                         1 / 0 / nan (mechanism.hpp)
//   var_ratio_norm,                        Σ SS(e_H − e_Hfix)/Σ SS(e_H)
//   slope_n, slope_docs, neg_var_median,   temperature slope: median −Var_p(s)
//   slope, slope_ci_low, slope_ci_high,    observed dH/d ln‖q‖ (within documents,
//                                          position controlled, pooled)
//   slope_ratio, slope_agrees, note
//   (n = 0 and slope_n = 0 with note "not measured in this run: needs ...":
//    the tuples lack the column, e.g. a run written before #14)
//
// mechanism_layers.csv: one row per layer:
//   layer, heads, heads_measured, heads_fraction_defined, median_fraction_norm,
//   heads_norm_dominant, heads_direction_dominant (norm_dominant 1 / 0),
//   mean_var_ratio_norm, heads_slope_defined, median_slope_ratio,
//   heads_slope_agree
//
// budget.csv: one row per (layer, head):
//   layer, head, n_fit, n_eval, docs_fit, docs_eval, fixed_budget_fit,
//   fit_coverage, mean_budget, dir_qnorm, dir_position,
//   coverage_fixed, coverage_position, coverage_qnorm, coverage_qnorm_position,
//   coverage_prev_k,                        held-out coverage at mean budget B*
//   budget_fixed, …, budget_prev_k,         realised held-out mean budgets
//   gain_qnorm_vs_fixed, gain_qnorm_position_vs_position, note
//
// budget_layers.csv: one row per layer: layer, heads, heads_defined, the mean
//   held-out coverage of each policy (mean_coverage_fixed, …) over the heads
//   with defined coverage, mean_gain_qnorm_vs_fixed,
//   mean_gain_qnorm_position_vs_position, heads_qnorm_better_than_fixed,
//   heads_qnorm_adds_over_position (gain > 0.01, one percentage point)
#include <string>
#include <vector>

#include "stats/budget.hpp"
#include "stats/head_statistics.hpp"
#include "stats/mechanism.hpp"

namespace spectra::stats {

inline constexpr double kBudgetGainMargin = 0.01;

std::string mechanism_csv(const std::vector<HeadStats>& heads, const std::vector<MechanismStats>& m);
std::string mechanism_layers_csv(const std::vector<HeadStats>& heads, const std::vector<MechanismStats>& m);
std::string budget_csv(const std::vector<HeadStats>& heads, const std::vector<BudgetStats>& b);
std::string budget_layers_csv(const std::vector<HeadStats>& heads, const std::vector<BudgetStats>& b);

}  // namespace spectra::stats
