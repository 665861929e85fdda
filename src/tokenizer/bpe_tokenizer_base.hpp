#pragma once
// What both BPE tokenizers share: the vocabulary and its text index, added-
// token matching, the merge table by rank, each id's surface text, the per-word
// cache, and the accessors of the Tokenizer interface. The two families differ
// only in how text becomes words and how a word is merged (byte_level_bpe.*,
// sentencepiece_bpe.*).
#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenizer/added_tokens.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/vocab.hpp"
#include "tokenizer/word_cache.hpp"

namespace spectra {

class BpeTokenizerBase : public Tokenizer {
 public:
  std::string token_text(int32_t id) const override;  // surface_[id]; throws outside the vocabulary
  int vocab_size() const override { return vocab_.size(); }
  int bos_id() const override { return vocab_.bos_id; }
  int eos_id() const override { return vocab_.eos_id; }
  bool add_bos_default() const override { return vocab_.add_bos; }

 protected:
  explicit BpeTokenizerBase(Vocab vocab);

  // Fill merges_ from vocab_.merges (rank = position). A merge whose parts or
  // result are not tokens can never apply to token ids and is skipped.
  void build_merge_table();
  static uint64_t pair_key(int32_t l, int32_t r) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
  }

  Vocab vocab_;
  TokenIndex index_;
  AddedTokenMatcher added_;
  std::array<int32_t, 256> byte_token_{};                            // byte -> its token id, or -1
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;  // (left,right) -> (rank, merged)
  std::vector<std::string> surface_;                                  // id -> decoded bytes
  WordCache cache_;
};

}  // namespace spectra
