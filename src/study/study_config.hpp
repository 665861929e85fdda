#pragma once
// The frozen hyperparameters of a study: what `spectra study` reads from
// study.toml, overrides with flags, and writes back into RUN_DIR/config.toml
// (which `spectra analyze RUN_DIR` reads again).
//
// study.toml (every key optional; unknown keys are an error naming key and line):
//   model = "models/SmolLM2-135M-Instruct.Q4_1.gguf"   # .gguf file or HF folder
//   corpus = ["corpus/demo"]    # folders (*.txt, *.md, *.jsonl, *.tokens, recursive) and files
//   out = "runs/20261124-101500"  # default runs/<UTC timestamp>/
//   context = 4096              # tokens per window, capped by the model's maximum
//   windows = "first"           # "first": each document's first window; "all": every non-overlapping window
//   min_tokens = 0              # skip windows shorter than this (shorter than context: used with a warning)
//   precision = "auto"          # "auto" (bf16 when the CPU has it) | "bf16" | "fp32"
//   threads = 0                 # 0 = all cores (forward pass and statistics)
//   weights = "auto"            # converted weights: "auto" | "resident" | "streaming" (engine/weights_mode.hpp)
//   budget_mass = 0.9           # P of the attention-budget statistic k_budget (0 < P < 1)
//   budget = true               # false: k_budget is not computed (NaN; saves its cost)
//   raw_format = "npy"          # the tuple file: "npy" | "csv"
//   [analysis]                  # the statistics' settings (stats/analysis_config.hpp), e.g.
//   min_position = 16           #   positions excluded at the start of each window
//   permutations = 100          #   shuffles per head (both null controls)
//   seed = 20240601             #   permutation seed
//   [criteria]                  # the success criteria (stats/analysis_config.hpp), e.g.
//   r_threshold = 0.5           #   pooled |r| a head needs
//   alpha = 0.01                #   on the BH-adjusted p
//   meaningful_fraction = 0.05  #   fraction of heads that must pass
//   null_abs_r_ceiling = 0.05   #   the shuffled control's mean |r| must stay below this
//   doc_agree_fraction = 0.8    #   fraction of documents that must agree
// The keys of [analysis] and [criteria] are exactly those the statistics code
// reads (AnalysisConfig::to_json() lists them, plus analysis.threads).
// Relative paths in a TOML file are relative to the file's folder; relative
// paths given as flags are relative to the current directory.
#include <cstdint>
#include <string>
#include <vector>

#include "stats/analysis_config.hpp"

namespace spectra::study {

enum class WindowMode { First, All };
enum class RawFormat { Npy, Csv };

const char* to_string(WindowMode m);
const char* to_string(RawFormat f);

struct StudyConfig {
  std::string model;                // empty: the default model (see study_paths.hpp)
  std::vector<std::string> corpus;  // empty: the demo corpus
  std::string out;                  // empty: runs/<timestamp>/
  int context = 4096;
  WindowMode windows = WindowMode::First;
  int min_tokens = 0;
  std::string precision = "auto";
  int threads = 0;
  // engine::EngineOptions::weights: "auto" (resolved once per run folder,
  // see run_study.hpp), "resident" or "streaming". The requested value
  // changes no number; the resolved mode is in the plan's fingerprint.
  std::string weights = "auto";
  double budget_mass = 0.9;  // engine::EngineOptions::budget_mass
  bool budget = true;        // engine::EngineOptions::budget_stat
  RawFormat raw_format = RawFormat::Npy;
  stats::AnalysisConfig analysis;  // [analysis] and [criteria]
};

// Every key the TOML file and the flags accept, dotted for tables
// ("criteria.alpha"), in the order config.toml lists them.
const std::vector<std::string>& config_keys();

// What a key's value must be, for help texts: "integer >= 2", "number",
// "true|false", "first|all", "path", ...
std::string key_value_hint(const std::string& key);

// Parse study.toml on top of the defaults. Throws spectra::Error naming the
// file, line and key on a syntax error, an unknown key or a bad value.
StudyConfig load_study_config(const std::string& path);
// Same from text (`origin` names it in messages; `base_dir` resolves relative paths).
StudyConfig parse_study_config(const std::string& text, const std::string& origin, const std::string& base_dir);

// Override one key from a flag's text value: KEY is a dotted key from
// config_keys(), FLAG names the flag in messages ("--context"). For "corpus"
// with append=true the value is added to the list instead of replacing it.
// Throws spectra::Error like "--context: must be an integer >= 2 (got 'x')".
void apply_override(StudyConfig& cfg, const std::string& key, const std::string& value, const std::string& flag,
                    bool append = false);

// The flag that mirrors a key: "min_tokens" -> "--min-tokens",
// "criteria.alpha" -> "--alpha", "analysis.min_position" -> "--min-position".
// (analysis.threads has no flag of its own: --threads sets both.)
std::string flag_for_key(const std::string& key);

// Cross-field checks (min_tokens <= context, analysis.min_position leaves
// positions, the statistics' own validation); throws spectra::Error.
void validate(const StudyConfig& cfg, const std::string& origin = "configuration");

// The configuration as a TOML document that load_study_config() reads back to
// an equal StudyConfig; `header` lines are written first as comments.
std::string to_toml(const StudyConfig& cfg, const std::vector<std::string>& header = {});

bool operator==(const StudyConfig& a, const StudyConfig& b);

}  // namespace spectra::study
