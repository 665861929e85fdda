#pragma once
// Issue #14, per head: how much of the ‖q‖–H association goes through the
// norm (temperature) channel, and does the observed slope match the
// temperature derivative. With s_j = ‖q‖·u_j (u_j = (q/‖q‖)·k_j/√d) the norm
// is an inverse temperature: dH/d ln‖q‖ = −Var_p(s) ≤ 0 at a fixed direction.
//
// Needs the tuple columns entropy_fixed_norm (H_fix: the entropy of the same
// row with ‖q‖ replaced by the head's reference norm, i.e. the direction
// alone) and neg_var_score (−Var_p(s)). Rows where they are NaN are left out;
// a head (or run, e.g. one written before #14) without any such row gets
// n = 0 / slope_n = 0 and NaN everywhere ("not measured").
//
// The entropy used is H (the total entropy, as measured), not the content
// entropy H_c of criteria.entropy: H_fix is H's counterfactual (the same row
// at a fixed norm), and the temperature derivative −Var_p(s) is H's.
//
// DECOMPOSITION (same document-level inference as the decision,
// within_document.hpp): per document d with ≥ min_doc_positions rows having
// H_fix, ‖q‖, H and H_fix are residualised on the position basis
// (position_residuals.hpp) and
//   r_d     = r(e_q, e_H), n_eff_d from the lag-1 autocorrelations; the
//             document enters when r_d is defined and n_eff_d ≥ 4
//   r_fix_d = r(e_q, e_Hfix) with its own n_eff (clamped below at 4); when
//             H_fix has no variation beyond position (flat residual) the
//             norm-fixed entropy carries no association: r_fix_d = 0 with
//             the n_eff_d of r_d
// r and r_fix are each pooled over the same documents by DerSimonian–Laird
// on Fisher z with v = 1/(n_eff − 3).
//   fraction_norm = 1 − r_fix / r   the part of the association that
//             disappears when the norm is held fixed. Undefined (NaN, with
//             fraction_note) when |r| < kMinAbsRForFraction (nothing to
//             decompose) or r_fix has the opposite sign of r (holding the
//             norm fixed reverses the association; a "fraction" > 1 would be
//             meaningless). It can be negative (|r_fix| > |r|: the norm
//             channel works against the direction channel).
//   var_ratio_norm = Σ_d SS(e_H − e_Hfix) / Σ_d SS(e_H) over the entered
//             documents: the share of H's within-document, beyond-position
//             variance carried by the norm channel H − H_fix (it can exceed
//             1 when H_fix and H − H_fix are anti-correlated).
//   norm_dominant = 1 when fraction_norm ≥ 0.5 or r_fix has the opposite
//             sign of r (holding the norm fixed removes more than all of the
//             association: the direction channel works against it), 0 when
//             fraction_norm < 0.5, NaN otherwise (|r| small, not measured).
//
// TEMPERATURE SLOPE: per document (rows with neg_var_score, ≥
// min_doc_positions), ln‖q‖ and H residualised on the position basis; the
// least-squares slope b_d = Σ e_x e_y / Σ e_x² with variance
// σ²/Σ e_x² · n/n_eff (σ² = residual SS/(n − K − 2), K + 1 basis columns;
// n_eff from the lag-1 autocorrelations of e_x and of the regression
// residual); pooled by DerSimonian–Laird (on b itself, not Fisher z) →
// slope with a normal CI at analysis.confidence. Beside it:
// neg_var_median = the median of −Var_p(s) over the head's rows, the slope
// dH/d ln‖q‖ expected if the association were the temperature channel alone.
//   slope_ratio = slope / neg_var_median; slope_agrees when it lies in
//   [kSlopeAgreeLow, kSlopeAgreeHigh] (descriptive; NaN ratio when
//   |neg_var_median| < 1e-9).
#include <span>
#include <string>

#include "stats/analysis_config.hpp"
#include "stats/head_data.hpp"
#include "stats/meta_analysis.hpp"

namespace spectra::stats {

inline constexpr double kMinAbsRForFraction = 0.05;
inline constexpr double kSlopeAgreeLow = 0.8, kSlopeAgreeHigh = 1.25;

struct MechanismStats {
  // Decomposition
  size_t n = 0;           // rows with H_fix (pos ≥ min_position)
  size_t docs = 0;        // documents entered
  MetaResult r_h, r_fix;  // pooled r(‖q‖, H) and r(‖q‖, H_fix)
  double fraction_norm = 0, var_ratio_norm = 0, norm_dominant = 0;
  std::string fraction_note;
  // Temperature slope
  size_t slope_n = 0, slope_docs = 0;
  double neg_var_median = 0;
  double slope = 0, slope_se = 0, slope_ci_low = 0, slope_ci_high = 0;
  double slope_ratio = 0;
  bool slope_agrees = false;
  std::string note;  // "not measured in this run: needs ..." and the like
};

MechanismStats compute_mechanism(const HeadData& data, const AnalysisConfig& cfg);

// The needed columns, for "not measured" messages.
inline constexpr const char* kMechanismNeeds = "entropy_fixed_norm (H_fix)";
inline constexpr const char* kSlopeNeeds = "neg_var_score (-Var_p(s))";

}  // namespace spectra::stats
