#pragma once
// Across heads: multiple-comparison adjustment, the per-head pass rule and
// the GO / NO-GO decision.
//
// The head test's p (p_primary): with one_sided = true, p 'less' for
// direction negative (H1: r < 0) and p 'greater' for positive; otherwise (and
// always for direction "both") the two-sided p. It is adjusted across all
// heads with a defined r by BH, BY and Bonferroni; criteria.adjust picks the
// one that counts (p_adjusted).
//
// A head PASSES when all five criteria hold:
//   crit_n     n ≥ min_n pooled pairs and r is defined
//   crit_r     r ≤ −r_threshold (negative) | r ≥ r_threshold (positive) |
//              |r| ≥ r_threshold (both)
//   crit_p     p_adjusted < alpha
//   crit_null  mean |r*| of the within-document shuffle null ≤ null_abs_r_ceiling,
//              and, when require_null_percentile, |r| > the 95th percentile of
//              |r*| of the shuffle null AND of the circular-shift null
//              (with permutations = 0 the nulls are undefined and no head passes)
//   crit_docs  frac_meeting ≥ doc_agree_fraction: at least that fraction of the
//              head's documents (those with ≥ min_doc_positions pairs) has
//              r_d on H1's side beyond doc_r_threshold (reproducibility.hpp)
// Heads strong against H1 are reported separately (strong_opposite), never
// passed: r ≥ r_threshold for direction negative (r ≤ −r_threshold for
// positive) with BH-adjusted two-sided p < alpha.
//
// GO when the passing heads number at least required_heads =
// max(1, ceil(meaningful_fraction · heads)), heads = all (layer, head) pairs
// in the tuples. Otherwise NO-GO.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stats/analysis_config.hpp"
#include "stats/head_statistics.hpp"

namespace spectra::stats {

struct Decision {
  bool go = false;
  size_t heads = 0, tests = 0;     // tests: heads with a defined p
  size_t heads_passing = 0, required_heads = 0;
  double bonferroni_threshold = 0;  // alpha / tests
  nlohmann::ordered_json criteria;  // array, see decision_json
};

// Fills the adjusted p-values and crit_* / passes / strong_opposite of every
// head and returns the decision.
Decision decide(std::vector<HeadStats>& heads, const AnalysisConfig& cfg);

// The decision object the study merges into summary.json:
// {"decision": "GO"|"NO-GO", "hypothesis", "head_pass_rule", "heads",
//  "tests", "heads_passing", "required_heads", "fraction_passing",
//  "bonferroni_threshold", "criteria": [...], "passing_heads": [...],
//  "strong_opposite_heads": [...], "config": {...}}
nlohmann::ordered_json decision_json(const Decision& d, const std::vector<HeadStats>& heads, const AnalysisConfig& cfg);

}  // namespace spectra::stats
