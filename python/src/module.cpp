// crbm._crbm: the nanobind extension of the Python package. The library's own
// classes and functions (crbm/*.hpp) bound thinly; the estimators in
// python/crbm/*.py are written on top of these. Arrays: see arrays.hpp.
#include <nanobind/nanobind.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <deque>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "crbm/backend.hpp"
#include "crbm/data.hpp"
#include "crbm/error.hpp"
#include "crbm/train.hpp"
#include "crbm/version.hpp"

namespace nb = nanobind;

namespace crbm::python {

std::vector<const char*> split_names(const char* names) {
  static std::deque<std::string> storage;  // the names, for the life of the module
  std::vector<const char*> out;
  std::string word;
  for (const char* p = names;; ++p) {
    if (*p != ' ' && *p != '\0') {
      word += *p;
      continue;
    }
    if (!word.empty()) out.push_back(storage.emplace_back(std::move(word)).c_str());
    word.clear();
    if (*p == '\0') return out;
  }
}

}  // namespace crbm::python

NB_MODULE(_crbm, m) {
  using namespace crbm;
  m.doc() = "libcrbm bindings (use the estimators in the crbm package)";
  m.attr("__version__") = kVersionString;

  // crbm::Error is bad input, a failed check or an unavailable device: ValueError.
  static nb::exception<Error> error(m, "Error", PyExc_ValueError);
  static nb::exception<DivergenceError> divergence(m, "DivergenceError", error.ptr());
  // The translators run most recently registered first: the subclass is listed last.
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const DivergenceError& e) {
      PyErr_SetString(divergence.ptr(), e.what());
    }
  });

  m.def("cuda_available", &cuda_available,
        "True when libcrbm was built with CUDA and a GPU is visible.");
  m.def(
      "cuda_compiled",
      []() {
#ifdef CRBM_HAVE_CUDA
        return true;
#else
        return false;
#endif
      },
      "True when libcrbm was built with the CUDA backend.");

  nb::class_<Backend>(m, "Backend", "A compute backend (cpu: OpenBLAS + OpenMP; cuda).")
      .def_prop_ro("device", [](const Backend& b) { return std::string(to_string(b.device())); })
      .def("describe", &Backend::describe)
      .def_prop_rw(
          "precision", [](const Backend& b) { return std::string(to_string(b.precision())); },
          [](Backend& b, const std::string& p) { b.set_precision(parse_precision(p)); },
          "Arithmetic of the dense products (gemm): 'fp32', 'tf32' or 'bf16' (the CLI's\n"
          "--precision; set it before training starts).")
      .def("synchronize", &Backend::synchronize);
  m.def(
      "make_backend",
      [](const std::string& device, int threads) -> std::shared_ptr<Backend> {
        if (device == "cpu") return make_cpu_backend(threads);
        if (device == "cuda") return make_cuda_backend(0);
        if (device.rfind("cuda:", 0) == 0) return make_cuda_backend(std::stoi(device.substr(5)));
        throw nb::value_error(
            concat("device: expected 'cpu', 'cuda' or 'cuda:N', got '", device, "'").c_str());
      },
      nb::arg("device") = "cpu", nb::arg("threads") = 0,
      "A backend: 'cpu' (threads <= 0: all cores) or 'cuda' / 'cuda:N'.");

  m.def(
      "load_dataset",
      [](const std::string& spec, const std::string& binarize, uint64_t seed, int64_t limit) {
        LoadOptions o;
        o.binarize = parse_binarize(binarize);
        o.seed = seed;
        o.limit = limit;
        Dataset d = load_dataset(spec, o);
        nb::dict out;
        out["source"] = d.source;
        out["x"] = python::to_numpy(std::move(d.x));
        out["labels"] = d.labels;
        out["num_classes"] = d.num_classes;
        out["image_shape"] = nb::make_tuple(d.channels, d.height, d.width);
        return out;
      },
      nb::arg("spec"), nb::arg("binarize") = "none", nb::arg("seed") = 0, nb::arg("limit") = 0,
      "A dataset from a spec (mnist:DIR[:train|test], npy:FILE, builtin:bars, ... as the CLI):\n"
      "{'x': float32 (N, D), 'labels': list, 'num_classes', 'image_shape': (C, H, W), "
      "'source'}.");

  crbm::python::bind_config(m);
  crbm::python::bind_rbm(m);
  crbm::python::bind_conv(m);
  crbm::python::bind_dbn(m);
  crbm::python::bind_dbm(m);
  crbm::python::bind_softmax(m);
}
