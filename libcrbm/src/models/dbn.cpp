// DBN: greedy pretraining, generation, inpainting, label classification by free energy,
// top-RBM log Z and the variational lower bound (see dbn.hpp), written against the
// Backend operations. With labels the top RBM's visible state is kept as two matrices,
// pen [B x n] and y [B x K]; row ranges of its weights are the pen/label blocks, so
//   P(h|pen,y) = sigm(pen Wp + y Wy + c),  P(pen|h) = sigm(h Wp' + bp),  P(y|h) = softmax(h Wy' +
//   by)
#include "crbm/dbn.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "crbm/exact.hpp"
#include "crbm/gibbs.hpp"
#include "crbm/mathutil.hpp"
#include "crbm/safetensors.hpp"
#include "rng_streams.hpp"

namespace crbm {
namespace {

using namespace rng_stream::dbn;  // Philox stream ids (rng_streams.hpp)

// A 1 x cols view of `cols` consecutive entries of a row vector.
CMatRef row_slice(const Matrix& m, int64_t first, int64_t cols) {
  return CMatRef{m.data() + first, 1, cols, m.backend().device()};
}
MatRef row_slice(Matrix& m, int64_t first, int64_t cols) {
  return MatRef{m.data() + first, 1, cols, m.backend().device()};
}

// Visible bias from the column means of `input` (backend): log-odds (Bernoulli, clamped
// to [1e-3, 1-1e-3]) or the mean (Gaussian); the result goes to `bias` [1 x cols].
void bias_from_means(Backend& be, CMatRef input, bool log_odds, MatRef bias) {
  Matrix mean(be, 1, input.cols);
  be.column_sums(input, 1.0f / static_cast<float>(std::max<int64_t>(input.rows, 1)), 0.0f, mean);
  HostTensor m = mean.download();
  for (float& x : m.data) {
    if (log_odds) x = static_cast<float>(clamped_log_odds(double(x)));
  }
  be.upload(m.data.data(), bias);
}

// CD-k / PCD-k for the labelled top RBM (pen Bernoulli units + one softmax label group).
class JointTopTrainer {
 public:
  JointTopTrainer(Rbm& rbm, int64_t pen, int classes, const TrainConfig& config)
      : rbm_(rbm), be_(rbm.backend()), pen_(pen), classes_(classes), config_(config) {
    config_.validate();
    const int64_t v = rbm.visible(), h = rbm.hidden();
    step_ = RbmStep(be_, v, h, v, h);
    // Pen units are Bernoulli, the labels one softmax group (kept as two matrices).
    GibbsModel model;
    model.hidden = [this](CLayerRef v, MatRef out) { hidden(v.units, v.labels, out); };
    model.sample_hidden = [this](CMatRef p, MatRef out, uint64_t step) {
      be_.sample_bernoulli(p, out, RngKey{config_.seed, kStreamTopHidden, step});
    };
    model.visible = [this](CMatRef hs, LayerRef out) { visible(hs, out.units, out.labels); };
    model.sample_visible = [this](CLayerRef p, LayerRef out, uint64_t step) {
      be_.sample_bernoulli(p.units, out.units, RngKey{config_.seed, kStreamTopVisible, step});
      be_.sample_softmax_groups(p.labels, classes_, out.labels,
                                RngKey{config_.seed, kStreamTopLabel, step});
    };
    model.start_chains = [this](LayerRef chains) {
      be_.sample_bernoulli(chains.units, chains.units, RngKey{config_.seed, kStreamChainInit, 0});
    };
    negative_ = std::make_unique<CdNegativePhase>(be_, std::move(model), config_,
                                                  config_.batch_size, pen, classes, h);
  }

  EpochStats train_epoch(CMatRef pen_data, CMatRef label_data) {
    const auto start = std::chrono::steady_clock::now();
    const int64_t n = pen_data.rows;
    EpochStats stats;
    stats.learning_rate = learning_rate();
    stats.momentum = momentum();
    if (shuffled_pen_.rows() != n) {
      shuffled_pen_ = Matrix(be_, n, pen_);
      shuffled_labels_ = Matrix(be_, n, classes_);
    }
    const auto order = shuffled_indices(n, config_.seed, static_cast<uint64_t>(epoch_));
    be_.gather_rows(pen_data, order, shuffled_pen_);
    be_.gather_rows(label_data, order, shuffled_labels_);
    for (int64_t first = 0; first < n; first += config_.batch_size) {
      const int64_t rows = std::min(config_.batch_size, n - first);
      update(shuffled_pen_.rows_view(first, rows), shuffled_labels_.rows_view(first, rows));
    }
    be_.synchronize();
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    stats.samples_per_second = stats.seconds > 0 ? n / stats.seconds : 0.0;
    if (!rbm_.parameters_finite()) {
      throw DivergenceError(concat("training the labelled top RBM diverged in epoch ", epoch_ + 1,
                                   "; lower the learning rate (now ", learning_rate(), ")"));
    }
    // Reconstruction error of the pen units on the first rows of this epoch's order.
    const int64_t m = std::min<int64_t>(n, 1000);
    Matrix h(be_, m, rbm_.hidden()), pen(be_, m, pen_), lab(be_, m, classes_);
    hidden(shuffled_pen_.rows_view(0, m), shuffled_labels_.rows_view(0, m), h);
    visible(h, pen, lab);
    stats.reconstruction_error = be_.sum_squared_diff(shuffled_pen_.rows_view(0, m), pen) / m;
    stats.mean_hidden_activation = be_.mean(h);
    ++epoch_;
    stats.epoch = epoch_;
    stats.updates = updates_;
    return stats;
  }

 private:
  double learning_rate() const { return config_.learning_rate_at(epoch_, updates_); }
  double momentum() const { return config_.momentum_at(epoch_); }
  CMatRef wp() const { return rbm_.weights().rows_view(0, pen_); }
  CMatRef wy() const { return rbm_.weights().rows_view(pen_, classes_); }

  void hidden(CMatRef pen, CMatRef labels, MatRef out) const {
    be_.gemm(false, false, 1.0f, pen, wp(), 0.0f, out);
    be_.gemm(false, false, 1.0f, labels, wy(), 1.0f, out);
    be_.scale_add_activate(out, 1.0f, CMatRef{}, rbm_.hidden_bias(), Activation::sigmoid);
  }
  void visible(CMatRef h, MatRef pen, MatRef labels) const {
    be_.gemm(false, true, 1.0f, h, wp(), 0.0f, pen);
    be_.scale_add_activate(pen, 1.0f, CMatRef{}, row_slice(rbm_.visible_bias(), 0, pen_),
                           Activation::sigmoid);
    be_.gemm(false, true, 1.0f, h, wy(), 0.0f, labels);
    be_.scale_add_activate(labels, 1.0f, CMatRef{}, row_slice(rbm_.visible_bias(), pen_, classes_),
                           Activation::linear);
    be_.softmax_groups(labels, classes_);
  }

  void update(CMatRef p0, CMatRef y0) {
    const int64_t b = p0.rows;
    if (rows_ < b) {
      h0_ = Matrix(be_, b, rbm_.hidden());
      rows_ = b;
    }
    MatRef h0 = h0_.rows_view(0, b);
    hidden(p0, y0, h0);
    const CdNegativePhase::Sample negative = negative_->run(CLayerRef(p0, y0), h0, updates_);
    const CMatRef pk = negative.v.units, yk = negative.v.labels, hk = negative.h;
    const float inv_b = 1.0f / static_cast<float>(b);
    const float inv_c = 1.0f / static_cast<float>(pk.rows);
    // The visible side is two groups (pen units, labels): their rows of the weight
    // gradient and their slices of the visible-bias gradient are filled separately.
    Matrix &gw = step_.grad_w(), &gb = step_.grad_visible(), &gc = step_.grad_hidden();
    MatRef gwp = gw.rows_view(0, pen_), gwy = gw.rows_view(pen_, classes_);
    be_.gemm(true, false, inv_b, p0, h0, 0.0f, gwp);
    be_.gemm(true, false, -inv_c, pk, hk, 1.0f, gwp);
    be_.gemm(true, false, inv_b, y0, h0, 0.0f, gwy);
    be_.gemm(true, false, -inv_c, yk, hk, 1.0f, gwy);
    MatRef gbp = row_slice(gb, 0, pen_), gby = row_slice(gb, pen_, classes_);
    be_.column_sums(p0, inv_b, 0.0f, gbp);
    be_.column_sums(pk, -inv_c, 1.0f, gbp);
    be_.column_sums(y0, inv_b, 0.0f, gby);
    be_.column_sums(yk, -inv_c, 1.0f, gby);
    be_.column_sums(h0, inv_b, 0.0f, gc);
    be_.column_sums(hk, -inv_c, 1.0f, gc);
    step_.add_hidden_mean(config_, h0, inv_b);
    step_.apply(config_, epoch_, updates_,
                {rbm_.weights(), rbm_.visible_bias(), rbm_.hidden_bias()});
    ++updates_;
  }

  Rbm& rbm_;
  Backend& be_;
  int64_t pen_;
  int classes_;
  TrainConfig config_;
  int epoch_ = 0;
  int64_t updates_ = 0;
  int64_t rows_ = 0;
  RbmStep step_;
  Matrix h0_;
  Matrix shuffled_pen_, shuffled_labels_;
  std::unique_ptr<CdNegativePhase> negative_;
};

}  // namespace

// ---- configuration ----

void DbnConfig::validate() const {
  if (layers.empty()) CRBM_FAIL("invalid DBN configuration: no layers");
  for (size_t l = 0; l < layers.size(); ++l) {
    if (layers[l].hidden < 1) {
      CRBM_FAIL("invalid DBN configuration: layer ", l, " hidden = ", layers[l].hidden,
                " (must be >= 1)");
    }
    if (l > 0 && layers[l].visible_type != VisibleType::bernoulli) {
      CRBM_FAIL("invalid DBN configuration: layer ", l,
                " has Gaussian visible units (only layer 0 may)");
    }
    try {
      layers[l].train.validate();
    } catch (const Error& e) {
      CRBM_FAIL("layer ", l, ": ", e.what());
    }
  }
  if (num_classes < 0 || num_classes == 1) {
    CRBM_FAIL("invalid DBN configuration: num_classes = ", num_classes, " (0 or >= 2)");
  }
  if (num_classes > 0 && layers.size() == 1 && layers[0].visible_type != VisibleType::bernoulli) {
    CRBM_FAIL("invalid DBN configuration: label units need a Bernoulli top-RBM input");
  }
  if (!(init_stddev > 0.0f)) CRBM_FAIL("invalid DBN configuration: init_stddev must be > 0");
}

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

CMatRef Dbn::pen_weights() const {
  return top().weights().rows_view(0, layer_size(depth() - 1));
}
CMatRef Dbn::label_weights() const {
  return top().weights().rows_view(layer_size(depth() - 1), num_classes_);
}
CMatRef Dbn::pen_bias() const {
  return row_slice(top().visible_bias(), 0, layer_size(depth() - 1));
}
CMatRef Dbn::label_bias() const {
  return row_slice(top().visible_bias(), layer_size(depth() - 1), num_classes_);
}

void Dbn::top_hidden(CMatRef pen, CMatRef labels, MatRef out) const {
  if (num_classes_ == 0) {
    top().hidden_given_visible(pen, out);
    return;
  }
  Backend& be = *backend_;
  be.gemm(false, false, 1.0f, pen, pen_weights(), 0.0f, out);
  be.gemm(false, false, 1.0f, labels, label_weights(), 1.0f, out);
  be.scale_add_activate(out, 1.0f, CMatRef{}, top().hidden_bias(), Activation::sigmoid);
}

void Dbn::top_visible(CMatRef h, MatRef pen, MatRef labels) const {
  if (num_classes_ == 0) {
    top().visible_mean_given_hidden(h, pen);
    return;
  }
  Backend& be = *backend_;
  be.gemm(false, true, 1.0f, h, pen_weights(), 0.0f, pen);
  be.scale_add_activate(pen, 1.0f, CMatRef{}, pen_bias(), Activation::sigmoid);
  be.gemm(false, true, 1.0f, h, label_weights(), 0.0f, labels);
  be.scale_add_activate(labels, 1.0f, CMatRef{}, label_bias(), Activation::linear);
  be.softmax_groups(labels, num_classes_);
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

// ---- pretraining ----

void Dbn::pretrain(CMatRef data, const std::vector<int32_t>& labels, const DbnConfig& config,
                   const EpochCallback& on_epoch) {
  config.validate();
  CRBM_CHECK_THROW(config.layers.size() == layers_.size() && config.num_classes == num_classes_,
                   "pretrain config has ", config.layers.size(), " layers / ", config.num_classes,
                   " classes for a DBN of ", layers_.size(), " / ", num_classes_);
  CRBM_CHECK_THROW(data.cols == visible() - (depth() == 1 ? num_classes_ : 0), "data has ",
                   data.cols, " columns for a DBN with ", layer_size(0), " visible units");
  if (data.rows == 0) CRBM_FAIL("DBN pretraining data is empty");
  Backend& be = *backend_;
  Matrix label_matrix;
  if (num_classes_ > 0) {
    if (static_cast<int64_t>(labels.size()) != data.rows) {
      CRBM_FAIL("a labelled DBN needs one label per training row (", labels.size(), " labels for ",
                data.rows, " rows)");
    }
    label_matrix = Matrix::from_host(be, one_hot(labels, num_classes_));
  }
  Matrix current;  // the input of layer l when l > 0: probabilities of layer l-1
  CMatRef input = data;
  for (size_t l = 0; l < layers_.size(); ++l) {
    Rbm& rbm = layers_[l];
    const LayerConfig& lc = config.layers[l];
    const bool top_with_labels = l + 1 == layers_.size() && num_classes_ > 0;
    rbm.init_random(lc.train.seed * 7919 + l, config.init_stddev, nullptr);
    const int64_t n_in = input.cols;
    bias_from_means(be, input, rbm.visible_type() == VisibleType::bernoulli,
                    row_slice(rbm.visible_bias(), 0, n_in));
    if (top_with_labels) {
      // Softmax group bias: log class frequency.
      Matrix freq(be, 1, num_classes_);
      be.column_sums(label_matrix, 1.0f / static_cast<float>(data.rows), 0.0f, freq);
      HostTensor f = freq.download();
      for (float& x : f.data) x = static_cast<float>(std::log(std::max(double(x), 1e-3)));
      be.upload(f.data.data(), row_slice(rbm.visible_bias(), n_in, num_classes_));
      JointTopTrainer trainer(rbm, n_in, num_classes_, lc.train);
      for (int e = 0; e < lc.train.epochs; ++e) {
        const EpochStats s = trainer.train_epoch(input, label_matrix);
        if (on_epoch) on_epoch(l, s);
      }
    } else {
      CdTrainer trainer(rbm, lc.train);
      for (int e = 0; e < lc.train.epochs; ++e) {
        const EpochStats s = trainer.train_epoch(input);
        if (on_epoch) on_epoch(l, s);
      }
    }
    if (l + 1 < layers_.size()) {
      Matrix next(be, input.rows, rbm.hidden());
      const int64_t chunk = 8192;
      for (int64_t first = 0; first < input.rows; first += chunk) {
        const int64_t rows = std::min(chunk, input.rows - first);
        rbm.hidden_given_visible(input.row_range(first, rows), next.rows_view(first, rows));
      }
      current = std::move(next);
      input = current;
    }
  }
  be.synchronize();
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

// ---- labels ----

HostTensor Dbn::class_free_energies(CMatRef v) const {
  if (num_classes_ == 0) CRBM_FAIL("class_free_energies: the DBN has no label units");
  Backend& be = *backend_;
  const int64_t b = v.rows;
  const size_t top_in = depth() - 1;
  Matrix pen_store;
  CMatRef pen = v;
  if (top_in > 0) {
    pen_store = Matrix(be, b, layer_size(top_in));
    up_pass(v, top_in, pen_store);
    pen = pen_store;
  }
  const int64_t h = top().hidden();
  Matrix a(be, b, h), t(be, b, h), sp(be, b, 1), bterm(be, b, 1);
  be.gemm(false, false, 1.0f, pen, pen_weights(), 0.0f, a);
  be.scale_add_activate(a, 1.0f, CMatRef{}, top().hidden_bias(), Activation::linear);
  be.gemm(false, true, 1.0f, pen, pen_bias(), 0.0f, bterm);  // bp'pen
  const HostTensor bt = bterm.download();
  const HostTensor by = top().visible_bias().download();
  HostTensor out({b, int64_t{num_classes_}});
  const int64_t n = layer_size(top_in);
  for (int k = 0; k < num_classes_; ++k) {
    be.copy(a, t);
    be.scale_add_activate(t, 1.0f, CMatRef{}, top().weights().rows_view(n + k, 1),
                          Activation::linear);
    be.row_reduce(t, RowReduce::softplus_sum, sp);
    const HostTensor s = sp.download();
    for (int64_t r = 0; r < b; ++r) {
      out.data[r * num_classes_ + k] = -by.data[n + k] - s.data[r] - bt.data[r];
    }
  }
  return out;
}

std::vector<int32_t> Dbn::classify(CMatRef v) const {
  const HostTensor f = class_free_energies(v);
  std::vector<int32_t> pred(static_cast<size_t>(v.rows));
  for (int64_t r = 0; r < v.rows; ++r) {
    const float* row = f.data.data() + r * num_classes_;
    pred[r] = static_cast<int32_t>(std::min_element(row, row + num_classes_) - row);
  }
  return pred;
}

// ---- log Z and the bound ----

namespace {
// The top RBM with its label clamped to class k: hidden bias c + Wy[k], pen rows only.
RbmParams clamped_top(const RbmParams& top, int64_t pen, int k) {
  RbmParams p;
  p.visible_type = top.visible_type;
  const int64_t h = top.hidden();
  p.weights = HostTensor({pen, h});
  std::copy(top.weights.data.begin(), top.weights.data.begin() + pen * h, p.weights.data.begin());
  p.visible_bias = HostTensor({pen});
  std::copy(top.visible_bias.data.begin(), top.visible_bias.data.begin() + pen,
            p.visible_bias.data.begin());
  p.visible_sigma = HostTensor({pen}, 1.0f);
  p.hidden_bias = top.hidden_bias;
  for (int64_t j = 0; j < h; ++j) p.hidden_bias.data[j] += top.weights.data[(pen + k) * h + j];
  return p;
}
}  // namespace

double Dbn::top_log_partition_exact() const {
  if (num_classes_ == 0) return exact_log_partition(top());
  const RbmParams t = top().to_host();
  const int64_t pen = layer_size(depth() - 1);
  std::vector<double> terms;
  for (int k = 0; k < num_classes_; ++k) {
    Rbm clamped(*backend_, clamped_top(t, pen, k));
    terms.push_back(t.visible_bias.data[pen + k] + exact_log_partition(clamped));
  }
  return log_sum_exp(terms);
}

AisResult Dbn::top_log_partition_ais(const HostTensor& base_data, const AisConfig& config) const {
  if (num_classes_ == 0) return ais_log_partition(top(), base_data, config);
  const RbmParams t = top().to_host();
  const int64_t pen = layer_size(depth() - 1);
  std::vector<double> mid, low, high;
  AisResult total;
  for (int k = 0; k < num_classes_; ++k) {
    Rbm clamped(*backend_, clamped_top(t, pen, k));
    AisConfig c = config;
    c.seed = config.seed + 1000003ull * k;
    const AisResult r = ais_log_partition(clamped, base_data, c);
    const double by = t.visible_bias.data[pen + k];
    mid.push_back(by + r.log_z);
    low.push_back(by + r.log_z_low);
    high.push_back(by + r.log_z_high);
    total.runs = r.runs;
    total.steps = r.steps;
    total.seconds += r.seconds;
  }
  total.log_z = log_sum_exp(mid);
  total.log_z_low = log_sum_exp(low);
  total.log_z_high = log_sum_exp(high);
  return total;
}

std::vector<double> Dbn::top_unnormalized_log_prob(CMatRef h) const {
  std::vector<double> out(static_cast<size_t>(h.rows));
  if (num_classes_ == 0) {
    Matrix f(*backend_, h.rows, 1);
    top().free_energy(h, f);
    const HostTensor fh = f.download();
    for (int64_t r = 0; r < h.rows; ++r) out[r] = -double(fh.data[r]);
    return out;
  }
  // Free energies per class (of the pen state h itself; class_free_energies does an up pass
  // from v, so compute directly here).
  Backend& be = *backend_;
  const int64_t b = h.rows, nh = top().hidden(), n = layer_size(depth() - 1);
  Matrix a(be, b, nh), t(be, b, nh), sp(be, b, 1), bterm(be, b, 1);
  be.gemm(false, false, 1.0f, h, pen_weights(), 0.0f, a);
  be.scale_add_activate(a, 1.0f, CMatRef{}, top().hidden_bias(), Activation::linear);
  be.gemm(false, true, 1.0f, h, pen_bias(), 0.0f, bterm);
  const HostTensor bt = bterm.download();
  const HostTensor by = top().visible_bias().download();
  std::vector<std::vector<double>> per_row(static_cast<size_t>(b));
  for (int k = 0; k < num_classes_; ++k) {
    be.copy(a, t);
    be.scale_add_activate(t, 1.0f, CMatRef{}, top().weights().rows_view(n + k, 1),
                          Activation::linear);
    be.row_reduce(t, RowReduce::softplus_sum, sp);
    const HostTensor s = sp.download();
    for (int64_t r = 0; r < b; ++r) per_row[r].push_back(by.data[n + k] + s.data[r] + bt.data[r]);
  }
  for (int64_t r = 0; r < b; ++r) out[r] = log_sum_exp(per_row[r]);
  return out;
}

DbnBoundResult Dbn::lower_bound(CMatRef v, double log_z_top, int samples, uint64_t seed,
                                int64_t batch) const {
  CRBM_CHECK_THROW(samples >= 1 && batch >= 1, "lower_bound: samples ", samples, ", batch ", batch);
  if (v.cols != layer_size(0)) {
    CRBM_FAIL("the data has ", v.cols, " values per row but the DBN's visible layer has ",
              layer_size(0), " units");
  }
  if (layers_[0].visible_type() != VisibleType::bernoulli) {
    CRBM_FAIL("the DBN lower bound is implemented for Bernoulli data only");
  }
  Backend& be = *backend_;
  DbnBoundResult res;
  res.bound.assign(static_cast<size_t>(v.rows), 0.0);
  res.importance.assign(static_cast<size_t>(v.rows), 0.0);
  for (int64_t first = 0; first < v.rows; first += batch) {
    const int64_t b = std::min(batch, v.rows - first);
    const CMatRef vb = v.row_range(first, b);
    std::vector<std::vector<double>> logw(static_cast<size_t>(b));
    Matrix col(be, b, 1);
    for (int s = 0; s < samples; ++s) {
      std::vector<double> acc(static_cast<size_t>(b), 0.0);
      auto add_rows = [&](double sign) {
        const HostTensor c = col.download();
        for (int64_t r = 0; r < b; ++r) acc[r] += sign * c.data[r];
      };
      Matrix x_store;
      CMatRef x = vb;
      for (size_t l = 0; l + 1 < depth(); ++l) {
        const Rbm& rbm = layers_[l];
        const int64_t nin = rbm.visible(), nout = rbm.hidden();
        Matrix z(be, b, nout), mu(be, b, nout), h(be, b, nout), prod(be, b, nout);
        be.gemm(false, false, 1.0f, x, rbm.weights(), 0.0f, z);
        be.scale_add_activate(z, 1.0f, CMatRef{}, rbm.hidden_bias(), Activation::linear);
        be.copy(z, mu);
        be.scale_add_activate(mu, 1.0f, CMatRef{}, CMatRef{}, Activation::sigmoid);
        const uint64_t step = (uint64_t(first) << 20) + uint64_t(s) * 64 + l;
        be.sample_bernoulli(mu, h, RngKey{seed, kStreamUp, step});
        // log q(h|x) = sum h z - softplus(z)
        be.copy(z, prod);
        be.multiply(h, prod);
        be.row_reduce(prod, RowReduce::sum, col);
        add_rows(-1.0);
        be.row_reduce(z, RowReduce::softplus_sum, col);
        add_rows(+1.0);
        // log p(x|h) = sum x a - softplus(a), a = h W' + b
        Matrix a(be, b, nin), xa(be, b, nin);
        be.gemm(false, true, 1.0f, h, rbm.weights(), 0.0f, a);
        be.scale_add_activate(a, 1.0f, CMatRef{}, rbm.visible_bias(), Activation::linear);
        be.copy(a, xa);
        be.multiply(x, xa);
        be.row_reduce(xa, RowReduce::sum, col);
        add_rows(+1.0);
        be.row_reduce(a, RowReduce::softplus_sum, col);
        add_rows(-1.0);
        x_store = std::move(h);
        x = x_store;
      }
      const std::vector<double> top_lp = top_unnormalized_log_prob(x);
      for (int64_t r = 0; r < b; ++r) logw[r].push_back(acc[r] + top_lp[r] - log_z_top);
    }
    for (int64_t r = 0; r < b; ++r) {
      double mean = 0;
      for (double w : logw[r]) mean += w;
      res.bound[first + r] = mean / samples;
      res.importance[first + r] = log_sum_exp(logw[r]) - std::log(double(samples));
    }
  }
  for (size_t r = 0; r < res.bound.size(); ++r) {
    res.mean_bound += res.bound[r];
    res.mean_importance += res.importance[r];
  }
  if (!res.bound.empty()) {
    res.mean_bound /= double(res.bound.size());
    res.mean_importance /= double(res.bound.size());
  }
  return res;
}

}  // namespace crbm
