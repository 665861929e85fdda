#pragma once
// `spectra study`: the whole study, in four stages that every way of running
// it shares (a fresh run, --resume, a --shard, an MPI rank):
//
//   1. plan     (study_plan.hpp): configuration, model, corpus, windows, and
//               the plan's fingerprint;
//   2. measure  (measure.hpp): the windows this process gets, each into its
//               own tuple file with a checksummed journal entry
//               (window_store.hpp), in RUN_DIR opened by run_manifest.hpp;
//   3. analyse  (finalize.hpp): once every window is done, the tuple table in
//               window order, the statistics and tables;
//   4. report   (finalize.hpp): summary.json, figures, report.md/.html.
//
// Who does what:
//  - a fresh run: creates RUN_DIR (refusing a non-empty one unless force),
//    measures every window, analyses;
//  - --resume RUN_DIR (the configuration comes from RUN_DIR/config.toml):
//    verifies the fingerprint (refusing a changed model, corpus or
//    configuration), verifies every finished window's checksum, measures the
//    missing or damaged ones (saying which and why), analyses;
//  - --shard i/N: joins or creates RUN_DIR (race-free), measures the windows
//    w with w % N == i that are not done yet; the process that finds every
//    window done takes the folder's lock (flock on RUN_DIR/.lock) and analyses;
//  - MPI ranks: rank 0 opens RUN_DIR (fresh or resumed) and broadcasts the
//    windows to measure; all ranks take them dynamically; after a barrier
//    rank 0 analyses.
// The weights mode (config `weights`) is resolved before the fingerprint, by
// rank 0 (broadcast to the other ranks): "auto" keeps what an existing run
// folder's study.json records (resume, join), else applies the Auto rule
// (engine/weights_mode.hpp) to this machine's MemAvailable; see study_plan.hpp.
// Every file is written atomically; RUN_DIR/INCOMPLETE exists until the end
// and says what happened after an interruption or error; summary.json exists
// only when the study completed. Resumed, sharded and distributed runs give
// tables byte-identical to an uninterrupted single-process run.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "study/process_group.hpp"
#include "study/progress.hpp"
#include "study/study_config.hpp"
#include "study/study_plan.hpp"

namespace spectra::study {

struct StudyRunOptions {
  bool force = false;        // replace an existing run folder
  bool report = true;        // write figures and report.md / report.html
  bool dry_run = false;      // resolve, load the corpus and plan the windows; write nothing
  bool resume = false;       // continue the study in cfg.out (cfg is its saved configuration)
  int shard = -1, shards = 0;  // measure only windows w with w % shards == shard (shard >= 0)
  ProcessGroup* group = nullptr;  // MPI ranks; null: this process alone
  ProgressStyle progress = ProgressStyle::Auto;
  // Messages ("study: ..."); default: stderr.
  std::function<void(const std::string&)> log;
  // Test hook: called after window i has been measured.
  std::function<void(int)> after_window;
};

struct StudyOutcome {
  std::string run_dir;
  StudyConfig config;  // effective
  std::string decision;  // "GO" / "NO-GO" / "INCONCLUSIVE"; empty when this process did not analyse (dry run, shard, rank > 0)
  std::string status;    // what this process did, when it did not analyse
  size_t heads = 0, heads_passing = 0, required_heads = 0;
  size_t documents = 0, windows = 0;
  int64_t tokens = 0;
  uint64_t rows = 0;
  int measured = 0;      // windows this process measured
  std::vector<std::string> warnings;
  bool report_written = false;
};

// Runs the study. Throws spectra::Error (Interrupted on a signal) after
// marking RUN_DIR incomplete.
StudyOutcome run_study(const StudyConfig& cfg, const StudyRunOptions& options);

// "i/N" -> (i, N); throws spectra::Error naming --shard.
std::pair<int, int> parse_shard(const std::string& text);

}  // namespace spectra::study
