// Array exchange between Python and libcrbm without copies: any object nanobind's
// ndarray accepts (NumPy arrays, objects with __dlpack__ such as PyTorch or CuPy
// tensors) becomes a CMatRef view of its memory when it is float32, 2-D (or 1-D
// where a vector is meant), C-contiguous and on the model's device. A host array
// given to a CUDA model is uploaded (the one documented copy). Results come back
// as NumPy arrays over memory the library filled in place (CPU), or as DLPack
// arrays owning the device matrix (CUDA input on a CUDA model).
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crbm/backend.hpp"
#include "crbm/tensor.hpp"

namespace crbm::python {

namespace nb = nanobind;
using AnyArray = nb::ndarray<nb::ro>;

// The device an array lives on: "cpu", "cuda" or another DLPack device name.
Device array_device(const AnyArray& a, const char* name);

// A float32, C-contiguous view of `a` with `ndim` dimensions (2: rows x cols; 1: a
// vector as 1 x n) and, when cols >= 0, exactly `cols` columns. TypeError for the
// dtype, ValueError for the shape, the layout and the device; every message names
// `name` and what was given.
CMatRef checked_view(const AnyArray& a, const char* name, int64_t cols = -1, int ndim = 2);

// A matrix argument usable by `backend`: a view of the caller's memory when it is on
// the backend's device, else (host array, CUDA backend) a device copy held here.
class Input {
 public:
  Input(Backend& backend, const AnyArray& a, const char* name, int64_t cols = -1);
  CMatRef ref() const { return ref_; }
  operator CMatRef() const { return ref_; }      // NOLINT
  bool on_device() const { return on_device_; }  // the caller's array is device memory

 private:
  Matrix copy_;
  CMatRef ref_;
  bool on_device_ = false;
};

// A result [rows x cols] the library writes in place; finish() hands it to Python:
// NumPy (host memory, no copy), or a DLPack array owning device memory when
// `keep_on_device` (a CUDA input to a CUDA model), or NumPy after a download.
class Output {
 public:
  Output(Backend& backend, int64_t rows, int64_t cols, bool keep_on_device);
  MatRef ref() { return ref_; }
  operator MatRef() { return ref_; }  // NOLINT
  // shape: the Python shape (default {rows, cols}); its product must be rows * cols.
  nb::object finish(std::vector<size_t> shape = {});

 private:
  Backend& backend_;
  std::unique_ptr<HostTensor> host_;
  std::unique_ptr<Matrix> device_;
  MatRef ref_;
  bool keep_on_device_;
};

// f(in, out) with the GIL released, for the [N x cols] array `a` (checked and, for a
// CUDA model, uploaded as Input does) into a new [N x out_cols] result, returned as
// Output::finish gives it: (N, out_cols), or (N,) when `vector`.
template <typename F>
nb::object map_rows(Backend& backend, const AnyArray& a, const char* name, int64_t cols,
                    int64_t out_cols, F&& f, bool vector = false) {
  Input in(backend, a, name, cols);
  const int64_t rows = in.ref().rows;
  Output out(backend, rows, out_cols, in.on_device());
  {
    nb::gil_scoped_release release;
    f(in.ref(), out.ref());
  }
  if (vector) return out.finish({static_cast<size_t>(rows)});
  return out.finish();
}

// A NumPy array owning a copy-free move of `t` (shape as t.shape).
nb::object to_numpy(HostTensor&& t);
// A NumPy copy of a backend matrix (downloaded from a device).
nb::object to_numpy(const Matrix& m);
// A host tensor from a NumPy/DLPack host array (float32, C-contiguous, any ndim),
// copied (for parameters and checkpoint contents).
HostTensor to_host_tensor(const AnyArray& a, const char* name);
// The same for an optional argument (None: no tensor).
std::optional<HostTensor> to_host_tensor(const std::optional<AnyArray>& a, const char* name);

}  // namespace crbm::python
