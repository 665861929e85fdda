// oneDNN matmul wrapper: fp32 and bf16, plain and reordered weights,
// accumulate, vs a double-precision reference.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/cpu.hpp"
#include "engine/gemm.hpp"

using namespace spectra;
using namespace spectra::engine;

namespace {
void check(int64_t M, int64_t N, int64_t K, WType type, int64_t layout_m, bool acc, int64_t r0 = 0) {
  std::mt19937 rng(M * 31 + N * 7 + K);
  std::normal_distribution<float> nd;
  const int64_t rows = N + r0 + 3;
  std::vector<float> w(rows * K), x(M * K), y(M * N), y0(M * N);
  for (auto& v : w) v = nd(rng);
  for (auto& v : x) v = nd(rng);
  for (auto& v : y0) v = acc ? nd(rng) : 0.f;
  y = y0;
  TensorView t;
  t.name = "w";
  t.dtype = DType::F32;
  t.rows = rows;
  t.cols = K;
  t.data = reinterpret_cast<const uint8_t*>(w.data());
  t.nbytes = w.size() * 4;
  Buffer store, scratch;
  PreparedWeight pw = prepare_weight(t, r0, r0 + N, type, layout_m, store, scratch);
  matmul(M, x.data(), pw, y.data(), acc);
  double err = 0, mag = 0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = acc ? y0[i * N + j] : 0.0;
      for (int64_t k = 0; k < K; ++k) s += double(x[i * K + k]) * w[(r0 + j) * K + k];
      err = std::max(err, std::abs(s - y[i * N + j]));
      mag = std::max(mag, std::abs(s));
    }
  const double tol = type == WType::BF16 ? 0.03 * std::sqrt(double(K)) : 1e-4 * std::sqrt(double(K));
  EXPECT_LE(err, tol) << "M=" << M << " N=" << N << " K=" << K << " bf16=" << (type == WType::BF16)
                      << " layout_m=" << layout_m << " acc=" << acc << " mag=" << mag;
}
}  // namespace

TEST(Gemm, Fp32) {
  for (int64_t lm : {0, 1}) {
    check(37, 50, 64, WType::F32, lm ? 37 : 0, false);
    check(5, 64, 172, WType::F32, lm ? 5 : 0, true, 4);
    check(1, 100, 64, WType::F32, lm ? 1 : 0, false);
  }
}

TEST(Gemm, Bf16) {
  if (!cpu_has_bf16()) GTEST_SKIP() << "no bf16 on this CPU";
  for (int64_t lm : {0, 1}) {
    check(37, 50, 64, WType::BF16, lm ? 37 : 0, false);
    check(5, 64, 172, WType::BF16, lm ? 5 : 0, true, 4);
    check(256, 512, 64, WType::BF16, lm ? 256 : 0, false);
    check(1, 100, 64, WType::BF16, lm ? 1 : 0, true);
  }
}
