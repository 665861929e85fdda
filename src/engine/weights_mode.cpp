// The weights mode: names, /proc/meminfo, the converted and per-window byte
// counts, and the Auto rule (weights_mode.hpp).
#include "engine/weights_mode.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

#include "util/error.hpp"

namespace spectra::engine {

const char* to_string(WeightsMode m) {
  switch (m) {
    case WeightsMode::Auto: return "auto";
    case WeightsMode::Resident: return "resident";
    case WeightsMode::Streaming: return "streaming";
  }
  return "?";
}

WeightsMode parse_weights_mode(const std::string& s, const std::string& what) {
  if (s == "auto") return WeightsMode::Auto;
  if (s == "resident") return WeightsMode::Resident;
  if (s == "streaming") return WeightsMode::Streaming;
  throw Error(what + ": expected auto, resident or streaming (got '" + s + "')");
}

MemInfo parse_meminfo(std::string_view text) {
  MemInfo m;
  constexpr std::string_view key = "MemAvailable:";
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.substr(0, key.size()) != key) continue;
    line.remove_prefix(key.size());
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    uint64_t kb = 0;
    auto r = std::from_chars(line.data(), line.data() + line.size(), kb);
    if (r.ec != std::errc() || r.ptr == line.data()) {
      m.error = "MemAvailable is not a number";
      return m;
    }
    std::string_view unit(r.ptr, static_cast<size_t>(line.data() + line.size() - r.ptr));
    while (!unit.empty() && (unit.front() == ' ' || unit.front() == '\t')) unit.remove_prefix(1);
    while (!unit.empty() && (unit.back() == ' ' || unit.back() == '\t' || unit.back() == '\r')) unit.remove_suffix(1);
    if (unit != "kB") {
      m.error = "MemAvailable has an unknown unit '" + std::string(unit.substr(0, 16)) + "' (expected kB)";
      return m;
    }
    if (kb > std::numeric_limits<uint64_t>::max() / 1024) {
      m.error = "MemAvailable is out of range";
      return m;
    }
    m.ok = true;
    m.available_bytes = kb * 1024;
    return m;
  }
  m.error = "no MemAvailable line";
  return m;
}

MemInfo read_meminfo(const std::string& path_in) {
  std::string path = path_in;
  if (path.empty()) {
    const char* test = std::getenv("SPECTRA_TEST_MEMINFO");
    path = test && *test ? test : "/proc/meminfo";
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    MemInfo m;
    m.error = path + ": cannot be read";
    return m;
  }
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > (size_t{1} << 20)) break;  // /proc/meminfo is a few KB
  }
  MemInfo m = parse_meminfo(text);
  if (!m.ok) m.error = path + ": " + m.error;
  return m;
}

uint64_t converted_weight_bytes(const Model& model, bool bf16) {
  const uint64_t esz = bf16 ? 2 : 4;
  auto bytes = [&](const TensorView& t) {
    return static_cast<uint64_t>(t.rows) * static_cast<uint64_t>(t.cols) * esz;
  };
  uint64_t b = bytes(model.output_weight());
  const WeightKind mats[] = {WeightKind::Q,    WeightKind::K,  WeightKind::V,   WeightKind::O,
                             WeightKind::Gate, WeightKind::Up, WeightKind::Down};
  for (int l = 0; l < model.desc().n_layers; ++l)
    for (WeightKind k : mats) b += bytes(model.tensor(k, l));
  return b;
}

uint64_t weight_memory_bound_bytes(const Model& model, bool bf16, WeightsMode mode) {
  const uint64_t esz = bf16 ? 2 : 4;
  auto bytes = [&](const TensorView& t) {
    return static_cast<uint64_t>(t.rows) * static_cast<uint64_t>(t.cols) * esz;
  };
  uint64_t largest = bytes(model.output_weight()), largest_layer = 0, all = largest;
  const WeightKind mats[] = {WeightKind::Q,    WeightKind::K,  WeightKind::V,   WeightKind::O,
                             WeightKind::Gate, WeightKind::Up, WeightKind::Down};
  for (int l = 0; l < model.desc().n_layers; ++l) {
    uint64_t layer = 0;
    for (WeightKind k : mats) {
      const uint64_t b = bytes(model.tensor(k, l));
      layer += b;
      largest = std::max(largest, b);
    }
    largest_layer = std::max(largest_layer, layer);
    all += layer;
  }
  return (mode == WeightsMode::Resident ? all : largest_layer) + largest;
}

uint64_t window_activation_bytes(const ModelDesc& d, int64_t tokens, int64_t chunk, int threads, bool budget,
                                 bool bf16) {
  const uint64_t T = static_cast<uint64_t>(std::max<int64_t>(tokens, 0));
  const uint64_t C = chunk > 0 ? std::min<uint64_t>(T, static_cast<uint64_t>(chunk)) : T;
  const uint64_t hidden = static_cast<uint64_t>(d.hidden), heads = static_cast<uint64_t>(d.n_heads),
                 kvw = static_cast<uint64_t>(d.n_kv_heads) * static_cast<uint64_t>(d.head_dim),
                 qw = heads * static_cast<uint64_t>(d.head_dim), ffn = static_cast<uint64_t>(d.ffn);
  // Residual stream, one layer's K and V, the attention kernel's copies of K
  // and V (fp32: V's rows padded to a multiple of 16 dimensions), statistics.
  uint64_t b = T * (4 * hidden + 12 * kvw + 36 * heads);
  b += T * 4 * static_cast<uint64_t>(d.n_kv_heads) * static_cast<uint64_t>((d.head_dim + 15) / 16 * 16);
  if (budget) b += T * static_cast<uint64_t>(std::max(threads, 1)) * (bf16 ? 528 : 400);
  b += C * (8 * ffn + 12 * hidden + 12 * qw);
  b += (uint64_t{128} << 20) + (uint64_t{64} << 20);
  return b;
}

std::string format_bytes(uint64_t b) {
  char buf[32];
  if (b >= 1000000000ull) std::snprintf(buf, sizeof buf, "%.2f GB", static_cast<double>(b) / 1e9);
  else std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(b) / 1e6);
  return buf;
}

WeightsDecision decide_weights_mode(WeightsMode requested, uint64_t converted_bytes, uint64_t window_bytes,
                                    const MemInfo& mem) {
  WeightsDecision d;
  d.converted_bytes = converted_bytes;
  d.window_bytes = window_bytes;
  d.available_bytes = mem.ok ? mem.available_bytes : 0;
  const std::string need = "converted weights " + format_bytes(converted_bytes);
  if (requested == WeightsMode::Resident) {
    d.mode = WeightsMode::Resident;
    d.reason = "requested (" + need + " kept)";
    return d;
  }
  if (requested == WeightsMode::Streaming) {
    d.mode = WeightsMode::Streaming;
    d.reason = "requested (one layer converted at a time; " + need + " in all)";
    return d;
  }
  if (!mem.ok) {
    d.mode = WeightsMode::Streaming;
    d.reason = "auto: available memory unknown (" + mem.error + "); streaming keeps memory bounded";
    return d;
  }
  // 2·converted + window ≤ available, without overflow.
  const uint64_t avail = mem.available_bytes;
  const bool fits = window_bytes <= avail && converted_bytes <= (avail - window_bytes) / 2;
  d.mode = fits ? WeightsMode::Resident : WeightsMode::Streaming;
  d.reason = "auto: " + need + (fits ? " fit" : " do not fit") + " (rule: 2 x " + format_bytes(converted_bytes) +
             " + window " + format_bytes(window_bytes) + (fits ? " <= " : " > ") + "MemAvailable " +
             format_bytes(avail) + ")";
  return d;
}

}  // namespace spectra::engine
