// Feed-forward classifier (sigmoid hidden layers, softmax output) trained by
// backpropagation, optionally initialised from a DBN (Hinton & Salakhutdinov 2006).
//   a_0 = x [B x n_0];  a_l = sigm(a_{l-1} W_l + b_l) (hidden);  p = softmax(a_{L-1} W_L + b_L) [B
//   x K] loss = -(1/B) sum_r log p[r, y_r];  dz_L = (p - onehot) / B;  dW_l = a_{l-1}' dz_l;
//   dz_{l-1} = (dz_l W_l') .* a_{l-1} .* (1 - a_{l-1})
// Updates: minibatch SGD with momentum and L2 weight decay on W (Backend::momentum_update).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "crbm/backend.hpp"
#include "crbm/dbn.hpp"
#include "crbm/sgd.hpp"

namespace crbm {

// SgdConfig with the fine-tuning defaults: 50 epochs, lr 0.1, momentum 0.5 -> 0.9 after
// 5 epochs, L2 1e-5 on W.
struct MlpConfig : SgdConfig {
  MlpConfig() {
    epochs = 50;
    learning_rate = 0.1f;
    weight_decay = 1e-5f;
  }

  void validate() const;
  std::string to_json() const;
};

struct MlpEpochStats {
  int epoch = 0;
  double train_loss = 0;   // mean cross-entropy over the epoch's minibatches
  double train_error = 0;  // fraction misclassified during the epoch (before each update)
  double seconds = 0;
  double learning_rate = 0;
};

// Host copy: weights[l] [n_l x n_{l+1}], biases[l] [n_{l+1}].
struct MlpParams {
  std::vector<HostTensor> weights, biases;
};

class Mlp {
 public:
  // sizes = {inputs, hidden..., classes}; parameters zero until initialised.
  Mlp(Backend& backend, std::vector<int64_t> sizes);
  Mlp(Backend& backend, const MlpParams& params);
  Mlp(Mlp&&) = default;
  Mlp& operator=(Mlp&&) = default;

  // Glorot-uniform for sigmoid units: W ~ U(-r, r), r = 4 sqrt(6 / (n_in + n_out)), b = 0.
  void init_random(uint64_t seed);
  // Hidden layers from the DBN's layers (W, hidden bias), output layer: from the top
  // RBM's label weights (Wy', by) when the DBN has labels and the classes match, else
  // N(0, 0.01^2). The DBN's top RBM (without labels) gives a hidden layer too, so
  // sizes = {V, n_1, ..., n_L, classes}.
  static Mlp from_dbn(const Dbn& dbn, int classes, uint64_t seed);

  Backend& backend() const { return *backend_; }
  const std::vector<int64_t>& sizes() const { return sizes_; }
  size_t num_layers() const { return weights_.size(); }
  int classes() const { return static_cast<int>(sizes_.back()); }
  Matrix& weights(size_t l) { return weights_.at(l); }
  Matrix& bias(size_t l) { return biases_.at(l); }
  const Matrix& weights(size_t l) const { return weights_.at(l); }
  const Matrix& bias(size_t l) const { return biases_.at(l); }
  // Gradients of the mean loss (no weight decay) after backward().
  const Matrix& grad_weights(size_t l) const { return grad_w_.at(l); }
  const Matrix& grad_bias(size_t l) const { return grad_b_.at(l); }

  // Class probabilities [B x K] for x [B x n_0] (activations kept for backward()).
  CMatRef forward(CMatRef x);
  // Forward + backward on one batch: fills the gradients; returns the mean cross-entropy.
  double backward(CMatRef x, CMatRef onehot);
  // The same without a host round trip: the probability of each row's true class goes to
  // true_class_probs [B x 1] (backend memory; the loss is -mean log of it).
  void backward(CMatRef x, CMatRef onehot, MatRef true_class_probs);
  // Mean cross-entropy and predictions over x (batches of `batch`).
  double loss(CMatRef x, const std::vector<int32_t>& labels, int64_t batch = 1000);
  std::vector<int32_t> predict(CMatRef x, int64_t batch = 1000);
  double error_rate(CMatRef x, const std::vector<int32_t>& labels, int64_t batch = 1000);

  MlpParams to_host() const;
  void load(const MlpParams& params);

 private:
  void ensure(int64_t rows);
  Backend* backend_;
  std::vector<int64_t> sizes_;
  std::vector<Matrix> weights_, biases_, grad_w_, grad_b_;
  std::vector<Matrix> act_, delta_;  // [rows x n_l] per layer (act_[0] unused: x itself)
  int64_t rows_ = 0;
  CMatRef input_;
};

class MlpTrainer {
 public:
  MlpTrainer(Mlp& mlp, MlpConfig config);
  // One epoch over x [N x n_0] (backend memory) with labels [N].
  MlpEpochStats train_epoch(CMatRef x, const std::vector<int32_t>& labels);
  int epoch() const { return epoch_; }
  int64_t updates() const { return updates_; }

 private:
  Mlp& mlp_;
  MlpConfig config_;
  Backend& be_;
  int epoch_ = 0;
  int64_t updates_ = 0;
  std::vector<Matrix> vel_w_, vel_b_;
  Matrix shuffled_x_, shuffled_y_, onehot_;
  Matrix true_class_probs_;  // [N x 1] p[r, y_r] of the epoch's updates, read once per epoch
  std::vector<int32_t> onehot_labels_;
};

// Checkpoints: model = "mlp"; tensors layer<i>.weights [n_i, n_{i+1}], layer<i>.bias.
void save_mlp(const std::string& path, const MlpParams& params,
              const std::map<std::string, std::string>& extra = {});
MlpParams load_mlp_params(const std::string& path,
                          std::map<std::string, std::string>* metadata = nullptr);

}  // namespace crbm
