#pragma once
// What `spectra inspect` reports about a model: the description, GQA group,
// parameter counts by component, storage types per weight kind, files and
// sizes. As JSON (machine-readable) or as a human-readable text table.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/weights.hpp"

namespace spectra {

struct ParamCounts {
  int64_t embedding = 0;  // token embedding
  int64_t attention = 0;  // q, k, v, o (+ q/k/v biases)
  int64_t mlp = 0;        // gate, up, down
  int64_t norms = 0;      // attention, FFN and output RMSNorm weights
  int64_t output = 0;     // untied output projection (0 when tied)
  int64_t total() const { return embedding + attention + mlp + norms + output; }
};

ParamCounts count_parameters(const Model& m);
// Per weight kind (in WeightKind order): storage type name -> number of tensors.
std::vector<std::pair<WeightKind, std::map<std::string, int>>> dtypes_by_kind(const Model& m);

nlohmann::json summary_json(const Model& m);
std::string summary_text(const Model& m);

}  // namespace spectra
