// Probabilistic max-pooling of one block (Lee et al., ICML 2009), shared by the
// CPU ops and the CUDA kernels. A block holds n = rows*cols hidden logits I_i;
// its P*P+1 states are "unit i on" (logit I_i) and "all off" (logit 0):
//   P(h_i=1|v) = e^{I_i} / (1 + sum_j e^{I_j}),  P(pool on|v) = 1 - 1/(1 + sum_j e^{I_j})
//   log partition of the block = log(1 + sum_j e^{I_j})   (enters the free energy)
// All sums subtract m = max(0, max_j I_j) first, so no exponent overflows.
// The block's logits are read through a row stride (a block is a P x P window
// of a hidden map); up to kMaxPoolBlock elements.
#pragma once

#include <cstdint>

#include "crbm_hd.cuh"

namespace crbm::pool {

constexpr int kMaxPoolSize = 8;  // P <= 8: a block fits in registers
constexpr int kMaxPoolBlock = kMaxPoolSize * kMaxPoolSize;

struct BlockSummary {
  float max_logit;    // m = max(0, max_j I_j)
  float sum_shifted;  // e^{-m} + sum_j e^{I_j - m}  (the "off" state included)
};

// Offset of pooling block `block` (flat index over [B, K, Hp, Wp], i.e.
// ((n*K + k)*Hp + bi)*Wp + bj) in a hidden tensor [B, K, Hh, Wh] whose maps are
// Hh x Wh with Hh = P*Hp, Wh = P*Wp: the block's top-left logit.
CRBM_HD int64_t block_offset(int64_t block, int64_t pooled_height, int64_t pooled_width,
                             int64_t hidden_width, int pool) {
  const int64_t bj = block % pooled_width;
  const int64_t bi = (block / pooled_width) % pooled_height;
  const int64_t map = block / (pooled_height * pooled_width);  // n*K + k
  return map * (pooled_height * pool) * hidden_width + bi * pool * hidden_width + bj * pool;
}

// One pass over the block for its stabilised normaliser.
CRBM_HD BlockSummary block_summary(const float* logits, int64_t row_stride, int rows, int cols) {
  float m = 0.0f;
  for (int a = 0; a < rows; ++a) {
    for (int b = 0; b < cols; ++b) {
      const float l = logits[a * row_stride + b];
      m = l > m ? l : m;  // inlined on the host, unlike fmaxf
    }
  }
  float s = expf(-m);
  for (int a = 0; a < rows; ++a) {
    for (int b = 0; b < cols; ++b) s += expf(logits[a * row_stride + b] - m);
  }
  return BlockSummary{m, s};
}

// log(1 + sum_j e^{I_j}) of the block, stable.
CRBM_HD float block_log_partition(const float* logits, int64_t row_stride, int rows, int cols) {
  const BlockSummary s = block_summary(logits, row_stride, rows, cols);
  return s.max_logit + logf(s.sum_shifted);
}

// Writes P(h_i=1|v) for every unit of the block (same stride layout as the
// logits) and returns P(pool on|v) = sum_i P(h_i=1|v).
CRBM_HD float block_probs(const float* logits, int64_t row_stride, int rows, int cols, float* probs,
                          int64_t probs_stride) {
  const BlockSummary s = block_summary(logits, row_stride, rows, cols);
  const float inv = 1.0f / s.sum_shifted;
  float on = 0.0f;
  for (int a = 0; a < rows; ++a) {
    for (int b = 0; b < cols; ++b) {
      const float p = expf(logits[a * row_stride + b] - s.max_logit) * inv;
      probs[a * probs_stride + b] = p;
      on += p;
    }
  }
  return on;
}

// One multinomial draw over the block's n+1 states given u ~ U(0,1): the units
// in row-major order take consecutive slices of [0,1) of width P(h_i=1|v), the
// rest is "off". Returns the chosen unit's index a*cols+b, or -1 for "off".
// Compares u * Z with the running sum of unnormalised weights, so it needs no
// division and agrees with block_probs up to rounding.
CRBM_HD int block_choose(const float* logits, int64_t row_stride, int rows, int cols, float u) {
  const BlockSummary s = block_summary(logits, row_stride, rows, cols);
  const float target = u * s.sum_shifted;
  float cumulative = 0.0f;
  for (int a = 0; a < rows; ++a) {
    for (int b = 0; b < cols; ++b) {
      cumulative += expf(logits[a * row_stride + b] - s.max_logit);
      if (target < cumulative) return a * cols + b;
    }
  }
  return -1;
}

// Writes the binary states of the block (exactly one 1, or all zeros for "off")
// for the draw u; returns 1 when a unit is on (the pooling unit's state).
CRBM_HD float block_sample(const float* logits, int64_t row_stride, int rows, int cols, float u,
                           float* states, int64_t states_stride) {
  const int chosen = block_choose(logits, row_stride, rows, cols, u);
  for (int a = 0; a < rows; ++a) {
    for (int b = 0; b < cols; ++b)
      states[a * states_stride + b] = (a * cols + b == chosen) ? 1.0f : 0.0f;
  }
  return chosen >= 0 ? 1.0f : 0.0f;
}

}  // namespace crbm::pool
