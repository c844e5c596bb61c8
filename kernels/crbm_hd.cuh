// Per-element math shared by the CPU backend and the CUDA kernels. Everything
// here is CRBM_HD (host+device) and header-only, so both paths run the very
// same code: sigmoid, softplus, the sampling decision given a uniform, the
// conversion of Philox output words to uniforms and normals, softmax and
// categorical draws, the momentum step, the row-reduction terms, the
// sigmoid's backward step and the terms of an AIS step.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define CRBM_HD __host__ __device__ __forceinline__
#else
#define CRBM_HD inline
#endif

namespace crbm::math {

// sigm(x) = 1 / (1 + e^-x). For x << 0, e^-x overflows to +inf and the
// quotient is exactly 0; for x >> 0 it is 1: IEEE arithmetic makes the
// branch-free form safe, and branch-free vectorises on the CPU.
CRBM_HD float sigmoid(float x) {
  return 1.0f / (1.0f + expf(-x));
}

// softplus(x) = log(1 + e^x), stable: x + log1p(e^-x) for x > 0.
CRBM_HD float softplus(float x) {
  if (x > 0.0f) {
    return x + log1pf(expf(-x));
  }
  return log1pf(expf(x));
}

CRBM_HD double softplus(double x) {
  if (x > 0.0) {
    return x + log1p(exp(-x));
  }
  return log1p(exp(x));
}

// A Bernoulli(p) draw given u ~ U(0,1): on iff u < p.
CRBM_HD float bernoulli_from_uniform(float p, float u) {
  return u < p ? 1.0f : 0.0f;
}

// 32 random bits -> float uniform in the open interval (0, 1): the top 24 bits give
// (k + 0.5) / 2^24. For k = 2^24 - 1 that is 1 - 2^-25, which float rounds (to even) to
// exactly 1 (once in 2^24 draws: a unit of probability 1 would stay off), so that one value
// is clamped to the largest float below 1; every other draw is unchanged. A comparison, not
// fminf (an out-of-line call on the host).
CRBM_HD float uniform_from_bits(uint32_t bits) {
  const float u = (static_cast<float>(bits >> 8) + 0.5f) * (1.0f / 16777216.0f);
  return u < 1.0f ? u : 0.99999994f;
}

// Box-Muller (cosine branch): two open uniforms -> one standard normal.
CRBM_HD float normal_from_uniforms(float u1, float u2) {
  const float two_pi = 6.283185307179586f;
  return sqrtf(-2.0f * logf(u1)) * cosf(two_pi * u2);
}

}  // namespace crbm::math

namespace crbm::math {

// Softmax of n logits in place, stable (max subtracted).
CRBM_HD void softmax_inplace(float* x, int64_t n, int64_t stride = 1) {
  float m = x[0];
  // A plain comparison, not fmaxf: it inlines on the host (glibc's fmaxf is a call) and a
  // NaN in x[0] propagates instead of being skipped.
  for (int64_t i = 1; i < n; ++i) m = x[i * stride] > m ? x[i * stride] : m;
  float s = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    const float e = expf(x[i * stride] - m);
    x[i * stride] = e;
    s += e;
  }
  const float inv = 1.0f / s;
  for (int64_t i = 0; i < n; ++i) x[i * stride] *= inv;
}

// Index of the category that uniform u selects from probabilities p[0..n) by
// inverse CDF; rounding slack falls to the last category.
CRBM_HD int64_t categorical_from_uniform(const float* p, int64_t n, float u, int64_t stride = 1) {
  float cdf = 0.0f;
  for (int64_t i = 0; i < n - 1; ++i) {
    cdf += p[i * stride];
    if (u < cdf) return i;
  }
  return n - 1;
}

}  // namespace crbm::math

namespace crbm::math {

// Bit j of the configuration number `code`, as 0/1 (exact enumeration).
CRBM_HD float binary_code_bit(uint64_t code, int64_t j) {
  return float((code >> j) & 1u);
}

}  // namespace crbm::math

namespace crbm::math {

// The SGD-with-momentum step of one parameter p with velocity v and gradient g
// (L2 weight decay l2, L1 decay l1); returns the new velocity, and the caller
// sets v = returned, p += returned:
//   v' = momentum * v + lr * (g - l2 * p - l1 * sign(p))
// Without L1 the sign term is left out entirely (not multiplied by 0), so a
// -0 gradient stays -0 as it did before the backends shared this function.
CRBM_HD float momentum_velocity(float p, float v, float g, float lr, float momentum, float l2,
                                float l1) {
  float step = g - l2 * p;
  if (l1 != 0.0f) step -= l1 * (p > 0.0f ? 1.0f : (p < 0.0f ? -1.0f : 0.0f));
  return momentum * v + lr * step;
}

// Terms of the row reductions out[r] = sum_c f(x[r,c]), accumulated in double.
enum class RowTerm : int { sum = 0, softplus_sum = 1, square_sum = 2 };

CRBM_HD double row_term(float v, RowTerm op) {
  switch (op) {
    case RowTerm::softplus_sum:
      return static_cast<double>(softplus(v));
    case RowTerm::square_sum:
      return static_cast<double>(v) * v;
    case RowTerm::sum:
      break;
  }
  return static_cast<double>(v);
}

// Backpropagation through a sigmoid unit with output h: delta * h * (1 - h).
CRBM_HD float sigmoid_backward(float delta, float h) {
  return delta * (h * (1.0f - h));
}

}  // namespace crbm::math

namespace crbm::math {

// ---- AIS of a dense RBM (Backend::ais_hidden_step / ais_visible_step, eval/ais.cpp) ----

// The hidden units' part of log p_k*(v) - log p_{k-1}*(v) for one unit with pre-activation
// x, a = beta x, b = beta' x, given p = sigm(a) (the unit's probability at beta, which the
// transition samples from):
//   softplus(a) - softplus(b) = -log1p(expm1(-delta) p),  delta = a - b = (beta - beta') x.
// Late in the schedule the difference is 1e-5 of the two softplus values: subtracting them
// would leave float's rounding of values up to |x| (the unfused code lost ~3e-5 nats per
// step so); this form is accurate to a few roundings of the difference itself. For
// |delta| > 1/2, where 1 + expm1(-delta) p may cancel (or overflow), the two values are
// subtracted in double. NaN propagates through either form.
CRBM_HD double ais_softplus_difference(float x, float beta, float beta_prev, float p) {
  const float delta = (beta - beta_prev) * x;
  if (delta <= 0.5f && delta >= -0.5f) return -static_cast<double>(log1pf(expm1f(-delta) * p));
  return static_cast<double>(softplus(beta * x)) - static_cast<double>(softplus(beta_prev * x));
}

// One run's increment: (beta - beta') v'd + the row's sum of softplus differences.
CRBM_HD double ais_log_weight_increment(float beta, float beta_prev, float dv,
                                        double softplus_differences) {
  return (static_cast<double>(beta) - static_cast<double>(beta_prev)) * dv + softplus_differences;
}

// The running log-weight as a float pair (hi, lo) with value hi + lo (in double): the
// increment is added in double and the sum split back, so thousands of small increments
// are not rounded away against a large total between two host flushes.
CRBM_HD void ais_accumulate(float& hi, float& lo, double increment) {
  const double sum = (static_cast<double>(hi) + static_cast<double>(lo)) + increment;
  hi = static_cast<float>(sum);
  lo = static_cast<float>(sum - static_cast<double>(hi));
}

// The visible bias of the intermediate model, (1 - beta) b_A + beta b (the float
// operations of axpby(1 - beta, b_A, beta, b)).
CRBM_HD float ais_blended_bias(float base_bias, float bias, float beta) {
  return (1.0f - beta) * base_bias + beta * bias;
}

// The visible mean from W h: beta * [s *] wh + blended (the float operations of
// scale_add_activate(wh, beta, s, blended); sigma == nullptr: no factor).
CRBM_HD float ais_visible_mean(float wh, float beta, const float* sigma, int64_t c, float blended) {
  float v = beta * wh;
  if (sigma != nullptr) v *= sigma[c];
  return v + blended;
}

}  // namespace crbm::math
