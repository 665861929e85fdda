#pragma once
// Small helpers shared by the stats tests: temp folders and running Python.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

#include "cli_support.hpp"

namespace spectra::test {

using test_support::fresh_dir;  // tests/support/cli_support.hpp

// Runs `python3 SCRIPT ARGS...` (script relative to tests/stats); returns the exit code.
inline int run_python(const std::string& script, const std::string& args) {
  std::string cmd = std::string(SPECTRA_PYTHON) + " " + SPECTRA_STATS_TEST_DIR + "/" + script + " " + args;
  return std::system(cmd.c_str());
}

inline std::string read_text(const std::filesystem::path& p) { return test_support::read_file(p); }

}  // namespace spectra::test
