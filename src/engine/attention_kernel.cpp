// Blocked causal attention with fused entropy / sink / max statistics.
// The hot loop (attend_item) is compiled for AVX-512, AVX2 and baseline x86-64
// and picked at run time (GCC target_clones).
#include "engine/attention_kernel.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

#include "engine/buffer.hpp"
#include "engine/row_stats.hpp"
#include "util/error.hpp"

namespace spectra::engine {

namespace {

constexpr int kVec = 16;  // register-block width (floats)

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

using rowstats::RowState;
using rowstats::RowWants;

struct Scratch {
  Buffer qs, kt, vs, s, acc, raw;
  std::vector<RowState> rows;
  std::vector<float> qn;
  rowstats::BudgetScratch budget;
};

__attribute__((target_clones("avx512f", "avx2", "default"))) void attend_item(
    const AttnShape& sh, const AttnIO& io, const AttnStats* st, int bq, int bk, int h, int64_t r0,
    Scratch& scr) {
  const int hd = sh.head_dim;
  const int hdp = static_cast<int>(round_up(hd, kVec));
  const int bkp = static_cast<int>(round_up(bk, kVec));
  const int bqp = static_cast<int>(round_up(bq, 4));
  const int g = h / (sh.n_heads / sh.n_kv_heads);
  const int64_t r1 = std::min<int64_t>(io.T, r0 + bq);
  const int nq = static_cast<int>(r1 - r0);
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));

  float* Qs = scr.qs.as<float>(static_cast<size_t>(bqp) * hd);
  float* Kt = scr.kt.as<float>(static_cast<size_t>(hd) * bkp);
  float* Vs = scr.vs.as<float>(static_cast<size_t>(bkp) * hdp);
  float* S = scr.s.as<float>(static_cast<size_t>(bqp) * bkp);
  float* A = scr.acc.as<float>(static_cast<size_t>(bqp) * hdp);
  const RowWants want{st && st->neg_var_score, st && st->entropy_fixed_norm && st->ref_norm};
  const bool budget = st && st->k_budget && st->budget;
  const int64_t kend = io.pos0 + r1;  // keys [0, kend)
  // k_budget: this block's raw scores against all its keys, nq × kend floats.
  float* raw = budget ? scr.raw.as<float>(static_cast<size_t>(nq) * kend) : nullptr;
  scr.rows.resize(bqp);
  scr.qn.resize(bqp);
  std::vector<RowState>& rows = scr.rows;
  for (auto& r : rows) r.reset();
  if (st) {
    for (int i = 0; i < nq; ++i) {
      scr.qn[i] = rowstats::q_norm_of(io.q + (r0 + i) * io.ldq + static_cast<int64_t>(h) * hd, hd);
      if (want.fix) rows[i].beta = rowstats::fixed_norm_beta(st->ref_norm[h], scr.qn[i]);
    }
  }

  // Load the scaled query block; rows past nq are zero.
  for (int i = 0; i < bqp; ++i) {
    float* dst = Qs + static_cast<size_t>(i) * hd;
    if (i < nq) {
      const float* src = io.q + (r0 + i) * io.ldq + static_cast<int64_t>(h) * hd;
      for (int d = 0; d < hd; ++d) dst[d] = src[d] * scale;
    } else {
      std::memset(dst, 0, sizeof(float) * hd);
    }
  }
  std::memset(A, 0, sizeof(float) * bqp * hdp);

  for (int64_t k0 = 0; k0 < kend; k0 += bk) {
    const int nk = static_cast<int>(std::min<int64_t>(bk, kend - k0));
    const int nkp = static_cast<int>(round_up(nk, kVec));
    // Pack Kᵀ [hd][bkp] and V [nk][hdp], zero padded.
    for (int d = 0; d < hd; ++d) std::memset(Kt + static_cast<size_t>(d) * bkp + nk, 0, sizeof(float) * (nkp - nk));
    for (int j = 0; j < nk; ++j) {
      const float* kr = io.k + (k0 + j) * io.ldkv + static_cast<int64_t>(g) * hd;
      const float* vr = io.v + (k0 + j) * io.ldkv + static_cast<int64_t>(g) * hd;
      for (int d = 0; d < hd; ++d) Kt[static_cast<size_t>(d) * bkp + j] = kr[d];
      float* vd = Vs + static_cast<size_t>(j) * hdp;
      std::memcpy(vd, vr, sizeof(float) * hd);
      for (int d = hd; d < hdp; ++d) vd[d] = 0.f;
    }
    // S = Qs · Kᵀ, register-blocked 4 rows × 16 keys.
    for (int j0 = 0; j0 < nkp; j0 += kVec) {
      for (int i0 = 0; i0 < nq; i0 += 4) {
        float c[4][kVec] = {};
        for (int d = 0; d < hd; ++d) {
          const float* kr = Kt + static_cast<size_t>(d) * bkp + j0;
          for (int i = 0; i < 4; ++i) {
            const float qv = Qs[static_cast<size_t>(i0 + i) * hd + d];
#pragma omp simd
            for (int jj = 0; jj < kVec; ++jj) c[i][jj] += qv * kr[jj];
          }
        }
        for (int i = 0; i < 4; ++i) std::memcpy(S + static_cast<size_t>(i0 + i) * bkp + j0, c[i], sizeof(c[i]));
      }
    }
    // Online softmax update per row; P overwrites S (masked entries = 0).
    for (int i = 0; i < nq; ++i) {
      float* srow = S + static_cast<size_t>(i) * bkp;
      const int64_t last = io.pos0 + r0 + i;  // last visible key
      const int nv = static_cast<int>(std::min<int64_t>(nk, last - k0 + 1));
      if (nv <= 0) {
        std::memset(srow, 0, sizeof(float) * nkp);
        continue;
      }
      if (raw) std::memcpy(raw + static_cast<size_t>(i) * kend + k0, srow, sizeof(float) * nv);
      bool rescale;
      const float alpha = rowstats::update_row(want, rows[i], srow, nv, k0 == 0, &rescale);
      std::memset(srow + nv, 0, sizeof(float) * (nkp - nv));
      if (rescale) {
        float* ar = A + static_cast<size_t>(i) * hdp;
#pragma omp simd
        for (int d = 0; d < hdp; ++d) ar[d] *= alpha;
      }
    }
    // A += P · V, register-blocked 4 rows × 16 dims.
    for (int d0 = 0; d0 < hdp; d0 += kVec) {
      for (int i0 = 0; i0 < nq; i0 += 4) {
        float c[4][kVec];
        for (int i = 0; i < 4; ++i) std::memcpy(c[i], A + static_cast<size_t>(i0 + i) * hdp + d0, sizeof(c[i]));
        for (int j = 0; j < nk; ++j) {
          const float* vr = Vs + static_cast<size_t>(j) * hdp + d0;
          for (int i = 0; i < 4; ++i) {
            const float pv = S[static_cast<size_t>(i0 + i) * bkp + j];
#pragma omp simd
            for (int dd = 0; dd < kVec; ++dd) c[i][dd] += pv * vr[dd];
          }
        }
        for (int i = 0; i < 4; ++i) std::memcpy(A + static_cast<size_t>(i0 + i) * hdp + d0, c[i], sizeof(c[i]));
      }
    }
  }
  // Finish rows: output, statistics.
  for (int i = 0; i < nq; ++i) {
    const int64_t t = r0 + i;
    const float inv = static_cast<float>(1.0 / rows[i].l);
    float* o = io.out + t * io.ldo + static_cast<int64_t>(h) * hd;
    const float* ar = A + static_cast<size_t>(i) * hdp;
    for (int d = 0; d < hd; ++d) o[d] = ar[d] * inv;
    if (st) {
      const int64_t idx = static_cast<int64_t>(h) * st->ld + t;
      if (st->q_norm) st->q_norm[idx] = scr.qn[i];
      rowstats::finish_row(rows[i], *st, idx, raw ? raw + static_cast<size_t>(i) * kend : nullptr, io.pos0 + t + 1,
                           &scr.budget);
    }
  }
}

void check(const AttnShape& sh, const AttnIO& io) {
  if (sh.n_heads <= 0 || sh.n_kv_heads <= 0 || sh.head_dim <= 0 || sh.n_heads % sh.n_kv_heads != 0)
    throw Error("attention: bad head configuration");
  if (io.T < 0 || io.pos0 < 0) throw Error("attention: bad window");
}

}  // namespace

// One row of the bf16 kernel: the shared row update (row_stats.hpp) on the
// fp32 scores, then p rounded to bf16 into prow (zero up to nk). Returns the
// output accumulator's rescale factor (*rescale false: none needed).
__attribute__((target_clones("avx512f", "avx2", "default"))) float softmax_row_bf16(
    const rowstats::RowWants& want, rowstats::RowState& r, float* srow, int nv, int nk, bool first_block,
    uint16_t* prow, bool* rescale) {
  const float alpha = rowstats::update_row(want, r, srow, nv, first_block, rescale);
#pragma omp simd
  for (int j = 0; j < nv; ++j) {
    uint32_t u = std::bit_cast<uint32_t>(srow[j]);
    u += 0x7fffu + ((u >> 16) & 1u);
    prow[j] = static_cast<uint16_t>(u >> 16);
  }
  for (int j = nv; j < nk; ++j) prow[j] = 0;
  return alpha;
}

namespace rowstats {

// Exact k_P by bucketed selection. x_j = m − s_j ≥ 0 is bucketed by fixed
// width 1/kInvWidth nats (bucket b holds x·kInvWidth rounded to b, kBuckets
// finite buckets, x ≳ kBuckets/kInvWidth = 16 nats in the overflow bucket): the weight e^{−x} is monotone in x, so every
// key of a lower bucket outweighs every key of a higher one. The mass per
// bucket is summed in double (8 interleaved sub-histograms, so consecutive
// keys of one bucket do not wait on each other's store); the bucket where the
// cumulative mass crosses P·Σ is the only one sorted (the overflow bucket
// too, so the count is exact for any P < 1). Cost O(n) plus the sort of one
// bucket (typically a few dozen keys).
namespace {
constexpr int kBuckets = 128;
constexpr float kInvWidth = 8.f;
}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) float budget_count(const float* s, int64_t n, float m,
                                                                               float P, BudgetScratch& scr) {
  float* w = scr.w.as<float>(static_cast<size_t>(n));
  int32_t* idx = scr.idx.as<int32_t>(static_cast<size_t>(n));
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    const float x = s[j] - m;  // ≤ 0
    w[j] = exp_neg(x);
    // round(min(−x·kInvWidth, kBuckets)) read from the bits of the biased
    // float (monotone in x; no float→int conversion, see exp_neg).
    const float u = std::min(-x * kInvWidth, static_cast<float>(kBuckets)) + 12582912.0f;
    idx[j] = std::bit_cast<int32_t>(u) - 0x4B400000;
  }
  constexpr int kSub = 8;
  double hist[kSub][kBuckets + 1] = {};
  int64_t j = 0;
  for (; j + kSub <= n; j += kSub)
    for (int u = 0; u < kSub; ++u) hist[u][idx[j + u]] += w[j + u];
  for (; j < n; ++j) hist[0][idx[j]] += w[j];
  double mass[kBuckets + 1], total = 0;
  for (int b = 0; b <= kBuckets; ++b) {
    double m8 = 0;
    for (int u = 0; u < kSub; ++u) m8 += hist[u][b];
    mass[b] = m8;
    total += m8;
  }
  const double target = static_cast<double>(P) * total;
  double cum = 0;
  int bstar = 0;
  while (bstar < kBuckets && cum + mass[bstar] < target) cum += mass[bstar++];
  // Keys below the crossing bucket and in it (vectorised counts), then the
  // crossing bucket's weights (a few dozen of the row's keys, typically).
  int64_t below = 0, ns = 0;
#pragma omp simd reduction(+ : below, ns)
  for (int64_t i = 0; i < n; ++i) {
    below += idx[i] < bstar ? 1 : 0;
    ns += idx[i] == bstar ? 1 : 0;
  }
  float* sel = scr.sel.as<float>(static_cast<size_t>(ns));
  for (int64_t i = 0, o = 0; o < ns; ++i)
    if (idx[i] == bstar) sel[o++] = w[i];
  std::sort(sel, sel + ns, [](float a, float b) { return a > b; });
  int64_t k = 0;
  while (k < ns) {
    cum += sel[k++];
    if (cum >= target) break;
  }
  return static_cast<float>(below + k);
}

}  // namespace rowstats

void attention_blocked(const AttnShape& sh, const AttnIO& io, const AttnStats* st, AttnBlocking b) {
  check(sh, io);
  if (io.T == 0) return;
  if (b.bf16) return attention_blocked_bf16(sh, io, st, b);
  const int bq = std::max(1, b.bq), bk = std::max(1, b.bk);
  const int64_t nqb = (io.T + bq - 1) / bq;
  const int64_t items = nqb * sh.n_heads;
#pragma omp parallel
  {
    Scratch scr;
    // Heaviest (last) query blocks first; dynamic balancing.
#pragma omp for schedule(dynamic, 1)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t qb = nqb - 1 - it / sh.n_heads;
      const int h = static_cast<int>(it % sh.n_heads);
      attend_item(sh, io, st, bq, bk, h, qb * bq, scr);
    }
  }
}

void attention_reference(const AttnShape& sh, const AttnIO& io, const AttnStats* st) {
  check(sh, io);
  const int hd = sh.head_dim;
  const int group = sh.n_heads / sh.n_kv_heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int h = 0; h < sh.n_heads; ++h) {
    const int g = h / group;
    for (int64_t t = 0; t < io.T; ++t) {
      const int64_t nkeys = io.pos0 + t + 1;
      const float* qr = io.q + t * io.ldq + static_cast<int64_t>(h) * hd;
      std::vector<double> s(nkeys);
      double mx = -std::numeric_limits<double>::infinity();
      bool bad = false;
      for (int64_t j = 0; j < nkeys; ++j) {
        const float* kr = io.k + j * io.ldkv + static_cast<int64_t>(g) * hd;
        double dot = 0;
        for (int d = 0; d < hd; ++d) dot += static_cast<double>(qr[d]) * kr[d];
        s[j] = dot * scale;
        bad |= std::isnan(s[j]);
        mx = std::max(mx, s[j]);
      }
      if (bad) mx = nan;
      double z = 0;
      for (auto& x : s) z += std::exp(x - mx);
      double H = 0, pmax = 0, ps = 0;
      std::vector<double> o(hd, 0.0), p(nkeys);
      for (int64_t j = 0; j < nkeys; ++j) {
        p[j] = std::exp(s[j] - mx) / z;
        if (p[j] > 0) H -= p[j] * std::log(p[j]);
        if (std::isnan(p[j])) H = nan;
        pmax = std::max(pmax, p[j]);
        ps += p[j] * s[j];
        const float* vr = io.v + j * io.ldkv + static_cast<int64_t>(g) * hd;
        for (int d = 0; d < hd; ++d) o[d] += p[j] * vr[d];
      }
      float* out = io.out + t * io.ldo + static_cast<int64_t>(h) * hd;
      for (int d = 0; d < hd; ++d) out[d] = static_cast<float>(o[d]);
      if (!st) continue;
      const int64_t idx = static_cast<int64_t>(h) * st->ld + t;
      double qq = 0;
      for (int d = 0; d < hd; ++d) qq += static_cast<double>(qr[d]) * qr[d];
      const float qn = static_cast<float>(std::sqrt(qq));
      if (st->q_norm) st->q_norm[idx] = qn;
      if (st->entropy) st->entropy[idx] = static_cast<float>(H);
      if (st->sink_mass) st->sink_mass[idx] = static_cast<float>(std::exp(s[0] - mx) / z);
      if (st->max_attn) st->max_attn[idx] = static_cast<float>(bad ? nan : pmax);
      if (st->max_score) st->max_score[idx] = static_cast<float>(mx);
      if (st->logsumexp) st->logsumexp[idx] = static_cast<float>(mx + std::log(z));
      if (st->neg_var_score) {
        // Var in the centred form (no cancellation): Σ p (s − E s)².
        double var = 0;
        for (int64_t j = 0; j < nkeys; ++j) var += p[j] * (s[j] - ps) * (s[j] - ps);
        st->neg_var_score[idx] = static_cast<float>(bad ? nan : -var);
      }
      if (st->entropy_fixed_norm) {
        double Hf = nan;
        if (st->ref_norm && !bad) {
          // softmax(β s), β = c/‖q‖ (1 for a zero query: its scores are all 0).
          const double beta = qn == 0.f ? 1.0 : static_cast<double>(st->ref_norm[h]) / qn;
          double zf = 0, psf = 0;
          for (int64_t j = 0; j < nkeys; ++j) zf += std::exp(beta * (s[j] - mx));
          for (int64_t j = 0; j < nkeys; ++j) {
            const double pf = std::exp(beta * (s[j] - mx)) / zf;
            psf += pf * beta * (s[j] - mx);
          }
          Hf = std::max(0.0, std::log(zf) - psf);
        }
        st->entropy_fixed_norm[idx] = static_cast<float>(Hf);
      }
      if (st->k_budget) {
        double k = nan;
        if (st->budget && !bad) {
          std::vector<double> w(p);
          std::sort(w.begin(), w.end(), std::greater<>());
          double cum = 0;
          k = 0;
          while (k < static_cast<double>(nkeys)) {
            cum += w[static_cast<size_t>(k)];
            k += 1;
            if (cum >= st->budget_mass) break;
          }
        }
        st->k_budget[idx] = static_cast<float>(k);
      }
    }
  }
}

}  // namespace spectra::engine
