// GgufModel: a GGUF file's metadata -> ModelDesc, tensor names -> roles.
// llama: Q/K rows are in Meta's adjacent-pair RoPE order (llama.cpp's
// converter permutes them back from HF); qwen2: half-split (not permuted).
#include <algorithm>
#include <filesystem>
#include <unordered_map>

#include "formats/loaders.hpp"
#include "formats/mapped_model.hpp"
#include "util/error.hpp"

namespace spectra {

namespace {

std::string gguf_name(WeightKind k, int l) {
  const std::string p = "blk." + std::to_string(l) + ".";
  switch (k) {
    case WeightKind::TokenEmbedding: return "token_embd.weight";
    case WeightKind::AttnNorm: return p + "attn_norm.weight";
    case WeightKind::Q: return p + "attn_q.weight";
    case WeightKind::K: return p + "attn_k.weight";
    case WeightKind::V: return p + "attn_v.weight";
    case WeightKind::O: return p + "attn_output.weight";
    case WeightKind::QBias: return p + "attn_q.bias";
    case WeightKind::KBias: return p + "attn_k.bias";
    case WeightKind::VBias: return p + "attn_v.bias";
    case WeightKind::FfnNorm: return p + "ffn_norm.weight";
    case WeightKind::Gate: return p + "ffn_gate.weight";
    case WeightKind::Up: return p + "ffn_up.weight";
    case WeightKind::Down: return p + "ffn_down.weight";
    case WeightKind::OutputNorm: return "output_norm.weight";
    case WeightKind::Output: return "output.weight";
  }
  return "";
}

int as_size(const GgufFile& f, const std::string& key, int64_t v) {
  if (v < 0 || v > (int64_t{1} << 30)) fail_field(f.path(), key, "value " + std::to_string(v) + " is out of range");
  return static_cast<int>(v);
}

class GgufModel : public MappedModel {
 public:
  explicit GgufModel(const std::string& path) : file_(std::make_shared<GgufFile>(path)) {
    const GgufFile& f = *file_;
    desc_ = desc_from_gguf(f);
    main_file_ = path;
    keep_alive_.push_back(file_);
    desc_.files.push_back({path, f.file_size()});
    for (const auto& t : f.tensors())
      if (t.supported) all_.push_back(f.view(t));
    bind_roles(gguf_name, [this](const std::string& n) { return lookup(n); }, path, "the GGUF metadata");
  }

 private:
  const TensorView* lookup(const std::string& name) {
    const GgufTensorInfo* t = file_->find_tensor(name);
    if (!t) return nullptr;
    auto [it, inserted] = views_.try_emplace(name);
    if (inserted) it->second = file_->view(*t);  // throws for unsupported types
    return &it->second;
  }

  std::shared_ptr<GgufFile> file_;
  std::unordered_map<std::string, TensorView> views_;
};

}  // namespace

ModelDesc desc_from_gguf(const GgufFile& f) {
  ModelDesc d;
  d.format = "gguf";
  const std::string arch = f.get_string("general.architecture");
  if (arch == "llama") {
    d.rope_layout = RopeLayout::Adjacent;
  } else if (arch == "qwen2") {
    d.rope_layout = RopeLayout::HalfSplit;  // llama.cpp: NEOX rope, rows not permuted
    d.qkv_bias = true;
  } else {
    fail_field(f.path(), "general.architecture", "unsupported architecture '" + arch + "' (supported: llama, qwen2)");
  }
  d.architecture = arch;
  const std::string p = arch + ".";
  auto size = [&](const std::string& key) { return as_size(f, key, f.get_int(key)); };
  auto size_or = [&](const std::string& key, int dflt) { return f.has(key) ? size(key) : dflt; };

  if (size_or(p + "expert_count", 0) > 0)
    fail_field(f.path(), p + "expert_count", "mixture-of-experts models are not supported");
  d.n_layers = size(p + "block_count");
  d.hidden = size(p + "embedding_length");
  d.ffn = size(p + "feed_forward_length");
  d.n_heads = size(p + "attention.head_count");
  d.n_kv_heads = size_or(p + "attention.head_count_kv", d.n_heads);
  if (d.n_heads <= 0) fail_field(f.path(), p + "attention.head_count", "must be positive");
  d.head_dim = size_or(p + "attention.key_length", d.hidden / d.n_heads);
  if (f.has(p + "attention.value_length") && size(p + "attention.value_length") != d.head_dim)
    fail_field(f.path(), p + "attention.value_length", "differs from the key length: not supported");
  d.rms_eps = static_cast<float>(f.get_float(p + "attention.layer_norm_rms_epsilon"));
  d.max_context = size_or(p + "context_length", 0);
  d.rope.theta = f.opt_float(p + "rope.freq_base").value_or(10000.0);
  d.rope.dim = size_or(p + "rope.dimension_count", d.head_dim);

  // Vocabulary: explicit, else the embedding's rows, else the token list.
  if (f.has(p + "vocab_size")) {
    d.vocab = size(p + "vocab_size");
  } else if (const auto* emb = f.find_tensor("token_embd.weight"); emb && emb->dims.size() == 2) {
    d.vocab = static_cast<int>(emb->dims[1]);
  } else if (f.has("tokenizer.ggml.tokens")) {
    d.vocab = static_cast<int>(f.get_string_array("tokenizer.ggml.tokens").size());
  }

  // RoPE scaling from metadata.
  const std::string stype = f.opt_string(p + "rope.scaling.type").value_or("none");
  if (stype == "linear") {
    d.rope.scaling = RopeScalingType::Linear;
    d.rope.factor = f.get_float(p + "rope.scaling.factor");
  } else if (stype != "none") {
    fail_field(f.path(), p + "rope.scaling.type", "unsupported RoPE scaling '" + stype + "' (supported: none, linear)");
  } else if (f.has(p + "rope.scale_linear")) {  // older files
    d.rope.factor = f.get_float(p + "rope.scale_linear");
    if (d.rope.factor != 1.0) d.rope.scaling = RopeScalingType::Linear;
  }
  // Llama-3.1 files carry the llama3 scaling as per-frequency divisors.
  if (const auto* rf = f.find_tensor("rope_freqs.weight")) {
    const TensorView v = f.view(*rf);
    if (v.ndim != 1 || v.cols != d.rope.dim / 2)
      fail_at(f.path(), rf->info_offset,
              "tensor 'rope_freqs.weight' has " + std::to_string(v.numel()) + " entries, expected rope dim / 2 = " +
                  std::to_string(d.rope.dim / 2));
    d.rope.freq_divisors.resize(static_cast<size_t>(v.cols));
    convert_rows_f32(v, 0, 1, d.rope.freq_divisors.data());
    for (float x : d.rope.freq_divisors)
      if (!(x > 0)) fail_at(f.path(), rf->info_offset, "tensor 'rope_freqs.weight' holds a non-positive divisor");
    if (d.rope.scaling == RopeScalingType::None) {
      d.rope.scaling = RopeScalingType::Llama3;  // applied through freq_divisors
      d.rope.factor = *std::max_element(d.rope.freq_divisors.begin(), d.rope.freq_divisors.end());
    }
  }

  d.tied_embeddings = f.find_tensor("output.weight") == nullptr;
  if (auto b = f.opt_int("tokenizer.ggml.bos_token_id")) d.bos_id = as_size(f, "tokenizer.ggml.bos_token_id", *b);
  if (auto e = f.opt_int("tokenizer.ggml.eos_token_id")) {
    d.eos_id = as_size(f, "tokenizer.ggml.eos_token_id", *e);
    d.eos_ids = {d.eos_id};
  }
  d.add_bos = f.opt_bool("tokenizer.ggml.add_bos_token").value_or(true);
  d.name = f.opt_string("general.name").value_or(std::filesystem::path(f.path()).stem().string());
  validate(d, f.path());
  return d;
}

std::unique_ptr<Model> open_gguf_model(const std::string& path) { return std::make_unique<GgufModel>(path); }

}  // namespace spectra
