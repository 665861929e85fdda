// The machine's own GEMM peak: one large oneDNN matmul (bf16 with fp32
// accumulation, and fp32), best of a few repetitions, in TFLOP/s.
//   g++ -O2 -std=c++17 gemm_peak.cpp -ldnnl -o gemm_peak && ./gemm_peak [N]
#include <omp.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

static double cpu_s() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

// Returns wall-clock TFLOP/s; *cpu_based = TFLOP/s per (process CPU seconds / threads),
// i.e. what the run would reach with the cores to itself (use OMP_WAIT_POLICY=passive).
static double peak(dt type, int64_t n, const char** impl, double* cpu_based) {
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  memory::desc a({n, n}, type, tag::ab), b_any({n, n}, type, tag::any), c({n, n}, dt::f32, tag::ab);
  matmul::primitive_desc pd(matmul::desc(a, b_any, c), eng);
  static std::string name;
  name = pd.impl_info_str();
  *impl = name.c_str();
  memory A(a, eng), B(pd.weights_desc(), eng), C(c, eng);
  std::memset(A.get_data_handle(), 0, a.get_size());
  std::memset(B.get_data_handle(), 0, pd.weights_desc().get_size());
  matmul mm(pd);
  double best = 0, best_cpu = 0;
  const int th = omp_get_max_threads();
  for (int r = 0; r < 5; ++r) {
    const double c0 = cpu_s();
    auto t0 = std::chrono::steady_clock::now();
    mm.execute(s, {{DNNL_ARG_SRC, A}, {DNNL_ARG_WEIGHTS, B}, {DNNL_ARG_DST, C}});
    s.wait();
    double dt_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double dc = (cpu_s() - c0) / th;
    if (r > 0 && 2.0 * n * n * n / dt_s > best) best = 2.0 * n * n * n / dt_s;
    if (r > 0 && 2.0 * n * n * n / dc > best_cpu) best_cpu = 2.0 * n * n * n / dc;
  }
  *cpu_based = best_cpu / 1e12;
  return best / 1e12;
}

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 4096;
  const char* impl = "";
  const unsigned isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
  if ((isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16) {
    double c;
    double p = peak(dt::bf16, n, &impl, &c);
    std::printf("{\"bf16_tflops\": %.4f, \"bf16_tflops_cpu_time\": %.4f, \"bf16_impl\": \"%s\", ", p, c, impl);
  } else {
    std::printf("{\"bf16_tflops\": null, \"bf16_impl\": null, ");
  }
  double c;
  double p = peak(dt::f32, n / 2, &impl, &c);
  std::printf("\"fp32_tflops\": %.4f, \"fp32_tflops_cpu_time\": %.4f, \"fp32_impl\": \"%s\", \"n\": %lld, \"threads\": %d}\n",
              p, c, impl, (long long)n, omp_get_max_threads());
}
