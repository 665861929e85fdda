#pragma once
// Matrix products through oneDNN: y[M,N] = x[M,K] · W[N,K]ᵀ (optionally += y).
// Weights are "prepared" once: converted from the model file (dequantized)
// to fp32 or bf16 and reordered into the layout the primitive prefers for a
// given M (format_tag::any), or kept plain [N][K] for use with any M.
// Primitives are created once per shape and cached. Accumulation is fp32.
#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>

#include "engine/buffer.hpp"
#include "formats/tensor.hpp"

namespace spectra::engine {

enum class WType { F32, BF16 };

dnnl::engine& cpu_engine();
dnnl::stream& cpu_stream();

struct PreparedWeight {
  int64_t n = 0, k = 0;
  WType type = WType::F32;
  int64_t layout_m = 0;  // 0: plain [N][K]; else the layout preferred for M = layout_m
  dnnl::memory::desc md;
  void* data = nullptr;  // not owned: lives in the Buffer given to prepare_weight
  bool empty() const { return data == nullptr; }
};

// Convert rows [r0, r1) of `t` (a [rows, K] matrix in the file) into `store`
// with the chosen type and layout; `scratch` holds the plain conversion when a
// reorder follows. Conversion runs in parallel over rows.
PreparedWeight prepare_weight(const TensorView& t, int64_t r0, int64_t r1, WType type, int64_t layout_m,
                              Buffer& store, Buffer& scratch);

// dst[M][N] = x[M][K]·Wᵀ, or dst += ... when accumulate. x is fp32 and is
// converted to bf16 internally for bf16 weights.
void matmul(int64_t M, const float* x, const PreparedWeight& w, float* dst, bool accumulate = false);

// Same with bf16 activations (w must be bf16).
void matmul_bf16(int64_t M, const uint16_t* x, const PreparedWeight& w, float* dst, bool accumulate = false);

// The implementation oneDNN picked for a shape (for the benchmark / logs).
const char* matmul_impl_name(int64_t M, int64_t N, int64_t K, WType type);

// Drop all cached primitives (tests).
void clear_primitive_cache();

}  // namespace spectra::engine
