#pragma once
// GPT-2's reversible byte <-> printable-unicode alphabet used by byte-level BPE:
// printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in
// byte order. Token strings in byte-level vocabularies are written in it.
#include <cstdint>
#include <string>
#include <string_view>

namespace spectra::unicode_bytes {

// The alphabet character (UTF-8) standing for byte b.
const std::string& char_for_byte(uint8_t b);
// The byte an alphabet code point stands for, or -1 if it is not in the alphabet.
int byte_for_char(uint32_t cpt);
// Maps every byte of raw text to its alphabet character.
std::string encode(std::string_view raw);
// Inverse of encode; code points outside the alphabet are copied as UTF-8.
std::string decode(std::string_view mapped);

}  // namespace spectra::unicode_bytes
