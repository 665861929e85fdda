// Names of the enums in model_desc.hpp and the sanity checks every model
// description passes before any tensor is looked at.
#include "formats/model_desc.hpp"

#include "util/error.hpp"

namespace spectra {

const char* to_string(RopeLayout l) {
  switch (l) {
    case RopeLayout::HalfSplit: return "half-split";
    case RopeLayout::Adjacent: return "adjacent";
  }
  return "?";
}

const char* to_string(RopeScalingType s) {
  switch (s) {
    case RopeScalingType::None: return "none";
    case RopeScalingType::Linear: return "linear";
    case RopeScalingType::Llama3: return "llama3";
  }
  return "?";
}

void validate(const ModelDesc& d, const std::string& source) {
  auto positive = [&](const char* field, long long v) {
    if (v <= 0) fail_field(source, field, "must be positive, found " + std::to_string(v));
  };
  positive("layers", d.n_layers);
  positive("hidden size", d.hidden);
  positive("attention heads", d.n_heads);
  positive("KV heads", d.n_kv_heads);
  positive("head_dim", d.head_dim);
  positive("FFN size", d.ffn);
  positive("vocab size", d.vocab);
  if (d.n_heads % d.n_kv_heads != 0)
    fail_field(source, "KV heads",
               std::to_string(d.n_heads) + " attention heads are not a multiple of " + std::to_string(d.n_kv_heads) +
                   " KV heads");
  if (d.head_dim % 2 != 0) fail_field(source, "head_dim", "must be even for RoPE, found " + std::to_string(d.head_dim));
  if (d.rope.dim <= 0 || d.rope.dim > d.head_dim || d.rope.dim % 2 != 0)
    fail_field(source, "rope dimension",
               "must be even and in (0, head_dim=" + std::to_string(d.head_dim) + "], found " + std::to_string(d.rope.dim));
  if (!(d.rope.theta > 0)) fail_field(source, "rope theta", "must be positive");
  if (!(d.rms_eps > 0)) fail_field(source, "rms eps", "must be positive");
  if (d.rope.scaling != RopeScalingType::None && !(d.rope.factor > 0))
    fail_field(source, "rope scaling factor", "must be positive");
  if (!d.rope.freq_divisors.empty() && static_cast<int>(d.rope.freq_divisors.size()) != d.rope.dim / 2)
    fail_field(source, "rope_freqs", "has " + std::to_string(d.rope.freq_divisors.size()) + " entries, expected rope dim / 2 = " +
                                         std::to_string(d.rope.dim / 2));
}

}  // namespace spectra
