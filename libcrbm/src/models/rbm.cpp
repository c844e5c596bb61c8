// Dense RBM conditionals, sampling and free energy, written once against the
// Backend operations (see rbm.hpp for the equations). Checkpoint I/O for RBMs.
#include "crbm/rbm.hpp"

#include <cmath>

#include "crbm/enum_names.hpp"
#include "crbm/mathutil.hpp"
#include "crbm/safetensors.hpp"

namespace crbm {

namespace {
constexpr EnumName<VisibleType> kVisibleTypeNames[] = {{VisibleType::bernoulli, "bernoulli"},
                                                       {VisibleType::bernoulli, "binary", true},
                                                       {VisibleType::gaussian, "gaussian"}};
}  // namespace

CRBM_ENUM_NAME_FUNCTIONS(VisibleType, kVisibleTypeNames, parse_visible_type, "visible unit type")

Rbm::Rbm(Backend& backend, int64_t visible, int64_t hidden, VisibleType visible_type)
    : backend_(&backend), visible_(visible), hidden_(hidden), visible_type_(visible_type) {
  if (visible <= 0 || hidden <= 0) {
    CRBM_FAIL("an RBM needs at least one visible and one hidden unit (got visible=", visible,
              ", hidden=", hidden, ")");
  }
  weights_ = Matrix(backend, visible, hidden);
  visible_bias_ = Matrix(backend, 1, visible);
  hidden_bias_ = Matrix(backend, 1, hidden);
  visible_sigma_ = Matrix(backend, 1, visible);
  inverse_sigma_ = Matrix(backend, 1, visible);
  backend.fill(weights_, 0.0f);
  backend.fill(visible_bias_, 0.0f);
  backend.fill(hidden_bias_, 0.0f);
  backend.fill(visible_sigma_, 1.0f);
  backend.fill(inverse_sigma_, 1.0f);
}

Rbm::Rbm(Backend& backend, const RbmParams& params)
    : Rbm(backend, params.visible(), params.hidden(), params.visible_type) {
  load(params);
}

void Rbm::init_random(uint64_t seed, float stddev, const HostTensor* data) {
  std::vector<double> means;
  if (data != nullptr && data->rows() > 0) {
    CRBM_CHECK_THROW(data->cols() == visible_, "init data has ", data->cols(), " columns for ",
                     visible_, " visible units");
    // Row by row (each column's sum still runs in row order): one pass through memory.
    const int64_t n = data->rows();
    means.assign(static_cast<size_t>(visible_), 0.0);
    for (int64_t r = 0; r < n; ++r) {
      const float* row = data->data.data() + r * visible_;
      for (int64_t i = 0; i < visible_; ++i) means[i] += row[i];
    }
    for (double& m : means) m /= static_cast<double>(n);
  }
  init_random(seed, stddev, means);
}

void Rbm::init_random(uint64_t seed, float stddev, const std::vector<double>& visible_means) {
  CRBM_CHECK_THROW(visible_means.empty() || static_cast<int64_t>(visible_means.size()) == visible_,
                   "init data has ", visible_means.size(), " column means for ", visible_,
                   " visible units");
  backend_->fill_normal(weights_, 0.0f, stddev, RngKey{seed, 0x1417, 0});
  backend_->fill(hidden_bias_, 0.0f);
  HostTensor b({1, visible_}, 0.0f);
  for (size_t i = 0; i < visible_means.size(); ++i) {
    const double mean = visible_means[i];
    if (visible_type_ == VisibleType::bernoulli) {
      // Hinton's guide: b_i = log(p_i / (1 - p_i)), p clamped away from 0 and 1.
      b.data[i] = static_cast<float>(clamped_log_odds(mean));
    } else {
      b.data[i] = static_cast<float>(mean);
    }
  }
  visible_bias_.upload(b);
}

void Rbm::set_visible_sigma(const HostTensor& sigma) {
  CRBM_CHECK_THROW(sigma.numel() == visible_, "visible_sigma has ", sigma.numel(), " elements for ",
                   visible_, " visible units");
  HostTensor inv({1, visible_});
  unit_sigma_ = true;
  for (int64_t i = 0; i < visible_; ++i) {
    const float s = sigma.data[i];
    if (!(s > 0.0f) || !std::isfinite(s)) {
      CRBM_FAIL("visible_sigma[", i, "] = ", s, " (sigma must be positive and finite)");
    }
    inv.data[i] = 1.0f / s;
    if (s != 1.0f) unit_sigma_ = false;
  }
  HostTensor s2({1, visible_});
  s2.data = sigma.data;
  visible_sigma_.upload(s2);
  inverse_sigma_.upload(inv);
}

MatRef Rbm::scratch(int64_t rows, int64_t cols, int slot) const {
  Matrix& m = scratch_[slot];
  if (m.size() < rows * cols) m = Matrix(*backend_, rows, cols);
  return MatRef{m.data(), rows, cols, backend_->device()};
}

CMatRef Rbm::scaled_visible(CMatRef v, MatRef scratch_out) const {
  if (visible_type_ == VisibleType::bernoulli || unit_sigma_) return v;
  backend_->copy(v, scratch_out);
  backend_->scale_add_activate(scratch_out, 1.0f, inverse_sigma_, CMatRef{}, Activation::linear);
  return scratch_out;
}

void Rbm::hidden_given_visible(CMatRef v, MatRef out) const {
  CRBM_CHECK_THROW(v.cols == visible_ && out.cols == hidden_ && v.rows == out.rows,
                   "hidden_given_visible: v ", v.rows, "x", v.cols, ", out ", out.rows, "x",
                   out.cols, " for an RBM of ", visible_, "x", hidden_);
  const CMatRef vs = scaled_visible(v, scratch(v.rows, visible_, 0));
  backend_->gemm(false, false, 1.0f, vs, weights_, 0.0f, out);
  backend_->scale_add_activate(out, 1.0f, CMatRef{}, hidden_bias_, Activation::sigmoid);
}

void Rbm::visible_mean_given_hidden(CMatRef h, MatRef out) const {
  CRBM_CHECK_THROW(h.cols == hidden_ && out.cols == visible_ && h.rows == out.rows,
                   "visible_mean_given_hidden: h ", h.rows, "x", h.cols, ", out ", out.rows, "x",
                   out.cols, " for an RBM of ", visible_, "x", hidden_);
  backend_->gemm(false, true, 1.0f, h, weights_, 0.0f, out);
  if (visible_type_ == VisibleType::bernoulli) {
    backend_->scale_add_activate(out, 1.0f, CMatRef{}, visible_bias_, Activation::sigmoid);
  } else {
    backend_->scale_add_activate(out, 1.0f, unit_sigma_ ? CMatRef{} : visible_sigma_.cref(),
                                 visible_bias_, Activation::linear);
  }
}

void Rbm::sample_hidden(CMatRef probs, MatRef out, RngKey key) const {
  backend_->sample_bernoulli(probs, out, key);
}

void Rbm::sample_visible(CMatRef mean, MatRef out, RngKey key) const {
  if (visible_type_ == VisibleType::bernoulli) {
    backend_->sample_bernoulli(mean, out, key);
  } else {
    backend_->sample_gaussian(mean, unit_sigma_ ? CMatRef{} : visible_sigma_.cref(), out, key);
  }
}

void Rbm::free_energy(CMatRef v, MatRef out) const {
  CRBM_CHECK_THROW(v.cols == visible_ && out.rows == v.rows && out.cols == 1, "free_energy: v ",
                   v.rows, "x", v.cols, ", out ", out.rows, "x", out.cols);
  const int64_t b = v.rows;
  MatRef pre = scratch(b, hidden_, 1);
  MatRef visible_term = scratch(b, 1, 2);
  const CMatRef vs = scaled_visible(v, scratch(b, visible_, 0));
  backend_->gemm(false, false, 1.0f, vs, weights_, 0.0f, pre);
  backend_->scale_add_activate(pre, 1.0f, CMatRef{}, hidden_bias_, Activation::linear);
  backend_->row_reduce(pre, RowReduce::softplus_sum, out);  // sum_j softplus(.)
  if (visible_type_ == VisibleType::bernoulli) {
    backend_->gemm(false, true, 1.0f, v, visible_bias_, 0.0f, visible_term);  // b'v
    backend_->axpby(-1.0f, visible_term, -1.0f, out);  // F = -b'v - sum softplus
  } else {
    // (v - b) / s, squared and halved.
    MatRef centred = scratch(b, visible_, 0);
    backend_->copy(v, centred);
    MatRef neg_b = scratch(1, visible_, 3);
    backend_->fill(neg_b, 0.0f);
    backend_->axpby(-1.0f, visible_bias_, 0.0f, neg_b);
    backend_->scale_add_activate(centred, 1.0f, CMatRef{}, neg_b, Activation::linear);
    if (!unit_sigma_) {
      backend_->scale_add_activate(centred, 1.0f, inverse_sigma_, CMatRef{}, Activation::linear);
    }
    backend_->row_reduce(centred, RowReduce::square_sum, visible_term);
    backend_->axpby(0.5f, visible_term, -1.0f, out);
  }
}

double Rbm::mean_free_energy(CMatRef v) const {
  if (v.rows == 0) return 0.0;
  Matrix f(*backend_, v.rows, 1);
  free_energy(v, f);
  const HostTensor host = f.download();
  double s = 0.0;
  for (float x : host.data) s += x;
  return s / static_cast<double>(v.rows);
}

bool Rbm::parameters_finite() const {
  return backend_->all_finite(weights_) && backend_->all_finite(visible_bias_) &&
         backend_->all_finite(hidden_bias_);
}

RbmParams Rbm::to_host() const {
  RbmParams p;
  p.visible_type = visible_type_;
  p.weights = weights_.download({visible_, hidden_});
  p.visible_bias = visible_bias_.download({visible_});
  p.hidden_bias = hidden_bias_.download({hidden_});
  p.visible_sigma = visible_sigma_.download({visible_});
  return p;
}

void Rbm::load(const RbmParams& p) {
  CRBM_CHECK_THROW(p.visible() == visible_ && p.hidden() == hidden_, "loading a ", p.visible(), "x",
                   p.hidden(), " RBM into a ", visible_, "x", hidden_, " one");
  CRBM_CHECK_THROW(p.visible_bias.numel() == visible_ && p.hidden_bias.numel() == hidden_,
                   "bias sizes ", p.visible_bias.numel(), "/", p.hidden_bias.numel(),
                   " for an RBM of ", visible_, "x", hidden_);
  visible_type_ = p.visible_type;
  weights_.upload(p.weights);
  visible_bias_.upload(p.visible_bias);
  hidden_bias_.upload(p.hidden_bias);
  if (p.visible_sigma.numel() == visible_) {
    set_visible_sigma(p.visible_sigma);
  } else {
    set_visible_sigma(HostTensor({visible_}, 1.0f));
  }
}

// ---- checkpoints ----

void append_rbm(SafetensorsFile& file, const RbmParams& p, const std::string& prefix) {
  file.tensors[prefix + "weights"] = p.weights;
  file.tensors[prefix + "visible_bias"] = p.visible_bias;
  file.tensors[prefix + "hidden_bias"] = p.hidden_bias;
  if (p.visible_type == VisibleType::gaussian)
    file.tensors[prefix + "visible_sigma"] = p.visible_sigma;
  file.metadata[prefix + "visible_units"] = to_string(p.visible_type);
  file.metadata[prefix + "hidden_units"] = "bernoulli";
  file.metadata[prefix + "visible"] = std::to_string(p.visible());
  file.metadata[prefix + "hidden"] = std::to_string(p.hidden());
}

RbmParams extract_rbm(const SafetensorsFile& file, const std::string& path,
                      const std::string& prefix) {
  RbmParams p;
  auto it = file.metadata.find(prefix + "visible_units");
  p.visible_type =
      it == file.metadata.end() ? VisibleType::bernoulli : parse_visible_type(it->second);
  p.weights = require_tensor(file, prefix + "weights", {-1, -1}, path);
  const int64_t v = p.weights.shape[0];
  const int64_t h = p.weights.shape[1];
  p.visible_bias = require_tensor(file, prefix + "visible_bias", {v}, path);
  p.hidden_bias = require_tensor(file, prefix + "hidden_bias", {h}, path);
  if (p.visible_type == VisibleType::gaussian) {
    p.visible_sigma = require_tensor(file, prefix + "visible_sigma", {v}, path);
  } else {
    p.visible_sigma = HostTensor({v}, 1.0f);
  }
  for (const HostTensor* t : {&p.weights, &p.visible_bias, &p.hidden_bias, &p.visible_sigma}) {
    for (float x : t->data) {
      if (!std::isfinite(x)) CRBM_FAIL(path, ": ", prefix, "parameters contain NaN/Inf");
    }
  }
  return p;
}

void save_rbm(const std::string& path, const RbmParams& params,
              const std::map<std::string, std::string>& extra) {
  SafetensorsFile file = new_checkpoint("rbm", extra);
  append_rbm(file, params);
  save_safetensors(path, file);
}

void save_rbm(const std::string& path, const Rbm& rbm,
              const std::map<std::string, std::string>& extra) {
  save_rbm(path, rbm.to_host(), extra);
}

RbmParams load_rbm_params(const std::string& path, std::map<std::string, std::string>* metadata) {
  const SafetensorsFile file = load_checkpoint(path);
  auto model = file.metadata.find("model");
  if (model != file.metadata.end() && model->second != "rbm") {
    CRBM_FAIL(path, ": holds a '", model->second, "' model, not a dense RBM");
  }
  if (metadata != nullptr) *metadata = file.metadata;
  return extract_rbm(file, path);
}

}  // namespace crbm
