// Building blocks: UTF-8 validation, the GPT-2 byte alphabet, split
// behaviours, and encoding speed/thread safety on multi-MB text.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tokenizer/pretokenizer.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer/unicode_bytes.hpp"
#include "tokenizer/utf8.hpp"
#include "util/error.hpp"

using namespace spectra;

namespace {

TEST(Utf8, FirstInvalidOffset) {
  EXPECT_EQ(utf8::first_invalid_offset(""), utf8::kValid);
  EXPECT_EQ(utf8::first_invalid_offset("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\xA6\x99"), utf8::kValid);  // aé€🦙
  EXPECT_EQ(utf8::first_invalid_offset("ab\x80"), 2u);                 // lone continuation byte
  EXPECT_EQ(utf8::first_invalid_offset("a\xC0\xAF"), 1u);              // overlong '/'
  EXPECT_EQ(utf8::first_invalid_offset("a\xE0\x80\xAF"), 1u);          // overlong, 3 bytes
  EXPECT_EQ(utf8::first_invalid_offset("xy\xED\xA0\x80"), 2u);         // UTF-16 surrogate
  EXPECT_EQ(utf8::first_invalid_offset("\xF4\x90\x80\x80"), 0u);       // above U+10FFFF
  EXPECT_EQ(utf8::first_invalid_offset("abc\xE2\x82"), 3u);            // truncated at the end
  EXPECT_EQ(utf8::first_invalid_offset("\xE2\x82x"), 0u);              // truncated before ASCII
  EXPECT_EQ(utf8::first_invalid_offset("\xFF"), 0u);
  EXPECT_EQ(utf8::first_invalid_offset(std::string("a\0b", 3)), utf8::kValid);  // NUL is valid
}

TEST(UnicodeBytes, Gpt2AlphabetIsABijection) {
  EXPECT_EQ(unicode_bytes::char_for_byte(' '), "\xC4\xA0");   // 'Ġ' U+0120
  EXPECT_EQ(unicode_bytes::char_for_byte('\n'), "\xC4\x8A");  // 'Ċ' U+010A
  EXPECT_EQ(unicode_bytes::char_for_byte('A'), "A");
  EXPECT_EQ(unicode_bytes::char_for_byte(0xAD), "\xC5\x83");  // the last remapped byte: U+0143
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::string mapped = unicode_bytes::encode(all);
  EXPECT_EQ(utf8::first_invalid_offset(mapped), utf8::kValid);
  EXPECT_EQ(unicode_bytes::decode(mapped), all);
  for (int b = 0; b < 256; ++b)
    EXPECT_EQ(unicode_bytes::byte_for_char(utf8::decode_at(unicode_bytes::char_for_byte(b), 0)), b);
  EXPECT_EQ(unicode_bytes::byte_for_char(0x4E00), -1);
}

std::vector<std::string> split(const std::string& pattern, SplitBehavior b, const std::string& text, bool invert = false) {
  PreTokenizer pre({{pattern, b, invert}}, "test");
  std::vector<std::string_view> views;
  pre.split(text, views);
  return {views.begin(), views.end()};
}

using Pieces = std::vector<std::string>;

TEST(PreTokenizer, SplitBehavioursMatchHf) {
  // Expected pieces: HF tokenizers' pre_tokenizers.Split(Regex("-"), behavior,
  // invert).pre_tokenize_str("the-final--countdown").
  const std::string t = "the-final--countdown";
  using B = SplitBehavior;
  EXPECT_EQ(split("-", B::Removed, t), (Pieces{"the", "final", "countdown"}));
  EXPECT_EQ(split("-", B::Isolated, t), (Pieces{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(split("-", B::MergedWithPrevious, t), (Pieces{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(split("-", B::MergedWithNext, t), (Pieces{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(split("-", B::Contiguous, t), (Pieces{"the", "-", "final", "--", "countdown"}));
  EXPECT_EQ(split("-", B::Removed, t, true), (Pieces{"-", "-", "-"}));
  EXPECT_EQ(split("-", B::Isolated, t, true), (Pieces{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(split("-", B::MergedWithPrevious, t, true), (Pieces{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(split("-", B::MergedWithNext, t, true), (Pieces{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(split("-", B::Contiguous, t, true), (Pieces{"the", "-", "final", "--", "countdown"}));
}

TEST(PreTokenizer, RulesApplyInTurnAndSeeOnlyTheirPiece) {
  // smollm: digits one by one, then the GPT-2 regex inside each piece.
  PreTokenizer pre(split_rules_for_pre("smollm", "test"), "test");
  std::vector<std::string_view> v;
  pre.split("in 2024 we're  here", v);
  EXPECT_EQ(Pieces(v.begin(), v.end()), (Pieces{"in", " ", "2", "0", "2", "4", " we", "'re", " ", " here"}));
  // Llama-3: up to three digits, case-insensitive contractions, newlines kept together.
  PreTokenizer l3(split_rules_for_pre("llama-bpe", "test"), "test");
  v.clear();
  l3.split("I'M 1234567\n\n  x", v);
  EXPECT_EQ(Pieces(v.begin(), v.end()), (Pieces{"I", "'M", " ", "123", "456", "7", "\n\n", " ", " x"}));
  // Unicode classes: \p{L} covers Cyrillic, \p{N} covers Arabic-Indic digits.
  PreTokenizer g2(split_rules_for_pre("gpt-2", "test"), "test");
  v.clear();
  g2.split("\xD0\xBF\xD1\x80\xD0\xB8 \xD9\xA3\xD9\xA4!", v);
  EXPECT_EQ(Pieces(v.begin(), v.end()), (Pieces{"\xD0\xBF\xD1\x80\xD0\xB8", " \xD9\xA3\xD9\xA4", "!"}));
}

TEST(PreTokenizer, UnknownPreNameListsTheSupportedOnes) {
  try {
    split_rules_for_pre("nonesuch", "model.gguf");
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("model.gguf: field 'tokenizer.ggml.pre': unsupported pre-tokenizer 'nonesuch'"), std::string::npos);
    for (const char* name : {"gpt-2", "llama-bpe", "smollm", "starcoder", "refact", "qwen2", "deepseek-coder", "falcon"})
      EXPECT_NE(m.find(name), std::string::npos) << name;
  }
}

// A few MB of varied text with many distinct words (not just cache hits).
std::string corpus(size_t bytes) {
  std::string s;
  for (size_t i = 0; s.size() < bytes; ++i) {
    s += "Paragraph " + std::to_string(i * 7919 % 100003) + ": the query norm of head " + std::to_string(i % 97) +
         " predicts\tentropy; \xC3\x84pfel \xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 "
         "\xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\xA6\x99 w" + std::to_string(i * 31) + "x" + std::string(i % 5, ' ') + "\n";
  }
  return s;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr double kSlack = 20;  // sanitizer builds are much slower
#else
constexpr double kSlack = 1;
#endif

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(Performance, ByteLevelBpeEncodesMegabytesQuickly) {
  const auto tok = load_tokenizer(std::string(SPECTRA_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf");
  const std::string text = corpus(kSlack > 1 ? 1 << 20 : 4 << 20);
  const auto t0 = std::chrono::steady_clock::now();
  const auto ids = tok->encode(text, false);
  const double s = seconds_since(t0);
  EXPECT_LT(s, 8.0 * kSlack) << "encoding " << text.size() << " bytes took " << s << " s";
  EXPECT_GT(ids.size(), text.size() / 8);
  EXPECT_EQ(tok->decode(ids), text);
}

TEST(Performance, SentencePieceEncodesMegabytesQuickly) {
  const auto tok = load_tokenizer(std::string(SPECTRA_SHARED_DIR) + "/vocab/ggml-vocab-llama-spm.gguf");
  const std::string text = corpus(kSlack > 1 ? 1 << 20 : 4 << 20);
  const auto t0 = std::chrono::steady_clock::now();
  const auto ids = tok->encode(text, false);
  const double s = seconds_since(t0);
  EXPECT_LT(s, 8.0 * kSlack) << "encoding " << text.size() << " bytes took " << s << " s";
  EXPECT_EQ(tok->decode(ids), text);
}

TEST(Concurrency, EncodeIsThreadSafe) {
  const auto tok = load_tokenizer(std::string(SPECTRA_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf");
  const std::string text = corpus(200 << 10);
  const auto want = tok->encode(text, false);
  std::vector<std::vector<int32_t>> got(4);
  std::vector<std::thread> threads;
  for (auto& g : got) threads.emplace_back([&tok, &text, &g] { g = tok->encode(text, false); });
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, want);
}

}  // namespace
