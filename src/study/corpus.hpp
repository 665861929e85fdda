#pragma once
// The study's corpus: documents found from the inputs, read and tokenized.
//
// Inputs are directories (searched recursively for *.txt, *.md, *.jsonl and
// *.tokens; hidden entries skipped) and files (any name: *.jsonl and *.tokens
// by extension, anything else is UTF-8 text). Documents come in sorted path
// order (byte-wise), JSONL documents in line order within their file.
//  - text: the whole file, UTF-8 (a leading BOM is dropped), tokenized with
//    the model's tokenizer, BOS per the model.
//  - .jsonl: one JSON object per non-blank line; its string field `text` is a
//    document, labelled "FILE:LINE".
//  - .tokens: whitespace-separated decimal token ids, used as given; the
//    model's BOS is prepended when the model adds one and the file does not
//    start with it.
// A document that cannot be used (invalid UTF-8, malformed JSON or ids, ids
// outside the vocabulary, no tokens) is skipped with a warning naming the file
// and byte offset. A missing input path is an error; a corpus with no usable
// document is an error.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace spectra {
class Tokenizer;
}

namespace spectra::study {

enum class SourceKind { Text, Jsonl, Tokens };

struct CorpusFile {
  std::string path;
  SourceKind kind = SourceKind::Text;
};

// The files the inputs name, in study order. Throws spectra::Error when an
// input does not exist or is neither a file nor a directory.
std::vector<CorpusFile> list_corpus_files(const std::vector<std::string>& inputs);

struct Document {
  std::string source;  // "path" or "path:LINE" for JSONL
  std::string path;
  int64_t line = 0;    // JSONL line (1-based), 0 otherwise
  SourceKind kind = SourceKind::Text;
  uint64_t bytes = 0;  // text bytes (or .tokens file bytes)
  std::vector<int32_t> tokens;
};

struct CorpusOptions {
  // Returns the model's tokenizer; called at the first text document only, so
  // a corpus of .tokens files works for a model without one. May throw.
  std::function<const Tokenizer&()> tokenizer;
  bool add_bos = true;  // the model's setting
  int bos_id = -1;      // -1: none
  int vocab_size = 0;   // ids must be in [0, vocab_size); 0: unchecked
};

struct Corpus {
  std::vector<Document> documents;
  std::vector<std::string> warnings;
  size_t files = 0;  // corpus files read
};

// Read and tokenize everything; throws spectra::Error when no document is usable.
Corpus load_corpus(const std::vector<std::string>& inputs, const CorpusOptions& options);

// Offset of the first byte that is not well-formed UTF-8 (overlongs,
// surrogates and code points above U+10FFFF are invalid), or npos.
size_t first_invalid_utf8(const std::string& text);

}  // namespace spectra::study
