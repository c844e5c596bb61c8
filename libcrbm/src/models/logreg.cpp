// Softmax regression by minibatch SGD with momentum (equations in logreg.hpp).
// Targets are one-hot rows gathered with the same permutation as the inputs.
#include "crbm/logreg.hpp"

#include <cmath>

#include "crbm/train.hpp"

namespace crbm {

void LogRegConfig::validate() const {
  validate_sgd("logistic regression");
}

LogisticRegression::LogisticRegression(Backend& backend, int64_t features, int classes)
    : backend_(&backend), ops_(make_conv_ops(backend)), features_(features), classes_(classes) {
  if (features < 1 || classes < 2) {
    CRBM_FAIL("logistic regression needs >= 1 feature and >= 2 classes (got ", features, ", ",
              classes, ")");
  }
  weights_ = Matrix(backend, features, classes);
  bias_ = Matrix(backend, 1, classes);
  backend.fill(weights_, 0.0f);
  backend.fill(bias_, 0.0f);
}

void LogisticRegression::predict_proba(CMatRef x, MatRef out) const {
  CRBM_CHECK_THROW(x.cols == features_ && out.rows == x.rows && out.cols == classes_,
                   "logistic regression: x ", x.rows, "x", x.cols, ", out ", out.rows, "x",
                   out.cols, " for ", features_, " features and ", classes_, " classes");
  backend_->gemm(false, false, 1.0f, x, weights_, 0.0f, out);
  backend_->scale_add_activate(out, 1.0f, CMatRef{}, bias_, Activation::linear);
  ops_->softmax_rows(out);
}

void LogisticRegression::fit(CMatRef x, const std::vector<int32_t>& labels,
                             const LogRegConfig& config,
                             const std::function<void(int, double)>& progress) {
  config.validate();
  const int64_t n = x.rows;
  CRBM_CHECK_THROW(int64_t(labels.size()) == n, "logistic regression: ", labels.size(),
                   " labels for ", n, " rows");
  HostTensor one_hot({n, classes_}, 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    if (labels[i] < 0 || labels[i] >= classes_) {
      CRBM_FAIL("logistic regression: label ", labels[i], " of row ", i, " outside [0, ", classes_,
                ")");
    }
    one_hot.data[i * classes_ + labels[i]] = 1.0f;
  }
  Matrix targets = Matrix::from_host(*backend_, one_hot);
  const int64_t b = std::min(config.batch_size, n);
  // Each epoch gathers the shuffled inputs and targets once into device copies and takes
  // the minibatches as row views of them (the order of a per-batch gather). The loss
  // keeps the probability of each row's true class on the device (p_true [N x 1]) and is
  // summed on the host once per epoch: no host round trip inside an update.
  Matrix xs(*backend_, n, features_), ys(*backend_, n, classes_), probs(*backend_, b, classes_);
  Matrix true_probs, picked;
  if (progress) {
    true_probs = Matrix(*backend_, n, 1);
    picked = Matrix(*backend_, b, classes_);
  }
  Matrix grad_w(*backend_, features_, classes_), grad_b(*backend_, 1, classes_);
  Matrix vel_w(*backend_, features_, classes_), vel_b(*backend_, 1, classes_);
  backend_->fill(vel_w, 0.0f);
  backend_->fill(vel_b, 0.0f);
  int64_t updates = 0;
  for (int epoch = 0; epoch < config.epochs; ++epoch) {
    const std::vector<int32_t> order = shuffled_indices(n, config.seed, uint64_t(epoch));
    backend_->gather_rows(x, order, xs);
    backend_->gather_rows(targets, order, ys);
    for (int64_t first = 0; first < n; first += b) {
      const int64_t rows = std::min(b, n - first);
      const CMatRef xr = xs.rows_view(first, rows), yr = ys.rows_view(first, rows);
      const MatRef pr = probs.rows_view(0, rows);
      predict_proba(xr, pr);
      if (progress) {
        // p[r, y_r] = sum_c onehot[r, c] p[r, c] (exact: one non-zero term).
        const MatRef pick = picked.rows_view(0, rows);
        backend_->copy(pr, pick);
        backend_->multiply(yr, pick);
        backend_->row_reduce(pick, RowReduce::sum, true_probs.rows_view(first, rows));
      }
      backend_->axpby(1.0f, yr, -1.0f, pr);  // Y - P
      const float inv = 1.0f / float(rows);
      backend_->gemm(true, false, inv, xr, pr, 0.0f, grad_w);
      backend_->column_sums(pr, inv, 0.0f, grad_b);
      const StepRates rates = step_rates(config, epoch, updates);
      momentum_step(*backend_, weights_, vel_w, grad_w, rates, config, Decay::weights);
      momentum_step(*backend_, bias_, vel_b, grad_b, rates, config, Decay::none);
      ++updates;
    }
    double loss = 0.0;
    if (progress) {
      // Cross-entropy of the epoch, summed in the order of the updates.
      for (const float p : true_probs.download().data) loss -= std::log(std::max(p, 1e-30f));
    }
    if (!backend_->all_finite(weights_)) {
      CRBM_FAIL("logistic regression diverged in epoch ", epoch + 1,
                " (weights NaN/Inf); lower the learning rate (", config.learning_rate, ")");
    }
    if (progress) progress(epoch + 1, loss / double(n));
  }
}

std::vector<int32_t> LogisticRegression::predict(CMatRef x) const {
  std::vector<int32_t> out(size_t(x.rows));
  constexpr int64_t kChunk = 2000;
  Matrix probs(*backend_, std::min<int64_t>(kChunk, std::max<int64_t>(x.rows, 1)), classes_);
  for (int64_t first = 0; first < x.rows; first += kChunk) {
    const int64_t rows = std::min(kChunk, x.rows - first);
    predict_proba(x.row_range(first, rows), probs.rows_view(0, rows));
    const HostTensor p = probs.download();
    for (int64_t r = 0; r < rows; ++r) {
      int best = 0;
      for (int c = 1; c < classes_; ++c) {
        if (p.data[r * classes_ + c] > p.data[r * classes_ + best]) best = c;
      }
      out[size_t(first + r)] = best;
    }
  }
  return out;
}

double LogisticRegression::error_rate(CMatRef x, const std::vector<int32_t>& labels) const {
  CRBM_CHECK_THROW(int64_t(labels.size()) == x.rows, "error_rate: ", labels.size(), " labels for ",
                   x.rows, " rows");
  if (x.rows == 0) return 0.0;
  const std::vector<int32_t> predicted = predict(x);
  int64_t wrong = 0;
  for (size_t i = 0; i < labels.size(); ++i) wrong += predicted[i] != labels[i];
  return double(wrong) / double(labels.size());
}

}  // namespace crbm
