// Storage types of tensors: names and block geometry (ggml's block layouts).
#include "formats/tensor.hpp"
#include "util/error.hpp"

namespace spectra {

const char* to_string(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::Q8_0: return "Q8_0";
    case DType::Q4_0: return "Q4_0";
    case DType::Q4_1: return "Q4_1";
    case DType::Q5_0: return "Q5_0";
    case DType::Q5_1: return "Q5_1";
    case DType::Q4_K: return "Q4_K";
    case DType::Q5_K: return "Q5_K";
    case DType::Q6_K: return "Q6_K";
  }
  return "?";
}

int block_elems(DType t) {
  switch (t) {
    case DType::F32:
    case DType::F16:
    case DType::BF16: return 1;
    case DType::Q8_0:
    case DType::Q4_0:
    case DType::Q4_1:
    case DType::Q5_0:
    case DType::Q5_1: return 32;
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K: return 256;
  }
  return 1;
}

int block_bytes(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::Q8_0: return 2 + 32;            // d, qs[32]
    case DType::Q4_0: return 2 + 16;            // d, qs[16]
    case DType::Q4_1: return 2 + 2 + 16;        // d, m, qs[16]
    case DType::Q5_0: return 2 + 4 + 16;        // d, qh, qs[16]
    case DType::Q5_1: return 2 + 2 + 4 + 16;    // d, m, qh, qs[16]
    case DType::Q4_K: return 2 + 2 + 12 + 128;  // d, dmin, scales[12], qs[128]
    case DType::Q5_K: return 2 + 2 + 12 + 32 + 128;  // d, dmin, scales, qh[32], qs[128]
    case DType::Q6_K: return 128 + 64 + 16 + 2;      // ql, qh, scales[16], d
  }
  return 0;
}

uint64_t storage_bytes(DType t, uint64_t n) {
  const uint64_t be = static_cast<uint64_t>(block_elems(t));
  if (n % be != 0)
    throw Error(std::string("storage_bytes: ") + std::to_string(n) + " elements is not a multiple of the " +
                to_string(t) + " block size " + std::to_string(be));
  return n / be * static_cast<uint64_t>(block_bytes(t));
}

}  // namespace spectra
