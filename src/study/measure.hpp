#pragma once
// Stage 2 of a study: measure windows. Takes the windows of `todo` one at a
// time from the process group (dynamic assignment over MPI ranks; in order in
// a single process), runs each through the instrumented forward pass into its
// own tuple file and commits its journal entry (window_store.hpp). The engine
// is built on the first window this process gets.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "study/process_group.hpp"
#include "study/progress.hpp"
#include "study/study_plan.hpp"
#include "study/window_store.hpp"

namespace spectra::study {

struct MeasureOptions {
  ProgressStyle progress = ProgressStyle::Auto;
  LogFn log;
  nlohmann::ordered_json process;         // who measures: mode, rank/shard, host, pid (goes into each entry)
  std::function<void(int)> after_window;  // test hook: after window w is committed
};

struct MeasureResult {
  std::vector<int> windows;  // measured by this process, in the order taken
  double seconds = 0, engine_setup = 0;
};

MeasureResult measure_windows(const StudyPlan& plan, const std::vector<int>& todo, const WindowStore& store,
                              ProcessGroup& group, const MeasureOptions& options);

}  // namespace spectra::study
