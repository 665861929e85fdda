// Target `tokenizer`: arbitrary bytes as text through every tokenizer. Invalid
// UTF-8 must be refused with a spectra::Error; valid text must encode (no
// error), to ids inside the vocabulary that decode again, and byte-level BPE
// must give back exactly the input (its decoding is byte-exact) unless the
// text holds a byte the vocabulary has no token for (some do not cover all
// 256: such bytes are dropped, as llama.cpp drops them).
#include <array>
#include <map>

#include "targets.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"

namespace spectra::fuzz {

namespace {

// Which bytes some token of TOK decodes to on its own.
const std::array<bool, 256>& byte_coverage(const Tokenizer& tok) {
  static std::map<const Tokenizer*, std::array<bool, 256>> cache;
  auto [it, inserted] = cache.try_emplace(&tok);
  if (inserted) {
    it->second.fill(false);
    for (int32_t id = 0; id < tok.vocab_size(); ++id) {
      const std::string s = tok.token_text(id);
      if (s.size() == 1) it->second[static_cast<uint8_t>(s[0])] = true;
    }
  }
  return it->second;
}

bool covers(const Tokenizer& tok, Bytes data) {
  const auto& cov = byte_coverage(tok);
  for (uint8_t b : data)
    if (!cov[b]) return false;
  return true;
}

}  // namespace

void tokenizer(Bytes data) {
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  bool valid = true;
  try {
    check_utf8(text, "input");
  } catch (const Error&) {
    valid = false;
  }
  for (const auto& tok : tokenizers()) {
    std::vector<int32_t> ids;
    try {
      ids = tok->encode(text, false);
    } catch (const Error& e) {
      if (valid) fail(tok->kind() + ": valid UTF-8 refused: " + e.what());
      continue;
    }
    if (!valid) fail(tok->kind() + ": encoded invalid UTF-8 without an error");
    for (int32_t id : ids)
      if (id < 0 || id >= tok->vocab_size()) fail(tok->kind() + ": id " + std::to_string(id) + " outside the vocabulary");
    const std::string back = tok->decode(ids);
    if (tok->kind().rfind("bpe", 0) == 0 && covers(*tok, data) && back != text) fail(tok->kind() + ": decode(encode(text)) != text");
  }
}

}  // namespace spectra::fuzz
