// The issue-#14 statistics of a whole forward pass of the golden model
// (stories260k) against an independent NumPy reference
// (new_stats_reference.py) computed from the engine's own post-RoPE Q and K of
// every layer, captured through an Observer's on_layer. The reference
// materialises every T x T score matrix in float64. Unchunked (HF, P = 0.9) and
// in chunks that do not divide T (GGUF, P = 0.6: the reference-norm pre-pass).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "engine/forward.hpp"
#include "observers/probe_arrays.hpp"

using namespace spectra;
using namespace spectra::engine;

namespace {

const std::string kShared = SPECTRA_SHARED_DIR;

std::vector<int32_t> golden_tokens() {
  std::ifstream tf(kShared + "/golden/stories260k/greedy.tokens.txt");
  std::vector<int32_t> t;
  int32_t id;
  while (tf >> id) t.push_back(id);
  return t;
}

// ProbeArrays plus every layer's Q (all rows, gathered from the chunks) and K.
class Capture : public ProbeArrayObserver {
 public:
  Capture(ProbeArrays& a, const ModelDesc& d, int64_t T)
      : ProbeArrayObserver(a), d_(d), T_(T),
        q(size_t(d.n_layers) * T * d.n_heads * d.head_dim), k(size_t(d.n_layers) * T * d.n_kv_heads * d.head_dim) {}
  void on_layer(const LayerProbe& lp) override {
    const int64_t qd = int64_t{d_.n_heads} * d_.head_dim, kd = int64_t{d_.n_kv_heads} * d_.head_dim;
    std::memcpy(q.data() + (lp.layer * T_ + lp.pos0) * qd, lp.q, sizeof(float) * lp.n * qd);
    std::memcpy(k.data() + lp.layer * T_ * kd, lp.k, sizeof(float) * (lp.pos0 + lp.n) * kd);
  }
  const ModelDesc& d_;
  int64_t T_;
  std::vector<float> q, k;
};

void check(const std::string& model_path, float P, int64_t chunk) {
  auto m = open_model(kShared + model_path);
  const ModelDesc& d = m->desc();
  const auto toks = golden_tokens();
  ASSERT_EQ(toks.size(), 256u);
  const int64_t T = int64_t(toks.size());
  EngineOptions eo;
  eo.precision = Precision::FP32;
  eo.budget_mass = P;
  eo.prefill_chunk = chunk;
  Engine eng(*m, eo);
  ProbeArrays a;
  Capture cap(a, d, T);
  ForwardOptions fo;
  fo.observer = &cap;
  eng.forward(toks, fo);

  const auto dir = test_support::fresh_dir("new_stats_numpy");
  nlohmann::json meta = {{"layers", d.n_layers}, {"heads", d.n_heads},  {"kv_heads", d.n_kv_heads},
                         {"head_dim", d.head_dim}, {"T", T},          {"P", P},
                         {"pos0", 0},              {"fields", nlohmann::json::array()}};
  for (const auto& f : kHeadProbeFields) meta["fields"].push_back(f.name);
  test_support::write_file(dir / "meta.json", meta.dump());
  auto dump = [&](const char* name, const std::vector<float>& v) {
    test_support::write_file(dir / name, std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
  };
  dump("q.f32", cap.q);
  dump("k.f32", cap.k);
  std::vector<float> all;
  for (const auto& f : a.fields) all.insert(all.end(), f.begin(), f.end());
  ASSERT_EQ(all.size(), size_t(kNumHeadProbeFields) * d.n_layers * d.n_heads * T);
  dump("fields.f32", all);
  const auto r = test_support::run_shell(test_support::quote(SPECTRA_PYTHON) + " " +
                                         test_support::quote(std::string(SPECTRA_SOURCE_DIR) +
                                                             "/tests/engine/new_stats_reference.py") +
                                         " " + test_support::quote(dir.string()));
  std::printf("[%s P=%.2f chunk %lld]\n%s", model_path.c_str(), P, static_cast<long long>(chunk), r.output.c_str());
  EXPECT_EQ(r.status, 0) << r.output;  // a missing python / numpy fails here too
  EXPECT_NE(r.output.find("\nOK"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace

TEST(NewStatsNumpy, HfUnchunked) { check("/models/stories260k", 0.9f, 0); }

TEST(NewStatsNumpy, GgufChunkedPrepass) { check("/models/stories260k.gguf", 0.6f, 100); }
