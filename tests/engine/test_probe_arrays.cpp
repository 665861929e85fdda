// ProbeArrays (one window's probe as [layers][heads][T] arrays, what the
// Python module hands to numpy) against the tuple writer's rows, and the
// cancellation point: an exception from EngineOptions::progress stops the
// pass and leaves the engine usable.
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <stdexcept>

#include "engine/forward.hpp"
#include "observers/probe_arrays.hpp"
#include "observers/tuple_observer.hpp"

using namespace spectra;
using namespace spectra::engine;

namespace {

const std::string kGguf = std::string(SPECTRA_SHARED_DIR) + "/models/stories260k.gguf";

std::vector<int32_t> some_ids(int n) {
  std::vector<int32_t> ids(n);
  for (int i = 0; i < n; ++i) ids[i] = i == 0 ? 1 : 3 + (i * 37) % 500;
  return ids;
}

std::vector<TupleRow> collect(Engine& eng, const std::vector<int32_t>& ids) {
  TupleCollector col;
  ForwardOptions fo;
  fo.observer = &col;
  eng.forward(ids, fo);
  return col.rows;
}

bool same_bytes(const std::vector<TupleRow>& a, const std::vector<TupleRow>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(TupleRow)) == 0;
}

}  // namespace

TEST(ProbeArrays, SameNumbersAsTheTupleWriter) {
  auto m = open_model(kGguf);
  Engine eng(*m, {.precision = Precision::FP32, .threads = 2});
  const auto ids = some_ids(70);
  const auto rows = collect(eng, ids);
  const ProbeArrays a = measure_window(eng, ids);
  const ModelDesc& d = m->desc();
  ASSERT_EQ(a.n_layers, d.n_layers);
  ASSERT_EQ(a.n_heads, d.n_heads);
  ASSERT_EQ(a.n, 70);
  ASSERT_EQ(a.fields.size(), std::size(kHeadProbeFields));
  EXPECT_TRUE(same_bytes(a.tuple_rows(0), rows));
  // [layer][head][pos] layout, by field name.
  const TupleRow& r = rows[(size_t(3) * d.n_heads + 5) * 70 + 41];
  ASSERT_EQ(r.layer, 3);
  ASSERT_EQ(r.head, 5);
  ASSERT_EQ(r.pos, 41);
  const size_t i = (size_t(3) * d.n_heads + 5) * 70 + 41;
  EXPECT_EQ(a.field("q_norm")[i], r.q_norm);
  EXPECT_EQ(a.field("entropy")[i], r.entropy);
  EXPECT_EQ(a.field("sink_mass")[i], r.sink_mass);
  EXPECT_EQ(a.field("max_attn")[i], r.max_attn);
  EXPECT_EQ(a.field("nope"), nullptr);
  EXPECT_EQ(a.tuple_rows(7)[0].doc, 7);
  ASSERT_EQ(a.nll.size(), 69u);
  const double mean = std::accumulate(a.nll.begin(), a.nll.end(), 0.0) / 69;
  EXPECT_DOUBLE_EQ(a.mean_nll(), mean);
  EXPECT_THROW(measure_window(eng, std::vector<int32_t>{1, 100000}), Error);
  EXPECT_THROW(measure_window(eng, std::vector<int32_t>{}), Error);
}

TEST(ProbeArrays, ProgressExceptionCancelsThePass) {
  auto m = open_model(kGguf);
  int calls = 0;
  bool cancel = false;
  EngineOptions eo{.precision = Precision::FP32, .threads = 2};
  eo.progress = [&](int done, int) {
    ++calls;
    if (cancel && done == 2) throw std::runtime_error("cancelled");
  };
  Engine eng(*m, eo);
  const auto ids = some_ids(50);
  const auto before = collect(eng, ids);
  cancel = true;
  calls = 0;
  EXPECT_THROW(collect(eng, ids), std::runtime_error);
  EXPECT_EQ(calls, 2);  // stopped after the second layer
  cancel = false;
  EXPECT_TRUE(same_bytes(collect(eng, ids), before));
}
