#pragma once
// Per-document replication of one head's correlation. The document is the
// unit of replication (tokens within a document are not independent).
//
// For each document d with n_d ≥ min_doc_positions pairs and a defined r:
//   r_d = Pearson r of ‖q‖ and H within d.
// Over those D documents:
//   doc_r_mean, doc_r_sd     mean and sample SD (ddof = 1) of r_d
//   sign_agreement           fraction of documents with sign(r_d) = sign(pooled r)
//                            (r_d = 0 or pooled r = 0 count as disagreeing)
//   frac_meeting             fraction of documents that "agree": r_d ≤ −doc_r_threshold
//                            for direction negative, r_d ≥ +doc_r_threshold for
//                            positive, sign(r_d) = sign(pooled r) and
//                            |r_d| ≥ doc_r_threshold for both
//   fisher_t, fisher_p       one-sample t test of z_d = atanh(r_d) (|r_d| clipped
//                            to 1 − 1e-12) against 0, df = D − 1: p two-sided,
//                            less, greater
#include <span>
#include <string>
#include <vector>

#include "stats/analysis_config.hpp"
#include "stats/p_values.hpp"

namespace spectra::stats {

struct Reproducibility {
  size_t docs = 0;  // D, documents that entered
  double doc_r_mean = 0, doc_r_sd = 0;
  double sign_agreement = 0;
  double frac_meeting = 0;
  double fisher_z_mean = 0;
  double fisher_t = 0, fisher_df = 0;
  PValues fisher_p{};
};

// True if a per-document r counts as agreeing (see above).
bool doc_meets(double r_d, double pooled_r, const AnalysisConfig& cfg);

// doc_r: r_d per document, NaN for documents that did not enter.
Reproducibility reproducibility(std::span<const double> doc_r, double pooled_r, const AnalysisConfig& cfg);

}  // namespace spectra::stats
