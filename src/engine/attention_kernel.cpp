// Blocked causal attention with fused entropy / sink / max statistics.
// The hot loop (attend_item) is compiled for AVX-512, AVX2 and baseline x86-64
// and picked at run time (GCC target_clones).
#include "engine/attention_kernel.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/buffer.hpp"
#include "util/error.hpp"

namespace spectra::engine {

namespace {

constexpr int kVec = 16;  // register-block width (floats)

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// p[j] = e^{s[j]-m}; returns Σp and Σp·(s−m) through sum/wsum. Cephes-style
// polynomial, ~1 ulp, vectorizable.
__attribute__((always_inline)) inline void exp_row(const float* s, float m, float* p, int n, float& sum, float& wsum) {
  float acc = 0.f, wacc = 0.f;
#pragma omp simd reduction(+ : acc, wacc)
  for (int j = 0; j < n; ++j) {
    float x = s[j] - m;
    const float xd = x;
    x = std::max(x, -87.0f);
    const float t = x * 1.44269504088896341f;
    const float nf = (t + 12582912.0f) - 12582912.0f;  // round to nearest
    float r = x - nf * 0.693359375f;
    r = r - nf * -2.12194440e-4f;
    float y = 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * r * r + r + 1.0f;
    const int32_t e = (static_cast<int32_t>(nf) + 127) << 23;
    const float v = y * std::bit_cast<float>(e);
    p[j] = v;
    acc += v;
    wacc += v * xd;
  }
  sum = acc;
  wsum = wacc;
}

struct Scratch {
  Buffer qs, kt, vs, s, acc, stat;
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
  double* stat = scr.stat.as<double>(static_cast<size_t>(bqp) * 3);
  std::vector<float> m(bqp, -std::numeric_limits<float>::infinity()), s0(bqp, 0.f);
  double* l = stat;
  double* a = stat + bqp;
  for (int i = 0; i < 2 * bqp; ++i) stat[i] = 0;

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

  const int64_t kend = io.pos0 + r1;  // keys [0, kend)
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
      if (k0 == 0) s0[i] = srow[0];
      float bm = srow[0];
#pragma omp simd reduction(max : bm)
      for (int j = 1; j < nv; ++j) bm = std::max(bm, srow[j]);
      const float mold = m[i];
      const float mnew = std::max(mold, bm);
      float sum, wsum;
      exp_row(srow, mnew, srow, nv, sum, wsum);
      std::memset(srow + nv, 0, sizeof(float) * (nkp - nv));
      float* ar = A + static_cast<size_t>(i) * hdp;
      if (mold != mnew) {
        if (l[i] > 0) {
          const double alpha = std::exp(static_cast<double>(mold) - mnew);
          a[i] = alpha * (a[i] + (static_cast<double>(mold) - mnew) * l[i]);
          l[i] *= alpha;
          const float af = static_cast<float>(alpha);
#pragma omp simd
          for (int d = 0; d < hdp; ++d) ar[d] *= af;
        }
        m[i] = mnew;
      }
      l[i] += sum;
      a[i] += wsum;
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
    const float inv = static_cast<float>(1.0 / l[i]);
    float* o = io.out + t * io.ldo + static_cast<int64_t>(h) * hd;
    const float* ar = A + static_cast<size_t>(i) * hdp;
    for (int d = 0; d < hd; ++d) o[d] = ar[d] * inv;
    if (st) {
      const int64_t idx = static_cast<int64_t>(h) * st->ld + t;
      if (st->q_norm) {
        const float* qr = io.q + t * io.ldq + static_cast<int64_t>(h) * hd;
        double ss = 0;
        for (int d = 0; d < hd; ++d) ss += static_cast<double>(qr[d]) * qr[d];
        st->q_norm[idx] = static_cast<float>(std::sqrt(ss));
      }
      if (st->entropy) {
        const double H = std::log(l[i]) - a[i] / l[i];
        st->entropy[idx] = static_cast<float>(H < 0.0 ? 0.0 : H);  // rounding below 0 → 0; NaN stays NaN
      }
      if (st->sink_mass) st->sink_mass[idx] = static_cast<float>(std::exp(static_cast<double>(s0[i]) - m[i]) / l[i]);
      if (st->max_attn) st->max_attn[idx] = static_cast<float>(1.0 / l[i]);
    }
  }
}

void check(const AttnShape& sh, const AttnIO& io) {
  if (sh.n_heads <= 0 || sh.n_kv_heads <= 0 || sh.head_dim <= 0 || sh.n_heads % sh.n_kv_heads != 0)
    throw Error("attention: bad head configuration");
  if (io.T < 0 || io.pos0 < 0) throw Error("attention: bad window");
}

}  // namespace

// One row of the bf16 kernel: block max, new running max, p = e^{s−m} (bf16
// into prow, zero up to nk), Σp and Σp(s−m).
__attribute__((target_clones("avx512f", "avx2", "default"))) float softmax_row_bf16(
    float* srow, int nv, int nk, float mold, uint16_t* prow, float& sum, float& wsum) {
  float bm = srow[0];
#pragma omp simd reduction(max : bm)
  for (int j = 1; j < nv; ++j) bm = std::max(bm, srow[j]);
  const float mnew = std::max(mold, bm);
  exp_row(srow, mnew, srow, nv, sum, wsum);
#pragma omp simd
  for (int j = 0; j < nv; ++j) {
    uint32_t u = std::bit_cast<uint32_t>(srow[j]);
    u += 0x7fffu + ((u >> 16) & 1u);
    prow[j] = static_cast<uint16_t>(u >> 16);
  }
  for (int j = nv; j < nk; ++j) prow[j] = 0;
  return mnew;
}

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
  for (int h = 0; h < sh.n_heads; ++h) {
    const int g = h / group;
    for (int64_t t = 0; t < io.T; ++t) {
      const int64_t nkeys = io.pos0 + t + 1;
      const float* qr = io.q + t * io.ldq + static_cast<int64_t>(h) * hd;
      std::vector<double> s(nkeys);
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < nkeys; ++j) {
        const float* kr = io.k + j * io.ldkv + static_cast<int64_t>(g) * hd;
        double dot = 0;
        for (int d = 0; d < hd; ++d) dot += static_cast<double>(qr[d]) * kr[d];
        s[j] = dot * scale;
        mx = std::max(mx, s[j]);
      }
      double z = 0;
      for (auto& x : s) z += std::exp(x - mx);
      double H = 0, pmax = 0;
      std::vector<double> o(hd, 0.0);
      for (int64_t j = 0; j < nkeys; ++j) {
        const double p = std::exp(s[j] - mx) / z;
        if (p > 0) H -= p * std::log(p);
        pmax = std::max(pmax, p);
        const float* vr = io.v + j * io.ldkv + static_cast<int64_t>(g) * hd;
        for (int d = 0; d < hd; ++d) o[d] += p * vr[d];
      }
      float* out = io.out + t * io.ldo + static_cast<int64_t>(h) * hd;
      for (int d = 0; d < hd; ++d) out[d] = static_cast<float>(o[d]);
      if (st) {
        const int64_t idx = static_cast<int64_t>(h) * st->ld + t;
        double qq = 0;
        for (int d = 0; d < hd; ++d) qq += static_cast<double>(qr[d]) * qr[d];
        if (st->q_norm) st->q_norm[idx] = static_cast<float>(std::sqrt(qq));
        if (st->entropy) st->entropy[idx] = static_cast<float>(H);
        if (st->sink_mass) st->sink_mass[idx] = static_cast<float>(std::exp(s[0] - mx) / z);
        if (st->max_attn) st->max_attn[idx] = static_cast<float>(pmax);
      }
    }
  }
}

}  // namespace spectra::engine
