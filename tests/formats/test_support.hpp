#pragma once
// Helpers shared by the formats tests: temporary directories, whole-file
// reads/writes, running a subprocess, and the paths of the test models.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace spectra::test {

namespace fs = std::filesystem;

inline std::string shared_dir() { return SPECTRA_SHARED_DIR; }
inline std::string stories_hf() { return shared_dir() + "/models/stories260k"; }
inline std::string stories_gguf() { return shared_dir() + "/models/stories260k.gguf"; }
inline std::string smollm_gguf() { return std::string(SPECTRA_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"; }
inline std::string tests_dir() { return std::string(SPECTRA_SOURCE_DIR) + "/tests/formats"; }

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "spectra-formats-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

inline std::string read_text(const std::string& path) {
  auto b = read_bytes(path);
  return {b.begin(), b.end()};
}

inline void write_bytes(const std::string& path, const void* data, size_t n) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
  if (!f) throw std::runtime_error("cannot write " + path);
}
inline void write_bytes(const std::string& path, const std::vector<uint8_t>& b) { write_bytes(path, b.data(), b.size()); }
inline void write_text(const std::string& path, const std::string& s) { write_bytes(path, s.data(), s.size()); }

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a shell command, capturing stdout and stderr separately.
inline CommandResult run_command(const std::string& cmd) {
  TempDir tmp;
  const std::string out = tmp / "out", err = tmp / "err";
  const int status = std::system((cmd + " >" + out + " 2>" + err).c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

inline std::string quote(const std::string& s) { return "'" + s + "'"; }

}  // namespace spectra::test
