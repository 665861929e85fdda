// The prefill / decode forward pass with the probe hooks.
#include "engine/forward.hpp"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "engine/buffer.hpp"
#include "engine/layer_weights.hpp"
#include "engine/ops.hpp"
#include "engine/rope.hpp"
#include "engine/row_stats.hpp"
#include "util/error.hpp"

namespace spectra::engine {

namespace {
double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The reference norm c_h of the fixed-norm entropy, accumulated chunk by
// chunk in row order (so chunked and unchunked passes sum in the same order):
// per head, the sum and count of ‖q_t‖ (exactly as the kernel reports it)
// over rows at positions ≥ kRefNormSkip, and over all rows.
struct RefNormAcc {
  std::vector<double> sum_late, sum_all;
  int64_t n_late = 0, n_all = 0;
  std::vector<float> norms;  // scratch [rows][heads]

  void reset(int heads) {
    sum_late.assign(heads, 0.0);
    sum_all.assign(heads, 0.0);
    n_late = n_all = 0;
  }
  // q: n rows of n_heads × head_dim (after RoPE) at positions p0, p0+1, ...
  void add(const float* q, int64_t n, int64_t p0, int heads, int hd) {
    norms.resize(static_cast<size_t>(n) * heads);
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < n; ++t)
      for (int h = 0; h < heads; ++h)
        norms[t * heads + h] = rowstats::q_norm_of(q + (t * heads + h) * hd, hd);
    for (int64_t t = 0; t < n; ++t) {
      const bool late = p0 + t >= kRefNormSkip;
      for (int h = 0; h < heads; ++h) {
        const double v = norms[t * heads + h];
        sum_all[h] += v;
        if (late) sum_late[h] += v;
      }
      n_all += 1;
      n_late += late ? 1 : 0;
    }
  }
  // c_h = the mean over the late rows (all rows when there are none).
  void finish(std::vector<float>& c) const {
    c.resize(sum_all.size());
    for (size_t h = 0; h < c.size(); ++h)
      c[h] = static_cast<float>(n_late > 0 ? sum_late[h] / static_cast<double>(n_late)
                                           : sum_all[h] / static_cast<double>(n_all));
  }
};
}  // namespace

double ForwardResult::mean_nll() const {
  if (nll.empty()) return std::numeric_limits<double>::quiet_NaN();
  double s = 0;
  for (double x : nll) s += x;
  return s / static_cast<double>(nll.size());
}

struct Engine::Impl {
  const Model& model;
  EngineOptions opt;
  Precision precision;
  std::string note;
  int threads;
  Rope rope;
  WeightsDecision weights_decision;
  LayerWeights weights;
  // Activations, reused across calls.
  Buffer x, xb, q, k, v, att, gate, up, logits, stats;

  Impl(const Model& m, const EngineOptions& o, Precision p, std::string n, int th, WeightsDecision wd)
      : model(m), opt(o), precision(p), note(std::move(n)), threads(th),
        rope(m.desc().rope, m.desc().rope_layout, m.desc().head_dim), weights_decision(std::move(wd)),
        weights(m, p == Precision::BF16 ? WType::BF16 : WType::F32,
                weights_decision.mode == WeightsMode::Resident) {}
};

static Precision resolve_and_note(Precision p, std::string& note) { return resolve_precision(p, &note); }

Engine::Engine(const Model& model, const EngineOptions& opt) {
  const auto& d = model.desc();
  if (d.n_layers <= 0 || d.hidden <= 0 || d.n_heads <= 0 || d.n_kv_heads <= 0 || d.head_dim <= 0 ||
      d.n_heads % d.n_kv_heads != 0)
    throw Error("engine: model description is incomplete or inconsistent (heads/layers)");
  if (opt.budget_stat && !(opt.budget_mass > 0.f && opt.budget_mass < 1.f))
    throw Error("engine: the attention-budget mass P must be in (0, 1), got " + std::to_string(opt.budget_mass));
  int th = opt.threads > 0 ? opt.threads : hardware_threads();
  omp_set_num_threads(th);
  std::string note;
  Precision p = resolve_and_note(opt.precision, note);
  const bool bf16 = p == Precision::BF16;
  const int64_t window = opt.window_tokens_hint > 0 ? opt.window_tokens_hint
                         : d.max_context > 0        ? d.max_context
                                                    : 4096;
  WeightsDecision wd = decide_weights_mode(
      opt.weights, converted_weight_bytes(model, bf16),
      window_activation_bytes(d, window, opt.prefill_chunk, th, opt.budget_stat, bf16),
      opt.weights == WeightsMode::Auto ? read_meminfo() : MemInfo{});
  wd.memory_bound_bytes = weight_memory_bound_bytes(model, bf16, wd.mode) + wd.window_bytes;
  impl_ = std::make_unique<Impl>(model, opt, p, note, th, std::move(wd));
}

Engine::~Engine() = default;
const ModelDesc& Engine::desc() const { return impl_->model.desc(); }
Precision Engine::precision() const { return impl_->precision; }
int Engine::threads() const { return impl_->threads; }
std::string Engine::precision_note() const { return impl_->note; }
WeightsMode Engine::weights_mode() const { return impl_->weights_decision.mode; }
const WeightsDecision& Engine::weights_decision() const { return impl_->weights_decision; }

void Engine::validate_tokens(std::span<const int32_t> tokens) const {
  const int vocab = desc().vocab;
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || tokens[i] >= vocab)
      throw Error("token id " + std::to_string(tokens[i]) + " at position " + std::to_string(i) +
                  " is out of range: the model's vocabulary has ids 0.." + std::to_string(vocab - 1));
}

ForwardResult Engine::forward(std::span<const int32_t> tokens, const ForwardOptions& fo, KVCache* cache) {
  Impl& I = *impl_;
  const ModelDesc& d = I.model.desc();
  validate_tokens(tokens);
  omp_set_num_threads(I.threads);
  const double t_start = now();
  const double conv0 = I.weights.convert_seconds();

  const int64_t T = static_cast<int64_t>(tokens.size());
  const int64_t pos0 = cache ? cache->size() : 0;
  if (cache && pos0 + T > cache->capacity()) throw Error("KV cache too small for this window");
  ForwardResult res;
  res.pos0 = pos0;
  res.n = T;
  if (T == 0) return res;

  const int64_t H = d.hidden, qdim = static_cast<int64_t>(d.n_heads) * d.head_dim,
                kvdim = static_cast<int64_t>(d.n_kv_heads) * d.head_dim, F = d.ffn;
  // Query chunk: activations below are C rows; only the residual stream x
  // (T × hidden) and one layer's K/V (T × kv width) span the whole window.
  const int64_t C = I.opt.prefill_chunk > 0 ? std::min(T, I.opt.prefill_chunk) : T;
  float* x = I.x.as<float>(T * H);
  float* xb = I.xb.as<float>(C * std::max(H, qdim));
  float* q = I.q.as<float>(C * qdim);
  float* att = I.att.as<float>(C * qdim);
  float* gate = I.gate.as<float>(C * F);
  float* up = I.up.as<float>(C * F);
  float *kbuf = nullptr, *vbuf = nullptr;
  if (!cache) {
    kbuf = I.k.as<float>(T * kvdim);
    vbuf = I.v.as<float>(T * kvdim);
  }

  Observer* obs = fo.observer;
  const bool want_stats = obs && obs->wants_attention_stats();
  // One [heads][T] array per HeadProbe statistic, in kHeadProbeFields order.
  float* st = want_stats ? I.stats.as<float>(kNumHeadProbeFields * static_cast<size_t>(d.n_heads) * T) : nullptr;
  const int64_t n_stat = static_cast<int64_t>(d.n_heads) * T;
  auto field = [&](int f) { return st + f * n_stat; };
  static_assert(kNumHeadProbeFields == 9 && kHeadProbeFields[0].member == &HeadProbe::q_norm &&
                    kHeadProbeFields[1].member == &HeadProbe::entropy &&
                    kHeadProbeFields[2].member == &HeadProbe::sink_mass &&
                    kHeadProbeFields[3].member == &HeadProbe::max_attn &&
                    kHeadProbeFields[4].member == &HeadProbe::entropy_fixed_norm &&
                    kHeadProbeFields[5].member == &HeadProbe::neg_var_score &&
                    kHeadProbeFields[6].member == &HeadProbe::max_score &&
                    kHeadProbeFields[7].member == &HeadProbe::logsumexp &&
                    kHeadProbeFields[8].member == &HeadProbe::k_budget,
                "the stats buffer below is laid out in kHeadProbeFields order");
  if (want_stats && !I.opt.budget_stat)  // the kernel does not write k_budget then
    std::fill(field(8), field(8) + n_stat, std::numeric_limits<float>::quiet_NaN());
  RefNormAcc ref_acc;
  std::vector<float> ref_norm(d.n_heads, std::numeric_limits<float>::quiet_NaN());
  if (obs) obs->begin(d, tokens, pos0);

  I.weights.embed(tokens.data(), T, x);
  const AttnShape shape{d.n_heads, d.n_kv_heads, d.head_dim};
  double t_mm = 0, t_att = 0;

  for (int l = 0; l < d.n_layers; ++l) {
    const LayerMats& W = I.weights.layer(l, C);
    float* K = cache ? cache->k(l) : kbuf;
    float* V = cache ? cache->v(l) : vbuf;
    // The fixed-norm entropy needs this layer's reference norms c_h (mean
    // ‖q‖ over the whole call) before its first attention. With one chunk
    // they come from the chunk's own Q below. With several chunks the later
    // chunks' Q is not known yet: a pre-pass computes rmsnorm + Q projection
    // (+ bias) + RoPE chunk by chunk, keeps only the norms and discards Q.
    // Cost: one extra Q projection per layer (≈ hidden × q width × T MACs,
    // about 1/(2 + 2·kv/q + 3·ffn/q) of the layer's matmuls), only when
    // statistics are on and the window is longer than the chunk.
    if (want_stats) ref_acc.reset(d.n_heads);
    if (want_stats && C < T) {
      const double tp = now();
      for (int64_t c0 = 0; c0 < T; c0 += C) {
        const int64_t n = std::min(C, T - c0);
        rmsnorm(x + c0 * H, W.attn_norm.data(), xb, n, H, d.rms_eps);
        matmul(n, xb, W.q, q);
        if (!W.q_bias.empty()) add_bias(q, W.q_bias.data(), n, qdim);
        I.rope.apply(q, n, d.n_heads, pos0 + c0);
        ref_acc.add(q, n, pos0 + c0, d.n_heads, d.head_dim);
      }
      ref_acc.finish(ref_norm);
      t_mm += now() - tp;
    }
    for (int64_t c0 = 0; c0 < T; c0 += C) {
      const int64_t n = std::min(C, T - c0), p0 = pos0 + c0;  // rows of this chunk, their first position
      float* xc = x + c0 * H;
      float* Kn = K + p0 * kvdim;
      float* Vn = V + p0 * kvdim;

      double t0 = now();
      rmsnorm(xc, W.attn_norm.data(), xb, n, H, d.rms_eps);
      matmul(n, xb, W.q, q);
      matmul(n, xb, W.k, Kn);
      matmul(n, xb, W.v, Vn);
      if (!W.q_bias.empty()) add_bias(q, W.q_bias.data(), n, qdim);
      if (!W.k_bias.empty()) add_bias(Kn, W.k_bias.data(), n, kvdim);
      if (!W.v_bias.empty()) add_bias(Vn, W.v_bias.data(), n, kvdim);
      I.rope.apply(q, n, d.n_heads, p0);
      I.rope.apply(Kn, n, d.n_kv_heads, p0);
      double t1 = now();
      t_mm += t1 - t0;

      if (want_stats && C >= T) {  // one chunk: c_h from this Q (the same sums as the pre-pass)
        ref_acc.add(q, n, p0, d.n_heads, d.head_dim);
        ref_acc.finish(ref_norm);
      }

      AttnIO io{n, p0, q, qdim, K, V, kvdim, att, qdim};
      AttnBlocking blk = I.opt.blocking;
      blk.bf16 = I.precision == Precision::BF16;
      // Statistics of row c0 + i of head h at [f * n_stat + h * T + c0 + i] (f: kHeadProbeFields order).
      AttnStats stats{field(0) + c0, field(1) + c0, field(2) + c0, field(3) + c0, T};
      if (want_stats) {
        stats.entropy_fixed_norm = field(4) + c0;
        stats.neg_var_score = field(5) + c0;
        stats.max_score = field(6) + c0;
        stats.logsumexp = field(7) + c0;
        stats.k_budget = I.opt.budget_stat ? field(8) + c0 : nullptr;
        stats.ref_norm = ref_norm.data();
        stats.budget_mass = I.opt.budget_mass;
        stats.budget = I.opt.budget_stat;
      }
      attention_blocked(shape, io, want_stats ? &stats : nullptr, blk);
      double t2 = now();
      t_att += t2 - t1;
      if (obs) obs->on_layer(LayerProbe{l, p0, n, &d, q, K, V, att});

      t2 = now();
      matmul(n, att, W.o, xc, /*accumulate=*/true);
      rmsnorm(xc, W.ffn_norm.data(), xb, n, H, d.rms_eps);
      matmul(n, xb, W.gate, gate);
      matmul(n, xb, W.up, up);
      silu_mul(gate, up, n * F);
      matmul(n, gate, W.down, xc, /*accumulate=*/true);
      t_mm += now() - t2;
    }
    if (want_stats) {
      for (int h = 0; h < d.n_heads; ++h) {
        const int64_t off = static_cast<int64_t>(h) * T;
        HeadProbe hp{l, h, d.kv_head_of(h), pos0, T, tokens.data()};
        for (int f = 0; f < kNumHeadProbeFields; ++f) hp.*(kHeadProbeFields[f].member) = field(f) + off;
        obs->on_head(hp);
      }
    }
    if (I.opt.progress) I.opt.progress(l + 1, d.n_layers);
  }
  if (cache) cache->advance(T);

  // Final norm (in place: x is not needed after it) and the output projection
  // in vocabulary chunks, each applied to the rows in query chunks.
  const double t_lm0 = now();
  const int64_t vocab = d.vocab;
  const bool need_all = fo.keep_logits || (fo.compute_nll && !fo.last_logits_only);
  const int64_t rows = need_all ? T : 1;
  float* xin = need_all ? x : x + (T - 1) * H;
  rmsnorm(xin, I.weights.output_norm().data(), xin, rows, H, d.rms_eps);
  if (fo.keep_logits) res.logits.resize(static_cast<size_t>(rows * vocab));
  if (fo.last_logits_only && !fo.keep_logits) res.logits.resize(static_cast<size_t>(vocab));
  const bool nll = fo.compute_nll && need_all && T > 1;
  std::vector<double> run_m(nll ? rows : 0, -std::numeric_limits<double>::infinity()), run_l(nll ? rows : 0, 0.0),
      target(nll ? rows : 0, 0.0);
  const int64_t RC = std::min(rows, C);  // rows per product
  int64_t chunk = std::max<int64_t>(256, I.opt.logits_chunk_floats / RC);
  chunk = std::min<int64_t>(vocab, (chunk + 63) / 64 * 64);
  float* lg = I.logits.as<float>(RC * chunk);
  for (int64_t c0 = 0; c0 < vocab; c0 += chunk) {
    const int64_t c1 = std::min(vocab, c0 + chunk), nc = c1 - c0;
    PreparedWeight w = I.weights.output_rows(c0, c1, RC);
    for (int64_t r0 = 0; r0 < rows; r0 += RC) {
      const int64_t nr = std::min(RC, rows - r0);
      matmul(nr, xin + r0 * H, w, lg);
      if (fo.keep_logits || fo.last_logits_only) {
        float* dst = res.logits.data();
        for (int64_t r = fo.keep_logits ? 0 : nr - 1; r < nr; ++r)
          std::copy(lg + r * nc, lg + (r + 1) * nc, dst + (fo.keep_logits ? r0 + r : 0) * vocab + c0);
      }
      if (nll) {
        const int64_t r_end = std::min(nr, rows - 1 - r0);  // rows with a target inside the window
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < r_end; ++i) {
          const int64_t r = r0 + i;
          const float* lr = lg + i * nc;
          const MaxSumExp ms = max_sum_exp(lr, nc);
          const double mx = ms.max, s = ms.sum;
          const double mnew = std::max(run_m[r], static_cast<double>(mx));
          run_l[r] = run_l[r] * std::exp(run_m[r] - mnew) + s * std::exp(mx - mnew);
          run_m[r] = mnew;
          const int32_t tgt = tokens[r + 1];
          if (tgt >= c0 && tgt < c1) target[r] = lr[tgt - c0];
        }
      }
    }
  }
  if (nll) {
    res.nll.resize(static_cast<size_t>(T - 1));
    for (int64_t r = 0; r < T - 1; ++r) res.nll[r] = run_m[r] + std::log(run_l[r]) - target[r];
    if (obs) obs->on_nll(pos0, res.nll);
  }
  if (obs) obs->end();
  const double t_end = now();
  res.time.lm_head = t_end - t_lm0;
  res.time.total = t_end - t_start;
  res.time.convert = I.weights.convert_seconds() - conv0;
  res.time.attention = t_att;
  res.time.matmul = t_mm;
  return res;
}

}  // namespace spectra::engine
