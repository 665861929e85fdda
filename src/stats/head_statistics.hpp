#pragma once
// Every statistic of one (layer, head). x = ‖q‖ (q_norm), y = attention
// entropy H (nats), t = pos.
//
// PRIMARY (the decision's): within             within-document, position-controlled
//   r per document, combined by DerSimonian–Laird, with the cross-document null
//   and split halves (within_document.hpp); within_content: the same on the
//   content entropy H_c = (H − h_b(p₀))/(1 − p₀) (h_b the binary entropy,
//   p₀ the sink mass; rows with p₀ ≥ 1 − 1e-6 or p₀ outside [0, 1] have no
//   H_c and are left out of it). criteria.entropy picks which one decides.
//   rep_within: document agreement (reproducibility.hpp) on the primary r_d.
// DESCRIPTIVE (pooled over all rows of all documents, mixing between- and
// within-document covariance; not used by the decision):
//   pearson            Pearson r(x, y), p two-sided/less/greater, Fisher-z CI
//   spearman           Spearman ρ(x, y) with average ranks, p
//   normalized         Pearson r(x, H / log(t+1)) over rows with t ≥ 1
//                      (H/log(t+1) ∈ [0, 1] removes the growth of the entropy
//                      ceiling with position)
//   partial            partial r(x, y | log(t+1)), t test with n−3 df
//   shuffle, circular  sanity controls on the pooled r (null_controls.hpp),
//                      seeds from (seed, layer, head, stream 1 / 2); the cross-
//                      document null uses stream 3 (content entropy: 5)
//   doc_r              Pearson r per document (NaN when n_d < min_doc_positions)
//   reproducibility    across documents (reproducibility.hpp)
//   means              mean ‖q‖, mean H, mean sink mass p₀ over the pooled rows
// The multiple-comparison and pass/fail fields are filled in afterwards,
// across heads (decision.hpp).
#include <string>
#include <vector>

#include "stats/analysis_config.hpp"
#include "stats/correlation.hpp"
#include "stats/head_data.hpp"
#include "stats/null_controls.hpp"
#include "stats/reproducibility.hpp"
#include "stats/within_document.hpp"

namespace spectra::stats {

struct HeadStats {
  HeadId id;
  size_t n = 0;        // pooled pairs
  size_t docs_with_data = 0;
  uint64_t dropped_nonfinite = 0;
  Correlation pearson, spearman, normalized, partial;
  NullSummary shuffle, circular;
  Reproducibility rep;
  WithinDocStats within, within_content;
  Reproducibility rep_within;     // on the primary's r_d (criteria.entropy)
  size_t n_content = 0;           // rows with a defined H_c
  double mean_content_entropy = 0;
  double mean_q_norm = 0, mean_entropy = 0, mean_sink_mass = 0;
  std::vector<double> doc_r;     // per document index of the TupleIndex
  std::vector<size_t> doc_n;     // pairs per document

  // Filled across heads by decide():
  double p_primary = 0;          // the p used by the head test (see decision.hpp)
  double primary_half_a_r = 0, primary_half_b_r = 0;
  double half_a_p_adjusted = 0, half_b_p_adjusted = 0;  // split halves (decision.hpp)
  bool selected_a = false, confirmed_b = false;
  double p_bh = 0, p_by = 0, p_bonferroni = 0;  // adjusted p_primary
  double p_adjusted = 0;         // the one of the three chosen by criteria.adjust
  double p_bh_two_sided = 0;     // BH over the two-sided p (for the opposite-sign report)
  bool bonferroni_significant = false;
  bool crit_n = false, crit_r = false, crit_p = false, crit_null = false, crit_docs = false;
  bool passes = false;
  bool strong_opposite = false;  // strong and significant against H1's sign
  std::string note;              // why something is undefined, ';'-separated

  const WithinDocStats& primary(const AnalysisConfig& cfg) const {
    return cfg.entropy == EntropyKind::Content ? within_content : within;
  }
};

// half: per document index, 0 (half A) or 1 (half B); see split_halves.
HeadStats compute_head_statistics(const HeadData& data, const AnalysisConfig& cfg, std::span<const uint8_t> half);

// H_c from H and p₀ (NaN when undefined, see above).
double content_entropy(double H, double p0);

}  // namespace spectra::stats
