// CPU capabilities: oneDNN's effective ISA decides bf16 support.
#include "engine/cpu.hpp"

#include <omp.h>

#include <fstream>
#include <oneapi/dnnl/dnnl.hpp>
#include <set>
#include <sstream>

#include "util/error.hpp"

namespace spectra::engine {

const char* to_string(Precision p) {
  switch (p) {
    case Precision::Auto: return "auto";
    case Precision::BF16: return "bf16";
    case Precision::FP32: return "fp32";
  }
  return "?";
}

Precision parse_precision(const std::string& s) {
  if (s == "bf16") return Precision::BF16;
  if (s == "fp32") return Precision::FP32;
  if (s == "auto") return Precision::Auto;
  throw Error("--precision: expected bf16, fp32 or auto, got '" + s + "'");
}

bool cpu_has_bf16() {
  const unsigned isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
  const unsigned need = static_cast<unsigned>(dnnl_cpu_isa_avx512_core_bf16);
  return (isa & need) == need;  // ISA values are nested bit masks
}

Precision resolve_precision(Precision requested, std::string* note) {
  const bool ok = cpu_has_bf16();
  if (requested == Precision::FP32) return Precision::FP32;
  if (ok) return Precision::BF16;
  if (note && requested == Precision::BF16)
    *note = "this CPU has no AVX512-BF16/AMX support: computing in fp32";
  return Precision::FP32;
}

std::string cpu_summary() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model, flags;
  while (std::getline(in, line)) {
    if (model.empty() && line.rfind("model name", 0) == 0) model = line.substr(line.find(':') + 2);
    if (flags.empty() && line.rfind("flags", 0) == 0) flags = line.substr(line.find(':') + 2);
  }
  static const std::set<std::string> keep = {"avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                                             "avx512_bf16", "amx_bf16", "amx_tile", "amx_int8", "avx_vnni"};
  std::istringstream fs(flags);
  std::string f, kept;
  while (fs >> f)
    if (keep.count(f)) kept += (kept.empty() ? "" : " ") + f;
  std::ostringstream os;
  os << model << " | flags: " << kept << " | oneDNN ISA mask 0x" << std::hex
     << static_cast<unsigned>(dnnl_get_effective_cpu_isa()) << std::dec << " | threads " << hardware_threads();
  return os.str();
}

int hardware_threads() { return omp_get_num_procs(); }

}  // namespace spectra::engine
