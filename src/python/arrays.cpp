// Results of the library as numpy arrays: spectra._core.MeasureArrays (one
// window's probe, [layers, heads, T] per statistic) and the trace of one head.
#include <pybind11/stl.h>

#include <cstring>

#include "bindings.hpp"
#include "engine/probe.hpp"
#include "observers/tuple_file.hpp"

namespace spectra::python {

namespace {

struct MeasureArrays {
  std::shared_ptr<const ProbeArrays> a;

  py::array field(const std::string& name) const {
    const float* p = a->field(name);
    if (!p) throw py::key_error("no probe field '" + name + "'");
    return view<float>(a, p, {a->n_layers, a->n_heads, static_cast<py::ssize_t>(a->n)});
  }
  // The rows of tuples.npy for this window, as raw bytes (numpy views them
  // with the dtype of tuple_npy_descr()).
  py::array tuple_bytes(int32_t doc) const {
    auto rows = std::make_shared<std::vector<TupleRow>>(a->tuple_rows(doc));
    const auto* bytes = reinterpret_cast<const uint8_t*>(rows->data());
    return view<uint8_t>(rows, bytes, {static_cast<py::ssize_t>(rows->size() * sizeof(TupleRow))});
  }
};

}  // namespace

py::object measure_result(ProbeArrays&& a) {
  return py::cast(MeasureArrays{std::make_shared<const ProbeArrays>(std::move(a))});
}

py::dict trace_dict(dissect::HeadTrace&& t) {
  auto tr = std::make_shared<const dissect::HeadTrace>(std::move(t));
  const py::ssize_t n = tr->n, hd = tr->head_dim;
  py::dict d;
  d["layer"] = tr->layer;
  d["head"] = tr->head;
  d["kv_head"] = tr->kv_head;
  d["head_dim"] = tr->head_dim;
  d["rope_layout"] = to_string(tr->rope_layout);
  d["tokens"] = view<int32_t>(tr, tr->tokens.data(), {n});
  d["token_text"] = py::cast(tr->token_text);
  d["q"] = view<double>(tr, tr->q.data(), {n, hd});
  d["k"] = view<double>(tr, tr->k.data(), {n, hd});
  d["q_norm"] = view<double>(tr, tr->q_norm.data(), {n});
  d["k_norm"] = view<double>(tr, tr->k_norm.data(), {n});
  d["scores"] = view<double>(tr, tr->scores.data(), {n, n});
  d["probs"] = view<double>(tr, tr->probs.data(), {n, n});
  d["entropy"] = view<double>(tr, tr->entropy.data(), {n});
  d["sink_mass"] = view<double>(tr, tr->sink_mass.data(), {n});
  d["max_attn"] = view<double>(tr, tr->max_attn.data(), {n});
  d["argmax"] = view<int64_t>(tr, tr->argmax.data(), {n});
  d["entropy_fixed_norm"] = view<double>(tr, tr->entropy_fixed_norm.data(), {n});
  d["neg_var_score"] = view<double>(tr, tr->neg_var_score.data(), {n});
  d["max_score"] = view<double>(tr, tr->max_score.data(), {n});
  d["logsumexp"] = view<double>(tr, tr->logsumexp.data(), {n});
  d["k_budget"] = view<double>(tr, tr->k_budget.data(), {n});
  d["ref_norm"] = tr->ref_norm;
  d["budget_mass"] = tr->budget_mass;
  // Per head of the layer: [heads][n] (vectors of vectors: copied).
  auto stack = [&](const auto& rows) {
    using T = typename std::decay_t<decltype(rows)>::value_type::value_type;
    py::array_t<T> out({static_cast<py::ssize_t>(rows.size()), n});
    for (size_t h = 0; h < rows.size(); ++h) std::memcpy(out.mutable_data(h, 0), rows[h].data(), n * sizeof(T));
    return out;
  };
  d["layer_q_norm"] = stack(tr->layer_q_norm);
  d["layer_entropy"] = stack(tr->layer_entropy);
  d["layer_entropy_fixed_norm"] = stack(tr->layer_fixed_entropy);
  d["layer_neg_var_score"] = stack(tr->layer_neg_var);
  d["layer_max_score"] = stack(tr->layer_max_score);
  d["layer_logsumexp"] = stack(tr->layer_logsumexp);
  d["layer_k_budget"] = stack(tr->layer_k_budget);
  d["layer_r"] = view<double>(tr, tr->layer_r.data(), {static_cast<py::ssize_t>(tr->layer_r.size())});
  if (tr->check.ran) {
    d["engine_q_norm"] = stack(tr->engine_q_norm);
    d["engine_entropy"] = stack(tr->engine_entropy);
    d["engine_sink_mass"] = stack(tr->engine_sink);
    d["engine_max_attn"] = stack(tr->engine_max_attn);
    d["engine_entropy_fixed_norm"] = stack(tr->engine_fixed_entropy);
    d["engine_neg_var_score"] = stack(tr->engine_neg_var);
    d["engine_max_score"] = stack(tr->engine_max_score);
    d["engine_logsumexp"] = stack(tr->engine_logsumexp);
    d["engine_k_budget"] = stack(tr->engine_k_budget);
  }
  const auto& c = tr->check;
  py::dict check;
  check["ran"] = c.ran;
  check["passed"] = c.passed;
  check["tolerance"] = c.tolerance;
  check["engine_precision"] = c.engine_precision;
  check["max_q_norm_rel"] = c.max_q_norm_rel;
  check["max_entropy_abs"] = c.max_entropy_abs;
  check["max_sink_abs"] = c.max_sink_abs;
  check["max_max_attn_abs"] = c.max_max_attn_abs;
  check["max_entropy_fixed_norm_abs"] = c.max_fixed_entropy_abs;
  check["max_neg_var_score_rel"] = c.max_neg_var_rel;
  check["max_max_score_rel"] = c.max_max_score_rel;
  check["max_logsumexp_rel"] = c.max_logsumexp_rel;
  check["k_budget_rows_differing"] = c.k_budget_mismatch;
  check["k_budget_rows_ambiguous"] = c.k_budget_ambiguous;
  d["check"] = check;
  return d;
}

void bind_arrays(py::module_& m) {
  py::class_<MeasureArrays>(m, "MeasureArrays", "One window's probe as arrays (wrapped by spectra.MeasureResult)")
      .def("field", &MeasureArrays::field, py::arg("name"), "[layers, heads, T] float32 array of a probe statistic")
      .def("tuple_bytes", &MeasureArrays::tuple_bytes, py::arg("doc") = 0,
           "The tuples.npy rows of this window as bytes (dtype: tuple_npy_descr())")
      .def_property_readonly("tokens", [](const MeasureArrays& s) {
        return view<int32_t>(s.a, s.a->tokens.data(), {static_cast<py::ssize_t>(s.a->n)});
      })
      .def_property_readonly("kv_head", [](const MeasureArrays& s) {
        return view<int32_t>(s.a, s.a->kv_head.data(), {static_cast<py::ssize_t>(s.a->kv_head.size())});
      })
      .def_property_readonly("nll", [](const MeasureArrays& s) {
        return view<double>(s.a, s.a->nll.data(), {static_cast<py::ssize_t>(s.a->nll.size())});
      })
      .def_property_readonly("mean_nll", [](const MeasureArrays& s) { return s.a->mean_nll(); })
      .def_property_readonly("perplexity", [](const MeasureArrays& s) { return s.a->perplexity(); })
      .def_property_readonly("seconds", [](const MeasureArrays& s) {
        const auto& t = s.a->time;
        py::dict d;
        d["total"] = t.total;
        d["weight_conversion"] = t.convert;
        d["matmul"] = t.matmul;
        d["attention"] = t.attention;
        d["lm_head"] = t.lm_head;
        return d;
      });
  m.def("probe_fields", [] {
    py::list names;
    for (const auto& f : engine::kHeadProbeFields) names.append(f.name);
    return names;
  }, "Names of the per-token statistics of the probe, in tuple-file column order");
  m.def("tuple_npy_descr", [] { return tuple_npy_descr(); }, "The numpy dtype description of tuples.npy");
}

}  // namespace spectra::python
