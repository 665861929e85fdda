#pragma once
// Helpers for the study tests: a fake tokenizer (one token per byte + BOS),
// plus the shared helpers of tests/support/ (temp folders, files, running spectra).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "tokenizer/tokenizer.hpp"

namespace spectra::study_test {

// Temp folders, file I/O and running spectra: the shared test helpers.
using test_support::fresh_dir;
using test_support::read_file;
using test_support::write_file;

// Byte tokenizer: id = byte + 3, BOS = 1, EOS = 2.
class ByteTokenizer : public Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override {
    std::vector<int32_t> ids;
    if (add_bos) ids.push_back(1);
    for (unsigned char c : text) ids.push_back(static_cast<int32_t>(c) + 3);
    return ids;
  }
  std::string decode(const std::vector<int32_t>& ids) const override {
    std::string s;
    for (int32_t id : ids)
      if (id >= 3) s += static_cast<char>(id - 3);
    return s;
  }
  std::string token_text(int32_t id) const override { return decode({id}); }
  int vocab_size() const override { return 259; }
  int bos_id() const override { return 1; }
  int eos_id() const override { return 2; }
  bool add_bos_default() const override { return true; }
  std::string kind() const override { return "bytes"; }
};

using test_support::CmdResult;
using test_support::run_spectra;

}  // namespace spectra::study_test
