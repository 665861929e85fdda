// Blocked attention kernel vs a naive full-softmax reference on random data:
// several block sizes, T not a multiple of the block, GQA, pos0 > 0 (KV cache).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "engine/attention_kernel.hpp"
#include "engine/cpu.hpp"
#include "util/error.hpp"

using namespace spectra::engine;

namespace {

struct Case {
  int heads, kv, hd;
  int64_t T, pos0;
  int bq, bk;
  float qscale;
};

void run_case(const Case& c, bool bf16 = false, KernelIsa isa = KernelIsa::Auto) {
  std::mt19937 rng(1234 + c.T + c.bq * 7 + c.bk);
  std::normal_distribution<float> nd(0.f, 1.f);
  const int64_t nk = c.pos0 + c.T;
  const int64_t ldq = int64_t{c.heads} * c.hd, ldkv = int64_t{c.kv} * c.hd;
  std::vector<float> q(c.T * ldq), k(nk * ldkv), v(nk * ldkv);
  for (auto& x : q) x = nd(rng) * c.qscale;
  for (auto& x : k) x = nd(rng);
  for (auto& x : v) x = nd(rng);
  AttnShape sh{c.heads, c.kv, c.hd};
  std::vector<float> o1(c.T * ldq), o2(c.T * ldq);
  const int64_t n = int64_t{c.heads} * c.T;
  std::vector<float> s1(4 * n), s2(4 * n);
  AttnStats st1{s1.data(), s1.data() + n, s1.data() + 2 * n, s1.data() + 3 * n, c.T};
  AttnStats st2{s2.data(), s2.data() + n, s2.data() + 2 * n, s2.data() + 3 * n, c.T};
  AttnIO io1{c.T, c.pos0, q.data(), ldq, k.data(), v.data(), ldkv, o1.data(), ldq};
  AttnIO io2 = io1;
  io2.out = o2.data();
  AttnBlocking blk{c.bq, c.bk};
  blk.bf16 = bf16;
  blk.bq_bf16 = c.bq;
  blk.bk_bf16 = c.bk;
  blk.isa = isa;
  attention_blocked(sh, io1, &st1, blk);
  attention_reference(sh, io2, &st2);
  double e_out = 0, e_H = 0, e_qn = 0, e_p0 = 0, e_mx = 0;
  for (size_t i = 0; i < o1.size(); ++i) e_out = std::max(e_out, double(std::abs(o1[i] - o2[i])));
  for (int h = 0; h < c.heads; ++h)
    for (int64_t t = 0; t < c.T; ++t) {
      const int64_t i = h * c.T + t;
      e_qn = std::max(e_qn, double(std::abs(st1.q_norm[i] - st2.q_norm[i]) / st2.q_norm[i]));
      e_H = std::max(e_H, double(std::abs(st1.entropy[i] - st2.entropy[i])));
      e_p0 = std::max(e_p0, double(std::abs(st1.sink_mass[i] - st2.sink_mass[i])));
      e_mx = std::max(e_mx, double(std::abs(st1.max_attn[i] - st2.max_attn[i])));
      const double lim = std::log(double(c.pos0 + t + 1));
      EXPECT_LE(st1.entropy[i], lim + 1e-5);
      EXPECT_GE(st1.entropy[i], 0.f);
      EXPECT_GE(st1.sink_mass[i], 0.f);
      EXPECT_LE(st1.sink_mass[i], 1.f + 1e-6f);
      EXPECT_GE(st1.max_attn[i], 0.f);
      EXPECT_LE(st1.max_attn[i], 1.f + 1e-6f);
      if (c.pos0 + t == 0) {
        EXPECT_EQ(st1.entropy[i], 0.f);
        EXPECT_NEAR(st1.sink_mass[i], 1.f, 1e-6);
      }
    }
  // bf16: inputs rounded to 8 mantissa bits; scores err ~ |s|·2^-8.
  const double f = bf16 ? 2000 * c.qscale : 1;
  EXPECT_LT(e_out, 2e-5 * f) << "T=" << c.T << " bq=" << c.bq << " bk=" << c.bk << " bf16=" << bf16;
  EXPECT_LT(e_H, 2e-5 * f) << "T=" << c.T << " bq=" << c.bq << " bk=" << c.bk << " bf16=" << bf16;
  EXPECT_LT(e_qn, 1e-6);
  EXPECT_LT(e_p0, 1e-5 * f);
  EXPECT_LT(e_mx, 1e-5 * f);
}

}  // namespace

TEST(Attention, BlockedMatchesReference) {
  const Case cases[] = {
      {4, 2, 8, 1, 0, 32, 256, 1.f},     {4, 2, 8, 37, 0, 32, 16, 1.f},    {6, 2, 16, 100, 0, 7, 13, 2.f},
      {8, 8, 64, 130, 0, 32, 64, 1.f},   {9, 3, 64, 257, 0, 64, 128, 1.5f}, {4, 1, 24, 65, 0, 16, 256, 4.f},
      {2, 2, 128, 75, 0, 32, 32, 1.f},   {4, 2, 32, 19, 23, 8, 16, 1.f},   {4, 2, 32, 1, 50, 32, 256, 1.f},
      {3, 1, 64, 300, 0, 33, 100, 0.1f}, {4, 4, 8, 50, 0, 1, 1, 3.f},
  };
  for (const auto& c : cases) run_case(c);
}

// The fp32 kernel compiled for each instruction set this CPU has (the
// baseline always runs: scalar tiles, no FMA), each against the reference.
TEST(Attention, EveryInstructionSetMatchesReference) {
  const Case cases[] = {
      {4, 2, 8, 37, 0, 32, 16, 1.f},    {6, 2, 16, 100, 0, 7, 13, 2.f},   {9, 3, 64, 257, 0, 96, 256, 1.5f},
      {4, 1, 24, 65, 0, 16, 256, 4.f},  {2, 2, 128, 75, 0, 32, 32, 1.f},  {4, 2, 32, 19, 23, 8, 16, 1.f},
      {3, 1, 64, 300, 0, 33, 100, 0.1f}, {4, 4, 8, 50, 0, 1, 1, 3.f},
  };
  __builtin_cpu_init();
  const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  std::printf("AVX2+FMA variant %s, AVX-512 variant %s on this CPU\n", v3 ? "run" : "absent (not run)",
              v4 ? "run" : "absent (not run)");
  for (const auto& c : cases) {
    run_case(c, false, KernelIsa::Baseline);
    if (v3) run_case(c, false, KernelIsa::Avx2Fma);
    if (v4) run_case(c, false, KernelIsa::Avx512);
  }
  std::vector<float> q(16 * 8), k(16 * 8), v(16 * 8), o(16 * 8);
  AttnBlocking blk;
  if (!v4) {
    blk.isa = KernelIsa::Avx512;
    EXPECT_THROW(attention_blocked({1, 1, 8}, {16, 0, q.data(), 8, k.data(), v.data(), 8, o.data(), 8}, nullptr, blk),
                 spectra::Error);
  }
}

TEST(Attention, Bf16PathMatchesReference) {
  if (!cpu_has_bf16()) GTEST_SKIP() << "no bf16 on this CPU: the bf16 kernel cannot run here";
  const Case cases[] = {
      {4, 2, 8, 37, 0, 32, 16, 1.f},  {9, 3, 64, 257, 0, 64, 128, 1.f}, {2, 2, 128, 75, 0, 32, 32, 1.f},
      {4, 2, 32, 19, 23, 8, 16, 1.f}, {4, 2, 32, 1, 50, 32, 256, 1.f},  {3, 1, 64, 300, 0, 128, 512, 1.f},
  };
  for (const auto& c : cases) run_case(c, true);
}

TEST(Attention, StatsOffGivesSameOutput) {
  const int heads = 4, kv = 2, hd = 32;
  const int64_t T = 70;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  std::vector<float> q(T * heads * hd), k(T * kv * hd), v(T * kv * hd), o1(q.size()), o2(q.size());
  for (auto* a : {&q, &k, &v})
    for (auto& x : *a) x = nd(rng);
  const int64_t n = heads * T;
  std::vector<float> s(4 * n);
  AttnStats st{s.data(), s.data() + n, s.data() + 2 * n, s.data() + 3 * n, T};
  AttnShape sh{heads, kv, hd};
  attention_blocked(sh, {T, 0, q.data(), heads * hd, k.data(), v.data(), kv * hd, o1.data(), heads * hd}, &st);
  attention_blocked(sh, {T, 0, q.data(), heads * hd, k.data(), v.data(), kv * hd, o2.data(), heads * hd}, nullptr);
  for (size_t i = 0; i < o1.size(); ++i) ASSERT_EQ(o1[i], o2[i]);
}

// A NaN in a score row (here: one query element) must give a NaN entropy for
// that row, never 0 (which would look perfectly sharp and pass the analysis'
// finiteness filter); other rows stay finite. The fp32 path always, the bf16
// path where the CPU has bf16 (oneDNN cannot build it elsewhere).
TEST(Attention, NanScoreRowGivesNanEntropy) {
  const int heads = 2, kv = 1, hd = 16;
  const int64_t T = 40;
  for (bool bf16 : {false, true}) {
    if (bf16 && !cpu_has_bf16()) continue;
    std::mt19937 rng(11);
    std::normal_distribution<float> nd;
    std::vector<float> q(T * heads * hd), k(T * kv * hd), v(T * kv * hd), o(q.size());
    for (auto* a : {&q, &k, &v})
      for (auto& x : *a) x = nd(rng);
    const int64_t bad_t = 17, bad_h = 1;
    q[bad_t * heads * hd + bad_h * hd + 3] = std::numeric_limits<float>::quiet_NaN();
    const int64_t n = heads * T;
    std::vector<float> s(4 * n);
    AttnStats st{s.data(), s.data() + n, s.data() + 2 * n, s.data() + 3 * n, T};
    AttnBlocking blk{8, 16};
    blk.bf16 = bf16;
    blk.bq_bf16 = 8;
    blk.bk_bf16 = 16;
    attention_blocked({heads, kv, hd}, {T, 0, q.data(), heads * hd, k.data(), v.data(), kv * hd, o.data(), heads * hd},
                      &st, blk);
    for (int h = 0; h < heads; ++h)
      for (int64_t t = 0; t < T; ++t) {
        const float H = st.entropy[h * T + t];
        if (h == bad_h && t == bad_t) EXPECT_TRUE(std::isnan(H)) << "bf16=" << bf16 << " H=" << H;
        else EXPECT_TRUE(std::isfinite(H)) << "bf16=" << bf16 << " h=" << h << " t=" << t;
      }
  }
}
