// Bad inputs give spectra::Error messages that name the file and the field
// (or byte offset) at fault.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "gguf_writer.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"

using namespace spectra;
namespace fs = std::filesystem;

namespace {

class TokenizerErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("spectra_tok_err_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  // The message of the spectra::Error that loading PATH throws ("" if none).
  static std::string load_error(const std::string& path) {
    try {
      load_tokenizer(path);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  static std::string tokenizer_json(const std::string& pre_tokenizer, const std::string& model_extra = "") {
    return R"({"added_tokens": [], "normalizer": null, "pre_tokenizer": )" + pre_tokenizer +
           R"(, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"])" + model_extra + "}}";
  }
  // A minimal byte-level GGUF vocabulary; `skip` names a key to leave out.
  std::string gguf(const std::string& name, const std::string& pre, const std::string& skip = "") {
    test::GgufWriter w;
    w.str("general.architecture", "llama");
    if (skip != "tokenizer.ggml.model") w.str("tokenizer.ggml.model", "gpt2");
    w.str("tokenizer.ggml.pre", pre);
    if (skip != "tokenizer.ggml.tokens") w.strs("tokenizer.ggml.tokens", {"a", "b", "ab"});
    w.i32s("tokenizer.ggml.token_type", {1, 1, 1});
    if (skip != "tokenizer.ggml.merges") w.strs("tokenizer.ggml.merges", {"a b"});
    const std::string p = (dir_ / name).string();
    w.save(p);
    return p;
  }
  fs::path dir_;
};

TEST_F(TokenizerErrors, MissingPathOrTokenizerJson) {
  EXPECT_NE(load_error((dir_ / "nope.gguf").string()).find("nope.gguf: no such file"), std::string::npos);
  fs::create_directories(dir_ / "hf");
  const std::string msg = load_error((dir_ / "hf").string());
  EXPECT_NE(msg.find("hf/tokenizer.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing"), std::string::npos) << msg;
}

TEST_F(TokenizerErrors, MalformedJsonNamesFileAndOffset) {
  const std::string p = write("m1/tokenizer.json", R"({"model": {"type": "BPE", "vocab": {"a": 0,}}})");
  const std::string msg = load_error(fs::path(p).parent_path().string());
  EXPECT_NE(msg.find(p + ": at offset "), std::string::npos) << msg;
  EXPECT_NE(msg.find("malformed JSON"), std::string::npos) << msg;
}

TEST_F(TokenizerErrors, MissingOrWrongFieldsAreNamed) {
  write("m2/tokenizer.json", R"({"model": {"type": "BPE", "merges": []}})");
  EXPECT_NE(load_error((dir_ / "m2").string()).find("field 'model.vocab': missing"), std::string::npos);
  write("m3/tokenizer.json", R"({"pre_tokenizer": null})");
  EXPECT_NE(load_error((dir_ / "m3").string()).find("field 'model': missing"), std::string::npos);
  write("m4/tokenizer.json", tokenizer_json(R"({"type": "ByteLevel"})", R"(, "type": "Unigram")"));
  // (the later "type" key wins in nlohmann::json)
  EXPECT_NE(load_error((dir_ / "m4").string()).find("field 'model.type': unsupported model type 'Unigram'"),
            std::string::npos);
  write("m5/tokenizer.json",
        R"({"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}})");
  EXPECT_NE(load_error((dir_ / "m5").string()).find("field 'model.vocab'"), std::string::npos);
  write("m6/tokenizer.json", tokenizer_json(R"({"type": "Sequence", "pretokenizers": [{"type": "Split"}]})"));
  EXPECT_NE(load_error((dir_ / "m6").string()).find("field 'pre_tokenizer.pretokenizers[0].pattern': missing"),
            std::string::npos)
      << load_error((dir_ / "m6").string());
}

TEST_F(TokenizerErrors, UnsupportedPreTokenizerListsTheSupportedOnes) {
  write("p1/tokenizer.json", tokenizer_json(R"({"type": "BertPreTokenizer"})"));
  const std::string msg = load_error((dir_ / "p1").string());
  EXPECT_NE(msg.find("field 'pre_tokenizer': unsupported pre-tokenizer type 'BertPreTokenizer'"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("Split, ByteLevel"), std::string::npos) << msg;

  const std::string g = gguf("bad_pre.gguf", "no-such-pre");
  const std::string gmsg = load_error(g);
  EXPECT_NE(gmsg.find(g + ": field 'tokenizer.ggml.pre': unsupported pre-tokenizer 'no-such-pre'"), std::string::npos)
      << gmsg;
  EXPECT_NE(gmsg.find("llama-bpe"), std::string::npos) << gmsg;
  EXPECT_NE(gmsg.find("smollm"), std::string::npos) << gmsg;
}

TEST_F(TokenizerErrors, BadRegexIsReported) {
  write("r1/tokenizer.json", tokenizer_json(R"({"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}, {"type": "ByteLevel"}]})"));
  const std::string msg = load_error((dir_ / "r1").string());
  EXPECT_NE(msg.find("(unclosed"), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not compile"), std::string::npos) << msg;
}

TEST_F(TokenizerErrors, GgufMissingTokenizerFieldsAreNamed) {
  const std::string ok = gguf("ok.gguf", "gpt-2");
  const auto tok = load_tokenizer(ok);  // the well-formed variant loads and merges
  EXPECT_EQ(tok->vocab_size(), 3);
  for (const std::string key : {"tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.merges"}) {
    const std::string p = gguf("skip.gguf", "gpt-2", key);
    const std::string msg = load_error(p);
    EXPECT_NE(msg.find(p), std::string::npos) << msg;
    EXPECT_NE(msg.find("'" + key + "'"), std::string::npos) << msg;
  }
  test::GgufWriter w;
  w.str("tokenizer.ggml.model", "bert");
  w.strs("tokenizer.ggml.tokens", {"a"});
  w.save((dir_ / "bert.gguf").string());
  EXPECT_NE(load_error((dir_ / "bert.gguf").string()).find("unsupported tokenizer model 'bert' (supported: gpt2, llama)"),
            std::string::npos);
  test::GgufWriter s;
  s.str("tokenizer.ggml.model", "llama");
  s.strs("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>"});
  s.f32s("tokenizer.ggml.scores", {0, 0});
  s.save((dir_ / "short_scores.gguf").string());
  EXPECT_NE(load_error((dir_ / "short_scores.gguf").string()).find("field 'tokenizer.ggml.scores': 2 entries for 3"),
            std::string::npos);
  test::GgufWriter b;
  b.str("tokenizer.ggml.model", "gpt2");
  b.strs("tokenizer.ggml.tokens", {"a"});
  b.strs("tokenizer.ggml.merges", {});
  b.u32("tokenizer.ggml.bos_token_id", 7);
  b.save((dir_ / "bad_bos.gguf").string());
  EXPECT_NE(load_error((dir_ / "bad_bos.gguf").string()).find("field 'tokenizer.ggml.bos_token_id': id 7 is outside"),
            std::string::npos);
}

TEST_F(TokenizerErrors, TokenizerConfigSetsBosAndEos) {
  const std::string json = R"({"added_tokens": [{"id": 3, "content": "<s>", "special": true},
      {"id": 4, "content": "</s>", "special": true}], "pre_tokenizer": {"type": "ByteLevel"},
      "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}})";
  write("c1/tokenizer.json", json);
  const auto plain = load_tokenizer((dir_ / "c1").string());
  EXPECT_EQ(plain->bos_id(), -1);
  EXPECT_FALSE(plain->add_bos_default());
  EXPECT_EQ(plain->encode("abab", true), (std::vector<int32_t>{2, 2}));
  write("c1/tokenizer_config.json", R"({"bos_token": {"content": "<s>"}, "eos_token": "</s>", "add_bos_token": true})");
  const auto cfg = load_tokenizer((dir_ / "c1").string());
  EXPECT_EQ(cfg->bos_id(), 3);
  EXPECT_EQ(cfg->eos_id(), 4);
  EXPECT_TRUE(cfg->add_bos_default());
  EXPECT_EQ(cfg->encode("abab", true), (std::vector<int32_t>{3, 2, 2}));
  // Special-token text is ordinary text (here: bytes this toy vocabulary lacks).
  EXPECT_EQ(cfg->encode("<s>ab", false), (std::vector<int32_t>{2}));
  write("c1/tokenizer_config.json", R"({"bos_token": "<nope>"})");
  EXPECT_NE(load_error((dir_ / "c1").string()).find("tokenizer_config.json: field 'bos_token': token '<nope>'"),
            std::string::npos);
}

TEST_F(TokenizerErrors, EncodeRejectsInvalidUtf8AndDecodeRejectsBadIds) {
  const auto tok = load_tokenizer(gguf("ok.gguf", "gpt-2"));
  try {
    tok->encode(std::string("ab\xE2\x82", 4), false);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input text: at offset 2: invalid UTF-8"), std::string::npos) << e.what();
  }
  EXPECT_THROW(tok->decode({0, 3}), Error);
  EXPECT_THROW(tok->token_text(-1), Error);
}

}  // namespace
