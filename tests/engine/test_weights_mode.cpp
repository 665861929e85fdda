// The weights mode (engine/weights_mode.hpp): /proc/meminfo parsing, the
// Auto rule at its boundary, the converted-bytes count against what resident
// mode really keeps, and the golden model's tuples measured streaming and
// resident. The two are NOT bit-identical in general: streaming lays a
// layer's weights out for the window's M rows, resident keeps the plain
// layout, and oneDNN may pick kernels that round differently (on this
// AVX2 machine: identical for M <= 100, a few ulps apart for M = 256). Both
// stay within the golden tolerances (test_golden.cpp checks each mode against
// llama2.c); here the difference is bounded and counted, which is why a
// study's fingerprint holds the resolved mode (study_plan.hpp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "engine/forward.hpp"
#include "engine/layer_weights.hpp"
#include "engine/weights_mode.hpp"
#include "observers/tuple_observer.hpp"
#include "util/error.hpp"

using namespace spectra;
using namespace spectra::engine;

namespace {

const std::string kShared = SPECTRA_SHARED_DIR;
const std::string kSmol = std::string(SPECTRA_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";

const char* kMeminfo =
    "MemTotal:       32768000 kB\n"
    "MemFree:         1000000 kB\n"
    "MemAvailable:   23844432 kB\n"
    "Buffers:          123456 kB\n";

}  // namespace

TEST(WeightsMode, NamesRoundTripAndBadNameIsAClearError) {
  for (auto m : {WeightsMode::Auto, WeightsMode::Resident, WeightsMode::Streaming})
    EXPECT_EQ(parse_weights_mode(to_string(m)), m);
  try {
    parse_weights_mode("always", "--weights");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--weights: expected auto, resident or streaming (got 'always')"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(parse_weights_mode("Resident"), Error);
  EXPECT_THROW(parse_weights_mode(""), Error);
}

TEST(WeightsMode, MeminfoParsesMemAvailable) {
  MemInfo m = parse_meminfo(kMeminfo);
  ASSERT_TRUE(m.ok) << m.error;
  EXPECT_EQ(m.available_bytes, uint64_t{23844432} * 1024);
  // Tabs, a final line without newline, CRLF.
  m = parse_meminfo("MemTotal: 1 kB\r\nMemAvailable:\t\t 7 kB\r");
  ASSERT_TRUE(m.ok) << m.error;
  EXPECT_EQ(m.available_bytes, 7u * 1024);
  // This machine's own file.
  m = read_meminfo();
  EXPECT_TRUE(m.ok) << m.error;
  EXPECT_GT(m.available_bytes, 0u);
}

TEST(WeightsMode, MalformedMeminfoMeansStreamingWithAReason) {
  struct Case {
    const char* text;
    const char* why;
  };
  const Case cases[] = {
      {"", "no MemAvailable line"},
      {"MemTotal: 100 kB\nMemFree: 50 kB\n", "no MemAvailable line"},
      {"MemAvailable: lots kB\n", "not a number"},
      {"MemAvailable: -5 kB\n", "not a number"},
      {"MemAvailable: 100 MB\n", "unknown unit 'MB'"},
      {"MemAvailable: 100\n", "unknown unit ''"},
      {"MemAvailable: 99999999999999999999999 kB\n", "not a number"},
      {"MemAvailable: 18446744073709551615 kB\n", "out of range"},
      {" MemAvailable: 100 kB\n", "no MemAvailable line"},
      {"\0\0\0", "no MemAvailable line"},
  };
  for (const auto& c : cases) {
    MemInfo m = parse_meminfo(c.text);
    EXPECT_FALSE(m.ok) << c.text;
    EXPECT_NE(m.error.find(c.why), std::string::npos) << c.text << " -> " << m.error;
    WeightsDecision d = decide_weights_mode(WeightsMode::Auto, 1000, 1000, m);
    EXPECT_EQ(d.mode, WeightsMode::Streaming);
    EXPECT_NE(d.reason.find("available memory unknown"), std::string::npos) << d.reason;
    EXPECT_NE(d.reason.find(c.why), std::string::npos) << d.reason;
  }
  // An unreadable file.
  MemInfo m = read_meminfo("/nonexistent/meminfo");
  EXPECT_FALSE(m.ok);
  EXPECT_NE(m.error.find("/nonexistent/meminfo: cannot be read"), std::string::npos) << m.error;
  WeightsDecision d = decide_weights_mode(WeightsMode::Auto, 1, 1, m);
  EXPECT_EQ(d.mode, WeightsMode::Streaming);
  EXPECT_NE(d.reason.find("/nonexistent/meminfo"), std::string::npos) << d.reason;
}

TEST(WeightsMode, AutoRuleAtItsBoundary) {
  auto mem = [](uint64_t avail) {
    MemInfo m;
    m.ok = true;
    m.available_bytes = avail;
    return m;
  };
  // Resident iff 2·converted + window <= available.
  const uint64_t c = 1000, w = 300;
  EXPECT_EQ(decide_weights_mode(WeightsMode::Auto, c, w, mem(2 * c + w)).mode, WeightsMode::Resident);
  EXPECT_EQ(decide_weights_mode(WeightsMode::Auto, c, w, mem(2 * c + w - 1)).mode, WeightsMode::Streaming);
  EXPECT_EQ(decide_weights_mode(WeightsMode::Auto, c, w, mem(2 * c + w + 1)).mode, WeightsMode::Resident);
  EXPECT_EQ(decide_weights_mode(WeightsMode::Auto, c + 1, w, mem(2 * c + w + 1)).mode, WeightsMode::Streaming);
  // The window alone exceeds the memory; nothing available; no overflow near the top.
  EXPECT_EQ(decide_weights_mode(WeightsMode::Auto, 0, w, mem(w - 1)).mode, WeightsMode::Streaming);
  EXPECT_EQ(decide_weights_mode(WeightsMode::Auto, 0, 0, mem(0)).mode, WeightsMode::Resident);
  EXPECT_EQ(decide_weights_mode(WeightsMode::Auto, 1, 0, mem(1)).mode, WeightsMode::Streaming);
  const uint64_t big = ~uint64_t{0};
  EXPECT_EQ(decide_weights_mode(WeightsMode::Auto, big / 2, 1, mem(big)).mode, WeightsMode::Resident);
  EXPECT_EQ(decide_weights_mode(WeightsMode::Auto, big / 2 + 1, 0, mem(big)).mode, WeightsMode::Streaming);
  // The reason states the bytes and the comparison.
  WeightsDecision d = decide_weights_mode(WeightsMode::Auto, 2'000'000'000, 500'000'000, mem(4'400'000'000));
  EXPECT_EQ(d.mode, WeightsMode::Streaming);
  EXPECT_NE(d.reason.find("2 x 2.00 GB + window 500.0 MB > MemAvailable 4.40 GB"), std::string::npos) << d.reason;
  d = decide_weights_mode(WeightsMode::Auto, 2'000'000'000, 500'000'000, mem(4'500'000'000));
  EXPECT_EQ(d.mode, WeightsMode::Resident);
  EXPECT_NE(d.reason.find("<= MemAvailable 4.50 GB"), std::string::npos) << d.reason;
  // Forced modes ignore the memory (and need no meminfo).
  EXPECT_EQ(decide_weights_mode(WeightsMode::Resident, big, big, MemInfo{}).mode, WeightsMode::Resident);
  EXPECT_EQ(decide_weights_mode(WeightsMode::Streaming, 0, 0, mem(big)).mode, WeightsMode::Streaming);
  EXPECT_NE(decide_weights_mode(WeightsMode::Resident, 5, 0, MemInfo{}).reason.find("requested"), std::string::npos);
}

TEST(WeightsMode, ConvertedBytesIsWhatResidentModeKeeps) {
  auto model = open_model(kShared + "/models/stories260k");
  for (bool bf16 : {false, true}) {
    LayerWeights lw(*model, bf16 ? WType::BF16 : WType::F32, true);
    const uint64_t predicted = converted_weight_bytes(*model, bf16);
    // Each buffer is rounded up to 64 bytes: 7 per layer and the output matrix.
    const uint64_t slack = 64 * (7 * static_cast<uint64_t>(model->desc().n_layers) + 1);
    EXPECT_LE(predicted, lw.resident_bytes());
    EXPECT_LE(lw.resident_bytes(), predicted + slack);
  }
  // The engine's own decision for an explicit request and for Auto.
  EngineOptions eo;
  eo.weights = WeightsMode::Resident;
  Engine r(*model, eo);
  EXPECT_EQ(r.weights_mode(), WeightsMode::Resident);
  eo.weights = WeightsMode::Streaming;
  Engine s(*model, eo);
  EXPECT_EQ(s.weights_mode(), WeightsMode::Streaming);
  eo.weights = WeightsMode::Auto;
  Engine a(*model, eo);
  EXPECT_NE(a.weights_mode(), WeightsMode::Auto);
  EXPECT_NE(a.weights_decision().reason.find("auto:"), std::string::npos) << a.weights_decision().reason;
  // stories260k's converted weights are ~1 MB: resident on any machine that runs the tests.
  if (read_meminfo().ok) {
    EXPECT_EQ(a.weights_mode(), WeightsMode::Resident) << a.weights_decision().reason;
  }
}

namespace {

struct Measured {
  std::vector<TupleRow> rows;
  std::vector<double> nll;
  std::vector<float> logits;
};

// Windows of several lengths through one engine (as a study does), with
// `chunk` rows per prefill chunk.
std::vector<Measured> measure_windows(const Model& m, WeightsMode mode, Precision p, int64_t chunk,
                                      const std::vector<std::vector<int32_t>>& windows) {
  EngineOptions eo;
  eo.precision = p;
  eo.weights = mode;
  eo.prefill_chunk = chunk;
  Engine eng(m, eo);
  EXPECT_EQ(eng.weights_mode(), mode);
  std::vector<Measured> out;
  for (const auto& w : windows) {
    TupleCollector col;
    ForwardOptions fo;
    fo.observer = &col;
    fo.keep_logits = true;
    auto r = eng.forward(w, fo);
    out.push_back({std::move(col.rows), r.nll, r.logits});
  }
  return out;
}

// Number of values that differ in their bits (NaN == NaN with the same bits).
template <class T>
size_t bit_differences(const std::vector<T>& a, const std::vector<T>& b) {
  EXPECT_EQ(a.size(), b.size());
  size_t n = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) n += std::memcmp(&a[i], &b[i], sizeof(T)) != 0;
  return n;
}

template <class T>
double max_abs_diff(const std::vector<T>& a, const std::vector<T>& b) {
  double e = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) e = std::max(e, std::abs(double(a[i]) - double(b[i])));
  return e;
}

// Bits that differ between the modes are counted and printed; the values must
// agree to well within the golden tolerances.
void compare_modes(const Model& m, Precision p, int64_t chunk, const std::vector<std::vector<int32_t>>& windows,
                   const std::string& label) {
  auto s = measure_windows(m, WeightsMode::Streaming, p, chunk, windows);
  auto r = measure_windows(m, WeightsMode::Resident, p, chunk, windows);
  for (size_t w = 0; w < windows.size(); ++w) {
    const size_t dr = bit_differences(s[w].rows, r[w].rows), dn = bit_differences(s[w].nll, r[w].nll),
                 dl = bit_differences(s[w].logits, r[w].logits);
    double e_qn = 0, e_H = 0, e_sink = 0, e_lse = 0;
    ASSERT_EQ(s[w].rows.size(), r[w].rows.size());
    for (size_t i = 0; i < s[w].rows.size(); ++i) {
      const TupleRow &x = s[w].rows[i], &y = r[w].rows[i];
      ASSERT_TRUE(x.layer == y.layer && x.head == y.head && x.pos == y.pos && x.token == y.token);
      e_qn = std::max(e_qn, std::abs(double(x.q_norm) - y.q_norm) / std::max(1e-12, std::abs(double(x.q_norm))));
      e_H = std::max(e_H, std::abs(double(x.entropy) - y.entropy));
      e_sink = std::max(e_sink, std::abs(double(x.sink_mass) - y.sink_mass));
      e_lse = std::max(e_lse, std::abs(double(x.logsumexp) - y.logsumexp) / std::max(1.0, std::abs(double(x.logsumexp))));
    }
    const double e_nll = max_abs_diff(s[w].nll, r[w].nll), e_lg = max_abs_diff(s[w].logits, r[w].logits);
    std::printf("[weights %s, %s, chunk %lld, window %zu: %zu tokens] bits differ in %zu of %zu tuple rows, %zu nll, "
                "%zu logits; max diff q_norm %.2g (rel), entropy %.2g, nll %.2g, logits %.2g\n",
                label.c_str(), to_string(resolve_precision(p)), static_cast<long long>(chunk), w, windows[w].size(),
                dr, s[w].rows.size(), dn, dl, e_qn, e_H, e_nll, e_lg);
    // The fp32 golden tolerances (test_golden.cpp), between the two modes.
    const double tol = resolve_precision(p) == Precision::BF16 ? 10 : 1;  // bf16 rounds the activations too
    EXPECT_LE(e_qn, 1e-4 * tol) << label << " window " << w;
    EXPECT_LE(e_H, 1e-4 * tol) << label << " window " << w;
    EXPECT_LE(e_sink, 1e-4 * tol) << label << " window " << w;
    EXPECT_LE(e_lse, 1e-4 * tol) << label << " window " << w;
    EXPECT_LE(e_nll, 1e-3 * tol) << label << " window " << w;
    EXPECT_LE(e_lg, 1e-3 * tol) << label << " window " << w;
  }
}

std::vector<int32_t> golden_tokens() {
  std::vector<int32_t> t;
  std::ifstream in(kShared + "/golden/stories260k/greedy.tokens.txt");
  int32_t id;
  while (in >> id) t.push_back(id);
  return t;
}

}  // namespace

TEST(WeightsMode, GoldenModelStreamingAndResidentAgree) {
  const auto g = golden_tokens();
  ASSERT_EQ(g.size(), 256u);
  // Windows of several lengths through one engine, as a study measures them.
  const std::vector<std::vector<int32_t>> windows = {g, {g.begin(), g.begin() + 100}, {g.begin(), g.begin() + 17},
                                                     {g.begin() + 3, g.begin() + 256}};
  for (const char* path : {"/models/stories260k", "/models/stories260k.gguf"}) {
    auto m = open_model(kShared + path);
    std::vector<Precision> precisions = {Precision::FP32};
    if (cpu_has_bf16()) precisions.push_back(Precision::BF16);
    for (Precision p : precisions)
      for (int64_t chunk : {int64_t{4096}, int64_t{64}}) compare_modes(*m, p, chunk, windows, path);
  }
}

TEST(WeightsMode, SmolLM2StreamingAndResidentAgree) {
  if (!std::filesystem::exists(kSmol)) GTEST_SKIP() << "default model missing: " << kSmol;
  auto m = open_model(kSmol);
  std::vector<int32_t> w(200);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int32_t>((i * 7919 + 13) % 49152);
  compare_modes(*m, Precision::Auto, 128, {w, {w.begin(), w.begin() + 37}}, "smollm2");
}
