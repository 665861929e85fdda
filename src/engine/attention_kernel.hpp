#pragma once
// Causal multi-head attention, computed blockwise per (query head, query
// block) in the flash-attention manner, with the probe statistics fused in.
// For every query row the kernel keeps a running max m, l = Σ e^{s−m} and
// a = Σ e^{s−m}(s−m) over the key blocks it has seen; at the end
//   H = log l − a/l            (nats, = logsumexp(s) − Σ p·s, exactly)
//   p0 = e^{s0 − m}/l          (sink mass),  max_attn = 1/l.
// The issue-#14 statistics (fixed-norm entropy, −Var_p(s), max score,
// logsumexp, attention budget k_P) are more accumulators of the same pass:
// engine/row_stats.hpp, shared by the fp32 and bf16 kernels.
// Memory is O(block sizes) per thread; the T×T matrix is never formed. The
// one exception is k_P (exact): it keeps the current query block's softmax
// numerators p (relative to the running max after each key block, reused by
// the selection instead of a second exp) against all its keys, and that
// max per key block, O(bq × T) floats per thread (fp32 kernel:
// bq = 96 → 384 B per key, 1.5 MB at T = 4096, 12 MB at 32K; bf16 kernel:
// bq = 128 → 512 B per key), plus O(T) selection scratch. The fp32 kernel
// also packs Kᵀ and V once per call for all heads (one more copy of each:
// 4 B per key per KV dimension, V's rows padded to a multiple of 16).
// Query row i sits at absolute position pos0 + i and sees keys 0..pos0 + i.
// GQA: query head h reads KV head h / (n_heads / n_kv_heads).
#include <cstdint>

namespace spectra::engine {

struct AttnShape {
  int n_heads = 0, n_kv_heads = 0, head_dim = 0;
};

struct AttnIO {
  int64_t T = 0;     // query rows
  int64_t pos0 = 0;  // absolute position of row 0 (keys 0..pos0+T-1 must exist)
  const float* q = nullptr;  // [T][ldq], head h at column h*head_dim (after RoPE)
  int64_t ldq = 0;
  const float* k = nullptr;  // [pos0+T][ldkv], KV head g at column g*head_dim
  const float* v = nullptr;
  int64_t ldkv = 0;
  float* out = nullptr;  // [T][ldo] attention output, head h at column h*head_dim
  int64_t ldo = 0;
};

// Per-(head, row) statistics, each array indexed [head * ld + row]. Any
// output pointer may be null (not wanted). The meaning of each is that of the
// HeadProbe field of the same name (probe.hpp).
struct AttnStats {
  float* q_norm = nullptr;
  float* entropy = nullptr;
  float* sink_mass = nullptr;
  float* max_attn = nullptr;
  int64_t ld = 0;
  // Issue #14.
  float* entropy_fixed_norm = nullptr;  // needs ref_norm (NaN without it)
  float* neg_var_score = nullptr;
  float* max_score = nullptr;
  float* logsumexp = nullptr;
  float* k_budget = nullptr;            // NaN when !budget
  // Inputs: the reference norm c_h of each query head ([n_heads]; the
  // fixed-norm entropy uses β = c_h/‖q_t‖), the budget mass P and whether
  // k_budget is computed.
  const float* ref_norm = nullptr;
  float budget_mass = 0.9f;
  bool budget = true;
};

// The fp32 kernel's instruction set: chosen at run time (Auto), or forced
// (tests; a CPU without the set is an error).
enum class KernelIsa { Auto, Avx512, Avx2Fma, Baseline };

struct AttnBlocking {
  int bq = 96;   // query rows per work item (fp32 kernel: row groups of 6)
  int bk = 256;  // keys per block (fp32 kernel: rounded up to a multiple of 16)
  KernelIsa isa = KernelIsa::Auto;
  // bf16 path: QKᵀ and PV as small oneDNN bf16 matmuls (fp32 accumulation,
  // statistics in fp32/double as before); uses bq_bf16 / bk_bf16.
  bool bf16 = false;
  int bq_bf16 = 128;
  int bk_bf16 = 512;
};

// stats == nullptr: statistics off (the probe-cost baseline).
void attention_blocked(const AttnShape& shape, const AttnIO& io, const AttnStats* stats,
                       AttnBlocking blocking = {});

// The bf16 path (attention_bf16.cpp); attention_blocked calls it when b.bf16.
void attention_blocked_bf16(const AttnShape& shape, const AttnIO& io, const AttnStats* stats, AttnBlocking blocking);

// Reference: full softmax per row in double precision, entropy as −Σ p log p,
// every statistic from the materialised row (k_P by sorting it).
void attention_reference(const AttnShape& shape, const AttnIO& io, const AttnStats* stats);

}  // namespace spectra::engine
