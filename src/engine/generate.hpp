#pragma once
// Greedy generation with a KV cache: the prompt is prefilled in one forward
// call, then one token per call. Use an Engine built with
// weights = WeightsMode::Resident (weights converted once, not per step).
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/forward.hpp"

namespace spectra::engine {

struct GenerateOptions {
  int max_new_tokens = 32;
  bool stop_at_eos = true;
  std::function<void(int32_t)> on_token;  // called for each new token as it is produced
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // the new tokens only
  double prefill_seconds = 0, decode_seconds = 0;
  double decode_tokens_per_s() const;
};

GenerateResult generate_greedy(Engine& engine, std::span<const int32_t> prompt, const GenerateOptions& opt);

// Index of the largest value (first one on ties).
int32_t argmax(std::span<const float> v);

}  // namespace spectra::engine
