#pragma once
// Per-window results of a study, the unit of resumption and distribution.
//
//   RUN_DIR/windows/000012.npy   window 12's tuples (doc = 12), npy as in
//                                observers/tuple_file.hpp
//   RUN_DIR/journal/000012.json  its journal entry: plan id, source, tokens,
//                                rows, bytes and SHA-256 of the tuple file,
//                                mean NLL and perplexity, who measured it
//                                (mode, rank or shard, host, pid), when and how
//                                long
//
// A window is written in two atomic steps (temporary + fsync + rename): first
// its tuple file, then its journal entry. A window is done when its entry
// exists, carries this study's plan id, and its tuple file has the recorded
// size and (when verified) SHA-256 and is of the current tuple record version
// (observers/tuple.hpp); anything else (no entry, a tuple file without entry,
// a truncated or altered file, an entry of another plan, a tuple file of an
// older record version, e.g. left by a spectra before issue #14 when the
// study is resumed with this one) is measured again — on --resume the old
// window is re-measured, with the reason in the log, rather than refused. The journal is a folder of one file per entry, so any number
// of processes on a shared filesystem write it without appending to a common
// file.
//
// When every window is done, assemble() concatenates the tuple files in
// window order into RUN_DIR/tuples.npy (or .csv), checking each file's
// SHA-256 as it reads it: the table is byte-identical whichever process
// measured which window, and however often the study was interrupted.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "observers/tuple_file.hpp"

namespace spectra::study {

inline constexpr const char* kNotMeasured = "not measured yet";

struct WindowCheck {
  bool done = false;
  std::string why;  // when not done: "not measured yet", "checksum mismatch (...)", ...
};

class WindowStore {
 public:
  WindowStore(std::string run_dir, std::string plan_id, int windows);

  const std::string& run_dir() const { return run_dir_; }
  int windows() const { return windows_; }
  std::string tuple_path(int w) const;
  std::string entry_path(int w) const;
  void make_folders() const;

  // Check window w; with hash, the tuple file's SHA-256 is recomputed.
  WindowCheck check(int w, bool hash) const;
  // The windows not done (hash: verified by checksum), with the reason.
  std::vector<std::pair<int, std::string>> pending(bool hash) const;

  // After the tuple file of window w is in place: hash it and write its
  // journal entry (`entry` gets plan, window, rows, bytes, sha256 added).
  void commit(int w, nlohmann::ordered_json entry) const;
  // The journal entries of every window (in order); throws if one is missing.
  std::vector<nlohmann::ordered_json> entries() const;

  // Concatenate every window's tuples into `path` (format from its name);
  // `progress(w)` is called after each window. Returns the rows written.
  // Throws spectra::Error naming the window and telling to --resume when a
  // tuple file does not match its journal entry.
  uint64_t assemble(const std::string& path, TupleFormat format, const std::function<void(int)>& progress) const;

  // Remove the per-window tuple files (after a completed study: the table holds
  // them) and leftover temporaries; the journal entries stay.
  void remove_tuple_files() const;
  // Remove temporaries left by killed writers in windows/ and journal/.
  void remove_temporaries() const;

 private:
  std::string run_dir_, plan_id_;
  int windows_;
};

}  // namespace spectra::study
