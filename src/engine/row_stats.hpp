#pragma once
// The per-row online-softmax statistics of the attention kernels, written
// once and used by both the fp32 kernel (attend_item) and the bf16 kernel, so
// the bf16 path runs exactly the code the fp32 tests verify.
//
// For one query row with scores s_j = q·k_j/√d over its causal keys, the
// kernel visits the keys block by block and keeps, relative to the running
// max m (x_j = s_j − m ≤ 0):
//   l  = Σ e^{x}            a  = Σ e^{x}·x          b = Σ e^{x}·x²
//   lf = Σ e^{βx}           af = Σ e^{βx}·βx        (β = c_h/‖q‖, fixed norm)
// When a new block raises the max (δ = m_old − m_new < 0, α = e^{δ}):
//   a' = α(a + δl),  b' = α(b + 2δa + δ²l),  l' = αl
//   af' = α_f(af + βδ·lf),  lf' = α_f·lf,  α_f = e^{βδ}  (max(βs) = β·max(s), β > 0)
// At the end
//   H      = log l − a/l                 entropy (nats)
//   H_fix  = log lf − af/lf              entropy of softmax(β s)
//   Var_p(s) = b/l − (a/l)²             neg_var_score = −Var_p(s) = dH/d ln‖q‖
//   max_score = m,  logsumexp = m + log l,  sink = e^{s0−m}/l,  max_attn = 1/l
// and k_budget from the row's weights p (budget_count_p, exact).
// NaN-honest: a NaN score makes l (and everything derived from it) NaN.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "engine/attention_kernel.hpp"
#include "engine/buffer.hpp"
#include "engine/exp_neg.hpp"

#define SPECTRA_ALWAYS_INLINE __attribute__((always_inline)) inline

namespace spectra::engine::rowstats {

using engine::exp_neg;  // engine/exp_neg.hpp

// Sums of one key block relative to the new running max m.
struct BlockSums {
  float sum = 0, wsum = 0, bsum = 0, fsum = 0, fwsum = 0;
};

// p[j] = e^{s[j]−m} (p may alias s); Σp, Σp·x and, when wanted, Σp·x²
// (Var) and the fixed-norm sums Σe^{βx}, Σe^{βx}·βx (Fix), all in one
// vectorised pass. With β = 1 the fixed-norm sums are bit-identical to
// Σp, Σp·x (same operations, same lanes).
template <bool Var, bool Fix>
SPECTRA_ALWAYS_INLINE void exp_row(const float* s, float m, float beta, float* p, int n, BlockSums& r) {
  float acc = 0.f, wacc = 0.f, bacc = 0.f, facc = 0.f, fwacc = 0.f;
#pragma omp simd reduction(+ : acc, wacc, bacc, facc, fwacc)
  for (int j = 0; j < n; ++j) {
    const float x = s[j] - m;
    const float v = exp_neg(x);
    p[j] = v;
    acc += v;
    wacc = __builtin_fmaf(v, x, wacc);
    if constexpr (Var) bacc = __builtin_fmaf(v * x, x, bacc);
    if constexpr (Fix) {
      const float xf = x * beta;
      const float vf = exp_neg(xf);
      facc += vf;
      fwacc = __builtin_fmaf(vf, xf, fwacc);
    }
  }
  r.sum = acc;
  r.wsum = wacc;
  r.bsum = bacc;
  r.fsum = facc;
  r.fwsum = fwacc;
}

// max_j s[j], n ≥ 1: eight running maxima (element-wise, so it vectorises;
// `omp simd reduction(max)` over std::max stays a scalar chain with GCC).
// max is exact in any order; a NaN score may or may not be the result, and
// either way makes the row's sums NaN.
SPECTRA_ALWAYS_INLINE float block_max(const float* s, int n) {
  float m8[8];
  for (int k = 0; k < 8; ++k) m8[k] = s[0];
  int j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) m8[k] = std::max(m8[k], s[j + k]);
  for (; j < n; ++j) m8[0] = std::max(m8[0], s[j]);
  float m = m8[0];
  for (int k = 1; k < 8; ++k) m = std::max(m, m8[k]);
  return m;
}

// The running state of one query row.
struct RowState {
  float m = -std::numeric_limits<float>::infinity();
  float s0 = 0.f;    // score of key 0 (sink)
  float beta = 1.f;  // c_h / ‖q‖ (fixed-norm temperature)
  double l = 0, a = 0, b = 0, lf = 0, af = 0;
  void reset() { *this = RowState{}; }
};

// Which of the optional accumulators a call needs.
struct RowWants {
  bool var = false, fix = false;
};

// One key block of a row: srow[0..nv) raw scores (nv ≥ 1) → p = e^{s−m_new}
// in place; updates the state. Returns the factor the caller must apply to
// its output accumulator (1 when the max did not change or nothing was
// accumulated yet; the caller may skip the multiply then: *rescale false).
template <bool Var, bool Fix>
SPECTRA_ALWAYS_INLINE float update_row(RowState& r, float* srow, int nv, bool first_block, bool* rescale) {
  if (first_block) r.s0 = srow[0];
  const float bm = block_max(srow, nv);
  const float mold = r.m;
  const float mnew = std::max(mold, bm);
  BlockSums bs;
  exp_row<Var, Fix>(srow, mnew, r.beta, srow, nv, bs);
  float af = 1.f;
  *rescale = false;
  if (mold != mnew) {
    if (r.l > 0) {
      const double delta = static_cast<double>(mold) - mnew;
      const double alpha = std::exp(delta);
      if constexpr (Var) r.b = alpha * (r.b + 2.0 * delta * r.a + delta * delta * r.l);
      r.a = alpha * (r.a + delta * r.l);
      r.l *= alpha;
      if constexpr (Fix) {
        const double bd = static_cast<double>(r.beta) * delta;
        const double alphaf = std::exp(bd);
        r.af = alphaf * (r.af + bd * r.lf);
        r.lf *= alphaf;
      }
      af = static_cast<float>(alpha);
      *rescale = true;
    }
    r.m = mnew;
  }
  r.l += bs.sum;
  r.a += bs.wsum;
  if constexpr (Var) r.b += bs.bsum;
  if constexpr (Fix) {
    r.lf += bs.fsum;
    r.af += bs.fwsum;
  }
  return af;
}

// Dispatch on the runtime wants (4 instantiations).
SPECTRA_ALWAYS_INLINE float update_row(const RowWants& w, RowState& r, float* srow, int nv, bool first_block,
                                       bool* rescale) {
  if (w.var) {
    return w.fix ? update_row<true, true>(r, srow, nv, first_block, rescale)
                 : update_row<true, false>(r, srow, nv, first_block, rescale);
  }
  return w.fix ? update_row<false, true>(r, srow, nv, first_block, rescale)
               : update_row<false, false>(r, srow, nv, first_block, rescale);
}

// ‖q‖ as the kernels report it: double sum of squares, sqrt, rounded to
// float. The reference norm c_h is the mean of these floats.
SPECTRA_ALWAYS_INLINE float q_norm_of(const float* q, int hd) {
  double ss = 0;
  for (int d = 0; d < hd; ++d) ss += static_cast<double>(q[d]) * q[d];
  return static_cast<float>(std::sqrt(ss));
}

// β = c/‖q‖ (double division of the two floats, rounded to float: exactly 1
// when ‖q‖ = c). A zero query has all scores 0 (uniform for any β): β = 1.
SPECTRA_ALWAYS_INLINE float fixed_norm_beta(float c, float qn) {
  if (qn == 0.f) return 1.f;
  return static_cast<float>(static_cast<double>(c) / static_cast<double>(qn));
}

// Scratch of budget_count, per thread: O(T).
struct BudgetScratch {
  Buffer w, sel, cidx, cw;
  int hint = -1;  // the previous row's crossing bucket (a guess for the next row; any value is safe)
};

// k_P of one row (exact): the smallest number of keys whose largest weights
// w_j = e^{s_j − m} sum to ≥ P·Σw. Defined in attention_kernel.cpp (compiled
// per ISA); both kernels call budget_count_p.
//
// budget_count_p: the weights as the kernel already computed them for P·V
// (no second exp): p[j] = e^{s_j − m_b}, m_b = mblk[j / bk] the running max
// after key j's block; scaled to w_j = min(p_j·e^{m_b − m}, 1) on the fly
// (one multiply per key; m = the row's final max). p is only read.
float budget_count_p(const float* p, int64_t n, const float* mblk, int bk, float m, float P, BudgetScratch& scr);
// budget_count: from the row's n raw scores s, m = max_j s_j (w = e^{s−m}).
float budget_count(const float* s, int64_t n, float m, float P, BudgetScratch& scr);

// The k_budget input of one row: the kernel's p values of its nkeys keys
// (in key order) and the running max after each key block of
// bk keys (see budget_count_p). Null p: k_budget not wanted.
struct BudgetRow {
  const float* p = nullptr;
  const float* mblk = nullptr;
  int bk = 1;
};

// Writes the row's statistics (all but q_norm) to st at idx. br: the row's
// k_budget input (nkeys keys; br.p null when k_budget is not wanted).
SPECTRA_ALWAYS_INLINE void finish_row(const RowState& r, const AttnStats& st, int64_t idx, const BudgetRow& br,
                                      int64_t nkeys, BudgetScratch* bscr) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const bool bad = std::isnan(r.l);  // a NaN score: every statistic NaN
  if (st.entropy) {
    const double H = std::log(r.l) - r.a / r.l;
    st.entropy[idx] = static_cast<float>(H < 0.0 ? 0.0 : H);  // rounding below 0 → 0; NaN stays NaN
  }
  if (st.sink_mass) st.sink_mass[idx] = static_cast<float>(std::exp(static_cast<double>(r.s0) - r.m) / r.l);
  if (st.max_attn) st.max_attn[idx] = static_cast<float>(1.0 / r.l);
  if (st.entropy_fixed_norm) {
    if (!st.ref_norm) {
      st.entropy_fixed_norm[idx] = nan;
    } else {
      const double H = std::log(r.lf) - r.af / r.lf;
      st.entropy_fixed_norm[idx] = bad ? nan : static_cast<float>(H < 0.0 ? 0.0 : H);
    }
  }
  if (st.neg_var_score) {
    const double mean = r.a / r.l;
    const double var = r.b / r.l - mean * mean;
    st.neg_var_score[idx] = static_cast<float>(var > 0.0 ? -var : (std::isnan(var) ? var : 0.0));  // NaN stays NaN
  }
  if (st.max_score) st.max_score[idx] = bad ? nan : r.m;
  if (st.logsumexp) st.logsumexp[idx] = bad ? nan : static_cast<float>(static_cast<double>(r.m) + std::log(r.l));
  if (st.k_budget) {
    if (!st.budget || !br.p || bad || !std::isfinite(r.m))
      st.k_budget[idx] = nan;
    else
      st.k_budget[idx] = budget_count_p(br.p, nkeys, br.mblk, br.bk, r.m, st.budget_mass, *bscr);
  }
}

}  // namespace spectra::engine::rowstats
