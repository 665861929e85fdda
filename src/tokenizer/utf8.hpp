#pragma once
// UTF-8 helpers for the tokenizers: strict validation (reporting the byte
// offset of the first bad byte), sequence lengths and code point encoding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace spectra::utf8 {

inline constexpr size_t kValid = static_cast<size_t>(-1);

// Offset of the first byte that does not start a well-formed UTF-8 sequence
// (overlong forms, surrogates and code points above U+10FFFF are invalid), or
// kValid when the whole text is well-formed.
size_t first_invalid_offset(std::string_view text);

// Length of the sequence introduced by a lead byte (1 for invalid leads).
inline int sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

// Decodes the code point starting at text[pos] (text must be valid UTF-8).
uint32_t decode_at(std::string_view text, size_t pos);

void append(std::string& out, uint32_t cpt);
inline std::string encode(uint32_t cpt) {
  std::string s;
  append(s, cpt);
  return s;
}

}  // namespace spectra::utf8
