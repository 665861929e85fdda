#pragma once
// `spectra study`: the whole study, end to end.
//
//   1. resolve the configuration (default model, demo corpus, runs/<timestamp>),
//      open the model, cap the context at the model's maximum;
//   2. load and tokenize the corpus, cut the windows;
//   3. create RUN_DIR (never overwriting a non-empty folder without force),
//      write config.toml (the effective configuration);
//   4. run every window through the instrumented forward pass, streaming the
//      tuples to RUN_DIR/tuples.npy (or .csv) window by window: memory does
//      not grow with the corpus;
//   5. analyse the tuples (stats::analyze_tuples) and write heads.csv,
//      layers.csv, docs.csv and decision.json (with per-window source,
//      tokens and perplexity);
//   6. write summary.json: decision, criteria and counts (from the
//      statistics), the documents, provenance (model files and hashes, tool
//      version and git commit, CPU), precision, threads and timings;
//   7. write the report (figures, report.md, report.html) unless disabled.
// Every file is written atomically; RUN_DIR/INCOMPLETE exists until the end
// and, after an interruption (SIGINT/SIGTERM) or an error, says what happened;
// summary.json exists only when the measurement and analysis completed.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "study/progress.hpp"
#include "study/study_config.hpp"

namespace spectra::study {

struct StudyRunOptions {
  bool force = false;        // replace an existing run folder
  bool report = true;        // write figures and report.md / report.html
  bool dry_run = false;      // resolve, load the corpus and plan the windows; write nothing
  ProgressStyle progress = ProgressStyle::Auto;
  // Messages ("study: ..."); default: stderr.
  std::function<void(const std::string&)> log;
  // Test hook: called after window i has been measured.
  std::function<void(int)> after_window;
};

struct StudyOutcome {
  std::string run_dir;
  StudyConfig config;  // effective
  std::string decision;  // "GO" / "NO-GO" / "INCONCLUSIVE" (empty for a dry run)
  size_t heads = 0, heads_passing = 0, required_heads = 0;
  size_t documents = 0, windows = 0;
  int64_t tokens = 0;
  uint64_t rows = 0;
  std::vector<std::string> warnings;
  bool report_written = false;
};

// The defaults filled in: model, corpus and out as absolute paths (the
// default model / demo corpus looked up as study_paths.hpp describes).
StudyConfig resolve_defaults(const StudyConfig& cfg);

// Runs the study. Throws spectra::Error (Interrupted on a signal) after
// marking RUN_DIR incomplete.
StudyOutcome run_study(const StudyConfig& cfg, const StudyRunOptions& options);

}  // namespace spectra::study
