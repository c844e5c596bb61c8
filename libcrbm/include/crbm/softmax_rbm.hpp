// RBMs with softmax visible units: W [V x H], visible bias b [V], hidden bias c [H].
//  groups:     V = G*K units in G consecutive groups of K mutually exclusive states;
//              P(h_j=1|v) = sigm(c_j + v'W_:j),  P(v_g = k|h) = softmax_k(b + W h)_{g,k}
//  replicated: (Salakhutdinov & Hinton 2009) v = word counts over a vocabulary of V, D = sum v;
//              P(h_j=1|v) = sigm(D c_j + v'W_:j),  v|h = D draws from softmax(b + W h)
//  F(v) = -b'v - sum_j softplus(D c_j + v'W_:j)  (D = 1 for groups)
//  log P(v) = -F(v) - log Z_D for an ordered document of length D (the count vector's
//  probability adds log D!/prod v_k!); Z_D = sum_h e^{D c'h} (sum_k e^{b_k + (Wh)_k})^D.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "crbm/ais.hpp"
#include "crbm/gibbs.hpp"
#include "crbm/rbm.hpp"
#include "crbm/train.hpp"

namespace crbm {

enum class SoftmaxKind { groups, replicated };
const char* to_string(SoftmaxKind k);

class SoftmaxRbm {
 public:
  // groups: `group` = K divides `visible`; replicated: `group` is ignored (one group of V).
  SoftmaxRbm(Backend& backend, int64_t visible, int64_t hidden, SoftmaxKind kind,
             int64_t group = 0);
  SoftmaxRbm(Backend& backend, const RbmParams& params, SoftmaxKind kind, int64_t group = 0);

  Backend& backend() const { return rbm_.backend(); }
  SoftmaxKind kind() const { return kind_; }
  int64_t group() const { return group_; }
  int64_t visible() const { return rbm_.visible(); }
  int64_t hidden() const { return rbm_.hidden(); }
  Rbm& rbm() { return rbm_; }  // the parameters (weights, visible_bias, hidden_bias)
  const Rbm& rbm() const { return rbm_; }

  // W ~ N(0, stddev^2), c = 0; b = log of the (smoothed) unit frequencies in `data`
  // within each group (host, optional).
  void init_random(uint64_t seed, float stddev = 0.01f, const HostTensor* data = nullptr);

  // lengths [B x 1] = D (row sums; 1 per group for `groups`, unused there).
  void lengths(CMatRef v, MatRef out) const;
  // out [B x H] = P(h=1|v).
  void hidden_given_visible(CMatRef v, MatRef out) const;
  // out [B x V] = softmax per group of b + W h (replicated: one group over V).
  void visible_probs_given_hidden(CMatRef h, MatRef out) const;
  // groups: one-hot per group; replicated: counts of lengths[r] draws per row.
  void sample_visible(CMatRef probs, CMatRef lengths, MatRef out, RngKey key) const;
  void free_energy(CMatRef v, MatRef out) const;  // [B x 1]

  // Exact log Z by enumerating the hidden layer (H <= 24); `length` = D (replicated).
  double exact_log_partition(int64_t length = 1) const;
  // AIS from the base model W = 0, c = 0 with visible biases from `base_data` (host counts or
  // one-hot rows; empty: uniform), chains of documents of length `length` (replicated).
  AisResult ais_log_partition(const HostTensor& base_data, const AisConfig& config,
                              int64_t length = 1) const;
  // log P(v) per row (ordered-document convention above), given log Z_D per length D.
  std::vector<double> log_prob(CMatRef v, const std::map<int64_t, double>& log_z_by_length) const;

 private:
  MatRef scratch(int64_t rows, int64_t cols, int slot) const;
  Rbm rbm_;
  SoftmaxKind kind_;
  int64_t group_;
  mutable Matrix scratch_[3];
};

// CD-k for softmax RBMs (TrainConfig: cd_k and the SGD settings of crbm/sgd.hpp, the
// sparsity terms included; persistent chains are not supported). Negative visible
// states are sampled at every step (counts for replicated), probabilities at the last step
// for `groups` unless sample_negative_visible.
class SoftmaxCdTrainer {
 public:
  SoftmaxCdTrainer(SoftmaxRbm& model, TrainConfig config);
  // Not copyable or movable: the GibbsModel held by negative_ captures `this`.
  SoftmaxCdTrainer(const SoftmaxCdTrainer&) = delete;
  SoftmaxCdTrainer& operator=(const SoftmaxCdTrainer&) = delete;
  SoftmaxCdTrainer(SoftmaxCdTrainer&&) = delete;
  SoftmaxCdTrainer& operator=(SoftmaxCdTrainer&&) = delete;
  EpochStats train_epoch(CMatRef data);
  void update(CMatRef batch);

 private:
  double learning_rate() const;
  double momentum() const;
  SoftmaxRbm& m_;
  TrainConfig config_;
  Backend& be_;
  int epoch_ = 0;
  int64_t updates_ = 0, rows_ = 0;
  RbmStep step_;  // gradients, velocities and sparsity term of (weights, biases)
  Matrix h0_, len_, shuffled_;
  std::unique_ptr<CdNegativePhase> negative_;  // CD-k chains (crbm/gibbs.hpp)
};

// Base-rate visible biases: log of smoothed unit frequencies within each group,
// p = (count + 1) / (total + K) (Laplace smoothing).
HostTensor softmax_base_visible_bias(const HostTensor& data, int64_t visible, int64_t group);

// Checkpoints: model = "softmax_rbm", softmax_kind = groups|replicated, softmax_group;
// tensors as a dense RBM (weights, visible_bias, hidden_bias).
void save_softmax_rbm(const std::string& path, const SoftmaxRbm& model,
                      const std::map<std::string, std::string>& extra = {});
SoftmaxRbm load_softmax_rbm(Backend& backend, const std::string& path,
                            std::map<std::string, std::string>* metadata = nullptr);

}  // namespace crbm
