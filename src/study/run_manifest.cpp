// The run folder's manifest (study.json): creation, race-free claiming by
// concurrent shards, and verification on join and resume (see run_manifest.hpp).
#include "study/run_manifest.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/weights_mode.hpp"
#include "spectra_version.hpp"
#include "study/provenance.hpp"
#include "study/run_folder.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace spectra::study {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) fail_file(p.string(), "cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string config_text(const StudyConfig& c) {
  return to_toml(c, {"Effective configuration of this study, written by spectra " + std::string(kVersion) +
                         " (commit " + kGitCommit + ") on " + utc_now_iso() + ".",
                     "Resume after an interruption: spectra study --resume RUN_FOLDER",
                     "Re-run: spectra study --config config.toml --out NEW_FOLDER",
                     "Re-analyse: spectra analyze RUN_FOLDER (reads [analysis] and [criteria])"});
}

json manifest_json(const StudyPlan& plan, const json& fp, const std::string& plan_id) {
  return {{"format", "spectra-run/1"},
          {"created", utc_now_iso()},
          {"tool", tool_provenance()},
          {"plan_id", plan_id},
          {"windows", plan.window_count()},
          {"weights", {{"requested", plan.config.weights},
                       {"resolved", engine::to_string(plan.weights.mode)},
                       {"reason", plan.weights.reason}}},
          {"fingerprint", fp}};
}

// Writes study.json so that it appears complete or not at all, and only if
// absent: a finished temporary is link()ed into place. False if it existed.
bool claim_manifest(const fs::path& path, const std::string& text) {
  const std::string tmp = path.string() + ".partial." + std::to_string(::getpid());
  {
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail_file(tmp, std::string("cannot create: ") + std::strerror(errno));
    size_t off = 0;
    while (off < text.size()) {
      ssize_t n = ::write(fd, text.data() + off, text.size() - off);
      if (n <= 0) {
        ::close(fd);
        ::unlink(tmp.c_str());
        fail_file(tmp, "write failed (disk full?)");
      }
      off += static_cast<size_t>(n);
    }
    ::fsync(fd);
    ::close(fd);
  }
  int rc = ::link(tmp.c_str(), path.c_str());
  int err = errno;
  ::unlink(tmp.c_str());
  if (rc == 0) return true;
  if (err == EEXIST) return false;
  fail_file(path.string(), std::string("cannot create: ") + std::strerror(err));
}

// Only temporaries (*.partial.*) in the folder: nothing of anyone's results.
bool holds_only_temporaries(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().find(".partial.") == std::string::npos) return false;
  return true;
}

void verify(const fs::path& run, const json& saved, const json& fp, JoinMode mode, const LogFn& warn) {
  auto diffs = fingerprint_differences(saved.value("fingerprint", json::object()), fp);
  if (!diffs.empty()) {
    std::string msg = (run / kManifestFile).string() + ": this run folder holds a study with a different ";
    msg += "model, corpus or configuration; ";
    msg += mode == JoinMode::Resume ? "resuming" : "joining it";
    msg += " would mix the results of two studies. What changed:";
    for (const auto& d : diffs) msg += "\n  - " + d;
    msg += mode == JoinMode::Resume ? "\nStart a new study instead (spectra study --config " +
                                          (run / "config.toml").string() + " --out NEW_FOLDER)."
                                    : "\nEvery shard and rank must use the same configuration, model and corpus.";
    throw Error(msg);
  }
  const auto& tool = saved.value("tool", json::object());
  if (tool.value("git_commit", "") != kGitCommit || tool.value("version", "") != kVersion)
    warn("the run folder was started by spectra " + tool.value("version", "?") + " (commit " +
         tool.value("git_commit", "?") + "); this is " + kVersion + " (commit " + kGitCommit +
         "): windows measured by both are mixed");
}

json read_manifest(const fs::path& p) {
  try {
    return json::parse(read_text(p));
  } catch (const json::exception& e) {
    fail_file(p.string(), std::string("not valid JSON: ") + e.what());
  }
}

}  // namespace

std::string saved_weights_mode(const std::string& run_dir) {
  const fs::path p = fs::path(run_dir) / kManifestFile;
  std::error_code ec;
  if (!fs::exists(p, ec)) return "";
  try {
    const json m = json::parse(read_text(p));
    const json& fp = m.at("fingerprint");
    const std::string w = fp.is_object() && fp.contains("weights") && fp["weights"].is_string()
                              ? fp["weights"].get<std::string>()
                              : "streaming";
    return w == "resident" ? "resident" : "streaming";
  } catch (const std::exception&) {
    return "";  // unreadable: open_run_folder reports it
  }
}

StudyConfig load_saved_config(const std::string& run_dir) {
  fs::path run(run_dir);
  std::error_code ec;
  if (!fs::is_directory(run, ec)) fail_file(run_dir, "--resume: not a folder");
  if (!fs::exists(run / "config.toml", ec)) {
    // A process killed between claiming the folder and writing config.toml:
    // study.json holds the configuration too.
    if (!fs::exists(run / kManifestFile, ec))
      fail_file(run_dir, "--resume: not a resumable run folder (no config.toml)");
    const json m = read_manifest(run / kManifestFile);
    StudyConfig c = parse_study_config(m["fingerprint"].value("config", ""), (run / kManifestFile).string(), run_dir);
    c.out = fs::absolute(run, ec).lexically_normal().string();
    write_file_atomic((run / "config.toml").string(), config_text(c));
  }
  if (fs::exists(run / "summary.json", ec) && !fs::exists(run / "windows", ec) && !fs::exists(run / kManifestFile, ec))
    fail_file(run_dir, "--resume: this run folder was written by an older spectra without per-window results (no " +
                           std::string(kManifestFile) + "); it cannot be resumed");
  StudyConfig c = load_study_config((run / "config.toml").string());
  c.out = fs::absolute(run, ec).lexically_normal().string();
  return c;
}

RunManifest open_run_folder(const StudyPlan& plan, const json& fp, JoinMode mode, bool force, const LogFn& log,
                            const LogFn& warn) {
  const fs::path run(plan.config.out);
  const fs::path mpath = run / kManifestFile;
  RunManifest m;
  m.plan_id = sha256_hex(fp.dump().data(), fp.dump().size());
  m.windows = plan.window_count();
  const std::string manifest = manifest_json(plan, fp, m.plan_id).dump(2) + "\n";
  std::error_code ec;

  if (mode == JoinMode::Fresh) {
    prepare_run_folder(run.string(), force);
    write_file_atomic((run / "config.toml").string(), config_text(plan.config));
    write_file_atomic(mpath.string(), manifest);
    m.created = true;
    return m;
  }
  if (mode == JoinMode::Resume) {
    if (!fs::exists(mpath, ec)) {  // stopped before its manifest: nothing was measured under it
      log("study: " + mpath.string() + " is missing (the study stopped before its first window); writing it");
      m.created = claim_manifest(mpath, manifest);
      if (m.created) return m;
    }
    verify(run, read_manifest(mpath), fp, mode, warn);
    return m;
  }
  // Join: create the folder if needed; the first to link study.json owns it.
  fs::create_directories(run, ec);
  if (ec) fail_file(run.string(), "cannot create the output directory: " + ec.message());
  if (!fs::exists(mpath, ec)) {
    if (!holds_only_temporaries(run))
      fail_file(run.string(), is_run_folder(run.string())
                                  ? "the folder holds a study without " + std::string(kManifestFile) +
                                        " (started by an older spectra?); shards need a new --out"
                                  : "the output folder exists, is not empty and is not a Spectra run folder");
    if (claim_manifest(mpath, manifest)) {
      write_file_atomic((run / kIncompleteMarker).string(),
                        "This study is running or did not finish: summary.json is written last, and only a run "
                        "folder without this file holds complete results.\n");
      write_file_atomic((run / "config.toml").string(), config_text(plan.config));
      m.created = true;
      return m;
    }
  }
  verify(run, read_manifest(mpath), fp, mode, warn);
  return m;
}

}  // namespace spectra::study
