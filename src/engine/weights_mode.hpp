#pragma once
// How the engine holds its converted weights (EngineOptions::weights):
//   Streaming: each layer's matrices are dequantized/converted and reordered
//     when the pass reaches the layer, into buffers reused by every layer
//     (one layer's worth of converted weights at a time; the conversion is
//     paid again by every forward pass).
//   Resident: every matrix (all layers and the output projection) is
//     converted once, in the plain layout, and kept (generation; multi-window
//     measure/study runs save the per-window conversion).
//   Auto: Resident when the converted model fits in memory by the rule below,
//     else Streaming.
//
// The Auto rule (decide_weights_mode):
//   Resident  iff  2 × converted_bytes + window_bytes ≤ MemAvailable
// i.e. after the window's activations (the README memory formula at the
// window length, window_activation_bytes) the converted weights may take at
// most half of the memory /proc/meminfo says is available: the other half is
// headroom for the page cache of the memory-mapped model file (which the
// conversion reads), other processes and the estimate's own error. When
// /proc/meminfo cannot be read or parsed: Streaming (the bounded-memory mode),
// with the reason.
#include <cstdint>
#include <string>
#include <string_view>

#include "formats/weights.hpp"

namespace spectra::engine {

enum class WeightsMode { Auto, Resident, Streaming };

const char* to_string(WeightsMode m);  // "auto", "resident", "streaming"
// "auto" | "resident" | "streaming"; throws spectra::Error naming `what` otherwise.
WeightsMode parse_weights_mode(const std::string& s, const std::string& what = "--weights");

// MemAvailable from the text of /proc/meminfo ("MemAvailable:   23844432 kB").
struct MemInfo {
  bool ok = false;
  uint64_t available_bytes = 0;
  std::string error;  // why not ok
};
MemInfo parse_meminfo(std::string_view text);
// Empty path: /proc/meminfo, or the file named by the environment variable
// SPECTRA_TEST_MEMINFO when set (a test hook: the CLI tests fake a machine).
MemInfo read_meminfo(const std::string& path = "");

// Bytes of every matrix converted to the working type (bf16: 2 bytes per
// element, fp32: 4): Q, K, V, O, gate, up, down of every layer and the output
// projection (the embedding matrix when tied). What resident mode keeps.
uint64_t converted_weight_bytes(const Model& model, bool bf16);

// The weights' lines of the README's anonymous-memory formula: streaming, the
// largest layer's matrices (Q, K, V, O, gate, up, down) + the largest matrix
// of the model once more (a conversion's transient; the output projection's
// chunks are no larger); resident, every converted matrix + the largest once
// more. Auto is not a mode here (pass the decided one).
uint64_t weight_memory_bound_bytes(const Model& model, bool bf16, WeightsMode mode);

// The README's anonymous-memory formula for one window, without the weights:
// T × (4·hidden + 12·kv_width + 36·heads) + T × 4·n_kv·⌈head_dim⌉₁₆
// + [budget] T × threads × (bf16 ? 528 : 400)
// + C × (8·ffn + 12·hidden + 12·q_width) + 128 MB (output chunk) + 64 MB (runtime),
// C = min(T, chunk) (chunk 0: T).
uint64_t window_activation_bytes(const ModelDesc& d, int64_t tokens, int64_t chunk, int threads, bool budget,
                                 bool bf16);

struct WeightsDecision {
  WeightsMode mode = WeightsMode::Streaming;  // Resident or Streaming, never Auto
  std::string reason;                         // one line, for logs and metadata
  uint64_t converted_bytes = 0, window_bytes = 0, available_bytes = 0;
  // The README formula for the run: weight_memory_bound_bytes(mode) +
  // window_bytes (set by the Engine; 0 when not computed).
  uint64_t memory_bound_bytes = 0;
};
// The rule above for Auto; Resident/Streaming are kept as requested (with the
// bytes in the reason).
WeightsDecision decide_weights_mode(WeightsMode requested, uint64_t converted_bytes, uint64_t window_bytes,
                                    const MemInfo& mem);

// "1.23 GB" / "456.7 MB" (decimal units).
std::string format_bytes(uint64_t b);

}  // namespace spectra::engine
