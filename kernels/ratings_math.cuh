// Per-entry math of the ratings RBM, shared by the CPU ops and the CUDA kernels
// (CRBM_HD): the K-way softmax of one rated item given the hidden states,
//   P(v^k = 1 | h) = exp(b^k + sum_j W^k_j h_j) / sum_l exp(b^l + sum_j W^l_j h_j),
// and the expected rating under it, sum_k value_k P(v^k = 1 | h) (the prediction rule of
// Salakhutdinov, Mnih & Hinton 2007, with h the mean-field hidden probabilities).
#pragma once

#include <cstdint>

#include "crbm_hd.cuh"

namespace crbm::ratings_math {

// The most rating levels one softmax may have (a fixed-size buffer on the device).
constexpr int kMaxLevels = 32;

// out[k] = softmax_k(bias[k] + w[k*H : k*H + H] . h); w is the item's K x H block of
// W (rows of stride H), bias its K visible biases (nullptr: 0).
CRBM_HD void level_softmax(const float* w, const float* bias, const float* h, int64_t levels,
                           int64_t hidden, float* out) {
  for (int64_t k = 0; k < levels; ++k) {
    const float* wk = w + k * hidden;
    float s = bias != nullptr ? bias[k] : 0.0f;
    for (int64_t j = 0; j < hidden; ++j) s += wk[j] * h[j];
    out[k] = s;
  }
  math::softmax_inplace(out, levels);
}

// sum_k values[k] p[k].
CRBM_HD float expected_rating(const float* p, const float* values, int64_t levels) {
  float s = 0.0f;
  for (int64_t k = 0; k < levels; ++k) s += values[k] * p[k];
  return s;
}

}  // namespace crbm::ratings_math
