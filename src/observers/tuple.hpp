#pragma once
// One measurement: query head `head` of layer `layer` at position `pos` of
// document `doc`. This record is the contract between the engine's
// measurement writer and everything downstream (stats, analyze, report).
//
// On disk (tuples.npy) it is a NumPy structured array, little-endian, packed,
// 40 bytes a row, fields in this order:
//   doc <i4, layer <i4, head <i4, kv_head <i4, pos <i4, token <i4,
//   q_norm <f4, entropy <f4, sink_mass <f4, max_attn <f4
// tuples.csv has the same columns with a header line.
// Rows are ordered by doc, then layer, then head, then pos.
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
};
static_assert(sizeof(TupleRow) == 40, "TupleRow must be packed: it is the on-disk layout");

}  // namespace spectra
