// spectra study [--config study.toml] [flags]: the whole study (measure,
// analyse, decide, report) into a run folder. Every configuration key has a
// flag of the same name (study/study_config.hpp); flags override the file.
// With no arguments: the default model, the demo corpus, runs/<timestamp>/.
// --resume RUN_DIR continues a study with the configuration saved there;
// --shard i/N measures one shard; under mpirun/srun the ranks share the windows
// (study/run_study.hpp).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "cli/commands.hpp"
#include "study/interrupt.hpp"
#include "study/process_group.hpp"
#include "study/run_manifest.hpp"
#include "study/run_study.hpp"
#include "study/study_config.hpp"
#include "util/error.hpp"

namespace spectra::cli {

namespace {

const std::map<std::string, std::string>& key_help() {
  static const std::map<std::string, std::string> h = {
      {"model", "Model: a .gguf file or a Hugging Face folder (default models/SmolLM2-135M-Instruct.Q4_1.gguf)"},
      {"corpus", "Corpus folder or file (.txt/.md/.jsonl/.tokens); repeatable (default corpus/demo)"},
      {"out", "Run folder (default runs/<UTC timestamp>); an existing non-empty folder needs --force"},
      {"context", "Tokens per window (default 4096, capped by the model's maximum)"},
      {"windows", "first: each document's first window (default); all: every non-overlapping window"},
      {"min_tokens", "Skip windows shorter than this (default 0: short windows are used with a warning)"},
      {"precision", "Matmul precision: auto (bf16 when the CPU has it), bf16, fp32"},
      {"threads", "Threads for the forward pass and the statistics (default 0: all cores)"},
      {"weights", "Converted weights: auto (default: resident when 2 x the converted model + a window's activations "
                  "fit in MemAvailable; resolved once per run folder), resident (converted once and kept), streaming "
                  "(each layer converted when reached, every window)"},
      {"raw_format", "Tuple file format: npy (default) or csv"},
      {"analysis.min_position", "Positions excluded at the start of each window (default 16)"},
      {"analysis.permutations", "Shuffles per head for the null controls (default 100)"},
      {"analysis.seed", "Seed of the shuffles"},
      {"analysis.confidence", "Confidence level of the Fisher-z intervals"},
      {"analysis.min_doc_positions", "Positions a document needs to enter the per-document statistics"},
      {"criteria.direction", "Hypothesis sign: negative (default), positive, both"},
      {"criteria.one_sided", "Test in the hypothesis' direction only"},
      {"criteria.adjust", "Multiple-comparison adjustment: bh (default), by, bonferroni"},
      {"criteria.r_threshold", "Pooled |r| a head needs (default 0.5)"},
      {"criteria.alpha", "Significance level on the adjusted p (default 0.01)"},
      {"criteria.meaningful_fraction", "Fraction of heads that must pass for GO"},
      {"criteria.null_abs_r_ceiling", "Ceiling on the shuffled control's mean |r|"},
      {"criteria.require_null_percentile", "|r| must exceed the 95th percentile of both null controls"},
      {"criteria.doc_r_threshold", "Per-document |r| a document needs to agree"},
      {"criteria.doc_agree_fraction", "Fraction of documents that must agree"},
      {"criteria.min_n", "Pooled pairs a head needs"},
  };
  return h;
}

struct StudyArgs {
  std::string config;
  std::map<std::string, std::string> values;  // key -> flag value
  std::vector<std::string> corpus;
  std::vector<std::string> sets;  // KEY=VALUE
  bool force = false, no_report = false, dry_run = false;
  std::string progress = "auto";
  std::string resume, shard;
};

// The configuration: RUN_DIR/config.toml for --resume (no flag may change
// it), else the file and the flags.
study::StudyConfig configuration(const StudyArgs& a, const std::map<std::string, CLI::Option*>& opts) {
  if (!a.resume.empty()) {
    if (!a.config.empty() || !a.corpus.empty() || !a.sets.empty())
      throw Error("--resume uses the configuration saved in " + a.resume + "; it cannot be combined with --config, "
                  "--corpus or --set");
    study::StudyConfig cfg = study::load_saved_config(a.resume);
    for (const auto& [key, o] : opts)
      if (o->count() > 0)
        throw Error("--resume uses the configuration saved in " + a.resume + "; " + study::flag_for_key(key) +
                    " cannot change it");
    return cfg;
  }
  study::StudyConfig cfg;
  if (!a.config.empty()) cfg = study::load_study_config(a.config);
  for (const auto& key : study::config_keys()) {
    if (key == "corpus") {
      for (size_t i = 0; i < a.corpus.size(); ++i) study::apply_override(cfg, "corpus", a.corpus[i], "--corpus", i > 0);
      continue;
    }
    auto it = opts.find(key);
    if (it == opts.end() || it->second->count() == 0) continue;
    const std::string& v = a.values.at(key);
    study::apply_override(cfg, key, v, study::flag_for_key(key));
    if (key == "threads") study::apply_override(cfg, "analysis.threads", v, "--threads");
  }
  for (const auto& kv : a.sets) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) throw Error("--set: expected KEY=VALUE, got '" + kv + "'");
    study::apply_override(cfg, kv.substr(0, eq), kv.substr(eq + 1), "--set " + kv.substr(0, eq));
  }
  return cfg;
}

void run(const StudyArgs& a, const std::map<std::string, CLI::Option*>& opts) {
  // MPI first (a rank must not act before it knows it is one), then the configuration.
  std::unique_ptr<study::ProcessGroup> group = study::make_process_group();
  study::StudyRunOptions ro;
  ro.group = group.get();
  ro.resume = !a.resume.empty();
  if (!a.shard.empty()) std::tie(ro.shard, ro.shards) = study::parse_shard(a.shard);
  ro.force = a.force;
  ro.report = !a.no_report;
  ro.dry_run = a.dry_run;
  ro.progress = a.progress == "bar"     ? study::ProgressStyle::Bar
                : a.progress == "lines" ? study::ProgressStyle::Lines
                : a.progress == "none"  ? study::ProgressStyle::None
                                        : study::ProgressStyle::Auto;
  study::StudyOutcome r;
  try {
    r = study::run_study(configuration(a, opts), ro);
  } catch (const study::Interrupted& e) {
    std::fprintf(stderr,
                 "spectra: study %s: the run folder is incomplete (no summary.json; see its INCOMPLETE file); "
                 "continue with: spectra study --resume RUN_DIR\n",
                 e.what());
    std::fflush(stderr);
    if (group->distributed()) group->abort(128 + e.signal());
    std::exit(128 + e.signal());
  } catch (const std::exception& e) {
    if (!group->distributed()) throw;
    // One failed rank ends them all (the others would wait for it forever).
    std::fprintf(stderr, "spectra: error: [rank %d] %s\n", group->rank(), e.what());
    group->abort(2);
  }
  if (a.dry_run) {
    if (group->rank() == 0)
      std::printf("%s", study::to_toml(r.config, {"Effective configuration (dry run: nothing was measured)"}).c_str());
    return;
  }
  if (r.decision.empty()) {
    if (!r.status.empty()) std::printf("%s\n", r.status.c_str());
    return;
  }
  std::printf("%s: %zu of %zu heads pass (need %zu); %zu windows, %lld tokens\nrun folder: %s\n", r.decision.c_str(),
              r.heads_passing, r.heads, r.required_heads, r.windows, static_cast<long long>(r.tokens),
              r.run_dir.c_str());
}

}  // namespace

void register_study(CLI::App& app) {
  auto a = std::make_shared<StudyArgs>();
  auto opts = std::make_shared<std::map<std::string, CLI::Option*>>();
  auto* cmd = app.add_subcommand(
      "study",
      "Run the whole study: measure ||q|| and attention entropy for every (layer, head, token) of a corpus, "
      "analyse, decide GO/NO-GO and write a report into a run folder. With no arguments: the default model, "
      "the demo corpus, runs/<timestamp>/.");
  cmd->add_option("--config", a->config, "Study configuration (TOML); flags override its keys")
      ->check(CLI::ExistingFile);
  for (const auto& key : study::config_keys()) {
    if (key == "analysis.threads") continue;  // --threads sets it
    const std::string flag = study::flag_for_key(key);
    auto h = key_help().find(key);
    std::string help = (h != key_help().end() ? h->second : "See [" + key.substr(0, key.find('.')) + "] in config.toml") +
                       " [" + key + "]";
    CLI::Option* o;
    if (key == "corpus") o = cmd->add_option(flag, a->corpus, help);
    else o = cmd->add_option(flag, a->values[key], help);
    o->type_name(study::key_value_hint(key));
    (*opts)[key] = o;
  }
  cmd->add_option("--set", a->sets, "Set any configuration key: KEY=VALUE (e.g. criteria.alpha=0.05); repeatable");
  cmd->add_flag("--force", a->force, "Replace an existing run folder (only a previous Spectra run is ever cleared)");
  cmd->add_flag("--no-report", a->no_report, "Skip the figures and report.md / report.html");
  cmd->add_flag("--dry-run", a->dry_run,
                "Resolve the configuration, load the corpus and plan the windows; print the effective configuration");
  cmd->add_option("--resume", a->resume,
                  "Continue the interrupted or partial study in this run folder with its saved configuration: "
                  "verify the finished windows, measure the missing or damaged ones, analyse")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--shard", a->shard,
                  "Measure only shard i of N (windows w with w % N == i), e.g. for a Slurm job array; shards may "
                  "share --out concurrently, the last to finish analyses")
      ->type_name("i/N");
  cmd->add_option("--progress", a->progress, "Progress display: auto (bar on a terminal), bar, lines, none")
      ->check(CLI::IsMember({"auto", "bar", "lines", "none"}));
  cmd->callback([a, opts] { run(*a, *opts); });
}

}  // namespace spectra::cli
