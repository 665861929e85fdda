#pragma once
// Helpers for the resume, shard and MPI tests: a small token-id corpus for the
// shared stories260k model, the study's arguments, shell commands, and the
// byte-for-byte comparison of two run folders' tables.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "study_test_util.hpp"

namespace spectra::study_test {

inline const std::string kStoriesGguf = std::string(SPECTRA_SHARED_DIR) + "/models/stories260k.gguf";

// Five documents of 70..128 token ids (vocab 512): a few seconds per study.
inline std::filesystem::path make_small_corpus(const std::filesystem::path& dir) {
  std::mt19937 rng(11);
  const int lengths[5] = {100, 128, 90, 128, 70};
  for (int d = 0; d < 5; ++d) {
    std::string s = "1";
    for (int i = 1; i < lengths[d]; ++i) s += " " + std::to_string(3 + rng() % 509);
    write_file(dir / "corpus" / ("d" + std::to_string(d) + ".tokens"), s + "\n");
  }
  return dir / "corpus";
}

// `spectra study` on that corpus into OUT (one forward thread: the thread count
// is part of the configuration, since the forward pass's rounding depends on it).
inline std::string small_study_args(const std::filesystem::path& corpus, const std::filesystem::path& out,
                                    const std::string& model = kStoriesGguf) {
  return "study --model '" + model + "' --corpus '" + corpus.string() + "' --out '" + out.string() +
         "' --context 128 --permutations 10 --precision fp32 --threads 1 --no-report --progress lines";
}

// Runs a shell command; returns its exit status (128 + signal when killed) and output.
inline CmdResult run_shell(const std::string& cmd) {
  CmdResult r;
  FILE* p = ::popen(("(" + cmd + ") 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
  return r;
}

inline std::string exe() { return std::string("'") + SPECTRA_EXE + "'"; }

// The tables that must be byte-identical between two runs of one study.
inline const std::vector<std::string>& compared_tables() {
  static const std::vector<std::string> t = {"tuples.npy", "heads.csv",     "layers.csv",
                                             "docs.csv",   "head_docs.csv", "decision.json"};
  return t;
}

inline void expect_same_tables(const std::filesystem::path& a, const std::filesystem::path& b,
                               const std::string& what, const std::vector<std::string>& skip = {}) {
  for (const auto& name : compared_tables()) {
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
    ASSERT_TRUE(std::filesystem::exists(a / name)) << what << ": " << (a / name);
    ASSERT_TRUE(std::filesystem::exists(b / name)) << what << ": " << (b / name);
    EXPECT_TRUE(read_file(a / name) == read_file(b / name)) << what << ": " << name << " differs";
  }
  EXPECT_TRUE(std::filesystem::exists(b / "summary.json")) << what;
  EXPECT_FALSE(std::filesystem::exists(b / "INCOMPLETE")) << what;
  for (const auto& e : std::filesystem::recursive_directory_iterator(b))
    EXPECT_EQ(e.path().string().find(".partial"), std::string::npos) << what << ": " << e.path();
}

}  // namespace spectra::study_test
