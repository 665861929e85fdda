#pragma once
// A plain, double-precision forward pass in the style of llama2.c's run.c,
// written independently of the engine so that `spectra trace` can check the
// engine's fused numbers against it. It shares nothing with src/engine: its
// own RMSNorm, a naive matmul over weight rows converted to fp32 a chunk at a
// time (convert_rows_f32, so quantized GGUF and bf16 safetensors work), its
// own RoPE (both pair layouts, with linear / llama3 / per-frequency-divisor
// scaling), softmax attention with the causal mask, and the SwiGLU MLP.
//
// It runs layers 0 .. L-1 completely and stops inside layer L once that
// layer's queries and keys are rotated: that is all a head trace needs.
//
//   auto qk = spectra::dissect::reference_layer_qkv(model, tokens, layer, {});
//   const double* q_t_h = qk.q_row(t, h);   // head h's query at position t
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "formats/model_desc.hpp"
#include "formats/weights.hpp"

namespace spectra::dissect {

struct ReferenceOptions {
  // Test-only: rotate with this pair layout instead of the model's. Tests use
  // it to show that the cross-check catches the classic RoPE-layout bug.
  std::optional<RopeLayout> rope_layout_override;
};

// Queries, keys and values of one layer for every position of the input,
// after RoPE (values are not rotated), in double precision.
struct LayerQKV {
  int layer = 0;
  int64_t n = 0;  // positions
  int n_heads = 0, n_kv_heads = 0, head_dim = 0;
  RopeLayout rope_layout = RopeLayout::HalfSplit;  // the layout that was applied
  std::vector<double> q;  // [n][n_heads * head_dim]
  std::vector<double> k;  // [n][n_kv_heads * head_dim]
  std::vector<double> v;  // [n][n_kv_heads * head_dim]

  const double* q_row(int64_t t, int head) const {
    return q.data() + (t * n_heads + head) * static_cast<int64_t>(head_dim);
  }
  const double* k_row(int64_t t, int kv_head) const {
    return k.data() + (t * n_kv_heads + kv_head) * static_cast<int64_t>(head_dim);
  }
};

// Inverse RoPE frequencies (rope.dim / 2 of them) after scaling, computed
// here from the ModelDesc (not borrowed from the engine).
std::vector<double> reference_rope_inv_freq(const RopeParams& p, int head_dim);

// Rotate one head vector (head_dim values) at position `pos` in place.
void reference_rope(double* x, int head_dim, int64_t pos, const std::vector<double>& inv_freq, RopeLayout layout);

// The forward pass up to layer `layer` (0-based). Token ids must be inside the
// vocabulary; throws spectra::Error otherwise.
LayerQKV reference_layer_qkv(const Model& model, std::span<const int32_t> tokens, int layer,
                             const ReferenceOptions& opt = {});

}  // namespace spectra::dissect
