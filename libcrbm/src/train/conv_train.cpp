// CD-k / PCD-k training of a ConvRbm against the Backend and ConvOps operations
// (update equations in conv_train.hpp). Statistics use hidden probabilities on
// both sides; the negative chain samples whole pooling blocks (one multinomial
// draw per block), and the final negative visible layer is the mean unless
// sample_negative_visible is set.
#include "crbm/conv_train.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "crbm/gibbs.hpp"
#include "rng_streams.hpp"
#include "train/config_check.hpp"

namespace crbm {
using namespace rng_stream::conv;  // Philox stream ids (rng_streams.hpp)

void ConvTrainConfig::validate() const {
  validate_sgd("conv training");
  const detail::ConfigCheck check("conv training");
  check.cd(cd_k, pcd_chains, divergence_check_every);
  check.fail_if(!(sigma_decay > 0.0f && sigma_decay <= 1.0f), "sigma_decay", sigma_decay,
                "must be in (0, 1]");
  check.fail_if(!(sigma_min >= 0.0f), "sigma_min", sigma_min, "must be >= 0");
}

std::string ConvTrainConfig::to_json() const {
  nlohmann::json j = detail::sgd_json(*this);
  detail::add_cd_json(*this, j);
  j["sigma_decay"] = detail::as_decimal(sigma_decay);
  j["sigma_min"] = detail::as_decimal(sigma_min);
  return j.dump();
}

ConvTrainer::ConvTrainer(ConvRbm& rbm, ConvTrainConfig config)
    : rbm_(rbm), config_(std::move(config)), be_(rbm.backend()), ops_(rbm.ops()) {
  config_.validate();
  const ConvShape s = rbm.shape(1);
  step_ = RbmStep(be_, s.filters, s.filter_volume(), s.channels, s.filters);
  negative_ = std::make_unique<CdNegativePhase>(
      be_, conv_gibbs_model(rbm, config_.seed, kStreamHidden, kStreamVisible, kStreamChainInit),
      config_, config_.batch_size, rbm.visible_size(), 0, rbm.hidden_size());
}

void ConvTrainer::ensure_buffers(int64_t rows) {
  if (rows <= buffer_rows_) return;
  const int64_t h = rbm_.hidden_size();
  logits_ = Matrix(be_, rows, h);
  h0_ = Matrix(be_, rows, h);
  buffer_rows_ = rows;
}

void ConvTrainer::check_finite(const char* where) {
  if (rbm_.parameters_finite()) return;
  const int failed_epoch = epoch_ + 1;
  if (have_last_good_) rbm_.load(last_good_);
  throw DivergenceError(concat(
      "conv RBM training diverged in epoch ", failed_epoch, " (update ", updates_, ", ", where,
      "): the parameters became NaN/Inf; they were restored to the end of epoch ", epoch_,
      ". Lower the learning rate (now ", current_learning_rate(), ") or the momentum."));
}

void ConvTrainer::update(CMatRef batch) {
  const int64_t b = batch.rows;
  CRBM_CHECK_THROW(batch.cols == rbm_.visible_size(), "conv minibatch has ", batch.cols,
                   " columns for ", rbm_.visible_size(), " visible units");
  if (b == 0) return;
  ensure_buffers(std::max(b, config_.batch_size));
  const ConvShape s = rbm_.shape(1);

  // Positive phase.
  MatRef h0 = h0_.rows_view(0, b);
  MatRef logits0 = logits_.rows_view(0, b);
  rbm_.hidden_logits(batch, logits0);
  rbm_.hidden_probs_from_logits(logits0, h0, MatRef{});

  // Negative phase: (vk, hk) with r rows (B for CD, the chains for PCD).
  const CdNegativePhase::Sample negative = negative_->run(batch, logits0, updates_);
  const CMatRef vk = negative.v.units, hk = negative.h;
  const int64_t r = vk.rows;

  // Statistics, normalised per hidden (visible) position as in the paper.
  const float scale = rbm_.hidden_input_scale();
  const float q_pos = static_cast<float>(s.hidden_plane());
  const float v_pos = static_cast<float>(s.visible_plane());
  const float inv_b = 1.0f / static_cast<float>(b), inv_r = 1.0f / static_cast<float>(r);
  const MatRef grad_w = step_.grad_w(), grad_hb = step_.grad_hidden();
  const MatRef grad_vb = step_.grad_visible();
  ops_.weight_grad(s.with_batch(b), batch, h0, scale * inv_b / q_pos, 0.0f, grad_w);
  ops_.weight_grad(s.with_batch(r), vk, hk, -scale * inv_r / q_pos, 1.0f, grad_w);
  ops_.channel_sums(h0, s.filters, inv_b / q_pos, 0.0f, grad_hb);
  ops_.channel_sums(hk, s.filters, -inv_r / q_pos, 1.0f, grad_hb);
  ops_.channel_sums(batch, s.channels, scale * inv_b / v_pos, 0.0f, grad_vb);
  ops_.channel_sums(vk, s.channels, -scale * inv_r / v_pos, 1.0f, grad_vb);
  if (const MatRef q = step_.sparsity_mean(config_); q.data != nullptr) {
    ops_.channel_sums(h0, s.filters, inv_b / q_pos, 0.0f, q);
  }
  step_.apply(config_, epoch_, updates_, {rbm_.filters(), rbm_.visible_bias(), rbm_.hidden_bias()});
  ++updates_;
  if (updates_ % config_.divergence_check_every == 0) check_finite("periodic check");
}

ConvEpochStats ConvTrainer::train_epoch(CMatRef data, int64_t stats_rows) {
  const int64_t n = data.rows;
  CRBM_CHECK_THROW(data.cols == rbm_.visible_size(), "conv training data has ", data.cols,
                   " columns for ", rbm_.visible_size(), " visible units");
  if (n == 0) CRBM_FAIL("conv training data is empty");
  if (!have_last_good_) {
    last_good_ = rbm_.to_host();
    have_last_good_ = true;
  }
  ConvEpochStats stats;
  stats.learning_rate = current_learning_rate();
  stats.sigma = rbm_.sigma();
  // One gather per epoch into a device copy; the minibatches are row views of it (the
  // same order as gathering each batch, with no host round trip inside an update).
  stats.seconds = for_each_shuffled_batch(be_, data, shuffled_, config_.seed, uint64_t(epoch_),
                                          config_.batch_size, [this](CMatRef b) { update(b); });
  stats.samples_per_second = stats.seconds > 0 ? n / stats.seconds : 0.0;
  check_finite("end of epoch");

  // Statistics on the first rows of this epoch's shuffle.
  const int64_t m = std::min(stats_rows > 0 ? stats_rows : n, n);
  const ConvShape s = rbm_.shape(m);
  const CMatRef subset = shuffled_.rows_view(0, m);
  Matrix hprob(be_, m, rbm_.hidden_size()), pooled(be_, m, rbm_.pooled_size()),
      recon(be_, m, rbm_.visible_size()), per_filter(be_, 1, s.filters);
  rbm_.hidden_given_visible(subset, hprob, pooled);
  rbm_.visible_mean_given_hidden(hprob, recon);
  stats.reconstruction_error = be_.sum_squared_diff(subset, recon) / static_cast<double>(m);
  auto mean_of = [&](CMatRef x, int64_t plane) {
    ops_.channel_sums(x, s.filters, 1.0f / static_cast<float>(m * plane), 0.0f, per_filter);
    double total = 0.0;
    for (float v : per_filter.download().data) total += v;
    return total / static_cast<double>(s.filters);
  };
  stats.mean_hidden_activation = mean_of(hprob, s.hidden_plane());
  stats.mean_pooled_activation = mean_of(pooled, s.pooled_plane());
  stats.free_energy = rbm_.mean_free_energy(subset);
  if (!std::isfinite(stats.reconstruction_error) || !std::isfinite(stats.free_energy)) {
    rbm_.load(last_good_);
    throw restored_divergence_error("conv RBM training", epoch_);
  }
  finish_epoch(stats, epoch_, updates_);
  if (rbm_.visible_type() == VisibleType::gaussian && config_.sigma_decay < 1.0f) {
    rbm_.set_sigma(std::max(rbm_.sigma() * config_.sigma_decay, config_.sigma_min));
  }
  last_good_ = rbm_.to_host();
  return stats;
}

}  // namespace crbm
