// TupleObserver: per-head probe arrays -> TupleRows -> TupleWriter.
#include "observers/tuple_observer.hpp"

#include <limits>

namespace spectra {

namespace {
// A probe statistic the engine did not provide (null array) is NaN.
float at(const float* p, int64_t i) { return p ? p[i] : std::numeric_limits<float>::quiet_NaN(); }
}  // namespace

void append_head_rows(const engine::HeadProbe& h, int32_t doc, std::vector<TupleRow>& out) {
  out.reserve(out.size() + static_cast<size_t>(h.n));
  for (int64_t i = 0; i < h.n; ++i) {
    TupleRow r;
    r.doc = doc;
    r.layer = h.layer;
    r.head = h.head;
    r.kv_head = h.kv_head;
    r.pos = static_cast<int32_t>(h.pos0 + i);
    r.token = h.tokens[i];
    r.q_norm = at(h.q_norm, i);
    r.entropy = at(h.entropy, i);
    r.sink_mass = at(h.sink_mass, i);
    r.max_attn = at(h.max_attn, i);
    r.entropy_fixed_norm = at(h.entropy_fixed_norm, i);
    r.neg_var_score = at(h.neg_var_score, i);
    r.max_score = at(h.max_score, i);
    r.logsumexp = at(h.logsumexp, i);
    r.k_budget = at(h.k_budget, i);
    out.push_back(r);
  }
}

void TupleObserver::on_head(const engine::HeadProbe& h) {
  buf_.clear();
  append_head_rows(h, doc_, buf_);
  writer_.append(buf_);
  rows_ += buf_.size();
}

void TupleObserver::on_nll(int64_t /*pos0*/, std::span<const double> nll) {
  nll_.insert(nll_.end(), nll.begin(), nll.end());
}

void TupleCollector::on_head(const engine::HeadProbe& h) { append_head_rows(h, doc, rows); }

}  // namespace spectra
