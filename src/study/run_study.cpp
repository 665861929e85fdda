// The study orchestrator: plan -> open the run folder -> measure -> (when every
// window is done) analyse and report, for fresh, resumed, sharded and MPI runs
// alike (see run_study.hpp).
#include "study/run_study.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "study/finalize.hpp"
#include "study/interrupt.hpp"
#include "study/measure.hpp"
#include "study/provenance.hpp"
#include "study/run_folder.hpp"
#include "study/run_manifest.hpp"
#include "study/window_store.hpp"
#include "util/error.hpp"

namespace spectra::study {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

using Clock = std::chrono::steady_clock;

std::string host_name() {
  char host[256] = {0};
  return ::gethostname(host, sizeof host - 1) == 0 ? host : "";
}

bool is_complete(const fs::path& run) {
  std::error_code ec;
  return fs::exists(run / "summary.json", ec) && !fs::exists(run / kIncompleteMarker, ec);
}

// The run folder's finalisation lock (flock: released when the process dies).
class FolderLock {
 public:
  FolderLock(const fs::path& run, bool wait) {
    const std::string p = (run / ".lock").string();
    fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail_file(p, "cannot open the run folder's lock file");
    held_ = ::flock(fd_, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0;
  }
  ~FolderLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  bool held() const { return held_; }

 private:
  int fd_ = -1;
  bool held_ = false;
};

// INCOMPLETE says why this process stopped, unless another process completed
// the study meanwhile (under the lock, so that a failing shard never marks a
// study that another shard is completing).
void note_incomplete(const fs::path& run, const std::string& why) noexcept {
  try {
    FolderLock lock(run, true);
    if (is_complete(run)) return;
    mark_incomplete(run.string(), why);
  } catch (...) {
    mark_incomplete(run.string(), why);
  }
}

std::string window_label(const StudyPlan& plan, int w) {
  return "window " + std::to_string(w) + " (" + plan.windows.windows[w].source + ")";
}

// "windows 0-3, 7, 9-12"
std::string window_ranges(const std::vector<int>& ws) {
  std::string s = ws.size() == 1 ? "window " : "windows ";
  for (size_t i = 0; i < ws.size();) {
    size_t j = i;
    while (j + 1 < ws.size() && ws[j + 1] == ws[j] + 1) ++j;
    s += (i ? ", " : "") + std::to_string(ws[i]) + (j > i ? "-" + std::to_string(ws[j]) : "");
    i = j + 1;
  }
  return s;
}

// The windows this run (or this shard) measures. A fresh run: all. A resume
// or a shard: those not done, finished ones verified by checksum (a shard
// verifies only its own), saying which are measured again and why.
std::vector<int> windows_to_measure(const StudyPlan& plan, const WindowStore& store, JoinMode mode, int shard,
                                    int shards, const LogFn& log) {
  std::vector<int> todo, fresh;
  if (mode == JoinMode::Fresh) {
    for (int w = 0; w < plan.window_count(); ++w) todo.push_back(w);
    return todo;
  }
  int done = 0;
  for (int w = 0; w < plan.window_count(); ++w) {
    const bool mine = shard < 0 || w % shards == shard;
    const WindowCheck chk = store.check(w, mine);
    if (chk.done) {
      ++done;
    } else if (mine) {
      todo.push_back(w);
      if (chk.why == kNotMeasured) fresh.push_back(w);  // listed compactly below
      else log("study: " + window_label(plan, w) + " to measure again: " + chk.why);
    }
  }
  if (!fresh.empty()) log("study: not measured yet: " + window_ranges(fresh));
  log("study: " + std::to_string(done) + " of " + std::to_string(plan.window_count()) +
      " windows already done (checksums verified); " + std::to_string(todo.size()) + " to measure" +
      (shard >= 0 ? " in shard " + std::to_string(shard) + "/" + std::to_string(shards) : ""));
  return todo;
}

}  // namespace

std::pair<int, int> parse_shard(const std::string& text) {
  int i = -1, n = 0;
  char extra;
  if (std::sscanf(text.c_str(), "%d/%d%c", &i, &n, &extra) != 2 || n < 1 || i < 0 || i >= n)
    throw Error("--shard: expected i/N with 0 <= i < N (e.g. 0/3), got '" + text + "'");
  return {i, n};
}

StudyOutcome run_study(const StudyConfig& cfg_in, const StudyRunOptions& opt) {
  const auto t_start = Clock::now();
  const std::string started = utc_now_iso();
  ProcessGroup single;
  ProcessGroup& group = opt.group ? *opt.group : single;
  const bool root = group.rank() == 0;
  auto log_out = opt.log ? opt.log : [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
  const std::string prefix = group.distributed() ? "[rank " + std::to_string(group.rank()) + "] " : "";
  LogFn log = [&](const std::string& s) {
    if (root || s.rfind("study: warning", 0) != 0) log_out(prefix + s);
  };
  StudyOutcome out;
  LogFn warn = [&](const std::string& w) {
    out.warnings.push_back(w);
    if (root) log_out("study: warning: " + w);
  };
  if (opt.shard >= 0 && group.distributed()) throw Error("--shard cannot be combined with an MPI launch");
  if (opt.shard >= 0 && opt.force) throw Error("--force cannot be combined with --shard (it would delete other shards' results)");
  if (opt.resume && opt.force) throw Error("--force cannot be combined with --resume");

  // 1. Plan.
  StudyPlan plan = plan_study(cfg_in, root ? log : LogFn([](const std::string&) {}), warn);
  const StudyConfig& c = plan.config;
  out.config = c;
  out.run_dir = c.out;
  out.documents = plan.corpus.documents.size();
  out.windows = plan.windows.windows.size();
  out.tokens = plan.windows.total_tokens;
  const fs::path run(c.out);
  const JoinMode mode = opt.resume ? JoinMode::Resume : opt.shard >= 0 ? JoinMode::Join : JoinMode::Fresh;
  // The weights mode, resolved once (rank 0) and part of the fingerprint.
  if (root) {
    const std::string saved = mode == JoinMode::Fresh ? "" : saved_weights_mode(c.out);
    plan.weights = resolve_weights(plan, saved, c.weights == "auto" ? engine::read_meminfo() : engine::MemInfo{});
  }
  if (group.distributed() && !opt.dry_run) {
    const json w = json::parse(group.broadcast(json({{"mode", engine::to_string(plan.weights.mode)},
                                                     {"reason", plan.weights.reason}}).dump()));
    plan.weights.mode = engine::parse_weights_mode(w.value("mode", ""), "weights");
    plan.weights.reason = w.value("reason", "") + (root ? "" : " (rank 0's decision)");
  }
  if (root)
    log("study: weights " + std::string(engine::to_string(plan.weights.mode)) + ": " + plan.weights.reason);
  if (opt.dry_run) return out;
  const json fingerprint = plan_fingerprint(plan);

  // The run folder: rank 0 (or the only process) opens it; other ranks join after it.
  RunManifest manifest;
  std::string opened_error;
  if (root) {
    try {
      manifest = open_run_folder(plan, fingerprint, mode, opt.force, log, warn);
    } catch (const std::exception& e) {
      opened_error = e.what();
    }
  }
  if (group.distributed()) {
    const std::string status = group.broadcast(opened_error.empty() ? "ok" : "error");
    if (status != "ok") {
      if (root) throw Error(opened_error);
      out.status = "rank 0 could not open the run folder";
      return out;
    }
    if (!root) manifest = open_run_folder(plan, fingerprint, JoinMode::Join, false, log, warn);
  } else if (!opened_error.empty()) {
    throw Error(opened_error);
  }
  if (root) log("study: run folder " + c.out);

  if (mode != JoinMode::Fresh && is_complete(run)) {
    if (root) out.status = "the study in " + c.out + " is complete; nothing to do";
    if (root) log("study: " + out.status);
    std::error_code ec;
    if (root && fs::exists(run / "windows", ec))  // killed between completing and tidying up
      WindowStore(c.out, manifest.plan_id, plan.window_count()).remove_tuple_files();
    if (group.distributed()) group.barrier();
    return out;
  }

  WindowStore store(c.out, manifest.plan_id, plan.window_count());
  json process = {{"mode", group.distributed() ? "mpi" : opt.shard >= 0 ? "shard" : "single"}};
  if (group.distributed()) process["rank"] = group.rank(), process["size"] = group.size();
  if (opt.shard >= 0) process["shard"] = opt.shard, process["shards"] = opt.shards;
  process["host"] = host_name();
  process["pid"] = static_cast<int64_t>(::getpid());
  json this_run = {{"mode", process["mode"]}, {"processes", opt.shard >= 0 ? opt.shards : group.size()}};

  MeasureResult measured;
  try {
    InterruptGuard guard;
    // 2. Measure: which windows, and why.
    std::vector<int> todo;
    if (root) {
      store.make_folders();
      todo = windows_to_measure(plan, store, mode, opt.shard, opt.shards, log);
    }
    if (group.distributed()) {
      json t = todo;
      todo = json::parse(group.broadcast(t.dump())).get<std::vector<int>>();
    }
    MeasureOptions mo;
    mo.progress = opt.progress;
    mo.log = log;
    mo.process = process;
    mo.after_window = opt.after_window;
    measured = measure_windows(plan, todo, store, group, mo);
    out.measured = static_cast<int>(measured.windows.size());
    if (group.distributed()) {
      log("study: measured " + std::to_string(out.measured) + " windows");
      group.barrier();
      group.finish();
      if (!root) {
        out.status = "rank " + std::to_string(group.rank()) + " measured " + std::to_string(out.measured) + " windows";
        return out;
      }
    }

    // 3-4. Analyse and report, once every window is done, by one process.
    auto missing = store.pending(false);
    if (!missing.empty()) {
      out.status = "measured " + std::to_string(out.measured) + " windows; " + std::to_string(missing.size()) + " of " +
                   std::to_string(plan.window_count()) +
                   " windows are not done yet: the last shard to finish, or spectra study --resume " + c.out +
                   ", analyses";
      log("study: " + out.status);
      return out;
    }
    FolderLock lock(run, opt.shard < 0);
    if (!lock.held()) {
      out.status = "another process is analysing " + c.out;
      log("study: " + out.status);
      return out;
    }
    if (is_complete(run)) {
      out.status = "another process completed the study in " + c.out;
      log("study: " + out.status);
      return out;
    }
    FinalizeInput fin;
    fin.plan = &plan;
    fin.store = &store;
    fin.fingerprint = fingerprint;
    fin.this_run = this_run;
    fin.timings = {{"open_model", plan.seconds_open_model},
                   {"corpus", plan.seconds_corpus},
                   {"engine_setup", measured.engine_setup},
                   {"measure_wall", measured.seconds}};
    fin.started = started;
    fin.t_start = t_start;
    fin.warnings = out.warnings;
    fin.report = opt.report;
    fin.log = log;
    fin.warn = warn;
    FinalizeResult r = finalize_study(fin);
    out.decision = r.decision;
    out.heads = r.heads;
    out.heads_passing = r.heads_passing;
    out.required_heads = r.required_heads;
    out.rows = r.rows;
    out.report_written = r.report_written;
    mark_complete(c.out);
    store.remove_tuple_files();
  } catch (const Interrupted& e) {
    const int done = plan.window_count() - static_cast<int>(store.pending(false).size());
    note_incomplete(run, std::string(e.what()) + " after " + std::to_string(done) + " of " +
                               std::to_string(plan.window_count()) + " windows (" + utc_now_iso() +
                               "); resume with: spectra study --resume " + c.out);
    throw;
  } catch (const std::exception& e) {
    note_incomplete(run, std::string("failed: ") + e.what() + " (" + utc_now_iso() +
                               "); resume with: spectra study --resume " + c.out);
    throw;
  }
  return out;
}

}  // namespace spectra::study
