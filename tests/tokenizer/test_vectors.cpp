// llama.cpp's tokenizer test vectors, loaded from the vocab-only GGUF files:
// every input must give exactly the expected ids (no BOS), and byte-level BPE
// must decode back to the input byte for byte.
#include <gtest/gtest.h>

#include "vector_files.hpp"
#include "tokenizer/tokenizer.hpp"

using namespace spectra;
using spectra::test::ids_to_string;

namespace {

std::string vocab_path(const std::string& name) {
  return std::string(SPECTRA_SHARED_DIR) + "/vocab/ggml-vocab-" + name + ".gguf";
}

class GgufVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufVectors, EncodeMatchesLlamaCpp) {
  const std::string path = vocab_path(GetParam());
  const auto tok = load_tokenizer(path);
  const auto cases = test::read_vectors(path);
  ASSERT_EQ(cases.size(), 46u);
  int failures = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto got = tok->encode(cases[i].text, false);
    EXPECT_EQ(ids_to_string(got), ids_to_string(cases[i].ids)) << "input #" << i << ": '" << cases[i].text << "'";
    failures += got != cases[i].ids;
  }
  EXPECT_EQ(failures, 0);
}

TEST_P(GgufVectors, DecodeInvertsEncode) {
  const auto tok = load_tokenizer(vocab_path(GetParam()));
  for (const auto& c : test::read_vectors(vocab_path(GetParam()))) {
    EXPECT_EQ(tok->decode(tok->encode(c.text, false)), c.text) << "'" << c.text << "'";
    // The expected ids decode to the input too (decoding is independent of encoding).
    EXPECT_EQ(tok->decode(c.ids), c.text) << "'" << c.text << "'";
  }
}

INSTANTIATE_TEST_SUITE_P(AllVocabs, GgufVectors,
                         ::testing::Values("gpt-2", "starcoder", "refact", "falcon", "deepseek-coder", "llama-spm",
                                           "phi-3"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(GgufVocab, FamiliesAndSpecialIds) {
  const auto gpt2 = load_tokenizer(vocab_path("gpt-2"));
  EXPECT_EQ(gpt2->kind(), "bpe(gpt-2)");
  EXPECT_EQ(gpt2->vocab_size(), 50257);
  EXPECT_EQ(gpt2->bos_id(), 50256);
  const auto spm = load_tokenizer(vocab_path("llama-spm"));
  EXPECT_EQ(spm->kind(), "spm");
  EXPECT_EQ(spm->vocab_size(), 32000);
  EXPECT_EQ(spm->bos_id(), 1);
  EXPECT_EQ(spm->eos_id(), 2);
  EXPECT_TRUE(spm->add_bos_default());
  const auto ids = spm->encode("Hello", true);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(spm->encode("Hello", false), std::vector<int32_t>(ids.begin() + 1, ids.end()));
}

TEST(GgufVocab, SmolLM2ModelLoadsItsTokenizer) {
  const std::string model = std::string(SPECTRA_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
  const auto tok = load_tokenizer(model);
  EXPECT_EQ(tok->kind(), "bpe(smollm)");
  EXPECT_EQ(tok->vocab_size(), 49152);
  EXPECT_FALSE(tok->add_bos_default());
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->token_text(1), "<|im_start|>");
  // Digits are split one by one (smollm pre-tokenizer), and the special-token
  // text is ordinary text.
  const auto ids = tok->encode("Year 2024 <|im_end|>", false);
  EXPECT_EQ(tok->decode(ids), "Year 2024 <|im_end|>");
  for (int32_t id : ids) EXPECT_NE(id, 2);
  EXPECT_EQ(tok->encode("2024", false).size(), 4u);
}

}  // namespace
