#pragma once
// Read a safetensors file into (header JSON, data bytes) and write one back,
// so tests can derive broken or re-sharded files from the real ones.
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace spectra::test {

struct StFile {
  nlohmann::json header;
  std::vector<uint8_t> data;
};

inline StFile read_st(const std::string& path) {
  const auto b = read_bytes(path);
  uint64_t n = 0;
  std::memcpy(&n, b.data(), 8);
  StFile f;
  f.header = nlohmann::json::parse(b.begin() + 8, b.begin() + 8 + static_cast<long>(n));
  f.data.assign(b.begin() + 8 + static_cast<long>(n), b.end());
  return f;
}

inline void write_st_raw(const std::string& path, const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(8);
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  write_bytes(path, out);
}

inline void write_st(const std::string& path, const StFile& f) { write_st_raw(path, f.header.dump(), f.data); }

// Copies every file of the folder SRC into DST (a fresh directory).
inline void copy_folder(const std::string& src, const std::string& dst) {
  fs::create_directories(dst);
  for (const auto& e : fs::directory_iterator(src))
    fs::copy_file(e.path(), fs::path(dst) / e.path().filename(), fs::copy_options::overwrite_existing);
  for (const auto& e : fs::directory_iterator(dst))
    fs::permissions(e.path(), fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add);
}

}  // namespace spectra::test
