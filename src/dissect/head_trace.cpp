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

// Every per-head statistic the engine hands out for one layer:
// f[field][head][pos], fields in kHeadProbeFields order.
class LayerCollector : public engine::Observer {
 public:
  LayerCollector(int layer, int n_heads, int64_t n)
      : layer_(layer), f(engine::kNumHeadProbeFields, std::vector<std::vector<float>>(n_heads, std::vector<float>(n, NAN))) {}
  void on_head(const engine::HeadProbe& hp) override {
    if (hp.layer != layer_ || hp.head < 0 || hp.head >= static_cast<int>(f[0].size())) return;
    for (int k = 0; k < engine::kNumHeadProbeFields; ++k) {
      const float* src = hp.*(engine::kHeadProbeFields[k].member);
      if (!src) continue;
      for (int64_t i = 0; i < hp.n; ++i) {
        const int64_t t = hp.pos0 + i;
        if (t < 0 || t >= static_cast<int64_t>(f[k][hp.head].size())) continue;
        f[k][hp.head][t] = src[i];
      }
    }
  }
  std::vector<std::vector<float>>& field(const char* name) {
    for (int k = 0; k < engine::kNumHeadProbeFields; ++k)
      if (std::string(engine::kHeadProbeFields[k].name) == name) return f[k];
    throw Error(std::string("trace: the probe has no field ") + name);
  }
  int layer_;
  std::vector<std::vector<std::vector<float>>> f;
};

double norm2(const double* x, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += x[i] * x[i];
  return std::sqrt(s);
}

// Row t of one head: scores over j ≤ t, softmax, entropy, sink, max, and the
// issue-#14 statistics (beta = c/‖q‖ for the fixed-norm entropy, P for k_P).
struct RowStats {
  double entropy = 0, sink = 0, max_p = 0;
  int64_t argmax = 0;
  double entropy_fixed_norm = 0, neg_var = 0, max_score = 0, logsumexp = 0, k_budget = 0;
  double k_gap = 1;  // |cumulative mass − P| nearest the k_P boundary (small: ambiguous)
};

RowStats attention_row(const LayerQKV& qk, int head, int kv_head, int64_t t, double* scores_row, double* probs_row,
                       double beta, double P) {
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
  r.max_score = m;
  r.logsumexp = lse;
  // −Var_p(s), centred (no cancellation).
  double var = 0;
  for (int64_t j = 0; j <= t; ++j) var += std::exp(scores_row[j] - lse) * (scores_row[j] - ps) * (scores_row[j] - ps);
  r.neg_var = -var;
  // H of softmax(β s) = log Σ e^{β(s−m)} − Σ p_β β(s−m).
  double zb = 0, wb = 0;
  for (int64_t j = 0; j <= t; ++j) zb += std::exp(beta * (scores_row[j] - m));
  for (int64_t j = 0; j <= t; ++j) {
    const double x = beta * (scores_row[j] - m);
    wb += std::exp(x) / zb * x;
  }
  r.entropy_fixed_norm = std::max(0.0, std::log(zb) - wb);
  // k_P: sort the row's weights.
  std::vector<double> w(t + 1);
  for (int64_t j = 0; j <= t; ++j) w[j] = std::exp(scores_row[j] - lse);
  std::sort(w.begin(), w.end(), std::greater<>());
  double cum = 0;
  int64_t k = 0;
  while (k <= t) {
    cum += w[k++];
    if (cum >= P) break;
  }
  r.k_budget = static_cast<double>(k);
  r.k_gap = std::abs(cum - P);
  if (k >= 2) r.k_gap = std::min(r.k_gap, std::abs(cum - w[k - 1] - P));
  return r;
}

// The reference norm c of a head: mean ‖q_t‖ over t ≥ kRefNormSkip (all rows
// when there are none), as the engine computes it per forward call.
double reference_norm(const LayerQKV& qk, int head, int64_t n) {
  double s = 0;
  int64_t cnt = 0;
  for (int64_t t = n > engine::kRefNormSkip ? engine::kRefNormSkip : 0; t < n; ++t, ++cnt)
    s += norm2(qk.q_row(t, head), qk.head_dim);
  return s / static_cast<double>(cnt);
}

double beta_of(double c, double qn) { return qn > 0 ? c / qn : 1.0; }

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
  tr.budget_mass = opt.budget_mass;
  tr.ref_norm = reference_norm(qk, tr.head, n);
  for (auto* v : {&tr.entropy_fixed_norm, &tr.neg_var_score, &tr.max_score, &tr.logsumexp, &tr.k_budget}) v->resize(n);
  for (int64_t t = 0; t < n; ++t) {
    const RowStats r = attention_row(qk, tr.head, tr.kv_head, t, tr.scores.data() + t * n, tr.probs.data() + t * n,
                                     beta_of(tr.ref_norm, tr.q_norm[t]), opt.budget_mass);
    tr.entropy[t] = r.entropy;
    tr.sink_mass[t] = r.sink;
    tr.max_attn[t] = r.max_p;
    tr.argmax[t] = r.argmax;
    tr.entropy_fixed_norm[t] = r.entropy_fixed_norm;
    tr.neg_var_score[t] = r.neg_var;
    tr.max_score[t] = r.max_score;
    tr.logsumexp[t] = r.logsumexp;
    tr.k_budget[t] = r.k_budget;
  }

  // 3. Every head of the layer: ‖q‖ and H per position, r across positions ≥ 1
  //    (position 0 has H = 0 by construction).
  tr.layer_q_norm.assign(d.n_heads, std::vector<double>(n));
  tr.layer_entropy.assign(d.n_heads, std::vector<double>(n));
  tr.layer_r.assign(d.n_heads, NAN);
  for (auto* v : {&tr.layer_fixed_entropy, &tr.layer_neg_var, &tr.layer_max_score, &tr.layer_logsumexp,
                  &tr.layer_k_budget})
    v->assign(d.n_heads, std::vector<double>(n));
  std::vector<std::vector<double>> layer_k_gap(d.n_heads, std::vector<double>(n));
  std::vector<double> srow(n);
  for (int h = 0; h < d.n_heads; ++h) {
    const int kvh = h / (d.n_heads / d.n_kv_heads);
    const double c = reference_norm(qk, h, n);
    for (int64_t t = 0; t < n; ++t) {
      tr.layer_q_norm[h][t] = norm2(qk.q_row(t, h), hd);
      const RowStats r =
          attention_row(qk, h, kvh, t, srow.data(), nullptr, beta_of(c, tr.layer_q_norm[h][t]), opt.budget_mass);
      tr.layer_entropy[h][t] = r.entropy;
      tr.layer_fixed_entropy[h][t] = r.entropy_fixed_norm;
      tr.layer_neg_var[h][t] = r.neg_var;
      tr.layer_max_score[h][t] = r.max_score;
      tr.layer_logsumexp[h][t] = r.logsumexp;
      tr.layer_k_budget[h][t] = r.k_budget;
      layer_k_gap[h][t] = r.k_gap;
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
  eo.budget_mass = opt.budget_mass;
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
  const auto& e_qn = col.field("q_norm");
  const auto& e_H = col.field("entropy");
  const auto& e_fix = col.field("entropy_fixed_norm");
  const auto& e_var = col.field("neg_var_score");
  const auto& e_ms = col.field("max_score");
  const auto& e_lse = col.field("logsumexp");
  const auto& e_k = col.field("k_budget");
  auto rel1 = [](double a, double ref) { return std::abs(a - ref) / std::max(1.0, std::abs(ref)); };
  for (int h = 0; h < d.n_heads; ++h) {
    for (int64_t t = 0; t < n; ++t) {
      const double eq = e_qn[h][t], ee = e_H[h][t];
      const double nf[] = {e_fix[h][t], e_var[h][t], e_ms[h][t], e_lse[h][t], e_k[h][t]};
      for (double v : nf)
        if (!std::isfinite(v)) complete = false;
      if (std::isfinite(nf[0])) c.max_fixed_entropy_abs = std::max(c.max_fixed_entropy_abs, std::abs(nf[0] - tr.layer_fixed_entropy[h][t]));
      if (std::isfinite(nf[1])) c.max_neg_var_rel = std::max(c.max_neg_var_rel, rel1(nf[1], tr.layer_neg_var[h][t]));
      if (std::isfinite(nf[2])) c.max_max_score_rel = std::max(c.max_max_score_rel, rel1(nf[2], tr.layer_max_score[h][t]));
      if (std::isfinite(nf[3])) c.max_logsumexp_rel = std::max(c.max_logsumexp_rel, rel1(nf[3], tr.layer_logsumexp[h][t]));
      if (std::isfinite(nf[4]) && nf[4] != tr.layer_k_budget[h][t]) {
        if (std::abs(nf[4] - tr.layer_k_budget[h][t]) <= 1 && layer_k_gap[h][t] <= c.tolerance) ++c.k_budget_ambiguous;
        else ++c.k_budget_mismatch;
      }
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
  const auto& e_sink = col.field("sink_mass");
  const auto& e_max = col.field("max_attn");
  for (int64_t t = 0; t < n; ++t) {
    c.max_sink_abs = std::max(c.max_sink_abs, std::abs(e_sink[tr.head][t] - tr.sink_mass[t]));
    c.max_max_attn_abs = std::max(c.max_max_attn_abs, std::abs(e_max[tr.head][t] - tr.max_attn[t]));
  }
  c.passed = complete && c.max_q_norm_rel <= c.tolerance && c.max_entropy_abs <= c.tolerance &&
             c.max_fixed_entropy_abs <= c.tolerance && c.max_neg_var_rel <= c.tolerance &&
             c.max_max_score_rel <= c.tolerance && c.max_logsumexp_rel <= c.tolerance && c.k_budget_mismatch == 0;
  if (!complete)  // the engine reported nothing (or NaN) for some rows
    c.max_q_norm_rel = c.max_entropy_abs = c.max_fixed_entropy_abs = c.max_neg_var_rel = c.max_max_score_rel =
        c.max_logsumexp_rel = INFINITY;
  tr.engine_q_norm = std::move(col.field("q_norm"));
  tr.engine_entropy = std::move(col.field("entropy"));
  tr.engine_sink = std::move(col.field("sink_mass"));
  tr.engine_max_attn = std::move(col.field("max_attn"));
  tr.engine_fixed_entropy = std::move(col.field("entropy_fixed_norm"));
  tr.engine_neg_var = std::move(col.field("neg_var_score"));
  tr.engine_max_score = std::move(col.field("max_score"));
  tr.engine_logsumexp = std::move(col.field("logsumexp"));
  tr.engine_k_budget = std::move(col.field("k_budget"));
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
  s += "scores s_tj = q_t·k_j/√d (j ≤ t), p = softmax(s), H = logsumexp(s) − Σ p s (nats), sink = p_t0\n";
  std::snprintf(b, sizeof b,
                "H_fix = H(softmax(s·c/|q|)), c = %.4f (mean |q|, positions >= %d); -Var = -Var_p(s) = dH/dln|q|; "
                "max s; lse = logsumexp(s); k_P = fewest keys with mass >= P = %.3g\n\n",
                tr.ref_norm, engine::kRefNormSkip, static_cast<double>(tr.budget_mass));
  s += b;
  std::snprintf(b, sizeof b, "%6s  %-14s %9s %8s %10s %7s %8s %8s %8s %8s %5s  %s\n", "pos", "token", "|q|", "H",
                "H/log(t+1)", "sink", "H_fix", "-Var", "max s", "lse", "k_P", "top-attended: pos 'token' p");
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
    std::snprintf(b, sizeof b, "%6lld  %s %9.4f %8.4f %10s %7.3f %8.4f %8.4f %8.3f %8.3f %5.0f  ",
                  static_cast<long long>(t), display(tr.token_text[t], 14).c_str(), tr.q_norm[t], tr.entropy[t],
                  t > 0 ? fmt("%.3f", hn).c_str() : "-", tr.sink_mass[t], tr.entropy_fixed_norm[t],
                  tr.neg_var_score[t], tr.max_score[t], tr.logsumexp[t], tr.k_budget[t]);
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
  std::snprintf(b, sizeof b,
                "  issue #14 statistics, all heads: max H_fix abs diff %.3g, -Var rel diff %.3g, max score rel diff %.3g, "
                "logsumexp rel diff %.3g (relative to max(1,|ref|)); k_P (P = %.3g): %lld rows differ, %lld within "
                "the tolerance of P at the boundary (one key allowed)\n",
                c.max_fixed_entropy_abs, c.max_neg_var_rel, c.max_max_score_rel, c.max_logsumexp_rel,
                static_cast<double>(tr.budget_mass), static_cast<long long>(c.k_budget_mismatch),
                static_cast<long long>(c.k_budget_ambiguous));
  s += b;
  return s;
}

}  // namespace spectra::dissect
