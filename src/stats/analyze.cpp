// The analysis driver: index, parallel per-head statistics, decision and
// outputs; see analyze.hpp.
#include "stats/analyze.hpp"

#include <omp.h>

#include <exception>
#include <filesystem>
#include <map>
#include <set>

#include "observers/tuple_file.hpp"
#include "stats/head_data.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

namespace spectra::stats {

std::string source_file_of(const std::string& source) {
  const size_t at = source.rfind("#w");
  if (at == std::string::npos || at + 2 >= source.size()) return source;
  for (size_t i = at + 2; i < source.size(); ++i)
    if (source[i] < '0' || source[i] > '9') return source;
  return source.substr(0, at);
}

AnalysisResult analyze_tuples(std::span<const TupleRow> rows, const AnalysisConfig& cfg,
                              const std::string& source_name, const std::vector<DocMeta>* meta) {
  AnalysisResult res;
  res.config = cfg;
  res.rows = rows.size();
  const TupleIndex index = build_tuple_index(rows, source_name);
  res.docs = index.docs;
  res.doc_tokens = index.doc_tokens;
  {  // source groups and split halves
    std::map<std::string, uint32_t> group_of;
    for (int32_t doc : res.docs) {
      std::string src;
      if (meta && doc >= 0 && static_cast<size_t>(doc) < meta->size()) src = source_file_of((*meta)[doc].source);
      if (src.empty()) src = "doc " + std::to_string(doc);
      auto it = group_of.emplace(src, static_cast<uint32_t>(group_of.size())).first;
      res.doc_source_file.push_back(src);
      res.doc_group.push_back(it->second);
    }
    res.doc_half = split_halves(res.doc_group, cfg.seed);
  }
  const size_t H = index.heads.size();
  res.heads.resize(H);
  res.mechanism.resize(H);
  res.budget.resize(H);
  std::vector<std::exception_ptr> errors(H);
  std::vector<uint64_t> early(H), nonfinite(H);
  const int threads = cfg.threads > 0 ? cfg.threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (size_t h = 0; h < H; ++h) {
    try {
      HeadData d = gather_head(rows, index, h, cfg.min_position, source_name);
      early[h] = d.dropped_early;
      nonfinite[h] = d.dropped_nonfinite;
      res.heads[h] = compute_head_statistics(d, cfg, res.doc_half);
      res.mechanism[h] = compute_mechanism(d, cfg);
      res.budget[h] = compute_budget(d, cfg, res.doc_half);
    } catch (...) {
      errors[h] = std::current_exception();
    }
  }
  for (auto& e : errors)  // the first failing head in (layer, head) order
    if (e) std::rethrow_exception(e);
  for (size_t h = 0; h < H; ++h) {
    res.rows_early += early[h];
    res.rows_nonfinite += nonfinite[h];
    res.rows_analysed += res.heads[h].n;
  }
  // Independent documents: source groups with at least one document that has
  // min_doc_positions analysed positions in some head.
  std::set<uint32_t> groups;
  for (size_t k = 0; k < res.docs.size(); ++k)
    for (const auto& h : res.heads)
      if (k < h.doc_n.size() && h.doc_n[k] >= static_cast<size_t>(cfg.min_doc_positions)) {
        groups.insert(res.doc_group[k]);
        break;
      }
  res.decision = decide(res.heads, cfg, groups.size());
  return res;
}

nlohmann::ordered_json analysis_json(const AnalysisResult& r) {
  nlohmann::ordered_json j = decision_json(r.decision, r.heads, r.config);
  j["data"] = {{"rows", r.rows},
               {"rows_analysed", r.rows_analysed},
               {"rows_before_min_position", r.rows_early},
               {"rows_nonfinite", r.rows_nonfinite},
               {"documents", r.docs.size()},
               {"heads", r.heads.size()}};
  return j;
}

void write_analysis(const std::string& dir, const AnalysisResult& r, const std::vector<DocMeta>* meta) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  write_file_atomic((fs::path(dir) / "heads.csv").string(), heads_csv(r.heads));
  write_file_atomic((fs::path(dir) / "layers.csv").string(), layers_csv(r.heads));
  write_file_atomic((fs::path(dir) / "docs.csv").string(),
                    docs_csv(r.heads, r.docs, r.doc_tokens, r.config, meta, r.doc_source_file, r.doc_half));
  write_file_atomic((fs::path(dir) / "head_docs.csv").string(), head_docs_csv(r.heads, r.docs));
  write_file_atomic((fs::path(dir) / "decision.json").string(), analysis_json(r).dump(2) + "\n");
  write_file_atomic((fs::path(dir) / "mechanism.csv").string(), mechanism_csv(r.heads, r.mechanism));
  write_file_atomic((fs::path(dir) / "mechanism_layers.csv").string(), mechanism_layers_csv(r.heads, r.mechanism));
  write_file_atomic((fs::path(dir) / "budget.csv").string(), budget_csv(r.heads, r.budget));
  write_file_atomic((fs::path(dir) / "budget_layers.csv").string(), budget_layers_csv(r.heads, r.budget));
}

AnalysisResult analyze_run(const std::string& run_dir, const std::string& out_dir, const AnalyzeOverrides& ov) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(run_dir)) fail_file(run_dir, "not a run folder");
  const std::string cfg_path = (fs::path(run_dir) / "config.toml").string();
  AnalysisConfig cfg = fs::exists(cfg_path) ? AnalysisConfig::from_toml_file(cfg_path) : AnalysisConfig{};
  if (ov.seed) cfg.seed = *ov.seed;
  if (ov.permutations) cfg.permutations = *ov.permutations;
  if (ov.threads) cfg.threads = *ov.threads;
  const std::string out = out_dir.empty() ? run_dir : out_dir;
  const std::vector<DocMeta> meta = read_doc_meta((fs::path(run_dir) / "docs.csv").string());
  TupleReader reader(find_tuple_file(run_dir));
  AnalysisResult r = analyze_tuples(reader.rows(), cfg, reader.path(), meta.empty() ? nullptr : &meta);
  write_analysis(out, r, meta.empty() ? nullptr : &meta);
  return r;
}

}  // namespace spectra::stats
