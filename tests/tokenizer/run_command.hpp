#pragma once
// Runs a shell command for CLI tests, capturing exit status, stdout and stderr.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "vector_files.hpp"

namespace spectra::test {

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};

inline CommandResult run_command(const std::string& cmd) {
  namespace fs = std::filesystem;
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path() / ("spectra_tok_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path out = dir / ("out" + std::to_string(counter));
  const fs::path err = dir / ("err" + std::to_string(counter++));
  const int status = std::system((cmd + " >\"" + out.string() + "\" 2>\"" + err.string() + "\"").c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out.string());
  r.err = slurp(err.string());
  fs::remove(out);
  fs::remove(err);
  std::error_code ec;
  fs::remove(dir, ec);  // only when empty: another test of this process may be using it
  return r;
}

inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace spectra::test
