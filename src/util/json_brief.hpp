#pragma once
// A JSON value as short text for error messages. nlohmann's dump() recurses
// once per nesting level and copies everything, so a hostile file (a
// safetensors header or config.json of "[[[[..." ) would overflow the stack
// or flood the message; brief_json() shows at most 2 levels, 8 elements per
// container and 80 characters per string.
#include <string>

#include <nlohmann/json.hpp>

namespace spectra {

inline std::string brief_json(const nlohmann::json& v, int depth = 2) {
  constexpr size_t kItems = 8, kChars = 80;
  if (v.is_array() || v.is_object()) {
    const bool arr = v.is_array();
    if (v.empty()) return arr ? "[]" : "{}";
    if (depth <= 0) return arr ? "[...]" : "{...}";
    std::string out(1, arr ? '[' : '{');
    size_t i = 0;
    for (auto it = v.begin(); it != v.end(); ++it, ++i) {
      if (i == kItems) {
        out += ", ...";
        break;
      }
      if (i) out += ", ";
      if (!arr) out += brief_json(nlohmann::json(it.key()), 0) + ": ";
      out += brief_json(*it, depth - 1);
    }
    return out + (arr ? ']' : '}');
  }
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > kChars) s = s.substr(0, kChars) + "...";
  return s;
}

}  // namespace spectra
