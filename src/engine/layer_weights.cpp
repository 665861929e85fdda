// Per-layer dequantization/conversion and reorder of the weights.
#include "engine/layer_weights.hpp"

#include <chrono>

#include "util/error.hpp"

namespace spectra::engine {

namespace {
double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

std::vector<float> tensor_to_f32(const TensorView& t) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  convert_rows_f32(t, 0, t.rows, v.data());
  return v;
}

LayerWeights::LayerWeights(const Model& model, WType type, bool resident)
    : model_(model), type_(type), resident_(resident) {
  const auto& d = model.desc();
  out_norm_ = tensor_to_f32(model.tensor(WeightKind::OutputNorm));
  if (resident_) {
    mats_.resize(d.n_layers);
    bufs_.resize(d.n_layers);
    const double t0 = now();
    for (int l = 0; l < d.n_layers; ++l) fill(mats_[l], l, 0, bufs_[l]);
    const TensorView& out = model.output_weight();
    out_all_ = prepare_weight(out, 0, out.rows, type_, 0, out_store_, scratch_);
    scratch_.release();
    convert_s_ += now() - t0;
  } else {
    mats_.resize(1);
    bufs_.resize(1);
  }
}

void LayerWeights::fill(LayerMats& m, int l, int64_t layout_m, std::vector<Buffer>& bufs) {
  bufs.resize(7);
  auto prep = [&](WeightKind k, int slot) {
    const TensorView& t = model_.tensor(k, l);
    return prepare_weight(t, 0, t.rows, type_, layout_m, bufs[slot], scratch_);
  };
  m.q = prep(WeightKind::Q, 0);
  m.k = prep(WeightKind::K, 1);
  m.v = prep(WeightKind::V, 2);
  m.o = prep(WeightKind::O, 3);
  m.gate = prep(WeightKind::Gate, 4);
  m.up = prep(WeightKind::Up, 5);
  m.down = prep(WeightKind::Down, 6);
  m.attn_norm = tensor_to_f32(model_.tensor(WeightKind::AttnNorm, l));
  m.ffn_norm = tensor_to_f32(model_.tensor(WeightKind::FfnNorm, l));
  m.q_bias.clear();
  m.k_bias.clear();
  m.v_bias.clear();
  if (model_.has(WeightKind::QBias, l)) m.q_bias = tensor_to_f32(model_.tensor(WeightKind::QBias, l));
  if (model_.has(WeightKind::KBias, l)) m.k_bias = tensor_to_f32(model_.tensor(WeightKind::KBias, l));
  if (model_.has(WeightKind::VBias, l)) m.v_bias = tensor_to_f32(model_.tensor(WeightKind::VBias, l));
}

const LayerMats& LayerWeights::layer(int l, int64_t m_rows) {
  if (l < 0 || l >= model_.desc().n_layers) throw Error("layer index out of range");
  if (resident_) return mats_[l];
  const double t0 = now();
  fill(mats_[0], l, m_rows, bufs_[0]);
  convert_s_ += now() - t0;
  return mats_[0];
}

PreparedWeight LayerWeights::output_rows(int64_t r0, int64_t r1, int64_t m_rows) {
  if (resident_) {
    PreparedWeight w = out_all_;
    w.n = r1 - r0;
    w.md = dnnl::memory::desc({w.k, w.n}, type_ == WType::BF16 ? dnnl::memory::data_type::bf16
                                                               : dnnl::memory::data_type::f32,
                              dnnl::memory::format_tag::ba);
    w.data = static_cast<uint8_t*>(out_all_.data) + r0 * w.k * (type_ == WType::BF16 ? 2 : 4);
    return w;
  }
  const double t0 = now();
  PreparedWeight w = prepare_weight(model_.output_weight(), r0, r1, type_, m_rows, out_store_, scratch_);
  convert_s_ += now() - t0;
  return w;
}

void LayerWeights::embed(const int32_t* tokens, int64_t n, float* x) const {
  const TensorView& e = model_.tensor(WeightKind::TokenEmbedding);
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < n; ++t) convert_rows_f32(e, tokens[t], tokens[t] + 1, x + t * e.cols);
}

size_t LayerWeights::resident_bytes() const {
  size_t b = out_store_.size();
  for (auto& v : bufs_)
    for (auto& x : v) b += x.size();
  return b;
}

}  // namespace spectra::engine
