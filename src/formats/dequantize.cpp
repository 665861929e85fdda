// Dequantization of ggml block types, bit-for-bit as ggml-quants.c does it
// (dequantize_row_*), and whole-row conversion of a TensorView to fp32/bf16.
//
// Threading: convert_rows_f32/bf16 parallelise over rows with OpenMP when the
// range is large (>= 1M elements) and the caller is not already inside a
// parallel region; smaller ranges, or calls from inside a parallel region, run
// on the calling thread. Callers may therefore split rows across their own
// threads too. The type switch happens once per call, never per element.
#include <cpuid.h>
#include <immintrin.h>
#include <omp.h>

#include <cstring>

#include "formats/tensor.hpp"
#include "util/error.hpp"
#include "util/half.hpp"

namespace spectra {

namespace {

// fp16 -> fp32 through a 64K-entry table (256 KB, built once, thread-safe).
const float* f16_table() {
  static const float* table = [] {
    static float t[65536];
    for (uint32_t i = 0; i < 65536; ++i) t[i] = f16_to_f32(static_cast<uint16_t>(i));
    return t;
  }();
  return table;
}

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Q4_K / Q5_K: 6-bit scale and min of sub-block j from the packed 12 bytes.
inline void scale_min_k4(int j, const uint8_t* q, uint8_t& d, uint8_t& m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
  }
}

void deq_f32(const uint8_t* __restrict x, int64_t n, float* __restrict y) { std::memcpy(y, x, static_cast<size_t>(n) * 4); }

// F16C through cpuid (clang's __builtin_cpu_supports does not know "f16c");
// "avx" also checks that the OS saves the AVX registers.
bool cpu_has_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  return (c & bit_F16C) != 0 && __builtin_cpu_supports("avx");
}

// fp16 via F16C when the CPU has it (exact, like the table), else the table.
__attribute__((target("avx,f16c"))) void deq_f16_f16c(const uint8_t* __restrict x, int64_t n, float* __restrict y) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + 2 * i))));
  const float* t = f16_table();
  for (; i < n; ++i) y[i] = t[load_u16(x + 2 * i)];
}

void deq_f16(const uint8_t* __restrict x, int64_t n, float* __restrict y) {
  static const bool has_f16c = cpu_has_f16c();
  if (has_f16c) return deq_f16_f16c(x, n, y);
  const float* t = f16_table();
  for (int64_t i = 0; i < n; ++i) y[i] = t[load_u16(x + 2 * i)];
}

void deq_bf16(const uint8_t* __restrict x, int64_t n, float* __restrict y) {
  for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_f32(load_u16(x + 2 * i));
}

void deq_q8_0(const uint8_t* __restrict x, int64_t n, float* __restrict y) {
  const float* t = f16_table();
  for (int64_t b = 0; b < n / 32; ++b, x += 34, y += 32) {
    const float d = t[load_u16(x)];
    const int8_t* q = reinterpret_cast<const int8_t*>(x + 2);
    for (int j = 0; j < 32; ++j) y[j] = q[j] * d;
  }
}

void deq_q4_0(const uint8_t* __restrict x, int64_t n, float* __restrict y) {
  const float* t = f16_table();
  for (int64_t b = 0; b < n / 32; ++b, x += 18, y += 32) {
    const float d = t[load_u16(x)];
    const uint8_t* qs = x + 2;
    for (int j = 0; j < 16; ++j) {
      const int x0 = (qs[j] & 0x0F) - 8;
      const int x1 = (qs[j] >> 4) - 8;
      y[j] = x0 * d;
      y[j + 16] = x1 * d;
    }
  }
}

void deq_q4_1(const uint8_t* __restrict x, int64_t n, float* __restrict y) {
  const float* t = f16_table();
  for (int64_t b = 0; b < n / 32; ++b, x += 20, y += 32) {
    const float d = t[load_u16(x)];
    const float m = t[load_u16(x + 2)];
    const uint8_t* qs = x + 4;
    for (int j = 0; j < 16; ++j) {
      const int x0 = qs[j] & 0x0F;
      const int x1 = qs[j] >> 4;
      y[j] = x0 * d + m;
      y[j + 16] = x1 * d + m;
    }
  }
}

// 1 << i, as a table so that the Q5 loops vectorize without variable shifts.
constexpr uint32_t kBit[32] = {1u << 0,  1u << 1,  1u << 2,  1u << 3,  1u << 4,  1u << 5,  1u << 6,  1u << 7,
                               1u << 8,  1u << 9,  1u << 10, 1u << 11, 1u << 12, 1u << 13, 1u << 14, 1u << 15,
                               1u << 16, 1u << 17, 1u << 18, 1u << 19, 1u << 20, 1u << 21, 1u << 22, 1u << 23,
                               1u << 24, 1u << 25, 1u << 26, 1u << 27, 1u << 28, 1u << 29, 1u << 30, 1u << 31};

void deq_q5_0(const uint8_t* __restrict x, int64_t n, float* __restrict y) {
  const float* t = f16_table();
  for (int64_t b = 0; b < n / 32; ++b, x += 22, y += 32) {
    const float d = t[load_u16(x)];
    const uint32_t qh = load_u32(x + 2);
    const uint8_t* qs = x + 6;
    for (int j = 0; j < 16; ++j) {
      const int xh0 = (qh & kBit[j]) ? 0x10 : 0;       // ggml: ((qh >> j) << 4) & 0x10
      const int xh1 = (qh & kBit[j + 16]) ? 0x10 : 0;  // ggml: (qh >> (j + 12)) & 0x10
      const int32_t x0 = ((qs[j] & 0x0F) | xh0) - 16;
      const int32_t x1 = ((qs[j] >> 4) | xh1) - 16;
      y[j] = x0 * d;
      y[j + 16] = x1 * d;
    }
  }
}

void deq_q5_1(const uint8_t* __restrict x, int64_t n, float* __restrict y) {
  const float* t = f16_table();
  for (int64_t b = 0; b < n / 32; ++b, x += 24, y += 32) {
    const float d = t[load_u16(x)];
    const float m = t[load_u16(x + 2)];
    const uint32_t qh = load_u32(x + 4);
    const uint8_t* qs = x + 8;
    for (int j = 0; j < 16; ++j) {
      const int xh0 = (qh & kBit[j]) ? 0x10 : 0;       // ggml: ((qh >> j) << 4) & 0x10
      const int xh1 = (qh & kBit[j + 16]) ? 0x10 : 0;  // ggml: (qh >> (j + 12)) & 0x10
      const int x0 = (qs[j] & 0x0F) | xh0;
      const int x1 = (qs[j] >> 4) | xh1;
      y[j] = x0 * d + m;
      y[j + 16] = x1 * d + m;
    }
  }
}

void deq_q4_k(const uint8_t* __restrict x, int64_t n, float* __restrict y) {
  const float* t = f16_table();
  for (int64_t b = 0; b < n / 256; ++b, x += 144) {
    const float d = t[load_u16(x)];
    const float dmin = t[load_u16(x + 2)];
    const uint8_t* scales = x + 4;
    const uint8_t* q = x + 16;
    int is = 0;
    uint8_t sc, m;
    for (int j = 0; j < 256; j += 64) {
      scale_min_k4(is + 0, scales, sc, m);
      const float d1 = d * sc, m1 = dmin * m;
      scale_min_k4(is + 1, scales, sc, m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
      q += 32;
      is += 2;
    }
  }
}

void deq_q5_k(const uint8_t* __restrict x, int64_t n, float* __restrict y) {
  const float* t = f16_table();
  for (int64_t b = 0; b < n / 256; ++b, x += 176) {
    const float d = t[load_u16(x)];
    const float dmin = t[load_u16(x + 2)];
    const uint8_t* scales = x + 4;
    const uint8_t* qh = x + 16;
    const uint8_t* ql = x + 48;
    int is = 0;
    uint8_t sc, m;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0; j < 256; j += 64) {
      scale_min_k4(is + 0, scales, sc, m);
      const float d1 = d * sc, m1 = dmin * m;
      scale_min_k4(is + 1, scales, sc, m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
      ql += 32;
      is += 2;
      u1 = static_cast<uint8_t>(u1 << 2);
      u2 = static_cast<uint8_t>(u2 << 2);
    }
  }
}

void deq_q6_k(const uint8_t* __restrict x, int64_t n, float* __restrict y) {
  const float* t = f16_table();
  for (int64_t b = 0; b < n / 256; ++b, x += 210) {
    const uint8_t* ql = x;
    const uint8_t* qh = x + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(x + 192);
    const float d = t[load_u16(x + 208)];
    for (int part = 0; part < 256; part += 128) {
      // ggml: y = d * sc[is] * q with is = l / 16; (d * sc) first, as there.
      for (int half = 0; half < 2; ++half) {
        const float s1 = d * sc[half + 0], s2 = d * sc[half + 2], s3 = d * sc[half + 4], s4 = d * sc[half + 6];
        for (int l = 16 * half; l < 16 * half + 16; ++l) {
          const int q1 = ((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
          const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
          const int q3 = ((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
          const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
          y[l + 0] = s1 * static_cast<float>(q1);
          y[l + 32] = s2 * static_cast<float>(q2);
          y[l + 64] = s3 * static_cast<float>(q3);
          y[l + 96] = s4 * static_cast<float>(q4);
        }
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

// Same as util/half.hpp f32_to_bf16 (round to nearest even, NaN stays NaN),
// written without branches so that loops over it vectorize.
inline uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const uint32_t nan = (u >> 16) | 0x40u;
  return static_cast<uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
}

void f32_to_bf16_n(const float* __restrict x, int64_t n, uint16_t* __restrict y) {
  for (int64_t i = 0; i < n; ++i) y[i] = to_bf16(x[i]);
}

using DeqFn = void (*)(const uint8_t*, int64_t, float*);

DeqFn deq_fn(DType t) {
  switch (t) {
    case DType::F32: return deq_f32;
    case DType::F16: return deq_f16;
    case DType::BF16: return deq_bf16;
    case DType::Q8_0: return deq_q8_0;
    case DType::Q4_0: return deq_q4_0;
    case DType::Q4_1: return deq_q4_1;
    case DType::Q5_0: return deq_q5_0;
    case DType::Q5_1: return deq_q5_1;
    case DType::Q4_K: return deq_q4_k;
    case DType::Q5_K: return deq_q5_k;
    case DType::Q6_K: return deq_q6_k;
  }
  return nullptr;
}

// Checks the row range against the view; returns the byte length of one row.
uint64_t check_rows(const TensorView& t, int64_t row_begin, int64_t row_end) {
  if (row_begin < 0 || row_end < row_begin || row_end > t.rows)
    throw Error(t.file + ": tensor '" + t.name + "': row range [" + std::to_string(row_begin) + ", " +
                std::to_string(row_end) + ") outside [0, " + std::to_string(t.rows) + ")");
  if (t.cols % block_elems(t.dtype) != 0)
    throw Error(t.file + ": tensor '" + t.name + "': " + std::to_string(t.cols) + " columns is not a multiple of the " +
                to_string(t.dtype) + " block size");
  const uint64_t row_bytes = storage_bytes(t.dtype, static_cast<uint64_t>(t.cols));
  if (t.data == nullptr || row_bytes * static_cast<uint64_t>(row_end) > t.nbytes)
    throw Error(t.file + ": tensor '" + t.name + "': view holds fewer bytes than its shape needs");
  return row_bytes;
}

constexpr int64_t kParallelMinElems = int64_t{1} << 20;

inline bool go_parallel(int64_t rows, int64_t cols) {
  return rows > 1 && rows * cols >= kParallelMinElems && !omp_in_parallel();
}

}  // namespace

void dequantize(DType t, const uint8_t* src, int64_t n, float* dst) {
  if (n < 0 || n % block_elems(t) != 0)
    throw Error(std::string("dequantize: ") + std::to_string(n) + " elements is not a multiple of the " +
                to_string(t) + " block size");
  deq_fn(t)(src, n, dst);
}

void convert_rows_f32(const TensorView& t, int64_t row_begin, int64_t row_end, float* dst) {
  const uint64_t row_bytes = check_rows(t, row_begin, row_end);
  const DeqFn fn = deq_fn(t.dtype);
  const int64_t cols = t.cols;
  const int64_t n = row_end - row_begin;
#pragma omp parallel for schedule(static) if (go_parallel(n, cols))
  for (int64_t r = 0; r < n; ++r)
    fn(t.data + static_cast<uint64_t>(row_begin + r) * row_bytes, cols, dst + r * cols);
}

void convert_rows_bf16(const TensorView& t, int64_t row_begin, int64_t row_end, uint16_t* dst) {
  const uint64_t row_bytes = check_rows(t, row_begin, row_end);
  const int64_t cols = t.cols;
  const int64_t n = row_end - row_begin;
  const DType dt = t.dtype;
  if (dt == DType::BF16) {
    std::memcpy(dst, t.data + static_cast<uint64_t>(row_begin) * row_bytes, static_cast<size_t>(n) * row_bytes);
    return;
  }
  const DeqFn fn = deq_fn(dt);
  // Dequantize one chunk of a row into a stack buffer, then round to bf16.
  constexpr int64_t kChunk = 1024;  // a multiple of every block size
#pragma omp parallel for schedule(static) if (go_parallel(n, cols))
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t* src = t.data + static_cast<uint64_t>(row_begin + r) * row_bytes;
    uint16_t* out = dst + r * cols;
    if (dt == DType::F32 && reinterpret_cast<uintptr_t>(src) % alignof(float) == 0) {
      f32_to_bf16_n(reinterpret_cast<const float*>(src), cols, out);
      continue;
    }
    float buf[kChunk];
    const int64_t be = block_elems(dt);
    const int64_t bb = block_bytes(dt);
    for (int64_t c = 0; c < cols; c += kChunk) {
      const int64_t m = cols - c < kChunk ? cols - c : kChunk;  // a multiple of be
      fn(src + c / be * bb, m, buf);
      f32_to_bf16_n(buf, m, out + c);
    }
  }
}

}  // namespace spectra
