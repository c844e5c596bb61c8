// Seeded random inputs for the tests and the benches (header only: the benches
// do not link the tests' support library). The same seed gives the same values.
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "crbm/tensor.hpp"

namespace crbm::testing {

// A tensor of `shape` with values uniform in [lo, hi).
inline HostTensor random_tensor(std::vector<int64_t> shape, uint32_t seed, float lo = -1.0f,
                                float hi = 1.0f) {
  HostTensor t(std::move(shape));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (float& v : t.data) v = dist(gen);
  return t;
}

// A [rows, cols] tensor of 0/1 values, each 1 with probability `p`.
inline HostTensor random_binary(int64_t rows, int64_t cols, uint32_t seed, double p = 0.3) {
  HostTensor t({rows, cols});
  std::mt19937 gen(seed);
  std::bernoulli_distribution bit(p);
  for (float& v : t.data) v = bit(gen) ? 1.0f : 0.0f;
  return t;
}

}  // namespace crbm::testing
