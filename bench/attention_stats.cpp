// Microbenchmark of the fused attention kernel alone (fp32 path), one thread,
// thread CPU time (robust to a loaded machine): statistics off, the four
// original statistics, all nine without k_budget, all nine. Each is also
// given in GFLOP/s (causal QKᵀ and P·V: 2·T²·head_dim·heads FLOPs) and as a
// share of the one-thread fp32 GEMM peak measured first in the same run
// (oneDNN sgemm, 2048³, best of 5).
//   attention_stats [T] [heads kv head_dim]
// Also the k_budget selection's cost per key: (all 9 − 9 without k_budget) /
// (heads·T(T+1)/2 keys), in ns and in cycles at the clock given by
// SPECTRA_GHZ (default: /proc/cpuinfo's "cpu MHz").
// Build (from the repository, after building spectra_lib):
//   g++ -O3 -DNDEBUG -fopenmp -std=c++20 -Isrc -Ibuild/generated bench/attention_stats.cpp \
//       build/libspectra_lib.a -ldnnl -o attention_stats
#include <omp.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include <oneapi/dnnl/dnnl.h>

#include "engine/attention_kernel.hpp"

using namespace spectra::engine;

static double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char** argv) {
  const int64_t T = argc > 1 ? std::atoll(argv[1]) : 2048;
  const int heads = argc > 2 ? std::atoi(argv[2]) : 9, kv = argc > 3 ? std::atoi(argv[3]) : 3,
            hd = argc > 4 ? std::atoi(argv[4]) : 64;
  omp_set_num_threads(1);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  const int64_t ldq = int64_t{heads} * hd, ldkv = int64_t{kv} * hd, n = heads * T;
  std::vector<float> q(T * ldq), k(T * ldkv), v(T * ldkv), o(T * ldq), st(9 * n);
  for (auto* a : {&q, &k, &v})
    for (auto& x : *a) x = nd(rng);
  for (auto& x : q) x *= 2.f;
  std::vector<float> ref(heads, 16.f);
  const AttnShape sh{heads, kv, hd};
  const AttnIO io{T, 0, q.data(), ldq, k.data(), v.data(), ldkv, o.data(), ldq};
  auto stats = [&](int mode) {
    AttnStats s{st.data(), st.data() + n, st.data() + 2 * n, st.data() + 3 * n, T};
    if (mode >= 2) {
      s.entropy_fixed_norm = st.data() + 4 * n;
      s.neg_var_score = st.data() + 5 * n;
      s.max_score = st.data() + 6 * n;
      s.logsumexp = st.data() + 7 * n;
      s.k_budget = st.data() + 8 * n;
      s.ref_norm = ref.data();
      s.budget = mode == 3;
      if (mode == 4 || mode == 5) s.k_budget = nullptr;
      if (mode == 4) s.entropy_fixed_norm = nullptr;  // −Var only
      if (mode == 5) s.neg_var_score = nullptr;       // H_fix only
    }
    return s;
  };
  double peak = 0;  // GFLOP/s, one thread
  {
    const int n = 2048;
    std::vector<float> a(size_t{n} * n), b(a.size()), c(a.size());
    for (auto& x : a) x = nd(rng);
    for (auto& x : b) x = nd(rng);
    for (int rep = 0; rep < 5; ++rep) {
      const double t0 = cpu_now();
      dnnl_sgemm('N', 'N', n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
      peak = std::max(peak, 2.0 * n * n * n / (cpu_now() - t0) / 1e9);
    }
    std::printf("fp32 GEMM peak (oneDNN sgemm %d^3, 1 thread): %.1f GFLOP/s\n", n, peak);
  }
  const double att_flops = 2.0 * double(T) * double(T) * hd * heads;
  const char* names[] = {"off", "4 statistics", "9 without k_budget", "all 9", "4 + -Var", "4 + H_fix"};
  double base = 0, t_nobudget = 0, t_all = 0;
  for (int mode : {0, 1, 4, 5, 2, 3, 0}) {
    AttnStats s = stats(mode);
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
      const double t0 = cpu_now();
      attention_blocked(sh, io, mode ? &s : nullptr);
      best = std::min(best, cpu_now() - t0);
    }
    if (mode == 0 && base == 0) base = best;
    if (mode == 2) t_nobudget = best;
    if (mode == 3) t_all = best;
    const double gf = att_flops / best / 1e9;
    std::printf("T=%lld heads %d/%d d=%d  %-20s %.3f s CPU  (%+.1f%% vs off)  %.1f GFLOP/s = %.0f%% of the GEMM peak\n",
                (long long)T, heads, kv, hd, names[mode], best, 100 * (best / base - 1), gf, 100 * gf / peak);
  }
  double ghz = 0;
  if (const char* g = std::getenv("SPECTRA_GHZ")) ghz = std::atof(g);
  if (ghz <= 0)
    if (FILE* f = std::fopen("/proc/cpuinfo", "r")) {
      char line[256];
      while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "cpu MHz : %lf", &ghz) == 1) break;
      std::fclose(f);
      ghz /= 1000;
    }
  const double keys = double(heads) * T * (T + 1) / 2, ns = (t_all - t_nobudget) / keys * 1e9;
  std::printf("k_budget selection: %.2f ns/key = %.2f cycles/key at %.2f GHz\n", ns, ns * ghz, ghz);
}
