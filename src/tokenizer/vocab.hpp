#pragma once
// The loaded form of a vocabulary, whichever file it came from (GGUF metadata
// or HF tokenizer.json). The tokenizer classes are built from it.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenizer/pretokenizer.hpp"

namespace spectra {

// Token types as in GGUF `tokenizer.ggml.token_type` (llama_token_type).
enum class TokenKind : uint8_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

enum class VocabFamily { ByteLevelBpe, SentencePieceBpe };

// Where SentencePiece-style text gets its "▁" prefix.
enum class SpacePrefix { Never, First, Always };

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenIndex = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

struct Vocab {
  std::string source;  // the file it was read from (for messages)
  VocabFamily family = VocabFamily::ByteLevelBpe;
  std::string pre_name;  // e.g. "llama-bpe" (GGUF) or "tokenizer.json"

  std::vector<std::string> tokens;  // id -> token string as stored
  std::vector<TokenKind> kinds;     // id -> kind
  std::vector<float> scores;        // SentencePiece piece scores (GGUF); may be empty
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order

  // Byte-level BPE
  std::vector<SplitRule> split_rules;
  bool add_prefix_space = false;  // HF ByteLevel(add_prefix_space)
  bool ignore_merges = false;     // a word that is itself a token is not merged

  // SentencePiece BPE
  bool merge_by_score = false;  // merge the best-scoring piece (GGUF) instead of by merge rank
  SpacePrefix space_prefix = SpacePrefix::Always;
  bool prefix_unless_leading_space = false;  // HF Metaspace: no "▁" prefix if the text starts with a space
  bool split_on_space_marker = false;        // HF Metaspace(split=true)
  bool byte_fallback = true;

  int32_t bos_id = -1, eos_id = -1, unk_id = -1;
  bool add_bos = false;

  int32_t size() const { return static_cast<int32_t>(tokens.size()); }
  // Throws spectra::Error naming the source if sizes or special ids are inconsistent.
  void validate() const;
  TokenIndex build_index() const;
};

}  // namespace spectra
