#pragma once
// The per-format loaders behind open_model() (formats/open_model.cpp).
#include <memory>
#include <string>

#include "formats/gguf.hpp"
#include "formats/weights.hpp"

namespace spectra {

// An HF folder: config.json + model.safetensors or sharded safetensors with
// model.safetensors.index.json. Q/K rows stay in HF (half-split) order.
std::unique_ptr<Model> open_hf_model(const std::string& dir);
// A GGUF file (llama architecture: adjacent-pair RoPE; qwen2: half-split).
std::unique_ptr<Model> open_gguf_model(const std::string& path);

// The description in a GGUF file's metadata (no tensors checked).
ModelDesc desc_from_gguf(const GgufFile& f);

}  // namespace spectra
