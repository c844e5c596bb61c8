// CD-k / PCD-k training of a dense RBM against the Backend operations.
// One update (B rows, C negative chains; C = B for CD):
//   h0 = P(h|v0);  negative chain -> (vk, hk = P(h|vk))
//   dW = (v0/s)'h0 / B - (vk/s)'hk / C,  db = (sum v0/B - sum vk/C) / s^2,
//   dc = sum h0/B - sum hk/C  (+ lambda (p - q) with the sparsity target)
//   velocity = m velocity + lr (grad - l2 W - l1 sign W);  param += velocity
#include "crbm/train.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "crbm/cuda_graph.hpp"
#include "crbm/gibbs.hpp"
#include "philox.cuh"
#include "rng_streams.hpp"
#include "train/config_check.hpp"

namespace crbm {
namespace {

using namespace rng_stream::cd;  // Philox stream ids (rng_streams.hpp)

}  // namespace

double detail::as_decimal(float x) {
  return std::stod(fmt::format("{}", x));
}

DivergenceError divergence_error(const std::string& what, int finished_epochs,
                                 double learning_rate) {
  return DivergenceError(concat(what, " diverged in epoch ", finished_epochs + 1,
                                "; lower the learning rate (now ", learning_rate, ")"));
}

DivergenceError restored_divergence_error(const std::string& what, int finished_epochs) {
  return DivergenceError(concat(what, " diverged in epoch ", finished_epochs + 1,
                                ": reconstruction error or free energy is NaN/Inf; parameters "
                                "restored to the end of epoch ",
                                finished_epochs, ". Lower the learning rate."));
}

void set_reconstruction_stats(Backend& be, CMatRef x, CMatRef recon, CMatRef h, EpochStats& st) {
  st.reconstruction_error = be.sum_squared_diff(x, recon) / static_cast<double>(x.rows);
  st.mean_hidden_activation = be.mean(h);
}

Matrix propagate_rows(Backend& be, CMatRef input, int64_t cols,
                      const std::function<void(CMatRef, MatRef)>& up) {
  Matrix next(be, input.rows, cols);
  const int64_t chunk = 8192;
  for (int64_t first = 0; first < input.rows; first += chunk) {
    const int64_t rows = std::min(chunk, input.rows - first);
    up(input.row_range(first, rows), next.rows_view(first, rows));
  }
  return next;
}

void TrainConfig::validate() const {
  validate_sgd("training");
  detail::ConfigCheck("training").cd(cd_k, pcd_chains, divergence_check_every);
}

std::string TrainConfig::to_json() const {
  nlohmann::json j = detail::sgd_json(*this);
  detail::add_cd_json(*this, j);
  j["resample_binarization"] = resample_binarization;
  return j.dump();
}

std::vector<int32_t> shuffled_indices(int64_t n, uint64_t seed, uint64_t epoch) {
  std::vector<int32_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[i] = static_cast<int32_t>(i);
  for (int64_t i = n - 1; i > 0; --i) {
    const philox::Words4 w = philox::block(seed, kStreamShuffle, epoch, static_cast<uint64_t>(i));
    const int64_t j = static_cast<int64_t>((static_cast<uint64_t>(w.x[0]) * (i + 1)) >> 32);
    std::swap(idx[i], idx[j]);
  }
  return idx;
}

double for_each_shuffled_batch(Backend& backend, CMatRef data, Matrix& shuffled, uint64_t seed,
                               uint64_t epoch, int64_t batch,
                               const std::function<void(CMatRef)>& update) {
  CRBM_CHECK_THROW(batch >= 1, "minibatch size ", batch);
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = data.rows;
  if (shuffled.rows() != n || shuffled.cols() != data.cols)
    shuffled = Matrix(backend, n, data.cols);
  backend.gather_rows(data, shuffled_indices(n, seed, epoch), shuffled);
  for (int64_t first = 0; first < n; first += batch) {
    update(shuffled.rows_view(first, std::min(batch, n - first)));
  }
  backend.synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void gather_byte_rows(Backend& backend, const HostBytes& data, const std::vector<int32_t>& index,
                      int64_t first, MatRef dst) {
  CRBM_CHECK_THROW(dst.cols == data.cols, "gather_byte_rows: a ", dst.rows, "x", dst.cols,
                   " destination for rows of ", data.cols, " values");
  CRBM_CHECK_THROW(dst.device == backend.device(), "gather_byte_rows destination is ",
                   to_string(dst.device), " memory, passed to the ", to_string(backend.device()),
                   " backend");
  if (dst.size() == 0) return;
  if (dst.device == Device::cpu) {  // backend memory is host memory: convert in place
    data.rows_to_float(index, first, dst.rows, dst.data);
    return;
  }
  std::vector<float> host(static_cast<size_t>(dst.size()));
  data.rows_to_float(index, first, dst.rows, host.data());
  backend.upload(host.data(), dst);
}

double for_each_shuffled_batch(Backend& backend, const HostBytes& data, Matrix& batch_buffer,
                               uint64_t seed, uint64_t epoch, int64_t batch,
                               const std::function<void(CMatRef)>& update) {
  CRBM_CHECK_THROW(batch >= 1, "minibatch size ", batch);
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = data.rows;
  const std::vector<int32_t> order = shuffled_indices(n, seed, epoch);
  const int64_t rows = std::min(batch, n);
  if (batch_buffer.rows() < rows || batch_buffer.cols() != data.cols) {
    batch_buffer = Matrix(backend, rows, data.cols);
  }
  for (int64_t first = 0; first < n; first += batch) {
    const MatRef minibatch = batch_buffer.rows_view(0, std::min(batch, n - first));
    gather_byte_rows(backend, data, order, first, minibatch);
    update(minibatch);
  }
  backend.synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

CdTrainer::CdTrainer(Rbm& rbm, TrainConfig config)
    : rbm_(rbm), config_(std::move(config)), be_(rbm.backend()) {
  config_.validate();
  const int64_t v = rbm.visible(), h = rbm.hidden();
  negative_ = std::make_unique<CdNegativePhase>(
      be_, rbm_gibbs_model(rbm, config_.seed, kStreamHidden, kStreamVisible, kStreamChainInit),
      config_, config_.batch_size, v, 0, h);
  step_ = RbmStep(be_, v, h, v, h);
}

void CdTrainer::ensure_buffers(int64_t batch) {
  if (batch <= buffer_rows_) return;
  const int64_t v = rbm_.visible(), h = rbm_.hidden();
  v_bin_ = Matrix(be_, batch, v);
  h0_ = Matrix(be_, batch, h);
  const int64_t chains = config_.pcd_chains > 0 ? config_.pcd_chains : config_.batch_size;
  vs_scratch_ = Matrix(be_, std::max(batch, chains), v);
  buffer_rows_ = batch;
}

void CdTrainer::check_finite(const char* where) {
  if (rbm_.parameters_finite()) return;
  const int failed_epoch = epoch_ + 1;
  if (!last_good_.weights.data.empty()) rbm_.load(last_good_);
  throw DivergenceError(
      concat("training diverged in epoch ", failed_epoch, " (update ", updates_, ", ", where,
             "): the parameters became NaN/Inf; they were restored to the end of epoch ", epoch_,
             ". Lower the learning rate (now ", current_learning_rate(), ") or the momentum."));
}

void CdTrainer::update(CMatRef batch) {
  CRBM_CHECK_THROW(batch.cols == rbm_.visible(), "minibatch has ", batch.cols, " columns for ",
                   rbm_.visible(), " visible units");
  if (batch.rows == 0) return;
  ensure_buffers(std::max(batch.rows, config_.batch_size));
  update_body(batch);
  ++updates_;
  if (updates_ % config_.divergence_check_every == 0) check_finite("periodic check");
}

bool CdTrainer::graphs_enabled() const {
  // A graph replays its learning rate: not with the per-update exponential schedule.
  return config_.use_cuda_graphs && is_cuda_backend(be_) &&
         config_.lr_schedule != LrSchedule::exponential;
}

void CdTrainer::graph_update(CMatRef batch) {
  // The graph reads its minibatch from a fixed buffer and replays the update
  // with the keys of consecutive updates (stride k per replay, see cuda_graph.hpp).
  if (graph_ == nullptr) {
    graph_batch_ = Matrix(be_, config_.batch_size, rbm_.visible());
    GraphCapture capture;
    capture.begin(be_, static_cast<uint64_t>(config_.cd_k));
    try {
      update_body(graph_batch_);
    } catch (...) {
      capture.end();
      throw;
    }
    graph_ = std::make_unique<CudaGraph>(capture.end());
  }
  be_.copy(batch, graph_batch_);
  graph_->launch();
}

void CdTrainer::update_body(CMatRef batch) {
  const int64_t b = batch.rows;
  const uint64_t k = static_cast<uint64_t>(config_.cd_k);
  CMatRef v0 = batch;
  if (config_.resample_binarization) {
    MatRef vb = v_bin_.rows_view(0, b);
    be_.sample_bernoulli(batch, vb, RngKey{config_.seed, kStreamBinarize, uint64_t(updates_) * k});
    v0 = vb;
  }
  MatRef h0 = h0_.rows_view(0, b);
  rbm_.hidden_given_visible(v0, h0);

  // Negative phase: (vk, hk) with B rows (CD) or the persistent chains (PCD).
  const CdNegativePhase::Sample negative = negative_->run(v0, h0, updates_);
  const CMatRef vk = negative.v.units, hk = negative.h;

  // Statistics (hidden probabilities on both sides).
  const float inv_b = 1.0f / static_cast<float>(b);
  const float inv_c = 1.0f / static_cast<float>(vk.rows);
  MatRef scratch = vs_scratch_.ref();
  // The scratch is reused for vk/s once v0/s has been consumed (stream order).
  step_.add_statistics(rbm_.scaled_visible(v0, scratch.row_range(0, b)), h0, inv_b, 0.0f);
  step_.add_statistics(rbm_.scaled_visible(vk, scratch.row_range(0, vk.rows)), hk, -inv_c, 1.0f);
  if (rbm_.visible_type() == VisibleType::gaussian && !rbm_.unit_sigma()) {
    be_.scale_add_activate(step_.grad_visible(), 1.0f, rbm_.inverse_sigma(), CMatRef{},
                           Activation::linear);
  }
  step_.add_hidden_mean(config_, h0, inv_b);
  step_.apply(config_, epoch_, updates_, {rbm_.weights(), rbm_.visible_bias(), rbm_.hidden_bias()});
}

namespace {
// The checks of both train_epoch overloads, in this order: the width against the visible
// units, the byte count of 8-bit rows (`bytes` >= 0 for those only), at least one row.
void check_training_data(int64_t rows, int64_t cols, int64_t visible, int64_t bytes = -1) {
  CRBM_CHECK_THROW(cols == visible, "training data has ", cols, " columns for ", visible,
                   " visible units");
  CRBM_CHECK_THROW(bytes < 0 || bytes == rows * cols, "training data: ", bytes, " bytes for ", rows,
                   " rows of ", cols, " values");
  if (rows == 0) CRBM_FAIL("training data is empty");
}

// The minibatch loop of one epoch over `data` (float or 8-bit rows) in that epoch's shuffled
// order, staged through `staging`: what run_epoch calls with each update.
template <class Rows>
std::function<double(const std::function<void(CMatRef)>&)> shuffled_batches(
    Backend& be, const Rows& data, Matrix& staging, const TrainConfig& c, int epoch) {
  return [&be, &data, &staging, &c, epoch](const std::function<void(CMatRef)>& step) {
    return for_each_shuffled_batch(be, data, staging, c.seed, static_cast<uint64_t>(epoch),
                                   c.batch_size, step);
  };
}
}  // namespace

EpochStats CdTrainer::train_epoch(CMatRef data, CMatRef holdout, int64_t stats_rows) {
  check_training_data(data.rows, data.cols, rbm_.visible());
  return run_epoch(data.rows, holdout, stats_rows,
                   shuffled_batches(be_, data, shuffled_, config_, epoch_),
                   [&](int64_t m) { return shuffled_.cref().row_range(0, m); });
}

EpochStats CdTrainer::train_epoch(const HostBytes& data, CMatRef holdout, int64_t stats_rows) {
  check_training_data(data.rows, data.cols, rbm_.visible(), static_cast<int64_t>(data.data.size()));
  const uint64_t epoch = static_cast<uint64_t>(epoch_);
  return run_epoch(data.rows, holdout, stats_rows,
                   shuffled_batches(be_, data, byte_batch_, config_, epoch_), [&](int64_t m) {
                     if (byte_subset_.rows() != m || byte_subset_.cols() != data.cols) {
                       byte_subset_ = Matrix(be_, m, data.cols);
                     }
                     gather_byte_rows(be_, data, shuffled_indices(data.rows, config_.seed, epoch),
                                      0, byte_subset_.ref());
                     return byte_subset_.cref();
                   });
}

EpochStats CdTrainer::run_epoch(
    int64_t n, CMatRef holdout, int64_t stats_rows,
    const std::function<double(const std::function<void(CMatRef)>&)>& pass,
    const std::function<CMatRef(int64_t)>& subset_rows) {
  if (last_good_.weights.data.empty()) last_good_ = rbm_.to_host();
  EpochStats stats;
  stats.learning_rate = current_learning_rate();
  stats.momentum = current_momentum();

  // Learning rate and momentum are constants of a captured graph, and buffers
  // may move between epochs: capture afresh each epoch.
  graph_.reset();
  const auto start = std::chrono::steady_clock::now();
  const int64_t updates_before = updates_;
  stats.seconds = pass([&](CMatRef batch) {
    // The first update runs eagerly: it allocates buffers and starts PCD chains.
    if (graphs_enabled() && batch.rows == config_.batch_size && updates_ > 0) {
      ensure_buffers(batch.rows);
      graph_update(batch);
      ++updates_;
      if (updates_ % config_.divergence_check_every == 0) check_finite("periodic check");
    } else {
      update(batch);
    }
    if (updates_ == updates_before + 1) {
      stats.first_update_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
  });
  stats.samples_per_second = stats.seconds > 0 ? n / stats.seconds : 0.0;

  check_finite("end of epoch");
  // Statistics on a random subset (the first rows of this epoch's shuffle).
  const int64_t m = std::min(stats_rows > 0 ? stats_rows : n, n);
  const CMatRef subset = subset_rows(m);
  Matrix hprob(be_, m, rbm_.hidden());
  Matrix recon(be_, m, rbm_.visible());
  rbm_.hidden_given_visible(subset, hprob);
  rbm_.visible_mean_given_hidden(hprob, recon);
  set_reconstruction_stats(be_, subset, recon, hprob, stats);
  stats.free_energy_train = rbm_.mean_free_energy(subset);
  if (holdout.rows > 0) {
    stats.free_energy_holdout =
        rbm_.mean_free_energy(holdout.row_range(0, std::min(holdout.rows, m)));
  }
  if (!std::isfinite(stats.reconstruction_error) || !std::isfinite(stats.free_energy_train)) {
    if (!last_good_.weights.data.empty()) rbm_.load(last_good_);
    throw restored_divergence_error("training", epoch_);
  }
  finish_epoch(stats, epoch_, updates_);
  last_good_ = rbm_.to_host();
  return stats;
}

}  // namespace crbm
