// Collaborative filtering with the ratings RBM (Salakhutdinov, Mnih & Hinton, ICML 2007).
// Every user is an RBM over only the items they rated: K-way softmax visible units
// v_i (one per rated item i, levels 0..K-1), binary hidden units h [H], and all users
// share one weight tensor W [I, K, H] and biases b [I, K], c [H]:
//   E(v, h) = -sum_{i rated} sum_k v_i^k (b_i^k + sum_j W_i^kj h_j) - sum_j c_j h_j
//   P(h_j = 1 | v) = sigm(c_j + sum_{i rated} sum_k v_i^k W_i^kj  [+ sum_{i in r} D_ij])
//   P(v_i^k = 1 | h) = softmax_k(b_i^k + sum_j W_i^kj h_j)
// The conditional variant adds D [I, H]: r = the items the user rated (with or without a
// known rating, e.g. the held-out ones) shifts the hidden input by sum_{i in r} D_i.
// Prediction (the paper's rule): p = P(h = 1 | the user's ratings) by one mean-field up
// pass, then P(v_q^k = 1 | p) = softmax_k(b_q^k + sum_j p_j W_q^kj) and the predicted
// rating is sum_k value_k P(v_q^k = 1 | p).
// Training: CD-k with the statistics of the rated items only (gradients divided by the
// users in the minibatch), k raised during training as in the paper (cd_schedule).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "crbm/backend.hpp"
#include "crbm/ratings_ops.hpp"
#include "crbm/sgd.hpp"

namespace crbm {

// ---- data ----

// Ratings with users and items renumbered 0..U-1, 0..I-1 (first appearance order) and
// values mapped to level indices 0..K-1 of `levels` (the sorted distinct values).
// Stored by user: user u's entries are [offsets[u], offsets[u+1]).
struct RatingsData {
  std::string source;
  int64_t users = 0, items = 0;
  std::vector<float> levels;        // K rating values, ascending (e.g. 1..5)
  std::vector<int64_t> user_ids;    // original id of each user
  std::vector<int64_t> item_ids;    // original id of each item
  std::vector<int64_t> offsets{0};  // [users+1]
  std::vector<int32_t> item;        // [nnz]
  std::vector<int32_t> level;       // [nnz]
  // builtin:ratings only: the generator's mean and variance of each entry's rating.
  std::vector<float> truth_mean, truth_var;

  int64_t nnz() const { return int64_t(item.size()); }
  int64_t num_levels() const { return int64_t(levels.size()); }
  float value(int64_t n) const { return levels[size_t(level[size_t(n)])]; }
};

struct RatingsSplit {
  RatingsData train, test;  // same users, items and levels; disjoint entries
};

struct RatingsLoadOptions {
  // builtin:ratings sizes (the spec may override: builtin:ratings:USERSxITEMS).
  int64_t builtin_users = 2000, builtin_items = 300;
  uint64_t seed = 1;  // builtin generator
};

// Loads a ratings spec:
//   builtin:ratings[:USERSxITEMS]  synthetic ratings 1..5 from a rank-5 preference model
//   FILE                           MovieLens text: u.data (user item rating timestamp,
//                                  tab/space separated), ratings.csv (userId,movieId,rating,
//                                  timestamp with a header line), ratings.dat (u::i::r::t);
//                                  the format is chosen from the first data line.
// Malformed lines throw crbm::Error "<file>:<line>: <what>".
RatingsData load_ratings(const std::string& spec, const RatingsLoadOptions& options = {});

// Per user, a seeded random `test_fraction` of their ratings go to the test set (rounded;
// users keep at least one training rating).
RatingsSplit split_ratings(const RatingsData& data, double test_fraction, uint64_t seed);

// d re-indexed to a model's items and levels (item_ids: the model's original item ids;
// levels: its rating values): ratings of items the model does not know are dropped and
// counted in *dropped (may be null); a rating value the model lacks throws.
RatingsData align_ratings(const RatingsData& d, const std::vector<int64_t>& item_ids,
                          const std::vector<float>& levels, int64_t* dropped);

// The entries of `users` (indices into d) as a host CSR batch.
HostSparseRows gather_users(const RatingsData& d, const std::vector<int64_t>& users);

// Root-mean-square error of predictions against d's ratings (one per entry, in order).
double rmse(const RatingsData& d, const std::vector<float>& predicted);

// Baselines: the training mean of each item (the global mean for unseen items), and
// global mean + user bias + item bias fitted by alternating ridge updates (lambda).
std::vector<float> item_mean_predictions(const RatingsData& train, const RatingsData& test);
std::vector<float> bias_predictions(const RatingsData& train, const RatingsData& test,
                                    double lambda = 10.0, int iterations = 10);

// ---- model ----

class RatingsRbm {
 public:
  RatingsRbm(Backend& backend, int64_t items, std::vector<float> levels, int64_t hidden,
             bool conditional = false);

  Backend& backend() const { return *backend_; }
  RatingsOps& ops() const { return *ops_; }
  int64_t items() const { return items_; }
  int64_t levels() const { return int64_t(level_values_.size()); }
  int64_t hidden() const { return hidden_; }
  bool conditional() const { return conditional_; }
  const std::vector<float>& level_values() const { return level_values_; }

  Matrix& weights() { return weights_; }              // [I*K, H]
  Matrix& visible_bias() { return visible_bias_; }    // [1, I*K]
  Matrix& hidden_bias() { return hidden_bias_; }      // [1, H]
  Matrix& rated_weights() { return rated_weights_; }  // [I, H] (conditional only)
  const Matrix& weights() const { return weights_; }
  const Matrix& visible_bias() const { return visible_bias_; }
  const Matrix& hidden_bias() const { return hidden_bias_; }
  const Matrix& rated_weights() const { return rated_weights_; }

  // W ~ N(0, stddev^2), c = 0, D = 0; b = log of the smoothed frequency of each level per
  // item in `train` (when given), else 0.
  void init_random(uint64_t seed, float stddev = 0.01f, const RatingsData* train = nullptr);

  // hidden [B, H] = P(h = 1 | values of `rows`) (values [nnz, K]); `rated` (conditional
  // models; may be null) is the CSR of the items each user rated.
  void hidden_given_visible(const SparseRows& rows, CMatRef values, const SparseRows* rated,
                            MatRef hidden) const;
  // [n, 1] of ones (cached): the values of the conditional model's rated-items input.
  CMatRef rated_values(int64_t n) const;
  // probs [nnz, K] = P(v_n = k | h) for the entries of `rows`.
  void visible_given_hidden(const SparseRows& rows, CMatRef hidden, MatRef probs) const;

  // Expected ratings of the `query` entries (host, one per entry) given each user's
  // `known` ratings (same users, in order), by one mean-field up pass. Conditional models
  // count both known and query items as rated.
  std::vector<float> predict(const HostSparseRows& known, const HostSparseRows& query) const;
  // Predictions for every test entry of d_test given d_train (users processed in
  // batches of `batch` users).
  std::vector<float> predict_split(const RatingsData& train, const RatingsData& test,
                                   int64_t batch = 500) const;
  // The `n` unrated items with the highest expected rating for a user with `known`
  // ratings (a one-user HostSparseRows); pairs (item index, expected rating), best first.
  std::vector<std::pair<int32_t, float>> top_n(const HostSparseRows& known, int64_t n) const;

  bool parameters_finite() const;

 private:
  Backend* backend_;
  std::unique_ptr<RatingsOps> ops_;
  int64_t items_, hidden_;
  std::vector<float> level_values_;
  bool conditional_;
  Matrix weights_, visible_bias_, hidden_bias_, rated_weights_;
  mutable Matrix ones_;  // [>= nnz, 1] of 1s: the values of the rated-items input
};

// ---- training ----

// CD-k schedule entry: from epoch `from_epoch` (1-based) on, k = `k`.
struct CdStage {
  int from_epoch = 1;
  int k = 1;
};

struct RatingsTrainConfig : SgdConfig {
  // The paper's gradual increase of k: stages sorted by epoch; before the first, k = 1.
  std::vector<CdStage> cd_schedule{{1, 1}};
  bool sample_negative_visible = false;  // last negative step: sample (true) or probabilities
  RatingsTrainConfig() {
    epochs = 20;
    batch_size = 100;
    learning_rate = 0.5f;  // per user-averaged gradient (see docs/ratings.md)
    lr_schedule = LrSchedule::constant;
    weight_decay = 1e-3f;
  }
  int cd_k_at(int epoch) const;  // k for 1-based `epoch`
  void validate() const;
  std::string to_json() const;
};
// "1,3@10,5@20" -> {{1,1},{10,3},{20,5}} (k, or k@epoch); throws naming the bad piece.
std::vector<CdStage> parse_cd_schedule(const std::string& text);

struct RatingsEpochStats {
  int epoch = 0;  // 1-based
  int64_t updates = 0;
  int cd_k = 1;
  double learning_rate = 0, momentum = 0;
  double train_rmse = 0;  // reconstruction: expected rating given the user's own ratings
  double seconds = 0, ratings_per_second = 0;
};

class RatingsCdTrainer {
 public:
  RatingsCdTrainer(RatingsRbm& model, RatingsTrainConfig config);
  // One pass over the users of `train` in a seeded random order. `rated` (conditional
  // models) holds, per user, every item known to be rated (e.g. train + test entries);
  // null: the training entries.
  RatingsEpochStats train_epoch(const RatingsData& train, const RatingsData* rated = nullptr);
  // The CD-k gradient of one batch into grad_* (ascent direction, divided by the users),
  // with Gibbs draws keyed by `step`.
  void compute_gradient(const SparseRows& rows, const SparseRows* rated, int k, uint64_t step);
  int epoch() const { return epoch_; }
  const Matrix& grad_weights() const { return step_.grad_w(); }
  const Matrix& grad_visible_bias() const { return step_.grad_visible(); }
  const Matrix& grad_hidden_bias() const { return step_.grad_hidden(); }
  const Matrix& grad_rated_weights() const { return gd_; }

 private:
  // Grows the per-batch buffers to `users` users and `nnz` entries.
  void ensure_buffers(int64_t users, int64_t nnz);
  RatingsRbm& m_;
  RatingsTrainConfig config_;
  Backend& be_;
  int epoch_ = 0;
  int64_t updates_ = 0;
  RbmStep step_;    // weights [I*K x H], visible bias [1 x I*K], hidden bias [1 x H]
  Matrix gd_, vd_;  // the conditional model's rated-item weights [I x H]: gradient, velocity
  Matrix v0_, vk_, pk_, h0_, hs_, hk_;
};

// ---- checkpoints ----
// Tensors: weights [I, K, H], visible_bias [I, K], hidden_bias [H], rating_values [K],
// rated_weights [I, H] (conditional); metadata model = ratings_rbm, items, levels, hidden,
// conditional, item_ids (JSON array of the original item ids), plus `extra`.
void save_ratings_rbm(const std::string& path, const RatingsRbm& model,
                      const std::vector<int64_t>& item_ids,
                      const std::map<std::string, std::string>& extra = {});
RatingsRbm load_ratings_rbm(Backend& backend, const std::string& path,
                            std::vector<int64_t>* item_ids = nullptr,
                            std::map<std::string, std::string>* metadata = nullptr);

}  // namespace crbm
