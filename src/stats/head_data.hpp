#pragma once
// Gathering one head's measurements from the (mapped) tuple rows.
//
// build_tuple_index scans the rows once and records, for every (layer, head),
// the runs of consecutive rows that belong to one document. With the engine's
// order (doc, layer, head, pos) that is one run per document and head; any
// other order still works (more, shorter runs). Memory: one small record per
// run, never a copy of the rows.
//
// gather_head collects a head's rows with pos ≥ min_position and finite
// q_norm and entropy, grouped by document (ascending doc id) and ordered by
// position inside each document. The issue-#14 columns (entropy_fixed_norm,
// neg_var_score, k_budget) come along as they are (NaN when not measured,
// e.g. a record-version-1 file); k_prev is the k_budget of the row at
// position pos − 1 of the same document and head (before the min_position
// cut; NaN when that row is absent or not measured). Duplicate (doc, pos) rows and a kv_head that
// changes within a head are errors naming the file and the row.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "observers/tuple.hpp"

namespace spectra::stats {

struct HeadId {
  int32_t layer = 0, head = 0, kv_head = 0;
};

struct TupleIndex {
  struct Run {
    uint64_t begin;  // first row
    uint64_t count;
    uint32_t doc;    // dense document index (into docs)
  };
  std::vector<HeadId> heads;              // sorted by (layer, head)
  std::vector<std::vector<Run>> runs;     // per head, sorted by (doc, begin)
  std::vector<int32_t> docs;              // distinct doc ids, ascending
  std::vector<int64_t> doc_tokens;        // per doc: largest pos seen + 1 (any head)
  uint64_t rows = 0;
};

TupleIndex build_tuple_index(std::span<const TupleRow> rows, const std::string& file);

struct HeadData {
  HeadId id;
  std::vector<size_t> doc_offsets;  // per doc index (all docs of the index) + end
  std::vector<int32_t> pos;
  std::vector<double> q_norm, entropy, sink_mass;
  std::vector<double> entropy_fixed, neg_var, k_budget, k_prev;  // issue #14 columns (NaN: not measured)
  uint64_t dropped_nonfinite = 0;   // rows at pos ≥ min_position with NaN/inf q_norm or entropy
  uint64_t dropped_early = 0;       // rows at pos < min_position
  size_t docs() const { return doc_offsets.size() - 1; }
  size_t size() const { return pos.size(); }
};

HeadData gather_head(std::span<const TupleRow> rows, const TupleIndex& index, size_t head_index,
                     int32_t min_position, const std::string& file);

}  // namespace spectra::stats
