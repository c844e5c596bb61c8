// Training a dense RBM by contrastive divergence (CD-k) or persistent CD
// (PCD-k, Tieleman 2008). The gradient of the mean log-likelihood is
// <v h'>_data - <v h'>_model; both terms use hidden probabilities, not samples
// (Hinton's practical guide, section 3). Updates: momentum, L2 (and L1)
// weight decay on W, a sparsity target on the hidden units' running mean
// activation, and the learning-rate schedule of crbm/sgd.hpp (lr / (1 + decay * epoch) by
// default), all through the optimizer step of crbm/sgd.hpp.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "crbm/cuda_graph.hpp"
#include "crbm/data.hpp"
#include "crbm/gibbs.hpp"
#include "crbm/rbm.hpp"
#include "crbm/sgd.hpp"

namespace crbm {

// SGD settings (SgdConfig, crbm/sgd.hpp) with its defaults: 10 epochs, batch 100,
// lr 0.05, momentum 0.5 -> 0.9 after 5 epochs, L2 2e-4, sparsity cost 0.1 (off);
// CD settings (CdConfig): CD-1.
struct TrainConfig : SgdConfig, CdConfig {
  bool resample_binarization = false;  // data rows are probabilities: draw binary v each batch
  bool use_cuda_graphs = true;  // CUDA backend: replay each epoch's full-batch update as a graph

  // Throws crbm::Error naming the first invalid field.
  void validate() const;
  std::string to_json() const;
};

struct EpochStats {
  int epoch = 0;                    // 1-based
  int64_t updates = 0;              // total so far
  double reconstruction_error = 0;  // mean squared error per example (sum over units)
  double free_energy_train = 0;     // mean F over (a subset of) the training rows
  double free_energy_holdout = 0;   // mean F over the held-out rows (0 if none)
  double seconds = 0;
  // From the start of train_epoch to the return of its first update (on the CPU the
  // update has completed; a CUDA update may still be running), shuffling included.
  double first_update_seconds = 0;
  double samples_per_second = 0;
  double learning_rate = 0;
  double momentum = 0;
  double mean_hidden_activation = 0;
};

// Raised when parameters or statistics become NaN/Inf; the model keeps the
// last parameters that were finite at an epoch boundary (see last_good()).
class DivergenceError : public Error {
 public:
  using Error::Error;
};

// The DivergenceError of a trainer whose parameters stopped being finite in the epoch
// after `finished_epochs`: "<what> diverged in epoch E; lower the learning rate (now L)".
DivergenceError divergence_error(const std::string& what, int finished_epochs,
                                 double learning_rate);

// The same when the epoch's statistics came out NaN/Inf and the trainer restored the
// parameters of its last finished epoch.
DivergenceError restored_divergence_error(const std::string& what, int finished_epochs);

// An epoch's reconstruction statistics from rows `x`, their mean-field reconstruction
// `recon` and the hidden probabilities `h` behind it: the mean squared error per row and
// the mean hidden activation.
void set_reconstruction_stats(Backend& be, CMatRef x, CMatRef recon, CMatRef h, EpochStats& st);

// Closes an epoch's bookkeeping: counts it on the trainer's finished-epoch counter and
// stamps the stats with that count and the updates so far.
template <class Stats>
Stats& finish_epoch(Stats& stats, int& epoch, int64_t updates) {
  stats.epoch = ++epoch;
  stats.updates = updates;
  return stats;
}

class CdTrainer {
 public:
  CdTrainer(Rbm& rbm, TrainConfig config);

  // One epoch over `data` [N x V] (backend memory): shuffled minibatches from
  // the seed, updates, then epoch statistics (on up to `stats_rows` rows).
  // `holdout` may be empty. Throws DivergenceError after restoring last_good().
  EpochStats train_epoch(CMatRef data, CMatRef holdout = CMatRef{}, int64_t stats_rows = 1000);
  // The same epoch over uint8 rows in host memory (HostBytes: value = byte * scale): each
  // minibatch is converted to float as it is used, so no float copy of the data set exists.
  // The same seed gives the same minibatches, the same floats and the same parameters as
  // train_epoch on the converted data.
  EpochStats train_epoch(const HostBytes& data, CMatRef holdout = CMatRef{},
                         int64_t stats_rows = 1000);
  // One update from a minibatch [B x V].
  void update(CMatRef batch);

  const TrainConfig& config() const { return config_; }
  int epoch() const { return epoch_; }
  int64_t updates() const { return updates_; }
  const RbmParams& last_good() const { return last_good_; }
  double current_learning_rate() const { return config_.learning_rate_at(epoch_, updates_); }
  double current_momentum() const { return config_.momentum_at(epoch_); }

 private:
  void ensure_buffers(int64_t batch);
  void update_body(CMatRef batch);  // the math of one update, keyed by updates_
  bool graphs_enabled() const;
  void graph_update(CMatRef batch);
  void check_finite(const char* where);
  // The epoch around a pass over n rows: `pass` runs the minibatches through `step` and
  // returns the seconds; `subset(m)` gives the first m rows of the epoch's shuffle.
  EpochStats run_epoch(int64_t n, CMatRef holdout, int64_t stats_rows,
                       const std::function<double(const std::function<void(CMatRef)>&)>& pass,
                       const std::function<CMatRef(int64_t)>& subset);

  Rbm& rbm_;
  TrainConfig config_;
  Backend& be_;
  int epoch_ = 0;
  int64_t updates_ = 0;
  int64_t buffer_rows_ = 0;
  RbmParams last_good_;
  Matrix shuffled_;                            // [N x V] (float data)
  Matrix byte_batch_, byte_subset_;            // [B x V], [m x V] (uint8 data, converted)
  Matrix v_bin_, h0_;                          // [B x V] / [B x H]
  std::unique_ptr<CdNegativePhase> negative_;  // CD-k / PCD-k chains (crbm/gibbs.hpp)
  Matrix vs_scratch_;                          // [max(B,C) x V]
  RbmStep step_;  // gradients [V x H], [1 x V], [1 x H], their velocities, the sparsity term
  std::unique_ptr<CudaGraph> graph_;  // this epoch's captured update (CUDA)
  Matrix graph_batch_;                // the graph's minibatch buffer [B x V]
};

// Fisher-Yates permutation of [0, n) from (seed, epoch), identical on every
// machine.
std::vector<int32_t> shuffled_indices(int64_t n, uint64_t seed, uint64_t epoch);

// One pass over `data` [N x D] in minibatches of `batch` rows, shuffled by
// (seed, epoch): the rows are gathered once into `shuffled` (resized as
// needed) and `update` sees contiguous slices; the last one may be shorter.
// Returns the wall time in seconds, after synchronising the backend.
double for_each_shuffled_batch(Backend& backend, CMatRef data, Matrix& shuffled, uint64_t seed,
                               uint64_t epoch, int64_t batch,
                               const std::function<void(CMatRef)>& update);
// The same pass over uint8 rows in host memory: each minibatch's rows are gathered and
// converted to float into `batch_buffer` (resized as needed; on the CPU backend directly,
// elsewhere through a host buffer and one upload), so `update` sees the same minibatches
// with the same floats as the float version on data.to_float().
double for_each_shuffled_batch(Backend& backend, const HostBytes& data, Matrix& batch_buffer,
                               uint64_t seed, uint64_t epoch, int64_t batch,
                               const std::function<void(CMatRef)>& update);
// An epoch of the minibatch trainers that share it: the learning rate and momentum it
// starts with (the config's schedule after `epoch` epochs and `updates` updates), then
// for_each_shuffled_batch with the config's seed and batch size, and its wall time.
template <class Stats>
Stats run_shuffled_epoch(Backend& be, CMatRef data, Matrix& shuffled, const SgdConfig& config,
                         int epoch, int64_t updates, const std::function<void(CMatRef)>& update) {
  Stats st;
  st.learning_rate = config.learning_rate_at(epoch, updates);
  st.momentum = config.momentum_at(epoch);
  st.seconds = for_each_shuffled_batch(be, data, shuffled, config.seed,
                                       static_cast<uint64_t>(epoch), config.batch_size, update);
  return st;
}

// The next layer's input in greedy layer-wise pretraining: up(rows, out) on every row of
// `input`, in chunks of 8,192 rows (bounded temporaries), into a new [N x cols] matrix.
Matrix propagate_rows(Backend& be, CMatRef input, int64_t cols,
                      const std::function<void(CMatRef, MatRef)>& up);

// dst = rows index[first, first + dst.rows) of `data` as floats (dst.cols == data.cols), in
// backend memory: written in place on the CPU backend, uploaded from a host buffer elsewhere.
void gather_byte_rows(Backend& backend, const HostBytes& data, const std::vector<int32_t>& index,
                      int64_t first, MatRef dst);

}  // namespace crbm
