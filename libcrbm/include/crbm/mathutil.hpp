// Small numerical helpers shared by the models and the estimators: log-sum-exp, the
// clamped log-odds of the visible-bias initialisation, and the error band of an
// importance-weighted estimate (AIS).
#pragma once

#include <cstdint>
#include <vector>

namespace crbm {

// log(sum_i exp(x_i)), computed relative to the maximum; -inf for an empty range or
// all -inf, the maximum itself when it is +inf or NaN.
double log_sum_exp(const double* x, int64_t n);
double log_sum_exp(const float* x, int64_t n);
double log_sum_exp(const std::vector<double>& x);

// log(p / (1 - p)) with p clamped to [1e-3, 1 - 1e-3]: the visible bias that makes a
// Bernoulli unit's mean p (Hinton's practical guide, section 8).
double clamped_log_odds(double p);

// The mean of the weights w_r = exp(log_w_r) and its band mean +- 3 std(w) / sqrt(M)
// (std with M - 1, as the authors' RBM_AIS.m), on the log scale relative to
// offset = max_r log_w_r: log mean(w) = offset + log_mean, and so on. log_low is -inf when
// mean - 3 std / sqrt(M) <= 0. M = 1: std 0.
struct LogWeightBand {
  double offset = 0;
  double log_mean = 0, log_low = 0, log_high = 0;
};
LogWeightBand log_weight_band(const std::vector<double>& log_w);

}  // namespace crbm
