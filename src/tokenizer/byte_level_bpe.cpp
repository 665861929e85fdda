// Byte-level BPE encoding and decoding.
#include "tokenizer/byte_level_bpe.hpp"

#include "tokenizer/bpe_merge.hpp"
#include "tokenizer/unicode_bytes.hpp"
#include "util/error.hpp"

namespace spectra {

ByteLevelBpeTokenizer::ByteLevelBpeTokenizer(Vocab vocab)
    : BpeTokenizerBase(std::move(vocab)), pre_(vocab_.split_rules, vocab_.source) {
  for (int b = 0; b < 256; ++b) {
    auto it = index_.find(unicode_bytes::char_for_byte(static_cast<uint8_t>(b)));
    byte_token_[b] = it == index_.end() ? -1 : it->second;
  }
  build_merge_table();
  surface_.resize(vocab_.tokens.size());
  for (int32_t id = 0; id < vocab_.size(); ++id) {
    const TokenKind k = vocab_.kinds[id];
    surface_[id] = (k == TokenKind::Control || k == TokenKind::UserDefined) ? vocab_.tokens[id]
                                                                            : unicode_bytes::decode(vocab_.tokens[id]);
  }
}

std::vector<int32_t> ByteLevelBpeTokenizer::bpe(std::string_view word) const {
  std::vector<int32_t> ids;
  if (vocab_.ignore_merges) {
    auto it = index_.find(unicode_bytes::encode(word));
    if (it != index_.end()) return {it->second};
  }
  std::vector<uint32_t> lens(word.size(), 1);
  std::vector<int32_t> init(word.size());
  for (size_t i = 0; i < word.size(); ++i) init[i] = byte_token_[static_cast<uint8_t>(word[i])];
  auto syms = make_symbols(lens, init);
  merge_symbols(syms, [&](const MergeSymbol& l, const MergeSymbol& r) -> std::optional<PairMerge> {
    if (l.id < 0 || r.id < 0) return std::nullopt;
    auto it = merges_.find(pair_key(l.id, r.id));
    if (it == merges_.end()) return std::nullopt;
    return PairMerge{-static_cast<double>(it->second.first), it->second.second};
  });
  for (const auto& s : syms) {
    if (s.len == 0) continue;
    if (s.id >= 0) ids.push_back(s.id);
    else if (vocab_.unk_id >= 0) ids.push_back(vocab_.unk_id);  // a byte the vocabulary lacks
  }
  return ids;
}

void ByteLevelBpeTokenizer::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  cache_.append(word, out, [this](std::string_view w) { return bpe(w); });
}

std::vector<int32_t> ByteLevelBpeTokenizer::encode(std::string_view text, bool add_bos) const {
  check_utf8(text, "input text");
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_bos && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
  std::vector<Fragment> fragments;
  added_.partition(text, fragments);
  std::vector<std::string_view> words;
  std::string prefixed;
  for (size_t f = 0; f < fragments.size(); ++f) {
    if (fragments[f].token >= 0) {
      out.push_back(fragments[f].token);
      continue;
    }
    std::string_view raw = fragments[f].text;
    if (vocab_.add_prefix_space && f == 0 && raw.front() != ' ') {
      prefixed.assign(1, ' ');
      prefixed.append(raw);
      raw = prefixed;
    }
    words.clear();
    pre_.split(raw, words);
    for (std::string_view w : words) encode_word(w, out);
  }
  return out;
}

std::string ByteLevelBpeTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) out += token_text(id);
  return out;
}

}  // namespace spectra
