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

class CdTrainer {
 public:
  CdTrainer(Rbm& rbm, TrainConfig config);

  // One epoch over `data` [N x V] (backend memory): shuffled minibatches from
  // the seed, updates, then epoch statistics (on up to `stats_rows` rows).
  // `holdout` may be empty. Throws DivergenceError after restoring last_good().
  EpochStats train_epoch(CMatRef data, CMatRef holdout = CMatRef{}, int64_t stats_rows = 1000);
  // One update from a minibatch [B x V].
  void update(CMatRef batch);

  const TrainConfig& config() const { return config_; }
  int epoch() const { return epoch_; }
  int64_t updates() const { return updates_; }
  const RbmParams& last_good() const { return last_good_; }
  double current_learning_rate() const;
  double current_momentum() const;

 private:
  void ensure_buffers(int64_t batch);
  void update_body(CMatRef batch);  // the math of one update, keyed by updates_
  bool graphs_enabled() const;
  void graph_update(CMatRef batch);
  void check_finite(const char* where);

  Rbm& rbm_;
  TrainConfig config_;
  Backend& be_;
  int epoch_ = 0;
  int64_t updates_ = 0;
  int64_t buffer_rows_ = 0;
  RbmParams last_good_;
  Matrix shuffled_;                            // [N x V]
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

}  // namespace crbm
