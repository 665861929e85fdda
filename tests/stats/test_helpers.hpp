#pragma once
// Small helpers shared by the stats tests: temp folders and running Python.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace spectra::test {

inline std::filesystem::path fresh_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("spectra_stats_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

// Runs `python3 SCRIPT ARGS...` (script relative to tests/stats); returns the exit code.
inline int run_python(const std::string& script, const std::string& args) {
  std::string cmd = std::string(SPECTRA_PYTHON) + " " + SPECTRA_STATS_TEST_DIR + "/" + script + " " + args;
  return std::system(cmd.c_str());
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace spectra::test
