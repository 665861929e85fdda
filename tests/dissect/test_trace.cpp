// spectra trace: the double-precision reference forward pass against
// llama2.c's golden (stories260k, HF half-split and GGUF adjacent RoPE), the
// step-by-step head trace, its cross-check against the fused engine, the
// test-only wrong-RoPE-layout switch that must make the check fail, and the
// CLI end to end (exit status, CSV, figures).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "dissect/head_trace.hpp"
#include "dissect/reference_forward.hpp"
#include "engine/rope.hpp"
#include "formats/weights.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using namespace spectra;
using namespace spectra::dissect;
using spectra::test::golden;

namespace fs = std::filesystem;

namespace {

const Model& hf() {
  static auto m = open_model(test::kHf);
  return *m;
}
const Model& gguf() {
  static auto m = open_model(test::kGguf);
  return *m;
}

// Every head of the layer against the golden: q_norm relative, entropy absolute.
void expect_layer_matches_golden(const HeadTrace& tr, const char* what) {
  const auto& g = golden();
  double worst_q = 0, worst_h = 0;
  for (int h = 0; h < tr.n_heads; ++h) {
    for (int64_t t = 0; t < tr.n; ++t) {
      const double gq = g.q_norm[tr.layer][h][t], ge = g.entropy[tr.layer][h][t];
      worst_q = std::max(worst_q, std::abs(tr.layer_q_norm[h][t] - gq) / gq);
      worst_h = std::max(worst_h, std::abs(tr.layer_entropy[h][t] - ge));
    }
  }
  EXPECT_LE(worst_q, 1e-4) << what << " layer " << tr.layer;
  EXPECT_LE(worst_h, 1e-4) << what << " layer " << tr.layer;
}

// A small RFC 4180 reader (quoted fields may hold commas, quotes, newlines).
std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::vector<std::string>> rows(1);
  std::string cell;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') cell += '"', ++i;
      else if (c == '"') quoted = false;
      else cell += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(std::move(cell));
      cell.clear();
    } else if (c == '\n') {
      rows.back().push_back(std::move(cell));
      cell.clear();
      rows.emplace_back();
    } else {
      cell += c;
    }
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

}  // namespace

TEST(DissectReference, ReproducesGoldenEveryLayerHfAndGguf) {
  const auto& g = golden();
  ASSERT_EQ(g.tokens.size(), 256u);
  for (const Model* m : {&hf(), &gguf()}) {
    for (int l = 0; l < m->desc().n_layers; ++l) {
      TraceOptions o;
      o.layer = l;
      o.head = l % m->desc().n_heads;
      o.run_engine = false;
      const HeadTrace tr = trace_head(*m, g.tokens, o);
      EXPECT_EQ(tr.rope_layout, m->desc().rope_layout);
      EXPECT_FALSE(tr.check.ran);
      expect_layer_matches_golden(tr, m->desc().format.c_str());
    }
  }
}

TEST(DissectTrace, GoldenRowsAndCrossCheckPass) {
  const auto& g = golden();
  struct Case {
    const Model* m;
    int layer, head;
  };
  for (const Case c : {Case{&hf(), 2, 5}, Case{&gguf(), 4, 6}, Case{&hf(), 0, 1}}) {
    TraceOptions o;
    o.threads = 1;  // a tiny model: threads only cost
    o.layer = c.layer;
    o.head = c.head;
    const HeadTrace tr = trace_head(*c.m, g.tokens, o);
    ASSERT_TRUE(tr.check.ran);
    EXPECT_TRUE(tr.check.passed) << trace_summary(tr, 4);
    EXPECT_LE(tr.check.max_q_norm_rel, 1e-4);
    EXPECT_LE(tr.check.max_entropy_abs, 1e-4);
    // The issue-#14 statistics, every head of the layer, engine vs reference.
    EXPECT_LE(tr.check.max_fixed_entropy_abs, 1e-4);
    EXPECT_LE(tr.check.max_neg_var_rel, 1e-4);
    EXPECT_LE(tr.check.max_max_score_rel, 1e-4);
    EXPECT_LE(tr.check.max_logsumexp_rel, 1e-4);
    EXPECT_EQ(tr.check.k_budget_mismatch, 0);
    EXPECT_LE(tr.check.k_budget_ambiguous * 100, int64_t(tr.n) * tr.n_heads);
    std::printf("[trace L%d H%d] H_fix %.3g, -Var %.3g, max score %.3g, lse %.3g, k_P ambiguous rows %lld\n", c.layer,
                c.head, tr.check.max_fixed_entropy_abs, tr.check.max_neg_var_rel, tr.check.max_max_score_rel,
                tr.check.max_logsumexp_rel, static_cast<long long>(tr.check.k_budget_ambiguous));
    ASSERT_EQ(tr.engine_k_budget.size(), size_t(tr.n_heads));
    EXPECT_EQ(tr.check.engine_precision, "fp32");
    EXPECT_EQ(tr.kv_head, c.head / 2);  // 8 query heads, 4 KV heads
    // The traced head's own rows, step by step, equal the golden rows.
    for (int64_t t = 0; t < tr.n; ++t) {
      const double gq = g.q_norm[c.layer][c.head][t], ge = g.entropy[c.layer][c.head][t];
      ASSERT_LE(std::abs(tr.q_norm[t] - gq) / gq, 1e-4) << "pos " << t;
      ASSERT_LE(std::abs(tr.entropy[t] - ge), 1e-4) << "pos " << t;
    }
    expect_layer_matches_golden(tr, "trace");
  }
}

TEST(DissectTrace, WrongRopeLayoutMakesTheCheckFail) {
  const auto& g = golden();
  for (const Model* m : {&hf(), &gguf()}) {
    TraceOptions o;
    o.threads = 1;
    o.layer = 1;
    o.head = 3;
    o.reference_rope_layout =
        m->desc().rope_layout == RopeLayout::HalfSplit ? RopeLayout::Adjacent : RopeLayout::HalfSplit;
    const std::vector<int32_t> ids(g.tokens.begin(), g.tokens.begin() + 64);
    const HeadTrace tr = trace_head(*m, ids, o);
    EXPECT_TRUE(tr.rope_layout_overridden);
    ASSERT_TRUE(tr.check.ran);
    EXPECT_FALSE(tr.check.passed);
    EXPECT_GT(tr.check.max_entropy_abs, 1e-2) << m->desc().format;
    EXPECT_NE(trace_summary(tr).find("FAIL"), std::string::npos);
    // Layer 0 too: ‖q‖ is rotation-invariant there, the entropy is not.
    o.layer = 0;
    const HeadTrace tr0 = trace_head(*m, ids, o);
    EXPECT_FALSE(tr0.check.passed);
    EXPECT_LE(tr0.check.max_q_norm_rel, 1e-4);
    EXPECT_GT(tr0.check.max_entropy_abs, 1e-3);
    // The new statistics see the wrong rotation too (the scores change).
    EXPECT_GT(tr0.check.max_fixed_entropy_abs, 1e-3);
    EXPECT_GT(tr0.check.max_logsumexp_rel, 1e-3);
    EXPECT_GT(tr0.check.max_neg_var_rel, 1e-3);
  }
}

// A different P reaches the engine and the reference alike; the budget is
// monotone in P.
TEST(DissectTrace, BudgetMassReachesBothSides) {
  const auto& g = golden();
  const std::vector<int32_t> ids(g.tokens.begin(), g.tokens.begin() + 64);
  TraceOptions o;
  o.threads = 1;
  o.layer = 3;
  o.head = 1;
  o.budget_mass = 0.5f;
  const HeadTrace a = trace_head(hf(), ids, o);
  o.budget_mass = 0.99f;
  const HeadTrace b = trace_head(hf(), ids, o);
  EXPECT_TRUE(a.check.passed && b.check.passed) << trace_summary(a, 2) << trace_summary(b, 2);
  bool some_larger = false;
  for (int64_t t = 0; t < a.n; ++t) {
    EXPECT_LE(a.k_budget[t], b.k_budget[t]);
    some_larger |= b.k_budget[t] > a.k_budget[t];
  }
  EXPECT_TRUE(some_larger);
}

TEST(DissectTrace, StepByStepMatricesAreConsistent) {
  const auto& g = golden();
  const std::vector<int32_t> ids(g.tokens.begin(), g.tokens.begin() + 40);
  TraceOptions o;
  o.layer = 3;
  o.head = 7;
  o.run_engine = false;
  const HeadTrace tr = trace_head(hf(), ids, o);
  ASSERT_EQ(tr.n, 40);
  ASSERT_EQ(tr.scores.size(), 40u * 40u);
  for (int64_t t = 0; t < tr.n; ++t) {
    double sum = 0, h = 0, mx = 0, qq = 0;
    for (int64_t j = 0; j < tr.n; ++j) {
      if (j > t) {
        EXPECT_TRUE(std::isnan(tr.score(t, j)));
        EXPECT_EQ(tr.prob(t, j), 0.0);
        continue;
      }
      // The score is q·k/√d from the stored vectors.
      double dot = 0;
      for (int i = 0; i < tr.head_dim; ++i) dot += tr.q[t * tr.head_dim + i] * tr.k[j * tr.head_dim + i];
      EXPECT_NEAR(tr.score(t, j), dot / std::sqrt(double(tr.head_dim)), 1e-12);
      const double p = tr.prob(t, j);
      sum += p;
      if (p > 0) h -= p * std::log(p);
      mx = std::max(mx, p);
    }
    for (int i = 0; i < tr.head_dim; ++i) qq += tr.q[t * tr.head_dim + i] * tr.q[t * tr.head_dim + i];
    EXPECT_NEAR(sum, 1.0, 1e-12);
    EXPECT_NEAR(tr.entropy[t], h, 1e-10);
    EXPECT_LE(tr.entropy[t], std::log(double(t + 1)) + 1e-12);
    EXPECT_NEAR(tr.sink_mass[t], tr.prob(t, 0), 1e-15);
    EXPECT_NEAR(tr.max_attn[t], mx, 1e-15);
    EXPECT_EQ(tr.prob(t, tr.argmax[t]), mx);
    EXPECT_NEAR(tr.q_norm[t], std::sqrt(qq), 1e-12);
    // Issue #14, from the stored scores and probabilities.
    double smax = -INFINITY, ps = 0, ps2 = 0;
    std::vector<double> w;
    for (int64_t j = 0; j <= t; ++j) {
      smax = std::max(smax, tr.score(t, j));
      ps += tr.prob(t, j) * tr.score(t, j);
      ps2 += tr.prob(t, j) * tr.score(t, j) * tr.score(t, j);
      w.push_back(tr.prob(t, j));
    }
    double z = 0;
    for (int64_t j = 0; j <= t; ++j) z += std::exp(tr.score(t, j) - smax);
    EXPECT_NEAR(tr.max_score[t], smax, 1e-12);
    EXPECT_NEAR(tr.logsumexp[t], smax + std::log(z), 1e-10);
    EXPECT_NEAR(tr.neg_var_score[t], -(ps2 - ps * ps), 1e-8 * std::max(1.0, ps2));
    std::sort(w.begin(), w.end(), std::greater<>());
    double cum = 0;
    int k = 0;
    while (k <= t && cum < 0.9f) cum += w[k++];
    EXPECT_EQ(tr.k_budget[t], k) << t;
    // H_fix: softmax(β s), β = c/‖q‖, c = mean ‖q‖ over positions ≥ 4.
    const double beta = tr.ref_norm / tr.q_norm[t];
    double zb = 0, hb = 0;
    for (int64_t j = 0; j <= t; ++j) zb += std::exp(beta * (tr.score(t, j) - smax));
    for (int64_t j = 0; j <= t; ++j) {
      const double p = std::exp(beta * (tr.score(t, j) - smax)) / zb;
      if (p > 0) hb -= p * std::log(p);
    }
    EXPECT_NEAR(tr.entropy_fixed_norm[t], hb, 1e-9);
  }
  double c = 0;
  for (int64_t t = 4; t < tr.n; ++t) c += tr.q_norm[t];
  EXPECT_NEAR(tr.ref_norm, c / double(tr.n - 4), 1e-12);
  EXPECT_EQ(tr.entropy[0], 0.0);
  // The traced head's numbers are the layer table's row for that head.
  for (int64_t t = 0; t < tr.n; ++t) EXPECT_EQ(tr.layer_entropy[tr.head][t], tr.entropy[t]);
  // r per head is Pearson over positions 1..n−1.
  for (int h = 0; h < tr.n_heads; ++h) {
    const double r = pearson_r(std::span<const double>(tr.layer_q_norm[h]).subspan(1),
                               std::span<const double>(tr.layer_entropy[h]).subspan(1));
    EXPECT_EQ(r, tr.layer_r[h]);
    EXPECT_TRUE(std::isfinite(r));
  }
  EXPECT_NEAR(pearson_r(std::vector<double>{1, 2, 3, 4}, std::vector<double>{2, 4, 6, 8}), 1.0, 1e-15);
  EXPECT_NEAR(pearson_r(std::vector<double>{1, 2, 3}, std::vector<double>{3, 1, 2}), -0.5, 1e-15);
  EXPECT_TRUE(std::isnan(pearson_r(std::vector<double>{1, 1, 1}, std::vector<double>{3, 1, 2})));
}

TEST(DissectTrace, RejectsBadInput) {
  TraceOptions o;
  std::vector<int32_t> long_input(kMaxTraceTokens + 1, 5);
  try {
    trace_head(hf(), long_input, o);
    FAIL() << "no error for a long input";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at most 512"), std::string::npos) << e.what();
  }
  const std::vector<int32_t> ids = {1, 5, 9};
  o.layer = 5;
  EXPECT_THROW(trace_head(hf(), ids, o), Error);
  o.layer = 0;
  o.head = 8;
  EXPECT_THROW(trace_head(hf(), ids, o), Error);
  o.head = 0;
  EXPECT_THROW(trace_head(hf(), std::vector<int32_t>{}, o), Error);
  EXPECT_THROW(trace_head(hf(), std::vector<int32_t>{1, 512}, o), Error);
}

TEST(DissectReference, RopeFrequenciesAndLayouts) {
  // Scaling variants against the engine's own frequencies (written separately).
  RopeParams p;
  p.theta = 500000;
  p.dim = 128;
  for (auto sc : {RopeScalingType::None, RopeScalingType::Linear, RopeScalingType::Llama3}) {
    p.scaling = sc;
    p.factor = 8;
    const auto a = reference_rope_inv_freq(p, 128);
    const auto b = engine::rope_inv_freq(p, 128);
    ASSERT_EQ(a.size(), 64u);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i] / b[i], 1.0, 1e-12) << i;
  }
  // Llama-3.1 by hand (NOTES): the lowest frequency is divided by 8, the
  // highest kept.
  p.scaling = RopeScalingType::Llama3;
  const auto s = reference_rope_inv_freq(p, 128);
  EXPECT_DOUBLE_EQ(s[0], 1.0);
  EXPECT_NEAR(s[63], std::pow(500000.0, -126.0 / 128) / 8, 1e-18);
  p.freq_divisors.assign(64, 2.0f);
  const auto fd = reference_rope_inv_freq(p, 128);
  EXPECT_NEAR(fd[10], std::pow(500000.0, -20.0 / 128) / 2, 1e-15);

  // Half-split on x equals adjacent on the interleaved permutation of x.
  RopeParams q;
  q.dim = 8;
  const auto inv = reference_rope_inv_freq(q, 8);
  double x[8] = {0.3, -1.2, 0.5, 2.0, -0.7, 0.1, 1.1, -0.4}, y[8];
  for (int i = 0; i < 4; ++i) y[2 * i] = x[i], y[2 * i + 1] = x[i + 4];
  reference_rope(x, 8, 37, inv, RopeLayout::HalfSplit);
  reference_rope(y, 8, 37, inv, RopeLayout::Adjacent);
  double nx = 0, n0 = 0;
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(y[2 * i], x[i], 1e-15);
    EXPECT_NEAR(y[2 * i + 1], x[i + 4], 1e-15);
  }
  for (double v : x) nx += v * v;
  for (double v : {0.3, -1.2, 0.5, 2.0, -0.7, 0.1, 1.1, -0.4}) n0 += v * v;
  EXPECT_NEAR(nx, n0, 1e-12);
}

TEST(DissectTraceCli, WritesCsvAndFiguresAndFailsLoudlyOnWrongLayout) {
  const auto& g = golden();
  const std::string out = test::temp_dir("trace_cli");
  fs::remove_all(out);
  std::string log;
  const std::string ids = test::join_ids(g.tokens, 48);
  int rc = test::run_spectra("trace --model " + test::kGguf + " --tokens \"" + ids + "\" --layer 1 --head 2 --threads 1 --out " +
                                 out,
                             &log);
  ASSERT_EQ(rc, 0) << log;
  EXPECT_NE(log.find("PASS"), std::string::npos) << log;
  EXPECT_NE(log.find("top-attended"), std::string::npos) << log;
  for (const char* f : {"tokens.csv", "q.csv", "k.csv", "scores.csv", "attention.csv", "layer_heads.csv",
                        "correlation.csv", "check.json", "attention_L1_H2.png", "attention_L1_H2.svg",
                        "correlation_L1.png", "correlation_L1.svg"}) {
    EXPECT_TRUE(fs::exists(fs::path(out) / f)) << f;
    if (fs::exists(fs::path(out) / f)) {
      EXPECT_GT(fs::file_size(fs::path(out) / f), 0u) << f;
    }
  }
  // tokens.csv carries the golden rows (RFC 4180: token text may hold a
  // quoted line break).
  const auto table = read_csv(out + "/tokens.csv");
  ASSERT_EQ(table.size(), 49u);
  EXPECT_EQ(table[0][0], "pos");
  EXPECT_EQ(table[0][3], "q_norm");
  EXPECT_EQ(table[0][5], "entropy");
  EXPECT_EQ(table[0][12], "entropy_fixed_norm");
  EXPECT_EQ(table[0][16], "k_budget");
  EXPECT_EQ(table[0][21], "engine_k_budget");
  EXPECT_NE(log.find("k_P"), std::string::npos) << log;
  int rows = 0;
  for (size_t i = 1; i < table.size(); ++i) {
    const auto& cells = table[i];
    ASSERT_EQ(cells.size(), 22u) << i;  // 12 + the issue-#14 statistics, reference and engine
    const int t = std::stoi(cells[0]);
    EXPECT_EQ(std::stoi(cells[1]), g.tokens[t]);
    EXPECT_LE(std::abs(std::stod(cells[3]) / g.q_norm[1][2][t] - 1), 1e-4);
    EXPECT_LE(std::abs(std::stod(cells[5]) - g.entropy[1][2][t]), 1e-4);
    for (int c = 12; c < 17; ++c)  // reference vs engine: H_fix, -Var, max score, lse, k_P
      EXPECT_LE(std::abs(std::stod(cells[c]) - std::stod(cells[c + 5])), 1e-4 * std::max(1.0, std::abs(std::stod(cells[c]))))
          << table[0][c] << " pos " << t;
    ++rows;
  }
  EXPECT_EQ(rows, 48);

  // The hidden test switch: the reference rotates the wrong pairs.
  rc = test::run_spectra("trace --model " + test::kHf + " --tokens \"" + ids +
                             "\" --layer 2 --head 0 --threads 1 --reference-rope-layout swapped",
                         &log);
  EXPECT_NE(rc, 0) << log;
  EXPECT_NE(log.find("cross-check FAILED"), std::string::npos) << log;

  // Too long, and neither input.
  rc = test::run_spectra("trace --model " + test::kHf + " --tokens \"" + test::join_ids(std::vector<int32_t>(600, 7), 600) +
                             "\" --layer 0 --head 0",
                         &log);
  EXPECT_NE(rc, 0);
  EXPECT_NE(log.find("at most 512"), std::string::npos) << log;
  rc = test::run_spectra("trace --model " + test::kHf + " --layer 0 --head 0", &log);
  EXPECT_NE(rc, 0);
}

// The default model, quantized (Q4_1), with its own tokenizer and --text;
// skipped when it is not downloaded.
TEST(DissectTraceCli, SmolLM2QuantizedText) {
  const std::string model = std::string(SPECTRA_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!fs::exists(model)) GTEST_SKIP() << model << " not present";
  std::string log;
  const std::string out = test::temp_dir("trace_smollm2");
  fs::remove_all(out);
  const int rc = test::run_spectra("trace --model " + model +
                                       " --text \"The cat sat on the mat.\" --layer 6 --head 4 --threads 1 --out " + out,
                                   &log);
  EXPECT_EQ(rc, 0) << log;
  EXPECT_NE(log.find("PASS"), std::string::npos) << log;
  EXPECT_NE(log.find("KV head 1"), std::string::npos) << log;  // 9 heads, 3 KV heads
  EXPECT_TRUE(fs::exists(fs::path(out) / "correlation_L6.png"));
}
