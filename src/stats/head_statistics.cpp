// Per-head statistics; see head_statistics.hpp.
#include "stats/head_statistics.hpp"

#include <cmath>
#include <limits>

#include "stats/rng.hpp"

namespace spectra::stats {

namespace {

double mean(const std::vector<double>& v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  long double s = 0;
  for (double a : v) s += a;
  return static_cast<double>(s / v.size());
}

void add_note(std::string& note, const std::string& what, const Correlation& c) {
  if (c.note.empty()) return;
  if (!note.empty()) note += "; ";
  note += what + ": " + c.note;
}

}  // namespace

HeadStats compute_head_statistics(const HeadData& d, const AnalysisConfig& cfg) {
  HeadStats s;
  s.id = d.id;
  s.n = d.size();
  s.dropped_nonfinite = d.dropped_nonfinite;
  const auto& x = d.q_norm;
  const auto& y = d.entropy;

  s.pearson = pearson(x, y, cfg.confidence);
  s.spearman = spearman(x, y);

  // Position covariate log(t+1); normalized entropy over t ≥ 1.
  std::vector<double> logt(s.n);
  std::vector<double> xn, yn;
  xn.reserve(s.n);
  yn.reserve(s.n);
  for (size_t i = 0; i < s.n; ++i) {
    logt[i] = std::log(static_cast<double>(d.pos[i]) + 1.0);
    if (d.pos[i] >= 1) {
      xn.push_back(x[i]);
      yn.push_back(y[i] / logt[i]);
    }
  }
  s.normalized = pearson(xn, yn, cfg.confidence);
  s.partial = partial_correlation(x, y, logt);

  s.shuffle = null_distribution(x, y, d.doc_offsets, NullKind::Shuffle, cfg.permutations,
                                head_seed(cfg.seed, d.id.layer, d.id.head, 1));
  s.circular = null_distribution(x, y, d.doc_offsets, NullKind::CircularShift, cfg.permutations,
                                 head_seed(cfg.seed, d.id.layer, d.id.head, 2));

  const size_t ndocs = d.docs();
  s.doc_r.assign(ndocs, std::numeric_limits<double>::quiet_NaN());
  s.doc_n.assign(ndocs, 0);
  for (size_t k = 0; k < ndocs; ++k) {
    const size_t b = d.doc_offsets[k], e = d.doc_offsets[k + 1];
    s.doc_n[k] = e - b;
    if (e > b) ++s.docs_with_data;
    if (e - b >= static_cast<size_t>(cfg.min_doc_positions))
      s.doc_r[k] = pearson_r(std::span<const double>(x).subspan(b, e - b), std::span<const double>(y).subspan(b, e - b));
  }
  s.rep = reproducibility(s.doc_r, s.pearson.r, cfg);

  s.mean_q_norm = mean(x);
  s.mean_entropy = mean(y);
  s.mean_sink_mass = mean(d.sink_mass);

  add_note(s.note, "pearson", s.pearson);
  if (s.pearson.note != s.spearman.note) add_note(s.note, "spearman", s.spearman);
  add_note(s.note, "normalized", s.normalized);
  add_note(s.note, "partial", s.partial);
  if (s.rep.docs < 2) {
    if (!s.note.empty()) s.note += "; ";
    s.note += "fewer than 2 documents with " + std::to_string(cfg.min_doc_positions) + " positions";
  }
  return s;
}

}  // namespace spectra::stats
