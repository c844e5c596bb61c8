// The DBN model (see dbn.hpp): construction, the top RBM's conditionals and Gibbs steps,
// up/down passes, generation and inpainting, written against the Backend operations.
// With labels the top RBM's visible state is kept as two matrices, pen [B x n] and
// y [B x K] (models/dbn_top.hpp). Pretraining is in train/dbn_train.cpp, classification,
// log Z and the lower bound in eval/dbn_eval.cpp, checkpoints in io/dbn_io.cpp.
#include "crbm/dbn.hpp"

#include <algorithm>

#include "models/dbn_top.hpp"
#include "rng_streams.hpp"

namespace crbm {
namespace {
using namespace rng_stream::dbn;  // Philox stream ids (rng_streams.hpp)
}  // namespace

HostTensor one_hot(const std::vector<int32_t>& labels, int classes) {
  HostTensor t({static_cast<int64_t>(labels.size()), int64_t{classes}}, 0.0f);
  for (size_t r = 0; r < labels.size(); ++r) {
    if (labels[r] < 0 || labels[r] >= classes) {
      CRBM_FAIL("label ", labels[r], " at row ", r, " is outside [0, ", classes, ")");
    }
    t.data[r * classes + labels[r]] = 1.0f;
  }
  return t;
}

// ---- construction ----

Dbn::Dbn(Backend& backend, int64_t visible, const DbnConfig& config)
    : backend_(&backend), num_classes_(config.num_classes) {
  config.validate();
  if (visible < 1) CRBM_FAIL("a DBN needs at least one visible unit (got ", visible, ")");
  int64_t below = visible;
  for (size_t l = 0; l < config.layers.size(); ++l) {
    const bool top = l + 1 == config.layers.size();
    layers_.emplace_back(backend, below + (top ? num_classes_ : 0), config.layers[l].hidden,
                         config.layers[l].visible_type);
    below = config.layers[l].hidden;
  }
}

Dbn::Dbn(Backend& backend, const DbnParams& params)
    : backend_(&backend), num_classes_(params.num_classes) {
  if (params.layers.empty()) CRBM_FAIL("a DBN needs at least one layer");
  for (size_t l = 0; l < params.layers.size(); ++l) {
    const bool top = l + 1 == params.layers.size();
    const int64_t labels = top ? num_classes_ : 0;
    const int64_t expected = l == 0 ? std::max<int64_t>(params.layers[0].visible(), labels + 1)
                                    : params.layers[l - 1].hidden() + labels;
    if (params.layers[l].visible() != expected) {
      CRBM_FAIL("DBN layer ", l, " has ", params.layers[l].visible(), " visible units; expected ",
                expected, labels > 0 ? concat(" (including ", labels, " label units)") : "");
    }
    layers_.emplace_back(backend, params.layers[l]);
  }
}

int64_t Dbn::layer_size(size_t l) const {
  CRBM_CHECK_THROW(l <= layers_.size(), "layer ", l, " of a ", layers_.size(), "-layer DBN");
  if (l == layers_.size()) return layers_.back().hidden();
  const int64_t labels = l + 1 == layers_.size() ? num_classes_ : 0;
  return layers_[l].visible() - labels;
}

DbnParams Dbn::to_host() const {
  DbnParams p;
  p.num_classes = num_classes_;
  for (const Rbm& r : layers_) p.layers.push_back(r.to_host());
  return p;
}

void Dbn::load(const DbnParams& params) {
  CRBM_CHECK_THROW(params.layers.size() == layers_.size() && params.num_classes == num_classes_,
                   "loading a ", params.layers.size(), "-layer DBN into a ", layers_.size(),
                   "-layer one");
  for (size_t l = 0; l < layers_.size(); ++l) layers_[l].load(params.layers[l]);
}

// ---- top RBM pieces ----

void LabelledTop::hidden(CMatRef pen_units, CMatRef labels, MatRef out) const {
  Backend& be = rbm.backend();
  be.gemm(false, false, 1.0f, pen_units, pen_weights(), 0.0f, out);
  be.gemm(false, false, 1.0f, labels, label_weights(), 1.0f, out);
  be.scale_add_activate(out, 1.0f, CMatRef{}, rbm.hidden_bias(), Activation::sigmoid);
}

void LabelledTop::visible(CMatRef h, MatRef pen_units, MatRef labels) const {
  Backend& be = rbm.backend();
  be.gemm(false, true, 1.0f, h, pen_weights(), 0.0f, pen_units);
  be.scale_add_activate(pen_units, 1.0f, CMatRef{}, pen_bias(), Activation::sigmoid);
  be.gemm(false, true, 1.0f, h, label_weights(), 0.0f, labels);
  be.scale_add_activate(labels, 1.0f, CMatRef{}, label_bias(), Activation::linear);
  be.softmax_groups(labels, classes);
}

CMatRef Dbn::pen_weights() const {
  return LabelledTop{top(), layer_size(depth() - 1), num_classes_}.pen_weights();
}
CMatRef Dbn::label_weights() const {
  return LabelledTop{top(), layer_size(depth() - 1), num_classes_}.label_weights();
}
CMatRef Dbn::pen_bias() const {
  return LabelledTop{top(), layer_size(depth() - 1), num_classes_}.pen_bias();
}
CMatRef Dbn::label_bias() const {
  return LabelledTop{top(), layer_size(depth() - 1), num_classes_}.label_bias();
}

void Dbn::top_hidden(CMatRef pen, CMatRef labels, MatRef out) const {
  if (num_classes_ == 0) {
    top().hidden_given_visible(pen, out);
    return;
  }
  LabelledTop{top(), layer_size(depth() - 1), num_classes_}.hidden(pen, labels, out);
}

void Dbn::top_visible(CMatRef h, MatRef pen, MatRef labels) const {
  if (num_classes_ == 0) {
    top().visible_mean_given_hidden(h, pen);
    return;
  }
  LabelledTop{top(), layer_size(depth() - 1), num_classes_}.visible(h, pen, labels);
}

void Dbn::top_gibbs(MatRef pen, MatRef labels, int steps, bool labels_clamped, uint64_t seed,
                    uint32_t stream) const {
  Backend& be = *backend_;
  const int64_t b = pen.rows;
  Matrix h(be, b, top().hidden()), hs(be, b, top().hidden());
  Matrix label_probs;
  if (num_classes_ > 0) label_probs = Matrix(be, b, num_classes_);
  MatRef lp = num_classes_ > 0 ? label_probs.ref() : MatRef{};
  for (int s = 0; s < steps; ++s) {
    const uint64_t step = (uint64_t(stream) << 32) + uint64_t(s);
    top_hidden(pen, labels, h);
    be.sample_bernoulli(h, hs, RngKey{seed, kStreamTopHidden, step});
    top_visible(hs, pen, lp);
    top().sample_visible(pen, pen, RngKey{seed, kStreamTopVisible, step});
    if (num_classes_ > 0 && !labels_clamped) {
      be.sample_softmax_groups(lp, num_classes_, labels, RngKey{seed, kStreamTopLabel, step});
    }
  }
}

// ---- passes ----

void Dbn::up_pass(CMatRef v, size_t upto, MatRef out) const {
  CRBM_CHECK_THROW(upto < layers_.size() || (upto == layers_.size() && num_classes_ == 0),
                   "up_pass to layer ", upto, " of a ", layers_.size(), "-layer DBN",
                   num_classes_ > 0 ? " (the top layer needs labels)" : "");
  CRBM_CHECK_THROW(out.cols == layer_size(upto) && out.rows == v.rows, "up_pass output ", out.rows,
                   "x", out.cols, " for layer ", upto, " of size ", layer_size(upto));
  Backend& be = *backend_;
  if (upto == 0) {
    be.copy(v, out);
    return;
  }
  Matrix a, b;
  CMatRef x = v;
  for (size_t l = 0; l < upto; ++l) {
    if (l + 1 == upto) {
      layers_[l].hidden_given_visible(x, out);
    } else {
      Matrix& dst = (l % 2 == 0) ? a : b;
      dst = Matrix(be, v.rows, layers_[l].hidden());
      layers_[l].hidden_given_visible(x, dst);
      x = dst;
    }
  }
}

void Dbn::down_pass(CMatRef h, MatRef v_out, bool stochastic, uint64_t seed) const {
  const size_t top_in = depth() - 1;
  CRBM_CHECK_THROW(
      h.cols == layer_size(top_in) && v_out.cols == layer_size(0) && v_out.rows == h.rows,
      "down_pass: h ", h.rows, "x", h.cols, ", v ", v_out.rows, "x", v_out.cols);
  Backend& be = *backend_;
  if (top_in == 0) {
    be.copy(h, v_out);
    return;
  }
  Matrix cur;
  CMatRef x = h;
  for (size_t l = top_in; l-- > 0;) {
    Matrix next;
    MatRef dst = v_out;
    if (l > 0) {
      next = Matrix(be, h.rows, layer_size(l));
      dst = next;
    }
    layers_[l].visible_mean_given_hidden(x, dst);
    if (stochastic) layers_[l].sample_visible(dst, dst, RngKey{seed, kStreamDown, l});
    if (l > 0) {
      cur = std::move(next);
      x = cur;
    }
  }
}

HostTensor Dbn::sample(const DbnSampleOptions& o) const {
  CRBM_CHECK_THROW(o.chains > 0 && o.gibbs_steps >= 0, "sample: chains ", o.chains, ", steps ",
                   o.gibbs_steps);
  if (o.clamp_label >= num_classes_ || (num_classes_ == 0 && o.clamp_label >= 0)) {
    CRBM_FAIL("clamp_label ", o.clamp_label, " but the DBN has ", num_classes_, " classes");
  }
  Backend& be = *backend_;
  const int64_t n_pen = layer_size(depth() - 1);
  Matrix pen(be, o.chains, n_pen);
  Matrix labels;
  if (top().visible_type() == VisibleType::bernoulli) {
    Matrix half(be, o.chains, n_pen);
    be.fill(half, 0.5f);
    be.sample_bernoulli(half, pen, RngKey{o.seed, kStreamTopInit, 0});
  } else {
    be.fill_normal(pen, 0.0f, 1.0f, RngKey{o.seed, kStreamTopInit, 0});
  }
  if (num_classes_ > 0) {
    labels = Matrix(be, o.chains, num_classes_);
    if (o.clamp_label >= 0) {
      labels.upload(one_hot(std::vector<int32_t>(size_t(o.chains), o.clamp_label), num_classes_));
    } else {
      Matrix uniform(be, o.chains, num_classes_);
      be.fill(uniform, 1.0f / static_cast<float>(num_classes_));
      be.sample_softmax_groups(uniform, num_classes_, labels, RngKey{o.seed, kStreamTopInit, 1});
    }
  }
  top_gibbs(pen, labels.ref(), o.gibbs_steps, o.clamp_label >= 0, o.seed, 0);
  Matrix v(be, o.chains, layer_size(0));
  if (!o.stochastic_down) {
    // Use the last step's probabilities (one more half-step) for a smoother picture.
    Matrix h(be, o.chains, top().hidden()), hs(be, o.chains, top().hidden());
    Matrix lp;
    if (num_classes_ > 0) lp = Matrix(be, o.chains, num_classes_);
    top_hidden(pen, labels, h);
    be.sample_bernoulli(h, hs, RngKey{o.seed, kStreamTopHidden, ~uint64_t{0}});
    top_visible(hs, pen, lp.ref());
  }
  down_pass(pen, v, o.stochastic_down, o.seed);
  return v.download();
}

HostTensor Dbn::inpaint(CMatRef v, CMatRef mask, int iterations, int top_steps,
                        uint64_t seed) const {
  CRBM_CHECK_THROW(v.cols == layer_size(0) && mask.rows == v.rows && mask.cols == v.cols,
                   "inpaint: v ", v.rows, "x", v.cols, ", mask ", mask.rows, "x", mask.cols);
  CRBM_CHECK_THROW(iterations >= 1 && top_steps >= 1, "inpaint: iterations ", iterations,
                   ", top_steps ", top_steps);
  Backend& be = *backend_;
  const int64_t b = v.rows;
  Matrix known(be, b, v.cols), unknown(be, b, v.cols), x(be, b, v.cols);
  be.copy(v, known);
  be.multiply(mask, known);  // v .* m
  be.fill(unknown, 1.0f);
  be.axpby(-1.0f, mask, 1.0f, unknown);  // 1 - m
  // The hidden units start at 0.5: the model must not see the values it is asked to fill.
  be.copy(unknown, x);
  be.axpby(1.0f, known, 0.5f, x);  // v .* m + 0.5 (1 - m)
  Matrix labels, uniform;
  if (num_classes_ > 0) {
    labels = Matrix(be, b, num_classes_);
    uniform = Matrix(be, b, num_classes_);
    be.fill(uniform, 1.0f / static_cast<float>(num_classes_));
  }
  for (int it = 0; it < iterations; ++it) {
    // Stochastic up pass to the top RBM's visible layer.
    Matrix cur(be, b, v.cols);
    be.copy(x, cur);
    for (size_t l = 0; l + 1 < depth(); ++l) {
      Matrix next(be, b, layers_[l].hidden());
      layers_[l].hidden_given_visible(cur, next);
      be.sample_bernoulli(next, next, RngKey{seed, kStreamUp, uint64_t(it) * 64 + l});
      cur = std::move(next);
    }
    if (num_classes_ > 0) {
      be.sample_softmax_groups(uniform, num_classes_, labels,
                               RngKey{seed, kStreamTopInit, 2u + it});
    }
    MatRef labels_ref = labels.ref();
    if (depth() == 1) {
      // Top RBM = the data layer: Gibbs steps, then its visible probabilities.
      top_gibbs(cur, labels_ref, top_steps - 1, false, seed, 1u + it);
      Matrix h(be, b, top().hidden()), hs(be, b, top().hidden());
      Matrix lp;
      if (num_classes_ > 0) lp = Matrix(be, b, num_classes_);
      top_hidden(cur, labels, h);
      be.sample_bernoulli(h, hs, RngKey{seed, kStreamTopHidden, (uint64_t(1) << 40) + it});
      top_visible(hs, x, lp.ref());
    } else {
      top_gibbs(cur, labels_ref, top_steps, false, seed, 1u + it);
      down_pass(cur, x, false, seed + it);
    }
    be.multiply(unknown, x);
    be.axpby(1.0f, known, 1.0f, x);
  }
  return x.download();
}

}  // namespace crbm
