#pragma once
// One window measured into arrays: every HeadProbe statistic (the list
// engine::kHeadProbeFields) as a contiguous [layers][heads][T] float array,
// plus the per-position NLL. The same observer interface and the same probe
// as the tuple writer; the Python module hands these buffers to numpy without
// a copy. tuple_rows() gives the rows tuples.npy would hold for this window
// (through append_head_rows, the tuple writer's own conversion).
//
//   engine::Engine eng(*model, {});
//   ProbeArrays a = measure_window(eng, ids);
//   const float* H = a.field("entropy");   // [layer][head][pos]
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "engine/forward.hpp"
#include "engine/probe.hpp"
#include "observers/tuple.hpp"

namespace spectra {

struct ProbeArrays {
  int n_layers = 0, n_heads = 0;
  int64_t n = 0;                            // tokens (T)
  std::vector<int32_t> tokens;              // [T]
  std::vector<int32_t> kv_head;             // [heads]
  std::vector<std::vector<float>> fields;   // kHeadProbeFields order, each [layers * heads * T]
  std::vector<double> nll;                  // [T − 1], nats
  engine::ForwardTimings time;

  double mean_nll() const;                  // NaN when T < 2
  double perplexity() const;
  // The array of a field by name (nullptr when there is no such field).
  const float* field(std::string_view name) const;
  // The rows of tuples.npy for this window as document `doc`, in the
  // contract's order (layer, head, pos).
  std::vector<TupleRow> tuple_rows(int32_t doc = 0) const;
};

// Fills a ProbeArrays from the probe of one forward call over a whole window.
class ProbeArrayObserver : public engine::Observer {
 public:
  explicit ProbeArrayObserver(ProbeArrays& out) : out_(out) {}
  void begin(const ModelDesc& d, std::span<const int32_t> tokens, int64_t pos0) override;
  void on_head(const engine::HeadProbe& h) override;
  void on_nll(int64_t pos0, std::span<const double> nll) override;

 private:
  ProbeArrays& out_;
};

// One instrumented forward pass over `tokens` (validated first: an id outside
// the vocabulary throws spectra::Error naming it).
ProbeArrays measure_window(engine::Engine& engine, std::span<const int32_t> tokens);

}  // namespace spectra
