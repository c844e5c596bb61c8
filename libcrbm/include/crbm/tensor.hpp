// Host tensors (for I/O, datasets, checkpoints) and views of backend memory.
//
// HostTensor: a dense row-major float32 array in host memory with a shape.
// MatRef / CMatRef: non-owning row-major (rows x cols) views of memory that
// belongs to one backend (Device says whose). Rows are contiguous, so a range
// of rows (a minibatch) is again a view.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "crbm/error.hpp"

namespace crbm {

enum class Device { cpu, cuda };

inline const char* to_string(Device d) {
  return d == Device::cpu ? "cpu" : "cuda";
}

struct HostTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;

  HostTensor() = default;
  explicit HostTensor(std::vector<int64_t> s, float value = 0.0f)
      : shape(std::move(s)), data(static_cast<size_t>(count(shape)), value) {}

  static int64_t count(const std::vector<int64_t>& s) {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    return n;
  }
  int64_t numel() const { return static_cast<int64_t>(data.size()); }
  int64_t dim(size_t i) const { return shape.at(i); }
  // Rows x cols view of a tensor as a matrix: first axis is rows, the rest columns.
  int64_t rows() const { return shape.empty() ? 1 : shape[0]; }
  int64_t cols() const { return shape.empty() ? 1 : numel() / std::max<int64_t>(shape[0], 1); }
  std::string shape_string() const {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
    return s + "]";
  }
};

struct CMatRef;

// Mutable view: rows x cols floats at `data`, row-major with leading dimension cols.
struct MatRef {
  float* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  Device device = Device::cpu;

  int64_t size() const { return rows * cols; }
  MatRef row_range(int64_t first, int64_t count) const {
    CRBM_CHECK_THROW(first >= 0 && count >= 0 && first + count <= rows, "row range [", first, ", ",
                     first + count, ") outside a matrix of ", rows, " rows");
    return MatRef{data + first * cols, count, cols, device};
  }
};

// Read-only view.
struct CMatRef {
  const float* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  Device device = Device::cpu;

  CMatRef() = default;
  CMatRef(const float* d, int64_t r, int64_t c, Device dev)
      : data(d), rows(r), cols(c), device(dev) {}
  CMatRef(const MatRef& m)
      : data(m.data), rows(m.rows), cols(m.cols), device(m.device) {}  // NOLINT

  int64_t size() const { return rows * cols; }
  CMatRef row_range(int64_t first, int64_t count) const {
    CRBM_CHECK_THROW(first >= 0 && count >= 0 && first + count <= rows, "row range [", first, ", ",
                     first + count, ") outside a matrix of ", rows, " rows");
    return CMatRef{data + first * cols, count, cols, device};
  }
};

// Views of host memory.
inline MatRef host_ref(HostTensor& t) {
  return MatRef{t.data.data(), t.rows(), t.cols(), Device::cpu};
}
inline CMatRef host_ref(const HostTensor& t) {
  return CMatRef{t.data.data(), t.rows(), t.cols(), Device::cpu};
}

}  // namespace crbm
