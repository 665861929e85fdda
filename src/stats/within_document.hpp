#pragma once
// The primary statistic of one head: within-document, position-controlled,
// combined across documents (the document is the unit of inference).
//
// Per document d (rows ordered by position, n_d ≥ min_doc_positions):
//   e_x, e_y  residuals of ‖q‖ and of the entropy on the position basis
//             (position_residuals.hpp: 1, log(t+1), natural cubic spline with
//             analysis.spline_knots knots)
//   r_d       Pearson r(e_x, e_y)   (NaN when either residual is flat)
//   n_eff_d   effective n from the lag-1 autocorrelations of e_x and e_y
//   z_d = atanh(r_d) (|r_d| clipped to 1 − 1e-12), v_d = 1/(n_eff_d − 3);
//             a document enters only with a defined r_d and n_eff_d ≥ 4.
// Across the entered documents: DerSimonian–Laird (meta_analysis.hpp) →
//   pooled r, CI, τ², I², p (normal); these give the head's test.
//
// Cross-document null ("randomization control"): K random derangements π of
//   the documents with n_d ≥ min_doc_positions (uniform permutations without a
//   fixed point, drawn by rejection with the head's seed, stream 3). For each
//   π, document d's ‖q‖ is paired with document π(d)'s entropy at the
//   positions both have, the pair is residualised on the basis of those
//   positions, and the same r_d / n_eff / DerSimonian–Laird statistic is
//   computed: one null pooled r*. Every position effect and every
//   per-document level survive; only the token-level link is broken. Summary
//   as in null_controls.hpp (mean r*, mean |r*|, 95th percentile of |r*|,
//   permutation p-values). Undefined (NaN) with fewer than 2 such documents.
//
// Split halves: the documents' source groups (windows of one source file are
//   one group) are split once by a seeded shuffle (split_halves below); the
//   same DerSimonian–Laird combination is computed over each half's documents.
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "stats/analysis_config.hpp"
#include "stats/meta_analysis.hpp"
#include "stats/null_controls.hpp"

namespace spectra::stats {

struct WithinDocStats {
  std::vector<double> doc_r, doc_n_eff;  // per document index (NaN: did not enter)
  size_t docs = 0;                       // documents entered
  MetaResult meta, half_a, half_b;
  NullSummary cross;
};

// x, y, pos grouped by document (doc_offsets: one entry per document + end),
// ordered by position inside each. half: per document index, 0 (A) or 1 (B).
WithinDocStats within_document_statistics(std::span<const double> x, std::span<const double> y,
                                          std::span<const int32_t> pos, std::span<const size_t> doc_offsets,
                                          std::span<const uint8_t> half, const AnalysisConfig& cfg, uint64_t seed);

// One document's correlation of two position residual series (ex of x, ey of
// y; x, y the originals): r = NaN when either residual is flat
// (position_residuals.hpp), n_eff from the lag-1 autocorrelations; `enters`
// when r is defined and n_eff ≥ 4. The per-document step of the statistic
// above, for other modules that pool per-document values the same way.
struct DocCorr {
  double r = std::numeric_limits<double>::quiet_NaN(), n_eff = std::numeric_limits<double>::quiet_NaN();
  bool enters = false;
};
DocCorr correlate_residuals(std::span<const double> ex, std::span<const double> ey, std::span<const double> x,
                            std::span<const double> y);

// atanh(r) with |r| clipped to 1 − 1e-12.
double fisher_z(double r);

// Per document index: 0 (half A, selection) or 1 (half B, confirmation).
// groups: per document index, its source group (0..G−1). The G groups are
// shuffled by Fisher–Yates with Rng(head_seed(seed, -1, -1, 4)) and the first
// ceil(G/2) form half A.
std::vector<uint8_t> split_halves(std::span<const uint32_t> groups, uint64_t seed);

}  // namespace spectra::stats
