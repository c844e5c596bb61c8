// Linear SVM through liblinear (crbm/linear_svm.hpp): dense host rows become liblinear's
// sparse rows (index 1..D, exact zeros left out, the bias as feature D+1 when asked), the
// trained weights are copied out, and prediction is argmax_k (w_k'x + b_k) here.
#include "crbm/linear_svm.hpp"

#include <linear.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "crbm/error.hpp"
#include "train/config_check.hpp"

namespace crbm {
namespace {

void quiet(const char*) {}

struct ModelDeleter {
  void operator()(model* m) const { free_and_destroy_model(&m); }
};

}  // namespace

void LinearSvmConfig::validate() const {
  const detail::ConfigCheck check("linear SVM");
  check.fail_if(!(C > 0.0) || !std::isfinite(C), "C", C, "must be > 0 and finite");
  check.fail_if(!(epsilon > 0.0) || !std::isfinite(epsilon), "epsilon", epsilon,
                "must be > 0 and finite");
}

std::string LinearSvmConfig::to_json() const {
  nlohmann::ordered_json j;
  j["solver"] = dual ? "L2R_L2LOSS_SVC_DUAL" : "L2R_L2LOSS_SVC";
  j["C"] = C;
  j["epsilon"] = epsilon;
  j["bias"] = bias;
  j["seed"] = seed;
  return j.dump();
}

LinearSvm LinearSvm::train(const HostTensor& features, const std::vector<int32_t>& labels,
                           const LinearSvmConfig& config) {
  config.validate();
  const int64_t n = features.rows();
  const int64_t d = features.cols();
  if (features.shape.size() != 2 || n < 1 || d < 1) {
    CRBM_FAIL("linear SVM: features must be [N x D] with N, D >= 1, got ", features.shape_string());
  }
  if (static_cast<int64_t>(labels.size()) != n) {
    CRBM_FAIL("linear SVM: ", labels.size(), " labels for ", n, " feature rows");
  }
  if (n > INT32_MAX || d + 1 > INT32_MAX) {
    CRBM_FAIL("linear SVM: ", n, " x ", d, " is beyond liblinear's int indices");
  }
  std::map<int32_t, int> distinct;
  for (int32_t y : labels) distinct.emplace(y, 0);
  if (distinct.size() < 2) {
    CRBM_FAIL("linear SVM: the labels hold ", distinct.size(),
              " distinct value (need at least 2 classes)");
  }

  // Sparse rows, each ended by index -1: non-zeros, then the bias feature.
  std::vector<feature_node> nodes;
  std::vector<int64_t> row_start(static_cast<size_t>(n));
  int64_t nonzeros = 0;
  for (float v : features.data) nonzeros += (v != 0.0f);
  nodes.reserve(static_cast<size_t>(nonzeros + n * (config.bias ? 2 : 1)));
  for (int64_t r = 0; r < n; ++r) {
    row_start[r] = static_cast<int64_t>(nodes.size());
    const float* row = features.data.data() + r * d;
    for (int64_t c = 0; c < d; ++c) {
      if (!std::isfinite(row[c])) {
        CRBM_FAIL("linear SVM: feature (row ", r, ", column ", c, ") is ", row[c]);
      }
      if (row[c] != 0.0f) nodes.push_back({static_cast<int>(c + 1), row[c]});
    }
    if (config.bias) nodes.push_back({static_cast<int>(d + 1), 1.0});
    nodes.push_back({-1, 0.0});
  }
  std::vector<feature_node*> rows(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) rows[r] = nodes.data() + row_start[r];
  std::vector<double> y(labels.begin(), labels.end());

  problem prob{};
  prob.l = static_cast<int>(n);
  prob.n = static_cast<int>(d + (config.bias ? 1 : 0));
  prob.y = y.data();
  prob.x = rows.data();
  prob.bias = config.bias ? 1.0 : -1.0;

  parameter param{};
  param.solver_type = config.dual ? L2R_L2LOSS_SVC_DUAL : L2R_L2LOSS_SVC;
  param.eps = config.epsilon;
  param.C = config.C;
  param.nr_weight = 0;
  param.weight_label = nullptr;
  param.weight = nullptr;
  param.p = 0.1;
  param.init_sol = nullptr;
  if (const char* problem_text = check_parameter(&prob, &param)) {
    CRBM_FAIL("linear SVM: liblinear rejected the parameters: ", problem_text);
  }

  set_print_string_function(&quiet);
  std::srand(static_cast<unsigned>(config.seed));
  std::unique_ptr<model, ModelDeleter> trained(::train(&prob, &param));
  if (!trained) CRBM_FAIL("linear SVM: liblinear's train returned no model");

  LinearSvm svm;
  svm.num_features_ = d;
  const int k = get_nr_class(trained.get());
  svm.labels_.resize(static_cast<size_t>(k));
  std::vector<int> liblinear_labels(static_cast<size_t>(k));
  get_labels(trained.get(), liblinear_labels.data());
  for (int c = 0; c < k; ++c) svm.labels_[c] = static_cast<int32_t>(liblinear_labels[c]);
  svm.weights_.assign(static_cast<size_t>(d * k), 0.0);
  svm.biases_.assign(static_cast<size_t>(k), 0.0);
  // liblinear keeps one machine for two classes (positive for labels[0]) and K otherwise;
  // get_decfun_coef / get_decfun_bias hide that layout (negated for the second of two
  // classes) and take 1-based feature indices.
  for (int c = 0; c < k; ++c) {
    for (int64_t f = 0; f < d; ++f) {
      svm.weights_[f * k + c] = get_decfun_coef(trained.get(), static_cast<int>(f + 1), c);
    }
    svm.biases_[c] = get_decfun_bias(trained.get(), c);
  }
  return svm;
}

HostTensor LinearSvm::decision_values(const HostTensor& features) const {
  const int64_t n = features.rows();
  if (features.shape.size() != 2 || features.cols() != num_features_) {
    CRBM_FAIL("linear SVM: features ", features.shape_string(), " do not match the ", num_features_,
              " features it was trained on");
  }
  const int k = classes();
  HostTensor out({n, static_cast<int64_t>(k)});
  std::vector<double> acc(static_cast<size_t>(k));
  for (int64_t r = 0; r < n; ++r) {
    std::copy(biases_.begin(), biases_.end(), acc.begin());
    const float* row = features.data.data() + r * num_features_;
    for (int64_t f = 0; f < num_features_; ++f) {
      if (row[f] == 0.0f) continue;
      const double* w = weights_.data() + f * k;
      for (int c = 0; c < k; ++c) acc[c] += w[c] * row[f];
    }
    for (int c = 0; c < k; ++c) out.data[r * k + c] = static_cast<float>(acc[c]);
  }
  return out;
}

std::vector<int32_t> LinearSvm::predict(const HostTensor& features) const {
  const HostTensor scores = decision_values(features);
  const int k = classes();
  std::vector<int32_t> out(static_cast<size_t>(scores.rows()));
  for (int64_t r = 0; r < scores.rows(); ++r) {
    const float* s = scores.data.data() + r * k;
    // Two classes: liblinear's rule (labels[0] only when its decision value is > 0).
    out[r] = k == 2 ? labels_[s[0] > 0.0f ? 0 : 1] : labels_[std::max_element(s, s + k) - s];
  }
  return out;
}

double LinearSvm::error_rate(const HostTensor& features, const std::vector<int32_t>& labels) const {
  if (static_cast<int64_t>(labels.size()) != features.rows()) {
    CRBM_FAIL("linear SVM: ", labels.size(), " labels for ", features.rows(), " feature rows");
  }
  if (labels.empty()) CRBM_FAIL("linear SVM: error rate of no rows");
  const std::vector<int32_t> predicted = predict(features);
  int64_t wrong = 0;
  for (size_t i = 0; i < labels.size(); ++i) wrong += predicted[i] != labels[i];
  return static_cast<double>(wrong) / static_cast<double>(labels.size());
}

}  // namespace crbm
