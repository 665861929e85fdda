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
#include "util/error.hpp"

namespace spectra::engine {

namespace {
double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
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
  LayerWeights weights;
  // Activations, reused across calls.
  Buffer x, xb, q, k, v, att, gate, up, logits, stats;

  Impl(const Model& m, const EngineOptions& o, Precision p, std::string n, int th)
      : model(m), opt(o), precision(p), note(std::move(n)), threads(th),
        rope(m.desc().rope, m.desc().rope_layout, m.desc().head_dim),
        weights(m, p == Precision::BF16 ? WType::BF16 : WType::F32, o.resident_weights) {}
};

static Precision resolve_and_note(Precision p, std::string& note) { return resolve_precision(p, &note); }

Engine::Engine(const Model& model, const EngineOptions& opt) {
  const auto& d = model.desc();
  if (d.n_layers <= 0 || d.hidden <= 0 || d.n_heads <= 0 || d.n_kv_heads <= 0 || d.head_dim <= 0 ||
      d.n_heads % d.n_kv_heads != 0)
    throw Error("engine: model description is incomplete or inconsistent (heads/layers)");
  int th = opt.threads > 0 ? opt.threads : hardware_threads();
  omp_set_num_threads(th);
  std::string note;
  Precision p = resolve_and_note(opt.precision, note);
  impl_ = std::make_unique<Impl>(model, opt, p, note, th);
}

Engine::~Engine() = default;
const ModelDesc& Engine::desc() const { return impl_->model.desc(); }
Precision Engine::precision() const { return impl_->precision; }
int Engine::threads() const { return impl_->threads; }
std::string Engine::precision_note() const { return impl_->note; }

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
  float* x = I.x.as<float>(T * H);
  float* xb = I.xb.as<float>(T * std::max(H, qdim));
  float* q = I.q.as<float>(T * qdim);
  float* att = I.att.as<float>(T * qdim);
  float* gate = I.gate.as<float>(T * F);
  float* up = I.up.as<float>(T * F);
  float *kbuf = nullptr, *vbuf = nullptr;
  if (!cache) {
    kbuf = I.k.as<float>(T * kvdim);
    vbuf = I.v.as<float>(T * kvdim);
  }

  Observer* obs = fo.observer;
  const bool want_stats = obs && obs->wants_attention_stats();
  float* st = want_stats ? I.stats.as<float>(4 * static_cast<size_t>(d.n_heads) * T) : nullptr;
  AttnStats stats;
  if (want_stats) {
    const int64_t n = static_cast<int64_t>(d.n_heads) * T;
    stats = {st, st + n, st + 2 * n, st + 3 * n, T};
  }
  if (obs) obs->begin(d, tokens, pos0);

  I.weights.embed(tokens.data(), T, x);
  const AttnShape shape{d.n_heads, d.n_kv_heads, d.head_dim};
  double t_mm = 0, t_att = 0;

  for (int l = 0; l < d.n_layers; ++l) {
    const LayerMats& W = I.weights.layer(l, T);
    float* K = cache ? cache->k(l) : kbuf;
    float* V = cache ? cache->v(l) : vbuf;
    float* Kn = K + pos0 * kvdim;  // rows of this call
    float* Vn = V + pos0 * kvdim;

    double t0 = now();
    rmsnorm(x, W.attn_norm.data(), xb, T, H, d.rms_eps);
    matmul(T, xb, W.q, q);
    matmul(T, xb, W.k, Kn);
    matmul(T, xb, W.v, Vn);
    if (!W.q_bias.empty()) add_bias(q, W.q_bias.data(), T, qdim);
    if (!W.k_bias.empty()) add_bias(Kn, W.k_bias.data(), T, kvdim);
    if (!W.v_bias.empty()) add_bias(Vn, W.v_bias.data(), T, kvdim);
    I.rope.apply(q, T, d.n_heads, pos0);
    I.rope.apply(Kn, T, d.n_kv_heads, pos0);
    double t1 = now();
    t_mm += t1 - t0;

    AttnIO io{T, pos0, q, qdim, K, V, kvdim, att, qdim};
    AttnBlocking blk = I.opt.blocking;
    blk.bf16 = I.precision == Precision::BF16;
    attention_blocked(shape, io, want_stats ? &stats : nullptr, blk);
    double t2 = now();
    t_att += t2 - t1;

    if (obs) {
      LayerProbe lp{l, pos0, T, &d, q, K, V, att};
      obs->on_layer(lp);
      if (want_stats) {
        for (int h = 0; h < d.n_heads; ++h) {
          const int64_t off = static_cast<int64_t>(h) * T;
          HeadProbe hp{l, h, d.kv_head_of(h), pos0, T, tokens.data(),
                       stats.q_norm + off, stats.entropy + off, stats.sink_mass + off, stats.max_attn + off};
          obs->on_head(hp);
        }
      }
    }
    t2 = now();
    matmul(T, att, W.o, x, /*accumulate=*/true);
    rmsnorm(x, W.ffn_norm.data(), xb, T, H, d.rms_eps);
    matmul(T, xb, W.gate, gate);
    matmul(T, xb, W.up, up);
    silu_mul(gate, up, T * F);
    matmul(T, gate, W.down, x, /*accumulate=*/true);
    t_mm += now() - t2;
    if (I.opt.progress) I.opt.progress(l + 1, d.n_layers);
  }
  if (cache) cache->advance(T);

  // Final norm and output projection in vocabulary chunks.
  const double t_lm0 = now();
  const int64_t vocab = d.vocab;
  const bool need_all = fo.keep_logits || (fo.compute_nll && !fo.last_logits_only);
  const int64_t rows = need_all ? T : 1;
  const float* xin = need_all ? x : x + (T - 1) * H;
  rmsnorm(xin, I.weights.output_norm().data(), xb, rows, H, d.rms_eps);
  if (fo.keep_logits) res.logits.resize(static_cast<size_t>(rows * vocab));
  if (fo.last_logits_only && !fo.keep_logits) res.logits.resize(static_cast<size_t>(vocab));
  const bool nll = fo.compute_nll && need_all && T > 1;
  std::vector<double> run_m(nll ? rows : 0, -std::numeric_limits<double>::infinity()), run_l(nll ? rows : 0, 0.0),
      target(nll ? rows : 0, 0.0);
  int64_t chunk = std::max<int64_t>(256, I.opt.logits_chunk_floats / rows);
  chunk = std::min<int64_t>(vocab, (chunk + 63) / 64 * 64);
  float* lg = I.logits.as<float>(rows * chunk);
  for (int64_t c0 = 0; c0 < vocab; c0 += chunk) {
    const int64_t c1 = std::min(vocab, c0 + chunk), nc = c1 - c0;
    PreparedWeight w = I.weights.output_rows(c0, c1, rows);
    matmul(rows, xb, w, lg);
    if (fo.keep_logits || fo.last_logits_only) {
      float* dst = res.logits.data();
      const int64_t r_first = fo.keep_logits ? 0 : rows - 1;
      for (int64_t r = r_first; r < rows; ++r)
        std::copy(lg + r * nc, lg + (r + 1) * nc, dst + (fo.keep_logits ? r : 0) * vocab + c0);
    }
    if (nll) {
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < rows - 1; ++r) {
        const float* lr = lg + r * nc;
        float mx = lr[0];
        for (int64_t j = 1; j < nc; ++j) mx = std::max(mx, lr[j]);
        double s = 0;
        for (int64_t j = 0; j < nc; ++j) s += std::exp(static_cast<double>(lr[j]) - mx);
        const double mnew = std::max(run_m[r], static_cast<double>(mx));
        run_l[r] = run_l[r] * std::exp(run_m[r] - mnew) + s * std::exp(mx - mnew);
        run_m[r] = mnew;
        const int32_t tgt = tokens[r + 1];
        if (tgt >= c0 && tgt < c1) target[r] = lr[tgt - c0];
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
