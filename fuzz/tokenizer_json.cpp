// Target `tokenizer_json`: an HF tokenizer folder. The data up to the first
// NUL byte is tokenizer.json, the rest (if there is a NUL) tokenizer_config.json.
// A loaded tokenizer encodes and decodes a short text.
#include <algorithm>

#include "targets.hpp"
#include "tokenizer/tokenizer.hpp"

namespace spectra::fuzz {

void tokenizer_json(Bytes data) {
  const auto nul = std::find(data.begin(), data.end(), uint8_t{0});
  scratch_file("tokenizer.json", Bytes(data.begin(), nul));
  if (nul != data.end()) scratch_file("tokenizer_config.json", Bytes(nul + 1, data.end()));
  else remove_scratch_file("tokenizer_config.json");
  const auto tok = load_tokenizer(scratch_dir());
  const auto ids = tok->encode("Hello world! 123 \xE2\x96\x81x <s> \xC3\xA9t\xC3\xA9", tok->add_bos_default());
  for (int32_t id : ids)
    if (id < 0 || id >= tok->vocab_size()) fail("id " + std::to_string(id) + " outside the vocabulary");
  tok->decode(ids);
}

}  // namespace spectra::fuzz
