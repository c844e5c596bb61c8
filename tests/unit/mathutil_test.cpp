// The shared numerical helpers (crbm/mathutil.hpp): log-sum-exp, the clamped log-odds of
// the visible-bias initialisation, and the AIS error band (std with M - 1).
#include "crbm/mathutil.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "crbm/error.hpp"

namespace crbm {
namespace {

TEST(MathUtil, LogSumExpIsStableAndHandlesInfinities) {
  const std::vector<double> x = {1000.0, 1000.0 + std::log(3.0)};
  EXPECT_NEAR(log_sum_exp(x), 1000.0 + std::log(4.0), 1e-12);
  const float f[3] = {0.0f, 0.0f, 0.0f};
  EXPECT_NEAR(log_sum_exp(f, 3), std::log(3.0), 1e-12);
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(log_sum_exp(std::vector<double>{}), -inf);
  EXPECT_EQ(log_sum_exp(std::vector<double>{-inf, -inf}), -inf);
  EXPECT_NEAR(log_sum_exp(std::vector<double>{-inf, 2.0}), 2.0, 1e-15);
}

TEST(MathUtil, ClampedLogOddsClampsAwayFromZeroAndOne) {
  EXPECT_DOUBLE_EQ(clamped_log_odds(0.5), 0.0);
  EXPECT_NEAR(clamped_log_odds(0.25), std::log(1.0 / 3.0), 1e-15);
  EXPECT_DOUBLE_EQ(clamped_log_odds(0.0), std::log(1e-3 / (1.0 - 1e-3)));
  EXPECT_DOUBLE_EQ(clamped_log_odds(1.0), -clamped_log_odds(0.0));
}

TEST(MathUtil, LogWeightBandUsesTheSampleStandardDeviation) {
  const std::vector<double> log_w = {std::log(1.0), std::log(2.0), std::log(6.0)};
  const LogWeightBand b = log_weight_band(log_w);
  // w = 1, 2, 6: mean 3, sample std sqrt(((-2)^2 + 1 + 9) / 2) = sqrt(7), band 3 sqrt(7)/sqrt(3).
  const double half = 3.0 * std::sqrt(7.0) / std::sqrt(3.0);
  EXPECT_NEAR(b.offset + b.log_mean, std::log(3.0), 1e-12);
  EXPECT_NEAR(b.offset + b.log_high, std::log(3.0 + half), 1e-12);
  EXPECT_EQ(b.log_low, -std::numeric_limits<double>::infinity());  // 3 - half < 0
  const LogWeightBand tight = log_weight_band({10.0, 10.0 + 1e-3});
  EXPECT_GT(tight.log_low, -std::numeric_limits<double>::infinity());
  EXPECT_LT(tight.log_low, tight.log_mean);
  EXPECT_GT(tight.log_high, tight.log_mean);
  const LogWeightBand one = log_weight_band({5.0});
  EXPECT_DOUBLE_EQ(one.offset + one.log_mean, 5.0);
  EXPECT_DOUBLE_EQ(one.log_low, one.log_mean);
  EXPECT_THROW(log_weight_band({}), Error);
}

}  // namespace
}  // namespace crbm
