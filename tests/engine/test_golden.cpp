// The engine against llama2.c's golden forward pass of stories260k (256
// greedy tokens): q_norm, entropy (every layer, head, position), logits and
// the next-token NLL / perplexity.
// Both the HF folder (half-split RoPE) and the GGUF file (adjacent RoPE).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/forward.hpp"
#include "observers/tuple_observer.hpp"

using namespace spectra;
using namespace spectra::engine;

namespace {

const std::string kShared = SPECTRA_SHARED_DIR;
const std::string kGold = kShared + "/golden/stories260k/greedy";

struct Golden {
  std::vector<int32_t> tokens;
  std::vector<std::array<double, 5>> probe;  // layer, head, pos, q_norm, entropy
  std::vector<std::vector<double>> logits;   // [pos][vocab]
};

const Golden& golden() {
  static Golden g = [] {
    Golden g;
    std::ifstream tf(kGold + ".tokens.txt");
    int32_t id;
    while (tf >> id) g.tokens.push_back(id);
    std::ifstream pf(kGold + ".probe.csv");
    std::string line;
    std::getline(pf, line);
    while (std::getline(pf, line)) {
      std::array<double, 5> r{};
      std::stringstream ss(line);
      std::string cell;
      for (int i = 0; i < 5 && std::getline(ss, cell, ','); ++i) r[i] = std::stod(cell);
      g.probe.push_back(r);
    }
    std::ifstream lf(kGold + ".logits.csv");
    while (std::getline(lf, line)) {
      std::stringstream ss(line);
      std::string cell;
      std::getline(ss, cell, ',');
      std::vector<double> row;
      while (std::getline(ss, cell, ',')) row.push_back(std::stod(cell));
      g.logits.push_back(std::move(row));
    }
    return g;
  }();
  return g;
}

struct Run {
  std::vector<TupleRow> rows;
  std::vector<float> logits;
  ForwardResult res;
};

Run run(const Model& m, Precision p, AttnBlocking b = {}, WeightsMode wm = WeightsMode::Streaming) {
  EngineOptions eo;
  eo.precision = p;
  eo.blocking = b;
  eo.weights = wm;
  Engine eng(m, eo);
  TupleCollector col;
  ForwardOptions fo;
  fo.observer = &col;
  fo.keep_logits = true;
  Run r;
  r.res = eng.forward(golden().tokens, fo);
  r.rows = std::move(col.rows);
  r.logits = r.res.logits;
  return r;
}

// Index of a golden row in our tuple order (layer, head, pos).
size_t index_of(const ModelDesc& d, int layer, int head, int pos, int T) {
  return (static_cast<size_t>(layer) * d.n_heads + head) * T + pos;
}

void expect_fp32_golden(const Model& m, AttnBlocking b = {}, WeightsMode wm = WeightsMode::Streaming) {
  const Golden& g = golden();
  const int T = static_cast<int>(g.tokens.size());
  ASSERT_EQ(T, 256);
  Run r = run(m, Precision::FP32, b, wm);
  const ModelDesc& d = m.desc();
  ASSERT_EQ(r.rows.size(), g.probe.size());
  double e_qn = 0, e_H = 0, e_lg = 0;
  for (const auto& p : g.probe) {
    const TupleRow& row = r.rows[index_of(d, int(p[0]), int(p[1]), int(p[2]), T)];
    ASSERT_EQ(row.layer, int(p[0]));
    ASSERT_EQ(row.head, int(p[1]));
    ASSERT_EQ(row.pos, int(p[2]));
    ASSERT_EQ(row.kv_head, row.head / (d.n_heads / d.n_kv_heads));
    ASSERT_EQ(row.token, g.tokens[row.pos]);
    e_qn = std::max(e_qn, std::abs(row.q_norm - p[3]) / std::max(1e-12, std::abs(p[3])));
    e_H = std::max(e_H, std::abs(row.entropy - p[4]));
    EXPECT_LE(row.entropy, std::log(row.pos + 1.0) + 1e-5);
    if (row.pos == 0) EXPECT_EQ(row.entropy, 0.f);
    EXPECT_GE(row.sink_mass, 0.f);
    EXPECT_LE(row.sink_mass, 1.f);
    EXPECT_GE(row.max_attn, 0.f);
    EXPECT_LE(row.max_attn, 1.f);
  }
  ASSERT_EQ(r.logits.size(), size_t(T) * d.vocab);
  for (int t = 0; t < T; ++t)
    for (int j = 0; j < d.vocab; ++j)
      e_lg = std::max(e_lg, std::abs(r.logits[size_t(t) * d.vocab + j] - g.logits[t][j]));
  // The next-token NLL behind the printed perplexity, against the golden
  // logits: nll[t] = logsumexp(logits[t]) − logits[t][token[t+1]].
  ASSERT_EQ(r.res.nll.size(), size_t(T - 1));
  double e_nll = 0, gold_nll = 0;
  for (int t = 0; t + 1 < T; ++t) {
    const auto& row = g.logits[t];
    const double mx = *std::max_element(row.begin(), row.end());
    double se = 0;
    for (double v : row) se += std::exp(v - mx);
    const double ref = mx + std::log(se) - row[g.tokens[t + 1]];
    gold_nll += ref;
    e_nll = std::max(e_nll, std::abs(r.res.nll[t] - ref));
  }
  const double gold_ppl = std::exp(gold_nll / (T - 1));
  std::printf("[golden fp32 %s, %s weights] max rel err q_norm %.3g, max abs err entropy %.3g nats, logits %.3g, nll %.3g; ppl %.4f (golden %.4f)\n",
              d.format.c_str(), to_string(wm), e_qn, e_H, e_lg, e_nll, r.res.perplexity(), gold_ppl);
  EXPECT_LE(e_nll, 1e-3);
  EXPECT_NEAR(r.res.perplexity(), gold_ppl, 1e-3 * gold_ppl);
  EXPECT_LE(e_qn, 1e-4);
  EXPECT_LE(e_H, 1e-4);
  EXPECT_LE(e_lg, 1e-3);
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = x.size();
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) mx += x[i], my += y[i];
  mx /= n;
  my /= n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

void expect_bf16_golden(const Model& m) {
  const Golden& g = golden();
  const int T = static_cast<int>(g.tokens.size());
  Run r = run(m, Precision::BF16);
  const ModelDesc& d = m.desc();
  std::vector<double> all_ours, all_gold;
  std::vector<const std::array<double, 5>*> gold_at(g.probe.size());  // golden rows in our order
  for (const auto& p : g.probe) gold_at[index_of(d, int(p[0]), int(p[1]), int(p[2]), T)] = &p;
  double worst_dr = 0;
  for (int l = 0; l < d.n_layers; ++l)
    for (int h = 0; h < d.n_heads; ++h) {
      std::vector<double> qn, H, gqn, gH;
      for (int t = 0; t < T; ++t) {
        const TupleRow& row = r.rows[index_of(d, l, h, t, T)];
        const auto& p = *gold_at[index_of(d, l, h, t, T)];
        qn.push_back(row.q_norm);
        H.push_back(row.entropy);
        gqn.push_back(p[3]);
        gH.push_back(p[4]);
        all_ours.push_back(row.entropy);
        all_gold.push_back(p[4]);
      }
      const double dr = std::abs(pearson(qn, H) - pearson(gqn, gH));
      worst_dr = std::max(worst_dr, dr);
      EXPECT_LE(dr, 0.02) << "layer " << l << " head " << h;
    }
  const double rH = pearson(all_ours, all_gold);
  std::printf("[golden bf16 %s, ran as %s] worst |Δr(q_norm, H)| per head %.4f, entropy corr with golden %.6f\n",
              d.format.c_str(), to_string(resolve_precision(Precision::BF16)), worst_dr, rH);
  EXPECT_GE(rH, 0.999);
}

}  // namespace

TEST(Golden, HfFp32) {
  auto m = open_model(kShared + "/models/stories260k");
  expect_fp32_golden(*m);
  expect_fp32_golden(*m, {7, 13});  // odd block sizes
}

TEST(Golden, GgufFp32) {
  auto m = open_model(kShared + "/models/stories260k.gguf");
  expect_fp32_golden(*m);
}

// Resident weights (plain layout) against the same golden and tolerances:
// not bit-identical to streaming (tests/engine/test_weights_mode.cpp).
TEST(Golden, HfFp32ResidentWeights) {
  auto m = open_model(kShared + "/models/stories260k");
  expect_fp32_golden(*m, {}, WeightsMode::Resident);
}

TEST(Golden, GgufFp32ResidentWeights) {
  auto m = open_model(kShared + "/models/stories260k.gguf");
  expect_fp32_golden(*m, {}, WeightsMode::Resident);
}

TEST(Golden, HfBf16) {
  auto m = open_model(kShared + "/models/stories260k");
  expect_bf16_golden(*m);
}

TEST(Golden, GgufBf16) {
  auto m = open_model(kShared + "/models/stories260k.gguf");
  expect_bf16_golden(*m);
}

TEST(Golden, ResidentWeightsAndKvCacheMatchPrefill) {
  auto model = open_model(kShared + "/models/stories260k");
  const Model& m = *model;
  const auto& toks = golden().tokens;
  EngineOptions eo;
  eo.precision = Precision::FP32;
  Engine a(m, eo);
  ForwardOptions fo;
  fo.keep_logits = true;
  auto full = a.forward(toks, fo);
  eo.weights = WeightsMode::Resident;
  Engine b(m, eo);
  KVCache cache(m.desc(), 256);
  // 100 tokens, then 1, then the rest.
  std::vector<float> logits;
  std::span<const int32_t> all(toks);
  for (auto [s, n] : {std::pair{0, 100}, {100, 1}, {101, 155}}) {
    auto r = b.forward(all.subspan(s, n), fo, &cache);
    logits.insert(logits.end(), r.logits.begin(), r.logits.end());
  }
  ASSERT_EQ(logits.size(), full.logits.size());
  double e = 0;
  for (size_t i = 0; i < logits.size(); ++i) e = std::max(e, double(std::abs(logits[i] - full.logits[i])));
  EXPECT_LE(e, 1e-4);
}

TEST(Golden, TokenOutOfRangeIsAClearError) {
  auto m = open_model(kShared + "/models/stories260k");
  Engine eng(*m, {});
  std::vector<int32_t> bad = {1, 5, 512};
  try {
    eng.forward(bad, {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("512"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("position 2"), std::string::npos);
  }
}
