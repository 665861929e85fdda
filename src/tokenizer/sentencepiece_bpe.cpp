// SentencePiece-style BPE encoding and decoding.
#include "tokenizer/sentencepiece_bpe.hpp"

#include <algorithm>
#include <cstdio>

#include "tokenizer/bpe_merge.hpp"
#include "tokenizer/utf8.hpp"
#include "util/error.hpp"

namespace spectra {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581 "▁"

// "<0x41>" -> 0x41, or -1.
int parse_byte_token(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  const int hi = hex(t[3]), lo = hex(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::string replace_space_marker(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, kSpaceMarker.size(), kSpaceMarker) == 0) {
      out += ' ';
      i += kSpaceMarker.size();
    } else {
      out += s[i++];
    }
  }
  return out;
}

// Whether "▁" occurs after some other character in s.
bool has_inner_marker(std::string_view s) {
  for (size_t pos = s.find(kSpaceMarker, 1); pos != std::string_view::npos; pos = s.find(kSpaceMarker, pos + 1)) {
    if (pos < kSpaceMarker.size() || s.substr(pos - kSpaceMarker.size(), kSpaceMarker.size()) != kSpaceMarker) return true;
  }
  return false;
}

}  // namespace

SentencePieceBpeTokenizer::SentencePieceBpeTokenizer(Vocab vocab)
    : BpeTokenizerBase(std::move(vocab)) {
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    auto it = index_.find(std::string_view(name));
    if (it == index_.end()) it = index_.find(std::string(1, static_cast<char>(b)));  // vocabularies without byte pieces
    if (it != index_.end()) byte_token_[b] = it->second;
  }
  if (!vocab_.merge_by_score) build_merge_table();
  words_are_independent_ = true;
  for (const auto& t : vocab_.tokens)
    if (has_inner_marker(t)) words_are_independent_ = false;
  surface_.resize(vocab_.tokens.size());
  for (int32_t id = 0; id < vocab_.size(); ++id) {
    const std::string& t = vocab_.tokens[id];
    const int byte = parse_byte_token(t);
    if (vocab_.kinds[id] == TokenKind::Byte && byte >= 0) surface_[id] = std::string(1, static_cast<char>(byte));
    else if (vocab_.kinds[id] == TokenKind::Control) surface_[id] = t;
    else surface_[id] = replace_space_marker(t);
  }
}

void SentencePieceBpeTokenizer::encode_piece(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<uint32_t> lens;
  std::vector<int32_t> ids;
  for (size_t i = 0; i < text.size();) {
    const uint32_t n = static_cast<uint32_t>(
        std::min<size_t>(utf8::sequence_length(static_cast<uint8_t>(text[i])), text.size() - i));
    auto it = index_.find(text.substr(i, n));
    lens.push_back(n);
    ids.push_back(it == index_.end() ? -1 : it->second);
    i += n;
  }
  auto syms = make_symbols(lens, ids);
  if (vocab_.merge_by_score) {
    merge_symbols(syms, [&](const MergeSymbol& l, const MergeSymbol& r) -> std::optional<PairMerge> {
      auto it = index_.find(text.substr(l.begin, l.len + r.len));
      if (it == index_.end() || vocab_.kinds[it->second] == TokenKind::Control) return std::nullopt;
      return PairMerge{vocab_.scores[it->second], it->second};
    });
  } else {
    merge_symbols(syms, [&](const MergeSymbol& l, const MergeSymbol& r) -> std::optional<PairMerge> {
      if (l.id < 0 || r.id < 0) return std::nullopt;
      auto it = merges_.find(pair_key(l.id, r.id));
      if (it == merges_.end()) return std::nullopt;
      return PairMerge{-static_cast<double>(it->second.first), it->second.second};
    });
  }
  bool last_was_unk = false;
  for (const auto& s : syms) {
    if (s.len == 0) continue;
    if (s.id >= 0) {
      out.push_back(s.id);
      last_was_unk = false;
      continue;
    }
    // Not a piece: its bytes as <0xXX> tokens, or one unknown token.
    bool all_bytes = vocab_.byte_fallback;
    for (uint32_t k = 0; k < s.len && all_bytes; ++k) all_bytes = byte_token_[static_cast<uint8_t>(text[s.begin + k])] >= 0;
    if (all_bytes) {
      for (uint32_t k = 0; k < s.len; ++k) out.push_back(byte_token_[static_cast<uint8_t>(text[s.begin + k])]);
      last_was_unk = false;
    } else if (vocab_.unk_id >= 0 && !last_was_unk) {
      out.push_back(vocab_.unk_id);
      last_was_unk = true;
    }
  }
}

void SentencePieceBpeTokenizer::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  cache_.append(word, out, [this](std::string_view w) {
    std::vector<int32_t> ids;
    encode_piece(w, ids);
    return ids;
  });
}

std::vector<int32_t> SentencePieceBpeTokenizer::encode(std::string_view text, bool add_bos) const {
  check_utf8(text, "input text");
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 2);
  if (add_bos && vocab_.bos_id >= 0) out.push_back(vocab_.bos_id);
  std::vector<Fragment> fragments;
  added_.partition(text, fragments);
  bool after_token = true;  // text start counts as "after a token" (llama.cpp)
  std::string normalized;
  for (size_t f = 0; f < fragments.size(); ++f) {
    const Fragment& frag = fragments[f];
    if (frag.token >= 0) {
      out.push_back(frag.token);
      after_token = true;
      continue;
    }
    normalized.clear();
    const bool wants_prefix = (vocab_.space_prefix == SpacePrefix::Always && after_token) ||
                              (vocab_.space_prefix == SpacePrefix::First && f == 0);
    if (wants_prefix && !(vocab_.prefix_unless_leading_space && frag.text.front() == ' ')) normalized += kSpaceMarker;
    for (char c : frag.text) {
      if (c == ' ') normalized += kSpaceMarker;
      else normalized += c;
    }
    after_token = false;
    const std::string_view all(normalized);
    if (!vocab_.split_on_space_marker && !words_are_independent_) {
      encode_piece(all, out);
      continue;
    }
    // Words start at a "▁" — every one for Metaspace(split=true), otherwise
    // the first of a run (a run of "▁" may be one piece).
    size_t start = 0;
    for (size_t pos = all.find(kSpaceMarker, 1); pos != std::string_view::npos; pos = all.find(kSpaceMarker, pos + 1)) {
      const bool run_continues = all.substr(pos - std::min(pos, kSpaceMarker.size()), kSpaceMarker.size()) == kSpaceMarker;
      if (vocab_.split_on_space_marker || !run_continues) {
        encode_word(all.substr(start, pos - start), out);
        start = pos;
      }
    }
    encode_word(all.substr(start), out);
  }
  return out;
}

std::string SentencePieceBpeTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  bool first_piece = vocab_.space_prefix != SpacePrefix::Never;
  for (int32_t id : ids) {
    std::string piece = token_text(id);
    if (first_piece && vocab_.kinds[id] != TokenKind::Control) {
      if (!piece.empty() && piece[0] == ' ') piece.erase(0, 1);
      first_piece = false;
    }
    out += piece;
  }
  return out;
}

}  // namespace spectra
