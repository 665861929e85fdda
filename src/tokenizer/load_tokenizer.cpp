// load_tokenizer(): picks the vocabulary source (GGUF file, HF folder or a
// tokenizer.json path) and the tokenizer family.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tokenizer/byte_level_bpe.hpp"
#include "tokenizer/sentencepiece_bpe.hpp"
#include "tokenizer/utf8.hpp"
#include "tokenizer/vocab_loaders.hpp"
#include "util/error.hpp"

namespace spectra {
namespace fs = std::filesystem;

void check_utf8(std::string_view text, const std::string& source) {
  const size_t bad = utf8::first_invalid_offset(text);
  if (bad == utf8::kValid) return;
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned>(static_cast<uint8_t>(text[bad])));
  fail_at(source, bad, std::string("invalid UTF-8 (byte ") + byte + ")");
}

std::unique_ptr<Tokenizer> make_tokenizer(Vocab vocab) {
  if (vocab.family == VocabFamily::SentencePieceBpe) return std::make_unique<SentencePieceBpeTokenizer>(std::move(vocab));
  return std::make_unique<ByteLevelBpeTokenizer>(std::move(vocab));
}

namespace {
bool has_gguf_magic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}
}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail_file(path, "no such file or directory");
  if (fs::is_directory(path, ec)) {
    const fs::path json = fs::path(path) / "tokenizer.json";
    if (!fs::exists(json, ec))
      fail_file(json.string(), "missing (an HF model folder needs tokenizer.json for its tokenizer)");
    return make_tokenizer(vocab_from_tokenizer_json(json.string(), (fs::path(path) / "tokenizer_config.json").string()));
  }
  if (has_gguf_magic(path)) return make_tokenizer(vocab_from_gguf(path));
  if (fs::path(path).extension() == ".json")
    return make_tokenizer(vocab_from_tokenizer_json(path, (fs::path(path).parent_path() / "tokenizer_config.json").string()));
  fail_file(path, "not a GGUF file, a tokenizer.json or a folder holding tokenizer.json");
}

}  // namespace spectra

namespace spectra {

std::vector<int32_t> encode_for_model(const Tokenizer& tok, bool model_adds_bos, std::string_view text) {
  return tok.encode(text, model_adds_bos && tok.bos_id() >= 0);
}

}  // namespace spectra
