// The tokenizer.json path against the HF `tokenizers` library: a Python helper
// (make_hf_reference.py) turns llama.cpp vocab GGUFs into tokenizer.json files
// of the common shapes and records HF's ids and decodings for the vector
// inputs plus extra texts; load_tokenizer(folder) must reproduce them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "vector_files.hpp"
#include "tokenizer/tokenizer.hpp"

using namespace spectra;
using nlohmann::json;

namespace {

struct Case {
  std::string name, flavor, vocab;
};

const std::map<std::string, Case>& cases() {
  static const std::string shared = std::string(SPECTRA_SHARED_DIR) + "/vocab/ggml-vocab-";
  static const std::string smollm = std::string(SPECTRA_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
  static const std::map<std::string, Case> c = {
      {"gpt2", {"gpt2", "gpt2", shared + "gpt-2.gguf"}},
      {"llama3", {"llama3", "llama3", smollm}},
      {"smollm", {"smollm", "smollm", smollm}},
      {"starcoder", {"starcoder", "smollm", shared + "starcoder.gguf"}},
      {"spm", {"spm", "spm", shared + "llama-spm.gguf"}},
      {"spm_metaspace", {"spm_metaspace", "spm-metaspace", shared + "llama-spm.gguf"}},
  };
  return c;
}

// Builds (or reuses) the reference for one case; returns its folder.
std::string reference_dir(const Case& c) {
  const std::string root = std::string(SPECTRA_BINARY_DIR) + "/tokenizer_hf_reference";
  const std::string cmd = std::string("\"") + SPECTRA_PYTHON + "\" \"" + SPECTRA_SOURCE_DIR +
                          "/tests/tokenizer/make_hf_reference.py\" \"" + root + "\" \"" + SPECTRA_SHARED_DIR +
                          "/vocab/ggml-vocab-gpt-2.gguf.inp\" \"" + c.name + ":" + c.flavor +
                          ":" + c.vocab + "\"";
  const int rc = std::system(cmd.c_str());
  if (rc != 0)
    throw std::runtime_error("make_hf_reference.py failed (needs python3 with the gguf and tokenizers packages: "
                             "scripts/deps.sh --test): " + cmd);
  return root + "/" + c.name;
}

class HfReference : public ::testing::TestWithParam<std::string> {};

TEST_P(HfReference, SameIdsAndDecodingAsHfTokenizers) {
  const Case& c = cases().at(GetParam());
  const std::string dir = reference_dir(c);
  const auto tok = load_tokenizer(dir);  // the folder: tokenizer.json inside
  const json expected = json::parse(test::slurp(dir + "/expected.json"));
  ASSERT_GE(expected.size(), 50u);
  int failures = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const std::string text = expected[i].at("text");
    const auto want = expected[i].at("ids").get<std::vector<int32_t>>();
    const auto got = tok->encode(text, false);
    EXPECT_EQ(test::ids_to_string(got), test::ids_to_string(want)) << "text #" << i << ": '" << text.substr(0, 200) << "'";
    EXPECT_EQ(tok->decode(want), expected[i].at("decoded").get<std::string>()) << "text #" << i;
    failures += got != want;
  }
  EXPECT_EQ(failures, 0);
}

INSTANTIATE_TEST_SUITE_P(Shapes, HfReference,
                         ::testing::Values("gpt2", "llama3", "smollm", "starcoder", "spm", "spm_metaspace"));

TEST(HfReferenceSettings, BosComesFromThePostProcessorTemplate) {
  const auto gpt2 = load_tokenizer(reference_dir(cases().at("gpt2")));
  EXPECT_EQ(gpt2->kind(), "bpe(tokenizer.json)");
  EXPECT_FALSE(gpt2->add_bos_default());  // no template: GPT-2 adds nothing
  const auto llama3 = load_tokenizer(reference_dir(cases().at("llama3")));
  EXPECT_TRUE(llama3->add_bos_default());
  EXPECT_EQ(llama3->bos_id(), 1);  // SmolLM2's <|im_start|>, named by the template
  EXPECT_EQ(llama3->encode("Hi", true).front(), 1);
  const auto spm = load_tokenizer(reference_dir(cases().at("spm")));
  EXPECT_EQ(spm->kind(), "spm");
  EXPECT_TRUE(spm->add_bos_default());
  EXPECT_EQ(spm->bos_id(), 1);
}

// The GGUF and the tokenizer.json forms of one vocabulary agree on SmolLM2.
TEST(HfReferenceSettings, GgufAndTokenizerJsonAgreeOnSmolLM2) {
  const Case& c = cases().at("smollm");
  const auto from_json = load_tokenizer(reference_dir(c));
  const auto from_gguf = load_tokenizer(c.vocab);
  const json expected = json::parse(test::slurp(reference_dir(c) + "/expected.json"));
  for (const auto& e : expected) {
    const std::string text = e.at("text");
    EXPECT_EQ(from_gguf->encode(text, false), from_json->encode(text, false)) << text.substr(0, 200);
  }
}

}  // namespace
