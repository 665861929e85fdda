#pragma once
// Byte-level BPE (GPT-2, Llama-3, SmolLM2, Qwen2, StarCoder, ...): regex
// pre-tokenization, bytes mapped to GPT-2's printable alphabet, merges applied
// by rank. Per-word results are cached, so long corpora cost one regex pass
// plus a hash lookup per word.
#include <array>
#include <unordered_map>

#include "tokenizer/added_tokens.hpp"
#include "tokenizer/pretokenizer.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/vocab.hpp"
#include "tokenizer/word_cache.hpp"

namespace spectra {

class ByteLevelBpeTokenizer final : public Tokenizer {
 public:
  explicit ByteLevelBpeTokenizer(Vocab vocab);
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  std::string token_text(int32_t id) const override;
  int vocab_size() const override { return vocab_.size(); }
  int bos_id() const override { return vocab_.bos_id; }
  int eos_id() const override { return vocab_.eos_id; }
  bool add_bos_default() const override { return vocab_.add_bos; }
  std::string kind() const override { return "bpe(" + vocab_.pre_name + ")"; }

 private:
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;
  std::vector<int32_t> bpe(std::string_view word) const;

  Vocab vocab_;
  TokenIndex index_;
  PreTokenizer pre_;
  AddedTokenMatcher added_;
  std::array<int32_t, 256> byte_token_{};                           // byte -> id of its alphabet char
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;  // (left,right) -> (rank, merged)
  std::vector<std::string> surface_;                                  // id -> decoded bytes

  WordCache cache_;
};

}  // namespace spectra
