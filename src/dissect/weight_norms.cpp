// Per-head Frobenius norms and value histograms of the attention projections
// (see weight_norms.hpp). Each tensor is streamed in blocks of rows.
#include "dissect/weight_norms.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "util/error.hpp"

namespace spectra::dissect {

const char* to_string(ProjKind k) {
  switch (k) {
    case ProjKind::Q: return "W_Q";
    case ProjKind::K: return "W_K";
    case ProjKind::V: return "W_V";
    case ProjKind::O: return "W_O";
  }
  return "?";
}

namespace {

WeightKind weight_kind(ProjKind k) {
  switch (k) {
    case ProjKind::Q: return WeightKind::Q;
    case ProjKind::K: return WeightKind::K;
    case ProjKind::V: return WeightKind::V;
    case ProjKind::O: return WeightKind::O;
  }
  return WeightKind::Q;
}

// Calls fn(row_index, row pointer, cols) for every row, converting
// about 1 M values at a time.
template <class Fn>
void for_each_row(const TensorView& t, std::vector<float>& buf, Fn&& fn) {
  const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 20) / std::max<int64_t>(t.cols, 1));
  buf.resize(static_cast<size_t>(std::min(chunk, t.rows) * t.cols));
  for (int64_t r0 = 0; r0 < t.rows; r0 += chunk) {
    const int64_t r1 = std::min(t.rows, r0 + chunk);
    convert_rows_f32(t, r0, r1, buf.data());
    for (int64_t r = r0; r < r1; ++r) fn(r, buf.data() + (r - r0) * t.cols, t.cols);
  }
}

}  // namespace

WeightNorms compute_weight_norms(const Model& model, int bins) {
  const ModelDesc& d = model.desc();
  if (bins < 1) throw Error("weight histograms: need at least one bin");
  WeightNorms wn;
  wn.model_name = d.name;
  wn.format = d.format;
  wn.n_layers = d.n_layers;
  wn.n_heads = d.n_heads;
  wn.n_kv_heads = d.n_kv_heads;
  wn.head_dim = d.head_dim;
  const int64_t hd = d.head_dim;
  std::vector<float> buf;

  // Pass 1: per-head sums of squares, and moments / range per kind.
  std::array<double, 4> sum{}, sumsq{};
  for (ProjKind pk : kProjKinds) {
    const int ki = static_cast<int>(pk);
    const int heads = wn.heads(pk);
    auto& norms = wn.norms[ki];
    norms.assign(static_cast<size_t>(d.n_layers) * heads, 0.0);
    WeightHistogram& hg = wn.hist[ki];
    hg.min = std::numeric_limits<double>::infinity();
    hg.max = -std::numeric_limits<double>::infinity();
    for (int l = 0; l < d.n_layers; ++l) {
      const TensorView& t = model.tensor(weight_kind(pk), l);
      if (l == 0) wn.dtype[ki] = spectra::to_string(t.dtype);
      // W_Q/W_K/W_V: [heads*hd, hidden], a head is a block of rows.
      // W_O: [hidden, n_heads*hd], a head is a block of columns.
      const bool by_cols = pk == ProjKind::O;
      if ((by_cols ? t.cols : t.rows) != heads * hd)
        throw Error(t.file + ": tensor '" + t.name + "' has shape [" + std::to_string(t.rows) + ", " +
                    std::to_string(t.cols) + "]; expected " + std::to_string(heads * hd) + " " +
                    (by_cols ? "columns" : "rows") + " (" + std::to_string(heads) + " heads × " + std::to_string(hd) +
                    ")");
      double* layer_norms = norms.data() + static_cast<size_t>(l) * heads;
      for_each_row(t, buf, [&](int64_t r, const float* w, int64_t cols) {
        double rs = 0, rss = 0;
        for (int64_t c = 0; c < cols; ++c) {
          const double v = w[c];
          rs += v;
          rss += v * v;
          hg.min = std::min(hg.min, v);
          hg.max = std::max(hg.max, v);
          if (by_cols) layer_norms[c / hd] += v * v;
        }
        if (!by_cols) layer_norms[r / hd] += rss;
        sum[ki] += rs;
        sumsq[ki] += rss;
        hg.n += static_cast<uint64_t>(cols);
      });
    }
    for (double& v : norms) v = std::sqrt(v);
    hg.mean = hg.n ? sum[ki] / static_cast<double>(hg.n) : 0.0;
    hg.sd = hg.n ? std::sqrt(std::max(0.0, sumsq[ki] / static_cast<double>(hg.n) - hg.mean * hg.mean)) : 0.0;
    // The bulk of the distribution, not its extreme outliers, sets the bins.
    hg.lo = std::max(hg.min, hg.mean - 8 * hg.sd);
    hg.hi = std::min(hg.max, hg.mean + 8 * hg.sd);
    if (!(hg.hi > hg.lo)) {
      hg.lo = hg.min - 0.5;
      hg.hi = hg.max + 0.5;
    }
    hg.counts.assign(static_cast<size_t>(bins), 0);
  }

  // Pass 2: histograms.
  for (ProjKind pk : kProjKinds) {
    WeightHistogram& hg = wn.hist[static_cast<int>(pk)];
    const double scale = bins / (hg.hi - hg.lo);
    for (int l = 0; l < d.n_layers; ++l) {
      for_each_row(model.tensor(weight_kind(pk), l), buf, [&](int64_t, const float* w, int64_t cols) {
        for (int64_t c = 0; c < cols; ++c) {
          const double v = w[c];
          if (v < hg.lo) {
            ++hg.below;
          } else if (v > hg.hi) {
            ++hg.above;
          } else {
            const int b = std::min(bins - 1, static_cast<int>((v - hg.lo) * scale));
            ++hg.counts[b];
          }
        }
      });
    }
  }
  return wn;
}

}  // namespace spectra::dissect
