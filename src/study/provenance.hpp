#pragma once
// Provenance of a study: what model files, which tool build, which machine.
//
// Hashing policy (weights can be 16 GB; hashing them would dominate a run):
//  - HF folder: SHA-256 of every small metadata file (config.json,
//    generation_config.json, tokenizer.json, tokenizer_config.json,
//    special_tokens_map.json, model.safetensors.index.json) and of each
//    safetensors file's header (the 8-byte length + JSON tensor table), plus
//    size and mtime of every weight file.
//  - GGUF: SHA-256 of the metadata section, i.e. bytes [0, data_offset): the
//    header, all key/values (architecture hyperparameters and the embedded
//    tokenizer) and the tensor table, plus size and mtime of the file; the
//    whole file is hashed too when it is at most kFullHashLimit bytes (the
//    default model is ~93 MB: well under a second).
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace spectra::study {

inline constexpr uint64_t kFullHashLimit = 256ull << 20;

// Incremental SHA-256 (OpenSSL EVP); hex() ends it.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t size);
  std::string hex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Hex SHA-256 (OpenSSL EVP).
std::string sha256_hex(const void* data, size_t size);
std::string sha256_file(const std::string& path);  // throws spectra::Error naming the file

// The model's files as JSON: {"path", "format", "files": [{name, bytes,
// mtime, sha256?, header_sha256?, metadata_sha256?}], "hash_policy": "..."}.
nlohmann::json model_provenance(const std::string& model_path);

// Tool, build and host: version, git commit, compiler, hostname, CPU.
nlohmann::json tool_provenance();

// Current UTC time as ISO 8601 ("2026-11-24T04:07:30Z").
std::string utc_now_iso();

}  // namespace spectra::study
