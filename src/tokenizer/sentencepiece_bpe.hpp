#pragma once
// SentencePiece-style BPE (Llama-2, TinyLlama, Mistral, phi-3): spaces become
// "▁" (with a "▁" prefix), characters are merged greedily — by piece score for
// GGUF vocabularies (llama.cpp), by merge rank for tokenizer.json (HF) — and
// characters that are not pieces fall back to <0xXX> byte tokens.
// When no piece has a "▁" after another character (true of SentencePiece
// vocabularies split by whitespace), merges cannot cross a word start, so text
// is merged word by word with a per-word cache; otherwise each text fragment
// is merged whole.
#include <array>
#include <unordered_map>

#include "tokenizer/added_tokens.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/vocab.hpp"
#include "tokenizer/word_cache.hpp"

namespace spectra {

class SentencePieceBpeTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceBpeTokenizer(Vocab vocab);
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
  // Control tokens decode to their text; one leading space of the first
  // other piece is dropped (it came from the "▁" prefix).
  std::string decode(const std::vector<int32_t>& ids) const override;
  std::string token_text(int32_t id) const override;
  int vocab_size() const override { return vocab_.size(); }
  int bos_id() const override { return vocab_.bos_id; }
  int eos_id() const override { return vocab_.eos_id; }
  bool add_bos_default() const override { return vocab_.add_bos; }
  std::string kind() const override { return "spm"; }

 private:
  void encode_piece(std::string_view normalized, std::vector<int32_t>& out) const;
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;  // cached encode_piece

  Vocab vocab_;
  TokenIndex index_;
  AddedTokenMatcher added_;
  std::array<int32_t, 256> byte_token_{};                            // byte -> <0xXX> id
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;  // (left,right) -> (rank, merged)
  std::vector<std::string> surface_;
  bool words_are_independent_ = false;

  WordCache cache_;
};

}  // namespace spectra
