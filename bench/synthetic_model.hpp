#pragma once
// A random-weight in-memory Model with real shapes, for benchmarking the
// engine without files. Every layer shares one set of BF16 matrices (the
// compute is identical; memory stays small), embeddings are random too.
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "formats/weights.hpp"
#include "util/half.hpp"

namespace spectra::bench {

class SyntheticModel : public Model {
 public:
  SyntheticModel(const ModelDesc& d) {
    desc_ = d;
    std::mt19937 rng(42);
    auto mk = [&](const std::string& name, int64_t rows, int64_t cols, float scale, bool ones = false) {
      auto& buf = storage_[name];
      buf.resize(static_cast<size_t>(rows * cols));
      std::normal_distribution<float> nd(0.f, scale);
      // Random block tiled (fast to build for large shapes).
      std::vector<uint16_t> blk(4099);
      for (auto& b : blk) b = f32_to_bf16(ones ? 1.0f : nd(rng));
      for (size_t i = 0; i < buf.size(); ++i) buf[i] = blk[i % blk.size()];
      TensorView t;
      t.name = name;
      t.dtype = DType::BF16;
      t.rows = rows;
      t.cols = cols;
      t.data = reinterpret_cast<const uint8_t*>(buf.data());
      t.nbytes = buf.size() * 2;
      views_[name] = t;
    };
    const int64_t H = d.hidden, qd = int64_t{d.n_heads} * d.head_dim, kd = int64_t{d.n_kv_heads} * d.head_dim;
    mk("emb", d.vocab, H, 1.0f);
    mk("attn_norm", 1, H, 0, true);
    mk("ffn_norm", 1, H, 0, true);
    mk("out_norm", 1, H, 0, true);
    mk("q", qd, H, 1.0f / std::sqrt(float(H)));
    mk("k", kd, H, 1.0f / std::sqrt(float(H)));
    mk("v", kd, H, 1.0f / std::sqrt(float(H)));
    mk("o", H, qd, 1.0f / std::sqrt(float(qd)));
    mk("gate", d.ffn, H, 1.0f / std::sqrt(float(H)));
    mk("up", d.ffn, H, 1.0f / std::sqrt(float(H)));
    mk("down", H, d.ffn, 1.0f / std::sqrt(float(d.ffn)));
    if (!d.tied_embeddings) mk("out", d.vocab, H, 1.0f / std::sqrt(float(H)));
  }
  static const char* key(WeightKind k) {
    switch (k) {
      case WeightKind::TokenEmbedding: return "emb";
      case WeightKind::AttnNorm: return "attn_norm";
      case WeightKind::FfnNorm: return "ffn_norm";
      case WeightKind::OutputNorm: return "out_norm";
      case WeightKind::Q: return "q";
      case WeightKind::K: return "k";
      case WeightKind::V: return "v";
      case WeightKind::O: return "o";
      case WeightKind::Gate: return "gate";
      case WeightKind::Up: return "up";
      case WeightKind::Down: return "down";
      case WeightKind::Output: return "out";
      default: return "none";
    }
  }
  bool has(WeightKind k, int) const override { return views_.count(key(k)) > 0; }
  const TensorView& tensor(WeightKind k, int) const override { return views_.at(key(k)); }
  std::vector<TensorView> all_tensors() const override { return {}; }

 private:
  std::map<std::string, std::vector<uint16_t>> storage_;
  std::map<std::string, TensorView> views_;
};

inline ModelDesc shape_smollm2_135m() {
  ModelDesc d;
  d.architecture = "llama";
  d.format = "synthetic";
  d.name = "SmolLM2-135M shape";
  d.n_layers = 30; d.hidden = 576; d.n_heads = 9; d.n_kv_heads = 3; d.head_dim = 64; d.ffn = 1536;
  d.vocab = 49152; d.max_context = 8192; d.rms_eps = 1e-5f; d.rope.theta = 100000; d.rope.dim = 64;
  d.rope_layout = RopeLayout::HalfSplit; d.tied_embeddings = true;
  return d;
}
inline ModelDesc shape_llama32_1b() {
  ModelDesc d = shape_smollm2_135m();
  d.name = "Llama-3.2-1B shape";
  d.n_layers = 16; d.hidden = 2048; d.n_heads = 32; d.n_kv_heads = 8; d.head_dim = 64; d.ffn = 8192;
  d.vocab = 128256; d.rope.theta = 500000; d.tied_embeddings = true;
  return d;
}
inline ModelDesc shape_llama3_8b() {
  ModelDesc d = shape_smollm2_135m();
  d.name = "Llama-3-8B shape";
  d.n_layers = 32; d.hidden = 4096; d.n_heads = 32; d.n_kv_heads = 8; d.head_dim = 128; d.ffn = 14336;
  d.vocab = 128256; d.rope.theta = 500000; d.rope.dim = 128; d.tied_embeddings = false;
  return d;
}

// Forward FLOPs of a T-token window: 2·T·(matmul params incl. lm head) +
// causal attention 2·T²·head_dim·n_heads per layer (QKᵀ and PV, half each).
inline double forward_flops(const ModelDesc& d, int64_t T) {
  const double H = d.hidden, qd = double(d.n_heads) * d.head_dim, kd = double(d.n_kv_heads) * d.head_dim;
  const double per_layer = H * qd * 2 + H * kd * 2 + 3.0 * H * d.ffn;
  const double mm = 2.0 * T * (per_layer * d.n_layers + double(d.vocab) * H);
  const double att = 2.0 * double(T) * double(T) * d.head_dim * d.n_heads * d.n_layers;
  return mm + att;
}

}  // namespace spectra::bench
