// Blocked causal attention with fused entropy / sink / max statistics.
// fp32 kernel: Kᵀ and V packed once per call (panels of 16 keys / 16
// dimensions); per (head, query block, key block) S = Q·Kᵀ and A += P·V in
// 6×16 register tiles (AVX2 + FMA), the online softmax and the statistics
// (row_stats.hpp) between them. The work item is compiled for AVX-512 (F, BW,
// DQ, VL), AVX2 + FMA and the x86-64 baseline and picked at run time. The
// file is compiled with -ffp-contract=off: every FMA is written out (no
// product is fused behind the code's back). The tiles' sums are the same FMA
// chains on every set with FMA; the statistics' vector reductions follow the
// vector width, so the AVX2 and AVX-512 variants may differ in the last bit.
#include "engine/attention_kernel.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <immintrin.h>
#include <array>
#include <limits>
#include <vector>

#include "engine/buffer.hpp"
#include "engine/row_stats.hpp"
#include "util/error.hpp"

namespace spectra::engine {

namespace {

// Register tiles (AVX2: 12 of the 16 ymm registers accumulate). QKᵀ: 6 query
// rows × 16 keys, a chain of hd FMAs per score; P·V: 6 rows × 16 head
// dimensions, a chain over the block's keys. Every sum runs in the same
// order whatever the tile, row group or query block a row falls in, so a row
// gives the same bits in a chunked and an unchunked pass.
constexpr int kMR = 6;
constexpr int kNR = 16;

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

using rowstats::RowState;
using rowstats::RowWants;

// The two register tiles, per instruction set. Tiles32 (AVX2 + FMA): 12
// ymm accumulators; each score / output element is one FMA chain.
// TilesScalar: the same sums, in the same order, for CPUs without AVX2/FMA
// (there the products are rounded before the add: no FMA).
struct TilesAvx2 {
  // S[i][j] = Σ_d qp[d·6 + i] · kp[d·16 + j] for i < 6, j < 16 (d in order).
  __attribute__((target("avx2,fma"), noinline)) static void qk(const float* __restrict qp,
                                                                           const float* __restrict kp, int hd,
                                                                           float* __restrict s, int64_t lds) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
           c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int d = 0; d < hd; ++d, qp += kMR, kp += kNR) {
      const __m256 k0 = _mm256_loadu_ps(kp), k1 = _mm256_loadu_ps(kp + 8);
      __m256 a = _mm256_broadcast_ss(qp);
      c00 = _mm256_fmadd_ps(a, k0, c00);
      c01 = _mm256_fmadd_ps(a, k1, c01);
      a = _mm256_broadcast_ss(qp + 1);
      c10 = _mm256_fmadd_ps(a, k0, c10);
      c11 = _mm256_fmadd_ps(a, k1, c11);
      a = _mm256_broadcast_ss(qp + 2);
      c20 = _mm256_fmadd_ps(a, k0, c20);
      c21 = _mm256_fmadd_ps(a, k1, c21);
      a = _mm256_broadcast_ss(qp + 3);
      c30 = _mm256_fmadd_ps(a, k0, c30);
      c31 = _mm256_fmadd_ps(a, k1, c31);
      a = _mm256_broadcast_ss(qp + 4);
      c40 = _mm256_fmadd_ps(a, k0, c40);
      c41 = _mm256_fmadd_ps(a, k1, c41);
      a = _mm256_broadcast_ss(qp + 5);
      c50 = _mm256_fmadd_ps(a, k0, c50);
      c51 = _mm256_fmadd_ps(a, k1, c51);
    }
    _mm256_storeu_ps(s, c00), _mm256_storeu_ps(s + 8, c01), s += lds;
    _mm256_storeu_ps(s, c10), _mm256_storeu_ps(s + 8, c11), s += lds;
    _mm256_storeu_ps(s, c20), _mm256_storeu_ps(s + 8, c21), s += lds;
    _mm256_storeu_ps(s, c30), _mm256_storeu_ps(s + 8, c31), s += lds;
    _mm256_storeu_ps(s, c40), _mm256_storeu_ps(s + 8, c41), s += lds;
    _mm256_storeu_ps(s, c50), _mm256_storeu_ps(s + 8, c51);
  }
  // A[i][0..16) += Σ_{j<n} p[i·ldp + j] · v[j·ldv + 0..16) for i < 6 (j in order).
  __attribute__((target("avx2,fma"), noinline)) static void pv(const float* __restrict p, int64_t ldp,
                                                                           const float* __restrict v, int64_t ldv,
                                                                           int n, float* __restrict a, int64_t lda) {
    __m256 c00 = _mm256_loadu_ps(a), c01 = _mm256_loadu_ps(a + 8), c10 = _mm256_loadu_ps(a + lda),
           c11 = _mm256_loadu_ps(a + lda + 8), c20 = _mm256_loadu_ps(a + 2 * lda),
           c21 = _mm256_loadu_ps(a + 2 * lda + 8), c30 = _mm256_loadu_ps(a + 3 * lda),
           c31 = _mm256_loadu_ps(a + 3 * lda + 8), c40 = _mm256_loadu_ps(a + 4 * lda),
           c41 = _mm256_loadu_ps(a + 4 * lda + 8), c50 = _mm256_loadu_ps(a + 5 * lda),
           c51 = _mm256_loadu_ps(a + 5 * lda + 8);
    const float *p0 = p, *p1 = p + ldp, *p2 = p + 2 * ldp, *p3 = p + 3 * ldp, *p4 = p + 4 * ldp,
                *p5 = p + 5 * ldp;
    for (int j = 0; j < n; ++j, v += ldv) {
      const __m256 v0 = _mm256_loadu_ps(v), v1 = _mm256_loadu_ps(v + 8);
      __m256 b = _mm256_broadcast_ss(p0 + j);
      c00 = _mm256_fmadd_ps(b, v0, c00);
      c01 = _mm256_fmadd_ps(b, v1, c01);
      b = _mm256_broadcast_ss(p1 + j);
      c10 = _mm256_fmadd_ps(b, v0, c10);
      c11 = _mm256_fmadd_ps(b, v1, c11);
      b = _mm256_broadcast_ss(p2 + j);
      c20 = _mm256_fmadd_ps(b, v0, c20);
      c21 = _mm256_fmadd_ps(b, v1, c21);
      b = _mm256_broadcast_ss(p3 + j);
      c30 = _mm256_fmadd_ps(b, v0, c30);
      c31 = _mm256_fmadd_ps(b, v1, c31);
      b = _mm256_broadcast_ss(p4 + j);
      c40 = _mm256_fmadd_ps(b, v0, c40);
      c41 = _mm256_fmadd_ps(b, v1, c41);
      b = _mm256_broadcast_ss(p5 + j);
      c50 = _mm256_fmadd_ps(b, v0, c50);
      c51 = _mm256_fmadd_ps(b, v1, c51);
    }
    _mm256_storeu_ps(a, c00), _mm256_storeu_ps(a + 8, c01), a += lda;
    _mm256_storeu_ps(a, c10), _mm256_storeu_ps(a + 8, c11), a += lda;
    _mm256_storeu_ps(a, c20), _mm256_storeu_ps(a + 8, c21), a += lda;
    _mm256_storeu_ps(a, c30), _mm256_storeu_ps(a + 8, c31), a += lda;
    _mm256_storeu_ps(a, c40), _mm256_storeu_ps(a + 8, c41), a += lda;
    _mm256_storeu_ps(a, c50), _mm256_storeu_ps(a + 8, c51);
  }
};

struct TilesScalar {
  SPECTRA_ALWAYS_INLINE static void qk(const float* qp, const float* kp, int hd, float* s, int64_t lds) {
    float c[kMR][kNR] = {};
    for (int d = 0; d < hd; ++d)
      for (int i = 0; i < kMR; ++i)
        for (int j = 0; j < kNR; ++j) c[i][j] += qp[d * kMR + i] * kp[d * kNR + j];
    for (int i = 0; i < kMR; ++i) std::memcpy(s + i * lds, c[i], sizeof c[i]);
  }
  SPECTRA_ALWAYS_INLINE static void pv(const float* p, int64_t ldp, const float* v, int64_t ldv, int n, float* a,
                                       int64_t lda) {
    for (int i = 0; i < kMR; ++i)
      for (int j = 0; j < n; ++j)
        for (int d = 0; d < kNR; ++d) a[i * lda + d] += p[i * ldp + j] * v[j * ldv + d];
  }
};

// K and V of one call, packed once and shared by every query block and
// every query head of a KV group. Kᵀ: per KV head, panels of 16 keys,
// [panel][d][16], keys past the last zero. V: per KV head, panels of 16 head
// dimensions, [dim panel][key][16], dimensions past head_dim zero. A tile
// then reads one contiguous run of memory (V read in place, rows
// kv_width·4 bytes apart, was a cache-set conflict at every 4 KB stride).
struct Packed {
  const float* kp = nullptr;  // [kv head][key panel][hd][16]
  int64_t kv_stride = 0;      // floats per KV head in kp
  const float* vp = nullptr;  // [kv head][dim panel][key][16]
  int64_t v_stride = 0, v_panel = 0;  // floats per KV head, per dim panel
};

struct Scratch {
  Buffer qp, s, acc, raw, mblk;
  std::vector<RowState> rows;
  std::vector<float> qn;
  rowstats::BudgetScratch budget;
};

// One work item: query head h, query rows [r0, r0 + bq) ∩ [0, T), against
// all their keys in blocks of bk (a multiple of 16).
template <class Tiles>
SPECTRA_ALWAYS_INLINE void attend_item(const AttnShape& sh, const AttnIO& io, const AttnStats* st, const Packed& pk,
                                       int bq, int bk, int h, int64_t r0, Scratch& scr) {
  const int hd = sh.head_dim;
  const int hdp = static_cast<int>(round_up(hd, kNR));
  const int g = h / (sh.n_heads / sh.n_kv_heads);
  const int64_t r1 = std::min<int64_t>(io.T, r0 + bq);
  const int nq = static_cast<int>(r1 - r0);
  const int ng = (nq + kMR - 1) / kMR;  // row groups
  const int bqp = ng * kMR;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));

  float* Qp = scr.qp.as<float>(static_cast<size_t>(bqp) * hd);  // [group][d][6]
  float* A = scr.acc.as<float>(static_cast<size_t>(bqp) * hdp);
  const RowWants want{st && st->neg_var_score, st && st->entropy_fixed_norm && st->ref_norm};
  const bool budget = st && st->k_budget && st->budget;
  const int64_t kend = io.pos0 + r1;  // keys [0, kend)
  // The scores / weights of a key block: S (bqp rows of bk), or with
  // k_budget the rows of raw, which keep every block's p for the row's
  // selection at the end (bqp rows of ldr ≥ kend: the tiles write there
  // directly; the extra 16 floats keep rows from being a power of two apart,
  // which would put a tile's 6 rows in one cache set), with each row's running
  // max after each key block in mblk (nq × nkb).
  const int64_t nkb = (kend + bk - 1) / bk;
  const int64_t lds = budget ? round_up(kend, kNR) + kNR : bk;
  float* S = (budget ? scr.raw : scr.s).as<float>(static_cast<size_t>(bqp) * lds);
  float* mblk = budget ? scr.mblk.as<float>(static_cast<size_t>(nq) * nkb) : nullptr;
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
  // The scaled query block, packed [group][d][6]; rows past nq are zero (their
  // scores are 0 and never read; their P rows stay 0).
  for (int i = 0; i < bqp; ++i) {
    float* dst = Qp + static_cast<size_t>(i / kMR) * hd * kMR + i % kMR;
    if (i < nq) {
      const float* src = io.q + (r0 + i) * io.ldq + static_cast<int64_t>(h) * hd;
      for (int d = 0; d < hd; ++d) dst[d * kMR] = src[d] * scale;
    } else {
      for (int d = 0; d < hd; ++d) dst[d * kMR] = 0.f;
    }
  }
  std::memset(A, 0, sizeof(float) * bqp * hdp);
  // S needs no clearing: every score P·V reads is written first (the tiles
  // cover each group's visible keys, rows past nq included, with zero
  // queries), and masked keys are zeroed below.
  const float* kpg = pk.kp + g * pk.kv_stride;
  const float* vg = pk.vp + g * pk.v_stride;

  for (int64_t k0 = 0; k0 < kend; k0 += bk) {
    const int nk = static_cast<int>(std::min<int64_t>(bk, kend - k0));
    float* const Sb = budget ? S + k0 : S;  // this block's scores, row stride lds
    // Keys visible to a group's last row (the most any of its rows sees).
    auto group_keys = [&](int gi) {
      const int64_t last = io.pos0 + r0 + std::min(gi * kMR + kMR - 1, nq - 1);
      return static_cast<int>(std::clamp<int64_t>(last - k0 + 1, 0, nk));
    };
    // S = Qs · Kᵀ: only the panels some row of the group sees.
    for (int gi = 0; gi < ng; ++gi) {
      const int npg = (group_keys(gi) + kNR - 1) / kNR;
      const float* q = Qp + static_cast<size_t>(gi) * hd * kMR;
      float* sg = Sb + static_cast<size_t>(gi) * kMR * lds;
      for (int p = 0; p < npg; ++p)
        Tiles::qk(q, kpg + (k0 / kNR + p) * int64_t{hd} * kNR, hd, sg + p * kNR, lds);
    }
    // Online softmax update per row; p overwrites the row's scores, and its
    // masked keys up to the group's last visible key are set to 0.
    for (int i = 0; i < nq; ++i) {
      float* srow = Sb + static_cast<size_t>(i) * lds;
      const int64_t last = io.pos0 + r0 + i;  // last visible key
      const int nv = static_cast<int>(std::min<int64_t>(nk, last - k0 + 1));
      const int nvg = group_keys(i / kMR);
      if (nv <= 0) {
        std::memset(srow, 0, sizeof(float) * nvg);
        continue;
      }
      bool rescale;
      const float alpha = rowstats::update_row(want, rows[i], srow, nv, k0 == 0, &rescale);
      if (budget) mblk[i * nkb + k0 / bk] = rows[i].m;
      if (nvg > nv) std::memset(srow + nv, 0, sizeof(float) * (nvg - nv));
      if (rescale) {
        float* ar = A + static_cast<size_t>(i) * hdp;
#pragma omp simd
        for (int d = 0; d < hdp; ++d) ar[d] *= alpha;
      }
    }
    // A += P · V.
    for (int gi = 0; gi < ng; ++gi) {
      const int nvg = group_keys(gi);
      if (nvg == 0) continue;
      const float* pg = Sb + static_cast<size_t>(gi) * kMR * lds;
      float* ag = A + static_cast<size_t>(gi) * kMR * hdp;
      for (int d0 = 0; d0 < hdp; d0 += kNR)
        Tiles::pv(pg, lds, vg + (d0 / kNR) * pk.v_panel + k0 * kNR, kNR, nvg, ag + d0, hdp);
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
      const rowstats::BudgetRow br{budget ? S + static_cast<size_t>(i) * lds : nullptr, mblk ? mblk + i * nkb : nullptr,
                                   bk};
      rowstats::finish_row(rows[i], *st, idx, br, io.pos0 + t + 1, &scr.budget);
    }
  }
}

// attend_item compiled per instruction set (the row statistics' `omp simd`
// loops are inlined and vectorised for it), picked once at run time. AVX-512
// machines run the AVX2 tiles with AVX-512 exp/statistics loops.
using ItemFn = void (*)(const AttnShape&, const AttnIO&, const AttnStats*, const Packed&, int, int, int, int64_t,
                        Scratch&);
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))) void attend_item_v4(const AttnShape& sh, const AttnIO& io,
                                                              const AttnStats* st, const Packed& pk, int bq, int bk,
                                                              int h, int64_t r0, Scratch& scr) {
  attend_item<TilesAvx2>(sh, io, st, pk, bq, bk, h, r0, scr);
}
__attribute__((target("avx2,fma"))) void attend_item_v3(const AttnShape& sh, const AttnIO& io,
                                                              const AttnStats* st, const Packed& pk, int bq, int bk,
                                                              int h, int64_t r0, Scratch& scr) {
  attend_item<TilesAvx2>(sh, io, st, pk, bq, bk, h, r0, scr);
}
void attend_item_base(const AttnShape& sh, const AttnIO& io, const AttnStats* st, const Packed& pk, int bq, int bk,
                      int h, int64_t r0, Scratch& scr) {
  attend_item<TilesScalar>(sh, io, st, pk, bq, bk, h, r0, scr);
}
ItemFn pick_attend_item(KernelIsa isa) {
  __builtin_cpu_init();
  // The features each variant is compiled for (GCC's and clang's
  // __builtin_cpu_supports both know these names).
  const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  switch (isa) {
    case KernelIsa::Avx512:
      if (!v4) throw Error("attention: this CPU lacks AVX-512 (F, BW, DQ, VL)");
      return attend_item_v4;
    case KernelIsa::Avx2Fma:
      if (!v3) throw Error("attention: this CPU lacks AVX2 and FMA");
      return attend_item_v3;
    case KernelIsa::Baseline:
      return attend_item_base;
    case KernelIsa::Auto:
      break;
  }
  return v4 ? attend_item_v4 : v3 ? attend_item_v3 : attend_item_base;
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
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) float softmax_row_bf16(
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

// Exact k_P by bucketed selection on the float bits of the weights.
//
// Every weight is w ∈ [0, 1] (w = 1 for the max key). For a non-negative
// float the bit pattern is monotone in the value, so the bucket
//   b(w) = min((bits(1.0f) − bits(w)) >> 19, kBuckets − 1)
// (exponent and the top 4 mantissa bits: 16 buckets per octave, ≈ 0.043
// nats wide; 511 finite buckets cover w ≥ 2^−32 ≈ e^−22; smaller weights
// share the last, overflow bucket) is monotone: every key of a lower bucket
// outweighs every key of a higher one. So k_P = (keys of the buckets before
// the one where the cumulative mass crosses P·Σw) + (the number of that
// bucket's largest weights still needed), the latter by sorting that bucket
// alone (typically < 10 keys). All masses are summed in double, so the count
// is exact for the float weights w (for any P < 1, the overflow bucket
// included).
//
// Only the buckets up to the crossing matter, so only the keys of buckets ≤
// blo are histogrammed, blo = the previous row's crossing bucket + 2 octaves
// (rows of one head look alike; the scratch is per thread). Should those
// keys' mass fall short of P·Σw, the remaining keys are histogrammed too:
// the guess changes the cost, never the result.
//
// Per key (1 thread, AVX2, Zen 3; bench/attention_stats.cpp, T = 2048, 9
// heads: ~3.0 cycles/key in all, was ~7.7 with an exp per key and every key
// histogrammed):
//   the kernel's copy of p (instead of the raw score) and the per-block max
//   pass 1 (AVX2, one read): w = p·e^{m_b − m} (no exp per key), Σw in
//     double, max w, bucket, and the keys of buckets ≤ blo left-packed
//   scatter (scalar) of the packed keys: their double mass into 2
//     interleaved sub-histograms (consecutive keys of one bucket wait on
//     each other's store only every other key: a row of equal weights costs
//     ~3.5 cycles/key here; 4 sub-histograms halve that but cost ~0.5
//     cycle/key more on typical rows in zeroing and merging); only buckets
//     ≤ blo are zeroed and merged
//   the crossing bucket's keys gathered by an AVX2 left-pack (no branch per
//     key) with the count of the keys before it, and sorted
// A row whose largest weight alone reaches P·Σw returns 1 after pass 1.
namespace {
constexpr int kBuckets = 512;  // incl. the overflow bucket
constexpr int kShift = 19;     // 23 − 19 = 4 mantissa bits: 16 buckets per octave
constexpr int kPerOctave = 1 << (23 - kShift);

// kPackLut[mask]: the lanes set in mask, packed to the front (one byte each):
// the permutation of an AVX2 left-pack.
const std::array<uint64_t, 256> kPackLut = [] {
  std::array<uint64_t, 256> t{};
  for (int m = 0; m < 256; ++m)
    for (int b = 0, o = 0; b < 8; ++b)
      if (m >> b & 1) t[m] |= uint64_t(b) << (8 * o++);
  return t;
}();

// The keys of bucket bs (their weights, in key order) → sel (room for n + 8),
// the number of keys in lower buckets → *below, of bucket bs → *ns.
__attribute__((target("avx2"))) void gather_bucket_avx2(const int32_t* idx, const float* w, int64_t n, int32_t bs,
                                                        float* sel, int64_t* below, int64_t* ns) {
  const auto& lut = kPackLut;
  const __m256i vb = _mm256_set1_epi32(bs);
  __m256i vbelow = _mm256_setzero_si256();
  int64_t o = 0, i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(idx + i));
    vbelow = _mm256_sub_epi32(vbelow, _mm256_cmpgt_epi32(vb, x));  // lanes ≤ n/8 < 2^31
    const int msk = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(x, vb)));
    const __m256i perm = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(lut[msk])));
    _mm256_storeu_ps(sel + o, _mm256_permutevar8x32_ps(_mm256_loadu_ps(w + i), perm));
    o += __builtin_popcount(static_cast<unsigned>(msk));
  }
  alignas(32) int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), vbelow);
  int64_t bl = 0;
  for (int u = 0; u < 8; ++u) bl += lanes[u];
  for (; i < n; ++i) {
    bl += idx[i] < bs;
    sel[o] = w[i];
    o += idx[i] == bs;
  }
  *below = bl;
  *ns = o;
}

void gather_bucket(const int32_t* idx, const float* w, int64_t n, int32_t bs, float* sel, int64_t* below,
                   int64_t* ns) {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return gather_bucket_avx2(idx, w, n, bs, sel, below, ns);
  int64_t bl = 0, o = 0;  // branch-free scalar fallback
  for (int64_t i = 0; i < n; ++i) {
    bl += idx[i] < bs;
    sel[o] = w[i];
    o += idx[i] == bs;
  }
  *below = bl;
  *ns = o;
}

// The bucket of a weight w ∈ [0, 1] (see above).
inline int32_t bucket_of(float w) {
  return std::min((0x3F800000 - std::bit_cast<int32_t>(w)) >> kShift, kBuckets - 1);
}

// Appends key v (weight) to cidx / cw at *o when its bucket is in [lo, hi]
// (branch-free: always written, counted only when in range).
inline void pack1(float v, int32_t lo, int32_t hi, int32_t* cidx, float* cw, int64_t* o) {
  const int32_t b = bucket_of(v);
  cidx[*o] = b;
  cw[*o] = v;
  *o += b >= lo && b <= hi;
}

// The same for 8 keys (AVX2 left-pack); vlo = lo − 1, vhi = hi + 1.
__attribute__((target("avx2"), always_inline)) inline void pack8(__m256 v, __m256i vlo, __m256i vhi, int32_t* cidx,
                                                                float* cw, int64_t* o) {
  const __m256i b = _mm256_min_epi32(
      _mm256_srai_epi32(_mm256_sub_epi32(_mm256_set1_epi32(0x3F800000), _mm256_castps_si256(v)), kShift),
      _mm256_set1_epi32(kBuckets - 1));
  const __m256i in = _mm256_and_si256(_mm256_cmpgt_epi32(b, vlo), _mm256_cmpgt_epi32(vhi, b));
  const int msk = _mm256_movemask_ps(_mm256_castsi256_ps(in));
  const __m256i perm = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(kPackLut[msk])));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(cidx + *o), _mm256_permutevar8x32_epi32(b, perm));
  _mm256_storeu_ps(cw + *o, _mm256_permutevar8x32_ps(v, perm));
  *o += __builtin_popcount(static_cast<unsigned>(msk));
}

// Pass 1 (AVX2), one read of the row: the scaled weights v = min(w·scale[block],
// 1), Σv (double) → *total, max v → *wmax, and the keys of buckets ≤ blo packed
// (left-pack) to cidx / cw (room for n + 8 each). Returns their number.
__attribute__((target("avx2"))) int64_t pass1_avx2(const float* w, int64_t n, const float* scale, int64_t bk,
                                                  int32_t blo, int32_t* cidx, float* cw, double* total, float* wmax) {
  const __m256 one = _mm256_set1_ps(1.f);
  const __m256i vlo = _mm256_set1_epi32(-1), vhi = _mm256_set1_epi32(blo + 1);
  __m256d t0 = _mm256_setzero_pd(), t1 = _mm256_setzero_pd();
  __m256 vmax = _mm256_setzero_ps();
  double ts = 0;
  float ms = 0;
  int64_t o = 0;
  for (int64_t k0 = 0, blk = 0; k0 < n; k0 += bk, ++blk) {
    const int64_t k1 = std::min(n, k0 + bk);
    const float a = scale[blk];
    const __m256 va = _mm256_set1_ps(a);
    int64_t j = k0;
    for (; j + 8 <= k1; j += 8) {
      const __m256 v = _mm256_min_ps(_mm256_mul_ps(_mm256_loadu_ps(w + j), va), one);
      t0 = _mm256_add_pd(t0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
      t1 = _mm256_add_pd(t1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
      vmax = _mm256_max_ps(vmax, v);
      pack8(v, vlo, vhi, cidx, cw, &o);
    }
    for (; j < k1; ++j) {
      const float v = std::min(w[j] * a, 1.0f);
      ts += v;
      ms = std::max(ms, v);
      pack1(v, 0, blo, cidx, cw, &o);
    }
  }
  alignas(32) double td[4];
  _mm256_store_pd(td, _mm256_add_pd(t0, t1));
  alignas(32) float mf[8];
  _mm256_store_ps(mf, vmax);
  for (int u = 0; u < 8; ++u) ms = std::max(ms, mf[u]);
  *total = ts + ((td[0] + td[1]) + (td[2] + td[3]));
  *wmax = ms;
  return o;
}

// The keys of buckets lo..hi of the scaled weights v = min(w·scale[block], 1)
// (blocks of bk keys; the same products as pass 1), packed to cidx / cw (room
// for n + 8); returns their number. The path without AVX2, and the second
// pass when the first guess of blo fell short.
__attribute__((target("avx2"))) int64_t pack_range_avx2(const float* w, int64_t n, const float* scale, int64_t bk,
                                                       int32_t lo, int32_t hi, int32_t* cidx, float* cw) {
  const __m256 one = _mm256_set1_ps(1.f);
  const __m256i vlo = _mm256_set1_epi32(lo - 1), vhi = _mm256_set1_epi32(hi + 1);
  int64_t o = 0;
  for (int64_t k0 = 0, blk = 0; k0 < n; k0 += bk, ++blk) {
    const int64_t k1 = std::min(n, k0 + bk);
    const float a = scale[blk];
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = k0;
    for (; i + 8 <= k1; i += 8) {
      pack8(_mm256_min_ps(_mm256_mul_ps(_mm256_loadu_ps(w + i), va), one), vlo, vhi, cidx, cw, &o);
    }
    for (; i < k1; ++i) pack1(std::min(w[i] * a, 1.0f), lo, hi, cidx, cw, &o);
  }
  return o;
}

int64_t pack_range(const float* w, int64_t n, const float* scale, int64_t bk, int32_t lo, int32_t hi, int32_t* cidx,
                   float* cw) {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return pack_range_avx2(w, n, scale, bk, lo, hi, cidx, cw);
  int64_t o = 0;  // branch-free scalar
  for (int64_t k0 = 0, blk = 0; k0 < n; k0 += bk, ++blk) {
    const int64_t k1 = std::min(n, k0 + bk);
    const float a = scale[blk];
    for (int64_t i = k0; i < k1; ++i) pack1(std::min(w[i] * a, 1.0f), lo, hi, cidx, cw, &o);
  }
  return o;
}

// k_P of the weights min(w·scale[b], 1), w[0..n) in blocks b of bk keys
// (w itself is not changed).
// (no-tree-loop-distribute-patterns: the histogram zeroing stays vector
// stores; as memset GCC emits `rep stos`, ~4× slower for these ~1 KB.)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), optimize("no-tree-loop-distribute-patterns"))) float
budget_core(const float* w, int64_t n,
                                                                              const float* scale, int64_t bk,
                                                                              float P, BudgetScratch& scr) {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  // Only keys that can be among the top P·Σw need their bucket's mass. The
  // guess: buckets ≤ the previous row's crossing bucket + 2 octaves (rows of
  // one head look alike; all buckets for a thread's first row). Those keys
  // are packed during pass 1 and histogrammed; should their mass not reach
  // P·Σw, the remaining keys are packed after them and histogrammed too.
  // Exact either way.
  const int32_t blo = scr.hint >= 0 ? std::min(scr.hint + 2 * kPerOctave, kBuckets - 1) : kBuckets - 1;
  int32_t* cidx = scr.cidx.as<int32_t>(static_cast<size_t>(n) + 8);
  float* cw = scr.cw.as<float>(static_cast<size_t>(n) + 8);
  double total = 0;
  float wmax = 0;
  int64_t nc;
  if (avx2) {
    nc = pass1_avx2(w, n, scale, bk, blo, cidx, cw, &total, &wmax);
  } else {
    for (int64_t k0 = 0, b = 0; k0 < n; k0 += bk, ++b) {
      const int64_t k1 = std::min(n, k0 + bk);
      const float a = scale[b];
#pragma omp simd reduction(+ : total) reduction(max : wmax)
      for (int64_t j = k0; j < k1; ++j) {
        const float v = std::min(w[j] * a, 1.0f);
        total += v;
        wmax = std::max(wmax, v);
      }
    }
    nc = pack_range(w, n, scale, bk, 0, blo, cidx, cw);
  }
  const double target = static_cast<double>(P) * total;
  if (wmax >= target) return 1.f;  // the largest weight alone
  // Buckets 0..nb0−1 only are zeroed (the fixed per-row cost): the keys
  // packed first have no other. One histogram, filled in key order: every
  // bucket's mass is then the same sum, in the same order, whatever the guess
  // (which depends on the row a thread did before, i.e. on scheduling), so k
  // is reproducible bit for bit. (Interleaved sub-histograms, split by packed
  // position, were ~0.3 cycles/key cheaper but made the sums depend on it.)
  alignas(32) double mass[kBuckets];
  const int nb0 = (blo + 4) & ~3;  // blo + 1 rounded up to 4 (≤ kBuckets)
#pragma omp simd
  for (int b = 0; b < nb0; ++b) mass[b] = 0;
  auto scatter = [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) mass[cidx[j]] += cw[j];
  };
  scatter(0, nc);
  // The crossing among buckets [0, nvalid): 4 buckets a step while their sum
  // stays below (a 4× shorter chain of dependent adds), then bucket by
  // bucket. The groups always start at bucket 0 and a group is only passed
  // when its sum stays below, so up to the crossing a guess's scan compares
  // the same sums as the full scan: either it finds the same bucket or it
  // reports failure (then the full scan runs). complete: every key is in the
  // histogram. Returns whether the crossing was found.
  double cum = 0;
  int bstar = 0;
  auto scan = [&](int nvalid, bool complete) {
    cum = 0;
    bstar = 0;
    double before_last = 0;
    for (; bstar + 4 <= nvalid; bstar += 4) {
      const double m4 = (mass[bstar] + mass[bstar + 1]) + (mass[bstar + 2] + mass[bstar + 3]);
      if (cum + m4 >= target) break;
      before_last = cum;
      cum += m4;
    }
    if (bstar == nvalid) {  // every group below the target
      if (!complete) return false;
      bstar -= 4;  // all buckets (only by rounding): the last group, bucket by bucket
      cum = before_last;
    }
    while (bstar < nvalid - 1 && cum + mass[bstar] < target) cum += mass[bstar++];
    return complete || cum + mass[bstar] >= target;
  };
  if (!scan(nb0, blo == kBuckets - 1)) {
    // The guess fell short: the rest of the keys (buckets > blo; those in
    // (blo, nb0) were zeroed but not packed), then the scan again from 0.
    const int64_t nr = pack_range(w, n, scale, bk, blo + 1, kBuckets - 1, cidx + nc, cw + nc);
#pragma omp simd
    for (int b = blo + 1; b < kBuckets; ++b) mass[b] = 0;
    scatter(nc, nc + nr);
    nc += nr;
    scan(kBuckets, true);  // the overflow bucket holds the crossing if no other does
  }
  scr.hint = bstar;
  // The crossing bucket's keys, and how many keys precede it.
  float* sel = scr.sel.as<float>(static_cast<size_t>(nc) + 8);
  int64_t below = 0, ns = 0;
  gather_bucket(cidx, cw, nc, bstar, sel, &below, &ns);
  // The crossing bucket's keys needed. A large crossing bucket (a flat row:
  // ~n·0.043/spread keys in one bucket) is first split by the next 8 bits of
  // the weight (256 sub-buckets, monotone within the bucket; their double
  // masses give the crossing sub-bucket, whose keys alone are then sorted):
  // sorting hundreds of keys would cost more than all the rest. The overflow
  // bucket (no common leading bits) is always sorted.
  int64_t k = 0;
  if (ns > 64 && bstar < kBuckets - 1) {
    double sub[256] = {};
    int32_t cnt[256] = {};
    auto sub_of = [](float v) { return ((0x3F800000 - std::bit_cast<int32_t>(v)) >> (kShift - 8)) & 255; };
    for (int64_t i = 0; i < ns; ++i) {
      const int32_t u = sub_of(sel[i]);
      sub[u] += sel[i];
      ++cnt[u];
    }
    int su = 0;
    while (su < 255 && cum + sub[su] < target) {
      cum += sub[su];
      k += cnt[su++];
    }
    int64_t m2 = 0;  // sub-bucket su's keys to the front of sel (in place: m2 ≤ i)
    for (int64_t i = 0; i < ns; ++i) {
      const float v = sel[i];
      sel[m2] = v;
      m2 += sub_of(v) == su;
    }
    ns = m2;
  }
  // Sorted, unless all equal (tied scores, e.g. a row of equal scores: its
  // whole row is one bucket, and sorting it would cost ~25 cycles/key).
  float lo = std::numeric_limits<float>::infinity(), hi = 0;
#pragma omp simd reduction(min : lo) reduction(max : hi)
  for (int64_t i = 0; i < ns; ++i) {
    lo = std::min(lo, sel[i]);
    hi = std::max(hi, sel[i]);
  }
  if (lo != hi) std::sort(sel, sel + ns, [](float x, float y) { return x > y; });
  for (int64_t i = 0; i < ns; ++i) {
    ++k;
    cum += sel[i];
    if (cum >= target) break;
  }
  return static_cast<float>(below + k);
}
}  // namespace

float budget_count_p(const float* p, int64_t n, const float* mblk, int bk, float m, float P, BudgetScratch& scr) {
  const int64_t nb = (n + bk - 1) / bk;
  float* scale = scr.w.as<float>(static_cast<size_t>(nb));
  for (int64_t b = 0; b < nb; ++b)
    scale[b] = static_cast<float>(std::exp(static_cast<double>(mblk[b]) - static_cast<double>(m)));
  return budget_core(p, n, scale, bk, P, scr);
}

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) float budget_count(const float* s, int64_t n, float m,
                                                                               float P, BudgetScratch& scr) {
  float* w = scr.w.as<float>(static_cast<size_t>(n));
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) w[j] = exp_neg(s[j] - m);
  const float one = 1.f;  // a single block, unscaled
  return budget_core(w, n, &one, std::max<int64_t>(n, 1), P, scr);
}

}  // namespace rowstats

void attention_blocked(const AttnShape& sh, const AttnIO& io, const AttnStats* st, AttnBlocking b) {
  check(sh, io);
  if (io.T == 0) return;
  if (b.bf16) return attention_blocked_bf16(sh, io, st, b);
  const int bq = std::max(1, b.bq);
  const int bk = static_cast<int>(round_up(std::max(1, b.bk), kNR));  // whole key panels
  const int hd = sh.head_dim, hdp = static_cast<int>(round_up(hd, kNR));
  const int64_t nkeys = io.pos0 + io.T;
  const int64_t npan = (nkeys + kNR - 1) / kNR;
  // Pack Kᵀ and V once for all heads.
  Buffer kbuf, vbuf;
  Packed pk;
  pk.kv_stride = npan * hd * kNR;
  float* kp = kbuf.as<float>(static_cast<size_t>(sh.n_kv_heads * pk.kv_stride));
  pk.kp = kp;
  const int ndp = hdp / kNR;
  pk.v_panel = nkeys * kNR;
  pk.v_stride = ndp * pk.v_panel;
  float* vp = vbuf.as<float>(static_cast<size_t>(sh.n_kv_heads * pk.v_stride));
  pk.vp = vp;
#pragma omp parallel for schedule(static)
  for (int64_t j = 0; j < nkeys; ++j)
    for (int g = 0; g < sh.n_kv_heads; ++g) {
      const float* vr = io.v + j * io.ldkv + int64_t{g} * hd;
      for (int dp = 0; dp < ndp; ++dp) {
        float* dst = vp + g * pk.v_stride + dp * pk.v_panel + j * kNR;
        const int n = std::min(kNR, hd - dp * kNR);
        std::memcpy(dst, vr + dp * kNR, sizeof(float) * n);
        for (int d = n; d < kNR; ++d) dst[d] = 0.f;
      }
    }
#pragma omp parallel for schedule(static)
  for (int64_t pi = 0; pi < sh.n_kv_heads * npan; ++pi) {
    const int g = static_cast<int>(pi / npan);
    const int64_t p = pi % npan;
    float* dst = kp + g * pk.kv_stride + p * hd * kNR;
    for (int jj = 0; jj < kNR; ++jj) {
      const int64_t j = p * kNR + jj;
      if (j < nkeys) {
        const float* kr = io.k + j * io.ldkv + int64_t{g} * hd;
        for (int d = 0; d < hd; ++d) dst[d * kNR + jj] = kr[d];
      } else {
        for (int d = 0; d < hd; ++d) dst[d * kNR + jj] = 0.f;
      }
    }
  }
  const ItemFn item = pick_attend_item(b.isa);
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
      item(sh, io, st, pk, bq, bk, h, qb * bq, scr);
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
