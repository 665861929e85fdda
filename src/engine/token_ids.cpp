// Parsing token-id lists for --tokens / --tokens-file.
#include "engine/token_ids.hpp"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "util/error.hpp"

namespace spectra::engine {

std::vector<int32_t> parse_token_ids(const std::string& text, const std::string& source) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (std::isspace(static_cast<unsigned char>(text[i])) || text[i] == ',')) ++i;
    if (i >= text.size()) break;
    size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j])) && text[j] != ',') ++j;
    const std::string item = text.substr(i, j - i);
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (errno != 0 || end != item.c_str() + item.size() || v < 0 || v > INT32_MAX)
      fail_file(source, "item " + std::to_string(ids.size()) + " ('" + item + "') is not a token id (a non-negative integer)");
    ids.push_back(static_cast<int32_t>(v));
    i = j;
  }
  if (ids.empty()) fail_file(source, "no token ids");
  return ids;
}

std::vector<int32_t> read_token_ids_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail_file(path, "cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_token_ids(ss.str(), path);
}

}  // namespace spectra::engine
