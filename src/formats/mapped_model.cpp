// Role binding and shape checks shared by every model format.
#include "formats/mapped_model.hpp"

#include "util/error.hpp"

namespace spectra {

namespace {

std::string shape_string(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::vector<int64_t> logical_shape(const TensorView& v) {
  if (v.ndim <= 1) return {v.cols};
  if (v.ndim == 2) return {v.rows, v.cols};
  return {v.rows, v.cols, -1};  // never matches: more than 2 dims
}

// Which config values a role's shape derives from, for the error message.
std::string shape_reason(const ModelDesc& d, WeightKind k) {
  const std::string h = "hidden=" + std::to_string(d.hidden);
  const std::string qd = "heads=" + std::to_string(d.n_heads) + " x head_dim=" + std::to_string(d.head_dim);
  const std::string kvd = "kv_heads=" + std::to_string(d.n_kv_heads) + " x head_dim=" + std::to_string(d.head_dim);
  const std::string f = "ffn=" + std::to_string(d.ffn);
  const std::string v = "vocab=" + std::to_string(d.vocab);
  switch (k) {
    case WeightKind::TokenEmbedding:
    case WeightKind::Output: return v + ", " + h;
    case WeightKind::AttnNorm:
    case WeightKind::FfnNorm:
    case WeightKind::OutputNorm: return h;
    case WeightKind::Q:
    case WeightKind::O: return qd + ", " + h;
    case WeightKind::QBias: return qd;
    case WeightKind::K:
    case WeightKind::V: return kvd + ", " + h;
    case WeightKind::KBias:
    case WeightKind::VBias: return kvd;
    case WeightKind::Gate:
    case WeightKind::Up:
    case WeightKind::Down: return f + ", " + h;
  }
  return "";
}

// Calls f(kind, layer) for every required role, in required_roles() order.
// bind_roles() walks them without building the list: a description claiming
// 2^30 layers fails at the first missing tensor instead of allocating
// gigabytes of role names first.
template <class F>
void visit_required_roles(const ModelDesc& d, F&& f) {
  f(WeightKind::TokenEmbedding, -1);
  for (int l = 0; l < d.n_layers; ++l) {
    for (WeightKind k : {WeightKind::AttnNorm, WeightKind::Q, WeightKind::K, WeightKind::V, WeightKind::O}) f(k, l);
    if (d.qkv_bias)
      for (WeightKind k : {WeightKind::QBias, WeightKind::KBias, WeightKind::VBias}) f(k, l);
    for (WeightKind k : {WeightKind::FfnNorm, WeightKind::Gate, WeightKind::Up, WeightKind::Down}) f(k, l);
  }
  f(WeightKind::OutputNorm, -1);
  if (!d.tied_embeddings) f(WeightKind::Output, -1);
}

}  // namespace

std::vector<std::pair<WeightKind, int>> required_roles(const ModelDesc& d) {
  std::vector<std::pair<WeightKind, int>> r;
  visit_required_roles(d, [&](WeightKind k, int l) { r.emplace_back(k, l); });
  return r;
}

std::vector<int64_t> expected_shape(const ModelDesc& d, WeightKind k) {
  const int64_t q = int64_t{d.n_heads} * d.head_dim, kv = int64_t{d.n_kv_heads} * d.head_dim;
  switch (k) {
    case WeightKind::TokenEmbedding:
    case WeightKind::Output: return {d.vocab, d.hidden};
    case WeightKind::AttnNorm:
    case WeightKind::FfnNorm:
    case WeightKind::OutputNorm: return {d.hidden};
    case WeightKind::Q: return {q, d.hidden};
    case WeightKind::K:
    case WeightKind::V: return {kv, d.hidden};
    case WeightKind::O: return {d.hidden, q};
    case WeightKind::QBias: return {q};
    case WeightKind::KBias:
    case WeightKind::VBias: return {kv};
    case WeightKind::Gate:
    case WeightKind::Up: return {d.ffn, d.hidden};
    case WeightKind::Down: return {d.hidden, d.ffn};
  }
  return {};
}

void MappedModel::bind_roles(const Naming& name_of, const Lookup& find, const std::string& missing_in,
                             const std::string& config_source) {
  visit_required_roles(desc_, [&](WeightKind kind, int layer) {
    const std::string name = name_of(kind, layer);
    const TensorView* v = find(name);
    if (!v)
      fail_file(missing_in, "missing tensor '" + name + "' (" + to_string(kind) +
                                (layer >= 0 ? ", layer " + std::to_string(layer) : std::string()) + ")");
    const auto want = expected_shape(desc_, kind);
    const auto got = logical_shape(*v);
    if (want != got)
      fail_file(v->file, "tensor '" + name + "': shape " + shape_string(got) + " contradicts " + config_source +
                             ": expected " + shape_string(want) + " (" + shape_reason(desc_, kind) + ")");
    roles_.emplace(std::make_pair(kind, layer), *v);
  });
}

bool MappedModel::has(WeightKind kind, int layer) const { return roles_.count({kind, layer}) != 0; }

const TensorView& MappedModel::tensor(WeightKind kind, int layer) const {
  auto it = roles_.find({kind, layer});
  if (it == roles_.end())
    fail_file(main_file_, std::string("model has no tensor for role '") + to_string(kind) + "'" +
                              (layer >= 0 ? " in layer " + std::to_string(layer) : std::string()));
  return it->second;
}

}  // namespace spectra
