#pragma once
// What the figures and the HTML need from tuples.npy, gathered in two
// sequential passes over the mapped file (TupleReader, no copy):
//  - a deterministic per-head sample (bottom-k of a hash of doc and
//    position: the same rows every time, uniform over the head's rows),
//  - query-norm and entropy histograms, overall and per layer,
//  - for a few chosen heads, a 2-D histogram (count and mean position per
//    cell) and the least-squares line over all their rows.
// Rows with pos < min_pos are skipped, as the statistics skipped them.
#include <cstdint>
#include <string>
#include <vector>

#include "report/run_folder.hpp"

namespace spectra::report {

struct SamplePoint {
  float q_norm, entropy;
  int32_t pos, doc;
};

struct Histogram1D {
  double lo = 0, hi = 1;
  std::vector<int64_t> counts;
  double bin_width() const { return counts.empty() ? 0 : (hi - lo) / counts.size(); }
};

struct Density2D {
  int layer = 0, head = 0;
  double x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
  int nx = 0, ny = 0;
  std::vector<int64_t> count;   // [iy * nx + ix]
  std::vector<double> pos_sum;  // sum of positions per cell
  int64_t n_total = 0, n_outside = 0;
  double slope = 0, intercept = 0;  // entropy = intercept + slope * q_norm (all rows)
};

struct TupleDigest {
  int n_layers = 0, n_heads = 0;
  uint64_t n_rows = 0;     // rows used (pos >= min_pos)
  int n_docs = 0;          // distinct documents (max doc + 1)
  int max_pos = 0;
  std::vector<std::vector<SamplePoint>> samples;  // [layer * n_heads + head]
  Histogram1D q_all, h_all;
  std::vector<Histogram1D> q_layer, h_layer;
  std::vector<Density2D> densities;  // one per requested head, same order
  std::vector<double> sink_mean;     // mean attention on position 0, per layer
  std::vector<double> corr_pos_q, corr_pos_h;
  std::vector<DocHeadR> doc_r;       // per (doc, head) r when requested, ordered by (layer, head, doc)  // per layer: r(log(t+1), ‖q‖), r(log(t+1), H), pooled over heads
};

struct DigestRequest {
  int n_layers = 0, n_heads = 0;
  int min_pos = 0;
  int points_per_head = 2000;
  int hist_bins = 60;
  int density_nx = 90, density_ny = 70;
  std::vector<std::pair<int, int>> density_heads;  // (layer, head)
  bool doc_r = false;            // compute each head's r within each document
  int min_doc_positions = 10;    // documents with fewer rows for a head get no r
};

TupleDigest digest_tuples(const std::string& tuple_path, const DigestRequest& req);

}  // namespace spectra::report
