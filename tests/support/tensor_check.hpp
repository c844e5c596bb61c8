// Helpers of the tests that compare two results of the same computation (a CUDA
// backend against the CPU one, a backend op against a plain loop): seeded random
// inputs (random_data.hpp), the relative error with a floor of 1, and the skip without a GPU.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "crbm/backend.hpp"
#include "support/random_data.hpp"

// Skips the test, with the reason, where no CUDA device is visible.
#define SKIP_WITHOUT_CUDA()                                                                   \
  do {                                                                                        \
    if (!crbm::cuda_available()) {                                                            \
      GTEST_SKIP() << "no CUDA device present: cuda_available() is false (CPU-only build or " \
                      "no visible GPU)";                                                      \
    }                                                                                         \
  } while (0)

namespace crbm::testing {

// A backend matrix with the tensor's 2-D shape (HostTensor::cols() would turn a
// 0x5 tensor into 0x0).
Matrix put(Backend& backend, const HostTensor& t);

// Result of comparing `got` to the reference `want`: the max over i of
// |got - want| / max(|want|, floor), and where it is. NaN in either gives infinity.
struct Comparison {
  double max_error = 0.0;
  int64_t index = -1;
  float got = 0.0f;
  float want = 0.0f;
};
// Tensors of different sizes fail the test (and compare as infinitely far apart).
Comparison compare(const HostTensor& got, const HostTensor& want, double floor = 1.0);

// compare(got, want).max_error: the relative error with a floor of 1.
double max_rel_error(const HostTensor& got, const HostTensor& want);

}  // namespace crbm::testing
