// DBN greedy pretraining (see dbn.hpp): each layer an RBM trained by CdTrainer on the
// layer below's probabilities; with labels the top RBM by JointTopTrainer, CD-k / PCD-k on
// the two-block visible state (pen units, one softmax label group; models/dbn_top.hpp).
#include <algorithm>
#include <chrono>
#include <cmath>

#include "crbm/dbn.hpp"
#include "crbm/gibbs.hpp"
#include "crbm/mathutil.hpp"
#include "models/dbn_top.hpp"
#include "rng_streams.hpp"

namespace crbm {
namespace {

using namespace rng_stream::dbn;  // Philox stream ids (rng_streams.hpp)

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

  // Not copyable or movable: the GibbsModel held by negative_ captures `this`.
  JointTopTrainer(const JointTopTrainer&) = delete;
  JointTopTrainer& operator=(const JointTopTrainer&) = delete;

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
      throw divergence_error("training the labelled top RBM", epoch_, learning_rate());
    }
    // Reconstruction error of the pen units on the first rows of this epoch's order.
    const int64_t m = std::min<int64_t>(n, 1000);
    Matrix h(be_, m, rbm_.hidden()), pen(be_, m, pen_), lab(be_, m, classes_);
    hidden(shuffled_pen_.rows_view(0, m), shuffled_labels_.rows_view(0, m), h);
    visible(h, pen, lab);
    set_reconstruction_stats(be_, shuffled_pen_.rows_view(0, m), pen, h, stats);
    return finish_epoch(stats, epoch_, updates_);
  }

 private:
  double learning_rate() const { return config_.learning_rate_at(epoch_, updates_); }
  double momentum() const { return config_.momentum_at(epoch_); }
  LabelledTop top() const { return LabelledTop{rbm_, pen_, classes_}; }
  void hidden(CMatRef pen, CMatRef labels, MatRef out) const { top().hidden(pen, labels, out); }
  void visible(CMatRef h, MatRef pen, MatRef labels) const { top().visible(h, pen, labels); }

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
      current = propagate_rows(be, input, rbm.hidden(),
                               [&](CMatRef x, MatRef out) { rbm.hidden_given_visible(x, out); });
      input = current;
    }
  }
  be.synchronize();
}

}  // namespace crbm
