// In-memory engine benchmark: GEMM peak (bf16, fp32) with one large oneDNN
// matmul, then the forward pass of random-weight models with real shapes
// (all statistics on, on without k_budget, off), reporting tokens/s and model
// FLOP utilization.
//   bench_engine [T] [smollm2|1b|8b ...]
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "engine/forward.hpp"
#include "engine/gemm.hpp"
#include "observers/tuple_observer.hpp"
#include "synthetic_model.hpp"

using namespace spectra;
using namespace spectra::engine;

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static double gemm_peak(WType type, int64_t n) {
  std::vector<float> w(n * n, 0.01f), x(n * n, 0.02f), y(n * n);
  TensorView t;
  t.name = "w";
  t.dtype = DType::F32;
  t.rows = n;
  t.cols = n;
  t.data = reinterpret_cast<const uint8_t*>(w.data());
  t.nbytes = w.size() * 4;
  Buffer store, scratch;
  PreparedWeight pw = prepare_weight(t, 0, n, type, n, store, scratch);
  std::vector<uint16_t> xb(n * n, 0x3c00);
  double best = 0;
  for (int rep = 0; rep < 4; ++rep) {
    const double t0 = now();
    if (type == WType::BF16) matmul_bf16(n, xb.data(), pw, y.data());
    else matmul(n, x.data(), pw, y.data());
    const double dt = now() - t0;
    if (rep > 0) best = std::max(best, 2.0 * n * n * n / dt);
  }
  std::printf("GEMM %s %lldx%lldx%lld: %.3f TFLOP/s (%s)\n", type == WType::BF16 ? "bf16" : "fp32", (long long)n,
              (long long)n, (long long)n, best / 1e12, matmul_impl_name(n, n, n, type));
  return best;
}

int main(int argc, char** argv) {
  const int64_t T = argc > 1 ? std::atoll(argv[1]) : 4096;
  std::vector<std::string> which;
  for (int i = 2; i < argc; ++i) which.push_back(argv[i]);
  if (which.empty()) which = {"smollm2"};
  std::printf("%s\n", cpu_summary().c_str());
  const double peak_bf16 = cpu_has_bf16() ? gemm_peak(WType::BF16, 4096) : 0;
  const double peak_f32 = gemm_peak(WType::F32, 2048);
  for (const auto& w : which) {
    ModelDesc d = w == "8b" ? bench::shape_llama3_8b() : w == "1b" ? bench::shape_llama32_1b() : bench::shape_smollm2_135m();
    bench::SyntheticModel m(d);
    std::vector<int32_t> toks(T);
    for (int64_t i = 0; i < T; ++i) toks[i] = static_cast<int32_t>((i * 7919) % d.vocab);
    const double flops = bench::forward_flops(d, T);
    for (int stats : {2, 1, 0}) {  // 2: all statistics, 1: without k_budget, 0: off
      EngineOptions eo;
      eo.budget_stat = stats == 2;
      Engine eng(m, eo);
      TupleCollector col;
      NullObserver off;
      ForwardOptions fo;
      fo.observer = stats ? static_cast<Observer*>(&col) : &off;
      auto r = eng.forward(toks, fo);
      std::printf("%s T=%lld %s stats=%d: %.2f s, %.1f tok/s, %.3f TFLOP/s = %.1f%% of bf16 peak | conv %.2f mm %.2f att %.2f lm %.2f\n",
                  d.name.c_str(), (long long)T, to_string(eng.precision()), stats, r.time.total, T / r.time.total,
                  flops / r.time.total / 1e12, 100 * flops / r.time.total / std::max(peak_bf16, peak_f32),
                  r.time.convert, r.time.matmul, r.time.attention, r.time.lm_head);
    }
  }
  (void)peak_f32;
}
