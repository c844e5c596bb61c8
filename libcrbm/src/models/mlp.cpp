// Backpropagation for the sigmoid/softmax classifier of mlp.hpp against the Backend
// operations: gemm for the products, sigmoid_backward for the hidden deltas,
// softmax_groups for the output, column_sums for the bias gradients.
#include "crbm/mlp.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>

#include "crbm/safetensors.hpp"
#include "rng_streams.hpp"
#include "train/config_check.hpp"

namespace crbm {
using namespace rng_stream::mlp;  // Philox stream ids (rng_streams.hpp)

void MlpConfig::validate() const {
  validate_sgd("fine-tuning");
}

std::string MlpConfig::to_json() const {
  return detail::sgd_json(*this).dump();
}

Mlp::Mlp(Backend& backend, std::vector<int64_t> sizes)
    : backend_(&backend), sizes_(std::move(sizes)) {
  if (sizes_.size() < 2) CRBM_FAIL("an MLP needs at least an input and an output size");
  for (int64_t s : sizes_) {
    if (s < 1) CRBM_FAIL("MLP layer sizes must be >= 1 (got ", s, ")");
  }
  if (sizes_.back() < 2) CRBM_FAIL("the softmax output needs at least 2 classes");
  for (size_t l = 0; l + 1 < sizes_.size(); ++l) {
    weights_.emplace_back(backend, sizes_[l], sizes_[l + 1]);
    biases_.emplace_back(backend, 1, sizes_[l + 1]);
    grad_w_.emplace_back(backend, sizes_[l], sizes_[l + 1]);
    grad_b_.emplace_back(backend, 1, sizes_[l + 1]);
    backend.fill(weights_.back(), 0.0f);
    backend.fill(biases_.back(), 0.0f);
  }
}

Mlp::Mlp(Backend& backend, const MlpParams& p) : backend_(&backend) {
  if (p.weights.empty() || p.weights.size() != p.biases.size()) {
    CRBM_FAIL("MLP parameters: ", p.weights.size(), " weight and ", p.biases.size(),
              " bias tensors");
  }
  sizes_.push_back(p.weights[0].rows());
  for (const HostTensor& w : p.weights) sizes_.push_back(w.cols());
  *this = Mlp(backend, sizes_);
  load(p);
}

void Mlp::init_random(uint64_t seed) {
  Backend& be = *backend_;
  for (size_t l = 0; l < weights_.size(); ++l) {
    const float r = 4.0f * std::sqrt(6.0f / static_cast<float>(sizes_[l] + sizes_[l + 1]));
    Matrix shift(be, 1, sizes_[l + 1]);
    be.fill(shift, -r);
    be.fill_uniform(weights_[l], RngKey{seed, kStreamMlpInit, l});
    be.scale_add_activate(weights_[l], 2.0f * r, CMatRef{}, shift, Activation::linear);
    be.fill(biases_[l], 0.0f);
  }
}

Mlp Mlp::from_dbn(const Dbn& dbn, int classes, uint64_t seed) {
  std::vector<int64_t> sizes;
  for (size_t l = 0; l <= dbn.depth(); ++l) sizes.push_back(dbn.layer_size(l));
  sizes.push_back(classes);
  Mlp mlp(dbn.backend(), sizes);
  Backend& be = dbn.backend();
  for (size_t l = 0; l < dbn.depth(); ++l) {
    const Rbm& r = dbn.layer(l);
    be.copy(r.weights().rows_view(0, dbn.layer_size(l)), mlp.weights_[l]);
    be.copy(r.hidden_bias(), mlp.biases_[l]);
  }
  const size_t out = dbn.depth();
  if (dbn.num_classes() == classes) {
    // Output layer = the label units' conditional given the top hidden layer:
    // P(y|h) = softmax(h Wy' + by), i.e. W_out = Wy' [n_L x K].
    const RbmParams top = dbn.top().to_host();
    const int64_t pen = dbn.layer_size(out - 1), nh = top.hidden();
    HostTensor w({nh, int64_t{classes}}), b({int64_t{classes}});
    for (int k = 0; k < classes; ++k) {
      for (int64_t j = 0; j < nh; ++j)
        w.data[j * classes + k] = top.weights.data[(pen + k) * nh + j];
      b.data[k] = top.visible_bias.data[pen + k];
    }
    mlp.weights_[out].upload(w);
    mlp.biases_[out].upload(b);
  } else {
    be.fill_normal(mlp.weights_[out], 0.0f, 0.01f, RngKey{seed, kStreamMlpInit, 1000});
    be.fill(mlp.biases_[out], 0.0f);
  }
  return mlp;
}

void Mlp::ensure(int64_t rows) {
  if (rows <= rows_) return;
  act_.clear();
  delta_.clear();
  for (size_t l = 0; l < sizes_.size(); ++l) {
    act_.emplace_back(*backend_, l == 0 ? 1 : rows, sizes_[l]);
    delta_.emplace_back(*backend_, l == 0 ? 1 : rows, sizes_[l]);
  }
  rows_ = rows;
}

CMatRef Mlp::forward(CMatRef x) {
  CRBM_CHECK_THROW(x.cols == sizes_[0], "MLP input has ", x.cols, " columns for ", sizes_[0],
                   " inputs");
  Backend& be = *backend_;
  const int64_t b = x.rows;
  ensure(b);
  input_ = x;
  CMatRef a = x;
  for (size_t l = 0; l < weights_.size(); ++l) {
    MatRef z = act_[l + 1].rows_view(0, b);
    be.gemm(false, false, 1.0f, a, weights_[l], 0.0f, z);
    const bool last = l + 1 == weights_.size();
    be.scale_add_activate(z, 1.0f, CMatRef{}, biases_[l],
                          last ? Activation::linear : Activation::sigmoid);
    if (last) be.softmax_groups(z, z.cols);
    a = z;
  }
  return a;
}

double Mlp::backward(CMatRef x, CMatRef onehot) {
  Matrix py(*backend_, x.rows, 1);
  backward(x, onehot, py);
  double loss = 0;
  for (float v : py.download().data) loss -= std::log(std::max(double(v), 1e-30));
  return loss / static_cast<double>(x.rows);
}

void Mlp::backward(CMatRef x, CMatRef onehot, MatRef true_class_probs) {
  Backend& be = *backend_;
  const int64_t b = x.rows;
  CRBM_CHECK_THROW(onehot.rows == b && onehot.cols == sizes_.back(), "targets ", onehot.rows, "x",
                   onehot.cols, " for ", b, " rows and ", sizes_.back(), " classes");
  CRBM_CHECK_THROW(true_class_probs.rows == b && true_class_probs.cols == 1,
                   "true-class probabilities ", true_class_probs.rows, "x", true_class_probs.cols,
                   " for ", b, " rows");
  const CMatRef p = forward(x);
  const size_t L = weights_.size();
  // p[r, y_r] = sum_c onehot[r, c] p[r, c] (exact: one non-zero term).
  MatRef dz = delta_[L].rows_view(0, b);
  be.copy(p, dz);
  be.multiply(onehot, dz);
  be.row_reduce(dz, RowReduce::sum, true_class_probs);
  // dz_L = (p - onehot) / B
  be.copy(p, dz);
  be.axpby(-1.0f, onehot, 1.0f, dz);
  be.scale_add_activate(dz, 1.0f / static_cast<float>(b), CMatRef{}, CMatRef{}, Activation::linear);
  for (size_t l = L; l-- > 0;) {
    const CMatRef a_prev = l == 0 ? input_ : CMatRef(act_[l].rows_view(0, b));
    const CMatRef d = delta_[l + 1].rows_view(0, b);
    be.gemm(true, false, 1.0f, a_prev, d, 0.0f, grad_w_[l]);
    be.column_sums(d, 1.0f, 0.0f, grad_b_[l]);
    if (l > 0) {
      MatRef dprev = delta_[l].rows_view(0, b);
      be.gemm(false, true, 1.0f, d, weights_[l], 0.0f, dprev);
      be.sigmoid_backward(a_prev, dprev);
    }
  }
}

namespace {
// Calls fn(row, probabilities) for every row of x in order: the class probabilities
// (forward), computed `batch` rows at a time and downloaded.
void for_each_output_row(Mlp& mlp, CMatRef x, int64_t batch,
                         const std::function<void(int64_t, const float*)>& fn) {
  const int64_t k = mlp.classes();
  for (int64_t first = 0; first < x.rows; first += batch) {
    const int64_t b = std::min(batch, x.rows - first);
    const CMatRef p = mlp.forward(x.row_range(first, b));
    HostTensor h({b, k});
    mlp.backend().download(p, h.data.data());
    for (int64_t r = 0; r < b; ++r) fn(first + r, h.data.data() + r * k);
  }
}
}  // namespace

std::vector<int32_t> Mlp::predict(CMatRef x, int64_t batch) {
  std::vector<int32_t> out;
  out.reserve(static_cast<size_t>(x.rows));
  const int64_t k = sizes_.back();
  for_each_output_row(*this, x, batch, [&](int64_t, const float* row) {
    out.push_back(static_cast<int32_t>(std::max_element(row, row + k) - row));
  });
  return out;
}

double Mlp::loss(CMatRef x, const std::vector<int32_t>& labels, int64_t batch) {
  CRBM_CHECK_THROW(static_cast<int64_t>(labels.size()) == x.rows, labels.size(), " labels for ",
                   x.rows, " rows");
  const int64_t k = sizes_.back();
  double total = 0;
  for_each_output_row(*this, x, batch, [&](int64_t r, const float* row) {
    const int32_t y = labels[r];
    CRBM_CHECK_THROW(y >= 0 && y < k, "label ", y, " outside [0, ", k, ")");
    total -= std::log(std::max(double(row[y]), 1e-30));
  });
  return x.rows > 0 ? total / static_cast<double>(x.rows) : 0.0;
}

double Mlp::error_rate(CMatRef x, const std::vector<int32_t>& labels, int64_t batch) {
  CRBM_CHECK_THROW(static_cast<int64_t>(labels.size()) == x.rows, labels.size(), " labels for ",
                   x.rows, " rows");
  const std::vector<int32_t> pred = predict(x, batch);
  int64_t wrong = 0;
  for (size_t r = 0; r < pred.size(); ++r) wrong += pred[r] != labels[r];
  return x.rows > 0 ? static_cast<double>(wrong) / static_cast<double>(x.rows) : 0.0;
}

MlpParams Mlp::to_host() const {
  MlpParams p;
  for (size_t l = 0; l < weights_.size(); ++l) {
    p.weights.push_back(weights_[l].download({sizes_[l], sizes_[l + 1]}));
    p.biases.push_back(biases_[l].download({sizes_[l + 1]}));
  }
  return p;
}

void Mlp::load(const MlpParams& p) {
  CRBM_CHECK_THROW(p.weights.size() == weights_.size() && p.biases.size() == biases_.size(),
                   "loading ", p.weights.size(), " layers into an MLP of ", weights_.size());
  for (size_t l = 0; l < weights_.size(); ++l) {
    weights_[l].upload(p.weights[l]);
    biases_[l].upload(p.biases[l]);
  }
}

// ---- training ----

MlpTrainer::MlpTrainer(Mlp& mlp, MlpConfig config)
    : mlp_(mlp), config_(std::move(config)), be_(mlp.backend()) {
  config_.validate();
  for (size_t l = 0; l < mlp.num_layers(); ++l) {
    vel_w_.emplace_back(be_, mlp.weights(l).rows(), mlp.weights(l).cols());
    vel_b_.emplace_back(be_, 1, mlp.bias(l).cols());
    be_.fill(vel_w_.back(), 0.0f);
    be_.fill(vel_b_.back(), 0.0f);
  }
}

MlpEpochStats MlpTrainer::train_epoch(CMatRef x, const std::vector<int32_t>& labels) {
  const int64_t n = x.rows;
  CRBM_CHECK_THROW(static_cast<int64_t>(labels.size()) == n, labels.size(), " labels for ", n,
                   " rows");
  if (n == 0) CRBM_FAIL("fine-tuning data is empty");
  const auto start = std::chrono::steady_clock::now();
  MlpEpochStats st;
  st.learning_rate = config_.learning_rate_at(epoch_, updates_);
  if (onehot_.rows() != n || onehot_labels_ != labels) {
    onehot_ = Matrix::from_host(be_, one_hot(labels, mlp_.classes()));
    onehot_labels_ = labels;
    shuffled_x_ = Matrix(be_, n, x.cols);
    shuffled_y_ = Matrix(be_, n, mlp_.classes());
  }
  if (true_class_probs_.rows() != n) true_class_probs_ = Matrix(be_, n, 1);
  const auto order = shuffled_indices(n, config_.seed, static_cast<uint64_t>(epoch_));
  be_.gather_rows(x, order, shuffled_x_);
  be_.gather_rows(onehot_, order, shuffled_y_);
  for (int64_t first = 0; first < n; first += config_.batch_size) {
    const int64_t b = std::min(config_.batch_size, n - first);
    mlp_.backward(shuffled_x_.rows_view(first, b), shuffled_y_.rows_view(first, b),
                  true_class_probs_.rows_view(first, b));
    const StepRates rates = step_rates(config_, epoch_, updates_);
    for (size_t l = 0; l < mlp_.num_layers(); ++l) {
      momentum_step(be_, mlp_.weights(l), vel_w_[l], mlp_.grad_weights(l), rates, config_,
                    Decay::weights, Direction::descent);
      momentum_step(be_, mlp_.bias(l), vel_b_[l], mlp_.grad_bias(l), rates, config_, Decay::none,
                    Direction::descent);
    }
    ++updates_;
  }
  // The loss: the mean over minibatches of each one's mean cross-entropy, read once per
  // epoch (the download waits for the epoch's updates).
  const HostTensor py = true_class_probs_.download();
  double loss = 0;
  int64_t batches = 0;
  for (int64_t first = 0; first < n; first += config_.batch_size) {
    const int64_t b = std::min(config_.batch_size, n - first);
    double batch_loss = 0;
    for (int64_t r = first; r < first + b; ++r)
      batch_loss -= std::log(std::max(double(py.data[r]), 1e-30));
    loss += batch_loss / static_cast<double>(b);
    ++batches;
  }
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  st.train_loss = loss / static_cast<double>(std::max<int64_t>(batches, 1));
  if (!std::isfinite(st.train_loss) || !be_.all_finite(mlp_.weights(0))) {
    throw divergence_error("fine-tuning", epoch_, st.learning_rate);
  }
  ++epoch_;
  st.epoch = epoch_;
  return st;
}

// ---- checkpoints ----

void save_mlp(const std::string& path, const MlpParams& params,
              const std::map<std::string, std::string>& extra) {
  SafetensorsFile file = new_checkpoint("mlp", extra);
  file.metadata["layers"] = std::to_string(params.weights.size());
  for (size_t l = 0; l < params.weights.size(); ++l) {
    const std::string p = "layer" + std::to_string(l) + ".";
    file.tensors[p + "weights"] = params.weights[l];
    file.tensors[p + "bias"] = params.biases[l];
  }
  save_safetensors(path, file);
}

MlpParams load_mlp_params(const std::string& path, std::map<std::string, std::string>* metadata) {
  const SafetensorsFile file = load_checkpoint(path);
  require_model(file, "mlp", "an MLP", path);
  const int64_t n = require_metadata_int(file, "layers", 1, 64, path);
  MlpParams p;
  require_weight_chain(file, n, -1, "bias", p.weights, p.biases, path);
  if (metadata != nullptr) *metadata = file.metadata;
  return p;
}

}  // namespace crbm
