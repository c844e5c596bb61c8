// DBM training (see dbm.hpp): greedy pretraining with doubled inputs and joint training
// (mean-field data term, persistent Gibbs chains for the model term).
//   joint update: dW_l = x_l' mu_{l+1} / B (mean-field, data) - s_l' s_{l+1} / C (chains)
//   labelled:     dU = mu_L' y / B (y clamped) - s_L' s_y / C,  dc = mean(y) - mean(s_y)
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "crbm/dbm.hpp"
#include "crbm/dbn.hpp"  // one_hot
#include "crbm/enum_names.hpp"
#include "crbm/gibbs.hpp"
#include "crbm/mathutil.hpp"
#include "models/dbm_internal.hpp"
#include "rng_streams.hpp"
#include "train/config_check.hpp"

namespace crbm {
namespace {

using namespace rng_stream::dbm;  // Philox stream ids (rng_streams.hpp)
using detail::dbm_ensure_rows;
using detail::dbm_gibbs_step;
using detail::dbm_layer_logits;

// CD-k on an RBM whose hidden input is scaled by `up` and visible input by `down`:
//   P(h|v) = sigm(up v W + c),  P(v|h) = sigm(down h W' + b).
// Not copyable or movable: its GibbsModel's callbacks hold `this`.
class ScaledCdTrainer {
 public:
  ScaledCdTrainer(const ScaledCdTrainer&) = delete;
  ScaledCdTrainer& operator=(const ScaledCdTrainer&) = delete;
  ScaledCdTrainer(Rbm& rbm, const TrainConfig& cfg, float up, float down)
      : rbm_(rbm), be_(rbm.backend()), cfg_(cfg), up_(up), down_(down) {
    cfg_.validate();
    if (cfg_.persistent) CRBM_FAIL("DBM pretraining uses CD-k; persistent = true is not supported");
    const int64_t v = rbm.visible(), h = rbm.hidden();
    step_ = RbmStep(be_, v, h, v, h);
    GibbsModel model;
    model.hidden = [this](CLayerRef v, MatRef out) { hidden(v.units, out); };
    model.sample_hidden = [this](CMatRef p, MatRef out, uint64_t step) {
      be_.sample_bernoulli(p, out, RngKey{cfg_.seed, kStreamPreHidden, step});
    };
    model.visible = [this](CMatRef hs, LayerRef out) { visible(hs, out.units); };
    model.sample_visible = [this](CLayerRef p, LayerRef out, uint64_t step) {
      be_.sample_bernoulli(p.units, out.units, RngKey{cfg_.seed, kStreamPreVisible, step});
    };
    negative_ =
        std::make_unique<CdNegativePhase>(be_, std::move(model), cfg_, cfg_.batch_size, v, 0, h);
  }

  void hidden(CMatRef v, MatRef out) const {
    be_.gemm(false, false, 1.0f, v, rbm_.weights(), 0.0f, out);
    be_.scale_add_activate(out, up_, CMatRef{}, rbm_.hidden_bias(), Activation::sigmoid);
  }
  void visible(CMatRef h, MatRef out) const {
    be_.gemm(false, true, 1.0f, h, rbm_.weights(), 0.0f, out);
    be_.scale_add_activate(out, down_, CMatRef{}, rbm_.visible_bias(), Activation::sigmoid);
  }

  EpochStats train_epoch(CMatRef data) {
    const int64_t n = data.rows;
    EpochStats st = run_shuffled_epoch<EpochStats>(be_, data, shuffled_, cfg_, epoch_, updates_,
                                                   [this](CMatRef b) { update(b); });
    st.samples_per_second = st.seconds > 0 ? n / st.seconds : 0;
    if (!rbm_.parameters_finite()) {
      throw divergence_error("DBM pretraining", epoch_, lr());
    }
    const int64_t m = std::min<int64_t>(n, 1000);
    Matrix h(be_, m, rbm_.hidden()), r(be_, m, rbm_.visible());
    hidden(shuffled_.rows_view(0, m), h);
    visible(h, r);
    set_reconstruction_stats(be_, shuffled_.rows_view(0, m), r, h, st);
    return finish_epoch(st, epoch_, updates_);
  }

 private:
  double lr() const { return cfg_.learning_rate_at(epoch_, updates_); }
  double mom() const { return cfg_.momentum_at(epoch_); }

  void update(CMatRef batch) {
    const int64_t b = batch.rows, nv = rbm_.visible(), nh = rbm_.hidden();
    if (rows_ < b) {
      v0_ = Matrix(be_, b, nv);
      h0_ = Matrix(be_, b, nh);
      rows_ = b;
    }
    CMatRef v0 = batch;
    if (cfg_.resample_binarization) {
      MatRef vb = v0_.rows_view(0, b);
      be_.sample_bernoulli(batch, vb, RngKey{cfg_.seed, kStreamPreBinarize, uint64_t(updates_)});
      v0 = vb;
    }
    MatRef h0 = h0_.rows_view(0, b);
    hidden(v0, h0);
    const CdNegativePhase::Sample negative = negative_->run(v0, h0, updates_);
    const CMatRef vk = negative.v.units, hk = negative.h;
    const float inv = 1.0f / static_cast<float>(b);
    step_.add_statistics(v0, h0, inv, 0.0f);
    step_.add_statistics(vk, hk, -inv, 1.0f);
    step_.add_hidden_mean(cfg_, h0, inv);
    step_.apply(cfg_, epoch_, updates_, {rbm_.weights(), rbm_.visible_bias(), rbm_.hidden_bias()});
    ++updates_;
  }

  Rbm& rbm_;
  Backend& be_;
  TrainConfig cfg_;
  float up_, down_;
  int epoch_ = 0;
  int64_t updates_ = 0, rows_ = 0;
  Matrix v0_, h0_, shuffled_;
  RbmStep step_;
  std::unique_ptr<CdNegativePhase> negative_;
};

}  // namespace

// ---- configuration ----

void DbmTrainConfig::validate() const {
  validate_sgd("DBM training");
  const detail::ConfigCheck check("DBM training");
  check.fail_if(mean_field_sweeps < 1, "mean_field_sweeps", mean_field_sweeps, "must be >= 1");
  check.fail_if(chains < 1, "chains", chains, "must be >= 1");
  check.fail_if(gibbs_steps < 1, "gibbs_steps", gibbs_steps, "must be >= 1");
  for (size_t i = 0; i < sparsity_targets.size(); ++i) {
    const float t = sparsity_targets[i];
    const std::string field = fmt::format("sparsity_targets[{}]", i);
    check.fail_if(!(t >= 0.0f && t < 1.0f), field.c_str(), t, "must be in [0, 1); 0 disables it");
  }
  check.fail_if(!sparsity_targets.empty() && sparsity_target > 0.0f, "sparsity_target",
                sparsity_target, "give either sparsity_target or sparsity_targets, not both");
}

float DbmTrainConfig::sparsity_target_of(size_t l) const {
  if (l == 0) CRBM_FAIL("sparsity_target_of: hidden layers are numbered from 1");
  if (sparsity_targets.empty()) return sparsity_target;
  return l <= sparsity_targets.size() ? sparsity_targets[l - 1] : 0.0f;
}

std::string DbmTrainConfig::to_json() const {
  nlohmann::json j = detail::sgd_json(*this);
  j["mean_field_sweeps"] = mean_field_sweeps;
  j["chains"] = chains;
  j["gibbs_steps"] = gibbs_steps;
  j["resample_binarization"] = resample_binarization;
  if (!sparsity_targets.empty()) {
    nlohmann::json t = nlohmann::json::array();
    for (float x : sparsity_targets) t.push_back(detail::as_decimal(x));
    j["sparsity_targets"] = t;
  }
  j["sparsity_weight_gradient"] = sparsity_weight_gradient;
  return j.dump();
}

// ---- pretraining ----

namespace {
constexpr EnumName<SharedBias> kSharedBiasNames[] = {{SharedBias::mean, "mean"},
                                                     {SharedBias::sum, "sum"}};
}  // namespace

CRBM_ENUM_NAME_FUNCTIONS(SharedBias, kSharedBiasNames, parse_shared_bias, "shared bias")

void Dbm::pretrain(CMatRef data, const std::vector<TrainConfig>& configs, float init_stddev,
                   const EpochCallback& on_epoch, SharedBias shared_bias) {
  const size_t L = depth();
  if (configs.size() != L) {
    CRBM_FAIL("DBM pretraining needs one TrainConfig per layer (", configs.size(), " for ", L,
              " layers)");
  }
  CRBM_CHECK_THROW(data.cols == sizes_[0], "data has ", data.cols, " columns for ", sizes_[0],
                   " visible units");
  if (data.rows == 0) CRBM_FAIL("DBM pretraining data is empty");
  Backend& be = *backend_;
  std::vector<HostTensor> lower_hidden_bias(L + 1), upper_visible_bias(L + 1);
  Matrix current;
  CMatRef input = data;
  for (size_t l = 0; l < L; ++l) {
    const float up = (l == 0 && L > 1) ? 2.0f : 1.0f;
    const float down = (l + 1 == L && L > 1) ? 2.0f : 1.0f;
    Rbm rbm(be, sizes_[l], sizes_[l + 1]);
    rbm.init_random(configs[l].seed * 7919 + l, init_stddev, nullptr);
    {
      Matrix mean(be, 1, sizes_[l]);
      be.column_sums(input, 1.0f / static_cast<float>(input.rows), 0.0f, mean);
      HostTensor m = mean.download();
      for (float& x : m.data) x = static_cast<float>(clamped_log_odds(double(x)));
      rbm.visible_bias().upload(m);
    }
    ScaledCdTrainer trainer(rbm, configs[l], up, down);
    for (int e = 0; e < configs[l].epochs; ++e) {
      const EpochStats s = trainer.train_epoch(input);
      if (on_epoch) on_epoch(l, s);
    }
    // Middle layers count twice in the DBM (input from both neighbours): halve them.
    const bool middle = l > 0 && l + 1 < L;
    be.copy(rbm.weights(), weights_[l]);
    if (middle) {
      be.scale_add_activate(weights_[l], 0.5f, CMatRef{}, CMatRef{}, Activation::linear);
    }
    upper_visible_bias[l] = rbm.visible_bias().download();
    lower_hidden_bias[l + 1] = rbm.hidden_bias().download();
    if (l + 1 < L) {
      current = propagate_rows(be, input, sizes_[l + 1],
                               [&](CMatRef x, MatRef out) { trainer.hidden(x, out); });
      input = current;
    }
  }
  // Biases: v from layer 0; a shared layer gets the mean (or sum) of its two RBMs' biases.
  const float share = shared_bias == SharedBias::sum ? 1.0f : 0.5f;
  biases_[0].upload(upper_visible_bias[0]);
  for (size_t l = 1; l <= L; ++l) {
    HostTensor b = lower_hidden_bias[l];
    if (l < L) {
      for (int64_t i = 0; i < b.numel(); ++i) {
        b.data[i] = share * (b.data[i] + upper_visible_bias[l].data[i]);
      }
    }
    biases_[l].upload(b);
  }
  be.synchronize();
}

// ---- joint training ----

DbmTrainer::DbmTrainer(Dbm& dbm, DbmTrainConfig config)
    : dbm_(dbm), config_(std::move(config)), be_(dbm.backend()) {
  config_.validate();
  for (size_t l = 0; l < dbm.depth(); ++l) {
    const int64_t r = dbm.layer_size(l), c = dbm.layer_size(l + 1);
    grad_w_.emplace_back(be_, r, c);
    vel_w_.emplace_back(be_, r, c);
    be_.fill(vel_w_.back(), 0.0f);
  }
  for (size_t l = 0; l <= dbm.depth(); ++l) {
    grad_b_.emplace_back(be_, 1, dbm.layer_size(l));
    vel_b_.emplace_back(be_, 1, dbm.layer_size(l));
    be_.fill(vel_b_.back(), 0.0f);
    if (l > 0) sparsity_.emplace_back(be_, dbm.layer_size(l));
  }
  if (config_.sparsity_targets.size() > dbm.depth()) {
    CRBM_FAIL("invalid DBM training configuration: sparsity_targets has ",
              config_.sparsity_targets.size(), " entries for ", dbm.depth(), " hidden layers");
  }
  for (size_t l = 1; l <= dbm.depth(); ++l) {
    layer_sgd_.push_back(config_);
    layer_sgd_.back().sparsity_target = config_.sparsity_target_of(l);
  }
  if (config_.sparsity_weight_gradient) {
    for (size_t l = 0; l <= dbm.depth(); ++l) layer_mean_.emplace_back(be_, 1, dbm.layer_size(l));
  }
  if (dbm.labelled()) {
    const int64_t top = dbm.layer_size(dbm.depth()), k = dbm.num_classes();
    grad_u_ = Matrix(be_, top, k);
    vel_u_ = Matrix(be_, top, k);
    grad_c_ = Matrix(be_, 1, k);
    vel_c_ = Matrix(be_, 1, k);
    be_.fill(vel_u_, 0.0f);
    be_.fill(vel_c_, 0.0f);
  }
}

void DbmTrainer::resume(int epochs_done, int64_t updates_done) {
  if (epochs_done < 0 || updates_done < 0) {
    CRBM_FAIL("DBM resume: epochs_done ", epochs_done, " and updates_done ", updates_done,
              " must be >= 0");
  }
  if (epoch_ != 0 || updates_ != 0 || !chains_.empty()) {
    CRBM_FAIL("DBM resume: the trainer has already run (", updates_, " updates)");
  }
  epoch_ = epochs_done;
  updates_ = updates_done;
}

double DbmTrainer::learning_rate() const {
  return config_.learning_rate_at(epoch_, updates_);
}
double DbmTrainer::momentum() const {
  return config_.momentum_at(epoch_);
}

void DbmTrainer::update(CMatRef batch) {
  if (dbm_.labelled()) {
    CRBM_FAIL("DBM training: the DBM has a label group of ", dbm_.num_classes(),
              " classes; give the minibatch's labels (update(batch, labels))");
  }
  update(batch, CMatRef{});
}

void DbmTrainer::update(CMatRef batch, CMatRef labels) {
  const int64_t b = batch.rows;
  const size_t L = dbm_.depth();
  CRBM_CHECK_THROW(batch.cols == dbm_.layer_size(0), "minibatch has ", batch.cols, " columns for ",
                   dbm_.layer_size(0), " visible units");
  const bool labelled = labels.data != nullptr;
  if (labelled || dbm_.labelled()) {
    if (!dbm_.labelled()) CRBM_FAIL("DBM training: labels given for a DBM without a label group");
    CRBM_CHECK_THROW(labelled,
                     "DBM training: the DBM has a label group; the minibatch needs labels");
    CRBM_CHECK_THROW(labels.rows == b && labels.cols == dbm_.num_classes(),
                     "DBM training: labels are ", labels.rows, "x", labels.cols,
                     " for a minibatch of ", b, " rows and ", dbm_.num_classes(), " classes");
  }
  if (b == 0) return;
  CMatRef v0 = batch;
  if (config_.resample_binarization) {
    if (v_bin_.rows() < b) v_bin_ = Matrix(be_, b, batch.cols);
    MatRef vb = v_bin_.rows_view(0, b);
    be_.sample_bernoulli(batch, vb, RngKey{config_.seed, kStreamDbmBinarize, uint64_t(updates_)});
    v0 = vb;
  }
  dbm_.mean_field(v0, config_.mean_field_sweeps, mu_, &logits_, labels);
  if (chains_.empty()) {
    std::vector<int64_t> sizes;
    for (size_t l = 0; l <= L; ++l) sizes.push_back(dbm_.layer_size(l));
    if (labelled) sizes.push_back(dbm_.num_classes());
    // Chains start at (binarized) data rows and samples of their mean-field posterior (and
    // the rows' labels).
    dbm_ensure_rows(be_, chains_, sizes.size(), config_.chains, sizes);
    dbm_ensure_rows(be_, chain_probs_, sizes.size(), config_.chains, sizes);
    std::vector<int32_t> rows(static_cast<size_t>(config_.chains));
    for (int64_t i = 0; i < config_.chains; ++i) rows[i] = static_cast<int32_t>(i % b);
    for (size_t l = 0; l <= L; ++l) {
      be_.gather_rows(l == 0 ? v0 : CMatRef(mu_[l - 1]), rows, chain_probs_[l]);
      be_.sample_bernoulli(chain_probs_[l], chains_[l], RngKey{config_.seed, kStreamDbmInit, l});
    }
    if (labelled) {
      be_.gather_rows(labels, rows, chain_probs_[L + 1]);
      be_.copy(chain_probs_[L + 1], chains_[L + 1]);
    }
  }
  for (int s = 0; s < config_.gibbs_steps; ++s) {
    dbm_gibbs_step(dbm_, chains_, chain_probs_, config_.seed,
                   uint64_t(updates_) * uint64_t(config_.gibbs_steps) + uint64_t(s));
  }
  const float inv_b = 1.0f / static_cast<float>(b);
  const float inv_c = 1.0f / static_cast<float>(config_.chains);
  for (size_t l = 0; l < L; ++l) {
    const CMatRef x = l == 0 ? v0 : CMatRef(mu_[l - 1]);
    be_.gemm(true, false, inv_b, x, mu_[l], 0.0f, grad_w_[l]);
    be_.gemm(true, false, -inv_c, chains_[l], chains_[l + 1], 1.0f, grad_w_[l]);
  }
  for (size_t l = 0; l <= L; ++l) {
    be_.column_sums(l == 0 ? v0 : CMatRef(mu_[l - 1]), inv_b, 0.0f, grad_b_[l]);
    be_.column_sums(chains_[l], -inv_c, 1.0f, grad_b_[l]);
  }
  if (labelled) {
    be_.gemm(true, false, inv_b, mu_[L - 1], labels, 0.0f, grad_u_);
    be_.gemm(true, false, -inv_c, chains_[L], chains_[L + 1], 1.0f, grad_u_);
    be_.column_sums(labels, inv_b, 0.0f, grad_c_);
    be_.column_sums(chains_[L + 1], -inv_c, 1.0f, grad_c_);
  }
  // Sparsity: each hidden layer with a target, from its data-side mean-field activity.
  if (config_.sparsity_weight_gradient) {
    for (size_t l = 0; l <= L; ++l) {
      be_.column_sums(l == 0 ? v0 : CMatRef(mu_[l - 1]), inv_b, 0.0f, layer_mean_[l]);
    }
  }
  for (size_t l = 1; l <= L; ++l) {
    const SgdConfig& lc = layer_sgd_[l - 1];
    if (!SparsityTerm::enabled(lc)) continue;
    SparsityTerm& term = sparsity_[l - 1];
    be_.column_sums(mu_[l - 1], inv_b, 0.0f, term.batch_mean());
    term.apply(lc, grad_b_[l]);
    if (config_.sparsity_weight_gradient) {
      // apply() leaves t_l - q_l in batch_mean() (sgd.hpp); the weights on both sides of
      // layer l take its outer product with the other side's mean activity.
      const CMatRef gap = term.batch_mean();
      const float cost = lc.sparsity_cost;
      be_.gemm(true, false, cost, layer_mean_[l - 1], gap, 1.0f, grad_w_[l - 1]);
      if (l < L) be_.gemm(true, false, cost, gap, layer_mean_[l + 1], 1.0f, grad_w_[l]);
    }
  }
  const StepRates rates = step_rates(config_, epoch_, updates_);
  for (size_t l = 0; l < L; ++l) {
    momentum_step(be_, dbm_.weights(l), vel_w_[l], grad_w_[l], rates, config_, Decay::weights);
  }
  for (size_t l = 0; l <= L; ++l) {
    momentum_step(be_, dbm_.bias(l), vel_b_[l], grad_b_[l], rates, config_, Decay::none);
  }
  if (labelled) {  // U decays like the weights, c like the biases
    momentum_step(be_, dbm_.label_weights(), vel_u_, grad_u_, rates, config_, Decay::weights);
    momentum_step(be_, dbm_.label_bias(), vel_c_, grad_c_, rates, config_, Decay::none);
  }
  ++updates_;
}

DbmEpochStats DbmTrainer::train_epoch(CMatRef data) {
  if (dbm_.labelled()) {
    CRBM_FAIL("DBM training: the DBM has a label group of ", dbm_.num_classes(),
              " classes; train_epoch needs the rows' labels");
  }
  return train_epoch(data, std::vector<int32_t>{});
}

DbmEpochStats DbmTrainer::train_epoch(CMatRef data, const std::vector<int32_t>& labels) {
  const int64_t n = data.rows;
  if (n == 0) CRBM_FAIL("DBM training data is empty");
  const bool labelled = dbm_.labelled();
  if (!labelled && !labels.empty()) {
    CRBM_FAIL("DBM training: ", labels.size(), " labels for a DBM without a label group");
  }
  std::vector<int32_t> order;  // labelled: this epoch's row order (for_each_shuffled_batch's)
  if (labelled) {
    if (static_cast<int64_t>(labels.size()) != n) {
      CRBM_FAIL("DBM training: ", labels.size(), " labels for ", n, " rows of data");
    }
    const Matrix all = Matrix::from_host(be_, one_hot(labels, int(dbm_.num_classes())));
    order = shuffled_indices(n, config_.seed, static_cast<uint64_t>(epoch_));
    if (shuffled_labels_.rows() != n) shuffled_labels_ = Matrix(be_, n, dbm_.num_classes());
    be_.gather_rows(all, order, shuffled_labels_);
  }
  int64_t first = 0;  // the minibatch's first row in the shuffled order
  DbmEpochStats st = run_shuffled_epoch<DbmEpochStats>(
      be_, data, shuffled_, config_, epoch_, updates_, [&](CMatRef b) {
        if (labelled) {
          update(b, shuffled_labels_.rows_view(first, b.rows));
        } else {
          update(b, CMatRef{});
        }
        first += b.rows;
      });
  for (size_t l = 0; l < dbm_.depth(); ++l) {
    if (!be_.all_finite(dbm_.weights(l))) {
      throw divergence_error("DBM training", epoch_, learning_rate());
    }
  }
  if (labelled && !be_.all_finite(dbm_.label_weights())) {
    throw divergence_error("DBM training", epoch_, learning_rate());
  }
  // Statistics on the first rows of this epoch's order.
  const int64_t m = std::min<int64_t>(n, 1000);
  const CMatRef subset = shuffled_.rows_view(0, m);
  std::vector<Matrix> mu;
  dbm_.mean_field(subset, config_.mean_field_sweeps, mu);
  Matrix recon(be_, m, dbm_.layer_size(0));
  dbm_layer_logits(dbm_, 0, CMatRef{}, mu[0], recon);
  be_.scale_add_activate(recon, 1.0f, CMatRef{}, CMatRef{}, Activation::sigmoid);
  st.reconstruction_error = be_.sum_squared_diff(subset, recon) / static_cast<double>(m);
  for (size_t l = 0; l < dbm_.depth(); ++l) st.mean_activation.push_back(be_.mean(mu[l]));
  if (labelled) {  // the same rows classified by their free q(y)
    const HostTensor q = mu[dbm_.depth()].download();
    const int64_t k = dbm_.num_classes();
    int64_t wrong = 0;
    for (int64_t r = 0; r < m; ++r) {
      const float* row = q.data.data() + r * k;
      wrong += (std::max_element(row, row + k) - row) != labels[order[r]] ? 1 : 0;
    }
    st.label_error = static_cast<double>(wrong) / static_cast<double>(m);
  }
  ++epoch_;
  st.epoch = epoch_;
  st.warnings = dbm_health_warnings(st, last_.epoch > 0 ? &last_ : nullptr, lowest_recon_);
  lowest_recon_ =
      last_.epoch > 0 ? std::min(lowest_recon_, st.reconstruction_error) : st.reconstruction_error;
  last_ = st;
  return st;
}

std::vector<std::string> dbm_health_warnings(const DbmEpochStats& cur, const DbmEpochStats* prev,
                                             double lowest_recon) {
  std::vector<std::string> out;
  for (size_t l = 0; l < cur.mean_activation.size(); ++l) {
    const double a = cur.mean_activation[l];
    if (a < 0.005 || a > 0.995) {
      out.push_back(fmt::format("hidden layer {} is {} (mean activity {:.4g})", l + 1,
                                a < 0.5 ? "nearly dead" : "saturated", a));
    } else if (prev != nullptr && l < prev->mean_activation.size()) {
      const double p = prev->mean_activation[l];
      if (std::abs(a - p) > 0.02 && std::abs(a - p) > 0.2 * p) {
        out.push_back(
            fmt::format("hidden layer {} mean activity {} from {:.3f} to {:.3f} in one epoch",
                        l + 1, a > p ? "rose" : "fell", p, a));
      }
    }
  }
  if (prev != nullptr && lowest_recon > 0 && cur.reconstruction_error > 1.3 * lowest_recon) {
    out.push_back(fmt::format("reconstruction error {:.4g} is {:.2f}x the lowest so far ({:.4g})",
                              cur.reconstruction_error, cur.reconstruction_error / lowest_recon,
                              lowest_recon));
  }
  if (!out.empty()) {
    out.back() +=
        fmt::format("; the learning rate or momentum may be too large (lr {:g}, momentum {:g})",
                    cur.learning_rate, cur.momentum);
  }
  return out;
}

}  // namespace crbm
