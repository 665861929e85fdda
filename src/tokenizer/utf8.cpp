// Strict UTF-8 validation and code point encoding/decoding.
#include "tokenizer/utf8.hpp"

namespace spectra::utf8 {

size_t first_invalid_offset(std::string_view text) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const uint8_t b = s[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    int len = 0;
    uint32_t cpt = 0, min = 0;
    if ((b & 0xE0) == 0xC0) { len = 2; cpt = b & 0x1F; min = 0x80; }
    else if ((b & 0xF0) == 0xE0) { len = 3; cpt = b & 0x0F; min = 0x800; }
    else if ((b & 0xF8) == 0xF0) { len = 4; cpt = b & 0x07; min = 0x10000; }
    else return i;  // continuation byte or 0xF8..0xFF as a lead
    if (i + len > n) return i;
    for (int k = 1; k < len; ++k) {
      const uint8_t c = s[i + k];
      if ((c & 0xC0) != 0x80) return i;
      cpt = (cpt << 6) | (c & 0x3F);
    }
    if (cpt < min || cpt > 0x10FFFF || (cpt >= 0xD800 && cpt <= 0xDFFF)) return i;
    i += len;
  }
  return kValid;
}

uint32_t decode_at(std::string_view text, size_t pos) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data()) + pos;
  const int len = sequence_length(s[0]);
  if (len == 1 || pos + len > text.size()) return s[0];
  uint32_t cpt = s[0] & (0x7F >> len);
  for (int k = 1; k < len; ++k) cpt = (cpt << 6) | (s[k] & 0x3F);
  return cpt;
}

void append(std::string& out, uint32_t cpt) {
  if (cpt < 0x80) {
    out += static_cast<char>(cpt);
  } else if (cpt < 0x800) {
    out += static_cast<char>(0xC0 | (cpt >> 6));
    out += static_cast<char>(0x80 | (cpt & 0x3F));
  } else if (cpt < 0x10000) {
    out += static_cast<char>(0xE0 | (cpt >> 12));
    out += static_cast<char>(0x80 | ((cpt >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cpt & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cpt >> 18));
    out += static_cast<char>(0x80 | ((cpt >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cpt >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cpt & 0x3F));
  }
}

}  // namespace spectra::utf8
