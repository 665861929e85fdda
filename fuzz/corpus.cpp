// Target `corpus`: one corpus file. The first byte picks its kind (mod 3):
// 0 UTF-8 text (.txt), 1 JSON lines (.jsonl), 2 token ids (.tokens); the rest
// is its content. Text is tokenized with the built-in byte-level tokenizer.
// Every document kept must hold ids inside the vocabulary.
#include "study/corpus.hpp"
#include "targets.hpp"
#include "tokenizer/tokenizer.hpp"

namespace spectra::fuzz {

void corpus(Bytes data) {
  if (data.empty()) return;
  static const char* const kNames[] = {"doc.txt", "doc.jsonl", "doc.tokens"};
  const char* name = kNames[data[0] % 3];
  for (const char* n : kNames)
    if (n != name) remove_scratch_file(n);
  const std::string path = scratch_file(name, data.subspan(1));
  const Tokenizer& tok = builtin_byte_level();
  study::CorpusOptions opt;
  opt.tokenizer = [&tok]() -> const Tokenizer& { return tok; };
  opt.add_bos = true;
  opt.bos_id = tok.bos_id();
  opt.vocab_size = tok.vocab_size();
  const study::Corpus c = study::load_corpus({path}, opt);
  for (const auto& d : c.documents) {
    if (d.tokens.empty()) fail(d.source + ": document without tokens kept");
    for (int32_t id : d.tokens)
      if (id < 0 || id >= opt.vocab_size) fail(d.source + ": id " + std::to_string(id) + " outside the vocabulary");
  }
}

}  // namespace spectra::fuzz
