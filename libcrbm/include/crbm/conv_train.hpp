// Training a ConvRbm by CD-k or PCD-k (Lee et al. 2009; Lee's code for the
// details). With s = 1 or 1/sigma^2 (see conv_rbm.hpp), B data rows, R chain
// rows, Q = Hh*Wh hidden positions per map and V = H*W visible positions:
//   dW   = s (corr(v0, h0) / B - corr(vk, hk) / R) / Q      (hidden probabilities)
//   db_k = (sum h0^k / B - sum hk^k / R) / Q  + lambda (p - q_k)
//   dc_c = s (sum v0_c / B - sum vk_c / R) / V
//   q_k <- eta q_k + (1 - eta) mean_{n,i,j} h0^k          (sparsity, per filter)
//   velocity = m velocity + lr_t (grad - l2 W - l1 sign W);  param += velocity
//   lr_t from the schedule of crbm/sgd.hpp;  sigma <- max(sigma * sigma_decay, sigma_min)
//   after every epoch (Gaussian units; Lee's annealing).
#pragma once

#include <cstdint>
#include <string>

#include "crbm/conv_rbm.hpp"
#include "crbm/sgd.hpp"
#include "crbm/train.hpp"

namespace crbm {

// SgdConfig with the convolutional defaults: batch 20, lr 0.02, L2 0.01 on the filters
// (Lee: 0.01), sparsity cost 5 (Lee: 5; target 0 = off, Lee: 0.002 for layer 1); CdConfig
// (Lee: the negative phase uses the visible mean, sample_negative_visible false).
struct ConvTrainConfig : SgdConfig, CdConfig {
  ConvTrainConfig() {
    batch_size = 20;
    learning_rate = 0.02f;
    weight_decay = 0.01f;
    sparsity_cost = 5.0f;
  }
  float sigma_decay = 1.0f;  // Gaussian sigma *= sigma_decay after each epoch (Lee: 0.99)
  float sigma_min = 0.0f;    // ... down to sigma_min

  void validate() const;  // throws crbm::Error naming the first bad field
  std::string to_json() const;
};

struct ConvEpochStats {
  int epoch = 0;
  int64_t updates = 0;
  double reconstruction_error = 0;    // mean squared error per example
  double free_energy = 0;             // mean F over the stats rows
  double mean_hidden_activation = 0;  // mean P(h=1|v) over filters and positions
  double mean_pooled_activation = 0;  // mean P(pool on|v)
  double sigma = 1;
  double learning_rate = 0;
  double seconds = 0;
  double samples_per_second = 0;
};

class ConvTrainer {
 public:
  ConvTrainer(ConvRbm& rbm, ConvTrainConfig config);

  // One epoch over data [N, C*H*W] (backend memory), shuffled from the seed;
  // statistics on up to stats_rows rows. Throws DivergenceError after restoring
  // the parameters of the last finished epoch.
  ConvEpochStats train_epoch(CMatRef data, int64_t stats_rows = 500);
  void update(CMatRef batch);

  const ConvTrainConfig& config() const { return config_; }
  int epoch() const { return epoch_; }
  int64_t updates() const { return updates_; }
  double current_learning_rate() const { return config_.learning_rate_at(epoch_, updates_); }
  double current_momentum() const { return config_.momentum_at(epoch_); }

 private:
  void ensure_buffers(int64_t rows);
  void check_finite(const char* where);

  ConvRbm& rbm_;
  ConvTrainConfig config_;
  Backend& be_;
  ConvOps& ops_;
  int epoch_ = 0;
  int64_t updates_ = 0;
  int64_t buffer_rows_ = 0;
  ConvRbmParams last_good_;
  bool have_last_good_ = false;
  Matrix shuffled_;                            // [N, V] the epoch's shuffled rows
  Matrix logits_, h0_;                         // [B, H] positive phase
  std::unique_ptr<CdNegativePhase> negative_;  // CD-k / PCD-k chains (crbm/gibbs.hpp)
  RbmStep step_;  // filters [K x C*F*F], visible bias [1 x C], hidden bias [1 x K]
};

}  // namespace crbm
