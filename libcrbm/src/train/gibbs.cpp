// Block Gibbs chains and the one CD-k / PCD-k negative phase (crbm/gibbs.hpp).
#include "crbm/gibbs.hpp"

#include <algorithm>
#include <utility>

#include "crbm/conv_rbm.hpp"
#include "crbm/rbm.hpp"

namespace crbm {

LayerRef LayerRef::rows_view(int64_t first, int64_t count) const {
  return LayerRef(units.row_range(first, count),
                  labels.cols > 0 ? labels.row_range(first, count) : MatRef{});
}

namespace {

// The visible side of a model whose visible units are an RBM's (Rbm, ConvRbm): means
// given hidden samples, visible samples from (seed, visible_stream), and PCD chains
// started as Bernoulli samples of the data from (seed, init_stream, 0) (kept as they are
// for Gaussian units).
template <class Model>
void set_visible_side(GibbsModel& m, const Model* r, uint64_t seed, uint32_t visible_stream,
                      uint32_t init_stream) {
  m.visible = [r](CMatRef hs, LayerRef v) { r->visible_mean_given_hidden(hs, v.units); };
  m.sample_visible = [r, seed, visible_stream](CLayerRef mean, LayerRef out, uint64_t step) {
    r->sample_visible(mean.units, out.units, RngKey{seed, visible_stream, step});
  };
  m.start_chains = [r, seed, init_stream](LayerRef chains) {
    if (r->visible_type() == VisibleType::bernoulli) {
      r->backend().sample_bernoulli(chains.units, chains.units, RngKey{seed, init_stream, 0});
    }
  };
}

}  // namespace

GibbsModel rbm_gibbs_model(const Rbm& rbm, uint64_t seed, uint32_t hidden_stream,
                           uint32_t visible_stream, uint32_t init_stream) {
  const Rbm* r = &rbm;
  GibbsModel m;
  m.hidden = [r](CLayerRef v, MatRef h) { r->hidden_given_visible(v.units, h); };
  m.sample_hidden = [r, seed, hidden_stream](CMatRef h, MatRef hs, uint64_t step) {
    r->sample_hidden(h, hs, RngKey{seed, hidden_stream, step});
  };
  set_visible_side(m, r, seed, visible_stream, init_stream);
  return m;
}

GibbsModel conv_gibbs_model(const ConvRbm& rbm, uint64_t seed, uint32_t hidden_stream,
                            uint32_t visible_stream, uint32_t init_stream) {
  const ConvRbm* r = &rbm;
  GibbsModel m;
  m.hidden = [r](CLayerRef v, MatRef logits) { r->hidden_logits(v.units, logits); };
  m.sample_hidden = [r, seed, hidden_stream](CMatRef logits, MatRef hs, uint64_t step) {
    r->sample_hidden_from_logits(logits, hs, MatRef{}, RngKey{seed, hidden_stream, step});
  };
  m.hidden_probs = [r](CMatRef logits, MatRef probs) {
    r->hidden_probs_from_logits(logits, probs, MatRef{});
  };
  set_visible_side(m, r, seed, visible_stream, init_stream);
  return m;
}

void gibbs_steps(const GibbsModel& model, LayerRef v, LayerRef mean, MatRef h, MatRef hs, int steps,
                 uint64_t first_step, const std::function<void(int)>& after_step) {
  for (int s = 0; s < steps; ++s) {
    const uint64_t step = first_step + static_cast<uint64_t>(s);
    model.hidden(v, h);
    model.sample_hidden(h, hs, step);
    model.visible(hs, mean);
    model.sample_visible(mean, v, step);
    if (after_step) after_step(s);
  }
}

CdNegativePhase::CdNegativePhase(Backend& be, GibbsModel model, const CdConfig& cd,
                                 int64_t batch_size, int64_t visible_units, int64_t label_units,
                                 int64_t hidden)
    : be_(be),
      model_(std::move(model)),
      cd_(cd),
      batch_size_(batch_size),
      visible_units_(visible_units),
      label_units_(label_units),
      hidden_(hidden) {
  CRBM_CHECK_THROW(model_.hidden && model_.sample_hidden && model_.visible && model_.sample_visible,
                   "a Gibbs model needs hidden, sample_hidden, visible and sample_visible");
  CRBM_CHECK_THROW(
      cd.cd_k >= 1 && batch_size >= 1 && visible_units >= 1 && label_units >= 0 && hidden >= 1,
      "CD negative phase: k ", cd.cd_k, ", batch ", batch_size, ", layers ", visible_units, "+",
      label_units, " x ", hidden);
}

int64_t CdNegativePhase::chains() const {
  if (!cd_.persistent) return 0;
  return cd_.pcd_chains > 0 ? cd_.pcd_chains : batch_size_;
}

void CdNegativePhase::ensure(int64_t rows) {
  rows = std::max({rows, batch_size_, chains()});
  if (rows <= rows_) return;
  mean_ = Matrix(be_, rows, visible_units_);
  sample_ = Matrix(be_, rows, visible_units_);
  if (label_units_ > 0) {
    mean_labels_ = Matrix(be_, rows, label_units_);
    sample_labels_ = Matrix(be_, rows, label_units_);
  }
  h_ = Matrix(be_, rows, hidden_);
  hs_ = Matrix(be_, rows, hidden_);
  if (model_.hidden_probs) probs_ = Matrix(be_, rows, hidden_);
  rows_ = rows;
}

CdNegativePhase::Sample CdNegativePhase::run(CLayerRef v0, CMatRef h0, int64_t update) {
  const int64_t b = v0.rows();
  CRBM_CHECK_THROW(
      b >= 1 && h0.rows == b && v0.units.cols == visible_units_ && v0.labels.cols == label_units_,
      "CD negative phase: ", b, " visible rows (", v0.units.cols, "+", v0.labels.cols,
      " columns) and ", h0.rows, " hidden rows for layers ", visible_units_, "+", label_units_);
  ensure(b);
  const uint64_t k = static_cast<uint64_t>(cd_.cd_k);
  const uint64_t first_step = static_cast<uint64_t>(update) * k;
  const auto layer = [this](Matrix& units, Matrix& labels, int64_t rows) {
    return LayerRef(units.rows_view(0, rows),
                    label_units_ > 0 ? labels.rows_view(0, rows) : MatRef{});
  };
  CLayerRef vk;
  MatRef h;
  if (cd_.persistent) {
    const int64_t c = chains();
    if (chains_.empty()) {
      // Start the chains at data rows (repeated when there are more chains than rows).
      chains_ = Matrix(be_, c, visible_units_);
      if (label_units_ > 0) chain_labels_ = Matrix(be_, c, label_units_);
      std::vector<int32_t> rows(static_cast<size_t>(c));
      for (int64_t i = 0; i < c; ++i) rows[i] = static_cast<int32_t>(i % b);
      be_.gather_rows(v0.units, rows, chains_);
      if (label_units_ > 0) be_.gather_rows(v0.labels, rows, chain_labels_);
      if (model_.start_chains) model_.start_chains(layer(chains_, chain_labels_, c));
    }
    const LayerRef state = layer(chains_, chain_labels_, c);
    h = h_.rows_view(0, c);
    gibbs_steps(model_, state, layer(mean_, mean_labels_, c), h, hs_.rows_view(0, c), cd_.cd_k,
                first_step);
    model_.hidden(state, h);
    vk = state;
  } else {
    const LayerRef mean = layer(mean_, mean_labels_, b);
    const LayerRef sample = layer(sample_, sample_labels_, b);
    const MatRef hs = hs_.rows_view(0, b);
    h = h_.rows_view(0, b);
    CMatRef h_prev = h0;
    for (uint64_t s = 0; s < k; ++s) {
      model_.sample_hidden(h_prev, hs, first_step + s);
      model_.visible(hs, mean);
      vk = mean;
      if (s + 1 < k || cd_.sample_negative_visible || model_.always_sample_visible) {
        model_.sample_visible(mean, sample, first_step + s);
        vk = sample;
      }
      model_.hidden(vk, h);
      h_prev = h;
    }
  }
  if (!model_.hidden_probs) return Sample{vk, h};
  const MatRef p = probs_.rows_view(0, h.rows);
  model_.hidden_probs(h, p);
  return Sample{vk, p};
}

// ---- the samplers of `crbm sample` ----

HostTensor random_chain_starts(const Rbm& rbm, int64_t chains, uint64_t seed) {
  Backend& be = rbm.backend();
  Matrix v(be, chains, rbm.visible());
  if (rbm.visible_type() == VisibleType::bernoulli) {
    be.fill(v, 0.5f);
    be.sample_bernoulli(v, v, RngKey{seed, 3, 0});
  } else {
    be.fill_normal(v, 0.0f, 1.0f, RngKey{seed, 3, 0});
  }
  return v.download();
}

HostTensor run_gibbs_chains(const Rbm& rbm, const HostTensor& init, int steps, uint64_t seed,
                            int every, std::vector<HostTensor>* snapshots) {
  CRBM_CHECK_THROW(init.cols() == rbm.visible() && steps >= 0, "Gibbs chains: ", init.cols(),
                   " visible values per chain for ", rbm.visible(), " units, ", steps, " steps");
  Backend& be = rbm.backend();
  const int64_t n = init.rows();
  Matrix v = Matrix::from_host(be, init);
  Matrix mean(be, n, rbm.visible());
  Matrix hp(be, n, rbm.hidden()), hs(be, n, rbm.hidden());
  be.copy(v, mean);
  const GibbsModel model = rbm_gibbs_model(rbm, seed, 1, 2, 3);
  gibbs_steps(model, v.ref(), mean.ref(), hp, hs, steps, 0, [&](int s) {
    if (every > 0 && snapshots != nullptr && (s + 1) % every == 0 && s + 1 < steps) {
      snapshots->push_back(mean.download());
    }
  });
  return mean.download();
}

HostTensor run_conv_gibbs_chains(const ConvRbm& rbm, int64_t chains, int steps, uint64_t seed) {
  CRBM_CHECK_THROW(chains >= 1 && steps >= 0, "conv Gibbs chains: ", chains, " chains, ", steps,
                   " steps");
  Backend& be = rbm.backend();
  const ConvShape s = rbm.shape(chains);
  Matrix v(be, chains, s.visible_size()), mean(be, chains, s.visible_size());
  Matrix logits(be, chains, s.hidden_size()), h(be, chains, s.hidden_size());
  be.fill_uniform(v, RngKey{seed, 31, 0});
  if (rbm.visible_type() == VisibleType::bernoulli) be.sample_bernoulli(v, v, RngKey{seed, 32, 0});
  be.copy(v, mean);
  gibbs_steps(conv_gibbs_model(rbm, seed, 33, 34, 32), v.ref(), mean.ref(), logits, h, steps, 0);
  return mean.download();
}

}  // namespace crbm
