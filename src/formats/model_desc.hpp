#pragma once
// One description of a Llama-family model, whatever file it came from.
// Filled by formats/hf_config.cpp (config.json) or formats/gguf_model.cpp
// (GGUF metadata); read by the engine, the study and `spectra inspect`.
#include <cstdint>
#include <string>
#include <vector>

namespace spectra {

// Which pairs of dimensions RoPE rotates (see shared NOTES: "the classic bug").
enum class RopeLayout {
  HalfSplit,  // HF checkpoints: dim i with dim i + d/2 (rotate_half)
  Adjacent,   // GGUF / Meta / llama2.c: dims (2i, 2i+1)
};

enum class RopeScalingType { None, Linear, Llama3 };

struct RopeParams {
  double theta = 10000.0;
  int dim = 0;  // number of rotated dimensions per head (normally head_dim)
  RopeScalingType scaling = RopeScalingType::None;
  double factor = 1.0;            // linear and llama3
  double low_freq_factor = 1.0;   // llama3
  double high_freq_factor = 4.0;  // llama3
  int original_max_position = 8192;  // llama3
  // Per-frequency divisors (GGUF `rope_freqs.weight`, dim/2 entries); empty if
  // absent. When present they replace the computed llama3 scaling.
  std::vector<float> freq_divisors;
};

struct ModelFileInfo {
  std::string path;
  uint64_t bytes = 0;
};

struct ModelDesc {
  std::string architecture;  // "llama", "mistral", "qwen2"
  std::string format;        // "safetensors" or "gguf"
  std::string name;          // best-effort human name

  int n_layers = 0;
  int hidden = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int ffn = 0;
  int vocab = 0;
  int max_context = 0;
  float rms_eps = 1e-5f;
  RopeParams rope;
  RopeLayout rope_layout = RopeLayout::HalfSplit;
  bool tied_embeddings = false;
  bool qkv_bias = false;  // Qwen2: q/k/v projections carry biases

  // Mistral-style sliding-window attention: each query sees at most this many
  // keys (0 = plain causal attention). Recorded, not applied by the loader.
  int sliding_window = 0;

  int bos_id = -1;
  int eos_id = -1;               // the first of eos_ids
  std::vector<int> eos_ids;      // config.json may list several (Llama-3.1 instruct)
  bool add_bos = true;  // prepend BOS when tokenizing text for this model

  std::vector<ModelFileInfo> files;

  int gqa_group() const { return n_kv_heads > 0 ? n_heads / n_kv_heads : 0; }
  int kv_head_of(int head) const { return head / gqa_group(); }
};

const char* to_string(RopeLayout l);
const char* to_string(RopeScalingType s);

// Checks the description is usable (positive sizes, heads divisible by KV
// heads, even head_dim and RoPE dim, ...). `source` names the file the values
// came from; throws spectra::Error "SOURCE: field 'F': ...".
void validate(const ModelDesc& d, const std::string& source);

}  // namespace spectra
