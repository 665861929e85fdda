#pragma once
// Splits raw text around user-defined (non-special added) tokens, which both
// llama.cpp and HF tokenizers match verbatim before any other processing.
// Control/special tokens are never matched: their text is ordinary text.
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/vocab.hpp"

namespace spectra {

struct Fragment {
  std::string_view text;  // raw text to tokenize, when token < 0
  int32_t token = -1;     // a matched user-defined token
};

class AddedTokenMatcher {
 public:
  explicit AddedTokenMatcher(const Vocab& vocab);
  bool empty() const { return by_first_byte_.empty(); }
  // Leftmost-longest matching; fragments cover `text` in order.
  void partition(std::string_view text, std::vector<Fragment>& out) const;

 private:
  struct Entry {
    std::string_view text;
    int32_t id;
  };
  std::unordered_map<unsigned char, std::vector<Entry>> by_first_byte_;  // longest first
};

}  // namespace spectra
