// GGUF metadata -> Vocab, following llama.cpp's reading of the tokenizer.ggml.*
// keys (defaults included) so that GGUF files tokenize as llama.cpp does.
#include "formats/gguf.hpp"
#include "tokenizer/vocab_loaders.hpp"
#include "util/error.hpp"

namespace spectra {

Vocab vocab_from_gguf(const std::string& path) {
  const GgufFile gguf(path);
  Vocab v;
  v.source = path;
  const std::string model = gguf.get_string("tokenizer.ggml.model");
  if (model == "gpt2") v.family = VocabFamily::ByteLevelBpe;
  else if (model == "llama") v.family = VocabFamily::SentencePieceBpe;
  else fail_field(path, "tokenizer.ggml.model", "unsupported tokenizer model '" + model + "' (supported: gpt2, llama)");

  v.tokens = gguf.get_string_array("tokenizer.ggml.tokens");
  const size_t n = v.tokens.size();
  v.kinds.assign(n, TokenKind::Normal);
  if (gguf.has("tokenizer.ggml.token_type")) {
    const auto types = gguf.get_int_array("tokenizer.ggml.token_type");
    if (types.size() != n)
      fail_field(path, "tokenizer.ggml.token_type",
                 std::to_string(types.size()) + " entries for " + std::to_string(n) + " tokens");
    for (size_t i = 0; i < n; ++i) {
      if (types[i] == 0) continue;  // undefined: treat as normal
      if (types[i] < 1 || types[i] > 6)
        fail_field(path, "tokenizer.ggml.token_type",
                   "entry " + std::to_string(i) + " has unknown type " + std::to_string(types[i]));
      v.kinds[i] = static_cast<TokenKind>(types[i]);
    }
  }

  auto opt_id = [&](const char* key, int32_t def) -> int32_t {
    const auto id = gguf.opt_int(key);
    if (!id) return def;
    if (*id < 0 || *id >= static_cast<int64_t>(n))
      fail_field(path, key, "id " + std::to_string(*id) + " is outside the vocabulary (size " + std::to_string(n) + ")");
    return static_cast<int32_t>(*id);
  };

  if (v.family == VocabFamily::ByteLevelBpe) {
    v.pre_name = gguf.opt_string("tokenizer.ggml.pre").value_or("default");
    v.split_rules = split_rules_for_pre(v.pre_name, path);
    v.ignore_merges = pre_ignores_merges(v.pre_name);
    const auto merges = gguf.get_string_array("tokenizer.ggml.merges");
    v.merges.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
      const size_t sp = merges[i].find(' ', 1);
      if (sp == std::string::npos)
        fail_field(path, "tokenizer.ggml.merges", "entry " + std::to_string(i) + " is not \"left right\"");
      v.merges.emplace_back(merges[i].substr(0, sp), merges[i].substr(sp + 1));
    }
    v.bos_id = opt_id("tokenizer.ggml.bos_token_id", -1);
    v.eos_id = opt_id("tokenizer.ggml.eos_token_id", -1);
    v.unk_id = opt_id("tokenizer.ggml.unknown_token_id", -1);
    v.add_bos = gguf.opt_bool("tokenizer.ggml.add_bos_token").value_or(pre_adds_bos_by_default(v.pre_name));
  } else {
    v.pre_name = "spm";
    const auto scores = gguf.get_float_array("tokenizer.ggml.scores");
    if (scores.size() != n)
      fail_field(path, "tokenizer.ggml.scores", std::to_string(scores.size()) + " entries for " + std::to_string(n) + " tokens");
    v.scores.assign(scores.begin(), scores.end());
    v.merge_by_score = true;
    v.byte_fallback = true;
    v.space_prefix = gguf.opt_bool("tokenizer.ggml.add_space_prefix").value_or(true) ? SpacePrefix::Always
                                                                                     : SpacePrefix::Never;
    // llama.cpp's defaults for SentencePiece vocabularies.
    v.bos_id = opt_id("tokenizer.ggml.bos_token_id", n > 1 ? 1 : -1);
    v.eos_id = opt_id("tokenizer.ggml.eos_token_id", n > 2 ? 2 : -1);
    v.unk_id = opt_id("tokenizer.ggml.unknown_token_id", n > 0 ? 0 : -1);
    v.add_bos = gguf.opt_bool("tokenizer.ggml.add_bos_token").value_or(true);
  }
  if (v.add_bos && v.bos_id < 0) v.add_bos = false;
  v.validate();
  return v;
}

}  // namespace spectra
