#pragma once
// Issue #14, per head: could ‖q‖ (known before attention) set a per-token
// attention budget? Held-out evaluation of monotone budget policies at the
// same mean budget.
//
// Target: k_P(t), the tuple column k_budget (the smallest number of keys whose
// largest attention weights sum to ≥ P). Rows: pos ≥ min_position with a
// finite k_budget ≥ 1 (a run without such rows: "not measured in this run:
// needs k_budget"). Documents, not tokens, are the unit of the split: the fit
// half is half A of the decision's seeded source-file split (docs.csv `half`,
// within_document.hpp split_halves), the evaluation half is half B.
//
// Policies (each gives a log-budget score g(t); the budget is
// b_t = min(t + 1, exp(g(t) + c)), capped at the visible keys):
//   fixed          g = 0 (one budget for every token of the head)
//   position       g = f(log(t+1)), f isotonic (pool-adjacent-violators)
//                  regression of log k on log(t+1) over the fit half
//   qnorm          g = f(ln‖q‖), isotonic regression of log k on ln‖q‖
//   qnorm_position g = m + f1(ln‖q‖) + f2(log(t+1)): additive isotonic model
//                  fitted by backfitting (kBackfitIterations rounds: f1 on
//                  the partial residual log k − m − f2, centred; then f2 on
//                  log k − m − f1, centred), each component's direction that
//                  of the matching one-variable fit
//   prev_k         g = log k_P(t − 1) of the same document (known at
//                  inference time); the fit half's mean log k where the
//                  previous row is absent
// The direction (increasing or decreasing) of every isotonic fit is chosen on
// the fit half: the one with the smaller squared error (increasing on ties).
// Ties in x are pooled before PAV; a fitted step function is evaluated at a
// new x as the value of the largest fitted x ≤ x (the smallest fitted x's
// value below the range).
//
// Equal budget: the common mean budget level B* is that of the fixed budget
// reaching 90% coverage on the fit half: b90 = the smallest fit-half k with
// at least 90% of the fit-half k ≤ b90, and B* = mean over fit-half rows of
// min(t + 1, b90). On the evaluation half each policy's shift c is found by
// bisection (until the bracket on c is narrower than kBisectionTolerance:
// budgets set to a relative 1e-10) so that its mean budget over the
// evaluation rows equals B* (all budgets capped: when B* ≥ the mean of t + 1
// every budget is t + 1). This only sets the budget level; it never looks at
// whether a budget covers its token. Coverage = fraction of evaluation rows
// with b_t ≥ k_P(t)·(1 − kCoverTolerance): a budget equal to k up to rounding
// covers it (when the two halves have the same lengths, the matched fixed
// budget is exactly the integer b90, and the last bits of the bisection must
// not decide).
#include <array>
#include <span>
#include <string>
#include <vector>

#include "stats/analysis_config.hpp"
#include "stats/head_data.hpp"

namespace spectra::stats {

inline constexpr int kBudgetPolicies = 5;
inline constexpr const char* kBudgetPolicyNames[kBudgetPolicies] = {"fixed", "position", "qnorm", "qnorm_position",
                                                                    "prev_k"};
enum BudgetPolicy { kFixed = 0, kPosition = 1, kQnorm = 2, kQnormPosition = 3, kPrevK = 4 };
inline constexpr double kBudgetFitCoverage = 0.9;
inline constexpr int kBackfitIterations = 10;
inline constexpr int kBisectionSteps = 100;           // at most; it stops when
inline constexpr double kBisectionTolerance = 1e-10;  // the bracket on c is this narrow
inline constexpr double kCoverTolerance = 1e-9;
inline constexpr const char* kBudgetNeeds = "k_budget (k_P)";

struct BudgetStats {
  size_t n_fit = 0, n_eval = 0, docs_fit = 0, docs_eval = 0;
  double fixed_budget_fit = 0;                        // b90
  double fit_coverage = 0;                            // coverage of b90 on the fit half (≥ 0.9)
  double mean_budget = 0;                             // B*
  int dir_qnorm = 0, dir_position = 0;                // +1 increasing, −1 decreasing (0: not fitted)
  std::array<double, kBudgetPolicies> coverage{};     // on the evaluation half
  std::array<double, kBudgetPolicies> eval_budget{};  // realised mean budget (≈ B*)
  std::string note;
  bool defined() const { return n_fit > 0 && n_eval > 0 && note.empty(); }
};

// half: per document index, 0 = half A (fit) or 1 = half B (evaluation).
BudgetStats compute_budget(const HeadData& data, const AnalysisConfig& cfg, std::span<const uint8_t> half);

// Isotonic (pool-adjacent-violators) least-squares fit of y on x, as a step
// function (exposed for tests).
struct StepFunction {
  std::vector<double> x, y;  // x ascending, distinct
  double operator()(double v) const;
};
StepFunction isotonic_fit(std::span<const double> x, std::span<const double> y, bool increasing);

}  // namespace spectra::stats
