// `spectra tokenize` end to end: ids on one line, --file byte-exact, BOS
// handling, and a clear error (with the byte offset) for invalid UTF-8.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "run_command.hpp"
#include "tokenizer/tokenizer.hpp"

using namespace spectra;
using test::quote;
using test::run_command;
namespace fs = std::filesystem;

namespace {

const std::string kModel = std::string(SPECTRA_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
const std::string kSpmVocab = std::string(SPECTRA_SHARED_DIR) + "/vocab/ggml-vocab-llama-spm.gguf";

std::string tokenize_cmd(const std::string& model, const std::string& args) {
  return quote(SPECTRA_EXE) + " tokenize --model " + quote(model) + " " + args;
}

fs::path write_temp(const std::string& name, const std::string& bytes) {
  const fs::path dir = fs::temp_directory_path() / ("spectra_tok_files_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path p = dir / name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

TEST(TokenizeCli, DefaultModelPrintsTheReferenceIds) {
  // Reference: HF tokenizers on SmolLM2's vocabulary (Digits + ByteLevel); the
  // model does not add BOS.
  const auto r = run_command(
      tokenize_cmd(kModel, "--text " + quote("Hello world! Does the query norm predict attention entropy? 2024")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "19556 905 17 7369 260 8520 2027 3142 2674 25142 47 216 34 32 34 36\n");
}

TEST(TokenizeCli, FileIsTokenizedByteExactly) {
  const std::string text = "line one\nline two\n";  // the trailing newline is a token
  const auto r = run_command(tokenize_cmd(kModel, "--file " + quote(write_temp("two_lines.txt", text).string())));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1311 582 198 1311 827 198\n");

  // Arbitrary bytes (CR LF, tabs, NUL, no final newline) round-trip through
  // the ids the CLI prints.
  const std::string tricky = std::string("a\r\nb\t\tc\0d  ", 12) + "\xC3\xA9\xF0\x9F\xA6\x99";
  const auto r2 = run_command(tokenize_cmd(kModel, "--file " + quote(write_temp("tricky.bin", tricky).string())));
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  const auto tok = load_tokenizer(kModel);
  std::vector<int32_t> ids = test::parse_ids(r2.out);
  EXPECT_EQ(tok->decode(ids), tricky);
  EXPECT_EQ(ids, tok->encode(tricky, false));
}

TEST(TokenizeCli, BosFollowsTheModelUnlessNoBos) {
  const auto with = run_command(tokenize_cmd(kSpmVocab, "--text " + quote("Hello world")));
  ASSERT_EQ(with.exit_code, 0) << with.err;
  EXPECT_EQ(with.out, "1 15043 3186\n");  // Llama-2 vocabulary: add_bos_token = true
  const auto without = run_command(tokenize_cmd(kSpmVocab, "--no-bos --text " + quote("Hello world")));
  ASSERT_EQ(without.exit_code, 0) << without.err;
  EXPECT_EQ(without.out, "15043 3186\n");
}

TEST(TokenizeCli, InvalidUtf8NamesTheFileAndOffset) {
  const fs::path bad = write_temp("bad.txt", "caf\xC3\xA9 ok \xFF tail");
  const auto r = run_command(tokenize_cmd(kModel, "--file " + quote(bad.string())));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find(bad.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("offset 9"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("invalid UTF-8"), std::string::npos) << r.err;

  const auto r2 = run_command(tokenize_cmd(kModel, "--text " + quote("ab\xC3(")));  // truncated sequence
  EXPECT_NE(r2.exit_code, 0);
  EXPECT_NE(r2.err.find("offset 2"), std::string::npos) << r2.err;
}

TEST(TokenizeCli, NeedsExactlyOneInput) {
  EXPECT_NE(run_command(tokenize_cmd(kModel, "")).exit_code, 0);
  EXPECT_NE(run_command(tokenize_cmd(kModel, "--text a --file b")).exit_code, 0);
  const auto missing = run_command(tokenize_cmd(kModel, "--file /nonexistent/input.txt"));
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("/nonexistent/input.txt"), std::string::npos) << missing.err;
}

}  // namespace
