// Convolutional deep belief network (Lee et al. 2009): a greedy stack of ConvRbms,
// layer l+1 trained on the pooled probabilities P(pool on | v) of layer l, so its
// visible layer is [K_l, Hp_l, Wp_l] with Bernoulli units. Features for a
// classifier are the pooled maps of every layer, flattened and concatenated:
//   features(x) = [pooled_0(x), pooled_1(x), ...]   (N, sum_l K_l*Hp_l*Wp_l)
// Checkpoint: each layer's tensors and metadata under "layer<i>." plus
// model "cdbn", layers, format_version.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "crbm/conv_rbm.hpp"
#include "crbm/conv_train.hpp"

namespace crbm {

class Cdbn {
 public:
  // Input geometry of the first layer.
  Cdbn(Backend& backend, int64_t channels, int64_t height, int64_t width,
       ConvAlgo algo = ConvAlgo::automatic);

  // Adds a layer on top; the first may be Gaussian, later layers are Bernoulli
  // (they see probabilities). Returns the new layer.
  ConvRbm& add_layer(int64_t filters, int64_t filter_size, int64_t pool,
                     VisibleType visible_type = VisibleType::bernoulli, float sigma = 1.0f);
  void add_layer(const ConvRbmParams& params);

  size_t size() const { return layers_.size(); }
  ConvRbm& layer(size_t i) { return layers_.at(i); }
  const ConvRbm& layer(size_t i) const { return layers_.at(i); }
  Backend& backend() const { return *backend_; }

  // out [N, pooled_size(layer)] = pooled probabilities of `layer` for x [N, input] (x
  // goes up through the layers below; mean-field: probabilities, no sampling).
  void pooled_output(size_t layer, CMatRef x, MatRef out) const;
  // The input of `layer` for all rows of x (x itself for layer 0), computed in chunks.
  Matrix layer_input(size_t layer, CMatRef x, int64_t chunk = 500) const;
  // Greedy training of `layer` on layer_input(layer, data); on_epoch is called after
  // each epoch. Returns the stats of every epoch.
  std::vector<ConvEpochStats> train_layer(
      size_t layer, CMatRef data, const ConvTrainConfig& config,
      const std::function<void(const ConvEpochStats&)>& on_epoch = {});
  // Features of every row: the pooled maps of all layers, flattened (host tensor).
  HostTensor features(CMatRef x, int64_t chunk = 500) const;
  int64_t feature_size() const;

  // Filters of `layer` as images in the input space: layer 0 as they are; a higher
  // layer's filter is the weighted sum of the lower layer's visualised filters,
  // each spread uniformly over its P x P pooling block (Lee et al., figure 2).
  // Returns tiles (K, C0*S*S) and the tile size S.
  HostTensor visualise_filters(size_t layer, int64_t* tile_size) const;

  std::vector<ConvRbmParams> to_host() const;

 private:
  Backend* backend_;
  ConvAlgo algo_;
  int64_t channels_, height_, width_;
  std::vector<ConvRbm> layers_;
};

void save_cdbn(const std::string& path, const Cdbn& cdbn,
               const std::map<std::string, std::string>& extra = {});
// Reads a "cdbn" checkpoint (or a single "conv_rbm", as a one-layer stack).
Cdbn load_cdbn(const std::string& path, Backend& backend, ConvAlgo algo = ConvAlgo::automatic,
               std::map<std::string, std::string>* metadata = nullptr);

}  // namespace crbm
