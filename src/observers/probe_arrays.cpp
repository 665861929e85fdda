// ProbeArrays: the probe of one window as [layers][heads][T] arrays.
#include "observers/probe_arrays.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "observers/tuple_observer.hpp"
#include "util/error.hpp"

namespace spectra {

double ProbeArrays::mean_nll() const {
  if (nll.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0;
  for (double v : nll) s += v;
  return s / static_cast<double>(nll.size());
}

double ProbeArrays::perplexity() const { return std::exp(mean_nll()); }

const float* ProbeArrays::field(std::string_view name) const {
  for (int f = 0; f < engine::kNumHeadProbeFields; ++f)
    if (name == engine::kHeadProbeFields[f].name && f < static_cast<int>(fields.size())) return fields[f].data();
  return nullptr;
}

std::vector<TupleRow> ProbeArrays::tuple_rows(int32_t doc) const {
  std::vector<TupleRow> rows;
  rows.reserve(static_cast<size_t>(n_layers) * n_heads * n);
  for (int l = 0; l < n_layers; ++l)
    for (int h = 0; h < n_heads; ++h) {
      engine::HeadProbe hp;
      hp.layer = l;
      hp.head = h;
      hp.kv_head = kv_head[h];
      hp.pos0 = 0;
      hp.n = n;
      hp.tokens = tokens.data();
      const size_t off = (static_cast<size_t>(l) * n_heads + h) * n;
      for (int f = 0; f < engine::kNumHeadProbeFields; ++f) hp.*(engine::kHeadProbeFields[f].member) = fields[f].data() + off;
      append_head_rows(hp, doc, rows);
    }
  return rows;
}

void ProbeArrayObserver::begin(const ModelDesc& d, std::span<const int32_t> tokens, int64_t pos0) {
  if (pos0 != 0) throw Error("ProbeArrayObserver: measures whole windows (position 0 onwards)");
  out_.n_layers = d.n_layers;
  out_.n_heads = d.n_heads;
  out_.n = static_cast<int64_t>(tokens.size());
  out_.tokens.assign(tokens.begin(), tokens.end());
  out_.kv_head.resize(d.n_heads);
  for (int h = 0; h < d.n_heads; ++h) out_.kv_head[h] = d.kv_head_of(h);
  const size_t size = static_cast<size_t>(d.n_layers) * d.n_heads * tokens.size();
  out_.fields.assign(engine::kNumHeadProbeFields, std::vector<float>());
  for (auto& f : out_.fields) f.assign(size, std::numeric_limits<float>::quiet_NaN());
  out_.nll.clear();
}

void ProbeArrayObserver::on_head(const engine::HeadProbe& h) {
  const size_t off = (static_cast<size_t>(h.layer) * out_.n_heads + h.head) * out_.n + h.pos0;
  for (int f = 0; f < engine::kNumHeadProbeFields; ++f) {
    const float* src = h.*(engine::kHeadProbeFields[f].member);
    if (!src) continue;  // not measured: the array keeps its NaN
    std::copy(src, src + h.n, out_.fields[f].begin() + off);
  }
}

void ProbeArrayObserver::on_nll(int64_t /*pos0*/, std::span<const double> nll) {
  out_.nll.insert(out_.nll.end(), nll.begin(), nll.end());
}

ProbeArrays measure_window(engine::Engine& engine, std::span<const int32_t> tokens) {
  if (tokens.empty()) throw Error("measure: the window has no tokens");
  engine.validate_tokens(tokens);
  ProbeArrays out;
  ProbeArrayObserver obs(out);
  engine::ForwardOptions fo;
  fo.observer = &obs;
  auto r = engine.forward(tokens, fo);
  out.nll = std::move(r.nll);
  out.time = r.time;
  return out;
}

}  // namespace spectra
