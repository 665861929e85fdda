// Names and per-layer-ness of the weight roles in weights.hpp.
#include "formats/weights.hpp"

namespace spectra {

const char* to_string(WeightKind k) {
  switch (k) {
    case WeightKind::TokenEmbedding: return "token_embedding";
    case WeightKind::AttnNorm: return "attn_norm";
    case WeightKind::Q: return "q";
    case WeightKind::K: return "k";
    case WeightKind::V: return "v";
    case WeightKind::O: return "o";
    case WeightKind::QBias: return "q_bias";
    case WeightKind::KBias: return "k_bias";
    case WeightKind::VBias: return "v_bias";
    case WeightKind::FfnNorm: return "ffn_norm";
    case WeightKind::Gate: return "gate";
    case WeightKind::Up: return "up";
    case WeightKind::Down: return "down";
    case WeightKind::OutputNorm: return "output_norm";
    case WeightKind::Output: return "output";
  }
  return "?";
}

bool is_per_layer(WeightKind k) {
  return !(k == WeightKind::TokenEmbedding || k == WeightKind::OutputNorm || k == WeightKind::Output);
}

}  // namespace spectra
