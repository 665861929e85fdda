// spectra._core: the extension behind the Python package `spectra`
// (python/spectra/). Errors of the library (spectra::Error: a file, a field,
// an offset) become spectra.Error.
#include "bindings.hpp"
#include "spectra_version.hpp"
#include "util/error.hpp"

PYBIND11_MODULE(_core, m) {
  namespace py = pybind11;
  m.doc() = "Spectra's engine: ||q|| and attention entropy per (layer, head, token)";
  m.attr("__version__") = spectra::kVersion;
  m.attr("git_commit") = spectra::kGitCommit;
  py::register_exception<spectra::Error>(m, "Error", PyExc_RuntimeError);
  spectra::python::bind_arrays(m);
  spectra::python::bind_model(m);
}
