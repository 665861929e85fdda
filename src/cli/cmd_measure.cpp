// spectra measure: one instrumented forward pass over a window of tokens;
// writes DIR/tuples.{npy,csv} (one row per layer, head, position) and
// DIR/summary.json (model, precision, threads, NLL / perplexity, speed).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/paths.hpp"
#include "engine/forward.hpp"
#include "engine/token_ids.hpp"
#include "formats/weights.hpp"
#include "observers/tuple_file.hpp"
#include "observers/tuple_observer.hpp"
#include "spectra_version.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace spectra::cli {

namespace {

struct MeasureArgs {
  std::string model, tokens, tokens_file, text_file, out;
  int64_t context = 0;
  int64_t prefill_chunk = 4096;
  std::string precision = "auto";
  std::string weights = "auto";
  int threads = 0;
  std::string raw_format = "npy";
  bool force = false;
  bool stats_off = false;
  double budget_mass = 0.9;
  bool no_budget = false;
};

nlohmann::json describe(const ModelDesc& d, const std::string& path) {
  nlohmann::json rope = {{"theta", d.rope.theta},
                         {"dim", d.rope.dim},
                         {"layout", to_string(d.rope_layout)},
                         {"scaling", to_string(d.rope.scaling)},
                         {"factor", d.rope.factor},
                         {"freq_divisors", !d.rope.freq_divisors.empty()}};
  return {{"path", path},         {"name", d.name},           {"architecture", d.architecture},
          {"format", d.format},   {"n_layers", d.n_layers},   {"hidden", d.hidden},
          {"n_heads", d.n_heads}, {"n_kv_heads", d.n_kv_heads}, {"head_dim", d.head_dim},
          {"ffn", d.ffn},         {"vocab", d.vocab},         {"max_context", d.max_context},
          {"rms_eps", d.rms_eps}, {"tied_embeddings", d.tied_embeddings}, {"rope", rope}};
}

void run(const MeasureArgs& a) {
  namespace fs = std::filesystem;
  const auto t_start = std::chrono::steady_clock::now();
  const int sources = !a.tokens.empty() + !a.tokens_file.empty() + !a.text_file.empty();
  if (sources != 1) throw Error("measure: give exactly one of --tokens, --tokens-file, --text-file");
  if (a.raw_format != "npy" && a.raw_format != "csv") throw Error("--raw-format: expected npy or csv");
  const engine::Precision prec = engine::parse_precision(a.precision);
  const engine::WeightsMode wmode = engine::parse_weights_mode(a.weights, "--weights");
  if (!(a.budget_mass > 0 && a.budget_mass < 1))
    throw Error("--budget-mass: must be a mass P with 0 < P < 1 (got " + std::to_string(a.budget_mass) + ")");
  if (fs::exists(a.out) && !a.force)
    throw Error(a.out + ": output folder exists (use --force to overwrite its files)");

  auto model = open_model(a.model);
  const ModelDesc& d = model->desc();
  std::vector<int32_t> ids;
  if (!a.tokens.empty()) ids = engine::parse_token_ids(a.tokens, "--tokens");
  if (!a.tokens_file.empty()) ids = engine::read_token_ids_file(a.tokens_file);
  if (!a.text_file.empty()) {
    std::ifstream in(a.text_file);
    if (!in) fail_file(a.text_file, "cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    auto tok = load_tokenizer(a.model);
    ids = encode_for_model(*tok, d.add_bos, ss.str());
  }
  int64_t context = a.context > 0 ? a.context : (d.max_context > 0 ? d.max_context : int64_t(ids.size()));
  if (a.context > 0 && d.max_context > 0 && a.context > d.max_context)
    std::fprintf(stderr, "spectra measure: warning: --context %lld exceeds the model's context %d\n",
                 static_cast<long long>(a.context), d.max_context);
  if (static_cast<int64_t>(ids.size()) > context) {
    std::fprintf(stderr, "spectra measure: using the first %lld of %zu tokens (--context)\n",
                 static_cast<long long>(context), ids.size());
    ids.resize(static_cast<size_t>(context));
  }

  engine::EngineOptions eo;
  eo.precision = prec;
  eo.threads = a.threads;
  eo.prefill_chunk = a.prefill_chunk;
  eo.budget_mass = static_cast<float>(a.budget_mass);
  eo.budget_stat = !a.no_budget;
  eo.weights = wmode;
  eo.window_tokens_hint = static_cast<int64_t>(ids.size());
  const bool long_window = ids.size() >= 1024;
  const bool tty = ::isatty(2);
  eo.progress = [&](int done, int total) {
    if (!long_window) return;
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    std::fprintf(stderr, tty ? "\rspectra measure: layer %d/%d (%.1f s)" : "spectra measure: layer %d/%d (%.1f s)\n",
                 done, total, el);
    if (tty && done == total) std::fprintf(stderr, "\n");
  };
  engine::Engine eng(*model, eo);
  eng.validate_tokens(ids);
  if (!eng.precision_note().empty()) std::fprintf(stderr, "spectra measure: %s\n", eng.precision_note().c_str());
  const engine::WeightsDecision& wd = eng.weights_decision();
  std::fprintf(stderr, "spectra measure: weights %s: %s\n", engine::to_string(wd.mode), wd.reason.c_str());

  fs::create_directories(a.out);
  const std::string tuple_path = a.out + (a.raw_format == "csv" ? "/tuples.csv" : "/tuples.npy");
  std::unique_ptr<TupleWriter> writer;
  if (!a.stats_off) writer = std::make_unique<TupleWriter>(tuple_path, a.raw_format == "csv" ? TupleFormat::Csv : TupleFormat::Npy);
  std::unique_ptr<TupleObserver> tobs;
  NullObserver off;
  engine::ForwardOptions fo;
  if (writer) {
    tobs = std::make_unique<TupleObserver>(*writer, 0);
    fo.observer = tobs.get();
  } else {
    fo.observer = &off;
  }
  auto r = eng.forward(ids, fo);
  if (writer) writer->finish();
  const uint64_t rows = tobs ? tobs->rows() : 0;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();

  nlohmann::json s;
  s["spectra_version"] = kVersion;
  s["git_commit"] = kGitCommit;
  s["model"] = describe(d, a.model);
  s["precision"] = {{"requested", engine::to_string(prec)},
                    {"used", engine::to_string(eng.precision())},
                    {"note", eng.precision_note()}};
  // The resolved mode: streaming and resident weights may round a matmul
  // differently (a few ulps), so the numbers depend on it.
  s["weights"] = {{"requested", engine::to_string(wmode)},
                  {"used", engine::to_string(wd.mode)},
                  {"reason", wd.reason},
                  {"converted_bytes", wd.converted_bytes},
                  {"window_bytes", wd.window_bytes},
                  {"memory_bound_bytes", wd.memory_bound_bytes},  // README formula: peak anonymous memory ≤ this
                  {"mem_available_bytes", wmode == engine::WeightsMode::Auto ? nlohmann::json(wd.available_bytes)
                                                                             : nlohmann::json(nullptr)}};
  s["threads"] = eng.threads();
  s["prefill_chunk"] = a.prefill_chunk;
  s["budget"] = {{"on", !a.no_budget}, {"mass", a.budget_mass}};
  s["cpu"] = engine::cpu_summary();
  s["tokens"] = ids.size();
  s["statistics"] = a.stats_off ? "off" : "on";
  s["tuple_rows"] = rows;
  s["tuple_file"] = a.stats_off ? nlohmann::json(nullptr) : nlohmann::json(fs::path(tuple_path).filename().string());
  const double mnll = r.mean_nll();
  s["mean_nll"] = std::isfinite(mnll) ? nlohmann::json(mnll) : nlohmann::json(nullptr);
  s["perplexity"] = std::isfinite(mnll) ? nlohmann::json(std::exp(mnll)) : nlohmann::json(nullptr);
  s["wall_seconds"] = wall;
  s["forward_seconds"] = r.time.total;
  s["tokens_per_s"] = static_cast<double>(ids.size()) / r.time.total;
  s["time_breakdown_seconds"] = {{"weight_conversion", r.time.convert},
                                 {"matmul", r.time.matmul},
                                 {"attention", r.time.attention},
                                 {"lm_head", r.time.lm_head}};
  write_file_atomic(a.out + "/summary.json", s.dump(2) + "\n");
  std::fprintf(stderr, "spectra measure: %zu tokens, %llu rows, perplexity %.4f, %.1f tokens/s (%s, %d threads) -> %s\n",
               ids.size(), static_cast<unsigned long long>(rows), std::exp(mnll),
               static_cast<double>(ids.size()) / r.time.total, engine::to_string(eng.precision()), eng.threads(),
               a.out.c_str());
}

}  // namespace

void register_measure(CLI::App& app) {
  auto a = std::make_shared<MeasureArgs>();
  auto* cmd = app.add_subcommand("measure", "Instrumented forward pass over one window: q-norm, entropy, sink mass, max weight, fixed-norm entropy, -Var(score), max score, logsumexp, attention budget per (layer, head, position)");
  cmd->add_option("--model", a->model, "Model: HF folder or .gguf file")->required();
  cmd->add_option("--tokens", a->tokens, "Token ids, e.g. \"1 461 461\"");
  cmd->add_option("--tokens-file", a->tokens_file, "File of token ids (whitespace or commas)");
  cmd->add_option("--text-file", a->text_file, "Text file, tokenized with the model's tokenizer");
  cmd->add_option("--out", a->out, "Output folder (tuples + summary.json)")->required()->transform(AbsolutePath());
  cmd->add_option("--context", a->context, "Window length: use the first N tokens (default: the model's context)");
  cmd->add_option("--prefill-chunk", a->prefill_chunk,
                  "Query rows per chunk of the prefill (activation memory ~ chunk x width; 0: whole window)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--budget-mass", a->budget_mass,
                  "Attention budget k_budget: the fewest keys holding this mass P of each row's attention (0 < P < 1)")
      ->capture_default_str();
  cmd->add_flag("--no-budget", a->no_budget, "Do not compute k_budget (NaN in the tuple file; saves its cost)");
  cmd->add_option("--precision", a->precision, "bf16, fp32 or auto (bf16 where the CPU supports it)");
  cmd->add_option("--weights", a->weights,
                  "Converted weights: auto (resident when 2 x the converted model + the window's activations fit in "
                  "MemAvailable), resident (all layers converted once and kept), streaming (each layer converted "
                  "when reached)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "resident", "streaming"}));
  cmd->add_option("--threads", a->threads, "Threads (default: all cores)");
  cmd->add_option("--raw-format", a->raw_format, "Tuple file format: npy or csv");
  cmd->add_flag("--force", a->force, "Overwrite the files of an existing output folder");
  cmd->add_flag("--stats-off", a->stats_off, "Benchmark baseline: run with the attention statistics off (no tuple file)");
  cmd->callback([a] { run(*a); });
}

}  // namespace spectra::cli
