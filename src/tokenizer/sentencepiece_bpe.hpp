#pragma once
// SentencePiece-style BPE (Llama-2, TinyLlama, Mistral, phi-3): spaces become
// "▁" (with a "▁" prefix), characters are merged greedily — by piece score for
// GGUF vocabularies (llama.cpp), by merge rank for tokenizer.json (HF) — and
// characters that are not pieces fall back to <0xXX> byte tokens.
// When no piece has a "▁" after another character (true of SentencePiece
// vocabularies split by whitespace), merges cannot cross a word start, so text
// is merged word by word with a per-word cache; otherwise each text fragment
// is merged whole.
#include "tokenizer/bpe_tokenizer_base.hpp"

namespace spectra {

class SentencePieceBpeTokenizer final : public BpeTokenizerBase {
 public:
  explicit SentencePieceBpeTokenizer(Vocab vocab);
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
  // Control tokens decode to their text; one leading space of the first
  // other piece is dropped (it came from the "▁" prefix).
  std::string decode(const std::vector<int32_t>& ids) const override;
  std::string kind() const override { return "spm"; }

 private:
  void encode_piece(std::string_view normalized, std::vector<int32_t>& out) const;
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;  // cached encode_piece

  bool words_are_independent_ = false;
};

}  // namespace spectra
