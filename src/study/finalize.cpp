// Stages 3 and 4: assemble, analyse, summarise, report (see finalize.hpp).
#include "study/finalize.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

#include "engine/cpu.hpp"
#include "report/report.hpp"
#include "stats/analyze.hpp"
#include "study/interrupt.hpp"
#include "study/kill_points.hpp"
#include "study/provenance.hpp"
#include "util/atomic_file.hpp"

namespace spectra::study {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double as_number(const json& v) { return v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN(); }

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

// Which process measured which windows, with their timings (from the journal).
json processes_json(const std::vector<json>& entries) {
  std::map<std::string, json> by;
  std::vector<std::string> order;
  for (size_t w = 0; w < entries.size(); ++w) {
    const json& p = entries[w].value("process", json::object());
    const std::string key = p.dump();
    if (!by.count(key)) {
      json e = p;
      e["windows"] = json::array();
      e["tokens"] = 0;
      e["seconds"] = 0.0;
      by[key] = e;
      order.push_back(key);
    }
    json& e = by[key];
    e["windows"].push_back(w);
    e["tokens"] = e["tokens"].get<int64_t>() + entries[w].value("tokens", int64_t(0));
    e["seconds"] = e["seconds"].get<double>() + entries[w].value("seconds", 0.0);
  }
  json out = json::array();
  for (const auto& k : order) out.push_back(by[k]);
  return out;
}

}  // namespace

FinalizeResult finalize_study(const FinalizeInput& in) {
  const StudyPlan& plan = *in.plan;
  const WindowStore& store = *in.store;
  const StudyConfig& c = plan.config;
  const fs::path run(c.out);
  FinalizeResult out;
  std::vector<std::string> warnings = in.warnings;
  auto warn = [&](const std::string& w) {
    warnings.push_back(w);
    in.warn(w);
  };
  kill_point("before-analysis");

  // Leftover temporaries of killed writers (this process holds the lock; every window is done).
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run, ec))
    if (e.path().filename().string().find(".partial.") != std::string::npos) fs::remove(e.path(), ec);
  store.remove_temporaries();

  // 3a. The tuple table, in window order.
  auto t0 = Clock::now();
  const std::string tuple_name = c.raw_format == RawFormat::Csv ? "tuples.csv" : "tuples.npy";
  const std::string tuple_path = (run / tuple_name).string();
  for (const char* other : {"tuples.npy", "tuples.csv"})
    if (other != tuple_name) fs::remove(run / other, ec);
  const int half = store.windows() / 2;
  out.rows = store.assemble(tuple_path, c.raw_format == RawFormat::Csv ? TupleFormat::Csv : TupleFormat::Npy,
                            [&](int w) {
                              if (w == half) kill_point("mid-assembly");
                              throw_if_interrupted();
                            });
  const double t_assemble = seconds_since(t0);
  in.log("study: " + std::to_string(out.rows) + " tuples of " + std::to_string(store.windows()) + " windows -> " +
         tuple_name);

  // 3b. Analysis.
  const std::vector<json> entries = store.entries();
  std::vector<stats::DocMeta> meta;
  for (const auto& e : entries) {
    stats::DocMeta m;
    m.source = e.value("source", "");
    m.tokens = e.value("tokens", int64_t(-1));
    m.perplexity = as_number(e.value("perplexity", json()));
    meta.push_back(m);
  }
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
  kill_point("after-analysis");
  out.decision = stats::to_string(res.decision.verdict);
  out.heads = res.decision.heads;
  out.heads_passing = res.decision.heads_passing;
  out.required_heads = res.decision.required_heads;

  // 4a. Summary: the statistics' decision block, then the study's own.
  t0 = Clock::now();
  const ModelDesc& desc = plan.model->desc();
  json s = stats::analysis_json(res);
  s["study"] = {{"started", in.started},
                {"finished", utc_now_iso()},
                {"run_dir", c.out},
                {"config_file", "config.toml"},
                {"tuple_file", tuple_name},
                {"context", c.context},
                {"windows_mode", to_string(c.windows)},
                {"min_tokens", c.min_tokens}};
  s["counts"] = {{"corpus_files", plan.corpus.files},
                 {"documents", plan.corpus.documents.size()},
                 {"windows", plan.windows.windows.size()},
                 {"tokens", plan.windows.total_tokens},
                 {"tuple_rows", out.rows},
                 {"layers", desc.n_layers},
                 {"heads_per_layer", desc.n_heads},
                 {"heads", static_cast<int64_t>(desc.n_layers) * desc.n_heads},
                 {"heads_passing", res.decision.heads_passing},
                 {"warnings", warnings.size()}};
  s["model"] = describe_model(desc);
  const json& first = entries.front();
  s["precision"] = {{"requested", c.precision},
                    {"used", first.value("precision", "")},
                    {"note", first.value("precision_note", "")}};
  s["threads"] = first.value("threads", 0);
  s["weights"] = {{"requested", c.weights},
                  {"used", first.value("weights", "streaming")},
                  {"reason", plan.weights.reason}};
  for (const auto& e : entries)
    if (e.value("weights", "streaming") != first.value("weights", "streaming")) {
      warn("the windows were measured with different weights modes (" + first.value("weights", "streaming") +
           " and " + e.value("weights", "streaming") + "): their last bits differ from a run with one mode");
      break;
    }
  for (const auto& e : entries)
    if (e.value("threads", 0) != first.value("threads", 0) || e.value("precision", "") != first.value("precision", "")) {
      warn("the windows were measured with different thread counts or precisions (e.g. " +
              std::to_string(first.value("threads", 0)) + " threads " + first.value("precision", "") + " and " +
              std::to_string(e.value("threads", 0)) + " threads " + e.value("precision", "") +
              "): their last bits differ from a run with one setting");
      break;
    }
  s["processes"] = {{"this_run", in.this_run}, {"measured_by", processes_json(entries)}};
  s["provenance"] = {{"tool", tool_provenance()},
                     {"model", model_provenance(c.model)},
                     {"corpus", {{"inputs", c.corpus}, {"files", in.fingerprint["corpus"]}}},
                     {"cpu", engine::cpu_summary()}};
  json documents = json::array();
  double measure = 0, f_total = 0, f_convert = 0, f_matmul = 0, f_attention = 0, f_lm = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Window& w = plan.windows.windows[i];
    const Document& doc = plan.corpus.documents[w.document];
    const json& e = entries[i];
    documents.push_back({{"doc", i},
                         {"source", w.source},
                         {"path", doc.path},
                         {"line", doc.line},
                         {"kind", kind_name(doc.kind)},
                         {"window", w.index},
                         {"start", w.start},
                         {"tokens", e.value("tokens", int64_t(0))},
                         {"document_tokens", doc.tokens.size()},
                         {"mean_nll", e.value("mean_nll", json())},
                         {"perplexity", e.value("perplexity", json())},
                         {"seconds", e.value("seconds", 0.0)}});
    measure += e.value("seconds", 0.0);
    const json& f = e.value("forward", json::object());
    f_total += f.value("total", 0.0);
    f_convert += f.value("weight_conversion", 0.0);
    f_matmul += f.value("matmul", 0.0);
    f_attention += f.value("attention", 0.0);
    f_lm += f.value("lm_head", 0.0);
  }
  s["documents"] = documents;
  s["warnings"] = warnings;
  json t = {{"total_seconds", 0.0}};
  for (const auto& [k, v] : in.timings.items()) t[k] = v;
  t["measure"] = measure;  // all windows' forward passes together, whoever ran them
  t["tokens_per_second"] = plan.windows.total_tokens / std::max(measure, 1e-9);
  t["forward"] = {{"total", f_total},
                  {"weight_conversion", f_convert},
                  {"matmul", f_matmul},
                  {"attention", f_attention},
                  {"lm_head", f_lm}};
  t["assemble"] = t_assemble;
  t["analysis"] = t_analysis;
  t["provenance"] = seconds_since(t0);
  t["total_seconds"] = seconds_since(in.t_start);
  s["timings"] = t;
  throw_if_interrupted();
  write_file_atomic((run / "summary.json").string(), s.dump(2) + "\n");
  in.log("study: " + out.decision + ": " + std::to_string(out.heads_passing) + " of " + std::to_string(out.heads) +
         " heads pass (need " + std::to_string(out.required_heads) + ")");

  // 4b. Report (derived from the files above; `spectra report RUN_DIR` redoes it).
  if (in.report) {
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
  return out;
}

}  // namespace spectra::study
