// Numerical helpers (crbm/mathutil.hpp).
#include "crbm/mathutil.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "crbm/error.hpp"

namespace crbm {
namespace {

template <typename T>
double log_sum_exp_of(const T* x, int64_t n) {
  double m = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < n; ++i) m = std::max(m, double(x[i]));
  if (!std::isfinite(m)) return m;
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += std::exp(double(x[i]) - m);
  return m + std::log(s);
}

}  // namespace

double log_sum_exp(const double* x, int64_t n) {
  return log_sum_exp_of(x, n);
}
double log_sum_exp(const float* x, int64_t n) {
  return log_sum_exp_of(x, n);
}
double log_sum_exp(const std::vector<double>& x) {
  return log_sum_exp_of(x.data(), static_cast<int64_t>(x.size()));
}

double clamped_log_odds(double p) {
  const double q = std::min(std::max(p, 1e-3), 1.0 - 1e-3);
  return std::log(q / (1.0 - q));
}

LogWeightBand log_weight_band(const std::vector<double>& log_w) {
  CRBM_CHECK_THROW(!log_w.empty(), "the band of an estimate needs at least one weight");
  const auto m = static_cast<double>(log_w.size());
  LogWeightBand band;
  band.offset = *std::max_element(log_w.begin(), log_w.end());
  double mean = 0.0;
  for (double lw : log_w) mean += std::exp(lw - band.offset);
  mean /= m;
  double var = 0.0;
  for (double lw : log_w)
    var += (std::exp(lw - band.offset) - mean) * (std::exp(lw - band.offset) - mean);
  const double stddev = log_w.size() > 1 ? std::sqrt(var / (m - 1.0)) : 0.0;
  const double half_band = 3.0 * stddev / std::sqrt(m);
  band.log_mean = std::log(mean);
  band.log_high = std::log(mean + half_band);
  band.log_low = mean - half_band > 0.0 ? std::log(mean - half_band)
                                        : -std::numeric_limits<double>::infinity();
  return band;
}

}  // namespace crbm
