#pragma once
// Projection weights per head: `spectra inspect --figures DIR`.
//
// For every layer, the Frobenius norm of each head's slice of W_Q, W_K, W_V
// and W_O: rows h·d .. (h+1)·d of W_Q (query heads) and of W_K, W_V (KV heads,
// GQA), columns h·d .. (h+1)·d of W_O. Plus a histogram of the weight values
// of each kind over all layers. The tensors are read a block of rows at a
// time through convert_rows_f32, so quantized GGUF and bf16 safetensors work
// without expanding a whole matrix. The per-head norms do not depend on the
// order of rows inside a head, so the HF (half-split) and GGUF (adjacent)
// forms of one model give the same numbers.
//
//   auto wn = spectra::dissect::compute_weight_norms(model);
//   spectra::dissect::write_weight_figures(wn, "figs");
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "formats/weights.hpp"

namespace spectra::dissect {

enum class ProjKind { Q = 0, K = 1, V = 2, O = 3 };
inline constexpr std::array<ProjKind, 4> kProjKinds = {ProjKind::Q, ProjKind::K, ProjKind::V, ProjKind::O};
const char* to_string(ProjKind k);  // "W_Q", ...

struct WeightHistogram {
  double lo = 0, hi = 0;           // bin range; values outside are counted apart
  std::vector<uint64_t> counts;    // equal-width bins over [lo, hi]
  uint64_t below = 0, above = 0;   // outside [lo, hi]
  uint64_t n = 0;
  double mean = 0, sd = 0, min = 0, max = 0;
};

struct WeightNorms {
  std::string model_name, format;
  std::string dtype[4];  // storage type per kind (of layer 0)
  int n_layers = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0;
  // norms[kind][layer * heads(kind) + head]
  std::array<std::vector<double>, 4> norms;
  std::array<WeightHistogram, 4> hist;

  int heads(ProjKind k) const { return k == ProjKind::K || k == ProjKind::V ? n_kv_heads : n_heads; }
  double norm(ProjKind k, int layer, int head) const {
    return norms[static_cast<int>(k)][static_cast<size_t>(layer) * heads(k) + head];
  }
};

// Two passes over the Q/K/V/O tensors (norms and moments, then the
// histograms over mean ± 8 sd clipped to [min, max]). Throws spectra::Error on
// shapes that do not match the description.
WeightNorms compute_weight_norms(const Model& model, int bins = 161);

// DIR/weight_norms.csv (kind, layer, head, frobenius), weight_histograms.csv
// (kind, bin_lo, bin_hi, count), and the figures weight_norms_{q,k,v,o} and
// weight_histograms (.png and .svg). Returns the figure base names.
std::vector<std::string> write_weight_figures(const WeightNorms& wn, const std::string& dir,
                                              const std::string& gnuplot = "gnuplot");

}  // namespace spectra::dissect
