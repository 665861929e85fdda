#pragma once
// Token ids given as text: "1 461 461" or "1,461,461" (whitespace and commas).
#include <cstdint>
#include <string>
#include <vector>

namespace spectra::engine {

// Throws spectra::Error naming `source` and the offending item.
std::vector<int32_t> parse_token_ids(const std::string& text, const std::string& source);
std::vector<int32_t> read_token_ids_file(const std::string& path);

}  // namespace spectra::engine
