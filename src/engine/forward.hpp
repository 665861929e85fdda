#pragma once
// The instrumented forward pass. Engine::forward runs a window of tokens
// through every layer: RMSNorm → Q/K/V matmuls → RoPE → blocked attention with
// fused statistics (handed to the Observer) → output projection → SwiGLU MLP,
// then the final norm and the output projection in vocabulary chunks, with the
// next-token NLL computed on the fly (logsumexp per row). The residual stream
// and norms are fp32; matmuls run in bf16 (fp32 accumulation) or fp32.
//
//   auto model = spectra::open_model(path);
//   spectra::engine::Engine eng(*model, {});          // bf16 if the CPU has it
//   auto r = eng.forward(tokens, {.observer = &obs});  // r.nll, r.mean_nll()
#include <cmath>
#include <cstdint>
#include <string>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "engine/attention_kernel.hpp"
#include "engine/cpu.hpp"
#include "engine/kv_cache.hpp"
#include "engine/probe.hpp"
#include "engine/weights_mode.hpp"
#include "formats/weights.hpp"

namespace spectra::engine {

struct EngineOptions {
  Precision precision = Precision::Auto;  // resolved against the CPU
  int threads = 0;                        // 0: all cores
  // Streaming (default): each layer converted when the pass reaches it;
  // Resident: all converted once (generation, multi-window runs); Auto:
  // resident when the converted model fits in memory (weights_mode.hpp),
  // judged for a window of window_tokens_hint tokens (0: the model's
  // context, else 4096). Engine::weights_mode() is the resolved mode.
  WeightsMode weights = WeightsMode::Streaming;
  int64_t window_tokens_hint = 0;
  AttnBlocking blocking{};
  int64_t logits_chunk_floats = int64_t{32} << 20;  // bound on one lm-head chunk (rows × vocab rows)
  // Chunked prefill: each layer runs over the window in query chunks of at
  // most this many rows against the keys/values of everything before, so
  // activations are O(chunk × width) and only one layer's K/V (T × kv width)
  // is kept. The statistics are per query row and do not depend on it.
  int64_t prefill_chunk = 4096;
  // The attention-budget statistic k_budget (HeadProbe): the mass P it
  // covers (0 < P < 1, checked by the constructor), and whether it is
  // computed at all (off: k_budget is NaN, and the kernel keeps no raw score
  // rows: see attention_kernel.hpp for its memory).
  float budget_mass = 0.9f;
  bool budget_stat = true;
  // Called after each layer with (layers done, total layers), on the thread
  // that called forward(), outside any parallel region. It is also the
  // cancellation point: an exception thrown from it stops the pass and
  // propagates out of forward(); the Engine stays usable (the study's Ctrl-C
  // and the Python module's KeyboardInterrupt work this way).
  std::function<void(int, int)> progress;
};

struct ForwardOptions {
  Observer* observer = nullptr;  // may be null: statistics off
  bool keep_logits = false;      // keep all rows' logits (T × vocab)
  bool last_logits_only = false; // only the last row (generation; no NLL)
  bool compute_nll = true;
};

struct ForwardTimings {
  double total = 0, convert = 0, matmul = 0, attention = 0, lm_head = 0;
};

struct ForwardResult {
  int64_t pos0 = 0, n = 0;      // positions of this call
  std::vector<double> nll;      // nll[i] = −log p(token[i+1] | ≤ i), i < n−1
  std::vector<float> logits;    // keep_logits: n × vocab; last_logits_only: vocab
  ForwardTimings time;
  double mean_nll() const;      // NaN when empty
  double perplexity() const { return std::exp(mean_nll()); }
};

class Engine {
 public:
  Engine(const Model& model, const EngineOptions& opt);
  ~Engine();
  const ModelDesc& desc() const;
  Precision precision() const;  // resolved
  int threads() const;
  std::string precision_note() const;  // why bf16 was not used, if so
  WeightsMode weights_mode() const;    // resolved: Resident or Streaming
  const WeightsDecision& weights_decision() const;  // why, with the bytes
  // Run tokens at positions cache->size() .. (0 without a cache). With a
  // cache, K/V are appended and earlier positions are attended to.
  ForwardResult forward(std::span<const int32_t> tokens, const ForwardOptions& fo, KVCache* cache = nullptr);
  // Throw spectra::Error naming the first id outside [0, vocab).
  void validate_tokens(std::span<const int32_t> tokens) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace spectra::engine
