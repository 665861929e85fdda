// Stage 1: configuration, model, corpus, windows, and the plan's fingerprint
// (see study_plan.hpp).
#include "study/study_plan.hpp"

#include <chrono>
#include <filesystem>
#include <algorithm>
#include <map>
#include <sstream>

#include "engine/cpu.hpp"
#include "engine/forward.hpp"
#include "study/provenance.hpp"
#include "study/run_folder.hpp"
#include "study/study_paths.hpp"
#include "tokenizer/tokenizer.hpp"
#include "util/error.hpp"

namespace spectra::study {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string absolute(const std::string& p) {
  std::error_code ec;
  auto a = fs::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

// The configuration keys that decide the numbers: everything but the output
// folder and the statistics' thread count (the analysis gives identical
// results for any; the forward pass's rounding does depend on its threads).
// `weights` is left out too: the requested mode changes no number, the
// resolved one is a fingerprint key of its own (study_plan.hpp).
std::string canonical_config(const StudyConfig& c) {
  StudyConfig k = c;
  k.out.clear();
  k.analysis.threads = 0;
  std::istringstream in(to_toml(k));
  std::string out, l;
  while (std::getline(in, l))
    if (l.rfind("weights = ", 0) != 0) out += l + "\n";
  return out;
}

// Model files without their path; the mtime only where the whole file is not
// hashed (a large model's weights are identified by size, mtime and metadata).
json model_fingerprint(const std::string& model_path) {
  json p = model_provenance(model_path);
  json files = json::array();
  for (const auto& f : p["files"]) {
    json e = json::object();
    for (const auto& [k, v] : f.items())
      if (k != "mtime" || !f.contains("sha256")) e[k] = v;
    files.push_back(e);
  }
  return {{"format", p["format"]}, {"files", files}};
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l))
    if (!l.empty()) out.push_back(l);
  return out;
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

StudyPlan plan_study(const StudyConfig& cfg_in, const LogFn& log, const LogFn& warn_fn) {
  StudyPlan plan;
  auto warn = [&](const std::string& w) {
    plan.warnings.push_back(w);
    warn_fn(w);
  };
  StudyConfig c = resolve_defaults(cfg_in);
  auto t0 = Clock::now();
  plan.model = open_model(c.model);
  const ModelDesc& desc = plan.model->desc();
  plan.seconds_open_model = seconds_since(t0);
  log("study: model " + c.model + " (" + desc.architecture + ", " + std::to_string(desc.n_layers) + " layers x " +
      std::to_string(desc.n_heads) + " heads, context " + std::to_string(desc.max_context) + ")");
  if (desc.max_context > 0 && c.context > desc.max_context) {
    warn("context " + std::to_string(c.context) + " exceeds the model's maximum " + std::to_string(desc.max_context) +
         "; using " + std::to_string(desc.max_context));
    c.context = desc.max_context;
  }
  validate(c, "study configuration");

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
  plan.corpus = load_corpus(c.corpus, co);
  for (const auto& w : plan.corpus.warnings) warn(w);
  WindowOptions wo;
  wo.context = c.context;
  wo.mode = c.windows;
  wo.min_tokens = c.min_tokens;
  wo.min_positions = c.analysis.min_position + 3;
  wo.bos_id = add_bos ? desc.bos_id : -1;
  plan.windows = make_windows(plan.corpus.documents, wo);
  for (const auto& w : plan.windows.warnings) warn(w);
  plan.seconds_corpus = seconds_since(t0);
  plan.config = c;
  log("study: corpus: " + std::to_string(plan.corpus.documents.size()) + " documents from " +
      std::to_string(plan.corpus.files) + " files -> " + std::to_string(plan.windows.windows.size()) + " windows, " +
      std::to_string(plan.windows.total_tokens) + " tokens (context " + std::to_string(c.context) + ", windows " +
      to_string(c.windows) + ")");
  return plan;
}

json plan_fingerprint(const StudyPlan& plan) {
  json corpus = json::array();
  for (const auto& f : list_corpus_files(plan.config.corpus)) {
    std::error_code ec;
    corpus.push_back({{"path", f.path},
                      {"bytes", static_cast<uint64_t>(fs::file_size(f.path, ec))},
                      {"sha256", sha256_file(f.path)}});
  }
  Sha256 h;
  for (const auto& w : plan.windows.windows) {
    h.update(w.source.data(), w.source.size() + 1);  // with its terminating NUL as a separator
    const uint64_t n = w.tokens.size();
    h.update(&n, sizeof n);
    h.update(w.tokens.data(), w.tokens.size() * sizeof(int32_t));
  }
  json fp = {{"config", canonical_config(plan.config)},
             {"model", model_fingerprint(plan.config.model)},
             {"corpus", corpus},
             {"windows", {{"count", plan.windows.windows.size()},
                          {"tokens", plan.windows.total_tokens},
                          {"sha256", h.hex()}}}};
  if (plan.weights.mode == engine::WeightsMode::Resident) fp["weights"] = "resident";
  return fp;
}

engine::WeightsDecision resolve_weights(const StudyPlan& plan, const std::string& saved, const engine::MemInfo& mem) {
  const StudyConfig& c = plan.config;
  const engine::WeightsMode requested = engine::parse_weights_mode(c.weights, "weights");
  const bool bf16 = engine::resolve_precision(engine::parse_precision(c.precision)) == engine::Precision::BF16;
  int64_t longest = 0;
  for (const auto& w : plan.windows.windows) longest = std::max<int64_t>(longest, static_cast<int64_t>(w.tokens.size()));
  if (longest == 0) longest = c.context;
  const int threads = c.threads > 0 ? c.threads : engine::hardware_threads();
  const uint64_t converted = engine::converted_weight_bytes(*plan.model, bf16);
  const uint64_t window = engine::window_activation_bytes(plan.model->desc(), longest, engine::EngineOptions{}.prefill_chunk,
                                                          threads, c.budget, bf16);
  if (requested == engine::WeightsMode::Auto && !saved.empty()) {
    engine::WeightsDecision now = engine::decide_weights_mode(engine::WeightsMode::Auto, converted, window, mem);
    engine::WeightsDecision d = now;
    d.mode = engine::parse_weights_mode(saved, "study.json weights");
    d.reason = "auto: resolved to " + saved + " when this run folder was created (study.json); kept so that every "
               "window is measured alike";
    if (d.mode != now.mode) d.reason += " (now it would resolve to " + std::string(engine::to_string(now.mode)) + ": " +
                                        now.reason.substr(std::string("auto: ").size()) + ")";
    return d;
  }
  return engine::decide_weights_mode(requested, converted, window,
                                     requested == engine::WeightsMode::Auto ? mem : engine::MemInfo{});
}

std::vector<std::string> fingerprint_differences(const json& saved, const json& now) {
  std::vector<std::string> d;
  // The resolved weights mode (absent: streaming).
  const std::string ws = saved.value("weights", "streaming"), wn = now.value("weights", "streaming");
  if (ws != wn)
    d.push_back("weights: the windows were measured with " + ws + " weights, this run would use " + wn +
                " (the two round differently in the last bits)");
  // Configuration: name the lines that differ.
  if (saved.value("config", "") != now.value("config", "")) {
    auto a = lines_of(saved.value("config", "")), b = lines_of(now.value("config", ""));
    for (const auto& l : a)
      if (std::find(b.begin(), b.end(), l) == b.end()) d.push_back("configuration: was '" + l + "'");
    for (const auto& l : b)
      if (std::find(a.begin(), a.end(), l) == a.end()) d.push_back("configuration: now '" + l + "'");
  }
  // Model files.
  if (saved.value("model", json()) != now.value("model", json())) {
    std::map<std::string, json> a, b;
    for (const auto& f : saved["model"].value("files", json::array())) a[f.value("name", "")] = f;
    for (const auto& f : now["model"].value("files", json::array())) b[f.value("name", "")] = f;
    bool named = false;
    for (const auto& [name, f] : a) {
      auto it = b.find(name);
      if (it == b.end()) {
        d.push_back("model file " + name + ": no longer present");
        named = true;
        continue;
      }
      for (const auto& [k, v] : f.items())
        if (!it->second.contains(k) || it->second[k] != v) {
          d.push_back("model file " + name + ": " + k + " changed (" + v.dump() + " -> " +
                      (it->second.contains(k) ? it->second[k].dump() : std::string("absent")) + ")");
          named = true;
        }
    }
    for (const auto& [name, f] : b)
      if (!a.count(name)) d.push_back("model file " + name + ": new"), named = true;
    if (!named) d.push_back("model: format or files changed");
  }
  // Corpus files.
  if (saved.value("corpus", json()) != now.value("corpus", json())) {
    std::map<std::string, json> a, b;
    for (const auto& f : saved.value("corpus", json::array())) a[f.value("path", "")] = f;
    for (const auto& f : now.value("corpus", json::array())) b[f.value("path", "")] = f;
    for (const auto& [p, f] : a) {
      auto it = b.find(p);
      if (it == b.end()) d.push_back("corpus file " + p + ": no longer present");
      else if (it->second != f)
        d.push_back("corpus file " + p + ": changed (SHA-256 " + f.value("sha256", "?").substr(0, 12) + "... -> " +
                    it->second.value("sha256", "?").substr(0, 12) + "...)");
    }
    for (const auto& [p, f] : b)
      if (!a.count(p)) d.push_back("corpus file " + p + ": new");
  }
  if (saved.value("windows", json()) != now.value("windows", json())) {
    auto describe = [](const json& w) {
      return std::to_string(w.value("count", 0)) + " windows of " + std::to_string(w.value("tokens", int64_t(0))) +
             " tokens";
    };
    const json a = saved.value("windows", json::object()), b = now.value("windows", json::object());
    d.push_back("windows: " + (describe(a) == describe(b) ? describe(a) + ", with different tokens"
                                                          : describe(a) + " -> " + describe(b)));
  }
  return d;
}

}  // namespace spectra::study
