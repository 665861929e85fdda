#pragma once
// Test helper: a minimal F32 safetensors Model for the stories260k HF folder,
// so the engine can be checked independently of the formats loaders.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "formats/weights.hpp"
#include "util/error.hpp"

namespace spectra::test_support {

class MiniModel : public Model {
 public:
  explicit MiniModel(const std::string& dir) {
    std::ifstream cf(dir + "/config.json");
    auto cfg = nlohmann::json::parse(cf);
    desc_.architecture = "llama";
    desc_.format = "safetensors";
    desc_.n_layers = cfg["num_hidden_layers"];
    desc_.hidden = cfg["hidden_size"];
    desc_.n_heads = cfg["num_attention_heads"];
    desc_.n_kv_heads = cfg["num_key_value_heads"];
    desc_.head_dim = desc_.hidden / desc_.n_heads;
    desc_.ffn = cfg["intermediate_size"];
    desc_.vocab = cfg["vocab_size"];
    desc_.max_context = cfg["max_position_embeddings"];
    desc_.rms_eps = cfg["rms_norm_eps"];
    desc_.rope.theta = cfg["rope_theta"];
    desc_.rope.dim = desc_.head_dim;
    desc_.rope_layout = RopeLayout::HalfSplit;
    desc_.tied_embeddings = cfg.value("tie_word_embeddings", false);
    std::ifstream f(dir + "/model.safetensors", std::ios::binary);
    uint64_t n;
    f.read(reinterpret_cast<char*>(&n), 8);
    std::string hdr(n, '\0');
    f.read(hdr.data(), n);
    bytes_.assign(std::istreambuf_iterator<char>(f), {});
    auto h = nlohmann::json::parse(hdr);
    for (auto& [name, v] : h.items()) {
      if (name == "__metadata__") continue;
      TensorView t;
      t.name = name;
      t.dtype = DType::F32;
      auto shape = v["shape"].get<std::vector<int64_t>>();
      t.ndim = static_cast<int>(shape.size());
      t.rows = shape.size() == 2 ? shape[0] : 1;
      t.cols = shape.back();
      uint64_t b = v["data_offsets"][0];
      t.data = reinterpret_cast<const uint8_t*>(bytes_.data()) + b;
      t.nbytes = t.numel() * 4;
      tensors_[name] = t;
    }
  }
  static std::string name_of(WeightKind k, int l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    switch (k) {
      case WeightKind::TokenEmbedding: return "model.embed_tokens.weight";
      case WeightKind::AttnNorm: return p + "input_layernorm.weight";
      case WeightKind::Q: return p + "self_attn.q_proj.weight";
      case WeightKind::K: return p + "self_attn.k_proj.weight";
      case WeightKind::V: return p + "self_attn.v_proj.weight";
      case WeightKind::O: return p + "self_attn.o_proj.weight";
      case WeightKind::FfnNorm: return p + "post_attention_layernorm.weight";
      case WeightKind::Gate: return p + "mlp.gate_proj.weight";
      case WeightKind::Up: return p + "mlp.up_proj.weight";
      case WeightKind::Down: return p + "mlp.down_proj.weight";
      case WeightKind::OutputNorm: return "model.norm.weight";
      case WeightKind::Output: return "lm_head.weight";
      default: return "?";
    }
  }
  bool has(WeightKind k, int l) const override { return tensors_.count(name_of(k, l)) > 0; }
  const TensorView& tensor(WeightKind k, int l) const override {
    auto it = tensors_.find(name_of(k, l));
    if (it == tensors_.end()) throw Error("missing " + name_of(k, l));
    return it->second;
  }
  std::vector<TensorView> all_tensors() const override { return {}; }

 private:
  std::vector<char> bytes_;
  std::map<std::string, TensorView> tensors_;
};

}  // namespace spectra::test_support
