#pragma once
// The probe interface between the forward pass and whatever consumes its
// measurements. The engine calls an Observer at fixed points; the tuple writer
// (observers/tuple_observer.hpp) is one Observer, and new metrics (effective
// attention span, norm-fixed counterfactuals, ...) are new Observers that read
// the per-head statistics and/or the layer's raw Q/K/V, without any change to
// the engine or to the code that runs it. Several observers combine with
// ObserverList. An observer that wants no statistics (wants_attention_stats()
// false) makes the kernel skip them: that is the "statistics off" run.
#include <cstdint>
#include <iterator>
#include <memory>
#include <span>
#include <vector>

#include "formats/model_desc.hpp"

namespace spectra::engine {

// Per-(layer, query head) arrays for positions pos0 .. pos0+n-1 of the window.
struct HeadProbe {
  int layer = 0, head = 0, kv_head = 0;
  int64_t pos0 = 0, n = 0;
  const int32_t* tokens = nullptr;  // n token ids (the query positions)
  const float* q_norm = nullptr;    // ‖q‖₂ after RoPE
  const float* entropy = nullptr;   // nats
  const float* sink_mass = nullptr; // attention on position 0
  const float* max_attn = nullptr;  // largest attention weight
  // Norm-vs-direction decomposition and attention budget (issue #14). With
  // s_j = q·k_j/√d the row's scores and p = softmax(s):
  const float* entropy_fixed_norm = nullptr;  // H of softmax(s·c/‖q‖), c = the head's reference norm
                                              // (mean ‖q‖ over the forward call's positions ≥ kRefNormSkip)
  const float* neg_var_score = nullptr;       // −Var_p(s) = dH/d ln‖q‖
  const float* max_score = nullptr;           // max_j s_j
  const float* logsumexp = nullptr;           // log Σ_j e^{s_j}
  const float* k_budget = nullptr;            // smallest k whose k largest p_j sum to ≥ P (exact integer;
                                              // NaN when the budget statistic is off)
};

// The reference norm c of entropy_fixed_norm leaves out the attention-sink
// positions 0 .. kRefNormSkip−1 (all positions are used when a forward call
// has no others).
inline constexpr int kRefNormSkip = 4;

// Every per-token statistic of a HeadProbe, by name, in the order of the
// tuple file's columns. Code that handles "all the statistics" (the Python
// module's arrays, ProbeArrays) loops over this list: a new HeadProbe field
// is one more line here.
struct HeadProbeField {
  const char* name;
  const float* HeadProbe::*member;
};
inline constexpr HeadProbeField kHeadProbeFields[] = {
    {"q_norm", &HeadProbe::q_norm},
    {"entropy", &HeadProbe::entropy},
    {"sink_mass", &HeadProbe::sink_mass},
    {"max_attn", &HeadProbe::max_attn},
    {"entropy_fixed_norm", &HeadProbe::entropy_fixed_norm},
    {"neg_var_score", &HeadProbe::neg_var_score},
    {"max_score", &HeadProbe::max_score},
    {"logsumexp", &HeadProbe::logsumexp},
    {"k_budget", &HeadProbe::k_budget},
};
inline constexpr int kNumHeadProbeFields = static_cast<int>(std::size(kHeadProbeFields));

// The layer's raw tensors, for observers that compute their own metrics.
// Valid only during the call.
struct LayerProbe {
  int layer = 0;
  int64_t pos0 = 0, n = 0;       // query rows
  const ModelDesc* desc = nullptr;
  const float* q = nullptr;      // [n][n_heads*head_dim], after RoPE
  const float* k = nullptr;      // [pos0+n][n_kv_heads*head_dim], after RoPE (all visible keys)
  const float* v = nullptr;      // [pos0+n][n_kv_heads*head_dim]
  const float* attn_out = nullptr;  // [n][n_heads*head_dim], before the output projection
};

class Observer {
 public:
  virtual ~Observer() = default;
  // False: the kernel computes no statistics and on_head is not called.
  virtual bool wants_attention_stats() const { return true; }
  // Called once per forward call, before the first layer.
  virtual void begin(const ModelDesc& /*desc*/, std::span<const int32_t> /*tokens*/, int64_t /*pos0*/) {}
  virtual void on_layer(const LayerProbe& /*layer*/) {}
  virtual void on_head(const HeadProbe& /*head*/) {}
  // Per-position next-token NLL (nats) for positions pos0 .. pos0+n-1 whose
  // target is inside the window (n = window − 1 for a whole window).
  virtual void on_nll(int64_t /*pos0*/, std::span<const double> /*nll*/) {}
  virtual void end() {}
};

// Fan-out to several observers (not owned).
class ObserverList : public Observer {
 public:
  void add(Observer* o) { list_.push_back(o); }
  bool wants_attention_stats() const override {
    for (auto* o : list_)
      if (o->wants_attention_stats()) return true;
    return false;
  }
  void begin(const ModelDesc& d, std::span<const int32_t> t, int64_t p) override {
    for (auto* o : list_) o->begin(d, t, p);
  }
  void on_layer(const LayerProbe& l) override {
    for (auto* o : list_) o->on_layer(l);
  }
  void on_head(const HeadProbe& h) override {
    for (auto* o : list_)
      if (o->wants_attention_stats()) o->on_head(h);
  }
  void on_nll(int64_t p, std::span<const double> n) override {
    for (auto* o : list_) o->on_nll(p, n);
  }
  void end() override {
    for (auto* o : list_) o->end();
  }

 private:
  std::vector<Observer*> list_;
};

}  // namespace spectra::engine
