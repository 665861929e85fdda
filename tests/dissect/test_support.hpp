#pragma once
// Shared helpers of the dissect tests: the stories260k golden and running the
// spectra executable.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <sys/wait.h>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace spectra::test {

inline const std::string kShared = SPECTRA_SHARED_DIR;
inline const std::string kHf = kShared + "/models/stories260k";
inline const std::string kGguf = kShared + "/models/stories260k.gguf";
inline const std::string kGold = kShared + "/golden/stories260k/greedy";

struct GoldenProbe {
  std::vector<int32_t> tokens;
  // q_norm[layer][head][pos], entropy[layer][head][pos]
  std::vector<std::vector<std::vector<double>>> q_norm, entropy;
};

inline const GoldenProbe& golden() {
  static GoldenProbe g = [] {
    GoldenProbe g;
    std::ifstream tf(kGold + ".tokens.txt");
    int32_t id;
    while (tf >> id) g.tokens.push_back(id);
    std::ifstream pf(kGold + ".probe.csv");
    std::string line;
    std::getline(pf, line);  // header
    while (std::getline(pf, line)) {
      std::array<double, 5> r{};
      std::stringstream ss(line);
      std::string cell;
      for (int i = 0; i < 5 && std::getline(ss, cell, ','); ++i) r[i] = std::stod(cell);
      const size_t l = static_cast<size_t>(r[0]), h = static_cast<size_t>(r[1]), t = static_cast<size_t>(r[2]);
      if (g.q_norm.size() <= l) g.q_norm.resize(l + 1), g.entropy.resize(l + 1);
      if (g.q_norm[l].size() <= h) g.q_norm[l].resize(h + 1), g.entropy[l].resize(h + 1);
      if (g.q_norm[l][h].size() <= t) g.q_norm[l][h].resize(t + 1), g.entropy[l][h].resize(t + 1);
      g.q_norm[l][h][t] = r[3];
      g.entropy[l][h][t] = r[4];
    }
    return g;
  }();
  return g;
}

inline std::string join_ids(const std::vector<int32_t>& ids, size_t n) {
  std::string s;
  for (size_t i = 0; i < n && i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  return s;
}

// Runs the spectra executable with ARGS; returns the exit status, stdout+stderr in *out.
inline int run_spectra(const std::string& args, std::string* out) {
  const std::string cmd = std::string(SPECTRA_EXE) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return -1;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  const int st = ::pclose(p);
  if (out) *out = text;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

inline std::string temp_dir(const std::string& name) {
  return std::string(SPECTRA_BINARY_DIR) + "/tests/tmp/dissect/" + name;
}

}  // namespace spectra::test
