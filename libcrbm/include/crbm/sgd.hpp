// The training core's optimizer settings, shared by every trainer: one
// configuration (embedded as the base of TrainConfig, ConvTrainConfig,
// DbmTrainConfig, MlpConfig, LogRegConfig, ...) and one schedule.
//
// Learning rate after `epoch` finished epochs and `updates` updates:
//   constant     lr
//   inverse      lr / (1 + lr_decay * epoch)                  (lr_decay = 0: constant)
//   exponential  max(lr / lr_decay_rate^updates, lr_floor)    (per update, as the
//                authors' DBM code: lr <- max(lr / 1.000015, 0.0001) each update)
// Momentum: `momentum` for the first momentum_switch_epoch epochs, then
// final_momentum. A momentum step of a parameter p with gradient g (ascent):
//   velocity = m velocity + lr (g - l2 p - l1 sign p);  p += velocity
// with L2/L1 applied to weights only. Sparsity (trainers with hidden units):
//   q <- sparsity_decay q + (1 - sparsity_decay) mean_batch(h);
//   hidden-bias gradient += sparsity_cost (sparsity_target - q); target 0 disables.
#pragma once

#include <cstdint>
#include <string>

#include "crbm/backend.hpp"

namespace crbm {

enum class LrSchedule { constant, inverse, exponential };
const char* to_string(LrSchedule s);
// "constant", "inverse" or "exponential"; throws crbm::Error naming the value otherwise.
LrSchedule lr_schedule_from_string(const std::string& name);

struct SgdConfig {
  int epochs = 10;
  int64_t batch_size = 100;
  float learning_rate = 0.05f;
  LrSchedule lr_schedule = LrSchedule::inverse;
  float lr_decay = 0.0f;        // inverse: lr / (1 + lr_decay * epoch)
  double lr_decay_rate = 1.0;   // exponential: divide by this every update (>= 1)
  float lr_floor = 0.0f;        // exponential: never below this
  float momentum = 0.5f;        // the first momentum_switch_epoch epochs
  float final_momentum = 0.9f;  // afterwards
  int momentum_switch_epoch = 5;
  float weight_decay = 2e-4f;    // L2 on the weights
  float l1_decay = 0.0f;         // L1 on the weights
  float sparsity_target = 0.0f;  // p; 0 disables the sparsity term
  float sparsity_cost = 0.1f;    // lambda
  float sparsity_decay = 0.9f;   // running-mean damping of q
  uint64_t seed = 1;

  // The learning rate after `epoch` completed epochs and `updates` updates (see above),
  // computed in double from the decimals the user wrote (detail::as_decimal).
  double learning_rate_at(int epoch, int64_t updates) const;
  double momentum_at(int epoch) const;
  // Throws crbm::Error "invalid <what> configuration: <field> = <value> (<rule>)".
  void validate_sgd(const char* what) const;
  // The SGD fields as JSON object members (no braces): "learning_rate":0.05,...
  std::string sgd_json_fields() const;
};

// ---- the one optimizer step (libcrbm/src/train/sgd.cpp) ----
// Every trainer (dense, conv, DBM pretraining and joint, DBN top, softmax, MLP, logistic
// regression) updates its parameters through these and nothing else.

// The learning rate and momentum of one update, as the floats the backend takes:
// SgdConfig::learning_rate_at(epoch, updates) and momentum_at(epoch) rounded once.
struct StepRates {
  float lr = 0.0f;
  float momentum = 0.0f;
};
StepRates step_rates(const SgdConfig& config, int epoch, int64_t updates);

// Which regularisation a parameter gets: weights L2 (weight_decay) and L1 (l1_decay),
// biases none.
enum class Decay { none, weights };
// Ascent moves the parameter along `grad` (a log-likelihood gradient); descent against it
// (a loss gradient).
enum class Direction { ascent, descent };

// velocity = m velocity + lr (grad - l2 p - l1 sign p);  p += velocity   (ascent)
// velocity = m velocity - lr (grad + l2 p + l1 sign p);  p += velocity   (descent)
void momentum_step(Backend& be, MatRef param, MatRef velocity, CMatRef grad, StepRates rates,
                   const SgdConfig& config, Decay decay, Direction direction = Direction::ascent);

// The sparsity term of one hidden layer (SgdConfig's sparsity_target, cost, decay):
//   q <- decay q + (1 - decay) mean_batch(h)   (q = the first batch's mean)
//   hidden-bias gradient += cost (target - q).
// The caller writes this batch's mean activation into batch_mean(); apply() then adds the
// term (and overwrites batch_mean()).
class SparsityTerm {
 public:
  SparsityTerm() = default;
  SparsityTerm(Backend& be, int64_t units);
  // Whether the term is on (target > 0).
  static bool enabled(const SgdConfig& config) { return config.sparsity_target > 0.0f; }
  MatRef batch_mean() { return mean_.ref(); }
  void apply(const SgdConfig& config, MatRef grad);

 private:
  Backend* be_ = nullptr;
  Matrix q_;     // running mean activation [1 x units]
  Matrix mean_;  // this batch's mean, then target - q [1 x units]
  bool started_ = false;
};

// The parameters of one RBM-shaped layer that a trainer moves: the weights and the two
// biases, as views of the model's matrices.
struct RbmLayerRefs {
  MatRef weights;       // [w_rows x w_cols]
  MatRef visible_bias;  // [1 x visible]
  MatRef hidden_bias;   // [1 x hidden]
};

// The update of one RBM-shaped layer, owned by each trainer that moves one (dense CD,
// convolutional CD, DBM pretraining, the DBN's labelled top, softmax and replicated
// softmax, the ratings RBM): the gradient buffers the trainer fills, their velocities
// (zero at the start), the hidden units' sparsity term, and one momentum step of the
// three parameters (weights with L2/L1, biases without) by the training core's schedule.
class RbmStep {
 public:
  RbmStep() = default;
  RbmStep(Backend& be, int64_t w_rows, int64_t w_cols, int64_t visible, int64_t hidden);

  Matrix& grad_w() { return grad_w_; }              // [w_rows x w_cols]
  Matrix& grad_visible() { return grad_visible_; }  // [1 x visible]
  Matrix& grad_hidden() { return grad_hidden_; }    // [1 x hidden]
  const Matrix& grad_w() const { return grad_w_; }
  const Matrix& grad_visible() const { return grad_visible_; }
  const Matrix& grad_hidden() const { return grad_hidden_; }

  // One phase of the dense statistics (v [B x w_rows], h [B x w_cols]):
  //   grad_w = scale v' h + beta grad_w,  grad_visible = scale sum_rows v + beta ...,
  //   grad_hidden = scale sum_rows h + beta ...
  // The positive phase overwrites (beta 0), the negative accumulates (beta 1). With
  // `row_weights` [B x 1] the hidden-bias term weights each row instead:
  // grad_hidden = scale row_weights' h + beta grad_hidden (the replicated softmax's D).
  void add_statistics(CMatRef v, CMatRef h, float scale, float beta, CMatRef row_weights = {});

  // The sparsity term's input: with the term on (SparsityTerm::enabled), the matrix
  // [1 x hidden] that takes this batch's mean hidden activation before apply(); an
  // empty view (data == nullptr) when it is off.
  MatRef sparsity_mean(const SgdConfig& config);
  // The same for dense hidden units: their mean is scale * sum_rows h (scale 1/B).
  void add_hidden_mean(const SgdConfig& config, CMatRef h, float scale);

  // Adds the sparsity term to grad_hidden (when on), then one momentum step of each
  // parameter with the rates of (epoch, updates): ascent along the gradients.
  void apply(const SgdConfig& config, int epoch, int64_t updates, const RbmLayerRefs& params);

 private:
  Backend* be_ = nullptr;
  Matrix grad_w_, grad_visible_, grad_hidden_;
  Matrix vel_w_, vel_visible_, vel_hidden_;
  SparsityTerm sparsity_;
};

// The contrastive-divergence settings of the RBM trainers (dense, convolutional,
// softmax): k Gibbs steps per update, persistent chains (PCD) or not.
struct CdConfig {
  int cd_k = 1;                          // Gibbs steps per update
  bool persistent = false;               // PCD: chains persist across updates
  int64_t pcd_chains = 0;                // 0: one chain per minibatch row
  bool sample_negative_visible = false;  // final negative visible: sample instead of mean
  int divergence_check_every = 50;       // updates between non-finite checks (and at epoch end)
};

}  // namespace crbm
