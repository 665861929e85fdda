// Provenance: SHA-256 of model metadata, sizes and mtimes of weight files,
// tool version and git commit (see provenance.hpp for the hashing policy).
#include "study/provenance.hpp"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "formats/gguf.hpp"
#include "spectra_version.hpp"
#include "util/error.hpp"
#include "util/mapped_file.hpp"

namespace spectra::study {
namespace fs = std::filesystem;

namespace {

std::string iso_time(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string mtime_iso(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return "";
  return iso_time(st.st_mtim.tv_sec);
}

nlohmann::json file_entry(const fs::path& p, const std::string& name) {
  std::error_code ec;
  nlohmann::json j;
  j["name"] = name;
  j["bytes"] = static_cast<uint64_t>(fs::file_size(p, ec));
  j["mtime"] = mtime_iso(p);
  return j;
}

}  // namespace

struct Sha256::Impl {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx.get(), EVP_sha256(), nullptr) != 1)
    throw Error("SHA-256: OpenSSL init failed");
}

Sha256::~Sha256() = default;

void Sha256::update(const void* p, size_t n) {
  if (n && EVP_DigestUpdate(impl_->ctx.get(), p, n) != 1) throw Error("SHA-256: OpenSSL update failed");
}

std::string Sha256::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx.get(), md, &len) != 1) throw Error("SHA-256: OpenSSL final failed");
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < len; ++i) {
    s += digits[md[i] >> 4];
    s += digits[md[i] & 15];
  }
  return s;
}

std::string sha256_hex(const void* data, size_t size) {
  Sha256 h;
  h.update(data, size);
  return h.hex();
}

std::string sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_file(path, "cannot open for hashing");
  Sha256 h;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) fail_file(path, "read error while hashing");
  return h.hex();
}

nlohmann::json model_provenance(const std::string& model_path) {
  nlohmann::json j;
  std::error_code ec;
  fs::path root = fs::absolute(model_path, ec);
  j["path"] = root.string();
  nlohmann::json files = nlohmann::json::array();
  if (fs::is_directory(root, ec)) {
    j["format"] = "safetensors";
    j["hash_policy"] =
        "sha256 of the metadata files (config, tokenizer, index) and of each safetensors header; size and mtime "
        "of weight files (their tensor data is not hashed)";
    std::vector<fs::path> entries;
    for (const auto& e : fs::directory_iterator(root, ec))
      if (e.is_regular_file()) entries.push_back(e.path());
    std::sort(entries.begin(), entries.end());
    for (const auto& p : entries) {
      std::string name = p.filename().string();
      bool meta = name == "config.json" || name == "generation_config.json" || name == "tokenizer.json" ||
                  name == "tokenizer_config.json" || name == "special_tokens_map.json" ||
                  name == "model.safetensors.index.json" || name == "tokenizer.model";
      bool weights = p.extension() == ".safetensors";
      if (!meta && !weights) continue;
      nlohmann::json f = file_entry(p, name);
      if (meta) f["sha256"] = sha256_file(p.string());
      if (weights) {
        MappedFile m(p.string());
        if (m.size() >= 8) {
          uint64_t n = 0;
          std::memcpy(&n, m.data(), 8);  // little-endian hosts only (x86-64)
          if (n <= m.size() - 8) f["header_sha256"] = sha256_hex(m.data(), 8 + n);
        }
      }
      files.push_back(f);
    }
  } else {
    j["format"] = "gguf";
    j["hash_policy"] =
        "sha256 of the GGUF metadata section (header, key/values incl. the tokenizer, tensor table: bytes "
        "[0, data_offset)); sha256 of the whole file when it is at most " +
        std::to_string(kFullHashLimit >> 20) + " MiB; size and mtime always";
    GgufFile g(root.string());
    nlohmann::json f = file_entry(root, root.filename().string());
    MappedFile m(root.string());
    uint64_t meta_end = std::min<uint64_t>(g.data_offset(), m.size());
    f["metadata_bytes"] = meta_end;
    f["metadata_sha256"] = sha256_hex(m.data(), meta_end);
    if (m.size() <= kFullHashLimit) f["sha256"] = sha256_hex(m.data(), m.size());
    files.push_back(f);
  }
  j["files"] = files;
  return j;
}

nlohmann::json tool_provenance() {
  nlohmann::json j;
  j["name"] = "spectra";
  j["version"] = kVersion;
  j["git_commit"] = kGitCommit;
#if defined(__clang__)
  j["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  j["compiler"] = std::string("gcc ") + __VERSION__;
#endif
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) == 0) j["host"] = host;
  return j;
}

std::string utc_now_iso() { return iso_time(std::time(nullptr)); }

}  // namespace spectra::study
