#pragma once
// One measurement: query head `head` of layer `layer` at position `pos` of
// document `doc`. This record is the contract between the engine's
// measurement writer and everything downstream (stats, analyze, report).
//
// Record version 2 (written since issue #14). On disk (tuples.npy) it is a
// NumPy structured array, little-endian, packed, 60 bytes a row, fields in
// this order:
//   doc <i4, layer <i4, head <i4, kv_head <i4, pos <i4, token <i4,
//   q_norm <f4, entropy <f4, sink_mass <f4, max_attn <f4,
//   entropy_fixed_norm <f4, neg_var_score <f4, max_score <f4, logsumexp <f4,
//   k_budget <f4
// The float columns after `token` are engine::kHeadProbeFields, in its order
// (engine/probe.hpp gives their exact meanings). tuples.csv has the same
// columns with a header line. Rows are ordered by doc, then layer, then head,
// then pos. A statistic the engine did not measure is NaN (k_budget, an exact
// integer when measured, is NaN when the budget statistic was off).
//
// Record version 1 (files written before issue #14): the first ten columns
// only, 40 bytes a row. TupleReader still reads it (tuple_file.hpp); its rows
// come back as version-2 rows with NaN in the five newer columns.
#include <cstdint>

namespace spectra {

struct TupleRow {
  int32_t doc;
  int32_t layer;
  int32_t head;
  int32_t kv_head;
  int32_t pos;
  int32_t token;
  float q_norm;     // ||q||_2 after RoPE
  float entropy;    // nats, of the causal attention row
  float sink_mass;  // attention weight on position 0
  float max_attn;   // largest attention weight in the row
  // Record version 2 (issue #14), see engine::HeadProbe:
  float entropy_fixed_norm;  // H of the row with ||q|| replaced by the head's reference norm
  float neg_var_score;       // -Var_p(s) = dH/d ln||q||
  float max_score;           // max_j s_j
  float logsumexp;           // log sum_j e^{s_j}
  float k_budget;            // smallest k whose k largest weights sum to >= P (integer; NaN: not measured)
};
static_assert(sizeof(TupleRow) == 60, "TupleRow must be packed: it is the on-disk layout");

// The version-1 record (40 bytes): what files written before issue #14 hold.
struct TupleRowV1 {
  int32_t doc, layer, head, kv_head, pos, token;
  float q_norm, entropy, sink_mass, max_attn;
};
static_assert(sizeof(TupleRowV1) == 40, "TupleRowV1 must be packed: it is the old on-disk layout");

inline constexpr int kTupleRecordVersion = 2;
inline constexpr int kTupleColumnsV1 = 10;
inline constexpr int kTupleColumnsV2 = 15;

}  // namespace spectra
