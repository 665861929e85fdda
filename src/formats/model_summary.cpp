// The inspect report: built once as JSON, and rendered as text from it (and
// from the same helpers) so the two forms never disagree.
#include "formats/model_summary.hpp"

#include <cstdio>
#include <set>

#include "formats/mapped_model.hpp"

namespace spectra {

namespace {

constexpr WeightKind kAllKinds[] = {
    WeightKind::TokenEmbedding, WeightKind::AttnNorm, WeightKind::Q,       WeightKind::K,
    WeightKind::V,              WeightKind::O,        WeightKind::QBias,   WeightKind::KBias,
    WeightKind::VBias,          WeightKind::FfnNorm,  WeightKind::Gate,    WeightKind::Up,
    WeightKind::Down,           WeightKind::OutputNorm, WeightKind::Output,
};

// Roles present in the model, in required order.
template <class F>
void for_each_role(const Model& m, F&& f) {
  for (const auto& [kind, layer] : required_roles(m.desc()))
    if (m.has(kind, layer)) f(kind, layer, m.tensor(kind, layer));
}

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v), out;
  int n = 0;
  for (auto it = s.rbegin(); it != s.rend(); ++it) {
    if (n && n % 3 == 0 && *it != '-') out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++n;
  }
  return out;
}

std::string human_bytes(uint64_t b) {
  char buf[64];
  if (b >= (uint64_t{1} << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", b / double(uint64_t{1} << 30));
  else if (b >= (uint64_t{1} << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", b / double(uint64_t{1} << 20));
  else if (b >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  else std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  return buf;
}

std::string human_params(int64_t n) {
  char buf[64];
  if (n >= 1000000000) std::snprintf(buf, sizeof buf, "%.2fB", n / 1e9);
  else if (n >= 1000000) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else if (n >= 1000) std::snprintf(buf, sizeof buf, "%.1fK", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  return buf;
}

}  // namespace

ParamCounts count_parameters(const Model& m) {
  ParamCounts c;
  for_each_role(m, [&](WeightKind k, int, const TensorView& t) {
    switch (k) {
      case WeightKind::TokenEmbedding: c.embedding += t.numel(); break;
      case WeightKind::Q:
      case WeightKind::K:
      case WeightKind::V:
      case WeightKind::O:
      case WeightKind::QBias:
      case WeightKind::KBias:
      case WeightKind::VBias: c.attention += t.numel(); break;
      case WeightKind::Gate:
      case WeightKind::Up:
      case WeightKind::Down: c.mlp += t.numel(); break;
      case WeightKind::AttnNorm:
      case WeightKind::FfnNorm:
      case WeightKind::OutputNorm: c.norms += t.numel(); break;
      case WeightKind::Output: c.output += t.numel(); break;
    }
  });
  return c;
}

std::vector<std::pair<WeightKind, std::map<std::string, int>>> dtypes_by_kind(const Model& m) {
  std::map<WeightKind, std::map<std::string, int>> by;
  for_each_role(m, [&](WeightKind k, int, const TensorView& t) { ++by[k][to_string(t.dtype)]; });
  std::vector<std::pair<WeightKind, std::map<std::string, int>>> out;
  for (WeightKind k : kAllKinds)
    if (by.count(k)) out.emplace_back(k, by[k]);
  return out;
}

nlohmann::json summary_json(const Model& m) {
  const ModelDesc& d = m.desc();
  nlohmann::json j;
  j["name"] = d.name;
  j["architecture"] = d.architecture;
  j["format"] = d.format;
  j["layers"] = d.n_layers;
  j["hidden"] = d.hidden;
  j["heads"] = d.n_heads;
  j["kv_heads"] = d.n_kv_heads;
  j["head_dim"] = d.head_dim;
  j["gqa_group"] = d.gqa_group();
  j["ffn"] = d.ffn;
  j["vocab"] = d.vocab;
  j["max_context"] = d.max_context;
  j["rms_eps"] = d.rms_eps;
  j["tied_embeddings"] = d.tied_embeddings;
  j["qkv_bias"] = d.qkv_bias;
  j["sliding_window"] = d.sliding_window;
  j["bos_id"] = d.bos_id;
  j["eos_id"] = d.eos_id;
  j["eos_ids"] = d.eos_ids;
  j["add_bos"] = d.add_bos;
  auto& r = j["rope"];
  r["theta"] = d.rope.theta;
  r["dim"] = d.rope.dim;
  r["layout"] = to_string(d.rope_layout);
  r["scaling"] = to_string(d.rope.scaling);
  if (d.rope.scaling != RopeScalingType::None) r["factor"] = d.rope.factor;
  if (d.rope.scaling == RopeScalingType::Llama3 && d.rope.freq_divisors.empty()) {
    r["low_freq_factor"] = d.rope.low_freq_factor;
    r["high_freq_factor"] = d.rope.high_freq_factor;
    r["original_max_position"] = d.rope.original_max_position;
  }
  r["freq_divisors"] = d.rope.freq_divisors.size();

  const ParamCounts c = count_parameters(m);
  j["parameters"] = {{"embedding", c.embedding}, {"attention", c.attention}, {"mlp", c.mlp},
                     {"norms", c.norms},         {"output", c.output},       {"total", c.total()}};
  nlohmann::json dt = nlohmann::json::object();
  for (const auto& [k, types] : dtypes_by_kind(m)) dt[to_string(k)] = types;
  j["dtypes"] = dt;

  uint64_t total = 0;
  j["files"] = nlohmann::json::array();
  for (const auto& f : d.files) {
    j["files"].push_back({{"path", f.path}, {"bytes", f.bytes}});
    total += f.bytes;
  }
  j["total_bytes"] = total;

  // Tensors in the files that no role uses (e.g. rope_freqs, rotary inv_freq).
  std::set<std::pair<std::string, std::string>> used;
  for_each_role(m, [&](WeightKind, int, const TensorView& t) { used.emplace(t.file, t.name); });
  j["unused_tensors"] = nlohmann::json::array();
  for (const auto& t : m.all_tensors())
    if (!used.count({t.file, t.name})) j["unused_tensors"].push_back(t.name);
  return j;
}

std::string summary_text(const Model& m) {
  const nlohmann::json j = summary_json(m);
  std::string out;
  auto line = [&](const std::string& k, const std::string& v) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "  %-22s %s\n", k.c_str(), v.c_str());
    out += buf;
  };
  auto s = [](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };

  out += "Model\n";
  line("name", s(j["name"]));
  line("architecture", s(j["architecture"]) + " (" + s(j["format"]) + ")");
  line("layers", s(j["layers"]));
  line("hidden size", s(j["hidden"]));
  line("attention heads", s(j["heads"]) + " query, " + s(j["kv_heads"]) + " KV (GQA group " + s(j["gqa_group"]) + ")");
  line("head_dim", s(j["head_dim"]));
  line("FFN size", s(j["ffn"]));
  line("vocab", s(j["vocab"]));
  line("max context", s(j["max_context"]));
  char eps[32];
  std::snprintf(eps, sizeof eps, "%g", j["rms_eps"].get<double>());
  line("RMSNorm eps", eps);
  const auto& r = j["rope"];
  std::string rope = "theta " + s(r["theta"]) + ", dim " + s(r["dim"]) + ", " + s(r["layout"]) + " pairs, scaling " +
                     s(r["scaling"]);
  if (r.contains("factor")) rope += " x" + s(r["factor"]);
  if (r["freq_divisors"].get<size_t>() > 0) rope += " (rope_freqs tensor: " + s(r["freq_divisors"]) + " divisors)";
  line("RoPE", rope);
  line("tied embeddings", j["tied_embeddings"].get<bool>() ? "yes" : "no");
  if (j["qkv_bias"].get<bool>()) line("q/k/v biases", "yes");
  if (j["sliding_window"].get<int>() > 0) line("sliding window", s(j["sliding_window"]));
  line("BOS / EOS", s(j["bos_id"]) + " / " + s(j["eos_ids"]) + (j["add_bos"].get<bool>() ? ", BOS prepended" : ", no BOS"));

  out += "\nParameters\n";
  const auto& p = j["parameters"];
  const int64_t total = p["total"].get<int64_t>();
  for (const char* k : {"embedding", "attention", "mlp", "norms", "output", "total"}) {
    const int64_t n = p[k].get<int64_t>();
    char buf[160];
    std::snprintf(buf, sizeof buf, "%15s  %9s  %5.1f%%", with_commas(n).c_str(), human_params(n).c_str(),
                  total ? 100.0 * n / total : 0.0);
    std::string label = k;
    if (label == "output" && j["tied_embeddings"].get<bool>()) label += " (tied)";
    line(label, buf);
  }

  out += "\nStorage types\n";
  for (const auto& [kind, types] : dtypes_by_kind(m)) {  // in role order, not JSON key order
    std::string v;
    for (const auto& [name, count] : types) v += (v.empty() ? "" : ", ") + name + " x" + std::to_string(count);
    line(to_string(kind), v);
  }
  if (!j["unused_tensors"].empty()) {
    std::string v;
    for (const auto& n : j["unused_tensors"]) v += (v.empty() ? "" : ", ") + n.get<std::string>();
    line("other tensors", v);
  }

  out += "\nFiles\n";
  for (const auto& f : j["files"]) line(human_bytes(f["bytes"].get<uint64_t>()), s(f["path"]));
  if (j["files"].size() > 1) line(human_bytes(j["total_bytes"].get<uint64_t>()), "total");
  return out;
}

}  // namespace spectra
