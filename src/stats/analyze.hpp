#pragma once
// The whole analysis of a run: every head's statistics from the tuples, the
// decision, and the run-folder outputs. Used by the study (after measuring)
// and by `spectra analyze RUN_DIR` (from the saved tuples alone).
//
// Scale: the tuple file is mapped, never copied; heads are gathered one at a
// time per thread and processed in parallel (OpenMP, dynamic schedule). Each
// head's computation is sequential and seeded from (seed, layer, head), so
// results are identical for any thread count. Memory ≈ the index (one record
// per (doc, layer, head) run) + one gathered head per thread + per-head
// summaries; a 50 × 4096 × 1024-head study needs well under 1 GB beyond the
// page cache of the mapped file. Measured (2 cores, K = 100): 50 documents ×
// 4096 tokens × 256 heads (52M rows, 2.1 GB) took 35 s of CPU; the resident
// set (2.1 GB) is the mapped file's clean, reclaimable pages.
// The issue-#14 analyses (mechanism.hpp, budget.hpp) roughly double the CPU
// time when their columns are measured (measured: 20 documents × 2048 tokens
// × 32 heads, 1.4 s → 2.8 s on 2 cores) and cost nothing otherwise. A tuple
// file of record version 1 is copied into memory as version-2 rows (1.5× its
// size) instead of being mapped.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "observers/tuple.hpp"
#include "stats/analysis_config.hpp"
#include "stats/budget.hpp"
#include "stats/decision.hpp"
#include "stats/head_statistics.hpp"
#include "stats/mechanism.hpp"
#include "stats/mechanism_tables.hpp"
#include "stats/run_tables.hpp"

namespace spectra::stats {

struct AnalysisResult {
  AnalysisConfig config;
  std::vector<HeadStats> heads;   // ordered by (layer, head)
  std::vector<MechanismStats> mechanism;  // per head, same order (issue #14, mechanism.hpp)
  std::vector<BudgetStats> budget;        // per head, same order (issue #14, budget.hpp)
  std::vector<int32_t> docs;      // doc ids, ascending
  std::vector<int64_t> doc_tokens;
  std::vector<std::string> doc_source_file;  // per doc index: its source group's name
  std::vector<uint32_t> doc_group;           // per doc index: source group 0..G−1
  std::vector<uint8_t> doc_half;             // per doc index: 0 = half A, 1 = half B
  uint64_t rows = 0, rows_analysed = 0, rows_early = 0, rows_nonfinite = 0;
  Decision decision;
};

// source_name is used in error messages (the tuple file's path). meta
// (indexed by doc id, may be null) gives each document's source; windows of
// one source file ("FILE" and "FILE#wN") form one independent document for
// criteria.min_documents and the split halves. Without a source, each doc id
// is its own source.
AnalysisResult analyze_tuples(std::span<const TupleRow> rows, const AnalysisConfig& cfg,
                              const std::string& source_name, const std::vector<DocMeta>* meta = nullptr);

// The source file of a document source label: "FILE#wN" → "FILE".
std::string source_file_of(const std::string& source);

// decision_json plus a "data" block (rows, rows_analysed, excluded rows,
// documents, heads).
nlohmann::ordered_json analysis_json(const AnalysisResult& result);

// Writes DIR/heads.csv, DIR/layers.csv, DIR/docs.csv, DIR/head_docs.csv,
// DIR/decision.json and the issue-#14 tables DIR/mechanism.csv,
// DIR/mechanism_layers.csv, DIR/budget.csv, DIR/budget_layers.csv
// (mechanism_tables.hpp) atomically. meta may be null.
void write_analysis(const std::string& dir, const AnalysisResult& result, const std::vector<DocMeta>* meta);

// `spectra analyze`: reads RUN_DIR/tuples.npy (or .csv) and, if present,
// RUN_DIR/config.toml ([analysis], [criteria]; else defaults), keeps the
// metadata of an existing RUN_DIR/docs.csv, recomputes everything and writes
// the outputs to out_dir (RUN_DIR when empty). Overrides apply after the file.
struct AnalyzeOverrides {
  std::optional<uint64_t> seed;
  std::optional<int> permutations;
  std::optional<int> threads;
};
AnalysisResult analyze_run(const std::string& run_dir, const std::string& out_dir, const AnalyzeOverrides& overrides);

}  // namespace spectra::stats
