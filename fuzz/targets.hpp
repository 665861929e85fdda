#pragma once
// The fuzz targets: each feeds arbitrary bytes through one parser's own entry
// points (fuzz/<target>.cpp). A spectra::Error is the clean outcome for bad
// input; anything else (a crash, a sanitizer report, another exception type,
// a broken invariant, which calls fail()) is a finding. The libFuzzer
// harnesses (fuzz/harness.cpp, one executable per target) and the regression
// replay test (tests/fuzz/) run these same functions.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace spectra {
class Tokenizer;
}

namespace spectra::fuzz {

using Bytes = std::span<const uint8_t>;

void safetensors(Bytes data);     // safetensors header and tensor table
void gguf(Bytes data);            // GGUF metadata, tensor infos, model description, embedded tokenizer
void hf_config(Bytes data);       // config.json of an HF folder
void tokenizer_json(Bytes data);  // tokenizer.json [NUL tokenizer_config.json]
void study_config(Bytes data);    // study.toml (and its round trip through to_toml)
void npy(Bytes data);             // tuples.npy (data starting with the npy magic) or tuples.csv
void corpus(Bytes data);          // first byte: 0 text, 1 .jsonl, 2 .tokens (mod 3); the rest is the file
void tokenizer(Bytes data);       // encode then decode with every tokenizer of tokenizers()

struct Target {
  const char* name;
  void (*run)(Bytes);
};
const std::vector<Target>& targets();

// Runs TARGET on DATA; a spectra::Error is swallowed, everything else escapes.
void run_one(void (*target)(Bytes), Bytes data);

// A broken invariant: prints WHAT and aborts (a finding).
[[noreturn]] void fail(const std::string& what);

// Writes DATA to NAME inside this process's scratch folder (created on first
// use under $TMPDIR, removed at exit) and returns its path.
std::string scratch_file(const std::string& name, Bytes data);
void remove_scratch_file(const std::string& name);
std::string scratch_dir();

// The tokenizers the `tokenizer` target runs: two small built-in vocabularies
// (byte-level BPE and SentencePiece BPE) plus the files named by
// set_tokenizer_files(), or else by $SPECTRA_FUZZ_TOKENIZERS (colon-separated
// .gguf files or tokenizer folders).
void set_tokenizer_files(const std::vector<std::string>& paths);
const std::vector<std::unique_ptr<Tokenizer>>& tokenizers();
// The built-in byte-level BPE tokenizer (also used by the corpus target).
const Tokenizer& builtin_byte_level();

}  // namespace spectra::fuzz
