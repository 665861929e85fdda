#pragma once
// Across heads: multiple-comparison adjustment, the per-head pass rule and
// the GO / NO-GO decision.
//
// The head's statistic is the PRIMARY one (head_statistics.hpp): the
// within-document, position-controlled r combined across documents by
// DerSimonian–Laird, on the entropy criteria.entropy picks. Its p (p_primary):
// with one_sided = true, p 'less' for direction negative (H1: r < 0) and p
// 'greater' for positive; otherwise (and always for direction "both") the
// two-sided p, all from z*/SE (normal). It is adjusted across all heads with a
// defined statistic by BH, BY and Bonferroni; criteria.adjust picks the one
// that counts (p_adjusted).
//
// A head PASSES when all five criteria hold:
//   crit_n     n ≥ min_n pooled pairs and the primary r is defined
//   crit_r     r ≤ −r_threshold (negative) | r ≥ r_threshold (positive) |
//              |r| ≥ r_threshold (both), r the pooled within-document r
//   crit_p     p_adjusted < alpha
//   crit_null  mean |r*| of the cross-document null ≤ null_abs_r_ceiling,
//              and, when require_null_percentile, |r| > its 95th percentile of
//              |r*| (with permutations = 0 or < 2 documents the null is
//              undefined and no head passes)
//   crit_docs  at least doc_agree_fraction of the head's entered documents
//              have a within-document r_d on H1's side beyond doc_r_threshold
// Heads strong against H1 are reported separately (strong_opposite), never
// passed: r ≥ r_threshold for direction negative (r ≤ −r_threshold for
// positive) with BH-adjusted two-sided p < alpha.
//
// The study's decision:
//   INCONCLUSIVE  fewer than min_documents independent documents (distinct
//                 source groups with data); the reason says how many
//   GO            otherwise, when the passing heads number at least
//                 required_heads = max(1, ceil(meaningful_fraction · heads))
//   NO-GO         otherwise.
//
// Split-half confirmation (reported, not part of the rule): heads are
// SELECTED on half A when r_A meets crit_r and its adjusted p (criteria.adjust
// across all heads) < alpha; a selected head is CONFIRMED when r_B meets
// crit_r and its p, adjusted by criteria.adjust across the selected heads,
// is < alpha. confirmation_rate = confirmed / selected (NaN if none is selected
// or half B has no document).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stats/analysis_config.hpp"
#include "stats/head_statistics.hpp"

namespace spectra::stats {

enum class Verdict { Go, NoGo, Inconclusive };
const char* to_string(Verdict v);  // "GO", "NO-GO", "INCONCLUSIVE"

struct Decision {
  Verdict verdict = Verdict::NoGo;
  std::string reason;              // one sentence: why this verdict
  size_t documents = 0;            // independent documents (source groups with data)
  size_t heads_selected = 0, heads_confirmed = 0;
  double confirmation_rate = 0;    // NaN when no head is selected
  size_t heads = 0, tests = 0;     // tests: heads with a defined p
  size_t heads_passing = 0, required_heads = 0;
  double bonferroni_threshold = 0;  // alpha / tests
  nlohmann::ordered_json criteria;  // array, see decision_json
};

// Fills the adjusted p-values and crit_* / passes / strong_opposite of every
// head and returns the decision.
// documents: the number of independent documents (source groups with data).
Decision decide(std::vector<HeadStats>& heads, const AnalysisConfig& cfg, size_t documents);

// The decision object the study merges into summary.json:
// {"decision": "GO"|"NO-GO"|"INCONCLUSIVE", "reason", "hypothesis",
//  "statistic", "head_pass_rule", "independent_documents", "heads",
//  "tests", "heads_passing", "required_heads", "fraction_passing",
//  "bonferroni_threshold", "split_half": {...}, "criteria": [...], "passing_heads": [...],
//  "strong_opposite_heads": [...], "config": {...}}
nlohmann::ordered_json decision_json(const Decision& d, const std::vector<HeadStats>& heads, const AnalysisConfig& cfg);

}  // namespace spectra::stats
