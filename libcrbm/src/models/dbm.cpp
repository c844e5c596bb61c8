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

void dbm_layer_logits(const Dbm& dbm, size_t l, CMatRef below, CMatRef above, MatRef out) {
  Backend& be = dbm.backend();
  float beta = 0.0f;
  if (l > 0) {
    be.gemm(false, false, 1.0f, below, dbm.weights(l - 1), 0.0f, out);
    beta = 1.0f;
  }
  if (l < dbm.depth()) be.gemm(false, true, 1.0f, above, dbm.weights(l), beta, out);
  be.scale_add_activate(out, 1.0f, CMatRef{}, dbm.bias(l), Activation::linear);
}

void dbm_gibbs_step(const Dbm& dbm, std::vector<Matrix>& state, std::vector<Matrix>& probs,
                    uint64_t seed, uint64_t step) {
  Backend& be = dbm.backend();
  const size_t top = dbm.depth();
  for (size_t parity : {size_t{1}, size_t{0}}) {
    for (size_t l = parity; l <= top; l += 2) {
      dbm_layer_logits(dbm, l, l > 0 ? CMatRef(state[l - 1]) : CMatRef{},
                       l < top ? CMatRef(state[l + 1]) : CMatRef{}, probs[l]);
      be.scale_add_activate(probs[l], 1.0f, CMatRef{}, CMatRef{}, Activation::sigmoid);
      be.sample_bernoulli(probs[l], state[l], RngKey{seed, kStreamDbmGibbs, step * 8 + l});
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
using detail::dbm_layer_logits;
using namespace rng_stream::dbm;

// ---- model ----

Dbm::Dbm(Backend& backend, int64_t visible, const std::vector<int64_t>& hidden)
    : backend_(&backend) {
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
}

Dbm::Dbm(Backend& backend, const DbmParams& p) : backend_(&backend) {
  if (p.weights.empty() || p.biases.size() != p.weights.size() + 1) {
    CRBM_FAIL("DBM parameters: ", p.weights.size(), " weight and ", p.biases.size(),
              " bias tensors (need L and L + 1)");
  }
  std::vector<int64_t> hidden;
  for (size_t l = 1; l < p.biases.size(); ++l) hidden.push_back(p.biases[l].numel());
  *this = Dbm(backend, p.biases[0].numel(), hidden);
  load(p);
}

DbmParams Dbm::to_host() const {
  DbmParams p;
  for (size_t l = 0; l < weights_.size(); ++l) {
    p.weights.push_back(weights_[l].download({sizes_[l], sizes_[l + 1]}));
  }
  for (size_t l = 0; l < biases_.size(); ++l) p.biases.push_back(biases_[l].download({sizes_[l]}));
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
}
// ---- inference ----

void Dbm::mean_field(CMatRef v, int sweeps, std::vector<Matrix>& mu,
                     std::vector<Matrix>* logits) const {
  CRBM_CHECK_THROW(v.cols == sizes_[0], "mean_field: v has ", v.cols, " columns for ", sizes_[0],
                   " visible units");
  CRBM_CHECK_THROW(sweeps >= 0, "mean_field: sweeps = ", sweeps);
  Backend& be = *backend_;
  const size_t L = depth();
  const std::vector<int64_t> cols(sizes_.begin() + 1, sizes_.end());
  std::vector<Matrix> local;
  std::vector<Matrix>& z = logits != nullptr ? *logits : local;
  dbm_ensure_rows(be, mu, L, v.rows, cols);
  dbm_ensure_rows(be, z, L, v.rows, cols);
  // Bottom-up initialisation; every layer but the top has its input doubled (it will also
  // receive top-down input).
  for (size_t l = 1; l <= L; ++l) {
    const CMatRef below = l == 1 ? v : CMatRef(mu[l - 2]);
    be.gemm(false, false, 1.0f, below, weights_[l - 1], 0.0f, z[l - 1]);
    be.scale_add_activate(z[l - 1], l < L ? 2.0f : 1.0f, CMatRef{}, biases_[l], Activation::linear);
    be.copy(z[l - 1], mu[l - 1]);
    be.scale_add_activate(mu[l - 1], 1.0f, CMatRef{}, CMatRef{}, Activation::sigmoid);
  }
  for (int s = 0; s < sweeps; ++s) {
    for (size_t l = 1; l <= L; ++l) {
      dbm_layer_logits(*this, l, l == 1 ? v : CMatRef(mu[l - 2]),
                       l < L ? CMatRef(mu[l]) : CMatRef{}, z[l - 1]);
      be.copy(z[l - 1], mu[l - 1]);
      be.scale_add_activate(mu[l - 1], 1.0f, CMatRef{}, CMatRef{}, Activation::sigmoid);
    }
  }
}

HostTensor Dbm::sample(int64_t chains, int steps, uint64_t seed) const {
  CRBM_CHECK_THROW(chains > 0 && steps >= 0, "sample: chains ", chains, ", steps ", steps);
  Backend& be = *backend_;
  std::vector<Matrix> state, probs;
  dbm_ensure_rows(be, state, sizes_.size(), chains, sizes_);
  dbm_ensure_rows(be, probs, sizes_.size(), chains, sizes_);
  for (size_t l = 0; l < sizes_.size(); ++l) {
    be.fill(probs[l], 0.5f);
    be.sample_bernoulli(probs[l], state[l], RngKey{seed, kStreamDbmInit, l});
  }
  for (int s = 0; s < steps; ++s) dbm_gibbs_step(*this, state, probs, seed, uint64_t(s));
  dbm_layer_logits(*this, 0, CMatRef{}, state[1], probs[0]);
  be.scale_add_activate(probs[0], 1.0f, CMatRef{}, CMatRef{}, Activation::sigmoid);
  return probs[0].download();
}
}  // namespace crbm
