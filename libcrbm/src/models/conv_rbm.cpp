// ConvRbm conditionals, sampling and pooled free energy, written once against
// the Backend and ConvOps operations (equations in conv_rbm.hpp), the exact
// log Z of tiny Bernoulli models by enumerating v, and checkpoint I/O.
#include "crbm/conv_rbm.hpp"

#include <cmath>
#include <string>

#include "crbm/mathutil.hpp"
#include "crbm/safetensors.hpp"

namespace crbm {

ConvShape ConvRbmParams::shape(int64_t batch) const {
  ConvShape s;
  s.batch = batch;
  s.filters = filters.shape.size() == 4 ? filters.shape[0] : 0;
  s.channels = filters.shape.size() == 4 ? filters.shape[1] : 0;
  s.filter_size = filters.shape.size() == 4 ? filters.shape[2] : 0;
  s.height = height;
  s.width = width;
  s.pool = pool;
  return s;
}

ConvRbm::ConvRbm(Backend& backend, const ConvShape& geometry, VisibleType visible_type,
                 ConvAlgo algo)
    : backend_(&backend),
      ops_(make_conv_ops(backend, algo)),
      geometry_(geometry.with_batch(1)),
      visible_type_(visible_type) {
  geometry_.validate();
  filters_ = Matrix(backend, geometry_.filters, geometry_.filter_volume());
  hidden_bias_ = Matrix(backend, 1, geometry_.filters);
  visible_bias_ = Matrix(backend, 1, geometry_.channels);
  backend.fill(filters_, 0.0f);
  backend.fill(hidden_bias_, 0.0f);
  backend.fill(visible_bias_, 0.0f);
}

ConvRbm::ConvRbm(Backend& backend, const ConvRbmParams& params, ConvAlgo algo)
    : ConvRbm(backend, params.shape(1), params.visible_type, algo) {
  load(params);
}

void ConvRbm::init_random(uint64_t seed, float stddev, const HostTensor* data,
                          float hidden_bias_init) {
  backend_->fill_normal(filters_, 0.0f, stddev, RngKey{seed, 0x1417, 1});
  backend_->fill(hidden_bias_, hidden_bias_init);
  HostTensor c({1, geometry_.channels}, 0.0f);
  if (data != nullptr && data->rows() > 0) {
    CRBM_CHECK_THROW(data->cols() == visible_size(), "init data has ", data->cols(),
                     " columns for ", visible_size(), " visible units");
    const int64_t plane = geometry_.visible_plane();
    for (int64_t ch = 0; ch < geometry_.channels; ++ch) {
      double mean = 0.0;
      for (int64_t r = 0; r < data->rows(); ++r) {
        const float* p = data->data.data() + r * visible_size() + ch * plane;
        for (int64_t i = 0; i < plane; ++i) mean += p[i];
      }
      mean /= static_cast<double>(data->rows() * plane);
      if (visible_type_ == VisibleType::bernoulli) {
        c.data[ch] = static_cast<float>(clamped_log_odds(mean));
      } else {
        c.data[ch] = static_cast<float>(mean);
      }
    }
  }
  visible_bias_.upload(c);
}

float ConvRbm::hidden_input_scale() const {
  return visible_type_ == VisibleType::gaussian ? 1.0f / (sigma_ * sigma_) : 1.0f;
}

void ConvRbm::set_sigma(float sigma) {
  if (!(sigma > 0.0f) || !std::isfinite(sigma)) {
    CRBM_FAIL("conv RBM sigma = ", sigma, " (must be positive and finite)");
  }
  if (visible_type_ == VisibleType::bernoulli && sigma != 1.0f) {
    CRBM_FAIL("conv RBM sigma = ", sigma, ": only Gaussian visible units have a sigma");
  }
  sigma_ = sigma;
  sigma_row_.reset();
}

MatRef ConvRbm::scratch(int64_t rows, int64_t cols, int slot) const {
  Matrix& m = scratch_[slot];
  if (m.size() < rows * cols) m = Matrix(*backend_, rows, cols);
  return MatRef{m.data(), rows, cols, backend_->device()};
}

void ConvRbm::hidden_logits(CMatRef v, MatRef logits) const {
  ops_->up(shape(v.rows), v, filters_, hidden_bias_, hidden_input_scale(), logits);
}

void ConvRbm::hidden_probs_from_logits(CMatRef logits, MatRef hidden_probs,
                                       MatRef pooled_probs) const {
  ops_->pool_probs(shape(logits.rows), logits, hidden_probs, pooled_probs);
}

void ConvRbm::sample_hidden_from_logits(CMatRef logits, MatRef hidden_states, MatRef pooled_states,
                                        RngKey key) const {
  ops_->pool_sample(shape(logits.rows), logits, hidden_states, pooled_states, key);
}

void ConvRbm::hidden_given_visible(CMatRef v, MatRef hidden_probs, MatRef pooled_probs) const {
  const MatRef logits = scratch(v.rows, hidden_size(), 1);
  hidden_logits(v, logits);
  hidden_probs_from_logits(logits, hidden_probs, pooled_probs);
}

void ConvRbm::visible_mean_given_hidden(CMatRef h, MatRef out) const {
  ops_->down(shape(h.rows), h, filters_, out);
  ops_->channel_bias_activate(
      out, geometry_.channels, 1.0f, visible_bias_,
      visible_type_ == VisibleType::bernoulli ? Activation::sigmoid : Activation::linear);
}

void ConvRbm::sample_visible(CMatRef mean, MatRef out, RngKey key) const {
  if (visible_type_ == VisibleType::bernoulli) {
    backend_->sample_bernoulli(mean, out, key);
    return;
  }
  if (sigma_ == 1.0f) {
    backend_->sample_gaussian(mean, CMatRef{}, out, key);
    return;
  }
  if (sigma_row_.empty()) {
    sigma_row_ = Matrix(*backend_, 1, visible_size());
    backend_->fill(sigma_row_, sigma_);
  }
  backend_->sample_gaussian(mean, sigma_row_, out, key);
}

void ConvRbm::free_energy(CMatRef v, MatRef out) const {
  CRBM_CHECK_THROW(v.cols == visible_size() && out.rows == v.rows && out.cols == 1,
                   "conv free_energy: v ", v.rows, "x", v.cols, ", out ", out.rows, "x", out.cols);
  const int64_t b = v.rows;
  const MatRef logits = scratch(b, hidden_size(), 1);
  const MatRef visible_term = scratch(b, 1, 2);
  hidden_logits(v, logits);
  ops_->pool_log_partition(shape(b), logits, out);
  if (visible_type_ == VisibleType::bernoulli) {
    // c'v with c broadcast over each channel's plane: expand c to a [1, C*H*W] row.
    const MatRef bias_row = scratch(1, visible_size(), 3);
    backend_->fill(bias_row, 0.0f);
    ops_->channel_bias_activate(bias_row, geometry_.channels, 1.0f, visible_bias_,
                                Activation::linear);
    backend_->gemm(false, true, 1.0f, v, bias_row, 0.0f, visible_term);
    backend_->axpby(-1.0f, visible_term, -1.0f, out);  // F = -c'v - sum log(1 + ...)
  } else {
    const MatRef centred = scratch(b, visible_size(), 0);
    backend_->copy(v, centred);
    ops_->channel_bias_activate(centred, geometry_.channels, -1.0f, visible_bias_,
                                Activation::linear);  // c - v
    backend_->row_reduce(centred, RowReduce::square_sum, visible_term);
    backend_->axpby(0.5f / (sigma_ * sigma_), visible_term, -1.0f, out);
  }
}

double ConvRbm::mean_free_energy(CMatRef v) const {
  if (v.rows == 0) return 0.0;
  double total = 0.0;
  constexpr int64_t kChunk = 1000;  // bounds the scratch memory
  Matrix f(*backend_, std::min(v.rows, kChunk), 1);
  for (int64_t first = 0; first < v.rows; first += kChunk) {
    const int64_t rows = std::min(kChunk, v.rows - first);
    free_energy(v.row_range(first, rows), f.rows_view(0, rows));
    const HostTensor host = f.download();
    for (int64_t i = 0; i < rows; ++i) total += host.data[i];
  }
  return total / static_cast<double>(v.rows);
}

bool ConvRbm::parameters_finite() const {
  return backend_->all_finite(filters_) && backend_->all_finite(hidden_bias_) &&
         backend_->all_finite(visible_bias_);
}

ConvRbmParams ConvRbm::to_host() const {
  ConvRbmParams p;
  p.visible_type = visible_type_;
  p.sigma = sigma_;
  p.height = geometry_.height;
  p.width = geometry_.width;
  p.pool = geometry_.pool;
  const int64_t f = geometry_.filter_size;
  p.filters = filters_.download({geometry_.filters, geometry_.channels, f, f});
  p.hidden_bias = hidden_bias_.download({geometry_.filters});
  p.visible_bias = visible_bias_.download({geometry_.channels});
  return p;
}

void ConvRbm::load(const ConvRbmParams& p) {
  const ConvShape s = p.shape(1);
  CRBM_CHECK_THROW(s.filters == geometry_.filters && s.channels == geometry_.channels &&
                       s.filter_size == geometry_.filter_size && s.height == geometry_.height &&
                       s.width == geometry_.width && s.pool == geometry_.pool,
                   "loading a conv RBM of (", s.to_string(), ") into one of (",
                   geometry_.to_string(), ")");
  CRBM_CHECK_THROW(p.hidden_bias.numel() == s.filters && p.visible_bias.numel() == s.channels,
                   "conv RBM bias sizes ", p.hidden_bias.numel(), "/", p.visible_bias.numel(),
                   " for ", s.filters, " filters and ", s.channels, " channels");
  visible_type_ = p.visible_type;
  filters_.upload(p.filters);
  hidden_bias_.upload(p.hidden_bias);
  visible_bias_.upload(p.visible_bias);
  sigma_ = 1.0f;
  set_sigma(visible_type_ == VisibleType::gaussian ? p.sigma : 1.0f);
}

// ---- exact evaluation ----

double exact_log_partition(const ConvRbm& rbm, int max_visible_units) {
  if (rbm.visible_type() != VisibleType::bernoulli) {
    CRBM_FAIL("exact log Z of a conv RBM needs Bernoulli visible units (enumerates v)");
  }
  const int64_t nv = rbm.visible_size();
  if (nv > max_visible_units) {
    CRBM_FAIL("exact log Z of a conv RBM with ", nv, " visible units would enumerate 2^", nv,
              " configurations (limit ", max_visible_units, "); use a smaller model");
  }
  const uint64_t total = uint64_t(1) << nv;
  const int64_t batch = static_cast<int64_t>(std::min<uint64_t>(total, 4096));
  Backend& be = rbm.backend();
  Matrix v(be, batch, nv), f(be, batch, 1);
  HostTensor codes({batch, nv});
  double max_term = -INFINITY, sum = 0.0;  // streaming log-sum-exp
  for (uint64_t first = 0; first < total; first += uint64_t(batch)) {
    const int64_t rows = static_cast<int64_t>(std::min<uint64_t>(total - first, uint64_t(batch)));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t i = 0; i < nv; ++i) codes.data[r * nv + i] = float(((first + r) >> i) & 1u);
    }
    be.upload(codes.data.data(), v.rows_view(0, rows));
    rbm.free_energy(v.rows_view(0, rows), f.rows_view(0, rows));
    const HostTensor host = f.download();
    for (int64_t r = 0; r < rows; ++r) {
      const double term = -double(host.data[r]);
      if (term > max_term) {
        sum = sum * std::exp(max_term - term) + 1.0;
        max_term = term;
      } else {
        sum += std::exp(term - max_term);
      }
    }
  }
  return max_term + std::log(sum);
}

double mean_log_likelihood(const ConvRbm& rbm, CMatRef data, double log_z) {
  return -rbm.mean_free_energy(data) - log_z;
}

// ---- checkpoints ----

void append_conv_rbm(SafetensorsFile& file, const ConvRbmParams& p, const std::string& prefix) {
  const ConvShape s = p.shape(1);
  file.tensors[prefix + "filters"] = p.filters;
  file.tensors[prefix + "hidden_bias"] = p.hidden_bias;
  file.tensors[prefix + "visible_bias"] = p.visible_bias;
  auto& m = file.metadata;
  m[prefix + "visible_units"] = to_string(p.visible_type);
  m[prefix + "hidden_units"] = "bernoulli_pooled";
  m[prefix + "channels"] = std::to_string(s.channels);
  m[prefix + "height"] = std::to_string(p.height);
  m[prefix + "width"] = std::to_string(p.width);
  m[prefix + "filters"] = std::to_string(s.filters);
  m[prefix + "filter_size"] = std::to_string(s.filter_size);
  m[prefix + "pool"] = std::to_string(p.pool);
  m[prefix + "sigma"] = std::to_string(p.sigma);
  m[prefix + "edge_policy"] = "valid_cropped_to_pool";
}

namespace {

int64_t metadata_int(const SafetensorsFile& f, const std::string& key, const std::string& path) {
  const std::string& text = require_metadata(f, key, path);
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size() && v > 0) return v;
  } catch (const std::exception&) {
  }
  CRBM_FAIL(path, ": metadata '", key, "' = '", text, "' is not a positive integer");
}

}  // namespace

ConvRbmParams extract_conv_rbm(const SafetensorsFile& file, const std::string& path,
                               const std::string& prefix) {
  ConvRbmParams p;
  p.visible_type = parse_visible_type(require_metadata(file, prefix + "visible_units", path));
  p.height = metadata_int(file, prefix + "height", path);
  p.width = metadata_int(file, prefix + "width", path);
  p.pool = metadata_int(file, prefix + "pool", path);
  auto sigma = file.metadata.find(prefix + "sigma");
  p.sigma = sigma == file.metadata.end() ? 1.0f : std::stof(sigma->second);
  p.filters = require_tensor(file, prefix + "filters", {-1, -1, -1, -1}, path);
  const int64_t k = p.filters.shape[0], c = p.filters.shape[1];
  if (p.filters.shape[2] != p.filters.shape[3]) {
    CRBM_FAIL(path, ": ", prefix, "filters are ", p.filters.shape_string(),
              " (square filters expected)");
  }
  p.hidden_bias = require_tensor(file, prefix + "hidden_bias", {k}, path);
  p.visible_bias = require_tensor(file, prefix + "visible_bias", {c}, path);
  try {
    p.shape(1).validate();
  } catch (const Error& e) {
    CRBM_FAIL(path, ": ", prefix, e.what());
  }
  for (const HostTensor* t : {&p.filters, &p.hidden_bias, &p.visible_bias}) {
    for (float x : t->data) {
      if (!std::isfinite(x)) CRBM_FAIL(path, ": ", prefix, "parameters contain NaN/Inf");
    }
  }
  return p;
}

void save_conv_rbm(const std::string& path, const ConvRbm& rbm,
                   const std::map<std::string, std::string>& extra) {
  SafetensorsFile file = new_checkpoint("conv_rbm", extra);
  append_conv_rbm(file, rbm.to_host());
  save_safetensors(path, file);
}

ConvRbmParams load_conv_rbm_params(const std::string& path,
                                   std::map<std::string, std::string>* metadata) {
  const SafetensorsFile file = load_checkpoint(path);
  auto model = file.metadata.find("model");
  if (model == file.metadata.end() || model->second != "conv_rbm") {
    CRBM_FAIL(path, ": holds a '", model == file.metadata.end() ? "?" : model->second,
              "' model, not a conv_rbm");
  }
  if (metadata != nullptr) *metadata = file.metadata;
  return extract_conv_rbm(file, path);
}

HostTensor filter_tiles(const ConvRbmParams& p, bool rgb) {
  const ConvShape s = p.shape(1);
  const int64_t ff = s.filter_size * s.filter_size;
  if (rgb) {
    CRBM_CHECK_THROW(s.channels == 3, "RGB filter tiles need 3 channels, got ", s.channels);
    HostTensor t({s.filters, 3 * ff});
    t.data = p.filters.data;  // [K, 3, F, F] is already planar RGB per tile
    return t;
  }
  HostTensor t({s.filters * s.channels, ff});
  t.data = p.filters.data;  // [K, C, F, F]: one tile per (k, c)
  return t;
}

}  // namespace crbm
