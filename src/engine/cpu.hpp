#pragma once
// What the CPU can do, and the matmul precision that follows from it.
// bf16 needs AVX512-BF16 or AMX (checked through oneDNN's effective ISA, so
// ONEDNN_MAX_CPU_ISA=AVX2 simulates an older machine); otherwise fp32.
#include <string>

namespace spectra::engine {

enum class Precision { Auto, BF16, FP32 };

const char* to_string(Precision p);
Precision parse_precision(const std::string& s);  // "bf16", "fp32", "auto"; throws spectra::Error

bool cpu_has_bf16();
// Auto -> BF16 when supported, else FP32; BF16 on a CPU without it -> FP32
// with `note` explaining the fallback.
Precision resolve_precision(Precision requested, std::string* note = nullptr);

// "avx512f avx512_bf16 amx_bf16 ..." from /proc/cpuinfo plus oneDNN's ISA.
std::string cpu_summary();
int hardware_threads();

}  // namespace spectra::engine
