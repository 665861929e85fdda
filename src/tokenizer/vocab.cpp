// Consistency checks and lookup tables for a loaded vocabulary.
#include "tokenizer/vocab.hpp"

#include "util/error.hpp"

namespace spectra {

void Vocab::validate() const {
  if (tokens.empty()) fail_file(source, "the vocabulary is empty");
  if (kinds.size() != tokens.size())
    fail_file(source, "token types (" + std::to_string(kinds.size()) + ") and tokens (" +
                          std::to_string(tokens.size()) + ") differ in number");
  if (!scores.empty() && scores.size() != tokens.size())
    fail_file(source, "token scores (" + std::to_string(scores.size()) + ") and tokens (" +
                          std::to_string(tokens.size()) + ") differ in number");
  for (size_t i = 0; i < scores.size(); ++i)  // NaN has no order: merging by score would be arbitrary
    if (scores[i] != scores[i])
      fail_file(source, "token score " + std::to_string(i) + " is NaN");
  if (family == VocabFamily::SentencePieceBpe && merge_by_score && scores.empty())
    fail_file(source, "a SentencePiece vocabulary needs scores");
  auto check_id = [&](int32_t id, const char* what) {
    if (id < -1 || id >= size())
      fail_file(source, std::string(what) + " id " + std::to_string(id) + " is outside the vocabulary (size " +
                            std::to_string(size()) + ")");
  };
  check_id(bos_id, "BOS");
  check_id(eos_id, "EOS");
  check_id(unk_id, "unknown-token");
}

TokenIndex Vocab::build_index() const {
  TokenIndex index;
  index.reserve(tokens.size() * 2);
  for (int32_t id = 0; id < size(); ++id) index.emplace(tokens[id], id);  // first id wins on duplicates
  return index;
}

}  // namespace spectra
