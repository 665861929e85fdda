// The GPT-2 byte alphabet, built once.
#include "tokenizer/unicode_bytes.hpp"

#include <algorithm>
#include <array>

#include "tokenizer/utf8.hpp"

namespace spectra::unicode_bytes {
namespace {

struct Tables {
  std::array<std::string, 256> byte_to_char;
  std::array<int, 512> cpt_to_byte;  // every alphabet code point is < 0x144
  Tables() {
    cpt_to_byte.fill(-1);
    auto printable = [](int b) {
      return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const uint32_t cpt = printable(b) ? static_cast<uint32_t>(b) : 0x100u + next++;
      byte_to_char[b] = utf8::encode(cpt);
      cpt_to_byte[cpt] = b;
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::string& char_for_byte(uint8_t b) { return tables().byte_to_char[b]; }

int byte_for_char(uint32_t cpt) { return cpt < 512 ? tables().cpt_to_byte[cpt] : -1; }

std::string encode(std::string_view raw) {
  const auto& t = tables();
  std::string out;
  out.reserve(raw.size() * 2);
  for (char c : raw) out += t.byte_to_char[static_cast<uint8_t>(c)];
  return out;
}

std::string decode(std::string_view mapped) {
  std::string out;
  out.reserve(mapped.size());
  size_t i = 0;
  while (i < mapped.size()) {
    const int len = utf8::sequence_length(static_cast<uint8_t>(mapped[i]));
    const size_t n = std::min<size_t>(len, mapped.size() - i);
    const int b = byte_for_char(utf8::decode_at(mapped, i));
    if (b >= 0) out += static_cast<char>(b);
    else out.append(mapped.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace spectra::unicode_bytes
