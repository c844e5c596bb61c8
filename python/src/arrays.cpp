#include "arrays.hpp"

#include <cstring>
#include <string>
#include <utility>

namespace crbm::python {
namespace {

std::string dtype_name(nb::dlpack::dtype d) {
  using Code = nb::dlpack::dtype_code;
  static const std::pair<Code, const char*> kinds[] = {
      {Code::Int, "int"},       {Code::UInt, "uint"},       {Code::Float, "float"},
      {Code::Bfloat, "bfloat"}, {Code::Complex, "complex"}, {Code::Bool, "bool"}};
  const char* kind = "?";
  for (const auto& [code, text] : kinds) {
    if (static_cast<Code>(d.code) == code) kind = text;
  }
  return std::string(kind) + std::to_string(d.bits);
}

std::string shape_text(const AnyArray& a) {
  std::string s = "(";
  for (size_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

}  // namespace

Device array_device(const AnyArray& a, const char* name) {
  if (a.device_type() == nb::device::cpu::value) return Device::cpu;
  if (a.device_type() == nb::device::cuda::value) return Device::cuda;
  throw nb::value_error(concat(name, ": arrays on DLPack device type ", a.device_type(),
                               " are not supported (cpu or cuda)")
                            .c_str());
}

CMatRef checked_view(const AnyArray& a, const char* name, int64_t cols, int ndim) {
  if (a.dtype() != nb::dtype<float>()) {
    throw nb::type_error(
        concat(name, ": expected a float32 array, got ", dtype_name(a.dtype())).c_str());
  }
  if (static_cast<int>(a.ndim()) != ndim) {
    throw nb::value_error(
        concat(name, ": expected a ", ndim, "-D array, got shape ", shape_text(a)).c_str());
  }
  const int64_t rows = ndim == 2 ? static_cast<int64_t>(a.shape(0)) : 1;
  const int64_t n = static_cast<int64_t>(a.shape(ndim - 1));
  if (cols >= 0 && n != cols) {
    throw nb::value_error(
        concat(name, ": expected ", cols, " columns, got shape ", shape_text(a)).c_str());
  }
  // C order: unit stride along the last axis, row stride = cols (axes of size 1 may
  // carry any stride).
  const bool last_ok = n <= 1 || a.stride(ndim - 1) == 1;
  const bool rows_ok = ndim == 1 || rows <= 1 || a.stride(0) == n;
  if (!last_ok || !rows_ok) {
    throw nb::value_error(concat(name, ": expected a C-contiguous array (shape ", shape_text(a),
                                 "); use numpy.ascontiguousarray or .contiguous()")
                              .c_str());
  }
  const Device dev = array_device(a, name);
  return CMatRef{static_cast<const float*>(a.data()), rows, n, dev};
}

Input::Input(Backend& backend, const AnyArray& a, const char* name, int64_t cols) {
  const CMatRef view = checked_view(a, name, cols);
  if (view.device == backend.device()) {
    ref_ = view;
    on_device_ = view.device == Device::cuda;
    return;
  }
  if (view.device == Device::cuda) {
    throw nb::value_error(
        concat(name, ": the array is on a CUDA device but the model is on the cpu").c_str());
  }
  copy_ = Matrix(backend, view.rows, view.cols);
  if (view.size() > 0) backend.upload(view.data, copy_.ref());
  ref_ = copy_.cref();
}

Output::Output(Backend& backend, int64_t rows, int64_t cols, bool keep_on_device)
    : backend_(backend), keep_on_device_(keep_on_device) {
  if (backend.device() == Device::cpu) {
    host_ = std::make_unique<HostTensor>(std::vector<int64_t>{rows, cols});
    ref_ = host_ref(*host_);
  } else {
    device_ = std::make_unique<Matrix>(backend, rows, cols);
    ref_ = device_->ref();
  }
}

nb::object Output::finish(std::vector<size_t> shape) {
  if (shape.empty()) shape = {static_cast<size_t>(ref_.rows), static_cast<size_t>(ref_.cols)};
  if (device_ && keep_on_device_) {
    backend_.synchronize();
    Matrix* m = device_.release();
    nb::capsule owner(m, [](void* p) noexcept { delete static_cast<Matrix*>(p); });
    nb::ndarray<float> arr(m->data(), shape.size(), shape.data(), owner, nullptr,
                           nb::dtype<float>(), nb::device::cuda::value, 0);
    return nb::cast(arr, nb::rv_policy::reference);
  }
  if (device_) {
    host_ = std::make_unique<HostTensor>(std::vector<int64_t>{ref_.rows, ref_.cols});
    if (ref_.size() > 0) backend_.download(device_->cref(), host_->data.data());
    device_.reset();
  }
  HostTensor t = std::move(*host_);
  t.shape.assign(shape.begin(), shape.end());
  return to_numpy(std::move(t));
}

nb::object to_numpy(HostTensor&& t) {
  auto* owned = new HostTensor(std::move(t));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<HostTensor*>(p); });
  std::vector<size_t> shape(owned->shape.begin(), owned->shape.end());
  nb::ndarray<nb::numpy, float> arr(owned->data.data(), shape.size(), shape.data(), owner);
  return nb::cast(arr, nb::rv_policy::reference);
}

nb::object to_numpy(const Matrix& m) {
  HostTensor t({m.rows(), m.cols()});
  if (m.size() > 0) m.backend().download(m.cref(), t.data.data());
  return to_numpy(std::move(t));
}

HostTensor to_host_tensor(const AnyArray& a, const char* name) {
  if (a.dtype() != nb::dtype<float>()) {
    throw nb::type_error(
        concat(name, ": expected a float32 array, got ", dtype_name(a.dtype())).c_str());
  }
  if (array_device(a, name) != Device::cpu) {
    throw nb::value_error(concat(name, ": expected a host (cpu) array").c_str());
  }
  std::vector<int64_t> shape;
  int64_t expect = 1;
  bool contiguous = true;
  for (size_t i = a.ndim(); i-- > 0;) {
    if (a.shape(i) > 1 && a.stride(i) != expect) contiguous = false;
    expect *= static_cast<int64_t>(a.shape(i));
  }
  if (!contiguous) {
    throw nb::value_error(concat(name, ": expected a C-contiguous array").c_str());
  }
  for (size_t i = 0; i < a.ndim(); ++i) shape.push_back(static_cast<int64_t>(a.shape(i)));
  HostTensor t(shape);
  if (t.numel() > 0) std::memcpy(t.data.data(), a.data(), sizeof(float) * t.numel());
  return t;
}

std::optional<HostTensor> to_host_tensor(const std::optional<AnyArray>& a, const char* name) {
  if (!a) return std::nullopt;
  return to_host_tensor(*a, name);
}

}  // namespace crbm::python
