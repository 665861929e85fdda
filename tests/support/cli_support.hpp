#pragma once
// Shared test helpers: fresh temporary folders, small file I/O and running the
// spectra executable (or any command) with its output captured. Test folders
// include this instead of growing their own copies.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>
#include <string>

#include "observers/tuple_file.hpp"

namespace spectra::test_support {

// A new, empty folder under the system temp folder, unique to this process.
inline std::filesystem::path fresh_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("spectra_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

inline void write_file(const std::filesystem::path& p, const std::string& data) {
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << data;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A single-quoted shell word.
inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct CmdResult {
  int status = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line, in `cwd` when given.
inline CmdResult run_shell(const std::string& command, const std::string& cwd = "") {
  const std::string cmd = (cwd.empty() ? "" : "cd " + quote(cwd) + " && ") + command + " 2>&1";
  CmdResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// The bytes of a tuple file of record version 1 (10 fields, 40-byte rows), as
// the writer before issue #14 wrote it: npy 1.0, header padded to 64 bytes.
inline std::string tuple_v1_npy(std::span<const TupleRowV1> rows) {
  std::string dict = "{'descr': " + tuple_npy_descr_v1() + ", 'fortran_order': False, 'shape': (" +
                     std::to_string(rows.size()) + ",), }";
  const size_t total = (10 + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - 10 - dict.size() - 1, ' ');
  dict += '\n';
  std::string s("\x93NUMPY\x01\x00", 8);
  s += static_cast<char>(dict.size() & 0xff);
  s += static_cast<char>(dict.size() >> 8);
  s += dict;
  s.append(reinterpret_cast<const char*>(rows.data()), rows.size_bytes());
  return s;
}

// "1 40 77 …": n token ids of the golden model's vocabulary (3 + 37·i mod 500
// after a leading 1); id 40 is the token "%", which gnuplot tic labels must
// escape.
inline std::string golden_token_ids(int n) {
  std::string s = "1";
  for (int i = 1; i < n; ++i) s += " " + std::to_string(3 + (i * 37) % 500);
  return s;
}

#ifdef SPECTRA_SHARED_DIR
// The golden model's GGUF in ../shared.
inline const std::string kStoriesGguf = std::string(SPECTRA_SHARED_DIR) + "/models/stories260k.gguf";
#endif

#ifdef SPECTRA_EXE
// Runs `spectra ARGS` (ARGS already shell-quoted), in `cwd` when given.
inline CmdResult run_spectra(const std::string& args, const std::string& cwd = "") {
  return run_shell(quote(SPECTRA_EXE) + " " + args, cwd);
}
#endif

}  // namespace spectra::test_support
