#pragma once
// The run folder RUN_DIR of a study: creation, refusal to overwrite, and the
// INCOMPLETE marker that says a study has not (or not successfully) finished.
//
// A run folder is never silently overwritten: an existing non-empty folder is
// refused unless force is set, and even with force only a folder that is
// recognisably a Spectra run folder (it holds config.toml, summary.json or
// INCOMPLETE) is cleared; any other non-empty folder is refused.
//
// Life cycle: prepare_run_folder() creates RUN_DIR and writes INCOMPLETE
// ("running"); every result is written with AtomicFile (complete or absent);
// summary.json is written last and then INCOMPLETE is removed. An interrupted
// or failed study rewrites INCOMPLETE with the reason and leaves no
// summary.json.
#include <string>

namespace spectra::study {

inline constexpr const char* kIncompleteMarker = "INCOMPLETE";

// RUNS_ROOT/<UTC timestamp YYYYMMDD-HHMMSS>, with "-2", "-3", ... appended when
// that name is taken.
std::string default_run_dir(const std::string& runs_root);

// Create (or, with force, clear) RUN_DIR as described above, then write the
// INCOMPLETE marker. Throws spectra::Error with the reason on refusal.
void prepare_run_folder(const std::string& run_dir, bool force);

// True if DIR looks like a Spectra run folder.
bool is_run_folder(const std::string& dir);

// Rewrite the INCOMPLETE marker with `why` (atomically); never throws.
void mark_incomplete(const std::string& run_dir, const std::string& why) noexcept;
// Remove the marker after summary.json is in place.
void mark_complete(const std::string& run_dir);

}  // namespace spectra::study
