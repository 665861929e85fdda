#pragma once
// Reading a Vocab from its two sources. Both throw spectra::Error naming the
// file and the field that is missing or malformed.
#include <memory>
#include <string>

#include "tokenizer/tokenizer.hpp"

#include "tokenizer/vocab.hpp"

namespace spectra {

// GGUF metadata: tokenizer.ggml.{model, pre, tokens, token_type, scores,
// merges, bos_token_id, eos_token_id, unknown_token_id, add_bos_token,
// add_space_prefix}.
Vocab vocab_from_gguf(const std::string& path);

// An HF tokenizer.json (model.type BPE); `config_path` is tokenizer_config.json
// next to it, read for bos/eos tokens and add_bos_token when it exists.
Vocab vocab_from_tokenizer_json(const std::string& json_path, const std::string& config_path);

// The tokenizer class for the vocabulary's family.
std::unique_ptr<Tokenizer> make_tokenizer(Vocab vocab);

}  // namespace spectra
