#pragma once
// Reads llama.cpp's tokenizer test vectors (ggml-vocab-*.gguf.inp/.out) the way
// its test-tokenizer-0 does: inputs separated by "\n__ggml_vocab_test__\n",
// one line of space-separated expected ids per input.
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace spectra::test {

struct VectorCase {
  std::string text;
  std::vector<int32_t> ids;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<std::string> split_inputs(const std::string& raw) {
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < raw.size()) {
    const size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      out.push_back(raw.substr(pos));
      break;
    }
    out.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  return out;
}

inline std::vector<int32_t> parse_ids(const std::string& line) {
  std::vector<int32_t> ids;
  std::istringstream ss(line);
  int64_t v;
  while (ss >> v) ids.push_back(static_cast<int32_t>(v));
  return ids;
}

inline std::vector<VectorCase> read_vectors(const std::string& gguf_path) {
  const auto inputs = split_inputs(slurp(gguf_path + ".inp"));
  std::istringstream out(slurp(gguf_path + ".out"));
  std::vector<VectorCase> cases;
  std::string line;
  for (const auto& text : inputs) {
    if (!std::getline(out, line)) throw std::runtime_error(gguf_path + ".out has fewer lines than inputs");
    cases.push_back({text, parse_ids(line)});
  }
  if (std::getline(out, line) && !line.empty()) throw std::runtime_error(gguf_path + ".out has more lines than inputs");
  return cases;
}

inline std::string ids_to_string(const std::vector<int32_t>& ids) {
  std::string s;
  for (auto id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
  return s;
}

}  // namespace spectra::test
