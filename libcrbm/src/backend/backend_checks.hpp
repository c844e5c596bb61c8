// What the CPU and CUDA implementations share beyond the CRBM_HD math: the
// checks only an implementation can make (the values they test live in the
// backend's memory and are read on the host there), so both refuse the same
// inputs with the same message, and the mapping of public enums to the math's.
// The argument checks proper are made once, in the public layer (backend.cpp).
// Private.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <utility>

#include "crbm/backend.hpp"
#include "crbm/error.hpp"
#include "crbm_hd.cuh"

namespace crbm::detail {

// The factory of a device's op set (ConvOps, RatingsOps): refuses a backend of another
// device, naming the factory (`what`) and the backend's device, then builds Ops(backend,
// args...).
template <class Ops, class... Args>
std::unique_ptr<Ops> make_ops_on(Device device, const char* what, Backend& backend,
                                 Args&&... args) {
  CRBM_CHECK_THROW(backend.device() == device, what, " on a ", to_string(backend.device()),
                   " backend");
  return std::make_unique<Ops>(backend, std::forward<Args>(args)...);
}

// sample_multinomial_counts: every total must be finite and >= 0; returns the
// largest (it fixes the numbering of the uniforms, r * max_total + d).
inline int64_t checked_max_total(const float* host_totals, int64_t rows) {
  int64_t max_total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float t = host_totals[r];
    CRBM_CHECK_THROW(t >= 0.0f && std::isfinite(t), "sample_multinomial_counts: total ", t,
                     " in row ", r);
    max_total = std::max<int64_t>(max_total, static_cast<int64_t>(t));
  }
  return max_total;
}

inline math::RowTerm row_term_of(RowReduce op) {
  switch (op) {
    case RowReduce::softplus_sum:
      return math::RowTerm::softplus_sum;
    case RowReduce::square_sum:
      return math::RowTerm::square_sum;
    case RowReduce::sum:
      break;
  }
  return math::RowTerm::sum;
}

}  // namespace crbm::detail
