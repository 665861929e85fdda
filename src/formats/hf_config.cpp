// Parsing of config.json (and the BOS-related bits of tokenizer_config.json
// and generation_config.json) into a ModelDesc.
#include "formats/hf_config.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/error.hpp"
#include "util/json_brief.hpp"

namespace spectra {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Arch {
  const char* hf_class;
  const char* model_type;
};
constexpr Arch kArchs[] = {
    {"LlamaForCausalLM", "llama"},
    {"MistralForCausalLM", "mistral"},
    {"Qwen2ForCausalLM", "qwen2"},
};
constexpr const char* kSupported = "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM";

// Typed access with errors "FILE: field 'KEY': ...". A JSON null counts as absent.
class ConfigReader {
 public:
  ConfigReader(const json& j, std::string file, std::string prefix = "")
      : j_(j), file_(std::move(file)), prefix_(std::move(prefix)) {}

  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  const json& at(const char* key) const { return j_.at(key); }
  std::string field(const char* key) const { return prefix_ + key; }

  int64_t get_int(const char* key) const {
    if (!has(key)) fail_field(file_, field(key), "missing");
    const json& v = j_.at(key);
    if (!v.is_number_integer()) fail_field(file_, field(key), "expected an integer, found " + brief_json(v));
    return v.get<int64_t>();
  }
  int64_t int_or(const char* key, int64_t dflt) const { return has(key) ? get_int(key) : dflt; }

  double get_number(const char* key) const {
    if (!has(key)) fail_field(file_, field(key), "missing");
    const json& v = j_.at(key);
    if (!v.is_number()) fail_field(file_, field(key), "expected a number, found " + brief_json(v));
    return v.get<double>();
  }
  double number_or(const char* key, double dflt) const { return has(key) ? get_number(key) : dflt; }

  bool bool_or(const char* key, bool dflt) const {
    if (!has(key)) return dflt;
    const json& v = j_.at(key);
    if (!v.is_boolean()) fail_field(file_, field(key), "expected true or false, found " + brief_json(v));
    return v.get<bool>();
  }

  std::string string_or(const char* key, const std::string& dflt) const {
    if (!has(key)) return dflt;
    const json& v = j_.at(key);
    if (!v.is_string()) fail_field(file_, field(key), "expected a string, found " + brief_json(v));
    return v.get<std::string>();
  }

  // An int that must fit the ModelDesc's int fields.
  int get_size(const char* key) const { return checked_int(key, get_int(key)); }
  int size_or(const char* key, int dflt) const { return has(key) ? get_size(key) : dflt; }
  int checked_int(const char* key, int64_t v) const {
    if (v < 0 || v > (int64_t{1} << 30)) fail_field(file_, field(key), "value " + std::to_string(v) + " is out of range");
    return static_cast<int>(v);
  }

  // Token ids: an integer, or a list of integers (several EOS tokens).
  std::vector<int> ids(const char* key) const {
    std::vector<int> out;
    if (!has(key)) return out;
    const json& v = j_.at(key);
    auto one = [&](const json& x) {
      if (!x.is_number_integer()) fail_field(file_, field(key), "expected a token id or a list of ids, found " + brief_json(v));
      out.push_back(checked_int(key, x.get<int64_t>()));
    };
    if (v.is_array()) {
      for (const auto& x : v) one(x);
    } else {
      one(v);
    }
    return out;
  }

  const std::string& file() const { return file_; }

 private:
  const json& j_;
  std::string file_;
  std::string prefix_;
};

// One RoPE scaling object: rope_scaling {type|rope_type, factor, ...} or the
// transformers-5 rope_parameters {rope_type, rope_theta, factor, ...}.
void parse_rope_object(const json& obj, const std::string& file, const std::string& name, RopeParams& rope) {
  if (!obj.is_object()) fail_field(file, name, "expected an object, found " + brief_json(obj));
  ConfigReader r(obj, file, name + ".");
  for (auto it = obj.begin(); it != obj.end(); ++it)
    if (it.value().is_object())
      fail_field(file, name + "." + it.key(), "per-layer-type RoPE parameters are not supported");
  const char* type_key = r.has("rope_type") ? "rope_type" : "type";
  const std::string type = r.string_or(type_key, "default");
  if (type == "default" || type == "none") {
    rope.scaling = RopeScalingType::None;
  } else if (type == "linear") {
    rope.scaling = RopeScalingType::Linear;
    rope.factor = r.get_number("factor");
  } else if (type == "llama3") {
    rope.scaling = RopeScalingType::Llama3;
    rope.factor = r.get_number("factor");
    rope.low_freq_factor = r.get_number("low_freq_factor");
    rope.high_freq_factor = r.get_number("high_freq_factor");
    rope.original_max_position = r.get_size("original_max_position_embeddings");
    if (!(rope.high_freq_factor > rope.low_freq_factor))
      fail_field(file, name + ".high_freq_factor", "must exceed low_freq_factor");
  } else {
    fail_field(file, r.field(type_key),
               "unsupported RoPE scaling '" + type + "' (supported: none/default, linear, llama3)");
  }
  if (rope.scaling != RopeScalingType::None && !(rope.factor > 0))
    fail_field(file, name + ".factor", "must be positive");
}

}  // namespace

json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_file(path, "cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    fail_at(path, e.byte > 0 ? e.byte - 1 : 0, std::string("malformed JSON: ") + e.what());
  } catch (const json::exception& e) {  // e.g. a number too large for a double
    fail_file(path, std::string("malformed JSON: ") + e.what());
  }
}

ModelDesc parse_hf_config(const json& cfg, const std::string& file) {
  if (!cfg.is_object()) fail_file(file, "expected a JSON object");
  ConfigReader r(cfg, file);
  ModelDesc d;
  d.format = "safetensors";

  // Architecture: architectures[0], else model_type.
  std::string arch_class, model_type = r.string_or("model_type", "");
  if (r.has("architectures")) {
    const json& a = r.at("architectures");
    if (!a.is_array() || a.empty() || !a[0].is_string())
      fail_field(file, "architectures", "expected a non-empty list of class names, found " + brief_json(a));
    arch_class = a[0].get<std::string>();
  }
  const Arch* arch = nullptr;
  for (const auto& a : kArchs)
    if (arch_class.empty() ? model_type == a.model_type : arch_class == a.hf_class) arch = &a;
  if (!arch) {
    if (arch_class.empty() && model_type.empty()) fail_field(file, "architectures", "missing (and no model_type)");
    fail_field(file, arch_class.empty() ? "model_type" : "architectures",
               "unsupported architecture '" + (arch_class.empty() ? model_type : arch_class) +
                   "' (supported: " + kSupported + ")");
  }
  d.architecture = arch->model_type;
  const bool qwen2 = d.architecture == "qwen2";

  // Features Spectra does not compute: refuse rather than give wrong numbers.
  const std::string act = r.string_or("hidden_act", "silu");
  if (act != "silu") fail_field(file, "hidden_act", "unsupported activation '" + act + "' (only silu)");
  if (r.bool_or("attention_bias", false))
    fail_field(file, "attention_bias", "attention projection biases are not supported for " + d.architecture);
  if (r.bool_or("mlp_bias", false)) fail_field(file, "mlp_bias", "MLP biases are not supported");
  if (r.has("quantization_config"))
    fail_field(file, "quantization_config",
               "pre-quantized safetensors checkpoints are not supported (use F32/F16/BF16 weights or a GGUF file)");
  if (qwen2 && r.bool_or("use_sliding_window", false))
    fail_field(file, "use_sliding_window", "Qwen2 sliding-window attention is not supported");
  if (r.has("partial_rotary_factor") && r.get_number("partial_rotary_factor") != 1.0)
    fail_field(file, "partial_rotary_factor", "partial RoPE is not supported");
  d.qkv_bias = qwen2;

  d.n_layers = r.get_size("num_hidden_layers");
  d.hidden = r.get_size("hidden_size");
  d.n_heads = r.get_size("num_attention_heads");
  d.n_kv_heads = r.size_or("num_key_value_heads", d.n_heads);
  d.ffn = r.get_size("intermediate_size");
  d.vocab = r.get_size("vocab_size");
  if (d.n_heads <= 0) fail_field(file, "num_attention_heads", "must be positive");
  if (r.has("head_dim")) {
    d.head_dim = r.get_size("head_dim");
  } else {
    if (d.hidden % d.n_heads != 0)
      fail_field(file, "hidden_size", "not divisible by num_attention_heads and no head_dim given");
    d.head_dim = d.hidden / d.n_heads;
  }
  d.max_context = r.size_or("max_position_embeddings", 0);
  d.rms_eps = static_cast<float>(r.number_or("rms_norm_eps", 1e-6));
  d.tied_embeddings = r.bool_or("tie_word_embeddings", false);
  if (d.architecture == "mistral" && r.has("sliding_window")) d.sliding_window = r.get_size("sliding_window");

  d.rope.dim = d.head_dim;
  d.rope.theta = r.number_or("rope_theta", 10000.0);
  if (r.has("rope_parameters")) {  // transformers >= 5: takes precedence
    const json& p = r.at("rope_parameters");
    parse_rope_object(p, file, "rope_parameters", d.rope);
    ConfigReader pr(p, file, "rope_parameters.");
    d.rope.theta = pr.number_or("rope_theta", d.rope.theta);
  } else if (r.has("rope_scaling")) {
    parse_rope_object(r.at("rope_scaling"), file, "rope_scaling", d.rope);
  }
  d.rope_layout = RopeLayout::HalfSplit;  // every HF checkpoint rotates half-split pairs

  const auto bos = r.ids("bos_token_id");
  if (!bos.empty()) d.bos_id = bos[0];
  d.eos_ids = r.ids("eos_token_id");
  if (!d.eos_ids.empty()) d.eos_id = d.eos_ids[0];
  d.add_bos = !qwen2;  // Llama/Mistral tokenizers prepend BOS; Qwen2 has none
  validate(d, file);
  return d;
}

ModelDesc read_hf_config(const std::string& dir) {
  const std::string cfg_path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(cfg_path)) fail_file(cfg_path, "missing: an HF model folder needs config.json");
  ModelDesc d = parse_hf_config(read_json_file(cfg_path), cfg_path);
  d.name = fs::path(dir).lexically_normal().filename().string();
  if (d.name.empty()) d.name = fs::path(dir).lexically_normal().parent_path().filename().string();

  const std::string gen_path = (fs::path(dir) / "generation_config.json").string();
  if ((d.bos_id < 0 || d.eos_ids.empty()) && fs::exists(gen_path)) {
    const json g = read_json_file(gen_path);
    if (g.is_object()) {
      ConfigReader gr(g, gen_path);
      if (d.bos_id < 0) {
        const auto b = gr.ids("bos_token_id");
        if (!b.empty()) d.bos_id = b[0];
      }
      if (d.eos_ids.empty()) {
        d.eos_ids = gr.ids("eos_token_id");
        if (!d.eos_ids.empty()) d.eos_id = d.eos_ids[0];
      }
    }
  }
  const std::string tok_path = (fs::path(dir) / "tokenizer_config.json").string();
  if (fs::exists(tok_path)) {
    const json t = read_json_file(tok_path);
    if (!t.is_object()) fail_file(tok_path, "expected a JSON object");
    ConfigReader tr(t, tok_path);
    d.add_bos = tr.bool_or("add_bos_token", d.add_bos);
  }
  return d;
}

}  // namespace spectra
