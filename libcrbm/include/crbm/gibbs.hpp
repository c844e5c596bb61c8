// Block Gibbs sampling of two-layer models (visible, hidden) and the one CD-k / PCD-k
// negative phase of the training core. A model's unit types supply its conditionals and
// samplers as a GibbsModel (small struct of callables); the chain loop, the persistent
// chains, the random-stream step numbering (update * k + step) and the rule for the final
// negative visible state are written once here and shared by the dense, convolutional,
// DBM-pretraining, DBN-top and softmax trainers, and by `crbm sample`.
//
// CD-k from the positive hidden state h0 (B rows):
//   repeat k times: hs ~ h;  v = E[v|hs];  v ~ v (all but the last step, unless
//   sample_negative_visible or the model always samples);  h = hidden(v)
// PCD-k (C persistent chains started at data rows, then start_chains):
//   repeat k times: h = hidden(v);  hs ~ h;  v ~ E[v|hs];   then h = hidden(v)
// The statistics use hidden probabilities: hidden_probs(h) (identity unless the model's
// hidden state is something else, e.g. the conv RBM's logits).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "crbm/backend.hpp"
#include "crbm/sgd.hpp"

namespace crbm {

class Rbm;
class ConvRbm;

// A visible layer for a batch of rows: one matrix, or (the labelled top RBM of a DBN) two
// whose columns together make the layer: `units` and a softmax `labels` group.
struct LayerRef {
  MatRef units;
  MatRef labels;
  LayerRef() = default;
  LayerRef(MatRef u, MatRef l = MatRef{}) : units(u), labels(l) {}  // NOLINT
  LayerRef rows_view(int64_t first, int64_t count) const;
  int64_t rows() const { return units.rows; }
};
struct CLayerRef {
  CMatRef units;
  CMatRef labels;
  CLayerRef() = default;
  CLayerRef(CMatRef u, CMatRef l = CMatRef{}) : units(u), labels(l) {}  // NOLINT
  CLayerRef(const LayerRef& v) : units(v.units), labels(v.labels) {}    // NOLINT
  int64_t rows() const { return units.rows; }
};

// The conditionals of a model. Samplers get the step number; each model keys its own
// random streams with it (and its seed).
struct GibbsModel {
  // h = the hidden state given v: probabilities (or, with hidden_probs, what they come from).
  std::function<void(CLayerRef v, MatRef h)> hidden;
  // hs ~ h.
  std::function<void(CMatRef h, MatRef hs, uint64_t step)> sample_hidden;
  // v = E[v | hs] (means / probabilities).
  std::function<void(CMatRef hs, LayerRef v)> visible;
  // out ~ mean (out may be mean itself).
  std::function<void(CLayerRef mean, LayerRef out, uint64_t step)> sample_visible;
  // Optional: hidden probabilities from the hidden state (empty: the state is them).
  std::function<void(CMatRef h, MatRef probs)> hidden_probs;
  // Optional: applied to persistent chains copied from data rows (e.g. binarise them).
  std::function<void(LayerRef chains)> start_chains;
  // The last CD step samples the visible layer too (replicated softmax: counts).
  bool always_sample_visible = false;
};

// The dense RBM's conditionals (Rbm::hidden_given_visible, sample_hidden,
// visible_mean_given_hidden, sample_visible) with streams (seed, hidden_stream, step) and
// (seed, visible_stream, step); start_chains binarises Bernoulli chains with
// (seed, init_stream, 0).
GibbsModel rbm_gibbs_model(const Rbm& rbm, uint64_t seed, uint32_t hidden_stream,
                           uint32_t visible_stream, uint32_t init_stream);
// The convolutional RBM's: the hidden state is the logits, samples are whole pooling
// blocks, hidden_probs the block softmax.
GibbsModel conv_gibbs_model(const ConvRbm& rbm, uint64_t seed, uint32_t hidden_stream,
                            uint32_t visible_stream, uint32_t init_stream);

// `steps` Gibbs steps v -> h -> v of the chains in `v` (updated in place: the last visible
// sample): h = hidden(v), hs ~ h, mean = E[v|hs], v ~ mean, with step numbers first_step + s.
// `mean` ends as the last step's visible means; h [rows x hidden] and hs are scratch.
// after_step(s) runs after step s (0-based) when given.
void gibbs_steps(const GibbsModel& model, LayerRef v, LayerRef mean, MatRef h, MatRef hs, int steps,
                 uint64_t first_step, const std::function<void(int)>& after_step = {});

// The negative phase of CD-k / PCD-k (see the top of this file) with its buffers and, for
// PCD, its persistent chains.
class CdNegativePhase {
 public:
  // visible_units (+ label_units for a two-block layer), hidden: the layer sizes.
  CdNegativePhase(Backend& be, GibbsModel model, const CdConfig& cd, int64_t batch_size,
                  int64_t visible_units, int64_t label_units, int64_t hidden);
  struct Sample {
    CLayerRef v;  // vk [R x V]: R = B (CD) or the number of chains (PCD)
    CMatRef h;    // hk = hidden probabilities of vk [R x H]
  };
  // One negative phase for update number `update` from the positive visible rows v0 (they
  // start the PCD chains on the first call) and the positive hidden state h0 = hidden(v0).
  Sample run(CLayerRef v0, CMatRef h0, int64_t update);
  // The number of persistent chains (PCD), or 0.
  int64_t chains() const;
  const GibbsModel& model() const { return model_; }

 private:
  void ensure(int64_t rows);

  Backend& be_;
  GibbsModel model_;
  CdConfig cd_;
  int64_t batch_size_, visible_units_, label_units_, hidden_;
  int64_t rows_ = 0;
  Matrix mean_, mean_labels_, sample_, sample_labels_;  // visible [rows x V] (+ labels)
  Matrix h_, hs_, probs_;                               // hidden [rows x H]
  Matrix chains_, chain_labels_;                        // PCD state [C x V] (+ labels)
};

// ---- the samplers of `crbm sample` ----

// Random chain starts for a dense RBM [chains x V]: Bernoulli(0.5) or N(0, 1) visible
// units, stream (seed, 3, 0).
HostTensor random_chain_starts(const Rbm& rbm, int64_t chains, uint64_t seed);
// `steps` Gibbs steps of the chains starting at `init` [N x V] (streams (seed, 1, step)
// and (seed, 2, step)); returns the last visible means (the init itself when steps = 0).
// every > 0 and snapshots: the means after every `every`-th step before the last.
HostTensor run_gibbs_chains(const Rbm& rbm, const HostTensor& init, int steps, uint64_t seed,
                            int every = 0, std::vector<HostTensor>* snapshots = nullptr);
// `chains` chains of a conv RBM from uniform(0,1) visible values (binarised for Bernoulli
// units), `steps` Gibbs steps; returns the last visible means [chains x visible_size].
HostTensor run_conv_gibbs_chains(const ConvRbm& rbm, int64_t chains, int steps, uint64_t seed);

}  // namespace crbm
