// Linear support vector machine on host features through liblinear (Fan et al., JMLR 2008;
// Debian liblinear-dev), for the CDBN classification number (Lee et al. 2009 use a linear
// SVM on the pooled features). L2-regularised L2-loss (squared hinge) classification:
//   min_w  1/2 |w|^2 + C sum_i max(0, 1 - y_i w'x_i)^2        (x_i with a constant 1 appended
//                                                               when bias: the bias is
//                                                               regularised too, as liblinear)
// Multi-class: one-vs-rest, K binary machines, class = argmax_k w_k'x (liblinear's scheme;
// two classes: one machine). The weights are copied out of liblinear's model after training,
// so prediction is a dense product here and no liblinear type appears in this header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crbm/tensor.hpp"

namespace crbm {

struct LinearSvmConfig {
  double C = 1.0;        // liblinear's default (-c 1)
  double epsilon = 0.1;  // stopping tolerance (liblinear's default for both solvers below)
  bool bias = true;      // append a constant-1 feature (liblinear -B 1)
  bool dual = true;      // solver -s 1 (dual coordinate descent, liblinear's default) or
                         // -s 2 (primal trust-region Newton)
  uint64_t seed = 1;     // liblinear draws its coordinate order from C rand(): srand(seed)
  // Throws crbm::Error "invalid linear SVM configuration: C = -1 (must be > 0)".
  void validate() const;
  std::string to_json() const;
};

class LinearSvm {
 public:
  // features [N x D] (host, row-major), labels [N] (any int32 values, >= 2 distinct).
  // Exact zeros are left out of liblinear's sparse rows (same solution, less memory:
  // about 16 bytes per non-zero). Throws crbm::Error on shape or label mismatch.
  static LinearSvm train(const HostTensor& features, const std::vector<int32_t>& labels,
                         const LinearSvmConfig& config = {});

  // decision values [N x K]: w_k'x + b_k per class (K = classes(); for two classes the
  // second column is the negation of the first, as liblinear's single machine).
  HostTensor decision_values(const HostTensor& features) const;
  std::vector<int32_t> predict(const HostTensor& features) const;
  // Fraction of rows whose predicted label differs from `labels`.
  double error_rate(const HostTensor& features, const std::vector<int32_t>& labels) const;

  int64_t num_features() const { return num_features_; }
  int classes() const { return static_cast<int>(labels_.size()); }
  const std::vector<int32_t>& labels() const { return labels_; }  // class k's label
  // Weights [D x K] (row-major) and biases [K] of the K one-vs-rest machines.
  const std::vector<double>& weights() const { return weights_; }
  const std::vector<double>& biases() const { return biases_; }

 private:
  LinearSvm() = default;
  int64_t num_features_ = 0;
  std::vector<int32_t> labels_;
  std::vector<double> weights_, biases_;
};

}  // namespace crbm
