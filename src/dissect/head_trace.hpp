#pragma once
// One attention head, step by step, for a short input: `spectra trace`.
//
// trace_head() runs the independent double-precision reference forward pass
// (reference_forward.hpp) up to the chosen layer, then, for the chosen head,
// spells out every step: q and k after RoPE and their norms, the scaled
// scores q·k/√d under the causal mask, the softmax probabilities, and each
// row's entropy, sink mass and largest weight, and the issue-#14 statistics
// (fixed-norm entropy, −Var_p(s), max score, logsumexp, attention budget
// k_P). For every head of the layer it keeps ‖q‖, H (the per-head correlation
// demo) and the #14 statistics. Then it runs the engine's fused kernel (fp32)
// on the same tokens, collects every statistic of the layer through an
// Observer, and reports the largest differences: the cross-check passes when
// all stay within the tolerance (k_P exactly, but for rows whose reference
// cumulative mass is within the tolerance of P at the boundary, where one
// key either way is allowed and counted).
//
//   auto tr = spectra::dissect::trace_head(model, ids, {.layer = 2, .head = 5});
//   if (!tr.check.passed) ...   // the CLI exits non-zero
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "formats/model_desc.hpp"
#include "formats/weights.hpp"

namespace spectra::dissect {

inline constexpr int64_t kMaxTraceTokens = 512;

struct TraceOptions {
  int layer = 0;
  int head = 0;
  double tolerance = 1e-4;  // q_norm relative error and entropy absolute error
  int threads = 0;          // engine threads (0: all cores)
  bool run_engine = true;   // false: reference only, no cross-check
  float budget_mass = 0.9f; // P of k_budget (reference and engine)
  // Test-only: the reference rotates with this layout instead of the model's
  // (the cross-check must then fail).
  std::optional<RopeLayout> reference_rope_layout;
};

// Engine (fused, fp32) against the reference, over every head of the layer.
struct CrossCheck {
  bool ran = false;
  bool passed = false;
  double tolerance = 0;
  std::string engine_precision;
  double max_q_norm_rel = 0;      // max over heads and positions of |Δ‖q‖| / ‖q‖_ref
  double max_entropy_abs = 0;     // max |ΔH| in nats
  double max_sink_abs = 0;        // informative: |Δ sink mass|
  double max_max_attn_abs = 0;    // informative: |Δ max weight|
  int q_norm_worst_head = -1, entropy_worst_head = -1;
  int64_t q_norm_worst_pos = -1, entropy_worst_pos = -1;
  double head_q_norm_rel = 0, head_entropy_abs = 0;  // the traced head only
  // Issue #14, every head of the layer: H_fix absolute (nats); −Var_p(s),
  // max score and logsumexp relative to max(1, |reference|); k_P: rows that
  // differ beyond the boundary ambiguity (must be 0) and rows within it.
  double max_fixed_entropy_abs = 0, max_neg_var_rel = 0, max_max_score_rel = 0, max_logsumexp_rel = 0;
  int64_t k_budget_mismatch = 0, k_budget_ambiguous = 0;
};

struct HeadTrace {
  // What was traced.
  std::string model_name;
  int n_layers = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0;
  int layer = 0, head = 0, kv_head = 0;
  RopeLayout rope_layout = RopeLayout::HalfSplit;  // layout the reference used
  bool rope_layout_overridden = false;
  std::vector<int32_t> tokens;
  std::vector<std::string> token_text;  // display form; "#ID" without a tokenizer
  int64_t n = 0;

  // The traced head, step by step (reference, double precision).
  std::vector<double> q, k;           // [n][head_dim], after RoPE
  std::vector<double> q_norm, k_norm; // [n]
  std::vector<double> scores;         // [n][n], q_t·k_j/√d; NaN where masked (j > t)
  std::vector<double> probs;          // [n][n], softmax of each row; 0 where masked
  std::vector<double> entropy;        // [n] nats, logsumexp(s) − Σ p s
  std::vector<double> sink_mass;      // [n] p[t][0]
  std::vector<double> max_attn;       // [n] max_j p[t][j]
  std::vector<int64_t> argmax;        // [n] the j of max_attn
  // Issue #14 for the traced head (reference): H of softmax(s·c/‖q‖) with c =
  // ref_norm (the head's mean ‖q‖ over positions ≥ kRefNormSkip), −Var_p(s),
  // max_j s_j, log Σ e^{s_j}, and the fewest keys holding mass ≥ budget_mass.
  double ref_norm = 0;
  float budget_mass = 0.9f;
  std::vector<double> entropy_fixed_norm, neg_var_score, max_score, logsumexp, k_budget;  // [n]

  // Every query head of the layer (reference): ‖q‖ and H per position, and
  // Pearson r across the positions (NaN when undefined).
  std::vector<std::vector<double>> layer_q_norm, layer_entropy;  // [n_heads][n]
  std::vector<double> layer_r;                                   // [n_heads], positions ≥ 1
  std::vector<std::vector<double>> layer_fixed_entropy, layer_neg_var, layer_max_score, layer_logsumexp,
      layer_k_budget;                                            // [n_heads][n], reference

  // The engine's values for the layer (empty when the engine did not run).
  std::vector<std::vector<float>> engine_q_norm, engine_entropy, engine_sink, engine_max_attn;  // [n_heads][n]
  std::vector<std::vector<float>> engine_fixed_entropy, engine_neg_var, engine_max_score, engine_logsumexp,
      engine_k_budget;  // [n_heads][n]
  CrossCheck check;

  double score(int64_t t, int64_t j) const { return scores[t * n + j]; }
  double prob(int64_t t, int64_t j) const { return probs[t * n + j]; }
};

// Throws spectra::Error for a bad layer/head, an empty input or more than
// kMaxTraceTokens tokens. token_text may be empty (ids are shown).
HeadTrace trace_head(const Model& model, std::span<const int32_t> tokens, const TraceOptions& opt,
                     const std::vector<std::string>& token_text = {});

// Pearson r of two equal-length series (NaN if either is constant or n < 3).
double pearson_r(std::span<const double> x, std::span<const double> y);

// The terminal summary: header, cross-check verdict and one line per row
// (token, ‖q‖, H, sink, top-attended tokens); at most max_rows rows (the
// first and last ones) — the CSV files have everything.
std::string trace_summary(const HeadTrace& tr, int max_rows = 64, int top_k = 3);

// OUT_DIR: tokens.csv (per position), q.csv, k.csv, scores.csv,
// attention.csv, layer_heads.csv, correlation.csv, check.json, and the
// figures attention_L<l>_H<h>.{png,svg} and correlation_L<l>.{png,svg}.
// Returns the figure base names.
std::vector<std::string> write_trace_output(const HeadTrace& tr, const std::string& out_dir,
                                            const std::string& gnuplot = "gnuplot");

}  // namespace spectra::dissect
