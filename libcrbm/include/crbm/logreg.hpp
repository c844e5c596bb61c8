// Multinomial logistic regression (softmax classifier) trained by minibatch SGD
// with momentum and L2, on the Backend ops (gemm, column sums, momentum update)
// plus ConvOps::softmax_rows; used for the CDBN classification number.
//   p(y = j | x) = softmax(x W + b)_j,   W [D, K], b [1, K]
//   ascent direction per batch: dW = x' (Y - P) / B,  db = sum(Y - P) / B
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "crbm/conv.hpp"
#include "crbm/sgd.hpp"

namespace crbm {

// SgdConfig with the classifier defaults: 30 epochs, lr 0.1, momentum 0.9 throughout,
// L2 1e-4 on W.
struct LogRegConfig : SgdConfig {
  LogRegConfig() {
    epochs = 30;
    learning_rate = 0.1f;
    momentum = 0.9f;
    final_momentum = 0.9f;
    weight_decay = 1e-4f;
  }
  void validate() const;
};

class LogisticRegression {
 public:
  LogisticRegression(Backend& backend, int64_t features, int classes);

  // x [N, D] in backend memory; labels in [0, classes). progress(epoch, mean
  // cross-entropy of the epoch's batches) after each epoch (optional).
  void fit(CMatRef x, const std::vector<int32_t>& labels, const LogRegConfig& config,
           const std::function<void(int, double)>& progress = {});
  // out [N, K] = class probabilities.
  void predict_proba(CMatRef x, MatRef out) const;
  std::vector<int32_t> predict(CMatRef x) const;
  // Fraction of rows whose arg-max class differs from the label.
  double error_rate(CMatRef x, const std::vector<int32_t>& labels) const;

  int64_t features() const { return features_; }
  int classes() const { return classes_; }
  Matrix& weights() { return weights_; }
  Matrix& bias() { return bias_; }

 private:
  Backend* backend_;
  std::unique_ptr<ConvOps> ops_;  // softmax_rows
  int64_t features_;
  int classes_;
  Matrix weights_, bias_;
};

}  // namespace crbm
