#pragma once
// Byte-level BPE (GPT-2, Llama-3, SmolLM2, Qwen2, StarCoder, ...): regex
// pre-tokenization, bytes mapped to GPT-2's printable alphabet, merges applied
// by rank. Per-word results are cached, so long corpora cost one regex pass
// plus a hash lookup per word.
#include "tokenizer/bpe_tokenizer_base.hpp"
#include "tokenizer/pretokenizer.hpp"

namespace spectra {

class ByteLevelBpeTokenizer final : public BpeTokenizerBase {
 public:
  explicit ByteLevelBpeTokenizer(Vocab vocab);
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  std::string kind() const override { return "bpe(" + vocab_.pre_name + ")"; }

 private:
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;
  std::vector<int32_t> bpe(std::string_view word) const;

  PreTokenizer pre_;
};

}  // namespace spectra
