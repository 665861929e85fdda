#pragma once
// Per-layer weight preparation (the mode: EngineOptions::weights, see
// weights_mode.hpp). Streaming mode: a layer's matrices are
// dequantized/converted and reordered for the call's M rows when the pass
// reaches the layer, into buffers reused by every layer, so only one layer's
// worth of converted weights exists at a time. Resident mode (generate;
// measure/study when `auto` finds the memory): every layer is converted once,
// in the plain layout usable for any M. The two layouts may make oneDNN round
// a product differently (a few ulps; tests/engine/test_weights_mode.cpp).
#include <cstdint>
#include <vector>

#include "engine/buffer.hpp"
#include "engine/gemm.hpp"
#include "formats/weights.hpp"

namespace spectra::engine {

struct LayerMats {
  PreparedWeight q, k, v, o, gate, up, down;
  std::vector<float> attn_norm, ffn_norm;
  std::vector<float> q_bias, k_bias, v_bias;  // empty unless the model has them
};

class LayerWeights {
 public:
  LayerWeights(const Model& model, WType type, bool resident);
  // The matrices of layer `l`, laid out for matmuls of `m_rows` rows
  // (streaming mode; ignored when resident). In streaming mode the result is
  // valid until the next call.
  const LayerMats& layer(int l, int64_t m_rows);
  // Output projection rows [r0, r1) (vocab rows), laid out for m_rows.
  // Streaming: valid until the next call.
  PreparedWeight output_rows(int64_t r0, int64_t r1, int64_t m_rows);
  const std::vector<float>& output_norm() const { return out_norm_; }
  // x[t] = embedding row of tokens[t] (fp32).
  void embed(const int32_t* tokens, int64_t n, float* x) const;
  // Seconds spent converting weights so far.
  double convert_seconds() const { return convert_s_; }
  WType type() const { return type_; }
  bool resident() const { return resident_; }
  size_t resident_bytes() const;

 private:
  void fill(LayerMats& m, int l, int64_t layout_m, std::vector<Buffer>& bufs);
  const Model& model_;
  WType type_;
  bool resident_;
  std::vector<LayerMats> mats_;
  std::vector<std::vector<Buffer>> bufs_;  // [layer or 0][matrix]
  Buffer out_store_, scratch_;
  PreparedWeight out_all_;  // resident: the whole output matrix, plain
  std::vector<float> out_norm_;
  double convert_s_ = 0;
};

std::vector<float> tensor_to_f32(const TensorView& t);

}  // namespace spectra::engine
