// Deep belief network (Hinton, Osindero & Teh 2006): layers v = h0 - h1 - ... - hL trained
// greedily as RBMs, each on the previous layer's hidden probabilities. The top two layers
// form an undirected RBM; the lower ones are directed top-down:
//   p(v, h1..hL) = p(v|h1) p(h1|h2) ... p(h_{L-2}|h_{L-1}) p_top(h_{L-1}, hL [, y])
//   p(h_{l-1} = 1 | h_l) = sigm(b_l + W_l h_l),  q(h_l = 1 | h_{l-1}) = sigm(c_l + h_{l-1}' W_l)
// Layer l (0-based) holds W [n_l x n_{l+1}] (n_0 = V). With K label units the top RBM's
// visible layer is [h_{L-1} | y] (n_{L-1} + K units, y one softmax group): its weight rows
// [n_{L-1}, n_{L-1} + K) and visible-bias entries of the same range belong to the labels.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "crbm/ais.hpp"
#include "crbm/rbm.hpp"
#include "crbm/train.hpp"

namespace crbm {

// One layer of a stack: its hidden size and how it is trained. `visible_type` matters for
// layer 0 only (the data's units); every higher layer has Bernoulli visible units.
struct LayerConfig {
  int64_t hidden = 0;
  VisibleType visible_type = VisibleType::bernoulli;
  TrainConfig train;
};

struct DbnConfig {
  std::vector<LayerConfig> layers;
  int num_classes = 0;  // > 0: a softmax label group in the top RBM's visible layer
  float init_stddev = 0.01f;

  // Throws crbm::Error naming the first invalid field.
  void validate() const;
};

// Host copy of a DBN (what a checkpoint holds).
struct DbnParams {
  std::vector<RbmParams> layers;
  int num_classes = 0;
};

struct DbnSampleOptions {
  int64_t chains = 16;
  int gibbs_steps = 1000;  // alternating Gibbs steps in the top RBM
  uint64_t seed = 1;
  bool stochastic_down = false;  // sample every layer on the way down (else probabilities)
  // Labelled DBNs: clamp every chain to this class (>= 0), or let the labels run free (-1).
  int clamp_label = -1;
};

// Per-row estimates of log p(v) from samples h ~ q(h|v) (the layers' posteriors):
//   log w_s = sum_l [log p(h_{l-1}|h_l) - log q(h_l|h_{l-1})] + log p*_top(h_{L-1}) - log Z_top
// bound = mean_s log w_s (the variational lower bound, in expectation <= log p(v));
// importance = log mean_s exp(log w_s) (tighter, still a lower bound in expectation).
struct DbnBoundResult {
  std::vector<double> bound;       // [N]
  std::vector<double> importance;  // [N]
  double mean_bound = 0, mean_importance = 0;
};

class Dbn {
 public:
  // Architecture from the config (parameters zero until pretrain() initialises them).
  Dbn(Backend& backend, int64_t visible, const DbnConfig& config);
  Dbn(Backend& backend, const DbnParams& params);
  Dbn(Dbn&&) = default;
  Dbn& operator=(Dbn&&) = default;

  Backend& backend() const { return *backend_; }
  size_t depth() const { return layers_.size(); }
  int num_classes() const { return num_classes_; }
  int64_t visible() const { return layers_.front().visible(); }
  // n_l: 0 is the data, depth() the top hidden layer (labels excluded).
  int64_t layer_size(size_t l) const;
  Rbm& layer(size_t l) { return layers_.at(l); }
  const Rbm& layer(size_t l) const { return layers_.at(l); }
  Rbm& top() { return layers_.back(); }
  const Rbm& top() const { return layers_.back(); }

  // Greedy layer-wise training on `data` [N x V] (backend memory). Layer l is initialised
  // (W ~ N(0, init_stddev^2), b = log-odds of its input's means) and trained with its
  // TrainConfig on the probabilities of layer l-1 (kept on the backend). With labels,
  // `labels` [N] (0..K-1) are appended to the top RBM's input as a one-hot group.
  using EpochCallback = std::function<void(size_t layer, const EpochStats&)>;
  void pretrain(CMatRef data, const std::vector<int32_t>& labels, const DbnConfig& config,
                const EpochCallback& on_epoch = nullptr);

  // out [B x n_upto] = deterministic up pass (probabilities) from v through layers
  // 0..upto-1; upto = 0 copies v.
  void up_pass(CMatRef v, size_t upto, MatRef out) const;
  // Down pass from the top RBM's visible state h [B x n_{L-1}] to v: probabilities, or
  // samples at every layer (v included) when `stochastic`.
  void down_pass(CMatRef h, MatRef v_out, bool stochastic, uint64_t seed) const;

  // Generation: Gibbs in the top RBM from uniform random states, then a down pass.
  // Returns [chains x V] (probabilities, or binary samples when stochastic_down).
  HostTensor sample(const DbnSampleOptions& options) const;

  // Conditional sampling / inpainting: units with mask 1 keep the values of `v`
  // [B x V]; the others are resampled by `iterations` rounds of (stochastic up pass,
  // `top_steps` Gibbs steps in the top RBM, down pass), re-clamping after each round.
  // Returns the final [B x V] (clamped units exact, the rest probabilities).
  HostTensor inpaint(CMatRef v, CMatRef mask, int iterations, int top_steps, uint64_t seed) const;

  // Labelled DBN: per-class free energies of the top RBM, F(h_{L-1}(v), y) [B x K]
  // (up to a per-row constant), and the class with the lowest one.
  HostTensor class_free_energies(CMatRef v) const;
  std::vector<int32_t> classify(CMatRef v) const;

  // log Z of the top RBM (with labels: logsumexp_y (b_y + log Z_y), Z_y the RBM with
  // the label clamped). exact: by enumeration (small models); ais: Salakhutdinov & Murray,
  // base rates from `base_data` (the top RBM's visible input, host [N x n_{L-1}]).
  double top_log_partition_exact() const;
  AisResult top_log_partition_ais(const HostTensor& base_data, const AisConfig& config) const;
  // log p*_top(h) = -F_top(h) (labels summed out), [B x 1] on the host.
  std::vector<double> top_unnormalized_log_prob(CMatRef h) const;

  // The lower bound of DbnBoundResult for each row of v [N x V] (Bernoulli data),
  // `samples` draws per row, processed in batches of `batch` rows.
  DbnBoundResult lower_bound(CMatRef v, double log_z_top, int samples, uint64_t seed,
                             int64_t batch = 1000) const;

  DbnParams to_host() const;
  void load(const DbnParams& params);

 private:
  Backend* backend_;
  std::vector<Rbm> layers_;
  int num_classes_ = 0;

  // Top RBM with labels: views of its pen/label weight rows and visible biases.
  CMatRef pen_weights() const;
  CMatRef label_weights() const;
  CMatRef pen_bias() const;
  CMatRef label_bias() const;
  // hidden probs of the top RBM given its visible state (pen [B x n], labels [B x K]).
  void top_hidden(CMatRef pen, CMatRef labels, MatRef out) const;
  // Top RBM visible means given hidden (pen sigmoid, labels softmax).
  void top_visible(CMatRef h, MatRef pen, MatRef labels) const;
  // Runs `steps` Gibbs steps in the top RBM on (pen, labels) in place.
  void top_gibbs(MatRef pen, MatRef labels, int steps, bool labels_clamped, uint64_t seed,
                 uint32_t stream) const;
};

// Checkpoints: metadata model = "dbn", layers, num_classes; tensors layer<i>.weights, ...
void save_dbn(const std::string& path, const DbnParams& params,
              const std::map<std::string, std::string>& extra = {});
DbnParams load_dbn_params(const std::string& path,
                          std::map<std::string, std::string>* metadata = nullptr);

// One-hot rows [labels.size() x classes] (host); throws on a label outside [0, classes).
HostTensor one_hot(const std::vector<int32_t>& labels, int classes);

}  // namespace crbm
