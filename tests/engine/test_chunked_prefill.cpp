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
#include "observers/probe_arrays.hpp"
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

namespace {

// All nine statistics of a kernel call, [field][head][T].
struct AllStats {
  std::vector<float> buf;
  int64_t n;
  AllStats(int heads, int64_t T) : buf(9 * heads * T, -1.f), n(heads * T) {}
  AttnStats at(int64_t c0, int64_t T, const std::vector<float>& ref) {
    float* b = buf.data() + c0;
    AttnStats s{b, b + n, b + 2 * n, b + 3 * n, T};
    s.entropy_fixed_norm = b + 4 * n;
    s.neg_var_score = b + 5 * n;
    s.max_score = b + 6 * n;
    s.logsumexp = b + 7 * n;
    s.k_budget = b + 8 * n;
    s.ref_norm = ref.data();
    s.budget_mass = 0.9f;
    return s;
  }
};

}  // namespace

// The issue-#14 statistics by chunk: bit-identical to the whole call (the
// reference norms are an input, the same for every chunk).
TEST(ChunkedPrefill, NewStatisticsKernelIsBitIdenticalByChunk) {
  const int heads = 4, kv = 2, hd = 32;
  const int64_t T = 300, ldq = heads * hd, ldkv = kv * hd;
  std::mt19937 rng(98);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> q(T * ldq), k(T * ldkv), v(T * ldkv);
  for (auto* vec : {&q, &k, &v})
    for (auto& x : *vec) x = 2.f * nd(rng);
  const std::vector<float> ref = {7.5f, 8.f, 11.f, 9.25f};
  for (bool bf16 : {false, true}) {
    if (bf16 && !cpu_has_bf16()) continue;  // the bf16 kernel needs AVX512-BF16 or AMX (the fp32 half still ran)
    AttnBlocking blk;
    blk.bf16 = bf16;
    std::vector<float> o1(T * ldq);
    AllStats s1(heads, T);
    AttnStats st1 = s1.at(0, T, ref);
    attention_blocked({heads, kv, hd}, {T, 0, q.data(), ldq, k.data(), v.data(), ldkv, o1.data(), ldq}, &st1, blk);
    for (int64_t C : {1, 32, 45, 128, 299}) {
      std::vector<float> o2(T * ldq);
      AllStats s2(heads, T);
      for (int64_t c0 = 0; c0 < T; c0 += C) {
        const int64_t rows = std::min(C, T - c0);
        AttnStats st2 = s2.at(c0, T, ref);
        attention_blocked({heads, kv, hd},
                          {rows, c0, q.data() + c0 * ldq, ldq, k.data(), v.data(), ldkv, o2.data() + c0 * ldq, ldq},
                          &st2, blk);
      }
      EXPECT_EQ(s1.buf, s2.buf) << "statistics, chunk " << C << (bf16 ? " bf16" : " fp32");
      EXPECT_EQ(o1, o2) << "output, chunk " << C << (bf16 ? " bf16" : " fp32");
    }
  }
}

// The whole pass with every HeadProbe field (ProbeArrays): chunked vs
// unchunked within the tolerance of the test above (the reference norm c_h
// comes from the pre-pass when chunked, from the chunk's own Q otherwise;
// both sum the same norms in the same order). k_budget is an integer: a few
// float32 ulps of the GEMM may move a row across the P boundary by one key.
TEST(ChunkedPrefill, NewStatisticsFp32EqualsUnchunked) {
  auto m = open_model(kShared + "/models/stories260k");
  auto measure = [&](int64_t chunk) {
    EngineOptions eo;
    eo.precision = Precision::FP32;
    eo.prefill_chunk = chunk;
    Engine eng(*m, eo);
    return measure_window(eng, golden_tokens());
  };
  const ProbeArrays whole = measure(0);
  for (int64_t chunk : {7, 100, 255, 256}) {
    const ProbeArrays c = measure(chunk);
    ASSERT_EQ(c.fields.size(), whole.fields.size());
    for (int f = 0; f < kNumHeadProbeFields; ++f) {
      const std::string name = kHeadProbeFields[f].name;
      double worst = 0;
      int64_t k_moved = 0;
      for (size_t i = 0; i < c.fields[f].size(); ++i) {
        const double u = c.fields[f][i], v = whole.fields[f][i];
        ASSERT_TRUE(std::isfinite(u) && std::isfinite(v)) << name << " " << i;
        if (name == "k_budget") {
          if (u != v) ++k_moved;
          EXPECT_LE(std::abs(u - v), 1.0) << i;
        } else {
          worst = std::max(worst, u == v ? 0.0 : std::abs(u - v) / std::max(1.0, std::abs(v)));
        }
      }
      std::printf("[chunked fp32 new stats, chunk %lld] %s: max rel diff %.3g%s\n", static_cast<long long>(chunk),
                  name.c_str(), worst,
                  name == "k_budget" ? (", rows moved by one key: " + std::to_string(k_moved)).c_str() : "");
      EXPECT_LE(worst, 5e-5) << name << " chunk " << chunk;
      EXPECT_LE(k_moved * 1000, int64_t(c.fields[f].size())) << name << " chunk " << chunk;
      if (chunk >= 256) EXPECT_TRUE(worst == 0 && k_moved == 0) << "chunk >= T must be the unchunked pass";
    }
  }
}
