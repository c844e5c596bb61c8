// Argument checks shared by the CPU and CUDA backends, so both refuse the same
// inputs with the same messages. Private to the library.
#pragma once

#include "crbm/tensor.hpp"

namespace crbm::detail {

// `m` must live in `device`'s memory.
inline void check_device(CMatRef m, Device device, const char* what) {
  CRBM_CHECK_THROW(m.device == device, what, " is ", to_string(m.device), " memory, passed to the ",
                   to_string(device), " backend");
}

inline void check_same_shape(CMatRef a, CMatRef b, const char* op) {
  CRBM_CHECK_THROW(a.rows == b.rows && a.cols == b.cols, op, ": shape ", a.rows, "x", a.cols,
                   " vs ", b.rows, "x", b.cols);
}

}  // namespace crbm::detail
