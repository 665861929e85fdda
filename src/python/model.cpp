// spectra.Model: a model file, its tokenizer and the engine. measure, trace
// and generate release the GIL; Ctrl-C stops them between layers.
#include <pybind11/stl.h>

#include <algorithm>

#include "bindings.hpp"
#include "engine/generate.hpp"
#include "formats/model_summary.hpp"
#include "util/error.hpp"

namespace spectra::python {

PyModel::PyModel(const std::string& path, const std::string& precision, int threads, const std::string& weights)
    : path_(path), precision_(engine::parse_precision(precision)), threads_(threads) {
  const engine::WeightsMode wmode = engine::parse_weights_mode(weights, "weights");
  model_ = open_model(path);
  try {
    tok_ = load_tokenizer(path);
  } catch (const Error& e) {
    tok_error_ = e.what();
  }
  engine::EngineOptions eo;
  eo.precision = precision_;
  eo.threads = threads_;
  eo.weights = wmode;  // as `spectra measure --weights` (default auto), so both give the same bits
  eo.progress = [this](int, int) {
    if (between_layers_) between_layers_();
  };
  engine_ = std::make_unique<engine::Engine>(*model_, eo);
}

const Tokenizer& PyModel::tokenizer() const {
  if (!tok_) throw Error(path_ + ": this model has no usable tokenizer (" + tok_error_ + "); give token ids");
  return *tok_;
}

engine::Engine& PyModel::generation_engine() {
  if (!gen_engine_) {
    engine::EngineOptions eo;
    eo.precision = precision_;
    eo.threads = threads_;
    eo.weights = engine::WeightsMode::Resident;
    eo.progress = [this](int, int) {
      if (between_layers_) between_layers_();
    };
    gen_engine_ = std::make_unique<engine::Engine>(*model_, eo);
  }
  return *gen_engine_;
}

std::vector<int32_t> PyModel::ids(const py::handle& x) const {
  if (py::isinstance<py::str>(x)) return encode_for_model(tokenizer(), desc().add_bos, x.cast<std::string>());
  std::vector<int64_t> v;
  try {
    v = x.cast<std::vector<int64_t>>();
  } catch (const py::cast_error&) {
    throw py::type_error("expected text (str) or a sequence of token ids (ints)");
  }
  std::vector<int32_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] < 0 || v[i] >= desc().vocab)
      throw py::value_error("token id " + std::to_string(v[i]) + " at position " + std::to_string(i) +
                            " is out of range: the model's vocabulary has ids 0.." + std::to_string(desc().vocab - 1));
    out[i] = static_cast<int32_t>(v[i]);
  }
  return out;
}

void PyModel::check_signals() {
  py::gil_scoped_acquire acquire;
  if (PyErr_CheckSignals() != 0) {
    pending_ = std::make_unique<py::error_already_set>();
    throw Cancelled{};
  }
}

namespace {

py::object to_python(const nlohmann::json& j) {
  return py::module_::import("json").attr("loads")(j.dump());
}

void check_context(const PyModel& m, size_t n, const char* what) {
  const int ctx = m.desc().max_context;
  if (ctx > 0 && n > static_cast<size_t>(ctx))
    throw py::value_error(std::string(what) + ": " + std::to_string(n) + " tokens exceed the model's context of " +
                          std::to_string(ctx));
}

}  // namespace

void bind_model(py::module_& m) {
  py::class_<PyModel>(m, "Model", R"(A Llama-family model: a Hugging Face folder or a .gguf file.

Model(path, precision="auto", threads=0, weights="auto"): precision "auto"
(bf16 where the CPU has it), "bf16" or "fp32"; threads 0 = all cores;
weights "auto", "resident" or "streaming", as `spectra measure --weights`
(the two modes may differ in the last bits).)")
      .def(py::init<const std::string&, const std::string&, int, const std::string&>(), py::arg("path"),
           py::arg("precision") = "auto", py::arg("threads") = 0, py::arg("weights") = "auto")
      .def_property_readonly("path", &PyModel::path)
      .def_property_readonly("desc", [](const PyModel& s) { return to_python(summary_json(s.model())); },
                             "The model's description (as `spectra inspect --json`)")
      .def_property_readonly("precision", [](PyModel& s) { return std::string(engine::to_string(s.engine().precision())); },
                             "The precision the matmuls run in (resolved)")
      .def_property_readonly("threads", [](PyModel& s) { return s.engine().threads(); })
      .def_property_readonly(
          "weights", [](PyModel& s) { return std::string(engine::to_string(s.engine().weights_mode())); },
          "How the engine holds its converted weights (resolved): resident or streaming")
      .def_property_readonly("has_tokenizer", &PyModel::has_tokenizer)
      .def("tokenize",
           [](const PyModel& s, const std::string& text, bool bos) {
             const Tokenizer& t = s.tokenizer();
             return t.encode(text, bos && t.bos_id() >= 0);
           },
           py::arg("text"), py::arg("bos") = true,
           "Token ids of TEXT; bos=True prepends the BOS id when the vocabulary has one")
      .def("decode", [](const PyModel& s, const std::vector<int32_t>& ids) { return py::bytes(s.tokenizer().decode(ids)).attr("decode")("utf-8", "replace"); },
           py::arg("ids"), "Text of token ids (invalid UTF-8 from partial tokens is replaced)")
      .def("_measure",
           [](PyModel& s, const py::object& x) {
             auto ids = s.ids(x);
             check_context(s, ids.size(), "measure");
             ProbeArrays a = s.interruptible([&] { return measure_window(s.engine(), ids); });
             return measure_result(std::move(a));
           },
           py::arg("ids_or_text"))
      .def("_trace",
           [](PyModel& s, const py::object& x, int layer, int head, double tolerance) {
             auto ids = s.ids(x);
             std::vector<std::string> text;
             if (s.has_tokenizer())  // display only, as `spectra trace`: ids the tokenizer lacks are #ID
               for (int32_t id : ids)
                 text.push_back(id < s.tokenizer().vocab_size() ? s.tokenizer().token_text(id) : "#" + std::to_string(id));
             dissect::TraceOptions opt;
             opt.layer = layer;
             opt.head = head;
             opt.tolerance = tolerance;
             opt.threads = s.threads();
             auto tr = s.interruptible([&] { return dissect::trace_head(s.model(), ids, opt, text); });
             return trace_dict(std::move(tr));
           },
           py::arg("ids_or_text"), py::arg("layer"), py::arg("head"), py::arg("tolerance") = 1e-4)
      .def("_generate",
           [](PyModel& s, const py::object& x, int n, bool stop_at_eos) {
             auto prompt = s.ids(x);
             if (prompt.empty()) throw py::value_error("generate: the prompt has no tokens");
             check_context(s, prompt.size() + static_cast<size_t>(std::max(n, 0)), "generate");
             engine::GenerateOptions go;
             go.max_new_tokens = n;
             go.stop_at_eos = stop_at_eos;
             auto r = s.interruptible([&] { return engine::generate_greedy(s.generation_engine(), prompt, go); });
             return r.tokens;
           },
           py::arg("prompt"), py::arg("n"), py::arg("stop_at_eos") = true);
}

}  // namespace spectra::python
