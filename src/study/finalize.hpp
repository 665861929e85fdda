#pragma once
// Stages 3 and 4 of a study, once every window is done: assemble the tuple
// table (RUN_DIR/tuples.npy or .csv, in window order, checksums verified),
// analyse it (stats::analyze_tuples, stats::write_analysis), write
// summary.json (the statistics' decision block, counts, model, provenance,
// the documents and the processes that measured them, timings) and the report.
// The caller holds the run folder's finalisation lock.
#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "study/study_plan.hpp"
#include "study/window_store.hpp"

namespace spectra::study {

struct FinalizeInput {
  const StudyPlan* plan = nullptr;
  const WindowStore* store = nullptr;
  nlohmann::ordered_json fingerprint;
  nlohmann::ordered_json this_run;   // mode and process count of the run that finishes
  nlohmann::ordered_json timings;    // this process's stage timings so far (seconds)
  std::string started;               // ISO time this process started
  std::chrono::steady_clock::time_point t_start = std::chrono::steady_clock::now();
  std::vector<std::string> warnings;
  bool report = true;
  LogFn log, warn;
};

struct FinalizeResult {
  std::string decision;
  size_t heads = 0, heads_passing = 0, required_heads = 0;
  uint64_t rows = 0;
  bool report_written = false;
};

FinalizeResult finalize_study(const FinalizeInput& in);

}  // namespace spectra::study
