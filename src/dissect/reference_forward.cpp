// The plain double-precision reference forward pass (see reference_forward.hpp).
// Deliberately simple: every step is a loop you can read against the maths.
#include "dissect/reference_forward.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "util/error.hpp"

namespace spectra::dissect {

namespace {

// A [rows x cols] weight matrix (or a vector with rows = 1) as doubles.
std::vector<double> vector_f64(const TensorView& t) {
  std::vector<float> f(static_cast<size_t>(t.numel()));
  convert_rows_f32(t, 0, t.rows, f.data());
  return std::vector<double>(f.begin(), f.end());
}

// out[n][dim] = x / sqrt(mean(x^2) + eps) * w, row by row.
void rmsnorm(const std::vector<double>& x, const std::vector<double>& w, double eps, int64_t n, int64_t dim,
             std::vector<double>& out) {
  out.assign(static_cast<size_t>(n * dim), 0.0);
  for (int64_t t = 0; t < n; ++t) {
    const double* xr = x.data() + t * dim;
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += xr[i] * xr[i];
    const double scale = 1.0 / std::sqrt(ss / static_cast<double>(dim) + eps);
    for (int64_t i = 0; i < dim; ++i) out[t * dim + i] = xr[i] * scale * w[i];
  }
}

// y[n][out] = x[n][in] · Wᵀ for W = [out, in] stored in the model file.
// The weight is converted to fp32 a chunk of rows at a time, so a quantized
// or bf16 matrix is never expanded whole. Accumulation in double.
void matmul(const TensorView& W, const std::vector<double>& x, int64_t n, std::vector<double>& y) {
  const int64_t out = W.rows, in = W.cols;
  if (static_cast<int64_t>(x.size()) != n * in)
    throw Error("reference: " + W.name + ": input has " + std::to_string(x.size() / std::max<int64_t>(n, 1)) +
                " columns, the weight expects " + std::to_string(in));
  y.assign(static_cast<size_t>(n * out), 0.0);
  const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 18) / std::max<int64_t>(in, 1));  // ~1 MB of fp32
  const int64_t n_chunks = (out + chunk - 1) / chunk;
  // Threads only when there is enough work to pay for them.
  const bool big = static_cast<double>(n) * out * in > 4e6;
#pragma omp parallel if (big)
  {
    std::vector<float> w(static_cast<size_t>(chunk * in));
#pragma omp for schedule(dynamic)
    for (int64_t c = 0; c < n_chunks; ++c) {
      const int64_t r0 = c * chunk, r1 = std::min(out, r0 + chunk);
      convert_rows_f32(W, r0, r1, w.data());
      // Tokens outer, rows inner: the converted block stays in cache while
      // each input row is read once per block.
      for (int64_t t = 0; t < n; ++t) {
        const double* xr = x.data() + t * in;
        for (int64_t r = r0; r < r1; ++r) {
          const float* wr = w.data() + (r - r0) * in;
          double s = 0;
#pragma omp simd reduction(+ : s)
          for (int64_t i = 0; i < in; ++i) s += static_cast<double>(wr[i]) * xr[i];
          y[t * out + r] = s;
        }
      }
    }
  }
}

void add_bias(const Model& m, WeightKind kind, int layer, int64_t n, std::vector<double>& y) {
  if (!m.has(kind, layer)) return;
  const std::vector<double> b = vector_f64(m.tensor(kind, layer));
  const int64_t dim = static_cast<int64_t>(b.size());
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < dim; ++i) y[t * dim + i] += b[i];
}

// Rotate every head of every row: row t sits at position t.
void rope_rows(std::vector<double>& x, int64_t n, int heads, int head_dim, const std::vector<double>& inv_freq,
               RopeLayout layout) {
  for (int64_t t = 0; t < n; ++t)
    for (int h = 0; h < heads; ++h)
      reference_rope(x.data() + (t * heads + h) * static_cast<int64_t>(head_dim), head_dim, t, inv_freq, layout);
}

}  // namespace

std::vector<double> reference_rope_inv_freq(const RopeParams& p, int head_dim) {
  const int d = p.dim > 0 ? p.dim : head_dim;
  std::vector<double> inv(static_cast<size_t>(d / 2));
  for (int i = 0; i < d / 2; ++i) inv[i] = 1.0 / std::pow(p.theta, static_cast<double>(2 * i) / d);
  if (!p.freq_divisors.empty()) {
    // GGUF rope_freqs.weight: the scaling as precomputed divisors.
    if (p.freq_divisors.size() != inv.size())
      throw Error("reference: rope freq_divisors has " + std::to_string(p.freq_divisors.size()) +
                  " entries, expected " + std::to_string(inv.size()));
    for (size_t i = 0; i < inv.size(); ++i) inv[i] = inv[i] / static_cast<double>(p.freq_divisors[i]);
    return inv;
  }
  switch (p.scaling) {
    case RopeScalingType::None:
      break;
    case RopeScalingType::Linear:
      for (double& f : inv) f = f / p.factor;
      break;
    case RopeScalingType::Llama3: {
      // Long wavelengths are slowed down by `factor`, short ones kept, and
      // the band in between blended linearly in 1/wavelength.
      const double low_freq_wavelen = p.original_max_position / p.low_freq_factor;
      const double high_freq_wavelen = p.original_max_position / p.high_freq_factor;
      for (double& f : inv) {
        const double wavelen = 2.0 * M_PI / f;
        if (wavelen < high_freq_wavelen) continue;
        if (wavelen > low_freq_wavelen) {
          f = f / p.factor;
        } else {
          const double smooth =
              (p.original_max_position / wavelen - p.low_freq_factor) / (p.high_freq_factor - p.low_freq_factor);
          f = (1.0 - smooth) * f / p.factor + smooth * f;
        }
      }
      break;
    }
  }
  return inv;
}

void reference_rope(double* x, int head_dim, int64_t pos, const std::vector<double>& inv_freq, RopeLayout layout) {
  const int half = static_cast<int>(inv_freq.size());  // pairs rotated; 2*half <= head_dim
  if (2 * half > head_dim) throw Error("reference: rotary dimension exceeds head_dim");
  for (int i = 0; i < half; ++i) {
    const double angle = static_cast<double>(pos) * inv_freq[i];
    const double c = std::cos(angle), s = std::sin(angle);
    // HalfSplit pairs dim i with dim i + half (HF rotate_half); Adjacent
    // pairs dims 2i and 2i+1 (Meta / GGUF / llama2.c).
    const int a = layout == RopeLayout::HalfSplit ? i : 2 * i;
    const int b = layout == RopeLayout::HalfSplit ? i + half : 2 * i + 1;
    const double x0 = x[a], x1 = x[b];
    x[a] = x0 * c - x1 * s;
    x[b] = x0 * s + x1 * c;
  }
}

LayerQKV reference_layer_qkv(const Model& model, std::span<const int32_t> tokens, int layer,
                             const ReferenceOptions& opt) {
  const ModelDesc& d = model.desc();
  if (layer < 0 || layer >= d.n_layers)
    throw Error("reference: layer " + std::to_string(layer) + " is out of range: the model has layers 0.." +
                std::to_string(d.n_layers - 1));
  if (d.n_kv_heads <= 0 || d.n_heads % d.n_kv_heads != 0)
    throw Error("reference: query heads must be a multiple of KV heads");
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t dim = d.hidden, hd = d.head_dim;
  const int64_t qdim = d.n_heads * hd, kvdim = d.n_kv_heads * hd;
  const int group = d.n_heads / d.n_kv_heads;
  const RopeLayout layout = opt.rope_layout_override.value_or(d.rope_layout);
  const std::vector<double> inv_freq = reference_rope_inv_freq(d.rope, d.head_dim);
  const double eps = d.rms_eps;

  // Token embeddings.
  const TensorView& emb = model.tensor(WeightKind::TokenEmbedding);
  std::vector<double> x(static_cast<size_t>(n * dim));
  std::vector<float> row(static_cast<size_t>(dim));
  for (int64_t t = 0; t < n; ++t) {
    const int32_t id = tokens[t];
    if (id < 0 || id >= emb.rows)
      throw Error("token id " + std::to_string(id) + " at position " + std::to_string(t) +
                  " is out of range: the model's vocabulary has ids 0.." + std::to_string(emb.rows - 1));
    convert_rows_f32(emb, id, id + 1, row.data());
    for (int64_t i = 0; i < dim; ++i) x[t * dim + i] = row[i];
  }

  LayerQKV out;
  out.layer = layer;
  out.n = n;
  out.n_heads = d.n_heads;
  out.n_kv_heads = d.n_kv_heads;
  out.head_dim = d.head_dim;
  out.rope_layout = layout;

  std::vector<double> xb, q, k, v, att, ob, gate, up, down;
  for (int l = 0; l <= layer; ++l) {
    // Attention block: x += W_O · attention(RoPE(W_Q xb), RoPE(W_K xb), W_V xb).
    rmsnorm(x, vector_f64(model.tensor(WeightKind::AttnNorm, l)), eps, n, dim, xb);
    matmul(model.tensor(WeightKind::Q, l), xb, n, q);
    matmul(model.tensor(WeightKind::K, l), xb, n, k);
    matmul(model.tensor(WeightKind::V, l), xb, n, v);
    add_bias(model, WeightKind::QBias, l, n, q);
    add_bias(model, WeightKind::KBias, l, n, k);
    add_bias(model, WeightKind::VBias, l, n, v);
    rope_rows(q, n, d.n_heads, d.head_dim, inv_freq, layout);
    rope_rows(k, n, d.n_kv_heads, d.head_dim, inv_freq, layout);
    if (l == layer) {
      out.q = std::move(q);
      out.k = std::move(k);
      out.v = std::move(v);
      return out;
    }

    att.assign(static_cast<size_t>(n * qdim), 0.0);
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    std::vector<double> p(static_cast<size_t>(n));
    for (int h = 0; h < d.n_heads; ++h) {
      const int kvh = h / group;
      for (int64_t t = 0; t < n; ++t) {
        const int64_t j0 = d.sliding_window > 0 ? std::max<int64_t>(0, t - d.sliding_window + 1) : 0;
        const double* qt = q.data() + t * qdim + h * hd;
        double m = -std::numeric_limits<double>::infinity();
        for (int64_t j = j0; j <= t; ++j) {
          const double* kj = k.data() + j * kvdim + kvh * hd;
          double s = 0;
#pragma omp simd reduction(+ : s)
          for (int64_t i = 0; i < hd; ++i) s += qt[i] * kj[i];
          p[j] = s * scale;
          m = std::max(m, p[j]);
        }
        double z = 0;
        for (int64_t j = j0; j <= t; ++j) {
          p[j] = std::exp(p[j] - m);
          z += p[j];
        }
        double* ot = att.data() + t * qdim + h * hd;
        for (int64_t j = j0; j <= t; ++j) {
          const double w = p[j] / z;
          const double* vj = v.data() + j * kvdim + kvh * hd;
          for (int64_t i = 0; i < hd; ++i) ot[i] += w * vj[i];
        }
      }
    }
    matmul(model.tensor(WeightKind::O, l), att, n, ob);
    for (size_t i = 0; i < x.size(); ++i) x[i] += ob[i];

    // MLP block: x += W_down · (silu(W_gate xb) ⊙ W_up xb).
    rmsnorm(x, vector_f64(model.tensor(WeightKind::FfnNorm, l)), eps, n, dim, xb);
    matmul(model.tensor(WeightKind::Gate, l), xb, n, gate);
    matmul(model.tensor(WeightKind::Up, l), xb, n, up);
    for (size_t i = 0; i < gate.size(); ++i) gate[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];
    matmul(model.tensor(WeightKind::Down, l), gate, n, down);
    for (size_t i = 0; i < x.size(); ++i) x[i] += down[i];
  }
  return out;  // not reached
}

}  // namespace spectra::dissect
