// One head step by step, and the cross-check against the fused engine (see
// head_trace.hpp).
#include "dissect/head_trace.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "dissect/reference_forward.hpp"
#include "engine/forward.hpp"
#include "engine/probe.hpp"
#include "util/error.hpp"

namespace spectra::dissect {

namespace {

// The per-head statistics the engine hands out for one layer.
class LayerCollector : public engine::Observer {
 public:
  LayerCollector(int layer, int n_heads, int64_t n)
      : layer_(layer),
        q_norm(n_heads, std::vector<float>(n, NAN)),
        entropy(n_heads, std::vector<float>(n, NAN)),
        sink(n_heads, std::vector<float>(n, NAN)),
        max_attn(n_heads, std::vector<float>(n, NAN)) {}
  void on_head(const engine::HeadProbe& hp) override {
    if (hp.layer != layer_ || hp.head < 0 || hp.head >= static_cast<int>(q_norm.size())) return;
    for (int64_t i = 0; i < hp.n; ++i) {
      const int64_t t = hp.pos0 + i;
      if (t < 0 || t >= static_cast<int64_t>(q_norm[hp.head].size())) continue;
      q_norm[hp.head][t] = hp.q_norm[i];
      entropy[hp.head][t] = hp.entropy[i];
      sink[hp.head][t] = hp.sink_mass[i];
      max_attn[hp.head][t] = hp.max_attn[i];
    }
  }
  int layer_;
  std::vector<std::vector<float>> q_norm, entropy, sink, max_attn;
};

double norm2(const double* x, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += x[i] * x[i];
  return std::sqrt(s);
}

// Row t of one head: scores over j ≤ t, softmax, entropy, sink, max.
struct RowStats {
  double entropy = 0, sink = 0, max_p = 0;
  int64_t argmax = 0;
};

RowStats attention_row(const LayerQKV& qk, int head, int kv_head, int64_t t, double* scores_row, double* probs_row) {
  const int hd = qk.head_dim;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  const double* q = qk.q_row(t, head);
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j <= t; ++j) {
    const double* k = qk.k_row(j, kv_head);
    double s = 0;
    for (int i = 0; i < hd; ++i) s += q[i] * k[i];
    scores_row[j] = s * scale;
    m = std::max(m, scores_row[j]);
  }
  double z = 0;
  for (int64_t j = 0; j <= t; ++j) z += std::exp(scores_row[j] - m);
  const double lse = m + std::log(z);
  RowStats r;
  double ps = 0;
  for (int64_t j = 0; j <= t; ++j) {
    const double p = std::exp(scores_row[j] - lse);
    if (probs_row) probs_row[j] = p;
    ps += p * scores_row[j];
    if (p > r.max_p) {
      r.max_p = p;
      r.argmax = j;
    }
  }
  // H = logsumexp(s) − Σ p s: exact, no log of tiny probabilities.
  r.entropy = std::max(0.0, lse - ps);
  r.sink = std::exp(scores_row[0] - lse);
  return r;
}

}  // namespace

double pearson_r(std::span<const double> x, std::span<const double> y) {
  const size_t n = std::min(x.size(), y.size());
  if (n < 3) return NAN;
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (!(sxx > 0) || !(syy > 0)) return NAN;
  return std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
}

HeadTrace trace_head(const Model& model, std::span<const int32_t> tokens, const TraceOptions& opt,
                     const std::vector<std::string>& token_text) {
  const ModelDesc& d = model.desc();
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) throw Error("trace: the input has no tokens");
  if (n > kMaxTraceTokens)
    throw Error("trace: the input has " + std::to_string(n) + " tokens; trace works on at most " +
                std::to_string(kMaxTraceTokens) + " (it builds full n × n matrices in double precision)");
  if (opt.layer < 0 || opt.layer >= d.n_layers)
    throw Error("trace: --layer " + std::to_string(opt.layer) + " is out of range: the model has layers 0.." +
                std::to_string(d.n_layers - 1));
  if (opt.head < 0 || opt.head >= d.n_heads)
    throw Error("trace: --head " + std::to_string(opt.head) + " is out of range: the model has query heads 0.." +
                std::to_string(d.n_heads - 1));

  HeadTrace tr;
  tr.model_name = d.name;
  tr.n_layers = d.n_layers;
  tr.n_heads = d.n_heads;
  tr.n_kv_heads = d.n_kv_heads;
  tr.head_dim = d.head_dim;
  tr.layer = opt.layer;
  tr.head = opt.head;
  tr.kv_head = opt.head / (d.n_heads / d.n_kv_heads);
  tr.tokens.assign(tokens.begin(), tokens.end());
  tr.n = n;
  tr.token_text.resize(n);
  for (int64_t t = 0; t < n; ++t)
    tr.token_text[t] = t < static_cast<int64_t>(token_text.size()) ? token_text[t] : "#" + std::to_string(tokens[t]);

  // 1. The reference forward pass up to this layer.
  ReferenceOptions ro;
  ro.rope_layout_override = opt.reference_rope_layout;
  const LayerQKV qk = reference_layer_qkv(model, tokens, opt.layer, ro);
  tr.rope_layout = qk.rope_layout;
  tr.rope_layout_overridden = opt.reference_rope_layout.has_value() && *opt.reference_rope_layout != d.rope_layout;

  // 2. The traced head: q, k, norms, scores, probabilities, row statistics.
  const int hd = d.head_dim;
  tr.q.resize(n * hd);
  tr.k.resize(n * hd);
  tr.q_norm.resize(n);
  tr.k_norm.resize(n);
  for (int64_t t = 0; t < n; ++t) {
    std::copy_n(qk.q_row(t, tr.head), hd, tr.q.data() + t * hd);
    std::copy_n(qk.k_row(t, tr.kv_head), hd, tr.k.data() + t * hd);
    tr.q_norm[t] = norm2(qk.q_row(t, tr.head), hd);
    tr.k_norm[t] = norm2(qk.k_row(t, tr.kv_head), hd);
  }
  tr.scores.assign(n * n, NAN);
  tr.probs.assign(n * n, 0.0);
  tr.entropy.resize(n);
  tr.sink_mass.resize(n);
  tr.max_attn.resize(n);
  tr.argmax.resize(n);
  for (int64_t t = 0; t < n; ++t) {
    const RowStats r = attention_row(qk, tr.head, tr.kv_head, t, tr.scores.data() + t * n, tr.probs.data() + t * n);
    tr.entropy[t] = r.entropy;
    tr.sink_mass[t] = r.sink;
    tr.max_attn[t] = r.max_p;
    tr.argmax[t] = r.argmax;
  }

  // 3. Every head of the layer: ‖q‖ and H per position, r across positions ≥ 1
  //    (position 0 has H = 0 by construction).
  tr.layer_q_norm.assign(d.n_heads, std::vector<double>(n));
  tr.layer_entropy.assign(d.n_heads, std::vector<double>(n));
  tr.layer_r.assign(d.n_heads, NAN);
  std::vector<double> srow(n);
  for (int h = 0; h < d.n_heads; ++h) {
    const int kvh = h / (d.n_heads / d.n_kv_heads);
    for (int64_t t = 0; t < n; ++t) {
      tr.layer_q_norm[h][t] = norm2(qk.q_row(t, h), hd);
      tr.layer_entropy[h][t] = attention_row(qk, h, kvh, t, srow.data(), nullptr).entropy;
    }
    if (n > 1)
      tr.layer_r[h] = pearson_r(std::span<const double>(tr.layer_q_norm[h]).subspan(1),
                                std::span<const double>(tr.layer_entropy[h]).subspan(1));
  }

  // 4. The engine's fused numbers for the same tokens (fp32), and the check.
  tr.check.tolerance = opt.tolerance;
  if (!opt.run_engine) return tr;
  engine::EngineOptions eo;
  eo.precision = engine::Precision::FP32;
  eo.threads = opt.threads;
  engine::Engine eng(model, eo);
  LayerCollector col(opt.layer, d.n_heads, n);
  engine::ForwardOptions fo;
  fo.observer = &col;
  fo.compute_nll = false;
  eng.forward(tokens, fo);
  tr.check.engine_precision = engine::to_string(eng.precision());

  CrossCheck& c = tr.check;
  c.ran = true;
  bool complete = true;
  for (int h = 0; h < d.n_heads; ++h) {
    for (int64_t t = 0; t < n; ++t) {
      const double eq = col.q_norm[h][t], ee = col.entropy[h][t];
      if (!std::isfinite(eq) || !std::isfinite(ee)) {
        complete = false;
        continue;
      }
      const double rq = tr.layer_q_norm[h][t];
      const double dq = std::abs(eq - rq) / std::max(rq, 1e-30);
      const double de = std::abs(ee - tr.layer_entropy[h][t]);
      if (dq > c.max_q_norm_rel) {
        c.max_q_norm_rel = dq;
        c.q_norm_worst_head = h;
        c.q_norm_worst_pos = t;
      }
      if (de > c.max_entropy_abs) {
        c.max_entropy_abs = de;
        c.entropy_worst_head = h;
        c.entropy_worst_pos = t;
      }
      if (h == tr.head) {
        c.head_q_norm_rel = std::max(c.head_q_norm_rel, dq);
        c.head_entropy_abs = std::max(c.head_entropy_abs, de);
      }
    }
  }
  // Sink mass and max weight for the traced head (informative).
  for (int64_t t = 0; t < n; ++t) {
    c.max_sink_abs = std::max(c.max_sink_abs, std::abs(col.sink[tr.head][t] - tr.sink_mass[t]));
    c.max_max_attn_abs = std::max(c.max_max_attn_abs, std::abs(col.max_attn[tr.head][t] - tr.max_attn[t]));
  }
  c.passed = complete && c.max_q_norm_rel <= c.tolerance && c.max_entropy_abs <= c.tolerance;
  if (!complete) c.max_q_norm_rel = c.max_entropy_abs = INFINITY;  // the engine reported nothing for some rows
  tr.engine_q_norm = std::move(col.q_norm);
  tr.engine_entropy = std::move(col.entropy);
  tr.engine_sink = std::move(col.sink);
  tr.engine_max_attn = std::move(col.max_attn);
  return tr;
}

namespace {

// Printable, one-line, at most `width` columns (UTF-8 aware enough for
// display: bytes ≥ 0x80 that start a sequence count as one column).
std::string display(const std::string& s, size_t width) {
  std::string out;
  size_t cols = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) {
      if (cols == width) {
        out += "…";
        return out;
      }
      ++cols;
    }
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20) out += '?';
    else out += static_cast<char>(c);
  }
  return out + std::string(width - cols, ' ');
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

}  // namespace

std::string trace_summary(const HeadTrace& tr, int max_rows, int top_k) {
  std::string s;
  char b[512];
  std::snprintf(b, sizeof b, "trace: %s  layer %d/%d  head %d/%d (KV head %d)  head_dim %d  %lld tokens\n",
                tr.model_name.empty() ? "model" : tr.model_name.c_str(), tr.layer, tr.n_layers, tr.head, tr.n_heads,
                tr.kv_head, tr.head_dim, static_cast<long long>(tr.n));
  s += b;
  std::snprintf(b, sizeof b, "reference: double-precision forward pass, RoPE %s pairs%s\n",
                tr.rope_layout == RopeLayout::HalfSplit ? "half-split" : "adjacent",
                tr.rope_layout_overridden ? " (OVERRIDDEN: not the model's layout)" : "");
  s += b;
  s += "scores s_tj = q_t·k_j/√d (j ≤ t), p = softmax(s), H = logsumexp(s) − Σ p s (nats), sink = p_t0\n\n";
  std::snprintf(b, sizeof b, "%6s  %-14s %9s %8s %10s %7s  %s\n", "pos", "token", "|q|", "H", "H/log(t+1)", "sink",
                "top-attended: pos 'token' p");
  s += b;
  const int64_t n = tr.n;
  const int64_t head_rows = n <= max_rows ? n : max_rows * 2 / 3;
  const int64_t tail_from = n <= max_rows ? n : n - (max_rows - head_rows);
  for (int64_t t = 0; t < n; ++t) {
    if (t == head_rows && tail_from > head_rows) {
      std::snprintf(b, sizeof b, "   ... %lld rows not shown (write them all with --out) ...\n",
                    static_cast<long long>(tail_from - head_rows));
      s += b;
      t = tail_from - 1;
      continue;
    }
    std::vector<int64_t> idx(t + 1);
    std::iota(idx.begin(), idx.end(), 0);
    const int k = static_cast<int>(std::min<int64_t>(top_k, t + 1));
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                      [&](int64_t a, int64_t c) { return tr.prob(t, a) > tr.prob(t, c); });
    const double hn = t > 0 ? tr.entropy[t] / std::log(static_cast<double>(t + 1)) : NAN;
    std::snprintf(b, sizeof b, "%6lld  %s %9.4f %8.4f %10s %7.3f  ", static_cast<long long>(t),
                  display(tr.token_text[t], 14).c_str(), tr.q_norm[t], tr.entropy[t],
                  t > 0 ? fmt("%.3f", hn).c_str() : "-", tr.sink_mass[t]);
    s += b;
    for (int i = 0; i < k; ++i) {
      std::string txt = display(tr.token_text[idx[i]], 12);
      while (!txt.empty() && txt.back() == ' ') txt.pop_back();
      std::snprintf(b, sizeof b, "%s%lld '%s' %.3f", i ? ", " : "", static_cast<long long>(idx[i]), txt.c_str(),
                    tr.prob(t, idx[i]));
      s += b;
    }
    s += '\n';
  }
  // Correlation demo, one line.
  s += "\nper-head r(‖q‖, H) over positions 1..n−1 in this layer:";
  for (int h = 0; h < tr.n_heads; ++h) {
    std::snprintf(b, sizeof b, " h%d %s", h, std::isfinite(tr.layer_r[h]) ? fmt("%+.3f", tr.layer_r[h]).c_str() : "n/a");
    s += b;
  }
  s += '\n';
  const CrossCheck& c = tr.check;
  if (!c.ran) {
    s += "cross-check: not run\n";
    return s;
  }
  std::snprintf(b, sizeof b,
                "cross-check vs fused engine (%s), all %d heads of layer %d: max ‖q‖ rel diff %.3g (head %d, pos %lld), "
                "max H abs diff %.3g (head %d, pos %lld); this head: %.3g / %.3g; sink %.3g, max weight %.3g; "
                "tolerance %.3g: %s\n",
                c.engine_precision.c_str(), tr.n_heads, tr.layer, c.max_q_norm_rel, c.q_norm_worst_head,
                static_cast<long long>(c.q_norm_worst_pos), c.max_entropy_abs, c.entropy_worst_head,
                static_cast<long long>(c.entropy_worst_pos), c.head_q_norm_rel, c.head_entropy_abs, c.max_sink_abs,
                c.max_max_attn_abs, c.tolerance, c.passed ? "PASS" : "FAIL");
  s += b;
  return s;
}

}  // namespace spectra::dissect
