// HfModel: a Hugging Face folder (config.json + safetensors, single or
// sharded). Files are memory-mapped; views point into the maps.
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include "formats/hf_config.hpp"
#include "formats/loaders.hpp"
#include "formats/mapped_model.hpp"
#include "formats/safetensors_file.hpp"
#include "util/error.hpp"

namespace spectra {

namespace fs = std::filesystem;

namespace {

std::string hf_name(WeightKind k, int l) {
  const std::string p = "model.layers." + std::to_string(l) + ".";
  switch (k) {
    case WeightKind::TokenEmbedding: return "model.embed_tokens.weight";
    case WeightKind::AttnNorm: return p + "input_layernorm.weight";
    case WeightKind::Q: return p + "self_attn.q_proj.weight";
    case WeightKind::K: return p + "self_attn.k_proj.weight";
    case WeightKind::V: return p + "self_attn.v_proj.weight";
    case WeightKind::O: return p + "self_attn.o_proj.weight";
    case WeightKind::QBias: return p + "self_attn.q_proj.bias";
    case WeightKind::KBias: return p + "self_attn.k_proj.bias";
    case WeightKind::VBias: return p + "self_attn.v_proj.bias";
    case WeightKind::FfnNorm: return p + "post_attention_layernorm.weight";
    case WeightKind::Gate: return p + "mlp.gate_proj.weight";
    case WeightKind::Up: return p + "mlp.up_proj.weight";
    case WeightKind::Down: return p + "mlp.down_proj.weight";
    case WeightKind::OutputNorm: return "model.norm.weight";
    case WeightKind::Output: return "lm_head.weight";
  }
  return "";
}

// A shard name from the index must be a plain file name inside the folder.
void check_shard_name(const std::string& index, const std::string& tensor, const std::string& shard) {
  if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
    fail_field(index, "weight_map." + tensor, "shard name '" + shard + "' is not a file name in the model folder");
}

class HfModel : public MappedModel {
 public:
  explicit HfModel(const std::string& dir) {
    desc_ = read_hf_config(dir);
    const std::string index = (fs::path(dir) / "model.safetensors.index.json").string();
    const std::string single = (fs::path(dir) / "model.safetensors").string();
    std::string missing_in;
    if (fs::exists(index)) {
      open_sharded(dir, index);
      missing_in = index;
    } else if (fs::exists(single)) {
      files_.push_back(std::make_shared<SafetensorsFile>(single));
      for (const auto& t : files_[0]->tensors()) where_.emplace(t.name, std::make_pair(files_[0].get(), &t));
      missing_in = single;
    } else {
      fail_file(dir, "no model.safetensors or model.safetensors.index.json in this folder");
    }
    main_file_ = missing_in;
    for (const auto& f : files_) {
      keep_alive_.push_back(f);
      desc_.files.push_back({f->path(), f->file_size()});
      for (const auto& t : f->tensors())
        if (t.dtype) all_.push_back(f->view(t));
    }
    bind_roles(hf_name, [this](const std::string& n) { return lookup(n); }, missing_in, "config.json");
  }

 private:
  void open_sharded(const std::string& dir, const std::string& index) {
    const auto j = read_json_file(index);
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      fail_field(index, "weight_map", "missing or not an object");
    const auto& wm = j["weight_map"];
    std::map<std::string, std::shared_ptr<SafetensorsFile>> by_shard;  // sorted: deterministic order
    for (auto it = wm.begin(); it != wm.end(); ++it) {
      if (!it.value().is_string()) fail_field(index, "weight_map." + it.key(), "expected a shard file name");
      const std::string shard = it.value().get<std::string>();
      check_shard_name(index, it.key(), shard);
      by_shard.emplace(shard, nullptr);
    }
    for (auto& [shard, file] : by_shard) {
      const std::string p = (fs::path(dir) / shard).string();
      if (!fs::exists(p)) {
        std::string tensor;
        for (auto it = wm.begin(); it != wm.end() && tensor.empty(); ++it)
          if (it.value() == shard) tensor = it.key();
        fail_field(index, "weight_map." + tensor, "shard '" + shard + "' does not exist (" + p + ")");
      }
      file = std::make_shared<SafetensorsFile>(p);
      files_.push_back(file);
    }
    for (auto it = wm.begin(); it != wm.end(); ++it) {
      const auto& file = by_shard.at(it.value().get<std::string>());
      const SafetensorsTensor* t = file->find(it.key());
      if (!t)
        fail_field(index, "weight_map." + it.key(),
                   "names shard '" + it.value().get<std::string>() + "', which has no such tensor");
      where_.emplace(it.key(), std::make_pair(file.get(), t));
    }
  }

  const TensorView* lookup(const std::string& name) {
    auto it = where_.find(name);
    if (it == where_.end()) return nullptr;
    auto [c, inserted] = views_.try_emplace(name);
    if (inserted) c->second = it->second.first->view(*it->second.second);  // throws for unsupported dtypes
    return &c->second;
  }

  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::unordered_map<std::string, std::pair<const SafetensorsFile*, const SafetensorsTensor*>> where_;
  std::map<std::string, TensorView> views_;
};

}  // namespace

std::unique_ptr<Model> open_hf_model(const std::string& dir) { return std::make_unique<HfModel>(dir); }

}  // namespace spectra
