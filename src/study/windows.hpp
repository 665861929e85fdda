#pragma once
// Windows: the token sequences the forward pass sees, cut from documents.
//  - "first": a document's first `context` tokens (BOS included).
//  - "all": every non-overlapping window. When the model adds a BOS, every
//    window starts with it: the document's tokens after its BOS are cut into
//    chunks of context-1 and BOS is prepended to each; a trailing remainder
//    shorter than a full window is dropped (when the document already gave a
//    full window; a document shorter than one window gives one short window).
// A short window (fewer than `context` tokens) is used with a warning, or
// skipped with a warning when shorter than min_tokens. A window too short for
// the statistics (fewer than min_positions tokens) is always skipped.
// Window i is "doc" i in the tuple file and in docs.csv.
#include <cstdint>
#include <string>
#include <vector>

#include "study/corpus.hpp"
#include "study/study_config.hpp"

namespace spectra::study {

struct Window {
  int document = 0;       // index into Corpus::documents
  int index = 0;          // window number within the document (0 for "first")
  int64_t start = 0;      // offset in the document's tokens of the first token taken from it (a BOS the
                          // windowing prepends is not taken from the document)
  std::string source;     // document source, plus "#wN" for N > 0 ("all" mode)
  std::vector<int32_t> tokens;
};

struct WindowOptions {
  int context = 4096;
  WindowMode mode = WindowMode::First;
  int min_tokens = 0;      // skip shorter windows
  int min_positions = 3;   // the statistics need at least this many tokens
  int bos_id = -1;         // >= 0: prepend to every window after the first ("all")
};

struct WindowPlan {
  std::vector<Window> windows;
  std::vector<std::string> warnings;
  int64_t total_tokens = 0;
};

// Throws spectra::Error when no window remains.
WindowPlan make_windows(const std::vector<Document>& docs, const WindowOptions& options);

}  // namespace spectra::study
