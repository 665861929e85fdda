#pragma once
// Every statistic of one (layer, head), pooled over its documents, plus its
// per-document r. x = ‖q‖ (q_norm), y = attention entropy H (nats), t = pos.
//
//   pearson            Pearson r(x, y), p two-sided/less/greater, Fisher-z CI
//   spearman           Spearman ρ(x, y) with average ranks, p
//   normalized         Pearson r(x, H / log(t+1)) over rows with t ≥ 1
//                      (H/log(t+1) ∈ [0, 1] removes the growth of the entropy
//                      ceiling with position)
//   partial            partial r(x, y | log(t+1)), t test with n−3 df
//   shuffle, circular  null controls (null_controls.hpp), seeds from
//                      (seed, layer, head, stream 1 / 2)
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

namespace spectra::stats {

struct HeadStats {
  HeadId id;
  size_t n = 0;        // pooled pairs
  size_t docs_with_data = 0;
  uint64_t dropped_nonfinite = 0;
  Correlation pearson, spearman, normalized, partial;
  NullSummary shuffle, circular;
  Reproducibility rep;
  double mean_q_norm = 0, mean_entropy = 0, mean_sink_mass = 0;
  std::vector<double> doc_r;     // per document index of the TupleIndex
  std::vector<size_t> doc_n;     // pairs per document

  // Filled across heads by decide():
  double p_primary = 0;          // the p used by the head test (see decision.hpp)
  double p_bh = 0, p_by = 0, p_bonferroni = 0;  // adjusted p_primary
  double p_adjusted = 0;         // the one of the three chosen by criteria.adjust
  double p_bh_two_sided = 0;     // BH over the two-sided p (for the opposite-sign report)
  bool bonferroni_significant = false;
  bool crit_n = false, crit_r = false, crit_p = false, crit_null = false, crit_docs = false;
  bool passes = false;
  bool strong_opposite = false;  // strong and significant against H1's sign
  std::string note;              // why something is undefined, ';'-separated
};

HeadStats compute_head_statistics(const HeadData& data, const AnalysisConfig& cfg);

}  // namespace spectra::stats
