// Greedy CDBN: layer-wise forward passes in chunks (pooled probabilities), layer
// training on the layer below's output, features, filter visualisation through
// the lower layers, and checkpoints with "layer<i>." prefixes.
#include "crbm/cdbn.hpp"

#include <algorithm>

#include "crbm/safetensors.hpp"

namespace crbm {

Cdbn::Cdbn(Backend& backend, int64_t channels, int64_t height, int64_t width, ConvAlgo algo)
    : backend_(&backend), algo_(algo), channels_(channels), height_(height), width_(width) {
  if (channels < 1 || height < 1 || width < 1) {
    CRBM_FAIL("a CDBN input needs C, H, W >= 1 (got ", channels, "x", height, "x", width, ")");
  }
}

ConvRbm& Cdbn::add_layer(int64_t filters, int64_t filter_size, int64_t pool,
                         VisibleType visible_type, float sigma) {
  ConvShape s;
  if (layers_.empty()) {
    s.channels = channels_;
    s.height = height_;
    s.width = width_;
  } else {
    const ConvShape below = layers_.back().shape(1);
    s.channels = below.filters;
    s.height = below.pooled_height();
    s.width = below.pooled_width();
    if (visible_type != VisibleType::bernoulli) {
      CRBM_FAIL("CDBN layer ", layers_.size(), ": only the first layer may have ",
                to_string(visible_type), " visible units (higher layers see probabilities)");
    }
  }
  s.filters = filters;
  s.filter_size = filter_size;
  s.pool = pool;
  try {
    s.validate();
  } catch (const Error& e) {
    CRBM_FAIL("CDBN layer ", layers_.size(), ": ", e.what());
  }
  layers_.emplace_back(*backend_, s, visible_type, algo_);
  if (visible_type == VisibleType::gaussian) layers_.back().set_sigma(sigma);
  return layers_.back();
}

void Cdbn::add_layer(const ConvRbmParams& params) {
  ConvRbm& l = add_layer(params.shape(1).filters, params.shape(1).filter_size, params.pool,
                         params.visible_type, params.sigma);
  l.load(params);
}

void Cdbn::pooled_output(size_t layer, CMatRef x, MatRef out) const {
  CRBM_CHECK_THROW(layer < layers_.size(), "CDBN has ", layers_.size(), " layers, asked for ",
                   layer);
  CMatRef input = x;
  Matrix current, hidden;
  for (size_t l = 0; l <= layer; ++l) {
    const ConvRbm& rbm = layers_[l];
    hidden = Matrix(*backend_, x.rows, rbm.hidden_size());
    if (l == layer) {
      rbm.hidden_given_visible(input, hidden, out);
    } else {
      Matrix pooled(*backend_, x.rows, rbm.pooled_size());
      rbm.hidden_given_visible(input, hidden, pooled);
      current = std::move(pooled);
      input = current;
    }
  }
}

Matrix Cdbn::layer_input(size_t layer, CMatRef x, int64_t chunk) const {
  if (layer == 0) {
    Matrix copy(*backend_, x.rows, x.cols);
    backend_->copy(x, copy);
    return copy;
  }
  const int64_t cols = layers_.at(layer - 1).pooled_size();
  Matrix out(*backend_, x.rows, cols);
  for (int64_t first = 0; first < x.rows; first += chunk) {
    const int64_t rows = std::min(chunk, x.rows - first);
    pooled_output(layer - 1, x.row_range(first, rows), out.rows_view(first, rows));
  }
  return out;
}

std::vector<ConvEpochStats> Cdbn::train_layer(
    size_t layer, CMatRef data, const ConvTrainConfig& config,
    const std::function<void(const ConvEpochStats&)>& on_epoch) {
  CRBM_CHECK_THROW(layer < layers_.size(), "CDBN has ", layers_.size(), " layers, asked for ",
                   layer);
  const Matrix input = layer_input(layer, data);
  ConvTrainer trainer(layers_[layer], config);
  std::vector<ConvEpochStats> stats;
  for (int e = 0; e < config.epochs; ++e) {
    stats.push_back(trainer.train_epoch(input));
    if (on_epoch) on_epoch(stats.back());
  }
  return stats;
}

int64_t Cdbn::feature_size() const {
  int64_t n = 0;
  for (const ConvRbm& l : layers_) n += l.pooled_size();
  return n;
}

HostTensor Cdbn::features(CMatRef x, int64_t chunk) const {
  const int64_t total = feature_size();
  HostTensor out({x.rows, total});
  for (int64_t first = 0; first < x.rows; first += chunk) {
    const int64_t rows = std::min(chunk, x.rows - first);
    CMatRef input = x.row_range(first, rows);
    Matrix current;
    int64_t offset = 0;
    for (const ConvRbm& rbm : layers_) {
      Matrix hidden(*backend_, rows, rbm.hidden_size()), pooled(*backend_, rows, rbm.pooled_size());
      rbm.hidden_given_visible(input, hidden, pooled);
      const HostTensor host = pooled.download();
      for (int64_t r = 0; r < rows; ++r) {
        std::copy(host.data.begin() + r * rbm.pooled_size(),
                  host.data.begin() + (r + 1) * rbm.pooled_size(),
                  out.data.begin() + (first + r) * total + offset);
      }
      offset += rbm.pooled_size();
      current = std::move(pooled);
      input = current;
    }
  }
  return out;
}

HostTensor Cdbn::visualise_filters(size_t layer, int64_t* tile_size) const {
  CRBM_CHECK_THROW(layer < layers_.size(), "CDBN has ", layers_.size(), " layers, asked for ",
                   layer);
  // Layer 0: filters [K, C0, F, F] as they are.
  ConvRbmParams p0 = layers_[0].to_host();
  ConvShape s0 = p0.shape(1);
  int64_t size = s0.filter_size;
  int64_t count = s0.filters;
  std::vector<float> tiles = p0.filters.data;  // [count, C0, size, size]
  for (size_t l = 1; l <= layer; ++l) {
    const ConvShape below = layers_[l - 1].shape(1);
    const ConvRbmParams p = layers_[l].to_host();
    const ConvShape s = p.shape(1);
    const int64_t pool = below.pool, f = s.filter_size;
    const int64_t new_size = f * pool + size - 1;
    std::vector<float> next(size_t(s.filters * channels_ * new_size * new_size), 0.0f);
    const float spread = 1.0f / float(pool * pool);
    for (int64_t k = 0; k < s.filters; ++k)
      for (int64_t c = 0; c < s.channels; ++c)  // c: a filter of the layer below
        for (int64_t a = 0; a < f; ++a)
          for (int64_t b = 0; b < f; ++b) {
            const float w = p.filters.data[((k * s.channels + c) * f + a) * f + b] * spread;
            for (int64_t pa = 0; pa < pool; ++pa)
              for (int64_t pb = 0; pb < pool; ++pb) {
                const int64_t top = a * pool + pa, left = b * pool + pb;
                for (int64_t ch = 0; ch < channels_; ++ch)
                  for (int64_t y = 0; y < size; ++y)
                    for (int64_t x = 0; x < size; ++x) {
                      next[size_t(((k * channels_ + ch) * new_size + top + y) * new_size + left +
                                  x)] +=
                          w * tiles[size_t(((c * channels_ + ch) * size + y) * size + x)];
                    }
              }
          }
    tiles = std::move(next);
    size = new_size;
    count = s.filters;
  }
  if (tile_size != nullptr) *tile_size = size;
  HostTensor out({count, channels_ * size * size});
  out.data = std::move(tiles);
  return out;
}

std::vector<ConvRbmParams> Cdbn::to_host() const {
  std::vector<ConvRbmParams> out;
  for (const ConvRbm& l : layers_) out.push_back(l.to_host());
  return out;
}

void save_cdbn(const std::string& path, const Cdbn& cdbn,
               const std::map<std::string, std::string>& extra) {
  SafetensorsFile file = new_checkpoint("cdbn", extra);
  file.metadata["layers"] = std::to_string(cdbn.size());
  const auto params = cdbn.to_host();
  for (size_t i = 0; i < params.size(); ++i) {
    append_conv_rbm(file, params[i], "layer" + std::to_string(i) + ".");
  }
  save_safetensors(path, file);
}

Cdbn load_cdbn(const std::string& path, Backend& backend, ConvAlgo algo,
               std::map<std::string, std::string>* metadata) {
  const SafetensorsFile file = load_checkpoint(path);
  const std::string& model = require_metadata(file, "model", path);
  std::vector<ConvRbmParams> layers;
  if (model == "conv_rbm") {
    layers.push_back(extract_conv_rbm(file, path));
  } else if (model == "cdbn") {
    const std::string& count_text = require_metadata(file, "layers", path);
    int count = 0;
    try {
      count = std::stoi(count_text);
    } catch (const std::exception&) {
      count = 0;
    }
    if (count < 1 || count > 64) CRBM_FAIL(path, ": metadata 'layers' = '", count_text, "'");
    for (int i = 0; i < count; ++i) {
      layers.push_back(extract_conv_rbm(file, path, "layer" + std::to_string(i) + "."));
    }
  } else {
    CRBM_FAIL(path, ": holds a '", model, "' model, not a cdbn or conv_rbm");
  }
  const ConvShape first = layers[0].shape(1);
  Cdbn cdbn(backend, first.channels, first.height, first.width, algo);
  for (size_t i = 0; i < layers.size(); ++i) {
    try {
      cdbn.add_layer(layers[i]);
    } catch (const Error& e) {
      CRBM_FAIL(path, ": layer ", i, " does not fit on the layer below: ", e.what());
    }
  }
  if (metadata != nullptr) *metadata = file.metadata;
  return cdbn;
}

}  // namespace crbm
