// The parts both BPE tokenizers share (see bpe_tokenizer_base.hpp).
#include "tokenizer/bpe_tokenizer_base.hpp"

#include "util/error.hpp"

namespace spectra {

BpeTokenizerBase::BpeTokenizerBase(Vocab vocab)
    : vocab_(std::move(vocab)), index_(vocab_.build_index()), added_(vocab_) {
  byte_token_.fill(-1);
}

void BpeTokenizerBase::build_merge_table() {
  merges_.reserve(vocab_.merges.size() * 2);
  for (size_t rank = 0; rank < vocab_.merges.size(); ++rank) {
    const auto& [l, r] = vocab_.merges[rank];
    auto li = index_.find(l), ri = index_.find(r), mi = index_.find(l + r);
    if (li == index_.end() || ri == index_.end() || mi == index_.end()) continue;
    merges_.emplace(pair_key(li->second, ri->second), std::make_pair(static_cast<int32_t>(rank), mi->second));
  }
}

std::string BpeTokenizerBase::token_text(int32_t id) const {
  if (id < 0 || id >= vocab_.size())
    throw Error("token id " + std::to_string(id) + " is outside the vocabulary (size " +
                std::to_string(vocab_.size()) + ")");
  return surface_[id];
}

}  // namespace spectra
