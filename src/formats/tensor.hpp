#pragma once
// A tensor as it lies in a mapped model file, and conversion of whole rows of
// it to fp32 or bf16. Every storage type Spectra reads is listed in DType.
#include <cstdint>
#include <string>

namespace spectra {

enum class DType { F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K };

const char* to_string(DType t);
// Weights per block and bytes per block (1 and sizeof(element) for F32/F16/BF16).
int block_elems(DType t);
int block_bytes(DType t);
// Bytes for n elements; n must be a multiple of block_elems(t).
uint64_t storage_bytes(DType t, uint64_t n);

struct TensorView {
  std::string name;          // name inside the file
  std::string file;          // path of the file holding it
  uint64_t file_offset = 0;  // absolute byte offset of its data in that file
  DType dtype = DType::F32;
  // Logical shape, row-major, outermost first: a linear layer's weight is
  // [out, in]; a vector is [n] with rows = 1 and cols = n.
  int64_t rows = 0;
  int64_t cols = 0;
  int ndim = 2;
  const uint8_t* data = nullptr;  // mapped bytes
  uint64_t nbytes = 0;

  int64_t numel() const { return rows * cols; }
};

// Convert rows [row_begin, row_end) to dense fp32 / bf16, row-major. Quantized
// rows are dequantized exactly as ggml does. Thread-safe; no allocation.
// Threading: when the range holds >= 1M elements and the caller is not inside
// an OpenMP parallel region, rows are split across OpenMP threads; otherwise
// the calling thread does all the work (so callers may parallelise over row
// ranges themselves). bf16 output rounds to nearest even (util/half.hpp).
// The data pointer need not be aligned (safetensors offsets are arbitrary).
void convert_rows_f32(const TensorView& t, int64_t row_begin, int64_t row_end, float* dst);
void convert_rows_bf16(const TensorView& t, int64_t row_begin, int64_t row_end, uint16_t* dst);

// Dequantize n elements of one contiguous run of blocks (n a multiple of block_elems).
void dequantize(DType t, const uint8_t* src, int64_t n, float* dst);

}  // namespace spectra
