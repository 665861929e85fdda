#pragma once
// RUN_DIR/study.json: the manifest that makes a run folder resumable and
// shareable. It holds the plan's fingerprint (study_plan.hpp), its id (the
// SHA-256 of the fingerprint; every window's journal entry carries it), the
// number of windows and the effective configuration.
//
// open_run_folder() is the one way into a run folder:
//  - Fresh: a new study. An existing non-empty folder is refused unless
//    force (run_folder.hpp); config.toml, study.json and INCOMPLETE are written.
//  - Join: a shard or an MPI rank. The first process creates the folder and
//    claims it by link()ing a finished study.json into place (atomic, fails if
//    it exists, also on NFS); every other one reads that study.json and checks
//    that its own plan has the same fingerprint. Race-free for any number of
//    concurrent processes.
//  - Resume: the folder must hold config.toml (study.json is recreated when
//    the study was stopped before writing it); the fingerprints must match.
// A mismatch throws spectra::Error listing what changed (configuration keys,
// model files, corpus files): results of two different studies are never mixed.
#include <string>

#include <nlohmann/json.hpp>

#include "study/study_plan.hpp"

namespace spectra::study {

inline constexpr const char* kManifestFile = "study.json";

enum class JoinMode { Fresh, Join, Resume };

struct RunManifest {
  std::string plan_id;
  int windows = 0;
  bool created = false;  // this process created the run folder
};

RunManifest open_run_folder(const StudyPlan& plan, const nlohmann::ordered_json& fingerprint, JoinMode mode,
                            bool force, const LogFn& log, const LogFn& warn);

// The weights mode a run folder's study.json records ("resident" or
// "streaming": its fingerprint's "weights", absent = streaming); empty when
// RUN_DIR holds no readable study.json (a fresh folder).
std::string saved_weights_mode(const std::string& run_dir);

// The configuration saved in RUN_DIR (config.toml) for --resume; throws a
// clear error when RUN_DIR is not a resumable run folder.
StudyConfig load_saved_config(const std::string& run_dir);

}  // namespace spectra::study
