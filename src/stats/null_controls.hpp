#pragma once
// Sanity controls for the pooled Pearson r of one head (descriptive columns;
// the decision uses the cross-document null of within_document.hpp).
//
// Both nulls keep each document's values together (documents are the unit of
// replication), so the pooled means and variances are unchanged and only
// Σ x_i y_π(i) varies: every null r is one dot product of centred values.
//
//  Shuffle:        y is permuted uniformly at random within each document
//                  (Fisher–Yates); destroys all dependence, incl. position.
//  CircularShift:  within each document (ordered by position) y is rotated by
//                  an offset drawn uniformly from 1..n_d−1; keeps the
//                  autocorrelation of both series but misaligns positions.
//                  It does NOT guard against drift shared by ‖q‖ and H: with
//                  series that trend with position, the unshifted alignment
//                  has the largest r of all shifts.
//
// Summary of K null values r*_1..r*_K:
//   mean_r      = mean of r*;            mean_abs_r = mean of |r*|
//   q95_abs_r   = 95th percentile of |r*| (linear interpolation between order
//                 statistics, numpy's default: position 0.95·(K−1))
//   b_two       = #{ |r*| ≥ |r_obs| },  b_less = #{ r* ≤ r_obs }
//   p_two       = (b_two + 1)/(K + 1),  p_less = (b_less + 1)/(K + 1)
// "At least as extreme" uses an absolute tolerance of 1e-12 on r so that a
// null arrangement identical to the data counts (r_obs is computed by the same
// dot product as the null values).
#include <cstdint>
#include <span>
#include <vector>

namespace spectra::stats {

enum class NullKind { Shuffle, CircularShift };

struct NullSummary {
  int permutations = 0;
  double r_obs = 0;  // the observed r, computed the same way as the null values
  double mean_r = 0, mean_abs_r = 0, q95_abs_r = 0;
  int b_two = 0, b_less = 0;
  double p_two = 0, p_less = 0;
  std::vector<double> null_r;  // filled only when keep_values
};

// x, y: one head's pooled values, grouped by document; doc_offsets has one
// entry per document plus the end (document d is [doc_offsets[d], doc_offsets[d+1])).
NullSummary null_distribution(std::span<const double> x, std::span<const double> y,
                              std::span<const size_t> doc_offsets, NullKind kind, int permutations, uint64_t seed,
                              bool keep_values = false);

// numpy.percentile(v, q) with the default linear method; v is sorted in place.
double percentile_linear(std::vector<double>& v, double q);

}  // namespace spectra::stats
