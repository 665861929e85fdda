// Greedy decoding over the KV cache.
#include "engine/generate.hpp"

#include <chrono>

#include "util/error.hpp"

namespace spectra::engine {

namespace {
double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

double GenerateResult::decode_tokens_per_s() const {
  return decode_seconds > 0 ? static_cast<double>(tokens.size() > 0 ? tokens.size() - 1 : 0) / decode_seconds
                            : 0.0;
}

int32_t argmax(std::span<const float> v) {
  int32_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[best]) best = static_cast<int32_t>(i);
  return best;
}

GenerateResult generate_greedy(Engine& engine, std::span<const int32_t> prompt, const GenerateOptions& opt) {
  if (prompt.empty()) throw Error("generate: the prompt has no tokens");
  const ModelDesc& d = engine.desc();
  const int64_t cap = static_cast<int64_t>(prompt.size()) + std::max(0, opt.max_new_tokens);
  if (d.max_context > 0 && cap > d.max_context)
    throw Error("generate: prompt + new tokens (" + std::to_string(cap) + ") exceed the model's context (" +
                std::to_string(d.max_context) + ")");
  KVCache cache(d, cap);
  ForwardOptions fo;
  fo.last_logits_only = true;
  fo.compute_nll = false;
  GenerateResult res;
  double t0 = now();
  ForwardResult r = engine.forward(prompt, fo, &cache);
  res.prefill_seconds = now() - t0;
  t0 = now();
  for (int i = 0; i < opt.max_new_tokens; ++i) {
    const int32_t next = argmax(r.logits);
    res.tokens.push_back(next);
    if (opt.on_token) opt.on_token(next);
    if (i == 0) t0 = now();  // decode rate excludes the first token (it came from the prefill)
    if (opt.stop_at_eos && next == d.eos_id) break;
    if (i + 1 == opt.max_new_tokens) break;
    const int32_t one[1] = {next};
    r = engine.forward(one, fo, &cache);
  }
  res.decode_seconds = now() - t0;
  return res;
}

}  // namespace spectra::engine
