#pragma once
// The model's weights by role, mapped from its files. open_model() is the one
// entry point: an HF folder (config.json + safetensors) or a .gguf file gives
// the same ModelDesc and the same roles; the engine never sees file names.
#include <memory>
#include <string>
#include <vector>

#include "formats/model_desc.hpp"
#include "formats/tensor.hpp"

namespace spectra {

enum class WeightKind {
  TokenEmbedding,  // [vocab, hidden]
  AttnNorm,        // [hidden]                 per layer
  Q,               // [n_heads*head_dim, hidden]
  K,               // [n_kv_heads*head_dim, hidden]
  V,               // [n_kv_heads*head_dim, hidden]
  O,               // [hidden, n_heads*head_dim]
  QBias, KBias, VBias,  // Qwen2 only
  FfnNorm,         // [hidden]
  Gate,            // [ffn, hidden]
  Up,              // [ffn, hidden]
  Down,            // [hidden, ffn]
  OutputNorm,      // [hidden]
  Output,          // [vocab, hidden]; absent when embeddings are tied
};

const char* to_string(WeightKind k);
bool is_per_layer(WeightKind k);

class Model {
 public:
  virtual ~Model() = default;
  const ModelDesc& desc() const { return desc_; }

  // layer = -1 for whole-model tensors. has() is false for absent optional
  // tensors (biases, untied output); tensor() throws spectra::Error naming the
  // missing tensor and the file.
  virtual bool has(WeightKind kind, int layer = -1) const = 0;
  virtual const TensorView& tensor(WeightKind kind, int layer = -1) const = 0;
  // The output projection: Output, or TokenEmbedding when tied.
  const TensorView& output_weight() const {
    return has(WeightKind::Output) ? tensor(WeightKind::Output) : tensor(WeightKind::TokenEmbedding);
  }
  // Every tensor in the files, in file order (for inspect).
  virtual std::vector<TensorView> all_tensors() const = 0;

 protected:
  ModelDesc desc_;
};

// PATH is a directory (HF layout) or a .gguf file. Validates everything: shapes
// against the config, offsets inside files, dtypes. Throws spectra::Error.
std::unique_ptr<Model> open_model(const std::string& path);

}  // namespace spectra
