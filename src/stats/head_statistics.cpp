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

double content_entropy(double H, double p0) {
  if (!std::isfinite(H) || !(p0 >= 0.0) || !(p0 < 1.0 - 1e-6)) return std::numeric_limits<double>::quiet_NaN();
  const double hb = (p0 > 0 ? -p0 * std::log(p0) : 0.0) - (1.0 - p0) * std::log1p(-p0);
  return (H - hb) / (1.0 - p0);
}

HeadStats compute_head_statistics(const HeadData& d, const AnalysisConfig& cfg, std::span<const uint8_t> half) {
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

  s.within = within_document_statistics(x, y, d.pos, d.doc_offsets, half, cfg,
                                        head_seed(cfg.seed, d.id.layer, d.id.head, 3));
  {  // the same on the content entropy, over the rows where it is defined
    std::vector<double> xc, yc;
    std::vector<int32_t> pc;
    std::vector<size_t> oc(d.doc_offsets.size(), 0);
    xc.reserve(s.n), yc.reserve(s.n), pc.reserve(s.n);
    for (size_t k = 0; k + 1 < d.doc_offsets.size(); ++k) {
      oc[k] = xc.size();
      for (size_t i = d.doc_offsets[k]; i < d.doc_offsets[k + 1]; ++i) {
        const double hc = content_entropy(y[i], d.sink_mass[i]);
        if (std::isnan(hc)) continue;
        xc.push_back(x[i]), yc.push_back(hc), pc.push_back(d.pos[i]);
      }
    }
    oc.back() = xc.size();
    s.n_content = xc.size();
    s.mean_content_entropy = mean(yc);
    s.within_content = within_document_statistics(xc, yc, pc, oc, half, cfg,
                                                  head_seed(cfg.seed, d.id.layer, d.id.head, 5));
  }
  s.rep_within = reproducibility(s.primary(cfg).doc_r, s.primary(cfg).meta.r, cfg);

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
  if (!s.primary(cfg).meta.defined()) {
    if (!s.note.empty()) s.note += "; ";
    s.note += "no document with a defined within-document r";
  }
  if (s.rep.docs < 2) {
    if (!s.note.empty()) s.note += "; ";
    s.note += "fewer than 2 documents with " + std::to_string(cfg.min_doc_positions) + " positions";
  }
  return s;
}

}  // namespace spectra::stats
