#pragma once
// Shared by the binding files: numpy views over buffers the engine filled
// (zero-copy; the array's base is a capsule that keeps the owner alive) and
// the model wrapper. No logic beyond conversion lives here.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dissect/head_trace.hpp"
#include "engine/forward.hpp"
#include "formats/weights.hpp"
#include "observers/probe_arrays.hpp"
#include "tokenizer/tokenizer.hpp"

namespace spectra::python {

namespace py = pybind11;

// A numpy array over `data` (C order, `shape`), owned by `owner`: no copy.
template <class T>
py::array view(std::shared_ptr<const void> owner, const T* data, std::vector<py::ssize_t> shape) {
  auto* keep = new std::shared_ptr<const void>(std::move(owner));
  py::capsule base(keep, [](void* p) { delete static_cast<std::shared_ptr<const void>*>(p); });
  return py::array_t<T>(std::move(shape), data, base);
}

// The whole vector handed to numpy without a copy (moved into the owner).
template <class T>
py::array adopt(std::vector<T>&& v, std::vector<py::ssize_t> shape) {
  auto owner = std::make_shared<std::vector<T>>(std::move(v));
  const T* data = owner->data();
  return view<T>(owner, data, std::move(shape));
}

// spectra.Model: the model file, its tokenizer and the engines.
class PyModel {
 public:
  PyModel(const std::string& path, const std::string& precision, int threads, const std::string& weights);

  const ModelDesc& desc() const { return model_->desc(); }
  const Model& model() const { return *model_; }
  const std::string& path() const { return path_; }
  const Tokenizer& tokenizer() const;  // throws when the model has none
  bool has_tokenizer() const { return tok_ != nullptr; }
  engine::Engine& engine() { return *engine_; }
  engine::Engine& generation_engine();  // resident weights, made on first use
  int threads() const { return threads_; }
  engine::Precision requested_precision() const { return precision_; }

  // Text (tokenized as `spectra measure` does) or ids.
  std::vector<int32_t> ids(const py::handle& ids_or_text) const;

  // Runs f() with the GIL released and the model locked; between layers the
  // engine calls back here, the GIL is taken for a moment and a pending
  // signal (Ctrl-C) stops the pass: its Python exception (KeyboardInterrupt)
  // is raised once the engine has unwound.
  template <class F>
  auto interruptible(F&& f) -> decltype(f());

 private:
  struct Cancelled {};
  void check_signals();

  std::string path_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Tokenizer> tok_;
  std::string tok_error_;
  engine::Precision precision_;
  int threads_;
  std::unique_ptr<engine::Engine> engine_, gen_engine_;
  std::mutex mu_;
  std::function<void()> between_layers_;  // set during a call
  std::unique_ptr<py::error_already_set> pending_;
};

template <class F>
auto PyModel::interruptible(F&& f) -> decltype(f()) {
  try {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mu_);
    struct Reset {
      std::function<void()>& slot;
      ~Reset() { slot = nullptr; }
    } reset{between_layers_};
    between_layers_ = [this] { check_signals(); };
    return f();
  } catch (const Cancelled&) {
    // The GIL is held again here.
    auto e = std::move(pending_);
    if (e) throw std::move(*e);
    throw std::runtime_error("spectra: interrupted");
  }
}

// Conversions of the library's results (arrays.cpp).
py::object measure_result(ProbeArrays&& a);
py::dict trace_dict(dissect::HeadTrace&& tr);

void bind_model(py::module_& m);
void bind_arrays(py::module_& m);

}  // namespace spectra::python
