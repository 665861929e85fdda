#pragma once
// A thread-safe memo of word -> token ids, shared by both BPE tokenizers: a
// corpus repeats its words, so each distinct word is merged once. Bounded: it
// is cleared when it reaches kMaxEntries.
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/vocab.hpp"

namespace spectra {

class WordCache {
 public:
  // Appends the ids of WORD to OUT, computing them with encode(word) -> ids
  // only on a miss.
  template <class Encode>
  void append(std::string_view word, std::vector<int32_t>& out, Encode&& encode) const {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = map_.find(word);
      if (it != map_.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<int32_t> ids = encode(word);
    out.insert(out.end(), ids.begin(), ids.end());
    std::lock_guard<std::mutex> lock(mutex_);
    if (map_.size() >= kMaxEntries) map_.clear();
    map_.emplace(std::string(word), std::move(ids));
  }

 private:
  static constexpr size_t kMaxEntries = 1 << 20;
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> map_;
};

}  // namespace spectra
