// The liblinear-backed linear SVM (crbm/linear_svm.hpp): separable synthetic classes are
// learned without error (two and several classes, arbitrary label values), a noisy
// overlapping case beats the majority baseline while not fitting every point, predictions
// follow the decision values, and bad input fails with a clear message.
#include "crbm/linear_svm.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "crbm/error.hpp"

namespace crbm {
namespace {

// n rows per class around well-separated centres (class c at +4 on axis c), unit noise.
void blobs(int classes, int per_class, int dims, double spread, uint32_t seed, HostTensor& x,
           std::vector<int32_t>& y, int32_t label_offset = 0) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, spread);
  x = HostTensor({static_cast<int64_t>(classes) * per_class, dims});
  y.clear();
  for (int c = 0; c < classes; ++c) {
    for (int i = 0; i < per_class; ++i) {
      const int64_t r = static_cast<int64_t>(y.size());
      for (int d = 0; d < dims; ++d) {
        x.data[r * dims + d] = static_cast<float>((d == c ? 4.0 : 0.0) + noise(rng));
      }
      y.push_back(c * 3 + label_offset);  // labels 7, 10, 13, ...: not 0..K-1
    }
  }
}

TEST(LinearSvm, SeparableMultiClassIsLearnedExactly) {
  HostTensor x, xt;
  std::vector<int32_t> y, yt;
  blobs(4, 60, 6, 0.5, 1, x, y, 7);
  blobs(4, 40, 6, 0.5, 2, xt, yt, 7);
  const LinearSvm svm = LinearSvm::train(x, y);
  EXPECT_EQ(svm.classes(), 4);
  EXPECT_EQ(svm.num_features(), 6);
  std::vector<int32_t> labels = svm.labels();
  std::sort(labels.begin(), labels.end());
  EXPECT_EQ(labels, (std::vector<int32_t>{7, 10, 13, 16}));
  EXPECT_EQ(svm.error_rate(x, y), 0.0);
  EXPECT_EQ(svm.error_rate(xt, yt), 0.0);
  // Predictions are the arg-max of the decision values.
  const HostTensor scores = svm.decision_values(xt);
  const std::vector<int32_t> predicted = svm.predict(xt);
  for (int64_t r = 0; r < xt.rows(); ++r) {
    const float* s = scores.data.data() + r * 4;
    EXPECT_EQ(predicted[r], svm.labels()[std::max_element(s, s + 4) - s]);
  }
}

TEST(LinearSvm, TwoClassesUseOneMachine) {
  HostTensor x;
  std::vector<int32_t> y;
  blobs(2, 50, 3, 0.5, 3, x, y);
  const LinearSvm svm = LinearSvm::train(x, y);
  ASSERT_EQ(svm.classes(), 2);
  EXPECT_EQ(svm.error_rate(x, y), 0.0);
  const HostTensor scores = svm.decision_values(x);
  for (int64_t r = 0; r < x.rows(); ++r) {
    EXPECT_FLOAT_EQ(scores.data[r * 2 + 1], -scores.data[r * 2]);
  }
  // Weights point from class 0's centre (axis 0) towards class 1's (axis 1) or back.
  const std::vector<double>& w = svm.weights();  // [D x 2]
  EXPECT_GT(std::abs(w[0 * 2] - w[1 * 2]), 0.5);
}

TEST(LinearSvm, OverlappingClassesBeatTheMajorityBaselineWithoutFittingEveryPoint) {
  // Two overlapping classes, 70/30: the majority baseline errs on 30%; a linear machine does
  // better but (heavy overlap) cannot be perfect on the training set.
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0.0, 1.0);
  const int n = 400, dims = 2;
  HostTensor x({n, dims});
  std::vector<int32_t> y(n);
  for (int r = 0; r < n; ++r) {
    y[r] = r < 280 ? 0 : 1;
    const double shift = y[r] == 0 ? -0.75 : 0.75;
    x.data[r * dims] = static_cast<float>(shift + noise(rng));
    x.data[r * dims + 1] = static_cast<float>(noise(rng));
  }
  const double majority_error = 120.0 / n;
  LinearSvmConfig config;
  config.C = 0.5;
  const LinearSvm svm = LinearSvm::train(x, y, config);
  const double error = svm.error_rate(x, y);
  EXPECT_LT(error, majority_error - 0.05) << "error " << error;
  EXPECT_GT(error, 0.05) << "overlapping classes fitted exactly: " << error;
  // The primal solver reaches the same decisions on nearly every row.
  config.dual = false;
  config.epsilon = 0.01;
  const LinearSvm primal = LinearSvm::train(x, y, config);
  const std::vector<int32_t> a = svm.predict(x), b = primal.predict(x);
  int differ = 0;
  for (int r = 0; r < n; ++r) differ += a[r] != b[r];
  EXPECT_LE(differ, 4);
}

TEST(LinearSvm, SameSeedSameModel) {
  HostTensor x;
  std::vector<int32_t> y;
  blobs(3, 30, 4, 1.5, 9, x, y);
  const LinearSvm a = LinearSvm::train(x, y);
  const LinearSvm b = LinearSvm::train(x, y);
  EXPECT_EQ(a.weights(), b.weights());
  EXPECT_EQ(a.biases(), b.biases());
}

TEST(LinearSvm, BadInputFailsWithAClearMessage) {
  HostTensor x({4, 2}, 1.0f);
  auto message = [](const auto& call) {
    try {
      call();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("<no error>");
  };
  EXPECT_NE(message([&] {
              LinearSvm::train(x, {0, 1, 0});
            }).find("3 labels for 4"),
            std::string::npos);
  EXPECT_NE(message([&] {
              LinearSvm::train(x, {1, 1, 1, 1});
            }).find("at least 2 classes"),
            std::string::npos);
  LinearSvmConfig bad;
  bad.C = -1;
  EXPECT_NE(message([&] {
              LinearSvm::train(x, {0, 1, 0, 1}, bad);
            }).find("C = -1"),
            std::string::npos);
  HostTensor nan_x = x;
  nan_x.data[3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NE(message([&] {
              LinearSvm::train(nan_x, {0, 1, 0, 1});
            }).find("row 1, column 1"),
            std::string::npos);
  const LinearSvm svm = LinearSvm::train(x, {0, 1, 0, 1});
  EXPECT_NE(message([&] {
              svm.predict(HostTensor({2, 3}));
            }).find("2 features"),
            std::string::npos);
}

}  // namespace
}  // namespace crbm
