// The DBM itself (see dbm.hpp): parameters, the layer conditionals, mean-field inference and
// Gibbs sampling, written against the Backend operations. Training is in
// train/dbm_train.cpp, log Z and the bound in eval/dbm_eval.cpp, checkpoints in io/dbm_io.cpp.
#include "crbm/dbm.hpp"

#include <algorithm>

#include "models/dbm_internal.hpp"
#include "rng_streams.hpp"

namespace crbm {
namespace detail {

using namespace rng_stream::dbm;  // Philox stream ids (rng_streams.hpp)

void dbm_layer_logits(const Dbm& dbm, size_t l, CMatRef below, CMatRef above, MatRef out,
                      CMatRef labels) {
  Backend& be = dbm.backend();
  float beta = 0.0f;
  if (l > 0) {
    be.gemm(false, false, 1.0f, below, dbm.weights(l - 1), 0.0f, out);
    beta = 1.0f;
  }
  if (l < dbm.depth()) be.gemm(false, true, 1.0f, above, dbm.weights(l), beta, out);
  if (l == dbm.depth() && labels.data != nullptr) {
    be.gemm(false, true, 1.0f, labels, dbm.label_weights(), 1.0f, out);  // + U y
  }
  be.scale_add_activate(out, 1.0f, CMatRef{}, dbm.bias(l), Activation::linear);
}

void dbm_label_logits(const Dbm& dbm, CMatRef top, MatRef out) {
  Backend& be = dbm.backend();
  be.gemm(false, false, 1.0f, top, dbm.label_weights(), 0.0f, out);
  be.scale_add_activate(out, 1.0f, CMatRef{}, dbm.label_bias(), Activation::linear);
}

void dbm_gibbs_step(const Dbm& dbm, std::vector<Matrix>& state, std::vector<Matrix>& probs,
                    uint64_t seed, uint64_t step) {
  Backend& be = dbm.backend();
  const size_t top = dbm.depth();
  const bool labelled = dbm.labelled();
  CRBM_CHECK_THROW(state.size() == top + (labelled ? 2 : 1) && probs.size() == state.size(),
                   "DBM Gibbs step: ", state.size(), " state matrices for ", top, " hidden layers",
                   labelled ? " and the label group" : "");
  const CMatRef labels = labelled ? CMatRef(state[top + 1]) : CMatRef{};
  for (size_t parity : {size_t{1}, size_t{0}}) {
    for (size_t l = parity; l <= top; l += 2) {
      dbm_layer_logits(dbm, l, l > 0 ? CMatRef(state[l - 1]) : CMatRef{},
                       l < top ? CMatRef(state[l + 1]) : CMatRef{}, probs[l],
                       l == top ? labels : CMatRef{});
      be.scale_add_activate(probs[l], 1.0f, CMatRef{}, CMatRef{}, Activation::sigmoid);
      be.sample_bernoulli(probs[l], state[l], RngKey{seed, kStreamDbmGibbs, step * 8 + l});
    }
    // y (layer L + 1 by parity) given h_L: one softmax draw per chain.
    if (labelled && (top + 1) % 2 == parity) {
      dbm_label_logits(dbm, state[top], probs[top + 1]);
      be.softmax_groups(probs[top + 1], dbm.num_classes());
      be.sample_softmax_groups(probs[top + 1], dbm.num_classes(), state[top + 1],
                               RngKey{seed, kStreamDbmLabel, step});
    }
  }
}

void dbm_ensure_rows(Backend& be, std::vector<Matrix>& m, size_t count, int64_t rows,
                     const std::vector<int64_t>& cols) {
  m.resize(count);
  for (size_t i = 0; i < count; ++i) {
    if (m[i].rows() != rows || m[i].cols() != cols[i]) m[i] = Matrix(be, rows, cols[i]);
  }
}

}  // namespace detail

using detail::dbm_ensure_rows;
using detail::dbm_gibbs_step;
using detail::dbm_label_logits;
using detail::dbm_layer_logits;
using namespace rng_stream::dbm;

// ---- model ----

Dbm::Dbm(Backend& backend, int64_t visible, const std::vector<int64_t>& hidden, int64_t num_classes)
    : backend_(&backend) {
  if (num_classes == 1 || num_classes < 0) {
    CRBM_FAIL("a DBM's label group needs num_classes >= 2 (0: no labels); got ", num_classes);
  }
  if (hidden.size() < 1 || hidden.size() > 8) {
    CRBM_FAIL("a DBM needs 1..8 hidden layers (got ", hidden.size(), ")");
  }
  sizes_.push_back(visible);
  for (int64_t h : hidden) sizes_.push_back(h);
  for (int64_t s : sizes_) {
    if (s < 1) CRBM_FAIL("DBM layer sizes must be >= 1 (got ", s, ")");
  }
  for (size_t l = 0; l < sizes_.size(); ++l) {
    biases_.emplace_back(backend, 1, sizes_[l]);
    backend.fill(biases_.back(), 0.0f);
    if (l + 1 < sizes_.size()) {
      weights_.emplace_back(backend, sizes_[l], sizes_[l + 1]);
      backend.fill(weights_.back(), 0.0f);
    }
  }
  num_classes_ = num_classes;
  if (num_classes_ > 0) {
    label_weights_ = Matrix(backend, sizes_.back(), num_classes_);
    label_bias_ = Matrix(backend, 1, num_classes_);
    backend.fill(label_weights_, 0.0f);
    backend.fill(label_bias_, 0.0f);
  }
}

Dbm::Dbm(Backend& backend, const DbmParams& p) : backend_(&backend) {
  if (p.weights.empty() || p.biases.size() != p.weights.size() + 1) {
    CRBM_FAIL("DBM parameters: ", p.weights.size(), " weight and ", p.biases.size(),
              " bias tensors (need L and L + 1)");
  }
  std::vector<int64_t> hidden;
  for (size_t l = 1; l < p.biases.size(); ++l) hidden.push_back(p.biases[l].numel());
  if (p.label_weights.numel() == 0 && p.label_bias.numel() == 0) {
    *this = Dbm(backend, p.biases[0].numel(), hidden);
  } else {
    if (p.label_bias.numel() < 2) {
      CRBM_FAIL("DBM parameters: the label bias has ", p.label_bias.numel(),
                " entries (a label group needs >= 2 classes)");
    }
    *this = Dbm(backend, p.biases[0].numel(), hidden, p.label_bias.numel());
  }
  load(p);
}

DbmParams Dbm::to_host() const {
  DbmParams p;
  for (size_t l = 0; l < weights_.size(); ++l) {
    p.weights.push_back(weights_[l].download({sizes_[l], sizes_[l + 1]}));
  }
  for (size_t l = 0; l < biases_.size(); ++l) p.biases.push_back(biases_[l].download({sizes_[l]}));
  if (labelled()) {
    p.label_weights = label_weights_.download({sizes_.back(), num_classes_});
    p.label_bias = label_bias_.download({num_classes_});
  }
  return p;
}

void Dbm::load(const DbmParams& p) {
  CRBM_CHECK_THROW(p.weights.size() == weights_.size() && p.biases.size() == biases_.size(),
                   "loading a ", p.weights.size(), "-layer DBM into a ", weights_.size(),
                   "-layer one");
  for (size_t l = 0; l < weights_.size(); ++l) {
    if (p.weights[l].rows() != sizes_[l] || p.weights[l].cols() != sizes_[l + 1]) {
      CRBM_FAIL("DBM weights ", l, " have shape ", p.weights[l].shape_string(), "; expected [",
                sizes_[l], ",", sizes_[l + 1], "]");
    }
    weights_[l].upload(p.weights[l]);
  }
  for (size_t l = 0; l < biases_.size(); ++l) {
    if (p.biases[l].numel() != sizes_[l]) {
      CRBM_FAIL("DBM bias ", l, " has ", p.biases[l].numel(), " entries; expected ", sizes_[l]);
    }
    biases_[l].upload(p.biases[l]);
  }
  if (p.num_classes() != num_classes_) {
    CRBM_FAIL("loading DBM parameters with ", p.num_classes(), " label classes into a DBM with ",
              num_classes_, " (0: no label group)");
  }
  if (labelled()) {
    if (p.label_weights.rows() != sizes_.back() || p.label_weights.cols() != num_classes_ ||
        p.label_weights.shape.size() != 2) {
      CRBM_FAIL("DBM label weights have shape ", p.label_weights.shape_string(), "; expected [",
                sizes_.back(), ",", num_classes_, "] (top layer x classes)");
    }
    label_weights_.upload(p.label_weights);
    label_bias_.upload(p.label_bias);
  }
}
// ---- inference ----

void Dbm::mean_field(CMatRef v, int sweeps, std::vector<Matrix>& mu, std::vector<Matrix>* logits,
                     CMatRef labels) const {
  CRBM_CHECK_THROW(v.cols == sizes_[0], "mean_field: v has ", v.cols, " columns for ", sizes_[0],
                   " visible units");
  CRBM_CHECK_THROW(sweeps >= 0, "mean_field: sweeps = ", sweeps);
  const bool clamped = labels.data != nullptr;
  if (clamped) {
    CRBM_CHECK_THROW(labelled(), "mean_field: labels given to a DBM without a label group");
    CRBM_CHECK_THROW(labels.rows == v.rows && labels.cols == num_classes_,
                     "mean_field: labels are ", labels.rows, "x", labels.cols, " for ", v.rows,
                     " rows of ", num_classes_, " classes");
  }
  const bool free_labels = labelled() && !clamped;
  Backend& be = *backend_;
  const size_t L = depth();
  std::vector<int64_t> cols(sizes_.begin() + 1, sizes_.end());
  if (free_labels) cols.push_back(num_classes_);
  std::vector<Matrix> local;
  std::vector<Matrix>& z = logits != nullptr ? *logits : local;
  dbm_ensure_rows(be, mu, cols.size(), v.rows, cols);
  dbm_ensure_rows(be, z, cols.size(), v.rows, cols);
  // The label input of h_L: the clamped one-hot y, or the current q(y).
  const CMatRef label_input = clamped ? labels : free_labels ? CMatRef(mu[L]) : CMatRef{};
  auto update_labels = [&]() {  // q(y) = softmax(mu_L U + c)
    if (!free_labels) return;
    dbm_label_logits(*this, mu[L - 1], z[L]);
    be.copy(z[L], mu[L]);
    be.softmax_groups(mu[L], num_classes_);
  };
  // Bottom-up initialisation; every layer but the top has its input doubled (it will also
  // receive top-down input).
  for (size_t l = 1; l <= L; ++l) {
    const CMatRef below = l == 1 ? v : CMatRef(mu[l - 2]);
    be.gemm(false, false, 1.0f, below, weights_[l - 1], 0.0f, z[l - 1]);
    if (l == L && clamped) be.gemm(false, true, 1.0f, labels, label_weights_, 1.0f, z[l - 1]);
    be.scale_add_activate(z[l - 1], l < L ? 2.0f : 1.0f, CMatRef{}, biases_[l], Activation::linear);
    be.copy(z[l - 1], mu[l - 1]);
    be.scale_add_activate(mu[l - 1], 1.0f, CMatRef{}, CMatRef{}, Activation::sigmoid);
  }
  update_labels();
  for (int s = 0; s < sweeps; ++s) {
    for (size_t l = 1; l <= L; ++l) {
      dbm_layer_logits(*this, l, l == 1 ? v : CMatRef(mu[l - 2]),
                       l < L ? CMatRef(mu[l]) : CMatRef{}, z[l - 1],
                       l == L ? label_input : CMatRef{});
      be.copy(z[l - 1], mu[l - 1]);
      be.scale_add_activate(mu[l - 1], 1.0f, CMatRef{}, CMatRef{}, Activation::sigmoid);
    }
    update_labels();
  }
}

std::vector<int32_t> Dbm::classify(CMatRef v, int sweeps, int64_t batch) const {
  CRBM_CHECK_THROW(labelled(), "classify: the DBM has no label group");
  CRBM_CHECK_THROW(batch >= 1, "classify: batch = ", batch);
  std::vector<int32_t> out;
  out.reserve(static_cast<size_t>(v.rows));
  std::vector<Matrix> mu;
  for (int64_t first = 0; first < v.rows; first += batch) {
    const int64_t b = std::min(batch, v.rows - first);
    mean_field(v.row_range(first, b), sweeps, mu);
    const HostTensor q = mu[depth()].download();
    for (int64_t r = 0; r < b; ++r) {
      const float* row = q.data.data() + r * num_classes_;
      out.push_back(static_cast<int32_t>(std::max_element(row, row + num_classes_) - row));
    }
  }
  return out;
}

double Dbm::error_rate(CMatRef v, const std::vector<int32_t>& labels, int sweeps) const {
  CRBM_CHECK_THROW(static_cast<int64_t>(labels.size()) == v.rows, "error_rate: ", labels.size(),
                   " labels for ", v.rows, " rows");
  if (v.rows == 0) return 0.0;
  const std::vector<int32_t> predicted = classify(v, sweeps);
  int64_t wrong = 0;
  for (size_t r = 0; r < labels.size(); ++r) wrong += predicted[r] != labels[r] ? 1 : 0;
  return static_cast<double>(wrong) / static_cast<double>(v.rows);
}

HostTensor Dbm::sample(int64_t chains, int steps, uint64_t seed) const {
  CRBM_CHECK_THROW(chains > 0 && steps >= 0, "sample: chains ", chains, ", steps ", steps);
  Backend& be = *backend_;
  std::vector<Matrix> state, probs;
  std::vector<int64_t> cols = sizes_;
  if (labelled()) cols.push_back(num_classes_);
  dbm_ensure_rows(be, state, cols.size(), chains, cols);
  dbm_ensure_rows(be, probs, cols.size(), chains, cols);
  for (size_t l = 0; l < sizes_.size(); ++l) {
    be.fill(probs[l], 0.5f);
    be.sample_bernoulli(probs[l], state[l], RngKey{seed, kStreamDbmInit, l});
  }
  if (labelled()) {  // a uniform class per chain
    be.fill(probs.back(), 1.0f / static_cast<float>(num_classes_));
    be.sample_softmax_groups(probs.back(), num_classes_, state.back(),
                             RngKey{seed, kStreamDbmLabelInit, 0});
  }
  for (int s = 0; s < steps; ++s) dbm_gibbs_step(*this, state, probs, seed, uint64_t(s));
  dbm_layer_logits(*this, 0, CMatRef{}, state[1], probs[0]);
  be.scale_add_activate(probs[0], 1.0f, CMatRef{}, CMatRef{}, Activation::sigmoid);
  return probs[0].download();
}
}  // namespace crbm
