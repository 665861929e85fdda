// Chunked prefill: a window processed in query chunks (each against the K/V
// of everything before) gives the same per-row statistics, logits and NLL as
// the unchunked pass: bit-identical at fp32 where the arithmetic order is the
// same, and within 1e-6 relative otherwise; at bf16 within the bf16 tolerance.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <random>

#include "engine/attention_kernel.hpp"
#include "engine/cpu.hpp"
#include "engine/forward.hpp"
#include "observers/tuple_observer.hpp"

using namespace spectra;
using namespace spectra::engine;

namespace {

const std::string kShared = SPECTRA_SHARED_DIR;

std::vector<int32_t> golden_tokens() {
  std::ifstream tf(kShared + "/golden/stories260k/greedy.tokens.txt");
  std::vector<int32_t> t;
  int32_t id;
  while (tf >> id) t.push_back(id);
  return t;
}

struct Out {
  std::vector<TupleRow> rows;
  std::vector<float> logits;
  std::vector<double> nll;
};

Out run(const Model& m, Precision p, int64_t chunk) {
  EngineOptions eo;
  eo.precision = p;
  eo.prefill_chunk = chunk;
  Engine eng(m, eo);
  TupleCollector col;
  ForwardOptions fo;
  fo.observer = &col;
  fo.keep_logits = true;
  auto r = eng.forward(golden_tokens(), fo);
  return {std::move(col.rows), std::move(r.logits), std::move(r.nll)};
}

double rel(double a, double b) { return std::abs(a - b) / std::max(1e-30, std::max(std::abs(a), std::abs(b))); }

struct Diff {
  double stats = 0, logits = 0, nll = 0;
};

Diff compare(const Out& a, const Out& b, double* first_layer = nullptr) {
  Diff d;
  if (first_layer) *first_layer = 0;
  EXPECT_EQ(a.rows.size(), b.rows.size());
  for (size_t i = 0; i < std::min(a.rows.size(), b.rows.size()); ++i) {
    const TupleRow &x = a.rows[i], &y = b.rows[i];
    EXPECT_EQ(x.layer, y.layer);
    EXPECT_EQ(x.head, y.head);
    EXPECT_EQ(x.pos, y.pos);
    EXPECT_EQ(x.token, y.token);
    for (auto [u, v] : {std::pair{x.q_norm, y.q_norm}, {x.entropy, y.entropy}, {x.sink_mass, y.sink_mass},
                        {x.max_attn, y.max_attn}})
    {
      // relative to the statistic's scale (entropies and weights near 0 have no useful relative error)
      const double e = u == v ? 0.0 : std::abs(double(u) - v) / std::max(1.0, double(std::abs(v)));
      d.stats = std::max(d.stats, e);
      if (first_layer && x.layer == 0) *first_layer = std::max(*first_layer, e);
    }
  }
  EXPECT_EQ(a.logits.size(), b.logits.size());
  for (size_t i = 0; i < std::min(a.logits.size(), b.logits.size()); ++i)
    d.logits = std::max(d.logits, std::abs(double(a.logits[i]) - b.logits[i]));
  EXPECT_EQ(a.nll.size(), b.nll.size());
  for (size_t i = 0; i < std::min(a.nll.size(), b.nll.size()); ++i) d.nll = std::max(d.nll, rel(a.nll[i], b.nll[i]));
  return d;
}

// The kernel on the same q/K/V, whole vs in query chunks (each chunk at its
// own pos0 against all earlier keys): every statistic and output bit-identical,
// at fp32 and bf16, for chunks that do and do not align with the blocks.
TEST(ChunkedPrefill, KernelIsBitIdenticalByChunk) {
  const int heads = 4, kv = 2, hd = 32;
  const int64_t T = 300, ldq = heads * hd, ldkv = kv * hd, n = heads * T;
  std::mt19937 rng(99);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> q(T * ldq), k(T * ldkv), v(T * ldkv);
  for (auto* vec : {&q, &k, &v})
    for (auto& x : *vec) x = 2.f * nd(rng);
  for (bool bf16 : {false, true}) {
    if (bf16 && !cpu_has_bf16()) continue;  // the bf16 kernel needs AVX512-BF16 or AMX (the fp32 half still ran)
    AttnBlocking blk;
    blk.bf16 = bf16;
    std::vector<float> o1(T * ldq), s1(4 * n);
    AttnStats st1{s1.data(), s1.data() + n, s1.data() + 2 * n, s1.data() + 3 * n, T};
    attention_blocked({heads, kv, hd}, {T, 0, q.data(), ldq, k.data(), v.data(), ldkv, o1.data(), ldq}, &st1, blk);
    for (int64_t C : {1, 32, 45, 128, 299}) {
      std::vector<float> o2(T * ldq), s2(4 * n);
      for (int64_t c0 = 0; c0 < T; c0 += C) {
        const int64_t rows = std::min(C, T - c0);
        AttnStats st2{s2.data() + c0, s2.data() + n + c0, s2.data() + 2 * n + c0, s2.data() + 3 * n + c0, T};
        attention_blocked({heads, kv, hd},
                          {rows, c0, q.data() + c0 * ldq, ldq, k.data(), v.data(), ldkv, o2.data() + c0 * ldq, ldq},
                          &st2, blk);
      }
      EXPECT_EQ(s1, s2) << "statistics, chunk " << C << (bf16 ? " bf16" : " fp32");
      EXPECT_EQ(o1, o2) << "output, chunk " << C << (bf16 ? " bf16" : " fp32");
    }
  }
}

// The whole pass. oneDNN's GEMM may round a row differently when the number
// of rows M changes (another kernel or blocking), so the first layer's
// statistics agree to a few float32 ulps (measured <= 1.6e-6 relative to
// max(1, value); 4e-6 allowed) and deeper layers carry that
// rounding forward (still 20x inside the golden tolerance of 1e-4). A chunk
// size equal to the window is the unchunked pass, bit for bit.
TEST(ChunkedPrefill, Fp32EqualsUnchunkedForSeveralChunkSizes) {
  const std::pair<const char*, std::vector<int64_t>> cases[] = {
      {"/models/stories260k", {7, 64, 255, 256}},  // 7 and 255 do not divide 256
      {"/models/stories260k.gguf", {1, 100, 1000}},
  };
  for (const auto& [path, chunks] : cases) {
    auto m = open_model(kShared + path);
    const Out whole = run(*m, Precision::FP32, 0);
    ASSERT_EQ(whole.rows.size(), size_t(5) * 8 * 256);
    for (int64_t chunk : chunks) {
      double first = 0;
      const Diff d = compare(run(*m, Precision::FP32, chunk), whole, &first);
      std::printf("[chunked fp32 %s, chunk %lld] max rel diff: statistics layer 0 %.3g, all layers %.3g, nll %.3g; logits abs %.3g\n",
                  path, static_cast<long long>(chunk), first, d.stats, d.nll, d.logits);
      EXPECT_LE(first, 4e-6) << path << " chunk " << chunk;  // a few float32 ulps of the GEMM
      EXPECT_LE(d.stats, 5e-5) << path << " chunk " << chunk;
      EXPECT_LE(d.nll, 5e-5) << path << " chunk " << chunk;
      EXPECT_LE(d.logits, 5e-4) << path << " chunk " << chunk;
      if (chunk >= 256) EXPECT_TRUE(d.stats == 0 && d.logits == 0 && d.nll == 0) << "chunk >= T must be the unchunked pass";
    }
  }
}

TEST(ChunkedPrefill, Bf16WithinTolerance) {
  auto m = open_model(kShared + "/models/stories260k");
  const Out whole = run(*m, Precision::BF16, 0);
  for (int64_t chunk : {37, 128}) {
    const Out c = run(*m, Precision::BF16, chunk);
    ASSERT_EQ(c.rows.size(), whole.rows.size());
    double worst_h = 0;
    for (size_t i = 0; i < c.rows.size(); ++i)
      worst_h = std::max(worst_h, std::abs(double(c.rows[i].entropy) - whole.rows[i].entropy));
    std::printf("[chunked bf16, chunk %lld] max entropy diff %.3g nats\n", static_cast<long long>(chunk), worst_h);
    EXPECT_LE(worst_h, 0.02);
  }
}

}  // namespace
