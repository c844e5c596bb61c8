// Binary deep Boltzmann machine (Salakhutdinov & Hinton, AISTATS 2009) with 2 or 3 hidden
// layers: layers x_0 = v [V], x_1 = h1, ..., x_L = hL; weights W_l [n_l x n_{l+1}], biases
// b_l [n_l] (b_0 = visible bias), all connections undirected:
//   E(x) = -sum_l x_l' W_l x_{l+1} - sum_l b_l' x_l
//   P(x_l = 1 | rest) = sigm(x_{l-1} W_{l-1} + x_{l+1} W_l' + b_l)
// Mean-field q(h|v) = prod_l Bernoulli(mu_l): mu_l = sigm(mu_{l-1} W_{l-1} + mu_{l+1} W_l' + b_l).
// Even layers (v, h2) and odd layers (h1, h3) are conditionally independent given each other,
// so a DBM is an RBM between [v | h2] and [h1 | h3] with a block weight matrix: that RBM gives
// the exact log Z of small DBMs and the AIS of large ones (odd layers summed analytically).
//
// Optional label units (the authors' joint-training code for S&H 2009, dbm_mf.m): one softmax group
// y of K classes (one-hot) on the top layer h_L, with U [n_L x K] (stored like a weight W_L,
// as if y were layer L + 1) and bias c [K]:
//   E(x, y) = E(x) - h_L' U y - c' y
//   P(h_L = 1 | rest) = sigm(h_{L-1} W_{L-1} + U y + b_L),   P(y | h_L) = softmax(h_L U + c)
// y sits on the side of parity L + 1: with 2 hidden layers it joins the odd side [h1 | y]
// (summed out analytically with a log-sum-exp), with 3 the even side [v | h2 | y] (a chain
// state, sampled as a softmax). Training clamps y to the label in the mean-field phase and
// samples it in the persistent chains.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "crbm/ais.hpp"
#include "crbm/rbm.hpp"
#include "crbm/sgd.hpp"
#include "crbm/train.hpp"

namespace crbm {

// How greedy pretraining sets the bias of a layer two pretrained RBMs share (the hidden
// layer of the one below, the visible layer of the one above): their mean (the library's
// default), or their sum as the authors' dbm_mf.m composes its layer-1 bias.
enum class SharedBias { mean, sum };
SharedBias parse_shared_bias(const std::string& name);  // "mean" | "sum"
const char* to_string(SharedBias b);

// Joint training: mean-field data term, persistent Gibbs chains for the model term.
// SgdConfig with the DBM defaults: lr 0.005, momentum 0.5 throughout, L2 2e-4.
struct DbmTrainConfig : SgdConfig {
  DbmTrainConfig() {
    learning_rate = 0.005f;
    final_momentum = 0.5f;
  }
  // final_momentum 0.5, not the RBMs' 0.9: with persistent chains, momentum 0.9 made joint training
  // lower the exact likelihood of a tiny DBM (tests/exact/dbm_test.cpp: -5.61 -> -7.16 at lr 0.02,
  // while 0.5 reaches -3.06 of an optimum -2.64), and the full-size MNIST DBM's hidden
  // activity collapsed at the switch (docs/results/deep-mnist.md).
  int mean_field_sweeps = 10;
  int64_t chains = 100;
  int gibbs_steps = 5;                // per update
  bool resample_binarization = true;  // data are probabilities: draw binary v per batch
  // Per-layer sparsity (dbm_mf.m: 0.2 for h1, 0.1 for h2): one target per hidden layer, with
  // SgdConfig's sparsity_cost and sparsity_decay; a target of 0 turns that layer's term off.
  // Empty: SgdConfig's single sparsity_target for every hidden layer (0 = off, the default).
  // For layer l with running mean activity q_l (q <- decay q + (1 - decay) mean_batch(mu_l),
  // from the data-side mean field), the bias gradient of layer l gets cost (t_l - q_l).
  std::vector<float> sparsity_targets;
  // Also move the weights on both sides of a layer with a target, as dbm_mf.m does:
  //   grad W_{l-1} += cost mean_batch(x_{l-1})' (t_l - q_l)
  //   grad W_l     += cost (t_l - q_l)' mean_batch(mu_{l+1})
  // (x_0 = v, x_l = mu_l). Off by default: the bias-only term of the other trainers.
  bool sparsity_weight_gradient = false;

  // The sparsity target of hidden layer l (1-based), from sparsity_targets or
  // sparsity_target; 0 when off.
  float sparsity_target_of(size_t l) const;

  void validate() const;
  std::string to_json() const;
};

struct DbmEpochStats {
  int epoch = 0;
  double seconds = 0;
  double learning_rate = 0;
  double momentum = 0;
  double reconstruction_error = 0;      // of v from mean-field mu_1 (first batch rows)
  std::vector<double> mean_activation;  // mean mu_l per hidden layer (data side)
  // Labelled: the classification error of the same rows (argmax of the free mean-field q(y));
  // -1 without labels.
  double label_error = -1;
  // Signs that training is leaving the data (see dbm_health_warnings); empty when healthy.
  std::vector<std::string> warnings;
};

// Signs that DBM joint training is going wrong without producing NaN/Inf (which throws
// DivergenceError): the collapses seen on MNIST with too large an effective step
// (docs/results/deep-mnist.md). One message per sign:
//   - a hidden layer's mean activity below 0.005 or above 0.995 (dead or saturated);
//   - a hidden layer's mean activity changing by more than 20% of its previous value (and by
//     more than 0.02) in one epoch;
//   - the reconstruction error above 1.3x the lowest of the earlier epochs.
// `previous` is the last epoch's statistics (null for the first), `lowest_recon` the lowest
// reconstruction error of the earlier epochs (ignored when previous is null).
std::vector<std::string> dbm_health_warnings(const DbmEpochStats& current,
                                             const DbmEpochStats* previous, double lowest_recon);

struct DbmParams {
  std::vector<HostTensor> weights;  // [L], W_l [n_l, n_{l+1}]
  std::vector<HostTensor> biases;   // [L + 1], b_l [n_l]
  HostTensor label_weights;         // U [n_L, K]; empty: no label units
  HostTensor label_bias;            // c [K]; empty: no label units
  int64_t layer_size(size_t l) const { return biases.at(l).numel(); }
  int64_t num_classes() const { return label_bias.numel(); }
};

class Dbm {
 public:
  // num_classes K >= 2 adds the label group (U = 0, c = 0); 0: no labels.
  Dbm(Backend& backend, int64_t visible, const std::vector<int64_t>& hidden,
      int64_t num_classes = 0);
  Dbm(Backend& backend, const DbmParams& params);
  Dbm(Dbm&&) = default;
  Dbm& operator=(Dbm&&) = default;

  Backend& backend() const { return *backend_; }
  size_t depth() const { return weights_.size(); }  // number of hidden layers
  int64_t layer_size(size_t l) const { return sizes_.at(l); }
  Matrix& weights(size_t l) { return weights_.at(l); }
  Matrix& bias(size_t l) { return biases_.at(l); }
  const Matrix& weights(size_t l) const { return weights_.at(l); }
  const Matrix& bias(size_t l) const { return biases_.at(l); }
  // The label group (num_classes() == 0: none): U [n_L x K], c [1 x K].
  int64_t num_classes() const { return num_classes_; }
  bool labelled() const { return num_classes_ > 0; }
  Matrix& label_weights() { return label_weights_; }
  Matrix& label_bias() { return label_bias_; }
  const Matrix& label_weights() const { return label_weights_; }
  const Matrix& label_bias() const { return label_bias_; }

  // Greedy pretraining with the doubled-input correction: layer 0 is an RBM trained with
  // P(h1|v) = sigm(2 v W + c) (bottom-up input doubled), the top one with
  // P(h_{L-1}|h_L) = sigm(2 W h_L + b) (top-down input doubled), middle ones plainly and
  // their weights halved when composed. Each layer trains on sigm(up * x W + c) of the one
  // below. A shared layer's bias is the mean (or, shared_bias = sum, the sum) of the two
  // RBMs' biases for it. The label group
  // is not pretrained: U and c stay as they are (0 from the constructor) and joint training
  // learns them.
  using EpochCallback = std::function<void(size_t layer, const EpochStats&)>;
  void pretrain(CMatRef data, const std::vector<TrainConfig>& layers, float init_stddev = 0.01f,
                const EpochCallback& on_epoch = nullptr, SharedBias shared_bias = SharedBias::mean);

  // Mean-field posterior for v [B x V]: mu[l-1] and logits[l-1] ([B x n_l]) for l = 1..L,
  // initialised by a bottom-up pass with doubled weights (all but the top layer), then
  // `sweeps` sequential sweeps l = 1..L. On return mu = sigm(logits) elementwise.
  // Labelled DBMs: `labels` [B x K] (one-hot) clamps y (the training's data phase: mu has L
  // entries); empty leaves y free, a softmax factor q(y) = softmax(mu_L U + c) updated after
  // h_L in every sweep (and after the bottom-up pass): then mu[L] = q(y) and logits[L] its
  // logits ([B x K]), and h_L's input gains U q(y). Unlabelled DBMs take no labels.
  void mean_field(CMatRef v, int sweeps, std::vector<Matrix>& mu,
                  std::vector<Matrix>* logits = nullptr, CMatRef labels = CMatRef{}) const;

  // Labelled DBMs: the class of each row of v [B x V], argmax of q(y) from mean_field with y
  // free (`sweeps` sweeps), and the fraction of rows whose class differs from `labels`.
  std::vector<int32_t> classify(CMatRef v, int sweeps = 30, int64_t batch = 1000) const;
  double error_rate(CMatRef v, const std::vector<int32_t>& labels, int sweeps = 30) const;

  // Gibbs sampling (odd layers, then even layers per step) from uniform random states;
  // returns the visible probabilities P(v|h1) after `steps` steps [chains x V]. A labelled
  // DBM's y is sampled with its side (from a uniform class at the start).
  HostTensor sample(int64_t chains, int steps, uint64_t seed) const;

  // The equivalent RBM: visible = even layers [v | h2], hidden = odd layers [h1 | h3]
  // (binary units only: a labelled DBM's label group is not in it).
  RbmParams bipartite_rbm() const;
  // By enumeration of the bipartite RBM's smaller side. Labelled: y clamped to class k is an
  // unlabelled DBM with b_L + U[:, k], so log Z = logsumexp_k (c_k + log Z_k).
  double exact_log_partition() const;
  // AIS (Salakhutdinov & Murray's schedule) on the bipartite RBM: the chain state is (v, h2),
  // h1 (and h3) are summed out analytically. Base rates from `data` [N x V] (backend) and
  // its mean-field mu_2 (the even hidden layer), at most `base_rows` rows.
  // Labelled (eval/dbm_label_ais.cpp): y is summed out with the odd side by a log-sum-exp
  // (2 hidden layers) or is part of the chain state (3), the base model's y uniform either
  // way (log Z_A gains log K).
  AisResult ais_log_partition(CMatRef data, const AisConfig& config,
                              int64_t base_rows = 10000) const;

  // Variational lower bound per row (mean-field q, `sweeps` sweeps):
  //   log p(v) >= E_q[-E(v, h)] + H(q) - log Z.
  // Labelled: log p(v) = log sum_y p(v, y), bounded with q(h) q(y), q(y) the free mean-field
  // softmax factor: E_q gains mu_L' U q(y) + c' q(y), H(q) gains -sum_k q_k log q_k.
  std::vector<double> lower_bound(CMatRef v, double log_z, int sweeps = 30,
                                  int64_t batch = 1000) const;

  DbmParams to_host() const;
  void load(const DbmParams& params);

 private:
  Backend* backend_;
  std::vector<int64_t> sizes_;
  std::vector<Matrix> weights_, biases_;
  int64_t num_classes_ = 0;
  Matrix label_weights_, label_bias_;  // U [n_L x K], c [1 x K] (labelled only)
};

class DbmTrainer {
 public:
  DbmTrainer(Dbm& dbm, DbmTrainConfig config);
  // Continues a run that stopped after `epochs_done` joint epochs and `updates_done`
  // updates (a checkpoint's epochs_done / updates_done): the learning-rate decay, the
  // momentum switch, the minibatch order and the random streams go on from there. The
  // persistent chains and the momentum velocities were not saved: they restart (chains from
  // data, velocities at zero). Call before the first update.
  void resume(int epochs_done, int64_t updates_done);
  DbmEpochStats train_epoch(CMatRef data);
  void update(CMatRef batch);
  // Labelled DBMs: `labels` [N] (0..K-1) aligned with the rows of data, shuffled with them;
  // the data phase clamps y to the one-hot label, the chains sample it. An unlabelled
  // DBM's trainer refuses labels, a labelled one's needs them.
  DbmEpochStats train_epoch(CMatRef data, const std::vector<int32_t>& labels);
  // `labels` [B x K] one-hot rows on the backend.
  void update(CMatRef batch, CMatRef labels);
  int epoch() const { return epoch_; }
  int64_t updates() const { return updates_; }
  // Persistent chain states, [chains x n_l] per layer (after at least one update).
  const std::vector<Matrix>& chains() const { return chains_; }

 private:
  double learning_rate() const;
  double momentum() const;
  Dbm& dbm_;
  DbmTrainConfig config_;
  Backend& be_;
  int epoch_ = 0;
  int64_t updates_ = 0;
  DbmEpochStats last_;  // the previous epoch's statistics (epoch 0: none yet)
  double lowest_recon_ = 0;
  std::vector<Matrix> chains_, chain_probs_, mu_;
  std::vector<Matrix> grad_w_, grad_b_, vel_w_, vel_b_;
  std::vector<SparsityTerm> sparsity_;  // per hidden layer (SgdConfig's sparsity terms)
  std::vector<SgdConfig> layer_sgd_;    // per hidden layer: config_ with that layer's target
  std::vector<Matrix> logits_;          // mean-field logits, kept between updates
  std::vector<Matrix> layer_mean_;      // per layer: mean_batch(x_l) [1 x n_l] (weight term)
  Matrix v_bin_, shuffled_;
  // Labelled: the gradients and velocities of U and c, the epoch's shuffled one-hot labels.
  Matrix grad_u_, grad_c_, vel_u_, vel_c_, shuffled_labels_;
};

// Checkpoints: model = "dbm", layers = L; tensors layer0.visible_bias [V],
// layer<l>.weights [n_l, n_{l+1}], layer<l>.hidden_bias [n_{l+1}]. Labelled: metadata
// num_classes = K and tensors labels.weights [n_L, K], labels.bias [K] (num_classes absent
// or 0: no labels, the tensors must then be absent too).
void save_dbm(const std::string& path, const DbmParams& params,
              const std::map<std::string, std::string>& extra = {});
DbmParams load_dbm_params(const std::string& path,
                          std::map<std::string, std::string>* metadata = nullptr);

}  // namespace crbm
