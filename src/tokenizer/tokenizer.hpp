#pragma once
// Text <-> token ids for the model being studied. Two families:
//  - byte-level BPE with regex pre-tokenization (GPT-2, Llama-3, SmolLM2, Qwen2, ...)
//  - SentencePiece-style BPE with byte fallback (Llama-2, TinyLlama, Mistral)
// loaded from a GGUF file's metadata or from an HF tokenizer.json.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace spectra {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Plain text -> ids. Special-token text is NOT parsed (it is ordinary text).
  // add_bos prepends the BOS id (when the vocabulary has one).
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos) const = 0;
  // Ids -> text (byte-exact for byte-level BPE; SentencePiece drops the leading space of the first piece).
  // Control tokens (BOS/EOS, <|im_end|>, ...) decode to their own text. Ids outside the vocabulary throw.
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  // The surface text of one token (for display): its decoded bytes, which for
  // byte-level BPE may be a partial UTF-8 sequence.
  virtual std::string token_text(int32_t id) const = 0;
  virtual int vocab_size() const = 0;
  virtual int bos_id() const = 0;           // -1 if none
  virtual int eos_id() const = 0;           // -1 if none
  virtual bool add_bos_default() const = 0; // the model's own setting
  virtual std::string kind() const = 0;     // e.g. "bpe(llama-bpe)", "spm"
};

// PATH: a .gguf file (embedded vocabulary, vocab-only files included) or an HF
// model folder holding tokenizer.json (+ tokenizer_config.json). Throws
// spectra::Error naming the file and field on malformed input.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

// The ids a measurement of TEXT runs on: BOS prepended when the model asks
// for it (desc.add_bos) and the vocabulary has one. `measure`, `trace`,
// `generate` and the Python module tokenize text this way.
std::vector<int32_t> encode_for_model(const Tokenizer& tok, bool model_adds_bos, std::string_view text);

// Throws spectra::Error "SOURCE: at offset N: invalid UTF-8 ..." at the first
// malformed byte. encode() runs it on its input (SOURCE "input text"); callers
// reading files run it first to get the file name into the message.
void check_utf8(std::string_view text, const std::string& source);

}  // namespace spectra
