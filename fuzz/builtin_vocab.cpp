// The tokenizers the `tokenizer` target runs: two small vocabularies built in
// memory (so the target needs no file) plus the files the caller names.
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sstream>

#include "targets.hpp"
#include "tokenizer/unicode_bytes.hpp"
#include "tokenizer/vocab_loaders.hpp"

namespace spectra::fuzz {

namespace {

// GPT-2 style: the 256 byte symbols, a few merges, a control and a user-defined token.
Vocab byte_level_vocab() {
  Vocab v;
  v.source = "builtin byte-level vocabulary";
  v.family = VocabFamily::ByteLevelBpe;
  v.pre_name = "gpt-2";
  v.split_rules = split_rules_for_pre("gpt-2", v.source);
  for (int b = 0; b < 256; ++b) v.tokens.push_back(unicode_bytes::char_for_byte(static_cast<uint8_t>(b)));
  const std::string sp = unicode_bytes::char_for_byte(' ');
  const std::pair<std::string, std::string> merges[] = {
      {"h", "e"}, {"he", "l"}, {"hel", "l"}, {"hell", "o"}, {sp, "w"}, {sp + "w", "o"}, {"1", "2"}, {"\xC3", "\xA9"}};
  for (const auto& [l, r] : merges) {
    v.merges.emplace_back(l, r);
    v.tokens.push_back(l + r);
  }
  v.kinds.assign(v.tokens.size(), TokenKind::Normal);
  v.tokens.push_back("<|endoftext|>");
  v.kinds.push_back(TokenKind::Control);
  v.tokens.push_back("<ud>");
  v.kinds.push_back(TokenKind::UserDefined);
  v.bos_id = v.eos_id = static_cast<int32_t>(v.tokens.size()) - 2;
  v.add_bos = true;
  v.validate();
  return v;
}

// Llama-2 style: <unk> <s> </s>, 256 byte pieces, a few scored pieces.
Vocab sentencepiece_vocab() {
  Vocab v;
  v.source = "builtin SentencePiece vocabulary";
  v.family = VocabFamily::SentencePieceBpe;
  v.pre_name = "spm";
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.kinds = {TokenKind::Unknown, TokenKind::Control, TokenKind::Control};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    v.tokens.push_back(name);
    v.kinds.push_back(TokenKind::Byte);
  }
  for (const char* p : {"\xE2\x96\x81", "a", "b", "\xE2\x96\x81" "a", "ab", "\xE2\x96\x81" "ab", "\xC3\xA9", "<ud>"}) {
    v.tokens.push_back(p);
    v.kinds.push_back(std::string(p) == "<ud>" ? TokenKind::UserDefined : TokenKind::Normal);
  }
  v.scores.assign(v.tokens.size(), 0.0f);
  for (size_t i = 259; i < v.tokens.size(); ++i) v.scores[i] = -static_cast<float>(i - 259);
  v.merge_by_score = true;
  v.byte_fallback = true;
  v.bos_id = 1;
  v.eos_id = 2;
  v.unk_id = 0;
  v.add_bos = true;
  v.validate();
  return v;
}

std::vector<std::string>& files() {
  static std::vector<std::string> f = [] {
    std::vector<std::string> out;
    if (const char* env = std::getenv("SPECTRA_FUZZ_TOKENIZERS")) {
      std::stringstream ss(env);
      for (std::string p; std::getline(ss, p, ':');)
        if (!p.empty()) out.push_back(p);
    }
    return out;
  }();
  return f;
}

bool loaded = false;

}  // namespace

void set_tokenizer_files(const std::vector<std::string>& paths) {
  if (loaded) fail("set_tokenizer_files() after the tokenizers were loaded");
  files() = paths;
}

const std::vector<std::unique_ptr<Tokenizer>>& tokenizers() {
  static const std::vector<std::unique_ptr<Tokenizer>> t = [] {
    loaded = true;
    std::vector<std::unique_ptr<Tokenizer>> out;
    out.push_back(make_tokenizer(byte_level_vocab()));
    out.push_back(make_tokenizer(sentencepiece_vocab()));
    for (const auto& p : files()) out.push_back(load_tokenizer(p));  // a bad file here is the caller's error
    return out;
  }();
  return t;
}

const Tokenizer& builtin_byte_level() { return *tokenizers()[0]; }

}  // namespace spectra::fuzz
