#pragma once
// config.json of a Hugging Face model folder -> ModelDesc. Supports the Llama
// family: LlamaForCausalLM, MistralForCausalLM and Qwen2ForCausalLM (q/k/v
// biases). Rejects, with the field named, what Spectra cannot compute
// faithfully: other architectures, activations other than SiLU, attention or
// MLP biases on Llama/Mistral, Qwen2 sliding windows, RoPE scaling other than
// none/linear/llama3, pre-quantized checkpoints (quantization_config).
#include <string>

#include <nlohmann/json.hpp>

#include "formats/model_desc.hpp"

namespace spectra {

// Reads DIR/config.json (required) and, if present, DIR/tokenizer_config.json
// (add_bos_token) and DIR/generation_config.json (BOS/EOS when config.json
// lacks them). Throws spectra::Error naming the file and field.
ModelDesc read_hf_config(const std::string& dir);

// The config.json part alone; `file` names the source in errors.
ModelDesc parse_hf_config(const nlohmann::json& cfg, const std::string& file);

// Reads and parses a JSON file; errors name the file (and byte offset).
nlohmann::json read_json_file(const std::string& path);

}  // namespace spectra
