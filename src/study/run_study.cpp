// The study run: configuration -> corpus -> windows -> measurement (streamed
// tuples) -> analysis -> summary -> report, in a run folder that is never
// left half-written (see run_study.hpp).
#include "study/run_study.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "engine/cpu.hpp"
#include "engine/forward.hpp"
#include "formats/weights.hpp"
#include "observers/tuple_file.hpp"
#include "observers/tuple_observer.hpp"
#include "report/report.hpp"
#include "spectra_version.hpp"
#include "stats/analyze.hpp"
#include "study/corpus.hpp"
#include "study/interrupt.hpp"
#include "study/provenance.hpp"
#include "study/run_folder.hpp"
#include "study/study_paths.hpp"
#include "study/windows.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace spectra::study {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::ordered_json;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string absolute(const std::string& p) {
  std::error_code ec;
  auto a = fs::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json describe_model(const ModelDesc& d) {
  return {{"name", d.name},
          {"architecture", d.architecture},
          {"format", d.format},
          {"n_layers", d.n_layers},
          {"hidden", d.hidden},
          {"n_heads", d.n_heads},
          {"n_kv_heads", d.n_kv_heads},
          {"head_dim", d.head_dim},
          {"ffn", d.ffn},
          {"vocab", d.vocab},
          {"max_context", d.max_context},
          {"rope_theta", d.rope.theta},
          {"rope_layout", to_string(d.rope_layout)},
          {"rope_scaling", to_string(d.rope.scaling)},
          {"tied_embeddings", d.tied_embeddings},
          {"bos_id", d.bos_id},
          {"add_bos", d.add_bos}};
}

const char* kind_name(SourceKind k) {
  switch (k) {
    case SourceKind::Text: return "text";
    case SourceKind::Jsonl: return "jsonl";
    case SourceKind::Tokens: return "tokens";
  }
  return "?";
}

}  // namespace

StudyConfig resolve_defaults(const StudyConfig& cfg) {
  StudyConfig c = cfg;
  c.model = absolute(c.model.empty() ? default_model_path() : c.model);
  if (c.corpus.empty()) c.corpus = {default_corpus_path()};
  for (auto& p : c.corpus) p = absolute(p);
  if (c.out.empty()) c.out = default_run_dir(default_runs_root());
  c.out = absolute(c.out);
  return c;
}

StudyOutcome run_study(const StudyConfig& cfg_in, const StudyRunOptions& opt) {
  const auto t_start = Clock::now();
  const std::string started = utc_now_iso();
  auto log = opt.log ? opt.log : [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
  StudyOutcome out;
  auto warn = [&](const std::string& w) {
    out.warnings.push_back(w);
    log("study: warning: " + w);
  };

  // 1. Configuration and model.
  StudyConfig c = resolve_defaults(cfg_in);
  const engine::Precision precision = engine::parse_precision(c.precision);
  auto t0 = Clock::now();
  std::unique_ptr<Model> model = open_model(c.model);
  const ModelDesc& desc = model->desc();
  const double t_open = seconds_since(t0);
  log("study: model " + c.model + " (" + desc.architecture + ", " + std::to_string(desc.n_layers) + " layers x " +
      std::to_string(desc.n_heads) + " heads, context " + std::to_string(desc.max_context) + ")");
  if (desc.max_context > 0 && c.context > desc.max_context) {
    warn("context " + std::to_string(c.context) + " exceeds the model's maximum " + std::to_string(desc.max_context) +
         "; using " + std::to_string(desc.max_context));
    c.context = desc.max_context;
  }
  validate(c, "study configuration");

  // 2. Corpus and windows.
  t0 = Clock::now();
  std::unique_ptr<Tokenizer> tokenizer;
  const bool add_bos = desc.add_bos && desc.bos_id >= 0;
  CorpusOptions co;
  co.add_bos = add_bos;
  co.bos_id = desc.bos_id;
  co.vocab_size = desc.vocab;
  co.tokenizer = [&]() -> const Tokenizer& {
    if (!tokenizer) {
      try {
        tokenizer = load_tokenizer(c.model);
      } catch (const Error& e) {
        throw Error(std::string("text documents need the model's tokenizer, which could not be loaded: ") + e.what() +
                    " (give the corpus as .tokens files of token ids instead)");
      }
    }
    return *tokenizer;
  };
  Corpus corpus = load_corpus(c.corpus, co);
  for (const auto& w : corpus.warnings) warn(w);
  WindowOptions wo;
  wo.context = c.context;
  wo.mode = c.windows;
  wo.min_tokens = c.min_tokens;
  wo.min_positions = c.analysis.min_position + 3;
  wo.bos_id = add_bos ? desc.bos_id : -1;
  WindowPlan plan = make_windows(corpus.documents, wo);
  for (const auto& w : plan.warnings) warn(w);
  const double t_corpus = seconds_since(t0);
  out.config = c;
  out.run_dir = c.out;
  out.documents = corpus.documents.size();
  out.windows = plan.windows.size();
  out.tokens = plan.total_tokens;
  log("study: corpus: " + std::to_string(corpus.documents.size()) + " documents from " + std::to_string(corpus.files) +
      " files -> " + std::to_string(plan.windows.size()) + " windows, " + std::to_string(plan.total_tokens) +
      " tokens (context " + std::to_string(c.context) + ", windows " + to_string(c.windows) + ")");
  if (opt.dry_run) return out;

  // 3. Run folder.
  prepare_run_folder(c.out, opt.force);
  const fs::path run(c.out);
  log("study: run folder " + c.out);
  int measured = 0;
  try {
    InterruptGuard guard;
    write_file_atomic((run / "config.toml").string(),
                      to_toml(c, {"Effective configuration of this study, written by spectra " + std::string(kVersion) +
                                      " (commit " + kGitCommit + ") on " + started + ".",
                                  "Re-run: spectra study --config config.toml --out NEW_FOLDER",
                                  "Re-analyse: spectra analyze RUN_FOLDER (reads [analysis] and [criteria])"}));

    // 4. Measurement.
    Progress progress(static_cast<int>(plan.windows.size()), plan.total_tokens, opt.progress);
    int64_t cur_tokens = 0;
    engine::EngineOptions eo;
    eo.precision = precision;
    eo.threads = c.threads;
    eo.progress = [&](int done, int total) {
      progress.update(total > 0 ? cur_tokens * done / total : 0);
      throw_if_interrupted();
    };
    t0 = Clock::now();
    engine::Engine eng(*model, eo);
    const double t_engine = seconds_since(t0);
    if (!eng.precision_note().empty()) log("study: " + eng.precision_note());
    const std::string tuple_name = c.raw_format == RawFormat::Csv ? "tuples.csv" : "tuples.npy";
    const std::string tuple_path = (run / tuple_name).string();
    std::vector<stats::DocMeta> meta;
    json documents = json::array();
    engine::ForwardTimings ftime;
    t0 = Clock::now();
    {
      TupleWriter writer(tuple_path, c.raw_format == RawFormat::Csv ? TupleFormat::Csv : TupleFormat::Npy);
      TupleObserver obs(writer, 0);
      for (int i = 0; i < static_cast<int>(plan.windows.size()); ++i) {
        throw_if_interrupted();
        const Window& w = plan.windows[i];
        const Document& doc = corpus.documents[w.document];
        cur_tokens = static_cast<int64_t>(w.tokens.size());
        eng.validate_tokens(w.tokens);
        progress.start(i, w.source, cur_tokens);
        obs.set_doc(i);
        engine::ForwardOptions fo;
        fo.observer = &obs;
        auto tw = Clock::now();
        engine::ForwardResult r = eng.forward(w.tokens, fo);
        const double secs = seconds_since(tw);
        ftime.total += r.time.total;
        ftime.convert += r.time.convert;
        ftime.matmul += r.time.matmul;
        ftime.attention += r.time.attention;
        ftime.lm_head += r.time.lm_head;
        const double mnll = r.mean_nll();
        stats::DocMeta m;
        m.source = w.source;
        m.tokens = cur_tokens;
        m.perplexity = std::isfinite(mnll) ? std::exp(mnll) : std::numeric_limits<double>::quiet_NaN();
        meta.push_back(m);
        documents.push_back({{"doc", i},
                             {"source", w.source},
                             {"path", doc.path},
                             {"line", doc.line},
                             {"kind", kind_name(doc.kind)},
                             {"window", w.index},
                             {"start", w.start},
                             {"tokens", cur_tokens},
                             {"document_tokens", doc.tokens.size()},
                             {"mean_nll", number_or_null(mnll)},
                             {"perplexity", number_or_null(m.perplexity)},
                             {"seconds", secs}});
        progress.finish_window();
        ++measured;
        if (opt.after_window) opt.after_window(i);
      }
      throw_if_interrupted();
      writer.finish();
      out.rows = writer.rows_written();
    }
    progress.done();
    const double t_measure = seconds_since(t0);
    log("study: measured " + std::to_string(plan.total_tokens) + " tokens in " +
        Progress::format_duration(t_measure) + " (" + std::to_string(static_cast<int64_t>(plan.total_tokens / std::max(t_measure, 1e-9))) +
        " tokens/s, " + engine::to_string(eng.precision()) + ", " + std::to_string(eng.threads()) + " threads); " +
        std::to_string(out.rows) + " tuples -> " + tuple_name);

    // 5. Analysis.
    t0 = Clock::now();
    stats::AnalysisConfig acfg = c.analysis;
    if (acfg.threads == 0) acfg.threads = c.threads;  // no effect on the results
    stats::AnalysisResult res;
    {
      TupleReader reader(tuple_path);
      res = stats::analyze_tuples(reader.rows(), acfg, tuple_path, &meta);
    }
    throw_if_interrupted();
    stats::write_analysis(c.out, res, &meta);
    const double t_analysis = seconds_since(t0);
    out.decision = stats::to_string(res.decision.verdict);
    out.heads = res.decision.heads;
    out.heads_passing = res.decision.heads_passing;
    out.required_heads = res.decision.required_heads;

    // 6. Summary: the statistics' decision block, then the study's own.
    t0 = Clock::now();
    json s = stats::analysis_json(res);
    s["study"] = {{"started", started},
                  {"finished", utc_now_iso()},
                  {"run_dir", c.out},
                  {"config_file", "config.toml"},
                  {"tuple_file", tuple_name},
                  {"context", c.context},
                  {"windows_mode", to_string(c.windows)},
                  {"min_tokens", c.min_tokens}};
    s["counts"] = {{"corpus_files", corpus.files},
                   {"documents", corpus.documents.size()},
                   {"windows", plan.windows.size()},
                   {"tokens", plan.total_tokens},
                   {"tuple_rows", out.rows},
                   {"layers", desc.n_layers},
                   {"heads_per_layer", desc.n_heads},
                   {"heads", static_cast<int64_t>(desc.n_layers) * desc.n_heads},
                   {"heads_passing", res.decision.heads_passing},
                   {"warnings", out.warnings.size()}};
    s["model"] = describe_model(desc);
    s["precision"] = {{"requested", c.precision},
                      {"used", engine::to_string(eng.precision())},
                      {"note", eng.precision_note()}};
    s["threads"] = eng.threads();
    json corpus_files = json::array();
    for (const auto& f : list_corpus_files(c.corpus)) {
      std::error_code ec;
      corpus_files.push_back({{"path", f.path},
                              {"bytes", static_cast<uint64_t>(fs::file_size(f.path, ec))},
                              {"sha256", sha256_file(f.path)}});
    }
    s["provenance"] = {{"tool", tool_provenance()},
                       {"model", model_provenance(c.model)},
                       {"corpus", {{"inputs", c.corpus}, {"files", corpus_files}}},
                       {"cpu", engine::cpu_summary()}};
    s["documents"] = documents;
    s["warnings"] = out.warnings;
    const double t_summary = seconds_since(t0);
    s["timings"] = {{"total_seconds", seconds_since(t_start)},
                    {"open_model", t_open},
                    {"corpus", t_corpus},
                    {"engine_setup", t_engine},
                    {"measure", t_measure},
                    {"tokens_per_second", plan.total_tokens / std::max(t_measure, 1e-9)},
                    {"forward", {{"total", ftime.total},
                                 {"weight_conversion", ftime.convert},
                                 {"matmul", ftime.matmul},
                                 {"attention", ftime.attention},
                                 {"lm_head", ftime.lm_head}}},
                    {"analysis", t_analysis},
                    {"provenance", t_summary}};
    throw_if_interrupted();
    write_file_atomic((run / "summary.json").string(), s.dump(2) + "\n");
    log("study: " + out.decision + ": " + std::to_string(out.heads_passing) + " of " + std::to_string(out.heads) +
        " heads pass (need " + std::to_string(out.required_heads) + ")");

    // 7. Report (derived from the files above; `spectra report RUN_DIR` redoes it).
    if (opt.report) {
      try {
        report::ReportOptions ro;
        report::write_report(c.out, ro);
        out.report_written = true;
      } catch (const Interrupted&) {
        throw;
      } catch (const std::exception& e) {
        warn(std::string("the report could not be written: ") + e.what() +
             " (the results are complete; retry with: spectra report " + c.out + ")");
      }
    }
    mark_complete(c.out);
  } catch (const Interrupted& e) {
    mark_incomplete(c.out, std::string(e.what()) + " after " + std::to_string(measured) + " of " +
                               std::to_string(plan.windows.size()) + " windows (" + utc_now_iso() + ")");
    throw;
  } catch (const std::exception& e) {
    mark_incomplete(c.out, std::string("failed: ") + e.what() + " (" + utc_now_iso() + ")");
    throw;
  }
  return out;
}

}  // namespace spectra::study
