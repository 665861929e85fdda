// The bf16 variant of the blocked attention kernel: per (head, query block,
// key block), S = Q·Kᵀ and A += P·V run as small oneDNN bf16 matmuls with
// fp32 accumulation (AVX512-BF16 / AMX dot products); the online softmax and
// the fused statistics are the same fp32/double code as the fp32 kernel.
// Q, K, V are rounded to bf16 once per call; P is rounded to bf16 per block.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>
#include <vector>

#include "engine/attention_kernel.hpp"
#include "engine/buffer.hpp"
#include "engine/gemm.hpp"
#include "engine/ops.hpp"
#include "engine/row_stats.hpp"

namespace spectra::engine {

// attention_kernel.cpp (compiled per ISA): the shared row update, then p → bf16.
float softmax_row_bf16(const rowstats::RowWants& want, rowstats::RowState& r, float* srow, int nv, int nk,
                       bool first_block, uint16_t* prow, bool* rescale);

namespace {

using dnnl::memory;
using dt = memory::data_type;

// One small matmul shape: dst[M][N] (+)= src[M][K] · wei[K][N], all strided.
struct SmallMM {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
  size_t scratch = 0;
};

std::mutex g_mu;
std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool>, SmallMM> g_mm;

// src strides {lds,1}; weights {K,N} with strides (wk, wn); dst {ldd,1}.
SmallMM& small_mm(int64_t M, int64_t N, int64_t K, int64_t lds, int64_t wk, int64_t wn, int64_t ldd, bool acc) {
  auto key = std::make_tuple(M, N, K, lds, wk, wn, ldd * (acc ? -1 : 1), acc);
  std::lock_guard<std::mutex> lk(g_mu);
  auto it = g_mm.find(key);
  if (it != g_mm.end()) return it->second;
  memory::desc src({M, K}, dt::bf16, memory::dims{lds, 1});
  memory::desc wei({K, N}, dt::bf16, memory::dims{wk, wn});
  memory::desc dst({M, N}, dt::f32, memory::dims{ldd, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (acc) {
    dnnl::post_ops po;
    po.append_sum(1.0f);
    attr.set_post_ops(po);
  }
  dnnl::matmul::desc d(src, wei, dst);
  dnnl::matmul::primitive_desc pd(d, attr, cpu_engine());
  SmallMM mm{pd, dnnl::matmul(pd), pd.scratchpad_desc().get_size()};
  return g_mm.emplace(key, std::move(mm)).first->second;
}

void run_mm(SmallMM& mm, dnnl::stream& s, const void* src, const void* wei, float* dst, Buffer& scratch) {
  memory ms(mm.pd.src_desc(), cpu_engine(), const_cast<void*>(src));
  memory mw(mm.pd.weights_desc(), cpu_engine(), const_cast<void*>(wei));
  memory md(mm.pd.dst_desc(), cpu_engine(), dst);
  memory sp(mm.pd.scratchpad_desc(), cpu_engine(), scratch.reserve(std::max<size_t>(mm.scratch, 64)));
  mm.prim.execute(s, {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, md}, {DNNL_ARG_SCRATCHPAD, sp}});
}

Buffer g_qb, g_kb, g_vb;  // bf16 copies of Q (scaled), K, V: O(T) memory

}  // namespace

void attention_blocked_bf16(const AttnShape& sh, const AttnIO& io, const AttnStats* st, AttnBlocking b) {
  const int hd = sh.head_dim;
  const int64_t nkeys = io.pos0 + io.T;
  const int64_t qdim = int64_t{sh.n_heads} * hd, kvdim = int64_t{sh.n_kv_heads} * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // Dense bf16 copies: Q scaled by 1/√d, K, V.
  uint16_t* Qb = g_qb.as<uint16_t>(static_cast<size_t>(io.T * qdim));
  uint16_t* Kb = g_kb.as<uint16_t>(static_cast<size_t>(nkeys * kvdim));
  uint16_t* Vb = g_vb.as<uint16_t>(static_cast<size_t>(nkeys * kvdim));
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < io.T; ++t) {
    float tmp[1024];
    for (int64_t c0 = 0; c0 < qdim; c0 += 1024) {
      const int64_t n = std::min<int64_t>(1024, qdim - c0);
      for (int64_t c = 0; c < n; ++c) tmp[c] = io.q[t * io.ldq + c0 + c] * scale;
      f32_to_bf16_row(tmp, Qb + t * qdim + c0, n);
    }
  }
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < nkeys; ++t) {
    f32_to_bf16_row(io.k + t * io.ldkv, Kb + t * kvdim, kvdim);
    f32_to_bf16_row(io.v + t * io.ldkv, Vb + t * kvdim, kvdim);
  }

  const int bq = std::max(1, b.bq_bf16), bk = std::max(1, b.bk_bf16);
  const int64_t nqb = (io.T + bq - 1) / bq;
  const int64_t items = nqb * sh.n_heads;
  const int group = sh.n_heads / sh.n_kv_heads;
#pragma omp parallel
  {
    dnnl::stream strm(cpu_engine());
    Buffer sbuf, pbuf, abuf, scratch, rawbuf, mbuf;
    float* S = sbuf.as<float>(static_cast<size_t>(bq) * bk);
    uint16_t* P = pbuf.as<uint16_t>(static_cast<size_t>(bq) * bk);
    float* A = abuf.as<float>(static_cast<size_t>(bq) * hd);
    std::vector<rowstats::RowState> rows(bq);
    std::vector<float> qn(bq);
    rowstats::BudgetScratch bscr;
    const rowstats::RowWants want{st && st->neg_var_score, st && st->entropy_fixed_norm && st->ref_norm};
    const bool budget = st && st->k_budget && st->budget;
#pragma omp for schedule(dynamic, 1)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t qb = nqb - 1 - it / sh.n_heads;
      const int h = static_cast<int>(it % sh.n_heads);
      const int g = h / group;
      const int64_t r0 = qb * bq, r1 = std::min<int64_t>(io.T, r0 + bq);
      const int nq = static_cast<int>(r1 - r0);
      for (auto& r : rows) r.reset();
      if (st) {
        for (int i = 0; i < nq; ++i) {
          qn[i] = rowstats::q_norm_of(io.q + (r0 + i) * io.ldq + int64_t{h} * hd, hd);
          if (want.fix) rows[i].beta = rowstats::fixed_norm_beta(st->ref_norm[h], qn[i]);
        }
      }
      std::memset(A, 0, sizeof(float) * nq * hd);
      const int64_t kend = io.pos0 + r1;
      // k_budget: the p values of this query block against all its keys (nq ×
      // kend floats) and each row's running max after each key block (nq × nkb).
      const int64_t nkb = (kend + bk - 1) / bk;
      float* raw = budget ? rawbuf.as<float>(static_cast<size_t>(nq) * kend) : nullptr;
      float* mblk = budget ? mbuf.as<float>(static_cast<size_t>(nq) * nkb) : nullptr;
      for (int64_t k0 = 0; k0 < kend; k0 += bk) {
        const int nk = static_cast<int>(std::min<int64_t>(bk, kend - k0));
        // S[nq][nk] = Q_blk · K_blkᵀ
        SmallMM& qk = small_mm(nq, nk, hd, qdim, 1, kvdim, bk, false);
        run_mm(qk, strm, Qb + r0 * qdim + int64_t{h} * hd, Kb + k0 * kvdim + int64_t{g} * hd, S, scratch);
        for (int i = 0; i < nq; ++i) {
          float* srow = S + static_cast<size_t>(i) * bk;
          uint16_t* prow = P + static_cast<size_t>(i) * bk;
          const int64_t last = io.pos0 + r0 + i;
          const int nv = static_cast<int>(std::min<int64_t>(nk, last - k0 + 1));
          if (nv <= 0) {
            std::memset(prow, 0, sizeof(uint16_t) * nk);
            continue;
          }
          bool rescale;
          const float alpha = softmax_row_bf16(want, rows[i], srow, nv, nk, k0 == 0, prow, &rescale);
          if (raw) {  // srow now holds p (fp32)
            std::memcpy(raw + static_cast<size_t>(i) * kend + k0, srow, sizeof(float) * nv);
            mblk[i * nkb + k0 / bk] = rows[i].m;
          }
          if (rescale) {
            float* ar = A + static_cast<size_t>(i) * hd;
            for (int d = 0; d < hd; ++d) ar[d] *= alpha;
          }
        }
        // A[nq][hd] += P · V_blk
        SmallMM& pv = small_mm(nq, hd, nk, bk, kvdim, 1, hd, true);
        run_mm(pv, strm, P, Vb + k0 * kvdim + int64_t{g} * hd, A, scratch);
      }
      for (int i = 0; i < nq; ++i) {
        const int64_t t = r0 + i;
        const float inv = static_cast<float>(1.0 / rows[i].l);
        float* o = io.out + t * io.ldo + int64_t{h} * hd;
        for (int d = 0; d < hd; ++d) o[d] = A[static_cast<size_t>(i) * hd + d] * inv;
        if (st) {
          const int64_t idx = int64_t{h} * st->ld + t;
          if (st->q_norm) st->q_norm[idx] = qn[i];
          const rowstats::BudgetRow br{raw ? raw + static_cast<size_t>(i) * kend : nullptr,
                                       mblk ? mblk + i * nkb : nullptr, bk};
          rowstats::finish_row(rows[i], *st, idx, br, io.pos0 + t + 1, &bscr);
        }
      }
    }
  }
}

}  // namespace spectra::engine
