// Two passes over the tuple file: pass 1 samples each head deterministically
// and finds ranges; pass 2 fills histograms and the chosen heads' densities.
#include "report/tuple_digest.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <queue>
#include <tuple>

#include "observers/tuple_file.hpp"
#include "util/error.hpp"

namespace spectra::report {

namespace {

uint64_t mix64(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

double quantile_sorted(const std::vector<float>& v, double q) {
  if (v.empty()) return 0;
  double idx = q * (v.size() - 1);
  size_t i = static_cast<size_t>(idx);
  double f = idx - i;
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

// A robust display range: 0.1% .. 99.9% of the values, padded 2%.
std::pair<double, double> display_range(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  double lo = quantile_sorted(v, 0.001), hi = quantile_sorted(v, 0.999);
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  double pad = 0.02 * (hi - lo);
  return {lo - pad, hi + pad};
}

void add(Histogram1D& h, double x) {
  if (!(x >= h.lo && x < h.hi)) return;
  size_t b = static_cast<size_t>((x - h.lo) / (h.hi - h.lo) * h.counts.size());
  if (b >= h.counts.size()) b = h.counts.size() - 1;
  ++h.counts[b];
}

}  // namespace

TupleDigest digest_tuples(const std::string& tuple_path, const DigestRequest& req) {
  TupleReader reader(tuple_path);
  const auto rows = reader.rows();
  TupleDigest d;
  d.n_layers = req.n_layers;
  d.n_heads = req.n_heads;
  const size_t n_slots = static_cast<size_t>(req.n_layers) * req.n_heads;

  // Pass 1: bottom-k sample per head by hash of (doc, pos).
  struct Item {
    uint64_t hash;
    uint64_t row;
    bool operator<(const Item& o) const { return hash < o.hash; }
  };
  std::vector<std::priority_queue<Item>> heaps(n_slots);
  std::vector<uint64_t> slot_rows(n_slots, 0);
  const size_t k = static_cast<size_t>(std::max(1, req.points_per_head));
  for (uint64_t i = 0; i < rows.size(); ++i) {
    const TupleRow& t = rows[i];
    if (t.pos < req.min_pos) continue;
    if (t.layer < 0 || t.head < 0 || t.layer >= req.n_layers || t.head >= req.n_heads)
      fail_file(tuple_path, "row " + std::to_string(i) + ": layer " + std::to_string(t.layer) + " head " +
                                std::to_string(t.head) + " is not in heads.csv");
    ++d.n_rows;
    d.n_docs = std::max(d.n_docs, t.doc + 1);
    d.max_pos = std::max(d.max_pos, t.pos);
    const uint64_t h = mix64((static_cast<uint64_t>(static_cast<uint32_t>(t.doc)) << 32) ^
                             static_cast<uint32_t>(t.pos) ^ mix64(static_cast<uint64_t>(t.layer) * 4099 + t.head));
    const size_t slot = static_cast<size_t>(t.layer) * req.n_heads + t.head;
    ++slot_rows[slot];
    auto& heap = heaps[slot];
    if (heap.size() < k) {
      heap.push({h, i});
    } else if (h < heap.top().hash) {
      heap.pop();
      heap.push({h, i});
    }
  }
  if (d.n_rows == 0) fail_file(tuple_path, "no rows at positions >= " + std::to_string(req.min_pos));
  d.samples.resize(n_slots);
  std::vector<float> all_q, all_h;
  for (size_t s = 0; s < n_slots; ++s) {
    std::vector<Item> items;
    while (!heaps[s].empty()) {
      items.push_back(heaps[s].top());
      heaps[s].pop();
    }
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.row < b.row; });
    for (const auto& it : items) {
      const TupleRow& t = rows[it.row];
      d.samples[s].push_back({t.q_norm, t.entropy, t.pos, t.doc});
      all_q.push_back(t.q_norm);
      all_h.push_back(t.entropy);
    }
  }

  // Ranges: shared by the overall and per-layer histograms.
  const int bins = std::max(5, req.hist_bins);
  auto [qlo, qhi] = display_range(all_q);
  auto [hlo, hhi] = display_range(all_h);
  hlo = std::max(hlo, 0.0);  // entropy is never negative
  auto make = [&](double lo, double hi) {
    Histogram1D h;
    h.lo = lo;
    h.hi = hi;
    h.counts.assign(bins, 0);
    return h;
  };
  d.q_all = make(qlo, qhi);
  d.h_all = make(hlo, hhi);
  d.q_layer.assign(req.n_layers, d.q_all);
  d.h_layer.assign(req.n_layers, d.h_all);

  // Densities: ranges from each head's own sample.
  std::vector<int> density_of(n_slots, -1);
  struct Sums {
    double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  };
  std::vector<Sums> sums(req.density_heads.size());
  for (size_t j = 0; j < req.density_heads.size(); ++j) {
    auto [layer, head] = req.density_heads[j];
    Density2D g;
    g.layer = layer;
    g.head = head;
    const size_t s = static_cast<size_t>(layer) * req.n_heads + head;
    std::vector<float> xs, ys;
    for (const auto& p : d.samples[s]) {
      xs.push_back(p.q_norm);
      ys.push_back(p.entropy);
    }
    std::tie(g.x_lo, g.x_hi) = display_range(xs);
    std::tie(g.y_lo, g.y_hi) = display_range(ys);
    g.y_lo = std::max(g.y_lo, 0.0);
    // Bins: about 3·n^(1/3) across, so sparse heads are not all single-row cells.
    const double n_head = static_cast<double>(slot_rows[s]);
    g.nx = std::clamp(static_cast<int>(std::lround(3.0 * std::cbrt(n_head))), 20, req.density_nx);
    g.ny = std::clamp(static_cast<int>(std::lround(g.nx * double(req.density_ny) / req.density_nx)), 16, req.density_ny);
    g.count.assign(static_cast<size_t>(g.nx) * g.ny, 0);
    g.pos_sum.assign(g.count.size(), 0.0);
    density_of[s] = static_cast<int>(j);
    d.densities.push_back(std::move(g));
  }

  // Pass 2.
  struct LayerSums {
    double n = 0, sink = 0, z = 0, zz = 0, q = 0, qq = 0, h = 0, hh = 0, zq = 0, zh = 0;
  };
  std::vector<LayerSums> ls(req.n_layers);
  struct DocSums {
    double n = 0, x = 0, y = 0, xx = 0, yy = 0, xy = 0;
  };
  std::map<std::tuple<int, int, int>, DocSums> doc_sums;  // (layer, head, doc)
  std::tuple<int, int, int> last_key{-1, -1, -1};
  DocSums* last = nullptr;
  for (const TupleRow& t : rows) {
    if (t.pos < req.min_pos) continue;
    {
      LayerSums& m = ls[t.layer];
      const double z = std::log(t.pos + 1.0), q = t.q_norm, h = t.entropy;
      if (std::isfinite(q) && std::isfinite(h)) {
        m.n += 1;
        m.sink += t.sink_mass;
        m.z += z;
        m.zz += z * z;
        m.q += q;
        m.qq += q * q;
        m.h += h;
        m.hh += h * h;
        m.zq += z * q;
        m.zh += z * h;
      }
    }
    add(d.q_all, t.q_norm);
    add(d.h_all, t.entropy);
    add(d.q_layer[t.layer], t.q_norm);
    add(d.h_layer[t.layer], t.entropy);
    if (req.doc_r && std::isfinite(t.q_norm) && std::isfinite(t.entropy)) {
      const std::tuple<int, int, int> key{t.layer, t.head, t.doc};
      if (!last || key != last_key) {  // rows come in runs of one (doc, layer, head)
        last = &doc_sums[key];
        last_key = key;
      }
      const double x = t.q_norm, y = t.entropy;
      last->n += 1;
      last->x += x;
      last->y += y;
      last->xx += x * x;
      last->yy += y * y;
      last->xy += x * y;
    }
    const int j = density_of[static_cast<size_t>(t.layer) * req.n_heads + t.head];
    if (j < 0) continue;
    Density2D& g = d.densities[j];
    Sums& m = sums[j];
    const double x = t.q_norm, y = t.entropy;
    if (std::isfinite(x) && std::isfinite(y)) {
      m.n += 1;
      m.sx += x;
      m.sy += y;
      m.sxx += x * x;
      m.sxy += x * y;
    }
    ++g.n_total;
    if (!(x >= g.x_lo && x < g.x_hi && y >= g.y_lo && y < g.y_hi)) {
      ++g.n_outside;
      continue;
    }
    int ix = std::min(g.nx - 1, static_cast<int>((x - g.x_lo) / (g.x_hi - g.x_lo) * g.nx));
    int iy = std::min(g.ny - 1, static_cast<int>((y - g.y_lo) / (g.y_hi - g.y_lo) * g.ny));
    const size_t c = static_cast<size_t>(iy) * g.nx + ix;
    ++g.count[c];
    g.pos_sum[c] += t.pos;
  }
  auto corr = [](double n, double sa, double saa, double sb, double sbb, double sab) {
    const double va = saa - sa * sa / n, vb = sbb - sb * sb / n;
    return (n > 2 && va > 0 && vb > 0) ? (sab - sa * sb / n) / std::sqrt(va * vb) : NAN;
  };
  for (const auto& [key, m] : doc_sums) {
    if (m.n < std::max(3, req.min_doc_positions)) continue;
    const double r = corr(m.n, m.x, m.xx, m.y, m.yy, m.xy);
    if (!std::isfinite(r)) continue;
    d.doc_r.push_back({std::get<2>(key), std::get<0>(key), std::get<1>(key), static_cast<int64_t>(m.n), r});
  }
  for (const auto& m : ls) {
    d.sink_mean.push_back(m.n > 0 ? m.sink / m.n : NAN);
    d.corr_pos_q.push_back(corr(m.n, m.z, m.zz, m.q, m.qq, m.zq));
    d.corr_pos_h.push_back(corr(m.n, m.z, m.zz, m.h, m.hh, m.zh));
  }
  for (size_t j = 0; j < sums.size(); ++j) {
    const Sums& m = sums[j];
    const double var = m.sxx - m.sx * m.sx / std::max(1.0, m.n);
    auto& g = d.densities[j];
    g.slope = (m.n > 1 && var > 0) ? (m.sxy - m.sx * m.sy / m.n) / var : 0.0;
    g.intercept = m.n > 0 ? (m.sy - g.slope * m.sx) / m.n : 0.0;
  }
  return d;
}

}  // namespace spectra::report
