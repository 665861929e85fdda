#pragma once
// Stage 1 of a study: the plan. The configuration with its defaults filled in,
// the model opened (memory-mapped), the corpus loaded and tokenized, and the
// windows cut. Every process of a study (a fresh run, a resumed run, a shard,
// an MPI rank) builds the same plan from the same configuration; window i of
// the plan is "doc" i in the tuples.
//
// The plan's fingerprint is what must not change while a study's windows are
// being measured (saved in RUN_DIR/study.json, compared on --resume and by
// every shard or rank that joins the run folder): the configuration (all but
// `out` and `analysis.threads`, which change no number; `threads` stays: the
// forward pass's rounding depends on it), the model files' hashes
// (provenance.hpp), the corpus files' SHA-256 and a digest of every window's
// tokens.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/weights_mode.hpp"
#include "formats/weights.hpp"
#include "study/corpus.hpp"
#include "study/study_config.hpp"
#include "study/windows.hpp"

namespace spectra::study {

using LogFn = std::function<void(const std::string&)>;

struct StudyPlan {
  StudyConfig config;  // effective: defaults resolved, context capped at the model's maximum
  std::unique_ptr<Model> model;
  Corpus corpus;
  WindowPlan windows;
  std::vector<std::string> warnings;  // corpus and window warnings
  engine::WeightsDecision weights;    // resolved (Resident or Streaming): run_study sets it before the fingerprint
  double seconds_open_model = 0, seconds_corpus = 0;

  int window_count() const { return static_cast<int>(windows.windows.size()); }
};

// The defaults filled in: model, corpus and out as absolute paths (the
// default model / demo corpus looked up as study_paths.hpp describes).
StudyConfig resolve_defaults(const StudyConfig& cfg);

// Builds the plan; `warn` receives each warning (they are kept in the plan too).
StudyPlan plan_study(const StudyConfig& cfg, const LogFn& log, const LogFn& warn);

// config.weights resolved for this plan: "resident"/"streaming" as given;
// "auto" keeps `saved` ("resident"/"streaming": what the run folder's
// study.json records) when given, else applies the Auto rule with `mem`
// for the plan's longest window (the engine's default prefill chunk, the
// configured threads, the resolved precision).
engine::WeightsDecision resolve_weights(const StudyPlan& plan, const std::string& saved, const engine::MemInfo& mem);

// The fingerprint described above (deterministic JSON).
nlohmann::ordered_json plan_fingerprint(const StudyPlan& plan);

// What differs between a saved fingerprint and the current one, one line per
// difference naming the key or file ("corpus file /x/a.tokens: changed
// (SHA-256 ...)"); empty when they match.
std::vector<std::string> fingerprint_differences(const nlohmann::ordered_json& saved,
                                                 const nlohmann::ordered_json& now);

}  // namespace spectra::study
